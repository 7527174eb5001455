//! The one error type of the OSCORE layer.

use coap_lite::ResponseType;
use thiserror::Error;

/// Why the value of an OSCORE option (the compressed COSE object, RFC 8613 section 6.1)
/// could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OptionError {
    /// One of the three reserved bits (0-2) of the flag byte is set.
    #[error("reserved flag bits set in OSCORE option (flag byte {flags:#04x})")]
    ReservedBitsSet {
        /// The received flag byte.
        flags: u8,
    },
    /// The Partial IV length `n` is one of the reserved values 6 or 7.
    #[error("reserved Partial IV length {n} in OSCORE option")]
    ReservedPartialIvLength {
        /// The received value of `n`.
        n: u8,
    },
    /// The flag byte is 0x00 but was sent; such an option value must be empty.
    #[error("OSCORE option with all-zero flags must be empty")]
    ZeroFlagsNotEmpty,
    /// The option value ends inside the Partial IV.
    #[error("OSCORE option truncated inside the Partial IV")]
    TruncatedPartialIv,
    /// The `h` flag is set but the option value ends before the kid context length byte.
    #[error("OSCORE option truncated before the kid context length")]
    MissingKidContextLength,
    /// The option value ends inside the kid context.
    #[error("OSCORE option truncated inside the kid context")]
    TruncatedKidContext,
    /// Bytes follow the last field although the `k` flag is not set.
    #[error("{0} trailing bytes in OSCORE option without kid")]
    TrailingBytes(usize),
    /// The Partial IV has a leading zero byte (a sender must encode it minimally).
    #[error("Partial IV not minimally encoded")]
    NonMinimalPartialIv,
    /// The message carries more than one OSCORE option.
    #[error("more than one OSCORE option in the message")]
    Repeated,
}

/// Everything that can go wrong when deriving a security context or protecting and
/// unprotecting a message.
///
/// Errors on the receiving side never reveal more than the RFC allows to a peer; see
/// [`OscoreError::error_response`] for the CoAP error a server sends back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OscoreError {
    /// The COSE algorithm identifier is not one this implementation supports.
    #[error("unsupported AEAD algorithm {0} (supported: 10 AES-CCM-16-64-128, 1 A128GCM)")]
    UnsupportedAlgorithm(i64),
    /// A Sender ID or Recipient ID is longer than the nonce allows (nonce length - 6).
    #[error("identifier of {len} bytes is longer than the maximum {max} for this AEAD")]
    IdTooLong {
        /// The length of the offending identifier.
        len: usize,
        /// The longest identifier the algorithm's nonce can carry.
        max: usize,
    },
    /// Sender ID and Recipient ID are equal, so both directions would share key and nonces.
    #[error("Sender ID and Recipient ID must differ")]
    IdCollision,
    /// The ID Context is too long to be sent as kid context (at most 255 bytes).
    #[error("ID Context of {0} bytes does not fit the kid context (at most 255)")]
    IdContextTooLong(usize),
    /// The configured replay window size is 0 or above the supported maximum.
    #[error("replay window size {0} outside 1..={max}", max = super::replay::MAX_WINDOW)]
    InvalidReplayWindow(usize),
    /// The sender sequence number space (2^40 values) is used up; a new context is needed.
    #[error("sender sequence number exhausted; the security context must be renewed")]
    SequenceNumberExhausted,
    /// `protect_request` was given a message whose code is not a request code.
    #[error("message code {0:#04x} is not a request")]
    NotARequest(u8),
    /// `protect_response` was given a message whose code is not a response code.
    #[error("message code {0:#04x} is not a response")]
    NotAResponse(u8),
    /// The message to protect already carries an OSCORE option.
    #[error("message already carries an OSCORE option")]
    AlreadyProtected,
    /// The message to protect uses an option this implementation does not protect
    /// (Observe 6, Proxy-Uri 35) or a received message carries an outer Block option.
    #[error("CoAP option {0} is not supported with OSCORE here")]
    UnsupportedOption(u16),
    /// A received message has no OSCORE option.
    #[error("message has no OSCORE option")]
    MissingOscoreOption,
    /// The OSCORE option of a received message is malformed.
    #[error("malformed OSCORE option: {0}")]
    MalformedOption(#[from] OptionError),
    /// A received request has no `kid`.
    #[error("request without kid")]
    MissingKid,
    /// A received request has no Partial IV.
    #[error("request without Partial IV")]
    MissingPartialIv,
    /// The `kid` of a received message does not name this context's peer.
    #[error("unknown kid {0:02x?}")]
    UnknownKid(Vec<u8>),
    /// The kid context of a received message does not match this context's ID Context.
    #[error("unknown kid context {0:02x?}")]
    UnknownKidContext(Vec<u8>),
    /// The payload of a received message is too short to hold the authentication tag.
    #[error("ciphertext of {len} bytes is shorter than the {tag}-byte tag")]
    CiphertextTooShort {
        /// Length of the received payload.
        len: usize,
        /// Tag length of the AEAD algorithm.
        tag: usize,
    },
    /// The AEAD tag did not verify: the message was modified, or keys/nonce/AAD differ.
    #[error("integrity check failed (AEAD tag mismatch)")]
    IntegrityFailure,
    /// The Partial IV of a received request was already seen or is older than the replay
    /// window (or below the floor restored after a reboot).
    #[error("replayed or too old Partial IV {partial_iv}")]
    Replay {
        /// The rejected Partial IV, as a number.
        partial_iv: u64,
    },
    /// The decrypted plaintext is not a well-formed code, option list and payload.
    #[error("decrypted plaintext malformed: {0}")]
    PlaintextMalformed(&'static str),
    /// The outer message could not be serialized by `coap-lite` (e.g. token too long).
    #[error("CoAP encoding failed: {0}")]
    Encoding(String),
}

impl OscoreError {
    /// The CoAP error response a server sends (unprotected, RFC 8613 section 8.2) when
    /// unprotecting a request failed with this error, or `None` for errors that only arise
    /// locally (configuration, protecting).
    ///
    /// 4.02 Bad Option for an unparsable OSCORE option or a missing kid, 4.01 Unauthorized
    /// for an unknown context or a replay, 4.00 Bad Request for an integrity failure or a
    /// malformed payload.
    pub fn error_response(&self) -> Option<ResponseType> {
        match self {
            OscoreError::MalformedOption(_)
            | OscoreError::MissingKid
            | OscoreError::MissingPartialIv
            | OscoreError::MissingOscoreOption
            | OscoreError::UnsupportedOption(_) => Some(ResponseType::BadOption),
            OscoreError::UnknownKid(_)
            | OscoreError::UnknownKidContext(_)
            | OscoreError::Replay { .. } => Some(ResponseType::Unauthorized),
            OscoreError::IntegrityFailure
            | OscoreError::CiphertextTooShort { .. }
            | OscoreError::PlaintextMalformed(_) => Some(ResponseType::BadRequest),
            OscoreError::UnsupportedAlgorithm(_)
            | OscoreError::IdTooLong { .. }
            | OscoreError::IdCollision
            | OscoreError::IdContextTooLong(_)
            | OscoreError::InvalidReplayWindow(_)
            | OscoreError::SequenceNumberExhausted
            | OscoreError::NotARequest(_)
            | OscoreError::NotAResponse(_)
            | OscoreError::AlreadyProtected
            | OscoreError::Encoding(_) => None,
        }
    }
}
