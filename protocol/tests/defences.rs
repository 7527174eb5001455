//! The defence switches of ATTACKS.md that act in the protocol: for each, the attack is
//! blocked with every defence on (by the check that names it) and succeeds with only that
//! switch off. And each weakened path is marked `// DANGER(ablation: NAME)` in the sources.

mod exchange_support;

use std::collections::BTreeMap;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
use exchange_support::*;
use icsim_protocol::ace::AceError;
use icsim_protocol::coap::{BlockOption, BlockValue};
use icsim_protocol::cose;
use icsim_protocol::exchange::harness::{Verdict, WireRecord};
use icsim_protocol::exchange::wire::{InstallCommand, KeyDelivery, StatusReport, UpdatePhase};
use icsim_protocol::exchange::{Addr, DeviceEvent, InstallTiming, Outcome, UmEvent};
use icsim_protocol::ids::UpdateType;
use icsim_protocol::oscore::OscoreError;
use icsim_protocol::suit::{Digest, Envelope};
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::{Defences, Rejection};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

const HOUR: Duration = Duration::from_secs(3600);
/// A host on the cell network that is not the UM (ATK-OFFPATH).
const ATTACKER: Addr = Addr(66);

/// Every defence on but `name`.
fn only_off(name: &str) -> Defences {
    let mut d = Defences::default();
    d.set(name, false).unwrap();
    d
}

fn packet(bytes: &[u8]) -> Option<Packet> {
    Packet::from_bytes(bytes).ok()
}

fn is_oscore(p: &Packet) -> bool {
    p.get_option(CoapOption::Oscore).is_some()
}

fn uri_path(p: &Packet) -> String {
    p.get_option(CoapOption::UriPath)
        .map(|segs| {
            segs.iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

/// An unprotected confirmable request, as any host can send it.
fn plain_request(method: RequestType, path: &str, payload: Vec<u8>, mid: u16) -> Vec<u8> {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(method);
    p.header.message_id = mid;
    p.set_token(vec![0xa7, mid as u8]);
    for seg in path.split('/') {
        p.add_option(CoapOption::UriPath, seg.as_bytes().to_vec());
    }
    p.payload = payload;
    p.to_bytes().unwrap()
}

/// The answers the device sent to `to`, by response code.
fn answers_to(log: &[WireRecord], to: Addr) -> Vec<Packet> {
    log.iter()
        .filter(|r| r.from == DEV && r.to == to)
        .filter_map(|r| packet(&r.bytes))
        .filter(|p| matches!(p.header.code, MessageClass::Response(_)))
        .collect()
}

/// Bytes of payload the repository sent to the device.
fn bytes_from_repo(log: &[WireRecord]) -> u64 {
    log.iter()
        .filter(|r| r.from == REPO && r.to == DEV)
        .filter_map(|r| packet(&r.bytes))
        .map(|p| p.payload.len() as u64)
        .sum()
}

/// Pause a run as soon as `pred` holds (the harness runs until the UM's session ends).
fn pause_when(w: &mut World, pred: impl Fn(&World) -> bool) {
    if w.outcome.is_none() && pred(w) {
        w.outcome = Some(Outcome::Failed("paused by the test".into()));
    }
}

// --- 1. token_audience (ATK-TOKEN-AUD) ---------------------------------------------------

#[test]
fn token_audience_a_token_for_another_device_that_shares_the_as_key() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("token_audience", on).unwrap();
        let mut w = build(&Options {
            audience: "plc-2",
            shared_as_key: true,
            defences,
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        if on {
            assert!(w.device_saw(|e| matches!(
                e,
                DeviceEvent::TokenRejected {
                    error: AceError::WrongAudience { expected, found },
                    ..
                } if expected == "plc-1" && found == "plc-2"
            )));
            assert!(!w.device_saw(|e| matches!(e, DeviceEvent::TokenAccepted { .. })));
            assert!(matches!(w.outcome, Some(Outcome::Rejected(_))));
            assert_eq!(w.installed(), Some(6));
        } else {
            // Accepted, and the token for plc-2 carried a firmware update onto plc-1.
            assert!(w.device_saw(|e| matches!(e, DeviceEvent::TokenAccepted { .. })));
            assert!(!w.device_saw(|e| matches!(e, DeviceEvent::TokenRejected { .. })));
            assert_eq!(w.outcome, Some(Outcome::Committed));
            assert_eq!(w.installed(), Some(7));
        }
    }
}

// --- 2. token_expiry (ATK-TOKEN-EXPIRED) -------------------------------------------------

fn is_authz_info(bytes: &[u8]) -> bool {
    packet(bytes).is_some_and(|p| uri_path(&p) == "authz-info")
}

#[test]
fn token_expiry_an_expired_token_replayed_to_authz_info() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("token_expiry", on).unwrap();
        let mut w = build(&Options {
            defences,
            ..Options::default()
        });
        // The on-path attacker records the UM's authz-info request and posts it again two
        // hours later, when the one-hour token has expired.
        let mut wire = wire(|_: Instant, _: Addr, to: Addr, bytes: &[u8]| {
            if to == DEV && is_authz_info(bytes) {
                Verdict::Replay(HOUR.saturating_mul(2))
            } else {
                Verdict::Deliver
            }
        });
        w.run(&mut wire, HOUR, |_, _| {});
        assert_eq!(w.outcome, Some(Outcome::Committed));
        let expiry = Instant::from_unix_secs(START + 3600);
        w.outcome = None;
        w.run(&mut wire, HOUR.saturating_mul(3), |_, _| {});
        let after_expiry = |pred: &dyn Fn(&DeviceEvent) -> bool| {
            w.device_events
                .iter()
                .filter(|(t, e)| *t >= expiry && pred(e))
                .count()
        };
        let accepted = after_expiry(&|e| matches!(e, DeviceEvent::TokenAccepted { .. }));
        let expired = after_expiry(&|e| {
            matches!(
                e,
                DeviceEvent::TokenRejected {
                    error: AceError::Expired { .. },
                    ..
                }
            )
        });
        if on {
            assert!(expired >= 1, "the replayed token is refused as expired");
            assert_eq!(accepted, 0);
        } else {
            assert!(accepted >= 1, "the expired token is accepted");
            assert_eq!(expired, 0);
        }
    }
}

// --- 3. token_scope (ATK-TOKEN-SCOPE) ----------------------------------------------------

#[test]
fn token_scope_an_app_install_token_carries_firmware() {
    // The UM asks the AS for `app:install status:read` (the job says application), but
    // the envelope is firmware.
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("token_scope", on).unwrap();
        let mut w = build(&Options {
            job_type: UpdateType::Application,
            defences,
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        if on {
            assert_eq!(w.outcome, Some(Outcome::Rejected("token_scope".into())));
            assert!(w.device_saw(|e| matches!(
                e,
                DeviceEvent::UpdateRejected(Rejection::TokenScopeInsufficient(t)) if t == "firmware"
            )));
            assert_eq!(w.installed(), Some(6));
        } else {
            // Envelope, key, payload and install, all with the app:install token.
            assert!(!w.device_saw(|e| matches!(e, DeviceEvent::AccessDenied { .. })));
            assert_eq!(w.outcome, Some(Outcome::Committed));
            assert_eq!(w.installed(), Some(7));
        }
    }
}

// --- 4. replay_window (ATK-OSCORE-REPLAY) ------------------------------------------------

#[test]
fn replay_window_a_captured_oscore_request_replayed() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("replay_window", on).unwrap();
        let mut w = build(&Options {
            defences,
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |w, _| {
            pause_when(w, |w| {
                w.device_saw(|e| matches!(e, DeviceEvent::EnvelopeAccepted { .. }))
            })
        });
        // The first OSCORE request (the envelope's first block), again under a new CoAP
        // message id, so that only OSCORE can tell.
        let first = wire
            .log()
            .iter()
            .find(|r| r.to == DEV && packet(&r.bytes).is_some_and(|p| is_oscore(&p)))
            .map(|r| r.bytes.clone())
            .unwrap();
        let mut replay = packet(&first).unwrap();
        replay.header.message_id = replay.header.message_id.wrapping_add(1000);
        let token = replay.get_token().to_vec();
        let sent_at = wire.log().len();
        wire.inject(UM, DEV, replay.to_bytes().unwrap());
        w.outcome = None;
        w.run(&mut wire, Duration::from_secs(5), |_, _| {});
        let rejected = w.device_saw(|e| {
            matches!(
                e,
                DeviceEvent::OscoreRejected {
                    error: OscoreError::Replay { .. },
                    ..
                }
            )
        });
        // What the device answered to the replay (matched by CoAP token).
        let answers: Vec<Packet> = wire.log()[sent_at..]
            .iter()
            .filter(|r| r.from == DEV && r.to == UM)
            .filter_map(|r| packet(&r.bytes))
            .filter(|p| p.get_token() == token.as_slice())
            .collect();
        assert_eq!(answers.len(), 1, "on={on}");
        if on {
            assert!(rejected);
            assert!(!is_oscore(&answers[0]));
            assert_eq!(
                answers[0].header.code,
                MessageClass::Response(ResponseType::Unauthorized)
            );
        } else {
            // Processed again: the device verified it and answered under OSCORE.
            assert!(!rejected);
            assert!(is_oscore(&answers[0]));
        }
    }
}

// --- 5. oscore (ATK-OFFPATH) -------------------------------------------------------------

#[test]
fn oscore_an_off_path_host_reads_the_status_and_installs_a_staged_image() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("oscore", on).unwrap();
        let mut w = build(&Options {
            install: InstallTiming::OnCommand,
            defences,
            ..Options::default()
        });
        let mut wire = wire(());
        // The image is staged; the rollout holds the install.
        w.run(&mut wire, HOUR, |w, _| {
            pause_when(w, |w| {
                w.um_events
                    .iter()
                    .any(|(_, e)| matches!(e, UmEvent::Staged { .. }))
            })
        });
        w.outcome = None;
        wire.inject(
            ATTACKER,
            DEV,
            plain_request(RequestType::Get, "suit/status", Vec::new(), 0x5001),
        );
        wire.inject(
            ATTACKER,
            DEV,
            plain_request(
                RequestType::Post,
                "suit/install",
                InstallCommand { at: None }.encode(),
                0x5002,
            ),
        );
        w.run(&mut wire, Duration::from_secs(600), |_, _| {});
        let answers = answers_to(wire.log(), ATTACKER);
        assert_eq!(answers.len(), 2, "on={on}");
        if on {
            for a in &answers {
                assert_eq!(
                    a.header.code,
                    MessageClass::Response(ResponseType::Unauthorized)
                );
            }
            for path in ["suit/status", "suit/install"] {
                assert!(w.device_saw(|e| matches!(
                    e,
                    DeviceEvent::UnprotectedRefused { from, path: p } if *from == ATTACKER && p == path
                )));
            }
            assert!(!w.device_saw(|e| matches!(e, DeviceEvent::InstallScheduled { .. })));
            assert_eq!(w.installed(), Some(6), "still held");
        } else {
            assert_eq!(
                answers[0].header.code,
                MessageClass::Response(ResponseType::Content)
            );
            let status = StatusReport::decode(&answers[0].payload).unwrap();
            assert_eq!(status.phase, UpdatePhase::Staged);
            assert_eq!(
                answers[1].header.code,
                MessageClass::Response(ResponseType::Changed)
            );
            // Installed without the rollout's command.
            assert!(w.device_saw(|e| matches!(e, DeviceEvent::InstallScheduled { .. })));
            assert!(w.device_saw(|e| matches!(e, DeviceEvent::Committed { sequence: 7, .. })));
            assert_eq!(w.installed(), Some(7));
        }
    }
}

// --- 6. payload_encryption (ATK-EAVES) ---------------------------------------------------

/// The payload as the repository served it to the device, from the wire.
fn payload_from_the_wire(log: &[WireRecord]) -> Vec<u8> {
    let mut blocks = BTreeMap::new();
    for r in log.iter().filter(|r| r.from == REPO && r.to == DEV) {
        let Some(p) = packet(&r.bytes) else { continue };
        if let Ok(Some(b)) = BlockValue::read(&p, BlockOption::Block2) {
            blocks.insert(b.offset(), p.payload);
        }
    }
    let mut body = Vec::new();
    for (offset, payload) in blocks {
        assert_eq!(offset, body.len() as u64, "every block captured");
        body.extend(payload);
    }
    body
}

/// Every key delivery sent in the clear to the device.
fn keys_in_the_clear(log: &[WireRecord]) -> Vec<KeyDelivery> {
    log.iter()
        .filter(|r| r.to == DEV)
        .filter_map(|r| packet(&r.bytes))
        .filter(|p| !is_oscore(p) && uri_path(p) == "suit/cek")
        .filter_map(|p| KeyDelivery::decode(&p.payload).ok())
        .collect()
}

fn cek_anywhere(log: &[WireRecord], cek: &[u8]) -> bool {
    log.iter()
        .any(|r| r.bytes.windows(cek.len()).any(|win| win == cek))
}

#[test]
fn payload_encryption_the_cek_crosses_the_network_in_the_clear() {
    // All on: the key only travels under OSCORE.
    let mut w = build(&Options::default());
    let mut wire = exchange_support::wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Committed));
    assert!(keys_in_the_clear(wire.log()).is_empty());
    assert!(!cek_anywhere(wire.log(), w.cek.as_bytes()));

    // A UM that sends the key in the clear to a device that insists on OSCORE: refused.
    let mut w = build(&Options {
        um_defences: only_off("payload_encryption"),
        ..Options::default()
    });
    let mut wire = exchange_support::wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert!(w.device_saw(|e| matches!(
        e,
        DeviceEvent::UnprotectedRefused { from, path } if *from == UM && path == "suit/cek"
    )));
    assert!(
        matches!(w.outcome, Some(Outcome::Failed(_))),
        "{:?}",
        w.outcome
    );
    assert!(!w.device_saw(|e| matches!(e, DeviceEvent::Staged { .. })));
    assert_eq!(w.installed(), Some(6));

    // Both sides off: the eavesdropper reads the CEK off the wire and decrypts the payload
    // it saw the cache serve (the manifest, with its encryption info, is no secret).
    let mut w = build(&Options {
        defences: only_off("payload_encryption"),
        um_defences: only_off("payload_encryption"),
        ..Options::default()
    });
    let mut wire = exchange_support::wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Committed));
    assert!(cek_anywhere(wire.log(), w.cek.as_bytes()));
    let keys = keys_in_the_clear(wire.log());
    assert_eq!(keys.len(), 1);
    let captured = keys[0].cek.clone().unwrap();
    let envelope = Envelope::decode(&w.job.envelope).unwrap();
    let info = envelope
        .manifest()
        .parameters
        .encryption_info
        .clone()
        .unwrap();
    let info = cose::decode_encrypt(&info).unwrap();
    let ciphertext = payload_from_the_wire(wire.log());
    assert_eq!(ciphertext.len(), w.payload.len());
    let disclosed = cose::decrypt_detached(&info, &captured, &ciphertext).unwrap();
    assert_eq!(disclosed, w.image, "the firmware image is disclosed");
}

// --- 7. payload_size (ATK-ENDLESS) -------------------------------------------------------

#[test]
fn payload_size_an_endless_data_cache() {
    const EXTRA: usize = 1 << 20;
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("payload_size", on).unwrap();
        let mut w = build(&Options {
            defences,
            ..Options::default()
        });
        // The cache serves the payload and then another megabyte.
        let mut endless = w.payload.to_vec();
        endless.extend(std::iter::repeat_n(0x5a, EXTRA));
        w.repo.publish(PATH, endless.into());
        let announced = w.payload.len() as u64;
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        let downloaded = bytes_from_repo(wire.log());
        assert_eq!(w.installed(), Some(6));
        if on {
            assert!(w.device_saw(|e| matches!(
                e,
                DeviceEvent::UpdateRejected(Rejection::PayloadSizeMismatch { expected, .. })
                    if *expected == announced
            )));
            assert!(
                downloaded <= 1024,
                "stopped at the first block ({downloaded})"
            );
        } else {
            assert!(
                downloaded >= announced + EXTRA as u64,
                "downloaded {downloaded} bytes for a payload of {announced}"
            );
            // Only the tag check, after the whole download, still stops it.
            assert!(!w.device_saw(|e| matches!(
                e,
                DeviceEvent::UpdateRejected(Rejection::PayloadSizeMismatch { .. })
            )));
            assert!(w.device_saw(|e| matches!(
                e,
                DeviceEvent::UpdateRejected(Rejection::PayloadDecryptionFailed)
            )));
        }
    }
}

// --- 8. payload_digest (ATK-TAMPER, ATK-WRONG) -------------------------------------------

#[test]
fn payload_digest_a_tampered_payload_block() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("payload_digest", on).unwrap();
        let mut w = build(&Options {
            defences,
            ..Options::default()
        });
        // One bit of the last byte of one payload block, on the cell link.
        let mut done = false;
        let mut wire = wire(|_: Instant, from: Addr, _: Addr, bytes: &[u8]| {
            if from == REPO && !done && bytes.len() > 500 {
                done = true;
                let mut altered = bytes.to_vec();
                let last = altered.len() - 1;
                altered[last] ^= 0x01;
                Verdict::Replace(altered)
            } else {
                Verdict::Deliver
            }
        });
        w.run(&mut wire, HOUR, |_, _| {});
        if on {
            assert_eq!(
                w.outcome,
                Some(Outcome::Rejected("payload_decryption_failed".into()))
            );
            assert!(w.device_saw(
                |e| *e == DeviceEvent::UpdateRejected(Rejection::PayloadDecryptionFailed)
            ));
            assert_eq!(w.installed(), Some(6));
        } else {
            assert_eq!(w.outcome, Some(Outcome::Committed));
            assert_eq!(w.installed(), Some(7));
            let active = w.device.persistent().slots.active.clone().unwrap();
            assert_eq!(active.size, IMAGE_LEN as u64);
            assert_ne!(
                active.digest,
                Digest::sha256(&w.image),
                "a tampered image runs"
            );
            // Exactly the flipped bit (counter mode): the first block is bytes 0..1024.
            let mut tampered = w.image.clone();
            tampered[1023] ^= 0x01;
            assert_eq!(active.digest, Digest::sha256(&tampered));
        }
    }
}

#[test]
fn payload_digest_a_valid_payload_of_another_update() {
    for on in [true, false] {
        let mut defences = Defences::default();
        defences.set("payload_digest", on).unwrap();
        let mut w = build(&Options {
            wrong_payload: true,
            defences,
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        if on {
            assert_eq!(
                w.outcome,
                Some(Outcome::Rejected("payload_decryption_failed".into()))
            );
            assert_eq!(w.installed(), Some(6));
        } else {
            assert_eq!(w.outcome, Some(Outcome::Committed));
            let active = w.device.persistent().slots.active.clone().unwrap();
            assert_ne!(
                active.digest,
                Digest::sha256(&w.image),
                "the wrong image runs"
            );
        }
    }
}

// --- Everything off ----------------------------------------------------------------------

fn all_off() -> Defences {
    let mut d = Defences::default();
    for name in Defences::names() {
        d.set(name, false).unwrap();
    }
    d
}

#[test]
fn with_every_switch_off_a_clean_update_still_commits() {
    for push in [false, true] {
        let mut w = build(&Options {
            push,
            defences: all_off(),
            um_defences: all_off(),
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        assert_eq!(w.outcome, Some(Outcome::Committed), "push={push}");
        assert_eq!(w.installed(), Some(7));
        let active = w.device.persistent().slots.active.clone().unwrap();
        assert_eq!(active.digest, Digest::sha256(&w.image));
    }
}

/// One request an off-path host sends to a device that serves unprotected requests.
fn arb_request() -> impl Strategy<Value = Vec<u8>> {
    const PATHS: &[&str] = &[
        "suit/envelope",
        "suit/cek",
        "suit/payload",
        "suit/install",
        "suit/status",
        "suit/revert",
        "suit",
        "authz-info",
    ];
    const METHODS: &[RequestType] = &[RequestType::Get, RequestType::Post, RequestType::Put];
    (
        select(PATHS),
        select(METHODS),
        vec(any::<u8>(), 0..96),
        proptest::option::of((0u32..4, any::<bool>(), 0u8..7)),
        any::<u16>(),
    )
        .prop_map(|(path, method, payload, block1, mid)| {
            let mut p = packet(&plain_request(method, path, payload, mid)).unwrap();
            if let Some((num, more, szx)) = block1 {
                let size = icsim_protocol::coap::BlockSize::from_szx(szx).unwrap();
                BlockValue::new(num, more, size)
                    .unwrap()
                    .write(&mut p, BlockOption::Block1);
            }
            p.to_bytes().unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// With every switch off, a device in the middle of an update answers any sequence of
    /// unprotected requests (and random datagrams) without panicking.
    #[test]
    fn an_ablated_device_never_panics_on_unprotected_requests(
        requests in vec(prop_oneof![4 => arb_request(), 1 => vec(any::<u8>(), 0..64)], 1..24),
        staged in any::<bool>(),
    ) {
        let mut w = build(&Options {
            install: InstallTiming::OnCommand,
            defences: all_off(),
            um_defences: all_off(),
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |w, _| {
            pause_when(w, |w| {
                if staged {
                    w.um_events.iter().any(|(_, e)| matches!(e, UmEvent::Staged { .. }))
                } else {
                    w.device_saw(|e| matches!(e, DeviceEvent::EnvelopeAccepted { .. }))
                }
            })
        });
        for bytes in requests {
            wire.inject(ATTACKER, DEV, bytes);
        }
        w.outcome = None;
        w.run(&mut wire, Duration::from_secs(600), |_, _| {});
    }
}

// --- The markers -------------------------------------------------------------------------

/// The protocol sources that hold weakened paths, or could.
const SOURCES: &[(&str, &str)] = &[
    ("verify/mod.rs", include_str!("../src/verify/mod.rs")),
    (
        "verify/defences.rs",
        include_str!("../src/verify/defences.rs"),
    ),
    ("ace/store.rs", include_str!("../src/ace/store.rs")),
    ("ace/token.rs", include_str!("../src/ace/token.rs")),
    (
        "oscore/context.rs",
        include_str!("../src/oscore/context.rs"),
    ),
    (
        "oscore/protect.rs",
        include_str!("../src/oscore/protect.rs"),
    ),
    ("oscore/replay.rs", include_str!("../src/oscore/replay.rs")),
    ("exchange/wire.rs", include_str!("../src/exchange/wire.rs")),
    (
        "exchange/device/mod.rs",
        include_str!("../src/exchange/device/mod.rs"),
    ),
    (
        "exchange/device/resources.rs",
        include_str!("../src/exchange/device/resources.rs"),
    ),
    (
        "exchange/um/mod.rs",
        include_str!("../src/exchange/um/mod.rs"),
    ),
    (
        "exchange/um/session.rs",
        include_str!("../src/exchange/um/session.rs"),
    ),
    ("cose.rs", include_str!("../src/cose.rs")),
];

/// The switches `Verifier::run` handles, all named in its one marker.
const VERIFY_SWITCHES: [&str; 10] = [
    "payload_digest",
    "operator_approval",
    "author_signature",
    "author_scope",
    "device_match",
    "anti_rollback",
    "approval_window",
    "token_scope",
    "dependencies",
    "payload_size",
];

/// Every `// DANGER(ablation: A, B)` marker: (file, the names it lists).
fn markers() -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (file, text) in SOURCES {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("// DANGER(ablation:") else {
                continue;
            };
            let names = rest.trim().strip_suffix(')').expect("a closed marker");
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            assert!(
                !next.is_empty() && !next.starts_with("//"),
                "{file}:{}: the marker must stand on the line before the code",
                i + 1
            );
            out.push((
                *file,
                names.split(',').map(|n| n.trim().to_string()).collect(),
            ));
        }
    }
    out
}

#[test]
fn every_weakened_path_is_marked_once() {
    let markers = markers();
    let count = |name: &str| {
        markers
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n == name))
            .count()
    };
    // Every name a marker lists is a switch of the protocol.
    for (file, names) in &markers {
        for name in names {
            assert!(
                Defences::names().contains(&name.as_str()),
                "{file}: unknown switch {name}"
            );
        }
    }
    // The new switches: exactly one marked place each.
    for name in [
        "token_audience",
        "token_expiry",
        "replay_window",
        "oscore",
        "payload_encryption",
    ] {
        assert_eq!(count(name), 1, "{name}");
    }
    // The envelope and payload checks: one marker, in verify, with all of their names.
    let in_verify: Vec<_> = markers
        .iter()
        .filter(|(file, _)| *file == "verify/mod.rs")
        .collect();
    assert_eq!(in_verify.len(), 1);
    assert_eq!(in_verify[0].1, VERIFY_SWITCHES.to_vec());
    // token_scope and payload_size also act outside verify, each in one more marked place
    // (the device's scope decisions, the download bound); the others nowhere else.
    for name in VERIFY_SWITCHES {
        let expected = if matches!(name, "token_scope" | "payload_size") {
            2
        } else {
            1
        };
        assert_eq!(count(name), expected, "{name}");
    }
    // Nothing left unmarked.
    for name in Defences::names() {
        assert!(count(name) >= 1, "{name} has no marked place");
    }
}

/// Markers only in the files the test above reads.
#[test]
fn no_marker_outside_the_files_read() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > SOURCES.len());
    for path in files {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if SOURCES.iter().any(|(name, _)| *name == rel) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("// DANGER(ablation:")),
            "{rel} has a marker: add it to SOURCES"
        );
    }
}
