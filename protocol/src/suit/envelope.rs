//! The SUIT envelope (draft-ietf-suit-manifest section 8.2): the authentication wrapper
//! (a digest of the manifest and one or more COSE_Sign1 over that digest, payload
//! detached), the manifest, and any severed members or integrated payloads.
//!
//! The manifest and the digest are kept as the exact bytes received, because signatures
//! and digests cover those bytes and not a re-encoding.

use ciborium::Value;
use coset::CoseSign1;

use super::labels::{TAG_ENVELOPE, envelope as e, manifest as m};
use super::manifest::{Digest, Manifest};
use crate::cbor::{self, CborError, IntMap};
use crate::cose::{self, CoseError};

/// Why bytes are not a well-formed SUIT envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Bad CBOR or a structure of the wrong shape.
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// A COSE_Sign1 in the authentication wrapper does not decode.
    #[error("authentication wrapper: {0}")]
    Cose(#[from] CoseError),
    /// The authentication wrapper holds a digest but no signature.
    #[error("authentication wrapper has no signature")]
    Unsigned,
}

/// One COSE_Sign1 of the authentication wrapper, with its exact bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvelopeSignature {
    /// The encoded COSE_Sign1_Tagged, as it stands in the wrapper.
    pub bytes: Vec<u8>,
    /// The decoded structure.
    pub sign1: CoseSign1,
}

/// A decoded SUIT envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    digest_bytes: Vec<u8>,
    digest: Digest,
    signatures: Vec<EnvelopeSignature>,
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
    members: Vec<(Value, Value)>,
}

impl Envelope {
    /// An unsigned envelope around `manifest_bytes`, with its SHA-256 digest.
    pub fn new(manifest_bytes: Vec<u8>) -> Result<Self, EnvelopeError> {
        let manifest = Manifest::decode(&manifest_bytes)?;
        let digest = Digest::sha256(&cbor::encode(&Value::Bytes(manifest_bytes.clone())));
        Ok(Envelope {
            digest_bytes: cbor::encode(&digest.to_value()),
            digest,
            signatures: Vec::new(),
            manifest_bytes,
            manifest,
            members: Vec::new(),
        })
    }

    /// Decode an envelope (tagged 107 or untagged). Only the structure is checked here;
    /// digests and signatures are checked by the verifier.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let value = cbor::decode(bytes)?;
        let value = match value {
            Value::Tag(TAG_ENVELOPE, inner) => *inner,
            Value::Tag(_, _) => {
                return Err(CborError::Shape {
                    what: "SUIT_Envelope",
                    expected: "tag 107 or an untagged map",
                }
                .into());
            }
            v => v,
        };
        let Value::Map(pairs) = &value else {
            return Err(CborError::Shape {
                what: "SUIT_Envelope",
                expected: "map",
            }
            .into());
        };
        // Integrated payloads have text keys; everything else must be an integer key.
        let int_pairs: Vec<(Value, Value)> = pairs
            .iter()
            .filter(|(k, _)| !k.is_text())
            .cloned()
            .collect();
        let int_map_value = Value::Map(int_pairs);
        let map = IntMap::new(&int_map_value, "SUIT_Envelope")?;
        map.only(&[
            e::DELEGATION,
            e::AUTHENTICATION_WRAPPER,
            e::MANIFEST,
            m::PAYLOAD_FETCH,
            m::INSTALL,
            m::TEXT,
        ])?;

        let auth = cbor::decode(cbor::bytes(
            map.require(e::AUTHENTICATION_WRAPPER)?,
            "suit-authentication-wrapper",
        )?)?;
        let auth = cbor::array(&auth, "SUIT_Authentication")?;
        let (digest_item, signature_items) = auth.split_first().ok_or(CborError::Shape {
            what: "SUIT_Authentication",
            expected: "[digest, + signature]",
        })?;
        let digest_bytes = cbor::bytes(digest_item, "SUIT_Digest bstr")?.to_vec();
        let digest = Digest::from_value(&cbor::decode(&digest_bytes)?)?;
        if signature_items.is_empty() {
            return Err(EnvelopeError::Unsigned);
        }
        let signatures = signature_items
            .iter()
            .map(|item| {
                let bytes = cbor::bytes(item, "SUIT_Authentication_Block")?.to_vec();
                let sign1 = cose::decode_sign1(&bytes)?;
                // One approved update must have one encoding: refuse a signature whose
                // bytes are not what its structure encodes to (e.g. `undefined` written for
                // the nil payload, which CBOR decoders read as nil).
                if cose::encode_sign1(sign1.clone())? != bytes {
                    return Err(CborError::Shape {
                        what: "COSE_Sign1 in the authentication wrapper",
                        expected: "its canonical encoding (tag 18, nil payload)",
                    }
                    .into());
                }
                Ok(EnvelopeSignature { bytes, sign1 })
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        let manifest_bytes = cbor::bytes(map.require(e::MANIFEST)?, "suit-manifest")?.to_vec();
        let manifest = Manifest::decode(&manifest_bytes)?;
        let members = pairs
            .iter()
            .filter(|(k, _)| {
                !matches!(k, Value::Integer(i) if [e::AUTHENTICATION_WRAPPER, e::MANIFEST]
                    .iter()
                    .any(|l| i64::try_from(*i).ok() == Some(*l)))
            })
            .cloned()
            .collect();
        Ok(Envelope {
            digest_bytes,
            digest,
            signatures,
            manifest_bytes,
            manifest,
            members,
        })
    }

    /// Encode as `SUIT_Envelope_Tagged`.
    pub fn encode(&self) -> Vec<u8> {
        let mut auth = vec![Value::Bytes(self.digest_bytes.clone())];
        auth.extend(
            self.signatures
                .iter()
                .map(|s| Value::Bytes(s.bytes.clone())),
        );
        let mut pairs = vec![
            (
                Value::Integer(e::AUTHENTICATION_WRAPPER.into()),
                Value::Bytes(cbor::encode(&Value::Array(auth))),
            ),
            (
                Value::Integer(e::MANIFEST.into()),
                Value::Bytes(self.manifest_bytes.clone()),
            ),
        ];
        pairs.extend(self.members.iter().cloned());
        cbor::encode(&Value::Tag(TAG_ENVELOPE, Box::new(Value::Map(pairs))))
    }

    /// The decoded manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's exact bytes.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// The digest the authentication wrapper claims for the manifest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The bytes every signature of the wrapper signs: the encoded SUIT_Digest.
    pub fn signed_payload(&self) -> &[u8] {
        &self.digest_bytes
    }

    /// Whether the wrapper's digest is the digest of the bstr-wrapped manifest, and every
    /// severed member present in the envelope matches its digest in the manifest.
    pub fn digests_match(&self) -> bool {
        if !self
            .digest
            .matches(&cbor::encode(&Value::Bytes(self.manifest_bytes.clone())))
        {
            return false;
        }
        self.manifest.severed.iter().all(|(key, digest)| {
            match self
                .members
                .iter()
                .find(|(k, _)| *k == Value::Integer((*key).into()))
            {
                Some((_, body)) => digest.matches(&cbor::encode(body)),
                None => true, // severed and absent: the device does not need it
            }
        })
    }

    /// The signatures of the authentication wrapper.
    pub fn signatures(&self) -> &[EnvelopeSignature] {
        &self.signatures
    }

    /// Append a signature to the authentication wrapper.
    pub fn add_signature(&mut self, sign1: CoseSign1) -> Result<(), EnvelopeError> {
        let bytes = cose::encode_sign1(sign1.clone())?;
        self.signatures.push(EnvelopeSignature { bytes, sign1 });
        Ok(())
    }

    /// Keep only the signatures for which `keep` is true (e.g. to strip an approval).
    pub fn retain_signatures(&mut self, keep: impl FnMut(&EnvelopeSignature) -> bool) {
        self.signatures.retain(keep);
    }
}
