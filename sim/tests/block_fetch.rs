//! The block-fetch reference model (`../shared/bench/BLOCK_FETCH.md`) on icsim's engine: its
//! statistics agree with the spec's analytic expectations within the sampling error, the tie
//! rule holds, and runs are reproducible.

use icsim_sim::bench::{BlockFetch, BlockFetchError, BlockFetchOutcome, BlockFetchParams};

fn run(params: BlockFetchParams) -> BlockFetchOutcome {
    BlockFetch::new(params)
        .expect("valid parameters")
        .run()
        .expect("the run completes")
}

/// The spec's analytic expectations for `p`: mean and std of one device's completion time
/// (ms), messages and timeouts per block.
struct Expected {
    mean: f64,
    std: f64,
    messages_per_block: f64,
    timeouts_per_block: f64,
    /// Variance of the timeouts of one block (geometric number of failed attempts).
    timeouts_var: f64,
}

fn expected(p: &BlockFetchParams) -> Expected {
    let q = (1.0 - p.loss).powi(2);
    let b = f64::from(p.blocks);
    let (lmin, lmax, t) = (
        p.lat_min_ms as f64,
        p.lat_max_ms as f64,
        p.timeout_ms as f64,
    );
    let width = lmax - lmin + 1.0;
    Expected {
        mean: b * ((lmin + lmax) + t * (1.0 - q) / q),
        std: (b * (2.0 * (width * width - 1.0) / 12.0 + t * t * (1.0 - q) / (q * q))).sqrt(),
        messages_per_block: (2.0 - p.loss) / q,
        timeouts_per_block: (1.0 - q) / q,
        timeouts_var: (1.0 - q) / (q * q),
    }
}

/// Checks one run against the expectations, within `z` standard errors.
fn agrees(p: &BlockFetchParams, o: &BlockFetchOutcome, z: f64) {
    let e = expected(p);
    let n = f64::from(p.n);
    let blocks = n * f64::from(p.blocks);
    let se_mean = e.std / n.sqrt();
    assert!(
        (o.mean_completion_ms - e.mean).abs() < z * se_mean,
        "mean {} vs {} (se {se_mean:.1})",
        o.mean_completion_ms,
        e.mean
    );
    // The standard error of a sample std is about std / sqrt(2n) for a near-normal shape;
    // the completion time is a sum of many attempts, so near enough.
    let se_std = e.std / (2.0 * n).sqrt();
    assert!(
        (o.std_completion_ms - e.std).abs() < z * se_std,
        "std {} vs {} (se {se_std:.1})",
        o.std_completion_ms,
        e.std
    );
    let se_timeouts = (e.timeouts_var / blocks).sqrt();
    let timeouts_per_block = o.timeouts as f64 / blocks;
    assert!(
        (timeouts_per_block - e.timeouts_per_block).abs() < z * se_timeouts,
        "timeouts per block {timeouts_per_block} vs {}",
        e.timeouts_per_block
    );
    // Messages per block = 2 + (messages of failed attempts): its spread is that of the
    // timeouts, scaled by at most two messages per failed attempt.
    let messages_per_block = o.messages_sent as f64 / blocks;
    assert!(
        (messages_per_block - e.messages_per_block).abs() < 2.0 * z * se_timeouts,
        "messages per block {messages_per_block} vs {}",
        e.messages_per_block
    );
    // Every lost message costs exactly one timeout when the round trip is below T.
    assert_eq!(o.messages_lost, o.timeouts);
    assert_eq!(o.events, o.messages_sent + o.timeouts);
    assert!(o.p50_completion_ms <= o.p99_completion_ms);
    assert!(o.p99_completion_ms <= o.max_completion_ms);
    assert!(o.max_completion_ms <= o.last_completion_ms);
    assert!(o.last_completion_ms < o.max_completion_ms + p.start_window_ms);
    // Each device needs at least 2 messages per block and its fastest round trips.
    assert!(o.messages_sent >= 2 * u64::from(p.n) * u64::from(p.blocks));
}

#[test]
fn the_defaults_agree_with_the_analytic_expectations() {
    let p = BlockFetchParams::default();
    let e = expected(&p);
    // The spec's own figures, as a check of the formulas above.
    assert!((e.mean - 1971.4).abs() < 0.1, "{}", e.mean);
    assert!((e.std - 279.1).abs() < 0.1, "{}", e.std);
    assert!((e.messages_per_block - 2.1607).abs() < 1e-4);
    for seed in [1, 2, 3] {
        let o = run(BlockFetchParams { seed, ..p });
        agrees(&p, &o, 4.0);
    }
}

#[test]
fn other_parameters_agree_too() {
    let p = BlockFetchParams {
        n: 2_000,
        blocks: 16,
        lat_min_ms: 1,
        lat_max_ms: 40,
        loss: 0.2,
        timeout_ms: 90,
        start_window_ms: 5_000,
        seed: 7,
    };
    agrees(&p, &run(p), 4.0);
}

#[test]
fn a_response_in_the_millisecond_of_the_expiry_wins() {
    // Round trip exactly T and no loss: every response meets its timer's expiry.
    let p = BlockFetchParams {
        n: 50,
        blocks: 10,
        lat_min_ms: 50,
        lat_max_ms: 50,
        loss: 0.0,
        timeout_ms: 100,
        ..BlockFetchParams::default()
    };
    let o = run(p);
    assert_eq!(o.timeouts, 0, "the delivery must cancel the timer");
    assert_eq!(o.messages_sent, 2 * 50 * 10);
    assert_eq!(o.mean_completion_ms, 1_000.0);
    assert_eq!(o.std_completion_ms, 0.0);
    assert_eq!(o.max_completion_ms, 1_000);
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let p = BlockFetchParams {
        n: 300,
        ..BlockFetchParams::default()
    };
    let a = run(p);
    assert_eq!(a, run(p));
    let b = run(BlockFetchParams { seed: 2, ..p });
    assert_ne!(a, b);
}

#[test]
fn unusable_parameters_are_refused_by_name() {
    let bad = [
        (
            "n",
            BlockFetchParams {
                n: 0,
                ..Default::default()
            },
        ),
        (
            "blocks",
            BlockFetchParams {
                blocks: 0,
                ..Default::default()
            },
        ),
        (
            "loss",
            BlockFetchParams {
                loss: 1.0,
                ..Default::default()
            },
        ),
        (
            "loss",
            BlockFetchParams {
                loss: f64::NAN,
                ..Default::default()
            },
        ),
        (
            "lat-min",
            BlockFetchParams {
                lat_min_ms: 20,
                ..Default::default()
            },
        ),
        (
            "timeout",
            BlockFetchParams {
                timeout_ms: 0,
                ..Default::default()
            },
        ),
        (
            "start-window",
            BlockFetchParams {
                start_window_ms: 0,
                ..Default::default()
            },
        ),
        (
            "start-window",
            BlockFetchParams {
                start_window_ms: u64::MAX,
                ..Default::default()
            },
        ),
    ];
    for (flag, p) in bad {
        match BlockFetch::new(p) {
            Err(BlockFetchError::Parameter { flag: f, .. }) => assert_eq!(f, flag, "{p:?}"),
            Err(e) => panic!("{p:?}: {e}"),
            Ok(_) => panic!("{p:?} accepted"),
        }
    }
}
