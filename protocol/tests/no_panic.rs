//! The no-panic contract (STYLE.md items 7 and 8), as properties that stable CI runs:
//!
//! - every decoder of untrusted bytes, and the device verifier, returns `Ok` or `Err` on
//!   random bytes, on random CBOR and on mutations of valid objects, and never panics;
//!   where a decoder accepts, it agrees with its encoder and with the other decoders;
//! - no single-byte change of an approved envelope is accepted, except where it provably
//!   changes nothing the signatures cover or the device reads (see
//!   [`assert_single_change_rejected`]);
//! - no changed payload is accepted after a valid envelope;
//! - envelopes with random fields round-trip and verify end to end.
//!
//! The fixtures (keys, credential, an approved envelope and its payload) are built once from
//! a fixed ChaCha seed; proptest draws only the inputs and the mutations. Failures are not
//! persisted into the source tree: proptest prints the minimal failing input instead.

use std::ops::Range;
use std::sync::LazyLock;

use ciborium::Value;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author::{self, UpdateSpec};
use icsim_protocol::cbor::{self, CborError};
use icsim_protocol::cose::{self, Cek, HEADER_KCWT, RecipientKey, SUIT_KDF_OTHER};
use icsim_protocol::credential::{self, AuthorScope, ClassPattern, CredentialClaims};
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};
use icsim_protocol::keys::{KeyAlgorithm, PrivateKey, PublicKey};
use icsim_protocol::suit::{Dependency, Envelope, Manifest, ManifestSpec};
use icsim_protocol::time::Instant;
use icsim_protocol::verify::{
    Check, CheckLog, CheckOutcome, Defences, DeviceIdentity, EnvelopeVerdict, InstalledComponents,
    Rejection, VerifiedEnvelope, VerifiedImage, VerifyContext, verify_envelope, verify_payload,
};

const NOW: u64 = 1_790_000_000;
const VENDOR: Uuid = Uuid([0xfa; 16]);
const CLASS: Uuid = Uuid([0x14; 16]);
const IMAGE: &[u8] = b"new firmware image for the PLC, version 5";
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/");
/// A private-use header label for the unprotected note of [`noted_envelope`].
const LABEL_NOTE: i64 = -70099;

/// The envelope checks, in order; a device with all defences on and a session runs all.
const ENVELOPE_CHECKS: [Check; 11] = [
    Check::Decode,
    Check::ManifestDigest,
    Check::OperatorApproval,
    Check::AuthorCredential,
    Check::AuthorSignature,
    Check::AuthorScope,
    Check::DeviceMatch,
    Check::AntiRollback,
    Check::ApprovalWindow,
    Check::TokenScope,
    Check::Dependencies,
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(4096))]

    /// Random bytes: every decoder and the verifier answer without panicking.
    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        decode_everything(&bytes);
    }

    /// Random well-formed CBOR built from the labels and tags the decoders look for, so that
    /// inputs get past the first checks into the structure decoders.
    #[test]
    fn random_cbor_never_panics(value in arb_value()) {
        let bytes = cbor::encode(&value);
        prop_assert!(cbor::decode(&bytes).is_ok(), "own encoding must decode");
        decode_everything(&bytes);
    }

    /// Mutations of every valid object, fed to every decoder and to the verifier.
    #[test]
    fn mutated_valid_objects_never_panic(
        seed in select(&WORLD.objects[..]),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut bytes = seed.bytes;
        for m in &mutations {
            m.apply(&mut bytes);
        }
        decode_everything(&bytes);
    }

    /// One changed byte anywhere in an approved envelope is rejected, unless it is one of
    /// the two semantics-free changes of [`assert_single_change_rejected`].
    #[test]
    fn any_single_byte_change_of_an_approved_envelope_is_rejected(
        noted in any::<bool>(),
        pos in any::<Index>(),
        delta in 1..=255u8,
    ) {
        let fixture = if noted { &WORLD.noted } else { &WORLD.approved };
        let mut bytes = fixture.bytes.clone();
        let at = pos.index(bytes.len());
        bytes[at] ^= delta;
        assert_single_change_rejected(fixture, at, &bytes);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A changed payload after a valid envelope: never accepted while `payload_digest` is
    /// on, whatever the size defence, because decryption authenticates it. With
    /// `payload_digest` off the tag goes unchecked too (ablation): then every payload that
    /// passes the size check and can hold a tag is accepted, and still none without the key.
    #[test]
    fn mutated_payloads_are_rejected(mutations in vec(mutation(), 1..4)) {
        let w = &*WORLD;
        let mut payload = w.payload.clone();
        for m in &mutations {
            m.apply(&mut payload);
        }
        for defences in [
            Defences { payload_digest: false, ..Defences::default() },
            Defences { payload_size: false, payload_digest: false, ..Defences::default() },
        ] {
            let verified = w.approved.verified.clone();
            let (log, result) = verify_payload(verified, Some(&w.cek), &payload, defences);
            assert_payload_log(&log, &result);
            let size_ok = !defences.payload_size || payload.len() == w.payload.len();
            prop_assert_eq!(result.is_ok(), size_ok && payload.len() >= 16);
            let verified = w.approved.verified.clone();
            let (_, no_key) = verify_payload(verified, None, &payload, defences);
            prop_assert!(no_key.is_err());
        }
        for defences in [
            Defences::default(),
            Defences { payload_size: false, ..Defences::default() },
        ] {
            let verified = w.approved.verified.clone();
            let (log, result) = verify_payload(verified, Some(&w.cek), &payload, defences);
            assert_payload_log(&log, &result);
            prop_assert_eq!(result.is_ok(), payload == w.payload);
            if let Ok(image) = result {
                prop_assert_eq!(image.image(), IMAGE);
            }
            let verified = w.approved.verified.clone();
            let (_, no_key) = verify_payload(verified, None, &payload, defences);
            prop_assert!(no_key.is_err());
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Mutated manifests, encryption info and CWT claims, which author and operator then
    /// sign properly, so that the verifier gets past every signature check into the profile,
    /// scope and payload checks (see [`Deep`]).
    #[test]
    fn mutated_objects_signed_by_everyone_never_panic(
        deep in select(&Deep::ALL[..]),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut bytes = deep.original().to_vec();
        for m in &mutations {
            m.apply(&mut bytes);
        }
        deep.sign_and_verify(&bytes);
    }

    /// One node of a valid object's CBOR tree (descending into byte strings that hold CBOR,
    /// as SUIT and COSE nest them) replaced by random CBOR: well-formed inputs that reach
    /// every field decoder. Fed to every decoder, and signed and verified where it can be.
    #[test]
    fn valid_objects_with_a_replaced_node_never_panic(
        seed in select(&WORLD.objects[..]),
        path in vec(any::<Index>(), 0..10),
        new in arb_value(),
    ) {
        let Ok(mut value) = cbor::decode(&seed.bytes) else {
            // PEM text: nothing to walk.
            return Ok(());
        };
        replace_node(&mut value, &path, new);
        let bytes = cbor::encode(&value);
        decode_everything(&bytes);
        if let Some(deep) = seed.deep {
            deep.sign_and_verify(&bytes);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// decode(encode(e)) == e and encode(decode(b)) == b for approved envelopes with random
    /// sequence numbers, components, dependencies, update types, URIs and payload sizes; and
    /// each verifies end to end on a device that has the dependencies installed.
    #[test]
    fn envelopes_round_trip_and_verify(
        spec in arb_spec(),
        image in vec(any::<u8>(), 0..4096),
        seed in any::<u64>(),
    ) {
        let w = &*WORLD;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let built = author::create_update(
            &mut rng,
            &w.author,
            &w.credential,
            w.operator_kek.public_key(),
            &image,
            &spec,
        )
        .unwrap();
        let mut built_envelope = built.envelope;
        approval::approve(&mut built_envelope, &w.operator, &approval_claims()).unwrap();
        let bytes = built_envelope.encode();

        // A decoded envelope keeps the bytes of each protected header (coset's
        // `original_data`), a freshly built one does not, so the round trip starts from the
        // decoded form; the built one must encode to the same bytes.
        let envelope = Envelope::decode(&bytes).unwrap();
        prop_assert_eq!(envelope.encode(), bytes.clone());
        let decoded = Envelope::decode(&envelope.encode()).unwrap();
        prop_assert_eq!(&decoded, &envelope);
        let m = decoded.manifest();
        prop_assert_eq!(m.sequence_number, spec.sequence_number);
        prop_assert_eq!(m.component(), Some(&spec.component));
        prop_assert_eq!(&m.dependencies, &spec.dependencies);
        prop_assert_eq!(m.update_type, Some(spec.update_type));
        prop_assert_eq!(m.payload_uri.as_deref(), Some(spec.payload_uri.as_str()));
        prop_assert_eq!(m.parameters.image_size, Some(image.len() as u64));
        prop_assert_eq!(m.parameters.encryption_info.is_some(), spec.encrypt);

        let mut installed = InstalledComponents::new();
        for dep in &spec.dependencies {
            let have = installed.sequence(&dep.component).unwrap_or(0);
            installed.set(dep.component.clone(), have.max(dep.min_sequence));
        }
        let verdict = verify_envelope(&bytes, &ctx(&installed));
        assert_envelope_log(&verdict);
        let verified = verdict.result.unwrap();
        let cek = spec
            .encrypt
            .then(|| author::unwrap_cek(verified.envelope(), &w.operator_kek).unwrap());
        let defences = Defences::default();
        let (_, result) = verify_payload(verified, cek.as_ref(), &built.payload, defences);
        let verified_image = result.unwrap();
        prop_assert_eq!(verified_image.image(), &image[..]);
    }
}

/// Every position of both fixtures, with eight single-bit flips and a complement each:
/// the deterministic companion of the single-byte property above. It also pins down which
/// changes are accepted, so that a new one shows up here first.
#[test]
fn every_position_of_an_approved_envelope_is_covered() {
    for (name, fixture, noted) in [
        ("approved", &WORLD.approved, false),
        ("noted", &WORLD.noted, true),
    ] {
        let mut accepted_nil = 0;
        let mut accepted_unprotected = 0;
        for at in 0..fixture.bytes.len() {
            for delta in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut bytes = fixture.bytes.clone();
                bytes[at] ^= delta;
                if assert_single_change_rejected(fixture, at, &bytes) {
                    if fixture.sign1s.iter().any(|s| s.payload == at) {
                        accepted_nil += 1;
                    } else {
                        accepted_unprotected += 1;
                    }
                }
            }
        }
        // The nil -> undefined change (0xf6 ^ 0x01) in the payload slot of a COSE_Sign1
        // used to be accepted (CBOR decoders read `undefined` as nil); the envelope decoder
        // now requires each signature to be canonically encoded, so no change there passes.
        assert_eq!(accepted_nil, 0, "{name}");
        // The approved envelope has empty unprotected headers (`a0`), and no one-byte change
        // of `a0` is a valid header that leaves the rest intact. The noted envelope shows
        // that the exception is real: changes inside its unprotected note are accepted.
        assert_eq!(accepted_unprotected > 0, noted, "{name}");
    }
}

/// Deep nesting is refused by the CBOR decoder (ciborium's recursion limit of 256), so no
/// decoder above it recurses deeply; inputs just inside the limit still decode. All on a
/// 1 MiB stack, half a default Rust thread's, so that device tasks with small stacks are
/// safe too (about 256 KiB sufficed in the test profile when measured).
#[test]
fn deeply_nested_input_is_rejected_without_exhausting_the_stack() {
    LazyLock::force(&WORLD);
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(deeply_nested_inputs)
        .unwrap()
        .join()
        .unwrap();
}

fn deeply_nested_inputs() {
    let prefixes: [(&str, &[u8]); 6] = [
        ("arrays", &[0x81]),
        ("indefinite arrays", &[0x9f]),
        ("maps", &[0xa1, 0x00]),
        ("map keys", &[0xa1]),
        ("tags", &[0xc6]),
        ("COSE_Sign1 tags", &[0xd2]),
    ];
    for (name, prefix) in prefixes {
        let mut bytes = prefix.repeat(100_000);
        bytes.push(0x00);
        assert!(
            matches!(cbor::decode(&bytes), Err(CborError::Syntax(_))),
            "100,000 nested {name} must be refused"
        );
        decode_everything(&bytes);
    }
    let mut within = [0x81].repeat(200);
    within.push(0x00);
    let value = cbor::decode(&within).unwrap();
    assert_eq!(cbor::encode(&value), within);
    decode_everything(&within);

    // Deeply nested, within the limit, inside an approved envelope (an integrated payload
    // under a text key, which no signature covers): the verifier decodes, clones, compares
    // and drops it, and still accepts the envelope for what it signs.
    let Value::Tag(tag, inner) = cbor::decode(&WORLD.approved.bytes).unwrap() else {
        panic!("the envelope is tagged");
    };
    let Value::Map(mut pairs) = *inner else {
        panic!("the envelope is a map");
    };
    pairs.push((Value::Text("deep".into()), value));
    let bytes = cbor::encode(&Value::Tag(tag, Box::new(Value::Map(pairs))));
    decode_everything(&bytes);
    let verdict = verify_envelope(&bytes, &ctx(&WORLD.installed));
    assert_eq!(
        Accepted::of(&verdict.result.unwrap()),
        Accepted::of(&WORLD.approved.verified)
    );
}

// ---------------------------------------------------------------------------------------
// What every input goes through
// ---------------------------------------------------------------------------------------

/// Run `bytes` through every decoder and the verifier. Each must answer; where one accepts,
/// it must agree with its encoder and with the decoders below and above it.
fn decode_everything(bytes: &[u8]) {
    let w = &*WORLD;
    let value = cbor::decode(bytes);
    if let Ok(value) = &value {
        // Encoding normalises (shortest forms, bignums); after that it is a fixed point.
        let normal = cbor::encode(value);
        assert_eq!(cbor::encode(&cbor::decode(&normal).unwrap()), normal);
        let _ = ApprovalClaims::from_value(value);
    }

    let public = PublicKey::from_cose_key(bytes);
    if let Ok(key) = &public {
        assert_eq!(
            PublicKey::from_cose_key(&key.to_cose_key()).as_ref(),
            Ok(key)
        );
    }
    let private = PrivateKey::from_cose_key(bytes);
    if let Ok(key) = &private {
        assert_eq!(public.as_ref().ok(), Some(key.public_key()));
        let again = PrivateKey::from_cose_key(&key.to_cose_key()).unwrap();
        assert_eq!(again.to_cose_key(), key.to_cose_key());
    }
    let public_file = PublicKey::from_file_bytes(bytes);
    let private_file = PrivateKey::from_file_bytes(bytes);
    let pem = bytes.windows(10).any(|w| w == b"-----BEGIN");
    if !pem {
        assert_eq!(public_file, public);
        assert_eq!(private_file.is_ok(), private.is_ok());
    }
    if let (Ok(private), Ok(public)) = (&private_file, &public_file) {
        assert_eq!(private.public_key(), public);
    }

    let sign1 = cose::decode_sign1(bytes);
    if let Ok(sign1) = &sign1 {
        let encoded = cose::encode_sign1(sign1.clone()).unwrap();
        assert_eq!(cose::decode_sign1(&encoded).as_ref(), Ok(sign1));
    }
    let encrypt = cose::decode_encrypt(bytes);
    if let Ok(encrypt) = &encrypt {
        if let Ok(image) = cose::decrypt_detached(encrypt, &w.cek, &w.payload) {
            assert_eq!(image, IMAGE);
        }
        let key = RecipientKey::Agreement(&w.operator_kek);
        if let Ok(cek) = cose::unwrap_cek(encrypt, key, SUIT_KDF_OTHER) {
            assert_eq!(cek, w.cek);
        }
    }

    let cwt = credential::decode_credential(bytes);
    let claims = CredentialClaims::decode(bytes);
    let operator = w.operator.public_key();
    let checked = credential::verify_credential(bytes, operator, Instant::from_unix_secs(NOW));
    if let Ok(checked) = &checked {
        // No input here derives from a CWT other than the fixture's that the operator signed.
        assert!(cwt.is_ok());
        assert_eq!(checked.claims(), &w.claims);
    }

    let manifest = Manifest::decode(bytes);
    let envelope = Envelope::decode(bytes);
    if let Ok(envelope) = &envelope {
        assert_eq!(Envelope::decode(&envelope.encode()).as_ref(), Ok(envelope));
    }
    let verdict = verify_envelope(bytes, &ctx(&w.installed));
    assert_envelope_log(&verdict);
    match &verdict.result {
        Ok(verified) => {
            // No input here derives from a manifest other than the fixture's that the
            // operator approved.
            assert_eq!(Accepted::of(verified), Accepted::of(&w.approved.verified));
        }
        Err(_) if envelope.is_err() => {
            assert!(matches!(
                verdict.result,
                Err(Rejection::MalformedEnvelope(_))
            ));
        }
        Err(_) => {}
    }

    // The same bytes as the payload of the valid envelope.
    let (log, result) = verify_payload(
        w.approved.verified.clone(),
        Some(&w.cek),
        bytes,
        Defences::default(),
    );
    assert_payload_log(&log, &result);
    assert_eq!(result.is_ok(), bytes == w.payload);

    if value.is_err() {
        // Every CBOR decoder stands on `cbor::decode`.
        assert!(public.is_err() && private.is_err() && sign1.is_err() && encrypt.is_err());
        assert!(cwt.is_err() && claims.is_err() && manifest.is_err() && envelope.is_err());
        assert!(pem || (public_file.is_err() && private_file.is_err()));
    }
}

/// Objects that can be signed into an approved envelope however they are changed, so that
/// their changes reach the checks behind the signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deep {
    /// The manifest: signed by author and operator as it is.
    Manifest,
    /// The COSE_Encrypt of the payload, put into the fixture's manifest.
    EncryptionInfo,
    /// The CWT claims of the author's credential, signed by the operator.
    CwtClaims,
}

impl Deep {
    const ALL: [Deep; 3] = [Deep::Manifest, Deep::EncryptionInfo, Deep::CwtClaims];

    fn original(self) -> &'static [u8] {
        let w = &*WORLD;
        match self {
            Deep::Manifest => w.approved.verified.envelope().manifest_bytes(),
            Deep::EncryptionInfo => &w.encryption_info,
            Deep::CwtClaims => &w.claims_bytes,
        }
    }

    /// Sign `bytes` in their place and verify: never a panic, and whatever is accepted is
    /// what was signed, with the real image and the real author key.
    fn sign_and_verify(self, bytes: &[u8]) {
        let w = &*WORLD;
        let manifest = match self {
            Deep::Manifest => bytes.to_vec(),
            Deep::EncryptionInfo => {
                if let Ok(info) = cose::decode_encrypt(bytes) {
                    let key = RecipientKey::Agreement(&w.operator_kek);
                    if let Ok(cek) = cose::unwrap_cek(&info, key, SUIT_KDF_OTHER) {
                        assert_eq!(cek, w.cek);
                    }
                }
                Manifest::encode(&ManifestSpec {
                    encryption_info: Some(bytes.to_vec()),
                    ..w.manifest_spec.clone()
                })
            }
            Deep::CwtClaims => w.approved.verified.envelope().manifest_bytes().to_vec(),
        };
        let credential = match self {
            Deep::CwtClaims => issue_raw_claims(&w.operator, bytes.to_vec()),
            _ => w.credential.clone(),
        };
        let Ok(envelope) = Envelope::new(manifest.clone()) else {
            assert!(Manifest::decode(&manifest).is_err());
            return;
        };
        let signed = sign_and_approve(envelope, &credential);
        let verdict = verify_envelope(&signed, &ctx(&w.installed));
        assert_envelope_log(&verdict);
        let claims = CredentialClaims::decode(bytes);
        let now = Instant::from_unix_secs(NOW);
        let checked = credential::verify_credential(&credential, w.operator.public_key(), now);
        if self == Deep::CwtClaims
            && let Ok(checked) = &checked
        {
            assert_eq!(Ok(checked.claims()), claims.as_ref());
        }
        let verified = match verdict.result {
            Ok(verified) => verified,
            // The encryption info is read only by the payload checks.
            Err(rejection) => {
                assert_ne!(self, Deep::EncryptionInfo, "{rejection}");
                return;
            }
        };
        assert_eq!(verified.envelope().manifest_bytes(), &manifest[..]);
        let author = verified.author().unwrap();
        // The point, not the `kid`: the operator may sign any `kid` it likes, but the
        // author's signature verifies only with the author's key.
        assert_eq!(author.author_key.to_sec1(), w.author.public_key().to_sec1());
        if self == Deep::CwtClaims {
            assert!(checked.is_ok());
            assert_eq!(Ok(author), claims.as_ref());
        }
        let (log, result) = verify_payload(verified, Some(&w.cek), &w.payload, Defences::default());
        assert_payload_log(&log, &result);
        if let Ok(image) = result {
            assert_eq!(image.image(), IMAGE);
        }
    }
}

/// Replace one node of `value`'s tree, chosen by `path`, with `new`; byte strings that hold
/// CBOR are descended into and re-encoded.
fn replace_node(value: &mut Value, path: &[Index], new: Value) {
    let Some((step, rest)) = path.split_first() else {
        *value = new;
        return;
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            let i = step.index(items.len());
            replace_node(&mut items[i], rest, new);
        }
        Value::Map(pairs) if !pairs.is_empty() => {
            let i = step.index(pairs.len() * 2);
            let (k, v) = &mut pairs[i / 2];
            replace_node(if i % 2 == 0 { k } else { v }, rest, new);
        }
        Value::Tag(_, inner) => replace_node(inner, rest, new),
        Value::Bytes(bytes) => match cbor::decode(bytes) {
            Ok(mut inner) => {
                replace_node(&mut inner, rest, new);
                *bytes = cbor::encode(&inner);
            }
            Err(_) => *value = new,
        },
        _ => *value = new,
    }
}

/// Check one changed envelope (`bytes`, differing from the fixture at `at` only); returns
/// whether it was accepted, which the property allows for exactly one kind of change.
///
/// A COSE_Sign1 signs `["Signature1", protected, external_aad, payload]`, not its own
/// encoding, so its unprotected header lies outside every signature and digest. The
/// verifier reads `alg`, `kid`, `kcwt` and the approval claims only from protected
/// headers, so a change inside an unprotected header that still decodes changes nothing
/// the device acts on. (The detached payload slot, `nil`, was a second such place: CBOR
/// decoders read `undefined` as `nil`. The envelope decoder now insists on the canonical
/// encoding of each COSE_Sign1, which closes it.)
///
/// An accepted change must be in an unprotected header, and must leave what the device
/// acts on (the manifest, the author's and the operator's claims) and what the signatures
/// cover (the signed digest, each protected header and signature value) exactly as they
/// were. Any other accepted change fails the property.
fn assert_single_change_rejected(fixture: &Fixture, at: usize, bytes: &[u8]) -> bool {
    let verdict = verify_envelope(bytes, &ctx(&WORLD.installed));
    assert_envelope_log(&verdict);
    let Ok(verified) = &verdict.result else {
        return false;
    };
    let (old, new) = (fixture.bytes[at], bytes[at]);
    let free = fixture.sign1s.iter().any(|s| s.unprotected.contains(&at));
    assert!(
        free,
        "accepted a change at byte {at} (0x{old:02x} -> 0x{new:02x}) outside the unsigned parts"
    );
    assert_eq!(Accepted::of(verified), Accepted::of(&fixture.verified));
    assert_eq!(
        signed_parts(verified.envelope()),
        signed_parts(fixture.verified.envelope())
    );
    true
}

/// What a device acts on once it has accepted an envelope.
#[derive(Debug, PartialEq)]
struct Accepted<'a> {
    manifest: &'a [u8],
    component: &'a ComponentId,
    update_type: UpdateType,
    sequence_number: u64,
    image_size: u64,
    author: Option<&'a CredentialClaims>,
    approval: Option<&'a ApprovalClaims>,
}

impl<'a> Accepted<'a> {
    fn of(v: &'a VerifiedEnvelope) -> Self {
        Accepted {
            manifest: v.envelope().manifest_bytes(),
            component: v.component(),
            update_type: v.update_type(),
            sequence_number: v.sequence_number(),
            image_size: v.image_size(),
            author: v.author(),
            approval: v.approval(),
        }
    }
}

/// The signed digest and, per signature, its protected header bytes and signature value.
type SignedParts<'a> = (&'a [u8], Vec<(Option<&'a [u8]>, &'a [u8])>);

fn signed_parts(envelope: &Envelope) -> SignedParts<'_> {
    let signatures = envelope
        .signatures()
        .iter()
        .map(|s| {
            (
                s.sign1.protected.original_data.as_deref(),
                s.sign1.signature.as_slice(),
            )
        })
        .collect();
    (envelope.signed_payload(), signatures)
}

/// The checks ran in order, each once, and the verification stopped at the first failure,
/// whose check is the one the rejection names; an acceptance ran every envelope check.
fn assert_envelope_log(verdict: &EnvelopeVerdict) {
    let log = &verdict.log.0;
    assert_ordered(&verdict.log);
    match &verdict.result {
        Ok(_) => {
            assert!(log.iter().map(|(c, _)| *c).eq(ENVELOPE_CHECKS));
            assert!(log.iter().all(|(_, o)| *o == CheckOutcome::Passed));
        }
        Err(rejection) => {
            assert_eq!(log.first().map(|(c, _)| *c), Some(Check::Decode));
            assert_eq!(log.last(), Some(&(rejection.check(), CheckOutcome::Failed)));
        }
    }
}

fn assert_payload_log(log: &CheckLog, result: &Result<VerifiedImage, Rejection>) {
    assert_ordered(log);
    match result {
        Ok(_) => assert!(log.0.iter().all(|(_, o)| *o != CheckOutcome::Failed)),
        Err(rejection) => {
            assert_eq!(
                log.0.last(),
                Some(&(rejection.check(), CheckOutcome::Failed))
            );
        }
    }
}

/// Checks strictly in verification order, and nothing after a failure.
fn assert_ordered(log: &CheckLog) {
    let log = &log.0;
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0), "{log:?}");
    let failed = log
        .iter()
        .filter(|(_, o)| *o == CheckOutcome::Failed)
        .count();
    assert!(failed <= 1, "{log:?}");
    assert!(failed == 0 || log.last().is_some_and(|(_, o)| *o == CheckOutcome::Failed));
}

fn ctx(installed: &InstalledComponents) -> VerifyContext<'_> {
    ctx_with(WORLD.operator.public_key(), installed)
}

fn ctx_with<'a>(anchor: &'a PublicKey, installed: &'a InstalledComponents) -> VerifyContext<'a> {
    VerifyContext {
        trust_anchor: anchor,
        device: DeviceIdentity {
            vendor_id: VENDOR,
            class_id: CLASS,
        },
        installed,
        now: Instant::from_unix_secs(NOW),
        token_types: Some(&UpdateType::ALL),
        defences: Defences::default(),
    }
}

// ---------------------------------------------------------------------------------------
// Mutations and generators
// ---------------------------------------------------------------------------------------

/// A structured change of a byte string; positions scale to its length.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate { from: Index, len: usize, to: Index },
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Mutation::Insert(at, new) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            _ if len == 0 => {}
            Mutation::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
            Mutation::SetByte(at, v) => bytes[at.index(len)] = *v,
            Mutation::Truncate(at) => bytes.truncate(at.index(len)),
            Mutation::Delete(at, n) => {
                let at = at.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Duplicate { from, len: n, to } => {
                let from = from.index(len);
                let copy = bytes[from..(from + n).min(len)].to_vec();
                let to = to.index(len + 1);
                bytes.splice(to..to, copy);
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, v)| Mutation::SetByte(at, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        2 => (any::<Index>(), 1..16usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => (any::<Index>(), 1..64usize, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
    ]
}

/// Integer labels and values that the decoders give meaning to.
const LABELS: &[i64] = &[
    -70099, -70020, -70010, -70002, -70001, -29, -16, -9, -7, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6,
    7, 8, 9, 12, 13, 14, 15, 16, 18, 19, 20, 21, 23, 24, 33, 61,
];
const TAGS: &[u64] = &[16, 18, 61, 96, 107];
const TEXTS: &[&str] = &["firmware", "application", "library", "Signature1", ""];

/// Random CBOR: labels, strings, UUID-sized byte strings, nested arrays, maps, tags and
/// byte strings that wrap encoded CBOR (`bstr .cbor`), as SUIT and COSE nest them.
fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => select(LABELS).prop_map(|i| Value::Integer(i.into())),
        1 => any::<i64>().prop_map(|i| Value::Integer(i.into())),
        1 => any::<u64>().prop_map(|i| Value::Integer(i.into())),
        2 => vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        1 => vec(any::<u8>(), 16..=16).prop_map(Value::Bytes),
        1 => select(TEXTS).prop_map(|t| Value::Text(t.into())),
        1 => "[a-z:/]{0,12}".prop_map(Value::Text),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<f64>().prop_map(Value::Float),
        // Bignums that fit in the decoder's 128-bit integers (longer ones it refuses).
        1 => (select(&[2u64, 3][..]), vec(any::<u8>(), 0..=8))
            .prop_map(|(t, b)| Value::Tag(t, Box::new(Value::Bytes(b)))),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        let key = prop_oneof![
            8 => select(LABELS).prop_map(|i| Value::Integer(i.into())),
            1 => inner.clone(),
        ];
        prop_oneof![
            3 => vec(inner.clone(), 0..8).prop_map(Value::Array),
            3 => vec((key, inner.clone()), 0..8).prop_map(Value::Map),
            1 => (select(TAGS), inner.clone()).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            2 => inner.prop_map(|v| Value::Bytes(cbor::encode(&v))),
        ]
    })
}

fn arb_component() -> impl Strategy<Value = ComponentId> {
    vec(vec(any::<u8>(), 0..12), 1..4).prop_map(ComponentId)
}

prop_compose! {
    fn arb_spec()(
        component in arb_component(),
        sequence_number in any::<u64>(),
        update_type in select(&UpdateType::ALL[..]),
        dependencies in vec((arb_component(), any::<u64>()), 0..4),
        payload_uri in "[a-z]{1,8}://[a-z0-9./-]{0,32}",
        encrypt in any::<bool>(),
    ) -> UpdateSpec {
        UpdateSpec {
            dependencies: dependencies
                .into_iter()
                // An update never depends on its own component.
                .filter(|(c, _)| *c != component)
                .map(|(component, min_sequence)| Dependency { component, min_sequence })
                .collect(),
            component,
            vendor_id: VENDOR,
            class_id: CLASS,
            sequence_number,
            update_type,
            payload_uri,
            encrypt,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// An approved envelope with what the properties need to know about it.
struct Fixture {
    bytes: Vec<u8>,
    verified: VerifiedEnvelope,
    /// Where its COSE_Sign1s keep what no signature covers.
    sign1s: Vec<Sign1Layout>,
}

impl Fixture {
    fn new(bytes: Vec<u8>, operator: &PrivateKey, installed: &InstalledComponents) -> Self {
        let verified = verify_envelope(&bytes, &ctx_with(operator.public_key(), installed))
            .result
            .unwrap();
        let sign1s = sign1_layouts(&bytes, verified.envelope());
        Fixture {
            bytes,
            verified,
            sign1s,
        }
    }
}

struct World {
    operator: PrivateKey,
    operator_kek: PrivateKey,
    author: PrivateKey,
    credential: Vec<u8>,
    claims: CredentialClaims,
    /// The CWT claims as the operator signed them.
    claims_bytes: Vec<u8>,
    /// What the device has installed: the update's dependency, and an older version.
    installed: InstalledComponents,
    manifest_spec: ManifestSpec,
    encryption_info: Vec<u8>,
    payload: Vec<u8>,
    cek: Cek,
    /// The approved envelope, as `author::create_update` and `approval::approve` make it.
    approved: Fixture,
    /// The same update, with a note in the unprotected header of the author's signature.
    noted: Fixture,
    /// Valid objects of every kind, as seeds for mutations.
    objects: Vec<Seed>,
}

/// A valid object to start mutations from.
#[derive(Clone)]
struct Seed {
    /// What it is, for the reader of a failure.
    name: &'static str,
    bytes: Vec<u8>,
    /// How to sign it into an approved envelope, if it can be.
    deep: Option<Deep>,
}

static WORLD: LazyLock<World> = LazyLock::new(World::build);

impl World {
    fn build() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0x1c51_2024);
        let operator = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256));
        let operator_kek = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::EcdhEsA128Kw));
        let author = PrivateKey::generate(&mut rng, Some(KeyAlgorithm::Es256));
        let claims = CredentialClaims {
            issuer: "operator".into(),
            subject: "plc-vendor".into(),
            issued_at: NOW - 100,
            expires_at: NOW + 86_400,
            author_key: author.public_key().clone(),
            scope: AuthorScope {
                types: UpdateType::ALL.to_vec(),
                components: None,
                classes: Some(vec![ClassPattern {
                    vendor_id: VENDOR,
                    class_id: None,
                }]),
            },
        };
        let credential = claims.issue(&operator);
        let claims_bytes = credential::decode_credential(&credential)
            .unwrap()
            .payload
            .unwrap();
        // ES256 here is deterministic (RFC 6979): re-issuing the same claims bytes gives the
        // same credential, so the mutated-claims property starts from the real one.
        assert_eq!(
            issue_raw_claims(&operator, claims_bytes.clone()),
            credential
        );

        let spec = UpdateSpec {
            component: ComponentId::named("plc-fw"),
            vendor_id: VENDOR,
            class_id: CLASS,
            sequence_number: 5,
            update_type: UpdateType::Firmware,
            dependencies: vec![Dependency {
                component: ComponentId::named("runtime-lib"),
                min_sequence: 3,
            }],
            payload_uri: "coap://repo.site-a/fw/5".into(),
            encrypt: true,
        };
        let built = author::create_update(
            &mut rng,
            &author,
            &credential,
            operator_kek.public_key(),
            IMAGE,
            &spec,
        )
        .unwrap();
        let mut envelope = built.envelope;
        approval::approve(&mut envelope, &operator, &approval_claims()).unwrap();
        let mut installed = InstalledComponents::new();
        installed.set(ComponentId::named("plc-fw"), 4);
        installed.set(ComponentId::named("runtime-lib"), 3);

        let params = &envelope.manifest().parameters;
        let encryption_info = params.encryption_info.clone().unwrap();
        let manifest_spec = ManifestSpec {
            sequence_number: spec.sequence_number,
            component: spec.component.clone(),
            vendor_id: VENDOR,
            class_id: CLASS,
            image_digest: params.image_digest.clone().unwrap(),
            image_size: IMAGE.len() as u64,
            encryption_info: Some(encryption_info.clone()),
            payload_uri: spec.payload_uri.clone(),
            update_type: spec.update_type,
            dependencies: spec.dependencies.clone(),
        };
        assert_eq!(
            Manifest::encode(&manifest_spec),
            envelope.manifest_bytes(),
            "the manifest spec reproduces the fixture's manifest"
        );
        let cek = author::unwrap_cek(&envelope, &operator_kek).unwrap();

        let approved = Fixture::new(envelope.encode(), &operator, &installed);
        let noted_bytes = noted_envelope(&envelope, &author, &credential, &operator);
        let noted = Fixture::new(noted_bytes, &operator, &installed);
        let mut objects = seed_objects(&envelope, &approved, &noted, &credential, &claims_bytes);
        objects.extend([
            Seed::new("public COSE_Key", author.public_key().to_cose_key()),
            Seed::new("private COSE_Key", operator_kek.to_cose_key()),
            Seed {
                deep: Some(Deep::EncryptionInfo),
                ..Seed::new("COSE_Encrypt", encryption_info.clone())
            },
        ]);
        World {
            operator,
            operator_kek,
            author,
            credential,
            claims,
            claims_bytes,
            installed,
            manifest_spec,
            encryption_info,
            payload: built.payload,
            cek,
            approved,
            noted,
            objects,
        }
    }
}

/// The manifest of `approved`, signed by the author with a note in the unprotected header
/// (a private-use label holding text), then approved.
fn noted_envelope(
    approved: &Envelope,
    author: &PrivateKey,
    credential: &[u8],
    operator: &PrivateKey,
) -> Vec<u8> {
    let mut envelope = Envelope::new(approved.manifest_bytes().to_vec()).unwrap();
    let kcwt = match cbor::decode(credential).unwrap() {
        Value::Tag(credential::TAG_CWT, inner) => *inner,
        v => v,
    };
    let protected = coset::HeaderBuilder::new()
        .key_id(author.public_key().kid().to_vec())
        .value(HEADER_KCWT, kcwt)
        .build();
    let unprotected = coset::HeaderBuilder::new()
        .value(LABEL_NOTE, Value::Text("built on line 3".into()))
        .build();
    let sign1 = cose::sign1_detached(author, protected, unprotected, envelope.signed_payload());
    envelope.add_signature(sign1).unwrap();
    approval::approve(&mut envelope, operator, &approval_claims()).unwrap();
    envelope.encode()
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Seed {
    fn new(name: &'static str, bytes: Vec<u8>) -> Self {
        Seed {
            name,
            bytes,
            deep: None,
        }
    }
}

/// The valid objects that seed the mutations (besides the keys and the COSE_Encrypt).
fn seed_objects(
    envelope: &Envelope,
    approved: &Fixture,
    noted: &Fixture,
    credential: &[u8],
    claims_bytes: &[u8],
) -> Vec<Seed> {
    let read = |name: &str| std::fs::read(format!("{VECTORS}{name}")).unwrap();
    let hex = |name: &str| {
        let text = String::from_utf8(read(name)).unwrap();
        hex::decode(text.split_whitespace().collect::<String>()).unwrap()
    };
    let approval = envelope
        .signatures()
        .iter()
        .find(|s| approval::is_approval(s))
        .unwrap();
    let mut objects = vec![
        Seed::new("approved envelope", approved.bytes.clone()),
        Seed::new("approved envelope with a note", noted.bytes.clone()),
        Seed {
            deep: Some(Deep::Manifest),
            ..Seed::new("manifest", envelope.manifest_bytes().to_vec())
        },
        Seed::new("credential", credential.to_vec()),
        Seed {
            deep: Some(Deep::CwtClaims),
            ..Seed::new("CWT claims", claims_bytes.to_vec())
        },
        Seed::new("approval COSE_Sign1", approval.bytes.clone()),
        Seed::new("PEM public key", read("suit-manifest/verify_key.pem")),
        Seed::new("PEM private key", read("suit-manifest/signing_key.pem")),
        Seed::new(
            "draft COSE_Encrypt",
            hex("suit-encryption/suit-encryption-info-es-ecdh-aes-gcm.hex"),
        ),
    ];
    for i in [0, 2, 3, 5] {
        let bytes = hex(&format!("suit-manifest/example{i}.signed.hex"));
        objects.push(Seed::new("draft example envelope", bytes));
    }
    objects
}

/// Where, within the envelope's bytes, a COSE_Sign1 of the authentication wrapper keeps
/// the parts that no signature covers.
struct Sign1Layout {
    /// Its unprotected header.
    unprotected: Range<usize>,
    /// Its payload slot, `nil` for a detached payload.
    payload: usize,
}

fn sign1_layouts(bytes: &[u8], envelope: &Envelope) -> Vec<Sign1Layout> {
    envelope
        .signatures()
        .iter()
        .map(|s| {
            let at = bytes
                .windows(s.bytes.len())
                .position(|w| w == s.bytes.as_slice())
                .unwrap();
            let Value::Tag(18, inner) = cbor::decode(&s.bytes).unwrap() else {
                panic!("a COSE_Sign1_Tagged");
            };
            let Value::Array(items) = *inner else {
                panic!("a COSE_Sign1 array");
            };
            // Tag 18 and the array head are one byte each: `d2 84`.
            assert_eq!(s.bytes[..2], [0xd2, 0x84]);
            let start = at + 2 + cbor::encode(&items[0]).len();
            let header = cbor::encode(&items[1]);
            let unprotected = start..start + header.len();
            assert_eq!(bytes[unprotected.clone()], header[..]);
            assert_eq!(bytes[unprotected.end], 0xf6, "a detached payload");
            Sign1Layout {
                payload: unprotected.end,
                unprotected,
            }
        })
        .collect()
}

fn approval_claims() -> ApprovalClaims {
    ApprovalClaims {
        classes: vec![CLASS],
        not_before: Some(NOW - 10),
        not_after: Some(NOW + 3600),
        approval_id: b"chg-2024-117".to_vec(),
    }
}

/// Sign `claims` (CWT payload bytes, possibly malformed) as the operator: a CWT (tag 61)
/// around a COSE_Sign1 (tag 18), as `CredentialClaims::issue` does.
fn issue_raw_claims(operator: &PrivateKey, claims: Vec<u8>) -> Vec<u8> {
    let protected = coset::HeaderBuilder::new()
        .key_id(operator.public_key().kid().to_vec())
        .build();
    let sign1 = cose::sign1_attached(operator, protected, claims);
    let mut out = vec![0xd8, 0x3d];
    out.extend(cose::encode_sign1(sign1).unwrap());
    out
}

/// Sign `envelope` as the author with `credential`, approve it as the operator, encode.
fn sign_and_approve(mut envelope: Envelope, credential: &[u8]) -> Vec<u8> {
    let w = &*WORLD;
    author::sign_as_author(&mut envelope, &w.author, credential).unwrap();
    approval::approve(&mut envelope, &w.operator, &approval_claims()).unwrap();
    envelope.encode()
}
