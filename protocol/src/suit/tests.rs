use super::*;
use crate::cose;
use crate::keys::PublicKey;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/suit-manifest/"
);

fn example(i: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{DIR}example{i}.signed.hex")).unwrap();
    hex::decode(text.split_whitespace().collect::<String>()).unwrap()
}

fn verify_key() -> PublicKey {
    PublicKey::from_file_bytes(&std::fs::read(format!("{DIR}verify_key.pem")).unwrap()).unwrap()
}

fn all_signatures_verify(env: &Envelope, key: &PublicKey) -> bool {
    env.digests_match()
        && env
            .signatures()
            .iter()
            .all(|s| cose::verify_sign1(&s.sign1, Some(env.signed_payload()), key))
}

#[test]
fn the_six_draft_examples_decode_and_verify() {
    let key = verify_key();
    for i in 0..6 {
        let bytes = example(i);
        let env = Envelope::decode(&bytes).unwrap_or_else(|e| panic!("example {i}: {e}"));
        assert!(all_signatures_verify(&env, &key), "example {i} must verify");
        assert_eq!(
            env.encode(),
            bytes,
            "example {i} must re-encode to the same bytes"
        );
        let m = env.manifest();
        assert_eq!(m.sequence_number, i as u64, "example {i} sequence number");
        assert_eq!(
            m.parameters.vendor_id.unwrap().to_string(),
            "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"
        );
    }
}

#[test]
fn every_changed_signature_or_manifest_byte_is_rejected() {
    let key = verify_key();
    for i in 0..6 {
        let bytes = example(i);
        let env = Envelope::decode(&bytes).unwrap();
        let sig = &env.signatures()[0].bytes;
        let sig_at = find(&bytes, sig);
        let man_at = find(&bytes, env.manifest_bytes());
        let signature_value_at = sig_at + sig.len() - 64;
        let ranges = [
            signature_value_at..sig_at + sig.len(),
            man_at..man_at + env.manifest_bytes().len(),
        ];
        for range in ranges {
            for pos in range {
                let mut tampered = bytes.clone();
                tampered[pos] ^= 0x01;
                let ok = Envelope::decode(&tampered).is_ok_and(|e| all_signatures_verify(&e, &key));
                assert!(!ok, "example {i}: flipping byte {pos} must be detected");
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("sub-slice present")
}
