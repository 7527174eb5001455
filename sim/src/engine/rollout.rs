//! The rollout controller: which devices start when (the policy's strategy), the limit on
//! transfers at once, the operator approval gate, per-device timeouts and retries, the
//! redundancy-cell budget on installs, maintenance windows, and the abort criterion with
//! the revert of the devices that had installed.
//!
//! The transfer limit (`concurrency`) counts devices transferring: a device gives its slot
//! back once its image is staged. A device that commits an update goes on with its next
//! one ahead of devices not started yet; a device whose update fails gets none of the later
//! ones.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use icsim_protocol::exchange::wire::Delivery;
use icsim_protocol::exchange::{InstallTiming, JobKind, Outcome, UpdateJob};
use icsim_protocol::time::{Duration, Instant};
use icsim_reports::model::RolloutStats;

use super::metrics::Metrics;
use super::strategy::{FleetView, StrategyState};
use crate::scenario::model::{Abort, Strategy};

/// The repository's address (retries fall back to it).
const REPOSITORY: u32 = 3;

/// What every job of one update shares.
pub(crate) struct UpdateTemplate {
    pub(crate) job: UpdateJob,
}

/// Per device: its updates (indices into the templates) and how far it got.
pub(crate) struct DevicePlan {
    pub(crate) updates: Vec<usize>,
    next: usize,
    tries: u32,
    holding: bool,
    attempt: u32,
    ended: Option<bool>,
    committed_any: bool,
    install_grant: bool,
    timed_out: bool,
}

impl DevicePlan {
    pub(crate) fn new(updates: Vec<usize>) -> Self {
        DevicePlan {
            updates,
            next: 0,
            tries: 0,
            holding: false,
            attempt: 0,
            ended: None,
            committed_any: false,
            install_grant: false,
            timed_out: false,
        }
    }
}

/// Per site: how payloads come, when devices install, and its cell per device.
pub(crate) struct SitePlan {
    pub(crate) delivery: Delivery,
    pub(crate) install: InstallTiming,
}

/// The policy in force: a strategy and the common knobs.
pub(crate) struct Policy {
    pub(crate) name: String,
    pub(crate) strategy: Strategy,
    pub(crate) concurrency: u32,
    pub(crate) cell_budget: Option<u32>,
    pub(crate) abort: Option<Abort>,
    pub(crate) approval_delay: Duration,
    pub(crate) retries: u32,
    pub(crate) device_timeout: Duration,
}

/// What the engine is to do after a rollout decision.
#[derive(Default)]
pub(crate) struct Actions {
    pub(crate) starts: Vec<(u32, usize)>,
    pub(crate) cancels: Vec<u32>,
    pub(crate) reverts: Vec<(u32, usize)>,
    pub(crate) installs: Vec<(u32, Option<u64>)>,
    pub(crate) wake: Option<Instant>,
}

pub(crate) struct Rollout {
    policy: Policy,
    strategy: StrategyState,
    order: Vec<u32>,
    site_of: Vec<u32>,
    cell_of: Vec<u32>,
    cursor: usize,
    requeue: VecDeque<u32>,
    plans: Vec<DevicePlan>,
    audiences: Vec<String>,
    templates: Vec<UpdateTemplate>,
    sites: Vec<SitePlan>,
    jobs: Vec<Vec<Option<Arc<UpdateJob>>>>,
    active: u32,
    in_progress: u64,
    done: u64,
    succeeded: u64,
    failed: u64,
    released: Option<Instant>,
    aborted: Option<Instant>,
    reverting: u64,
    cell_installing: BTreeMap<u32, u32>,
    cell_queue: BTreeMap<u32, VecDeque<u32>>,
    pub(crate) stats: RolloutStats,
}

impl Rollout {
    pub(crate) fn new(
        policy: Policy,
        plans: Vec<DevicePlan>,
        audiences: Vec<String>,
        templates: Vec<UpdateTemplate>,
        sites: Vec<SitePlan>,
        site_of: Vec<u32>,
        cell_of: Vec<u32>,
    ) -> Self {
        let jobs = templates
            .iter()
            .map(|_| sites.iter().map(|_| None).collect())
            .collect();
        let order: Vec<u32> = (0..plans.len() as u32)
            .filter(|d| !plans[*d as usize].updates.is_empty())
            .collect();
        let done = (plans.len() - order.len()) as u64;
        let stats = RolloutStats {
            policy: policy.name.clone(),
            ..RolloutStats::default()
        };
        Rollout {
            strategy: StrategyState::new(&policy.strategy),
            policy,
            order,
            site_of,
            cell_of,
            cursor: 0,
            requeue: VecDeque::new(),
            plans,
            audiences,
            templates,
            sites,
            jobs,
            active: 0,
            in_progress: 0,
            done,
            succeeded: 0,
            failed: 0,
            released: None,
            aborted: None,
            reverting: 0,
            cell_installing: BTreeMap::new(),
            cell_queue: BTreeMap::new(),
            stats,
        }
    }

    /// The updates of device `d`.
    pub(crate) fn plan(&self, d: u32) -> &DevicePlan {
        &self.plans[d as usize]
    }

    /// The job of template `t` as built (site settings not applied).
    pub(crate) fn template_job(&self, t: usize) -> &UpdateJob {
        &self.templates[t].job
    }

    /// How many templates there are.
    pub(crate) fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// Add a template (an attacker's update); returns its index.
    pub(crate) fn add_template(&mut self, job: UpdateJob) -> usize {
        self.templates.push(UpdateTemplate { job });
        self.jobs.push(self.sites.iter().map(|_| None).collect());
        self.templates.len() - 1
    }

    /// Give device `d` template `t` first (`front`) or last.
    pub(crate) fn insert_update(&mut self, d: u32, t: usize, front: bool) {
        let plan = &mut self.plans[d as usize];
        if front {
            plan.updates.insert(plan.next, t);
        } else {
            plan.updates.push(t);
        }
    }

    /// The devices that have at least one update, in start order.
    pub(crate) fn order(&self) -> &[u32] {
        &self.order
    }

    /// The template device `d` works on now.
    pub(crate) fn current_template(&self, d: u32) -> Option<usize> {
        let plan = self.plans.get(d as usize)?;
        plan.updates.get(plan.next).copied()
    }

    /// A probe session (a crafted envelope judged by the device) ended: go on with the
    /// device's next update as if it had not been there.
    pub(crate) fn skip(
        &mut self,
        now: Instant,
        d: u32,
        windows: &[Option<InstallTiming>],
    ) -> Actions {
        let mut actions = Actions::default();
        let cell = self.cell_of[d as usize];
        if std::mem::take(&mut self.plans[d as usize].install_grant)
            && let Some(n) = self.cell_installing.get_mut(&cell)
        {
            *n = n.saturating_sub(1);
        }
        self.release_slot(d);
        let plan = &mut self.plans[d as usize];
        plan.next += 1;
        plan.tries = 0;
        if plan.next < plan.updates.len() && self.aborted.is_none() {
            self.requeue.push_front(d);
        } else {
            plan.ended = Some(false);
            self.done += 1;
            self.in_progress = self.in_progress.saturating_sub(1);
        }
        self.grant(now, cell, windows, &mut actions);
        let more = self.admit(now);
        actions.starts.extend(more.starts);
        actions.wake = more.wake;
        actions
    }

    /// The attempt number of device `d` (to recognise a stale timeout).
    pub(crate) fn attempt(&self, d: u32) -> u32 {
        self.plans[d as usize].attempt
    }

    /// The per-device timeout.
    pub(crate) fn device_timeout(&self) -> Duration {
        self.policy.device_timeout
    }

    /// The rollout is released: start what the policy allows.
    pub(crate) fn release(&mut self, now: Instant) -> Actions {
        self.released = Some(now);
        self.strategy.start(now + self.policy.approval_delay);
        self.admit(now)
    }

    /// Re-evaluate (a strategy's timer).
    pub(crate) fn wake(&mut self, now: Instant) -> Actions {
        self.admit(now)
    }

    fn admit(&mut self, now: Instant) -> Actions {
        let mut actions = Actions::default();
        if self.aborted.is_some() || self.released.is_none() {
            return actions;
        }
        // Devices continuing with their next update (or a retry) first.
        while self.active < self.policy.concurrency {
            let Some(d) = self.requeue.pop_front() else {
                break;
            };
            actions.starts.push(self.begin(d));
        }
        let gate = self.released.unwrap_or(now) + self.policy.approval_delay;
        if now < gate {
            actions.wake = Some(gate);
            return actions;
        }
        if self.cursor >= self.order.len() {
            return actions;
        }
        let plans = &self.plans;
        let order = &self.order;
        let site_of = &self.site_of;
        let ended = |i: usize| plans[order[i] as usize].ended;
        let site = |i: usize| site_of[order[i] as usize];
        let view = FleetView {
            order,
            started: self.cursor,
            ended: &ended,
            site: &site,
            succeeded: self.succeeded,
        };
        let quota = self.strategy.quota(now, &view);
        if quota.abort {
            self.abort(now, &mut actions);
            return actions;
        }
        while self.active < self.policy.concurrency && self.cursor < quota.allowed {
            let d = self.order[self.cursor];
            self.cursor += 1;
            self.in_progress += 1;
            self.stats.devices_started += 1;
            self.stats.max_in_progress = self.stats.max_in_progress.max(self.in_progress);
            actions.starts.push(self.begin(d));
        }
        actions.wake = quota.wake;
        actions
    }

    fn begin(&mut self, d: u32) -> (u32, usize) {
        let plan = &mut self.plans[d as usize];
        plan.holding = true;
        plan.attempt += 1;
        plan.timed_out = false;
        self.active += 1;
        (d, plan.updates[plan.next])
    }

    fn release_slot(&mut self, d: u32) {
        let plan = &mut self.plans[d as usize];
        if plan.holding {
            plan.holding = false;
            self.active -= 1;
        }
    }

    /// A device moved on to its install: its transfer slot is free for the next device.
    pub(crate) fn slot_free(&mut self, now: Instant, d: u32) -> Actions {
        self.release_slot(d);
        self.admit(now)
    }

    /// A device staged its image: its transfer slot is free. With a cell budget the
    /// session waits for a grant; returns what to start and which installs to command.
    pub(crate) fn staged(
        &mut self,
        now: Instant,
        d: u32,
        windows: &[Option<InstallTiming>],
    ) -> Actions {
        self.release_slot(d);
        let mut actions = self.admit(now);
        if self.policy.cell_budget.is_some() {
            let cell = self.cell_of[d as usize];
            self.cell_queue.entry(cell).or_default().push_back(d);
            self.grant(now, cell, windows, &mut actions);
        }
        actions
    }

    /// Let queued devices of `cell` install while the budget allows.
    fn grant(
        &mut self,
        now: Instant,
        cell: u32,
        windows: &[Option<InstallTiming>],
        actions: &mut Actions,
    ) {
        let budget = self.policy.cell_budget.unwrap_or(u32::MAX);
        loop {
            let installing = self.cell_installing.get(&cell).copied().unwrap_or(0);
            if installing >= budget {
                return;
            }
            let Some(d) = self.cell_queue.get_mut(&cell).and_then(VecDeque::pop_front) else {
                return;
            };
            self.plans[d as usize].install_grant = true;
            *self.cell_installing.entry(cell).or_default() += 1;
            let site = self.site_of[d as usize] as usize;
            let at = windows
                .get(site)
                .copied()
                .flatten()
                .and_then(|w| w.at(now.unix_secs()));
            actions.installs.push((d, at));
        }
    }

    /// A per-device timeout fired for `attempt`: cancel the session if it is still that one.
    pub(crate) fn timeout(&mut self, d: u32, attempt: u32) -> Option<u32> {
        let plan = &mut self.plans[d as usize];
        (plan.attempt == attempt && plan.ended.is_none() && !plan.timed_out).then(|| {
            plan.timed_out = true;
            self.stats.timeouts += 1;
            d
        })
    }

    /// A device's session ended.
    pub(crate) fn finished(
        &mut self,
        now: Instant,
        d: u32,
        outcome: &Outcome,
        metrics: &mut Metrics,
        windows: &[Option<InstallTiming>],
    ) -> Actions {
        let mut actions = Actions::default();
        let cell = self.cell_of[d as usize];
        if std::mem::take(&mut self.plans[d as usize].install_grant)
            && let Some(n) = self.cell_installing.get_mut(&cell)
        {
            *n = n.saturating_sub(1);
        }
        self.release_slot(d);
        if *outcome == Outcome::Reverted || self.plans[d as usize].ended.is_some() {
            // A revert after an abort ended.
            if *outcome == Outcome::Reverted {
                self.stats.reverted += 1;
                metrics.device_reverted(now, d);
            }
            self.reverting = self.reverting.saturating_sub(1);
            self.grant(now, cell, windows, &mut actions);
            return actions;
        }
        let timed_out = self.plans[d as usize].timed_out;
        let outcome = if timed_out && *outcome == Outcome::Cancelled {
            Outcome::Failed("device_timeout".into())
        } else {
            outcome.clone()
        };
        let aborted = self.aborted.is_some();
        let plan = &mut self.plans[d as usize];
        let update = plan.updates[plan.next];
        let retry = !aborted && retriable(&outcome) && plan.tries < self.policy.retries;
        if retry {
            plan.tries += 1;
            metrics.retry(d);
        } else {
            metrics.update_outcome(now, d, update, &outcome);
            plan.next += 1;
            plan.tries = 0;
        }
        if outcome == Outcome::Committed {
            plan.committed_any = true;
        }
        let more = !aborted
            && (retry || (outcome == Outcome::Committed && plan.next < plan.updates.len()));
        if more {
            self.requeue.push_front(d);
        } else {
            let success = outcome == Outcome::Committed;
            plan.ended = Some(success);
            metrics.device_done(now, d, success);
            self.done += 1;
            self.in_progress = self.in_progress.saturating_sub(1);
            if success {
                self.succeeded += 1;
            } else {
                self.failed += 1;
            }
            if let Some(a) = &self.policy.abort
                && !aborted
                && self.done_with_updates() >= u64::from(a.min_executed)
                && self.failed as f64 * 100.0 > a.failure_pct * self.done_with_updates() as f64
            {
                self.abort(now, &mut actions);
            }
        }
        self.grant(now, cell, windows, &mut actions);
        let more_actions = self.admit(now);
        actions.starts.extend(more_actions.starts);
        actions.wake = more_actions.wake;
        actions
    }

    fn done_with_updates(&self) -> u64 {
        self.succeeded + self.failed
    }

    /// Stop: cancel every session in progress and revert every device that installed.
    fn abort(&mut self, now: Instant, actions: &mut Actions) {
        if self.aborted.is_some() {
            return;
        }
        self.aborted = Some(now);
        self.stats.aborted_at_h = self.released.map(|r| (now - r).as_micros() as f64 / 3.6e9);
        self.requeue.clear();
        for (d, plan) in self.plans.iter_mut().enumerate() {
            let d = d as u32;
            let started = plan.attempt > 0;
            if started && plan.ended.is_none() {
                // In progress: cancel; it ends as failed.
                actions.cancels.push(d);
            }
            if plan.committed_any {
                let last = plan.updates[plan.next.saturating_sub(1)];
                actions.reverts.push((d, last));
                self.reverting += 1;
            }
        }
        self.stats.devices_never_started = (self.order.len() - self.cursor) as u64;
    }

    /// The job of `update` for device `d` at `site` (shared by all devices of the site).
    pub(crate) fn job(
        &mut self,
        d: u32,
        update: usize,
        site: u32,
        kind: JobKind,
    ) -> (String, Arc<UpdateJob>) {
        let audience = self.audiences[d as usize].clone();
        let hold = self.policy.cell_budget.is_some();
        let slot = &mut self.jobs[update][site as usize];
        let job = slot.get_or_insert_with(|| {
            let mut job = self.templates[update].job.clone();
            let plan = &self.sites[site as usize];
            job.delivery = plan.delivery;
            job.install = if hold {
                InstallTiming::OnCommand
            } else {
                plan.install
            };
            Arc::new(job)
        });
        if self.plans[d as usize].tries > 0
            && let Delivery::Fetch { source } = job.delivery
            && source != REPOSITORY
        {
            // A retry fetches from the repository rather than the site cache (a cache
            // that failed once, or an attacker's, is not trusted to serve it again).
            let mut fallback = (**job).clone();
            fallback.delivery = Delivery::Fetch { source: REPOSITORY };
            return (audience, Arc::new(fallback));
        }
        if kind == JobKind::Revert {
            let mut revert = (**job).clone();
            revert.kind = JobKind::Revert;
            return (audience, Arc::new(revert));
        }
        (audience, Arc::clone(job))
    }

    /// Whether every device's rollout (and every revert) has ended.
    pub(crate) fn is_complete(&self) -> bool {
        self.released.is_some()
            && self.reverting == 0
            && (self.done == self.plans.len() as u64
                || (self.aborted.is_some() && self.in_progress == 0 && self.requeue.is_empty()))
    }

    /// Devices whose rollout has ended.
    pub(crate) fn devices_done(&self) -> u64 {
        self.done
    }
}

/// Whether a device's update is worth another try: a rollback, a failed session, or a
/// transfer that went wrong (an altered, wrong or oversize payload, a failed download: the
/// retry fetches from the repository). A verdict on the update itself is final.
fn retriable(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::RolledBack | Outcome::Failed(_) => true,
        Outcome::Rejected(reason) => matches!(
            reason.as_str(),
            "payload_decryption_failed"
                | "payload_digest_mismatch"
                | "payload_size_mismatch"
                | "download_failed"
        ),
        _ => false,
    }
}
