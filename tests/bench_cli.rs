//! `icsim bench block-fetch`: prints the spec's JSON line; unusable flags exit with 2 and
//! name the flag.

use std::process::{Command, Output};

fn icsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icsim"))
        .args(args)
        .output()
        .expect("the icsim binary runs")
}

#[test]
fn block_fetch_prints_the_spec_line() {
    let o = icsim(&[
        "bench",
        "block-fetch",
        "--n=200",
        "--blocks",
        "16",
        "--seed=3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    for key in [
        "engine",
        "n",
        "blocks",
        "lat_min",
        "lat_max",
        "loss",
        "timeout",
        "start_window",
        "seed",
        "last_completion_ms",
        "mean_completion_ms",
        "std_completion_ms",
        "p50_completion_ms",
        "p99_completion_ms",
        "max_completion_ms",
        "messages_sent",
        "messages_lost",
        "timeouts",
        "events",
        "wall_s",
        "events_per_s",
    ] {
        assert!(line.get(key).is_some(), "no {key} in {out}");
    }
    assert_eq!(line["engine"], "icsim");
    assert_eq!(line["n"], 200);
    assert_eq!(line["blocks"], 16);
    assert_eq!(line["seed"], 3);
    let events = line["events"].as_u64().unwrap();
    assert_eq!(
        events,
        line["messages_sent"].as_u64().unwrap() + line["timeouts"].as_u64().unwrap()
    );
    assert!(events >= 2 * 200 * 16);
}

#[test]
fn unusable_flags_exit_2_and_name_the_flag() {
    for (args, flag) in [
        (vec!["--loss", "1"], "--loss"),
        (vec!["--lat-min", "30"], "--lat-min"),
        (vec!["--n", "0"], "--n"),
        (vec!["--n", "many"], "--n"),
    ] {
        let mut all = vec!["bench", "block-fetch"];
        all.extend(args.iter().copied());
        let o = icsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
