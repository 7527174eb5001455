//! End to end through the binary: `icsim validate FILE` on the shipped scenarios and on
//! every malformed file of `tests/bad_scenarios/`, and `icsim schema`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Each malformed file with the JSON path its error must name.
const BAD: &[(&str, &str)] = &[
    ("author-not-allowed-type", "updates[0].type"),
    ("bad-epoch", "epoch"),
    ("bad-vendor-uuid", "device_classes[1].vendor_id"),
    (
        "block-size-not-power-of-two",
        "device_classes[0].block_size",
    ),
    ("block-too-big-for-radio-mtu", "sites[1].devices[0].class"),
    (
        "boot-failure-prob-negative",
        "device_classes[0].boot_failure_prob",
    ),
    ("count-overflows-u32", "sites[0].devices[0].count"),
    ("dangling-author", "updates[0].author"),
    ("dangling-device-class", "sites[0].devices[2].class"),
    ("dangling-update-class", "updates[1].classes[1]"),
    ("dependency-cycle", "updates[1].depends[0]"),
    ("dependency-on-later-update", "updates[0].depends[0]"),
    ("duplicate-device-class", "device_classes[2].name"),
    ("duplicate-key", "name"),
    ("duplicate-site-name", "sites[3].name"),
    ("empty-file", "$"),
    ("empty-fleet", "sites"),
    ("empty-name", "name"),
    ("epoch-without-zone", "epoch"),
    ("install-type-unknown", "rollout.install"),
    ("install-window-without-windows", "rollout.install"),
    ("loss-none-with-p", "sites[0].cell.loss.p"),
    ("loss-probability-above-one", "sites[2].cell.loss.p"),
    ("missing-cell-mtu", "sites[3].cell.mtu"),
    ("missing-seed", "seed"),
    ("mtu-too-small", "sites[0].wan.mtu"),
    ("negative-count", "sites[1].devices[0].count"),
    ("not-json", "$"),
    ("outage-zero-duration", "sites[2].outages[0].duration_h"),
    ("release-after-horizon", "rollout.release_h"),
    ("sequence-not-above-installed", "updates[0].sequence"),
    ("shared-wan", "sites[0].wan.shared"),
    ("top-level-array", "$"),
    ("trailing-garbage", "$"),
    ("truncated", "backend"),
    (
        "uniform-latency-min-above-max",
        "sites[0].cell.latency.max_ms",
    ),
    ("unknown-key-in-latency", "sites[0].wan.latency.jitter_ms"),
    ("unknown-latency-kind", "sites[1].cell.latency.kind"),
    ("unknown-policy", "rollout.policy"),
    ("unknown-top-level-key", "colour"),
    ("unknown-update-type", "updates[0].type"),
    ("update-too-large", "updates[0].size_kib"),
    ("utc-offset-out-of-range", "sites[2].utc_offset_h"),
    ("window-start-invalid", "sites[0].maintenance_window.start"),
    ("wrong-type-cache-string", "sites[0].cache"),
    ("wrong-type-horizon-string", "horizon_h"),
    ("zero-bandwidth", "sites[1].cell.bandwidth_kbit_s"),
    ("zero-concurrency", "rollout.concurrency"),
    ("zero-count", "sites[0].devices[2].count"),
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn icsim(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_icsim"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the icsim binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn every_malformed_file_is_refused_with_its_json_path() {
    let mut failures = Vec::new();
    for (name, path) in BAD {
        let file = format!("tests/bad_scenarios/{name}.json");
        let run = icsim(&["validate", &file]);
        let expected = format!("error: {file}: {path}: ");
        let ok = run.code == 2
            && run.stdout.is_empty()
            && run.stderr.starts_with(&expected)
            && !run.stderr.contains("panicked")
            && run.stderr.lines().count() == 1;
        if !ok {
            failures.push(format!(
                "{file}: exit {}, expected stderr to start with {expected:?}\n  stdout: {:?}\n  stderr: {:?}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_file_in_the_directory() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("tests/bad_scenarios"))
        .expect("tests/bad_scenarios")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
        .collect();
    let in_table: BTreeSet<String> = BAD.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(on_disk, in_table);
    assert!(BAD.len() >= 25);
}

#[test]
fn the_shipped_scenarios_validate() {
    let run = icsim(&["validate", "scenarios/quickstart.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "scenarios/quickstart.json: valid scenario \"quickstart\": 300 devices in 4 sites, \
         3 device classes, 3 updates\n"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let run = icsim(&["validate", "scenarios/fleet-10k.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("\"fleet-10k\": 10000 devices in 100 sites"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_file_is_named() {
    let run = icsim(&["validate", "scenarios/no-such-file.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .starts_with("error: scenarios/no-such-file.json: cannot read the scenario file"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_schema_is_json_with_every_top_level_field() {
    let run = icsim(&["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let schema: Value = serde_json::from_str(&run.stdout).expect("the schema is JSON");
    assert!(
        schema["$id"]
            .as_str()
            .is_some_and(|id| id.ends_with(".json"))
    );
    assert!(schema["title"].is_string());
    let props = schema["properties"].as_object().expect("properties");
    for field in [
        "name",
        "description",
        "seed",
        "epoch",
        "horizon_h",
        "backend",
        "device_classes",
        "sites",
        "authors",
        "updates",
        "rollout",
        "report",
    ] {
        assert!(props.contains_key(field), "{field}");
    }
}

/// A structural check of the shipped scenarios against the schema: every member of every
/// object is a property the schema allows there and every required one is present.
#[test]
fn the_shipped_scenarios_fit_the_schema() {
    let schema: Value = serde_json::from_str(&icsim(&["schema"]).stdout).expect("schema");
    for file in ["scenarios/quickstart.json", "scenarios/fleet-10k.json"] {
        let text = std::fs::read_to_string(root().join(file)).expect("scenario file");
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        let mut errors = Vec::new();
        conforms(&schema, &schema, &doc, "$", &mut errors);
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

/// A small subset of JSON Schema, enough for the schemars output: `$ref` to `$defs`,
/// `type`, `properties`/`required`/`additionalProperties`, `items`, `oneOf`/`anyOf` (the
/// value must fit at least one), `const`/`enum`.
fn conforms(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return conforms(root, &root["$defs"][name], value, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fits = options.iter().any(|option| {
                let mut sub = Vec::new();
                conforms(root, option, value, at, &mut sub);
                sub.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: fits none of {key}"));
            }
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: not {c}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: not in {options:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == kind || (*t == "number" && kind == "integer"))
        {
            errors.push(format!("{at}: {kind}, expected {types:?}"));
        }
    }
    if let (Some(object), Some(props)) = (value.as_object(), schema.get("properties")) {
        for (key, member) in object {
            match props.get(key) {
                Some(sub) => conforms(root, sub, member, &format!("{at}.{key}"), errors),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{at}.{key}: not allowed"))
                }
                None => {}
            }
        }
        for key in schema["required"].as_array().into_iter().flatten() {
            if let Some(key) = key.as_str()
                && !object.contains_key(key)
            {
                errors.push(format!("{at}: {key} missing"));
            }
        }
    }
    if let (Some(items), Some(sub)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            conforms(root, sub, item, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn a_path_is_reported_relative_to_the_file_given() {
    let abs = root().join("tests/bad_scenarios/zero-count.json");
    let run = icsim(&["validate", &abs.display().to_string()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!("{}: sites[0]", abs.display())),
        "{}",
        run.stderr
    );
    assert!(Path::new(&abs).is_absolute());
}
