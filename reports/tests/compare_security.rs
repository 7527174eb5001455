//! The security section of `compare`: aggregation over the runs, JSON, Markdown and HTML.

mod common;

use std::collections::BTreeMap;

use common::{run, times};
use icsim_reports::compare::{ComparisonSecurity, run_metrics};
use icsim_reports::model::{AttackOutcome, RunReport, SecurityReport};
use icsim_reports::{
    ComparisonReport, PolicyRuns, compare, comparison_json, render_comparison_summary, render_html,
};

fn attack(id: &str, attempts: u64, blocked: &[(&str, u64)], succeeded: u64) -> AttackOutcome {
    AttackOutcome {
        attack: id.to_string(),
        defences: vec![format!("def-{id}")],
        attempts,
        blocked: blocked
            .iter()
            .map(|&(c, n)| (c.to_string(), n))
            .collect::<BTreeMap<_, _>>(),
        succeeded,
        effect: "synthetic".to_string(),
    }
}

fn with_security(seed: u64, off: &[&str], attacks: Vec<AttackOutcome>) -> RunReport {
    let mut r = run(seed, 10, &times(10, 0.5, 0.1), 0.5, 4.0);
    r.security = Some(SecurityReport {
        defences_off: off.iter().map(|s| s.to_string()).collect(),
        attacks,
    });
    r
}

/// "secure": every defence on, every attempt blocked; "ablated": signature checks off in
/// two runs, ATK-SIG succeeds in those.
fn sample() -> ComparisonReport {
    let secure = (1..=3)
        .map(|s| {
            with_security(
                s,
                &[],
                vec![
                    attack("ATK-SIG", 4, &[("signature", 4)], 0),
                    attack("ATK-REPLAY", 2, &[("nonce", 1), ("token", 1)], 0),
                ],
            )
        })
        .collect();
    let ablated = vec![
        with_security(
            1,
            &["signature"],
            vec![
                attack("ATK-SIG", 4, &[], 4),
                attack("ATK-REPLAY", 2, &[("nonce", 2)], 0),
            ],
        ),
        with_security(
            2,
            &[],
            vec![
                attack("ATK-SIG", 3, &[("signature", 3)], 0),
                attack("ATK-REPLAY", 2, &[("nonce", 2)], 0),
            ],
        ),
        with_security(
            3,
            &["signature", "anti_rollback"],
            vec![
                attack("ATK-SIG", 5, &[("signature", 1)], 4),
                attack("ATK-REPLAY", 1, &[("token", 1)], 0),
            ],
        ),
    ];
    compare(vec![
        PolicyRuns {
            policy: "secure".into(),
            runs: secure,
        },
        PolicyRuns {
            policy: "ablated".into(),
            runs: ablated,
        },
    ])
}

fn security(r: &ComparisonReport) -> &ComparisonSecurity {
    r.security.as_ref().expect("a security section")
}

#[test]
fn totals_per_policy_and_attack() {
    let r = sample();
    let sec = security(&r);
    assert_eq!(sec.policies.len(), 2);
    let secure = &sec.policies[0];
    assert_eq!(secure.policy, "secure");
    assert_eq!(secure.runs, 3);
    assert!(secure.defences_off.is_empty());
    let ids: Vec<&str> = secure.attacks.iter().map(|a| a.attack.as_str()).collect();
    assert_eq!(ids, ["ATK-SIG", "ATK-REPLAY"]);
    let sig = &secure.attacks[0];
    assert_eq!((sig.runs, sig.attempts, sig.succeeded), (3, 12, 0));
    assert_eq!(sig.runs_with_success, 0);
    assert_eq!(sig.blocked.get("signature"), Some(&12));
    assert_eq!(sig.defences, ["def-ATK-SIG"]);
    let replay = &secure.attacks[1];
    assert_eq!(replay.attempts, 6);
    assert_eq!(replay.blocked.get("nonce"), Some(&3));
    assert_eq!(replay.blocked.get("token"), Some(&3));
    assert_eq!(replay.blocked_total(), 6);

    let ablated = &sec.policies[1];
    assert_eq!(ablated.runs, 3);
    assert_eq!(ablated.defences_off, ["anti_rollback", "signature"]);
    let sig = &ablated.attacks[0];
    assert_eq!(sig.attack, "ATK-SIG");
    assert_eq!(
        (sig.attempts, sig.succeeded, sig.runs_with_success),
        (12, 8, 2)
    );
    assert_eq!(sig.blocked.get("signature"), Some(&4));
    assert_eq!(sig.blocked_text(), "4 (signature: 4)");
    let replay = &ablated.attacks[1];
    assert_eq!((replay.attempts, replay.succeeded), (5, 0));
    assert_eq!(replay.blocked_text(), "5 (nonce: 4, token: 1)");

    assert!(sec.any_succeeded());
    assert_eq!(sec.defences_off(), ["anti_rollback", "signature"]);
    let rows: Vec<(&str, &str)> = sec
        .rows()
        .into_iter()
        .map(|(p, a)| (a.attack.as_str(), p))
        .collect();
    assert_eq!(
        rows,
        [
            ("ATK-SIG", "secure"),
            ("ATK-SIG", "ablated"),
            ("ATK-REPLAY", "secure"),
            ("ATK-REPLAY", "ablated"),
        ]
    );
}

#[test]
fn succeeded_metric() {
    let r = sample();
    let m = r.policies[1].metric("security.succeeded").unwrap();
    assert_eq!(m.n, 3);
    assert!((m.mean - 8.0 / 3.0).abs() < 1e-12);
    assert_eq!(
        r.policies[0].metric("security.succeeded").unwrap().mean,
        0.0
    );
    let plain = run(1, 10, &times(10, 0.5, 0.1), 0.5, 4.0);
    assert!(!run_metrics(&plain).contains_key("security.succeeded"));
}

#[test]
fn rendered_sections() {
    let r = sample();
    let md = render_comparison_summary(&r);
    assert!(md.contains("\n## Security\n"), "{md}");
    assert!(md.contains(
        "| attack | policy | attempts | blocked (by check: n, ...) | succeeded | runs with a success |"
    ));
    assert!(
        md.contains("| ATK-SIG | ablated | 12 | 4 (signature: 4) | 8 | 2/3 |"),
        "{md}"
    );
    assert!(md.contains("| ATK-REPLAY | secure | 6 | 6 (nonce: 3, token: 3) | 0 | 0/3 |"));
    assert!(md.contains("Attacks succeeded (defences off: anti_rollback, signature): ATK-SIG (ablated in 2/3 runs)."), "{md}");
    assert!(md.contains("- defences off for secure: none"));
    assert!(md.contains("- defences off for ablated: anti_rollback, signature"));
    // The section sits before the per-policy metrics.
    assert!(md.find("## Security").unwrap() < md.find("## secure").unwrap());

    let html = render_html(&r, &[]);
    assert!(html.contains("<h2 id=\"security\">Security</h2>"));
    assert!(html.contains("<th>runs with a success</th>"));
    assert!(html.contains("<td class=\"n\">8</td><td class=\"n\">2/3</td>"));
    assert!(html.contains("ATK-SIG (ablated in 2/3 runs)"));

    let json = comparison_json(&r);
    assert!(json.contains("\"security\""));
    assert!(json.contains("\"runs_with_success\": 2"));
    let back: ComparisonReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.security, r.security);
}

#[test]
fn every_defence_on_and_nothing_succeeded() {
    let r = compare(vec![PolicyRuns {
        policy: "secure".into(),
        runs: (1..=2)
            .map(|s| with_security(s, &[], vec![attack("ATK-SIG", 2, &[("signature", 2)], 0)]))
            .collect(),
    }]);
    let sec = security(&r);
    assert!(!sec.any_succeeded());
    assert_eq!(sec.verdict(), "With every defence on, no attack succeeded.");
    let md = render_comparison_summary(&r);
    assert!(md.contains("With every defence on, no attack succeeded."));
    assert!(!md.contains("defences off for"));
    assert!(render_html(&r, &[]).contains("With every defence on, no attack succeeded."));
}

#[test]
fn defences_off_but_nothing_succeeded() {
    let r = compare(vec![PolicyRuns {
        policy: "p".into(),
        runs: vec![with_security(
            1,
            &["signature"],
            vec![attack("ATK-X", 1, &[("other", 1)], 0)],
        )],
    }]);
    assert_eq!(
        security(&r).verdict(),
        "No attack succeeded (defences off: signature)."
    );
}

#[test]
fn mixed_runs_count_only_those_with_a_section() {
    let mut runs = vec![with_security(1, &[], vec![attack("ATK-X", 3, &[], 1)])];
    runs.push(run(2, 10, &times(10, 0.5, 0.1), 0.5, 4.0));
    let r = compare(vec![
        PolicyRuns {
            policy: "a".into(),
            runs,
        },
        PolicyRuns {
            policy: "b".into(),
            runs: vec![run(1, 10, &times(10, 0.5, 0.1), 0.5, 4.0)],
        },
    ]);
    let sec = security(&r);
    assert_eq!(sec.policies[0].runs, 1);
    assert_eq!(sec.policies[0].attacks[0].runs_with_success, 1);
    assert_eq!(sec.policies[1].runs, 0);
    assert!(sec.policies[1].attacks.is_empty());
    assert_eq!(
        sec.verdict(),
        "With every defence on, attacks succeeded: ATK-X (a in 1/1 runs)."
    );
    // The run without a section counts 0 successes in the metric.
    let m = r.policies[0].metric("security.succeeded").unwrap();
    assert_eq!((m.n, m.mean), (2, 0.5));
}

#[test]
fn no_security_data_no_section() {
    let r = compare(vec![PolicyRuns {
        policy: "plain".into(),
        runs: (1..=2)
            .map(|s| run(s, 10, &times(10, 0.5, 0.1), 0.5, 4.0))
            .collect(),
    }]);
    assert!(r.security.is_none());
    assert!(!comparison_json(&r).contains("\"security\""));
    assert!(!render_comparison_summary(&r).contains("Security"));
    assert!(!render_html(&r, &[]).contains("Security"));
    assert!(!r.policies[0].metrics.contains_key("security.succeeded"));
    // Older comparison JSON (without the field) still reads.
    let back: ComparisonReport = serde_json::from_str(&comparison_json(&r)).unwrap();
    assert_eq!(back.security, None);
}

#[test]
fn deterministic() {
    assert_eq!(comparison_json(&sample()), comparison_json(&sample()));
    assert_eq!(
        render_comparison_summary(&sample()),
        render_comparison_summary(&sample())
    );
}
