//! COSE_Encrypt0 (RFC 9052 section 5.2): one ciphertext under a symmetric key that both
//! sides already share, with no recipient structure. The ACE OSCORE profile uses it for
//! access tokens: the Authorization Server encrypts the CWT for the device under the key
//! they share since commissioning (RFC 9200 section 5.8, RFC 9203).
//!
//! Algorithms: AES-CCM-16-64-128 (COSE 10, the ACE and OSCORE default), A128GCM (1) and
//! A256GCM (3). A [`SymmetricKey`] is bound to one algorithm, so a message cannot make the
//! receiver use its key with another algorithm: an `alg` in the message must name the
//! key's algorithm, and a message without `alg` is read with the key's.
//!
//! The nonce is either a full IV (header label 5) or a Partial IV (label 6) that is
//! left-padded with zeros and XORed with a context IV known to both sides (RFC 9052
//! section 3.1).
//!
//! No function here panics on any input; every failure is a [`CoseError`]:
//! [`CoseError::Malformed`] for bytes that do not decode or a key of the wrong length,
//! [`CoseError::UnsupportedAlgorithm`] for an integer `alg` this module does not know,
//! [`CoseError::Header`] for missing, conflicting or ill-sized header parameters, and
//! [`CoseError::Decrypt`] for a wrong key or altered bytes.

use aes::Aes128Enc;
use aes_gcm::aead::array::Array;
use aes_gcm::aead::consts::{U8, U13};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use ciborium::Value;
use coset::{CoseEncrypt0, Header, ProtectedHeader, TaggedCborSerializable};
use rand_core::CryptoRng;

use crate::cbor;
use crate::cose::{CoseError, alg};

/// AES-CCM with a 64-bit tag and a 13-byte nonce, which leaves a 16-bit length field (the
/// "16" of the COSE name).
type AesCcm16_64_128 = ccm::Ccm<Aes128Enc, U8, U13>;

/// The CBOR tag of a COSE_Encrypt0.
const TAG_ENCRYPT0: u64 = 16;

/// The COSE identifier of AES-CCM-16-64-128 (RFC 9053 section 4.2).
pub const AES_CCM_16_64_128: i64 = 10;

/// A content-encryption algorithm of COSE_Encrypt0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ContentAlgorithm {
    /// AES-CCM-16-64-128 (COSE 10): 16-byte key, 13-byte nonce, 8-byte tag.
    AesCcm16_64_128,
    /// A128GCM (COSE 1): 16-byte key, 12-byte nonce, 16-byte tag.
    A128Gcm,
    /// A256GCM (COSE 3): 32-byte key, 12-byte nonce, 16-byte tag.
    A256Gcm,
}

impl ContentAlgorithm {
    /// The algorithm for a COSE algorithm identifier.
    pub fn from_cose_id(id: i64) -> Result<Self, CoseError> {
        match id {
            AES_CCM_16_64_128 => Ok(Self::AesCcm16_64_128),
            alg::A128GCM => Ok(Self::A128Gcm),
            alg::A256GCM => Ok(Self::A256Gcm),
            other => Err(CoseError::UnsupportedAlgorithm(other)),
        }
    }

    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            Self::AesCcm16_64_128 => AES_CCM_16_64_128,
            Self::A128Gcm => alg::A128GCM,
            Self::A256Gcm => alg::A256GCM,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 | Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }

    /// Nonce (full IV) length in bytes.
    pub fn nonce_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 => 13,
            Self::A128Gcm | Self::A256Gcm => 12,
        }
    }

    /// Authentication tag length in bytes.
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 => 8,
            Self::A128Gcm | Self::A256Gcm => 16,
        }
    }

    /// A fresh full IV of the right length from the caller's random number generator.
    ///
    /// With AES-CCM and AES-GCM a nonce must never repeat under one key; a random IV of
    /// 96 or 104 bits is safe for far more messages than one key encrypts here.
    pub fn random_iv<R: CryptoRng + ?Sized>(self, rng: &mut R) -> Vec<u8> {
        let mut iv = vec![0u8; self.nonce_len()];
        rng.fill_bytes(&mut iv);
        iv
    }
}

/// A symmetric key bound to its content-encryption algorithm. `Debug` hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey {
    alg: ContentAlgorithm,
    key: Vec<u8>,
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SymmetricKey {
    /// A key for `alg`; `key` must have the algorithm's key length.
    pub fn new(alg: ContentAlgorithm, key: &[u8]) -> Result<Self, CoseError> {
        if key.len() != alg.key_len() {
            return Err(CoseError::Malformed(format!(
                "a {alg:?} key is {} bytes, got {}",
                alg.key_len(),
                key.len()
            )));
        }
        Ok(Self {
            alg,
            key: key.to_vec(),
        })
    }

    /// The algorithm this key is for.
    pub fn algorithm(&self) -> ContentAlgorithm {
        self.alg
    }

    /// The raw AEAD: encrypt `plaintext` with `nonce` and `aad`; returns ciphertext || tag.
    pub fn seal(&self, nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CoseError> {
        self.apply(nonce, aad, plaintext, Direction::Seal)
    }

    /// The raw AEAD: decrypt and verify ciphertext || tag with `nonce` and `aad`.
    pub fn open(&self, nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CoseError> {
        if ciphertext.len() < self.alg.tag_len() {
            return Err(CoseError::Decrypt);
        }
        self.apply(nonce, aad, ciphertext, Direction::Open)
    }

    fn apply(
        &self,
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
        direction: Direction,
    ) -> Result<Vec<u8>, CoseError> {
        if nonce.len() != self.alg.nonce_len() {
            return Err(CoseError::Header("IV length does not match the algorithm"));
        }
        // The key length was checked in `new`, the nonce length just above, so the
        // `new_from_slice` and `try_from` below cannot fail; they still map to errors.
        let key_error = || CoseError::Malformed("key length".into());
        let nonce_error = || CoseError::Header("IV length does not match the algorithm");
        let payload = Payload { msg, aad };
        let out = match self.alg {
            ContentAlgorithm::AesCcm16_64_128 => {
                let cipher = AesCcm16_64_128::new_from_slice(&self.key).map_err(|_| key_error())?;
                let nonce = Array::try_from(nonce).map_err(|_| nonce_error())?;
                direction.run(&cipher, &nonce, payload)
            }
            ContentAlgorithm::A128Gcm => {
                let cipher = Aes128Gcm::new_from_slice(&self.key).map_err(|_| key_error())?;
                let nonce = Array::try_from(nonce).map_err(|_| nonce_error())?;
                direction.run(&cipher, &nonce, payload)
            }
            ContentAlgorithm::A256Gcm => {
                let cipher = Aes256Gcm::new_from_slice(&self.key).map_err(|_| key_error())?;
                let nonce = Array::try_from(nonce).map_err(|_| nonce_error())?;
                direction.run(&cipher, &nonce, payload)
            }
        };
        out.map_err(|_| CoseError::Decrypt)
    }
}

/// How the sender conveys the nonce of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iv<'a> {
    /// The full IV, sent in the unprotected header (label 5).
    Full(&'a [u8]),
    /// Only the Partial IV is sent (label 6); the nonce is the context IV XOR the Partial
    /// IV left-padded with zeros.
    Partial {
        /// The IV both sides know from context; as long as the algorithm's nonce.
        context_iv: &'a [u8],
        /// The part that changes per message; at most as long as the nonce.
        partial_iv: &'a [u8],
    },
}

/// The nonce of a message that carries only a Partial IV (RFC 9052 section 3.1): the
/// Partial IV left-padded with zeros to the context IV's length, XORed with it.
pub fn full_iv(context_iv: &[u8], partial_iv: &[u8]) -> Result<Vec<u8>, CoseError> {
    if partial_iv.is_empty() || partial_iv.len() > context_iv.len() {
        return Err(CoseError::Header(
            "Partial IV must be non-empty and no longer than the context IV",
        ));
    }
    let mut nonce = context_iv.to_vec();
    let offset = context_iv.len() - partial_iv.len();
    for (n, p) in nonce[offset..].iter_mut().zip(partial_iv) {
        *n ^= p;
    }
    Ok(nonce)
}

/// Encrypt `plaintext` into a COSE_Encrypt0 under `key`.
///
/// `alg` is set in the protected header from the key; `protected` must not name another
/// algorithm. The IV or Partial IV goes into the unprotected header, so `unprotected`
/// must carry neither, nor an `alg`. `external_aad` is authenticated but not sent.
pub fn encrypt(
    key: &SymmetricKey,
    iv: Iv<'_>,
    protected: Header,
    unprotected: Header,
    external_aad: &[u8],
    plaintext: &[u8],
) -> Result<CoseEncrypt0, CoseError> {
    let mut protected = protected;
    match protected.alg.as_ref().map(alg_id) {
        None => {}
        Some(Ok(id)) if id == key.alg.cose_id() => {}
        Some(_) => return Err(CoseError::Header("protected alg does not match the key")),
    }
    protected.alg = Some(coset::Algorithm::Assigned(assigned(key.alg)));
    if !protected.iv.is_empty() || !protected.partial_iv.is_empty() {
        return Err(CoseError::Header(
            "the IV belongs in the unprotected header",
        ));
    }
    let mut unprotected = unprotected;
    if unprotected.alg.is_some() {
        return Err(CoseError::Header("alg belongs in the protected header"));
    }
    if !unprotected.iv.is_empty() || !unprotected.partial_iv.is_empty() {
        return Err(CoseError::Header("the IV is set from the `iv` argument"));
    }
    let nonce = match iv {
        Iv::Full(iv) => {
            unprotected.iv = iv.to_vec();
            iv.to_vec()
        }
        Iv::Partial {
            context_iv,
            partial_iv,
        } => {
            unprotected.partial_iv = partial_iv.to_vec();
            full_iv(context_iv, partial_iv)?
        }
    };
    if nonce.len() != key.alg.nonce_len() {
        return Err(CoseError::Header("IV length does not match the algorithm"));
    }
    let protected = ProtectedHeader {
        original_data: None,
        header: protected,
    };
    let aad = enc_structure(&protected, external_aad);
    let ciphertext = key.seal(&nonce, &aad, plaintext)?;
    Ok(CoseEncrypt0 {
        protected,
        unprotected,
        ciphertext: Some(ciphertext),
    })
}

/// Decrypt a COSE_Encrypt0 with `key`.
///
/// `context_iv` is needed only for messages that carry a Partial IV. The `alg` of the
/// message (protected or unprotected, not both) must be the key's; without one, the key's
/// algorithm is used. Critical header parameters (`crit`) are not supported and make the
/// message fail.
pub fn decrypt(
    encrypt0: &CoseEncrypt0,
    key: &SymmetricKey,
    context_iv: Option<&[u8]>,
    external_aad: &[u8],
) -> Result<Vec<u8>, CoseError> {
    let protected = &encrypt0.protected.header;
    let unprotected = &encrypt0.unprotected;
    let declared = match (&protected.alg, &unprotected.alg) {
        (Some(_), Some(_)) => {
            return Err(CoseError::Header(
                "alg is in both the protected and the unprotected header",
            ));
        }
        (Some(a), None) | (None, Some(a)) => Some(ContentAlgorithm::from_cose_id(alg_id(a)?)?),
        (None, None) => None,
    };
    if declared.is_some_and(|a| a != key.alg) {
        return Err(CoseError::Header("alg does not match the key"));
    }
    if !protected.crit.is_empty() {
        return Err(CoseError::Header(
            "critical header parameters are not supported",
        ));
    }
    let nonce = message_nonce(protected, unprotected, context_iv)?;
    if nonce.len() != key.alg.nonce_len() {
        return Err(CoseError::Header("IV length does not match the algorithm"));
    }
    let ciphertext = encrypt0
        .ciphertext
        .as_deref()
        .ok_or(CoseError::Header("ciphertext is detached (nil)"))?;
    let aad = enc_structure(&encrypt0.protected, external_aad);
    key.open(&nonce, &aad, ciphertext)
}

/// Decode a COSE_Encrypt0, tagged (16) or untagged. Trailing bytes and other tags fail.
pub fn decode(bytes: &[u8]) -> Result<CoseEncrypt0, CoseError> {
    let value = cbor::decode(bytes).map_err(|e| CoseError::Malformed(e.to_string()))?;
    let value = match value {
        Value::Tag(TAG_ENCRYPT0, inner) => *inner,
        Value::Tag(t, _) => return Err(CoseError::Malformed(format!("unexpected tag {t}"))),
        v => v,
    };
    Ok(coset::AsCborValue::from_cbor_value(value)?)
}

/// Encode a COSE_Encrypt0 with its tag (16).
pub fn encode(encrypt0: CoseEncrypt0) -> Result<Vec<u8>, CoseError> {
    Ok(encrypt0.to_tagged_vec()?)
}

/// Encode a COSE_Encrypt0 without a tag (as when the context says what it is).
pub fn encode_untagged(encrypt0: CoseEncrypt0) -> Result<Vec<u8>, CoseError> {
    Ok(coset::CborSerializable::to_vec(encrypt0)?)
}

#[derive(Clone, Copy)]
enum Direction {
    Seal,
    Open,
}

impl Direction {
    fn run<A: Aead>(
        self,
        cipher: &A,
        nonce: &aes_gcm::aead::Nonce<A>,
        payload: Payload<'_, '_>,
    ) -> Result<Vec<u8>, aes_gcm::aead::Error> {
        match self {
            Direction::Seal => cipher.encrypt(nonce, payload),
            Direction::Open => cipher.decrypt(nonce, payload),
        }
    }
}

/// The Enc_structure `["Encrypt0", protected, external_aad]` (RFC 9052 section 5.3).
///
/// A protected header that decodes to an empty map counts as the zero-length byte string,
/// however it was sent: RFC 9052 section 3 has recipients accept both `h''` and `h'a0'`,
/// and the zero-length form is the one the cryptographic structures use.
fn enc_structure(protected: &ProtectedHeader, external_aad: &[u8]) -> Vec<u8> {
    let mut protected = protected.clone();
    if protected.header.is_empty() {
        protected.original_data = None;
    }
    coset::enc_structure_data(
        coset::EncryptionContext::CoseEncrypt0,
        protected,
        external_aad,
    )
}

/// The nonce of a received message, from its IV or Partial IV (in either bucket, once).
fn message_nonce(
    protected: &Header,
    unprotected: &Header,
    context_iv: Option<&[u8]>,
) -> Result<Vec<u8>, CoseError> {
    let pick = |p: &[u8], u: &[u8], what| -> Result<Option<Vec<u8>>, CoseError> {
        match (p.is_empty(), u.is_empty()) {
            (false, false) => Err(CoseError::Header(what)),
            (false, true) => Ok(Some(p.to_vec())),
            (true, false) => Ok(Some(u.to_vec())),
            (true, true) => Ok(None),
        }
    };
    let iv = pick(
        &protected.iv,
        &unprotected.iv,
        "IV is in both the protected and the unprotected header",
    )?;
    let partial = pick(
        &protected.partial_iv,
        &unprotected.partial_iv,
        "Partial IV is in both the protected and the unprotected header",
    )?;
    match (iv, partial) {
        (Some(_), Some(_)) => Err(CoseError::Header("both IV and Partial IV are present")),
        (Some(iv), None) => Ok(iv),
        (None, Some(partial)) => {
            let context_iv =
                context_iv.ok_or(CoseError::Header("Partial IV without a context IV"))?;
            full_iv(context_iv, &partial)
        }
        (None, None) => Err(CoseError::Header("neither IV nor Partial IV")),
    }
}

/// The integer value of an `alg` header parameter.
fn alg_id(alg: &coset::Algorithm) -> Result<i64, CoseError> {
    match alg {
        coset::Algorithm::Assigned(a) => Ok(*a as i64),
        coset::Algorithm::PrivateUse(a) => Ok(*a),
        coset::Algorithm::Text(_) => Err(CoseError::Header("alg as text is not supported")),
    }
}

fn assigned(alg: ContentAlgorithm) -> coset::iana::Algorithm {
    match alg {
        ContentAlgorithm::AesCcm16_64_128 => coset::iana::Algorithm::AES_CCM_16_64_128,
        ContentAlgorithm::A128Gcm => coset::iana::Algorithm::A128GCM,
        ContentAlgorithm::A256Gcm => coset::iana::Algorithm::A256GCM,
    }
}

#[cfg(test)]
#[path = "encrypt0_tests.rs"]
mod tests;
