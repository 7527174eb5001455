use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

#[test]
fn cose_key_round_trip_keeps_key_alg_and_kid() {
    let key = PrivateKey::generate(&mut rng(), Some(KeyAlgorithm::Es256));
    let back = PrivateKey::from_cose_key(&key.to_cose_key()).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    let public = PublicKey::from_cose_key(&key.public_key().to_cose_key()).unwrap();
    assert_eq!(&public, key.public_key());
    assert_eq!(public.kid().len(), 8);
    assert_eq!(public.algorithm(), Some(KeyAlgorithm::Es256));
}

#[test]
fn signatures_verify_only_with_the_right_key_and_message() {
    let mut rng = rng();
    let a = PrivateKey::generate(&mut rng, None);
    let b = PrivateKey::generate(&mut rng, None);
    let sig = a.sign(b"hello");
    assert!(a.public_key().verify(b"hello", &sig));
    assert!(!a.public_key().verify(b"hellO", &sig));
    assert!(!b.public_key().verify(b"hello", &sig));
    assert!(!a.public_key().verify(b"hello", &sig[..63]));
}

#[test]
fn ecdh_agrees_both_ways() {
    let mut rng = rng();
    let a = PrivateKey::generate(&mut rng, None);
    let b = PrivateKey::generate(&mut rng, None);
    assert_eq!(a.agree(b.public_key()), b.agree(a.public_key()));
}

#[test]
fn pem_keys_from_the_suit_vectors_load() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/suit-manifest/"
    );
    let private = std::fs::read(format!("{dir}signing_key.pem")).unwrap();
    let public = std::fs::read(format!("{dir}verify_key.pem")).unwrap();
    let sec1 = std::fs::read_to_string(format!("{dir}verify_key.sec1.hex")).unwrap();
    let private = PrivateKey::from_file_bytes(&private).unwrap();
    let public = PublicKey::from_file_bytes(&public).unwrap();
    assert_eq!(private.public_key(), &public);
    assert_eq!(public.to_sec1(), hex::decode(sec1.trim()).unwrap());
}

#[test]
fn a_public_key_is_not_a_private_key_and_bad_points_are_refused() {
    let key = PrivateKey::generate(&mut rng(), None);
    assert_eq!(
        PrivateKey::from_cose_key(&key.public_key().to_cose_key()).unwrap_err(),
        KeyError::NotPrivate
    );
    let bad = cbor::encode(&cbor::int_map([
        (1, Value::Integer(2.into())),
        (-1, Value::Integer(1.into())),
        (-2, Value::Bytes(vec![1; 32])),
        (-3, Value::Bytes(vec![2; 32])),
    ]));
    assert!(matches!(
        PublicKey::from_cose_key(&bad),
        Err(KeyError::Invalid(_))
    ));
    assert!(PublicKey::from_cose_key(b"\xa1\x01").is_err());
}
