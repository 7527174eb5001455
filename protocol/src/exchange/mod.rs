//! The per-device update exchange (DESIGN.md section 1.4), as sans-I/O nodes in the style
//! of quinn-proto: [`UpdateManager`] (the operator's UM), [`Device`] (a PLC),
//! [`AuthServer`] (the ACE Authorization Server) and [`Repository`] (an untrusted
//! distribution point). Each owns its CoAP endpoint and its own random stream, takes
//! `handle_datagram(now, ..)` and `handle_timeout(now)`, and gives `poll_transmit()`,
//! `poll_timeout()` and `poll_event()`. The simulator drives them unchanged; [`harness`]
//! drives them without one.
//!
//! # The exchange
//!
//! 1. UM → AS `POST token` {audience, scope}: an access token for the device (ACE,
//!    RFC 9200), with OSCORE input material for the UM.
//! 2. UM → device `POST authz-info` {token, N1, ID1} → {N2, ID2}: both derive the OSCORE
//!    context (RFC 9203).
//! 3. Over OSCORE: `POST suit/envelope` (Block1): the device runs every envelope check
//!    ([`crate::verify`]) and answers 2.04 or 4.03 with the reason.
//! 4. Over OSCORE: `POST suit/cek`: the content key, and how the payload comes.
//! 5. The device fetches the encrypted payload with plain CoAP Block2 from a distribution
//!    point (untrusted), or the UM pushes it over OSCORE (`POST suit/payload`, Block1); the
//!    device decrypts, checks size and digest, and writes the inactive slot.
//! 6. Over OSCORE: `POST suit/install` {at}: the device installs at once or at the given
//!    time, reboots, self-tests, and commits or rolls back.
//! 7. The UM polls `GET suit/status` until the outcome is known. After a device reboot the
//!    UM's old context is refused (restored replay window, RFC 8613 Appendix B.1.2), and
//!    the UM re-keys by posting its token again (RFC 9203 section 4.1).
//!
//! # Deviations and simplifications
//!
//! - The UM–AS channel is plain CoAP here; a real deployment protects it (both are
//!   operator backend systems). The AS authenticates no client.
//! - Status is polled, not observed (no CoAP Observe).
//! - All components of a device share one A/B slot pair.
//! - A device that loses power in the middle of an update forgets the transfer and the
//!   verified envelope (RAM); the UM starts again from the envelope.

mod auth_server;
mod device;
pub mod harness;
mod msg;
mod repository;
mod um;
pub mod wire;

use crate::coap::Transmit;
use crate::time::Instant;

pub use auth_server::{AuthServer, encode_token_request};
pub use device::{
    Device, DeviceConfig, DeviceEvent, DevicePersistent, LastOutcome, PersistedContext, SlotImage,
    Slots, StagedImage,
};
pub use repository::Repository;
pub use um::{InstallTiming, JobKind, Outcome, UmConfig, UmEvent, UpdateJob, UpdateManager};

/// A node's network address (the simulator's or the harness's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr(pub u32);

/// The common driving interface of every sans-I/O node.
pub trait Node {
    /// Take a datagram from `from`.
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]);
    /// [`Node::handle_datagram`] taking the datagram's buffer (which a node may keep
    /// rather than copy).
    fn handle_datagram_owned(&mut self, now: Instant, from: Addr, bytes: Vec<u8>) {
        self.handle_datagram(now, from, &bytes);
    }
    /// Let timers due at or before `now` run.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit<Addr>>;
    /// When [`Node::handle_timeout`] must be called next.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Cryptographic work a node did, for the simulator to charge as virtual CPU time with the
/// device class's profile. Counted where the work is done, whether or not a result could
/// be reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CryptoWork {
    /// ECDSA P-256 signature verifications.
    pub ecdsa_verify: u32,
    /// ECDH P-256 key agreements.
    pub ecdh: u32,
    /// HKDF-SHA-256 derivations (one per derived key or IV).
    pub hkdf: u32,
    /// Bytes processed by AES (CCM or GCM).
    pub aes_bytes: u64,
    /// Bytes hashed with SHA-256.
    pub sha256_bytes: u64,
}

impl CryptoWork {
    /// Whether no work was counted.
    pub fn is_empty(&self) -> bool {
        *self == CryptoWork::default()
    }

    /// Add `other` to this tally.
    pub fn add(&mut self, other: CryptoWork) {
        self.ecdsa_verify += other.ecdsa_verify;
        self.ecdh += other.ecdh;
        self.hkdf += other.hkdf;
        self.aes_bytes += other.aes_bytes;
        self.sha256_bytes += other.sha256_bytes;
    }
}
