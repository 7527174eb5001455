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
