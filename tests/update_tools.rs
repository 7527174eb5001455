//! End to end through the `icsim update` binary: the round trip of issue 2 and one
//! rejection per check, each with its own reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author;
use icsim_protocol::ids::Uuid;
use icsim_protocol::keys::PrivateKey;
use icsim_protocol::suit::Envelope;

const VENDOR: &str = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe";
const CLASS: &str = "1492af14-2569-5e48-bf42-9b2d51f2ab45";
const OTHER_CLASS: &str = "00000000-0000-4000-8000-000000000001";
const NOW: &str = "2026-11-26T08:00:00Z";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn icsim(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_icsim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the icsim binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = icsim(dir, args);
    assert_eq!(run.code, 0, "icsim {args:?} failed: {}", run.stderr);
    run
}

/// Verify `envelope` as a device and return (exit code, reason).
fn verify(dir: &Path, envelope: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "update",
        "verify",
        "--trust",
        "op.pub",
        "--envelope",
        envelope,
        "--vendor-id",
        VENDOR,
        "--now",
        NOW,
    ];
    if !extra.contains(&"--class-id") {
        args.extend(["--class-id", CLASS]);
    }
    args.extend(extra);
    let run = icsim(dir, &args);
    let line: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("JSON line: {e}: {}", run.stdout));
    assert_eq!(line["accepted"], run.code == 0);
    let reason = line["reason"].as_str().unwrap_or("accepted").to_string();
    (run.code, reason)
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// Keys, a firmware-only credential, an update of component `plc-fw` at sequence 7, approved.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    ok(&dir, &["update", "keygen", "--out", "op", "--alg", "ES256"]);
    ok(
        &dir,
        &[
            "update",
            "keygen",
            "--out",
            "opkek",
            "--alg",
            "ECDH-ES+A128KW",
        ],
    );
    ok(
        &dir,
        &["update", "keygen", "--out", "author", "--alg", "ES256"],
    );
    let scope = format!("types=firmware;components=plc-fw;classes={VENDOR}/*");
    ok(
        &dir,
        &[
            "update",
            "credential",
            "--operator-key",
            "op.key",
            "--author-pub",
            "author.pub",
            "--scope",
            &scope,
            "--valid-days",
            "30",
            "--now",
            NOW,
            "--out",
            "author.cwt",
        ],
    );
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.join("fw.bin"), payload).unwrap();
    create(&dir, "author.cwt", "upd", "7");
    ok(
        &dir,
        &[
            "update",
            "approve",
            "--operator-key",
            "op.key",
            "--envelope",
            "upd/envelope.suit",
            "--now",
            NOW,
            "--not-after",
            "2026-12-31T00:00:00Z",
            "--out",
            "approved.suit",
        ],
    );
    Setup { _tmp: tmp, dir }
}

fn create(dir: &Path, credential: &str, out: &str, sequence: &str) -> Run {
    icsim(
        dir,
        &[
            "update",
            "create",
            "--author-key",
            "author.key",
            "--credential",
            credential,
            "--operator-kek",
            "opkek.pub",
            "--payload",
            "fw.bin",
            "--component",
            "plc-fw",
            "--vendor-id",
            VENDOR,
            "--class-id",
            CLASS,
            "--sequence",
            sequence,
            "--type",
            "firmware",
            "--out",
            out,
        ],
    )
}

fn read_key(dir: &Path, name: &str) -> PrivateKey {
    PrivateKey::from_file_bytes(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

/// Approve with the library directly, as a careless or compromised approval tool would.
fn force_approve(dir: &Path, envelope: &mut Envelope) {
    let claims = ApprovalClaims {
        classes: vec![CLASS.parse::<Uuid>().unwrap()],
        not_before: None,
        not_after: None,
        approval_id: b"forced".to_vec(),
    };
    approval::approve(envelope, &read_key(dir, "op.key"), &claims).unwrap();
}

#[test]
fn round_trip_is_accepted_with_and_without_the_payload() {
    let s = setup();
    assert_eq!(verify(&s.dir, "approved.suit", &[]), (0, "accepted".into()));
    let with_payload = [
        "--payload",
        "upd/payload.enc",
        "--operator-kek",
        "opkek.key",
        "--installed",
        "plc-fw=6",
    ];
    assert_eq!(
        verify(&s.dir, "approved.suit", &with_payload),
        (0, "accepted".into())
    );
    let inspect = ok(
        &s.dir,
        &[
            "update",
            "inspect",
            "approved.suit",
            "--verify-key",
            "op.pub",
        ],
    );
    assert!(inspect.stdout.contains("107("));
    assert!(inspect.stdout.contains("signature 1: valid"));
}

#[test]
fn a_flipped_payload_byte_is_rejected() {
    let s = setup();
    let path = s.dir.join("upd/payload.enc");
    let mut payload = std::fs::read(&path).unwrap();
    payload[12_345] ^= 0x40;
    std::fs::write(&path, payload).unwrap();
    let args = [
        "--payload",
        "upd/payload.enc",
        "--operator-kek",
        "opkek.key",
    ];
    assert_eq!(
        verify(&s.dir, "approved.suit", &args),
        (1, "payload_decryption_failed".into())
    );
}

#[test]
fn a_removed_approval_is_rejected() {
    let s = setup();
    let mut env = Envelope::decode(&std::fs::read(s.dir.join("approved.suit")).unwrap()).unwrap();
    env.retain_signatures(|sig| !approval::is_approval(sig));
    std::fs::write(s.dir.join("stripped.suit"), env.encode()).unwrap();
    assert_eq!(
        verify(&s.dir, "stripped.suit", &[]),
        (1, "approval_missing".into())
    );
    // The author's own output has no approval either.
    assert_eq!(
        verify(&s.dir, "upd/envelope.suit", &[]),
        (1, "approval_missing".into())
    );
}

#[test]
fn a_credential_whose_scope_excludes_the_type_is_rejected() {
    let s = setup();
    ok(
        &s.dir,
        &[
            "update",
            "credential",
            "--operator-key",
            "op.key",
            "--author-pub",
            "author.pub",
            "--scope",
            "library",
            "--valid-days",
            "30",
            "--now",
            NOW,
            "--out",
            "lib.cwt",
        ],
    );
    assert_eq!(create(&s.dir, "lib.cwt", "libupd", "8").code, 0);
    // The operator's approval tool vets the update and refuses it...
    let refused = icsim(
        &s.dir,
        &[
            "update",
            "approve",
            "--operator-key",
            "op.key",
            "--envelope",
            "libupd/envelope.suit",
            "--now",
            NOW,
            "--out",
            "never.suit",
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stdout.contains("author_scope_type"));
    assert!(!s.dir.join("never.suit").exists());
    // ...and a device rejects it even if an approval was added anyway.
    let mut env =
        Envelope::decode(&std::fs::read(s.dir.join("libupd/envelope.suit")).unwrap()).unwrap();
    force_approve(&s.dir, &mut env);
    std::fs::write(s.dir.join("forced.suit"), env.encode()).unwrap();
    assert_eq!(
        verify(&s.dir, "forced.suit", &[]),
        (1, "author_scope_type".into())
    );
}

#[test]
fn an_equal_installed_sequence_number_is_a_rollback() {
    let s = setup();
    assert_eq!(
        verify(&s.dir, "approved.suit", &["--installed", "plc-fw=7"]),
        (1, "rollback".into())
    );
    assert_eq!(
        verify(&s.dir, "approved.suit", &["--installed", "plc-fw=6"]),
        (0, "accepted".into())
    );
}

#[test]
fn a_wrong_class_id_is_rejected() {
    let s = setup();
    assert_eq!(
        verify(&s.dir, "approved.suit", &["--class-id", OTHER_CLASS]),
        (1, "class_mismatch".into())
    );
}

#[test]
fn an_envelope_resigned_by_a_key_that_is_not_the_credentials_is_rejected() {
    let s = setup();
    ok(&s.dir, &["update", "keygen", "--out", "intruder"]);
    let approved = Envelope::decode(&std::fs::read(s.dir.join("approved.suit")).unwrap()).unwrap();
    let mut forged = Envelope::new(approved.manifest_bytes().to_vec()).unwrap();
    let credential = std::fs::read(s.dir.join("author.cwt")).unwrap();
    author::sign_as_author(&mut forged, &read_key(&s.dir, "intruder.key"), &credential).unwrap();
    for sig in approved
        .signatures()
        .iter()
        .filter(|sig| approval::is_approval(sig))
    {
        forged.add_signature(sig.sign1.clone()).unwrap();
    }
    std::fs::write(s.dir.join("forged.suit"), forged.encode()).unwrap();
    assert_eq!(
        verify(&s.dir, "forged.suit", &[]),
        (1, "author_signature_invalid".into())
    );
    // The create tool itself refuses a credential that is not the signing key's.
    let run = icsim(
        &s.dir,
        &[
            "update",
            "create",
            "--author-key",
            "intruder.key",
            "--credential",
            "author.cwt",
            "--operator-kek",
            "opkek.pub",
            "--payload",
            "fw.bin",
            "--component",
            "plc-fw",
            "--vendor-id",
            VENDOR,
            "--class-id",
            CLASS,
            "--sequence",
            "9",
            "--type",
            "firmware",
            "--out",
            "bad",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cnf"), "{}", run.stderr);
    assert!(!s.dir.join("bad").exists());
}

#[test]
fn unusable_input_exits_2_and_names_the_file() {
    let s = setup();
    std::fs::write(s.dir.join("garbage.pub"), b"\xff\x00 not a key").unwrap();
    let run = icsim(
        &s.dir,
        &[
            "update",
            "verify",
            "--trust",
            "garbage.pub",
            "--envelope",
            "approved.suit",
            "--vendor-id",
            VENDOR,
            "--class-id",
            CLASS,
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("garbage.pub"), "{}", run.stderr);
    let run = icsim(
        &s.dir,
        &[
            "update",
            "verify",
            "--trust",
            "op.pub",
            "--envelope",
            "missing.suit",
            "--vendor-id",
            VENDOR,
            "--class-id",
            CLASS,
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.suit"));
    let run = icsim(
        &s.dir,
        &[
            "update",
            "verify",
            "--trust",
            "op.pub",
            "--envelope",
            "approved.suit",
            "--vendor-id",
            "not-a-uuid",
            "--class-id",
            CLASS,
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--vendor-id"), "{}", run.stderr);
    // Bytes that are not an envelope are the device's rejection, not a crash.
    std::fs::write(s.dir.join("junk.suit"), b"\xd8\x6b\xa0").unwrap();
    assert_eq!(
        verify(&s.dir, "junk.suit", &[]),
        (1, "malformed_envelope".into())
    );
}
