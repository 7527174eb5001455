//! The semantic rules of scenario files, checked after parsing, in the order of the
//! format's fields; the first broken rule is reported with its JSON path.

use std::collections::BTreeMap;
use std::fmt::Display;

use icsim_protocol::ids::{UpdateType, Uuid};
use icsim_protocol::time::Instant;

use super::error::{Rule, ScenarioError};
use super::model::{
    Backend, DeviceClass, InstallTiming, Latency, Link, Loss, Rollout, Scenario, Site, Station,
    Update,
};

/// The rollout policies the simulator implements. Later policies are added here.
pub const ROLLOUT_POLICIES: &[&str] = &["all_at_once"];

/// Bytes of CoAP, OSCORE, UDP and IP headers that must fit in a datagram besides one block.
pub const BLOCK_HEADER_BYTES: u32 = 100;

/// The largest update image, KiB (64 MiB).
pub const MAX_UPDATE_KIB: f64 = 65_536.0;

/// Check the rules of the format that serde does not: ranges, formats, unique names,
/// references, dependencies and how fields fit together. Returns the first broken rule,
/// in the order of the format's fields (as in `docs/scenario.md`).
pub fn validate(scenario: &Scenario) -> Result<(), ScenarioError> {
    let root = JsonPath::root();
    not_empty(&root.field("name"), &scenario.name)?;
    if parse_epoch(&scenario.epoch).is_none() {
        return Err(format_error(
            &root.field("epoch"),
            "an RFC 3339 time from 1970 on, such as 2026-11-26T00:00:00Z",
            &scenario.epoch,
        ));
    }
    positive(&root.field("horizon_h"), scenario.horizon_h)?;
    backend(&root.field("backend"), &scenario.backend)?;
    let classes = device_classes(&root.field("device_classes"), &scenario.device_classes)?;
    sites(&root.field("sites"), scenario, &classes)?;
    authors(&root.field("authors"), scenario)?;
    updates(&root.field("updates"), scenario, &classes)?;
    rollout(&root.field("rollout"), scenario)?;
    positive(
        &root.field("report").field("sample_interval_s"),
        scenario.report.sample_interval_s,
    )?;
    Ok(())
}

/// Parse an RFC 3339 time (`2026-11-26T08:00:00Z`, `2026-11-26t09:30:00.25+01:30`) into an
/// [`Instant`]; `None` if the text is not one or lies before 1970.
pub fn parse_epoch(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    if b.len() < 20 || !text.is_ascii() {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |d| i64::from(d - b'0'));
        }
        rest = &frac[n..];
    }
    let offset_s = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    let micros = secs.checked_mul(1_000_000)?.checked_add(micros)?;
    u64::try_from(micros).ok().map(Instant::from_micros)
}

/// Parse a window start `HH:MM` (00:00 to 23:59) into minutes after midnight.
pub fn parse_window_start(text: &str) -> Option<u32> {
    let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
        return None;
    };
    if ![h1, h2, m1, m2].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let hours = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
    let minutes = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// A JSON path being built: `$` for the root, then `a.b[3].c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath(String);

impl JsonPath {
    pub(crate) fn root() -> Self {
        JsonPath("$".into())
    }

    /// The member `key`; keys that are not identifiers are written `["key"]`.
    pub(crate) fn field(&self, key: &str) -> Self {
        let ident = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let base = if self.0 == "$" && ident { "" } else { &self.0 };
        if ident {
            let dot = if base.is_empty() { "" } else { "." };
            JsonPath(format!("{base}{dot}{key}"))
        } else {
            let quoted = serde_json::to_string(key).unwrap_or_default();
            JsonPath(format!("{base}[{quoted}]"))
        }
    }

    /// The element `index` of an array.
    pub(crate) fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{index}]", self.0))
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Check = Result<(), ScenarioError>;

/// Names to their index in the list that defines them.
type Names<'a> = BTreeMap<&'a str, usize>;

/// The most devices one run may hold. At about 17 kB each (fleet-100k peaks at 1.7 GB),
/// a million PLCs is about 17 GB: what a 24 GiB machine can hold. Device addresses would
/// run out only far beyond it.
pub const MAX_FLEET: u64 = 1_000_000;

fn backend(path: &JsonPath, backend: &Backend) -> Check {
    let um = path.field("update_manager");
    let settings = &backend.update_manager;
    positive(&um.field("poll_interval_s"), settings.poll_interval_s)?;
    at_least(&um.field("max_attempts"), settings.max_attempts, 1)?;
    positive(&um.field("token_lifetime_h"), settings.token_lifetime_h)?;
    station(
        &path.field("authorization_server"),
        &backend.authorization_server,
    )?;
    station(&path.field("repository"), &backend.repository)
}

fn station(path: &JsonPath, station: &Station) -> Check {
    non_negative(&path.field("service_time_ms"), station.service_time_ms)?;
    at_least(&path.field("capacity"), station.capacity, 1)
}

fn device_classes<'a>(
    path: &JsonPath,
    classes: &'a [DeviceClass],
) -> Result<Names<'a>, ScenarioError> {
    if classes.is_empty() {
        return Err(ScenarioError::new(
            path.to_string(),
            Rule::Empty,
            "must list at least one device class",
        ));
    }
    let mut names = Names::new();
    for (i, class) in classes.iter().enumerate() {
        let p = path.index(i);
        unique_name(
            &p.field("name"),
            &class.name,
            i,
            path,
            &mut names,
            "device class",
        )?;
        uuid(&p.field("vendor_id"), &class.vendor_id)?;
        uuid(&p.field("class_id"), &class.class_id)?;
        let cpu = p.field("cpu");
        positive(&cpu.field("ecdsa_verify_ms"), class.cpu.ecdsa_verify_ms)?;
        positive(&cpu.field("ecdh_ms"), class.cpu.ecdh_ms)?;
        positive(&cpu.field("hkdf_us"), class.cpu.hkdf_us)?;
        positive(&cpu.field("aes_kib_s"), class.cpu.aes_kib_s)?;
        positive(&cpu.field("sha256_kib_s"), class.cpu.sha256_kib_s)?;
        positive(&p.field("flash_write_kib_s"), class.flash_write_kib_s)?;
        non_negative(&p.field("install_s"), class.install_s)?;
        non_negative(&p.field("reboot_s"), class.reboot_s)?;
        probability(&p.field("boot_failure_prob"), class.boot_failure_prob)?;
        let b = class.block_size;
        if !(b.is_power_of_two() && (16..=1024).contains(&b)) {
            return Err(ScenarioError::new(
                p.field("block_size").to_string(),
                Rule::Range,
                format!("must be a power of two from 16 to 1024, got {b}"),
            )
            .with_value(b.to_string()));
        }
    }
    Ok(names)
}

fn sites(path: &JsonPath, scenario: &Scenario, classes: &Names<'_>) -> Check {
    let mut names = Names::new();
    let mut devices = 0u64;
    for (i, site) in scenario.sites.iter().enumerate() {
        let p = path.index(i);
        unique_name(&p.field("name"), &site.name, i, path, &mut names, "site")?;
        within(&p.field("utc_offset_h"), site.utc_offset_h, -14.0, 14.0)?;
        if let Some(window) = &site.maintenance_window {
            let w = p.field("maintenance_window");
            if parse_window_start(&window.start).is_none() {
                return Err(format_error(
                    &w.field("start"),
                    "a time HH:MM from 00:00 to 23:59",
                    &window.start,
                ));
            }
            within_above(&w.field("duration_h"), window.duration_h, 0.0, 24.0)?;
        }
        link(&p.field("wan"), &site.wan)?;
        if site.wan.shared {
            return Err(ScenarioError::new(
                p.field("wan").field("shared").to_string(),
                Rule::Consistency,
                "only cell links may be shared, not wan links",
            )
            .with_value("true"));
        }
        link(&p.field("cell"), &site.cell)?;
        for (k, outage) in site.outages.iter().enumerate() {
            let o = p.field("outages").index(k);
            non_negative(&o.field("start_h"), outage.start_h)?;
            positive(&o.field("duration_h"), outage.duration_h)?;
        }
        devices += site_devices(&p, site, scenario, classes)?;
    }
    if devices == 0 {
        return Err(ScenarioError::new(
            path.to_string(),
            Rule::EmptyFleet,
            "the fleet has no devices: at least one site needs a device group",
        ));
    }
    if devices > MAX_FLEET {
        return Err(ScenarioError::new(
            path.to_string(),
            Rule::Range,
            format!(
                "the fleet has {devices} devices; one run holds at most {MAX_FLEET} \
                 (about 17 kB of memory each): split the fleet into scenarios"
            ),
        ));
    }
    Ok(())
}

/// Check a site's device groups; returns its number of devices.
fn site_devices(
    path: &JsonPath,
    site: &Site,
    scenario: &Scenario,
    classes: &Names<'_>,
) -> Result<u64, ScenarioError> {
    let mut devices = 0u64;
    for (j, group) in site.devices.iter().enumerate() {
        let g = path.field("devices").index(j);
        let class = reference(&g.field("class"), &group.class, classes, "device class")?;
        let block = scenario.device_classes[class].block_size;
        if block.saturating_add(BLOCK_HEADER_BYTES) > site.cell.mtu {
            return Err(ScenarioError::new(
                g.field("class").to_string(),
                Rule::Consistency,
                format!(
                    "device class {:?} uses {block}-byte blocks, which with {BLOCK_HEADER_BYTES} \
                     bytes of headers do not fit the cell MTU of {} bytes \
                     (lower the class's block_size or raise {path}.cell.mtu)",
                    group.class, site.cell.mtu
                ),
            )
            .with_value(json_string(&group.class)));
        }
        at_least(&g.field("count"), group.count, 1)?;
        at_least(&g.field("redundancy"), group.redundancy, 1)?;
        devices += u64::from(group.count);
    }
    Ok(devices)
}

fn link(path: &JsonPath, link: &Link) -> Check {
    let l = path.field("latency");
    match &link.latency {
        Latency::Fixed { ms } => non_negative(&l.field("ms"), *ms)?,
        Latency::Uniform { min_ms, max_ms } => {
            non_negative(&l.field("min_ms"), *min_ms)?;
            non_negative(&l.field("max_ms"), *max_ms)?;
            if max_ms < min_ms {
                return Err(ScenarioError::new(
                    l.field("max_ms").to_string(),
                    Rule::Range,
                    format!(
                        "must be at least min_ms ({}), got {}",
                        num(*min_ms),
                        num(*max_ms)
                    ),
                )
                .with_value(num(*max_ms)));
            }
        }
        Latency::Normal { mean_ms, std_ms } => {
            non_negative(&l.field("mean_ms"), *mean_ms)?;
            non_negative(&l.field("std_ms"), *std_ms)?;
        }
        Latency::LogNormal { median_ms, sigma } => {
            positive(&l.field("median_ms"), *median_ms)?;
            non_negative(&l.field("sigma"), *sigma)?;
        }
    }
    positive(&path.field("bandwidth_kbit_s"), link.bandwidth_kbit_s)?;
    at_least(&path.field("queue_packets"), link.queue_packets, 1)?;
    let mtu = link.mtu;
    if !(64..=65_535).contains(&mtu) {
        return Err(ScenarioError::new(
            path.field("mtu").to_string(),
            Rule::Range,
            format!("must be within [64, 65535], got {mtu}"),
        )
        .with_value(mtu.to_string()));
    }
    let loss = path.field("loss");
    match &link.loss {
        Loss::None => {}
        Loss::Bernoulli { p } => probability(&loss.field("p"), *p)?,
        Loss::GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_good,
            loss_bad,
        } => {
            probability(&loss.field("p_good_to_bad"), *p_good_to_bad)?;
            probability(&loss.field("p_bad_to_good"), *p_bad_to_good)?;
            probability(&loss.field("loss_good"), *loss_good)?;
            probability(&loss.field("loss_bad"), *loss_bad)?;
        }
    }
    Ok(())
}

fn authors(path: &JsonPath, scenario: &Scenario) -> Check {
    let mut names = Names::new();
    for (i, author) in scenario.authors.iter().enumerate() {
        let p = path.index(i);
        unique_name(
            &p.field("name"),
            &author.name,
            i,
            path,
            &mut names,
            "author",
        )?;
        for (k, t) in author.types.iter().enumerate() {
            update_type(&p.field("types").index(k), t)?;
        }
    }
    Ok(())
}

fn updates(path: &JsonPath, scenario: &Scenario, classes: &Names<'_>) -> Check {
    let authors: Names<'_> = first_indices(scenario.authors.iter().map(|a| a.name.as_str()));
    let all: Names<'_> = first_indices(scenario.updates.iter().map(|u| u.name.as_str()));
    let mut names = Names::new();
    for (i, update) in scenario.updates.iter().enumerate() {
        let p = path.index(i);
        unique_name(
            &p.field("name"),
            &update.name,
            i,
            path,
            &mut names,
            "update",
        )?;
        let t = update_type(&p.field("type"), &update.update_type)?;
        let author = reference(&p.field("author"), &update.author, &authors, "author")?;
        let allowed = &scenario.authors[author].types;
        if !allowed.iter().any(|a| a == t.name()) {
            return Err(ScenarioError::new(
                p.field("type").to_string(),
                Rule::Consistency,
                format!(
                    "author {:?} may not produce {t} updates (its types: {})",
                    update.author,
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            )
            .with_value(json_string(&update.update_type)));
        }
        not_empty(&p.field("component"), &update.component)?;
        within_above(&p.field("size_kib"), update.size_kib, 0.0, MAX_UPDATE_KIB)?;
        if update.sequence <= update.installed_sequence {
            return Err(ScenarioError::new(
                p.field("sequence").to_string(),
                Rule::Range,
                format!(
                    "must be greater than installed_sequence ({}), got {}",
                    update.installed_sequence, update.sequence
                ),
            )
            .with_value(update.sequence.to_string()));
        }
        if update.classes.is_empty() {
            return Err(ScenarioError::new(
                p.field("classes").to_string(),
                Rule::Empty,
                "must list at least one device class",
            ));
        }
        for (k, class) in update.classes.iter().enumerate() {
            reference(&p.field("classes").index(k), class, classes, "device class")?;
        }
        for (k, dep) in update.depends.iter().enumerate() {
            dependency(&p.field("depends").index(k), i, dep, scenario, &all)?;
        }
    }
    Ok(())
}

/// `updates[index]` depends on `dep`: it must name an earlier update.
fn dependency(
    path: &JsonPath,
    index: usize,
    dep: &str,
    scenario: &Scenario,
    all: &Names<'_>,
) -> Check {
    let Some(&target) = all.get(dep) else {
        return Err(ScenarioError::new(
            path.to_string(),
            Rule::Reference,
            format!("unknown update {dep:?}"),
        )
        .with_value(json_string(dep)));
    };
    let err = |message: String| {
        Err(
            ScenarioError::new(path.to_string(), Rule::Dependency, message)
                .with_value(json_string(dep)),
        )
    };
    let name = &scenario.updates[index].name;
    if target == index {
        return err(format!("update {name:?} depends on itself"));
    }
    if target > index {
        if let Some(cycle) = cycle_back(&scenario.updates, all, target, index) {
            let mut chain = vec![name.as_str()];
            chain.extend(cycle.iter().map(|&u| scenario.updates[u].name.as_str()));
            return err(format!("dependency cycle: {}", chain.join(" -> ")));
        }
        return err(format!(
            "must name an earlier update, but {dep:?} is listed after {name:?} (updates are \
             rolled out in order)"
        ));
    }
    Ok(())
}

/// A chain of updates from `from` along `depends` that ends at `to`, if there is one.
fn cycle_back(updates: &[Update], all: &Names<'_>, from: usize, to: usize) -> Option<Vec<usize>> {
    let mut visited = vec![false; updates.len()];
    let mut stack = vec![(from, vec![from])];
    while let Some((u, chain)) = stack.pop() {
        if u == to {
            return Some(chain);
        }
        if std::mem::replace(&mut visited[u], true) {
            continue;
        }
        // Reversed so that the first dependency is explored first.
        for dep in updates[u].depends.iter().rev() {
            if let Some(&next) = all.get(dep.as_str()) {
                let mut longer = chain.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
    }
    None
}

fn rollout(path: &JsonPath, scenario: &Scenario) -> Check {
    let rollout: &Rollout = &scenario.rollout;
    policy::policies(&JsonPath::root().field("policies"), scenario)?;
    policy::knobs(path, scenario)?;
    let named = scenario.policies.iter().any(|p| p.name == rollout.policy);
    if !named && !ROLLOUT_POLICIES.contains(&rollout.policy.as_str()) {
        return Err(ScenarioError::new(
            path.field("policy").to_string(),
            Rule::Choice,
            format!(
                "unknown rollout policy {:?} (built in: {}; or a name from `policies`)",
                rollout.policy,
                ROLLOUT_POLICIES.join(", ")
            ),
        )
        .with_value(json_string(&rollout.policy)));
    }
    at_least(&path.field("concurrency"), rollout.concurrency, 1)?;
    if rollout.install == InstallTiming::Window {
        let bare =
            scenario.sites.iter().enumerate().find(|(_, s)| {
                s.maintenance_window.is_none() && s.devices.iter().any(|g| g.count > 0)
            });
        if let Some((i, site)) = bare {
            return Err(ScenarioError::new(
                path.field("install").to_string(),
                Rule::Consistency,
                format!(
                    "\"window\" needs a maintenance window at every site with devices, but \
                     sites[{i}] ({:?}) has none",
                    site.name
                ),
            )
            .with_value("\"window\""));
        }
    }
    let release = path.field("release_h");
    non_negative(&release, rollout.release_h)?;
    if rollout.release_h >= scenario.horizon_h {
        return Err(ScenarioError::new(
            release.to_string(),
            Rule::Consistency,
            format!(
                "must be less than horizon_h ({}), got {}",
                num(scenario.horizon_h),
                num(rollout.release_h)
            ),
        )
        .with_value(num(rollout.release_h)));
    }
    Ok(())
}

#[path = "validate_policy.rs"]
mod policy;

// ---- rule helpers ----

fn not_empty(path: &JsonPath, text: &str) -> Check {
    if text.trim().is_empty() {
        return Err(
            ScenarioError::new(path.to_string(), Rule::Empty, "must not be empty")
                .with_value(json_string(text)),
        );
    }
    Ok(())
}

/// A non-empty name not used by an earlier element of the same list.
fn unique_name<'a>(
    path: &JsonPath,
    name: &'a str,
    index: usize,
    list: &JsonPath,
    names: &mut Names<'a>,
    what: &str,
) -> Check {
    not_empty(path, name)?;
    if let Some(&first) = names.get(name) {
        return Err(ScenarioError::new(
            path.to_string(),
            Rule::Duplicate,
            format!(
                "duplicate {what} name {name:?} (first at {})",
                list.index(first)
            ),
        )
        .with_value(json_string(name)));
    }
    names.insert(name, index);
    Ok(())
}

fn first_indices<'a>(names: impl Iterator<Item = &'a str>) -> Names<'a> {
    let mut map = Names::new();
    for (i, name) in names.enumerate() {
        map.entry(name).or_insert(i);
    }
    map
}

fn reference(
    path: &JsonPath,
    name: &str,
    names: &Names<'_>,
    what: &str,
) -> Result<usize, ScenarioError> {
    names.get(name).copied().ok_or_else(|| {
        ScenarioError::new(
            path.to_string(),
            Rule::Reference,
            format!("unknown {what} {name:?}"),
        )
        .with_value(json_string(name))
    })
}

fn update_type(path: &JsonPath, text: &str) -> Result<UpdateType, ScenarioError> {
    text.parse::<UpdateType>().map_err(|_| {
        ScenarioError::new(
            path.to_string(),
            Rule::Choice,
            format!("unknown update type {text:?} (expected firmware, application or library)"),
        )
        .with_value(json_string(text))
    })
}

fn uuid(path: &JsonPath, text: &str) -> Check {
    match text.parse::<Uuid>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format_error(
            path,
            "a UUID (32 hex digits, optionally in 8-4-4-4-12 groups)",
            text,
        )),
    }
}

fn format_error(path: &JsonPath, expected: &str, text: &str) -> ScenarioError {
    ScenarioError::new(
        path.to_string(),
        Rule::Format,
        format!("must be {expected}, got {}", json_string(text)),
    )
    .with_value(json_string(text))
}

fn range_error(path: &JsonPath, rule: &str, x: f64) -> Check {
    Err(ScenarioError::new(
        path.to_string(),
        Rule::Range,
        format!("must be {rule}, got {}", num(x)),
    )
    .with_value(num(x)))
}

/// Finite and greater than 0.
fn positive(path: &JsonPath, x: f64) -> Check {
    if x.is_finite() && x > 0.0 {
        return Ok(());
    }
    range_error(path, "greater than 0", x)
}

/// Finite and at least 0.
fn non_negative(path: &JsonPath, x: f64) -> Check {
    if x.is_finite() && x >= 0.0 {
        return Ok(());
    }
    range_error(path, "at least 0", x)
}

/// Within [0, 1].
fn probability(path: &JsonPath, x: f64) -> Check {
    within(path, x, 0.0, 1.0)
}

/// Within [lo, hi].
fn within(path: &JsonPath, x: f64, lo: f64, hi: f64) -> Check {
    if (lo..=hi).contains(&x) {
        return Ok(());
    }
    range_error(path, &format!("within [{}, {}]", num(lo), num(hi)), x)
}

/// Within (lo, hi]: more than `lo`, at most `hi`.
fn within_above(path: &JsonPath, x: f64, lo: f64, hi: f64) -> Check {
    if x > lo && x <= hi {
        return Ok(());
    }
    range_error(path, &format!("within ({}, {}]", num(lo), num(hi)), x)
}

fn at_least(path: &JsonPath, n: u32, min: u32) -> Check {
    if n >= min {
        return Ok(());
    }
    Err(ScenarioError::new(
        path.to_string(),
        Rule::Range,
        format!("must be at least {min}, got {n}"),
    )
    .with_value(n.to_string()))
}

/// A number as a person writes it: `1.5`, `0`, `-3`, and `1e300` rather than 301 digits.
fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-6..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn json_string(text: &str) -> String {
    // Serialising a `&str` cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        let at = |t: &str| parse_epoch(t).map(Instant::as_micros);
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("2026-11-26T00:00:00Z"), Some(1_795_651_200_000_000));
        assert_eq!(at("2026-11-26T01:30:00+01:30"), Some(1_795_651_200_000_000));
        assert_eq!(
            at("2026-11-25t22:00:00.5-02:00"),
            Some(1_795_651_200_500_000)
        );
        assert!(at("2024-02-29T00:00:00Z").is_some());
        for bad in [
            "",
            "2026-11-26",
            "2026-11-26T00:00:00",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T00:00:00.Z",
            "2026-11-26T00:00:00+0100",
            "1969-12-31T23:59:59Z",
            "2026-11-26 00:00:00Z",
            "２026-11-26T00:00:00Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn window_starts() {
        assert_eq!(parse_window_start("00:00"), Some(0));
        assert_eq!(parse_window_start("23:59"), Some(1439));
        for bad in ["24:00", "12:60", "1:00", "12:00:00", "ab:cd", ""] {
            assert_eq!(parse_window_start(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths() {
        let root = JsonPath::root();
        assert_eq!(root.to_string(), "$");
        assert_eq!(root.index(2).to_string(), "$[2]");
        let p = root
            .field("sites")
            .index(2)
            .field("cell")
            .field("loss")
            .field("p");
        assert_eq!(p.to_string(), "sites[2].cell.loss.p");
        assert_eq!(root.field("a b").field("c").to_string(), "$[\"a b\"].c");
        assert_eq!(root.field("x").field("1").to_string(), "x[\"1\"]");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(1e300), "1e300");
        assert_eq!(num(f64::NAN), "NaN");
    }
}
