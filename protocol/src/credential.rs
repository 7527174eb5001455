//! Author credentials: CWTs (RFC 8392) signed by the operator (COSE_Sign1, ES256) that bind
//! an author's public key (`cnf`, RFC 8747) to a fine-grained scope: which update types,
//! components and device classes the author may produce (DESIGN.md section 1.1).
//!
//! The scope is a private-use claim (`-70010`), a map
//! `{1: [+ type-name], ? 2: [+ component-id], ? 3: [+ [vendor-id, class-id / nil]]}`;
//! an absent component or class list means "any". The claim is protected by the
//! operator's signature like every other claim.

use std::sync::Arc;

use ciborium::Value;
use coset::{AsCborValue, CoseSign1};

use crate::cbor::{self, CborError, IntMap};
use crate::cose::{self, CoseError};
use crate::ids::{ComponentId, UpdateType, Uuid};
use crate::keys::{KeyError, PrivateKey, PublicKey};
use crate::memo::CryptoMemo;
use crate::time::Instant;

/// CWT claim keys (RFC 8392, RFC 8747) and icsim's private claim.
pub mod claim {
    /// `iss`.
    pub const ISS: i64 = 1;
    /// `sub`.
    pub const SUB: i64 = 2;
    /// `exp`.
    pub const EXP: i64 = 4;
    /// `nbf`.
    pub const NBF: i64 = 5;
    /// `iat`.
    pub const IAT: i64 = 6;
    /// `cnf`.
    pub const CNF: i64 = 8;
    /// `cnf` member `COSE_Key`.
    pub const CNF_COSE_KEY: i64 = 1;
    /// icsim: the author's scope.
    pub const AUTHOR_SCOPE: i64 = -70010;
}

/// CWT tag (RFC 8392 section 6).
pub const TAG_CWT: u64 = 61;

/// A device class: vendor and class id; `class_id` `None` means any class of the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClassPattern {
    /// The vendor.
    pub vendor_id: Uuid,
    /// The class, or any.
    pub class_id: Option<Uuid>,
}

/// What an author may produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorScope {
    /// Update types permitted (at least one).
    pub types: Vec<UpdateType>,
    /// Components permitted; `None` means any component.
    pub components: Option<Vec<ComponentId>>,
    /// Device classes permitted; `None` means any class.
    pub classes: Option<Vec<ClassPattern>>,
}

impl AuthorScope {
    /// Whether the scope permits `update_type`.
    pub fn covers_type(&self, update_type: UpdateType) -> bool {
        self.types.contains(&update_type)
    }

    /// Whether the scope permits `component`.
    pub fn covers_component(&self, component: &ComponentId) -> bool {
        self.components
            .as_ref()
            .is_none_or(|list| list.contains(component))
    }

    /// Whether the scope permits devices of `vendor_id`/`class_id`.
    pub fn covers_class(&self, vendor_id: Uuid, class_id: Uuid) -> bool {
        self.classes.as_ref().is_none_or(|list| {
            list.iter()
                .any(|p| p.vendor_id == vendor_id && p.class_id.is_none_or(|c| c == class_id))
        })
    }

    fn to_value(&self) -> Value {
        let mut entries = vec![(
            1,
            Value::Array(
                self.types
                    .iter()
                    .map(|t| Value::Text(t.name().into()))
                    .collect(),
            ),
        )];
        if let Some(components) = &self.components {
            let list = components
                .iter()
                .map(|c| Value::Array(c.0.iter().map(|s| Value::Bytes(s.clone())).collect()))
                .collect();
            entries.push((2, Value::Array(list)));
        }
        if let Some(classes) = &self.classes {
            let list = classes
                .iter()
                .map(|p| {
                    Value::Array(vec![
                        Value::Bytes(p.vendor_id.0.to_vec()),
                        p.class_id
                            .map_or(Value::Null, |c| Value::Bytes(c.0.to_vec())),
                    ])
                })
                .collect();
            entries.push((3, Value::Array(list)));
        }
        cbor::int_map(entries)
    }

    fn from_value(value: &Value) -> Result<Self, CborError> {
        let map = IntMap::new(value, "author scope")?;
        map.only(&[1, 2, 3])?;
        let shape = |expected| CborError::Shape {
            what: "author scope",
            expected,
        };
        let types = cbor::array(map.require(1)?, "author scope types")?
            .iter()
            .map(|t| {
                cbor::text(t, "update type")?
                    .parse()
                    .map_err(|_| shape("known update type names"))
            })
            .collect::<Result<Vec<UpdateType>, _>>()?;
        if types.is_empty() {
            return Err(shape("at least one update type"));
        }
        let components = match map.get(2) {
            None => None,
            Some(v) => Some(
                cbor::array(v, "author scope components")?
                    .iter()
                    .map(|c| {
                        cbor::array(c, "component id")?
                            .iter()
                            .map(|s| cbor::bytes(s, "component id segment").map(<[u8]>::to_vec))
                            .collect::<Result<Vec<_>, _>>()
                            .map(ComponentId)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let uuid =
            |v: &Value| Uuid::from_slice(cbor::bytes(v, "uuid")?).ok_or(shape("16-byte UUIDs"));
        let classes = match map.get(3) {
            None => None,
            Some(v) => Some(
                cbor::array(v, "author scope classes")?
                    .iter()
                    .map(|p| match cbor::array(p, "class pattern")? {
                        [vendor, Value::Null] => Ok(ClassPattern {
                            vendor_id: uuid(vendor)?,
                            class_id: None,
                        }),
                        [vendor, class] => Ok(ClassPattern {
                            vendor_id: uuid(vendor)?,
                            class_id: Some(uuid(class)?),
                        }),
                        _ => Err(shape("[vendor-id, class-id / nil]")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(AuthorScope {
            types,
            components,
            classes,
        })
    }
}

/// The claims of an author credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialClaims {
    /// The issuer (the operator).
    pub issuer: String,
    /// The subject (the author's name).
    pub subject: String,
    /// Issued at (seconds since the Unix epoch).
    pub issued_at: u64,
    /// Expires at (seconds since the Unix epoch).
    pub expires_at: u64,
    /// The author's signing key.
    pub author_key: PublicKey,
    /// What the author may produce.
    pub scope: AuthorScope,
}

/// Why a credential was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Not a COSE_Sign1-wrapped CWT of the expected shape.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The operator's signature does not verify.
    #[error("credential signature does not verify with the operator's key")]
    BadSignature,
    /// `exp` has passed.
    #[error("credential expired at {expires_at} (now {now})")]
    Expired {
        /// `exp`.
        expires_at: u64,
        /// The verification time.
        now: u64,
    },
    /// `iat` lies in the future (with no clock tolerance).
    #[error("credential issued in the future ({issued_at} > now {now})")]
    NotYetValid {
        /// `iat`.
        issued_at: u64,
        /// The verification time.
        now: u64,
    },
}

impl From<CborError> for CredentialError {
    fn from(e: CborError) -> Self {
        CredentialError::Malformed(e.to_string())
    }
}
impl From<CoseError> for CredentialError {
    fn from(e: CoseError) -> Self {
        CredentialError::Malformed(e.to_string())
    }
}
impl From<KeyError> for CredentialError {
    fn from(e: KeyError) -> Self {
        CredentialError::Malformed(format!("cnf: {e}"))
    }
}

impl CredentialClaims {
    fn to_value(&self) -> Value {
        cbor::int_map([
            (claim::ISS, Value::Text(self.issuer.clone())),
            (claim::SUB, Value::Text(self.subject.clone())),
            (claim::EXP, Value::Integer(self.expires_at.into())),
            (claim::IAT, Value::Integer(self.issued_at.into())),
            (
                claim::CNF,
                cbor::int_map([(claim::CNF_COSE_KEY, self.author_key.to_cose_value())]),
            ),
            (claim::AUTHOR_SCOPE, self.scope.to_value()),
        ])
    }

    /// Decode claims from the CWT payload bytes.
    pub fn decode(payload: &[u8]) -> Result<Self, CredentialError> {
        let value = cbor::decode(payload)?;
        let map = IntMap::new(&value, "CWT claims")?;
        let cnf = IntMap::new(map.require(claim::CNF)?, "cnf")?;
        Ok(CredentialClaims {
            issuer: cbor::text(map.require(claim::ISS)?, "iss")?.to_string(),
            subject: cbor::text(map.require(claim::SUB)?, "sub")?.to_string(),
            expires_at: cbor::uint(map.require(claim::EXP)?, "exp")?,
            issued_at: cbor::uint(map.require(claim::IAT)?, "iat")?,
            author_key: PublicKey::from_cose_value(cnf.require(claim::CNF_COSE_KEY)?)?,
            scope: AuthorScope::from_value(map.require(claim::AUTHOR_SCOPE)?)?,
        })
    }

    /// Sign the claims with the operator's key: a CWT (tag 61) around a COSE_Sign1 (tag 18).
    pub fn issue(&self, operator: &PrivateKey) -> Vec<u8> {
        let protected = coset::HeaderBuilder::new()
            .key_id(operator.public_key().kid().to_vec())
            .build();
        let sign1 = cose::sign1_attached(operator, protected, cbor::encode(&self.to_value()));
        // A COSE_Sign1 built here always serialises.
        let inner = sign1.to_cbor_value().expect("serialising a COSE_Sign1");
        cbor::encode(&Value::Tag(
            TAG_CWT,
            Box::new(Value::Tag(18, Box::new(inner))),
        ))
    }
}

/// A credential whose signature, validity period and structure were checked.
#[derive(Clone, Debug)]
pub struct VerifiedCredential {
    /// Shared by every check of the same credential bytes in a run with a memo.
    claims: Arc<CredentialClaims>,
}

impl VerifiedCredential {
    /// The verified claims.
    pub fn claims(&self) -> &CredentialClaims {
        &self.claims
    }

    /// The verified claims, taken out (shared).
    pub fn into_claims(self) -> Arc<CredentialClaims> {
        self.claims
    }
}

/// A credential decoded: its COSE_Sign1 and the claims of its payload, not yet checked.
#[derive(Debug)]
pub struct DecodedCredential {
    /// The COSE_Sign1 (the CWT without its tags).
    pub sign1: CoseSign1,
    /// The claims of its payload.
    pub claims: Arc<CredentialClaims>,
}

/// Decode a credential into its COSE_Sign1 and claims, checking nothing else.
pub fn decode_credential_claims(bytes: &[u8]) -> Result<DecodedCredential, CredentialError> {
    let sign1 = decode_credential(bytes)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| CredentialError::Malformed("detached CWT payload".into()))?;
    let claims = Arc::new(CredentialClaims::decode(payload)?);
    Ok(DecodedCredential { sign1, claims })
}

/// Decode a credential (tag 61 optional, tag 18 optional) into its COSE_Sign1.
pub fn decode_credential(bytes: &[u8]) -> Result<CoseSign1, CredentialError> {
    let value = cbor::decode(bytes)?;
    let value = match value {
        Value::Tag(TAG_CWT, inner) => *inner,
        v => v,
    };
    let value = match value {
        Value::Tag(18, inner) => *inner,
        Value::Tag(t, _) => return Err(CredentialError::Malformed(format!("unexpected tag {t}"))),
        v => v,
    };
    CoseSign1::from_cbor_value(value).map_err(|e| CredentialError::Malformed(format!("{e:?}")))
}

/// Verify a credential against the operator's key at time `now`.
pub fn verify_credential(
    bytes: &[u8],
    operator: &PublicKey,
    now: Instant,
) -> Result<VerifiedCredential, CredentialError> {
    verify_credential_memo(bytes, operator, now, &CryptoMemo::disabled())
}

/// [`verify_credential`] with the signature check answered from a run-wide `memo` when the
/// very same check was done before.
pub fn verify_credential_memo(
    bytes: &[u8],
    operator: &PublicKey,
    now: Instant,
    memo: &CryptoMemo,
) -> Result<VerifiedCredential, CredentialError> {
    let decoded = memo.credential(bytes, decode_credential_claims)?;
    if !cose::verify_sign1_memo(&decoded.sign1, None, operator, memo) {
        return Err(CredentialError::BadSignature);
    }
    let claims = Arc::clone(&decoded.claims);
    let now = now.unix_secs();
    if now >= claims.expires_at {
        return Err(CredentialError::Expired {
            expires_at: claims.expires_at,
            now,
        });
    }
    if claims.issued_at > now {
        return Err(CredentialError::NotYetValid {
            issued_at: claims.issued_at,
            now,
        });
    }
    Ok(VerifiedCredential { claims })
}
