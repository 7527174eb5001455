//! CoAP messaging (RFC 7252) and block-wise transfer (RFC 7959), sans I/O.
//!
//! # Layers
//!
//! - [`Endpoint`]: the CoAP *message layer* and request/response matching of one node. It
//!   takes messages to send as `coap-lite` [`Packet`]s, delivers received ones as
//!   [`Message`]s (the datagram checked once and indexed in place; [`Message::to_packet`]
//!   converts), assigns message IDs and tokens,
//!   retransmits confirmable (CON) messages with exponential back-off (RFC 7252 sections
//!   4.2 and 4.8, parameters in [`TransmissionParams`]), detects duplicates, acknowledges,
//!   resets, and matches responses (piggybacked in the ACK, or separate) to requests by
//!   peer and token. It never reads a clock and never draws randomness of its own: in the
//!   style of quinn-proto, the caller feeds it with `handle_datagram(now, ..)`,
//!   `handle_timeout(now)`, [`Endpoint::send_request`] and [`Endpoint::respond`], and
//!   drains [`Endpoint::poll_transmit`], [`Endpoint::poll_event`] and
//!   [`Endpoint::poll_timeout`] after each call.
//! - Block-wise transfer (RFC 7959): [`BlockValue`] and [`BlockSize`] for the option,
//!   [`serve_block2`] and [`Block2Assembler`] for response bodies, [`Block1Sender`] and
//!   [`Block1Receiver`] for request bodies. They work on decoded option values and payload
//!   slices, not on the outer message, so the same helpers serve plain CoAP and the inner,
//!   OSCORE-protected message; [`BlockValue::read`] (of a [`Packet`] or a
//!   [`Message`]) and [`BlockValue::write`] are conveniences for whole messages.
//!
//! # Call order
//!
//! 1. Feed input: [`Endpoint::handle_datagram`], [`Endpoint::handle_timeout`] when the
//!    instant from [`Endpoint::poll_timeout`] is reached, and the application calls
//!    [`Endpoint::send_request`], [`Endpoint::respond`], [`Endpoint::acknowledge`],
//!    [`Endpoint::cancel`].
//! 2. Drain output: [`Endpoint::poll_transmit`] until `None` (send each datagram),
//!    [`Endpoint::poll_event`] until `None`, then re-arm the timer from
//!    [`Endpoint::poll_timeout`].
//!
//! # Behaviour and simplifications
//!
//! - Unicast only: no multicast, no Observe (RFC 7641), no proxying, no DTLS (security is
//!   OSCORE, one layer up).
//! - Congestion control is NSTART per peer (default 1, RFC 7252 section 4.7): a request is
//!   outstanding from its first transmission until it is acknowledged (CON) or answered
//!   (NON, or CON whose ACK was lost); further requests to that peer wait in a FIFO queue
//!   inside the endpoint. There is no PROBING_RATE limit and no other congestion control.
//! - Message IDs come from one counter per endpoint, starting at a random value; tokens are
//!   random, [`EndpointConfig::token_len`] bytes (default 4), unique among this endpoint's
//!   outstanding requests to a peer.
//! - Server side: every received request is delivered to the application once. Duplicates
//!   (same peer and message ID within EXCHANGE_LIFETIME for CON, NON_LIFETIME for NON) are
//!   never delivered again; a duplicate CON is answered with the cached ACK (piggybacked
//!   response, or empty ACK) or, if the application has not answered yet, with an empty ACK
//!   that turns the response into a separate one. The endpoint also sends that empty ACK by
//!   itself after [`EndpointConfig::empty_ack_delay`]. A separate response to a CON request
//!   is sent as CON (retransmitted like a request), to a NON request as NON.
//! - Empty CON messages ("CoAP ping") are answered with RST. Messages that do not parse,
//!   use an unknown version or a reserved code are dropped and counted; a malformed CON
//!   whose header could be read is rejected with RST (RFC 7252 section 4.2).
//! - Options are not interpreted by the endpoint (except that it reads none): rejecting
//!   unknown critical options with 4.02 is the application's job.
//! - State is bounded: see [`EndpointConfig`] for the caps on outstanding requests, pending
//!   incoming requests and the duplicate cache, and what happens at each cap. Entries of the
//!   duplicate cache (and requests the application never answered) expire lazily at the
//!   next call after their lifetime, so they arm no timer and cause no wake-ups.
//! - Message IDs are unique per peer among this endpoint's messages in flight; as in
//!   RFC 7252 section 4.4, an endpoint sending more than 65536 messages within
//!   EXCHANGE_LIFETIME may reuse an ID a peer still remembers.
//! - An unknown method code (0.08 to 0.31) is treated as a reserved code: a CON carrying one
//!   is rejected with RST rather than answered with 4.05 (RFC 7252 section 5.8).
//!
//! # Robustness
//!
//! No input to [`Endpoint::handle_datagram`], [`BlockValue::decode`] or the block-wise
//! helpers panics; bad input is a typed [`DropReason`] or [`BlockError`].

mod block;
mod blockwise;
mod endpoint;
mod message;
mod params;
mod received;
mod seqmap;
mod server;
mod smallmap;

#[cfg(test)]
mod tests;

pub use block::{
    BlockError, BlockOption, BlockSize, BlockValue, CoapOptions, read_size, uint_bytes, write_size,
};
pub use blockwise::{
    Block1Receiver, Block1Sender, Block2Assembler, BlockSlice, BlockStep, BodyStore, serve_block2,
};
pub use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
pub use endpoint::{Endpoint, MAX_SPARE_BUFFERS};
pub use message::{DropReason, FormatError, OptionPrefix};
pub(crate) use message::{encoded_options_len, put_bytes, write_options};
pub use params::{EndpointConfig, TransmissionParams};
pub use received::Message;

/// Whether a request is sent confirmable (retransmitted until acknowledged) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reliability {
    /// A CON request, retransmitted with exponential back-off until acknowledged.
    Confirmable,
    /// A NON request, sent once.
    NonConfirmable,
}

/// Names a request this endpoint sent, in the events about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestHandle(pub(crate) u64);

/// Names a request this endpoint received, for [`Endpoint::respond`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncomingId(pub(crate) u64);

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// The peer to send it to.
    pub destination: A,
    /// The encoded CoAP message.
    pub contents: Vec<u8>,
}

/// What the endpoint tells the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<A> {
    /// A new (not duplicate) request arrived; answer it with [`Endpoint::respond`].
    RequestReceived {
        /// The id to respond to.
        id: IncomingId,
        /// The peer that sent it.
        from: A,
        /// The request.
        request: Message,
    },
    /// The response to a request this endpoint sent.
    ResponseReceived {
        /// The request it answers.
        handle: RequestHandle,
        /// The peer that sent it.
        from: A,
        /// The response.
        response: Message,
    },
    /// A request this endpoint sent will get no response.
    RequestFailed {
        /// The request.
        handle: RequestHandle,
        /// The peer it was sent to.
        peer: A,
        /// Why.
        reason: RequestFailure,
    },
    /// A separate CON response this endpoint sent was never acknowledged, or was rejected.
    ResponseFailed {
        /// The request it answered.
        id: IncomingId,
        /// The peer it was sent to.
        peer: A,
        /// Why.
        reason: DeliveryFailure,
    },
    /// A received datagram was dropped (counted in [`Stats`] too).
    DatagramDropped {
        /// The peer it came from.
        from: A,
        /// Why.
        reason: DropReason,
    },
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFailure {
    /// The CON request was sent `transmissions` times (1 + MAX_RETRANSMIT) and never
    /// acknowledged.
    GaveUp {
        /// How many times it was sent.
        transmissions: u32,
    },
    /// No response arrived within [`EndpointConfig::response_timeout`] after the empty
    /// ACK (CON) or after sending (NON).
    ResponseTimeout,
    /// The peer answered with RST.
    Reset,
}

/// Why a separate CON response was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryFailure {
    /// Sent `transmissions` times and never acknowledged.
    GaveUp {
        /// How many times it was sent.
        transmissions: u32,
    },
    /// The peer answered with RST.
    Reset,
}

/// Misuse of the endpoint API by the application: nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// `send_request` was given a packet whose code is not a known request method.
    #[error("the packet's code is not a request method")]
    NotARequest,
    /// `respond` was given a packet whose code is not a known response code.
    #[error("the packet's code is not a response code")]
    NotAResponse,
    /// The encoded message would exceed [`EndpointConfig::max_message_size`].
    #[error("the encoded message exceeds {max} bytes")]
    TooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// [`EndpointConfig::max_outstanding_requests`] requests are already outstanding.
    #[error("too many outstanding requests")]
    TooManyOutstanding,
    /// No free token for this peer (only with very short tokens).
    #[error("no free token for this peer")]
    TokensExhausted,
    /// `respond` or `acknowledge` named a request that is unknown, answered or expired.
    #[error("unknown, answered or expired incoming request")]
    UnknownRequest,
    /// `send_request_prefixed` was given an option numbered below the last option of
    /// its prefix: options go in ascending number order.
    #[error("an option is numbered below the last option of the prefix")]
    OptionBeforePrefix,
}

/// Counters for the simulator's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed out by [`Endpoint::poll_transmit`].
    pub datagrams_sent: u64,
    /// Their total size in bytes.
    pub bytes_sent: u64,
    /// Datagrams passed to [`Endpoint::handle_datagram`].
    pub datagrams_received: u64,
    /// Their total size in bytes.
    pub bytes_received: u64,
    /// Retransmissions of CON requests and CON separate responses.
    pub retransmissions: u64,
    /// Duplicates detected and not delivered again: CON/NON messages seen before (same
    /// peer and message ID), and repeated empty ACKs.
    pub duplicates: u64,
    /// Cached replies (ACK or RST) re-sent for duplicate CON messages.
    pub replies_resent: u64,
    /// CON messages given up after MAX_RETRANSMIT retransmissions.
    pub gave_up: u64,
    /// Requests that got no response within the response timeout.
    pub response_timeouts: u64,
    /// Datagrams dropped because they did not parse ([`DropReason::Malformed`],
    /// [`DropReason::UnknownVersion`], [`DropReason::TooLarge`]).
    pub malformed: u64,
    /// Well-formed datagrams dropped for any other [`DropReason`].
    pub dropped: u64,
    /// RST messages sent.
    pub resets_sent: u64,
    /// RST messages received.
    pub resets_received: u64,
    /// Requests first transmitted.
    pub requests_sent: u64,
    /// Responses delivered to the application.
    pub responses_received: u64,
    /// Requests delivered to the application.
    pub requests_received: u64,
}

impl Stats {
    /// Add `other`'s counts to these (e.g. to keep totals across endpoint restarts).
    pub fn accumulate(&mut self, other: &Stats) {
        self.datagrams_sent += other.datagrams_sent;
        self.bytes_sent += other.bytes_sent;
        self.datagrams_received += other.datagrams_received;
        self.bytes_received += other.bytes_received;
        self.retransmissions += other.retransmissions;
        self.duplicates += other.duplicates;
        self.replies_resent += other.replies_resent;
        self.gave_up += other.gave_up;
        self.response_timeouts += other.response_timeouts;
        self.malformed += other.malformed;
        self.dropped += other.dropped;
        self.resets_sent += other.resets_sent;
        self.resets_received += other.resets_received;
        self.requests_sent += other.requests_sent;
        self.responses_received += other.responses_received;
        self.requests_received += other.requests_received;
    }
}
