//! A complete world for one device's update: keys, credential, an approved 256 KiB firmware
//! update, AS, repository, UM and device, wired through the harness.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use icsim_protocol::ace::AuthorizationServer;
use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author::{self, UpdateSpec};
use icsim_protocol::coap::{BlockSize, EndpointConfig};
use icsim_protocol::cose::Cek;
use icsim_protocol::credential::{AuthorScope, CredentialClaims};
use icsim_protocol::exchange::harness::{Mitm, Wire};
use icsim_protocol::exchange::wire::Delivery;
use icsim_protocol::exchange::{
    Addr, AuthServer, Device, DeviceConfig, DeviceEvent, DevicePersistent, Node, Outcome,
    Repository, UmConfig, UmEvent, UpdateJob, UpdateManager,
};
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};
use icsim_protocol::keys::{KeyAlgorithm, PrivateKey};
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::{Defences, DeviceIdentity, InstalledComponents};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub const UM: Addr = Addr(1);
pub const AS: Addr = Addr(2);
pub const REPO: Addr = Addr(3);
pub const DEV: Addr = Addr(10);
pub const START: u64 = 1_795_680_000; // 2026-11-26T08:00:00Z
pub const VENDOR: Uuid = Uuid([0xfa; 16]);
pub const CLASS: Uuid = Uuid([0x14; 16]);
pub const IMAGE_LEN: usize = 256 * 1024;
pub const PATH: &str = "fw/plc-fw/7";

pub fn rng(stream: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(stream)
}

/// What a test may vary.
#[derive(Clone)]
pub struct Options {
    pub update_type: UpdateType,
    pub job_type: UpdateType,
    pub audience: &'static str,
    pub token_lifetime: Duration,
    pub boot_failure_ppm: u32,
    pub push: bool,
    pub defences: Defences,
    /// The UM's defences (`UmConfig::defences`).
    pub um_defences: Defences,
    /// plc-1 and plc-2 share one AS key (a per-site group key), so that a token for
    /// plc-2 opens on plc-1 and only the audience check can tell.
    pub shared_as_key: bool,
    /// The repository serves a valid payload of another update (same size, same keys,
    /// another image) under the path the manifest names (ATK-WRONG).
    pub wrong_payload: bool,
    pub install: icsim_protocol::exchange::InstallTiming,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            update_type: UpdateType::Firmware,
            job_type: UpdateType::Firmware,
            audience: "plc-1",
            token_lifetime: Duration::from_secs(3600),
            boot_failure_ppm: 0,
            push: false,
            defences: Defences::default(),
            um_defences: Defences::default(),
            shared_as_key: false,
            wrong_payload: false,
            install: icsim_protocol::exchange::InstallTiming::Immediate,
        }
    }
}

pub struct World {
    pub um: UpdateManager<ChaCha20Rng>,
    pub auth: AuthServer<ChaCha20Rng>,
    pub repo: Repository<ChaCha20Rng>,
    pub device: Device<ChaCha20Rng>,
    pub cek: Cek,
    pub image: Vec<u8>,
    pub um_events: Vec<(Instant, UmEvent)>,
    pub device_events: Vec<(Instant, DeviceEvent)>,
    pub outcome: Option<Outcome>,
    pub job: Arc<UpdateJob>,
    /// The encrypted payload the manifest names.
    pub payload: Arc<[u8]>,
}

pub fn build(opts: &Options) -> World {
    let now = Instant::from_unix_secs(START);
    let mut r = rng(1);
    let operator = PrivateKey::generate(&mut r, Some(KeyAlgorithm::Es256));
    let operator_kek = PrivateKey::generate(&mut r, Some(KeyAlgorithm::EcdhEsA128Kw));
    let author_key = PrivateKey::generate(&mut r, Some(KeyAlgorithm::Es256));
    let credential = CredentialClaims {
        issuer: "operator".into(),
        subject: "vendor".into(),
        issued_at: START - 86_400,
        expires_at: START + 365 * 86_400,
        author_key: author_key.public_key().clone(),
        scope: AuthorScope {
            types: UpdateType::ALL.to_vec(),
            components: None,
            classes: None,
        },
    }
    .issue(&operator);
    let image: Vec<u8> = (0..IMAGE_LEN).map(|i| (i % 251) as u8 ^ 0x5a).collect();
    let spec = UpdateSpec {
        component: ComponentId::named("plc-fw"),
        vendor_id: VENDOR,
        class_id: CLASS,
        sequence_number: 7,
        update_type: opts.update_type,
        dependencies: vec![],
        payload_uri: format!("coap://repository/{PATH}"),
        encrypt: true,
    };
    let built = author::create_update(
        &mut r,
        &author_key,
        &credential,
        operator_kek.public_key(),
        &image,
        &spec,
    )
    .unwrap();
    let mut envelope = built.envelope;
    approval::approve(
        &mut envelope,
        &operator,
        &ApprovalClaims {
            classes: vec![CLASS],
            not_before: None,
            not_after: Some(START + 30 * 86_400),
            approval_id: b"chg-7".to_vec(),
        },
    )
    .unwrap();
    let cek = author::unwrap_cek(&envelope, &operator_kek).unwrap();

    let mut as_server = AuthorizationServer::new(opts.token_lifetime);
    let device_key = [0x42; 16];
    as_server.register_device("plc-1", device_key);
    let plc2_key = if opts.shared_as_key {
        device_key
    } else {
        [0x43; 16]
    };
    as_server.register_device("plc-2", plc2_key);
    let auth = AuthServer::new(EndpointConfig::default(), as_server, rng(2));

    let block = BlockSize::from_bytes(1024).unwrap();
    let mut repo = Repository::new(EndpointConfig::default(), block, rng(3));
    let payload: Arc<[u8]> = Arc::from(built.payload.clone());
    if opts.wrong_payload {
        let other_image: Vec<u8> = image.iter().map(|b| b ^ 0xff).collect();
        let other = author::create_update(
            &mut rng(6),
            &author_key,
            &credential,
            operator_kek.public_key(),
            &other_image,
            &UpdateSpec {
                sequence_number: 8,
                ..spec
            },
        )
        .unwrap();
        repo.publish(PATH, Arc::from(other.payload));
    } else {
        repo.publish(PATH, Arc::clone(&payload));
    }

    let mut installed = InstalledComponents::new();
    installed.set(ComponentId::named("plc-fw"), 6);
    let persistent = DevicePersistent {
        installed,
        ..DevicePersistent::default()
    };
    let device = Device::new(
        DeviceConfig {
            audience: "plc-1".into(),
            identity: DeviceIdentity {
                vendor_id: VENDOR,
                class_id: CLASS,
            },
            trust_anchor: operator.public_key().clone(),
            as_key: device_key,
            block_size: block,
            coap: EndpointConfig::default(),
            install_duration: Duration::from_secs(20),
            reboot_duration: Duration::from_secs(45),
            boot_failure_ppm: opts.boot_failure_ppm,
            max_envelope: 8192,
            max_payload: 4 << 20,
            fetch_retries: 4,
            defences: opts.defences,
        },
        persistent,
        rng(4),
        now,
    );
    let mut um = UpdateManager::new(
        UmConfig {
            auth_server: AS,
            block_size: block,
            defences: opts.um_defences,
            ..UmConfig::default()
        },
        rng(5),
    );
    let job = UpdateJob {
        envelope: Arc::from(envelope.encode()),
        update_type: opts.job_type,
        sequence: 7,
        cek: Some(cek.clone()),
        delivery: if opts.push {
            Delivery::Push
        } else {
            Delivery::Fetch { source: REPO.0 }
        },
        path: PATH.into(),
        payload: opts.push.then(|| Arc::clone(&payload)),
        install: opts.install,
        kind: icsim_protocol::exchange::JobKind::Install,
    };
    let job = Arc::new(job);
    um.start(now, DEV, opts.audience, Arc::clone(&job));
    World {
        um,
        auth,
        repo,
        device,
        cek,
        image,
        um_events: Vec::new(),
        device_events: Vec::new(),
        outcome: None,
        job,
        payload,
    }
}

impl World {
    /// Run until the UM's session ends or `limit` of virtual time has passed; `hook` runs
    /// after every step (to power-cycle the device, say).
    pub fn run<M: Mitm>(
        &mut self,
        wire: &mut Wire<M>,
        limit: Duration,
        mut hook: impl FnMut(&mut World, Instant),
    ) {
        let deadline = wire.now() + limit;
        while self.outcome.is_none() {
            let nodes: &mut [(Addr, &mut dyn Node)] = &mut [
                (UM, &mut self.um),
                (AS, &mut self.auth),
                (REPO, &mut self.repo),
                (DEV, &mut self.device),
            ];
            let Some(now) = wire.step(nodes, deadline) else {
                break;
            };
            self.drain(now);
            hook(self, now);
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.um.poll_event() {
            if let UmEvent::Finished { outcome, .. } = &e {
                self.outcome = Some(outcome.clone());
            }
            self.um_events.push((now, e));
        }
        while let Some(e) = self.device.poll_event() {
            self.device_events.push((now, e));
        }
    }

    pub fn installed(&self) -> Option<u64> {
        self.device
            .persistent()
            .installed
            .sequence(&ComponentId::named("plc-fw"))
    }

    pub fn device_saw(&self, pred: impl Fn(&DeviceEvent) -> bool) -> bool {
        self.device_events.iter().any(|(_, e)| pred(e))
    }
}

pub fn wire<M: Mitm>(mitm: M) -> Wire<M> {
    Wire::new(
        Instant::from_unix_secs(START),
        Duration::from_millis(10),
        mitm,
    )
}
