//! OSCORE (RFC 8613), sans I/O: end-to-end protection of CoAP requests and responses
//! between the Update Manager and a device.
//!
//! # Layers
//!
//! - **Security context** ([`SecurityContext`], [`ContextParams`]): derived once with
//!   HKDF-SHA-256 from Master Secret, Master Salt, optional ID Context, Sender ID and
//!   Recipient ID (section 3.2; the HKDF `info` is the CBOR array
//!   `[id, id_context, alg_aead, type, L]`). It holds the sender key and sequence number,
//!   the recipient key and [`ReplayWindow`], and the Common IV.
//! - **AEAD** ([`AeadAlgorithm`]): AES-CCM-16-64-128 (COSE 10, 13-byte nonce, 8-byte tag,
//!   the default) or A128GCM (COSE 1, 12-byte nonce, 16-byte tag). The nonce is built as in
//!   section 5.2 from the Common IV, the Sender ID of whoever chose the Partial IV, and the
//!   Partial IV; the AAD is the `Enc_structure` `["Encrypt0", h'', external_aad]` with
//!   `external_aad = [1, [alg_aead], request_kid, request_piv, h'']` (section 5.4).
//! - **Message protection** (`protect_*` / `unprotect_*` on [`SecurityContext`]): the
//!   Class E options (section 4.1), the code and the payload of a `coap_lite::Packet` go
//!   into the plaintext; Class U options (Uri-Host, Uri-Port, Proxy-Scheme, Hop-Limit,
//!   EDHOC) stay outside; the outer code is POST for requests and 2.04 Changed for
//!   responses; the compressed COSE object travels in the OSCORE option
//!   ([`OscoreOptionValue`], section 6.1) and the ciphertext is the payload. Block1 and
//!   Block2 inside the protected message are Class E (inner block-wise). A
//!   [`RequestBinding`] carries what a response needs from its request. Responses reuse
//!   the request nonce by default ([`ResponseNonce::Reuse`]) or carry a fresh Partial IV
//!   ([`ResponseNonce::Fresh`]).
//! - **Persistence** ([`PersistentOscoreState`]): Appendix B.1. The context reserves
//!   sequence numbers (and received Partial IVs) `persist_margin` at a time and asks the
//!   caller to persist the new bound ([`SecurityContext::take_checkpoint`]) before the
//!   message is sent or acted on. [`SecurityContext::restore`] continues above every number
//!   used before a crash and rejects every Partial IV that might have been accepted.
//!
//! For ablation studies only, [`SecurityContext::danger_disable_replay_protection`] lets
//! replayed requests through (the `replay_window` switch of [`crate::verify::Defences`]).
//!
//! Errors are one enum, [`OscoreError`]; [`OscoreError::error_response`] gives the CoAP
//! error code a server answers with. No input from the network panics.
//!
//! # Deviations from RFC 8613 and omissions
//!
//! - **Observe** (sections 4.1.3.5, 8.3-8.4 for notifications) is not supported: protecting
//!   a message with an Observe option and receiving one with an outer Observe option are
//!   [`OscoreError::UnsupportedOption`]. So the outer code is always POST / 2.04, never
//!   FETCH / 2.05.
//! - **Proxy-Uri** is not decomposed (section 4.1.3.3): protecting a message with Proxy-Uri
//!   is [`OscoreError::UnsupportedOption`]; use Proxy-Scheme, Uri-Host and Uri-Path.
//!   **Outer block-wise** (a proxy fragmenting the protected message) is not supported: a
//!   received outer Block1/Block2 is [`OscoreError::UnsupportedOption`]. Inner block-wise is.
//! - **Max-Age, Size1/Size2, No-Response** are treated as Class E only (the RFC allows an
//!   additional outer copy for proxies; none is added).
//! - One context per peer: [`SecurityContext`] recognises exactly one kid (its Recipient
//!   ID) and, if the request carries a kid context, exactly its own ID Context. Looking up
//!   a context among many by kid is the caller's job. Group OSCORE, the Appendix B.2
//!   context re-derivation, and the Echo option based replay-window resynchronisation of
//!   Appendix B.1.2 are not implemented; the restore instead rejects the whole margin of
//!   possibly-seen Partial IVs (the more conservative of the B.1.2 choices).
//! - The receiver is stricter than the RFC requires: an OSCORE option value of a single
//!   0x00 byte and a Partial IV with a leading zero byte are rejected as malformed
//!   (a compliant sender produces neither). Sender ID and Recipient ID must differ.
//! - An Empty message (code 0.00) passes `protect_response` / `unprotect_response`
//!   unchanged (it has no code, options or payload to protect); `protect_request` rejects
//!   it.
//! - Only HKDF-SHA-256; no AEAD usage limits (draft-ietf-core-oscore-key-limits).

mod algorithm;
mod context;
mod cose_option;
mod error;
mod plaintext;
mod protect;
mod replay;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub use algorithm::AeadAlgorithm;
pub use context::{
    ContextParams, DEFAULT_PERSIST_MARGIN, MAX_SEQUENCE_NUMBER, PersistentOscoreState,
    RequestBinding, ResponseNonce, SecurityContext,
};
pub use cose_option::{OscoreOptionValue, decode_partial_iv, encode_partial_iv};
pub use error::{OptionError, OscoreError};
pub use replay::{DEFAULT_WINDOW, MAX_WINDOW, ReplayWindow};
