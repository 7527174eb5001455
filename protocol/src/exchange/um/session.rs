//! One device's session at the UM: the steps, what each sends, and how each answer moves it.

use std::sync::Arc;

use coap_lite::{Packet, RequestType, ResponseType};
use rand_core::CryptoRng;

use super::{InstallTiming, JobKind, Outcome, UmEvent, UpdateJob, UpdateManager};
use crate::ace::{AccessTokenResponse, ClientExchange, Scope, ScopeToken};
use crate::coap::{Block1Sender, BlockOption, BlockStep};
use crate::exchange::auth_server::encode_token_request;
use crate::exchange::wire::{
    Delivery, InstallCommand, KeyDelivery, PATH_AUTHZ_INFO, PATH_CEK, PATH_ENVELOPE, PATH_INSTALL,
    PATH_PAYLOAD, PATH_REVERT, PATH_STATUS, PATH_TOKEN, Refusal, StatusReport, UpdatePhase,
    danger_cek_in_clear,
};
use crate::exchange::{Addr, msg};
use crate::oscore::{RequestBinding, SecurityContext};
use crate::time::Instant;

/// Where a session is.
#[derive(Debug)]
pub(super) enum Step {
    /// Asking the AS for a token.
    Token,
    /// Posting the token to the device.
    Authz(ClientExchange),
    /// Sending the envelope.
    Envelope(Block1Sender),
    /// Releasing the CEK.
    Key,
    /// Pushing the payload.
    Push(Block1Sender),
    /// Polling until the device has staged the image.
    AwaitStaged,
    /// Waiting for the rollout's go to install.
    Held,
    /// Sending the install command.
    Install,
    /// Ordering the device back to its previous image.
    Revert,
    /// Polling until the device has committed or rolled back.
    AwaitCommit,
    /// Finished.
    Done,
}

impl Step {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Step::Token => "token",
            Step::Authz(_) => "authz_info",
            Step::Envelope(_) => "envelope",
            Step::Key => "key",
            Step::Push(_) => "push",
            Step::AwaitStaged => "await_staged",
            Step::Held => "held",
            Step::Install => "install",
            Step::Revert => "revert",
            Step::AwaitCommit => "await_commit",
            Step::Done => "done",
        }
    }

    /// Whether the step is driven by status polls.
    pub(super) fn polls(&self) -> bool {
        matches!(self, Step::AwaitStaged | Step::AwaitCommit)
    }
}

/// Where to continue after a re-key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    Envelope,
    AwaitStaged,
    AwaitCommit,
}

/// A session with one device.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) audience: String,
    pub(super) job: Arc<UpdateJob>,
    /// Which session of the UM this is (responses to earlier ones are ignored).
    pub(super) generation: u64,
    /// The device refused the envelope as a rollback: checking whether it runs this very
    /// update already.
    pub(super) checking_installed: bool,
    pub(super) token: Option<(AccessTokenResponse, Instant)>,
    pub(super) context: Option<SecurityContext>,
    pub(super) step: Step,
    pub(super) attempts: u32,
    /// When the device last answered (or the session started).
    pub(super) last_heard: Option<Instant>,
    /// When the device was told to install.
    pub(super) install_at: Option<Instant>,
    /// The install time the rollout commanded (`Some(None)`: at once).
    pub(super) commanded_at: Option<Option<u64>>,
    restarts: u32,
    resume: Resume,
}

impl Session {
    pub(super) fn new(audience: String, job: Arc<UpdateJob>) -> Self {
        Session {
            audience,
            job,
            generation: 0,
            checking_installed: false,
            token: None,
            context: None,
            step: Step::Token,
            attempts: 0,
            last_heard: None,
            install_at: None,
            commanded_at: None,
            restarts: 0,
            resume: Resume::Envelope,
        }
    }

    pub(super) fn is_done(&self) -> bool {
        matches!(self.step, Step::Done)
    }
}

impl<R: CryptoRng> UpdateManager<R> {
    /// Send the request of the session's current step.
    pub(super) fn send(&mut self, now: Instant, device: Addr) {
        let Some(s) = self.sessions.get(&device) else {
            return;
        };
        let job = Arc::clone(&s.job);
        match &s.step {
            Step::Token => {
                let scope =
                    Scope::of([ScopeToken::install(job.update_type), ScopeToken::StatusRead])
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                let body = encode_token_request(&s.audience, &scope);
                let to = self.config.auth_server;
                self.send_plain(
                    now,
                    device,
                    to,
                    msg::request(RequestType::Post, PATH_TOKEN, body),
                );
            }
            Step::Authz(exchange) => {
                let body = exchange.request().encode();
                self.send_plain(
                    now,
                    device,
                    device,
                    msg::request(RequestType::Post, PATH_AUTHZ_INFO, body),
                );
            }
            Step::Envelope(sender) | Step::Push(sender) => {
                let path = if matches!(s.step, Step::Envelope(_)) {
                    PATH_ENVELOPE
                } else {
                    PATH_PAYLOAD
                };
                let Some(block) = sender.current() else {
                    return;
                };
                let mut inner = msg::request(RequestType::Post, path, block.payload.to_vec());
                block.value.write(&mut inner, BlockOption::Block1);
                self.send_protected(now, device, inner);
            }
            Step::Key => {
                let body = KeyDelivery {
                    cek: job.cek.clone(),
                    delivery: job.delivery,
                    path: job.path.clone(),
                }
                .encode();
                let request = msg::request(RequestType::Post, PATH_CEK, body);
                if danger_cek_in_clear(&self.config.defences) {
                    self.send_plain(now, device, device, request);
                } else {
                    self.send_protected(now, device, request);
                }
            }
            Step::Install => {
                let at = s
                    .commanded_at
                    .unwrap_or_else(|| job.install.at(now.unix_secs()));
                if let Some(s) = self.sessions.get_mut(&device) {
                    s.install_at = at.map(Instant::from_unix_secs);
                }
                let body = InstallCommand { at }.encode();
                self.send_protected(
                    now,
                    device,
                    msg::request(RequestType::Post, PATH_INSTALL, body),
                );
            }
            Step::AwaitStaged | Step::AwaitCommit => {
                self.send_protected(
                    now,
                    device,
                    msg::request(RequestType::Get, PATH_STATUS, Vec::new()),
                );
            }
            Step::Revert => {
                self.send_protected(
                    now,
                    device,
                    msg::request(RequestType::Post, PATH_REVERT, Vec::new()),
                );
            }
            Step::Held | Step::Done => {}
        }
    }

    /// The device staged its image: install, or wait for the rollout's go.
    fn on_staged(&mut self, now: Instant, device: Addr) {
        let held = self
            .sessions
            .get(&device)
            .is_some_and(|s| s.job.install == InstallTiming::OnCommand && s.commanded_at.is_none());
        if held {
            self.set_step(device, Step::Held);
            self.events.push_back(UmEvent::Staged { device });
        } else {
            self.set_step(device, Step::Install);
            self.send(now, device);
        }
    }

    /// A request of the session got no answer.
    pub(super) fn on_no_answer(&mut self, now: Instant, device: Addr) {
        let max = self.config.max_attempts;
        let Some(s) = self.sessions.get_mut(&device) else {
            return;
        };
        if s.step.polls() {
            // Polls are patient: a device that downloads over a busy shared radio, or
            // reboots, may not answer for a while.
            let heard = *s.last_heard.get_or_insert(now);
            if now - heard > self.config.status_patience {
                let step = s.step.name();
                self.finish(device, Outcome::Failed(format!("no answer in step {step}")));
            } else {
                self.schedule_poll(now, device);
            }
            return;
        }
        s.attempts += 1;
        if s.attempts > max {
            let step = s.step.name();
            self.finish(device, Outcome::Failed(format!("no answer in step {step}")));
        } else {
            self.send(now, device);
        }
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        device: Addr,
        binding: Option<RequestBinding>,
        response: Packet,
    ) {
        let Some(s) = self.sessions.get_mut(&device) else {
            return;
        };
        if s.is_done() {
            return;
        }
        s.last_heard = Some(now);
        match (&s.step, binding) {
            // Token and authz-info go in the clear; a protected answer arriving now belongs
            // to a request of the context being replaced (re-key): nothing to act on.
            (Step::Token, None) => self.on_token(now, device, response),
            (Step::Authz(_), None) => self.on_authz(now, device, response),
            (Step::Token | Step::Authz(_), Some(_)) => {}
            (_, Some(binding)) => self.on_protected(now, device, &binding, response),
            // The key delivery sent in the clear (the `payload_encryption` ablation).
            (Step::Key, None) => self.on_answer(now, device, response),
            (_, None) => {}
        }
    }

    fn on_token(&mut self, now: Instant, device: Addr, response: Packet) {
        if msg::code(&response) != Some(ResponseType::Created) {
            let reason = Refusal::decode(&response.payload)
                .map_or_else(|_| "token_refused".to_string(), |r| r.reason);
            self.finish(device, Outcome::Rejected(format!("as: {reason}")));
            return;
        }
        let Ok(token) = AccessTokenResponse::decode(&response.payload) else {
            self.finish(device, Outcome::Failed("malformed token response".into()));
            return;
        };
        let expires = token.expires_at(now);
        let exchange = ClientExchange::start(&token, &mut self.rng);
        if let Some(s) = self.sessions.get_mut(&device) {
            s.token = Some((token, expires));
        }
        self.set_step(device, Step::Authz(exchange));
        self.send(now, device);
    }

    fn on_authz(&mut self, now: Instant, device: Addr, response: Packet) {
        if msg::code(&response) != Some(ResponseType::Created) {
            let code = response.header.code;
            self.finish(device, Outcome::Rejected(format!("authz_info: {code:?}")));
            return;
        }
        let Some(Step::Authz(exchange)) = self.sessions.get(&device).map(|s| &s.step) else {
            return;
        };
        let params = match exchange.finish(&response.payload) {
            Ok(p) => p,
            Err(e) => {
                self.finish(device, Outcome::Failed(format!("authz_info: {e}")));
                return;
            }
        };
        if !self.derive(device, &params) {
            self.finish(
                device,
                Outcome::Failed("cannot derive the OSCORE context".into()),
            );
            return;
        }
        let resume = self
            .sessions
            .get(&device)
            .map_or(Resume::Envelope, |s| s.resume);
        let revert = self
            .sessions
            .get(&device)
            .is_some_and(|s| s.job.kind == JobKind::Revert);
        match resume {
            Resume::Envelope if revert => {
                self.set_step(device, Step::Revert);
                self.send(now, device);
            }
            Resume::Envelope => self.start_envelope(now, device),
            Resume::AwaitStaged => {
                self.set_step(device, Step::AwaitStaged);
                self.send(now, device);
            }
            Resume::AwaitCommit => {
                self.set_step(device, Step::AwaitCommit);
                self.send(now, device);
            }
        }
    }

    fn start_envelope(&mut self, now: Instant, device: Addr) {
        let Some(s) = self.sessions.get(&device) else {
            return;
        };
        match Block1Sender::new(s.job.envelope.to_vec(), self.config.block_size) {
            Ok(sender) => {
                self.set_step(device, Step::Envelope(sender));
                self.send(now, device);
            }
            Err(e) => self.finish(device, Outcome::Failed(format!("envelope: {e}"))),
        }
    }

    /// The device refused the context (4.01 unprotected: unknown kid, replay after its
    /// reboot, or a token it no longer holds): post the token again for a fresh context, or
    /// get a new token if it has expired, then continue where the session was.
    fn rekey(&mut self, now: Instant, device: Addr) {
        let max = self.config.max_restarts;
        let Some(s) = self.sessions.get_mut(&device) else {
            return;
        };
        s.restarts += 1;
        if s.restarts > max {
            self.finish(device, Outcome::Failed("too many re-keys".into()));
            return;
        }
        s.resume = match s.step {
            Step::AwaitStaged => Resume::AwaitStaged,
            Step::Install | Step::AwaitCommit => Resume::AwaitCommit,
            _ => Resume::Envelope,
        };
        s.context = None;
        let fresh = s
            .token
            .as_ref()
            .filter(|(_, exp)| *exp > now)
            .map(|(t, _)| t.clone());
        self.events.push_back(UmEvent::Rekeyed { device });
        match fresh {
            Some(token) => {
                let exchange = ClientExchange::start(&token, &mut self.rng);
                self.set_step(device, Step::Authz(exchange));
            }
            None => self.set_step(device, Step::Token),
        }
        self.send(now, device);
    }

    /// The device lost its update state: start again from the envelope.
    fn restart(&mut self, now: Instant, device: Addr, why: &str) {
        let max = self.config.max_restarts;
        let Some(s) = self.sessions.get_mut(&device) else {
            return;
        };
        s.restarts += 1;
        if s.restarts > max {
            self.finish(
                device,
                Outcome::Failed(format!("too many restarts ({why})")),
            );
            return;
        }
        self.start_envelope(now, device);
    }

    /// The device is busy with an update: poll its status (counted as a restart, so a
    /// device stuck with someone else's update does not hold the session forever).
    fn await_existing(&mut self, now: Instant, device: Addr) {
        let max = self.config.max_restarts;
        let Some(s) = self.sessions.get_mut(&device) else {
            return;
        };
        s.restarts += 1;
        if s.restarts > max {
            self.finish(
                device,
                Outcome::Failed("too many restarts (update_in_progress)".into()),
            );
            return;
        }
        self.set_step(device, Step::AwaitStaged);
        self.schedule_poll(now, device);
    }

    fn on_protected(
        &mut self,
        now: Instant,
        device: Addr,
        binding: &RequestBinding,
        response: Packet,
    ) {
        if !msg::is_oscore(&response) {
            // OSCORE or ACE processing failed at the device; errors come back unprotected.
            match msg::code(&response) {
                Some(ResponseType::Unauthorized) => self.rekey(now, device),
                other => self.finish(
                    device,
                    Outcome::Failed(format!("device answered {other:?} unprotected")),
                ),
            }
            return;
        }
        let Some(ctx) = self
            .sessions
            .get_mut(&device)
            .and_then(|s| s.context.as_mut())
        else {
            return;
        };
        let inner = match ctx.unprotect_response(&response, binding) {
            Ok(inner) => inner,
            Err(_) => {
                // A forged or altered response: ignore it and ask again.
                self.on_no_answer(now, device);
                return;
            }
        };
        self.work(crate::exchange::CryptoWork {
            aes_bytes: response.payload.len() as u64,
            ..Default::default()
        });
        self.on_answer(now, device, inner);
    }

    /// The device's (unprotected or decrypted) answer to the session's current request.
    fn on_answer(&mut self, now: Instant, device: Addr, inner: Packet) {
        let code = msg::code(&inner);
        let refusal =
            || Refusal::decode(&inner.payload).map_or_else(|_| format!("{code:?}"), |r| r.reason);
        let step_name = self.sessions.get(&device).map_or("", |s| s.step.name());
        match (step_name, code) {
            ("envelope" | "push", Some(c @ (ResponseType::Continue | ResponseType::Changed))) => {
                let block1 = msg::block(&inner, BlockOption::Block1).ok().flatten();
                let Some(Step::Envelope(sender) | Step::Push(sender)) =
                    self.sessions.get_mut(&device).map(|s| &mut s.step)
                else {
                    return;
                };
                match sender.handle_response(c, block1) {
                    Ok(BlockStep::Continue(_)) => self.send(now, device),
                    Ok(BlockStep::Complete(_)) if step_name == "envelope" => {
                        self.set_step(device, Step::Key);
                        self.send(now, device);
                    }
                    Ok(BlockStep::Complete(_)) => self.on_staged(now, device),
                    Err(e) => self.finish(device, Outcome::Failed(format!("block-wise: {e}"))),
                }
            }
            (_, Some(ResponseType::Forbidden)) => {
                let reason = refusal();
                let is_envelope = step_name == "envelope";
                if is_envelope
                    && reason == "rollback"
                    && self.config.confirm_after_rollback
                    && self
                        .sessions
                        .get(&device)
                        .is_some_and(|s| !s.checking_installed)
                {
                    // Maybe this very update is installed already (an earlier session went
                    // on at the device after the UM gave up on it): ask before calling it a
                    // rejection.
                    if let Some(s) = self.sessions.get_mut(&device) {
                        s.checking_installed = true;
                    }
                    self.set_step(device, Step::AwaitCommit);
                    self.send(now, device);
                } else {
                    self.finish(device, Outcome::Rejected(reason));
                }
            }
            (_, Some(ResponseType::Conflict))
                if step_name == "envelope" && refusal() == "update_in_progress" =>
            {
                // An earlier session of ours may have staged this very update before its
                // answer was lost: look at the device's status before starting over.
                self.await_existing(now, device)
            }
            (_, Some(ResponseType::Conflict)) => self.restart(now, device, &refusal()),
            ("key", Some(ResponseType::Changed)) => {
                let push = self
                    .sessions
                    .get(&device)
                    .and_then(|s| match s.job.delivery {
                        Delivery::Push => Some(
                            s.job
                                .payload
                                .clone()
                                .unwrap_or_else(|| Arc::from(Vec::new())),
                        ),
                        Delivery::Fetch { .. } => None,
                    });
                match push {
                    Some(payload) => {
                        match Block1Sender::new(payload.to_vec(), self.config.block_size) {
                            Ok(sender) => {
                                self.set_step(device, Step::Push(sender));
                                self.send(now, device);
                            }
                            Err(e) => self.finish(device, Outcome::Failed(format!("payload: {e}"))),
                        }
                    }
                    None => {
                        self.set_step(device, Step::AwaitStaged);
                        self.schedule_poll(now, device);
                    }
                }
            }
            ("revert", Some(ResponseType::Changed)) => {
                self.set_step(device, Step::AwaitCommit);
                self.schedule_poll(now, device);
            }
            ("install", Some(ResponseType::Changed)) => {
                // No point asking before the install has even started.
                let from = self
                    .sessions
                    .get(&device)
                    .and_then(|s| s.install_at)
                    .unwrap_or(now)
                    .max(now);
                self.set_step(device, Step::AwaitCommit);
                if let Some(s) = self.sessions.get_mut(&device) {
                    s.last_heard = Some(from);
                }
                self.schedule_poll(from, device);
            }
            ("await_staged" | "await_commit", Some(ResponseType::Content)) => {
                let Ok(status) = StatusReport::decode(&inner.payload) else {
                    self.finish(device, Outcome::Failed("malformed status".into()));
                    return;
                };
                self.on_status(now, device, step_name == "await_commit", status);
            }
            (_, other) => self.finish(
                device,
                Outcome::Failed(format!("unexpected answer {other:?} in step {step_name}")),
            ),
        }
    }

    fn on_status(&mut self, now: Instant, device: Addr, installing: bool, status: StatusReport) {
        let sequence = self.sessions.get(&device).map(|s| s.job.sequence);
        if self
            .sessions
            .get(&device)
            .is_some_and(|s| s.checking_installed)
        {
            let ours = status.phase == UpdatePhase::Committed && status.sequence == sequence;
            let outcome = if ours || (status.committed.is_some() && status.committed == sequence) {
                Outcome::Committed
            } else {
                Outcome::Rejected("rollback".into())
            };
            self.finish(device, outcome);
            return;
        }
        match status.phase {
            UpdatePhase::Staged if !installing => self.on_staged(now, device),
            UpdatePhase::AwaitKey | UpdatePhase::Downloading if !installing => {
                self.schedule_poll(now, device)
            }
            UpdatePhase::Installing => self.schedule_poll(now, device),
            UpdatePhase::Committed if status.sequence == sequence => {
                self.finish(device, Outcome::Committed)
            }
            UpdatePhase::RolledBack
                if status.sequence == sequence
                    && self
                        .sessions
                        .get(&device)
                        .is_some_and(|s| s.job.kind == JobKind::Revert) =>
            {
                self.finish(device, Outcome::Reverted)
            }
            UpdatePhase::RolledBack if status.sequence == sequence => {
                self.finish(device, Outcome::RolledBack)
            }
            UpdatePhase::Rejected if status.sequence == sequence || !installing => {
                let reason = status.reason.unwrap_or_else(|| "rejected".into());
                self.finish(device, Outcome::Rejected(reason));
            }
            _ => self.restart(now, device, "device lost the update"),
        }
    }
}
