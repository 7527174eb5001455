//! Validation of rollout policies and the common rollout knobs.

use super::{
    Check, JsonPath, Names, at_least, first_indices, non_negative, positive, unique_name, within,
};
use crate::scenario::error::{Rule, ScenarioError};
use crate::scenario::model::{Abort, InstallTiming, Scenario, Strategy};

/// `policies`: unique names, valid strategies and overrides.
pub(super) fn policies(path: &JsonPath, scenario: &Scenario) -> Check {
    let mut names: Names<'_> = first_indices(std::iter::empty());
    for (i, p) in scenario.policies.iter().enumerate() {
        let at = path.index(i);
        unique_name(&at.field("name"), &p.name, i, path, &mut names, "policy")?;
        strategy(&at.field("strategy"), &p.strategy)?;
        if let Some(c) = p.concurrency {
            at_least(&at.field("concurrency"), c, 1)?;
        }
        if let Some(b) = p.cell_budget {
            at_least(&at.field("cell_budget"), b, 1)?;
        }
        if let Some(a) = &p.abort {
            abort(&at.field("abort"), a)?;
        }
        if let Some(h) = p.approval_delay_h {
            non_negative(&at.field("approval_delay_h"), h)?;
        }
        if let Some(h) = p.device_timeout_h {
            positive(&at.field("device_timeout_h"), h)?;
        }
        if p.install == Some(InstallTiming::Window) {
            windows_everywhere(&at.field("install"), scenario)?;
        }
    }
    Ok(())
}

/// The common knobs of `rollout`.
pub(super) fn knobs(path: &JsonPath, scenario: &Scenario) -> Check {
    let r = &scenario.rollout;
    if let Some(b) = r.cell_budget {
        at_least(&path.field("cell_budget"), b, 1)?;
    }
    if let Some(a) = &r.abort {
        abort(&path.field("abort"), a)?;
    }
    non_negative(&path.field("approval_delay_h"), r.approval_delay_h)?;
    positive(&path.field("device_timeout_h"), r.device_timeout_h)?;
    defences_and_attackers(scenario)
}

/// `defences`: known switch names; `attackers`: known attacks at known sites.
fn defences_and_attackers(scenario: &Scenario) -> Check {
    let root = JsonPath::root();
    let known: Vec<&str> = icsim_protocol::verify::Defences::NAMES
        .iter()
        .copied()
        .chain(crate::engine::build::SIM_SWITCHES)
        .collect();
    for name in scenario.defences.keys() {
        if !known.contains(&name.as_str()) {
            return Err(ScenarioError::new(
                root.field("defences").field(name).to_string(),
                Rule::Choice,
                format!("unknown defence {name:?} (known: {})", known.join(", ")),
            ));
        }
    }
    for (i, a) in scenario.attackers.iter().enumerate() {
        let at = root.field("attackers").index(i);
        if crate::engine::attacks::entry(&a.attack).is_none() {
            let ids: Vec<&str> = crate::engine::attacks::CATALOGUE
                .iter()
                .map(|(id, _, _)| *id)
                .collect();
            return Err(ScenarioError::new(
                at.field("attack").to_string(),
                Rule::Choice,
                format!(
                    "unknown attack {:?} (the catalogue: {})",
                    a.attack,
                    ids.join(", ")
                ),
            ));
        }
        if let Some(site) = &a.site
            && !scenario.sites.iter().any(|s| s.name == *site)
        {
            return Err(ScenarioError::new(
                at.field("site").to_string(),
                Rule::Reference,
                format!("no site named {site:?}"),
            ));
        }
        non_negative(&at.field("start_h"), a.start_h)?;
        at_least(&at.field("attempts"), a.attempts, 1)?;
        within(&at.field("probability"), a.probability, 0.0, 1.0)?;
    }
    Ok(())
}

fn abort(path: &JsonPath, a: &Abort) -> Check {
    within(&path.field("failure_pct"), a.failure_pct, 0.0, 100.0)
}

fn windows_everywhere(path: &JsonPath, scenario: &Scenario) -> Check {
    let bare = scenario
        .sites
        .iter()
        .enumerate()
        .find(|(_, s)| s.maintenance_window.is_none() && s.devices.iter().any(|g| g.count > 0));
    match bare {
        Some((i, site)) => Err(ScenarioError::new(
            path.to_string(),
            Rule::Consistency,
            format!(
                "\"window\" needs a maintenance window at every site with devices, but sites[{i}] ({:?}) has none",
                site.name
            ),
        )
        .with_value("\"window\"")),
        None => Ok(()),
    }
}

fn strategy(path: &JsonPath, s: &Strategy) -> Check {
    match s {
        Strategy::AllAtOnce => Ok(()),
        Strategy::Batches { size, pause_h } => {
            at_least(&path.field("size"), *size, 1)?;
            non_negative(&path.field("pause_h"), *pause_h)
        }
        Strategy::Phases { phases } => {
            if phases.is_empty() {
                return Err(ScenarioError::new(
                    path.field("phases").to_string(),
                    Rule::Empty,
                    "must not be empty",
                ));
            }
            let mut previous = 0.0;
            for (i, p) in phases.iter().enumerate() {
                let at = path.field("phases").index(i);
                within(&at.field("percent"), p.percent, 0.0, 100.0)?;
                if p.percent < previous {
                    return Err(ScenarioError::new(
                        at.field("percent").to_string(),
                        Rule::Consistency,
                        format!("phases are cumulative: must not be below the previous {previous}"),
                    ));
                }
                previous = p.percent;
                non_negative(&at.field("delay_h"), p.delay_h)?;
            }
            if previous < 100.0 {
                let last = path
                    .field("phases")
                    .index(phases.len() - 1)
                    .field("percent");
                return Err(ScenarioError::new(
                    last.to_string(),
                    Rule::Consistency,
                    "the last phase must open 100 percent",
                ));
            }
            Ok(())
        }
        Strategy::CanaryRamp {
            canary,
            bake_h,
            base_rate_per_min,
            increment_factor,
            increase_after_succeeded,
            max_rate_per_min,
        } => {
            at_least(&path.field("canary"), *canary, 1)?;
            non_negative(&path.field("bake_h"), *bake_h)?;
            positive(&path.field("base_rate_per_min"), *base_rate_per_min)?;
            within(
                &path.field("increment_factor"),
                *increment_factor,
                1.0,
                100.0,
            )?;
            at_least(
                &path.field("increase_after_succeeded"),
                *increase_after_succeeded,
                1,
            )?;
            positive(&path.field("max_rate_per_min"), *max_rate_per_min)?;
            if max_rate_per_min < base_rate_per_min {
                return Err(ScenarioError::new(
                    path.field("max_rate_per_min").to_string(),
                    Rule::Consistency,
                    "must not be below base_rate_per_min",
                ));
            }
            Ok(())
        }
        Strategy::Groups {
            group_size,
            success_threshold_pct,
            error_threshold_pct,
            approval_delay_h,
        } => {
            at_least(&path.field("group_size"), *group_size, 1)?;
            within(
                &path.field("success_threshold_pct"),
                *success_threshold_pct,
                0.0,
                100.0,
            )?;
            within(
                &path.field("error_threshold_pct"),
                *error_threshold_pct,
                0.0,
                100.0,
            )?;
            non_negative(&path.field("approval_delay_h"), *approval_delay_h)
        }
        Strategy::PerSite { parallel_sites } => {
            at_least(&path.field("parallel_sites"), *parallel_sites, 1)
        }
    }
}
