//! `icsim validate FILE` and `icsim schema`: check a scenario file, print the format's JSON
//! Schema.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use icsim_sim::scenario::{self, Rule};

/// Load and validate `path`; print a one-line summary on success. Errors name the file and
/// the JSON path of the bad value, and nothing is written to stdout.
pub(crate) fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let scenario = scenario::load_file(path).map_err(|e| {
        // A read error already names the file; a validation error names the JSON path.
        if e.rule() == Rule::Read {
            anyhow!(e)
        } else {
            anyhow!("{}: {e}", path.display())
        }
    })?;
    let devices: u64 = scenario
        .sites
        .iter()
        .flat_map(|site| &site.devices)
        .map(|group| u64::from(group.count))
        .sum();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "{}: valid scenario {:?}: {devices} devices in {}, {}, {}",
        path.display(),
        scenario.name,
        count(scenario.sites.len(), "site", "sites"),
        count(
            scenario.device_classes.len(),
            "device class",
            "device classes"
        ),
        count(scenario.updates.len(), "update", "updates"),
    );
    Ok(ExitCode::SUCCESS)
}

/// Print the JSON Schema of scenario files.
pub(crate) fn schema() -> anyhow::Result<ExitCode> {
    println!("{}", scenario::json_schema());
    Ok(ExitCode::SUCCESS)
}
