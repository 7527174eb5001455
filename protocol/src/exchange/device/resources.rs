//! The update resources of a device, the payload fetch, and install, reboot and self-test.

use coap_lite::{CoapOption, Packet, RequestType, ResponseType};
use rand_core::CryptoRng;

use super::{Boot, Device, DeviceEvent, Fetch, LastOutcome, Requester, UpdateState};
use crate::ace::ScopeToken;
use crate::coap::{
    Block1Receiver, Block2Assembler, BlockError, BlockOption, BlockStep, BlockValue, Message,
    OptionPrefix, Reliability, RequestHandle, read_size,
};
use crate::exchange::wire::{
    Delivery, InstallCommand, KeyDelivery, PATH_CEK, PATH_ENVELOPE, PATH_INSTALL, PATH_PAYLOAD,
    PATH_REVERT, PATH_STATUS, Refusal, StatusReport, UpdatePhase,
};
use crate::exchange::{Addr, CryptoWork, msg};
use crate::ids::UpdateType;
use crate::memo::{InternedBody, SharedBytes};
use crate::time::Instant;
use crate::verify::{self, Check, CheckOutcome, Rejection, VerifiedEnvelope, VerifyContext};

/// The most blocks a download reserves room for up front (1 MiB of references); a larger
/// payload's list grows as it arrives.
const MAX_RESERVED_BLOCKS: usize = 1 << 16;

/// The Uri-Path options of `path`'s non-empty `/`-separated segments, as `msg::request`
/// writes them, encoded once for all the block requests of a fetch.
fn path_options(path: &str) -> OptionPrefix {
    let uri_path = u16::from(CoapOption::UriPath);
    let options: Vec<(u16, &[u8])> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| (uri_path, segment.as_bytes()))
        .collect();
    OptionPrefix::new(&options)
}

/// The outcome of one block of a Block1 upload.
enum Upload {
    /// Answer this (2.31 Continue, or an error).
    Reply(Packet),
    /// The whole body arrived; echo this Block1 value (if block-wise) in the final answer.
    Complete(Vec<u8>, Option<BlockValue>),
}

impl<R: CryptoRng> Device<R> {
    /// Serve one decrypted (inner) request from `who`.
    pub(super) fn dispatch(
        &mut self,
        now: Instant,
        from: Addr,
        who: &Requester,
        inner: Packet,
    ) -> Packet {
        let path = msg::path(&inner).unwrap_or_default();
        let method = msg::method(&inner);
        match (path.as_str(), method) {
            (PATH_STATUS, Some(RequestType::Get)) => {
                match self.authorize(now, from, who, ScopeToken::StatusRead) {
                    Ok(()) => msg::response(ResponseType::Content, self.status().encode()),
                    Err(reply) => reply,
                }
            }
            (PATH_ENVELOPE, Some(RequestType::Post)) => self.on_envelope(now, from, who, &inner),
            (PATH_CEK, Some(RequestType::Post)) => self.on_cek(now, from, who, &inner),
            (PATH_PAYLOAD, Some(RequestType::Post)) => self.on_payload(now, from, who, &inner),
            (PATH_INSTALL, Some(RequestType::Post)) => self.on_install(now, from, who, &inner),
            (PATH_REVERT, Some(RequestType::Post)) => self.on_revert(now, from, who),
            (
                PATH_STATUS | PATH_ENVELOPE | PATH_CEK | PATH_PAYLOAD | PATH_INSTALL | PATH_REVERT,
                _,
            ) => msg::response(ResponseType::MethodNotAllowed, Vec::new()),
            _ => msg::response(ResponseType::NotFound, Vec::new()),
        }
    }

    fn status(&self) -> StatusReport {
        let last = self.persistent.last_outcome.as_ref();
        let phase = self.phase();
        StatusReport {
            phase,
            reason: last
                .filter(|_| matches!(phase, UpdatePhase::Rejected | UpdatePhase::RolledBack))
                .and_then(|o| o.reason.clone()),
            sequence: last.and_then(|o| o.sequence),
            committed: self.persistent.revert_to.as_ref().map(|r| r.2),
        }
    }

    /// Check that the token of `who` grants `scope` now; the refusal otherwise.
    fn authorize(
        &mut self,
        now: Instant,
        from: Addr,
        who: &Requester,
        scope: ScopeToken,
    ) -> Result<(), Packet> {
        let kid = match who {
            Requester::Session(kid) => kid,
            // Only an ablation (`oscore`, `payload_encryption`) lets such a request in.
            Requester::DangerUnprotected => return Ok(()),
        };
        match self.tokens.authorize(now, kid, scope) {
            Ok(_) => Ok(()),
            Err(error) => {
                let code = error.response_code().unwrap_or(ResponseType::Forbidden);
                self.events
                    .push_back(DeviceEvent::AccessDenied { from, error });
                Err(msg::response(code, Vec::new()))
            }
        }
    }

    fn upload(
        &mut self,
        who: &Requester,
        path: &'static str,
        inner: &Packet,
        max: usize,
    ) -> Upload {
        let bad = |e: BlockError| Upload::Reply(msg::response(e.response_code(), Vec::new()));
        let block = match msg::block(inner, BlockOption::Block1) {
            Ok(b) => b,
            Err(_) => return Upload::Reply(msg::response(ResponseType::BadOption, Vec::new())),
        };
        let Some(block) = block else {
            if inner.payload.len() > max {
                return bad(BlockError::TooLarge { max });
            }
            return Upload::Complete(inner.payload.clone(), None);
        };
        let size1 = read_size(inner, BlockOption::Block1).unwrap_or(None);
        let Some(running) = self.running.as_mut() else {
            return Upload::Reply(msg::response(ResponseType::ServiceUnavailable, Vec::new()));
        };
        let key = (who.upload_key(), path);
        if block.num() == 0 {
            running.uploads.insert(
                key.clone(),
                Block1Receiver::new(self.config.block_size, max),
            );
        }
        let Some(receiver) = running.uploads.get_mut(&key) else {
            return bad(BlockError::UnexpectedBlock {
                expected: 0,
                got: block.offset(),
            });
        };
        // The client sent the previous block again as a new request (its answer was lost
        // and CoAP gave up): acknowledge it again without appending it twice.
        let received = receiver.body().len() as u64;
        if block.more() && block.offset() + inner.payload.len() as u64 == received && received > 0 {
            let mut reply = msg::response(ResponseType::Continue, Vec::new());
            block.write(&mut reply, BlockOption::Block1);
            return Upload::Reply(reply);
        }
        match receiver.handle_request(block, size1, &inner.payload) {
            Ok(BlockStep::Continue(echo)) => {
                let mut reply = msg::response(ResponseType::Continue, Vec::new());
                echo.write(&mut reply, BlockOption::Block1);
                Upload::Reply(reply)
            }
            Ok(BlockStep::Complete(echo)) => {
                let body = running
                    .uploads
                    .remove(&key)
                    .and_then(Block1Receiver::into_body)
                    .unwrap_or_default();
                Upload::Complete(body, Some(echo))
            }
            Err(e) => {
                running.uploads.remove(&key);
                bad(e)
            }
        }
    }

    fn on_envelope(&mut self, now: Instant, from: Addr, who: &Requester, inner: &Packet) -> Packet {
        let token_types = match self.install_types(now, from, who) {
            Ok(types) => types,
            Err(reply) => return reply,
        };
        if matches!(self.update, UpdateState::AwaitKey { .. }) && is_last_block_again(inner) {
            // The final answer was lost and the client sent the last block again.
            return msg::response(ResponseType::Changed, Vec::new());
        }
        if matches!(
            self.update,
            UpdateState::Staged(_) | UpdateState::Scheduled { .. } | UpdateState::Installing { .. }
        ) {
            return conflict("update_in_progress");
        }
        let (bytes, echo) = match self.upload(who, PATH_ENVELOPE, inner, self.config.max_envelope) {
            Upload::Reply(reply) => return reply,
            Upload::Complete(body, echo) => (body, echo),
        };
        let ctx = VerifyContext {
            trust_anchor: &self.config.trust_anchor,
            device: self.config.identity,
            installed: &self.persistent.installed,
            now,
            token_types: Some(&token_types),
            defences: self.config.defences,
        };
        let verdict = verify::verify_envelope_memo(&bytes, &ctx, &self.memo);
        let ran = |c: Check| {
            verdict
                .log
                .0
                .iter()
                .any(|(check, o)| *check == c && *o != CheckOutcome::DangerSkipped)
        };
        let signatures = [
            Check::OperatorApproval,
            Check::AuthorCredential,
            Check::AuthorSignature,
        ]
        .into_iter()
        .filter(|c| ran(*c))
        .count() as u32;
        self.work(CryptoWork {
            ecdsa_verify: signatures,
            sha256_bytes: bytes.len() as u64,
            ..CryptoWork::default()
        });
        match verdict.result {
            Ok(verified) => {
                self.events.push_back(DeviceEvent::EnvelopeAccepted {
                    component: verified.component().clone(),
                    sequence: verified.sequence_number(),
                });
                self.update = UpdateState::AwaitKey {
                    envelope: Box::new(verified),
                };
                let mut reply = msg::response(ResponseType::Changed, Vec::new());
                if let Some(echo) = echo {
                    echo.write(&mut reply, BlockOption::Block1);
                }
                reply
            }
            Err(rejection) => self.reject(rejection, None),
        }
    }

    /// The update types `who` may install (the envelope's token-scope check), if it has a
    /// valid token at all; the refusal otherwise. Any valid token may send an envelope.
    fn install_types(
        &mut self,
        now: Instant,
        from: Addr,
        who: &Requester,
    ) -> Result<Vec<UpdateType>, Packet> {
        let Requester::Session(kid) = who else {
            return Ok(UpdateType::ALL.to_vec());
        };
        // Its own first scope token, so that only a missing or expired token is refused.
        let any = self
            .tokens
            .token(kid)
            .and_then(|t| t.scope.tokens().first().copied())
            .unwrap_or(ScopeToken::FwInstall);
        self.authorize(now, from, who, any)?;
        Ok(UpdateType::ALL
            .into_iter()
            .filter(|t| {
                self.tokens
                    .token(kid)
                    .is_some_and(|token| self.tokens.grants(token, ScopeToken::install(*t)))
            })
            .collect())
    }

    /// How many payload bytes the device accepts for `envelope`, fetched or pushed.
    fn payload_limit(&self, envelope: &VerifiedEnvelope) -> usize {
        let announced = usize::try_from(envelope.payload_size()).unwrap_or(usize::MAX);
        // DANGER(ablation: payload_size)
        if !self.config.defences.payload_size {
            return self.config.max_payload;
        }
        announced.min(self.config.max_payload)
    }

    /// Record a rejection of the current update and build the refusal.
    fn reject(&mut self, rejection: Rejection, sequence: Option<u64>) -> Packet {
        let reason = rejection.code().to_string();
        self.events
            .push_back(DeviceEvent::UpdateRejected(rejection));
        self.update = UpdateState::Idle;
        self.persistent.last_outcome = Some(LastOutcome {
            phase: UpdatePhase::Rejected,
            reason: Some(reason.clone()),
            sequence,
        });
        msg::response(ResponseType::Forbidden, Refusal { reason }.encode())
    }

    fn current_type(&self) -> Option<UpdateType> {
        match &self.update {
            UpdateState::AwaitKey { envelope } | UpdateState::Downloading { envelope, .. } => {
                Some(envelope.update_type())
            }
            UpdateState::Staged(staged) => Some(staged.update_type()),
            _ => None,
        }
    }

    fn on_cek(&mut self, now: Instant, from: Addr, who: &Requester, inner: &Packet) -> Packet {
        let Some(kind) = self
            .current_type()
            .filter(|_| matches!(self.update, UpdateState::AwaitKey { .. }))
        else {
            return conflict("no_envelope");
        };
        if let Err(reply) = self.authorize(now, from, who, ScopeToken::install(kind)) {
            return reply;
        }
        let Ok(delivery) = KeyDelivery::decode(&inner.payload) else {
            return msg::response(ResponseType::BadRequest, Vec::new());
        };
        let UpdateState::AwaitKey { envelope } =
            std::mem::replace(&mut self.update, UpdateState::Idle)
        else {
            return conflict("no_envelope");
        };
        let max = self.payload_limit(&envelope);
        // Room for the blocks the manifest announces (a bound, not a trust: the size check
        // still refuses more bytes than `max`).
        let announced = usize::try_from(envelope.payload_size()).unwrap_or(usize::MAX);
        let blocks = announced
            .min(max)
            .div_ceil(self.config.block_size.bytes())
            .min(MAX_RESERVED_BLOCKS);
        let fetch = match delivery.delivery {
            Delivery::Fetch { source } => Some(Fetch {
                source: Addr(source),
                path_options: path_options(&delivery.path),
                assembler: Block2Assembler::with_store(
                    InternedBody::with_capacity(self.memo.clone(), blocks),
                    self.config.block_size,
                    max,
                ),
                handle: None,
                retries_left: self.config.fetch_retries,
            }),
            Delivery::Push => None,
        };
        let fetching = fetch.is_some();
        self.update = UpdateState::Downloading {
            envelope,
            cek: delivery.cek,
            fetch,
        };
        if fetching {
            self.request_block(now);
        }
        msg::response(ResponseType::Changed, Vec::new())
    }

    fn on_payload(&mut self, now: Instant, from: Addr, who: &Requester, inner: &Packet) -> Packet {
        if matches!(self.update, UpdateState::Staged(_)) && is_last_block_again(inner) {
            // The final answer was lost and the client sent the last block again.
            return msg::response(ResponseType::Changed, Vec::new());
        }
        let (kind, max) = match &self.update {
            UpdateState::Downloading {
                envelope,
                fetch: None,
                ..
            } => (envelope.update_type(), self.payload_limit(envelope)),
            _ => return conflict("not_awaiting_payload"),
        };
        if let Err(reply) = self.authorize(now, from, who, ScopeToken::install(kind)) {
            return reply;
        }
        let (body, echo) = match self.upload(who, PATH_PAYLOAD, inner, max) {
            Upload::Reply(reply) => return reply,
            Upload::Complete(body, echo) => (body, echo),
        };
        match self.finish_payload(&SharedBytes::from(body)) {
            Some(refusal) => refusal,
            None => {
                let mut reply = msg::response(ResponseType::Changed, Vec::new());
                if let Some(echo) = echo {
                    echo.write(&mut reply, BlockOption::Block1);
                }
                reply
            }
        }
    }

    /// Verify the complete payload and stage it; the refusal if it fails.
    fn finish_payload(&mut self, payload: &SharedBytes) -> Option<Packet> {
        let UpdateState::Downloading { envelope, cek, .. } =
            std::mem::replace(&mut self.update, UpdateState::Idle)
        else {
            return Some(conflict("not_awaiting_payload"));
        };
        let sequence = envelope.sequence_number();
        let (log, result) = verify::verify_payload_memo(
            *envelope,
            cek.as_ref(),
            payload,
            self.config.defences,
            &self.memo,
        );
        let decrypted = log
            .0
            .iter()
            .any(|(c, o)| *c == Check::PayloadDecryption && *o != CheckOutcome::Failed);
        self.work(CryptoWork {
            aes_bytes: if decrypted { payload.len() as u64 } else { 0 },
            sha256_bytes: if decrypted { payload.len() as u64 } else { 0 },
            ..CryptoWork::default()
        });
        match result {
            Ok(image) => {
                let staged = self.persistent.slots.stage(image, &self.memo);
                let bytes = staged.image().size;
                self.events
                    .push_back(DeviceEvent::Staged { sequence, bytes });
                self.update = UpdateState::Staged(staged);
                None
            }
            Err(rejection) => Some(self.reject(rejection, Some(sequence))),
        }
    }

    fn on_install(&mut self, now: Instant, from: Addr, who: &Requester, inner: &Packet) -> Packet {
        let Some(kind) = self
            .current_type()
            .filter(|_| matches!(self.update, UpdateState::Staged(_)))
        else {
            return conflict("nothing_staged");
        };
        if let Err(reply) = self.authorize(now, from, who, ScopeToken::install(kind)) {
            return reply;
        }
        let Ok(command) = InstallCommand::decode(&inner.payload) else {
            return msg::response(ResponseType::BadRequest, Vec::new());
        };
        let UpdateState::Staged(staged) = std::mem::replace(&mut self.update, UpdateState::Idle)
        else {
            return conflict("nothing_staged");
        };
        let at = command.at.map_or(now, Instant::from_unix_secs).max(now);
        self.events.push_back(DeviceEvent::InstallScheduled { at });
        self.update = UpdateState::Scheduled { staged, at };
        msg::response(ResponseType::Changed, Vec::new())
    }

    fn on_revert(&mut self, now: Instant, from: Addr, who: &Requester) -> Packet {
        if !matches!(self.update, UpdateState::Idle) {
            return conflict("update_in_progress");
        }
        let Some((component, before, committed)) = self.persistent.revert_to.clone() else {
            return conflict("nothing_to_revert");
        };
        // Reverting needs the same right as installing would: any install scope.
        let allowed = match who {
            Requester::Session(kid) => UpdateType::ALL.into_iter().any(|t| {
                self.tokens
                    .authorize(now, kid, ScopeToken::install(t))
                    .is_ok()
            }),
            Requester::DangerUnprotected => true,
        };
        if !allowed && let Err(reply) = self.authorize(now, from, who, ScopeToken::FwInstall) {
            return reply;
        }
        // Acknowledge first; the revert itself runs from the timer, right after.
        self.update = UpdateState::Reverting {
            component,
            before,
            committed,
        };
        msg::response(ResponseType::Changed, Vec::new())
    }

    /// Run the install timeline: the scheduled start, then the reset into the new image.
    pub(super) fn advance_update(&mut self, now: Instant) {
        match std::mem::replace(&mut self.update, UpdateState::Idle) {
            UpdateState::Scheduled { staged, at } if at <= now => {
                self.update = UpdateState::Installing {
                    until: now + self.config.install_duration,
                    staged,
                };
            }
            UpdateState::Installing { staged, until } if until <= now => {
                self.persistent.last_outcome = Some(LastOutcome {
                    phase: UpdatePhase::Installing,
                    reason: None,
                    sequence: Some(staged.image().sequence),
                });
                self.persistent.slots.swap();
                self.save_contexts_for_shutdown();
                self.reset(now, Boot::Install(staged));
            }
            UpdateState::Reverting {
                component,
                before,
                committed,
            } => {
                // A/B: the previous image is still in the other slot. Going back to it lowers
                // the installed sequence number on purpose: an operator-ordered revert, not
                // an attack (an attacker has no token).
                self.persistent.slots.swap();
                match before {
                    Some(seq) => self.persistent.installed.set(component, seq),
                    None => self.persistent.installed.remove(&component),
                }
                self.persistent.revert_to = None;
                self.save_contexts_for_shutdown();
                self.reset(now, Boot::Revert(committed));
            }
            other => self.update = other,
        }
    }

    /// What a boot does after the reset that caused it.
    pub(super) fn after_boot(&mut self, now: Instant, why: Boot) {
        match why {
            Boot::Install(staged) => {
                let draw = self.rng.next_u32() % 1_000_000;
                let image = staged.image().clone();
                if draw < self.config.boot_failure_ppm {
                    // The self-test failed: the bootloader reverts to the previous slot.
                    self.persistent.slots.swap();
                    self.reset(now, Boot::Rollback(image.sequence));
                } else {
                    let before = self.persistent.installed.sequence(&image.component);
                    self.persistent.revert_to =
                        Some((image.component.clone(), before, image.sequence));
                    self.persistent
                        .installed
                        .set(image.component.clone(), image.sequence);
                    self.persistent.last_outcome = Some(LastOutcome {
                        phase: UpdatePhase::Committed,
                        reason: None,
                        sequence: Some(image.sequence),
                    });
                    self.events.push_back(DeviceEvent::Committed {
                        component: image.component,
                        sequence: image.sequence,
                    });
                }
            }
            Boot::Rollback(sequence) => {
                self.persistent.last_outcome = Some(LastOutcome {
                    phase: UpdatePhase::RolledBack,
                    reason: Some("self_test_failed".into()),
                    sequence: Some(sequence),
                });
                self.events.push_back(DeviceEvent::RolledBack { sequence });
            }
            Boot::Revert(sequence) => {
                self.persistent.last_outcome = Some(LastOutcome {
                    phase: UpdatePhase::RolledBack,
                    reason: Some("reverted".into()),
                    sequence: Some(sequence),
                });
                self.events.push_back(DeviceEvent::Reverted { sequence });
            }
            Boot::PowerCycle => {}
        }
    }

    fn request_block(&mut self, now: Instant) {
        let (
            Some(running),
            UpdateState::Downloading {
                fetch: Some(fetch), ..
            },
        ) = (self.running.as_mut(), &mut self.update)
        else {
            return;
        };
        let Some(block) = fetch.assembler.next_request() else {
            return;
        };
        // GET with the path's segments (Uri-Path, encoded once per fetch) and Block2: the
        // bytes `msg::request` and `BlockValue::write` give, without building a packet.
        let (block_bytes, skip) = crate::coap::uint_bytes(block.raw());
        let sent = running.endpoint.send_request_prefixed(
            now,
            &mut self.rng,
            fetch.source,
            RequestType::Get,
            &fetch.path_options,
            &[(BlockOption::Block2.number(), &block_bytes[skip..])],
            &[],
            Reliability::Confirmable,
        );
        match sent {
            Ok(handle) => fetch.handle = Some(handle),
            Err(e) => self.download_failed(format!("cannot send: {e}")),
        }
    }

    fn download_failed(&mut self, reason: String) {
        let sequence = match &self.update {
            UpdateState::Downloading { envelope, .. } => Some(envelope.sequence_number()),
            _ => None,
        };
        self.events.push_back(DeviceEvent::DownloadFailed(reason));
        self.update = UpdateState::Idle;
        self.persistent.last_outcome = Some(LastOutcome {
            phase: UpdatePhase::Rejected,
            reason: Some("download_failed".into()),
            sequence,
        });
    }

    fn is_fetch(&self, handle: RequestHandle) -> bool {
        matches!(&self.update, UpdateState::Downloading { fetch: Some(f), .. } if f.handle == Some(handle))
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now: Instant,
        handle: RequestHandle,
        response: Message,
    ) {
        if !self.is_fetch(handle) {
            return;
        }
        if response.response_code() != Some(ResponseType::Content) {
            self.download_failed(format!("distribution point answered {:?}", response.code()));
            return;
        }
        let (block2, size2) = match (
            msg::block(&response, BlockOption::Block2),
            read_size(&response, BlockOption::Block2),
        ) {
            (Ok(b), Ok(s)) => (b, s),
            _ => {
                self.download_failed("malformed block option".into());
                return;
            }
        };
        let UpdateState::Downloading {
            fetch: Some(fetch),
            envelope,
            ..
        } = &mut self.update
        else {
            return;
        };
        match fetch
            .assembler
            .handle_response(block2, size2, response.payload())
        {
            Ok(BlockStep::Continue(_)) => {
                fetch.retries_left = self.config.fetch_retries;
                // The response's buffer carries the next request (see `Endpoint::recycle`).
                if let Some(running) = self.running.as_mut() {
                    running.endpoint.recycle(response.into_bytes());
                }
                self.request_block(now);
            }
            Ok(BlockStep::Complete(_)) => {
                let body = std::mem::replace(
                    &mut fetch.assembler,
                    Block2Assembler::with_store(
                        InternedBody::new(self.memo.clone()),
                        self.config.block_size,
                        0,
                    ),
                );
                let body = body.into_body().map(InternedBody::into_bytes);
                // The transfer is over: the buffers kept for it would only hold memory.
                if let Some(running) = self.running.as_mut() {
                    running.endpoint.release_spares();
                }
                self.finish_payload(&body.unwrap_or_default());
            }
            Err(BlockError::TooLarge { .. } | BlockError::AnnouncedSizeMismatch) => {
                // More (or other) bytes than the manifest announces: refused by the size
                // check before anything is decrypted (endless-data attacks).
                let expected = envelope.payload_size();
                let got = size2.unwrap_or(expected.saturating_add(1));
                let sequence = envelope.sequence_number();
                self.reject(
                    Rejection::PayloadSizeMismatch { expected, got },
                    Some(sequence),
                );
            }
            Err(e) => self.download_failed(format!("block-wise transfer: {e}")),
        }
    }

    pub(super) fn on_fetch_failed(&mut self, now: Instant, handle: RequestHandle) {
        if !self.is_fetch(handle) {
            return;
        }
        if let UpdateState::Downloading {
            fetch: Some(fetch), ..
        } = &mut self.update
            && fetch.retries_left > 0
        {
            fetch.retries_left -= 1;
            self.request_block(now);
            return;
        }
        self.download_failed("the distribution point did not answer".into());
    }
}

/// Whether a request carries a final Block1 block beyond the first (a repeat of the last
/// block of a transfer that already completed).
fn is_last_block_again(inner: &Packet) -> bool {
    matches!(msg::block(inner, BlockOption::Block1), Ok(Some(b)) if !b.more() && b.num() > 0)
}

fn conflict(reason: &str) -> Packet {
    msg::response(
        ResponseType::Conflict,
        Refusal {
            reason: reason.to_string(),
        }
        .encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::path_options;
    use crate::coap::{CoapOption, OptionPrefix};
    use crate::exchange::msg;

    #[test]
    fn path_options_are_the_uri_path_of_a_request_for_the_path() {
        for path in [
            "",
            "/",
            "fw",
            "/fw/payload-7",
            "a//b/",
            "//x//",
            "fw/payload/3c4f",
        ] {
            let request = msg::request(coap_lite::RequestType::Get, path, Vec::new());
            let segments: Vec<(u16, &[u8])> = request
                .get_option(CoapOption::UriPath)
                .into_iter()
                .flatten()
                .map(|segment| (u16::from(CoapOption::UriPath), segment.as_slice()))
                .collect();
            assert_eq!(path_options(path), OptionPrefix::new(&segments), "{path:?}");
        }
    }
}
