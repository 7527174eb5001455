//! Building a run from a validated scenario: keys, credentials and real signed, encrypted,
//! approved updates; the network; the fleet; the backend; the rollout.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use icsim_protocol::ace::AuthorizationServer;
use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author::{self, UpdateSpec};
use icsim_protocol::coap::{BlockSize, EndpointConfig};
use icsim_protocol::credential::{AuthorScope, CredentialClaims};
use icsim_protocol::exchange::wire::Delivery;
use icsim_protocol::exchange::{
    AuthServer, Device, DeviceConfig, DevicePersistent, InstallTiming, JobKind, Repository,
    UmConfig, UpdateJob, UpdateManager,
};
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};
use icsim_protocol::keys::{KeyAlgorithm, PrivateKey};
use icsim_protocol::suit::Dependency;
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::{Defences, DeviceIdentity, InstalledComponents};
use rand_core::Rng;

use super::clock::TimerSlot;
use super::metrics::Metrics;
use super::queue::EventQueue;
use super::rollout::{DevicePlan, Policy, Rollout, SitePlan, UpdateTemplate};
use super::{
    AS_ADDR, CACHE_BASE, CpuCosts, DeviceSlot, Dir, Engine, Event, REPO_ADDR, SiteNet, Station,
    TimerTable,
};
use crate::net::{LinkDirection, LinkParams, outage_spans};
use crate::rng::stream;
use crate::run::RunOptions;
use crate::scenario::model::{
    DeliveryMode, InstallTiming as ScenarioInstall, LinkTier, Scenario, Strategy,
};
use crate::scenario::{parse_epoch, parse_window_start};
use icsim_protocol::memo::CryptoMemo;

/// Why a run could not be built (the scenario passed validation, so these are internal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A scenario value the builder cannot use.
    #[error("scenario: {0}")]
    Scenario(String),
    /// Building a protocol object failed.
    #[error("protocol: {0}")]
    Protocol(String),
}

fn secs(s: f64) -> Duration {
    Duration::from_micros((s.max(0.0) * 1e6).round() as u64)
}

fn uuid(text: &str) -> Result<Uuid, BuildError> {
    text.parse()
        .map_err(|_| BuildError::Scenario(format!("bad UUID {text}")))
}

/// A direction like `proto` (sharing its parameters and outages) with its own stream.
fn dir(proto: &LinkDirection, seed: u64, entity: String) -> Dir {
    Dir {
        link: proto.idle_copy(),
        rng: stream(seed, &entity, "link"),
    }
}

/// The policy in force: `policy` (or the scenario's `rollout.policy`) with the rollout's
/// knobs as defaults.
fn effective_policy(
    scenario: &Scenario,
    policy: Option<&str>,
) -> Result<(Policy, ScenarioInstall), BuildError> {
    let r = &scenario.rollout;
    let name = policy.unwrap_or(&r.policy);
    let named = scenario.policies.iter().find(|p| p.name == name);
    if named.is_none() && name != "all_at_once" {
        return Err(BuildError::Scenario(format!("no policy named {name:?}")));
    }
    let hours = |h: f64| secs(h * 3600.0);
    Ok((
        Policy {
            name: name.to_string(),
            strategy: named.map_or(Strategy::AllAtOnce, |p| p.strategy.clone()),
            concurrency: named
                .and_then(|p| p.concurrency)
                .unwrap_or(r.concurrency)
                .max(1),
            cell_budget: named.and_then(|p| p.cell_budget).or(r.cell_budget),
            abort: named
                .and_then(|p| p.abort.clone())
                .or_else(|| r.abort.clone()),
            approval_delay: hours(
                named
                    .and_then(|p| p.approval_delay_h)
                    .unwrap_or(r.approval_delay_h),
            ),
            retries: named.and_then(|p| p.retries).unwrap_or(r.retries),
            device_timeout: hours(
                named
                    .and_then(|p| p.device_timeout_h)
                    .unwrap_or(r.device_timeout_h),
            ),
        },
        named.and_then(|p| p.install).unwrap_or(r.install),
    ))
}

/// Build the engine for `scenario` with `seed`, under `policy` (default: the scenario's).
pub(crate) fn build(
    scenario: &Scenario,
    seed: u64,
    policy: Option<&str>,
    options: &RunOptions,
) -> Result<Engine, BuildError> {
    let (mut policy, install_mode) = effective_policy(scenario, policy)?;
    // One memo of crypto results and payload blocks for the whole fleet.
    let memo = CryptoMemo::with_enabled(options.crypto_cache);
    // Defence switches: the protocol's, and the simulator's own three.
    let mut defences = Defences::default();
    let switch = |name: &str| scenario.defences.get(name).copied().unwrap_or(true);
    for (name, on) in &scenario.defences {
        if !SIM_SWITCHES.contains(&name.as_str()) {
            defences
                .set(name, *on)
                .map_err(|e| BuildError::Scenario(e.to_string()))?;
        }
    }
    let (retries_on, timeout_on, rate_limit_on) = (
        switch("retries"),
        switch("device_timeout"),
        switch("rate_limit"),
    );
    if !retries_on {
        policy.retries = 0;
    }
    let configured_timeout = policy.device_timeout;
    if !timeout_on {
        policy.device_timeout = Duration::from_secs(1 << 40);
    }
    let epoch = parse_epoch(&scenario.epoch).ok_or_else(|| BuildError::Scenario("epoch".into()))?;
    let epoch_s = epoch.unix_secs();
    let end = epoch + secs(scenario.horizon_h * 3600.0);
    let release = epoch + secs(scenario.rollout.release_h * 3600.0);
    let proto = |e: &dyn std::fmt::Display| BuildError::Protocol(e.to_string());

    // The operator, the authors and their credentials.
    let operator = PrivateKey::generate(
        &mut stream(seed, "operator", "signing-key"),
        Some(KeyAlgorithm::Es256),
    );
    let operator_kek = PrivateKey::generate(
        &mut stream(seed, "operator", "kek"),
        Some(KeyAlgorithm::EcdhEsA128Kw),
    );
    let mut authors = Vec::new();
    for a in &scenario.authors {
        let key = PrivateKey::generate(
            &mut stream(seed, &format!("author:{}", a.name), "signing-key"),
            Some(KeyAlgorithm::Es256),
        );
        let types = a
            .types
            .iter()
            .map(|t| {
                t.parse::<UpdateType>()
                    .map_err(|e| BuildError::Scenario(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credential = CredentialClaims {
            issuer: "operator".into(),
            subject: a.name.clone(),
            issued_at: epoch_s.saturating_sub(86_400),
            expires_at: end.unix_secs() + 365 * 86_400,
            author_key: key.public_key().clone(),
            scope: AuthorScope {
                types,
                components: None,
                classes: None,
            },
        }
        .issue(&operator);
        authors.push((a.name.clone(), key, credential));
    }

    // One signed, encrypted, approved envelope per (update, device class).
    let classes = &scenario.device_classes;
    let mut templates: Vec<UpdateTemplate> = Vec::new();
    let mut template_of: Vec<Vec<Option<usize>>> = Vec::new();
    let mut template_names = Vec::new();
    let mut publications: Vec<(String, Arc<[u8]>)> = Vec::new();
    for (ui, u) in scenario.updates.iter().enumerate() {
        let update_type: UpdateType =
            u.update_type
                .parse()
                .map_err(|e: icsim_protocol::ids::UpdateTypeError| {
                    BuildError::Scenario(e.to_string())
                })?;
        let (_, author_key, credential) = authors
            .iter()
            .find(|(n, _, _)| *n == u.author)
            .ok_or_else(|| BuildError::Scenario(format!("author {}", u.author)))?;
        let mut image = vec![0u8; (u.size_kib * 1024.0).round() as usize];
        stream(seed, &format!("update:{}", u.name), "image").fill_bytes(&mut image);
        let dependencies = u
            .depends
            .iter()
            .filter_map(|dep| scenario.updates.iter().find(|x| x.name == *dep))
            .map(|dep| Dependency {
                component: ComponentId::named(&dep.component),
                min_sequence: dep.sequence,
            })
            .collect::<Vec<_>>();
        let mut row = vec![None; classes.len()];
        for (ci, c) in classes.iter().enumerate() {
            if !u.classes.contains(&c.name) {
                continue;
            }
            let path = format!("fw/{}/{}", u.name, c.name);
            let spec = UpdateSpec {
                component: ComponentId::named(&u.component),
                vendor_id: uuid(&c.vendor_id)?,
                class_id: uuid(&c.class_id)?,
                sequence_number: u.sequence,
                update_type,
                dependencies: dependencies.clone(),
                payload_uri: format!("coap://repository/{path}"),
                encrypt: true,
            };
            let mut rng = stream(seed, &format!("update:{}:{}", u.name, c.name), "build");
            let built = author::create_update(
                &mut rng,
                author_key,
                credential,
                operator_kek.public_key(),
                &image,
                &spec,
            )
            .map_err(|e| proto(&e))?;
            let mut envelope = built.envelope;
            let claims = ApprovalClaims {
                classes: vec![spec.class_id],
                not_before: Some(epoch_s.saturating_sub(3600)),
                not_after: Some(end.unix_secs() + 30 * 86_400),
                approval_id: format!("{}:{}", u.name, c.name).into_bytes(),
            };
            approval::approve(&mut envelope, &operator, &claims).map_err(|e| proto(&e))?;
            let cek = author::unwrap_cek(&envelope, &operator_kek).map_err(|e| proto(&e))?;
            let payload: Arc<[u8]> = Arc::from(built.payload);
            publications.push((path.clone(), Arc::clone(&payload)));
            row[ci] = Some(templates.len());
            template_names.push(u.name.clone());
            templates.push(UpdateTemplate {
                job: UpdateJob {
                    envelope: Arc::from(envelope.encode()),
                    update_type,
                    sequence: u.sequence,
                    cek: Some(cek),
                    delivery: Delivery::Fetch {
                        source: REPO_ADDR.0,
                    },
                    path,
                    payload: (scenario.rollout.delivery == DeliveryMode::Push).then_some(payload),
                    install: InstallTiming::Immediate,
                    kind: JobKind::Install,
                },
            });
        }
        let _ = ui;
        template_of.push(row);
    }

    // Backend.
    let endpoint = EndpointConfig::default();
    let smallest_block = classes.iter().map(|c| c.block_size).min().unwrap_or(1024);
    let um_block = BlockSize::from_bytes(smallest_block as usize).map_err(|e| proto(&e))?;
    let mut as_server = AuthorizationServer::new(secs(
        scenario.backend.update_manager.token_lifetime_h * 3600.0,
    ));
    let um = UpdateManager::new(
        UmConfig {
            auth_server: AS_ADDR,
            block_size: um_block,
            poll_interval: secs(scenario.backend.update_manager.poll_interval_s),
            max_attempts: scenario.backend.update_manager.max_attempts,
            defences,
            ..UmConfig::default()
        },
        stream(seed, "um", "protocol"),
    );
    let mut repo = Repository::new(
        endpoint.clone(),
        BlockSize::from_bytes(1024).map_err(|e| proto(&e))?,
        stream(seed, "repository", "protocol"),
    );
    for (path, bytes) in &publications {
        repo.publish(path, Arc::clone(bytes));
    }
    let station = |s: &crate::scenario::model::Station| Station {
        service: secs(s.service_time_ms / 1000.0),
        capacity: s.capacity.max(1),
        // Without the rate-limit defence the queue is unbounded as well.
        limit: if rate_limit_on {
            s.queue_limit
        } else {
            u32::MAX
        },
        busy: 0,
        waiting: VecDeque::new(),
        served: 0,
        dropped: 0,
        dropped_legit: 0,
        slow_legit: 0,
        max_queue: 0,
        busy_time: Duration::ZERO,
    };
    let stations = [
        station(&scenario.backend.authorization_server),
        station(&scenario.backend.repository),
    ];

    // Sites, their networks and caches, and the fleet.
    let costs = classes
        .iter()
        .map(|c| CpuCosts {
            ecdsa_us: c.cpu.ecdsa_verify_ms * 1e3,
            ecdh_us: c.cpu.ecdh_ms * 1e3,
            hkdf_us: c.cpu.hkdf_us,
            aes_us_per_byte: 1e6 / (c.cpu.aes_kib_s * 1024.0),
            sha_us_per_byte: 1e6 / (c.cpu.sha256_kib_s * 1024.0),
            flash_us_per_byte: 1e6 / (c.flash_write_kib_s * 1024.0),
        })
        .collect();
    let mut sites = Vec::new();
    let mut caches = Vec::new();
    let mut site_plans = Vec::new();
    // Sized once: a device slot is about 2 KiB, and growing by doubling would hold up to
    // twice the fleet's slots (and both copies while it moves them).
    let fleet: usize = scenario
        .sites
        .iter()
        .flat_map(|s| &s.devices)
        .map(|g| g.count as usize)
        .sum();
    let mut devices = Vec::with_capacity(fleet);
    let mut plans = Vec::new();
    let mut audiences = Vec::new();
    let mut cell_of = Vec::new();
    let mut site_of = Vec::new();
    let mut site_windows = Vec::new();
    let mut install_windows = Vec::new();
    let mut next_cell = 0u32;
    for (si, site) in scenario.sites.iter().enumerate() {
        let wan = LinkParams::from_model(&site.wan);
        let cell = LinkParams::from_model(&site.cell);
        let wan = LinkDirection::new(&wan, outage_spans(&site.outages, LinkTier::Wan, epoch));
        let cell = LinkDirection::new(&cell, outage_spans(&site.outages, LinkTier::Cell, epoch));
        sites.push(SiteNet {
            wan: [
                dir(&wan, seed, format!("site:{si}:wan:down")),
                dir(&wan, seed, format!("site:{si}:wan:up")),
            ],
            cell: site.cell.shared.then(|| {
                [
                    dir(&cell, seed, format!("site:{si}:cell:down")),
                    dir(&cell, seed, format!("site:{si}:cell:up")),
                ]
            }),
        });
        let cache = site.cache.then(|| {
            let mut c = Repository::new(
                endpoint.clone(),
                BlockSize::from_bytes(1024).unwrap_or(um_block),
                stream(seed, &format!("cache:{si}"), "protocol"),
            );
            for (path, bytes) in &publications {
                c.publish(path, Arc::clone(bytes));
            }
            c
        });
        let source = if site.cache {
            CACHE_BASE + si as u32
        } else {
            REPO_ADDR.0
        };
        caches.push(cache);
        let window = match &site.maintenance_window {
            Some(w) => {
                let minutes = parse_window_start(&w.start)
                    .ok_or_else(|| BuildError::Scenario("window start".into()))?;
                let local = i64::from(minutes) * 60 - (site.utc_offset_h * 3600.0).round() as i64;
                Some(InstallTiming::DailyWindow {
                    start_s: local.rem_euclid(86_400) as u64,
                    duration_s: (w.duration_h * 3600.0).round() as u64,
                })
            }
            None => None,
        };
        site_windows.push(window);
        let install = match (install_mode, window) {
            (ScenarioInstall::Window, Some(w)) => w,
            _ => InstallTiming::Immediate,
        };
        install_windows.push(window.filter(|_| install_mode == ScenarioInstall::Window));
        site_plans.push(SitePlan {
            delivery: match scenario.rollout.delivery {
                DeliveryMode::Fetch => Delivery::Fetch { source },
                DeliveryMode::Push => Delivery::Push,
            },
            install,
        });
        for group in &site.devices {
            let ci = classes
                .iter()
                .position(|c| c.name == group.class)
                .ok_or_else(|| BuildError::Scenario(format!("class {}", group.class)))?;
            let class = &classes[ci];
            let identity = DeviceIdentity {
                vendor_id: uuid(&class.vendor_id)?,
                class_id: uuid(&class.class_id)?,
            };
            let block = BlockSize::from_bytes(class.block_size as usize).map_err(|e| proto(&e))?;
            let mine: Vec<usize> = template_of.iter().filter_map(|row| row[ci]).collect();
            for k in 0..group.count {
                let d = devices.len() as u32;
                if k % group.redundancy.max(1) == 0 {
                    next_cell += 1;
                }
                cell_of.push(next_cell);
                site_of.push(si as u32);
                let audience = format!("plc-{d}");
                let mut as_key = [0u8; 16];
                if site.group_as_key {
                    // One key for the whole site (a provisioning shortcut).
                    stream(seed, &format!("site:{si}"), "as-key").fill_bytes(&mut as_key);
                } else {
                    stream(seed, &audience, "as-key").fill_bytes(&mut as_key);
                }
                as_server.register_device(audience.clone(), as_key);
                let mut installed = InstalledComponents::new();
                for t in &mine {
                    let u = scenario
                        .updates
                        .iter()
                        .find(|u| u.name == template_names[*t])
                        .ok_or_else(|| BuildError::Scenario("update".into()))?;
                    installed.set(ComponentId::named(&u.component), u.installed_sequence);
                }
                let config = DeviceConfig {
                    audience: audience.clone(),
                    identity,
                    trust_anchor: operator.public_key().clone(),
                    as_key,
                    block_size: block,
                    coap: endpoint.clone(),
                    install_duration: secs(class.install_s),
                    reboot_duration: secs(class.reboot_s),
                    boot_failure_ppm: (class.boot_failure_prob * 1e6).round() as u32,
                    max_envelope: 16 * 1024,
                    max_payload: 64 << 20,
                    fetch_retries: if retries_on { 4 } else { 0 },
                    defences,
                };
                let persistent = DevicePersistent {
                    installed,
                    ..DevicePersistent::default()
                };
                let mut node = Device::new(
                    config,
                    persistent,
                    stream(seed, &audience, "protocol"),
                    epoch,
                );
                node.set_crypto_memo(memo.clone());
                let link = (!site.cell.shared).then(|| {
                    Box::new([
                        dir(&cell, seed, format!("{audience}:cell:down")),
                        dir(&cell, seed, format!("{audience}:cell:up")),
                    ])
                });
                devices.push(DeviceSlot {
                    node,
                    site: si as u32,
                    class: ci as u16,
                    busy_until: epoch,
                    link,
                });
                plans.push(DevicePlan::new(mine.clone()));
                audiences.push(audience);
            }
        }
    }
    let auth = AuthServer::new(
        endpoint,
        as_server,
        stream(seed, "authorization-server", "protocol"),
    );
    let has_updates = plans.iter().map(|p| !p.updates.is_empty()).collect();
    let metrics = Metrics::new(
        release,
        cell_of.clone(),
        template_names,
        site_of.clone(),
        site_windows,
        has_updates,
    );
    let rollout = Rollout::new(
        policy, plans, audiences, templates, site_plans, site_of, cell_of,
    );
    let mut queue = EventQueue::new();
    queue.push(release, Event::Release);
    queue.push(release, Event::Sample);
    let timers = TimerTable {
        fixed: [TimerSlot::default(); 3],
        caches: vec![TimerSlot::default(); caches.len()],
        devices: vec![TimerSlot::default(); devices.len()],
        others: BTreeMap::new(),
    };
    let mut engine = Engine {
        memo,
        start: epoch,
        end,
        queue,
        um,
        auth,
        repo,
        caches,
        devices,
        sites,
        costs,
        stations,
        timers,
        rollout,
        metrics,
        sample_interval: secs(scenario.report.sample_interval_s).max(Duration::from_secs(1)),
        events: 0,
        finished_at: None,
        windows: install_windows,
        policy_wake: None,
        attacks: super::attacks::Attacks {
            slow_bound: configured_timeout,
            ..Default::default()
        },
        rogues: Vec::new(),
        prober: None,
        flooder: None,
        rate_limit: rate_limit_on,
        buckets: BTreeMap::new(),
        payload_bytes: BTreeMap::new(),
        defences_off: {
            let mut off: Vec<String> = defences.off().iter().map(|s| s.to_string()).collect();
            off.extend(
                SIM_SWITCHES
                    .iter()
                    .filter(|n| !switch(n))
                    .map(|n| n.to_string()),
            );
            off
        },
    };
    engine.add_attacks(&super::build_attacks::Context {
        scenario,
        seed,
        epoch,
        release,
        end,
        operator: &operator,
        operator_kek: &operator_kek,
        authors: &authors,
        defences,
    })?;
    Ok(engine)
}

/// The defence switches the simulator itself implements (the rest are the protocol's).
pub(crate) const SIM_SWITCHES: [&str; 3] = ["retries", "device_timeout", "rate_limit"];

/// Unused-import guard for `Instant` in signatures above.
#[allow(dead_code)]
fn _instant(_: Instant) {}
