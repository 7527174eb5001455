//! COSE building blocks (RFC 9052 / RFC 9053) with the crypto of this crate: ES256
//! COSE_Sign1 with detached payloads, AES-GCM content encryption, AES key wrap and
//! ECDH-ES + A128KW key agreement with the COSE KDF context.
//!
//! Structures are encoded and decoded with `coset`; the cryptography is done here, with
//! the RustCrypto crates. The content-encryption key (CEK) is its own type, [`Cek`], so it
//! cannot be mixed up with other byte strings, and its `Debug` output hides it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_kw::KwAes128;
use ciborium::Value;
use coset::{
    CborSerializable, CoseEncrypt, CoseSign1, Header, Label, TaggedCborSerializable, iana,
};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use std::sync::Arc;

use crate::cbor;
use crate::keys::{PrivateKey, PublicKey};
use crate::memo::{CryptoMemo, SharedBytes};

/// COSE algorithm identifiers used by this crate (RFC 9053, RFC 9864).
pub mod alg {
    /// ECDSA w/ SHA-256 (polymorphic: the key says P-256).
    pub const ES256: i64 = -7;
    /// ECDSA using P-256 and SHA-256, fully specified (RFC 9864).
    pub const ESP256: i64 = -9;
    /// AES-GCM with a 128-bit key.
    pub const A128GCM: i64 = 1;
    /// AES-GCM with a 256-bit key.
    pub const A256GCM: i64 = 3;
    /// AES key wrap with a 128-bit key.
    pub const A128KW: i64 = -3;
    /// ECDH-ES with HKDF-SHA-256, then AES-128 key wrap.
    pub const ECDH_ES_A128KW: i64 = -29;
    /// SHA-256 digest.
    pub const SHA256: i64 = -16;
}

/// The `kcwt` header parameter: a CWT carrying the signer's credential (RFC 9528).
pub const HEADER_KCWT: i64 = 13;

/// The `other` field of the KDF context that SUIT payload encryption uses
/// (draft-ietf-suit-firmware-encryption).
pub const SUIT_KDF_OTHER: &[u8] = b"SUIT Payload Encryption";

/// Why a COSE operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// The COSE structure does not decode.
    #[error("malformed COSE structure: {0}")]
    Malformed(String),
    /// An algorithm this crate does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// A required header parameter is missing or has the wrong type.
    #[error("missing or invalid header parameter: {0}")]
    Header(&'static str),
    /// Authenticated decryption or key unwrap failed (wrong key or altered bytes).
    #[error("decryption failed: wrong key or altered ciphertext")]
    Decrypt,
    /// The structure has no recipient this key can open.
    #[error("no recipient matches the key")]
    NoRecipient,
}

impl From<coset::CoseError> for CoseError {
    fn from(e: coset::CoseError) -> Self {
        CoseError::Malformed(format!("{e:?}"))
    }
}

/// A 128-bit content-encryption key. Its `Debug` output does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Cek([u8; 16]);

impl std::fmt::Debug for Cek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cek(..)")
    }
}

impl Cek {
    /// Draw a fresh key from the caller's RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; 16];
        rng.fill_bytes(&mut k);
        Cek(k)
    }

    /// A key from 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CoseError> {
        bytes
            .try_into()
            .map(Cek)
            .map_err(|_| CoseError::Malformed("a CEK is 16 bytes".into()))
    }

    /// The key bytes. Handle with care: only the key owner's code should call this.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// The `alg` of a header, as an integer.
pub fn header_alg(header: &Header) -> Option<i64> {
    match header.alg.as_ref()? {
        coset::Algorithm::Assigned(a) => Some(*a as i64),
        coset::Algorithm::PrivateUse(a) => Some(*a),
        coset::Algorithm::Text(_) => None,
    }
}

/// A header parameter with an integer label from `rest`.
pub fn header_param(header: &Header, label: i64) -> Option<&Value> {
    header
        .rest
        .iter()
        .find_map(|(l, v)| (*l == Label::Int(label)).then_some(v))
}

/// Sign `payload` with ES256 into a COSE_Sign1 whose payload is detached (nil).
///
/// `protected` must not set `alg`; it is set here.
pub fn sign1_detached(
    key: &PrivateKey,
    protected: Header,
    unprotected: Header,
    payload: &[u8],
) -> CoseSign1 {
    let mut protected = protected;
    protected.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES256));
    coset::CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .create_detached_signature(payload, b"", |tbs| key.sign(tbs).to_vec())
        .build()
}

/// Sign `payload` with ES256 into a COSE_Sign1 that carries the payload.
pub fn sign1_attached(key: &PrivateKey, protected: Header, payload: Vec<u8>) -> CoseSign1 {
    let mut protected = protected;
    protected.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES256));
    coset::CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| key.sign(tbs).to_vec())
        .build()
}

/// Verify a COSE_Sign1 over `payload` (the detached payload, or the embedded one when
/// `payload` is `None`) with `key`. The protected `alg` must be ES256 or ESP256.
pub fn verify_sign1(sign1: &CoseSign1, payload: Option<&[u8]>, key: &PublicKey) -> bool {
    verify_sign1_memo(sign1, payload, key, &CryptoMemo::disabled())
}

/// [`verify_sign1`] with the signature check answered from a run-wide `memo` when the very
/// same check (key, signed bytes, signature) was done before.
pub fn verify_sign1_memo(
    sign1: &CoseSign1,
    payload: Option<&[u8]>,
    key: &PublicKey,
    memo: &CryptoMemo,
) -> bool {
    if !matches!(
        header_alg(&sign1.protected.header),
        Some(alg::ES256 | alg::ESP256)
    ) {
        return false;
    }
    let tbs = match (payload, &sign1.payload) {
        (Some(detached), None) => sign1.tbs_detached_data(detached, b""),
        (None, Some(_)) => sign1.tbs_data(b""),
        _ => return false,
    };
    memo.verify_signature(key, &tbs, &sign1.signature)
}

/// Decode a COSE_Sign1, tagged (18) or untagged.
pub fn decode_sign1(bytes: &[u8]) -> Result<CoseSign1, CoseError> {
    // Check well-formedness and trailing bytes ourselves, then let coset map it.
    let value = cbor::decode(bytes).map_err(|e| CoseError::Malformed(e.to_string()))?;
    let value = match value {
        Value::Tag(18, inner) => *inner,
        Value::Tag(t, _) => return Err(CoseError::Malformed(format!("unexpected tag {t}"))),
        v => v,
    };
    Ok(coset::AsCborValue::from_cbor_value(value)?)
}

/// AES-GCM encryption (A128GCM with a 16-byte key, A256GCM with 32); returns ciphertext || tag.
pub fn aes_gcm_encrypt(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CoseError> {
    aes_gcm_apply(key, iv, aad, plaintext, true)
}

/// AES-GCM decryption of ciphertext || tag.
pub fn aes_gcm_decrypt(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CoseError> {
    aes_gcm_apply(key, iv, aad, ciphertext, false)
}

/// The 96-bit AES-GCM nonce of a COSE IV.
fn gcm_nonce(iv: &[u8]) -> Result<aes_gcm::Nonce<aes_gcm::aead::consts::U12>, CoseError> {
    aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
        .map_err(|_| CoseError::Header("IV must be 12 bytes for AES-GCM"))
}

fn aes_gcm_apply(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    msg: &[u8],
    encrypt: bool,
) -> Result<Vec<u8>, CoseError> {
    let nonce = gcm_nonce(iv)?;
    let payload = Payload { msg, aad };
    let out = match key.len() {
        16 => {
            let c = aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| CoseError::Decrypt)?;
            if encrypt {
                c.encrypt(&nonce, payload)
            } else {
                c.decrypt(&nonce, payload)
            }
        }
        32 => {
            let c = aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| CoseError::Decrypt)?;
            if encrypt {
                c.encrypt(&nonce, payload)
            } else {
                c.decrypt(&nonce, payload)
            }
        }
        _ => return Err(CoseError::Header("AES-GCM key must be 16 or 32 bytes")),
    };
    out.map_err(|_| CoseError::Decrypt)
}

/// AES-128 key wrap (RFC 3394) of a key that is a multiple of 8 bytes.
pub fn a128kw_wrap(kek: &[u8; 16], key: &[u8]) -> Result<Vec<u8>, CoseError> {
    let kw =
        KwAes128::new_from_slice(kek).map_err(|_| CoseError::Header("KEK must be 16 bytes"))?;
    let mut buf = vec![0u8; key.len() + 8];
    let n = kw
        .wrap_key(key, &mut buf)
        .map_err(|_| CoseError::Header("key to wrap must be a multiple of 8 bytes"))?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// AES-128 key unwrap (RFC 3394); fails on any altered byte.
pub fn a128kw_unwrap(kek: &[u8; 16], wrapped: &[u8]) -> Result<Vec<u8>, CoseError> {
    let kw =
        KwAes128::new_from_slice(kek).map_err(|_| CoseError::Header("KEK must be 16 bytes"))?;
    if wrapped.len() < 16 || !wrapped.len().is_multiple_of(8) {
        return Err(CoseError::Decrypt);
    }
    let mut buf = vec![0u8; wrapped.len() - 8];
    let n = kw
        .unwrap_key(wrapped, &mut buf)
        .map_err(|_| CoseError::Decrypt)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// The COSE_KDF_Context (RFC 9053 section 5.2) for a 128-bit key-wrap key, with empty
/// party information: `[alg, [nil, nil, nil], [nil, nil, nil], [128, protected, ? other]]`.
pub fn kdf_context(wrap_alg: i64, recipient_protected: &[u8], other: Option<&[u8]>) -> Vec<u8> {
    let party = || Value::Array(vec![Value::Null, Value::Null, Value::Null]);
    let mut supp_pub = vec![
        Value::Integer(128.into()),
        Value::Bytes(recipient_protected.to_vec()),
    ];
    if let Some(other) = other {
        supp_pub.push(Value::Bytes(other.to_vec()));
    }
    cbor::encode(&Value::Array(vec![
        Value::Integer(wrap_alg.into()),
        party(),
        party(),
        Value::Array(supp_pub),
    ]))
}

/// Derive the 128-bit key-wrap key of ECDH-ES + HKDF-256 (no salt) from a shared secret.
pub fn ecdh_es_kek(shared_secret: &[u8], context: &[u8]) -> [u8; 16] {
    let hk = Hkdf::<Sha256>::new(None, shared_secret);
    let mut kek = [0u8; 16];
    // 16 bytes is far below HKDF-SHA-256's 8160-byte output limit.
    hk.expand(context, &mut kek).expect("16-byte HKDF output");
    kek
}

/// How a content-encryption key is delivered to its recipient.
#[derive(Debug, Clone)]
pub enum Recipient<'a> {
    /// ECDH-ES + A128KW to a P-256 key-agreement key.
    EcdhEsA128Kw(&'a PublicKey),
    /// A128KW under a pre-shared key-encryption key.
    A128Kw {
        /// The key-encryption key.
        kek: &'a [u8; 16],
        /// Its identifier.
        kid: &'a [u8],
    },
}

/// A key that can open a recipient structure.
#[derive(Debug, Clone, Copy)]
pub enum RecipientKey<'a> {
    /// The private key-agreement key for ECDH-ES + A128KW.
    Agreement(&'a PrivateKey),
    /// A pre-shared A128KW key.
    KeyWrap(&'a [u8; 16]),
}

/// Encrypt `plaintext` under `cek` with A128GCM into a COSE_Encrypt whose ciphertext is
/// detached (as SUIT_Encryption_Info), with one recipient. Returns the structure and the
/// ciphertext (with its tag).
pub fn encrypt_detached<R: CryptoRng + ?Sized>(
    rng: &mut R,
    cek: &Cek,
    recipient: Recipient<'_>,
    kdf_other: &[u8],
    plaintext: &[u8],
) -> Result<(CoseEncrypt, Vec<u8>), CoseError> {
    let mut iv = [0u8; 12];
    rng.fill_bytes(&mut iv);
    let protected = coset::HeaderBuilder::new()
        .algorithm(iana::Algorithm::A128GCM)
        .build();
    let recipient = seal_recipient(rng, cek, recipient, kdf_other)?;
    let mut encrypt = coset::CoseEncryptBuilder::new()
        .protected(protected)
        .unprotected(coset::HeaderBuilder::new().iv(iv.to_vec()).build())
        .add_recipient(recipient)
        .build();
    let aad = coset::enc_structure_data(
        coset::EncryptionContext::CoseEncrypt,
        encrypt.protected.clone(),
        b"",
    );
    let ciphertext = aes_gcm_encrypt(cek.as_bytes(), &iv, &aad, plaintext)?;
    encrypt.ciphertext = None;
    Ok((encrypt, ciphertext))
}

fn seal_recipient<R: CryptoRng + ?Sized>(
    rng: &mut R,
    cek: &Cek,
    recipient: Recipient<'_>,
    kdf_other: &[u8],
) -> Result<coset::CoseRecipient, CoseError> {
    match recipient {
        Recipient::A128Kw { kek, kid } => Ok(coset::CoseRecipientBuilder::new()
            .unprotected(
                coset::HeaderBuilder::new()
                    .algorithm(iana::Algorithm::A128KW)
                    .key_id(kid.to_vec())
                    .build(),
            )
            .ciphertext(a128kw_wrap(kek, cek.as_bytes())?)
            .build()),
        Recipient::EcdhEsA128Kw(receiver) => {
            let ephemeral = PrivateKey::generate(rng, None);
            let protected = coset::HeaderBuilder::new()
                .algorithm(iana::Algorithm::ECDH_ES_A128KW)
                .build();
            let protected_bytes = coset::ProtectedHeader {
                original_data: None,
                header: protected.clone(),
            }
            .cbor_bstr()?;
            let protected_bytes = match protected_bytes {
                Value::Bytes(b) => b,
                _ => return Err(CoseError::Header("protected header")),
            };
            let (x, y) = ephemeral.public_key().coordinates();
            let epk = cbor::int_map([
                (1, Value::Integer(2.into())),
                (-1, Value::Integer(1.into())),
                (-2, Value::Bytes(x.to_vec())),
                (-3, Value::Bytes(y.to_vec())),
            ]);
            let context = kdf_context(alg::A128KW, &protected_bytes, Some(kdf_other));
            let kek = ecdh_es_kek(&ephemeral.agree(receiver), &context);
            Ok(coset::CoseRecipientBuilder::new()
                .protected(protected)
                .unprotected(
                    coset::HeaderBuilder::new()
                        .value(-1, epk)
                        .key_id(receiver.kid().to_vec())
                        .build(),
                )
                .ciphertext(a128kw_wrap(&kek, cek.as_bytes())?)
                .build())
        }
    }
}

/// Recover the CEK from the first recipient of `encrypt` that `key` can open.
pub fn unwrap_cek(
    encrypt: &CoseEncrypt,
    key: RecipientKey<'_>,
    kdf_other: &[u8],
) -> Result<Cek, CoseError> {
    let mut last = CoseError::NoRecipient;
    for recipient in &encrypt.recipients {
        match open_recipient(recipient, key, kdf_other) {
            Ok(cek) => return Ok(cek),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn open_recipient(
    recipient: &coset::CoseRecipient,
    key: RecipientKey<'_>,
    kdf_other: &[u8],
) -> Result<Cek, CoseError> {
    let alg = header_alg(&recipient.protected.header)
        .or_else(|| header_alg(&recipient.unprotected))
        .ok_or(CoseError::Header("recipient alg"))?;
    let wrapped = recipient
        .ciphertext
        .as_deref()
        .ok_or(CoseError::Header("recipient ciphertext"))?;
    let kek = match (alg, key) {
        (alg::A128KW, RecipientKey::KeyWrap(kek)) => *kek,
        (alg::ECDH_ES_A128KW, RecipientKey::Agreement(private)) => {
            let epk = header_param(&recipient.unprotected, -1)
                .or_else(|| header_param(&recipient.protected.header, -1))
                .ok_or(CoseError::Header("ephemeral key (-1)"))?;
            let epk = PublicKey::from_cose_value(epk)
                .map_err(|_| CoseError::Header("ephemeral key (-1)"))?;
            let protected_bytes = recipient
                .protected
                .original_data
                .clone()
                .unwrap_or_default();
            let context = kdf_context(alg::A128KW, &protected_bytes, Some(kdf_other));
            ecdh_es_kek(&private.agree(&epk), &context)
        }
        (alg::A128KW | alg::ECDH_ES_A128KW, _) => return Err(CoseError::NoRecipient),
        (other, _) => return Err(CoseError::UnsupportedAlgorithm(other)),
    };
    Cek::from_slice(&a128kw_unwrap(&kek, wrapped)?)
}

/// Decrypt a detached `ciphertext` of a COSE_Encrypt (A128GCM) with `cek`.
pub fn decrypt_detached(
    encrypt: &CoseEncrypt,
    cek: &Cek,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CoseError> {
    let aad = a128gcm_aad(encrypt)?;
    aes_gcm_decrypt(cek.as_bytes(), &encrypt.unprotected.iv, &aad, ciphertext)
}

/// The additional authenticated data (the Enc_structure) of a COSE_Encrypt whose content
/// algorithm must be A128GCM.
fn a128gcm_aad(encrypt: &CoseEncrypt) -> Result<Vec<u8>, CoseError> {
    match header_alg(&encrypt.protected.header) {
        Some(alg::A128GCM) => {}
        Some(other) => return Err(CoseError::UnsupportedAlgorithm(other)),
        None => return Err(CoseError::Header("content alg")),
    }
    Ok(coset::enc_structure_data(
        coset::EncryptionContext::CoseEncrypt,
        encrypt.protected.clone(),
        b"",
    ))
}

/// [`decrypt_detached`] of a ciphertext held in shared blocks, into one new buffer: the
/// blocks are gathered into the buffer that is then decrypted in place, instead of being
/// copied into a contiguous ciphertext, decrypted into a second buffer and copied into a
/// shared third (a saving of two image-sized copies per device when nothing is memoised).
pub fn decrypt_detached_shared(
    encrypt: &CoseEncrypt,
    cek: &Cek,
    ciphertext: &SharedBytes,
) -> Result<Arc<[u8]>, CoseError> {
    use aes_gcm::aead::AeadInOut;

    let aad = a128gcm_aad(encrypt)?;
    let nonce = gcm_nonce(&encrypt.unprotected.iv)?;
    let body_len = ciphertext
        .len()
        .checked_sub(GCM_TAG_LEN)
        .ok_or(CoseError::Decrypt)?;
    let mut tag = [0u8; GCM_TAG_LEN];
    ciphertext.copy_to(body_len, &mut tag);
    // Collected from a sized iterator: one allocation, written once.
    let mut plain: Arc<[u8]> = std::iter::repeat_n(0u8, body_len).collect();
    // A buffer just made has no other owner.
    let buffer = Arc::get_mut(&mut plain).ok_or(CoseError::Decrypt)?;
    ciphertext.copy_to(0, buffer);
    let cipher =
        aes_gcm::Aes128Gcm::new_from_slice(cek.as_bytes()).map_err(|_| CoseError::Decrypt)?;
    cipher
        .decrypt_inout_detached(&nonce, &aad, buffer.into(), &tag.into())
        .map_err(|_| CoseError::Decrypt)?;
    Ok(plain)
}

/// DANGER: decrypt a detached A128GCM `ciphertext` (ciphertext || 16-byte tag) of a
/// COSE_Encrypt with `cek` **without checking the tag**, for the `payload_digest` ablation
/// only: any altered byte gives an altered plaintext instead of an error.
///
/// This is the counter-mode half of GCM (NIST SP 800-38D section 7.2): for a 96-bit IV,
/// `J0 = IV || 0^31 || 1`, and plaintext block `i` (from 1) is the ciphertext block XOR
/// `AES(cek, IV || i + 1)` with the 32-bit counter incremented modulo 2^32 (`inc32`). The
/// tag is dropped unread. Fails only for another algorithm, an IV that is not 12 bytes or a
/// ciphertext shorter than a tag.
pub fn danger_decrypt_detached_unauthenticated(
    encrypt: &CoseEncrypt,
    cek: &Cek,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CoseError> {
    use aes::Aes128;
    use aes::cipher::{Array, BlockCipherEncrypt, KeyInit as _};

    match header_alg(&encrypt.protected.header) {
        Some(alg::A128GCM) => {}
        Some(other) => return Err(CoseError::UnsupportedAlgorithm(other)),
        None => return Err(CoseError::Header("content alg")),
    }
    let iv: [u8; 12] = encrypt
        .unprotected
        .iv
        .as_slice()
        .try_into()
        .map_err(|_| CoseError::Header("IV must be 12 bytes for AES-GCM"))?;
    let body_len = ciphertext
        .len()
        .checked_sub(GCM_TAG_LEN)
        .ok_or(CoseError::Decrypt)?;
    let cipher = Aes128::new(&Array::from(*cek.as_bytes()));
    let mut counter = 1u32; // J0's counter; the first block uses inc32(J0).
    let mut plain = Vec::with_capacity(body_len);
    for chunk in ciphertext[..body_len].chunks(16) {
        counter = counter.wrapping_add(1);
        let mut block = [0u8; 16];
        block[..12].copy_from_slice(&iv);
        block[12..].copy_from_slice(&counter.to_be_bytes());
        let mut keystream = Array::from(block);
        cipher.encrypt_block(&mut keystream);
        plain.extend(chunk.iter().zip(keystream.iter()).map(|(c, k)| c ^ k));
    }
    Ok(plain)
}

/// The length of an AES-GCM tag as COSE uses it.
const GCM_TAG_LEN: usize = 16;

/// Encrypt `plaintext` under `cek` with the IV and protected header of an existing
/// COSE_Encrypt (A128GCM): the detached ciphertext a party holding the CEK can produce for
/// that structure. Used to model an author who reuses a CEK across builds.
pub fn reencrypt_detached(
    encrypt: &CoseEncrypt,
    cek: &Cek,
    plaintext: &[u8],
) -> Result<Vec<u8>, CoseError> {
    let aad = coset::enc_structure_data(
        coset::EncryptionContext::CoseEncrypt,
        encrypt.protected.clone(),
        b"",
    );
    aes_gcm_encrypt(cek.as_bytes(), &encrypt.unprotected.iv, &aad, plaintext)
}

/// Decode a COSE_Encrypt, tagged (96) or untagged.
pub fn decode_encrypt(bytes: &[u8]) -> Result<CoseEncrypt, CoseError> {
    let value = cbor::decode(bytes).map_err(|e| CoseError::Malformed(e.to_string()))?;
    let value = match value {
        Value::Tag(96, inner) => *inner,
        Value::Tag(t, _) => return Err(CoseError::Malformed(format!("unexpected tag {t}"))),
        v => v,
    };
    Ok(coset::AsCborValue::from_cbor_value(value)?)
}

/// Encode a COSE_Encrypt with its tag (96).
pub fn encode_encrypt(encrypt: CoseEncrypt) -> Result<Vec<u8>, CoseError> {
    Ok(encrypt.to_tagged_vec()?)
}

/// Encode a COSE_Sign1 with its tag (18).
pub fn encode_sign1(sign1: CoseSign1) -> Result<Vec<u8>, CoseError> {
    Ok(sign1.to_tagged_vec()?)
}

/// Encode a COSE_Sign1 without a tag.
pub fn encode_sign1_untagged(sign1: CoseSign1) -> Result<Vec<u8>, CoseError> {
    Ok(sign1.to_vec()?)
}

#[cfg(test)]
#[path = "cose_tests.rs"]
mod tests;
