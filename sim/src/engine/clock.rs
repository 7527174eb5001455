//! The engine's clock and main loop, shared by every model the engine runs (the rollout
//! of [`super::Engine`] and the reference model of [`crate::bench`]).
//!
//! Tokio's paused clock is the time source: the loop moves it with `tokio::time::advance`
//! to the start of the wake window ([`WAKE`], 10 ms) of the next event (firing any tokio
//! timer due by then, and yielding to other tasks). Within a window the loop pops the
//! model's own [`EventQueue`] (millisecond [`TICK`] buckets) at microsecond resolution and
//! hands each event to the model, without a task or a tokio timer per event (far too slow
//! for large fleets). `advance` costs less per wake than a `sleep_until` that the runtime
//! auto-advances to, with the same result.
//!
//! The wake window only sets how often tokio runs: events are handled in the same order at
//! the same microsecond instants whatever its length (a run's report does not change with
//! it). Waking tokio once per millisecond tick instead cost about 5 to 10 % of a run's wall
//! time in the runtime's park, clock and metrics bookkeeping.

use icsim_protocol::time::{Duration, Instant};

use super::queue::EventQueue;

/// The engine's tick: the width of the event queue's timing-wheel buckets.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The wake window: the loop wakes tokio at most once per this much simulated time (a whole
/// number of ticks).
pub(crate) const WAKE: Duration = Duration::from_millis(10);

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
/// (every run builds one so); tokio's clock then reads `start` plus the simulated time, to
/// the wake window. `after_wake` is called after every wake window with the model, the
/// window's first event time and the number of events handled so far. Returns the number
/// of events handled.
pub(crate) async fn drive<M: Model>(
    model: &mut M,
    start: Instant,
    end: Instant,
    after_wake: impl FnMut(&mut M, Instant, u64),
) -> u64 {
    drive_in_windows(model, start, end, WAKE, after_wake).await
}

/// [`drive`] with a wake window of `window` (a whole number of ticks).
async fn drive_in_windows<M: Model>(
    model: &mut M,
    start: Instant,
    end: Instant,
    window: Duration,
    mut after_wake: impl FnMut(&mut M, Instant, u64),
) -> u64 {
    let base = tokio::time::Instant::now();
    let mut events = 0u64;
    let stop = end + Duration::from_micros(1);
    while let Some(next) = model.queue().peek_time() {
        if next > end || model.finished() {
            break;
        }
        // Wake the runtime at the window of the next event; tokio's paused clock jumps.
        let window_start =
            Instant::from_micros(next.as_micros() - next.as_micros() % window.as_micros());
        let offset = window_start.saturating_duration_since(start);
        let target = base + std::time::Duration::from_micros(offset.as_micros());
        let now = tokio::time::Instant::now();
        if target > now {
            tokio::time::advance(target - now).await;
        }
        let limit = (window_start + window).min(stop);
        while let Some((now, event)) = model.queue().pop_before(limit) {
            events += 1;
            model.handle(now, event);
            if model.finished() {
                break;
            }
        }
        after_wake(model, next, events);
    }
    events
}

/// A one-shot timer of one entity: the instant its live expiry event is queued for.
///
/// Arming it for an earlier instant leaves the superseded expiry event in the queue; when
/// it comes up, [`TimerSlot::fires`] recognises it as stale and it is dropped (cheaper than
/// removing it from the queue, and deterministic). An entity whose deadline moves later
/// keeps its queued event, and queues the next for its deadline when that one fires: the
/// engine does so for a node's timer, block-fetch for a device's retransmission timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerSlot(Option<Instant>);

impl TimerSlot {
    /// Arm the timer for `at` unless it is already armed for an earlier or the same instant;
    /// returns whether it was armed (and the caller must queue an expiry event for `at`).
    pub(crate) fn arm_if_earlier(&mut self, at: Instant) -> bool {
        let earlier = self.0.is_none_or(|t| at < t);
        if earlier {
            self.0 = Some(at);
        }
        earlier
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose events spawn follow-ups at irregular microsecond offsets, recording
    /// each event with the instant it ran at and what tokio's clock read then.
    struct Spawner {
        queue: EventQueue<u64>,
        start: Instant,
        base: Option<tokio::time::Instant>,
        trace: Vec<(Instant, u64, u64)>,
        state: u64,
    }

    impl Model for Spawner {
        type Event = u64;
        fn queue(&mut self) -> &mut EventQueue<u64> {
            &mut self.queue
        }
        fn handle(&mut self, now: Instant, event: u64) {
            let base = *self.base.get_or_insert_with(tokio::time::Instant::now);
            let tokio_us = (tokio::time::Instant::now() - base).as_micros() as u64;
            self.trace.push((now, event, tokio_us));
            for child in 0..2 {
                // A small LCG: offsets from 0 to about 40 ms, some within the same tick.
                self.state = self
                    .state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let offset = (self.state >> 33) % 40_000;
                if self.trace.len() + self.queue.len() < 5_000 {
                    self.queue
                        .push(now + Duration::from_micros(offset), event * 2 + child);
                }
            }
        }
        fn finished(&self) -> bool {
            false
        }
    }

    fn run(window: Duration) -> Vec<(Instant, u64, u64)> {
        let start = Instant::from_micros(1_000_000_000);
        let mut model = Spawner {
            queue: EventQueue::new(),
            start,
            base: None,
            trace: Vec::new(),
            state: 7,
        };
        model.queue.push(start, 1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let end = start + Duration::from_secs(3_600);
        let events = runtime.block_on(drive_in_windows(
            &mut model,
            start,
            end,
            window,
            |_, _, _| {},
        ));
        assert_eq!(events as usize, model.trace.len());
        let start = model.start;
        model
            .trace
            .into_iter()
            .map(|(now, event, tokio_us)| {
                let sim_us = (now - start).as_micros();
                // Tokio's clock stands at the start of the event's wake window.
                assert!(
                    tokio_us <= sim_us && sim_us - tokio_us < window.as_micros(),
                    "{sim_us} {tokio_us}"
                );
                (now, event, sim_us - sim_us % window.as_micros())
            })
            .collect()
    }

    #[test]
    fn the_wake_window_changes_when_tokio_runs_not_what_the_model_does() {
        let per_tick = run(TICK);
        let per_window = run(WAKE);
        assert!(per_tick.len() >= 4_000, "{}", per_tick.len());
        let strip =
            |t: &[(Instant, u64, u64)]| t.iter().map(|(n, e, _)| (*n, *e)).collect::<Vec<_>>();
        assert_eq!(strip(&per_tick), strip(&per_window));
        assert!(per_tick.windows(2).all(|w| w[0].0 <= w[1].0));
        // Several events share a tick and several ticks share a window.
        let ticks: std::collections::BTreeSet<u64> = per_tick.iter().map(|t| t.2).collect();
        let windows: std::collections::BTreeSet<u64> = per_window.iter().map(|t| t.2).collect();
        assert!(ticks.len() < per_tick.len() && windows.len() < ticks.len());
    }
}
