//! Transmission parameters (RFC 7252 section 4.8) and endpoint limits.

use rand_core::Rng;

use crate::time::Duration;

/// The CoAP transmission parameters of RFC 7252 section 4.8, with the RFC's defaults.
///
/// The random factor is a fixed-point number in thousandths (1500 = 1.5) so that the
/// retransmission schedule is computed in integer microseconds and is the same on every
/// machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransmissionParams {
    /// ACK_TIMEOUT: the lower bound of the initial retransmission timeout (2 s).
    pub ack_timeout: Duration,
    /// ACK_RANDOM_FACTOR in thousandths (1500 = 1.5); the initial timeout is drawn uniformly
    /// from `[ack_timeout, ack_timeout * factor]`. Values below 1000 are treated as 1000.
    pub ack_random_factor_permille: u32,
    /// MAX_RETRANSMIT: how many retransmissions of a confirmable message before giving up (4).
    pub max_retransmit: u32,
    /// NSTART: how many requests may be outstanding to one peer at a time (1). Further
    /// requests wait in a per-peer queue. Zero is treated as one.
    pub nstart: u32,
    /// MAX_LATENCY: the assumed maximum one-way delay of the network (100 s).
    pub max_latency: Duration,
    /// PROCESSING_DELAY: the time a node takes to acknowledge a confirmable message
    /// (ACK_TIMEOUT, 2 s).
    pub processing_delay: Duration,
}

impl Default for TransmissionParams {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor_permille: 1500,
            max_retransmit: 4,
            nstart: 1,
            max_latency: Duration::from_secs(100),
            processing_delay: Duration::from_secs(2),
        }
    }
}

impl TransmissionParams {
    /// The largest initial retransmission timeout: `ack_timeout * ack_random_factor`.
    pub fn max_initial_timeout(&self) -> Duration {
        let factor = u64::from(self.ack_random_factor_permille.max(1000));
        let micros = u128::from(self.ack_timeout.as_micros()) * u128::from(factor) / 1000;
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// Draws the initial retransmission timeout uniformly (to the microsecond) from
    /// `[ack_timeout, max_initial_timeout()]`.
    pub fn draw_initial_timeout<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let low = self.ack_timeout.as_micros();
        let span = self.max_initial_timeout().as_micros().saturating_sub(low);
        // Widening multiply maps a 64-bit draw onto [0, span] without modulo bias worth
        // mentioning (the bias is below 2^-40 for any span a timeout can have).
        let offset = (u128::from(rng.next_u64()) * (u128::from(span) + 1)) >> 64;
        Duration::from_micros(low.saturating_add(offset as u64))
    }

    /// MAX_TRANSMIT_SPAN: the longest time from the first transmission of a confirmable
    /// message to its last retransmission (45 s with the defaults).
    pub fn max_transmit_span(&self) -> Duration {
        self.max_initial_timeout()
            .saturating_mul(pow2_minus_one(self.max_retransmit))
    }

    /// MAX_TRANSMIT_WAIT: the longest time from the first transmission of a confirmable
    /// message to giving up on it (93 s with the defaults).
    pub fn max_transmit_wait(&self) -> Duration {
        self.max_initial_timeout()
            .saturating_mul(pow2_minus_one(self.max_retransmit.saturating_add(1)))
    }

    /// EXCHANGE_LIFETIME: how long a message ID of a confirmable message stays in use, and
    /// how long this endpoint remembers a received confirmable message (247 s with the
    /// defaults).
    pub fn exchange_lifetime(&self) -> Duration {
        self.max_transmit_span() + self.max_latency.saturating_mul(2) + self.processing_delay
    }

    /// NON_LIFETIME: how long this endpoint remembers a received non-confirmable message
    /// (145 s with the defaults).
    pub fn non_lifetime(&self) -> Duration {
        self.max_transmit_span() + self.max_latency
    }
}

/// `2^n - 1`, saturating.
fn pow2_minus_one(n: u32) -> u64 {
    1u64.checked_shl(n).map_or(u64::MAX, |p| p - 1)
}

/// The configuration of an [`Endpoint`](super::Endpoint): transmission parameters and the
/// bounds on its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Retransmission and lifetime parameters.
    pub params: TransmissionParams,
    /// Length of the tokens this endpoint draws for its requests, 0 to 8 bytes (default 4:
    /// 32 random bits, the minimum RFC 7252 section 5.3.1 recommends against off-path
    /// spoofing; OSCORE binds responses to requests cryptographically in any case).
    pub token_len: u8,
    /// Largest encoded message this endpoint sends or accepts (default 1152 bytes, the
    /// RFC 7252 section 4.6 guidance; at most 65,000).
    pub max_message_size: usize,
    /// Most requests this endpoint has sent (or queued) and not yet completed (default 1024).
    /// [`Endpoint::send_request`](super::Endpoint::send_request) fails beyond it.
    pub max_outstanding_requests: usize,
    /// Most received requests that the application has not answered yet, plus separate
    /// responses still being retransmitted (default 1024). New requests beyond it are
    /// dropped (the peer retransmits).
    pub max_pending_requests: usize,
    /// Most entries of the duplicate-detection cache, keyed by (peer, message ID) and kept
    /// for EXCHANGE_LIFETIME or NON_LIFETIME (default 4096). When it is full of live entries,
    /// new messages are dropped rather than old entries evicted, so that no request can be
    /// delivered twice; the peer retransmits.
    pub max_dedup_entries: usize,
    /// When the application has not answered a confirmable request after this long, the
    /// endpoint sends an empty ACK and the response becomes a separate response
    /// (RFC 7252 section 5.2.2). `None` waits for the application or for a duplicate of the
    /// request, whichever comes first. Default 1 s, below ACK_TIMEOUT so that a slow
    /// application does not cause retransmissions.
    pub empty_ack_delay: Option<Duration>,
    /// Whether received requests are remembered for duplicate detection (default `true`).
    /// A server whose resources are all idempotent (a repository or cache serving GET) may
    /// turn it off, as RFC 7252 section 4.5 allows: a retransmitted request is then simply
    /// served again, and the server keeps no per-message state for EXCHANGE_LIFETIME.
    pub dedup_requests: bool,
    /// How long a request waits for its response once no more retransmissions are due: after
    /// an empty ACK, or after sending a non-confirmable request (default EXCHANGE_LIFETIME,
    /// 247 s).
    pub response_timeout: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        let params = TransmissionParams::default();
        Self {
            params,
            token_len: 4,
            max_message_size: 1152,
            max_outstanding_requests: 1024,
            max_pending_requests: 1024,
            max_dedup_entries: 4096,
            empty_ack_delay: Some(Duration::from_secs(1)),
            dedup_requests: true,
            response_timeout: params.exchange_lifetime(),
        }
    }
}

/// The largest message size an endpoint can be configured with: the option encoder of
/// `coap-lite` cannot frame longer option values, and UDP cannot carry much more.
pub(super) const MAX_MESSAGE_SIZE_LIMIT: usize = 65_000;
