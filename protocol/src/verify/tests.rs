use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest as _, Sha256};

use super::*;
use crate::approval::{self, ApprovalClaims};
use crate::author::{self, UpdateSpec};
use crate::credential::{AuthorScope, ClassPattern, CredentialClaims};
use crate::keys::{KeyAlgorithm, PrivateKey};
use crate::suit::Dependency;

const NOW: u64 = 1_790_000_000;
const VENDOR: Uuid = Uuid([0xfa; 16]);
const CLASS: Uuid = Uuid([0x14; 16]);

struct Fixture {
    rng: ChaCha20Rng,
    operator: PrivateKey,
    operator_kek: PrivateKey,
    author: PrivateKey,
}

impl Fixture {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        Fixture {
            operator: PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256)),
            operator_kek: PrivateKey::generate(&mut rng, Some(KeyAlgorithm::EcdhEsA128Kw)),
            author: PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256)),
            rng,
        }
    }

    fn credential(&self, types: Vec<UpdateType>, expires_at: u64) -> Vec<u8> {
        CredentialClaims {
            issuer: "operator".into(),
            subject: "vendor".into(),
            issued_at: NOW - 100,
            expires_at,
            author_key: self.author.public_key().clone(),
            scope: AuthorScope {
                types,
                components: None,
                classes: Some(vec![ClassPattern {
                    vendor_id: VENDOR,
                    class_id: None,
                }]),
            },
        }
        .issue(&self.operator)
    }

    fn spec(&self, sequence_number: u64) -> UpdateSpec {
        UpdateSpec {
            component: ComponentId::named("plc-fw"),
            vendor_id: VENDOR,
            class_id: CLASS,
            sequence_number,
            update_type: UpdateType::Firmware,
            dependencies: vec![],
            payload_uri: "coap://repo/fw".into(),
            encrypt: true,
        }
    }

    fn build(
        &mut self,
        spec: &UpdateSpec,
        credential: &[u8],
        approve: bool,
    ) -> (Envelope, Vec<u8>) {
        let built = author::create_update(
            &mut self.rng,
            &self.author,
            credential,
            self.operator_kek.public_key(),
            b"new firmware image",
            spec,
        )
        .unwrap();
        let mut envelope = built.envelope;
        if approve {
            let claims = ApprovalClaims {
                classes: vec![CLASS],
                not_before: Some(NOW - 10),
                not_after: Some(NOW + 3600),
                approval_id: b"chg-1".to_vec(),
            };
            approval::approve(&mut envelope, &self.operator, &claims).unwrap();
        }
        (envelope, built.payload)
    }

    fn good(&mut self) -> (Envelope, Vec<u8>) {
        let cred = self.credential(vec![UpdateType::Firmware], NOW + 86_400);
        let spec = self.spec(5);
        self.build(&spec, &cred, true)
    }
}

/// The fixture's device (vendor, class) at `NOW` with `installed` and `defences`.
fn context<'a>(
    fx: &'a Fixture,
    installed: &'a InstalledComponents,
    defences: Defences,
) -> VerifyContext<'a> {
    VerifyContext {
        trust_anchor: fx.operator.public_key(),
        device: DeviceIdentity {
            vendor_id: VENDOR,
            class_id: CLASS,
        },
        installed,
        now: Instant::from_unix_secs(NOW),
        token_types: None,
        defences,
    }
}

fn verify(
    fx: &Fixture,
    bytes: &[u8],
    installed: &InstalledComponents,
    defences: Defences,
) -> EnvelopeVerdict {
    verify_envelope(bytes, &context(fx, installed, defences))
}

fn reason(fx: &Fixture, bytes: &[u8], installed: &InstalledComponents) -> &'static str {
    verify(fx, bytes, installed, Defences::default())
        .result
        .map(|_| "accepted")
        .unwrap_or_else(|r| r.code())
}

#[test]
fn a_good_update_is_accepted_and_decrypts_with_the_released_cek() {
    let mut fx = Fixture::new();
    let (env, payload) = fx.good();
    let verdict = verify(
        &fx,
        &env.encode(),
        &InstalledComponents::new(),
        Defences::default(),
    );
    let verified = verdict.result.unwrap();
    assert!(
        verdict
            .log
            .0
            .iter()
            .all(|(_, o)| *o == CheckOutcome::Passed)
    );
    let cek = author::unwrap_cek(verified.envelope(), &fx.operator_kek).unwrap();
    let memo = CryptoMemo::disabled();
    let (_, image) = verify_payload_memo(
        verified,
        Some(&cek),
        &SharedBytes::from(payload),
        Defences::default(),
        &memo,
    );
    let image = image.unwrap();
    assert_eq!(image.image(), b"new firmware image");
    // The digest check's SHA-256 stays with the image: asking for it hashes nothing again.
    let expected: [u8; 32] = Sha256::digest(b"new firmware image").into();
    assert_eq!(image.sha256(&memo), expected);
    assert_eq!(memo.stats().image_digests.executed, 1);
}

#[test]
fn devices_sharing_a_memo_share_the_decoded_envelope_and_credential_and_still_check_everything() {
    let mut fx = Fixture::new();
    let (env, _) = fx.good();
    let bytes = env.encode();
    let installed = InstalledComponents::new();
    let ctx = context(&fx, &installed, Defences::default());
    let verified = |memo: &CryptoMemo, bytes: &[u8]| verify_envelope_memo(bytes, &ctx, memo).result;
    for enabled in [true, false] {
        let memo = CryptoMemo::with_enabled(enabled);
        let one = verified(&memo, &bytes).expect("accepted");
        let two = verified(&memo, &bytes).expect("accepted");
        let shared = std::ptr::eq(one.envelope(), two.envelope());
        assert_eq!(
            shared, enabled,
            "one decoded envelope only with the memo on"
        );
        let (a, b) = (one.author().expect("claims"), two.author().expect("claims"));
        assert_eq!(std::ptr::eq(a, b), enabled, "one decoded credential too");
        assert_eq!(a, b);
        assert_eq!(one.envelope().encode(), two.envelope().encode());
        // A byte changed in the signed manifest: decoded afresh, and rejected.
        let mut tampered = bytes.clone();
        let at = tampered.len() - 5;
        tampered[at] ^= 1;
        assert!(verified(&memo, &tampered).is_err());
        // Another device's context: the shared envelope is checked against it.
        let other = VerifyContext {
            device: DeviceIdentity {
                vendor_id: VENDOR,
                class_id: Uuid([9; 16]),
            },
            ..ctx
        };
        let refused = verify_envelope_memo(&bytes, &other, &memo).result;
        assert!(matches!(refused, Err(Rejection::ClassMismatch)));
    }
}

#[test]
fn each_failed_check_has_its_own_reason() {
    let mut fx = Fixture::new();
    let none = InstalledComponents::new();
    let (env, _) = fx.good();

    let mut unapproved = env.clone();
    unapproved.retain_signatures(|s| !approval::is_approval(s));
    assert_eq!(reason(&fx, &unapproved.encode(), &none), "approval_missing");

    let lib_only = fx.credential(vec![UpdateType::Library], NOW + 1000);
    let (env_scope, _) = fx.build(&fx.spec(5), &lib_only, true);
    assert_eq!(reason(&fx, &env_scope.encode(), &none), "author_scope_type");

    let expired = fx.credential(vec![UpdateType::Firmware], NOW - 1);
    let (env_expired, _) = fx.build(&fx.spec(5), &expired, true);
    assert_eq!(
        reason(&fx, &env_expired.encode(), &none),
        "credential_expired"
    );

    let mut installed = InstalledComponents::new();
    installed.set(ComponentId::named("plc-fw"), 5);
    assert_eq!(reason(&fx, &env.encode(), &installed), "rollback");

    let mut spec = fx.spec(6);
    spec.dependencies = vec![Dependency {
        component: ComponentId::named("runtime-lib"),
        min_sequence: 3,
    }];
    let cred = fx.credential(vec![UpdateType::Firmware], NOW + 1000);
    let (env_dep, _) = fx.build(&spec, &cred, true);
    assert_eq!(reason(&fx, &env_dep.encode(), &none), "dependency_unmet");
    let mut with_lib = InstalledComponents::new();
    with_lib.set(ComponentId::named("runtime-lib"), 3);
    assert_eq!(reason(&fx, &env_dep.encode(), &with_lib), "accepted");

    let mut spec = fx.spec(5);
    spec.class_id = Uuid([0x99; 16]);
    let (env_class, _) = fx.build(&spec, &cred, true);
    assert_eq!(reason(&fx, &env_class.encode(), &none), "class_mismatch");
}

#[test]
fn a_signature_by_another_key_is_an_author_signature_failure() {
    let mut fx = Fixture::new();
    let (env, _) = fx.good();
    let cred = fx.credential(vec![UpdateType::Firmware], NOW + 1000);
    let intruder = PrivateKey::generate(&mut fx.rng, None);
    let mut forged = Envelope::new(env.manifest_bytes().to_vec()).unwrap();
    author::sign_as_author(&mut forged, &intruder, &cred).unwrap();
    for sig in env.signatures().iter().filter(|s| approval::is_approval(s)) {
        forged.add_signature(sig.sign1.clone()).unwrap();
    }
    assert_eq!(
        reason(&fx, &forged.encode(), &InstalledComponents::new()),
        "author_signature_invalid"
    );
}

#[test]
fn a_tampered_payload_is_rejected_and_the_defence_switch_lets_it_through() {
    let mut fx = Fixture::new();
    let (env, mut payload) = fx.good();
    payload[0] ^= 1;
    let verified = verify(
        &fx,
        &env.encode(),
        &InstalledComponents::new(),
        Defences::default(),
    )
    .result
    .unwrap();
    let cek = author::unwrap_cek(verified.envelope(), &fx.operator_kek).unwrap();
    let (_, r) = verify_payload(verified, Some(&cek), &payload, Defences::default());
    assert_eq!(r.unwrap_err(), Rejection::PayloadDecryptionFailed);

    // The approval removed: blocked with the defence on, let through with it off.
    let mut unapproved = env.clone();
    unapproved.retain_signatures(|s| !approval::is_approval(s));
    let off = Defences {
        operator_approval: false,
        approval_window: false,
        ..Defences::default()
    };
    let verdict = verify(&fx, &unapproved.encode(), &InstalledComponents::new(), off);
    assert!(verdict.result.is_ok());
    assert!(
        verdict
            .log
            .0
            .contains(&(Check::OperatorApproval, CheckOutcome::DangerSkipped))
    );
}

#[test]
fn with_payload_digest_off_a_tampered_payload_decrypts_unauthenticated() {
    let mut fx = Fixture::new();
    let (env, original) = fx.good();
    let mut payload = original.clone();
    payload[0] ^= 1;
    let off = Defences {
        payload_digest: false,
        ..Defences::default()
    };
    let verified = verify(&fx, &env.encode(), &InstalledComponents::new(), off)
        .result
        .unwrap();
    let cek = author::unwrap_cek(verified.envelope(), &fx.operator_kek).unwrap();
    let (log, r) = verify_payload(verified.clone(), Some(&cek), &payload, off);
    let image = r.unwrap();
    assert_eq!(
        log.0,
        vec![
            (Check::PayloadSize, CheckOutcome::Passed),
            (Check::PayloadDecryption, CheckOutcome::DangerSkipped),
            (Check::PayloadDigest, CheckOutcome::DangerSkipped),
        ]
    );
    // Counter mode: the flipped ciphertext bit is the flipped image bit.
    let (_, good) = verify_payload(verified.clone(), Some(&cek), &original, off);
    let mut expected = good.unwrap().image().to_vec();
    expected[0] ^= 1;
    assert_eq!(image.image(), expected.as_slice());
    // No check computed a digest: the one asked for is the altered image's own.
    let altered: [u8; 32] = Sha256::digest(&expected).into();
    assert_eq!(image.sha256(&CryptoMemo::disabled()), altered);
    // Without the key even the weakened path cannot decrypt.
    let (log, r) = verify_payload(verified, None, &payload, off);
    assert_eq!(r.unwrap_err(), Rejection::PayloadDecryptionFailed);
    assert_eq!(
        log.0.last(),
        Some(&(Check::PayloadDecryption, CheckOutcome::Failed))
    );
}

#[test]
fn approval_windows_are_enforced() {
    let mut fx = Fixture::new();
    let (env, _) = fx.good();
    let bytes = env.encode();
    let at = |secs| {
        let none = InstalledComponents::new();
        let ctx = VerifyContext {
            now: Instant::from_unix_secs(secs),
            token_types: Some(&[UpdateType::Firmware]),
            ..context(&fx, &none, Defences::default())
        };
        verify_envelope(&bytes, &ctx)
            .result
            .map(|_| "ok")
            .unwrap_or_else(|r| r.code())
    };
    assert_eq!(at(NOW - 20), "approval_not_yet_valid");
    assert_eq!(at(NOW + 3600), "approval_expired");
    assert_eq!(at(NOW + 10), "ok");
}
