//! Placing the scenario's attackers: crafted envelopes and payloads built with the real
//! protocol (a foreign key, an out-of-scope author, a stolen vendor key, an older release,
//! an expired or over-broad approval, no approval, a missing dependency), tampering caches,
//! on-path attackers, rogue clients with their own AS, an off-path prober and a flooder.

use std::sync::Arc;

use icsim_protocol::ace::AuthorizationServer;
use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author::{self, UpdateSpec};
use icsim_protocol::coap::EndpointConfig;
use icsim_protocol::cose;
use icsim_protocol::credential::{AuthorScope, CredentialClaims};
use icsim_protocol::exchange::{AuthServer, UmConfig, UpdateJob, UpdateManager};
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};
use icsim_protocol::keys::{KeyAlgorithm, PrivateKey};
use icsim_protocol::suit::{Dependency, Envelope};
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::{self, Defences};
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;

use super::attacks::{self, OnPath};
use super::build::BuildError;
use super::prober::{Flooder, Prober};
use super::{AS_ADDR, Engine, Event, NodeId, Rogue, addr_of};
use crate::rng::stream;
use crate::scenario::model::Scenario;

/// What the attacks need from the build.
pub(super) struct Context<'a> {
    pub(super) scenario: &'a Scenario,
    pub(super) seed: u64,
    pub(super) epoch: Instant,
    pub(super) release: Instant,
    pub(super) end: Instant,
    pub(super) operator: &'a PrivateKey,
    pub(super) operator_kek: &'a PrivateKey,
    /// Authors by name: key and credential.
    pub(super) authors: &'a [(String, PrivateKey, Vec<u8>)],
    pub(super) defences: Defences,
}

fn hours(h: f64) -> Duration {
    Duration::from_micros((h.max(0.0) * 3.6e9).round() as u64)
}

fn proto(e: impl std::fmt::Display) -> BuildError {
    BuildError::Protocol(e.to_string())
}

/// An image of `len` bytes from the attacker's stream.
fn image(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// A crafted update built with the protocol crate.
struct Crafted {
    envelope: Envelope,
    payload: Vec<u8>,
    cek: Option<cose::Cek>,
    spec: UpdateSpec,
}

/// An author credential for `author`'s key, valid from a day before `from_s` to a day
/// after `until_s`, signed by `issuer` (the operator's key, or the author's own for a
/// forgery).
fn credential(
    issuer: &PrivateKey,
    subject: &str,
    author: &PrivateKey,
    types: Vec<UpdateType>,
    (from_s, until_s): (u64, u64),
) -> Vec<u8> {
    CredentialClaims {
        issuer: "operator".into(),
        subject: subject.into(),
        issued_at: from_s.saturating_sub(86_400),
        expires_at: until_s + 86_400,
        author_key: author.public_key().clone(),
        scope: AuthorScope {
            types,
            components: None,
            classes: None,
        },
    }
    .issue(issuer)
}

fn craft(
    rng: &mut ChaCha20Rng,
    author: &PrivateKey,
    credential: &[u8],
    kek: &PrivateKey,
    img: &[u8],
    spec: UpdateSpec,
) -> Result<Crafted, BuildError> {
    let built = author::create_update(rng, author, credential, kek.public_key(), img, &spec)
        .map_err(proto)?;
    let cek = author::unwrap_cek(&built.envelope, kek).ok();
    Ok(Crafted {
        envelope: built.envelope,
        payload: built.payload,
        cek,
        spec,
    })
}

fn approve(
    op: &PrivateKey,
    env: &mut Envelope,
    classes: Vec<Uuid>,
    nbf: u64,
    naf: u64,
    id: &str,
) -> Result<(), BuildError> {
    approval::approve(
        env,
        op,
        &ApprovalClaims {
            classes,
            not_before: Some(nbf),
            not_after: Some(naf),
            approval_id: id.as_bytes().to_vec(),
        },
    )
    .map_err(proto)
}

impl Engine {
    /// Place every attacker of the scenario.
    pub(super) fn add_attacks(&mut self, ctx: &Context<'_>) -> Result<(), BuildError> {
        let sc = ctx.scenario;
        // Each device's genuine first update, before any attacker adds its own.
        let genuine_first: Vec<Option<usize>> = (0..self.devices.len() as u32)
            .map(|d| self.rollout.plan(d).updates.first().copied())
            .collect();
        // Every genuine image's digest, to tell an altered or wrong install.
        for t in genuine_first.iter().flatten() {
            if let Ok(env) = Envelope::decode(&self.rollout.template_job(*t).envelope)
                && let Some(digest) = &env.manifest().parameters.image_digest
            {
                self.attacks.genuine_digest.insert(*t, digest.bytes.clone());
            }
        }
        for (i, a) in sc.attackers.iter().enumerate() {
            let (id, _, _) = attacks::entry(&a.attack)
                .ok_or_else(|| BuildError::Scenario(format!("unknown attack {}", a.attack)))?;
            let site = match &a.site {
                Some(name) => sc
                    .sites
                    .iter()
                    .position(|s| s.name == *name)
                    .ok_or_else(|| BuildError::Scenario(format!("attackers[{i}].site")))?
                    as u32,
                None => 0,
            };
            let start = ctx.release + hours(a.start_h);
            let mut rng = stream(ctx.seed, &format!("attacker:{i}:{id}"), "attack");
            let at_site: Vec<u32> = self
                .rollout
                .order()
                .iter()
                .copied()
                .filter(|d| self.devices[*d as usize].site == site)
                .collect();
            let Some(&first) = at_site.first() else {
                return Err(BuildError::Scenario(format!(
                    "attackers[{i}]: no device with an update at that site"
                )));
            };
            let n = (a.attempts.max(1) as usize).min(at_site.len());
            let targets: Vec<u32> = at_site[..n].to_vec();
            let genuine_t =
                genuine_first[first as usize].ok_or_else(|| proto("no genuine update"))?;
            let genuine = self.rollout.template_job(genuine_t).clone();
            let genuine_env = Envelope::decode(&genuine.envelope).map_err(proto)?;
            let m = genuine_env.manifest().clone();
            let component = m
                .component()
                .cloned()
                .unwrap_or_else(|| ComponentId::named("fw"));
            let vendor_id = m.parameters.vendor_id.unwrap_or_default();
            let class_id = m.parameters.class_id.unwrap_or_default();
            let size = m.parameters.image_size.unwrap_or(1024) as usize;
            let update_name = sc
                .updates
                .iter()
                .find(|u| {
                    u.sequence == m.sequence_number && ComponentId::named(&u.component) == component
                })
                .cloned();
            let (author_name, installed_seq) =
                update_name.as_ref().map_or((String::new(), 0), |u| {
                    (u.author.clone(), u.installed_sequence)
                });
            let (_, vendor_key, vendor_cred) = ctx
                .authors
                .iter()
                .find(|(n, _, _)| *n == author_name)
                .or(ctx.authors.first())
                .ok_or_else(|| BuildError::Scenario("no author".into()))?;
            let (epoch_s, end_s) = (ctx.epoch.unix_secs(), ctx.end.unix_secs());
            let spec = |seq: u64,
                        class: Uuid,
                        kind: UpdateType,
                        comp: ComponentId,
                        deps: Vec<Dependency>,
                        tag: &str| UpdateSpec {
                component: comp,
                vendor_id,
                class_id: class,
                sequence_number: seq,
                update_type: kind,
                dependencies: deps,
                payload_uri: format!("coap://repository/attack/{tag}"),
                encrypt: true,
            };
            self.attacks.tally(id);
            match id {
                "ATK-EAVES" => {
                    self.attacks.eaves_sites.insert(site);
                    self.push_on_path(id, site, start, a.probability, a.attempts, rng);
                    for u in &sc.updates {
                        let mut img = vec![0u8; (u.size_kib * 1024.0).round() as usize];
                        stream(ctx.seed, &format!("update:{}", u.name), "image")
                            .fill_bytes(&mut img);
                        if img.len() >= 64 {
                            self.attacks.secrets.push((
                                "firmware plaintext",
                                img[img.len() / 2..img.len() / 2 + 64].to_vec(),
                            ));
                        }
                    }
                    for t in 0..self.rollout.template_count() {
                        if let Some(cek) = &self.rollout.template_job(t).cek {
                            self.attacks
                                .secrets
                                .push(("content key", cek.as_bytes().to_vec()));
                        }
                    }
                }
                "ATK-TAMPER" | "ATK-OSCORE-REPLAY" | "ATK-DROP" | "ATK-SLOW" => {
                    self.push_on_path(id, site, start, a.probability, a.attempts, rng);
                }
                "ATK-WRONG" | "ATK-ENDLESS" => {
                    let genuine_payload = self
                        .repo
                        .object(&genuine.path)
                        .ok_or_else(|| proto("genuine payload missing"))?;
                    let bytes: Vec<u8> = if id == "ATK-WRONG" {
                        // Another image under the same key and nonce (a vendor reusing its
                        // CEK across builds): a valid AEAD ciphertext of the wrong image.
                        let info = m
                            .parameters
                            .encryption_info
                            .as_deref()
                            .ok_or_else(|| proto("no encryption info"))?;
                        let info = cose::decode_encrypt(info).map_err(proto)?;
                        let cek = genuine.cek.as_ref().ok_or_else(|| proto("no CEK"))?;
                        let other = image(&mut rng, size);
                        cose::reencrypt_detached(&info, cek, &other).map_err(proto)?
                    } else {
                        let mut endless = genuine_payload.to_vec();
                        endless.extend(image(&mut rng, genuine_payload.len() * 9));
                        self.push_on_path(
                            id,
                            site,
                            start,
                            1.0,
                            u32::MAX,
                            stream(ctx.seed, &format!("attacker:{i}:{id}"), "count"),
                        );
                        endless
                    };
                    let Some(cache) = self.caches.get_mut(site as usize).and_then(Option::as_mut)
                    else {
                        return Err(BuildError::Scenario(format!(
                            "attackers[{i}]: {id} needs a cache at its site"
                        )));
                    };
                    cache.publish(&genuine.path, Arc::from(bytes));
                    for d in &at_site {
                        if genuine_first[*d as usize] == Some(genuine_t) {
                            self.attacks.payload_targets.insert(*d, id);
                        }
                    }
                    if let Some(digest) = &m.parameters.image_digest {
                        self.attacks
                            .genuine_digest
                            .insert(genuine_t, digest.bytes.clone());
                    }
                    self.attacks
                        .payload_size
                        .insert(genuine_t, genuine_payload.len() as u64);
                }
                "ATK-ROLLBACK"
                | "ATK-EXPIRED-APPROVAL"
                | "ATK-INCOMPAT"
                | "ATK-UNAPPROVED"
                | "ATK-MIX" => {
                    let img = image(&mut rng, size.min(64 * 1024));
                    let tag = format!("{i}");
                    let kind = genuine.update_type;
                    let other_class = Uuid(class_id.0.map(|b| b ^ 0xa5));
                    let (crafted, classes, window) = if id == "ATK-MIX" {
                        // An application that needs a library version nobody installed.
                        let integrator = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256));
                        let cred = credential(
                            ctx.operator,
                            "integrator",
                            &integrator,
                            UpdateType::ALL.to_vec(),
                            (epoch_s, end_s),
                        );
                        let dep = Dependency {
                            component: ComponentId::named("lib-missing"),
                            min_sequence: 5,
                        };
                        (
                            craft(
                                &mut rng,
                                &integrator,
                                &cred,
                                ctx.operator_kek,
                                &img,
                                spec(
                                    1,
                                    class_id,
                                    UpdateType::Application,
                                    ComponentId::named(&format!("app-{i}")),
                                    vec![dep],
                                    &tag,
                                ),
                            )?,
                            Some(vec![class_id]),
                            (epoch_s.saturating_sub(3600), end_s + 86_400),
                        )
                    } else {
                        // Signed with the vendor's own key: what is wrong is the version, the
                        // device class or the operator's approval.
                        let recent = (epoch_s.saturating_sub(3600), end_s + 86_400);
                        let (sequence, target, classes, window) = match id {
                            "ATK-ROLLBACK" => (
                                installed_seq,
                                class_id,
                                Some(vec![class_id]),
                                (epoch_s.saturating_sub(30 * 86_400), end_s + 86_400),
                            ),
                            "ATK-EXPIRED-APPROVAL" => (
                                m.sequence_number,
                                class_id,
                                Some(vec![class_id]),
                                (
                                    epoch_s.saturating_sub(30 * 86_400),
                                    epoch_s.saturating_sub(3600),
                                ),
                            ),
                            "ATK-INCOMPAT" => (
                                m.sequence_number,
                                other_class,
                                Some(vec![other_class, class_id]),
                                recent,
                            ),
                            // ATK-UNAPPROVED: no approval at all.
                            _ => (m.sequence_number, class_id, None, (0, 0)),
                        };
                        let crafted = craft(
                            &mut rng,
                            vendor_key,
                            vendor_cred,
                            ctx.operator_kek,
                            &img,
                            spec(sequence, target, kind, component.clone(), vec![], &tag),
                        )?;
                        (crafted, classes, window)
                    };
                    let mut crafted = crafted;
                    if let Some(classes) = classes {
                        approve(
                            ctx.operator,
                            &mut crafted.envelope,
                            classes,
                            window.0,
                            window.1,
                            id,
                        )?;
                    }
                    let t = self.add_crafted(id, &crafted, &tag, site);
                    for d in &targets {
                        self.rollout.insert_update(*d, t, true);
                    }
                }
                "ATK-FORGE" | "ATK-SCOPE" | "ATK-STOLEN-KEY" => {
                    let img = image(&mut rng, size.min(64 * 1024));
                    let tag = format!("{i}");
                    let seq = m.sequence_number + 1 + i as u64;
                    let crafted = match id {
                        "ATK-FORGE" => {
                            // A key the operator never saw, with a credential it issued to itself.
                            let key = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256));
                            let cred = credential(
                                &key,
                                &author_name,
                                &key,
                                UpdateType::ALL.to_vec(),
                                (epoch_s, end_s),
                            );
                            craft(
                                &mut rng,
                                &key,
                                &cred,
                                ctx.operator_kek,
                                &img,
                                spec(
                                    seq,
                                    class_id,
                                    genuine.update_type,
                                    component.clone(),
                                    vec![],
                                    &tag,
                                ),
                            )?
                        }
                        "ATK-SCOPE" => {
                            // A library provider signing firmware.
                            let key = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256));
                            let cred = credential(
                                ctx.operator,
                                "library-provider",
                                &key,
                                vec![UpdateType::Library],
                                (epoch_s, end_s),
                            );
                            craft(
                                &mut rng,
                                &key,
                                &cred,
                                ctx.operator_kek,
                                &img,
                                spec(
                                    seq,
                                    class_id,
                                    UpdateType::Firmware,
                                    component.clone(),
                                    vec![],
                                    &tag,
                                ),
                            )?
                        }
                        _ => craft(
                            &mut rng,
                            vendor_key,
                            vendor_cred,
                            ctx.operator_kek,
                            &img,
                            spec(
                                seq,
                                class_id,
                                genuine.update_type,
                                component.clone(),
                                vec![],
                                &tag,
                            ),
                        )?,
                    };
                    // The operator's pipeline: vetting (credential, author signature, scope),
                    // then its tests, then approval.
                    let (_, vetted) = verify::vet_update_with(
                        &crafted.envelope.encode(),
                        ctx.operator.public_key(),
                        ctx.epoch,
                        ctx.defences,
                    );
                    if let Err(r) = vetted {
                        let t = self.attacks.tally(id);
                        t.attempts += 1;
                        t.block(r.check().name());
                        continue;
                    }
                    if id == "ATK-STOLEN-KEY" && ctx.defences.operator_approval {
                        // The operator tests every update before approving it (IEC TR
                        // 62443-2-3); the malicious behaviour shows in its test bench.
                        let t = self.attacks.tally(id);
                        t.attempts += 1;
                        t.block("operator_approval");
                        t.notes
                            .push("found by the operator's tests before approval".into());
                        continue;
                    }
                    let mut crafted = crafted;
                    approve(
                        ctx.operator,
                        &mut crafted.envelope,
                        vec![class_id],
                        epoch_s.saturating_sub(3600),
                        end_s + 86_400,
                        id,
                    )?;
                    let t = self.add_crafted(id, &crafted, &tag, site);
                    // The approved update goes to every device of the class, up to `attempts`.
                    let class_devices: Vec<u32> = self
                        .rollout
                        .order()
                        .iter()
                        .copied()
                        .filter(|d| genuine_first[*d as usize] == Some(genuine_t))
                        .take(a.attempts.max(1) as usize)
                        .collect();
                    for d in class_devices {
                        self.rollout.insert_update(d, t, false);
                    }
                }
                "ATK-TOKEN-AUD" | "ATK-TOKEN-EXPIRED" | "ATK-TOKEN-SCOPE" => {
                    let victim = *at_site.get(1).unwrap_or(&first);
                    let other = first;
                    let (aud_device, lifetime) = match id {
                        "ATK-TOKEN-AUD" => (other, Duration::from_secs(3600)),
                        "ATK-TOKEN-EXPIRED" => (victim, Duration::ZERO),
                        _ => (victim, Duration::from_secs(3600)),
                    };
                    let aud_node = &self.devices[aud_device as usize].node;
                    let audience = aud_node.config().audience.clone();
                    let key = aud_node.config().as_key;
                    let mut as_server = AuthorizationServer::new(lifetime);
                    as_server.register_device(audience.clone(), key);
                    let r = self.rogues.len() as u32;
                    let auth = AuthServer::new(
                        EndpointConfig::default(),
                        as_server,
                        stream(ctx.seed, &format!("rogue:{i}"), "as"),
                    );
                    let um = UpdateManager::new(
                        UmConfig {
                            auth_server: addr_of(NodeId::RogueAs(r)),
                            max_attempts: 1,
                            confirm_after_rollback: false,
                            ..UmConfig::default()
                        },
                        stream(ctx.seed, &format!("rogue:{i}"), "um"),
                    );
                    let mut job = genuine.clone();
                    if id == "ATK-TOKEN-SCOPE" {
                        // A maintenance client whose token grants app:install only.
                        job.update_type = UpdateType::Application;
                    }
                    self.attacks.rogue.insert(addr_of(NodeId::RogueUm(r)), id);
                    self.rogues.push(Rogue {
                        um,
                        auth,
                        site,
                        attack: id,
                        target: victim,
                        audience,
                        job: Arc::new(job),
                    });
                    self.queue.push(start, Event::RogueStart(r));
                }
                "ATK-OFFPATH" => {
                    let addrs = targets
                        .iter()
                        .map(|d| addr_of(NodeId::Device(*d)))
                        .collect();
                    self.prober = Some((Prober::new(addrs, start, rng), site));
                    self.attacks.prober = Some(addr_of(NodeId::Prober));
                    self.schedule_timer(start, NodeId::Prober);
                }
                "ATK-FLOOD" => {
                    let flooder =
                        Flooder::new(AS_ADDR, start, start + Duration::from_secs(120), 10_000);
                    self.flooder = Some((flooder, site));
                    self.schedule_timer(start, NodeId::Flooder);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn push_on_path(
        &mut self,
        id: &'static str,
        site: u32,
        start: Instant,
        probability: f64,
        attempts: u32,
        rng: ChaCha20Rng,
    ) {
        self.attacks.on_path.push(OnPath {
            attack: id,
            site,
            start,
            probability,
            attempts_left: attempts.max(1),
            rng,
        });
    }

    /// Publish a crafted update's payload and make a template of it.
    fn add_crafted(&mut self, id: &'static str, c: &Crafted, tag: &str, site: u32) -> usize {
        let path = format!("attack/{tag}");
        let payload: Arc<[u8]> = Arc::from(c.payload.clone());
        self.repo.publish(&path, Arc::clone(&payload));
        if let Some(Some(cache)) = self.caches.get_mut(site as usize) {
            cache.publish(&path, payload);
        }
        let job = UpdateJob {
            envelope: Arc::from(c.envelope.encode()),
            update_type: c.spec.update_type,
            sequence: c.spec.sequence_number,
            cek: c.cek.clone(),
            delivery: icsim_protocol::exchange::wire::Delivery::Fetch {
                source: super::REPO_ADDR.0,
            },
            path,
            payload: None,
            install: icsim_protocol::exchange::InstallTiming::Immediate,
            kind: icsim_protocol::exchange::JobKind::Install,
        };
        let t = self.rollout.add_template(job);
        self.attacks.templates.insert(t, id);
        t
    }
}
