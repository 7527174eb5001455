//! A distribution point: the update repository or a site cache. It stores envelopes and
//! encrypted payloads by path and serves them with plain CoAP GET and Block2 (RFC 7959).
//! It is untrusted: it holds nothing secret, and devices check everything it serves.

use std::collections::BTreeMap;
use std::sync::Arc;

use coap_lite::{RequestType, ResponseType};
use rand_core::CryptoRng;

use super::msg;
use super::{Addr, Node};
use crate::coap::{
    BlockOption, BlockSize, Endpoint, EndpointConfig, Event, Transmit, serve_block2, write_size,
};
use crate::time::Instant;

/// What a repository serves, and how many blocks it served.
#[derive(Debug)]
pub struct Repository<R> {
    rng: R,
    endpoint: Endpoint<Addr>,
    objects: BTreeMap<String, Arc<[u8]>>,
    block_size: BlockSize,
    /// Blocks served (for the report's repository load).
    pub blocks_served: u64,
    /// Requests refused (unknown path, bad option, wrong method).
    pub requests_refused: u64,
}

impl<R: CryptoRng> Repository<R> {
    /// An empty repository answering with blocks of at most `block_size`; `rng` is its own
    /// random stream (CoAP message ids and tokens).
    ///
    /// Every resource is an idempotent GET, so the endpoint keeps no duplicate-detection
    /// state (RFC 7252 section 4.5): a retransmitted request is served again. With
    /// thousands of devices fetching blocks, the state it saves is large.
    pub fn new(mut config: EndpointConfig, block_size: BlockSize, mut rng: R) -> Self {
        config.dedup_requests = false;
        Repository {
            endpoint: Endpoint::new(config, &mut rng),
            rng,
            objects: BTreeMap::new(),
            block_size,
            blocks_served: 0,
            requests_refused: 0,
        }
    }

    /// The object published at `path`.
    pub fn object(&self, path: &str) -> Option<Arc<[u8]>> {
        self.objects.get(path.trim_matches('/')).cloned()
    }

    /// Publish `bytes` at `path` (shared, not copied).
    pub fn publish(&mut self, path: &str, bytes: Arc<[u8]>) {
        self.objects
            .insert(path.trim_matches('/').to_string(), bytes);
    }

    /// CoAP counters.
    pub fn stats(&self) -> &crate::coap::Stats {
        self.endpoint.stats()
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            let Event::RequestReceived { id, request, .. } = event else {
                continue;
            };
            let reply = self.answer(&request);
            // The request id is fresh from this endpoint; answering it cannot fail but for
            // an oversize reply, which the block size rules out.
            let _ = self.endpoint.respond(now, &mut self.rng, id, reply);
        }
    }

    fn answer(&mut self, request: &coap_lite::Packet) -> coap_lite::Packet {
        let refuse = |this: &mut Self, code| {
            this.requests_refused += 1;
            msg::response(code, Vec::new())
        };
        if msg::method(request) != Some(RequestType::Get) {
            return refuse(self, ResponseType::MethodNotAllowed);
        }
        let Some(body) = msg::path(request).and_then(|p| self.objects.get(&p).cloned()) else {
            return refuse(self, ResponseType::NotFound);
        };
        let requested = match msg::block(request, BlockOption::Block2) {
            Ok(b) => b,
            Err(_) => return refuse(self, ResponseType::BadOption),
        };
        match serve_block2(&body, requested, self.block_size) {
            Ok(slice) => {
                self.blocks_served += 1;
                let mut reply = msg::response(ResponseType::Content, slice.payload.to_vec());
                slice.value.write(&mut reply, BlockOption::Block2);
                if slice.value.num() == 0 {
                    write_size(
                        &mut reply,
                        BlockOption::Block2,
                        u32::try_from(body.len()).unwrap_or(u32::MAX),
                    );
                }
                reply
            }
            Err(e) => refuse(self, e.response_code()),
        }
    }
}

impl<R: CryptoRng> Node for Repository<R> {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.endpoint.handle_datagram(now, from, bytes);
        self.process(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.process(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        self.endpoint.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }
}
