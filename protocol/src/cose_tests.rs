use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/suit-encryption/"
);
const CEK_HEX: &str = "15F785B5C931414411B4B71373A9C0F7";
const PLAINTEXT: &[u8] = b"This is a real firmware image.";

fn read_hex(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{VECTORS}{name}")).unwrap();
    hex::decode(text.split_whitespace().collect::<String>()).unwrap()
}

fn receiver_key() -> PrivateKey {
    let d =
        hex::decode("60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3").unwrap();
    PrivateKey::from_scalar(&d, None).unwrap()
}

/// The SUIT encryption draft's AES-KW example: its encryption info, the CEK unwrapped with
/// the example's key-encryption key, and the encrypted payload.
fn aes_kw_vector() -> (CoseEncrypt, Cek, Vec<u8>) {
    let info = decode_encrypt(&read_hex("suit-encryption-info-aes-kw-aes-gcm.hex")).unwrap();
    let cek = unwrap_cek(
        &info,
        RecipientKey::KeyWrap(b"aaaaaaaaaaaaaaaa"),
        SUIT_KDF_OTHER,
    )
    .unwrap();
    (info, cek, read_hex("encrypted-payload-aes-kw-aes-gcm.hex"))
}

#[test]
fn suit_encryption_vector_aes_kw_gcm_decrypts() {
    let (info, cek, ciphertext) = aes_kw_vector();
    assert_eq!(cek.as_bytes().to_vec(), hex::decode(CEK_HEX).unwrap());
    assert_eq!(
        decrypt_detached(&info, &cek, &ciphertext).unwrap(),
        PLAINTEXT
    );
}

#[test]
fn suit_encryption_vector_ecdh_es_gcm_decrypts() {
    let info = decode_encrypt(&read_hex("suit-encryption-info-es-ecdh-aes-gcm.hex")).unwrap();
    let key = receiver_key();
    let cek = unwrap_cek(&info, RecipientKey::Agreement(&key), SUIT_KDF_OTHER).unwrap();
    assert_eq!(cek.as_bytes().to_vec(), hex::decode(CEK_HEX).unwrap());
    let mut ciphertext = read_hex("encrypted-payload-es-ecdh-aes-gcm.hex");
    assert_eq!(
        decrypt_detached(&info, &cek, &ciphertext).unwrap(),
        PLAINTEXT
    );
    ciphertext[3] ^= 1;
    assert_eq!(
        decrypt_detached(&info, &cek, &ciphertext),
        Err(CoseError::Decrypt)
    );
}

#[test]
fn wrong_recipient_keys_do_not_open_the_vectors() {
    let info = decode_encrypt(&read_hex("suit-encryption-info-es-ecdh-aes-gcm.hex")).unwrap();
    let other = PrivateKey::generate(&mut ChaCha20Rng::seed_from_u64(1), None);
    assert_eq!(
        unwrap_cek(&info, RecipientKey::Agreement(&other), SUIT_KDF_OTHER),
        Err(CoseError::Decrypt)
    );
    let kw = decode_encrypt(&read_hex("suit-encryption-info-aes-kw-aes-gcm.hex")).unwrap();
    assert_eq!(
        unwrap_cek(
            &kw,
            RecipientKey::KeyWrap(b"bbbbbbbbbbbbbbbb"),
            SUIT_KDF_OTHER
        ),
        Err(CoseError::Decrypt)
    );
}

#[test]
fn encrypt_detached_round_trips_for_both_recipient_kinds() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let cek = Cek::generate(&mut rng);
    let receiver = PrivateKey::generate(&mut rng, None);
    let (info, ct) = encrypt_detached(
        &mut rng,
        &cek,
        Recipient::EcdhEsA128Kw(receiver.public_key()),
        SUIT_KDF_OTHER,
        b"firmware",
    )
    .unwrap();
    let info = decode_encrypt(&encode_encrypt(info).unwrap()).unwrap();
    let got = unwrap_cek(&info, RecipientKey::Agreement(&receiver), SUIT_KDF_OTHER).unwrap();
    assert_eq!(got, cek);
    assert_eq!(decrypt_detached(&info, &got, &ct).unwrap(), b"firmware");

    let kek = [7u8; 16];
    let (info, ct) = encrypt_detached(
        &mut rng,
        &cek,
        Recipient::A128Kw {
            kek: &kek,
            kid: b"k",
        },
        SUIT_KDF_OTHER,
        b"app",
    )
    .unwrap();
    let got = unwrap_cek(&info, RecipientKey::KeyWrap(&kek), SUIT_KDF_OTHER).unwrap();
    assert_eq!(decrypt_detached(&info, &got, &ct).unwrap(), b"app");
}

#[test]
fn kdf_context_matches_the_draft() {
    // a128kw_kdf_context.diag: [-3, [nil,nil,nil], [nil,nil,nil], [128, << {1: -29} >>, 'SUIT Payload Encryption']]
    let ctx = kdf_context(alg::A128KW, &[0xa1, 0x01, 0x38, 0x1c], Some(SUIT_KDF_OTHER));
    let mut expected =
        hex::decode("8422 83f6f6f6 83f6f6f6 83 1880 44a101381c 57".replace(' ', "")).unwrap();
    expected.extend_from_slice(SUIT_KDF_OTHER);
    assert_eq!(ctx, expected);
}

#[test]
fn sign1_detached_verifies_and_detects_changes() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let key = PrivateKey::generate(&mut rng, None);
    let sign1 = sign1_detached(&key, Header::default(), Header::default(), b"digest");
    let bytes = encode_sign1(sign1).unwrap();
    let back = decode_sign1(&bytes).unwrap();
    assert!(verify_sign1(&back, Some(b"digest"), key.public_key()));
    assert!(!verify_sign1(&back, Some(b"digesT"), key.public_key()));
    let other = PrivateKey::generate(&mut rng, None);
    assert!(!verify_sign1(&back, Some(b"digest"), other.public_key()));
}

#[test]
fn unauthenticated_decryption_is_gcm_without_the_tag_check() {
    // The SUIT vector (30 bytes: one full block and a partial one).
    let info = decode_encrypt(&read_hex("suit-encryption-info-aes-kw-aes-gcm.hex")).unwrap();
    let cek = Cek::from_slice(&hex::decode(CEK_HEX).unwrap()).unwrap();
    let mut ciphertext = read_hex("encrypted-payload-aes-kw-aes-gcm.hex");
    assert_eq!(
        danger_decrypt_detached_unauthenticated(&info, &cek, &ciphertext).unwrap(),
        PLAINTEXT
    );
    // An altered byte: the authenticated decryption fails, the unauthenticated one hands
    // back the plaintext with the same bit flipped (and ignores an altered tag).
    ciphertext[3] ^= 0x20;
    let last = ciphertext.len() - 1;
    ciphertext[last] ^= 1;
    assert_eq!(
        decrypt_detached(&info, &cek, &ciphertext),
        Err(CoseError::Decrypt)
    );
    let mut expected = PLAINTEXT.to_vec();
    expected[3] ^= 0x20;
    assert_eq!(
        danger_decrypt_detached_unauthenticated(&info, &cek, &ciphertext).unwrap(),
        expected
    );
    // Too short for a tag; another algorithm.
    assert_eq!(
        danger_decrypt_detached_unauthenticated(&info, &cek, &ciphertext[..15]),
        Err(CoseError::Decrypt)
    );
    let mut other = info.clone();
    other.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::A256GCM));
    other.protected.original_data = None;
    assert!(danger_decrypt_detached_unauthenticated(&other, &cek, &ciphertext).is_err());

    // Many blocks, with a partial last one, under a fresh key.
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let cek = Cek::generate(&mut rng);
    let plaintext: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let (info, ciphertext) = encrypt_detached(
        &mut rng,
        &cek,
        Recipient::A128Kw {
            kek: &[7; 16],
            kid: b"k",
        },
        SUIT_KDF_OTHER,
        &plaintext,
    )
    .unwrap();
    assert_eq!(
        danger_decrypt_detached_unauthenticated(&info, &cek, &ciphertext).unwrap(),
        plaintext
    );
}

/// The ciphertext as shared blocks of `size` bytes (the last one shorter).
fn in_blocks(bytes: &[u8], size: usize) -> SharedBytes {
    let mut shared = SharedBytes::new();
    for chunk in bytes.chunks(size) {
        shared.push(Arc::from(chunk));
    }
    shared
}

#[test]
fn the_draft_vector_decrypts_from_blocks_of_any_size() {
    let (info, cek, ciphertext) = aes_kw_vector();
    // Block boundaries before, inside and after the tag, and one block for all.
    for size in [1, 5, 16, 29, 30, 31, 40, ciphertext.len()] {
        let blocks = in_blocks(&ciphertext, size);
        assert_eq!(
            &decrypt_detached_shared(&info, &cek, &blocks).unwrap()[..],
            PLAINTEXT,
            "blocks of {size}"
        );
    }
    // Any flipped bit, in the body or in the tag, is refused.
    for at in [0, 13, ciphertext.len() - 16, ciphertext.len() - 1] {
        let mut altered = ciphertext.clone();
        altered[at] ^= 0x10;
        assert_eq!(
            decrypt_detached_shared(&info, &cek, &in_blocks(&altered, 7)),
            Err(CoseError::Decrypt),
            "byte {at}"
        );
    }
    // Shorter than a tag, or empty: refused, no panic.
    for len in [0, 15] {
        assert_eq!(
            decrypt_detached_shared(&info, &cek, &in_blocks(&ciphertext[..len], 4)),
            Err(CoseError::Decrypt)
        );
    }
}
