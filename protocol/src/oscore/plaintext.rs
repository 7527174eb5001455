//! Option classes (RFC 8613 section 4.1) and the plaintext of the COSE object (section
//! 5.3): the inner code, the Class E options in CoAP option encoding, and the payload
//! after a 0xFF marker.

use super::OscoreError;
use crate::coap::{encoded_options_len, write_options};

/// Option numbers used by this module.
pub(crate) mod number {
    /// Uri-Host (Class U).
    pub(crate) const URI_HOST: u16 = 3;
    /// Observe (Class E and U; not supported here).
    pub(crate) const OBSERVE: u16 = 6;
    /// Uri-Port (Class U).
    pub(crate) const URI_PORT: u16 = 7;
    /// OSCORE itself.
    pub(crate) const OSCORE: u16 = 9;
    /// Hop-Limit (RFC 8768, Class U).
    pub(crate) const HOP_LIMIT: u16 = 16;
    /// EDHOC (RFC 9668, Class U).
    pub(crate) const EDHOC: u16 = 21;
    /// Block2 (inner here; outer block-wise is not supported).
    pub(crate) const BLOCK2: u16 = 23;
    /// Block1 (inner here; outer block-wise is not supported).
    pub(crate) const BLOCK1: u16 = 27;
    /// Proxy-Uri (Class U, but must be decomposed; not supported here).
    pub(crate) const PROXY_URI: u16 = 35;
    /// Proxy-Scheme (Class U).
    pub(crate) const PROXY_SCHEME: u16 = 39;
}

/// Where an option of a message to protect goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionClass {
    /// Class E: encrypted and integrity protected, inside the plaintext.
    Inner,
    /// Class U: stays in the outer message, unprotected.
    Outer,
}

/// The class of an option when protecting. Unknown options are Class E (section 4.1).
pub(crate) fn class_of(num: u16) -> Result<OptionClass, OscoreError> {
    use number::*;
    match num {
        OSCORE => Err(OscoreError::AlreadyProtected),
        OBSERVE | PROXY_URI => Err(OscoreError::UnsupportedOption(num)),
        URI_HOST | URI_PORT | HOP_LIMIT | EDHOC | PROXY_SCHEME => Ok(OptionClass::Outer),
        _ => Ok(OptionClass::Inner),
    }
}

/// What happens to an outer option of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReceivedOuter {
    /// Class U: kept in the unprotected message.
    Keep,
    /// A Class E option found outside: unauthenticated, dropped.
    Discard,
}

/// The handling of an outer option of a received message.
pub(crate) fn received_outer(num: u16) -> Result<ReceivedOuter, OscoreError> {
    use number::*;
    match num {
        OSCORE => Ok(ReceivedOuter::Discard),
        // Outer block-wise (a proxy fragmenting the OSCORE message) is not supported;
        // Observe is not supported.
        BLOCK1 | BLOCK2 | OBSERVE => Err(OscoreError::UnsupportedOption(num)),
        URI_HOST | URI_PORT | HOP_LIMIT | EDHOC | PROXY_SCHEME | PROXY_URI => {
            Ok(ReceivedOuter::Keep)
        }
        _ => Ok(ReceivedOuter::Discard),
    }
}

/// The decoded plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plaintext {
    pub(crate) code: u8,
    /// Options in wire order (ascending numbers).
    pub(crate) options: Vec<(u16, Vec<u8>)>,
    pub(crate) payload: Vec<u8>,
}

/// Encodes code, options (must be sorted by number, as `coap-lite` yields them) and
/// payload. The options are encoded as in a CoAP message (RFC 8613 section 5.3), by the
/// CoAP layer's own encoder.
pub(crate) fn encode(code: u8, options: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    // Sized exactly: one allocation, no growth.
    let mut out = Vec::with_capacity(encoded_len(options, payload.len()));
    out.push(code);
    write_options(&mut out, 0, options.iter().copied());
    if !payload.is_empty() {
        out.push(0xff);
        out.extend_from_slice(payload);
    }
    out
}

/// The length [`encode`] would produce.
pub(crate) fn encoded_len(options: &[(u16, &[u8])], payload_len: usize) -> usize {
    let options_len = encoded_options_len(0, options.iter().copied());
    1 + options_len + if payload_len > 0 { 1 + payload_len } else { 0 }
}

/// Decodes a plaintext received from the peer (after AEAD verification). Never panics.
pub(crate) fn decode(bytes: &[u8]) -> Result<Plaintext, OscoreError> {
    let malformed = OscoreError::PlaintextMalformed;
    let (&code, mut rest) = bytes.split_first().ok_or(malformed("empty plaintext"))?;
    let mut options = Vec::new();
    let mut num: u16 = 0;
    let mut payload = Vec::new();
    while let Some((&head, after)) = rest.split_first() {
        rest = after;
        if head == 0xff {
            if rest.is_empty() {
                return Err(malformed("payload marker without payload"));
            }
            payload = rest.to_vec();
            break;
        }
        let (delta, after) = extended(head >> 4, rest).ok_or(malformed("bad option delta"))?;
        let (len, after) = extended(head & 0x0f, after).ok_or(malformed("bad option length"))?;
        let (value, after) = after
            .split_at_checked(len)
            .ok_or(malformed("option value truncated"))?;
        rest = after;
        num = u16::try_from(delta)
            .ok()
            .and_then(|d| num.checked_add(d))
            .ok_or(malformed("option number overflow"))?;
        if num == number::OSCORE {
            return Err(malformed("OSCORE option inside the plaintext"));
        }
        options.push((num, value.to_vec()));
    }
    Ok(Plaintext {
        code,
        options,
        payload,
    })
}

/// Reads an extended delta/length field; `None` for the reserved nibble 15 or truncation.
fn extended(nib: u8, rest: &[u8]) -> Option<(usize, &[u8])> {
    match nib {
        0..=12 => Some((usize::from(nib), rest)),
        13 => {
            let (&b, after) = rest.split_first()?;
            Some((usize::from(b) + 13, after))
        }
        14 => {
            let (ext, after) = rest.split_at_checked(2)?;
            let v = u16::from_be_bytes(ext.try_into().ok()?);
            Some((usize::from(v) + 269, after))
        }
        _ => None,
    }
}

/// `true` for a request code (class 0, not Empty).
pub(crate) fn is_request_code(code: u8) -> bool {
    code != 0 && code >> 5 == 0
}

/// `true` for a response code (classes 2, 4 and 5).
pub(crate) fn is_response_code(code: u8) -> bool {
    matches!(code >> 5, 2 | 4 | 5)
}
