//! The network model: links with latency, bandwidth and queues, MTU, loss and outages.
//!
//! Plain deterministic Rust: no async, no clock, no global randomness. The engine passes the
//! current [`Instant`](icsim_protocol::time::Instant) and a random stream into every call
//! and gets a [`Verdict`] back (in the manner of turmoil-net rules and smoltcp's
//! `FaultInjector`); giving each link direction its own ChaCha stream is the caller's job.
//!
//! # The model
//!
//! A link is two independent [`LinkDirection`]s built from one [`LinkParams`]. A datagram
//! offered to a direction goes through these steps, in this order:
//!
//! 1. **MTU.** A datagram longer than the MTU is dropped ([`DropCause::Mtu`]). There is no
//!    fragmentation: the sender must fit its messages (CoAP block-wise transfer does).
//! 2. **Outage.** A datagram offered inside a scheduled outage, a half-open interval
//!    `[start, end)` ([`OutageSpan`]), is dropped ([`DropCause::Outage`]). Datagrams already
//!    queued when an outage starts are still carried.
//! 3. **Tail drop.** A direction holds at most `queue_packets` datagrams waiting or in
//!    transmission; one more is dropped ([`DropCause::QueueFull`]).
//! 4. **Serialisation and queueing.** The datagram occupies the direction, in FIFO order,
//!    from `max(now, busy_until)` for exactly `len * 8 / bandwidth` seconds. Busy-until is
//!    kept in nanoseconds plus an exact fractional remainder, so the link carries exactly
//!    its bandwidth over any number of datagrams, even of one byte each (80 ns at
//!    100 Mbit/s); the end of transmission is rounded up to the nanosecond.
//! 5. **Loss.** The datagram is then lost or not per the [`LossModel`] (independent
//!    Bernoulli, or bursty Gilbert-Elliott with its state kept per direction in
//!    [`LossState`]). A lost datagram still used the bandwidth ([`DropCause::Loss`]).
//! 6. **Propagation.** A datagram that is not lost arrives at the end of its transmission
//!    plus a [`LatencyModel`] sample, but never before the previous arrival on the same
//!    direction: the direction keeps FIFO order even when latency is random. The arrival
//!    time is rounded up to the microsecond, the resolution of the protocol's clock, so a
//!    datagram is never delivered before its last bit could have arrived.
//!
//! Every step updates the direction's [`LinkStats`] when the verdict is given.
//!
//! # What it does not model
//!
//! No TCP (the protocol runs CoAP over datagrams), no fragmentation (an oversize datagram
//! is dropped and counted), no reordering, duplication or corruption, and no collisions on
//! a shared medium beyond the FIFO shared by every station that sends into the same
//! direction (a serial radio cell is one direction per way that all its PLCs use).
//!
//! # Robustness
//!
//! No function of this module panics, whatever its input: parameters are clamped
//! (documented on each type), time arithmetic saturates, and floating-point draws are
//! converted with saturating casts. Internal times are nanoseconds since the Unix epoch in
//! a `u128`, so every [`Instant`](icsim_protocol::time::Instant) is exact; an arrival past
//! the last representable instant saturates to it.
//!
//! # Determinism
//!
//! The only randomness is the caller's stream, drawn in a fixed order (loss, then latency
//! if the datagram is not lost); nothing is hashed or iterated out of order. Uniform
//! deviates are 53-bit floats built from `next_u64`. Normal deviates use `ln`, `sqrt` and
//! `cos`/`sin` from the platform's maths library, whose last bit may differ between
//! platforms; samples are rounded to whole microseconds, which hides such differences in
//! all but vanishingly rare ties.

mod latency;
mod link;
mod loss;

use rand_core::Rng;

pub use latency::LatencyModel;
pub use link::{
    DropCause, LinkDirection, LinkParams, LinkStats, OutageSpan, Tally, Verdict, outage_spans,
};
pub use loss::{LossModel, LossState};

/// A uniform deviate in the open interval (0, 1): the top 53 bits of `next_u64`, offset by
/// half a step, so that neither 0 nor 1 can occur (`ln` of it is always finite).
fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    const STEP: f64 = 1.0 / (1u64 << 53) as f64;
    ((rng.next_u64() >> 11) as f64 + 0.5) * STEP
}

/// `true` with probability `p`. A `p` at or below 0, or NaN, never happens; at or above 1
/// it always happens. Draws one `u64` whatever `p`, so that the stream advances the same.
fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    open_unit(rng) < p
}
