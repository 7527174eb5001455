//! `icsim update`: the protocol on real files, in the spirit of suit-tool.
//!
//! Exit codes: 0 success (or accepted / valid), 1 rejected / invalid, 2 unusable input
//! (with a message on stderr naming the file or argument).

mod inspect;
mod scope;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use icsim_protocol::approval::{self, ApprovalClaims};
use icsim_protocol::author::{self, UpdateSpec};
use icsim_protocol::credential::CredentialClaims;
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};
use icsim_protocol::keys::{KeyAlgorithm, PrivateKey, PublicKey};
use icsim_protocol::suit::{Dependency, Envelope};
use icsim_protocol::time::Instant;
use icsim_protocol::verify::{
    self, CheckLog, Defences, DeviceIdentity, InstalledComponents, VerifyContext,
};

use crate::files::{self, Output};
use crate::rfc3339;

/// The `icsim update` subcommands.
#[derive(Subcommand)]
pub(crate) enum UpdateCommand {
    /// Generate a P-256 key pair: PREFIX.key (private COSE_Key) and PREFIX.pub (public).
    Keygen(KeygenArgs),
    /// Issue an author credential (CWT signed by the operator) with a fine-grained scope.
    Credential(CredentialArgs),
    /// Build, encrypt and sign an update: DIR/envelope.suit and DIR/payload.enc.
    Create(CreateArgs),
    /// Vet an author's envelope and add the operator's approval signature.
    Approve(ApproveArgs),
    /// Verify an envelope (and payload) as a device would; prints one JSON line.
    Verify(VerifyArgs),
    /// Print an envelope, CWT, COSE_Key or COSE_Encrypt in CBOR diagnostic notation.
    Inspect(InspectArgs),
}

/// Arguments of `keygen`.
#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Output prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long)]
    out: PathBuf,
    /// Restrict the key to one algorithm: ES256 (signing) or ECDH-ES+A128KW (key agreement).
    #[arg(long, value_parser = parse_alg)]
    alg: Option<KeyAlgorithm>,
}

/// Arguments of `credential`.
#[derive(Args)]
pub(crate) struct CredentialArgs {
    /// The operator's private signing key (COSE_Key or PEM).
    #[arg(long)]
    operator_key: PathBuf,
    /// The author's public signing key (COSE_Key or PEM).
    #[arg(long)]
    author_pub: PathBuf,
    /// Scope: `types=firmware,library;components=plc-fw;classes=VENDOR/CLASS,VENDOR/*`,
    /// or just a list of types (`firmware,application`); omitted lists mean any.
    #[arg(long)]
    scope: String,
    /// Validity in days from now.
    #[arg(long)]
    valid_days: u32,
    /// The author's name (CWT `sub`).
    #[arg(long, default_value = "author")]
    subject: String,
    /// The operator's name (CWT `iss`).
    #[arg(long, default_value = "operator")]
    issuer: String,
    /// Issue time (RFC 3339); default: now.
    #[arg(long, value_parser = rfc3339::parse)]
    now: Option<u64>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `create`.
#[derive(Args)]
pub(crate) struct CreateArgs {
    /// The author's private signing key.
    #[arg(long)]
    author_key: PathBuf,
    /// The author's credential, issued by the operator.
    #[arg(long)]
    credential: PathBuf,
    /// The operator's public key-agreement key: only the operator can unwrap the CEK.
    #[arg(long)]
    operator_kek: PathBuf,
    /// The plaintext image.
    #[arg(long)]
    payload: PathBuf,
    /// Component name.
    #[arg(long)]
    component: String,
    /// Vendor id (UUID) of the target devices.
    #[arg(long)]
    vendor_id: Uuid,
    /// Class id (UUID) of the target devices.
    #[arg(long)]
    class_id: Uuid,
    /// Sequence number: must exceed the installed one.
    #[arg(long)]
    sequence: u64,
    /// Update type.
    #[arg(long = "type")]
    update_type: UpdateType,
    /// A dependency, `COMPONENT>=N` (repeatable).
    #[arg(long = "depends", value_parser = parse_dependency)]
    depends: Vec<Dependency>,
    /// Payload URI; default `coap://repository/COMPONENT/SEQUENCE`.
    #[arg(long)]
    uri: Option<String>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `approve`.
#[derive(Args)]
pub(crate) struct ApproveArgs {
    /// The operator's private signing key.
    #[arg(long)]
    operator_key: PathBuf,
    /// The author's envelope.
    #[arg(long)]
    envelope: PathBuf,
    /// Approved device class (repeatable); default: the manifest's class.
    #[arg(long = "class-id")]
    class_ids: Vec<Uuid>,
    /// Not to be installed before (RFC 3339).
    #[arg(long, value_parser = rfc3339::parse)]
    not_before: Option<u64>,
    /// Not to be installed at or after (RFC 3339).
    #[arg(long, value_parser = rfc3339::parse)]
    not_after: Option<u64>,
    /// Approval identifier (e.g. a change ticket); default derived from the manifest digest.
    #[arg(long)]
    approval_id: Option<String>,
    /// Vetting time (RFC 3339); default: now.
    #[arg(long, value_parser = rfc3339::parse)]
    now: Option<u64>,
    /// Output envelope.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `verify`.
#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The operator's public signing key: the device's trust anchor.
    #[arg(long)]
    trust: PathBuf,
    /// The envelope.
    #[arg(long)]
    envelope: PathBuf,
    /// The device's vendor id.
    #[arg(long)]
    vendor_id: Uuid,
    /// The device's class id.
    #[arg(long)]
    class_id: Uuid,
    /// An installed component, `COMPONENT=SEQUENCE` (repeatable).
    #[arg(long = "installed", value_parser = parse_installed)]
    installed: Vec<(ComponentId, u64)>,
    /// The encrypted payload, to verify it too.
    #[arg(long, requires = "operator_kek")]
    payload: Option<PathBuf>,
    /// The operator's private key-agreement key, to release the CEK as the UM would.
    #[arg(long, requires = "payload")]
    operator_kek: Option<PathBuf>,
    /// Verification time (RFC 3339); default: now.
    #[arg(long, value_parser = rfc3339::parse)]
    now: Option<u64>,
}

/// Arguments of `inspect`.
#[derive(Args)]
pub(crate) struct InspectArgs {
    /// The file (binary CBOR, or hex text).
    file: PathBuf,
    /// Check every signature with this public key (COSE_Key or PEM).
    #[arg(long)]
    verify_key: Option<PathBuf>,
}

/// Run one `icsim update` subcommand.
pub(crate) fn run(cmd: UpdateCommand) -> Result<ExitCode> {
    match cmd {
        UpdateCommand::Keygen(a) => keygen(a),
        UpdateCommand::Credential(a) => credential(a),
        UpdateCommand::Create(a) => create(a),
        UpdateCommand::Approve(a) => approve(a),
        UpdateCommand::Verify(a) => verify(a),
        UpdateCommand::Inspect(a) => inspect::run(&a.file, a.verify_key.as_deref()),
    }
}

fn keygen(a: KeygenArgs) -> Result<ExitCode> {
    let key = PrivateKey::generate(&mut rand::rng(), a.alg);
    let mut out = Output::default();
    out.add(with_suffix(&a.out, "key"), key.to_cose_key());
    out.add(with_suffix(&a.out, "pub"), key.public_key().to_cose_key());
    for path in out.commit()? {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn credential(a: CredentialArgs) -> Result<ExitCode> {
    let operator = private_key(&a.operator_key)?;
    let author = public_key(&a.author_pub)?;
    let scope = scope::parse(&a.scope).context("--scope")?;
    let now = a.now.unwrap_or_else(wall_clock);
    let claims = CredentialClaims {
        issuer: a.issuer,
        subject: a.subject,
        issued_at: now,
        expires_at: now + u64::from(a.valid_days) * 86_400,
        author_key: author,
        scope,
    };
    let mut out = Output::default();
    out.add(&a.out, claims.issue(&operator));
    out.commit()?;
    println!(
        "wrote {} (valid until {})",
        a.out.display(),
        rfc3339::format(claims.expires_at)
    );
    Ok(ExitCode::SUCCESS)
}

fn create(a: CreateArgs) -> Result<ExitCode> {
    let author_key = private_key(&a.author_key)?;
    let credential = files::read_cbor(&a.credential)?;
    let kek = public_key(&a.operator_kek)?;
    let payload = files::read(&a.payload)?;
    let spec = UpdateSpec {
        component: ComponentId::named(&a.component),
        vendor_id: a.vendor_id,
        class_id: a.class_id,
        sequence_number: a.sequence,
        update_type: a.update_type,
        dependencies: a.depends,
        payload_uri: a
            .uri
            .unwrap_or_else(|| format!("coap://repository/{}/{}", a.component, a.sequence)),
        encrypt: true,
    };
    let built = author::create_update(
        &mut rand::rng(),
        &author_key,
        &credential,
        &kek,
        &payload,
        &spec,
    )
    .with_context(|| {
        format!(
            "cannot build the update (credential {})",
            a.credential.display()
        )
    })?;
    let envelope = built.envelope.encode();
    let mut out = Output::default();
    out.add(a.out.join("envelope.suit"), envelope.clone());
    out.add(a.out.join("payload.enc"), built.payload.clone());
    out.commit()?;
    println!(
        "wrote {} ({} bytes) and {} ({} bytes)",
        a.out.join("envelope.suit").display(),
        envelope.len(),
        a.out.join("payload.enc").display(),
        built.payload.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn approve(a: ApproveArgs) -> Result<ExitCode> {
    let operator = private_key(&a.operator_key)?;
    let bytes = files::read_cbor(&a.envelope)?;
    let now = a.now.unwrap_or_else(wall_clock);
    let (log, vetted) =
        verify::vet_update(&bytes, operator.public_key(), Instant::from_unix_secs(now));
    let mut envelope: Envelope = match vetted {
        Ok(env) => env,
        Err(rejection) => {
            eprintln!("refusing to approve {}: {rejection}", a.envelope.display());
            println!("{}", verdict_json(false, Some(rejection.code()), &log));
            return Ok(ExitCode::from(1));
        }
    };
    let manifest = envelope.manifest();
    let classes = if a.class_ids.is_empty() {
        vec![
            manifest
                .parameters
                .class_id
                .context("the manifest has no class-id")?,
        ]
    } else {
        a.class_ids
    };
    if let (Some(nbf), Some(naf)) = (a.not_before, a.not_after)
        && nbf >= naf
    {
        bail!("--not-before must be earlier than --not-after");
    }
    let approval_id = a
        .approval_id
        .map(String::into_bytes)
        .unwrap_or_else(|| envelope.digest().bytes.iter().take(8).copied().collect());
    let claims = ApprovalClaims {
        classes,
        not_before: a.not_before,
        not_after: a.not_after,
        approval_id,
    };
    approval::approve(&mut envelope, &operator, &claims)?;
    let mut out = Output::default();
    let encoded = envelope.encode();
    let size = encoded.len();
    out.add(&a.out, encoded);
    out.commit()?;
    println!("wrote {} ({size} bytes)", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let trust = public_key(&a.trust)?;
    let bytes = files::read_cbor(&a.envelope)?;
    let payload = a.payload.as_deref().map(files::read).transpose()?;
    let kek = a.operator_kek.as_deref().map(private_key).transpose()?;
    let mut installed = InstalledComponents::new();
    for (component, seq) in a.installed {
        installed.set(component, seq);
    }
    let ctx = VerifyContext {
        trust_anchor: &trust,
        device: DeviceIdentity {
            vendor_id: a.vendor_id,
            class_id: a.class_id,
        },
        installed: &installed,
        now: Instant::from_unix_secs(a.now.unwrap_or_else(wall_clock)),
        token_types: None,
        defences: Defences::default(),
    };
    let verdict = verify::verify_envelope(&bytes, &ctx);
    let mut log = verdict.log;
    let result = match (verdict.result, payload, kek) {
        (Ok(verified), Some(payload), Some(kek)) => {
            // The UM's part: release the CEK; then the device decrypts and checks.
            let cek = author::unwrap_cek(verified.envelope(), &kek).with_context(|| {
                format!(
                    "cannot unwrap the CEK with {}",
                    a.operator_kek.as_deref().unwrap_or(Path::new("")).display()
                )
            })?;
            let (payload_log, result) =
                verify::verify_payload(verified, Some(&cek), &payload, Defences::default());
            log.0.extend(payload_log.0);
            result.map(|_| ())
        }
        (result, _, _) => result.map(|_| ()),
    };
    let reason = result.as_ref().err().map(|r| r.code());
    println!("{}", verdict_json(result.is_ok(), reason, &log));
    if let Err(r) = &result {
        eprintln!("rejected: {r}");
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn verdict_json(accepted: bool, reason: Option<&str>, log: &CheckLog) -> String {
    let checks: Vec<serde_json::Value> = log
        .0
        .iter()
        .map(|(c, o)| serde_json::json!({"check": c.name(), "result": o.name()}))
        .collect();
    serde_json::json!({"accepted": accepted, "reason": reason, "checks": checks}).to_string()
}

/// The system clock, read only here in the binary (libraries take time as an argument).
fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn private_key(path: &Path) -> Result<PrivateKey> {
    PrivateKey::from_file_bytes(&files::read(path)?)
        .with_context(|| format!("{}: not a usable private key", path.display()))
}

fn public_key(path: &Path) -> Result<PublicKey> {
    PublicKey::from_file_bytes(&files::read(path)?)
        .with_context(|| format!("{}: not a usable public key", path.display()))
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn parse_alg(s: &str) -> Result<KeyAlgorithm, String> {
    match s.to_ascii_uppercase().as_str() {
        "ES256" => Ok(KeyAlgorithm::Es256),
        "ECDH-ES+A128KW" | "ECDH-ES-A128KW" => Ok(KeyAlgorithm::EcdhEsA128Kw),
        _ => Err(format!("unknown algorithm {s:?} (ES256 or ECDH-ES+A128KW)")),
    }
}

fn parse_dependency(s: &str) -> Result<Dependency, String> {
    let (name, min) = s
        .split_once(">=")
        .ok_or_else(|| format!("expected COMPONENT>=N, got {s:?}"))?;
    let min_sequence = min
        .trim()
        .parse()
        .map_err(|_| format!("not a sequence number in {s:?}"))?;
    if name.trim().is_empty() {
        return Err(format!("empty component name in {s:?}"));
    }
    Ok(Dependency {
        component: ComponentId::named(name.trim()),
        min_sequence,
    })
}

fn parse_installed(s: &str) -> Result<(ComponentId, u64), String> {
    let (name, seq) = s
        .split_once('=')
        .ok_or_else(|| format!("expected COMPONENT=N, got {s:?}"))?;
    let seq = seq
        .trim()
        .parse()
        .map_err(|_| format!("not a sequence number in {s:?}"))?;
    if name.trim().is_empty() {
        return Err(format!("empty component name in {s:?}"));
    }
    Ok((ComponentId::named(name.trim()), seq))
}
