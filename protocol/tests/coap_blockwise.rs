//! Block-wise transfer helpers (RFC 7959) on option values and payloads, without a wire.

use icsim_protocol::coap::{
    Block1Receiver, Block1Sender, Block2Assembler, BlockError, BlockOption, BlockSize, BlockStep,
    BlockValue, CoapOption, Packet, ResponseType, read_size, serve_block2, write_size,
};
use proptest::prelude::*;

fn size(bytes: usize) -> BlockSize {
    BlockSize::from_bytes(bytes).expect("valid size")
}

fn value(num: u32, more: bool, bytes: usize) -> BlockValue {
    BlockValue::new(num, more, size(bytes)).expect("valid value")
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn option_value_encoding() {
    // (NUM, M, size) <-> the option bytes of RFC 7959 section 2.2.
    let vectors: [(&[u8], u32, bool, usize); 6] = [
        (&[], 0, false, 16),
        (&[0x02], 0, false, 64),
        (&[0x1E], 1, true, 1024),
        (&[0x0A, 0x0E], 160, true, 1024),
        (&[0x0F, 0xFF, 0xF6], 0xFFFF, false, 1024),
        (&[0xFF, 0xFF, 0xFE], BlockValue::MAX_NUM, true, 1024),
    ];
    for (bytes, num, more, len) in vectors {
        let v = BlockValue::decode(bytes).expect("decodes");
        assert_eq!(
            (v.num(), v.more(), v.size().bytes()),
            (num, more, len),
            "{bytes:02x?}"
        );
        assert_eq!(v.encode(), bytes);
    }
    assert_eq!(value(3, false, 256).offset(), 768);
    assert_eq!(BlockValue::decode(&[0x07]), Err(BlockError::ReservedSzx));
    assert_eq!(
        BlockValue::decode(&[0, 0, 0, 0]),
        Err(BlockError::InvalidOption)
    );
    assert_eq!(
        BlockValue::new(BlockValue::MAX_NUM + 1, false, BlockSize::MIN),
        Err(BlockError::NumTooLarge)
    );
}

#[test]
fn block_sizes() {
    assert_eq!(BlockSize::from_szx(6).map(BlockSize::bytes), Ok(1024));
    assert_eq!(BlockSize::from_szx(7), Err(BlockError::ReservedSzx));
    assert_eq!(
        BlockSize::from_bytes(100),
        Err(BlockError::InvalidSize(100))
    );
    assert_eq!(size(16), BlockSize::MIN);
    assert_eq!(size(1024), BlockSize::MAX);
    // IPv6 minimum MTU minus IPv6/UDP headers and CoAP/OSCORE overhead.
    assert_eq!(BlockSize::for_mtu(1280, 48 + 60), Some(size(1024)));
    assert_eq!(BlockSize::for_mtu(1024 + 30, 30), Some(size(1024)));
    assert_eq!(BlockSize::for_mtu(1024 + 29, 30), Some(size(512)));
    assert_eq!(BlockSize::for_mtu(127, 40), Some(size(64)));
    assert_eq!(
        BlockSize::for_mtu(4096, 0),
        Some(size(1024)),
        "capped at 1024"
    );
    assert_eq!(BlockSize::for_mtu(50, 40), None);
    assert_eq!(BlockSize::for_mtu(10, 40), None);
}

#[test]
fn options_on_a_packet() {
    let mut p = Packet::new();
    assert_eq!(BlockValue::read(&p, BlockOption::Block2), Ok(None));
    value(5, true, 64).write(&mut p, BlockOption::Block2);
    value(6, false, 64).write(&mut p, BlockOption::Block2);
    write_size(&mut p, BlockOption::Block2, 10_000);
    assert_eq!(
        BlockValue::read(&p, BlockOption::Block2),
        Ok(Some(value(6, false, 64)))
    );
    assert_eq!(BlockValue::read(&p, BlockOption::Block1), Ok(None));
    assert_eq!(read_size(&p, BlockOption::Block2), Ok(Some(10_000)));
    assert_eq!(BlockOption::Block1.number(), 27);
    assert_eq!(BlockOption::Block2.size_number(), 28);
    p.add_option(CoapOption::Block2, vec![0x10]);
    assert_eq!(
        BlockValue::read(&p, BlockOption::Block2),
        Err(BlockError::RepeatedOption)
    );
    p.add_option(CoapOption::Size1, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        read_size(&p, BlockOption::Block1),
        Err(BlockError::InvalidOption)
    );
}

#[test]
fn block2_server_serves_blocks_and_rejects_out_of_range() {
    let data = body(10_000);
    let first = serve_block2(&data, None, BlockSize::MAX).expect("block 0");
    assert_eq!(
        (first.value, first.payload),
        (value(0, true, 1024), &data[..1024])
    );
    let last = serve_block2(&data, Some(value(9, false, 1024)), BlockSize::MAX).expect("last");
    assert_eq!(
        (last.value, last.payload.len()),
        (value(9, false, 1024), 784)
    );
    let beyond = serve_block2(&data, Some(value(10, false, 1024)), BlockSize::MAX);
    assert_eq!(
        beyond,
        Err(BlockError::OutOfRange {
            offset: 10_240,
            len: 10_000
        })
    );
    assert_eq!(beyond.unwrap_err().response_code(), ResponseType::BadOption);
    // A server preferring smaller blocks keeps the requested offset.
    let smaller = serve_block2(&data, Some(value(2, false, 1024)), size(64)).expect("block");
    assert_eq!(
        (smaller.value, smaller.payload),
        (value(32, true, 64), &data[2048..2112])
    );
    // A client asking for smaller blocks gets them.
    let asked = serve_block2(&data, Some(value(1, false, 16)), BlockSize::MAX).expect("block");
    assert_eq!(asked.value, value(1, true, 16));
    // Exact multiple: the last block has M clear; the next one does not exist.
    let even = body(2048);
    assert!(
        !serve_block2(&even, Some(value(1, false, 1024)), BlockSize::MAX)
            .expect("b")
            .value
            .more()
    );
    assert!(serve_block2(&even, Some(value(2, false, 1024)), BlockSize::MAX).is_err());
    // An empty body is one empty block.
    let empty = serve_block2(&[], None, BlockSize::MAX).expect("empty");
    assert_eq!(
        (empty.value, empty.payload.len()),
        (value(0, false, 1024), 0)
    );
}

/// Fetches `data` through a `Block2Assembler` and `serve_block2`, in memory.
fn fetch(
    data: &[u8],
    client: BlockSize,
    server: BlockSize,
    max: usize,
) -> Result<(Vec<u8>, usize), BlockError> {
    let mut asm = Block2Assembler::new(client, max);
    let mut exchanges = 0;
    while let Some(req) = asm.next_request() {
        exchanges += 1;
        let slice = serve_block2(data, Some(req), server)?;
        asm.handle_response(Some(slice.value), Some(data.len() as u64), slice.payload)?;
    }
    Ok((asm.into_body().expect("complete"), exchanges))
}

#[test]
fn block2_reassembles_10000_bytes_at_1024_and_64() {
    let data = body(10_000);
    assert_eq!(
        fetch(&data, size(1024), size(1024), 10_000),
        Ok((data.clone(), 10))
    );
    assert_eq!(
        fetch(&data, size(64), size(1024), 10_000),
        Ok((data.clone(), 157))
    );
    assert_eq!(
        fetch(&data, size(1024), size(64), 10_000),
        Ok((data.clone(), 157))
    );
    assert_eq!(
        fetch(&data, size(1024), size(1024), 9_999),
        Err(BlockError::TooLarge { max: 9_999 })
    );
}

#[test]
fn block2_client_checks_order_sizes_and_announcements() {
    let mut asm = Block2Assembler::new(size(64), 1000);
    assert_eq!(
        asm.handle_response(Some(value(1, true, 64)), None, &[0; 64]),
        Err(BlockError::UnexpectedBlock {
            expected: 0,
            got: 64
        })
    );
    assert_eq!(
        asm.handle_response(Some(value(0, true, 128)), None, &[0; 128]),
        Err(BlockError::SizeIncreased)
    );
    assert_eq!(
        asm.handle_response(Some(value(0, true, 64)), None, &[0; 63]),
        Err(BlockError::SizeMismatch)
    );
    assert_eq!(
        asm.handle_response(Some(value(0, false, 64)), None, &[0; 65]),
        Err(BlockError::SizeMismatch)
    );
    assert_eq!(
        asm.handle_response(Some(value(0, true, 64)), Some(1001), &[0; 64]),
        Err(BlockError::TooLarge { max: 1000 })
    );
    // The server lowers the size on the first block; the client follows.
    assert_eq!(
        asm.handle_response(Some(value(0, true, 32)), Some(100), &[1; 32]),
        Ok(BlockStep::Continue(value(1, false, 32)))
    );
    assert_eq!(asm.next_request(), Some(value(1, false, 32)));
    assert_eq!(
        asm.handle_response(Some(value(1, true, 32)), Some(99), &[2; 32]),
        Err(BlockError::AnnouncedSizeMismatch),
        "Size2 changed"
    );
    assert_eq!(
        asm.handle_response(Some(value(1, false, 32)), Some(100), &[2; 20]),
        Err(BlockError::AnnouncedSizeMismatch),
        "ends short of Size2"
    );
    asm.handle_response(Some(value(1, true, 32)), None, &[2; 32])
        .expect("block 1");
    asm.handle_response(Some(value(2, true, 32)), None, &[3; 32])
        .expect("block 2");
    assert_eq!(
        asm.handle_response(Some(value(3, true, 32)), None, &[4; 32]),
        Err(BlockError::AnnouncedSizeMismatch),
        "beyond Size2"
    );
    assert_eq!(
        asm.handle_response(None, None, &[4; 4]),
        Err(BlockError::MissingOption)
    );
    assert!(!asm.is_complete());
    assert_eq!(
        asm.handle_response(Some(value(3, false, 32)), None, &[4; 4]),
        Ok(BlockStep::Complete(value(3, false, 32)))
    );
    assert_eq!(asm.next_request(), None);
    assert_eq!(
        asm.handle_response(Some(value(3, false, 32)), None, &[]),
        Err(BlockError::AlreadyComplete)
    );
    assert_eq!(asm.body().len(), 100);

    // A server without block-wise support answers the first request whole.
    let mut asm = Block2Assembler::new(size(64), 100);
    assert_eq!(
        asm.clone().handle_response(None, None, &[0; 101]),
        Err(BlockError::TooLarge { max: 100 })
    );
    assert!(matches!(
        asm.handle_response(None, None, &[9; 100]),
        Ok(BlockStep::Complete(_))
    ));
    assert_eq!(asm.into_body(), Some(vec![9; 100]));
    assert_eq!(Block2Assembler::new(size(64), 100).into_body(), None);
}

/// Uploads `data` through a `Block1Sender` and a `Block1Receiver`, in memory.
fn upload(
    data: &[u8],
    client: BlockSize,
    server: BlockSize,
    max: usize,
) -> Result<(Vec<u8>, usize), BlockError> {
    let mut sender = Block1Sender::new(data.to_vec(), client)?;
    let mut receiver = Block1Receiver::new(server, max);
    let mut exchanges = 0;
    while let Some(block) = sender.current() {
        exchanges += 1;
        let size1 = (block.value.num() == 0).then_some(data.len() as u64);
        let (code, echo) = match receiver.handle_request(block.value, size1, block.payload) {
            Ok(BlockStep::Continue(echo)) => (ResponseType::Continue, Some(echo)),
            Ok(BlockStep::Complete(echo)) => (ResponseType::Changed, Some(echo)),
            Err(e) => (e.response_code(), None),
        };
        sender.handle_response(code, echo)?;
    }
    assert!(sender.is_complete() && receiver.is_complete());
    Ok((receiver.into_body().expect("complete"), exchanges))
}

#[test]
fn block1_reassembles_10000_bytes() {
    let data = body(10_000);
    assert_eq!(
        upload(&data, size(1024), size(1024), 20_000),
        Ok((data.clone(), 10))
    );
    assert_eq!(
        upload(&data, size(64), size(1024), 20_000),
        Ok((data.clone(), 157))
    );
    // RFC 7959 figure 7: the server takes the first 1024 bytes and asks for 64 after that.
    assert_eq!(
        upload(&data, size(1024), size(64), 20_000),
        Ok((data.clone(), 1 + 141))
    );
    assert_eq!(
        upload(&data, size(1024), size(1024), 5_000),
        Err(BlockError::Rejected(0x8D)),
        "4.13 Request Entity Too Large, announced by Size1"
    );
    assert_eq!(upload(&[], size(64), size(64), 10), Ok((vec![], 1)));
}

#[test]
fn block1_server_rejects_gaps_and_oversize() {
    let mut rx = Block1Receiver::new(size(1024), 100);
    let err = rx
        .handle_request(value(1, true, 64), None, &[0; 64])
        .unwrap_err();
    assert_eq!(
        err,
        BlockError::UnexpectedBlock {
            expected: 0,
            got: 64
        }
    );
    assert_eq!(err.response_code(), ResponseType::RequestEntityIncomplete);
    assert_eq!(
        rx.handle_request(value(0, true, 64), None, &[0; 60]),
        Err(BlockError::SizeMismatch)
    );
    assert_eq!(
        rx.handle_request(value(0, true, 64), None, &[0; 64]),
        Ok(BlockStep::Continue(value(0, true, 64)))
    );
    let err = rx
        .handle_request(value(1, true, 64), None, &[0; 64])
        .unwrap_err();
    assert_eq!(err, BlockError::TooLarge { max: 100 });
    assert_eq!(err.response_code(), ResponseType::RequestEntityTooLarge);
    assert_eq!(rx.body().len(), 64);
    assert!(rx.into_body().is_none());
}

#[test]
fn block1_client_follows_413_and_rejects_bad_echoes() {
    let data = body(300);
    let mut tx = Block1Sender::new(data.clone(), size(256)).expect("sender");
    // 4.13 on the first block with a smaller size: restart at that size.
    assert_eq!(
        tx.handle_response(
            ResponseType::RequestEntityTooLarge,
            Some(value(0, false, 64))
        ),
        Ok(BlockStep::Continue(value(0, true, 64)))
    );
    assert_eq!(tx.current().expect("block").payload, &data[..64]);
    assert_eq!(
        tx.handle_response(ResponseType::Continue, Some(value(1, true, 64))),
        Err(BlockError::UnexpectedBlock {
            expected: 0,
            got: 64
        })
    );
    assert_eq!(
        tx.handle_response(ResponseType::Continue, None),
        Err(BlockError::MissingOption)
    );
    assert_eq!(
        tx.handle_response(ResponseType::Continue, Some(value(0, true, 128))),
        Err(BlockError::SizeIncreased)
    );
    assert_eq!(
        tx.handle_response(ResponseType::Changed, None),
        Err(BlockError::PrematureResponse)
    );
    assert_eq!(
        tx.handle_response(ResponseType::BadRequest, None),
        Err(BlockError::Rejected(0x80))
    );
    assert_eq!(
        tx.handle_response(ResponseType::Continue, Some(value(0, true, 64))),
        Ok(BlockStep::Continue(value(1, true, 64)))
    );
    // A 4.13 after the first block is final.
    assert_eq!(
        tx.handle_response(
            ResponseType::RequestEntityTooLarge,
            Some(value(1, false, 16))
        ),
        Err(BlockError::Rejected(0x8D))
    );
}

proptest! {
    #[test]
    fn option_decoder_never_panics_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..6)) {
        if let Ok(v) = BlockValue::decode(&bytes) {
            prop_assert!(bytes.len() <= 3);
            prop_assert_eq!(BlockValue::decode(&v.encode()), Ok(v));
            prop_assert!(v.encode().len() <= bytes.len());
        }
    }

    #[test]
    fn hostile_block2_responses_never_panic_or_overflow(
        steps in prop::collection::vec((any::<u32>(), any::<bool>(), 0u8..8, 0usize..1100, prop::option::of(any::<u64>())), 1..40)
    ) {
        let mut asm = Block2Assembler::new(BlockSize::MAX, 3000);
        for (num, more, szx, len, size2) in steps {
            let block = BlockSize::from_szx(szx).and_then(|s| BlockValue::new(num & 0xFFFFF, more, s)).ok();
            let _ = asm.handle_response(block, size2, &vec![0u8; len]);
            prop_assert!(asm.body().len() <= 3000);
        }
    }

    #[test]
    fn hostile_block1_requests_never_panic_or_overflow(
        steps in prop::collection::vec((0u32..64, any::<bool>(), 0u8..7, 0usize..1100), 1..40)
    ) {
        let mut rx = Block1Receiver::new(BlockSize::MAX, 2000);
        for (num, more, szx, len) in steps {
            let block = BlockValue::new(num, more, BlockSize::from_szx(szx).expect("szx")).expect("value");
            let _ = rx.handle_request(block, None, &vec![0u8; len]);
            prop_assert!(rx.body().len() <= 2000);
        }
    }

    #[test]
    fn serve_and_fetch_any_body(len in 0usize..5000, client in 0u8..7, server in 0u8..7) {
        let data = body(len);
        let (c, s) = (BlockSize::from_szx(client).expect("szx"), BlockSize::from_szx(server).expect("szx"));
        let (got, _) = fetch(&data, c, s, 5000).expect("fetch");
        prop_assert_eq!(got, data.clone());
        let (got, _) = upload(&data, c, s, 5000).expect("upload");
        prop_assert_eq!(got, data);
    }
}
