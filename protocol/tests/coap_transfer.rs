//! Block-wise transfers (RFC 7959) between two endpoints over the two-node test network of
//! `coap_net.rs`, with loss, a server lowering the block size, and a malicious server.

mod coap_net;

use coap_net::*;
use icsim_protocol::coap::{
    Block1Receiver, Block1Sender, Block2Assembler, BlockError, BlockOption, BlockSize, BlockStep,
    BlockValue, Event, MessageClass, Packet, Reliability, RequestType, ResponseType, read_size,
    serve_block2, write_size,
};
use icsim_protocol::time::Instant;

/// Serves `body` with Block2 at up to `preferred` bytes per block.
fn block2_server(body: Vec<u8>, preferred: BlockSize) -> impl FnMut(&Packet) -> Packet {
    move |req| {
        let requested = BlockValue::read(req, BlockOption::Block2).expect("valid Block2");
        match serve_block2(&body, requested, preferred) {
            Ok(slice) => {
                let mut resp = response(ResponseType::Content, slice.payload);
                slice.value.write(&mut resp, BlockOption::Block2);
                write_size(&mut resp, BlockOption::Block2, body.len() as u32);
                resp
            }
            Err(e) => response(e.response_code(), b""),
        }
    }
}

/// Fetches a body block by block over the net; returns the body or the client's error.
fn fetch(
    net: &mut Net,
    size: BlockSize,
    max: usize,
    mut serve: impl FnMut(&Packet) -> Packet,
) -> Result<Vec<u8>, BlockError> {
    let mut asm = Block2Assembler::new(size, max);
    let mut first = request(RequestType::Get, "fw/image");
    asm.next_request()
        .expect("first block")
        .write(&mut first, BlockOption::Block2);
    net.send(first, Reliability::Confirmable);
    let mut error = None;
    let mut app = |addr: Addr, node: &mut Node, now: Instant, e: &Event<Addr>| match (addr, e) {
        (SERVER, Event::RequestReceived { id, request, .. }) => {
            let resp = serve(&request.to_packet());
            node.ep
                .respond(now, &mut node.rng, *id, resp)
                .expect("respond");
        }
        (CLIENT, Event::ResponseReceived { response, .. }) => {
            let block = BlockValue::read(response, BlockOption::Block2).expect("Block2");
            let size2 = read_size(response, BlockOption::Block2).expect("Size2");
            match asm.handle_response(block, size2, response.payload()) {
                Ok(BlockStep::Continue(next)) => {
                    let mut req = request(RequestType::Get, "fw/image");
                    next.write(&mut req, BlockOption::Block2);
                    node.ep
                        .send_request(now, &mut node.rng, SERVER, req, Reliability::Confirmable)
                        .expect("send");
                }
                Ok(BlockStep::Complete(_)) => {}
                Err(e) => error = Some(e),
            }
        }
        _ => {}
    };
    net.run(&mut app);
    match error {
        Some(e) => Err(e),
        None => Ok(asm.into_body().expect("complete")),
    }
}

fn firmware(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn block2_transfer_of_10000_bytes_reassembles_exactly() {
    let body = firmware(10_000);
    for (szx_bytes, blocks) in [(1024, 10), (64, 157)] {
        let size = BlockSize::from_bytes(szx_bytes).expect("size");
        let mut net = Net::new(12);
        // A lossy wire: every 7th datagram is lost and recovered by retransmission.
        net.drop_when(|d| d.index % 7 == 6);
        let got = fetch(&mut net, size, 64 * 1024, block2_server(body.clone(), size));
        assert_eq!(got.as_deref(), Ok(&body[..]), "block size {szx_bytes}");
        assert_eq!(count_requests_received(&net.events_of(SERVER)), blocks);
        assert!(net.client().ep.stats().retransmissions > 0);
        if szx_bytes == 1024 {
            // GET /fw/image + Block2 0/0/1024: header 4, token 4, Uri-Path (1 + 2, 1 + 5),
            // Block2 (1 + 1) = 19 bytes. 2.05 + Block2 0/1/1024 (2 + 1) + Size2 10000
            // (1 + 2) + marker + 1024 bytes of payload = 1039 bytes.
            assert_eq!((net.log[0].bytes.len(), net.log[1].bytes.len()), (19, 1039));
        }
    }
}

#[test]
fn block2_server_may_lower_the_block_size() {
    let body = firmware(10_000);
    let mut net = Net::new(13);
    let got = fetch(
        &mut net,
        BlockSize::MAX,
        20_000,
        block2_server(body.clone(), BlockSize::from_bytes(256).expect("size")),
    );
    assert_eq!(got.as_deref(), Ok(&body[..]));
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 40);
}

#[test]
fn block2_client_rejects_a_server_exceeding_the_maximum() {
    // A malicious server whose body never ends (M always set, no Size2).
    let endless = |req: &Packet| {
        let requested = BlockValue::read(req, BlockOption::Block2).expect("Block2");
        let size = requested.map_or(BlockSize::MAX, BlockValue::size);
        let num = requested.map_or(0, BlockValue::num);
        let mut resp = response(ResponseType::Content, &vec![0xAA; size.bytes()]);
        BlockValue::new(num, true, size)
            .expect("value")
            .write(&mut resp, BlockOption::Block2);
        resp
    };
    let mut net = Net::new(14);
    let got = fetch(&mut net, BlockSize::MAX, 4096, endless);
    assert_eq!(got, Err(BlockError::TooLarge { max: 4096 }));
    assert_eq!(
        count_requests_received(&net.events_of(SERVER)),
        5,
        "stops at the 5th block"
    );

    // A server announcing (Size2) more than the client accepts is rejected at once.
    let mut net = Net::new(15);
    let got = fetch(
        &mut net,
        BlockSize::MAX,
        4096,
        block2_server(firmware(10_000), BlockSize::MAX),
    );
    assert_eq!(got, Err(BlockError::TooLarge { max: 4096 }));
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 1);
}

#[test]
fn block1_upload_with_continue_and_a_smaller_server_size() {
    let body = firmware(10_000);
    let mut net = Net::new(16);
    let mut sender = Block1Sender::new(body.clone(), BlockSize::MAX).expect("sender");
    let mut receiver = Block1Receiver::new(BlockSize::from_bytes(256).expect("size"), 64 * 1024);
    let mut received = None;
    let first = {
        let block = sender.current().expect("block 0");
        let mut req = request(RequestType::Put, "fw/upload");
        block.value.write(&mut req, BlockOption::Block1);
        write_size(&mut req, BlockOption::Block1, body.len() as u32);
        req.payload = block.payload.to_vec();
        req
    };
    net.send(first, Reliability::Confirmable);
    let mut app = |addr: Addr, node: &mut Node, now: Instant, e: &Event<Addr>| match (addr, e) {
        (SERVER, Event::RequestReceived { id, request, .. }) => {
            let block1 = BlockValue::read(request, BlockOption::Block1)
                .expect("Block1")
                .expect("present");
            let size1 = read_size(request, BlockOption::Block1).expect("Size1");
            let resp = match receiver.handle_request(block1, size1, request.payload()) {
                Ok(BlockStep::Continue(echo)) => {
                    let mut r = response(ResponseType::Continue, b"");
                    echo.write(&mut r, BlockOption::Block1);
                    r
                }
                Ok(BlockStep::Complete(echo)) => {
                    received = Some(receiver.body().to_vec());
                    let mut r = response(ResponseType::Changed, b"");
                    echo.write(&mut r, BlockOption::Block1);
                    r
                }
                Err(e) => response(e.response_code(), b""),
            };
            node.ep
                .respond(now, &mut node.rng, *id, resp)
                .expect("respond");
        }
        (CLIENT, Event::ResponseReceived { response, .. }) => {
            let MessageClass::Response(code) = response.code() else {
                panic!("not a response");
            };
            let block1 = BlockValue::read(response, BlockOption::Block1).expect("Block1");
            if let BlockStep::Continue(_) = sender.handle_response(code, block1).expect("step") {
                let block = sender.current().expect("next block");
                let mut req = request(RequestType::Put, "fw/upload");
                block.value.write(&mut req, BlockOption::Block1);
                req.payload = block.payload.to_vec();
                node.ep
                    .send_request(now, &mut node.rng, SERVER, req, Reliability::Confirmable)
                    .expect("send");
            }
        }
        _ => {}
    };
    net.run(&mut app);
    assert!(sender.is_complete());
    assert_eq!(received.as_deref(), Some(&body[..]));
    // One 1024-byte block, then (10000 - 1024) / 256 rounded up = 36 blocks of 256.
    assert_eq!(count_requests_received(&net.events_of(SERVER)), 37);
}
