//! The endpoint: public driving API, datagram dispatch, timers, and the client side
//! (requests this node sends). The server side lives in `server.rs`.

use std::fmt::Debug;

use coap_lite::{MessageClass, MessageType, Packet, RequestType};
use rand_core::Rng;

use super::message::{self, OptionPrefix, Token};
use super::params::{EndpointConfig, MAX_MESSAGE_SIZE_LIMIT};
use super::received::{self, Message};
use super::seqmap::SeqMap;
use super::server::{DedupEntry, InRequest, SeparateResponse};
use super::smallmap::{SmallMap, SmallSet};
use super::{
    DropReason, Event, IncomingId, Reliability, RequestFailure, RequestHandle, SendError, Stats,
    Transmit,
};
use crate::fifo::Fifo;
use crate::time::{Duration, Instant};

/// Emptied buffers an endpoint keeps for its next messages (see [`Endpoint::recycle`]):
/// two, so that a client can hold the buffer of its request finished and that of the
/// response just handled, and write its next request and the request's copy for
/// transmission into them.
pub const MAX_SPARE_BUFFERS: usize = 2;

/// Up to this many peers, a peer's slot (its NSTART count and queue) is kept when it has
/// nothing outstanding or queued (see `Endpoint::release_idle_slot`).
const KEPT_IDLE_PEER_SLOTS: usize = 4;

/// One node's CoAP message layer and request/response matching, generic over the peer
/// address type (a socket address, a simulator node id, ...).
///
/// See the [module documentation](super) for the call order and what is implemented.
#[derive(Debug)]
pub struct Endpoint<A> {
    pub(super) config: EndpointConfig,
    /// EXCHANGE_LIFETIME and NON_LIFETIME of `config`, computed once: every request
    /// received needs one.
    pub(super) exchange_lifetime: Duration,
    pub(super) non_lifetime: Duration,
    next_mid: u16,
    next_handle: u64,
    pub(super) next_incoming: u64,
    /// Requests sent (or queued) and not yet completed.
    requests: SeqMap<OutRequest<A>>,
    by_token: SmallMap<(A, Token), RequestHandle>,
    /// Per peer with requests outstanding or queued (and, while there are few peers, per
    /// peer that had some): the NSTART count and the queue.
    peers: SmallMap<A, PeerSlot>,
    /// Which of our messages in flight a (peer, message ID) belongs to, for ACK and RST.
    pub(super) by_mid: SmallMap<(A, u16), MidOwner>,
    pub(super) incoming: SeqMap<InRequest<A>>,
    pub(super) separate: SmallMap<IncomingId, SeparateResponse<A>>,
    pub(super) dedup: SmallMap<(A, u16), DedupEntry>,
    pub(super) dedup_expiry: SmallSet<(Instant, A, u16)>,
    /// The earliest instant in `dedup_expiry`, kept next to the other fields so that the
    /// check at every call touches no tree node.
    pub(super) dedup_next_expiry: Option<Instant>,
    /// Every armed timer; each object also stores its own instant so that the entry can be
    /// removed when its state changes, which keeps `poll_timeout` exact.
    pub(super) timers: SmallSet<(Instant, Timer)>,
    transmits: Fifo<Transmit<A>>,
    /// Emptied buffers to write the next messages into, last in first out, at most
    /// [`MAX_SPARE_BUFFERS`]: those of requests finished and those the application handed
    /// back with [`Endpoint::recycle`]. See there for why.
    spares: Spares,
    pub(super) events: Fifo<Event<A>>,
    pub(super) stats: Stats,
}

/// The emptied buffers an endpoint keeps (see [`Endpoint::recycle`]), last in first out,
/// inline: a device takes one and gives one back at every block, and a vector of them would
/// be one more heap line touched each time.
#[derive(Debug, Default)]
struct Spares {
    buffers: [Vec<u8>; MAX_SPARE_BUFFERS],
    len: usize,
}

impl Spares {
    /// Keeps `buffer` if there is room; drops it otherwise.
    fn push(&mut self, buffer: Vec<u8>) {
        if let Some(slot) = self.buffers.get_mut(self.len) {
            *slot = buffer;
            self.len += 1;
        }
    }

    /// The buffer kept last, or a new empty one.
    fn pop(&mut self) -> Vec<u8> {
        match self.len.checked_sub(1) {
            Some(last) => {
                self.len = last;
                std::mem::take(&mut self.buffers[last])
            }
            None => Vec::new(),
        }
    }
}

/// A peer's requests: how many are outstanding (counted against NSTART) and which wait
/// for a free slot, in order.
#[derive(Debug, Default)]
struct PeerSlot {
    active: u32,
    queue: Fifo<RequestHandle>,
}

/// What a timer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    Request(RequestHandle),
    Separate(IncomingId),
    EmptyAck(IncomingId),
}

/// The owner of a message ID this endpoint sent and may get an ACK or RST for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MidOwner {
    Request(RequestHandle),
    Separate(IncomingId),
}

/// Retransmission state of a CON message (RFC 7252 section 4.2).
#[derive(Clone, Copy, Debug)]
pub(super) struct Backoff {
    pub(super) timeout: Duration,
    pub(super) retransmits: u32,
    pub(super) next: Instant,
}

impl Backoff {
    pub(super) fn new(now: Instant, initial: Duration) -> Self {
        Self {
            timeout: initial,
            retransmits: 0,
            next: now + initial,
        }
    }

    /// At the timer instant `at`: the next timer instant if the message is to be
    /// retransmitted now, `None` if it is to be given up.
    pub(super) fn on_timeout(&mut self, at: Instant, max_retransmit: u32) -> Option<Instant> {
        if self.retransmits >= max_retransmit {
            return None;
        }
        self.retransmits += 1;
        self.timeout = self.timeout.saturating_mul(2);
        // From the scheduled instant, not from when the caller got round to it, so that the
        // schedule is t0, t0+T, t0+3T, t0+7T, ... whatever the caller's timer slack.
        self.next = at + self.timeout;
        Some(self.next)
    }
}

#[derive(Debug)]
struct OutRequest<A> {
    peer: A,
    token: Token,
    reliability: Reliability,
    /// The encoded request; its message ID is patched in when it is first sent.
    bytes: Vec<u8>,
    initial_timeout: Duration,
    mid: Option<u16>,
    state: OutState,
}

#[derive(Debug)]
enum OutState {
    /// Waiting for an NSTART slot.
    Queued,
    /// CON sent, no ACK yet.
    AwaitAck(Backoff),
    /// Acknowledged (CON) or sent (NON); waiting for the response.
    AwaitResponse { deadline: Instant },
}

impl<A> OutRequest<A> {
    fn timer(&self) -> Option<Instant> {
        match &self.state {
            OutState::Queued => None,
            OutState::AwaitAck(b) => Some(b.next),
            OutState::AwaitResponse { deadline } => Some(*deadline),
        }
    }

    /// Whether it counts against NSTART (RFC 7252 section 4.7: a CON not yet acknowledged,
    /// or a request with neither ACK nor response yet).
    fn is_active(&self) -> bool {
        match self.state {
            OutState::Queued => false,
            OutState::AwaitAck(_) => true,
            OutState::AwaitResponse { .. } => self.reliability == Reliability::NonConfirmable,
        }
    }
}

impl<A: Clone + Ord + Debug> Endpoint<A> {
    /// A new endpoint; its first message ID is drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(config: EndpointConfig, rng: &mut R) -> Self {
        Self {
            exchange_lifetime: config.params.exchange_lifetime(),
            non_lifetime: config.params.non_lifetime(),
            config,
            next_mid: rng.next_u32() as u16,
            next_handle: 0,
            next_incoming: 0,
            requests: SeqMap::new(),
            by_token: SmallMap::new(),
            peers: SmallMap::new(),
            by_mid: SmallMap::new(),
            incoming: SeqMap::new(),
            separate: SmallMap::new(),
            dedup: SmallMap::new(),
            dedup_expiry: SmallSet::new(),
            dedup_next_expiry: None,
            timers: SmallSet::new(),
            transmits: Fifo::new(),
            spares: Spares::default(),
            events: Fifo::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Requests sent or queued and not yet completed.
    pub fn outstanding_requests(&self) -> usize {
        self.requests.len()
    }

    /// Sends a request to `to` (or queues it while NSTART requests to that peer are
    /// outstanding). The endpoint sets the message type, message ID and token of `packet`;
    /// the caller sets the method, options and payload. The outcome is reported as
    /// [`Event::ResponseReceived`] or [`Event::RequestFailed`] with the returned handle.
    ///
    /// `rng` supplies the token and the initial retransmission timeout.
    pub fn send_request<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        to: A,
        packet: Packet,
        reliability: Reliability,
    ) -> Result<RequestHandle, SendError> {
        let code = packet.header.code;
        self.send_request_with(now, rng, to, code, reliability, |buf, mtype, token, max| {
            message::encode(buf, &packet, mtype, 0, token, max)
        })
    }

    /// [`Endpoint::send_request`] with the request given as its parts: `options` as
    /// (number, value) in ascending number order, and the payload. Sends the same bytes as
    /// `send_request` with the equivalent packet, without building one (as a device asks
    /// for each block of a payload).
    #[allow(clippy::too_many_arguments)]
    pub fn send_request_parts<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        to: A,
        method: RequestType,
        options: &[(u16, &[u8])],
        payload: &[u8],
        reliability: Reliability,
    ) -> Result<RequestHandle, SendError> {
        let code = MessageClass::Request(method);
        self.send_request_with(now, rng, to, code, reliability, |buf, mtype, token, max| {
            let options = options.iter().map(|&(n, v)| (n, v));
            message::encode_parts(buf, mtype, code, 0, token, options, payload, max)
        })
    }

    /// [`Endpoint::send_request_parts`] with the first options encoded beforehand in
    /// `prefix` and `options` following them (none may have a number below the prefix's
    /// last). Sends the same bytes as `send_request_parts` given all the options: a device
    /// fetching a payload block by block encodes the path once, not once per block.
    #[allow(clippy::too_many_arguments)]
    pub fn send_request_prefixed<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        to: A,
        method: RequestType,
        prefix: &OptionPrefix,
        options: &[(u16, &[u8])],
        payload: &[u8],
        reliability: Reliability,
    ) -> Result<RequestHandle, SendError> {
        if options
            .first()
            .is_some_and(|&(number, _)| number < prefix.last_number())
        {
            return Err(SendError::OptionBeforePrefix);
        }
        let code = MessageClass::Request(method);
        self.send_request_with(now, rng, to, code, reliability, |buf, mtype, token, max| {
            let options = options.iter().map(|&(n, v)| (n, v));
            message::encode_prefixed(buf, mtype, code, 0, token, prefix, options, payload, max)
        })
    }

    /// The body of `send_request`: `encode` writes the request into the given buffer with
    /// the given type and token (message ID 0, patched when it is sent), within the given
    /// maximum size.
    fn send_request_with<R: Rng + ?Sized, F>(
        &mut self,
        now: Instant,
        rng: &mut R,
        to: A,
        code: MessageClass,
        reliability: Reliability,
        encode: F,
    ) -> Result<RequestHandle, SendError>
    where
        F: FnOnce(Vec<u8>, MessageType, &[u8], usize) -> Result<Vec<u8>, SendError>,
    {
        self.purge(now);
        if !message::is_request(code) {
            return Err(SendError::NotARequest);
        }
        if self.requests.len() >= self.config.max_outstanding_requests {
            return Err(SendError::TooManyOutstanding);
        }
        let token = self.draw_token(rng, &to)?;
        let mtype = match reliability {
            Reliability::Confirmable => MessageType::Confirmable,
            Reliability::NonConfirmable => MessageType::NonConfirmable,
        };
        let max = self.max_message_size();
        let bytes = encode(self.spare_buffer(), mtype, token.as_slice(), max)?;
        let initial_timeout = match reliability {
            Reliability::Confirmable => self.config.params.draw_initial_timeout(rng),
            Reliability::NonConfirmable => Duration::ZERO,
        };
        let handle = RequestHandle(self.next_handle);
        self.next_handle += 1;
        self.by_token.insert((to.clone(), token), handle);
        self.requests.insert(
            handle.0,
            OutRequest {
                peer: to.clone(),
                token,
                reliability,
                bytes,
                initial_timeout,
                mid: None,
                state: OutState::Queued,
            },
        );
        // With no queue for the peer and a free NSTART slot, `pump` would pop this request
        // right after queueing it: send it at once instead.
        let nstart = self.nstart();
        if self
            .peers
            .get(&to)
            .is_none_or(|slot| slot.queue.is_empty() && slot.active < nstart)
        {
            self.dispatch(now, handle);
        } else {
            self.peers
                .get_or_default(to.clone())
                .queue
                .push_back(handle);
            self.pump(now, &to);
        }
        Ok(handle)
    }

    /// Forgets a request without an event; a late response to it is dropped (a CON one is
    /// answered with RST). Returns whether the request was still outstanding.
    pub fn cancel(&mut self, now: Instant, handle: RequestHandle) -> bool {
        self.finish_request(now, handle).is_some()
    }

    /// Processes a received datagram. Never panics, whatever `bytes` holds.
    pub fn handle_datagram(&mut self, now: Instant, from: A, bytes: &[u8]) {
        self.handle_datagram_owned(now, from, bytes.to_vec());
    }

    /// [`Endpoint::handle_datagram`] taking the datagram's buffer, which the delivered
    /// [`Message`] then keeps (no copy).
    pub fn handle_datagram_owned(&mut self, now: Instant, from: A, bytes: Vec<u8>) {
        self.purge(now);
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        let header = message::peek_header(&bytes);
        let packet = match received::decode(bytes, self.max_message_size()) {
            Ok(packet) => packet,
            Err(reason) => {
                if let (DropReason::Malformed(_), Some((1, MessageType::Confirmable, mid))) =
                    (reason, header)
                {
                    self.send_reset(from.clone(), mid);
                }
                self.drop_datagram(from, reason);
                return;
            }
        };
        let mid = packet.message_id();
        match (packet.message_type(), packet.code()) {
            (MessageType::Confirmable, MessageClass::Empty) => self.send_reset(from, mid),
            (MessageType::Acknowledgement, _) => self.handle_ack(now, from, packet),
            (MessageType::Reset, _) => self.handle_reset(now, from, mid),
            (_, MessageClass::Request(_)) => self.handle_request(now, from, packet),
            (_, MessageClass::Response(_)) => self.handle_response(now, from, packet),
            // `decode` rejects the remaining combinations.
            _ => self.drop_datagram(
                from,
                DropReason::Malformed(super::FormatError::TypeCodeMismatch),
            ),
        }
    }

    /// Processes every timer due at or before `now`: retransmissions, give-ups, response
    /// timeouts and delayed empty ACKs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.purge(now);
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Request(handle) => self.request_timer(now, at, handle),
                Timer::Separate(id) => self.separate_timer(at, id),
                Timer::EmptyAck(id) => self.empty_ack_timer(id),
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        let transmit = self.transmits.pop_front()?;
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += transmit.contents.len() as u64;
        Some(transmit)
    }

    /// When [`Endpoint::handle_timeout`] must next be called, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    /// Hands back a buffer the application is done with, typically that of a message
    /// received ([`Message::into_bytes`](super::Message::into_bytes)), for the endpoint to
    /// write a later message into. Optional: without it the endpoint allocates.
    ///
    /// A simulated device that answers each block with the next request, and a server
    /// that answers each request, can then pass the same few buffers back and forth:
    /// no allocation per exchange, and memory written moments before rather than memory
    /// fresh from the allocator, long untouched. The endpoint keeps at most
    /// [`MAX_SPARE_BUFFERS`] and drops the rest; [`Endpoint::release_spares`] frees them.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        // A buffer larger than any message this endpoint sends would only hold memory.
        let useful = (1..=self.max_message_size()).contains(&buffer.capacity());
        if useful {
            buffer.clear();
            self.spares.push(buffer);
        }
    }

    /// Frees the buffers kept for later messages (see [`Endpoint::recycle`]), e.g. when a
    /// transfer is over and the endpoint will be quiet for a long time.
    pub fn release_spares(&mut self) {
        self.spares = Spares::default();
    }

    /// How many buffers are kept for later messages.
    #[cfg(test)]
    pub(super) fn spare_count(&self) -> usize {
        self.spares.len
    }

    // ---- helpers shared with server.rs ----

    /// An empty buffer to write a message into: the last one recycled, or a new one.
    pub(super) fn spare_buffer(&mut self) -> Vec<u8> {
        self.spares.pop()
    }

    pub(super) fn max_message_size(&self) -> usize {
        self.config.max_message_size.min(MAX_MESSAGE_SIZE_LIMIT)
    }

    pub(super) fn push_transmit(&mut self, destination: A, contents: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination,
            contents,
        });
    }

    pub(super) fn send_reset(&mut self, to: A, mid: u16) {
        self.stats.resets_sent += 1;
        self.push_transmit(to, message::empty_message(MessageType::Reset, mid));
    }

    pub(super) fn drop_datagram(&mut self, from: A, reason: DropReason) {
        if reason.is_malformed() {
            self.stats.malformed += 1;
        } else {
            self.stats.dropped += 1;
        }
        self.events
            .push_back(Event::DatagramDropped { from, reason });
    }

    /// A message ID not in use with `peer` by any of our messages in flight.
    pub(super) fn alloc_mid(&mut self, peer: &A) -> u16 {
        free_mid(&mut self.next_mid, &self.by_mid, peer)
    }

    // ---- client side ----

    fn draw_token<R: Rng + ?Sized>(&self, rng: &mut R, to: &A) -> Result<Token, SendError> {
        let len = usize::from(self.config.token_len.min(8));
        for _ in 0..16 {
            let mut buf = [0u8; 8];
            rng.fill_bytes(&mut buf[..len]);
            let token = Token::from_slice(&buf[..len]);
            if !self.by_token.contains_key(&(to.clone(), token)) {
                return Ok(token);
            }
        }
        Err(SendError::TokensExhausted)
    }

    /// Sends queued requests to `peer` while NSTART allows.
    /// Releases the peer's slot once it has neither outstanding nor queued requests.
    fn pump(&mut self, now: Instant, peer: &A) {
        let limit = self.nstart();
        loop {
            let Some(slot) = self.peers.get_mut(peer) else {
                return;
            };
            if slot.active >= limit {
                return;
            }
            let Some(handle) = slot.queue.pop_front() else {
                if slot.active == 0 {
                    self.release_idle_slot(peer);
                }
                return;
            };
            self.dispatch(now, handle);
        }
    }

    /// NSTART: how many requests to one peer may be outstanding.
    fn nstart(&self) -> u32 {
        self.config.params.nstart.max(1)
    }

    /// First transmission of a queued request.
    fn dispatch(&mut self, now: Instant, handle: RequestHandle) {
        let response_timeout = self.config.response_timeout;
        let Some(req) = self.requests.get_mut(handle.0) else {
            return;
        };
        let peer = req.peer.clone();
        let mid = free_mid(&mut self.next_mid, &self.by_mid, &peer);
        message::patch_mid(&mut req.bytes, mid);
        req.mid = Some(mid);
        req.state = match req.reliability {
            Reliability::Confirmable => OutState::AwaitAck(Backoff::new(now, req.initial_timeout)),
            Reliability::NonConfirmable => OutState::AwaitResponse {
                deadline: now + response_timeout,
            },
        };
        // `spare_buffer`, inlined: `req` borrows the request table.
        let mut bytes = self.spares.pop();
        bytes.extend_from_slice(&req.bytes);
        if let Some(at) = req.timer() {
            self.timers.insert((at, Timer::Request(handle)));
        }
        self.by_mid
            .insert((peer.clone(), mid), MidOwner::Request(handle));
        self.peers.get_or_default(peer.clone()).active += 1;
        self.stats.requests_sent += 1;
        self.push_transmit(peer, bytes);
    }

    fn deactivate(&mut self, peer: &A) {
        if let Some(slot) = self.peers.get_mut(peer) {
            slot.active = slot.active.saturating_sub(1);
            if slot.active == 0 && slot.queue.is_empty() {
                self.release_idle_slot(peer);
            }
        }
    }

    /// Forgets the slot of a peer with nothing outstanding or queued, unless the endpoint
    /// has only a few peers: a device talks to the same two or three all its life, and
    /// would otherwise remove and re-create a slot for every request it sends.
    fn release_idle_slot(&mut self, peer: &A) {
        if self.peers.len() > KEPT_IDLE_PEER_SLOTS {
            self.peers.remove(peer);
        }
    }

    /// Removes a request and everything that points at it, then lets queued requests go.
    /// Returns the request's peer; the request's bytes are kept for the next one.
    fn finish_request(&mut self, now: Instant, handle: RequestHandle) -> Option<A> {
        let mut req = self.requests.remove(handle.0)?;
        self.recycle(std::mem::take(&mut req.bytes));
        self.by_token.remove(&(req.peer.clone(), req.token));
        if let Some(mid) = req.mid {
            self.by_mid.remove_if(&(req.peer.clone(), mid), |owner| {
                *owner == MidOwner::Request(handle)
            });
        }
        if let Some(at) = req.timer() {
            self.timers.remove(&(at, Timer::Request(handle)));
        }
        // The peer's slot, looked up once: the NSTART count, the queue, and the slot's
        // removal when it holds nothing more (all that `pump` would do then).
        if let Some(slot) = self.peers.get_mut(&req.peer) {
            if req.is_active() {
                slot.active = slot.active.saturating_sub(1);
            }
            if matches!(req.state, OutState::Queued) {
                slot.queue.retain(|h| *h != handle);
            }
            if slot.active == 0 && slot.queue.is_empty() {
                self.release_idle_slot(&req.peer);
                return Some(req.peer);
            }
        }
        self.pump(now, &req.peer);
        Some(req.peer)
    }

    fn complete(&mut self, now: Instant, handle: RequestHandle, from: A, response: Message) {
        if self.finish_request(now, handle).is_some() {
            self.stats.responses_received += 1;
            self.events.push_back(Event::ResponseReceived {
                handle,
                from,
                response,
            });
        }
    }

    fn fail(&mut self, now: Instant, handle: RequestHandle, reason: RequestFailure) {
        if let Some(peer) = self.finish_request(now, handle) {
            self.events.push_back(Event::RequestFailed {
                handle,
                peer,
                reason,
            });
        }
    }

    fn handle_ack(&mut self, now: Instant, from: A, packet: Message) {
        let mid = packet.message_id();
        match self.by_mid.get(&(from.clone(), mid)).copied() {
            Some(MidOwner::Request(handle)) => self.ack_request(now, from, handle, packet),
            Some(MidOwner::Separate(id)) => self.ack_separate(id),
            None => self.drop_datagram(from, DropReason::UnmatchedAck),
        }
    }

    fn ack_request(&mut self, now: Instant, from: A, handle: RequestHandle, packet: Message) {
        let response_timeout = self.config.response_timeout;
        let Some(req) = self.requests.get_mut(handle.0) else {
            return self.drop_datagram(from, DropReason::UnmatchedAck);
        };
        if req.reliability != Reliability::Confirmable {
            return self.drop_datagram(from, DropReason::UnmatchedAck);
        }
        if packet.code() != MessageClass::Empty {
            if packet.token() != req.token.as_slice() {
                return self.drop_datagram(from, DropReason::TokenMismatch);
            }
            return self.complete(now, handle, from, packet);
        }
        let OutState::AwaitAck(backoff) = req.state else {
            // A duplicate empty ACK.
            self.stats.duplicates += 1;
            return;
        };
        let deadline = now + response_timeout;
        req.state = OutState::AwaitResponse { deadline };
        let peer = req.peer.clone();
        self.timers.remove(&(backoff.next, Timer::Request(handle)));
        self.timers.insert((deadline, Timer::Request(handle)));
        self.deactivate(&peer);
        self.pump(now, &peer);
    }

    fn handle_reset(&mut self, now: Instant, from: A, mid: u16) {
        self.stats.resets_received += 1;
        match self.by_mid.get(&(from.clone(), mid)).copied() {
            Some(MidOwner::Request(handle)) => self.fail(now, handle, RequestFailure::Reset),
            Some(MidOwner::Separate(id)) => self.reset_separate(id),
            None => self.drop_datagram(from, DropReason::UnmatchedReset),
        }
    }

    /// A separate response (CON or NON carrying a response code).
    fn handle_response(&mut self, now: Instant, from: A, packet: Message) {
        let mid = packet.message_id();
        let confirmable = packet.message_type() == MessageType::Confirmable;
        if self.handle_duplicate(&from, mid, confirmable) {
            return;
        }
        if !self.has_dedup_room() {
            return self.drop_datagram(from, DropReason::DedupCacheFull);
        }
        let token = Token::from_slice(packet.token());
        let handle = self
            .by_token
            .get(&(from.clone(), token))
            .copied()
            .filter(|h| {
                self.requests
                    .get(h.0)
                    .is_some_and(|r| !matches!(r.state, OutState::Queued))
            });
        let reply = match (handle.is_some(), confirmable) {
            (true, true) => Some(message::empty_message(MessageType::Acknowledgement, mid)),
            (false, true) => {
                self.stats.resets_sent += 1;
                Some(message::empty_message(MessageType::Reset, mid))
            }
            (_, false) => None,
        };
        self.remember(now, &from, mid, confirmable, reply.clone(), None);
        if let Some(reply) = reply {
            self.push_transmit(from.clone(), reply);
        }
        match handle {
            Some(handle) => self.complete(now, handle, from, packet),
            None => self.drop_datagram(from, DropReason::UnmatchedResponse),
        }
    }

    fn request_timer(&mut self, now: Instant, at: Instant, handle: RequestHandle) {
        let max_retransmit = self.config.params.max_retransmit;
        let Some(req) = self.requests.get_mut(handle.0) else {
            return;
        };
        match &mut req.state {
            OutState::Queued => {}
            OutState::AwaitAck(backoff) => match backoff.on_timeout(at, max_retransmit) {
                Some(next) => {
                    let (peer, bytes) = (req.peer.clone(), req.bytes.clone());
                    self.timers.insert((next, Timer::Request(handle)));
                    self.stats.retransmissions += 1;
                    self.push_transmit(peer, bytes);
                }
                None => {
                    let transmissions = backoff.retransmits + 1;
                    self.stats.gave_up += 1;
                    self.fail(now, handle, RequestFailure::GaveUp { transmissions });
                }
            },
            OutState::AwaitResponse { .. } => {
                self.stats.response_timeouts += 1;
                self.fail(now, handle, RequestFailure::ResponseTimeout);
            }
        }
    }
}

/// The next message ID from the counter `next_mid` not in use with `peer` in `by_mid`.
fn free_mid<A: Clone + Ord>(
    next_mid: &mut u16,
    by_mid: &SmallMap<(A, u16), MidOwner>,
    peer: &A,
) -> u16 {
    for _ in 0..=u16::MAX {
        let mid = *next_mid;
        *next_mid = mid.wrapping_add(1);
        if !by_mid.contains_key(&(peer.clone(), mid)) {
            return mid;
        }
    }
    // Unreachable in practice: the caps keep far fewer than 65536 messages in flight.
    *next_mid
}
