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
    BlockOption, BlockSize, BlockValue, Endpoint, EndpointConfig, Event, Message, Transmit,
    serve_block2, uint_bytes,
};
use crate::time::Instant;

/// What a repository serves, and how many blocks it served.
#[derive(Debug)]
pub struct Repository<R> {
    rng: R,
    endpoint: Endpoint<Addr>,
    /// Objects by path (UTF-8, without leading or trailing `/`).
    objects: BTreeMap<Box<[u8]>, Published>,
    block_size: BlockSize,
    /// Scratch buffer for the Uri-Path of the request being answered.
    path_buf: Vec<u8>,
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
    /// thousands of devices fetching blocks, the state it saves is large. And every
    /// request is answered as soon as it is handled, piggybacked on its ACK, so the
    /// endpoint arms no timer for an empty ACK (`empty_ack_delay`): one would be armed and
    /// disarmed within the same call, for every block.
    pub fn new(mut config: EndpointConfig, block_size: BlockSize, mut rng: R) -> Self {
        config.dedup_requests = false;
        config.empty_ack_delay = None;
        Repository {
            endpoint: Endpoint::new(config, &mut rng),
            rng,
            objects: BTreeMap::new(),
            block_size,
            path_buf: Vec::new(),
            blocks_served: 0,
            requests_refused: 0,
        }
    }

    /// The object published at `path`.
    pub fn object(&self, path: &str) -> Option<Arc<[u8]>> {
        self.objects
            .get(path.trim_matches('/').as_bytes())
            .map(|published| Arc::clone(&published.body))
    }

    /// Publish `bytes` at `path` (shared, not copied).
    pub fn publish(&mut self, path: &str, bytes: Arc<[u8]>) {
        let path = path.trim_matches('/');
        let published = Published {
            body: bytes,
            slashes: path.bytes().filter(|&b| b == b'/').count(),
        };
        self.objects.insert(path.as_bytes().into(), published);
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
            let answer = self.answer(&request);
            // The request's buffer, done with, carries the response: no allocation, and
            // memory written moments ago.
            self.endpoint.recycle(request.into_bytes());
            // The request id is fresh from this endpoint; answering it cannot fail but for
            // an oversize reply, which the block size rules out.
            let _ = match answer {
                Answer::Refuse(code) => {
                    self.requests_refused += 1;
                    self.endpoint
                        .respond_parts(now, &mut self.rng, id, code, &[], &[])
                }
                Answer::Block { body, slice } => {
                    self.blocks_served += 1;
                    let payload = &body[slice.start..slice.end];
                    let (block, block_at) = uint_bytes(slice.value.raw());
                    let (size, size_at) = uint_bytes(u32::try_from(body.len()).unwrap_or(u32::MAX));
                    let block_opt = (BlockOption::Block2.number(), &block[block_at..]);
                    let size_opt = (BlockOption::Block2.size_number(), &size[size_at..]);
                    // Block2 (23) before Size2 (28): ascending option numbers.
                    let options: &[(u16, &[u8])] = if slice.value.num() == 0 {
                        &[block_opt, size_opt]
                    } else {
                        &[block_opt]
                    };
                    self.endpoint.respond_parts(
                        now,
                        &mut self.rng,
                        id,
                        ResponseType::Content,
                        options,
                        payload,
                    )
                }
            };
        }
    }

    /// What to answer to `request`: a refusal code, or a block of a stored object (the
    /// object shared, the block named by its range, nothing copied).
    fn answer(&mut self, request: &Message) -> Answer {
        if request.method() != Some(RequestType::Get) {
            return Answer::Refuse(ResponseType::MethodNotAllowed);
        }
        let segments = msg::join_path_into(request, &mut self.path_buf);
        // A path found whose `/` are more than the separators of the request's segments
        // was asked for with a `/` inside a segment (`a/b` for `a`, `b`): not the same
        // resource (RFC 7252 section 6.5).
        let body = match self.objects.get(self.path_buf.as_slice()) {
            Some(published) if published.slashes == segments.saturating_sub(1) => {
                Arc::clone(&published.body)
            }
            _ => return Answer::Refuse(ResponseType::NotFound),
        };
        let requested = match msg::block(request, BlockOption::Block2) {
            Ok(b) => b,
            Err(_) => return Answer::Refuse(ResponseType::BadOption),
        };
        match serve_block2(&body, requested, self.block_size) {
            Ok(slice) => {
                // `serve_block2` cuts the payload at the block's offset.
                let start = slice.value.offset() as usize;
                let slice = ServedBlock {
                    value: slice.value,
                    start,
                    end: start + slice.payload.len(),
                };
                Answer::Block { body, slice }
            }
            Err(e) => Answer::Refuse(e.response_code()),
        }
    }
}

/// A stored object.
#[derive(Debug)]
struct Published {
    body: Arc<[u8]>,
    /// The `/` in its path: one fewer than the segments of a request that names it.
    slashes: usize,
}

/// The answer to one request.
enum Answer {
    /// An error response with this code and no payload.
    Refuse(ResponseType),
    /// 2.05 Content with one block of `body`.
    Block {
        /// The whole object.
        body: Arc<[u8]>,
        /// Which block.
        slice: ServedBlock,
    },
}

/// A block of a stored object: its Block2 value and byte range.
struct ServedBlock {
    value: BlockValue,
    start: usize,
    end: usize,
}

impl<R: CryptoRng> Node for Repository<R> {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.handle_datagram_owned(now, from, bytes.to_vec());
    }

    fn handle_datagram_owned(&mut self, now: Instant, from: Addr, bytes: Vec<u8>) {
        self.endpoint.handle_datagram_owned(now, from, bytes);
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

#[cfg(test)]
mod tests {
    use coap_lite::{CoapOption, MessageClass, Packet};
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::coap::Reliability;

    const CLIENT: Addr = Addr(7);
    const REPO: Addr = Addr(3);

    /// One request from a client endpoint to a repository publishing a 3000-byte object
    /// at `fw/1/payload` in 1024-byte blocks; the response's code, Block2 and payload.
    fn ask(
        method: RequestType,
        segments: &[&[u8]],
        block: Option<u32>,
    ) -> (MessageClass, Option<BlockValue>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let object: Arc<[u8]> = (0..3000u32).map(|i| (i % 253) as u8).collect();
        let mut repo = Repository::new(
            EndpointConfig::default(),
            BlockSize::from_bytes(1024).unwrap(),
            ChaCha8Rng::seed_from_u64(2),
        );
        repo.publish("/fw/1/payload/", object);
        let mut client = Endpoint::new(EndpointConfig::default(), &mut rng);
        let mut request = Packet::new();
        request.header.code = MessageClass::Request(method);
        for s in segments {
            request.add_option(CoapOption::UriPath, s.to_vec());
        }
        if let Some(num) = block {
            let value = BlockValue::new(num, false, BlockSize::from_bytes(1024).unwrap());
            value.unwrap().write(&mut request, BlockOption::Block2);
        }
        let now = Instant::from_unix_secs(1_000);
        client
            .send_request(now, &mut rng, REPO, request, Reliability::Confirmable)
            .unwrap();
        let sent = client.poll_transmit().unwrap();
        repo.handle_datagram_owned(now, CLIENT, sent.contents);
        let reply = repo.poll_transmit().unwrap();
        client.handle_datagram_owned(now, REPO, reply.contents);
        loop {
            match client.poll_event() {
                Some(Event::ResponseReceived { response, .. }) => {
                    let block = BlockValue::read(&response, BlockOption::Block2).unwrap();
                    return (response.code(), block, response.payload().to_vec());
                }
                Some(_) => continue,
                None => panic!("no response"),
            }
        }
    }

    #[test]
    fn serves_blocks_of_a_published_object_by_its_path() {
        let (code, block, payload) = ask(RequestType::Get, &[b"fw", b"1", b"payload"], Some(2));
        assert_eq!(code, MessageClass::Response(ResponseType::Content));
        let block = block.unwrap();
        assert_eq!((block.num(), block.more()), (2, false));
        let expected: Vec<u8> = (2048..3000u32).map(|i| (i % 253) as u8).collect();
        assert_eq!(payload, expected);
        // No Block2 in the request: the first block.
        let (_, block, payload) = ask(RequestType::Get, &[b"fw", b"1", b"payload"], None);
        assert_eq!(block.map(|b| (b.num(), b.more())), Some((0, true)));
        assert_eq!(payload.len(), 1024);
    }

    #[test]
    fn refuses_unknown_paths_other_methods_and_blocks_past_the_end() {
        let not_found = MessageClass::Response(ResponseType::NotFound);
        for path in [
            &[b"fw".as_slice(), b"1"][..],
            // One segment holding slashes is not three segments.
            &[b"fw/1/payload"],
            &[b"fw/1", b"payload"],
            &[b"fw", b"1/payload"],
            &[b"fw", b"1", b"payload", b""],
            // Not UTF-8: no name can match it.
            &[b"fw", b"1", b"pay\xffload"],
        ] {
            assert_eq!(ask(RequestType::Get, path, None).0, not_found, "{path:?}");
        }
        let path: &[&[u8]] = &[b"fw", b"1", b"payload"];
        assert_eq!(
            ask(RequestType::Post, path, None).0,
            MessageClass::Response(ResponseType::MethodNotAllowed)
        );
        assert_eq!(
            ask(RequestType::Get, path, Some(3)).0,
            MessageClass::Response(ResponseType::BadOption)
        );
    }
}
