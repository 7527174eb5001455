//! End-to-end tests of the CoAP endpoint over the two-node test network of `coap_net.rs`.

mod coap_net;

use coap_net::*;
use icsim_protocol::coap::{
    DeliveryFailure, DropReason, EndpointConfig, Event, MessageClass, MessageType, Reliability,
    RequestFailure, RequestType, ResponseType,
};
use icsim_protocol::time::{Duration, Instant};
use proptest::prelude::*;

#[test]
fn piggybacked_round_trip() {
    let mut net = Net::new(1);
    let handle = net.send(
        request(RequestType::Get, "status"),
        Reliability::Confirmable,
    );
    net.run(&mut answer_ok);

    assert_eq!(net.log.len(), 2, "one CON request, one piggybacked ACK");
    let (req, ack) = (net.log[0].packet(), net.log[1].packet());
    assert_eq!(req.header.get_type(), MessageType::Confirmable);
    assert_eq!(ack.header.get_type(), MessageType::Acknowledgement);
    assert_eq!(ack.header.message_id, req.header.message_id);
    assert_eq!(ack.get_token(), req.get_token());
    assert_eq!(req.get_token().len(), 4, "default token length");
    // Sizes: header 4 + token 4 + Uri-Path "status" (1 + 6) = 15; header 4 + token 4 +
    // marker 1 + "ok" 2 = 11.
    assert_eq!(net.log[0].bytes.len(), 15);
    assert_eq!(net.log[1].bytes.len(), 11);

    let got = responses(&net.events_of(CLIENT));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, handle);
    assert_eq!(got[0].1.payload, b"ok");
    assert_eq!(
        got[0].1.header.code,
        MessageClass::Response(ResponseType::Content)
    );
    let (c, s) = (*net.client().ep.stats(), *net.server().ep.stats());
    assert_eq!((c.datagrams_sent, c.bytes_sent), (1, 15));
    assert_eq!((s.datagrams_received, s.bytes_received), (1, 15));
    assert_eq!(
        (c.retransmissions, s.duplicates, c.responses_received),
        (0, 0, 1)
    );
    assert_eq!(net.client().ep.outstanding_requests(), 0);
    assert_eq!(net.client().ep.poll_timeout(), None, "no timer left");
}

#[test]
fn separate_response_after_automatic_empty_ack() {
    let mut net = Net::new(2);
    let handle = net.send(
        request(RequestType::Post, "fw/install"),
        Reliability::Confirmable,
    );
    // The application takes 5 s: the server acknowledges after `empty_ack_delay` (1 s).
    net.run_until(t0() + Duration::from_secs(5), &mut ignore);
    let id = match net.events_of(SERVER)[..] {
        [Event::RequestReceived { id, .. }] => *id,
        ref other => panic!("unexpected server events {other:?}"),
    };
    let now = net.now;
    let server = net.server();
    server
        .ep
        .respond(
            now,
            &mut server.rng,
            id,
            response(ResponseType::Changed, b"done"),
        )
        .expect("respond");
    net.run(&mut ignore);

    let kinds: Vec<_> = net
        .log
        .iter()
        .map(|d| {
            let p = d.packet();
            (d.from, p.header.get_type(), p.header.code, d.at - t0())
        })
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(
        kinds,
        vec![
            (
                CLIENT,
                MessageType::Confirmable,
                MessageClass::Request(RequestType::Post),
                ms(0)
            ),
            (
                SERVER,
                MessageType::Acknowledgement,
                MessageClass::Empty,
                ms(1010)
            ),
            (
                SERVER,
                MessageType::Confirmable,
                MessageClass::Response(ResponseType::Changed),
                ms(5000)
            ),
            (
                CLIENT,
                MessageType::Acknowledgement,
                MessageClass::Empty,
                ms(5010)
            ),
        ]
    );
    let sep = net.log[2].packet();
    assert_eq!(sep.get_token(), net.log[0].packet().get_token());
    assert_eq!(net.log[3].packet().header.message_id, sep.header.message_id);
    let got = responses(&net.events_of(CLIENT));
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].0, got[0].1.payload.as_slice()),
        (handle, &b"done"[..])
    );
    assert_eq!(net.client().ep.stats().retransmissions, 0);
    assert_eq!(
        net.server().ep.poll_timeout(),
        None,
        "separate response acknowledged"
    );
}

#[test]
fn explicit_acknowledge_then_separate_response_survives_a_lost_ack() {
    let mut net = Net::new(3);
    // Lose the client's first ACK of the separate response.
    net.drop_when(|d| d.from == CLIENT && d.index == 3);
    net.send(request(RequestType::Get, "slow"), Reliability::Confirmable);
    let mut app = |addr: Addr, node: &mut Node, now: Instant, e: &Event<Addr>| {
        if let (SERVER, Event::RequestReceived { id, .. }) = (addr, e) {
            node.ep.acknowledge(now, *id).expect("ack");
            node.ep
                .respond(
                    now,
                    &mut node.rng,
                    *id,
                    response(ResponseType::Content, b"x"),
                )
                .expect("respond");
        }
    };
    net.run(&mut app);
    let server_sent = net.sent_by(SERVER);
    // Empty ACK, separate CON response, its retransmission.
    assert_eq!(server_sent.len(), 3);
    assert_eq!(server_sent[1].bytes, server_sent[2].bytes);
    assert_eq!(net.server().ep.stats().retransmissions, 1);
    // The client saw the response twice, delivered it once, and acknowledged both copies.
    assert_eq!(responses(&net.events_of(CLIENT)).len(), 1);
    let c = *net.client().ep.stats();
    assert_eq!((c.duplicates, c.replies_resent), (1, 1));
}

#[test]
fn lossy_wire_retransmits_on_schedule_then_gives_up() {
    let mut net = Net::new(4);
    net.drop_when(|d| d.from == CLIENT);
    let handle = net.send(
        request(RequestType::Get, "status"),
        Reliability::Confirmable,
    );
    net.run(&mut ignore);

    let times: Vec<Duration> = net.sent_by(CLIENT).iter().map(|d| d.at - t0()).collect();
    assert_eq!(times.len(), 5, "1 + MAX_RETRANSMIT transmissions");
    let t = times[1];
    assert!(
        t >= Duration::from_secs(2) && t <= Duration::from_secs(3),
        "initial timeout {t} within [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]"
    );
    let expected: Vec<Duration> = [0, 1, 3, 7, 15]
        .iter()
        .map(|k| t.saturating_mul(*k))
        .collect();
    assert_eq!(times, expected);
    let copies: Vec<_> = net
        .sent_by(CLIENT)
        .iter()
        .map(|d| d.bytes.clone())
        .collect();
    assert!(
        copies.windows(2).all(|w| w[0] == w[1]),
        "same message ID and bytes"
    );

    let (at, event) = net.client().events.last().cloned().expect("an event");
    assert_eq!(
        at - t0(),
        t.saturating_mul(31),
        "gives up when the last timeout expires"
    );
    assert_eq!(
        event,
        Event::RequestFailed {
            handle,
            peer: SERVER,
            reason: RequestFailure::GaveUp { transmissions: 5 }
        }
    );
    let c = *net.client().ep.stats();
    assert_eq!((c.retransmissions, c.gave_up, c.datagrams_sent), (4, 1, 5));
    assert_eq!(net.client().ep.outstanding_requests(), 0);
    assert_eq!(net.client().ep.poll_timeout(), None);
}

#[test]
fn retransmission_gets_through_after_two_losses() {
    let mut net = Net::new(5);
    net.drop_when(|d| d.from == CLIENT && d.index < 2);
    net.send(
        request(RequestType::Get, "status"),
        Reliability::Confirmable,
    );
    net.run(&mut answer_ok);
    let times: Vec<Duration> = net.sent_by(CLIENT).iter().map(|d| d.at - t0()).collect();
    assert_eq!(times.len(), 3);
    assert_eq!(times[2], times[1].saturating_mul(3));
    assert_eq!(responses(&net.events_of(CLIENT)).len(), 1);
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 1);
}

#[test]
fn duplicate_con_is_delivered_once_and_the_cached_response_resent() {
    let mut net = Net::new(6);
    // Lose the server's piggybacked response: the client retransmits the same CON.
    net.drop_when(|d| d.from == SERVER && d.index == 1);
    net.send(
        request(RequestType::Get, "status"),
        Reliability::Confirmable,
    );
    let mut delivered = 0;
    let mut app = |addr: Addr, node: &mut Node, now: Instant, e: &Event<Addr>| {
        if let (SERVER, Event::RequestReceived { .. }) = (addr, e) {
            delivered += 1;
        }
        answer_ok(addr, node, now, e);
    };
    net.run(&mut app);
    assert_eq!(delivered, 1, "the application saw the request once");
    let server_sent = net.sent_by(SERVER);
    assert_eq!(server_sent.len(), 2);
    assert_eq!(
        server_sent[0].bytes, server_sent[1].bytes,
        "cached ACK re-sent"
    );
    let s = *net.server().ep.stats();
    assert_eq!(
        (s.duplicates, s.replies_resent, s.requests_received),
        (1, 1, 1)
    );
    assert_eq!(responses(&net.events_of(CLIENT)).len(), 1);
}

#[test]
fn injected_duplicate_datagram_is_delivered_once() {
    let mut net = Net::new(7);
    net.send(request(RequestType::Get, "a"), Reliability::Confirmable);
    net.flush(&mut ignore);
    let bytes = net.log[0].bytes.clone();
    let now = net.now;
    net.server().ep.handle_datagram(now, CLIENT, &bytes);
    net.run(&mut answer_ok);
    // The wire delivers the original copy 10 ms later: a duplicate of an answered CON.
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 1);
    let s = *net.server().ep.stats();
    assert_eq!((s.duplicates, s.replies_resent), (1, 1));
    // The client got the response twice (piggybacked both times) and delivered it once.
    assert_eq!(responses(&net.events_of(CLIENT)).len(), 1);
    assert!(matches!(
        net.events_of(CLIENT).last(),
        Some(Event::DatagramDropped {
            reason: DropReason::UnmatchedAck,
            ..
        })
    ));
}

#[test]
fn nstart_one_serialises_requests_to_a_peer() {
    let mut net = Net::new(8);
    let handles: Vec<_> = (0..3)
        .map(|i| {
            net.send(
                request(RequestType::Get, &format!("r{i}")),
                Reliability::Confirmable,
            )
        })
        .collect();
    net.run(&mut answer_ok);
    let order: Vec<(Addr, MessageType)> = net
        .log
        .iter()
        .map(|d| (d.from, d.packet().header.get_type()))
        .collect();
    let pair = [
        (CLIENT, MessageType::Confirmable),
        (SERVER, MessageType::Acknowledgement),
    ];
    assert_eq!(
        order,
        pair.repeat(3),
        "each request waits for the previous ACK"
    );
    let got: Vec<_> = responses(&net.events_of(CLIENT))
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(got, handles);
}

#[test]
fn non_request_gets_non_response_and_times_out_without_one() {
    let mut net = Net::new(9);
    net.send(request(RequestType::Get, "n"), Reliability::NonConfirmable);
    net.run(&mut answer_ok);
    let types: Vec<_> = net
        .log
        .iter()
        .map(|d| d.packet().header.get_type())
        .collect();
    assert_eq!(
        types,
        [MessageType::NonConfirmable, MessageType::NonConfirmable]
    );
    assert_eq!(responses(&net.events_of(CLIENT)).len(), 1);

    let mut net = Net::new(10);
    net.drop_when(|_| true);
    let handle = net.send(request(RequestType::Get, "n"), Reliability::NonConfirmable);
    net.run(&mut ignore);
    assert_eq!(net.log.len(), 1, "NON is never retransmitted");
    let (at, event) = net.client().events[0].clone();
    assert_eq!(at - t0(), EndpointConfig::default().response_timeout);
    assert_eq!(
        event,
        Event::RequestFailed {
            handle,
            peer: SERVER,
            reason: RequestFailure::ResponseTimeout
        }
    );
}

#[test]
fn cancelled_request_resets_a_late_separate_response() {
    let mut net = Net::new(11);
    let handle = net.send(request(RequestType::Get, "x"), Reliability::Confirmable);
    net.run_until(t0() + Duration::from_secs(2), &mut ignore);
    let now = net.now;
    assert!(net.client().ep.cancel(now, handle));
    let id = match net.events_of(SERVER)[..] {
        [Event::RequestReceived { id, .. }] => *id,
        ref other => panic!("unexpected server events {other:?}"),
    };
    let server = net.server();
    server
        .ep
        .respond(
            now,
            &mut server.rng,
            id,
            response(ResponseType::Content, b"late"),
        )
        .expect("respond");
    net.run(&mut ignore);
    assert_eq!(net.client().ep.stats().resets_sent, 1);
    assert!(net.events_of(SERVER).iter().any(|e| matches!(
        e,
        Event::ResponseFailed { id: i, reason: DeliveryFailure::Reset, .. } if *i == id
    )));
    assert_eq!(net.server().ep.poll_timeout(), None);
}

#[test]
fn same_seed_same_wire() {
    let run = |seed| {
        let mut net = Net::new(seed);
        net.drop_when(|d| d.index % 3 == 1);
        for i in 0..4 {
            net.send(
                request(RequestType::Get, &format!("p{i}")),
                Reliability::Confirmable,
            );
        }
        net.run(&mut answer_ok);
        net.log
            .iter()
            .map(|d| (d.at, d.from, d.bytes.clone(), d.dropped))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn malformed_input_is_counted_and_a_malformed_con_reset() {
    let mut net = Net::new(17);
    let now = net.now;
    let server = &mut net.server().ep;
    server.handle_datagram(now, CLIENT, &[0x40]); // truncated header
    server.handle_datagram(now, CLIENT, &[0x48, 0x01, 0x12, 0x34]); // CON, TKL 8, no token
    server.handle_datagram(now, CLIENT, &[0x80, 0x01, 0, 1]); // version 2
    server.handle_datagram(now, CLIENT, &[0x40, 0x01, 0, 2, 0xFF]); // marker, no payload
    server.handle_datagram(now, CLIENT, &[0x40, 0x00, 0, 3]); // ping
    let s = *server.stats();
    assert_eq!((s.malformed, s.datagrams_received), (4, 5));
    let resets: Vec<_> = std::iter::from_fn(|| server.poll_transmit())
        .map(|t| t.contents)
        .collect();
    assert_eq!(
        resets,
        vec![
            vec![0x70, 0, 0x12, 0x34],
            vec![0x70, 0, 0, 2],
            vec![0x70, 0, 0, 3]
        ],
        "RST for the malformed CONs and the ping, nothing for the bad version"
    );
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 0);
}

proptest! {
    #[test]
    fn random_datagrams_never_panic(datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..16)) {
        let mut net = Net::new(18);
        net.send(request(RequestType::Get, "p"), Reliability::Confirmable);
        net.flush(&mut ignore);
        let now = net.now;
        for bytes in &datagrams {
            for node in &mut net.nodes {
                node.ep.handle_datagram(now, SERVER, bytes);
                node.ep.handle_timeout(now + Duration::from_secs(1));
                while node.ep.poll_transmit().is_some() {}
                while node.ep.poll_event().is_some() {}
            }
        }
        let s = *net.client().ep.stats();
        prop_assert_eq!(s.datagrams_received, datagrams.len() as u64);
    }

    #[test]
    fn mutated_messages_never_panic(flip in 0usize..15, bit in 0u8..8, tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut net = Net::new(19);
        net.send(request(RequestType::Get, "status"), Reliability::Confirmable);
        net.flush(&mut ignore);
        let mut bytes = net.log[0].bytes.clone();
        bytes[flip] ^= 1 << bit;
        bytes.extend_from_slice(&tail);
        let now = net.now;
        net.server().ep.handle_datagram(now, CLIENT, &bytes);
        net.client().ep.handle_datagram(now, SERVER, &bytes);
        net.run(&mut answer_ok);
    }
}
