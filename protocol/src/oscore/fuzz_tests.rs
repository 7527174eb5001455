//! Property tests of the OSCORE module: no input from the network makes the parsers or
//! the unprotect functions panic.

use coap_lite::{CoapOption, Packet};
use proptest::prelude::*;

use super::plaintext;
use super::tests::{pair, params, request, response, wire};
use super::*;

fn valid_messages() -> (
    SecurityContext,
    SecurityContext,
    Vec<u8>,
    Vec<u8>,
    RequestBinding,
) {
    let (mut client, mut server) = pair(AeadAlgorithm::default());
    let (req, binding) = client.protect_request(&request("fw", b"data")).unwrap();
    let (_, sb) = server.unprotect_request(&req).unwrap();
    let resp = server
        .protect_response(&response(b"ok"), &sb, ResponseNonce::Fresh)
        .unwrap();
    let server = SecurityContext::derive(&params(AeadAlgorithm::default(), &[2], &[1])).unwrap();
    (client, server, wire(&req), wire(&resp), binding)
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (mut client, mut server, _, _, binding) = valid_messages();
        let _ = OscoreOptionValue::decode(&bytes);
        let _ = plaintext::decode(&bytes);
        if let Ok(pkt) = Packet::from_bytes(&bytes) {
            let _ = server.unprotect_request(&pkt);
            let _ = client.unprotect_response(&pkt, &binding);
        }
    }

    #[test]
    fn option_decode_encode_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(v) = OscoreOptionValue::decode(&bytes) {
            prop_assert_eq!(v.encode(), bytes);
        }
    }

    /// The plaintext encoder's exact size and its decoder agree, whatever the option
    /// deltas and lengths (no extension, one byte, two bytes) and the payload.
    #[test]
    fn plaintext_encode_sizes_and_round_trips(
        steps in proptest::collection::vec((0u16..400, 0usize..300), 0..5),
        payload in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        let mut number = 0u16;
        let options: Vec<(u16, Vec<u8>)> = steps
            .iter()
            .map(|&(delta, len)| {
                // Skip the OSCORE option number, which a plaintext must not hold.
                number += delta;
                if number == 9 {
                    number += 1;
                }
                (number, vec![0xa5; len])
            })
            .collect();
        let borrowed: Vec<(u16, &[u8])> =
            options.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let encoded = plaintext::encode(0x45, &borrowed, &payload);
        prop_assert_eq!(encoded.len(), plaintext::encoded_len(&borrowed, payload.len()));
        let decoded = plaintext::decode(&encoded).unwrap();
        prop_assert_eq!(decoded.code, 0x45);
        prop_assert_eq!(decoded.options, options);
        prop_assert_eq!(decoded.payload, payload);
    }

    #[test]
    fn mutated_messages_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mut client, mut server, req, resp, binding) = valid_messages();
        for mut m in [req, resp] {
            for (idx, b) in &edits {
                let i = idx.index(m.len());
                m[i] = *b;
            }
            if truncate {
                m.truncate(cut.index(m.len() + 1));
            }
            if let Ok(pkt) = Packet::from_bytes(&m) {
                let _ = server.unprotect_request(&pkt);
                let _ = client.unprotect_response(&pkt, &binding);
                if let Some(v) = pkt.get_first_option(CoapOption::Oscore) {
                    let _ = OscoreOptionValue::decode(v);
                }
            }
        }
    }
}
