//! The security context (RFC 8613 section 3): derivation, sequence numbers, and the state a
//! device keeps in flash so that a reboot never reuses a nonce (Appendix B.1).

use hkdf::Hkdf;
use sha2::Sha256;

use super::OscoreError;
use super::algorithm::{AeadAlgorithm, kdf_info};
use super::cose_option::decode_partial_iv;
use super::replay::{DEFAULT_WINDOW, ReplayWindow};

/// The longest nonce (and so Common IV) of the supported algorithms (AES-CCM-16-64-128).
const MAX_NONCE_LEN: usize = 13;
/// The longest Sender or Recipient ID of the supported algorithms (nonce length - 6).
const MAX_ID_LEN: usize = MAX_NONCE_LEN - 6;
/// The key length of the supported algorithms.
const KEY_LEN: usize = 16;

/// Up to `N` bytes held inline (a key, an IV, an ID); reads as a byte slice.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct InlineBytes<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineBytes<N> {
    /// A copy of `bytes`, if they fit.
    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut inline = Self::zeroed(bytes.len())?;
        inline.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(inline)
    }

    /// `len` zero bytes, if they fit.
    fn zeroed(len: usize) -> Option<Self> {
        let len = u8::try_from(len).ok().filter(|&l| usize::from(l) <= N)?;
        Some(InlineBytes { len, bytes: [0; N] })
    }
}

impl<const N: usize> std::ops::Deref for InlineBytes<N> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl<const N: usize> core::fmt::Debug for InlineBytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

/// The largest sender sequence number: Partial IVs have at most 5 bytes (2^40 - 1).
pub const MAX_SEQUENCE_NUMBER: u64 = (1 << 40) - 1;

/// The default persistence margin K of Appendix B.1.1: how many sequence numbers (and
/// received Partial IVs) a checkpoint reserves ahead.
pub const DEFAULT_PERSIST_MARGIN: u64 = 32;

/// The inputs of a security context: the RFC 8613 section 3.2 parameters plus local
/// configuration (replay window size, persistence margin, kid context use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextParams {
    /// The Master Secret (the HKDF input keying material).
    pub master_secret: Vec<u8>,
    /// The Master Salt (default empty).
    pub master_salt: Vec<u8>,
    /// The optional ID Context (`None` encodes as CBOR nil in the KDF info).
    pub id_context: Option<Vec<u8>>,
    /// This endpoint's Sender ID (the peer's Recipient ID).
    pub sender_id: Vec<u8>,
    /// This endpoint's Recipient ID (the peer's Sender ID).
    pub recipient_id: Vec<u8>,
    /// The AEAD algorithm (default AES-CCM-16-64-128). The HKDF is always HKDF-SHA-256.
    pub algorithm: AeadAlgorithm,
    /// Replay window size in Partial IVs (default 32, at most 128).
    pub replay_window: usize,
    /// Persistence margin K (Appendix B.1.1), at least 1 (0 is treated as 1).
    pub persist_margin: u64,
    /// Whether requests carry the ID Context as kid context (default `true`; only
    /// relevant when `id_context` is set).
    pub send_kid_context: bool,
}

impl ContextParams {
    /// Parameters with the defaults: empty Master Salt, no ID Context, AES-CCM-16-64-128,
    /// a 32-entry replay window and a persistence margin of 32.
    pub fn new(master_secret: &[u8], sender_id: &[u8], recipient_id: &[u8]) -> Self {
        Self {
            master_secret: master_secret.to_vec(),
            master_salt: Vec::new(),
            id_context: None,
            sender_id: sender_id.to_vec(),
            recipient_id: recipient_id.to_vec(),
            algorithm: AeadAlgorithm::default(),
            replay_window: DEFAULT_WINDOW,
            persist_margin: DEFAULT_PERSIST_MARGIN,
            send_kid_context: true,
        }
    }
}

/// What a device keeps in (simulated) flash for one security context so that a restart
/// never reuses a nonce and never accepts a replay (RFC 8613 Appendix B.1.1 and B.1.2).
///
/// The master secret and the other [`ContextParams`] are stored separately (they do not
/// change); this is the part that changes while the context is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PersistentOscoreState {
    /// Every sender sequence number used so far is below this value; after a restore the
    /// sender starts here.
    pub sender_seq_high_water: u64,
    /// Every Partial IV accepted from the peer so far is below this value; after a restore
    /// all Partial IVs below it are rejected as replays.
    pub replay_high_water: u64,
}

/// What protecting a response needs to know about its request (RFC 8613 sections 5.4 and
/// 8.3): the request's kid and Partial IV, which enter the AAD and, when the nonce is
/// reused, the nonce; and the kid context the request named.
///
/// A client gets it from [`SecurityContext::protect_request`] and hands it to
/// [`SecurityContext::unprotect_response`]; a server gets it from
/// [`SecurityContext::unprotect_request`] and hands it to
/// [`SecurityContext::protect_response`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestBinding {
    pub(crate) kid: Vec<u8>,
    pub(crate) partial_iv: Vec<u8>,
    pub(crate) kid_context: Option<Vec<u8>>,
}

impl RequestBinding {
    /// The request's kid (the client's Sender ID).
    pub fn kid(&self) -> &[u8] {
        &self.kid
    }

    /// The request's Partial IV, as sent.
    pub fn partial_iv(&self) -> &[u8] {
        &self.partial_iv
    }

    /// The request's Partial IV as a sequence number.
    pub fn sequence_number(&self) -> u64 {
        decode_partial_iv(&self.partial_iv)
    }

    /// The kid context of the request (`None` if it carried none).
    pub fn kid_context(&self) -> Option<&[u8]> {
        self.kid_context.as_deref()
    }
}

/// How a response is protected (RFC 8613 section 8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResponseNonce {
    /// Reuse the request's nonce; the response carries no Partial IV. Allowed for exactly
    /// one response per request (and never for a request received before a reboot).
    #[default]
    Reuse,
    /// Use a fresh Partial IV from the server's own sender sequence number (e.g. for a
    /// second response, or after a reboot).
    Fresh,
}

/// An OSCORE security context: the common context, the sender context and the recipient
/// context (RFC 8613 section 3.1) of one endpoint, plus its persistence bookkeeping.
///
/// Protecting and unprotecting are in the `protect` module (methods on this type).
#[derive(Clone)]
pub struct SecurityContext {
    pub(crate) algorithm: AeadAlgorithm,
    pub(crate) id_context: Option<Vec<u8>>,
    // Keys, IV and IDs are held inline: a context is used for every OSCORE message, and
    // five small heap buffers were five allocations per context and as many cache lines
    // to fetch per message.
    pub(crate) common_iv: InlineBytes<MAX_NONCE_LEN>,
    pub(crate) sender_id: InlineBytes<MAX_ID_LEN>,
    pub(crate) sender_key: InlineBytes<KEY_LEN>,
    pub(crate) recipient_id: InlineBytes<MAX_ID_LEN>,
    pub(crate) recipient_key: InlineBytes<KEY_LEN>,
    pub(crate) send_kid_context: bool,
    /// The next sender sequence number to use.
    pub(crate) sender_seq: u64,
    /// Exclusive bound on used sequence numbers that has been handed out for persistence.
    sender_limit: u64,
    pub(crate) replay: ReplayWindow,
    /// Exclusive bound on accepted Partial IVs handed out for persistence.
    replay_limit: u64,
    persist_margin: u64,
    checkpoint_due: bool,
    /// Whether received requests go through the replay window (always, unless the
    /// `replay_window` ablation switched it off).
    pub(crate) replay_protection: bool,
}

impl core::fmt::Debug for SecurityContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Keys are deliberately not printed.
        f.debug_struct("SecurityContext")
            .field("algorithm", &self.algorithm)
            .field("id_context", &self.id_context)
            .field("sender_id", &self.sender_id)
            .field("recipient_id", &self.recipient_id)
            .field("sender_seq", &self.sender_seq)
            .field("sender_limit", &self.sender_limit)
            .field("replay", &self.replay)
            .field("replay_limit", &self.replay_limit)
            .field("replay_protection", &self.replay_protection)
            .finish_non_exhaustive()
    }
}

impl SecurityContext {
    /// Derives a fresh context (RFC 8613 section 3.2): sender key, recipient key and
    /// common IV with HKDF-SHA-256 from the Master Secret and Master Salt. The sender
    /// sequence number starts at 0 and the replay window is empty.
    pub fn derive(params: &ContextParams) -> Result<Self, OscoreError> {
        let alg = params.algorithm;
        for id in [&params.sender_id, &params.recipient_id] {
            if id.len() > alg.max_id_len() {
                return Err(OscoreError::IdTooLong {
                    len: id.len(),
                    max: alg.max_id_len(),
                });
            }
        }
        if params.sender_id == params.recipient_id {
            return Err(OscoreError::IdCollision);
        }
        let id_ctx_len = params.id_context.as_ref().map_or(0, Vec::len);
        if id_ctx_len > usize::from(u8::MAX) {
            return Err(OscoreError::IdContextTooLong(id_ctx_len));
        }
        let replay = ReplayWindow::new(params.replay_window, 0)?;

        let hkdf = Hkdf::<Sha256>::new(Some(&params.master_salt), &params.master_secret);
        let id_ctx = params.id_context.as_deref();
        fn expand<const N: usize>(
            hkdf: &Hkdf<Sha256>,
            info: &[u8],
            len: usize,
        ) -> Result<InlineBytes<N>, OscoreError> {
            let mut okm = InlineBytes::zeroed(len)
                .ok_or_else(|| OscoreError::Encoding("HKDF output length".into()))?;
            hkdf.expand(info, &mut okm.bytes[..len])
                .map_err(|_| OscoreError::Encoding("HKDF output length".into()))?;
            Ok(okm)
        }
        let (iv_len, key_len) = (alg.nonce_len(), alg.key_len());
        let key = |id: &[u8]| expand(&hkdf, &kdf_info(id, id_ctx, alg, "Key", key_len), key_len);
        // The lengths were checked above against the algorithm's, which fit the arrays.
        let id = |id: &[u8]| {
            InlineBytes::from_slice(id).ok_or(OscoreError::IdTooLong {
                len: id.len(),
                max: MAX_ID_LEN,
            })
        };
        Ok(Self {
            algorithm: alg,
            id_context: params.id_context.clone(),
            common_iv: expand(&hkdf, &kdf_info(&[], id_ctx, alg, "IV", iv_len), iv_len)?,
            sender_id: id(&params.sender_id)?,
            sender_key: key(&params.sender_id)?,
            recipient_id: id(&params.recipient_id)?,
            recipient_key: key(&params.recipient_id)?,
            send_kid_context: params.send_kid_context,
            sender_seq: 0,
            sender_limit: 0,
            replay,
            replay_limit: 0,
            persist_margin: params.persist_margin.max(1),
            checkpoint_due: false,
            replay_protection: true,
        })
    }

    /// Re-creates a context after a restart from its parameters and the last
    /// [`PersistentOscoreState`] written to flash (Appendix B.1).
    ///
    /// The sender continues at `sender_seq_high_water`, which is above every sequence
    /// number used before the restart, also those used after the last checkpoint. The
    /// replay window restarts empty with every Partial IV below `replay_high_water`
    /// rejected, so no request accepted before the restart can be replayed; the price is
    /// that up to `persist_margin` genuine, never-seen Partial IVs of the peer are
    /// rejected too (B.1.2; the peer's next requests carry higher ones).
    pub fn restore(
        params: &ContextParams,
        persisted: &PersistentOscoreState,
    ) -> Result<Self, OscoreError> {
        let mut ctx = Self::derive(params)?;
        ctx.sender_seq = persisted.sender_seq_high_water;
        ctx.sender_limit = persisted.sender_seq_high_water;
        ctx.replay = ReplayWindow::new(params.replay_window, persisted.replay_high_water)?;
        ctx.replay_limit = persisted.replay_high_water;
        Ok(ctx)
    }

    /// The state to write to flash now, if a protect or unprotect call since the last
    /// checkpoint moved a bound (the sender went past its reserved sequence numbers, or a
    /// Partial IV at or above the replay bound was accepted).
    ///
    /// The caller must persist the returned state before it sends the message it just
    /// protected, or acts on the request it just unprotected. Between checkpoints the
    /// context uses up to `persist_margin` numbers without asking again.
    pub fn take_checkpoint(&mut self) -> Option<PersistentOscoreState> {
        if core::mem::take(&mut self.checkpoint_due) {
            Some(self.persistent_state())
        } else {
            None
        }
    }

    /// The exact state at a controlled shutdown, with no margin: the next sender sequence
    /// number, and one above the highest Partial IV accepted. Written just before a planned
    /// reset (e.g. to boot a new image), a restore from it continues without refusing the
    /// peer's next requests; after an unplanned loss of power only the last checkpoint
    /// ([`Self::take_checkpoint`]) is on flash, and its margin covers what was used since.
    pub fn shutdown_state(&self) -> PersistentOscoreState {
        PersistentOscoreState {
            sender_seq_high_water: self.sender_seq,
            replay_high_water: self.replay.next_floor(),
        }
    }

    /// The bounds as they stand (e.g. to write at commissioning time).
    pub fn persistent_state(&self) -> PersistentOscoreState {
        PersistentOscoreState {
            sender_seq_high_water: self.sender_limit,
            replay_high_water: self.replay_limit,
        }
    }

    /// DANGER: stop checking received requests against the replay window, for the
    /// `replay_window` ablation only. A replayed request is then processed again, and its
    /// response reuses the original request's nonce. The window still records what it
    /// sees, and persistence is unchanged. A derived or restored context always starts with
    /// replay protection on.
    pub fn danger_disable_replay_protection(&mut self) {
        self.replay_protection = false;
    }

    /// Whether received requests are checked against the replay window (always, unless
    /// [`Self::danger_disable_replay_protection`] was called).
    pub fn replay_protection(&self) -> bool {
        self.replay_protection
    }

    /// The AEAD algorithm.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    /// The ID Context, if any.
    pub fn id_context(&self) -> Option<&[u8]> {
        self.id_context.as_deref()
    }

    /// The Common IV.
    pub fn common_iv(&self) -> &[u8] {
        &self.common_iv
    }

    /// This endpoint's Sender ID.
    pub fn sender_id(&self) -> &[u8] {
        &self.sender_id
    }

    /// The Sender Key.
    pub fn sender_key(&self) -> &[u8] {
        &self.sender_key
    }

    /// This endpoint's Recipient ID.
    pub fn recipient_id(&self) -> &[u8] {
        &self.recipient_id
    }

    /// The Recipient Key.
    pub fn recipient_key(&self) -> &[u8] {
        &self.recipient_key
    }

    /// The next sender sequence number (the Partial IV of the next protected request or
    /// fresh-nonce response).
    pub fn sender_sequence_number(&self) -> u64 {
        self.sender_seq
    }

    /// The recipient's replay window.
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.replay
    }

    /// Takes the next sender sequence number, raising the persistence bound if needed.
    pub(crate) fn next_sequence_number(&mut self) -> Result<u64, OscoreError> {
        let seq = self.sender_seq;
        if seq > MAX_SEQUENCE_NUMBER {
            return Err(OscoreError::SequenceNumberExhausted);
        }
        self.sender_seq = seq + 1;
        if seq >= self.sender_limit {
            self.sender_limit = seq
                .saturating_add(self.persist_margin)
                .clamp(seq + 1, MAX_SEQUENCE_NUMBER + 1);
            self.checkpoint_due = true;
        }
        Ok(seq)
    }

    /// Records an accepted Partial IV in the replay window and the persistence bound.
    pub(crate) fn record_received(&mut self, piv: u64) {
        self.replay.record(piv);
        if piv >= self.replay_limit {
            self.replay_limit = piv
                .saturating_add(self.persist_margin)
                .max(piv.saturating_add(1));
            self.checkpoint_due = true;
        }
    }
}
