//! The two-node test network shared by the CoAP end-to-end tests (`mod coap_net;` in
//! `coap_endpoint.rs` and `coap_transfer.rs`): two endpoints wired together by a wire with
//! fixed latency and a deterministic drop rule, and a virtual clock that jumps to the
//! earliest pending instant (the next delivery or the earliest `poll_timeout`).
#![allow(dead_code)]

use std::collections::BTreeMap;

use icsim_protocol::coap::{
    CoapOption, Endpoint, EndpointConfig, Event, MessageClass, Packet, Reliability, RequestHandle,
    RequestType, ResponseType,
};
use icsim_protocol::time::{Duration, Instant};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

pub(crate) type Addr = u8;
pub(crate) const CLIENT: Addr = 0;
pub(crate) const SERVER: Addr = 1;
pub(crate) const LATENCY: Duration = Duration::from_millis(10);

pub(crate) fn t0() -> Instant {
    Instant::from_unix_secs(1_700_000_000)
}

/// One datagram put on the wire.
#[derive(Clone, Debug)]
pub(crate) struct Datagram {
    pub(crate) index: usize,
    pub(crate) at: Instant,
    pub(crate) from: Addr,
    pub(crate) to: Addr,
    pub(crate) bytes: Vec<u8>,
    pub(crate) dropped: bool,
}

impl Datagram {
    pub(crate) fn packet(&self) -> Packet {
        Packet::from_bytes(&self.bytes).expect("the endpoints send well-formed messages")
    }
}

pub(crate) struct Node {
    pub(crate) ep: Endpoint<Addr>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) events: Vec<(Instant, Event<Addr>)>,
}

pub(crate) type App<'a> = dyn FnMut(Addr, &mut Node, Instant, &Event<Addr>) + 'a;

/// Two endpoints, a wire with fixed latency and a drop rule, and a virtual clock.
pub(crate) struct Net {
    pub(crate) now: Instant,
    pub(crate) nodes: [Node; 2],
    pub(crate) in_flight: BTreeMap<(Instant, usize), usize>,
    pub(crate) log: Vec<Datagram>,
    pub(crate) drop_rule: Box<dyn FnMut(&Datagram) -> bool>,
}

impl Net {
    pub(crate) fn new(seed: u64) -> Self {
        Self::with_config(seed, EndpointConfig::default())
    }

    pub(crate) fn with_config(seed: u64, config: EndpointConfig) -> Self {
        let node = |n: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed * 2 + n);
            Node {
                ep: Endpoint::new(config.clone(), &mut rng),
                rng,
                events: Vec::new(),
            }
        };
        Self {
            now: t0(),
            nodes: [node(0), node(1)],
            in_flight: BTreeMap::new(),
            log: Vec::new(),
            drop_rule: Box::new(|_| false),
        }
    }

    pub(crate) fn drop_when(&mut self, rule: impl FnMut(&Datagram) -> bool + 'static) {
        self.drop_rule = Box::new(rule);
    }

    pub(crate) fn client(&mut self) -> &mut Node {
        &mut self.nodes[usize::from(CLIENT)]
    }

    pub(crate) fn server(&mut self) -> &mut Node {
        &mut self.nodes[usize::from(SERVER)]
    }

    pub(crate) fn send(&mut self, packet: Packet, reliability: Reliability) -> RequestHandle {
        let now = self.now;
        let node = self.client();
        node.ep
            .send_request(now, &mut node.rng, SERVER, packet, reliability)
            .expect("request accepted")
    }

    /// Moves datagrams to the wire and events to the application until both are quiet.
    pub(crate) fn flush(&mut self, app: &mut App<'_>) {
        loop {
            let mut busy = false;
            for addr in [CLIENT, SERVER] {
                let node = &mut self.nodes[usize::from(addr)];
                while let Some(t) = node.ep.poll_transmit() {
                    busy = true;
                    let mut d = Datagram {
                        index: self.log.len(),
                        at: self.now,
                        from: addr,
                        to: t.destination,
                        bytes: t.contents,
                        dropped: false,
                    };
                    d.dropped = (self.drop_rule)(&d);
                    if !d.dropped {
                        self.in_flight
                            .insert((self.now + LATENCY, d.index), d.index);
                    }
                    self.log.push(d);
                }
                let node = &mut self.nodes[usize::from(addr)];
                while let Some(event) = node.ep.poll_event() {
                    busy = true;
                    app(addr, node, self.now, &event);
                    node.events.push((self.now, event));
                }
            }
            if !busy {
                return;
            }
        }
    }

    /// Runs until nothing is pending or `deadline`, whichever is first; the clock ends at
    /// `deadline` (or at the last instant processed if nothing is pending).
    pub(crate) fn run_until(&mut self, deadline: Instant, app: &mut App<'_>) {
        for _ in 0..1_000_000 {
            self.flush(app);
            let wire = self.in_flight.keys().next().map(|&(at, _)| at);
            let timers = self.nodes.iter().filter_map(|n| n.ep.poll_timeout());
            let Some(next) = timers.chain(wire).min() else {
                return;
            };
            if next > deadline {
                self.now = deadline;
                return;
            }
            self.now = next;
            while let Some((&(at, key), &index)) = self.in_flight.iter().next() {
                if at > next {
                    break;
                }
                self.in_flight.remove(&(at, key));
                let d = &self.log[index];
                let (to, from, bytes) = (d.to, d.from, d.bytes.clone());
                self.nodes[usize::from(to)]
                    .ep
                    .handle_datagram(next, from, &bytes);
            }
            for node in &mut self.nodes {
                if node.ep.poll_timeout().is_some_and(|t| t <= next) {
                    node.ep.handle_timeout(next);
                }
            }
        }
        panic!("the network did not settle");
    }

    pub(crate) fn run(&mut self, app: &mut App<'_>) {
        self.run_until(self.now + Duration::from_secs(3600), app);
    }

    pub(crate) fn sent_by(&self, addr: Addr) -> Vec<&Datagram> {
        self.log.iter().filter(|d| d.from == addr).collect()
    }

    pub(crate) fn events_of(&self, addr: Addr) -> Vec<&Event<Addr>> {
        self.nodes[usize::from(addr)]
            .events
            .iter()
            .map(|(_, e)| e)
            .collect()
    }
}

pub(crate) fn request(method: RequestType, path: &str) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Request(method);
    for segment in path.split('/') {
        p.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    p
}

pub(crate) fn response(code: ResponseType, payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Response(code);
    p.payload = payload.to_vec();
    p
}

/// A server that answers every request at once with 2.05 "ok".
pub(crate) fn answer_ok(addr: Addr, node: &mut Node, now: Instant, event: &Event<Addr>) {
    if let (SERVER, Event::RequestReceived { id, .. }) = (addr, event) {
        node.ep
            .respond(
                now,
                &mut node.rng,
                *id,
                response(ResponseType::Content, b"ok"),
            )
            .expect("respond");
    }
}

pub(crate) fn ignore(_: Addr, _: &mut Node, _: Instant, _: &Event<Addr>) {}

pub(crate) fn responses(events: &[&Event<Addr>]) -> Vec<(RequestHandle, Packet)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ResponseReceived {
                handle, response, ..
            } => Some((*handle, response.to_packet())),
            _ => None,
        })
        .collect()
}

pub(crate) fn count_requests_received(events: &[&Event<Addr>]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::RequestReceived { .. }))
        .count()
}

#[test]
fn the_wire_delivers_after_its_latency_and_the_clock_follows() {
    let mut net = Net::new(1);
    net.send(request(RequestType::Get, "a"), Reliability::Confirmable);
    net.run(&mut answer_ok);
    let times: Vec<_> = net.log.iter().map(|d| (d.from, d.at - t0())).collect();
    assert_eq!(times, vec![(CLIENT, Duration::ZERO), (SERVER, LATENCY)]);
    assert_eq!(net.now - t0(), LATENCY.saturating_mul(2));
}
