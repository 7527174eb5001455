//! The OSCORE option value: the compressed COSE object of RFC 8613 section 6.1.
//!
//! ```text
//!  0 1 2 3 4 5 6 7 <------------- n bytes -------------->
//! +-+-+-+-+-+-+-+-+--------------------------------------
//! |0 0 0|h|k|  n  |       Partial IV (if any) ...
//! +-+-+-+-+-+-+-+-+--------------------------------------
//!  <- 1 byte -> <----- s bytes ------>
//! +------------+----------------------+------------------+
//! | s (if any) | kid context (if any) | kid (if any) ... |
//! +------------+----------------------+------------------+
//! ```
//!
//! An option whose flag byte would be 0x00 is sent empty. The parser is strict: reserved
//! bits, reserved `n` values, truncation, trailing bytes, a non-empty all-zero value and
//! a Partial IV with a leading zero byte are all typed [`OptionError`]s.

use super::OptionError;
use super::algorithm::PIV_LEN;

const FLAG_RESERVED: u8 = 0b1110_0000;
const FLAG_KID_CONTEXT: u8 = 0b0001_0000;
const FLAG_KID: u8 = 0b0000_1000;
const FLAG_PIV_LEN: u8 = 0b0000_0111;

/// The decoded value of an OSCORE option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OscoreOptionValue {
    /// The Partial IV (minimal big-endian encoding of a sequence number, at most 5 bytes),
    /// or `None`.
    pub partial_iv: Option<Vec<u8>>,
    /// The kid context (at most 255 bytes), or `None`.
    pub kid_context: Option<Vec<u8>>,
    /// The kid (the Sender ID of the message's sender), or `None`.
    pub kid: Option<Vec<u8>>,
}

impl OscoreOptionValue {
    /// Parses an option value received from the network. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, OptionError> {
        let Some((&flags, mut rest)) = bytes.split_first() else {
            return Ok(Self::default());
        };
        if flags & FLAG_RESERVED != 0 {
            return Err(OptionError::ReservedBitsSet { flags });
        }
        if flags == 0 {
            return Err(OptionError::ZeroFlagsNotEmpty);
        }
        let n = flags & FLAG_PIV_LEN;
        let n_len = usize::from(n);
        if n_len > PIV_LEN {
            return Err(OptionError::ReservedPartialIvLength { n });
        }
        let partial_iv = if n_len > 0 {
            let (piv, after) = rest
                .split_at_checked(n_len)
                .ok_or(OptionError::TruncatedPartialIv)?;
            if n_len > 1 && piv.first() == Some(&0) {
                return Err(OptionError::NonMinimalPartialIv);
            }
            rest = after;
            Some(piv.to_vec())
        } else {
            None
        };
        let kid_context = if flags & FLAG_KID_CONTEXT != 0 {
            let (&s, after) = rest
                .split_first()
                .ok_or(OptionError::MissingKidContextLength)?;
            let (ctx, after) = after
                .split_at_checked(usize::from(s))
                .ok_or(OptionError::TruncatedKidContext)?;
            rest = after;
            Some(ctx.to_vec())
        } else {
            None
        };
        let kid = if flags & FLAG_KID != 0 {
            Some(rest.to_vec())
        } else if !rest.is_empty() {
            return Err(OptionError::TrailingBytes(rest.len()));
        } else {
            None
        };
        Ok(Self {
            partial_iv,
            kid_context,
            kid,
        })
    }

    /// Serializes the option value. Fields that do not fit (a Partial IV longer than 5
    /// bytes, a kid context longer than 255 bytes) are never produced by this module; if
    /// given, they are truncated to their last 5 / first 255 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0u8;
        let piv = self
            .partial_iv
            .as_deref()
            .map(|p| p.get(p.len().saturating_sub(PIV_LEN)..).unwrap_or(p));
        if let Some(p) = piv {
            // p.len() <= 5
            flags |= p.len() as u8 & FLAG_PIV_LEN;
        }
        let ctx = self
            .kid_context
            .as_deref()
            .map(|c| c.get(..usize::from(u8::MAX)).unwrap_or(c));
        if ctx.is_some() {
            flags |= FLAG_KID_CONTEXT;
        }
        if self.kid.is_some() {
            flags |= FLAG_KID;
        }
        if flags == 0 {
            return Vec::new();
        }
        let mut out = vec![flags];
        if let Some(p) = piv {
            out.extend_from_slice(p);
        }
        if let Some(c) = ctx {
            out.push(c.len() as u8);
            out.extend_from_slice(c);
        }
        if let Some(k) = &self.kid {
            out.extend_from_slice(k);
        }
        out
    }

    /// The encoded length in bytes, without encoding.
    pub fn encoded_len(&self) -> usize {
        self.encode().len()
    }
}

/// The minimal big-endian encoding of a sequence number as Partial IV (0 is `[0x00]`).
pub fn encode_partial_iv(seq: u64) -> Vec<u8> {
    let bytes = seq.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    bytes.get(skip..).map(<[u8]>::to_vec).unwrap_or_default()
}

/// The number a Partial IV (at most 8 bytes; OSCORE ones have at most 5) encodes.
pub fn decode_partial_iv(piv: &[u8]) -> u64 {
    piv.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}
