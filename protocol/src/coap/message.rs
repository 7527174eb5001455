//! Framing: the typed errors of decoding untrusted datagrams (decoded in `received`), and
//! encoding, including the few messages the endpoint builds itself (empty ACK, RST).

use coap_lite::{MessageClass, MessageType, Packet, RequestType, ResponseType};

use super::SendError;

/// Why a datagram could not be parsed as a CoAP message (RFC 7252 section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Shorter than the 4-byte header.
    #[error("shorter than the CoAP header")]
    Truncated,
    /// Token length above 8, or longer than the datagram.
    #[error("invalid token length")]
    TokenLength,
    /// Option delta 15 or an option number beyond 65535.
    #[error("invalid option delta")]
    OptionDelta,
    /// Option length 15 or an option running past the end of the datagram.
    #[error("invalid option length")]
    OptionLength,
    /// A payload marker followed by no payload.
    #[error("payload marker without payload")]
    EmptyPayload,
    /// An Empty (0.00) message with a token, options or payload.
    #[error("empty message with content")]
    NonEmptyEmpty,
    /// A code from a reserved class (1, 6, 7), or a method or response code that `coap-lite`
    /// does not know (treated alike).
    #[error("reserved code {0:#04x}")]
    ReservedCode(u8),
    /// A message type and code that do not go together (ACK carrying a request, RST that
    /// is not empty, empty NON).
    #[error("message type does not fit its code")]
    TypeCodeMismatch,
}

/// Why [`Endpoint::handle_datagram`](super::Endpoint::handle_datagram) dropped a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a CoAP message.
    #[error("malformed: {0}")]
    Malformed(FormatError),
    /// A version other than 1 (silently ignored, RFC 7252 section 3).
    #[error("unknown CoAP version")]
    UnknownVersion,
    /// Longer than [`EndpointConfig::max_message_size`](super::EndpointConfig).
    #[error("longer than the configured maximum message size")]
    TooLarge,
    /// An ACK that matches no CON message in flight (often a late duplicate).
    #[error("ACK matches no message in flight")]
    UnmatchedAck,
    /// An RST that matches no message in flight.
    #[error("RST matches no message in flight")]
    UnmatchedReset,
    /// A response whose token matches no outstanding request to that peer.
    #[error("response matches no outstanding request")]
    UnmatchedResponse,
    /// A piggybacked response whose token differs from the request's.
    #[error("piggybacked response with the wrong token")]
    TokenMismatch,
    /// The duplicate-detection cache is full of live entries.
    #[error("duplicate-detection cache full")]
    DedupCacheFull,
    /// Too many received requests await an answer from the application.
    #[error("too many pending requests")]
    TooManyPending,
}

impl DropReason {
    /// Whether the datagram did not parse at all (as opposed to a well-formed message that
    /// did not fit the endpoint's state).
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            DropReason::Malformed(_) | DropReason::UnknownVersion | DropReason::TooLarge
        )
    }
}

/// A token as a small copyable key (at most 8 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Token {
    len: u8,
    bytes: [u8; 8],
}

impl Token {
    /// The ordering key: length, then the bytes as one big-endian integer, which orders
    /// like the byte array (and compares without a `memcmp` call).
    fn key(&self) -> (u8, u64) {
        (self.len, u64::from_be_bytes(self.bytes))
    }
}

impl PartialOrd for Token {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Token {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Token {
    /// The first 8 bytes of `slice` (decoded tokens are never longer).
    pub(super) fn from_slice(slice: &[u8]) -> Self {
        let len = slice.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..len].copy_from_slice(&slice[..len]);
        Self {
            len: len as u8,
            bytes,
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Reads the 4-byte header of a datagram that may not parse further: (version, type, MID).
pub(super) fn peek_header(bytes: &[u8]) -> Option<(u8, MessageType, u16)> {
    let [first, _code, hi, lo, ..] = *bytes else {
        return None;
    };
    let mtype = match (first >> 4) & 0b11 {
        0 => MessageType::Confirmable,
        1 => MessageType::NonConfirmable,
        2 => MessageType::Acknowledgement,
        _ => MessageType::Reset,
    };
    Some((first >> 6, mtype, u16::from_be_bytes([hi, lo])))
}

/// The code and type rules of RFC 7252 sections 3 and 4 for a message that framed well:
/// no reserved class or code unknown to `coap-lite`, an Empty message with no token,
/// options or payload (`has_content`) and not NON, no request in an ACK or RST, no response
/// in an RST.
pub(super) fn check_class(
    mtype: MessageType,
    code: MessageClass,
    has_content: bool,
) -> Result<(), FormatError> {
    match code {
        MessageClass::Reserved(code) => Err(FormatError::ReservedCode(code)),
        MessageClass::Request(RequestType::UnKnown)
        | MessageClass::Response(ResponseType::UnKnown) => Err(FormatError::ReservedCode(0xFF)),
        MessageClass::Empty if has_content => Err(FormatError::NonEmptyEmpty),
        MessageClass::Empty if mtype == MessageType::NonConfirmable => {
            Err(FormatError::TypeCodeMismatch)
        }
        MessageClass::Request(_)
            if matches!(mtype, MessageType::Acknowledgement | MessageType::Reset) =>
        {
            Err(FormatError::TypeCodeMismatch)
        }
        MessageClass::Response(_) if mtype == MessageType::Reset => {
            Err(FormatError::TypeCodeMismatch)
        }
        _ => Ok(()),
    }
}

fn type_bits(mtype: MessageType) -> u8 {
    match mtype {
        MessageType::Confirmable => 0,
        MessageType::NonConfirmable => 1,
        MessageType::Acknowledgement => 2,
        MessageType::Reset => 3,
    }
}

/// An Empty message (ACK or RST) for `mid`: 4 bytes, no token.
pub(super) fn empty_message(mtype: MessageType, mid: u16) -> Vec<u8> {
    let type_bits = type_bits(mtype);
    let [hi, lo] = mid.to_be_bytes();
    vec![0x40 | (type_bits << 4), 0x00, hi, lo]
}

/// Encodes a packet built by the application with the type, message ID and token the
/// endpoint chose (the packet's own header type, ID and token are ignored).
///
/// The bytes are those of `coap-lite`'s `Packet::to_bytes_with_limit` for the packet with
/// version 1 and that type, ID and token, written into `buf` (see [`encode_parts`]).
pub(super) fn encode(
    buf: Vec<u8>,
    packet: &Packet,
    mtype: MessageType,
    mid: u16,
    token: &[u8],
    max_size: usize,
) -> Result<Vec<u8>, SendError> {
    let options = packet
        .options()
        .flat_map(|(number, values)| values.iter().map(move |v| (*number, v.as_slice())));
    encode_parts(
        buf,
        mtype,
        packet.header.code,
        mid,
        token,
        options,
        &packet.payload,
        max_size,
    )
}

/// Encodes a message from its parts: `options` as (number, value) in ascending number
/// order (values of one option in order). Byte for byte what `coap-lite` writes for the
/// same message, including its size check: the limit applies to header, token, options
/// and payload (plus marker) even for an Empty code, whose payload is not written.
///
/// The message is written into `buf`, emptied first, if it has the capacity: a buffer
/// received and done with saves an allocation, and is likely still in the processor's
/// cache. A smaller one is replaced by a fresh allocation. Pass `Vec::new()` for a fresh
/// one.
#[allow(clippy::too_many_arguments)] // a message's parts, each of its own type
#[inline]
pub(crate) fn encode_parts<'a, I>(
    buf: Vec<u8>,
    mtype: MessageType,
    code: MessageClass,
    mid: u16,
    token: &[u8],
    options: I,
    payload: &[u8],
    max_size: usize,
) -> Result<Vec<u8>, SendError>
where
    I: Iterator<Item = (u16, &'a [u8])> + Clone,
{
    let no_prefix = OptionPrefix::default();
    encode_prefixed(
        buf, mtype, code, mid, token, &no_prefix, options, payload, max_size,
    )
}

/// [`encode_parts`] with the first options already encoded in `prefix`; `options`
/// follow it, none with a number below the prefix's last.
#[allow(clippy::too_many_arguments)] // a message's parts, each of its own type
pub(crate) fn encode_prefixed<'a, I>(
    buf: Vec<u8>,
    mtype: MessageType,
    code: MessageClass,
    mid: u16,
    token: &[u8],
    prefix: &OptionPrefix,
    options: I,
    payload: &[u8],
    max_size: usize,
) -> Result<Vec<u8>, SendError>
where
    I: Iterator<Item = (u16, &'a [u8])> + Clone,
{
    let write_payload = code != MessageClass::Empty && !payload.is_empty();
    let options_len = prefix.bytes.len() + encoded_options_len(prefix.last, options.clone());
    let checked_len = 4 + payload.len() + token.len() + usize::from(write_payload) + options_len;
    if checked_len > max_size {
        return Err(SendError::TooLarge { max: max_size });
    }
    // A buffer too small for the message is dropped rather than grown: growing copies it.
    let mut buf = if buf.capacity() < checked_len {
        Vec::with_capacity(checked_len)
    } else {
        buf
    };
    buf.clear();
    let type_bits = type_bits(mtype);
    let [hi, lo] = mid.to_be_bytes();
    // Tokens are at most 8 bytes (the endpoint's own `Token`), so TKL fits its 4 bits.
    let tkl = (token.len() & 0x0F) as u8;
    buf.extend_from_slice(&[0x40 | (type_bits << 4) | tkl, u8::from(code), hi, lo]);
    put_bytes(&mut buf, token);
    put_bytes(&mut buf, &prefix.bytes);
    write_options(&mut buf, prefix.last, options);
    if write_payload {
        buf.push(0xFF);
        buf.extend_from_slice(payload);
    }
    Ok(buf)
}

/// Options encoded once and written at the head of many messages: the Uri-Path of a
/// payload fetched block by block, whose requests differ only in token, message ID and
/// Block2 value (see [`Endpoint::send_request_prefixed`](super::Endpoint::send_request_prefixed)).
/// The default is no options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionPrefix {
    bytes: Vec<u8>,
    /// The number of the last option in `bytes`, 0 if none: the next option's delta
    /// counts from it.
    last: u16,
}

impl OptionPrefix {
    /// Encodes `options`, (number, value) in ascending number order (values of one
    /// option in order), as a message would carry them.
    pub fn new(options: &[(u16, &[u8])]) -> Self {
        let mut bytes = Vec::with_capacity(encoded_options_len(0, options.iter().copied()));
        let last = write_options(&mut bytes, 0, options.iter().copied());
        OptionPrefix { bytes, last }
    }

    /// The number of the last option, 0 if there is none: options written after the
    /// prefix must not have a lower one.
    pub fn last_number(&self) -> u16 {
        self.last
    }
}

/// The encoded size of `options` written after an option numbered `previous`.
pub(crate) fn encoded_options_len<'a>(
    previous: u16,
    options: impl Iterator<Item = (u16, &'a [u8])>,
) -> usize {
    let mut len = 0usize;
    let mut previous = previous;
    for (number, value) in options {
        let delta = number.wrapping_sub(previous);
        len += 1 + ext_len(usize::from(delta)) + ext_len(value.len()) + value.len();
        previous = previous.wrapping_add(delta);
    }
    len
}

/// Writes `options` after an option numbered `previous` (RFC 7252 section 3.1); returns
/// the number of the last one written (`previous` if none).
pub(crate) fn write_options<'a>(
    buf: &mut Vec<u8>,
    previous: u16,
    options: impl Iterator<Item = (u16, &'a [u8])>,
) -> u16 {
    let mut previous = previous;
    for (number, value) in options {
        let delta = number.wrapping_sub(previous);
        let len = value.len();
        let nibble = |x: usize| -> u8 {
            if x <= 12 {
                x as u8
            } else if x < 269 {
                13
            } else {
                14
            }
        };
        buf.push((nibble(usize::from(delta)) << 4) | nibble(len));
        if delta > 12 && delta < 269 {
            buf.push((delta - 13) as u8);
        } else if delta >= 269 {
            buf.extend_from_slice(&(delta - 269).to_be_bytes());
        }
        if len > 12 && len < 269 {
            buf.push((len - 13) as u8);
        } else if len >= 269 {
            // As coap-lite does: the extended length is truncated to 16 bits.
            buf.extend_from_slice(&((len - 269) as u16).to_be_bytes());
        }
        put_bytes(buf, value);
        previous = previous.wrapping_add(delta);
    }
    previous
}

/// Appends `bytes` to `buf`. A token or an option value is a few bytes (a Block2 value
/// one to three), and a message has up to a dozen of them: for those, a copy of a size
/// known at compile time, which the compiler writes as one or two stores, rather than a
/// call to `memcpy`, which costs several times the copy.
#[inline(always)]
pub(crate) fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    macro_rules! fixed_sizes {
        ($($n:literal)*) => {
            match bytes.len() {
                0 => {}
                $($n => {
                    if let Ok(array) = <&[u8; $n]>::try_from(bytes) {
                        buf.extend_from_slice(array);
                    }
                })*
                _ => buf.extend_from_slice(bytes),
            }
        };
    }
    fixed_sizes!(1 2 3 4 5 6 7 8);
}

/// Extended bytes of an option delta or length: 0 up to 12, 1 up to 268, else 2.
fn ext_len(x: usize) -> usize {
    if x <= 12 {
        0
    } else if x < 269 {
        1
    } else {
        2
    }
}

/// Overwrites the message ID of an encoded message (bytes 2 and 3 of the header).
pub(super) fn patch_mid(bytes: &mut [u8], mid: u16) {
    if let Some(field) = bytes.get_mut(2..4) {
        field.copy_from_slice(&mid.to_be_bytes());
    }
}

/// Whether `class` is a request method the endpoint can send.
pub(super) fn is_request(class: MessageClass) -> bool {
    matches!(class, MessageClass::Request(m) if m != RequestType::UnKnown)
}

/// Whether `class` is a response code the endpoint can send.
pub(super) fn is_response(class: MessageClass) -> bool {
    matches!(class, MessageClass::Response(c) if c != ResponseType::UnKnown)
}

/// An option's delta or length from its 4-bit `nibble` and the extended bytes at `idx`
/// (RFC 7252 section 3.1): 13 and 14 take one or two more bytes, 15 is reserved and gives
/// `invalid`, as does an extended value past 16 bits. Missing bytes are an option-length
/// error, as in coap-lite.
pub(super) fn extended(
    nibble: u8,
    buf: &[u8],
    idx: &mut usize,
    invalid: FormatError,
) -> Result<u16, FormatError> {
    match nibble {
        13 => {
            let ext = *buf.get(*idx).ok_or(FormatError::OptionLength)?;
            *idx += 1;
            Ok(u16::from(ext) + 13)
        }
        14 => {
            if *idx + 1 >= buf.len() {
                return Err(FormatError::OptionLength);
            }
            let ext = u16::from_be_bytes([buf[*idx], buf[*idx + 1]]);
            *idx += 2;
            ext.checked_add(269).ok_or(invalid)
        }
        15 => Err(invalid),
        d => Ok(u16::from(d)),
    }
}
