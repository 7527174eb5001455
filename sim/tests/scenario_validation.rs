//! Every semantic rule of scenario files, each with the exact JSON path and message of its
//! error (`icsim_sim::scenario::validate`, reached through `load_str`).

use icsim_sim::scenario::{Rule, ScenarioError, load_str};
use serde_json::{Value, json};

/// A small valid scenario: two device classes, an Ethernet site and a serial-radio site,
/// two authors, three updates (the last depends on the second).
const BASE: &str = r#"{
  "name": "base",
  "seed": 7,
  "epoch": "2026-11-26T00:00:00Z",
  "horizon_h": 24,
  "backend": {
    "authorization_server": {"service_time_ms": 2, "capacity": 4, "queue_limit": 100},
    "repository": {"service_time_ms": 1, "capacity": 8, "queue_limit": 100}
  },
  "device_classes": [
    {"name": "plc", "vendor_id": "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe",
     "class_id": "1492af14-2569-5e48-bf42-9b2d51f2ab45",
     "cpu": {"ecdsa_verify_ms": 28, "ecdh_ms": 17, "hkdf_us": 200, "aes_kib_s": 6650,
             "sha256_kib_s": 3550},
     "flash_write_kib_s": 100, "install_s": 5, "reboot_s": 15, "boot_failure_prob": 0.002,
     "block_size": 512},
    {"name": "io", "vendor_id": "fa6b4a53d5ad5fdfbe9de663e4d41ffe",
     "class_id": "3c4f6a0e-2a55-5b61-9c1e-0d7b2f4a1e01",
     "cpu": {"ecdsa_verify_ms": 306, "ecdh_ms": 452, "hkdf_us": 600, "aes_kib_s": 306,
             "sha256_kib_s": 847},
     "flash_write_kib_s": 40, "install_s": 2, "reboot_s": 1.5, "boot_failure_prob": 0.001,
     "block_size": 256}
  ],
  "sites": [
    {"name": "plant",
     "maintenance_window": {"start": "22:00", "duration_h": 4},
     "wan": {"latency": {"kind": "fixed", "ms": 20}, "bandwidth_kbit_s": 10000,
             "queue_packets": 100, "mtu": 1500},
     "cell": {"latency": {"kind": "uniform", "min_ms": 0.2, "max_ms": 1},
              "bandwidth_kbit_s": 100000, "queue_packets": 100, "mtu": 1500},
     "cache": true,
     "outages": [{"link": "wan", "start_h": 2, "duration_h": 1}],
     "devices": [{"class": "plc", "count": 10, "redundancy": 2}]},
    {"name": "substation",
     "utc_offset_h": 1,
     "maintenance_window": {"start": "01:30", "duration_h": 3},
     "wan": {"latency": {"kind": "log_normal", "median_ms": 40, "sigma": 0.3},
             "bandwidth_kbit_s": 2000, "queue_packets": 100, "mtu": 1500},
     "cell": {"latency": {"kind": "normal", "mean_ms": 40, "std_ms": 10},
              "bandwidth_kbit_s": 57.6, "queue_packets": 16, "mtu": 512,
              "loss": {"kind": "bernoulli", "p": 0.01}, "shared": true},
     "devices": [{"class": "io", "count": 5}]}
  ],
  "authors": [
    {"name": "maker", "types": ["firmware"]},
    {"name": "integrator", "types": ["application", "library"]}
  ],
  "updates": [
    {"name": "fw", "type": "firmware", "author": "maker", "component": "plc-fw",
     "size_kib": 256, "sequence": 2, "installed_sequence": 1, "classes": ["plc", "io"]},
    {"name": "lib", "type": "library", "author": "integrator", "component": "lib",
     "size_kib": 48, "sequence": 5, "installed_sequence": 4, "classes": ["plc"]},
    {"name": "app", "type": "application", "author": "integrator", "component": "app",
     "size_kib": 96, "sequence": 9, "installed_sequence": 8, "classes": ["plc"],
     "depends": ["lib"]}
  ],
  "rollout": {"policy": "all_at_once", "concurrency": 10},
  "report": {"sample_interval_s": 60}
}"#;

fn base() -> Value {
    serde_json::from_str(BASE).expect("BASE is JSON")
}

/// The error of `doc`, which must be refused.
fn error_of(doc: &Value) -> ScenarioError {
    match load_str(&doc.to_string()) {
        Ok(_) => panic!("accepted: {doc}"),
        Err(e) => e,
    }
}

/// Set the value at JSON pointer `pointer` (its parent must exist) and expect exactly
/// `path: message`.
fn check(pointer: &str, new: Value, rule: Rule, path: &str, message: &str) {
    let mut doc = base();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer below the root");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_string(), new);
        }
        Some(Value::Array(items)) => {
            let i: usize = key.parse().expect("an array index");
            items[i] = new;
        }
        _ => panic!("no {parent} in BASE"),
    }
    expect(&doc, rule, path, message);
}

fn expect(doc: &Value, rule: Rule, path: &str, message: &str) {
    let e = error_of(doc);
    assert_eq!(e.path(), path, "{e}");
    assert_eq!(e.message(), message, "{e}");
    assert_eq!(e.rule(), rule, "{e}");
    assert_eq!(e.to_string(), format!("{path}: {message}"));
}

#[test]
fn the_base_scenario_is_valid() {
    let s = load_str(BASE).expect("BASE is valid");
    assert_eq!(s.sites.len(), 2);
    // Defaults filled in.
    assert_eq!(s.backend.update_manager.max_attempts, 4);
    assert_eq!(s.sites[1].devices[0].redundancy, 1);
    assert_eq!(s.rollout.release_h, 0.0);
}

#[test]
fn top_level_rules() {
    check("/name", json!(""), Rule::Empty, "name", "must not be empty");
    check(
        "/name",
        json!("  "),
        Rule::Empty,
        "name",
        "must not be empty",
    );
    check(
        "/epoch",
        json!("2026-11-26"),
        Rule::Format,
        "epoch",
        "must be an RFC 3339 time from 1970 on, such as 2026-11-26T00:00:00Z, got \"2026-11-26\"",
    );
    check(
        "/epoch",
        json!("1969-12-31T00:00:00Z"),
        Rule::Format,
        "epoch",
        "must be an RFC 3339 time from 1970 on, such as 2026-11-26T00:00:00Z, got \
         \"1969-12-31T00:00:00Z\"",
    );
    check(
        "/horizon_h",
        json!(0),
        Rule::Range,
        "horizon_h",
        "must be greater than 0, got 0",
    );
    check(
        "/horizon_h",
        json!(-2.5),
        Rule::Range,
        "horizon_h",
        "must be greater than 0, got -2.5",
    );
}

#[test]
fn the_epoch_accepts_offsets_and_fractions() {
    for epoch in [
        "2026-11-26T01:00:00+01:00",
        "2026-11-26t00:00:00.125z",
        "2024-02-29T12:00:00Z",
    ] {
        let mut doc = base();
        doc["epoch"] = json!(epoch);
        load_str(&doc.to_string()).unwrap_or_else(|e| panic!("{epoch}: {e}"));
    }
}

#[test]
fn backend_rules() {
    let um = "backend.update_manager";
    let mut doc = base();
    doc["backend"]["update_manager"] = json!({"poll_interval_s": 0});
    expect(
        &doc,
        Rule::Range,
        &format!("{um}.poll_interval_s"),
        "must be greater than 0, got 0",
    );
    doc["backend"]["update_manager"] = json!({"max_attempts": 0});
    expect(
        &doc,
        Rule::Range,
        &format!("{um}.max_attempts"),
        "must be at least 1, got 0",
    );
    doc["backend"]["update_manager"] = json!({"token_lifetime_h": -1});
    expect(
        &doc,
        Rule::Range,
        &format!("{um}.token_lifetime_h"),
        "must be greater than 0, got -1",
    );
    check(
        "/backend/authorization_server/service_time_ms",
        json!(-1),
        Rule::Range,
        "backend.authorization_server.service_time_ms",
        "must be at least 0, got -1",
    );
    check(
        "/backend/repository/capacity",
        json!(0),
        Rule::Range,
        "backend.repository.capacity",
        "must be at least 1, got 0",
    );
}

#[test]
fn device_class_rules() {
    check(
        "/device_classes",
        json!([]),
        Rule::Empty,
        "device_classes",
        "must list at least one device class",
    );
    check(
        "/device_classes/0/name",
        json!(""),
        Rule::Empty,
        "device_classes[0].name",
        "must not be empty",
    );
    check(
        "/device_classes/1/name",
        json!("plc"),
        Rule::Duplicate,
        "device_classes[1].name",
        "duplicate device class name \"plc\" (first at device_classes[0])",
    );
    for field in ["vendor_id", "class_id"] {
        check(
            &format!("/device_classes/1/{field}"),
            json!("1492af14-2569-5e48-bf42-9b2d51f2ab4"),
            Rule::Format,
            &format!("device_classes[1].{field}"),
            "must be a UUID (32 hex digits, optionally in 8-4-4-4-12 groups), got \
             \"1492af14-2569-5e48-bf42-9b2d51f2ab4\"",
        );
    }
    for field in [
        "ecdsa_verify_ms",
        "ecdh_ms",
        "hkdf_us",
        "aes_kib_s",
        "sha256_kib_s",
    ] {
        check(
            &format!("/device_classes/0/cpu/{field}"),
            json!(0),
            Rule::Range,
            &format!("device_classes[0].cpu.{field}"),
            "must be greater than 0, got 0",
        );
    }
    check(
        "/device_classes/0/flash_write_kib_s",
        json!(0),
        Rule::Range,
        "device_classes[0].flash_write_kib_s",
        "must be greater than 0, got 0",
    );
    for field in ["install_s", "reboot_s"] {
        check(
            &format!("/device_classes/0/{field}"),
            json!(-0.5),
            Rule::Range,
            &format!("device_classes[0].{field}"),
            "must be at least 0, got -0.5",
        );
    }
    check(
        "/device_classes/1/boot_failure_prob",
        json!(1.5),
        Rule::Range,
        "device_classes[1].boot_failure_prob",
        "must be within [0, 1], got 1.5",
    );
    for bad in [0, 8, 100, 2048] {
        check(
            "/device_classes/0/block_size",
            json!(bad),
            Rule::Range,
            "device_classes[0].block_size",
            &format!("must be a power of two from 16 to 1024, got {bad}"),
        );
    }
}

#[test]
fn a_block_must_fit_the_cell_mtu_of_every_site_with_that_class() {
    // 512 + 100 > 576.
    check(
        "/sites/0/cell/mtu",
        json!(576),
        Rule::Consistency,
        "sites[0].devices[0].class",
        "device class \"plc\" uses 512-byte blocks, which with 100 bytes of headers do not fit \
         the cell MTU of 576 bytes (lower the class's block_size or raise sites[0].cell.mtu)",
    );
    // 612 is exactly enough.
    let mut doc = base();
    doc["sites"][0]["cell"]["mtu"] = json!(612);
    load_str(&doc.to_string()).expect("612 fits 512 + 100");
    // The substation has only io modules (256-byte blocks): a plc there does not fit.
    doc["sites"][1]["devices"][0]["class"] = json!("plc");
    expect(
        &doc,
        Rule::Consistency,
        "sites[1].devices[0].class",
        "device class \"plc\" uses 512-byte blocks, which with 100 bytes of headers do not fit \
         the cell MTU of 512 bytes (lower the class's block_size or raise sites[1].cell.mtu)",
    );
}

#[test]
fn site_rules() {
    check(
        "/sites/1/name",
        json!(""),
        Rule::Empty,
        "sites[1].name",
        "must not be empty",
    );
    check(
        "/sites/1/name",
        json!("plant"),
        Rule::Duplicate,
        "sites[1].name",
        "duplicate site name \"plant\" (first at sites[0])",
    );
    check(
        "/sites/1/utc_offset_h",
        json!(14.5),
        Rule::Range,
        "sites[1].utc_offset_h",
        "must be within [-14, 14], got 14.5",
    );
    for bad in ["24:00", "12:60", "7:00", "07:00:00", ""] {
        check(
            "/sites/0/maintenance_window/start",
            json!(bad),
            Rule::Format,
            "sites[0].maintenance_window.start",
            &format!("must be a time HH:MM from 00:00 to 23:59, got \"{bad}\""),
        );
    }
    for bad in [0.0, 24.5] {
        check(
            "/sites/0/maintenance_window/duration_h",
            json!(bad),
            Rule::Range,
            "sites[0].maintenance_window.duration_h",
            &format!("must be within (0, 24], got {bad}"),
        );
    }
    check(
        "/sites/0/outages/0/start_h",
        json!(-1),
        Rule::Range,
        "sites[0].outages[0].start_h",
        "must be at least 0, got -1",
    );
    check(
        "/sites/0/outages/0/duration_h",
        json!(0),
        Rule::Range,
        "sites[0].outages[0].duration_h",
        "must be greater than 0, got 0",
    );
}

#[test]
fn link_rules() {
    check(
        "/sites/0/wan/latency",
        json!({"kind": "fixed", "ms": -1}),
        Rule::Range,
        "sites[0].wan.latency.ms",
        "must be at least 0, got -1",
    );
    check(
        "/sites/0/cell/latency",
        json!({"kind": "uniform", "min_ms": 5, "max_ms": 2}),
        Rule::Range,
        "sites[0].cell.latency.max_ms",
        "must be at least min_ms (5), got 2",
    );
    check(
        "/sites/0/cell/latency",
        json!({"kind": "uniform", "min_ms": -1, "max_ms": 2}),
        Rule::Range,
        "sites[0].cell.latency.min_ms",
        "must be at least 0, got -1",
    );
    check(
        "/sites/1/cell/latency/std_ms",
        json!(-3),
        Rule::Range,
        "sites[1].cell.latency.std_ms",
        "must be at least 0, got -3",
    );
    check(
        "/sites/1/wan/latency/median_ms",
        json!(0),
        Rule::Range,
        "sites[1].wan.latency.median_ms",
        "must be greater than 0, got 0",
    );
    check(
        "/sites/1/wan/latency/sigma",
        json!(-0.1),
        Rule::Range,
        "sites[1].wan.latency.sigma",
        "must be at least 0, got -0.1",
    );
    check(
        "/sites/0/wan/bandwidth_kbit_s",
        json!(0),
        Rule::Range,
        "sites[0].wan.bandwidth_kbit_s",
        "must be greater than 0, got 0",
    );
    check(
        "/sites/0/cell/queue_packets",
        json!(0),
        Rule::Range,
        "sites[0].cell.queue_packets",
        "must be at least 1, got 0",
    );
    for bad in [63, 65_536] {
        check(
            "/sites/0/wan/mtu",
            json!(bad),
            Rule::Range,
            "sites[0].wan.mtu",
            &format!("must be within [64, 65535], got {bad}"),
        );
    }
    check(
        "/sites/0/wan/shared",
        json!(true),
        Rule::Consistency,
        "sites[0].wan.shared",
        "only cell links may be shared, not wan links",
    );
}

#[test]
fn every_probability_is_within_0_and_1() {
    check(
        "/sites/1/cell/loss/p",
        json!(1.5),
        Rule::Range,
        "sites[1].cell.loss.p",
        "must be within [0, 1], got 1.5",
    );
    let ge = json!({"kind": "gilbert_elliott", "p_good_to_bad": 0.01, "p_bad_to_good": 0.3,
                    "loss_good": 0.001, "loss_bad": 0.5});
    let mut doc = base();
    doc["sites"][1]["cell"]["loss"] = ge.clone();
    load_str(&doc.to_string()).expect("a valid Gilbert-Elliott model");
    for field in ["p_good_to_bad", "p_bad_to_good", "loss_good", "loss_bad"] {
        let mut loss = ge.clone();
        loss[field] = json!(-0.25);
        check(
            "/sites/1/cell/loss",
            loss,
            Rule::Range,
            &format!("sites[1].cell.loss.{field}"),
            "must be within [0, 1], got -0.25",
        );
    }
}

#[test]
fn device_group_rules() {
    check(
        "/sites/0/devices/0/class",
        json!("plcc"),
        Rule::Reference,
        "sites[0].devices[0].class",
        "unknown device class \"plcc\"",
    );
    check(
        "/sites/0/devices/0/count",
        json!(0),
        Rule::Range,
        "sites[0].devices[0].count",
        "must be at least 1, got 0",
    );
    check(
        "/sites/0/devices/0/redundancy",
        json!(0),
        Rule::Range,
        "sites[0].devices[0].redundancy",
        "must be at least 1, got 0",
    );
}

#[test]
fn an_empty_fleet_is_refused_at_sites() {
    let message = "the fleet has no devices: at least one site needs a device group";
    check("/sites", json!([]), Rule::EmptyFleet, "sites", message);
    let mut doc = base();
    doc["sites"][0]["devices"] = json!([]);
    doc["sites"][1]["devices"] = json!([]);
    expect(&doc, Rule::EmptyFleet, "sites", message);
}

#[test]
fn author_rules() {
    check(
        "/authors/1/name",
        json!("maker"),
        Rule::Duplicate,
        "authors[1].name",
        "duplicate author name \"maker\" (first at authors[0])",
    );
    check(
        "/authors/1/types/1",
        json!("driver"),
        Rule::Choice,
        "authors[1].types[1]",
        "unknown update type \"driver\" (expected firmware, application or library)",
    );
}

#[test]
fn update_rules() {
    check(
        "/updates/2/name",
        json!("fw"),
        Rule::Duplicate,
        "updates[2].name",
        "duplicate update name \"fw\" (first at updates[0])",
    );
    check(
        "/updates/0/type",
        json!("bootloader"),
        Rule::Choice,
        "updates[0].type",
        "unknown update type \"bootloader\" (expected firmware, application or library)",
    );
    check(
        "/updates/0/author",
        json!("mallory"),
        Rule::Reference,
        "updates[0].author",
        "unknown author \"mallory\"",
    );
    check(
        "/updates/1/type",
        json!("firmware"),
        Rule::Consistency,
        "updates[1].type",
        "author \"integrator\" may not produce firmware updates (its types: application, library)",
    );
    check(
        "/updates/0/component",
        json!(""),
        Rule::Empty,
        "updates[0].component",
        "must not be empty",
    );
    for bad in [0.0, 65_536.5] {
        check(
            "/updates/0/size_kib",
            json!(bad),
            Rule::Range,
            "updates[0].size_kib",
            &format!("must be within (0, 65536], got {bad}"),
        );
    }
    check(
        "/updates/0/sequence",
        json!(1),
        Rule::Range,
        "updates[0].sequence",
        "must be greater than installed_sequence (1), got 1",
    );
    check(
        "/updates/0/classes",
        json!([]),
        Rule::Empty,
        "updates[0].classes",
        "must list at least one device class",
    );
    check(
        "/updates/0/classes/1",
        json!("hmi"),
        Rule::Reference,
        "updates[0].classes[1]",
        "unknown device class \"hmi\"",
    );
}

#[test]
fn dependency_rules() {
    check(
        "/updates/2/depends/0",
        json!("libc"),
        Rule::Reference,
        "updates[2].depends[0]",
        "unknown update \"libc\"",
    );
    check(
        "/updates/2/depends/0",
        json!("app"),
        Rule::Dependency,
        "updates[2].depends[0]",
        "update \"app\" depends on itself",
    );
    // lib -> app, listed later, with no cycle.
    let mut doc = base();
    doc["updates"][2]["depends"] = json!([]);
    doc["updates"][1]["depends"] = json!(["app"]);
    expect(
        &doc,
        Rule::Dependency,
        "updates[1].depends[0]",
        "must name an earlier update, but \"app\" is listed after \"lib\" (updates are rolled \
         out in order)",
    );
    // lib -> app -> lib.
    let mut doc = base();
    doc["updates"][1]["depends"] = json!(["app"]);
    expect(
        &doc,
        Rule::Dependency,
        "updates[1].depends[0]",
        "dependency cycle: lib -> app -> lib",
    );
    // fw -> app -> lib -> fw: reported at the first update of the cycle.
    let mut doc = base();
    doc["updates"][0]["depends"] = json!(["app"]);
    doc["updates"][1]["depends"] = json!(["fw"]);
    expect(
        &doc,
        Rule::Dependency,
        "updates[0].depends[0]",
        "dependency cycle: fw -> app -> lib -> fw",
    );
}

#[test]
fn rollout_rules() {
    check(
        "/rollout/policy",
        json!("canary"),
        Rule::Choice,
        "rollout.policy",
        "unknown rollout policy \"canary\" (built in: all_at_once; or a name from `policies`)",
    );
    check(
        "/rollout/concurrency",
        json!(0),
        Rule::Range,
        "rollout.concurrency",
        "must be at least 1, got 0",
    );
    let mut doc = base();
    doc["rollout"]["install"] = json!("window");
    load_str(&doc.to_string()).expect("both sites have a window");
    doc["sites"][1]
        .as_object_mut()
        .expect("a site is an object")
        .remove("maintenance_window");
    expect(
        &doc,
        Rule::Consistency,
        "rollout.install",
        "\"window\" needs a maintenance window at every site with devices, but sites[1] \
         (\"substation\") has none",
    );
    let mut doc = base();
    doc["rollout"]["release_h"] = json!(-1);
    expect(
        &doc,
        Rule::Range,
        "rollout.release_h",
        "must be at least 0, got -1",
    );
    doc["rollout"]["release_h"] = json!(24);
    expect(
        &doc,
        Rule::Consistency,
        "rollout.release_h",
        "must be less than horizon_h (24), got 24",
    );
}

#[test]
fn report_rules() {
    check(
        "/report/sample_interval_s",
        json!(0),
        Rule::Range,
        "report.sample_interval_s",
        "must be greater than 0, got 0",
    );
}

#[test]
fn the_first_error_in_field_order_is_reported() {
    let mut doc = base();
    doc["report"]["sample_interval_s"] = json!(0);
    doc["updates"][0]["size_kib"] = json!(0);
    doc["sites"][1]["cell"]["loss"]["p"] = json!(2);
    doc["sites"][0]["devices"][0]["count"] = json!(0);
    assert_eq!(error_of(&doc).path(), "sites[0].devices[0].count");
    doc["horizon_h"] = json!(0);
    assert_eq!(error_of(&doc).path(), "horizon_h");
    doc["name"] = json!("");
    assert_eq!(error_of(&doc).path(), "name");
}

#[test]
fn errors_carry_the_offending_value() {
    let mut doc = base();
    doc["sites"][1]["cell"]["loss"]["p"] = json!(1.5);
    assert_eq!(error_of(&doc).value(), Some("1.5"));
    let mut doc = base();
    doc["epoch"] = json!("yesterday");
    assert_eq!(error_of(&doc).value(), Some("\"yesterday\""));
    let mut doc = base();
    doc["sites"] = json!([]);
    assert_eq!(error_of(&doc).value(), None);
}

#[test]
fn a_fleet_beyond_one_run_is_refused_at_sites() {
    let limit = icsim_sim::scenario::MAX_FLEET;
    let mut doc = base();
    let others: u64 = doc["sites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["devices"].as_array().unwrap())
        .map(|g| g["count"].as_u64().unwrap_or(1))
        .sum::<u64>()
        - doc["sites"][0]["devices"][0]["count"].as_u64().unwrap();
    doc["sites"][0]["devices"][0]["count"] = json!(limit - others + 1);
    expect(
        &doc,
        Rule::Range,
        "sites",
        "the fleet has 1000001 devices; one run holds at most 1000000 (about 17 kB of \
         memory each): split the fleet into scenarios",
    );
    // Exactly the limit passes validation (not built here).
    doc["sites"][0]["devices"][0]["count"] = json!(limit - others);
    load_str(&doc.to_string()).expect("a fleet of exactly the limit is valid");
}
