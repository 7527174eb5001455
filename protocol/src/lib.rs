//! # icsim-protocol
//!
//! The secure software update protocol simulated by icsim, as a library with no I/O, no
//! clock and no global randomness (the sans-I/O style of quinn-proto and rustls). Time is
//! passed in as [`time::Instant`], randomness as a `rand_core::CryptoRng`.
//!
//! Layers, bottom up:
//!
//! - [`time`]: the protocol's own time types.
//! - [`coap`]: CoAP messaging (RFC 7252) with confirmable retransmission and block-wise
//!   transfer (RFC 7959).
//! - [`oscore`]: OSCORE (RFC 8613) security contexts, protection of requests and responses,
//!   replay protection.
//!
//! Every decoder in this crate takes untrusted bytes and returns a typed error; none panics.
#![forbid(unsafe_code)]

pub mod ace;
pub mod approval;
pub mod author;
pub mod cbor;
pub mod coap;
pub mod cose;
pub mod credential;
pub mod encrypt0;
pub mod exchange;
mod fifo;
pub mod ids;
pub mod keys;
pub mod memo;
pub mod oscore;
pub mod suit;
pub mod time;
pub mod verify;
