//! The floor of a discrete-event engine on this host: a bare binary-heap event loop and
//! nothing else (see docs/performance.md, "What the targets need of this host").
//!
//! `N` entities each keep one event pending; each event popped schedules its entity's next
//! one 1 to 100 ms later (microseconds, xorshift draws). No model, no link, no protocol:
//! what is left of an event when everything but the queue costs nothing. Issue 7 quotes
//! about 12 million events a second for such a loop.
//!
//! Build and run (no dependencies):
//!   rustc --edition 2024 -C opt-level=3 tools/perf/bare-heap.rs -o /tmp/bare-heap
//!   /tmp/bare-heap N EVENTS        # e.g. 500 25650000 (fleet-10k's jobs and events)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // Every argument must be a positive integer: one that is not makes the whole line a
    // usage error, rather than being skipped.
    let args: Option<Vec<u64>> = std::env::args()
        .skip(1)
        .map(|a| a.replace('_', "").parse().ok().filter(|&v: &u64| v > 0))
        .collect();
    let Some([n, events]) = args.as_deref().and_then(|a| <[u64; 2]>::try_from(a).ok()) else {
        eprintln!("usage: bare-heap N EVENTS (two positive integers)");
        return ExitCode::from(2);
    };
    let Ok(entities) = u32::try_from(n) else {
        eprintln!("bare-heap: N must be below 2^32");
        return ExitCode::from(2);
    };
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut draw = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut heap = BinaryHeap::with_capacity(entities as usize);
    for entity in 0..entities {
        heap.push(Reverse((draw() % 100_000, entity)));
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..events {
        let Some(Reverse((at_us, entity))) = heap.pop() else {
            break;
        };
        checksum = checksum.wrapping_add(at_us ^ u64::from(entity));
        heap.push(Reverse((at_us + 1_000 + draw() % 99_000, entity)));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"n\":{n},\"events\":{events},\"wall_s\":{secs:.3},\"events_per_s\":{:.0},\"checksum\":{checksum}}}",
        events as f64 / secs
    );
    ExitCode::SUCCESS
}
