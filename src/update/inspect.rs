//! `icsim update inspect FILE [--verify-key KEY]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ciborium::Value;
use icsim_protocol::cose::{self, HEADER_KCWT};
use icsim_protocol::credential::{self, CredentialClaims};
use icsim_protocol::keys::PublicKey;
use icsim_protocol::suit::Envelope;

use crate::{diag, files};

/// What a file holds.
enum Kind {
    Envelope,
    Sign1,
    Encrypt,
    CoseKey,
    Other,
}

/// Print the file; with a key, check its signatures (exit 0 valid, 1 invalid).
pub(crate) fn run(path: &Path, verify_key: Option<&Path>) -> Result<ExitCode> {
    let bytes = files::read_cbor(path)?;
    let value = icsim_protocol::cbor::decode(&bytes)
        .with_context(|| format!("{}: not CBOR", path.display()))?;
    let kind = classify(&value);
    let name = match kind {
        Kind::Envelope => "SUIT envelope",
        Kind::Sign1 => "COSE_Sign1 (CWT)",
        Kind::Encrypt => "COSE_Encrypt",
        Kind::CoseKey => "COSE_Key",
        Kind::Other => "CBOR item",
    };
    println!("/ {name}, {} bytes /", bytes.len());
    println!("{}", diag::render(&value));
    let Some(key_path) = verify_key else {
        return Ok(ExitCode::SUCCESS);
    };
    let key = PublicKey::from_file_bytes(&files::read(key_path)?)
        .with_context(|| format!("{}: not a usable public key", key_path.display()))?;
    let valid = match kind {
        Kind::Envelope => {
            check_envelope(&bytes, &key).with_context(|| format!("{}", path.display()))?
        }
        Kind::Sign1 => {
            let sign1 = credential::decode_credential(&bytes)
                .with_context(|| format!("{}", path.display()))?;
            let ok = cose::verify_sign1(&sign1, None, &key);
            println!("signature: {}", if ok { "valid" } else { "INVALID" });
            ok
        }
        _ => bail!("{}: a {name} has no signature to verify", path.display()),
    };
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn classify(value: &Value) -> Kind {
    match value {
        Value::Tag(107, _) => Kind::Envelope,
        Value::Tag(61 | 18, _) => Kind::Sign1,
        Value::Tag(96, _) => Kind::Encrypt,
        Value::Map(pairs)
            if pairs.iter().any(|(k, _)| *k == Value::Integer(1.into()))
                && pairs.iter().any(|(k, _)| *k == Value::Integer((-1).into())) =>
        {
            Kind::CoseKey
        }
        Value::Map(pairs)
            if pairs.iter().any(|(k, _)| *k == Value::Integer(2.into()))
                && pairs.iter().any(|(k, _)| *k == Value::Integer(3.into())) =>
        {
            Kind::Envelope
        }
        _ => Kind::Other,
    }
}

/// Check the manifest digest and every signature: directly with `key`, or, for an author
/// signature, with the key of a credential that `key` issued.
fn check_envelope(bytes: &[u8], key: &PublicKey) -> Result<bool> {
    let env = Envelope::decode(bytes)?;
    let digest_ok = env.digests_match();
    println!(
        "manifest digest: {}",
        if digest_ok { "matches" } else { "MISMATCH" }
    );
    let mut all_ok = digest_ok;
    for (i, sig) in env.signatures().iter().enumerate() {
        let direct = cose::verify_sign1(&sig.sign1, Some(env.signed_payload()), key);
        let via_credential =
            !direct && verify_via_credential(&sig.sign1, env.signed_payload(), key);
        let verdict = match (direct, via_credential) {
            (true, _) => "valid (signed by the key)",
            (false, true) => "valid (author key from a credential issued by the key)",
            _ => "INVALID",
        };
        println!("signature {i}: {verdict}");
        all_ok &= direct || via_credential;
    }
    Ok(all_ok)
}

fn verify_via_credential(sign1: &coset::CoseSign1, payload: &[u8], issuer: &PublicKey) -> bool {
    let Some(kcwt) = cose::header_param(&sign1.protected.header, HEADER_KCWT) else {
        return false;
    };
    let Ok(cred) = credential::decode_credential(&icsim_protocol::cbor::encode(kcwt)) else {
        return false;
    };
    let Some(claims) = cred
        .payload
        .as_deref()
        .and_then(|p| CredentialClaims::decode(p).ok())
    else {
        return false;
    };
    cose::verify_sign1(&cred, None, issuer)
        && cose::verify_sign1(sign1, Some(payload), &claims.author_key)
}
