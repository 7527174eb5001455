//! The whole update of one device through the two-party harness (issue 3's acceptance):
//! loss, replay, tokens for the wrong device or expired or with the wrong scope, a power
//! cycle in the middle, the CEK on the wire, a tampered payload block, a failed self-test.

mod exchange_support;

use coap_lite::{CoapOption, MessageClass, Packet};
use exchange_support::*;
use icsim_protocol::ace::AceError;
use icsim_protocol::exchange::harness::Verdict;
use icsim_protocol::exchange::{Addr, DeviceEvent, Outcome};
use icsim_protocol::ids::UpdateType;
use icsim_protocol::oscore::OscoreError;
use icsim_protocol::time::{Duration, Instant};
use rand_core::Rng;

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn an_update_completes_with_ten_percent_random_loss() {
    for push in [false, true] {
        let mut w = build(&Options {
            push,
            ..Options::default()
        });
        let mut loss = rng(99);
        let mut dropped = 0u32;
        let mut wire = wire(|_: Instant, _: Addr, _: Addr, _: &[u8]| {
            if loss.next_u32().is_multiple_of(10) {
                dropped += 1;
                Verdict::Drop
            } else {
                Verdict::Deliver
            }
        });
        w.run(&mut wire, HOUR.saturating_mul(4), |_, _| {});
        assert_eq!(w.outcome, Some(Outcome::Committed), "push={push}");
        assert_eq!(w.installed(), Some(7));
        assert!(w.device_saw(|e| matches!(e, DeviceEvent::Committed { sequence: 7, .. })));
        drop(wire);
        assert!(
            dropped > 20,
            "the wire must really have lost datagrams ({dropped})"
        );
    }
}

#[test]
fn a_clean_update_commits_and_the_device_reboots_once() {
    let mut w = build(&Options::default());
    let mut wire = wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Committed));
    let stops = w
        .device_events
        .iter()
        .filter(|(_, e)| *e == DeviceEvent::ProcessStopped)
        .count();
    assert_eq!(stops, 1);
    assert_eq!(
        w.device
            .persistent()
            .slots
            .active
            .as_ref()
            .map(|s| s.sequence),
        Some(7)
    );
}

fn oscore_request(bytes: &[u8]) -> Option<Packet> {
    let p = Packet::from_bytes(bytes).ok()?;
    (matches!(p.header.code, MessageClass::Request(_))
        && p.get_option(CoapOption::Oscore).is_some())
    .then_some(p)
}

#[test]
fn a_replayed_oscore_request_is_rejected() {
    let mut w = build(&Options::default());
    let mut captured: Vec<Vec<u8>> = Vec::new();
    let mut wire = wire(|_: Instant, _: Addr, to: Addr, bytes: &[u8]| {
        if to == DEV && oscore_request(bytes).is_some() {
            captured.push(bytes.to_vec());
        }
        Verdict::Deliver
    });
    // Stop once the envelope went through; then replay the first OSCORE request with a new
    // CoAP message id (so CoAP duplicate detection does not catch it: only OSCORE can).
    w.run(&mut wire, HOUR, |w, _| {
        if w.device_saw(|e| matches!(e, DeviceEvent::EnvelopeAccepted { .. })) {
            w.outcome = Some(Outcome::Failed("paused by the test".into()));
        }
    });
    let first = wire.mitm_captured_first();
    let mut packet = Packet::from_bytes(&first).unwrap();
    packet.header.message_id = packet.header.message_id.wrapping_add(1000);
    wire.inject(UM, DEV, packet.to_bytes().unwrap());
    w.outcome = None;
    w.run(&mut wire, Duration::from_secs(5), |w, now| {
        if now.unix_secs() > START + 10_000 {
            w.outcome = Some(Outcome::Failed("stop".into()));
        }
    });
    assert!(w.device_saw(|e| matches!(
        e,
        DeviceEvent::OscoreRejected {
            error: OscoreError::Replay { .. },
            ..
        }
    )));
}

trait Captured {
    fn mitm_captured_first(&mut self) -> Vec<u8>;
}

impl<F: FnMut(Instant, Addr, Addr, &[u8]) -> Verdict> Captured
    for icsim_protocol::exchange::harness::Wire<F>
{
    fn mitm_captured_first(&mut self) -> Vec<u8> {
        self.log()
            .iter()
            .find(|r| r.to == DEV && oscore_request(&r.bytes).is_some())
            .map(|r| r.bytes.clone())
            .expect("an OSCORE request was sent")
    }
}

#[test]
fn a_token_for_another_device_is_rejected() {
    let mut w = build(&Options {
        audience: "plc-2",
        ..Options::default()
    });
    let mut wire = wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert!(w.device_saw(|e| matches!(
        e,
        DeviceEvent::TokenRejected {
            error: AceError::WrongAudience { .. },
            ..
        }
    )));
    assert!(
        matches!(w.outcome, Some(Outcome::Rejected(_))),
        "{:?}",
        w.outcome
    );
    assert_eq!(w.installed(), Some(6));
}

#[test]
fn an_expired_token_is_rejected() {
    let mut w = build(&Options {
        token_lifetime: Duration::from_secs(60),
        ..Options::default()
    });
    // Hold the token back on its way to the device until it has expired.
    let mut wire = wire(|_: Instant, _: Addr, to: Addr, bytes: &[u8]| {
        let is_authz = Packet::from_bytes(bytes)
            .ok()
            .and_then(|p| {
                p.get_option(CoapOption::UriPath)
                    .map(|v| v.iter().any(|s| s == b"authz-info"))
            })
            .unwrap_or(false);
        if to == DEV && is_authz {
            Verdict::Delay(Duration::from_secs(120))
        } else {
            Verdict::Deliver
        }
    });
    w.run(&mut wire, HOUR, |_, _| {});
    assert!(w.device_saw(|e| matches!(
        e,
        DeviceEvent::TokenRejected {
            error: AceError::Expired { .. },
            ..
        }
    )));
    assert_eq!(w.installed(), Some(6));
}

#[test]
fn an_app_install_token_cannot_install_firmware() {
    // The UM asks for app:install (the job claims an application) but the envelope is
    // firmware: the device's token-scope check refuses it.
    let mut w = build(&Options {
        job_type: UpdateType::Application,
        ..Options::default()
    });
    let mut wire = wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Rejected("token_scope".into())));
    assert_eq!(w.installed(), Some(6));
}

#[test]
fn the_cek_never_appears_in_clear_on_the_wire() {
    let mut w = build(&Options::default());
    let mut wire = wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Committed));
    let cek = w.cek.as_bytes().to_vec();
    let total: usize = wire.log().iter().map(|r| r.bytes.len()).sum();
    assert!(total > 256 * 1024, "the whole update crossed the wire");
    for r in wire.log() {
        assert!(
            !r.bytes.windows(cek.len()).any(|win| win == cek.as_slice()),
            "CEK in a datagram from {:?}",
            r.from
        );
    }
    // The plaintext image is not on the wire either (a 64-byte window of it, anywhere).
    let probe = &w.image[1000..1064];
    assert!(
        wire.log()
            .iter()
            .all(|r| !r.bytes.windows(64).any(|win| win == probe))
    );
}

#[test]
fn a_tampered_payload_block_is_detected_and_never_installed() {
    let mut w = build(&Options::default());
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
    assert_eq!(
        w.outcome,
        Some(Outcome::Rejected("payload_decryption_failed".into()))
    );
    assert_eq!(w.installed(), Some(6));
    assert!(
        w.device.persistent().slots.active.is_none(),
        "nothing was ever booted"
    );
    assert!(!w.device_saw(|e| matches!(e, DeviceEvent::Staged { .. })));
}

#[test]
fn a_failed_self_test_rolls_back_to_the_previous_image() {
    let mut w = build(&Options {
        boot_failure_ppm: 1_000_000,
        ..Options::default()
    });
    let mut wire = wire(());
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::RolledBack));
    assert_eq!(w.installed(), Some(6));
    assert!(w.device_saw(|e| matches!(e, DeviceEvent::RolledBack { sequence: 7 })));
    let slots = &w.device.persistent().slots;
    assert_eq!(
        slots.active, None,
        "the previous (initial) image runs again"
    );
    assert_eq!(slots.inactive.as_ref().map(|s| s.sequence), Some(7));
}

/// Every security context that appears on the wire, rebuilt from the wire alone (the UM–AS
/// channel is plain in the harness, so the test can read the token responses): the device
/// side of each, in order of the authz-info exchanges.
fn contexts_on_the_wire(
    log: &[icsim_protocol::exchange::harness::WireRecord],
) -> Vec<icsim_protocol::oscore::ContextParams> {
    use icsim_protocol::ace::{
        AccessTokenResponse, AuthzInfoRequest, AuthzInfoResponse, master_salt,
    };
    use icsim_protocol::oscore::ContextParams;
    let packets: Vec<(Addr, Addr, Packet)> = log
        .iter()
        .filter_map(|r| Packet::from_bytes(&r.bytes).ok().map(|p| (r.from, r.to, p)))
        .collect();
    let tokens: Vec<AccessTokenResponse> = packets
        .iter()
        .filter(|(from, _, _)| *from == AS)
        .filter_map(|(_, _, p)| AccessTokenResponse::decode(&p.payload).ok())
        .collect();
    let mut out = Vec::new();
    for (from, _, request) in &packets {
        let Ok(authz) = AuthzInfoRequest::decode(&request.payload) else {
            continue;
        };
        if *from != UM {
            continue;
        }
        let Some(material) = tokens
            .iter()
            .find(|t| t.access_token == authz.access_token)
            .map(|t| &t.cnf)
        else {
            continue;
        };
        // Every answer to this request (by CoAP token) that the device gave.
        for (rfrom, _, response) in &packets {
            if *rfrom != DEV || response.get_token() != request.get_token() {
                continue;
            }
            let Ok(answer) = AuthzInfoResponse::decode(&response.payload) else {
                continue;
            };
            let mut params = ContextParams::new(
                &material.master_secret,
                &authz.client_recipient_id,
                &answer.server_recipient_id,
            );
            params.master_salt =
                master_salt(material.salt.as_deref(), &authz.nonce1, &answer.nonce2);
            params.id_context = material.context_id.clone();
            if !out.contains(&params) {
                out.push(params);
            }
        }
    }
    out
}

#[test]
fn a_reboot_in_the_middle_never_reuses_an_oscore_nonce() {
    use icsim_protocol::oscore::SecurityContext;
    use std::collections::BTreeMap;

    // Push mode: the payload itself travels over OSCORE, hundreds of protected messages.
    let mut w = build(&Options {
        push: true,
        ..Options::default()
    });
    // Every OSCORE request to the device is replayed a minute later: before the power
    // cycle CoAP's duplicate detection answers from its cache; after it, only the restored
    // OSCORE replay window stands between a replay and a response under a reused nonce.
    let mut wire = wire(|_: Instant, _: Addr, to: Addr, bytes: &[u8]| {
        if to == DEV && oscore_request(bytes).is_some() {
            Verdict::Replay(Duration::from_secs(60))
        } else {
            Verdict::Deliver
        }
    });
    let mut cycled_at = None;
    w.run(&mut wire, HOUR.saturating_mul(2), |w, now| {
        let accepted_at = w
            .device_events
            .iter()
            .find(|(_, e)| matches!(e, DeviceEvent::EnvelopeAccepted { .. }))
            .map(|(t, _)| *t);
        if cycled_at.is_none() && accepted_at.is_some_and(|t| now > t + Duration::from_secs(2)) {
            w.device.power_cycle(now);
            cycled_at = Some(now);
        }
    });
    assert!(
        cycled_at.is_some(),
        "the device was power-cycled in the middle of the download"
    );
    assert_eq!(w.outcome, Some(Outcome::Committed));
    assert!(
        w.um_events
            .iter()
            .any(|(_, e)| matches!(e, icsim_protocol::exchange::UmEvent::Rekeyed { .. }))
    );
    assert!(w.device_saw(|e| matches!(
        e,
        DeviceEvent::OscoreRejected {
            error: OscoreError::Replay { .. },
            ..
        }
    )));

    let contexts = contexts_on_the_wire(wire.log());
    assert!(
        contexts.len() >= 2,
        "a reboot leads to a fresh context ({} seen)",
        contexts.len()
    );
    // (context, direction, Partial IV of the nonce) -> the ciphertext sent under it.
    let mut nonces: BTreeMap<(usize, &str, Vec<u8>), Vec<u8>> = BTreeMap::new();
    let mut requests: Vec<(Vec<u8>, usize, Vec<u8>)> = Vec::new(); // (CoAP token, context, PIV)
    let mut checked = 0;
    for r in wire.log() {
        let Ok(p) = Packet::from_bytes(&r.bytes) else {
            continue;
        };
        if p.get_option(CoapOption::Oscore).is_none() {
            continue;
        }
        if r.to == DEV {
            let found = contexts.iter().enumerate().find_map(|(i, params)| {
                let mut ctx = SecurityContext::derive(params).ok()?;
                ctx.unprotect_request(&p)
                    .ok()
                    .map(|(_, binding)| (i, binding.partial_iv().to_vec()))
            });
            let (i, piv) =
                found.expect("every OSCORE request belongs to a context seen on the wire");
            requests.push((p.get_token().to_vec(), i, piv.clone()));
            let prev = nonces
                .entry((i, "request", piv))
                .or_insert_with(|| p.payload.clone());
            assert_eq!(
                prev, &p.payload,
                "a request nonce was used for two different messages"
            );
        } else if r.from == DEV {
            let (_, i, piv) = requests
                .iter()
                .rev()
                .find(|(t, _, _)| t.as_slice() == p.get_token())
                .cloned()
                .expect("response to a request");
            let prev = nonces
                .entry((i, "response", piv))
                .or_insert_with(|| p.payload.clone());
            assert_eq!(
                prev, &p.payload,
                "a response reused a nonce for a different message"
            );
        }
        checked += 1;
    }
    assert!(checked > 400, "{checked} protected messages checked");
}

/// Bytes and datagrams of one device's complete update (256 KiB image, 1024-byte blocks,
/// no loss), by phase. Printed with `--nocapture`; the assertions keep the figures honest.
#[test]
fn figures_bytes_and_datagrams_per_phase() {
    use icsim_protocol::exchange::UmEvent;
    for push in [false, true] {
        let mut w = build(&Options {
            push,
            ..Options::default()
        });
        let mut wire = wire(());
        w.run(&mut wire, HOUR, |_, _| {});
        assert_eq!(w.outcome, Some(Outcome::Committed));
        let steps: Vec<(Instant, &str)> = w
            .um_events
            .iter()
            .filter_map(|(t, e)| match e {
                UmEvent::Step { step, .. } => Some((*t, *step)),
                _ => None,
            })
            .collect();
        let mut table: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for r in wire.log() {
            let p = Packet::from_bytes(&r.bytes).unwrap();
            let protected = p.get_option(CoapOption::Oscore).is_some();
            let phase = if r.from == AS || r.to == AS {
                "1 set-up (token, authz-info)"
            } else if r.from == REPO || r.to == REPO {
                "4 payload"
            } else if !protected {
                "1 set-up (token, authz-info)"
            } else {
                match steps
                    .iter()
                    .rev()
                    .find(|(t, _)| *t <= r.at)
                    .map(|(_, s)| *s)
                    .unwrap_or("")
                {
                    "envelope" => "2 envelope",
                    "key" => "3 key",
                    "push" => "4 payload",
                    "install" => "5 install",
                    _ => "6 status polls",
                }
            };
            let e = table.entry(phase).or_default();
            e.0 += r.bytes.len() as u64;
            e.1 += 1;
        }
        eprintln!(
            "\n{} mode, 256 KiB image, 1024-byte blocks:",
            if push { "push" } else { "fetch" }
        );
        eprintln!("| phase | bytes | datagrams |\n|---|---:|---:|");
        let (mut bytes, mut datagrams) = (0, 0);
        for (phase, (b, d)) in &table {
            eprintln!("| {} | {b} | {d} |", &phase[2..]);
            bytes += b;
            datagrams += d;
        }
        eprintln!("| total | {bytes} | {datagrams} |");
        let payload = table["4 payload"];
        assert!(
            payload.0 > IMAGE_LEN as u64,
            "the payload phase carries the whole image"
        );
        assert_eq!(
            payload.1,
            2 * 257,
            "256 full blocks and one with the GCM tag, each answered"
        );
        assert!(table["1 set-up (token, authz-info)"].0 < 1200);
        assert!(table["2 envelope"].1 >= 2 && table["3 key"].1 == 2);
    }
}

#[test]
fn a_held_install_waits_for_the_command_and_a_revert_goes_back() {
    use icsim_protocol::exchange::{InstallTiming, JobKind, UmEvent, UpdateJob};
    use std::sync::Arc;
    let mut w = build(&Options {
        install: InstallTiming::OnCommand,
        ..Options::default()
    });
    let mut wire = wire(());
    // Staged, then nothing until the rollout says so.
    w.run(&mut wire, HOUR, |w, _| {
        if w.um_events
            .iter()
            .any(|(_, e)| matches!(e, UmEvent::Staged { .. }))
        {
            w.outcome = Some(Outcome::Failed("paused".into()));
        }
    });

    w.outcome = None;
    w.run(&mut wire, Duration::from_secs(600), |_, _| {});
    assert_eq!(w.outcome, None, "no install without the command");
    assert_eq!(w.installed(), Some(6));
    assert!(
        !w.device_saw(|e| *e == DeviceEvent::ProcessStopped),
        "no reboot while held"
    );
    w.um.command_install(wire.now(), DEV, None);
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Committed));
    assert_eq!(w.installed(), Some(7));

    // The rollout is aborted: the device is ordered back to its previous image.
    let revert = Arc::new(UpdateJob {
        kind: JobKind::Revert,
        ..(*w.job).clone()
    });
    w.outcome = None;
    w.um.start(wire.now(), DEV, "plc-1", revert);
    w.run(&mut wire, HOUR, |_, _| {});
    assert_eq!(w.outcome, Some(Outcome::Reverted));
    assert_eq!(
        w.installed(),
        Some(6),
        "back to the sequence number before the update"
    );
    assert!(w.device_saw(|e| matches!(e, DeviceEvent::Reverted { sequence: 7 })));
}
