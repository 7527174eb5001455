//! Parsing scenario files: syntax, types, missing and unknown fields, each naming its JSON
//! path; the shipped scenarios; the JSON Schema; no panic on any input.

use std::path::{Path, PathBuf};

use icsim_sim::scenario::{Rule, ScenarioError, json_schema, load_file, load_str};
use proptest::prelude::*;
use serde_json::{Value, json};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn quickstart_text() -> String {
    std::fs::read_to_string(scenarios_dir().join("quickstart.json")).expect("quickstart.json")
}

fn quickstart() -> Value {
    serde_json::from_str(&quickstart_text()).expect("quickstart.json is JSON")
}

fn error_of(text: &str) -> ScenarioError {
    match load_str(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

/// Expect `rule` at `path`, with a message that starts with `start`.
fn expect(text: &str, rule: Rule, path: &str, start: &str) {
    let e = error_of(text);
    assert_eq!(e.path(), path, "{e}");
    assert_eq!(e.rule(), rule, "{e}");
    assert!(e.message().starts_with(start), "{e}");
    assert_eq!(e.to_string(), format!("{path}: {}", e.message()));
}

/// `quickstart.json` with one change.
fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut doc = quickstart();
    edit(&mut doc);
    serde_json::to_string_pretty(&doc).expect("serialise")
}

#[test]
fn the_shipped_scenarios_are_valid() {
    let q = load_file(&scenarios_dir().join("quickstart.json")).expect("quickstart is valid");
    let devices: u32 = q
        .sites
        .iter()
        .flat_map(|s| &s.devices)
        .map(|g| g.count)
        .sum();
    assert_eq!(
        (q.name.as_str(), q.sites.len(), devices),
        ("quickstart", 4, 300)
    );
    assert!(q.epoch.starts_with("2026-"));
    let f = load_file(&scenarios_dir().join("fleet-10k.json")).expect("fleet-10k is valid");
    let devices: u32 = f
        .sites
        .iter()
        .flat_map(|s| &s.devices)
        .map(|g| g.count)
        .sum();
    assert_eq!(
        (f.name.as_str(), f.sites.len(), devices),
        ("fleet-10k", 100, 10_000)
    );
    assert!(f.epoch.starts_with("2026-"));
    // Both use the same three device classes, each with its sources.
    assert_eq!(q.device_classes, f.device_classes);
    let names: Vec<&str> = q.device_classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["io-module", "plc-midrange", "ipc"]);
    assert!(
        q.device_classes
            .iter()
            .all(|c| c.source.contains("https://"))
    );
}

#[test]
fn the_example_in_the_docs_is_valid() {
    let docs = std::fs::read_to_string(scenarios_dir().join("../docs/scenario.md"))
        .expect("docs/scenario.md");
    let example = docs
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json example");
    let s = load_str(example).unwrap_or_else(|e| panic!("docs example: {e}"));
    assert_eq!(s.name, "tiny");
}

#[test]
fn a_missing_file_is_named() {
    let path = scenarios_dir().join("no-such-scenario.json");
    let e = load_file(&path).expect_err("no such file");
    assert_eq!(e.rule(), Rule::Read);
    assert_eq!(e.path(), path.display().to_string());
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read", path.display())),
        "{e}"
    );
}

#[test]
fn syntax_errors() {
    expect("", Rule::Syntax, "$", "the document is empty");
    expect(" \n\t", Rule::Syntax, "$", "the document is empty");
    expect(
        "key = \"x\"",
        Rule::Syntax,
        "$",
        "expected value at line 1 column 1",
    );
    let text = quickstart_text();
    expect(
        &format!("{text} {{}}"),
        Rule::Syntax,
        "$",
        "trailing characters",
    );
    expect(
        "[1, 2]",
        Rule::Type,
        "$",
        "invalid type: array, expected a JSON object",
    );
}

#[test]
fn a_truncated_file_names_where_it_stopped() {
    let text = quickstart_text();
    let e = error_of(&text[..text.len() / 2]);
    assert_eq!(e.rule(), Rule::Syntax);
    assert!(e.message().contains("EOF while parsing"), "{e}");
    assert!(e.path().starts_with("sites["), "{e}");
}

#[test]
fn type_errors_name_the_value() {
    let t = edited(|d| d["horizon_h"] = json!("24"));
    expect(
        &t,
        Rule::Type,
        "horizon_h",
        "invalid type: string \"24\", expected f64",
    );
    let t = edited(|d| d["sites"][2]["devices"][0]["count"] = json!(-1));
    expect(
        &t,
        Rule::Type,
        "sites[2].devices[0].count",
        "invalid value: integer `-1`, expected u32",
    );
    let t = edited(|d| d["sites"][2]["devices"][0]["count"] = json!(1.5));
    expect(
        &t,
        Rule::Type,
        "sites[2].devices[0].count",
        "invalid type: floating point `1.5`",
    );
    let t = edited(|d| d["device_classes"][0]["block_size"] = json!(4_294_967_296u64));
    expect(
        &t,
        Rule::Type,
        "device_classes[0].block_size",
        "invalid value: integer `4294967296`",
    );
    let t = edited(|d| d["seed"] = json!(-3));
    expect(
        &t,
        Rule::Type,
        "seed",
        "invalid value: integer `-3`, expected u64",
    );
    let t = quickstart_text().replacen("\"seed\": 20261126", "\"seed\": 18446744073709551616", 1);
    expect(&t, Rule::Type, "seed", "invalid type: floating point");
    let t = quickstart_text().replacen("\"horizon_h\": 24.0", "\"horizon_h\": 1e400", 1);
    expect(&t, Rule::Range, "horizon_h", "number out of range");
    let t = edited(|d| d["sites"][0]["cache"] = json!("yes"));
    expect(
        &t,
        Rule::Type,
        "sites[0].cache",
        "invalid type: string \"yes\", expected a boolean",
    );
}

#[test]
fn type_errors_inside_tagged_objects_name_the_member() {
    let t = edited(|d| d["sites"][1]["cell"]["latency"]["std_ms"] = json!("10"));
    expect(
        &t,
        Rule::Type,
        "sites[1].cell.latency.std_ms",
        "invalid type: string \"10\"",
    );
    let t = edited(|d| d["sites"][2]["cell"]["loss"]["p"] = json!(null));
    expect(
        &t,
        Rule::Type,
        "sites[2].cell.loss.p",
        "invalid type: null, expected f64",
    );
}

#[test]
fn missing_fields_name_their_path() {
    let t = edited(|d| {
        d.as_object_mut().expect("object").remove("seed");
    });
    expect(&t, Rule::MissingField, "seed", "missing field `seed`");
    let t = edited(|d| {
        d["backend"]
            .as_object_mut()
            .expect("object")
            .remove("repository");
    });
    expect(
        &t,
        Rule::MissingField,
        "backend.repository",
        "missing field `repository`",
    );
    let t = edited(|d| {
        d["sites"][3]["cell"]
            .as_object_mut()
            .expect("object")
            .remove("mtu");
    });
    expect(
        &t,
        Rule::MissingField,
        "sites[3].cell.mtu",
        "missing field `mtu`",
    );
    let t = edited(|d| d["sites"][0]["wan"]["latency"] = json!({"kind": "uniform", "min_ms": 1}));
    expect(
        &t,
        Rule::MissingField,
        "sites[0].wan.latency.max_ms",
        "missing field `max_ms`",
    );
    let t = edited(|d| d["sites"][0]["wan"]["latency"] = json!({"ms": 1}));
    expect(
        &t,
        Rule::MissingField,
        "sites[0].wan.latency.kind",
        "missing field `kind`",
    );
}

#[test]
fn unknown_fields_name_their_path() {
    let t = edited(|d| d["colour"] = json!("blue"));
    expect(&t, Rule::UnknownField, "colour", "unknown field `colour`");
    let t = edited(|d| d["sites"][1]["devices"][0]["firmware version"] = json!(3));
    expect(
        &t,
        Rule::UnknownField,
        "sites[1].devices[0][\"firmware version\"]",
        "unknown field `firmware version`, expected one of `class`, `count`, `redundancy`",
    );
    let t = edited(|d| d["sites"][0]["wan"]["latency"]["jitter_ms"] = json!(3));
    expect(
        &t,
        Rule::UnknownField,
        "sites[0].wan.latency.jitter_ms",
        "unknown field `jitter_ms`",
    );
    // A member of a variant without fields: serde would drop it silently.
    let t = edited(|d| d["sites"][0]["cell"]["loss"] = json!({"kind": "none", "p": 0.1}));
    expect(
        &t,
        Rule::UnknownField,
        "sites[0].cell.loss.p",
        "unknown field `p`",
    );
}

#[test]
fn unknown_choices_name_their_path() {
    let t = edited(|d| d["rollout"]["install"] = json!("later"));
    expect(
        &t,
        Rule::Choice,
        "rollout.install",
        "unknown variant `later`, expected `immediate` or `window`",
    );
    let t = edited(|d| {
        d["sites"][0]["outages"] = json!([{"link": "lan", "start_h": 1, "duration_h": 1}])
    });
    expect(
        &t,
        Rule::Choice,
        "sites[0].outages[0].link",
        "unknown variant `lan`",
    );
    let t = edited(|d| d["sites"][0]["wan"]["latency"]["kind"] = json!("pareto"));
    expect(
        &t,
        Rule::Choice,
        "sites[0].wan.latency.kind",
        "unknown variant `pareto`",
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let t = quickstart_text().replacen("\"seed\":", "\"name\": \"again\",\n  \"seed\":", 1);
    expect(&t, Rule::Duplicate, "name", "duplicate field `name`");
}

#[test]
fn arrays_are_not_read_as_objects() {
    let t = edited(|d| {
        d["sites"][0]["maintenance_window"] = json!(["22:00", 4.0]);
    });
    expect(
        &t,
        Rule::Type,
        "sites[0].maintenance_window",
        "invalid type: array, expected a JSON object",
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    load_str(&format!("\u{feff}{}", quickstart_text())).expect("BOM then JSON");
}

#[test]
fn the_schema_describes_every_top_level_field() {
    let schema: Value = serde_json::from_str(&json_schema()).expect("the schema is JSON");
    assert_eq!(schema["$id"], json!(icsim_sim::scenario::SCHEMA_ID));
    assert_eq!(schema["title"], json!("icsim scenario"));
    let props = schema["properties"].as_object().expect("properties");
    let doc = quickstart();
    for key in doc.as_object().expect("object").keys() {
        assert!(props.contains_key(key), "{key} missing from the schema");
    }
    let required = schema["required"].as_array().expect("required");
    for key in [
        "name",
        "seed",
        "epoch",
        "horizon_h",
        "backend",
        "sites",
        "rollout",
    ] {
        assert!(required.contains(&json!(key)), "{key} not required");
    }
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(json_schema(), json_schema(), "deterministic");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any edit of a valid file is accepted or refused with a path, never a panic.
    #[test]
    fn no_panic_on_edited_text(at in 0usize..10_000, len in 0usize..40, insert in ".{0,12}") {
        let text = quickstart_text();
        let mut at = at % text.len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + len).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let edited = format!("{}{insert}{}", &text[..at], &text[end..]);
        if let Err(e) = load_str(&edited) {
            prop_assert!(!e.path().is_empty() || e.rule() == Rule::Syntax);
            prop_assert_eq!(e.to_string(), format!("{}: {}", e.path(), e.message()));
        }
    }

    /// Arbitrary text never panics.
    #[test]
    fn no_panic_on_any_text(text in "\\PC{0,200}") {
        let _ = load_str(&text);
    }
}
