//! The rollout: which devices start when. For now the `all_at_once` policy: every device,
//! in fleet order, at most `concurrency` transferring at a time. The limit is on transfers:
//! a device gives its slot back once its image is staged (it may then wait for its
//! maintenance window without blocking others). A device that commits an update goes on
//! with its next one as soon as a slot is free (ahead of devices not started yet); a device
//! whose update fails gets none of the later ones.

use std::collections::VecDeque;
use std::sync::Arc;

use icsim_protocol::exchange::wire::Delivery;
use icsim_protocol::exchange::{InstallTiming, Outcome, UpdateJob};
use icsim_protocol::time::Instant;

use super::metrics::Metrics;

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
}

impl DevicePlan {
    pub(crate) fn new(updates: Vec<usize>) -> Self {
        DevicePlan {
            updates,
            next: 0,
            tries: 0,
            holding: false,
        }
    }
}

/// Per site: how payloads come and when devices install.
pub(crate) struct SitePlan {
    pub(crate) delivery: Delivery,
    pub(crate) install: InstallTiming,
}

pub(crate) struct Rollout {
    concurrency: u32,
    retries: u32,
    pending: VecDeque<u32>,
    plans: Vec<DevicePlan>,
    audiences: Vec<String>,
    templates: Vec<UpdateTemplate>,
    sites: Vec<SitePlan>,
    jobs: Vec<Vec<Option<Arc<UpdateJob>>>>,
    active: u32,
    done: u64,
    released: bool,
}

impl Rollout {
    pub(crate) fn new(
        concurrency: u32,
        retries: u32,
        plans: Vec<DevicePlan>,
        audiences: Vec<String>,
        templates: Vec<UpdateTemplate>,
        sites: Vec<SitePlan>,
    ) -> Self {
        let jobs = templates
            .iter()
            .map(|_| sites.iter().map(|_| None).collect())
            .collect();
        let mut done = 0;
        let mut pending = VecDeque::new();
        for (d, plan) in plans.iter().enumerate() {
            if plan.updates.is_empty() {
                done += 1;
            } else {
                pending.push_back(d as u32);
            }
        }
        Rollout {
            concurrency: concurrency.max(1),
            retries,
            pending,
            plans,
            audiences,
            templates,
            sites,
            jobs,
            active: 0,
            done,
            released: false,
        }
    }

    /// The updates of device `d`.
    pub(crate) fn plan(&self, d: u32) -> &DevicePlan {
        &self.plans[d as usize]
    }

    /// Start the rollout: the first devices.
    pub(crate) fn release(&mut self, _now: Instant) -> Vec<(u32, usize)> {
        self.released = true;
        self.fill()
    }

    fn fill(&mut self) -> Vec<(u32, usize)> {
        let mut starts = Vec::new();
        while self.active < self.concurrency {
            let Some(d) = self.pending.pop_front() else {
                break;
            };
            let plan = &mut self.plans[d as usize];
            plan.holding = true;
            self.active += 1;
            starts.push((d, plan.updates[plan.next]));
        }
        starts
    }

    fn release_slot(&mut self, d: u32) {
        if let Some(plan) = self.plans.get_mut(d as usize)
            && plan.holding
        {
            plan.holding = false;
            self.active -= 1;
        }
    }

    /// A device staged its image (its session moved on to the install): its transfer slot
    /// is free for the next device.
    pub(crate) fn staged(&mut self, d: u32) -> Vec<(u32, usize)> {
        self.release_slot(d);
        self.fill()
    }

    /// A device's session ended; returns the jobs to start now.
    pub(crate) fn finished(
        &mut self,
        now: Instant,
        d: u32,
        outcome: &Outcome,
        metrics: &mut Metrics,
    ) -> Vec<(u32, usize)> {
        let Some(plan) = self.plans.get_mut(d as usize) else {
            return Vec::new();
        };
        let update = plan.updates[plan.next];
        let retry = matches!(outcome, Outcome::RolledBack | Outcome::Failed(_))
            && plan.tries < self.retries;
        if retry {
            plan.tries += 1;
            metrics.retry(d);
        } else {
            metrics.update_outcome(now, d, update, outcome);
            plan.next += 1;
            plan.tries = 0;
        }
        let more = retry || (*outcome == Outcome::Committed && plan.next < plan.updates.len());
        self.release_slot(d);
        if more {
            // Next in line: ahead of the devices not started yet.
            self.pending.push_front(d);
        } else {
            metrics.device_done(now, d, *outcome == Outcome::Committed);
            self.done += 1;
        }
        self.fill()
    }

    /// The job of `update` for device `d` at `site` (shared by all devices of the site).
    pub(crate) fn job(&mut self, d: u32, update: usize, site: u32) -> (String, Arc<UpdateJob>) {
        let audience = self.audiences[d as usize].clone();
        let slot = &mut self.jobs[update][site as usize];
        let job = slot.get_or_insert_with(|| {
            let mut job = self.templates[update].job.clone();
            let plan = &self.sites[site as usize];
            job.delivery = plan.delivery;
            job.install = plan.install;
            Arc::new(job)
        });
        (audience, Arc::clone(job))
    }

    /// Whether every device's rollout has ended.
    pub(crate) fn is_complete(&self) -> bool {
        self.released && self.done == self.plans.len() as u64
    }

    /// Devices whose rollout has ended.
    pub(crate) fn devices_done(&self) -> u64 {
        self.done
    }
}
