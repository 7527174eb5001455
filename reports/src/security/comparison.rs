//! The security part of a policy comparison: every attack's totals per policy over the
//! policy's runs (re-exported from [`mod@crate::compare`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::compare::PolicyRuns;

/// The security outcomes of a comparison: per policy, every attack's totals over the
/// policy's runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComparisonSecurity {
    /// One entry per policy, in the order given (a policy none of whose runs has a security
    /// section has `runs` 0 and no attacks).
    pub policies: Vec<PolicySecurity>,
}

/// The attacks against one policy, summed over its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySecurity {
    /// The policy's name.
    pub policy: String,
    /// Its runs that have a security section.
    pub runs: u64,
    /// The defence switches turned off in any of those runs (union, sorted).
    pub defences_off: Vec<String>,
    /// One entry per attack, in the order the attacks first appear in the runs (catalogue
    /// order).
    pub attacks: Vec<AttackTotals>,
}

/// One attack against one policy, summed over the policy's runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackTotals {
    /// The catalogue id (`ATK-...`).
    pub attack: String,
    /// The defence switch(es) expected to stop it (union over the runs, in first-seen
    /// order).
    pub defences: Vec<String>,
    /// Runs in which the attack appears.
    pub runs: u64,
    /// Attempts, summed over the runs.
    pub attempts: u64,
    /// Attempts blocked, by the check that stopped them, summed over the runs.
    pub blocked: BTreeMap<String, u64>,
    /// Attempts that succeeded, summed over the runs.
    pub succeeded: u64,
    /// Runs in which the attack succeeded at least once.
    pub runs_with_success: u64,
}

impl AttackTotals {
    /// The blocked attempts as a table cell: the total, then the count by check in check
    /// order, e.g. `5 (signature: 3, replay: 2)`; `0` when none was blocked.
    pub fn blocked_text(&self) -> String {
        if self.blocked.is_empty() {
            return "0".to_string();
        }
        format!(
            "{} ({})",
            self.blocked_total(),
            super::blocked_list(&self.blocked)
        )
    }

    /// Attempts blocked by any check.
    pub fn blocked_total(&self) -> u64 {
        self.blocked
            .values()
            .fold(0u64, |a, &n| a.saturating_add(n))
    }
}

impl ComparisonSecurity {
    /// The table rows in order (by attack, in [`Self::attack_ids`] order, then by policy in
    /// the order given): policy and the attack's totals against it.
    pub fn rows(&self) -> Vec<(&str, &AttackTotals)> {
        let mut rows = Vec::new();
        for id in self.attack_ids() {
            for p in &self.policies {
                if let Some(a) = p.attacks.iter().find(|a| a.attack == id) {
                    rows.push((p.policy.as_str(), a));
                }
            }
        }
        rows
    }

    /// Whether any attack succeeded in any run of any policy.
    pub fn any_succeeded(&self) -> bool {
        self.policies
            .iter()
            .flat_map(|p| &p.attacks)
            .any(|a| a.succeeded > 0)
    }

    /// The defence switches turned off in any run of any policy (union, sorted).
    pub fn defences_off(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self.policies.iter().flat_map(|p| &p.defences_off).collect();
        all.into_iter().cloned().collect()
    }

    /// The attack ids in the order they first appear over the policies.
    pub fn attack_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for a in self.policies.iter().flat_map(|p| &p.attacks) {
            if !ids.contains(&a.attack) {
                ids.push(a.attack.clone());
            }
        }
        ids
    }

    /// One sentence on the outcome: "With every defence on, no attack succeeded." when
    /// that is so; otherwise which attacks succeeded against which policies (in how many
    /// runs), and which defences were off.
    pub fn verdict(&self) -> String {
        let off = self.defences_off();
        let off_text = if off.is_empty() {
            String::new()
        } else {
            format!(" (defences off: {})", off.join(", "))
        };
        if !self.any_succeeded() {
            return if off.is_empty() {
                "With every defence on, no attack succeeded.".to_string()
            } else {
                format!("No attack succeeded{off_text}.")
            };
        }
        let mut parts = Vec::new();
        for id in self.attack_ids() {
            let against: Vec<String> = self
                .policies
                .iter()
                .filter_map(|p| {
                    let a = p.attacks.iter().find(|a| a.attack == id)?;
                    (a.succeeded > 0)
                        .then(|| format!("{} in {}/{} runs", p.policy, a.runs_with_success, a.runs))
                })
                .collect();
            if !against.is_empty() {
                parts.push(format!("{id} ({})", against.join("; ")));
            }
        }
        let lead = if off.is_empty() {
            "With every defence on, attacks succeeded"
        } else {
            "Attacks succeeded"
        };
        format!("{lead}{off_text}: {}.", parts.join(", "))
    }
}

/// The attacks' totals per policy, or `None` when no run has a security section.
pub(crate) fn security(runs: &[PolicyRuns]) -> Option<ComparisonSecurity> {
    if !runs
        .iter()
        .flat_map(|p| &p.runs)
        .any(|r| r.security.is_some())
    {
        return None;
    }
    let policies = runs
        .iter()
        .map(|p| {
            let mut out = PolicySecurity {
                policy: p.policy.clone(),
                ..PolicySecurity::default()
            };
            let mut off: BTreeSet<&String> = BTreeSet::new();
            let mut index: BTreeMap<&str, usize> = BTreeMap::new();
            for sec in p.runs.iter().filter_map(|r| r.security.as_ref()) {
                out.runs += 1;
                off.extend(&sec.defences_off);
                for a in &sec.attacks {
                    let k = *index.entry(&a.attack).or_insert_with(|| {
                        out.attacks.push(AttackTotals {
                            attack: a.attack.clone(),
                            ..AttackTotals::default()
                        });
                        out.attacks.len() - 1
                    });
                    let t = &mut out.attacks[k];
                    for d in &a.defences {
                        if !t.defences.contains(d) {
                            t.defences.push(d.clone());
                        }
                    }
                    t.runs += 1;
                    t.attempts = t.attempts.saturating_add(a.attempts);
                    for (check, &n) in &a.blocked {
                        let b = t.blocked.entry(check.clone()).or_default();
                        *b = b.saturating_add(n);
                    }
                    t.succeeded = t.succeeded.saturating_add(a.succeeded);
                    t.runs_with_success += u64::from(a.succeeded > 0);
                }
            }
            out.defences_off = off.into_iter().cloned().collect();
            out
        })
        .collect();
    Some(ComparisonSecurity { policies })
}
