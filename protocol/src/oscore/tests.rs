//! Unit tests of the OSCORE module: round trips, tampering, replay, restore after a reboot,
//! the option parser, overhead, and never-panic properties.

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};

use super::plaintext;
use super::*;

const SECRET: &[u8] = b"0123456789abcdef";

pub(super) fn params(alg: AeadAlgorithm, sender: &[u8], recipient: &[u8]) -> ContextParams {
    let mut p = ContextParams::new(SECRET, sender, recipient);
    p.master_salt = b"salt".to_vec();
    p.algorithm = alg;
    p
}

/// A client (Sender ID 0x01) and a server (Sender ID 0x02) context.
pub(super) fn pair(alg: AeadAlgorithm) -> (SecurityContext, SecurityContext) {
    let client = SecurityContext::derive(&params(alg, &[1], &[2])).unwrap();
    let server = SecurityContext::derive(&params(alg, &[2], &[1])).unwrap();
    (client, server)
}

pub(super) fn request(path: &str, payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(RequestType::Put);
    p.header.message_id = 0x1234;
    p.set_token(vec![0xca, 0xfe]);
    p.add_option(CoapOption::UriHost, b"plc-17.plant".to_vec());
    p.add_option(CoapOption::UriPath, path.as_bytes().to_vec());
    p.add_option(CoapOption::UriPath, b"slot-b".to_vec());
    p.add_option(CoapOption::ContentFormat, vec![60]);
    p.add_option(CoapOption::Block1, vec![0x0e]);
    p.payload = payload.to_vec();
    p
}

pub(super) fn response(payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Acknowledgement);
    p.header.code = MessageClass::Response(ResponseType::Content);
    p.header.message_id = 0x1234;
    p.set_token(vec![0xca, 0xfe]);
    p.add_option(CoapOption::MaxAge, vec![30]);
    p.add_option(CoapOption::Block2, vec![0x06]);
    p.payload = payload.to_vec();
    p
}

pub(super) fn wire(p: &Packet) -> Vec<u8> {
    p.to_bytes_unlimited().unwrap()
}

#[test]
fn round_trip_both_algorithms_and_nonce_kinds() {
    for alg in [AeadAlgorithm::AesCcm16_64_128, AeadAlgorithm::A128Gcm] {
        let (mut client, mut server) = pair(alg);
        assert_eq!(client.common_iv().len(), alg.nonce_len());
        assert_eq!(client.sender_key(), server.recipient_key());
        assert_eq!(client.recipient_key(), server.sender_key());
        for (i, kind) in [ResponseNonce::Reuse, ResponseNonce::Fresh]
            .into_iter()
            .enumerate()
        {
            let req = request("fw", b"image chunk");
            let (protected, binding) = client.protect_request(&req).unwrap();
            // Outer view: POST, Uri-Host and OSCORE only, ciphertext + tag as payload.
            assert_eq!(
                protected.header.code,
                MessageClass::Request(RequestType::Post)
            );
            let outer: Vec<u16> = protected
                .options()
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, _)| *n)
                .collect();
            assert_eq!(outer, vec![3, 9]);
            assert!(!protected.payload.windows(11).any(|w| w == b"image chunk"));
            assert_eq!(binding.sequence_number(), i as u64);

            let wire_req = Packet::from_bytes(&wire(&protected)).unwrap();
            let (plain, server_binding) = server.unprotect_request(&wire_req).unwrap();
            assert_eq!(plain, req);
            assert_eq!(server_binding, binding);

            let resp = response(b"ok");
            let protected = server
                .protect_response(&resp, &server_binding, kind)
                .unwrap();
            assert_eq!(
                protected.header.code,
                MessageClass::Response(ResponseType::Changed)
            );
            let wire_resp = Packet::from_bytes(&wire(&protected)).unwrap();
            let plain = client.unprotect_response(&wire_resp, &binding).unwrap();
            assert_eq!(plain, resp);
        }
        // One fresh response used one server sequence number.
        assert_eq!(server.sender_sequence_number(), 1);
        assert_eq!(client.sender_sequence_number(), 2);
    }
}

#[test]
fn response_bound_to_its_request() {
    let (mut client, mut server) = pair(AeadAlgorithm::default());
    let (r1, b1) = client.protect_request(&request("a", b"")).unwrap();
    let (r2, b2) = client.protect_request(&request("b", b"")).unwrap();
    let (_, sb1) = server.unprotect_request(&r1).unwrap();
    let (_, sb2) = server.unprotect_request(&r2).unwrap();
    for kind in [ResponseNonce::Reuse, ResponseNonce::Fresh] {
        let resp = server
            .protect_response(&response(b"x"), &sb2, kind)
            .unwrap();
        assert_eq!(
            client.unprotect_response(&resp, &b1),
            Err(OscoreError::IntegrityFailure)
        );
        assert!(client.unprotect_response(&resp, &b2).is_ok());
    }
    let _ = sb1;
}

/// Flips each byte of `protected`: the result never parses into an accepted message with
/// a changed code, inner options or payload; changes inside the OSCORE option value or
/// the payload are always rejected.
fn tamper_each_byte(
    protected: &Packet,
    original: &Packet,
    unprotect: &dyn Fn(&Packet) -> Result<Packet, OscoreError>,
) {
    let bytes = wire(protected);
    let option_len = protected
        .get_first_option(CoapOption::Oscore)
        .map_or(0, Vec::len);
    let payload_start = bytes.len() - protected.payload.len();
    let protected_region = (payload_start - 1 - option_len)..bytes.len();
    let mut rejected = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut m = bytes.clone();
            m[i] ^= flip;
            let Ok(pkt) = Packet::from_bytes(&m) else {
                rejected += 1;
                continue;
            };
            match unprotect(&pkt) {
                Err(_) => rejected += 1,
                Ok(out) => {
                    assert!(
                        !protected_region.contains(&i) || (i == payload_start - 1),
                        "byte {i} flip {flip:#x} accepted"
                    );
                    assert_eq!(out.header.code, original.header.code, "byte {i}");
                    assert_eq!(out.payload, original.payload, "byte {i}");
                    let inner = |p: &Packet| -> Vec<(u16, Vec<u8>)> {
                        p.options()
                            .filter(|(n, _)| **n != 3)
                            .flat_map(|(n, v)| v.iter().map(move |x| (*n, x.clone())))
                            .collect()
                    };
                    assert_eq!(inner(&out), inner(original), "byte {i}");
                }
            }
        }
    }
    assert!(rejected >= 3 * (bytes.len() - protected_region.start));
}

#[test]
fn tampering_is_detected() {
    for alg in [AeadAlgorithm::AesCcm16_64_128, AeadAlgorithm::A128Gcm] {
        let (mut client, mut server) = pair(alg);
        let req = request("fw", b"payload bytes");
        let (protected, binding) = client.protect_request(&req).unwrap();
        let server_before = server.clone();
        tamper_each_byte(&protected, &req, &|p| {
            server_before.clone().unprotect_request(p).map(|(m, _)| m)
        });
        let (_, sb) = server.unprotect_request(&protected).unwrap();
        for kind in [ResponseNonce::Reuse, ResponseNonce::Fresh] {
            let resp = response(b"answer");
            let protected = server.protect_response(&resp, &sb, kind).unwrap();
            let client_now = client.clone();
            tamper_each_byte(&protected, &resp, &|p| {
                client_now.clone().unprotect_response(p, &binding)
            });
        }
    }
}

#[test]
fn replay_rejected_out_of_order_accepted() {
    let mut sp = params(AeadAlgorithm::default(), &[2], &[1]);
    sp.replay_window = 8;
    let mut server = SecurityContext::derive(&sp).unwrap();
    let (mut client, _) = pair(AeadAlgorithm::default());
    let msgs: Vec<Packet> = (0..20)
        .map(|i| {
            client
                .protect_request(&request(&format!("r{i}"), b""))
                .unwrap()
                .0
        })
        .collect();
    for i in [3usize, 1, 2, 0, 5] {
        assert!(server.unprotect_request(&msgs[i]).is_ok(), "{i}");
    }
    for i in [3usize, 1, 0, 5] {
        assert_eq!(
            server.unprotect_request(&msgs[i]).unwrap_err(),
            OscoreError::Replay {
                partial_iv: i as u64
            }
        );
    }
    assert!(server.unprotect_request(&msgs[12]).is_ok());
    // 12 - 4 = 8 is outside a window of 8: too old, although never seen.
    assert_eq!(
        server.unprotect_request(&msgs[4]).unwrap_err(),
        OscoreError::Replay { partial_iv: 4 }
    );
    // 12 - 6 = 6 is inside and unseen.
    assert!(server.unprotect_request(&msgs[6]).is_ok());
    assert!(server.unprotect_request(&msgs[6]).is_err());
    assert_eq!(server.replay_window().highest(), Some(12));
    // A replayed request does not disturb the window; a forged one neither.
    let mut forged = msgs[13].clone();
    forged.payload[0] ^= 1;
    assert_eq!(
        server.unprotect_request(&forged).unwrap_err(),
        OscoreError::IntegrityFailure
    );
    assert!(server.unprotect_request(&msgs[13]).is_ok());
}

#[test]
fn without_replay_protection_a_replayed_request_is_processed_again() {
    let sp = params(AeadAlgorithm::default(), &[2], &[1]);
    let mut server = SecurityContext::derive(&sp).unwrap();
    assert!(server.replay_protection());
    let (mut client, _) = pair(AeadAlgorithm::default());
    let msg = client.protect_request(&request("r", b"")).unwrap().0;
    assert!(server.unprotect_request(&msg).is_ok());
    assert!(matches!(
        server.unprotect_request(&msg),
        Err(OscoreError::Replay { partial_iv: 0 })
    ));
    server.danger_disable_replay_protection();
    assert!(!server.replay_protection());
    let (inner, binding) = server.unprotect_request(&msg).unwrap();
    assert_eq!(inner.payload, request("r", b"").payload);
    assert_eq!(binding.sequence_number(), 0);
    // Integrity is still checked.
    let mut forged = msg.clone();
    forged.payload[0] ^= 1;
    assert_eq!(
        server.unprotect_request(&forged).unwrap_err(),
        OscoreError::IntegrityFailure
    );
    // A restored context starts with the protection on again.
    let restored = SecurityContext::restore(&sp, &server.persistent_state()).unwrap();
    assert!(restored.replay_protection());
}

#[test]
fn restore_never_reuses_a_partial_iv() {
    let margin = 7;
    for crash_after in 0..40u64 {
        let mut p = params(AeadAlgorithm::default(), &[1], &[2]);
        p.persist_margin = margin;
        let mut ctx = SecurityContext::derive(&p).unwrap();
        let mut flash = ctx.persistent_state();
        let mut used = Vec::new();
        for _ in 0..crash_after {
            let (_, b) = ctx.protect_request(&request("x", b"")).unwrap();
            if let Some(state) = ctx.take_checkpoint() {
                flash = state;
            }
            used.push(b.sequence_number());
        }
        // Crash: the context is gone; only `flash` survives. Numbers used after the last
        // checkpoint were never written individually.
        drop(ctx);
        let mut ctx = SecurityContext::restore(&p, &flash).unwrap();
        let max_used = used.iter().copied().max();
        // The restart skips fewer than `margin` numbers.
        assert!(ctx.sender_sequence_number() < crash_after + margin);
        for _ in 0..10 {
            let (_, b) = ctx.protect_request(&request("x", b"")).unwrap();
            if let Some(state) = ctx.take_checkpoint() {
                flash = state;
            }
            assert!(max_used.is_none_or(|m| b.sequence_number() > m));
        }
    }
}

#[test]
fn restore_rejects_replays_of_requests_seen_before_the_reboot() {
    let mut sp = params(AeadAlgorithm::default(), &[2], &[1]);
    sp.persist_margin = 4;
    let mut server = SecurityContext::derive(&sp).unwrap();
    let (mut client, _) = pair(AeadAlgorithm::default());
    let msgs: Vec<Packet> = (0..30)
        .map(|_| client.protect_request(&request("r", b"")).unwrap().0)
        .collect();
    let mut flash = server.persistent_state();
    for m in &msgs[..10] {
        server.unprotect_request(m).unwrap();
        if let Some(s) = server.take_checkpoint() {
            flash = s;
        }
    }
    assert!(flash.replay_high_water >= 10);
    let mut server = SecurityContext::restore(&sp, &flash).unwrap();
    for (i, m) in msgs[..10].iter().enumerate() {
        assert_eq!(
            server.unprotect_request(m).unwrap_err(),
            OscoreError::Replay {
                partial_iv: i as u64
            }
        );
    }
    let next = usize::try_from(flash.replay_high_water).unwrap();
    assert!(server.unprotect_request(&msgs[next]).is_ok());
}

#[test]
fn sequence_number_exhaustion() {
    let p = params(AeadAlgorithm::default(), &[1], &[2]);
    let state = PersistentOscoreState {
        sender_seq_high_water: MAX_SEQUENCE_NUMBER,
        replay_high_water: 0,
    };
    let mut ctx = SecurityContext::restore(&p, &state).unwrap();
    let (msg, b) = ctx.protect_request(&request("x", b"")).unwrap();
    assert_eq!(b.partial_iv(), [0xff; 5]);
    let mut server =
        SecurityContext::derive(&params(AeadAlgorithm::default(), &[2], &[1])).unwrap();
    assert!(server.unprotect_request(&msg).is_ok());
    assert_eq!(
        ctx.protect_request(&request("x", b"")).unwrap_err(),
        OscoreError::SequenceNumberExhausted
    );
    assert_eq!(
        ctx.protect_response(&response(b""), &b, ResponseNonce::Fresh)
            .unwrap_err(),
        OscoreError::SequenceNumberExhausted
    );
    assert_eq!(
        ctx.take_checkpoint().map(|s| s.sender_seq_high_water),
        Some(1 << 40)
    );
}

#[test]
fn context_and_message_errors() {
    let alg = AeadAlgorithm::A128Gcm;
    assert_eq!(
        SecurityContext::derive(&params(alg, &[0; 7], &[1])).unwrap_err(),
        OscoreError::IdTooLong { len: 7, max: 6 }
    );
    assert!(SecurityContext::derive(&params(AeadAlgorithm::default(), &[0; 7], &[1])).is_ok());
    assert_eq!(
        SecurityContext::derive(&params(alg, &[1], &[1])).unwrap_err(),
        OscoreError::IdCollision
    );
    assert_eq!(
        AeadAlgorithm::from_cose_id(3),
        Err(OscoreError::UnsupportedAlgorithm(3))
    );
    assert_eq!(
        AeadAlgorithm::from_cose_id(10),
        Ok(AeadAlgorithm::AesCcm16_64_128)
    );
    let mut bad = params(alg, &[1], &[2]);
    bad.replay_window = 0;
    assert_eq!(
        SecurityContext::derive(&bad).unwrap_err(),
        OscoreError::InvalidReplayWindow(0)
    );

    let (mut client, mut server) = pair(AeadAlgorithm::default());
    assert_eq!(
        client.protect_request(&response(b"")).unwrap_err(),
        OscoreError::NotARequest(0x45)
    );
    let mut observe = request("x", b"");
    observe.set_observe_value(0);
    assert_eq!(
        client.protect_request(&observe).unwrap_err(),
        OscoreError::UnsupportedOption(6)
    );
    let (protected, b) = client.protect_request(&request("x", b"")).unwrap();
    assert_eq!(
        client.protect_request(&protected).unwrap_err(),
        OscoreError::AlreadyProtected
    );
    assert_eq!(
        server.unprotect_request(&request("x", b"")).unwrap_err(),
        OscoreError::MissingOscoreOption
    );
    // Another client's kid.
    let (mut other, _) = {
        let c = SecurityContext::derive(&params(AeadAlgorithm::default(), &[9], &[2])).unwrap();
        (c, ())
    };
    let (from_other, _) = other.protect_request(&request("x", b"")).unwrap();
    assert_eq!(
        server.unprotect_request(&from_other).unwrap_err(),
        OscoreError::UnknownKid(vec![9])
    );
    // Wrong kid context.
    let mut with_ctx = params(AeadAlgorithm::default(), &[1], &[2]);
    with_ctx.id_context = Some(vec![0xaa]);
    let (m, _) = SecurityContext::derive(&with_ctx)
        .unwrap()
        .protect_request(&request("x", b""))
        .unwrap();
    let err = server.unprotect_request(&m).unwrap_err();
    assert_eq!(err, OscoreError::UnknownKidContext(vec![0xaa]));
    assert_eq!(err.error_response(), Some(ResponseType::Unauthorized));
    // A request without kid.
    let mut no_kid = protected.clone();
    no_kid.clear_option(CoapOption::Oscore);
    no_kid.add_option(CoapOption::Oscore, vec![0x01, 0x00]);
    assert_eq!(
        server.unprotect_request(&no_kid).unwrap_err(),
        OscoreError::MissingKid
    );
    assert_eq!(
        OscoreError::MissingKid.error_response(),
        Some(ResponseType::BadOption)
    );
    // An unprotected error response of the server.
    let mut err_resp = response(b"");
    err_resp.header.code = MessageClass::Response(ResponseType::Unauthorized);
    assert_eq!(
        client.unprotect_response(&err_resp, &b).unwrap_err(),
        OscoreError::MissingOscoreOption
    );
    // Repeated OSCORE option.
    let mut twice = protected.clone();
    twice.add_option(CoapOption::Oscore, vec![]);
    assert_eq!(
        server.unprotect_request(&twice).unwrap_err(),
        OscoreError::MalformedOption(OptionError::Repeated)
    );
    // Payload shorter than the tag.
    let mut short = protected.clone();
    short.payload.truncate(3);
    assert_eq!(
        server.unprotect_request(&short).unwrap_err(),
        OscoreError::CiphertextTooShort { len: 3, tag: 8 }
    );
    assert_eq!(
        OscoreError::IntegrityFailure.error_response(),
        Some(ResponseType::BadRequest)
    );
}

#[test]
fn option_value_codec() {
    let cases: &[(&[u8], OscoreOptionValue)] = &[
        (&[], OscoreOptionValue::default()),
        (
            &[0x09, 0x14],
            OscoreOptionValue {
                partial_iv: Some(vec![0x14]),
                kid: Some(vec![]),
                kid_context: None,
            },
        ),
        (
            &[0x01, 0x00],
            OscoreOptionValue {
                partial_iv: Some(vec![0]),
                kid: None,
                kid_context: None,
            },
        ),
        (
            &[0x19, 0x14, 0x02, 0xaa, 0xbb, 0x07],
            OscoreOptionValue {
                partial_iv: Some(vec![0x14]),
                kid_context: Some(vec![0xaa, 0xbb]),
                kid: Some(vec![7]),
            },
        ),
    ];
    for (bytes, value) in cases {
        assert_eq!(OscoreOptionValue::decode(bytes).as_ref(), Ok(value));
        assert_eq!(&value.encode(), bytes);
    }
    let errors: &[(&[u8], OptionError)] = &[
        (&[0x20], OptionError::ReservedBitsSet { flags: 0x20 }),
        (&[0x80, 0x00], OptionError::ReservedBitsSet { flags: 0x80 }),
        (
            &[0x06, 1, 2, 3, 4, 5, 6],
            OptionError::ReservedPartialIvLength { n: 6 },
        ),
        (&[0x07], OptionError::ReservedPartialIvLength { n: 7 }),
        (&[0x00], OptionError::ZeroFlagsNotEmpty),
        (&[0x03, 0x01, 0x02], OptionError::TruncatedPartialIv),
        (&[0x02, 0x00, 0x05], OptionError::NonMinimalPartialIv),
        (&[0x11, 0x05], OptionError::MissingKidContextLength),
        (&[0x11, 0x05, 0x03, 0xaa], OptionError::TruncatedKidContext),
        (&[0x01, 0x05, 0xaa, 0xbb], OptionError::TrailingBytes(2)),
    ];
    for (bytes, err) in errors {
        assert_eq!(OscoreOptionValue::decode(bytes), Err(*err), "{bytes:02x?}");
    }
    assert_eq!(encode_partial_iv(0), [0]);
    assert_eq!(encode_partial_iv(0x0100), [1, 0]);
    assert_eq!(decode_partial_iv(&[1, 0]), 0x0100);
}

#[test]
fn overhead_is_exact() {
    for alg in [AeadAlgorithm::AesCcm16_64_128, AeadAlgorithm::A128Gcm] {
        let (mut client, mut server) = pair(alg);
        for payload in [&b""[..], b"0123456789"] {
            let req = request("fw", payload);
            let predicted = client.request_overhead(&req).unwrap();
            let (protected, b) = client.protect_request(&req).unwrap();
            assert_eq!(wire(&protected).len() - wire(&req).len(), predicted);
            let (_, sb) = server.unprotect_request(&protected).unwrap();
            for kind in [ResponseNonce::Reuse, ResponseNonce::Fresh] {
                let resp = response(payload);
                let predicted = server.response_overhead(&resp, kind).unwrap();
                let protected = server.protect_response(&resp, &sb, kind).unwrap();
                assert_eq!(wire(&protected).len() - wire(&resp).len(), predicted);
                let _ = &b;
            }
        }
    }
    // CCM, 1-byte kid, sequence number < 256: 4 (option) + 1 (code) + 1 (marker) + 8 (tag).
    let (client, server) = pair(AeadAlgorithm::AesCcm16_64_128);
    assert_eq!(client.request_overhead(&request("fw", b"x")).unwrap(), 14);
    assert_eq!(
        server
            .response_overhead(&response(b"x"), ResponseNonce::Reuse)
            .unwrap(),
        11
    );
    assert_eq!(
        server
            .response_overhead(&response(b"x"), ResponseNonce::Fresh)
            .unwrap(),
        13
    );
}

#[test]
fn plaintext_codec_rejects_malformed() {
    let enc = plaintext::encode(0x45, &[(11, b"a"), (300, &[7; 20])], b"hi");
    let dec = plaintext::decode(&enc).unwrap();
    assert_eq!(dec.code, 0x45);
    assert_eq!(dec.options, vec![(11, b"a".to_vec()), (300, vec![7; 20])]);
    assert_eq!(dec.payload, b"hi");
    for bad in [
        &[][..],
        &[0x45, 0xff],
        &[0x45, 0xf1, 0],
        &[0x45, 0x1f],
        &[0x45, 0x13, 1],
        &[0x45, 0xd0],
        &[0x45, 0x90],
    ] {
        assert!(
            matches!(
                plaintext::decode(bad),
                Err(OscoreError::PlaintextMalformed(_))
            ),
            "{bad:02x?}"
        );
    }
}

#[test]
fn a_controlled_shutdown_state_continues_exactly() {
    let sp = params(AeadAlgorithm::default(), &[2], &[1]);
    let mut server = SecurityContext::derive(&sp).unwrap();
    let (mut client, _) = pair(AeadAlgorithm::default());
    let msgs: Vec<Packet> = (0..12)
        .map(|_| client.protect_request(&request("r", b"")).unwrap().0)
        .collect();
    let mut responses = Vec::new();
    for m in &msgs[..10] {
        let (_, binding) = server.unprotect_request(m).unwrap();
        responses.push(
            server
                .protect_response(&response(b"x"), &binding, ResponseNonce::Fresh)
                .unwrap(),
        );
    }
    let state = server.shutdown_state();
    assert_eq!(
        state.replay_high_water, 10,
        "one above the highest accepted Partial IV"
    );
    assert_eq!(
        state.sender_seq_high_water, 10,
        "the next unused sequence number"
    );
    let mut restored = SecurityContext::restore(&sp, &state).unwrap();
    // Every request seen before is refused; the very next one is accepted (no margin lost).
    for m in &msgs[..10] {
        assert!(matches!(
            restored.unprotect_request(m),
            Err(OscoreError::Replay { .. })
        ));
    }
    let (_, binding) = restored.unprotect_request(&msgs[10]).unwrap();
    // The sender continues exactly where it stopped: no Partial IV is used twice.
    restored
        .protect_response(&response(b"y"), &binding, ResponseNonce::Fresh)
        .unwrap();
    assert_eq!(restored.sender_sequence_number(), 11);
}

/// The shell of a message (header and token, nothing else) is the message cloned with its
/// options cleared and its payload emptied, even when the header's token length
/// disagrees with the token.
#[test]
fn a_shell_is_the_message_without_options_and_payload() {
    let mut msg = Packet::new();
    msg.header.set_type(MessageType::Confirmable);
    msg.header.code = MessageClass::Request(RequestType::Put);
    msg.header.message_id = 0x4711;
    msg.set_token(vec![1, 2, 3, 4]);
    msg.add_option(CoapOption::UriPath, b"suit".to_vec());
    msg.add_option(CoapOption::UriPath, b"manifest".to_vec());
    msg.add_option(CoapOption::ContentFormat, vec![60]);
    msg.payload = vec![0xab; 300];
    for token_length in [4, 2] {
        msg.header.set_token_length(token_length);
        let mut expected = msg.clone();
        expected.clear_all_options();
        expected.payload.clear();
        assert_eq!(protect::shell(&msg), expected);
    }
}
