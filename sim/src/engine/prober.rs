//! Simple attacker nodes: an off-path prober that sends unprotected CoAP requests to PLCs'
//! update resources (ATK-OFFPATH), and a flooder that sends requests to a backend station
//! (ATK-FLOOD). Both use the protocol crate's CoAP endpoint for real encoded messages.

use icsim_protocol::coap::{CoapOption, MessageClass, MessageType, Packet, RequestType};
use icsim_protocol::coap::{Endpoint, EndpointConfig, Event, Reliability, Transmit};
use icsim_protocol::exchange::{Addr, Node};
use icsim_protocol::time::{Duration, Instant};
use rand_chacha::ChaCha20Rng;

fn request(method: RequestType, path: &str, payload: Vec<u8>) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Request(method);
    for seg in path.split('/') {
        p.add_option(CoapOption::UriPath, seg.as_bytes().to_vec());
    }
    p.payload = payload;
    p
}

/// Sends, at its start, an unprotected `GET suit/status` and `POST suit/install` to each
/// target; counts the answers that were not errors.
pub(crate) struct Prober {
    endpoint: Endpoint<Addr>,
    rng: ChaCha20Rng,
    targets: Vec<Addr>,
    start: Instant,
    sent: bool,
    /// Requests answered with a success code (2.xx).
    pub(crate) served: u64,
}

impl Prober {
    pub(crate) fn new(targets: Vec<Addr>, start: Instant, mut rng: ChaCha20Rng) -> Self {
        Prober {
            endpoint: Endpoint::new(EndpointConfig::default(), &mut rng),
            rng,
            targets,
            start,
            sent: false,
            served: 0,
        }
    }

    /// Requests it sends in all.
    pub(crate) fn attempts(&self) -> u64 {
        2 * self.targets.len() as u64
    }

    fn process(&mut self) {
        while let Some(e) = self.endpoint.poll_event() {
            if let Event::ResponseReceived { response, .. } = e
                && matches!(response.code(), MessageClass::Response(_))
                && u8::from(response.code()) >> 5 == 2
            {
                self.served += 1;
            }
        }
    }
}

impl Node for Prober {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.endpoint.handle_datagram(now, from, bytes);
        self.process();
    }

    fn handle_timeout(&mut self, now: Instant) {
        if !self.sent && now >= self.start {
            self.sent = true;
            for t in self.targets.clone() {
                for req in [
                    request(RequestType::Get, "suit/status", Vec::new()),
                    request(RequestType::Post, "suit/install", vec![0xa0]),
                ] {
                    let _ = self.endpoint.send_request(
                        now,
                        &mut self.rng,
                        t,
                        req,
                        Reliability::Confirmable,
                    );
                }
            }
        }
        self.endpoint.handle_timeout(now);
        self.process();
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        self.endpoint.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let start = (!self.sent).then_some(self.start);
        [start, self.endpoint.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Sends non-confirmable junk token requests to a target at a fixed rate for a while.
pub(crate) struct Flooder {
    target: Addr,
    next: Instant,
    until: Instant,
    interval: Duration,
    mid: u16,
    out: Vec<Transmit<Addr>>,
    /// Requests sent.
    pub(crate) sent: u64,
}

impl Flooder {
    pub(crate) fn new(target: Addr, start: Instant, until: Instant, per_second: u64) -> Self {
        Flooder {
            target,
            next: start,
            until,
            interval: Duration::from_micros(1_000_000 / per_second.max(1)),
            mid: 0,
            out: Vec::new(),
            sent: 0,
        }
    }
}

impl Node for Flooder {
    fn handle_datagram(&mut self, _: Instant, _: Addr, _: &[u8]) {}

    fn handle_timeout(&mut self, now: Instant) {
        while self.next <= now && self.next < self.until {
            let mut p = request(RequestType::Post, "token", vec![0xa1, 0x05, 0x61, 0x78]);
            p.header.set_type(MessageType::NonConfirmable);
            self.mid = self.mid.wrapping_add(1);
            p.header.message_id = self.mid;
            if let Ok(bytes) = p.to_bytes() {
                self.out.push(Transmit {
                    destination: self.target,
                    contents: bytes,
                });
                self.sent += 1;
            }
            self.next += self.interval;
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        (self.next < self.until).then_some(self.next)
    }
}
