//! The engine's clock and main loop, shared by every model the engine runs (the rollout
//! of [`super::Engine`] and the reference model of [`crate::bench`]).
//!
//! Tokio's paused clock is the time source: the loop moves it with `tokio::time::advance`
//! to the millisecond tick of the next event (firing any tokio timer due by then, and
//! yielding to other tasks). Within a tick the loop pops the model's own [`EventQueue`] at
//! microsecond resolution and hands each event to the model, without a task or a tokio
//! timer per event (far too slow for large fleets). `advance` costs less per tick than a
//! `sleep_until` that the runtime auto-advances to, with the same result.

use icsim_protocol::time::{Duration, Instant};

use super::queue::EventQueue;

/// The engine's tick: the loop wakes tokio at most once per millisecond of simulated time.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// A model the clock can drive: its event queue and what it does with each event.
pub(crate) trait Model {
    /// The events of the model.
    type Event;
    /// The model's event queue.
    fn queue(&mut self) -> &mut EventQueue<Self::Event>;
    /// Handle one event due at `now`.
    fn handle(&mut self, now: Instant, event: Self::Event);
    /// Whether the model has finished (the loop then stops before the next event).
    fn finished(&self) -> bool;
}

/// Drive `model` from simulated time `start` until its queue is empty, it has finished, or
/// the next event lies after `end`. Must run on a current-thread runtime with paused time
/// (every run builds one so); tokio's clock then reads `start` plus the simulated time. `after_tick` is called after every tick with the model,
/// the tick's first event time and the number of events handled so far. Returns the number
/// of events handled.
pub(crate) async fn drive<M: Model>(
    model: &mut M,
    start: Instant,
    end: Instant,
    mut after_tick: impl FnMut(&mut M, Instant, u64),
) -> u64 {
    let base = tokio::time::Instant::now();
    let mut events = 0u64;
    let stop = end + Duration::from_micros(1);
    while let Some(next) = model.queue().peek_time() {
        if next > end || model.finished() {
            break;
        }
        // Wake the runtime at the tick of the next event; tokio's paused clock jumps.
        let tick_start =
            Instant::from_micros(next.as_micros() - next.as_micros() % TICK.as_micros());
        let offset = tick_start.saturating_duration_since(start);
        let target = base + std::time::Duration::from_micros(offset.as_micros());
        let now = tokio::time::Instant::now();
        if target > now {
            tokio::time::advance(target - now).await;
        }
        let limit = (tick_start + TICK).min(stop);
        while let Some((now, event)) = model.queue().pop_before(limit) {
            events += 1;
            model.handle(now, event);
            if model.finished() {
                break;
            }
        }
        after_tick(model, next, events);
    }
    events
}

/// A one-shot timer of one entity: the instant its live expiry event is queued for.
///
/// Re-arming or cancelling leaves the superseded expiry event in the queue; when it comes
/// up, [`TimerSlot::fires`] recognises it as stale and it is dropped (cheaper than removing
/// it from the heap, and deterministic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerSlot(Option<Instant>);

impl TimerSlot {
    /// Arm the timer for `at`, superseding any earlier arming. The caller queues the expiry
    /// event for `at`.
    pub(crate) fn arm(&mut self, at: Instant) {
        self.0 = Some(at);
    }

    /// Arm the timer for `at` unless it is already armed for an earlier or the same instant;
    /// returns whether it was armed (and the caller must queue an expiry event for `at`).
    pub(crate) fn arm_if_earlier(&mut self, at: Instant) -> bool {
        let earlier = self.0.is_none_or(|t| at < t);
        if earlier {
            self.0 = Some(at);
        }
        earlier
    }

    /// Disarm the timer: its queued expiry event becomes stale.
    pub(crate) fn cancel(&mut self) {
        self.0 = None;
    }

    /// Whether an expiry event due at `now` is the live one; if so the timer is disarmed.
    pub(crate) fn fires(&mut self, now: Instant) -> bool {
        let live = self.0 == Some(now);
        if live {
            self.0 = None;
        }
        live
    }
}
