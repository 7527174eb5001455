//! The access token, a CWT (RFC 8392) encrypted for the device in a COSE_Encrypt0, and the
//! OSCORE input material it confirms (RFC 9203 sections 3.2 and 4.3).

use ciborium::Value;
use coset::HeaderBuilder;
use rand_core::CryptoRng;

use super::AceError;
use super::label::{CNF_OSC, claim, osc};
use crate::cbor::{self, CborError, IntMap};
use crate::cose::CoseError;
use crate::encrypt0::{self, Iv, SymmetricKey};
use crate::oscore::{AeadAlgorithm, ContextParams};

/// HMAC 256/256 (COSE algorithm 5): the HKDF-SHA-256 of OSCORE, named, as RFC 9203 section
/// 3.2.1 asks, by its HMAC algorithm.
const HKDF_HMAC_SHA256: i64 = 5;

/// The OSCORE version this implementation speaks (RFC 8613 section 5.4).
const OSCORE_VERSION: u64 = 1;

/// The longest Master Secret, `cti`, `id` or input salt accepted from the wire.
const MAX_FIELD_LEN: usize = 64;

/// The longest ID Context an OSCORE context accepts.
const MAX_ID_CONTEXT_LEN: usize = 255;

/// The OSCORE_Input_Material of RFC 9203 section 3.2.1, as sent in `cnf` / `osc`.
///
/// `version` and `hkdf` are accepted on decoding if they name the defaults (1 and HKDF
/// SHA-256) and never encoded. `Debug` does not show the Master Secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OscoreInputMaterial {
    /// `id`: identifies the material at the AS (required).
    pub id: Vec<u8>,
    /// `ms`: the OSCORE Master Secret, which is the proof-of-possession key (required).
    pub master_secret: Vec<u8>,
    /// `alg`: the AEAD algorithm; `None` means the OSCORE default (AES-CCM-16-64-128).
    pub algorithm: Option<AeadAlgorithm>,
    /// `salt`: the input salt, the first part of the Master Salt.
    pub salt: Option<Vec<u8>>,
    /// `contextId`: the OSCORE ID Context.
    pub context_id: Option<Vec<u8>>,
}

impl core::fmt::Debug for OscoreInputMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OscoreInputMaterial")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("salt", &self.salt)
            .field("context_id", &self.context_id)
            .finish_non_exhaustive()
    }
}

impl OscoreInputMaterial {
    /// The material as a CBOR map with the labels of RFC 9203 section 3.2.1.
    pub fn to_cbor_value(&self) -> Value {
        let mut entries = vec![
            (osc::ID, Value::Bytes(self.id.clone())),
            (osc::MS, Value::Bytes(self.master_secret.clone())),
        ];
        if let Some(alg) = self.algorithm {
            entries.push((osc::ALG, Value::Integer(alg.cose_id().into())));
        }
        if let Some(salt) = &self.salt {
            entries.push((osc::SALT, Value::Bytes(salt.clone())));
        }
        if let Some(context_id) = &self.context_id {
            entries.push((osc::CONTEXT_ID, Value::Bytes(context_id.clone())));
        }
        cbor::int_map(entries)
    }

    /// Reads the material from a CBOR map. Missing `id` or `ms` and ill-sized fields are
    /// [`AceError::Malformed`]; unknown members and non-default version, HKDF or AEAD
    /// algorithms are [`AceError::Unsupported`].
    pub fn from_cbor_value(value: &Value) -> Result<Self, AceError> {
        let map = IntMap::new(value, "OSCORE_Input_Material")?;
        map.only(&[
            osc::ID,
            osc::VERSION,
            osc::MS,
            osc::HKDF,
            osc::ALG,
            osc::SALT,
            osc::CONTEXT_ID,
        ])
        .map_err(|e| match e {
            CborError::UnexpectedKey { key, .. } => {
                AceError::Unsupported(format!("OSCORE_Input_Material member {key}"))
            }
            other => other.into(),
        })?;
        if let Some(v) = map.get(osc::VERSION) {
            let version = cbor::uint(v, "osc version")?;
            if version != OSCORE_VERSION {
                return Err(AceError::Unsupported(format!("OSCORE version {version}")));
            }
        }
        if let Some(v) = map.get(osc::HKDF) {
            match v {
                Value::Integer(i) if i64::try_from(*i) == Ok(HKDF_HMAC_SHA256) => {}
                _ => return Err(AceError::Unsupported("HKDF algorithm".into())),
            }
        }
        let algorithm = match map.get(osc::ALG) {
            None => None,
            Some(Value::Integer(i)) => {
                let id = i64::try_from(*i)
                    .map_err(|_| AceError::Unsupported("AEAD algorithm".into()))?;
                let alg = AeadAlgorithm::from_cose_id(id)
                    .map_err(|_| AceError::Unsupported(format!("AEAD algorithm {id}")))?;
                Some(alg)
            }
            Some(_) => return Err(AceError::Unsupported("AEAD algorithm as text".into())),
        };
        let id = bounded_bytes(map.require(osc::ID)?, "osc id", 0, MAX_FIELD_LEN)?;
        let master_secret = bounded_bytes(map.require(osc::MS)?, "osc ms", 1, MAX_FIELD_LEN)?;
        let salt = map
            .get(osc::SALT)
            .map(|v| bounded_bytes(v, "osc salt", 0, MAX_FIELD_LEN))
            .transpose()?;
        let context_id = map
            .get(osc::CONTEXT_ID)
            .map(|v| bounded_bytes(v, "osc contextId", 0, MAX_ID_CONTEXT_LEN))
            .transpose()?;
        Ok(Self {
            id,
            master_secret,
            algorithm,
            salt,
            context_id,
        })
    }

    /// The AEAD algorithm the context will use.
    pub fn aead(&self) -> AeadAlgorithm {
        self.algorithm.unwrap_or_default()
    }

    /// The OSCORE parameters of one side (RFC 9203 section 4.3): Master Secret `ms`,
    /// Master Salt from [`master_salt`], ID Context `contextId`, AEAD `alg` or the default,
    /// and the given Sender and Recipient IDs.
    pub(super) fn context_params(
        &self,
        nonce1: &[u8],
        nonce2: &[u8],
        sender_id: &[u8],
        recipient_id: &[u8],
    ) -> ContextParams {
        let mut params = ContextParams::new(&self.master_secret, sender_id, recipient_id);
        params.master_salt = master_salt(self.salt.as_deref(), nonce1, nonce2);
        params.id_context = self.context_id.clone();
        params.algorithm = self.aead();
        params
    }
}

/// The OSCORE Master Salt of RFC 9203 section 4.3: `salt | N1 | N2`, each encoded as a CBOR
/// byte string, concatenated in this order. Without an input salt from the AS, the empty
/// byte string (`0x40`) stands in its place.
pub fn master_salt(salt: Option<&[u8]>, nonce1: &[u8], nonce2: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [salt.unwrap_or_default(), nonce1, nonce2] {
        out.extend(cbor::encode(&Value::Bytes(part.to_vec())));
    }
    out
}

/// The claims of an access token (RFC 8392, RFC 9200 section 5.10, RFC 9203 section 3.2).
///
/// Decoding checks the structure only; whether the token is good for a device (expiry,
/// audience, scope) is the device's check, in [`super::TokenStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// `aud`: the device the token is for.
    pub audience: String,
    /// `exp`: Unix seconds at and after which the token is no longer accepted.
    pub expires_at: u64,
    /// `iat`: Unix seconds when the AS issued the token.
    pub issued_at: Option<u64>,
    /// `cti`: the token identifier.
    pub cti: Vec<u8>,
    /// `scope`: space-separated scope tokens, as sent.
    pub scope: String,
    /// `cnf` / `osc`: the OSCORE input material the token is bound to.
    pub osc: OscoreInputMaterial,
}

impl AccessTokenClaims {
    /// The claims set as a CBOR map, keys in ascending order.
    pub fn to_cbor_value(&self) -> Value {
        let mut entries = vec![
            (claim::AUD, Value::Text(self.audience.clone())),
            (claim::EXP, Value::Integer(self.expires_at.into())),
        ];
        if let Some(iat) = self.issued_at {
            entries.push((claim::IAT, Value::Integer(iat.into())));
        }
        entries.extend([
            (claim::CTI, Value::Bytes(self.cti.clone())),
            (
                claim::CNF,
                cbor::int_map([(CNF_OSC, self.osc.to_cbor_value())]),
            ),
            (claim::SCOPE, Value::Text(self.scope.clone())),
        ]);
        cbor::int_map(entries)
    }

    /// The encoded claims set.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&self.to_cbor_value())
    }

    /// Decodes a claims set. Any claim besides `aud`, `exp`, `iat`, `cti`, `cnf` and
    /// `scope`, a missing required claim or a wrong type is [`AceError::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, AceError> {
        let value = cbor::decode(bytes)?;
        let map = IntMap::new(&value, "CWT claims")?;
        map.only(&[
            claim::AUD,
            claim::EXP,
            claim::IAT,
            claim::CTI,
            claim::CNF,
            claim::SCOPE,
        ])?;
        let cnf = IntMap::new(map.require(claim::CNF)?, "cnf")?;
        cnf.only(&[CNF_OSC])?;
        Ok(Self {
            audience: cbor::text(map.require(claim::AUD)?, "aud")?.to_string(),
            expires_at: cbor::uint(map.require(claim::EXP)?, "exp")?,
            issued_at: map
                .get(claim::IAT)
                .map(|v| cbor::uint(v, "iat"))
                .transpose()?,
            cti: bounded_bytes(map.require(claim::CTI)?, "cti", 1, MAX_FIELD_LEN)?,
            scope: cbor::text(map.require(claim::SCOPE)?, "scope")?.to_string(),
            osc: OscoreInputMaterial::from_cbor_value(cnf.require(CNF_OSC)?)?,
        })
    }

    /// Encrypts the claims for the device into an untagged COSE_Encrypt0 (as in the
    /// examples of RFC 9203): protected `{alg: AES-CCM-16-64-128}`, unprotected
    /// `{kid: kid, IV: random}`, no external AAD. The key must be the device's AS key.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        key: &SymmetricKey,
        kid: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, AceError> {
        let iv = key.algorithm().random_iv(rng);
        let unprotected = HeaderBuilder::new().key_id(kid.to_vec()).build();
        // Cannot fail: the IV has the key's nonce length and the headers carry no
        // conflicting parameters; mapped to an error all the same.
        let encrypt0 = encrypt0::encrypt(
            key,
            Iv::Full(&iv),
            coset::Header::default(),
            unprotected,
            &[],
            &self.encode(),
        )
        .map_err(|e| AceError::Malformed(e.to_string()))?;
        encrypt0::encode_untagged(encrypt0).map_err(|e| AceError::Malformed(e.to_string()))
    }

    /// Opens a token received by the device `own_audience`: decodes the COSE_Encrypt0
    /// (tagged or not; otherwise [`AceError::Malformed`]), checks that its `kid` (required,
    /// in either header) names this device (otherwise [`AceError::WrongAudience`]: the
    /// token is addressed to another device's key), decrypts (otherwise
    /// [`AceError::TokenUndecryptable`]) and
    /// decodes the claims. Other COSE defects (no IV, another `alg`) are
    /// [`AceError::Malformed`]. The claims are not validated here.
    pub fn open(token: &[u8], key: &SymmetricKey, own_audience: &str) -> Result<Self, AceError> {
        Self::open_for(token, key, Some(own_audience))
    }

    /// [`Self::open`], with the `kid` pre-check left out when `own_audience` is `None`
    /// (the `token_audience` ablation of the token store).
    pub(super) fn open_for(
        token: &[u8],
        key: &SymmetricKey,
        own_audience: Option<&str>,
    ) -> Result<Self, AceError> {
        let encrypt0 =
            encrypt0::decode(token).map_err(|e| AceError::Malformed(format!("token: {e}")))?;
        let kid = match (
            encrypt0.protected.header.key_id.as_slice(),
            encrypt0.unprotected.key_id.as_slice(),
        ) {
            ([], kid) | (kid, []) => kid,
            _ => return Err(AceError::Malformed("token kid in both headers".into())),
        };
        if kid.is_empty() {
            // Required: without it an unauthenticated header change (the kid label turned
            // into an unknown one) would leave a token that still opens.
            return Err(AceError::Malformed("token without kid".into()));
        }
        if let Some(own_audience) = own_audience
            && kid != own_audience.as_bytes()
        {
            return Err(AceError::WrongAudience {
                expected: own_audience.to_string(),
                found: String::from_utf8_lossy(kid).into_owned(),
            });
        }
        let plaintext = encrypt0::decrypt(&encrypt0, key, None, &[]).map_err(|e| match e {
            CoseError::Decrypt => AceError::TokenUndecryptable,
            other => AceError::Malformed(format!("token: {other}")),
        })?;
        Self::decode(&plaintext)
    }
}

/// The byte string in `value`, `min..=max` bytes long.
pub(super) fn bounded_bytes(
    value: &Value,
    what: &'static str,
    min: usize,
    max: usize,
) -> Result<Vec<u8>, AceError> {
    let bytes = cbor::bytes(value, what)?;
    if bytes.len() < min || bytes.len() > max {
        return Err(AceError::Malformed(format!(
            "{what}: {} bytes, expected {min} to {max}",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// The AS key shared with a device, for AES-CCM-16-64-128.
pub(super) fn device_key(key: &[u8; 16]) -> SymmetricKey {
    // A 16-byte key is exactly what AES-CCM-16-64-128 takes, so `new` cannot fail.
    SymmetricKey::new(encrypt0::ContentAlgorithm::AesCcm16_64_128, key)
        .expect("a 16-byte key fits AES-CCM-16-64-128")
}
