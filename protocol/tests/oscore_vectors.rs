//! RFC 8613 Appendix C test vectors: key derivation (C.1-C.3) and the exact bytes of
//! protected requests and responses (C.4-C.8), in both directions.
//!
//! The vectors do not name the sequence numbers; they are those of the RFC: the client
//! requests of C.4, C.5 and C.6 use sequence number 20, the server response with its own
//! Partial IV in C.8 uses 0.

use coap_lite::Packet;
use icsim_protocol::oscore::{
    ContextParams, PersistentOscoreState, RequestBinding, ResponseNonce, SecurityContext,
};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/oscore/rfc8613-appendix-c.json"
);

/// The client's sequence number in C.4, C.5 and C.6.
const CLIENT_SEQ: u64 = 20;

fn vector(id: u64) -> Value {
    let text = std::fs::read_to_string(VECTORS).expect("read vectors file");
    let all: Value = serde_json::from_str(&text).expect("vectors are JSON");
    all["tests"]
        .as_array()
        .expect("tests array")
        .iter()
        .find(|t| t["id"].as_u64() == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("vector {id} missing"))
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    let s = v[name]
        .as_str()
        .unwrap_or_else(|| panic!("field {name} missing"));
    hex::decode(s).unwrap_or_else(|e| panic!("field {name}: {e}"))
}

fn packet(v: &Value, name: &str) -> Packet {
    Packet::from_bytes(&hex_field(v, name)).expect("vector message parses")
}

fn bytes(p: &Packet) -> String {
    hex::encode(p.to_bytes().expect("serialize"))
}

/// The context parameters as the vector states them (the vector's own role).
fn params(v: &Value) -> ContextParams {
    let mut p = ContextParams::new(
        &hex_field(v, "master_secret"),
        &hex_field(v, "sender_id"),
        &hex_field(v, "recipient_id"),
    );
    p.master_salt = hex_field(v, "master_salt");
    let ctx = hex_field(v, "id_context");
    p.id_context = (!ctx.is_empty()).then_some(ctx);
    p
}

/// The parameters of the peer of the vector's role.
fn peer_params(v: &Value) -> ContextParams {
    let mut p = params(v);
    std::mem::swap(&mut p.sender_id, &mut p.recipient_id);
    p
}

/// A context whose next sender sequence number is `seq`.
fn at_seq(p: &ContextParams, seq: u64) -> SecurityContext {
    let state = PersistentOscoreState {
        sender_seq_high_water: seq,
        replay_high_water: 0,
    };
    SecurityContext::restore(p, &state).expect("restore")
}

fn check_keys(v: &Value, ctx: &SecurityContext) {
    assert_eq!(
        hex::encode(ctx.sender_key()),
        v["sender_key"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(ctx.recipient_key()),
        v["recipient_key"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(ctx.common_iv()),
        v["common_iv"].as_str().unwrap()
    );
}

/// Client side: protect the request with sequence number 20 and compare bytes; the server
/// unprotects it back to the original. Returns the client context, the binding and the
/// server side.
fn client_request(
    v: &Value,
) -> (
    SecurityContext,
    RequestBinding,
    SecurityContext,
    RequestBinding,
) {
    let mut client = at_seq(&params(v), CLIENT_SEQ);
    let req = packet(v, "coap_req");
    let (protected, binding) = client.protect_request(&req).expect("protect request");
    assert_eq!(bytes(&protected), v["oscore_req"].as_str().unwrap());
    assert_eq!(binding.sequence_number(), CLIENT_SEQ);
    assert_eq!(client.sender_sequence_number(), CLIENT_SEQ + 1);

    let mut server = SecurityContext::derive(&peer_params(v)).expect("derive server");
    let wire = packet(v, "oscore_req");
    let (plain, server_binding) = server.unprotect_request(&wire).expect("unprotect request");
    assert_eq!(bytes(&plain), v["coap_req"].as_str().unwrap());
    assert_eq!(server_binding, binding);
    (client, binding, server, server_binding)
}

#[test]
fn c1_1_client_with_master_salt_and_c4_c7_exchange() {
    let v = vector(1);
    let ctx = SecurityContext::derive(&params(&v)).expect("derive");
    check_keys(&v, &ctx);

    let (mut client, binding, mut server, server_binding) = client_request(&v);
    // C.7 from the server's side and back at the client.
    let resp = packet(&v, "coap_response");
    let protected = server
        .protect_response(&resp, &server_binding, ResponseNonce::Reuse)
        .expect("protect response");
    assert_eq!(bytes(&protected), v["oscore_resp"].as_str().unwrap());
    let plain = client
        .unprotect_response(&packet(&v, "oscore_resp"), &binding)
        .expect("unprotect response");
    assert_eq!(bytes(&plain), v["coap_response"].as_str().unwrap());
}

#[test]
fn c1_2_server_with_master_salt_c7_response_reusing_nonce() {
    let v = vector(2);
    let mut server = SecurityContext::derive(&params(&v)).expect("derive");
    // The server's keys are the client's of C.1.1, swapped.
    let client_vector = vector(1);
    assert_eq!(
        hex::encode(server.sender_key()),
        client_vector["recipient_key"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(server.recipient_key()),
        client_vector["sender_key"].as_str().unwrap()
    );

    let (request, binding) = server
        .unprotect_request(&packet(&v, "oscore_req"))
        .expect("unprotect request");
    assert_eq!(bytes(&request), v["coap_req"].as_str().unwrap());
    assert_eq!(binding.kid(), b"");
    assert_eq!(binding.partial_iv(), [0x14]);

    let protected = server
        .protect_response(&packet(&v, "coap_response"), &binding, ResponseNonce::Reuse)
        .expect("protect response");
    assert_eq!(bytes(&protected), v["oscore_resp"].as_str().unwrap());
    // Reusing the nonce consumes no sequence number.
    assert_eq!(server.sender_sequence_number(), 0);

    let mut client = SecurityContext::derive(&peer_params(&v)).expect("derive client");
    let plain = client
        .unprotect_response(&protected, &binding)
        .expect("unprotect response");
    assert_eq!(bytes(&plain), v["coap_response"].as_str().unwrap());
}

#[test]
fn c2_1_client_without_master_salt_c5_request() {
    let v = vector(3);
    let (_client, binding, _server, _) = client_request(&v);
    assert_eq!(binding.kid(), [0x00]);
}

#[test]
fn c2_2_server_without_master_salt_keys() {
    let v = vector(4);
    let ctx = SecurityContext::derive(&params(&v)).expect("derive");
    check_keys(&v, &ctx);
}

#[test]
fn c3_1_client_with_id_context_c6_request() {
    let v = vector(5);
    let (_client, binding, _server, server_binding) = client_request(&v);
    assert_eq!(
        binding.kid_context(),
        Some(&hex_field(&v, "id_context")[..])
    );
    assert_eq!(server_binding.kid_context(), binding.kid_context());
}

#[test]
fn c3_2_server_with_id_context_keys() {
    let v = vector(6);
    let ctx = SecurityContext::derive(&params(&v)).expect("derive");
    check_keys(&v, &ctx);
}

#[test]
fn c8_response_with_partial_iv() {
    let v = vector(7);
    let mut server = at_seq(&params(&v), 0);
    let (request, binding) = server
        .unprotect_request(&packet(&v, "oscore_req"))
        .expect("unprotect request");
    assert_eq!(
        bytes(&request),
        "44015d1f00003974396c6f63616c686f737483747631"
    );

    let protected = server
        .protect_response(&packet(&v, "coap_response"), &binding, ResponseNonce::Fresh)
        .expect("protect response");
    assert_eq!(bytes(&protected), v["oscore_res"].as_str().unwrap());
    assert_eq!(server.sender_sequence_number(), 1);

    let mut client = SecurityContext::derive(&peer_params(&v)).expect("derive client");
    let plain = client
        .unprotect_response(&packet(&v, "oscore_res"), &binding)
        .expect("unprotect response");
    assert_eq!(bytes(&plain), v["coap_response"].as_str().unwrap());
}

#[test]
fn empty_ack_is_not_protected() {
    let v = vector(8);
    let mut p = ContextParams::new(
        &hex_field(&v, "master_secret"),
        &hex_field(&v, "sender_id"),
        b"",
    );
    p.master_salt = hex_field(&v, "master_salt");
    let mut server = SecurityContext::derive(&p).expect("derive");
    let ack = packet(&v, "coap_ack");
    let binding = {
        // Any request binding will do: an Empty message is never protected.
        let mut client = SecurityContext::derive(&{
            let mut c = p.clone();
            std::mem::swap(&mut c.sender_id, &mut c.recipient_id);
            c
        })
        .expect("derive client");
        let req = Packet::from_bytes(
            &hex::decode("44015d1f00003974396c6f63616c686f737483747631").unwrap(),
        )
        .unwrap();
        client.protect_request(&req).expect("protect").1
    };
    let out = server
        .protect_response(&ack, &binding, ResponseNonce::Reuse)
        .expect("empty message passes");
    assert_eq!(bytes(&out), v["coap_ack"].as_str().unwrap());
    assert_eq!(server.sender_sequence_number(), 0);
    let back = server
        .unprotect_response(&ack, &binding)
        .expect("empty message passes");
    assert_eq!(bytes(&back), v["coap_ack"].as_str().unwrap());
}
