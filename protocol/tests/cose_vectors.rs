//! The COSE working group's examples (github.com/cose-wg/Examples, in
//! `shared/vectors/cose/`) against this crate's COSE code: `keys`, `cose` and `encrypt0`.
//!
//! Every folder has one test. It names each file it checks and each file it skips (with the
//! reason), and fails if the folder holds anything else or lacks a named file, so a vector
//! added, removed or silently not run shows up as a failure.
//!
//! A vector is "checked" when the test asserts real values from it: decrypted plaintext,
//! exact CBOR output of a re-encryption, a verified signature, a derived key, or a specific
//! rejection of a `fail` vector.

use std::collections::BTreeSet;

use ciborium::Value;
use coset::{
    AsCborValue, CoseEncryptBuilder, CoseRecipientBuilder, CoseSign, EncryptionContext, Header,
    HeaderBuilder, ProtectedHeader, TaggedCborSerializable, iana,
};
use hkdf::Hkdf;
use icsim_protocol::cose::{self, Cek, CoseError, RecipientKey, alg};
use icsim_protocol::encrypt0::{self, ContentAlgorithm, Iv, SymmetricKey};
use icsim_protocol::keys::{PrivateKey, PublicKey};
use serde_json::Value as Json;
use sha2::Sha256;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/cose/");

/// COSE `alg` of "direct" (RFC 9052 section 8.5.1).
const ALG_DIRECT: i64 = -6;

// ---------------------------------------------------------------------------------------
// The tests, one per folder.
// ---------------------------------------------------------------------------------------

#[test]
fn sign1_tests() {
    let checked = [
        "sign-fail-01.json",
        "sign-fail-02.json",
        "sign-fail-03.json",
        "sign-fail-04.json",
        "sign-fail-06.json",
        "sign-fail-07.json",
        "sign-pass-01.json",
        "sign-pass-02.json",
        "sign-pass-03.json",
    ];
    run_folder("sign1-tests", &checked, &[], check_sign1);
}

#[test]
fn ecdsa_examples() {
    let checked = [
        // COSE_Sign with one ES256 signer: verified through coset's CoseSign.
        "ecdsa-01.json",
        // COSE_Sign1, ES256.
        "ecdsa-sig-01.json",
        // COSE_Sign1 over P-256 with ES512 (SHA-512): valid, but this crate implements only
        // ES256, so the check is that `verify_sign1` refuses it for its algorithm.
        "ecdsa-sig-04.json",
    ];
    let skipped = [
        ("ecdsa-02.json", "P-384 (ES384) is not implemented"),
        ("ecdsa-03.json", "P-521 (ES512) is not implemented"),
        ("ecdsa-sig-02.json", "P-384 (ES384) is not implemented"),
        ("ecdsa-sig-03.json", "P-521 (ES512) is not implemented"),
        (
            "ecdsa-04.json",
            "ES512 over P-256 in a COSE_Sign: SHA-512 ECDSA is not implemented",
        ),
    ];
    run_folder("ecdsa-examples", &checked, &skipped, |name, v| match name {
        "ecdsa-01.json" => check_cose_sign_es256(v),
        "ecdsa-sig-04.json" => {
            let sign1 = cose::decode_sign1(&output_cbor(v)).unwrap();
            assert_eq!(cose::header_alg(&sign1.protected.header), Some(-36));
            assert!(!cose::verify_sign1(
                &sign1,
                None,
                &public_key(&v["input"]["sign0"]["key"])
            ));
        }
        _ => check_sign1(name, v),
    });
}

#[test]
fn aes_gcm_examples() {
    let checked = [
        "aes-gcm-01.json",
        "aes-gcm-03.json",
        "aes-gcm-04.json",
        "aes-gcm-05.json",
        "aes-gcm-enc-01.json",
        "aes-gcm-enc-03.json",
        "aes-gcm-enc-04.json",
    ];
    let skipped = [
        ("aes-gcm-02.json", "A192GCM is not implemented"),
        ("aes-gcm-enc-02.json", "A192GCM is not implemented"),
    ];
    run_folder("aes-gcm-examples", &checked, &skipped, |name, v| {
        if name.starts_with("aes-gcm-enc-") {
            check_encrypt0(name, v);
        } else {
            check_direct_encrypt(name, v);
        }
    });
}

#[test]
fn aes_ccm_examples() {
    let checked = ["aes-ccm-01.json", "aes-ccm-enc-01.json"];
    let skipped = [
        (
            "aes-ccm-0",
            "only AES-CCM-16-64-128 (COSE 10) is implemented; 02-08 are other CCM variants",
        ),
        (
            "aes-ccm-enc-0",
            "only AES-CCM-16-64-128 (COSE 10) is implemented; 02-08 are other CCM variants",
        ),
    ];
    run_folder("aes-ccm-examples", &checked, &skipped, |name, v| {
        if name.starts_with("aes-ccm-enc-") {
            check_encrypt0(name, v);
        } else {
            check_direct_encrypt(name, v);
        }
    });
}

#[test]
fn encrypted_tests() {
    let checked = [
        "aes-gcm-01.json",
        "enc-fail-01.json",
        "enc-fail-02.json",
        "enc-fail-03.json",
        "enc-fail-04.json",
        "enc-fail-06.json",
        "enc-fail-07.json",
        "enc-pass-01.json",
        "enc-pass-02.json",
        "enc-pass-03.json",
    ];
    run_folder("encrypted-tests", &checked, &[], check_encrypt0);
}

#[test]
fn aes_wrap_examples() {
    let checked = [
        // COSE_Mac with an A128KW recipient: the CEK is unwrapped and re-wrapped; the MAC
        // algorithms (AES-MAC, HS512) are not implemented, so the MAC is not checked.
        "aes-wrap-128-01.json",
        "aes-wrap-128-02.json",
        "aes-wrap-128-03.json",
        // COSE_Encrypt, A128GCM content: unwrap, decrypt, and rebuild the exact output.
        "aes-wrap-128-04.json",
        // COSE_Encrypt, A192GCM content: the CEK is unwrapped and re-wrapped only.
        "aes-wrap-128-05.json",
    ];
    let skipped = [
        ("aes-wrap-192-", "A192KW is not implemented"),
        ("aes-wrap-256-", "A256KW is not implemented"),
    ];
    run_folder("aes-wrap-examples", &checked, &skipped, |_, v| {
        check_aes_wrap(v)
    });
}

#[test]
fn ecdh_wrap_examples() {
    let checked = [
        "p256-wrap-128-01.json",
        "p256-wrap-128-02.json",
        "p256-wrap-128-03.json",
    ];
    let skipped = [
        ("p256-ss-", "ECDH-SS (static-static) is not implemented"),
        ("p256-wrap-192-", "ECDH-ES + A192KW is not implemented"),
        ("p256-wrap-256-", "ECDH-ES + A256KW is not implemented"),
        ("p521-", "P-521 is not implemented"),
    ];
    run_folder("ecdh-wrap-examples", &checked, &skipped, |_, v| {
        check_ecdh_es_a128kw(v)
    });
}

#[test]
fn cwt_examples() {
    let checked = ["A_3.json", "A_5.json", "A_6.json"];
    let skipped = [
        ("A_4.json", "COSE_Mac0 (HMAC 256/64) is not implemented"),
        ("A_7.json", "COSE_Mac0 (HMAC 256/64) is not implemented"),
    ];
    run_folder("CWT", &checked, &skipped, |name, v| match name {
        "A_3.json" => check_sign1(name, v),
        "A_5.json" => check_encrypt0(name, v),
        "A_6.json" => {
            // Signed, then encrypted: the plaintext is the signed CWT of A.3.
            check_encrypt0(name, v);
            let a3 = load("CWT", "A_3.json");
            let signed = input_plaintext(&v["input"]);
            assert_eq!(signed, output_cbor(&a3));
            let sign1 = cose::decode_sign1(&signed).unwrap();
            assert!(cose::verify_sign1(
                &sign1,
                None,
                &public_key(&a3["input"]["sign0"]["key"])
            ));
        }
        _ => unreachable!(),
    });
}

#[test]
fn hkdf_hmac_sha_examples() {
    let checked: Vec<String> = (1..=14)
        .map(|i| format!("hmac-sha-256-{i:02}.json"))
        .collect();
    let checked: Vec<&str> = checked.iter().map(String::as_str).collect();
    let skipped = [("hmac-sha-512-", "HKDF-SHA-512 is not used by this crate")];
    run_folder("hkdf-hmac-sha-examples", &checked, &skipped, |_, v| {
        check_hkdf_sha256(v)
    });
}

#[test]
fn mac0_tests() {
    let skipped = [
        ("HMac-", "COSE_Mac0 is not implemented"),
        ("mac-", "COSE_Mac0 is not implemented"),
    ];
    run_folder("mac0-tests", &[], &skipped, |_, _| unreachable!());
}

// ---------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------

/// A COSE_Sign1 vector: pass vectors verify with the given key, fail vectors are rejected,
/// and for those that alter a signed field the original to-be-signed bytes still verify, so
/// the rejection is the alteration's doing and not a bad key or a bad signature.
fn check_sign1(_name: &str, v: &Json) {
    let input = &v["input"];
    let sign0 = &input["sign0"];
    let key = public_key(&sign0["key"]);
    let private = private_key(&sign0["key"]);
    assert_eq!(private.public_key(), &key);
    let bytes = output_cbor(v);
    let external = sign0.get("external").map(hex_of).unwrap_or_default();
    let expected_tbs = hex_of(&v["intermediates"]["ToBeSign_hex"]);
    let failure = failure(input);

    if !is_fail(v) {
        let sign1 = cose::decode_sign1(&bytes).unwrap();
        assert_eq!(sign1.payload.as_deref(), Some(&input_plaintext(input)[..]));
        match failure {
            Some(("ChangeProtected", _)) => {
                // The empty protected map is sent as h'a0'; the signature was made with the
                // zero-length form that RFC 9052 section 3 prescribes for the Sig_structure.
                assert_eq!(sign1.protected.original_data.as_deref(), Some(&[0xA0][..]));
                // `verify_sign1` wants `alg` protected; here it is only unprotected.
                assert_eq!(sign1.protected.header.alg, None);
                assert!(!cose::verify_sign1(&sign1, None, &key));
                let mut canonical = sign1.clone();
                canonical.protected.original_data = None;
                let tbs = canonical.tbs_data(&external);
                assert_eq!(tbs, expected_tbs);
                assert!(key.verify(&tbs, &sign1.signature));
            }
            _ => {
                let tbs = sign1.tbs_data(&external);
                assert_eq!(tbs, expected_tbs);
                assert!(key.verify(&tbs, &sign1.signature));
                // `verify_sign1` has no external AAD, so it accepts exactly the vectors
                // without one.
                assert_eq!(cose::verify_sign1(&sign1, None, &key), external.is_empty());
            }
        }
        if matches!(failure, Some(("RemoveCBORTag", _))) {
            assert_eq!(bytes[0], 0x84, "untagged array");
        }
        return;
    }

    let (kind, detail) = failure.expect("a fail vector names its failure");
    match kind {
        "ChangeCBORTag" => assert_eq!(
            cose::decode_sign1(&bytes).unwrap_err(),
            CoseError::Malformed(format!("unexpected tag {}", detail.as_u64().unwrap()))
        ),
        "ChangeAttr" => match &detail["alg"] {
            // coset refuses an unregistered, non-private algorithm value while decoding.
            Json::Number(_) => assert_unregistered_alg(cose::decode_sign1(&bytes).unwrap_err()),
            Json::String(name) => {
                let sign1 = cose::decode_sign1(&bytes).unwrap();
                assert_eq!(
                    sign1.protected.header.alg,
                    Some(coset::Algorithm::Text(name.clone()))
                );
                assert_eq!(cose::header_alg(&sign1.protected.header), None);
                assert!(!cose::verify_sign1(&sign1, None, &key));
                assert!(key.verify(&expected_tbs, &sign1.signature));
            }
            other => panic!("unexpected ChangeAttr {other}"),
        },
        "ChangeTag" | "AddProtected" | "RemoveProtected" => {
            let sign1 = cose::decode_sign1(&bytes).unwrap();
            assert_eq!(cose::header_alg(&sign1.protected.header), Some(alg::ES256));
            assert!(!cose::verify_sign1(&sign1, None, &key));
            assert_ne!(sign1.tbs_data(&external), expected_tbs);
            assert!(key.verify(&expected_tbs, &sign1.signature));
        }
        other => panic!("no check for failure kind {other}"),
    }
}

/// A COSE_Sign with one ES256 signer, verified with coset's CoseSign and our key.
fn check_cose_sign_es256(v: &Json) {
    let signer = &v["input"]["sign"]["signers"][0];
    let key = public_key(&signer["key"]);
    let sign = CoseSign::from_tagged_slice(&output_cbor(v)).unwrap();
    assert_eq!(sign.signatures.len(), 1);
    let signature = &sign.signatures[0];
    assert_eq!(
        cose::header_alg(&signature.protected.header),
        Some(alg::ES256)
    );
    assert_eq!(
        signature.unprotected.key_id,
        json_str(&signer["unprotected"]["kid"])
    );
    assert_eq!(
        sign.payload.as_deref(),
        Some(&input_plaintext(&v["input"])[..])
    );
    let tbs = sign.tbs_data(b"", signature);
    assert_eq!(
        tbs,
        hex_of(&v["intermediates"]["signers"][0]["ToBeSign_hex"])
    );
    assert!(key.verify(&tbs, &signature.signature));
    // A changed payload no longer verifies.
    let mut altered = sign.clone();
    if let Some(p) = altered.payload.as_mut() {
        p[0] ^= 1;
    }
    assert!(!key.verify(&altered.tbs_data(b"", signature), &signature.signature));
}

/// coset refuses, while decoding, an integer `alg` that is neither registered nor in the
/// private-use range (such as -999).
fn assert_unregistered_alg(err: CoseError) {
    match err {
        CoseError::Malformed(m) => assert_eq!(m, "expected value in IANA or private use range"),
        other => panic!("expected a decoding error for the unregistered alg, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// COSE_Encrypt0 (crate::encrypt0)
// ---------------------------------------------------------------------------------------

/// A COSE_Encrypt0 vector with an implicit (direct) key.
fn check_encrypt0(_name: &str, v: &Json) {
    let input = &v["input"];
    let enc = &input["encrypted"];
    let alg_name = enc["protected"]
        .get("alg")
        .or_else(|| enc["unprotected"].get("alg"))
        .and_then(Json::as_str)
        .unwrap();
    let calg = content_alg(alg_name).unwrap();
    let key = SymmetricKey::new(calg, &symmetric_key(&enc["recipients"][0]["key"])).unwrap();
    assert_eq!(
        symmetric_key(&enc["recipients"][0]["key"]),
        hex_of(&v["intermediates"]["CEK_hex"])
    );
    let external = enc.get("external").map(hex_of).unwrap_or_default();
    let plaintext = input_plaintext(input);
    let bytes = output_cbor(v);
    let expected_aad = hex_of(&v["intermediates"]["AAD_hex"]);
    let failure = failure(input);

    if !is_fail(v) {
        let msg = encrypt0::decode(&bytes).unwrap();
        assert_eq!(encrypt0_aad(&msg.protected, &external), expected_aad);
        assert_eq!(
            encrypt0::decrypt(&msg, &key, None, &external).unwrap(),
            plaintext
        );
        if !external.is_empty() {
            assert_eq!(
                encrypt0::decrypt(&msg, &key, None, b""),
                Err(CoseError::Decrypt)
            );
        }
        if failure.is_none() {
            // The vector is in the shape `encrypt0::encrypt` produces (alg protected, IV
            // unprotected): re-encrypting with its IV gives the exact bytes.
            let iv = rng_stream(input, 0);
            assert_eq!(msg.unprotected.iv, iv);
            let again = encrypt0::encrypt(
                &key,
                Iv::Full(&iv),
                Header::default(),
                Header::default(),
                &external,
                &plaintext,
            )
            .unwrap();
            assert_eq!(
                hex::encode(encrypt0::encode(again).unwrap()),
                hex::encode(&bytes)
            );
        }
        return;
    }

    let (kind, detail) = failure.expect("a fail vector names its failure");
    match kind {
        "ChangeCBORTag" => assert_eq!(
            encrypt0::decode(&bytes).unwrap_err(),
            CoseError::Malformed(format!("unexpected tag {}", detail.as_u64().unwrap()))
        ),
        "ChangeTag" => {
            let msg = encrypt0::decode(&bytes).unwrap();
            assert_eq!(
                encrypt0::decrypt(&msg, &key, None, &external),
                Err(CoseError::Decrypt)
            );
        }
        "ChangeAttr" => match &detail["alg"] {
            Json::Number(_) => assert_unregistered_alg(encrypt0::decode(&bytes).unwrap_err()),
            Json::String(_) => {
                let msg = encrypt0::decode(&bytes).unwrap();
                assert_eq!(
                    encrypt0::decrypt(&msg, &key, None, &external),
                    Err(CoseError::Header("alg as text is not supported"))
                );
            }
            other => panic!("unexpected ChangeAttr {other}"),
        },
        "AddProtected" | "RemoveProtected" => {
            let msg = encrypt0::decode(&bytes).unwrap();
            assert_eq!(
                encrypt0::decrypt(&msg, &key, None, &external),
                Err(CoseError::Decrypt)
            );
            // With the protected header that was encrypted (from the vector's AAD) the
            // same ciphertext decrypts: the header change alone caused the rejection.
            let mut restored = msg.clone();
            restored.protected = protected_from_aad(&expected_aad);
            assert_eq!(
                encrypt0::decrypt(&restored, &key, None, &external).unwrap(),
                plaintext
            );
        }
        other => panic!("no check for failure kind {other}"),
    }
}

/// The Enc_structure of a COSE_Encrypt0, with an empty protected map as h''.
fn encrypt0_aad(protected: &ProtectedHeader, external: &[u8]) -> Vec<u8> {
    let mut protected = protected.clone();
    if protected.header.is_empty() {
        protected.original_data = None;
    }
    coset::enc_structure_data(EncryptionContext::CoseEncrypt0, protected, external)
}

/// The protected header inside an Enc_structure `[context, protected, external_aad]`.
fn protected_from_aad(aad: &[u8]) -> ProtectedHeader {
    let Value::Array(items) = ciborium::de::from_reader::<Value, _>(aad).unwrap() else {
        panic!("Enc_structure is an array");
    };
    ProtectedHeader::from_cbor_bstr(items[1].clone()).unwrap()
}

// ---------------------------------------------------------------------------------------
// COSE_Encrypt with a direct key
// ---------------------------------------------------------------------------------------

/// A COSE_Encrypt with one `direct` recipient: decrypt, rebuild the exact output, or
/// reject a fail vector.
fn check_direct_encrypt(_name: &str, v: &Json) {
    let input = &v["input"];
    let env = &input["enveloped"];
    let calg = content_alg(json_str_s(&env["protected"]["alg"])).unwrap();
    let recipient_in = &env["recipients"][0];
    let cek = symmetric_key(&recipient_in["key"]);
    assert_eq!(cek, hex_of(&v["intermediates"]["CEK_hex"]));
    let key = SymmetricKey::new(calg, &cek).unwrap();
    let plaintext = input_plaintext(input);
    let bytes = output_cbor(v);

    let msg = cose::decode_encrypt(&bytes).unwrap();
    assert_eq!(
        cose::header_alg(&msg.protected.header),
        Some(calg.cose_id())
    );
    let [recipient] = &msg.recipients[..] else {
        panic!("one recipient");
    };
    assert_eq!(cose::header_alg(&recipient.unprotected), Some(ALG_DIRECT));
    assert_eq!(recipient.ciphertext.as_deref(), Some(&[][..]));
    let kid = json_str(&recipient_in["unprotected"]["kid"]);
    assert_eq!(recipient.unprotected.key_id, kid);

    let aad = coset::enc_structure_data(EncryptionContext::CoseEncrypt, msg.protected.clone(), b"");
    assert_eq!(aad, hex_of(&v["intermediates"]["AAD_hex"]));
    let (nonce, partial_iv) = match env["unprotected"].get("partialIV_hex") {
        Some(piv) => {
            // The full IV is not sent; the vector states it in "unsent".
            assert_eq!(msg.unprotected.partial_iv, hex_of(piv));
            (hex_of(&env["unsent"]["IV_hex"]), Some(hex_of(piv)))
        }
        None => {
            assert_eq!(msg.unprotected.iv, rng_stream(input, 0));
            (msg.unprotected.iv.clone(), None)
        }
    };
    let ciphertext = msg.ciphertext.clone().unwrap();
    let gcm = matches!(calg, ContentAlgorithm::A128Gcm | ContentAlgorithm::A256Gcm);

    if is_fail(v) {
        assert!(matches!(failure(input), Some(("ChangeTag", _))));
        assert_eq!(key.open(&nonce, &aad, &ciphertext), Err(CoseError::Decrypt));
        if gcm {
            assert_eq!(
                cose::aes_gcm_decrypt(&cek, &nonce, &aad, &ciphertext),
                Err(CoseError::Decrypt)
            );
        }
        return;
    }

    assert_eq!(key.open(&nonce, &aad, &ciphertext).unwrap(), plaintext);
    if gcm {
        assert_eq!(
            cose::aes_gcm_decrypt(&cek, &nonce, &aad, &ciphertext).unwrap(),
            plaintext
        );
    }
    if calg == ContentAlgorithm::A128Gcm && partial_iv.is_none() {
        let cek = Cek::from_slice(&cek).unwrap();
        assert_eq!(
            cose::decrypt_detached(&msg, &cek, &ciphertext).unwrap(),
            plaintext
        );
    }

    // Rebuild the whole message from the inputs and compare the bytes.
    let unprotected = match &partial_iv {
        Some(piv) => HeaderBuilder::new().partial_iv(piv.clone()),
        None => HeaderBuilder::new().iv(nonce.clone()),
    };
    let rebuilt = CoseEncryptBuilder::new()
        .protected(HeaderBuilder::new().algorithm(iana_alg(calg)).build())
        .unprotected(unprotected.build())
        .try_create_ciphertext(&plaintext, b"", |pt, aad| key.seal(&nonce, aad, pt))
        .unwrap()
        .add_recipient(
            CoseRecipientBuilder::new()
                .unprotected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::Direct)
                        .key_id(kid)
                        .build(),
                )
                .ciphertext(Vec::new())
                .build(),
        )
        .build();
    assert_eq!(
        hex::encode(rebuilt.to_tagged_vec().unwrap()),
        hex::encode(&bytes)
    );
}

// ---------------------------------------------------------------------------------------
// Key wrap and key agreement
// ---------------------------------------------------------------------------------------

/// An A128KW recipient (in a COSE_Encrypt or a COSE_Mac): unwrap the CEK, wrap it again
/// to the same bytes, and for an A128GCM COSE_Encrypt decrypt and rebuild the output.
fn check_aes_wrap(v: &Json) {
    let input = &v["input"];
    let (body, tag) = match (input.get("enveloped"), input.get("mac")) {
        (Some(e), None) => (e, 96u64),
        (None, Some(m)) => (m, 97u64),
        _ => panic!("enveloped or mac"),
    };
    let recipient_in = &body["recipients"][0];
    assert_eq!(json_str_s(&recipient_in["unprotected"]["alg"]), "A128KW");
    let kek: [u8; 16] = symmetric_key(&recipient_in["key"]).try_into().unwrap();
    let expected_cek = hex_of(&v["intermediates"]["CEK_hex"]);
    let bytes = output_cbor(v);
    let Value::Tag(t, inner) = ciborium::de::from_reader::<Value, _>(&bytes[..]).unwrap() else {
        panic!("tagged");
    };
    assert_eq!(t, tag);
    // COSE_Encrypt and COSE_Mac both end with the recipients array.
    let Value::Array(items) = *inner else {
        panic!("array")
    };
    let Some(Value::Array(recipients)) = items.last() else {
        panic!("recipients")
    };
    let recipient = coset::CoseRecipient::from_cbor_value(recipients[0].clone()).unwrap();
    let wrapped = recipient.ciphertext.clone().unwrap();
    let kid = json_str(&recipient_in["unprotected"]["kid"]);
    assert_eq!(recipient.unprotected.key_id, kid);
    assert_eq!(cose::header_alg(&recipient.unprotected), Some(alg::A128KW));

    assert_eq!(cose::a128kw_unwrap(&kek, &wrapped).unwrap(), expected_cek);
    assert_eq!(cose::a128kw_wrap(&kek, &expected_cek).unwrap(), wrapped);
    let mut altered = wrapped.clone();
    altered[0] ^= 1;
    assert_eq!(cose::a128kw_unwrap(&kek, &altered), Err(CoseError::Decrypt));

    if tag != 96 || json_str_s(&body["protected"]["alg"]) != "A128GCM" {
        return;
    }
    let msg = cose::decode_encrypt(&bytes).unwrap();
    let cek = cose::unwrap_cek(&msg, RecipientKey::KeyWrap(&kek), cose::SUIT_KDF_OTHER).unwrap();
    assert_eq!(cek.as_bytes()[..], expected_cek[..]);
    let ciphertext = msg.ciphertext.clone().unwrap();
    let plaintext = input_plaintext(input);
    assert_eq!(
        cose::decrypt_detached(&msg, &cek, &ciphertext).unwrap(),
        plaintext
    );

    let iv = rng_stream(input, 1);
    let rebuilt = CoseEncryptBuilder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::A128GCM)
                .build(),
        )
        .unprotected(HeaderBuilder::new().iv(iv.clone()).build())
        .try_create_ciphertext(&plaintext, b"", |pt, aad| {
            cose::aes_gcm_encrypt(&expected_cek, &iv, aad, pt)
        })
        .unwrap()
        .add_recipient(
            CoseRecipientBuilder::new()
                .unprotected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::A128KW)
                        .key_id(kid)
                        .build(),
                )
                .ciphertext(cose::a128kw_wrap(&kek, &expected_cek).unwrap())
                .build(),
        )
        .build();
    assert_eq!(
        hex::encode(rebuilt.to_tagged_vec().unwrap()),
        hex::encode(&bytes)
    );
}

/// ECDH-ES + A128KW with the ephemeral key in the message (RFC 9053 section 6.4): every
/// intermediate (shared secret, KDF context, KEK, CEK) from the recipient's side, the
/// same values again from the sender's side with the ephemeral scalar of the vector's RNG
/// stream, then the content.
///
/// The KDF context of these vectors has no `other` field, which `cose::unwrap_cek` always
/// adds (SUIT needs it), so the context is built with `cose::kdf_context(.., None)` and the
/// key derived with `cose::ecdh_es_kek` directly.
fn check_ecdh_es_a128kw(v: &Json) {
    let input = &v["input"];
    let (body, tag) = match (input.get("enveloped"), input.get("mac")) {
        (Some(e), None) => (e, 96u64),
        (None, Some(m)) => (m, 97u64),
        _ => panic!("enveloped or mac"),
    };
    let recipient_in = &body["recipients"][0];
    assert_eq!(
        json_str_s(&recipient_in["protected"]["alg"]),
        "ECDH-ES-A128KW"
    );
    let receiver = private_key(&recipient_in["key"]);
    assert_eq!(receiver.public_key(), &public_key(&recipient_in["key"]));
    let inter = &v["intermediates"]["recipients"][0];
    let expected_cek = hex_of(&v["intermediates"]["CEK_hex"]);

    let bytes = output_cbor(v);
    let Value::Tag(t, inner) = ciborium::de::from_reader::<Value, _>(&bytes[..]).unwrap() else {
        panic!("tagged");
    };
    assert_eq!(t, tag);
    let Value::Array(items) = *inner else {
        panic!("array")
    };
    let Some(Value::Array(recipients)) = items.last() else {
        panic!("recipients")
    };
    let recipient = coset::CoseRecipient::from_cbor_value(recipients[0].clone()).unwrap();
    assert_eq!(
        cose::header_alg(&recipient.protected.header),
        Some(alg::ECDH_ES_A128KW)
    );
    assert_eq!(
        recipient.unprotected.key_id,
        json_str(&recipient_in["unprotected"]["kid"])
    );
    let epk = PublicKey::from_cose_value(cose::header_param(&recipient.unprotected, -1).unwrap())
        .unwrap();
    let wrapped = recipient.ciphertext.clone().unwrap();

    // Recipient side.
    let secret = receiver.agree(&epk);
    assert_eq!(secret.to_vec(), hex_of(&inter["Secret_hex"]));
    let protected = recipient.protected.original_data.clone().unwrap();
    let context = cose::kdf_context(alg::A128KW, &protected, None);
    assert_eq!(context, hex_of(&inter["Context_hex"]));
    let kek = cose::ecdh_es_kek(&secret, &context);
    assert_eq!(kek.to_vec(), hex_of(&inter["KEK_hex"]));
    let cek = cose::a128kw_unwrap(&kek, &wrapped).unwrap();
    assert_eq!(cek, expected_cek);

    // Sender side: the last RNG output is the ephemeral private key.
    let stream = input["rng_stream"].as_array().unwrap();
    let ephemeral = PrivateKey::from_scalar(&hex_of(stream.last().unwrap()), None).unwrap();
    assert_eq!(ephemeral.public_key(), &epk);
    assert_eq!(ephemeral.agree(receiver.public_key()), secret);
    assert_eq!(cose::a128kw_wrap(&kek, &expected_cek).unwrap(), wrapped);

    // The SUIT flavour of the context (with `other`) derives another KEK, which fails the
    // key unwrap's integrity check.
    if tag == 96 {
        let msg = cose::decode_encrypt(&bytes).unwrap();
        assert_eq!(
            cose::unwrap_cek(
                &msg,
                RecipientKey::Agreement(&receiver),
                cose::SUIT_KDF_OTHER
            ),
            Err(CoseError::Decrypt)
        );
    }

    if tag != 96 {
        // COSE_Mac (HS512): the MAC algorithm is not implemented; the CEK was checked.
        return;
    }
    let msg = cose::decode_encrypt(&bytes).unwrap();
    let calg = content_alg(json_str_s(&body["protected"]["alg"])).unwrap();
    let ciphertext = msg.ciphertext.clone().unwrap();
    let aad = coset::enc_structure_data(EncryptionContext::CoseEncrypt, msg.protected.clone(), b"");
    assert_eq!(aad, hex_of(&v["intermediates"]["AAD_hex"]));
    let iv = rng_stream(input, 1);
    assert_eq!(msg.unprotected.iv, iv);
    let plaintext = input_plaintext(input);
    assert_eq!(
        cose::aes_gcm_decrypt(&cek, &iv, &aad, &ciphertext).unwrap(),
        plaintext
    );
    assert_eq!(
        cose::aes_gcm_encrypt(&cek, &iv, &aad, &plaintext).unwrap(),
        ciphertext
    );
    if calg == ContentAlgorithm::A128Gcm {
        let cek = Cek::from_slice(&cek).unwrap();
        assert_eq!(
            cose::decrypt_detached(&msg, &cek, &ciphertext).unwrap(),
            plaintext
        );
    }
}

// ---------------------------------------------------------------------------------------
// HKDF
// ---------------------------------------------------------------------------------------

/// Direct HKDF-SHA-256 (RFC 9053 section 6.1.2): the CEK from the shared key, the salt and
/// the vector's KDF context; where the content is AES-CCM-16-64-128, also the plaintext.
fn check_hkdf_sha256(v: &Json) {
    let input = &v["input"];
    let body = input.get("enveloped").or_else(|| input.get("mac")).unwrap();
    let recipient_in = &body["recipients"][0];
    assert_eq!(
        json_str_s(&recipient_in["protected"]["alg"]),
        "HKDF-HMAC-SHA-256"
    );
    let ikm = symmetric_key(&recipient_in["key"]);
    let salt = recipient_in["unprotected"].get("salt").map(json_str);
    let context = hex_of(&v["intermediates"]["recipients"][0]["Context_hex"]);
    let expected_cek = hex_of(&v["intermediates"]["CEK_hex"]);

    // The context names the key length and the recipient's protected header.
    let Value::Array(ctx) = ciborium::de::from_reader::<Value, _>(&context[..]).unwrap() else {
        panic!("context is an array");
    };
    let Value::Array(supp_pub) = &ctx[3] else {
        panic!("SuppPubInfo")
    };
    let bits = u64::try_from(supp_pub[0].as_integer().unwrap()).unwrap();
    assert_eq!(bits as usize, expected_cek.len() * 8);
    let bytes = output_cbor(v);
    let Value::Tag(_, inner) = ciborium::de::from_reader::<Value, _>(&bytes[..]).unwrap() else {
        panic!("tagged");
    };
    let Value::Array(items) = *inner else {
        panic!("array")
    };
    let Some(Value::Array(recipients)) = items.last() else {
        panic!("recipients")
    };
    let recipient = coset::CoseRecipient::from_cbor_value(recipients[0].clone()).unwrap();
    assert_eq!(
        Some(&Value::Bytes(
            recipient.protected.original_data.clone().unwrap()
        )),
        supp_pub.get(1)
    );

    let mut cek = vec![0u8; expected_cek.len()];
    Hkdf::<Sha256>::new(salt.as_deref(), &ikm)
        .expand(&context, &mut cek)
        .unwrap();
    assert_eq!(cek, expected_cek);
    // Without a salt and for 128 bits, this is exactly what `ecdh_es_kek` computes.
    if salt.is_none() && cek.len() == 16 {
        assert_eq!(cose::ecdh_es_kek(&ikm, &context).to_vec(), expected_cek);
    }
    // Where the context has no party information, `cose::kdf_context` builds it.
    let nil_party = Value::Array(vec![Value::Null, Value::Null, Value::Null]);
    if ctx.len() == 4 && ctx[1] == nil_party && ctx[2] == nil_party && bits == 128 {
        let alg_id = i64::try_from(ctx[0].as_integer().unwrap()).unwrap();
        let other = supp_pub.get(2).and_then(Value::as_bytes).map(Vec::as_slice);
        assert_eq!(
            cose::kdf_context(
                alg_id,
                recipient.protected.original_data.as_deref().unwrap(),
                other
            ),
            context
        );
    }

    // The content, where it is ours to decrypt.
    if json_str_s(&body["protected"]["alg"]) == "AES-CCM-16-128/64" {
        let msg = cose::decode_encrypt(&bytes).unwrap();
        let key = SymmetricKey::new(ContentAlgorithm::AesCcm16_64_128, &cek).unwrap();
        let aad =
            coset::enc_structure_data(EncryptionContext::CoseEncrypt, msg.protected.clone(), b"");
        assert_eq!(aad, hex_of(&v["intermediates"]["AAD_hex"]));
        let ciphertext = msg.ciphertext.clone().unwrap();
        assert_eq!(msg.unprotected.iv, rng_stream(input, 0));
        assert_eq!(
            key.open(&msg.unprotected.iv, &aad, &ciphertext).unwrap(),
            input_plaintext(input)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Loading vectors
// ---------------------------------------------------------------------------------------

/// Run `check` over the files of `folder` named in `checked`, and make sure every other
/// file there starts with one of the `skipped` prefixes (each with its reason).
fn run_folder(
    folder: &str,
    checked: &[&str],
    skipped: &[(&str, &str)],
    check: impl Fn(&str, &Json),
) {
    let present: BTreeSet<String> = std::fs::read_dir(format!("{ROOT}{folder}"))
        .unwrap_or_else(|e| panic!("vector folder {folder}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for name in checked {
        assert!(present.contains(*name), "{folder}/{name} is missing");
    }
    for name in &present {
        let is_checked = checked.contains(&name.as_str());
        let is_skipped = skipped.iter().any(|(prefix, _)| name.starts_with(prefix));
        assert!(
            is_checked || is_skipped,
            "{folder}/{name} is neither checked nor skipped"
        );
    }
    for (prefix, why) in skipped {
        let matched = present
            .iter()
            .filter(|n| n.starts_with(prefix) && !checked.contains(&n.as_str()))
            .count();
        assert!(
            matched > 0,
            "{folder}: no file left to skip for {prefix} ({why})"
        );
    }
    let mut count = 0;
    for name in checked {
        check(name, &load(folder, name));
        count += 1;
    }
    assert_eq!(count, checked.len());
    assert_eq!(
        count
            + present
                .iter()
                .filter(|n| !checked.contains(&n.as_str()))
                .count(),
        present.len()
    );
}

fn load(folder: &str, name: &str) -> Json {
    let text = std::fs::read_to_string(format!("{ROOT}{folder}/{name}"))
        .unwrap_or_else(|e| panic!("{folder}/{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{folder}/{name}: {e}"))
}

fn is_fail(v: &Json) -> bool {
    v.get("fail").and_then(Json::as_bool).unwrap_or(false)
}

/// The (single) alteration a vector applies, as `(kind, detail)`.
fn failure(input: &Json) -> Option<(&str, &Json)> {
    let failures = input.get("failures")?.as_object()?;
    assert_eq!(failures.len(), 1, "one alteration per vector");
    failures.iter().next().map(|(k, d)| (k.as_str(), d))
}

fn output_cbor(v: &Json) -> Vec<u8> {
    hex_of(&v["output"]["cbor"])
}

fn input_plaintext(input: &Json) -> Vec<u8> {
    match input.get("plaintext_hex") {
        Some(h) => hex_of(h),
        None => json_str(&input["plaintext"]),
    }
}

/// The `i`th value of the vector's RNG stream (IVs, CEKs, ephemeral keys, in draw order).
fn rng_stream(input: &Json, i: usize) -> Vec<u8> {
    hex_of(&input["rng_stream"][i])
}

fn hex_of(v: &Json) -> Vec<u8> {
    hex::decode(json_str_s(v)).unwrap()
}

fn json_str_s(v: &Json) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn json_str(v: &Json) -> Vec<u8> {
    json_str_s(v).as_bytes().to_vec()
}

/// A JWK field, base64url (`name`) or hex (`name_hex`).
fn jwk_field(jwk: &Json, name: &str) -> Vec<u8> {
    match jwk.get(format!("{name}_hex")) {
        Some(h) => hex_of(h),
        None => base64url(json_str_s(&jwk[name])),
    }
}

fn public_key(jwk: &Json) -> PublicKey {
    assert_eq!(json_str_s(&jwk["crv"]), "P-256");
    let mut sec1 = vec![0x04];
    sec1.extend(jwk_field(jwk, "x"));
    sec1.extend(jwk_field(jwk, "y"));
    PublicKey::from_sec1(&sec1, None).unwrap()
}

fn private_key(jwk: &Json) -> PrivateKey {
    PrivateKey::from_scalar(&jwk_field(jwk, "d"), None).unwrap()
}

fn symmetric_key(jwk: &Json) -> Vec<u8> {
    assert_eq!(json_str_s(&jwk["kty"]), "oct");
    jwk_field(jwk, "k")
}

fn content_alg(name: &str) -> Option<ContentAlgorithm> {
    match name {
        "A128GCM" => Some(ContentAlgorithm::A128Gcm),
        "A256GCM" => Some(ContentAlgorithm::A256Gcm),
        "AES-CCM-16-128/64" => Some(ContentAlgorithm::AesCcm16_64_128),
        _ => None,
    }
}

fn iana_alg(alg: ContentAlgorithm) -> iana::Algorithm {
    match alg {
        ContentAlgorithm::A128Gcm => iana::Algorithm::A128GCM,
        ContentAlgorithm::A256Gcm => iana::Algorithm::A256GCM,
        ContentAlgorithm::AesCcm16_64_128 => iana::Algorithm::AES_CCM_16_64_128,
        other => panic!("no IANA mapping for {other:?}"),
    }
}

/// Base64url without padding (RFC 4648 section 5), as JWK uses it.
fn base64url(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {text}"),
        }
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64url_decodes_rfc4648_examples() {
    assert_eq!(base64url("Zm9vYmFy"), b"foobar");
    assert_eq!(base64url("Zm9vYg"), b"foob");
    assert_eq!(base64url("-_8"), [0xFB, 0xFF]);
}
