//! AEAD algorithms, the nonce construction (RFC 8613 section 5.2) and the small amount of
//! deterministic CBOR that OSCORE needs (the HKDF `info` of section 3.2.1 and the AAD of
//! section 5.4).

use aes::Aes128Enc;
use aes_gcm::Aes128Gcm;
use ccm::Ccm;
use ccm::aead::array::Array;
use ccm::aead::consts::{U8, U13};
use ccm::aead::{Aead, KeyInit, Payload};

use super::OscoreError;

/// AES-CCM with a 64-bit tag and a 13-byte nonce (COSE "AES-CCM-16-64-128"). CCM only
/// ever encrypts with the block cipher, so the key schedule is the encryption half alone.
type AesCcm16_64_128 = Ccm<Aes128Enc, U8, U13>;

/// Message of the (unreachable) error when key or nonce has the wrong length.
const AEAD_SETUP: &str = "AEAD key or nonce of wrong length";

/// Length of a Partial IV inside the nonce, and its maximum length on the wire.
pub(crate) const PIV_LEN: usize = 5;

/// The AEAD algorithm of a security context (RFC 8613 section 3.1 "AEAD Algorithm").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AeadAlgorithm {
    /// AES-CCM-16-64-128 (COSE algorithm 10): 16-byte key, 13-byte nonce, 8-byte tag.
    /// The mandatory-to-implement default of RFC 8613.
    #[default]
    AesCcm16_64_128,
    /// A128GCM (COSE algorithm 1): 16-byte key, 12-byte nonce, 16-byte tag.
    A128Gcm,
}

impl AeadAlgorithm {
    /// The algorithm for a COSE algorithm identifier.
    pub fn from_cose_id(id: i64) -> Result<Self, OscoreError> {
        match id {
            10 => Ok(Self::AesCcm16_64_128),
            1 => Ok(Self::A128Gcm),
            other => Err(OscoreError::UnsupportedAlgorithm(other)),
        }
    }

    /// The COSE algorithm identifier (the `alg_aead` of the KDF info and the AAD).
    pub fn cose_id(self) -> i64 {
        match self {
            Self::AesCcm16_64_128 => 10,
            Self::A128Gcm => 1,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        16
    }

    /// Nonce length in bytes (also the length of the Common IV).
    pub fn nonce_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 => 13,
            Self::A128Gcm => 12,
        }
    }

    /// Authentication tag length in bytes.
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 => 8,
            Self::A128Gcm => 16,
        }
    }

    /// The longest Sender/Recipient ID the nonce construction can carry (nonce length - 6).
    pub fn max_id_len(self) -> usize {
        self.nonce_len() - 6
    }

    /// Encrypts `plaintext`; returns ciphertext followed by the tag.
    pub(crate) fn seal(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, OscoreError> {
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        // Key and nonce lengths are fixed by the context; a failure here is a bug that we
        // still report as an error rather than a panic.
        let res = match self {
            Self::AesCcm16_64_128 => {
                let cipher = AesCcm16_64_128::new_from_slice(key)
                    .map_err(|_| OscoreError::Encoding(AEAD_SETUP.into()))?;
                let nonce =
                    Array::try_from(nonce).map_err(|_| OscoreError::Encoding(AEAD_SETUP.into()))?;
                cipher.encrypt(&nonce, payload)
            }
            Self::A128Gcm => {
                let cipher = Aes128Gcm::new_from_slice(key)
                    .map_err(|_| OscoreError::Encoding(AEAD_SETUP.into()))?;
                let nonce =
                    Array::try_from(nonce).map_err(|_| OscoreError::Encoding(AEAD_SETUP.into()))?;
                cipher.encrypt(&nonce, payload)
            }
        };
        res.map_err(|_| OscoreError::Encoding(AEAD_SETUP.into()))
    }

    /// Decrypts and verifies `ciphertext` (ciphertext followed by the tag).
    pub(crate) fn open(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, OscoreError> {
        if ciphertext.len() < self.tag_len() {
            return Err(OscoreError::CiphertextTooShort {
                len: ciphertext.len(),
                tag: self.tag_len(),
            });
        }
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        let res = match self {
            Self::AesCcm16_64_128 => {
                let cipher = AesCcm16_64_128::new_from_slice(key)
                    .map_err(|_| OscoreError::IntegrityFailure)?;
                let nonce = Array::try_from(nonce).map_err(|_| OscoreError::IntegrityFailure)?;
                cipher.decrypt(&nonce, payload)
            }
            Self::A128Gcm => {
                let cipher =
                    Aes128Gcm::new_from_slice(key).map_err(|_| OscoreError::IntegrityFailure)?;
                let nonce = Array::try_from(nonce).map_err(|_| OscoreError::IntegrityFailure)?;
                cipher.decrypt(&nonce, payload)
            }
        };
        res.map_err(|_| OscoreError::IntegrityFailure)
    }
}

/// The AEAD nonce of RFC 8613 section 5.2: `S || pad(ID_PIV) || pad(PIV)` XOR Common IV,
/// where `ID_PIV` is the Sender ID of the endpoint that generated the Partial IV and `S`
/// its length.
///
/// The caller guarantees `id_piv.len() <= nonce_len - 6` and `piv.len() <= 5` (both are
/// checked when the context is derived and the option parsed); longer inputs are truncated
/// rather than panicking.
pub(crate) fn nonce(common_iv: &[u8], id_piv: &[u8], piv: &[u8]) -> Vec<u8> {
    let len = common_iv.len();
    let mut out = vec![0u8; len];
    let id_field = len.saturating_sub(1 + PIV_LEN);
    let id = tail(id_piv, id_field);
    let piv = tail(piv, PIV_LEN);
    if let Some(first) = out.first_mut() {
        // id.len() <= 7 always fits a byte.
        *first = u8::try_from(id.len()).unwrap_or(u8::MAX);
    }
    let id_start = 1 + id_field - id.len();
    if let Some(dst) = out.get_mut(id_start..id_start + id.len()) {
        dst.copy_from_slice(id);
    }
    let piv_start = len.saturating_sub(piv.len());
    if let Some(dst) = out.get_mut(piv_start..) {
        dst.copy_from_slice(piv);
    }
    for (o, iv) in out.iter_mut().zip(common_iv) {
        *o ^= iv;
    }
    out
}

/// The last `max` bytes of `bytes` (all of it if shorter).
fn tail(bytes: &[u8], max: usize) -> &[u8] {
    bytes
        .get(bytes.len().saturating_sub(max)..)
        .unwrap_or(bytes)
}

/// The HKDF `info` of RFC 8613 section 3.2.1: `[id, id_context, alg_aead, type, L]`.
pub(crate) fn kdf_info(
    id: &[u8],
    id_context: Option<&[u8]>,
    alg: AeadAlgorithm,
    kind: &str,
    len: usize,
) -> Vec<u8> {
    // Sized for the longest heads (nine bytes each): one allocation, no growth.
    let capacity = 1 + 5 * 9 + id.len() + id_context.map_or(0, <[u8]>::len) + kind.len();
    let mut out = Vec::with_capacity(capacity);
    out.push(0x85);
    cbor_bstr(&mut out, id);
    match id_context {
        Some(ctx) => cbor_bstr(&mut out, ctx),
        None => out.push(0xf6),
    }
    cbor_int(&mut out, alg.cose_id());
    cbor_head(&mut out, 3, kind.len() as u64);
    out.extend_from_slice(kind.as_bytes());
    cbor_head(&mut out, 0, len as u64);
    out
}

/// The AEAD additional data of RFC 8613 section 5.4: the CBOR `Enc_structure`
/// `["Encrypt0", h'', external_aad]` with
/// `external_aad = bstr .cbor [1, [alg_aead], request_kid, request_piv, h'']`.
pub(crate) fn aad(alg: AeadAlgorithm, request_kid: &[u8], request_piv: &[u8]) -> Vec<u8> {
    let bstr_len = |bytes: &[u8]| cbor_head_len(bytes.len() as u64) + bytes.len();
    let alg_id = alg.cose_id();
    let alg_len = cbor_head_len(if alg_id >= 0 {
        alg_id.unsigned_abs()
    } else {
        (-1 - alg_id).unsigned_abs()
    });
    // `[1, [alg_aead], request_kid, request_piv, h'']`: the array heads, the integers,
    // the two byte strings and the empty one.
    let external_len = 3 + alg_len + bstr_len(request_kid) + bstr_len(request_piv) + 1;
    // One buffer, sized exactly: the Enc_structure with external_aad written in place.
    let mut out = Vec::with_capacity(1 + 9 + 1 + cbor_head_len(external_len as u64) + external_len);
    out.push(0x83);
    cbor_head(&mut out, 3, 8);
    out.extend_from_slice(b"Encrypt0");
    cbor_bstr(&mut out, &[]);
    cbor_head(&mut out, 2, external_len as u64);
    out.extend_from_slice(&[0x85, 0x01, 0x81]);
    cbor_int(&mut out, alg_id);
    cbor_bstr(&mut out, request_kid);
    cbor_bstr(&mut out, request_piv);
    cbor_bstr(&mut out, &[]);
    out
}

/// The length of a CBOR head with argument `arg` in preferred serialization.
fn cbor_head_len(arg: u64) -> usize {
    match arg {
        0..24 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// A CBOR head (major type and argument), in preferred (shortest) serialization.
fn cbor_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let mt = major << 5;
    if arg < 24 {
        out.push(mt | arg as u8);
    } else if let Ok(v) = u8::try_from(arg) {
        out.extend_from_slice(&[mt | 24, v]);
    } else if let Ok(v) = u16::try_from(arg) {
        out.push(mt | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(arg) {
        out.push(mt | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

fn cbor_bstr(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cbor_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        cbor_head(out, 0, v.unsigned_abs());
    } else {
        cbor_head(out, 1, (-1 - v).unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use ciborium::Value;

    use super::*;

    /// The AAD, encoded independently with ciborium.
    fn aad_by_ciborium(alg: AeadAlgorithm, kid: &[u8], piv: &[u8]) -> Vec<u8> {
        let external = Value::Array(vec![
            Value::from(1),
            Value::Array(vec![Value::from(alg.cose_id())]),
            Value::Bytes(kid.to_vec()),
            Value::Bytes(piv.to_vec()),
            Value::Bytes(Vec::new()),
        ]);
        let mut external_bytes = Vec::new();
        ciborium::into_writer(&external, &mut external_bytes).expect("encodes");
        let structure = Value::Array(vec![
            Value::Text("Encrypt0".into()),
            Value::Bytes(Vec::new()),
            Value::Bytes(external_bytes),
        ]);
        let mut out = Vec::new();
        ciborium::into_writer(&structure, &mut out).expect("encodes");
        out
    }

    #[test]
    fn the_aad_is_the_enc_structure_in_one_exactly_sized_buffer() {
        for alg in [AeadAlgorithm::AesCcm16_64_128, AeadAlgorithm::A128Gcm] {
            // Lengths on both sides of each CBOR head size, up to a 2-byte length head
            // for the external AAD itself.
            for kid_len in [0, 1, 7, 23, 24, 255, 256, 300] {
                for piv_len in [0, 1, 5, 23, 24] {
                    let kid: Vec<u8> = (0..kid_len).map(|i| i as u8).collect();
                    let piv = vec![0xa5; piv_len];
                    let aad = aad(alg, &kid, &piv);
                    assert_eq!(aad, aad_by_ciborium(alg, &kid, &piv), "{kid_len} {piv_len}");
                    assert_eq!(aad.capacity(), aad.len(), "no growth, no slack");
                }
            }
        }
    }
}
