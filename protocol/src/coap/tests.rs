//! Unit tests of the CoAP endpoint internals and transmission parameters. End-to-end tests
//! over a simulated wire are in `protocol/tests/coap_endpoint.rs`, block-wise helper tests
//! in `protocol/tests/coap_blockwise.rs`.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::*;
use crate::time::{Duration, Instant};

const PEER: u8 = 1;
const OTHER: u8 = 2;

fn t0() -> Instant {
    Instant::from_unix_secs(1_000)
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn get() -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Request(RequestType::Get);
    p.add_option(CoapOption::UriPath, b"x".to_vec());
    p
}

fn content(payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Response(ResponseType::Content);
    p.payload = payload.to_vec();
    p
}

/// An encoded CON (or NON) GET with the given message ID and token.
fn raw_request(mid: u16, confirmable: bool) -> Vec<u8> {
    let mut p = get();
    p.header.message_id = mid;
    p.header.set_type(if confirmable {
        MessageType::Confirmable
    } else {
        MessageType::NonConfirmable
    });
    p.set_token(vec![0xAB, mid as u8]);
    p.to_bytes().expect("encodes")
}

fn drain<A: Clone + Ord + std::fmt::Debug>(
    ep: &mut Endpoint<A>,
) -> (Vec<Transmit<A>>, Vec<Event<A>>) {
    (
        std::iter::from_fn(|| ep.poll_transmit()).collect(),
        std::iter::from_fn(|| ep.poll_event()).collect(),
    )
}

fn received_ids(events: &[Event<u8>]) -> Vec<IncomingId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::RequestReceived { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// Drains `ep`, whose pending-request limit is 1 and which was just given two requests:
/// one was delivered and the other dropped as `TooManyPending`; the delivered one's id.
fn one_received_one_refused_as_too_many(ep: &mut Endpoint<u8>) -> Vec<IncomingId> {
    let (_, events) = drain(ep);
    let ids = received_ids(&events);
    assert_eq!(ids.len(), 1);
    assert!(events.contains(&Event::DatagramDropped {
        from: PEER,
        reason: DropReason::TooManyPending
    }));
    ids
}

#[test]
fn default_parameters_match_rfc_7252() {
    let p = TransmissionParams::default();
    assert_eq!(p.max_initial_timeout(), Duration::from_secs(3));
    assert_eq!(p.max_transmit_span(), Duration::from_secs(45));
    assert_eq!(p.max_transmit_wait(), Duration::from_secs(93));
    assert_eq!(p.exchange_lifetime(), Duration::from_secs(247));
    assert_eq!(p.non_lifetime(), Duration::from_secs(145));
    assert_eq!(
        EndpointConfig::default().response_timeout,
        Duration::from_secs(247)
    );
}

/// An RNG that always returns the same word, to hit the ends of the range.
struct Constant(u64);

impl rand_core::TryRng for Constant {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0 as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(self.0 as u8);
        Ok(())
    }
}

#[test]
fn initial_timeout_spans_ack_timeout_to_its_random_factor() {
    let p = TransmissionParams::default();
    assert_eq!(
        p.draw_initial_timeout(&mut Constant(0)),
        Duration::from_secs(2)
    );
    assert_eq!(
        p.draw_initial_timeout(&mut Constant(u64::MAX)),
        Duration::from_secs(3)
    );
    assert_eq!(
        p.draw_initial_timeout(&mut Constant(1 << 63)),
        Duration::from_micros(2_500_000)
    );
    let mut r = rng(1);
    for _ in 0..1000 {
        let t = p.draw_initial_timeout(&mut r);
        assert!(t >= Duration::from_secs(2) && t <= Duration::from_secs(3));
    }
}

#[test]
fn token_and_initial_timeout_come_from_the_injected_rng_in_order() {
    let mut r = rng(7);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let mut replay = r.clone();
    ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
        .expect("send");
    let mut token = [0u8; 4];
    replay.fill_bytes(&mut token);
    let timeout = TransmissionParams::default().draw_initial_timeout(&mut replay);
    let sent = ep.poll_transmit().expect("transmit");
    let packet = Packet::from_bytes(&sent.contents).expect("decodes");
    assert_eq!(packet.get_token(), token);
    assert_eq!(ep.poll_timeout(), Some(t0() + timeout));
}

#[test]
fn message_ids_count_up_from_a_random_start() {
    let mut r = rng(3);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let mut mids = Vec::new();
    for peer in 0..3u8 {
        ep.send_request(t0(), &mut r, peer, get(), Reliability::NonConfirmable)
            .expect("send");
        let t = ep.poll_transmit().expect("sent");
        mids.push(
            Packet::from_bytes(&t.contents)
                .expect("decodes")
                .header
                .message_id,
        );
    }
    assert_eq!(mids[1], mids[0].wrapping_add(1));
    assert_eq!(mids[2], mids[0].wrapping_add(2));
    let mut r2 = rng(4);
    let mut other = Endpoint::new(EndpointConfig::default(), &mut r2);
    other
        .send_request(t0(), &mut r2, 0u8, get(), Reliability::NonConfirmable)
        .expect("send");
    let t = other.poll_transmit().expect("sent");
    let first = Packet::from_bytes(&t.contents)
        .expect("decodes")
        .header
        .message_id;
    assert_ne!(first, mids[0], "start drawn from the RNG");
}

#[test]
fn api_misuse_is_a_typed_error() {
    let mut r = rng(5);
    let config = EndpointConfig {
        max_outstanding_requests: 2,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, &mut r);
    assert_eq!(
        ep.send_request(t0(), &mut r, PEER, content(b""), Reliability::Confirmable),
        Err(SendError::NotARequest)
    );
    let mut big = get();
    big.payload = vec![0; 2000];
    assert_eq!(
        ep.send_request(t0(), &mut r, PEER, big, Reliability::Confirmable),
        Err(SendError::TooLarge { max: 1152 })
    );
    for _ in 0..2 {
        ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
            .expect("send");
    }
    assert_eq!(
        ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable),
        Err(SendError::TooManyOutstanding)
    );
    assert_eq!(
        ep.respond(t0(), &mut r, IncomingId(99), content(b"")),
        Err(SendError::UnknownRequest)
    );
    assert_eq!(
        ep.acknowledge(t0(), IncomingId(99)),
        Err(SendError::UnknownRequest)
    );

    let mut ep = Endpoint::new(
        EndpointConfig {
            token_len: 0,
            ..EndpointConfig::default()
        },
        &mut r,
    );
    ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
        .expect("send");
    assert_eq!(
        ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable),
        Err(SendError::TokensExhausted)
    );
    ep.send_request(t0(), &mut r, OTHER, get(), Reliability::Confirmable)
        .expect("an empty token is free with another peer");
}

#[test]
fn respond_rejects_a_request_code_and_keeps_the_request() {
    let mut r = rng(6);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    ep.handle_datagram(t0(), PEER, &raw_request(10, true));
    let (_, events) = drain(&mut ep);
    let id = received_ids(&events)[0];
    assert_eq!(
        ep.respond(t0(), &mut r, id, get()),
        Err(SendError::NotAResponse)
    );
    let mut huge = content(&[0; 1200]);
    assert_eq!(
        ep.respond(t0(), &mut r, id, huge.clone()),
        Err(SendError::TooLarge { max: 1152 })
    );
    huge.payload.truncate(100);
    ep.respond(t0(), &mut r, id, huge)
        .expect("still answerable");
}

#[test]
fn reset_and_wrong_token_ack_of_a_request() {
    let mut r = rng(8);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let handle = ep
        .send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
        .expect("send");
    let sent = Packet::from_bytes(&ep.poll_transmit().expect("sent").contents).expect("decodes");
    let mid = sent.header.message_id;

    let mut wrong = content(b"spoofed");
    wrong.header.set_type(MessageType::Acknowledgement);
    wrong.header.message_id = mid;
    wrong.set_token(vec![0; 4]);
    ep.handle_datagram(t0(), PEER, &wrong.to_bytes().expect("encodes"));
    // From another peer, the right MID does not match either.
    ep.handle_datagram(
        t0(),
        OTHER,
        &message::empty_message(MessageType::Reset, mid),
    );
    let (_, events) = drain(&mut ep);
    assert_eq!(
        events,
        vec![
            Event::DatagramDropped {
                from: PEER,
                reason: DropReason::TokenMismatch
            },
            Event::DatagramDropped {
                from: OTHER,
                reason: DropReason::UnmatchedReset
            },
        ]
    );
    ep.handle_datagram(t0(), PEER, &message::empty_message(MessageType::Reset, mid));
    let (_, events) = drain(&mut ep);
    assert_eq!(
        events,
        vec![Event::RequestFailed {
            handle,
            peer: PEER,
            reason: RequestFailure::Reset
        }]
    );
    assert_eq!(ep.poll_timeout(), None);
    assert!(ep.by_mid.is_empty());
}

#[test]
fn duplicates_are_remembered_for_exchange_lifetime_only() {
    let mut r = rng(9);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let bytes = raw_request(77, true);
    ep.handle_datagram(t0(), PEER, &bytes);
    let (_, events) = drain(&mut ep);
    let id = received_ids(&events)[0];
    ep.respond(t0(), &mut r, id, content(b"1"))
        .expect("respond");
    let (first, _) = drain(&mut ep);

    let lifetime = TransmissionParams::default().exchange_lifetime();
    let just_before = Instant::from_micros((t0() + lifetime).as_micros() - 1);
    ep.handle_datagram(just_before, PEER, &bytes);
    let (again, events) = drain(&mut ep);
    assert_eq!(again, first, "cached piggybacked response re-sent");
    assert!(events.is_empty());

    ep.handle_datagram(t0() + lifetime, PEER, &bytes);
    let (_, events) = drain(&mut ep);
    assert_eq!(
        received_ids(&events).len(),
        1,
        "a new exchange after EXCHANGE_LIFETIME"
    );
    assert_eq!(ep.dedup.len(), 1);
}

#[test]
fn duplicate_of_an_unanswered_con_gets_an_empty_ack() {
    let mut r = rng(10);
    let config = EndpointConfig {
        empty_ack_delay: None,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, &mut r);
    let bytes = raw_request(5, true);
    ep.handle_datagram(t0(), PEER, &bytes);
    let (sent, events) = drain(&mut ep);
    assert!(sent.is_empty());
    assert_eq!(ep.poll_timeout(), None, "no automatic empty ACK configured");
    let id = received_ids(&events)[0];
    for _ in 0..2 {
        ep.handle_datagram(t0() + Duration::from_secs(2), PEER, &bytes);
        let (sent, events) = drain(&mut ep);
        assert_eq!(
            sent[0].contents,
            message::empty_message(MessageType::Acknowledgement, 5)
        );
        assert!(events.is_empty());
    }
    ep.respond(t0() + Duration::from_secs(3), &mut r, id, content(b"late"))
        .expect("respond");
    let (sent, _) = drain(&mut ep);
    let p = Packet::from_bytes(&sent[0].contents).expect("decodes");
    assert_eq!(
        p.header.get_type(),
        MessageType::Confirmable,
        "separate response"
    );
    assert_eq!(p.get_token(), [0xAB, 5]);
}

#[test]
fn caps_drop_new_requests_without_poisoning_the_dedup_cache() {
    let mut r = rng(11);
    let config = EndpointConfig {
        max_pending_requests: 1,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, &mut r);
    ep.handle_datagram(t0(), PEER, &raw_request(1, true));
    ep.handle_datagram(t0(), PEER, &raw_request(2, true));
    let ids = one_received_one_refused_as_too_many(&mut ep);
    ep.respond(t0(), &mut r, ids[0], content(b""))
        .expect("respond");
    // The retransmission of the dropped request is new, not a duplicate.
    ep.handle_datagram(t0() + Duration::from_secs(2), PEER, &raw_request(2, true));
    let (_, events) = drain(&mut ep);
    assert_eq!(received_ids(&events).len(), 1);

    let config = EndpointConfig {
        max_dedup_entries: 2,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, &mut r);
    for mid in 0..3 {
        ep.handle_datagram(t0(), PEER, &raw_request(mid, false));
    }
    let (_, events) = drain(&mut ep);
    assert_eq!(received_ids(&events).len(), 2);
    assert_eq!(ep.stats().dropped, 1);
    assert_eq!(ep.dedup.len(), 2);
    // Entries expire (NON_LIFETIME) and make room again.
    let later = t0() + TransmissionParams::default().non_lifetime();
    ep.handle_datagram(later, PEER, &raw_request(2, false));
    let (_, events) = drain(&mut ep);
    assert_eq!(received_ids(&events).len(), 1);
    assert!(
        ep.incoming.len() <= 1,
        "unanswered requests expire with their entry"
    );
}

#[test]
fn state_stays_bounded_under_load() {
    let mut r = rng(12);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let mut now = t0();
    for round in 0..20_000u32 {
        now += Duration::from_millis(50);
        ep.handle_datagram(now, PEER, &raw_request(round as u16, round % 2 == 0));
        let (_, events) = drain(&mut ep);
        for id in received_ids(&events) {
            ep.respond(now, &mut r, id, content(b"ok"))
                .expect("respond");
        }
        ep.handle_timeout(now);
        drain(&mut ep);
    }
    // 1000 s of traffic at 20 requests/s; entries live at most 247 s.
    assert!(
        ep.dedup.len() <= 247 * 20 / 2 + 145 * 20 / 2 + 2,
        "{}",
        ep.dedup.len()
    );
    assert_eq!(ep.dedup.len(), ep.dedup_expiry.len());
    assert!(ep.incoming.is_empty() && ep.timers.is_empty());
}

#[test]
fn ping_is_answered_with_reset_and_odd_messages_are_dropped() {
    let mut r = rng(13);
    let mut ep = Endpoint::<u8>::new(EndpointConfig::default(), &mut r);
    ep.handle_datagram(
        t0(),
        PEER,
        &message::empty_message(MessageType::Confirmable, 9),
    );
    // An empty ACK and a response nobody asked for.
    ep.handle_datagram(
        t0(),
        PEER,
        &message::empty_message(MessageType::Acknowledgement, 9),
    );
    let mut stray = content(b"?");
    stray.header.set_type(MessageType::NonConfirmable);
    stray.set_token(vec![1, 2, 3, 4]);
    ep.handle_datagram(t0(), PEER, &stray.to_bytes().expect("encodes"));
    // A request in an ACK, and an Empty message with a token.
    let mut bad = get();
    bad.header.set_type(MessageType::Acknowledgement);
    ep.handle_datagram(t0(), PEER, &bad.to_bytes().expect("encodes"));
    ep.handle_datagram(t0(), PEER, &[0x61, 0x00, 0, 1, 0xAA]);
    let (sent, events) = drain(&mut ep);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].contents,
        message::empty_message(MessageType::Reset, 9)
    );
    let reasons: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::DatagramDropped { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            DropReason::UnmatchedAck,
            DropReason::UnmatchedResponse,
            DropReason::Malformed(FormatError::TypeCodeMismatch),
            DropReason::Malformed(FormatError::NonEmptyEmpty),
        ]
    );
    let s = *ep.stats();
    assert_eq!((s.malformed, s.dropped, s.resets_sent), (2, 2, 1));
}

#[test]
fn nstart_counts_a_con_until_its_ack_and_a_non_until_its_response() {
    let mut r = rng(14);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let a = ep
        .send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
        .expect("send");
    ep.send_request(t0(), &mut r, PEER, get(), Reliability::NonConfirmable)
        .expect("send");
    ep.send_request(t0(), &mut r, OTHER, get(), Reliability::Confirmable)
        .expect("send");
    let (sent, _) = drain(&mut ep);
    let to: Vec<u8> = sent.iter().map(|t| t.destination).collect();
    assert_eq!(to, vec![PEER, OTHER], "the second request to PEER waits");
    let mid = Packet::from_bytes(&sent[0].contents)
        .expect("decodes")
        .header
        .message_id;
    ep.handle_datagram(
        t0(),
        PEER,
        &message::empty_message(MessageType::Acknowledgement, mid),
    );
    let (sent, _) = drain(&mut ep);
    assert_eq!(sent.len(), 1, "the empty ACK frees the slot");
    assert_eq!(
        Packet::from_bytes(&sent[0].contents)
            .expect("decodes")
            .header
            .get_type(),
        MessageType::NonConfirmable
    );
    assert!(ep.cancel(t0(), a));
    assert!(!ep.cancel(t0(), a));
}

/// A random packet: code, options (numbers, repeats, value lengths across the 1-, 2- and
/// 3-byte length encodings) and payload.
fn random_packet(r: &mut ChaCha8Rng) -> Packet {
    let mut p = Packet::new();
    let codes = [0x00u8, 0x01, 0x02, 0x45, 0x44, 0x84, 0x8D, 0xA0];
    p.header.code = MessageClass::from(codes[(r.next_u32() % codes.len() as u32) as usize]);
    for _ in 0..r.next_u32() % 6 {
        let number = match r.next_u32() % 4 {
            0 => (r.next_u32() % 13) as u16,
            1 => (r.next_u32() % 300) as u16,
            2 => (r.next_u32() % 2000) as u16,
            _ => r.next_u32() as u16,
        };
        let len = match r.next_u32() % 4 {
            0 => r.next_u32() % 13,
            1 => r.next_u32() % 300,
            _ => r.next_u32() % 5,
        } as usize;
        let value: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
        p.add_option(CoapOption::from(number), value);
    }
    let len = match r.next_u32() % 3 {
        0 => 0,
        1 => r.next_u32() % 40,
        _ => r.next_u32() % 1500,
    } as usize;
    p.payload = (0..len).map(|_| r.next_u32() as u8).collect();
    p
}

#[test]
fn encoder_writes_the_bytes_of_coap_lite() {
    let mut r = rng(7);
    let types = [
        MessageType::Confirmable,
        MessageType::NonConfirmable,
        MessageType::Acknowledgement,
        MessageType::Reset,
    ];
    for _ in 0..5_000 {
        let mut p = random_packet(&mut r);
        let mtype = types[(r.next_u32() % 4) as usize];
        let mid = r.next_u32() as u16;
        let token: Vec<u8> = (0..r.next_u32() % 9).map(|_| r.next_u32() as u8).collect();
        let max = [64usize, 300, 1152, 4096][(r.next_u32() % 4) as usize];
        // Into a fresh buffer, or one that held another message: the same bytes.
        let used: Vec<u8> = (0..r.next_u32() % 1200)
            .map(|_| r.next_u32() as u8)
            .collect();
        let buf = if r.next_u32().is_multiple_of(2) {
            used
        } else {
            Vec::new()
        };
        let ours = message::encode(buf, &p, mtype, mid, &token, max);
        p.set_token(token);
        p.header.set_type(mtype);
        p.header.message_id = mid;
        p.header.set_version(1);
        let theirs = p
            .to_bytes_with_limit(max)
            .map_err(|_| SendError::TooLarge { max });
        assert_eq!(ours, theirs, "{p:?}");
    }
}

/// The reference decoder of the property tests in `received`: `coap-lite`'s parse, then
/// the checks of RFC 7252 section 3 that it leaves out (the endpoint's former decoder).
pub(super) fn reference_decode(bytes: &[u8], max_size: usize) -> Result<Packet, DropReason> {
    if bytes.len() > max_size {
        return Err(DropReason::TooLarge);
    }
    let (packet, empty_payload_marker) = reference_parse(bytes).map_err(DropReason::Malformed)?;
    if packet.header.get_version() != 1 {
        return Err(DropReason::UnknownVersion);
    }
    // coap-lite accepts a trailing payload marker with no payload; RFC 7252 section 3 makes
    // it a format error.
    if empty_payload_marker {
        return Err(DropReason::Malformed(FormatError::EmptyPayload));
    }
    let has_content = !packet.get_token().is_empty()
        || packet.options().any(|(_, values)| !values.is_empty())
        || !packet.payload.is_empty();
    message::check_class(packet.header.get_type(), packet.header.code, has_content)
        .map_err(DropReason::Malformed)?;
    Ok(packet)
}

/// `coap-lite`'s parse and the endpoint's former check for a trailing payload marker.
fn reference_parse(bytes: &[u8]) -> Result<(Packet, bool), FormatError> {
    use coap_lite::error::MessageError;
    let packet = Packet::from_bytes(bytes).map_err(|e| match e {
        MessageError::InvalidHeader | MessageError::InvalidPacketLength => FormatError::Truncated,
        MessageError::InvalidTokenLength => FormatError::TokenLength,
        MessageError::InvalidOptionDelta => FormatError::OptionDelta,
        MessageError::InvalidOptionLength => FormatError::OptionLength,
    })?;
    let marker = packet.payload.is_empty()
        && bytes.last() == Some(&0xFF)
        && packet
            .to_bytes_unlimited()
            .is_ok_and(|re| re.len() + 1 == bytes.len());
    Ok((packet, marker))
}

#[test]
fn parser_agrees_with_coap_lite_on_valid_and_mangled_datagrams() {
    let mut r = rng(11);
    let mut checked = 0;
    for i in 0..20_000 {
        let mut p = random_packet(&mut r);
        p.set_token((0..r.next_u32() % 9).map(|_| r.next_u32() as u8).collect());
        p.header.message_id = r.next_u32() as u16;
        let mut bytes = p.to_bytes_unlimited().expect("encodes");
        match i % 4 {
            0 => {}
            1 => {
                // Flip a few bytes.
                for _ in 0..1 + r.next_u32() % 3 {
                    let at = (r.next_u32() as usize) % bytes.len();
                    bytes[at] = r.next_u32() as u8;
                }
            }
            2 => {
                let keep = (r.next_u32() as usize) % (bytes.len() + 1);
                bytes.truncate(keep);
                if r.next_u32().is_multiple_of(2) {
                    bytes.push(0xFF);
                }
            }
            _ => {
                bytes = (0..r.next_u32() % 40).map(|_| r.next_u32() as u8).collect();
            }
        }
        let ours = received::parse(bytes.clone()).map(|(message, marker, version)| {
            let mut packet = message.to_packet();
            packet.header.set_version(version);
            (packet, marker)
        });
        let theirs = reference_parse(&bytes);
        assert_eq!(ours, theirs, "{bytes:02x?}");
        checked += usize::from(ours.is_ok());
    }
    assert!(checked > 5_000);
}

/// A request given as parts goes out as the same bytes as the equivalent packet.
#[test]
fn a_request_from_parts_is_the_request_from_its_packet() {
    let block =
        BlockValue::new(37, true, BlockSize::from_bytes(512).expect("512")).expect("valid block");
    let mut packet = Packet::new();
    packet.header.code = MessageClass::Request(RequestType::Get);
    for segment in ["fw", "payload", "x"] {
        packet.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    block.write(&mut packet, BlockOption::Block2);
    let block_value = block.encode();
    let parts: [(u16, &[u8]); 4] = [
        (11, b"fw"),
        (11, b"payload"),
        (11, b"x"),
        (BlockOption::Block2.number(), &block_value),
    ];
    let sent = |from_parts: bool| {
        let mut r = rng(9);
        let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
        let handle = if from_parts {
            ep.send_request_parts(
                t0(),
                &mut r,
                PEER,
                RequestType::Get,
                &parts,
                b"body",
                Reliability::Confirmable,
            )
        } else {
            let mut p = packet.clone();
            p.payload = b"body".to_vec();
            ep.send_request(t0(), &mut r, PEER, p, Reliability::Confirmable)
        };
        assert!(handle.is_ok());
        drain(&mut ep)
            .0
            .into_iter()
            .map(|t| t.contents)
            .collect::<Vec<_>>()
    };
    let from_packet = sent(false);
    assert_eq!(from_packet.len(), 1);
    assert_eq!(sent(true), from_packet);
    // The same with the first `split` options encoded beforehand, for every split.
    for split in 0..=parts.len() {
        let mut r = rng(9);
        let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
        let prefix = OptionPrefix::new(&parts[..split]);
        let handle = ep.send_request_prefixed(
            t0(),
            &mut r,
            PEER,
            RequestType::Get,
            &prefix,
            &parts[split..],
            b"body",
            Reliability::Confirmable,
        );
        assert!(handle.is_ok(), "split {split}");
        let contents: Vec<Vec<u8>> = drain(&mut ep).0.into_iter().map(|t| t.contents).collect();
        assert_eq!(contents, from_packet, "split {split}");
    }
    let decoded = Packet::from_bytes(&from_packet[0]).expect("coap-lite parses it");
    assert_eq!(
        decoded.get_option(CoapOption::UriPath).map(|v| v.len()),
        Some(3)
    );
}

/// An option after a prefix must not be numbered below the prefix's last: nothing is sent.
#[test]
fn an_option_below_the_prefix_is_refused() {
    let mut r = rng(10);
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut r);
    let prefix = OptionPrefix::new(&[(11, b"fw"), (15, b"q=1")]);
    assert_eq!(prefix.last_number(), 15);
    let sent = ep.send_request_prefixed(
        t0(),
        &mut r,
        PEER,
        RequestType::Get,
        &prefix,
        &[(12, &[0])],
        &[],
        Reliability::Confirmable,
    );
    assert_eq!(sent, Err(SendError::OptionBeforePrefix));
    assert!(drain(&mut ep).0.is_empty());
    assert_eq!(ep.outstanding_requests(), 0);
}

/// Without deduplication (a repository), a request the application never answers is still
/// forgotten at the end of its exchange, and stops counting against the pending cap.
#[test]
fn unanswered_requests_expire_without_deduplication_too() {
    let mut r = rng(12);
    let config = EndpointConfig {
        max_pending_requests: 1,
        dedup_requests: false,
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(config, &mut r);
    ep.handle_datagram(t0(), PEER, &raw_request(1, true));
    let lifetime = TransmissionParams::default().exchange_lifetime();
    // Within the lifetime the unanswered request holds the only slot.
    ep.handle_datagram(t0() + Duration::from_secs(100), PEER, &raw_request(2, true));
    let ids = one_received_one_refused_as_too_many(&mut ep);
    // After it, the slot is free again, and the old request can no longer be answered.
    ep.handle_datagram(t0() + lifetime, PEER, &raw_request(3, true));
    let (_, events) = drain(&mut ep);
    assert_eq!(received_ids(&events).len(), 1);
    assert_eq!(ep.incoming.len(), 1);
    assert_eq!(
        ep.respond(t0() + lifetime, &mut r, ids[0], content(b"")),
        Err(SendError::UnknownRequest)
    );
}

/// What one round of [`exchange_round`] put on the wire, and in which buffers.
struct Round {
    request: Vec<u8>,
    request_at: *const u8,
    response: Vec<u8>,
    response_at: *const u8,
    /// The messages received, unless their buffers were handed back: kept alive so that
    /// the allocator cannot give their memory out again.
    kept: Vec<Message>,
}

/// One GET answered by one Content response, client to server and back; each side hands
/// the buffer of the message it received back to its endpoint if `recycle`.
fn exchange_round(
    client: &mut Endpoint<u8>,
    server: &mut Endpoint<u8>,
    r: &mut ChaCha8Rng,
    recycle: bool,
) -> Round {
    let now = t0();
    let mut kept = Vec::new();
    client
        .send_request(now, r, PEER, get(), Reliability::Confirmable)
        .expect("sends");
    let (mut out, _) = drain(client);
    let request = out.remove(0).contents;
    let (request_bytes, request_at) = (request.clone(), request.as_ptr());
    server.handle_datagram_owned(now, OTHER, request);
    let Some(Event::RequestReceived { id, request, .. }) = server.poll_event() else {
        panic!("no request delivered");
    };
    if recycle {
        server.recycle(request.into_bytes());
    } else {
        kept.push(request);
    }
    server
        .respond(now, r, id, content(&[0x5a; 300]))
        .expect("responds");
    let response = server.poll_transmit().expect("a response").contents;
    let (response_bytes, response_at) = (response.clone(), response.as_ptr());
    client.handle_datagram_owned(now, PEER, response);
    let Some(Event::ResponseReceived { response, .. }) = client.poll_event() else {
        panic!("no response delivered");
    };
    if recycle {
        client.recycle(response.into_bytes());
    } else {
        kept.push(response);
    }
    Round {
        request: request_bytes,
        request_at,
        response: response_bytes,
        response_at,
        kept,
    }
}

/// Buffers handed back with `recycle` carry the next messages: the server writes each
/// response into the buffer of the request it answers (grown for the first two), the
/// client each request into
/// the buffer of an earlier response, so no exchange allocates; and the bytes on the
/// wire are those written without recycling. (Buffers not handed back stay alive, so a
/// pointer seen again is a reuse, not the allocator's doing.)
#[test]
fn recycled_buffers_carry_the_next_messages_and_change_no_byte() {
    let run = |recycle: bool| {
        let (mut r, mut r1, mut r2) = (rng(40), rng(41), rng(42));
        let mut client = Endpoint::new(EndpointConfig::default(), &mut r1);
        let mut server = Endpoint::new(EndpointConfig::default(), &mut r2);
        (0..6)
            .map(|_| exchange_round(&mut client, &mut server, &mut r, recycle))
            .collect::<Vec<_>>()
    };
    let (plain, recycled) = (run(false), run(true));
    for (a, b) in plain.iter().zip(&recycled) {
        assert_eq!(
            (&a.request, &a.response),
            (&b.request, &b.response),
            "recycling changed the bytes"
        );
    }
    let reused = |rounds: &[Round]| -> (bool, bool) {
        // The first two requests go out in buffers sized for requests, too small for a
        // response: those grow (move). Then requests travel in former responses' buffers.
        let responses_in_requests = rounds[2..].iter().all(|x| x.response_at == x.request_at);
        let earlier: Vec<*const u8> = rounds.iter().map(|x| x.response_at).collect();
        let requests_in_earlier_responses = rounds[2..]
            .iter()
            .enumerate()
            .all(|(k, x)| earlier[..k + 2].contains(&x.request_at));
        (responses_in_requests, requests_in_earlier_responses)
    };
    assert_eq!(reused(&recycled), (true, true));
    assert_eq!(reused(&plain), (false, false));
    assert!(plain.iter().all(|x| x.kept.len() == 2));
}

#[test]
fn an_endpoint_keeps_few_spare_buffers_and_none_too_large() {
    let mut r = rng(43);
    let mut ep: Endpoint<u8> = Endpoint::new(EndpointConfig::default(), &mut r);
    let max = ep.config().max_message_size;
    let small: Vec<Vec<u8>> = (0..5).map(|_| Vec::with_capacity(64)).collect();
    let kept: Vec<*const u8> = small.iter().map(|b| b.as_ptr()).collect();
    ep.send_request(t0(), &mut r, PEER, get(), Reliability::Confirmable)
        .expect("sends");
    drain(&mut ep);
    ep.recycle(Vec::with_capacity(max + 1));
    for b in small {
        ep.recycle(b);
    }
    assert_eq!(ep.spare_count(), MAX_SPARE_BUFFERS);
    // The oversize buffer was refused, then two of the small ones kept: the next request
    // is written into the last of those kept (the second), its copy for transmission
    // into the first.
    ep.send_request(t0(), &mut r, OTHER, get(), Reliability::Confirmable)
        .expect("sends");
    let (out, _) = drain(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].contents.as_ptr(), kept[0]);
    assert_eq!(ep.spare_count(), 0);
    ep.recycle(out.into_iter().next().expect("sent").contents);
    assert_eq!(ep.spare_count(), 1);
    ep.release_spares();
    assert_eq!(ep.spare_count(), 0);
}

/// An unsigned option value takes the fewest bytes: none for zero (RFC 7252 section 3.2).
#[test]
fn uint_bytes_are_the_value_without_leading_zero_bytes() {
    for value in [
        0u32,
        1,
        0xff,
        0x100,
        0xffff,
        0x1_0000,
        0xff_ffff,
        0x100_0000,
        u32::MAX,
    ] {
        let (bytes, skip) = uint_bytes(value);
        let expected: Vec<u8> = value
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        assert_eq!(&bytes[skip..], expected.as_slice(), "{value:#x}");
    }
}
