//! The start strategies of the rollout policies: how many devices, taken in fleet order,
//! may have started by a given time. Each is documented with the system it follows.

use icsim_protocol::time::{Duration, Instant};

use crate::scenario::model::Strategy;

fn hours(h: f64) -> Duration {
    Duration::from_micros((h.max(0.0) * 3.6e9).round() as u64)
}

/// What the strategy knows about the fleet when it decides.
pub(crate) struct FleetView<'a> {
    /// Devices in start order.
    pub(crate) order: &'a [u32],
    /// How many of `order` have started.
    pub(crate) started: usize,
    /// Per position in `order`: ended (`Some(success)`) or not.
    pub(crate) ended: &'a dyn Fn(usize) -> Option<bool>,
    /// The site of the device at a position.
    pub(crate) site: &'a dyn Fn(usize) -> u32,
    /// Successes so far (all devices).
    pub(crate) succeeded: u64,
}

/// The decision: how many may have started by now, when to ask again, and whether the
/// strategy itself aborts the rollout (a canary or a group failed).
pub(crate) struct Quota {
    pub(crate) allowed: usize,
    pub(crate) wake: Option<Instant>,
    pub(crate) abort: bool,
}

/// A strategy's state.
pub(crate) enum StrategyState {
    /// Every device at once (Mender's default deployment).
    AllAtOnce,
    /// Fixed batches with a pause (Mender-style staged deployment).
    Batches {
        size: usize,
        pause: Duration,
        open: usize,
        next_open_at: Option<Instant>,
    },
    /// Cumulative phases, each after a delay (Mender phased deployments).
    Phases { steps: Vec<(Instant, f64)> },
    /// Canary group, bake time, then an exponential ramp (AWS IoT Jobs rollout config:
    /// baseRatePerMinute, incrementFactor, rateIncreaseCriteria.numberOfSucceededThings).
    CanaryRamp {
        canary: usize,
        bake: Duration,
        rate: f64,
        factor: f64,
        every: u64,
        max_rate: f64,
        ramp_start: Option<Instant>,
        tokens: usize,
        next_token: Option<Instant>,
        succeeded_at_ramp: u64,
        increases: u32,
    },
    /// Groups with success and error thresholds and an approval pause (hawkBit rollouts).
    Groups {
        size: usize,
        success: f64,
        error: f64,
        approval: Duration,
        open: usize,
        next_open_at: Option<Instant>,
    },
    /// Site after site, at most `parallel` sites in progress.
    PerSite { parallel: usize },
}

impl StrategyState {
    pub(crate) fn new(s: &Strategy) -> Self {
        match s {
            Strategy::AllAtOnce => StrategyState::AllAtOnce,
            Strategy::Batches { size, pause_h } => StrategyState::Batches {
                size: (*size).max(1) as usize,
                pause: hours(*pause_h),
                open: 1,
                next_open_at: None,
            },
            Strategy::Phases { phases } => {
                // Times are filled in at the first decision, relative to the start.
                let steps = phases
                    .iter()
                    .map(|p| {
                        (
                            Instant::from_micros(hours(p.delay_h).as_micros()),
                            p.percent,
                        )
                    })
                    .collect();
                StrategyState::Phases { steps }
            }
            Strategy::CanaryRamp {
                canary,
                bake_h,
                base_rate_per_min,
                increment_factor,
                increase_after_succeeded,
                max_rate_per_min,
            } => StrategyState::CanaryRamp {
                canary: (*canary).max(1) as usize,
                bake: hours(*bake_h),
                rate: *base_rate_per_min,
                factor: *increment_factor,
                every: u64::from((*increase_after_succeeded).max(1)),
                max_rate: *max_rate_per_min,
                ramp_start: None,
                tokens: 0,
                next_token: None,
                succeeded_at_ramp: 0,
                increases: 0,
            },
            Strategy::Groups {
                group_size,
                success_threshold_pct,
                error_threshold_pct,
                approval_delay_h,
            } => StrategyState::Groups {
                size: (*group_size).max(1) as usize,
                success: *success_threshold_pct,
                error: *error_threshold_pct,
                approval: hours(*approval_delay_h),
                open: 1,
                next_open_at: None,
            },
            Strategy::PerSite { parallel_sites } => StrategyState::PerSite {
                parallel: (*parallel_sites).max(1) as usize,
            },
        }
    }

    /// Turn the phases' relative delays into absolute times, once the rollout starts.
    pub(crate) fn start(&mut self, at: Instant) {
        if let StrategyState::Phases { steps } = self {
            let mut t = at;
            for (when, _) in steps.iter_mut() {
                t += Duration::from_micros(when.as_micros());
                *when = t;
            }
        }
    }

    pub(crate) fn quota(&mut self, now: Instant, f: &FleetView<'_>) -> Quota {
        let n = f.order.len();
        let ended_range =
            |from: usize, to: usize| (from..to.min(n)).all(|i| (f.ended)(i).is_some());
        let failures = |from: usize, to: usize| {
            (from..to.min(n))
                .filter(|i| (f.ended)(*i) == Some(false))
                .count()
        };
        match self {
            StrategyState::AllAtOnce => Quota {
                allowed: n,
                wake: None,
                abort: false,
            },
            StrategyState::Batches {
                size,
                pause,
                open,
                next_open_at,
            } => {
                let end = *open * *size;
                if end < n && ended_range(0, end) {
                    let at = *next_open_at.get_or_insert(now + *pause);
                    if now >= at {
                        *open += 1;
                        *next_open_at = None;
                    } else {
                        return Quota {
                            allowed: end,
                            wake: Some(at),
                            abort: false,
                        };
                    }
                }
                Quota {
                    allowed: (*open * *size).min(n),
                    wake: None,
                    abort: false,
                }
            }
            StrategyState::Phases { steps } => {
                let mut allowed = 0;
                let mut wake = None;
                for (at, pct) in steps.iter() {
                    if *at <= now {
                        allowed = allowed.max(((pct / 100.0) * n as f64).ceil() as usize);
                    } else {
                        wake = Some(*at);
                        break;
                    }
                }
                Quota {
                    allowed: allowed.min(n),
                    wake,
                    abort: false,
                }
            }
            StrategyState::CanaryRamp {
                canary,
                bake,
                rate,
                factor,
                every,
                max_rate,
                ramp_start,
                tokens,
                next_token,
                succeeded_at_ramp,
                increases,
            } => {
                let canary_n = (*canary).min(n);
                if ramp_start.is_none() {
                    if !ended_range(0, canary_n) {
                        return Quota {
                            allowed: canary_n,
                            wake: None,
                            abort: false,
                        };
                    }
                    if failures(0, canary_n) > 0 {
                        return Quota {
                            allowed: canary_n,
                            wake: None,
                            abort: true,
                        };
                    }
                    *ramp_start = Some(now + *bake);
                    *succeeded_at_ramp = f.succeeded;
                }
                let start = ramp_start.unwrap_or(now);
                if now < start {
                    return Quota {
                        allowed: canary_n,
                        wake: Some(start),
                        abort: false,
                    };
                }
                // Raise the rate for every `every` successes since the ramp began.
                let target = ((f.succeeded - *succeeded_at_ramp) / *every) as u32;
                while *increases < target {
                    *increases += 1;
                    *rate = (*rate * *factor).min(*max_rate);
                }
                let interval =
                    |r: f64| Duration::from_micros((60e6 / r.max(1e-9)).round().max(1.0) as u64);
                let mut next = next_token.unwrap_or(start);
                while next <= now && canary_n + *tokens < n {
                    *tokens += 1;
                    next += interval(*rate);
                }
                *next_token = Some(next);
                let allowed = (canary_n + *tokens).min(n);
                Quota {
                    allowed,
                    wake: (allowed < n).then_some(next),
                    abort: false,
                }
            }
            StrategyState::Groups {
                size,
                success,
                error,
                approval,
                open,
                next_open_at,
            } => {
                let start = (*open - 1) * *size;
                let end = (*open * *size).min(n);
                if end < n && ended_range(start, end) {
                    let members = (end - start) as f64;
                    let failed = failures(start, end) as f64;
                    if failed / members * 100.0 > *error {
                        return Quota {
                            allowed: end,
                            wake: None,
                            abort: true,
                        };
                    }
                    if (members - failed) / members * 100.0 >= *success {
                        let at = *next_open_at.get_or_insert(now + *approval);
                        if now >= at {
                            *open += 1;
                            *next_open_at = None;
                        } else {
                            return Quota {
                                allowed: end,
                                wake: Some(at),
                                abort: false,
                            };
                        }
                    } else {
                        // Below the success threshold and above nothing: wait for an operator
                        // who never comes (hawkBit pauses the rollout).
                        return Quota {
                            allowed: end,
                            wake: None,
                            abort: false,
                        };
                    }
                }
                Quota {
                    allowed: (*open * *size).min(n),
                    wake: None,
                    abort: false,
                }
            }
            StrategyState::PerSite { parallel } => {
                // Sites in order; a window of `parallel` sites starting at the first site that
                // has not ended.
                let mut first_open = None;
                let mut i = 0;
                while i < n {
                    let site = (f.site)(i);
                    let mut j = i;
                    while j < n && (f.site)(j) == site {
                        j += 1;
                    }
                    if !ended_range(i, j) {
                        first_open = Some(site);
                        break;
                    }
                    i = j;
                }
                let Some(first) = first_open else {
                    return Quota {
                        allowed: n,
                        wake: None,
                        abort: false,
                    };
                };
                let mut sites_seen = 0;
                let mut allowed = 0;
                let mut last = None;
                for k in 0..n {
                    let site = (f.site)(k);
                    if site < first {
                        allowed = k + 1;
                        continue;
                    }
                    if last != Some(site) {
                        sites_seen += 1;
                        last = Some(site);
                    }
                    if sites_seen > *parallel {
                        break;
                    }
                    allowed = k + 1;
                }
                let _ = f.started;
                Quota {
                    allowed,
                    wake: None,
                    abort: false,
                }
            }
        }
    }
}
