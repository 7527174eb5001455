//! Criterion benchmarks of the protocol's hot operations: a device verifying an approved
//! SUIT envelope (and then its 256 KiB encrypted payload), OSCORE protection of one 1 KiB
//! block in each direction, a CoAP block fetch from a repository (the exchange a fleet run
//! repeats millions of times; once with the client's buffers recycled, as a simulated
//! device does), and one device's whole update through the in-memory harness.
//!
//! Every input is deterministic: the update world is the one the `exchange` tests build
//! (fixed ChaCha20 seeds), and the OSCORE keys and payload come from a seeded ChaCha20
//! stream. Each benchmark checks that its operation succeeds, so none can quietly time an
//! error path.
//!
//! Run with `cargo bench -p icsim-protocol`; add `-- --warm-up-time 1 --measurement-time 3`
//! for a quicker pass.

#[path = "../tests/exchange_support/mod.rs"]
mod exchange_support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use icsim_protocol::coap::{
    BlockOption, BlockSize, BlockValue, CoapOption, Endpoint, EndpointConfig, Event, MessageClass,
    MessageType, Packet, Reliability, RequestType, ResponseType, uint_bytes,
};
use icsim_protocol::exchange::{Addr, Node, Outcome, Repository};
use icsim_protocol::ids::UpdateType;
use icsim_protocol::oscore::{ContextParams, ResponseNonce, SecurityContext};
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::{VerifyContext, verify_envelope, verify_payload};
use rand_core::Rng;

use exchange_support::{Options, START, build, rng, wire};

/// The block size of the harness and of the OSCORE benchmarks.
const BLOCK: usize = 1024;

/// Virtual time an update may take in the harness; a clean one needs a few minutes.
const UPDATE_LIMIT: Duration = Duration::from_secs(3600);

fn suit(c: &mut Criterion) {
    let world = build(&Options::default());
    let envelope = world.job.envelope.clone();
    let config = world.device.config();
    let installed = world.device.persistent().installed.clone();
    // What the device holds when the envelope arrives: the token of a firmware session.
    let token_types = [UpdateType::Firmware];
    let ctx = VerifyContext {
        trust_anchor: &config.trust_anchor,
        device: config.identity,
        installed: &installed,
        now: Instant::from_unix_secs(START),
        token_types: Some(&token_types),
        defences: config.defences,
    };
    let verified = verify_envelope(&envelope, &ctx)
        .result
        .expect("the approved envelope verifies");
    let (_, image) = verify_payload(
        verified.clone(),
        Some(&world.cek),
        &world.payload,
        config.defences,
    );
    assert_eq!(
        image.expect("the payload verifies").image(),
        &world.image[..],
        "the payload decrypts to the author's image"
    );

    let mut group = c.benchmark_group("suit");
    group.bench_function("verify_envelope", |b| {
        b.iter(|| {
            let verdict = verify_envelope(black_box(&envelope), black_box(&ctx));
            assert!(verdict.result.is_ok());
            verdict
        });
    });
    group.throughput(Throughput::Bytes(world.payload.len() as u64));
    group.bench_function("verify_payload_256KiB", |b| {
        b.iter_batched(
            || verified.clone(),
            |env| {
                let (log, image) = verify_payload(
                    env,
                    black_box(Some(&world.cek)),
                    black_box(&world.payload),
                    config.defences,
                );
                assert!(image.is_ok());
                (log, image)
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn oscore(c: &mut Criterion) {
    let mut r = rng(0x05c0);
    let mut secret = [0u8; 16];
    r.fill_bytes(&mut secret);
    let mut salt = [0u8; 8];
    r.fill_bytes(&mut salt);
    let mut block = vec![0u8; BLOCK];
    r.fill_bytes(&mut block);
    let params = |sender: &[u8], recipient: &[u8]| {
        let mut p = ContextParams::new(&secret, sender, recipient);
        p.master_salt = salt.to_vec();
        SecurityContext::derive(&p).expect("derive an OSCORE context")
    };
    // The UM is the client (Sender ID 0x01), the device the server (Sender ID 0x02).
    let mut client = params(&[0x01], &[0x02]);
    let server = params(&[0x02], &[0x01]);

    let request = block_request(&block);
    let response = block_response(&block);
    let (protected_request, client_binding) = client
        .protect_request(&request)
        .expect("protect the request");
    let (opened, server_binding) = server
        .clone()
        .unprotect_request(&protected_request)
        .expect("unprotect the request");
    assert_eq!(opened.payload, block);
    let protected_response = server
        .clone()
        .protect_response(&response, &server_binding, ResponseNonce::Reuse)
        .expect("protect the response");
    let opened = client
        .clone()
        .unprotect_response(&protected_response, &client_binding)
        .expect("unprotect the response");
    assert_eq!(opened.payload, block);

    let mut group = c.benchmark_group("oscore");
    group.throughput(Throughput::Bytes(BLOCK as u64));
    // Each protection takes the next sequence number, as on the wire.
    group.bench_function("protect_request_1KiB", |b| {
        b.iter(|| {
            let protected = client.protect_request(black_box(&request));
            assert!(protected.is_ok());
            protected
        });
    });
    // A fresh copy of the server each time, or the replay window would reject the second.
    group.bench_function("unprotect_request_1KiB", |b| {
        b.iter_batched_ref(
            || server.clone(),
            |server| {
                let opened = server.unprotect_request(black_box(&protected_request));
                assert!(opened.is_ok());
                opened
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("protect_response_1KiB", |b| {
        let mut server = server.clone();
        b.iter(|| {
            let protected = server.protect_response(
                black_box(&response),
                black_box(&server_binding),
                ResponseNonce::Reuse,
            );
            assert!(protected.is_ok());
            protected
        });
    });
    group.bench_function("unprotect_response_1KiB", |b| {
        let mut client = client.clone();
        b.iter(|| {
            let opened = client
                .unprotect_response(black_box(&protected_response), black_box(&client_binding));
            assert!(opened.is_ok());
            opened
        });
    });
    group.finish();
}

/// Blocks of one fetch in the CoAP benchmark, and their size (a mid-range PLC's).
const FETCH_BLOCKS: u32 = 64;
const FETCH_BLOCK: usize = 512;

/// A client endpoint fetching a 32 KiB object from a repository, block by block, as a
/// device does through its site's cache: the GET with Uri-Path and Block2 encoded from its
/// parts, the repository's piggybacked answer, and the client's bookkeeping of both. No
/// crypto and no simulator: the CoAP layers alone, whose per-exchange cost
/// `docs/performance.md` budgets.
fn coap(c: &mut Criterion) {
    let mut group = c.benchmark_group("coap");
    group.throughput(Throughput::Elements(u64::from(FETCH_BLOCKS)));
    // As a client that drops each response, and as a simulated device does: handing the
    // response's buffer back to its endpoint for the next request (`Endpoint::recycle`).
    for (name, recycle) in [
        ("block_fetch_512B", false),
        ("block_fetch_512B_recycled", true),
    ] {
        let (client_addr, repo_addr) = (Addr(1), Addr(2));
        let size = BlockSize::from_bytes(FETCH_BLOCK).expect("512 B is a block size");
        let mut client_rng = rng(11);
        let mut client = Endpoint::new(EndpointConfig::default(), &mut client_rng);
        let mut repo = Repository::new(EndpointConfig::default(), size, rng(12));
        let object: Arc<[u8]> = (0..FETCH_BLOCKS as usize * FETCH_BLOCK)
            .map(|i| (i % 251) as u8)
            .collect();
        repo.publish("fw/bench", Arc::clone(&object));
        let mut now = Instant::from_unix_secs(START);
        group.bench_function(name, |b| {
            b.iter(|| {
                for num in 0..FETCH_BLOCKS {
                    let block = BlockValue::new(num, false, size).expect("a valid block value");
                    let (block, skip) = uint_bytes(block.raw());
                    let options: [(u16, &[u8]); 3] = [
                        (u16::from(CoapOption::UriPath), b"fw"),
                        (u16::from(CoapOption::UriPath), b"bench"),
                        (BlockOption::Block2.number(), &block[skip..]),
                    ];
                    client
                        .send_request_parts(
                            now,
                            &mut client_rng,
                            repo_addr,
                            RequestType::Get,
                            &options,
                            &[],
                            Reliability::Confirmable,
                        )
                        .expect("the request fits");
                    let request = client.poll_transmit().expect("the request goes out");
                    repo.handle_datagram_owned(now, client_addr, request.contents);
                    let response = repo.poll_transmit().expect("the repository answers");
                    client.handle_datagram_owned(now, repo_addr, response.contents);
                    match client.poll_event() {
                        Some(Event::ResponseReceived { response, .. }) => {
                            let at = num as usize * FETCH_BLOCK;
                            assert_eq!(response.payload(), &object[at..at + FETCH_BLOCK]);
                            if recycle {
                                client.recycle(response.into_bytes());
                            }
                        }
                        other => panic!("expected the block, got {other:?}"),
                    }
                    now += Duration::from_millis(1);
                }
            });
        });
    }
    group.finish();
}

fn exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchange");
    // One update takes milliseconds; fewer samples keep a run within its time budget.
    group.sample_size(20);
    // The world (keys, the author's update, the operator's approval) is built outside
    // the timed part; what is timed is the exchange from the UM's start to its outcome.
    group.bench_function("one_device_update", |b| {
        b.iter_batched(
            || build(&Options::default()),
            |mut world| {
                let mut wire = wire(());
                world.run(&mut wire, UPDATE_LIMIT, |_, _| {});
                assert_eq!(world.outcome, Some(Outcome::Committed));
                assert_eq!(world.installed(), Some(7));
                world
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// A confirmable PUT carrying block 3 of a larger body, as the UM uploads an envelope.
fn block_request(block: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(RequestType::Put);
    p.header.message_id = 0x1234;
    p.set_token(vec![0xa1, 0xb2, 0xc3, 0xd4]);
    p.add_option(CoapOption::UriPath, b"update".to_vec());
    p.add_option(CoapOption::UriPath, b"envelope".to_vec());
    block_value(3, true).write(&mut p, BlockOption::Block1);
    p.payload = block.to_vec();
    p
}

/// A piggybacked 2.05 answer carrying block 3 of a larger body, as a payload is fetched.
fn block_response(block: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Acknowledgement);
    p.header.code = MessageClass::Response(ResponseType::Content);
    p.header.message_id = 0x1234;
    p.set_token(vec![0xa1, 0xb2, 0xc3, 0xd4]);
    block_value(3, true).write(&mut p, BlockOption::Block2);
    p.payload = block.to_vec();
    p
}

fn block_value(num: u32, more: bool) -> BlockValue {
    let size = BlockSize::from_bytes(BLOCK).expect("1 KiB is a block size");
    BlockValue::new(num, more, size).expect("a valid block value")
}

criterion_group!(benches, suit, oscore, coap, exchange);
criterion_main!(benches);
