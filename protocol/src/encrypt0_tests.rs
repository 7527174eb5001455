use coset::HeaderBuilder;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

const ALGS: [ContentAlgorithm; 3] = [
    ContentAlgorithm::AesCcm16_64_128,
    ContentAlgorithm::A128Gcm,
    ContentAlgorithm::A256Gcm,
];

fn key(alg: ContentAlgorithm, byte: u8) -> SymmetricKey {
    SymmetricKey::new(alg, &vec![byte; alg.key_len()]).unwrap()
}

fn token(alg: ContentAlgorithm, aad: &[u8], kid: &[u8]) -> (SymmetricKey, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(alg.cose_id() as u64);
    let key = key(alg, 0x42);
    let iv = alg.random_iv(&mut rng);
    let msg = encrypt(
        &key,
        Iv::Full(&iv),
        Header::default(),
        HeaderBuilder::new().key_id(kid.to_vec()).build(),
        aad,
        b"cwt claims",
    )
    .unwrap();
    (key, encode(msg).unwrap())
}

#[test]
fn round_trip_for_every_algorithm() {
    for alg in ALGS {
        let (key, bytes) = token(alg, b"aad", b"dev-7");
        let msg = decode(&bytes).unwrap();
        assert_eq!(msg.unprotected.key_id, b"dev-7");
        assert_eq!(msg.unprotected.iv.len(), alg.nonce_len());
        assert_eq!(
            msg.ciphertext.as_ref().unwrap().len(),
            b"cwt claims".len() + alg.tag_len()
        );
        assert_eq!(decrypt(&msg, &key, None, b"aad").unwrap(), b"cwt claims");
        // Untagged encoding decodes to the same structure.
        let untagged = encode_untagged(msg.clone()).unwrap();
        assert_eq!(decode(&untagged).unwrap(), msg);
    }
}

#[test]
fn any_altered_byte_is_rejected() {
    for alg in ALGS {
        // No `kid`: it is unprotected by design, so altering it is not detected.
        let (key, bytes) = token(alg, b"", b"");
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let outcome = decode(&altered).and_then(|m| decrypt(&m, &key, None, b""));
            assert!(
                outcome.is_err(),
                "{alg:?}: flipping byte {i} went unnoticed"
            );
        }
    }
}

#[test]
fn tampered_ciphertext_and_tag_fail_to_decrypt() {
    let (key, bytes) = token(ContentAlgorithm::AesCcm16_64_128, b"", b"k");
    let mut msg = decode(&bytes).unwrap();
    let ct = msg.ciphertext.as_mut().unwrap();
    let last = ct.len() - 1;
    ct[last] ^= 0x80;
    assert_eq!(decrypt(&msg, &key, None, b""), Err(CoseError::Decrypt));
    msg.ciphertext = Some(vec![0u8; 7]);
    assert_eq!(decrypt(&msg, &key, None, b""), Err(CoseError::Decrypt));
}

#[test]
fn wrong_key_and_wrong_external_aad_are_rejected() {
    for alg in ALGS {
        let (_, bytes) = token(alg, b"aad", b"k");
        let msg = decode(&bytes).unwrap();
        assert_eq!(
            decrypt(&msg, &key(alg, 0x43), None, b"aad"),
            Err(CoseError::Decrypt)
        );
        assert_eq!(
            decrypt(&msg, &key(alg, 0x42), None, b"aaD"),
            Err(CoseError::Decrypt)
        );
    }
}

#[test]
fn key_of_another_algorithm_is_refused_before_decrypting() {
    let (_, bytes) = token(ContentAlgorithm::AesCcm16_64_128, b"", b"k");
    let msg = decode(&bytes).unwrap();
    assert_eq!(
        decrypt(&msg, &key(ContentAlgorithm::A128Gcm, 0x42), None, b""),
        Err(CoseError::Header("alg does not match the key"))
    );
}

#[test]
fn partial_iv_round_trip_needs_the_context_iv() {
    let alg = ContentAlgorithm::AesCcm16_64_128;
    let key = key(alg, 9);
    let context_iv = [0xA5u8; 13];
    let msg = encrypt(
        &key,
        Iv::Partial {
            context_iv: &context_iv,
            partial_iv: &[0x01, 0x02],
        },
        Header::default(),
        Header::default(),
        b"",
        b"x",
    )
    .unwrap();
    assert_eq!(msg.unprotected.partial_iv, [0x01, 0x02]);
    assert!(msg.unprotected.iv.is_empty());
    let msg = decode(&encode(msg).unwrap()).unwrap();
    assert_eq!(decrypt(&msg, &key, Some(&context_iv), b"").unwrap(), b"x");
    assert_eq!(
        decrypt(&msg, &key, None, b""),
        Err(CoseError::Header("Partial IV without a context IV"))
    );
    let other_context = [0x5Au8; 13];
    assert_eq!(
        decrypt(&msg, &key, Some(&other_context), b""),
        Err(CoseError::Decrypt)
    );
}

#[test]
fn full_iv_xors_the_left_padded_partial_iv() {
    let nonce = full_iv(&[0xFF; 4], &[0x0F, 0xF0]).unwrap();
    assert_eq!(nonce, [0xFF, 0xFF, 0xF0, 0x0F]);
    assert!(full_iv(&[0; 4], &[]).is_err());
    assert!(full_iv(&[0; 4], &[0; 5]).is_err());
}

#[test]
fn bad_parameters_are_refused() {
    let alg = ContentAlgorithm::A128Gcm;
    let k = key(alg, 1);
    assert!(matches!(
        SymmetricKey::new(alg, &[0; 15]),
        Err(CoseError::Malformed(_))
    ));
    // IV of the wrong length.
    assert_eq!(
        encrypt(
            &k,
            Iv::Full(&[0; 13]),
            Header::default(),
            Header::default(),
            b"",
            b""
        ),
        Err(CoseError::Header("IV length does not match the algorithm"))
    );
    // A protected alg that contradicts the key.
    let protected = HeaderBuilder::new()
        .algorithm(coset::iana::Algorithm::A256GCM)
        .build();
    assert!(
        encrypt(
            &k,
            Iv::Full(&[0; 12]),
            protected,
            Header::default(),
            b"",
            b""
        )
        .is_err()
    );
    // A message with no IV at all.
    let mut msg = encrypt(
        &k,
        Iv::Full(&[0; 12]),
        Header::default(),
        Header::default(),
        b"",
        b"",
    )
    .unwrap();
    msg.unprotected.iv.clear();
    assert_eq!(
        decrypt(&msg, &k, None, b""),
        Err(CoseError::Header("neither IV nor Partial IV"))
    );
    // Detached ciphertext.
    msg.unprotected.iv = vec![0; 12];
    msg.ciphertext = None;
    assert!(matches!(
        decrypt(&msg, &k, None, b""),
        Err(CoseError::Header(_))
    ));
}

#[test]
fn alg_in_both_buckets_or_crit_is_refused() {
    let alg = ContentAlgorithm::A128Gcm;
    let k = key(alg, 1);
    let mut msg = encrypt(
        &k,
        Iv::Full(&[3; 12]),
        Header::default(),
        Header::default(),
        b"",
        b"p",
    )
    .unwrap();
    msg.unprotected.alg = msg.protected.header.alg.clone();
    assert!(matches!(
        decrypt(&msg, &k, None, b""),
        Err(CoseError::Header(_))
    ));
    msg.unprotected.alg = None;
    msg.protected.header.crit = vec![coset::RegisteredLabelWithPrivate::PrivateUse(-70000)];
    msg.protected.original_data = None;
    assert_eq!(
        decrypt(&msg, &k, None, b""),
        Err(CoseError::Header(
            "critical header parameters are not supported"
        ))
    );
}

#[test]
fn other_tags_and_trailing_bytes_do_not_decode() {
    let (_, mut bytes) = token(ContentAlgorithm::A128Gcm, b"", b"k");
    bytes.push(0);
    assert!(matches!(decode(&bytes), Err(CoseError::Malformed(_))));
    bytes.pop();
    bytes[0] = 0xD1; // tag 17 (COSE_Mac0)
    assert!(matches!(decode(&bytes), Err(CoseError::Malformed(_))));
}

#[test]
fn debug_output_hides_the_key() {
    let k = key(ContentAlgorithm::A128Gcm, 0xAB);
    assert_eq!(format!("{k:?}"), "SymmetricKey { alg: A128Gcm, .. }");
}

proptest::proptest! {
    #[test]
    fn any_plaintext_and_aad_round_trip(
        plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        aad in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        iv in proptest::array::uniform13(proptest::num::u8::ANY),
    ) {
        let k = key(ContentAlgorithm::AesCcm16_64_128, 7);
        let msg = encrypt(&k, Iv::Full(&iv), Header::default(), Header::default(), &aad, &plaintext)
            .unwrap();
        let msg = decode(&encode(msg).unwrap()).unwrap();
        proptest::prop_assert_eq!(decrypt(&msg, &k, None, &aad).unwrap(), plaintext);
    }
}
