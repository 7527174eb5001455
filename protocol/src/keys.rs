//! P-256 keys for signing (ES256) and key agreement (ECDH-ES + A128KW), as COSE_Key
//! (RFC 9052 section 7, RFC 9053 section 7.1.1) and from PEM (SPKI / PKCS#8 / SEC1).
//!
//! A key records the COSE algorithm it is meant for when the file says so; an operator
//! normally has two key pairs, one for signatures and one for key agreement. Every key
//! has a key identifier (`kid`): the first 8 bytes of its COSE Key Thumbprint (RFC 9679,
//! SHA-256 over the deterministic encoding of `kty`, `crv`, `x`, `y`), unless the COSE_Key
//! names its own.

use ciborium::Value;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::DecodePublicKey;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};

use crate::cbor::{self, CborError, IntMap};

/// COSE_Key labels and values used here (RFC 9052 / RFC 9053).
pub(crate) mod label {
    pub(crate) const KTY: i64 = 1;
    pub(crate) const KID: i64 = 2;
    pub(crate) const ALG: i64 = 3;
    pub(crate) const CRV: i64 = -1;
    pub(crate) const X: i64 = -2;
    pub(crate) const Y: i64 = -3;
    pub(crate) const D: i64 = -4;
    pub(crate) const KTY_EC2: i64 = 2;
    pub(crate) const CRV_P256: i64 = 1;
}

/// What a key is for, as the COSE `alg` of its COSE_Key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA with SHA-256 on P-256 (COSE -7).
    Es256,
    /// ECDH-ES with HKDF-SHA-256 and AES-128 key wrap (COSE -29).
    EcdhEsA128Kw,
}

impl KeyAlgorithm {
    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            KeyAlgorithm::Es256 => -7,
            KeyAlgorithm::EcdhEsA128Kw => -29,
        }
    }

    fn from_cose_id(id: i64) -> Option<Self> {
        match id {
            -7 => Some(KeyAlgorithm::Es256),
            -29 => Some(KeyAlgorithm::EcdhEsA128Kw),
            _ => None,
        }
    }

    /// A short name, as used on the command line (`ES256`, `ECDH-ES+A128KW`).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Es256 => "ES256",
            KeyAlgorithm::EcdhEsA128Kw => "ECDH-ES+A128KW",
        }
    }
}

/// Why bytes could not be read as a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The COSE_Key is not well-formed CBOR of the right shape.
    #[error("malformed COSE_Key: {0}")]
    Cbor(#[from] CborError),
    /// The key is not an EC2 P-256 key.
    #[error("unsupported key: {0} (only EC2 keys on P-256 are supported)")]
    Unsupported(&'static str),
    /// The coordinates or the private scalar are not a valid P-256 key.
    #[error("invalid P-256 key material: {0}")]
    Invalid(&'static str),
    /// A private key was expected but the file holds a public key.
    #[error("expected a private key (COSE_Key with `d`), found a public key")]
    NotPrivate,
    /// The PEM text could not be decoded.
    #[error("invalid PEM key: {0}")]
    Pem(String),
    /// The key declares an algorithm other than the one required here.
    #[error("key is for {found}, but {expected} is required here")]
    WrongAlgorithm {
        /// The algorithm the use requires.
        expected: &'static str,
        /// The algorithm the key declares.
        found: &'static str,
    },
}

/// A P-256 public key with its COSE metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    point: p256::PublicKey,
    alg: Option<KeyAlgorithm>,
    kid: Vec<u8>,
}

/// A P-256 private key with its COSE metadata. Its `Debug` output hides the scalar.
#[derive(Clone)]
pub struct PrivateKey {
    secret: p256::SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// A public key from an uncompressed or compressed SEC1 point.
    pub fn from_sec1(bytes: &[u8], alg: Option<KeyAlgorithm>) -> Result<Self, KeyError> {
        let point = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| KeyError::Invalid("not a point on P-256"))?;
        Ok(Self::from_point(point, alg, None))
    }

    fn from_point(point: p256::PublicKey, alg: Option<KeyAlgorithm>, kid: Option<Vec<u8>>) -> Self {
        let mut key = Self {
            point,
            alg,
            kid: Vec::new(),
        };
        key.kid = kid.unwrap_or_else(|| key.thumbprint()[..8].to_vec());
        key
    }

    /// The x and y coordinates, 32 bytes each.
    pub fn coordinates(&self) -> ([u8; 32], [u8; 32]) {
        let sec1 = self.point.to_sec1_point(false);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // An uncompressed point on P-256 always has both 32-byte coordinates.
        if let (Some(px), Some(py)) = (sec1.x(), sec1.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        (x, y)
    }

    /// The uncompressed SEC1 encoding (65 bytes).
    pub fn to_sec1(&self) -> Vec<u8> {
        self.point.to_sec1_point(false).as_bytes().to_vec()
    }

    /// The COSE Key Thumbprint (RFC 9679) with SHA-256.
    pub fn thumbprint(&self) -> [u8; 32] {
        let (x, y) = self.coordinates();
        let canonical = cbor::int_map([
            (label::KTY, Value::Integer(label::KTY_EC2.into())),
            (label::CRV, Value::Integer(label::CRV_P256.into())),
            (label::X, Value::Bytes(x.to_vec())),
            (label::Y, Value::Bytes(y.to_vec())),
        ]);
        Sha256::digest(cbor::encode(&canonical)).into()
    }

    /// The key identifier.
    pub fn kid(&self) -> &[u8] {
        &self.kid
    }

    /// The algorithm the key declares, if any.
    pub fn algorithm(&self) -> Option<KeyAlgorithm> {
        self.alg
    }

    /// Fail unless the key may be used for `alg` (a key that declares none may be used for any).
    pub fn require_algorithm(&self, alg: KeyAlgorithm) -> Result<(), KeyError> {
        require_alg(self.alg, alg)
    }

    /// Verify an ES256 signature (64 bytes, `r || s`) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
            return false;
        };
        p256::ecdsa::VerifyingKey::from(&self.point)
            .verify(message, &sig)
            .is_ok()
    }

    pub(crate) fn point(&self) -> &p256::PublicKey {
        &self.point
    }

    /// This key as a COSE_Key value (`kty`, `kid`, `alg`, `crv`, `x`, `y`).
    pub fn to_cose_value(&self) -> Value {
        let (x, y) = self.coordinates();
        let mut entries = vec![
            (label::KTY, Value::Integer(label::KTY_EC2.into())),
            (label::KID, Value::Bytes(self.kid.clone())),
        ];
        if let Some(alg) = self.alg {
            entries.push((label::ALG, Value::Integer(alg.cose_id().into())));
        }
        entries.extend([
            (label::CRV, Value::Integer(label::CRV_P256.into())),
            (label::X, Value::Bytes(x.to_vec())),
            (label::Y, Value::Bytes(y.to_vec())),
        ]);
        cbor::int_map(entries)
    }

    /// The COSE_Key encoding.
    pub fn to_cose_key(&self) -> Vec<u8> {
        cbor::encode(&self.to_cose_value())
    }

    /// Decode a public COSE_Key. A private COSE_Key is accepted too; its `d` is ignored.
    pub fn from_cose_key(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::from_cose_value(&cbor::decode(bytes)?)
    }

    /// Decode a public key from a COSE_Key value.
    pub fn from_cose_value(value: &Value) -> Result<Self, KeyError> {
        Ok(parse_cose_key(value)?.0)
    }

    /// Read a public key from an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let point = p256::PublicKey::from_public_key_pem(pem.trim())
            .map_err(|e| KeyError::Pem(e.to_string()))?;
        Ok(Self::from_point(point, None, None))
    }

    /// Read a public key from COSE_Key bytes, or from PEM text (public or private key).
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if let Some(pem) = as_pem(bytes) {
            if pem.contains("PRIVATE KEY") {
                return Ok(PrivateKey::from_pem(pem)?.public_key().clone());
            }
            return Self::from_pem(pem);
        }
        Self::from_cose_key(bytes)
    }
}

impl PrivateKey {
    /// Generate a fresh key from the caller's random number generator.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, alg: Option<KeyAlgorithm>) -> Self {
        let secret = p256::SecretKey::generate_from_rng(rng);
        Self::from_secret(secret, alg, None)
    }

    fn from_secret(
        secret: p256::SecretKey,
        alg: Option<KeyAlgorithm>,
        kid: Option<Vec<u8>>,
    ) -> Self {
        let public = PublicKey::from_point(secret.public_key(), alg, kid);
        Self { secret, public }
    }

    /// A private key from its 32-byte scalar.
    pub fn from_scalar(d: &[u8], alg: Option<KeyAlgorithm>) -> Result<Self, KeyError> {
        let secret = p256::SecretKey::from_slice(d)
            .map_err(|_| KeyError::Invalid("private scalar out of range"))?;
        Ok(Self::from_secret(secret, alg, None))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Fail unless the key may be used for `alg`.
    pub fn require_algorithm(&self, alg: KeyAlgorithm) -> Result<(), KeyError> {
        self.public.require_algorithm(alg)
    }

    /// Sign `message` with ES256 (deterministic, RFC 6979); returns `r || s`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signing = p256::ecdsa::SigningKey::from(&self.secret);
        let sig: p256::ecdsa::Signature = signing.sign(message);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        out
    }

    /// ECDH with `peer`; returns the shared x coordinate.
    pub fn agree(&self, peer: &PublicKey) -> [u8; 32] {
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.point().as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        out
    }

    /// The private COSE_Key encoding (with `d`).
    pub fn to_cose_key(&self) -> Vec<u8> {
        let mut value = self.public.to_cose_value();
        if let Value::Map(entries) = &mut value {
            entries.push((
                Value::Integer(label::D.into()),
                Value::Bytes(self.secret.to_bytes().to_vec()),
            ));
        }
        cbor::encode(&value)
    }

    /// Decode a private COSE_Key; it must contain `d` matching `x` and `y`.
    pub fn from_cose_key(bytes: &[u8]) -> Result<Self, KeyError> {
        let value = cbor::decode(bytes)?;
        let (public, d) = parse_cose_key(&value)?;
        let d = d.ok_or(KeyError::NotPrivate)?;
        let secret = p256::SecretKey::from_slice(d)
            .map_err(|_| KeyError::Invalid("private scalar out of range"))?;
        if secret.public_key() != public.point {
            return Err(KeyError::Invalid("d does not match x and y"));
        }
        Ok(Self { secret, public })
    }

    /// Read a private key from PKCS#8 or SEC1 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let secret =
            p256::SecretKey::from_pem(pem.trim()).map_err(|e| KeyError::Pem(e.to_string()))?;
        Ok(Self::from_secret(secret, None, None))
    }

    /// Read a private key from COSE_Key bytes or PEM text.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match as_pem(bytes) {
            Some(pem) => Self::from_pem(pem),
            None => Self::from_cose_key(bytes),
        }
    }
}

fn as_pem(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.trim_start().starts_with("-----BEGIN").then_some(text)
}

fn require_alg(declared: Option<KeyAlgorithm>, wanted: KeyAlgorithm) -> Result<(), KeyError> {
    match declared {
        Some(found) if found != wanted => Err(KeyError::WrongAlgorithm {
            expected: wanted.name(),
            found: found.name(),
        }),
        _ => Ok(()),
    }
}

/// Parse an EC2 P-256 COSE_Key into its public part and the optional private scalar.
fn parse_cose_key(value: &Value) -> Result<(PublicKey, Option<&[u8]>), KeyError> {
    const WHAT: &str = "COSE_Key";
    let map = IntMap::new(value, WHAT)?;
    if cbor::int(map.require(label::KTY)?, "COSE_Key kty")? != label::KTY_EC2 {
        return Err(KeyError::Unsupported("kty is not EC2"));
    }
    if cbor::int(map.require(label::CRV)?, "COSE_Key crv")? != label::CRV_P256 {
        return Err(KeyError::Unsupported("crv is not P-256"));
    }
    let x = cbor::bytes(map.require(label::X)?, "COSE_Key x")?;
    let y = match map.require(label::Y)? {
        Value::Bool(_) => return Err(KeyError::Unsupported("compressed y (a sign bit)")),
        other => cbor::bytes(other, "COSE_Key y")?,
    };
    if x.len() != 32 || y.len() != 32 {
        return Err(KeyError::Invalid("x and y must be 32 bytes each"));
    }
    let alg = match map.get(label::ALG) {
        None => None,
        Some(v) => Some(
            KeyAlgorithm::from_cose_id(cbor::int(v, "COSE_Key alg")?).ok_or(
                KeyError::Unsupported("alg is neither ES256 nor ECDH-ES+A128KW"),
            )?,
        ),
    };
    let kid = match map.get(label::KID) {
        None => None,
        Some(v) => Some(cbor::bytes(v, "COSE_Key kid")?.to_vec()),
    };
    let d = match map.get(label::D) {
        None => None,
        Some(v) => Some(cbor::bytes(v, "COSE_Key d")?),
    };
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    let point = p256::PublicKey::from_sec1_bytes(&sec1)
        .map_err(|_| KeyError::Invalid("(x, y) is not a point on P-256"))?;
    Ok((PublicKey::from_point(point, alg, kid), d))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
