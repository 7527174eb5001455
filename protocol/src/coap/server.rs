//! The server side of the endpoint: duplicate detection, delivering requests once,
//! piggybacked and separate responses.

use std::fmt::Debug;

use coap_lite::{MessageClass, MessageType, Packet, ResponseType};
use rand_core::Rng;

use super::endpoint::{Backoff, MidOwner, Timer};
use super::message::{self, Token};
use super::received::Message;
use super::{DeliveryFailure, DropReason, Endpoint, Event, IncomingId, SendError};
use crate::time::Instant;

/// A received request the application has not answered yet.
#[derive(Debug)]
pub(super) struct InRequest<A> {
    peer: A,
    mid: u16,
    token: Token,
    confirmable: bool,
    /// An empty ACK was sent: the response will be a separate one.
    acked: bool,
    /// When the endpoint sends the empty ACK by itself.
    empty_ack_at: Option<Instant>,
    /// When the endpoint forgets the request if the application has not answered it: the
    /// end of its exchange (EXCHANGE_LIFETIME after arrival, used also for NON requests so
    /// that expiry follows arrival order). With deduplication on, the duplicate cache's
    /// own expiry forgets it first.
    forget_at: Instant,
}

/// A separate CON response in flight.
#[derive(Debug)]
pub(super) struct SeparateResponse<A> {
    peer: A,
    mid: u16,
    bytes: Vec<u8>,
    backoff: Backoff,
}

/// What the endpoint remembers about a received CON or NON message.
#[derive(Debug)]
pub(super) struct DedupEntry {
    expires: Instant,
    /// The reply to repeat for a duplicate CON: ACK (empty or piggybacked) or RST. `None`
    /// while the application has not answered, or for NON messages.
    reply: Option<Vec<u8>>,
    /// The request delivered to the application, while it is unanswered.
    incoming: Option<IncomingId>,
}

impl<A: Clone + Ord + Debug> Endpoint<A> {
    /// Answers a request delivered as [`Event::RequestReceived`]. The endpoint sets type,
    /// message ID and token; the caller sets the response code, options and payload.
    ///
    /// The response is piggybacked in the ACK of a CON request if no empty ACK was sent yet;
    /// otherwise it is a separate CON response, retransmitted until acknowledged (its
    /// initial timeout drawn from `rng`). A NON request gets a NON response.
    ///
    /// On error nothing is sent and the request can still be answered.
    pub fn respond<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        id: IncomingId,
        packet: Packet,
    ) -> Result<(), SendError> {
        let code = packet.header.code;
        self.respond_with(now, rng, id, code, |buf, mtype, mid, token, max| {
            message::encode(buf, &packet, mtype, mid, token, max)
        })
    }

    /// [`Endpoint::respond`] with a response given as its parts: `options` as (number,
    /// value) in ascending number order, and the payload. Sends the same bytes as
    /// `respond` with the equivalent packet, without building one.
    pub(crate) fn respond_parts<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        id: IncomingId,
        code: ResponseType,
        options: &[(u16, &[u8])],
        payload: &[u8],
    ) -> Result<(), SendError> {
        let code = MessageClass::Response(code);
        self.respond_with(now, rng, id, code, |buf, mtype, mid, token, max| {
            let options = options.iter().map(|&(n, v)| (n, v));
            message::encode_parts(buf, mtype, code, mid, token, options, payload, max)
        })
    }

    /// The body of `respond`: `encode` writes the response with the given type, message ID
    /// and token, within the given maximum size.
    fn respond_with<R: Rng + ?Sized, F>(
        &mut self,
        now: Instant,
        rng: &mut R,
        id: IncomingId,
        code: MessageClass,
        encode: F,
    ) -> Result<(), SendError>
    where
        F: FnOnce(Vec<u8>, MessageType, u16, &[u8], usize) -> Result<Vec<u8>, SendError>,
    {
        self.purge(now);
        if !message::is_response(code) {
            return Err(SendError::NotAResponse);
        }
        let Some(req) = self.incoming.get(id.0) else {
            return Err(SendError::UnknownRequest);
        };
        let (peer, req_mid, confirmable, acked, token) = (
            req.peer.clone(),
            req.mid,
            req.confirmable,
            req.acked,
            req.token,
        );
        let token = token.as_slice();
        let max = self.max_message_size();
        if confirmable && !acked {
            let bytes = encode(
                self.spare_buffer(),
                MessageType::Acknowledgement,
                req_mid,
                token,
                max,
            )?;
            if let Some(entry) = self.dedup.get_mut(&(peer.clone(), req_mid)) {
                entry.reply = Some(bytes.clone());
            }
            self.forget_incoming(id);
            self.push_transmit(peer, bytes);
            return Ok(());
        }
        let mid = self.alloc_mid(&peer);
        if confirmable {
            let bytes = encode(
                self.spare_buffer(),
                MessageType::Confirmable,
                mid,
                token,
                max,
            )?;
            let backoff = Backoff::new(now, self.config.params.draw_initial_timeout(rng));
            self.timers.insert((backoff.next, Timer::Separate(id)));
            self.by_mid
                .insert((peer.clone(), mid), MidOwner::Separate(id));
            self.separate.insert(
                id,
                SeparateResponse {
                    peer: peer.clone(),
                    mid,
                    bytes: bytes.clone(),
                    backoff,
                },
            );
            self.forget_incoming(id);
            self.push_transmit(peer, bytes);
        } else {
            let bytes = encode(
                self.spare_buffer(),
                MessageType::NonConfirmable,
                mid,
                token,
                max,
            )?;
            self.forget_incoming(id);
            self.push_transmit(peer, bytes);
        }
        Ok(())
    }

    /// Sends an empty ACK for a received CON request now, so that its response becomes a
    /// separate one (for an application that knows it will be slow). Does nothing for a NON
    /// request or one already acknowledged.
    pub fn acknowledge(&mut self, now: Instant, id: IncomingId) -> Result<(), SendError> {
        self.purge(now);
        if !self.incoming.contains_key(id.0) {
            return Err(SendError::UnknownRequest);
        }
        self.acknowledge_incoming(id);
        Ok(())
    }

    /// A CON or NON request from `from`.
    pub(super) fn handle_request(&mut self, now: Instant, from: A, packet: Message) {
        let mid = packet.message_id();
        let confirmable = packet.message_type() == MessageType::Confirmable;
        let dedup = self.config.dedup_requests;
        if dedup && self.handle_duplicate(&from, mid, confirmable) {
            return;
        }
        // Check the caps before remembering the message: a request dropped here must not
        // make its retransmission look like a duplicate.
        if self.incoming.len() + self.separate.len() >= self.config.max_pending_requests {
            return self.drop_datagram(from, DropReason::TooManyPending);
        }
        if dedup && !self.has_dedup_room() {
            return self.drop_datagram(from, DropReason::DedupCacheFull);
        }
        let id = IncomingId(self.next_incoming);
        self.next_incoming += 1;
        if dedup {
            self.remember(now, &from, mid, confirmable, None, Some(id));
        }
        let empty_ack_at = if confirmable {
            self.config.empty_ack_delay.map(|d| now + d)
        } else {
            None
        };
        if let Some(at) = empty_ack_at {
            self.timers.insert((at, Timer::EmptyAck(id)));
        }
        self.incoming.insert(
            id.0,
            InRequest {
                peer: from.clone(),
                mid,
                token: Token::from_slice(packet.token()),
                confirmable,
                acked: false,
                empty_ack_at,
                forget_at: now + self.exchange_lifetime,
            },
        );
        self.stats.requests_received += 1;
        self.events.push_back(Event::RequestReceived {
            id,
            from,
            request: packet,
        });
    }

    /// If (`from`, `mid`) was seen before: counts it, repeats the cached reply to a CON
    /// duplicate (or sends an empty ACK if the application has not answered yet), and
    /// returns `true`.
    pub(super) fn handle_duplicate(&mut self, from: &A, mid: u16, confirmable: bool) -> bool {
        let Some(entry) = self.dedup.get(&(from.clone(), mid)) else {
            return false;
        };
        self.stats.duplicates += 1;
        if !confirmable {
            return true;
        }
        match (&entry.reply, entry.incoming) {
            (Some(reply), _) => {
                let reply = reply.clone();
                self.stats.replies_resent += 1;
                self.push_transmit(from.clone(), reply);
            }
            // The peer is retransmitting because the application is slow: acknowledge now
            // and answer separately later (RFC 7252 section 5.2.2).
            (None, Some(id)) => self.acknowledge_incoming(id),
            (None, None) => {}
        }
        true
    }

    pub(super) fn has_dedup_room(&self) -> bool {
        self.dedup.len() < self.config.max_dedup_entries
    }

    /// Records a received CON (for EXCHANGE_LIFETIME) or NON (for NON_LIFETIME) message.
    pub(super) fn remember(
        &mut self,
        now: Instant,
        from: &A,
        mid: u16,
        confirmable: bool,
        reply: Option<Vec<u8>>,
        incoming: Option<IncomingId>,
    ) {
        let lifetime = if confirmable {
            self.exchange_lifetime
        } else {
            self.non_lifetime
        };
        let expires = now + lifetime;
        let key = (from.clone(), mid);
        let old = self.dedup.insert(
            key,
            DedupEntry {
                expires,
                reply,
                incoming,
            },
        );
        if let Some(old) = old {
            self.dedup_expiry.remove(&(old.expires, from.clone(), mid));
        }
        self.dedup_expiry.insert((expires, from.clone(), mid));
        self.dedup_next_expiry = self.dedup_expiry.first().map(|(at, ..)| *at);
    }

    /// Forgets duplicate-cache entries (and requests the application never answered) whose
    /// lifetime ended at or before `now`. Called at every entry point, and mostly with
    /// nothing to do: that check is inlined, the work is not.
    #[inline]
    pub(super) fn purge(&mut self, now: Instant) {
        let unanswered_due = self
            .incoming
            .first()
            .is_some_and(|(_, req)| req.forget_at <= now);
        if unanswered_due || self.dedup_next_expiry.is_some_and(|at| at <= now) {
            self.purge_expired(now);
        }
    }

    #[inline(never)]
    fn purge_expired(&mut self, now: Instant) {
        // Without deduplication nothing else forgets an unanswered request: the oldest go
        // first (their `forget_at` follows arrival order).
        while let Some((id, req)) = self.incoming.first()
            && req.forget_at <= now
        {
            self.forget_incoming(IncomingId(id));
        }
        if self.dedup_next_expiry.is_none_or(|at| at > now) {
            return;
        }
        while self
            .dedup_expiry
            .first()
            .is_some_and(|(expires, ..)| *expires <= now)
        {
            let Some((_, peer, mid)) = self.dedup_expiry.pop_first() else {
                break;
            };
            if let Some(entry) = self.dedup.remove(&(peer, mid))
                && let Some(id) = entry.incoming
            {
                self.forget_incoming(id);
            }
        }
        self.dedup_next_expiry = self.dedup_expiry.first().map(|(at, ..)| *at);
    }

    /// Removes an incoming request and its empty-ACK timer.
    fn forget_incoming(&mut self, id: IncomingId) {
        if let Some(req) = self.incoming.remove(id.0) {
            if let Some(at) = req.empty_ack_at {
                self.timers.remove(&(at, Timer::EmptyAck(id)));
            }
            if let Some(entry) = self.dedup.get_mut(&(req.peer, req.mid)) {
                entry.incoming = None;
            }
        }
    }

    /// Sends the empty ACK of an unanswered CON request, once.
    fn acknowledge_incoming(&mut self, id: IncomingId) {
        let Some(req) = self.incoming.get_mut(id.0) else {
            return;
        };
        if !req.confirmable || req.acked {
            return;
        }
        req.acked = true;
        let (peer, mid) = (req.peer.clone(), req.mid);
        if let Some(at) = req.empty_ack_at.take() {
            self.timers.remove(&(at, Timer::EmptyAck(id)));
        }
        let ack = message::empty_message(MessageType::Acknowledgement, mid);
        if let Some(entry) = self.dedup.get_mut(&(peer.clone(), mid)) {
            entry.reply = Some(ack.clone());
        }
        self.push_transmit(peer, ack);
    }

    pub(super) fn empty_ack_timer(&mut self, id: IncomingId) {
        if let Some(req) = self.incoming.get_mut(id.0) {
            // The timer entry was popped already.
            req.empty_ack_at = None;
        }
        self.acknowledge_incoming(id);
    }

    pub(super) fn ack_separate(&mut self, id: IncomingId) {
        self.forget_separate(id);
    }

    pub(super) fn reset_separate(&mut self, id: IncomingId) {
        if let Some(peer) = self.forget_separate(id) {
            self.events.push_back(Event::ResponseFailed {
                id,
                peer,
                reason: DeliveryFailure::Reset,
            });
        }
    }

    fn forget_separate(&mut self, id: IncomingId) -> Option<A> {
        let sep = self.separate.remove(&id)?;
        self.timers.remove(&(sep.backoff.next, Timer::Separate(id)));
        let key = (sep.peer.clone(), sep.mid);
        if self.by_mid.get(&key) == Some(&MidOwner::Separate(id)) {
            self.by_mid.remove(&key);
        }
        Some(sep.peer)
    }

    pub(super) fn separate_timer(&mut self, at: Instant, id: IncomingId) {
        let max_retransmit = self.config.params.max_retransmit;
        let Some(sep) = self.separate.get_mut(&id) else {
            return;
        };
        match sep.backoff.on_timeout(at, max_retransmit) {
            Some(next) => {
                let (peer, bytes) = (sep.peer.clone(), sep.bytes.clone());
                self.timers.insert((next, Timer::Separate(id)));
                self.stats.retransmissions += 1;
                self.push_transmit(peer, bytes);
            }
            None => {
                let transmissions = sep.backoff.retransmits + 1;
                self.stats.gave_up += 1;
                if let Some(peer) = self.forget_separate(id) {
                    self.events.push_back(Event::ResponseFailed {
                        id,
                        peer,
                        reason: DeliveryFailure::GaveUp { transmissions },
                    });
                }
            }
        }
    }
}
