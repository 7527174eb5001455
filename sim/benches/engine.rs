//! Criterion benchmarks of the engine: the block-fetch reference model (the engine's clock,
//! queue, timers and links with no protocol above them) and a whole quickstart rollout
//! (300 PLCs running the real protocol), with the crypto memo on and off.
//!
//! Run with `cargo bench -p icsim-sim`; add `-- --warm-up-time 1 --measurement-time 5` for
//! a quicker pass. `icsim bench block-fetch` gives the spec's JSON line for comparisons
//! with other engines.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icsim_sim::bench::{BlockFetch, BlockFetchParams};
use icsim_sim::scenario::load_str;
use icsim_sim::{RunOptions, run_with};

fn block_fetch(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    for n in [1_000, 10_000] {
        let params = BlockFetchParams {
            n,
            ..BlockFetchParams::default()
        };
        let events = BlockFetch::new(params)
            .and_then(BlockFetch::run)
            .expect("the model runs")
            .events;
        group.throughput(Throughput::Elements(events));
        group.sample_size(10);
        group.bench_function(format!("block_fetch_n{n}"), |b| {
            b.iter(|| {
                let outcome = BlockFetch::new(black_box(params))
                    .and_then(BlockFetch::run)
                    .expect("the model runs");
                assert_eq!(outcome.events, events);
                outcome
            })
        });
    }
    group.finish();
}

fn quickstart(c: &mut Criterion) {
    let scenario = load_str(include_str!("../../scenarios/quickstart.json")).expect("valid");
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for crypto_cache in [true, false] {
        let options = RunOptions { crypto_cache };
        let name = if crypto_cache {
            "quickstart_memo_on"
        } else {
            "quickstart_memo_off"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = run_with(&scenario, None, None, &options, &mut |_| {})
                    .expect("the run completes");
                assert_eq!(report.completion.patched, report.fleet.devices_to_update);
                report
            })
        });
    }
    group.finish();
}

criterion_group!(benches, block_fetch, quickstart);
criterion_main!(benches);
