//! The run-wide crypto memo (issue 7): with it on, identical verifications, decryptions and
//! digests are computed once and equal payload blocks are shared, yet every simulated
//! outcome is the same as with every operation computed (`--no-crypto-cache`), on a normal
//! rollout and under every attack of the catalogue (tampered, forged, replayed bytes).

use icsim_reports::RunReport;
use icsim_sim::scenario::load_str;
use icsim_sim::{RunOptions, run_with};

fn run(text: &str, crypto_cache: bool) -> RunReport {
    let scenario = load_str(text).expect("a valid scenario");
    run_with(
        &scenario,
        None,
        None,
        &RunOptions { crypto_cache },
        &mut |_| {},
    )
    .expect("the run completes")
}

/// Runs `text` both ways; checks the reports differ in the host counts only and returns
/// the counts of the memoised run.
fn same_outcome_both_ways(text: &str) -> icsim_reports::model::HostCrypto {
    let on = run(text, true);
    let off = run(text, false);
    let (host_on, host_off) = (on.engine.host_crypto, off.engine.host_crypto);
    assert!(host_on.cache && !host_off.cache);
    let strip = |mut r: RunReport| {
        r.engine.host_crypto = Default::default();
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(
        strip(on),
        strip(off),
        "the memo changed a simulated outcome"
    );
    // Off, no cryptographic result is reused; on, the same operations are done, split
    // differently. Payload blocks are shared either way (memory, not cryptography).
    for (on, off) in [
        (
            host_on.signature_verifications,
            host_off.signature_verifications,
        ),
        (host_on.payload_decryptions, host_off.payload_decryptions),
        (host_on.image_digests, host_off.image_digests),
    ] {
        assert_eq!(off.reused, 0);
        assert_eq!(on.executed + on.reused, off.executed);
    }
    assert_eq!(host_on.payload_blocks, host_off.payload_blocks);
    host_on
}

#[test]
fn a_rollout_computes_each_distinct_operation_once() {
    let host = same_outcome_both_ways(include_str!("../../scenarios/quickstart.json"));
    // Hundreds of devices check a few distinct envelopes and payloads.
    let v = host.signature_verifications;
    assert!(v.reused > 10 * v.executed, "{v:?}");
    let d = host.payload_decryptions;
    assert!(d.reused > 10 * d.executed, "{d:?}");
    let b = host.payload_blocks;
    assert!(b.reused > 10 * b.executed, "{b:?}");
}

#[test]
fn attacks_get_the_same_verdicts_with_the_memo() {
    let host = same_outcome_both_ways(include_str!("../../scenarios/attacks.json"));
    assert!(host.signature_verifications.reused > 0);
}
