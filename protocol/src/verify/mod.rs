//! Device-side verification of an update (DESIGN.md section 1.5).
//!
//! [`verify_envelope`] runs the envelope checks in order and stops at the first failure,
//! returning a typed [`Rejection`]; [`verify_payload`] continues with the payload once the
//! CEK has arrived. Every check that passes leaves a proof token (module [`proof`]), and a
//! [`VerifiedImage`] — the only thing an install can take — holds all of them.
//!
//! # Ablation switches
//!
//! [`Defences`] has one switch per defence of `ATTACKS.md`, all on by default. A switch
//! that is off skips its envelope or payload check in exactly one place, `Verifier::run`,
//! where the check is recorded as [`CheckOutcome::DangerSkipped`] instead of run (with
//! `payload_digest` off, the payload is still decrypted, but without checking its tag).
//! The switches that act outside these checks (token, OSCORE, key delivery and download
//! bound) are listed in the module `defences`; each weakens one marked place.

mod defences;
pub mod proof;
mod reason;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use defences::{Defences, UnknownDefence};
pub use reason::{Check, CheckOutcome, Rejection};

use crate::approval::ApprovalClaims;
use crate::cose::{self, Cek, HEADER_KCWT};
use crate::credential::{self, CredentialClaims, CredentialError};
use crate::ids::{ComponentId, UpdateType, Uuid};
use crate::keys::PublicKey;
use crate::memo::{CryptoMemo, SharedBytes};
use crate::suit::{Digest, Envelope};
use crate::time::Instant;
use proof::*;

/// The sequence number installed per component (state that survives reboots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledComponents(BTreeMap<ComponentId, u64>);

impl InstalledComponents {
    /// No components installed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `component` as installed at `sequence`.
    pub fn set(&mut self, component: ComponentId, sequence: u64) {
        self.0.insert(component, sequence);
    }

    /// Forget `component` (it was never installed, or its image was removed).
    pub fn remove(&mut self, component: &ComponentId) {
        self.0.remove(component);
    }

    /// The installed sequence number of `component`.
    pub fn sequence(&self, component: &ComponentId) -> Option<u64> {
        self.0.get(component).copied()
    }

    /// All installed components, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = (&ComponentId, u64)> {
        self.0.iter().map(|(c, s)| (c, *s))
    }
}

/// The device's identity as SUIT conditions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The device vendor.
    pub vendor_id: Uuid,
    /// The device class.
    pub class_id: Uuid,
}

/// Everything the device knows when it verifies an envelope.
#[derive(Debug, Clone, Copy)]
pub struct VerifyContext<'a> {
    /// The operator's public signing key: the device's only trust anchor.
    pub trust_anchor: &'a PublicKey,
    /// This device.
    pub device: DeviceIdentity,
    /// What is installed.
    pub installed: &'a InstalledComponents,
    /// The current time.
    pub now: Instant,
    /// The update types the session's access token permits; `None` when there is no
    /// session (file tools), in which case the token-scope check is not applicable.
    pub token_types: Option<&'a [UpdateType]>,
    /// Which defences are on.
    pub defences: Defences,
}

/// The record of the checks run so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckLog(pub Vec<(Check, CheckOutcome)>);

/// The outcome of envelope verification: the checks run and the verdict.
#[derive(Debug)]
pub struct EnvelopeVerdict {
    /// Each check run, in order.
    pub log: CheckLog,
    /// The verified envelope, or why it was rejected.
    pub result: Result<VerifiedEnvelope, Rejection>,
}

/// An envelope that passed every envelope check on this device.
#[derive(Debug, Clone)]
pub struct VerifiedEnvelope {
    /// Shared by every device that verified the same bytes (see [`CryptoMemo::envelope`]).
    envelope: Arc<Envelope>,
    component: ComponentId,
    update_type: UpdateType,
    image_digest: Digest,
    image_size: u64,
    author: Option<Arc<CredentialClaims>>,
    approval: Option<ApprovalClaims>,
    proofs: EnvelopeProofs,
}

/// The proofs of the envelope checks.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeProofs {
    /// Manifest digest.
    pub digest: DigestMatches,
    /// Operator approval.
    pub approval: ApprovalValid,
    /// Author credential.
    pub credential: CredentialValid,
    /// Author signature.
    pub author_signature: AuthorSignatureValid,
    /// Author scope.
    pub scope: ScopeCovers,
    /// Vendor and class.
    pub device: DeviceMatches,
    /// Anti-rollback.
    pub not_rollback: NotRollback,
    /// Approval window.
    pub window: WithinApprovalWindow,
    /// Token scope.
    pub token_scope: TokenScopeCovers,
    /// Dependencies.
    pub dependencies: DependenciesMet,
}

impl VerifiedEnvelope {
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// The component the update installs.
    pub fn component(&self) -> &ComponentId {
        &self.component
    }
    /// The sequence number it installs.
    pub fn sequence_number(&self) -> u64 {
        self.envelope.manifest().sequence_number
    }
    /// The update type.
    pub fn update_type(&self) -> UpdateType {
        self.update_type
    }
    /// The plaintext image size.
    pub fn image_size(&self) -> u64 {
        self.image_size
    }
    /// The size of the payload as distributed (ciphertext and tag when encrypted).
    pub fn payload_size(&self) -> u64 {
        let tag = if self
            .envelope
            .manifest()
            .parameters
            .encryption_info
            .is_some()
        {
            16
        } else {
            0
        };
        self.image_size.saturating_add(tag)
    }
    /// The author's verified credential claims (absent only if that defence is off).
    pub fn author(&self) -> Option<&CredentialClaims> {
        self.author.as_deref()
    }
    /// The verified approval claims (absent only if that defence is off).
    pub fn approval(&self) -> Option<&ApprovalClaims> {
        self.approval.as_ref()
    }
    /// The proofs.
    pub fn proofs(&self) -> EnvelopeProofs {
        self.proofs
    }
}

/// A decrypted image that passed every check: the only input to staging and install.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    envelope: VerifiedEnvelope,
    image: Arc<[u8]>,
    /// Payload size.
    pub size: PayloadSizeMatches,
    /// Decryption.
    pub decrypted: PayloadDecrypted,
    /// Payload digest.
    pub digest: PayloadDigestMatches,
    /// The image's SHA-256 as the digest check computed it (`None` if that check was
    /// switched off), so that staging need not hash the image again.
    sha256: Option<[u8; 32]>,
}

impl VerifiedImage {
    /// The envelope it belongs to.
    pub fn envelope(&self) -> &VerifiedEnvelope {
        &self.envelope
    }
    /// The plaintext image.
    pub fn image(&self) -> &[u8] {
        &self.image
    }
    /// The plaintext image as a shared buffer.
    pub fn shared_image(&self) -> &Arc<[u8]> {
        &self.image
    }
    /// The image's SHA-256: the one the digest check computed, or, with that check
    /// switched off, computed now (through `memo`).
    pub fn sha256(&self, memo: &CryptoMemo) -> [u8; 32] {
        self.sha256.unwrap_or_else(|| memo.sha256(&self.image))
    }
}

/// Runs checks in order and records them; the one place where a defence can be off.
struct Verifier {
    defences: Defences,
    log: CheckLog,
    memo: CryptoMemo,
}

impl Verifier {
    /// Run `check` unless its defence is off. DANGER: with the defence off, the check is
    /// skipped and counted as passed; for ablation studies only.
    fn run<T>(
        &mut self,
        check: Check,
        f: impl FnOnce() -> Result<T, Rejection>,
    ) -> Result<Option<T>, Rejection> {
        self.run_or(check, f, || Ok(None))
    }

    /// Run `check` unless its defence is off; with it off, run `unchecked` instead, the
    /// same work without the check (e.g. decryption without the tag check), and record the
    /// check as [`CheckOutcome::DangerSkipped`] (or as failed, if even that fails). This is
    /// the only place where an envelope or payload check is weakened.
    fn run_or<T>(
        &mut self,
        check: Check,
        f: impl FnOnce() -> Result<T, Rejection>,
        unchecked: impl FnOnce() -> Result<Option<T>, Rejection>,
    ) -> Result<Option<T>, Rejection> {
        // DANGER(ablation: payload_digest, operator_approval, author_signature, author_scope, device_match, anti_rollback, approval_window, token_scope, dependencies, payload_size)
        if !self.defences.enabled(check) {
            let result = unchecked();
            let outcome = match result {
                Ok(_) => CheckOutcome::DangerSkipped,
                Err(_) => CheckOutcome::Failed,
            };
            self.log.0.push((check, outcome));
            return result;
        }
        match f() {
            Ok(v) => {
                self.log.0.push((check, CheckOutcome::Passed));
                Ok(Some(v))
            }
            Err(e) => {
                self.log.0.push((check, CheckOutcome::Failed));
                Err(e)
            }
        }
    }
}

/// Verify an envelope's bytes on a device, checks in the order of DESIGN.md section 1.5.
pub fn verify_envelope(bytes: &[u8], ctx: &VerifyContext<'_>) -> EnvelopeVerdict {
    verify_envelope_memo(bytes, ctx, &CryptoMemo::disabled())
}

/// [`verify_envelope`] with signature verifications answered from a run-wide `memo` when
/// the very same verification was done before (exact: same key, bytes and signature).
pub fn verify_envelope_memo(
    bytes: &[u8],
    ctx: &VerifyContext<'_>,
    memo: &CryptoMemo,
) -> EnvelopeVerdict {
    let mut v = Verifier {
        defences: ctx.defences,
        log: CheckLog::default(),
        memo: memo.clone(),
    };
    let result = verify_envelope_checks(&mut v, bytes, ctx);
    EnvelopeVerdict { log: v.log, result }
}

fn verify_envelope_checks(
    v: &mut Verifier,
    bytes: &[u8],
    ctx: &VerifyContext<'_>,
) -> Result<VerifiedEnvelope, Rejection> {
    let memo = v.memo.clone();
    let decoded = v.run(Check::Decode, || decode_profile(bytes, &memo))?;
    // Decode cannot be switched off, so `decoded` is always present.
    let Some(p) = decoded else {
        return Err(Rejection::MalformedEnvelope("decode skipped".into()));
    };
    let env = &p.envelope;

    v.run(Check::ManifestDigest, || {
        env.digests_match()
            .then_some(())
            .ok_or(Rejection::ManifestDigestMismatch)
    })?;

    let approval = v.run(Check::OperatorApproval, || {
        check_approval(env, ctx.trust_anchor, &memo)
    })?;

    let credential = author_checks(v, &p, ctx.trust_anchor, ctx.now)?;

    v.run(Check::DeviceMatch, || {
        if p.vendor_id != ctx.device.vendor_id {
            return Err(Rejection::VendorMismatch);
        }
        if p.class_id != ctx.device.class_id {
            return Err(Rejection::ClassMismatch);
        }
        Ok(())
    })?;

    let offered = env.manifest().sequence_number;
    v.run(Check::AntiRollback, || {
        match ctx.installed.sequence(&p.component) {
            Some(installed) if installed >= offered => {
                Err(Rejection::Rollback { installed, offered })
            }
            _ => Ok(()),
        }
    })?;

    v.run(Check::ApprovalWindow, || {
        // No claims only when the approval check was switched off (ablation): nothing to
        // hold the device's class and the time against.
        match approval.as_ref() {
            Some(claims) => check_window(claims, ctx),
            None => Ok(()),
        }
    })?;

    if let Some(types) = ctx.token_types {
        v.run(Check::TokenScope, || {
            types
                .contains(&p.update_type)
                .then_some(())
                .ok_or(Rejection::TokenScopeInsufficient(
                    p.update_type.name().into(),
                ))
        })?;
    }

    v.run(Check::Dependencies, || {
        for dep in &env.manifest().dependencies {
            let installed = ctx.installed.sequence(&dep.component);
            if installed.is_none_or(|s| s < dep.min_sequence) {
                return Err(Rejection::dependency(
                    &dep.component,
                    dep.min_sequence,
                    installed,
                ));
            }
        }
        Ok(())
    })?;

    Ok(VerifiedEnvelope {
        component: p.component.clone(),
        update_type: p.update_type,
        image_digest: p.image_digest.clone(),
        image_size: p.image_size,
        author: credential.map(|(_, c)| c),
        approval,
        envelope: p.envelope,
        proofs: EnvelopeProofs {
            digest: DigestMatches(()),
            approval: ApprovalValid(()),
            credential: CredentialValid(()),
            author_signature: AuthorSignatureValid(()),
            scope: ScopeCovers(()),
            device: DeviceMatches(()),
            not_rollback: NotRollback(()),
            window: WithinApprovalWindow(()),
            token_scope: TokenScopeCovers(()),
            dependencies: DependenciesMet(()),
        },
    })
}

/// The checks of the author's part (credential, signature, scope), shared by the device
/// and by the operator's vetting before approval.
fn author_checks<'p>(
    v: &mut Verifier,
    p: &'p Profiled,
    anchor: &PublicKey,
    now: Instant,
) -> Result<Option<(&'p coset::CoseSign1, Arc<CredentialClaims>)>, Rejection> {
    let env = &p.envelope;
    let memo = v.memo.clone();
    let credential = v.run(Check::AuthorCredential, || {
        check_credential(env, anchor, now, &memo)
    })?;

    v.run(Check::AuthorSignature, || {
        let (sig, claims) = credential.as_ref().ok_or(Rejection::CredentialMissing)?;
        cose::verify_sign1_memo(sig, Some(env.signed_payload()), &claims.author_key, &memo)
            .then_some(())
            .ok_or(Rejection::AuthorSignatureInvalid)
    })?;

    v.run(Check::AuthorScope, || {
        // No claims only when the credential check was switched off (ablation): then there
        // is no trustworthy scope to hold the update against.
        let Some((_, claims)) = credential.as_ref() else {
            return Ok(());
        };
        let scope = &claims.scope;
        if !scope.covers_type(p.update_type) {
            return Err(Rejection::ScopeExcludesType(p.update_type.name().into()));
        }
        if !scope.covers_component(&p.component) {
            return Err(Rejection::ScopeExcludesComponent(p.component.to_string()));
        }
        if !scope.covers_class(p.vendor_id, p.class_id) {
            return Err(Rejection::ScopeExcludesDeviceClass);
        }
        Ok(())
    })?;
    Ok(credential)
}

/// The operator's vetting of an author's update before approving it (DESIGN.md step 5):
/// the envelope decodes in icsim's profile, its digest matches, the author credential was
/// issued by `operator` and is valid at `now`, the author signature verifies, and the scope
/// covers the update. All defences are on. Returns the checks run and the envelope.
pub fn vet_update(
    bytes: &[u8],
    operator: &PublicKey,
    now: Instant,
) -> (CheckLog, Result<Envelope, Rejection>) {
    vet_update_with(bytes, operator, now, Defences::default())
}

/// [`vet_update`] with the operator's defences as given (ablation studies switch the
/// author-signature and author-scope checks off at the operator as at the devices).
pub fn vet_update_with(
    bytes: &[u8],
    operator: &PublicKey,
    now: Instant,
    defences: Defences,
) -> (CheckLog, Result<Envelope, Rejection>) {
    let mut v = Verifier {
        defences,
        log: CheckLog::default(),
        memo: CryptoMemo::disabled(),
    };
    let result = (|| {
        let memo = v.memo.clone();
        let p = v
            .run(Check::Decode, || decode_profile(bytes, &memo))?
            .ok_or_else(|| Rejection::MalformedEnvelope("decode skipped".into()))?;
        v.run(Check::ManifestDigest, || {
            p.envelope
                .digests_match()
                .then_some(())
                .ok_or(Rejection::ManifestDigestMismatch)
        })?;
        author_checks(&mut v, &p, operator, now)?;
        // The memo is disabled: the envelope is this call's alone, and comes out unshared.
        Ok(Arc::unwrap_or_clone(p.envelope))
    })();
    (v.log, result)
}

/// Verify the distributed payload of a verified envelope with the CEK the UM released
/// (`None` for an unencrypted payload). Returns the checks run and the verdict.
pub fn verify_payload(
    envelope: VerifiedEnvelope,
    cek: Option<&Cek>,
    payload: &[u8],
    defences: Defences,
) -> (CheckLog, Result<VerifiedImage, Rejection>) {
    let payload = SharedBytes::from(payload.to_vec());
    verify_payload_memo(envelope, cek, &payload, defences, &CryptoMemo::disabled())
}

/// [`verify_payload`] on a payload held as shared blocks, with the decryption and the
/// image digest answered from a run-wide `memo` when the very same computation was done
/// before (exact: same key, structure and block buffers; see [`crate::memo`]).
pub fn verify_payload_memo(
    envelope: VerifiedEnvelope,
    cek: Option<&Cek>,
    payload: &SharedBytes,
    defences: Defences,
    memo: &CryptoMemo,
) -> (CheckLog, Result<VerifiedImage, Rejection>) {
    let mut v = Verifier {
        defences,
        log: CheckLog::default(),
        memo: memo.clone(),
    };
    let result = verify_payload_checks(&mut v, envelope, cek, payload);
    (v.log, result)
}

fn verify_payload_checks(
    v: &mut Verifier,
    envelope: VerifiedEnvelope,
    cek: Option<&Cek>,
    payload: &SharedBytes,
) -> Result<VerifiedImage, Rejection> {
    // Size first: it bounds the work before any decryption (endless-data attacks).
    let expected = envelope.payload_size();
    v.run(Check::PayloadSize, || {
        let got = payload.len() as u64;
        (got == expected)
            .then_some(())
            .ok_or(Rejection::PayloadSizeMismatch { expected, got })
    })?;
    let info = envelope
        .envelope
        .manifest()
        .parameters
        .encryption_info
        .clone();
    let memo = v.memo.clone();
    let decrypt = |authenticated: bool| -> Result<Arc<[u8]>, Rejection> {
        let Some(info) = &info else {
            return Ok(Arc::from(payload.to_vec()));
        };
        let structure =
            cose::decode_encrypt(info).map_err(|_| Rejection::PayloadDecryptionFailed)?;
        let cek = cek.ok_or(Rejection::PayloadDecryptionFailed)?;
        let plain = if authenticated {
            memo.decrypt_payload(cek.as_bytes(), info, payload, |ciphertext| {
                cose::decrypt_detached_shared(&structure, cek, ciphertext).ok()
            })
        } else {
            // The weakened path of the ablation (see `Verifier::run_or`): never memoised.
            cose::danger_decrypt_detached_unauthenticated(&structure, cek, &payload.to_vec())
                .ok()
                .map(Arc::from)
        };
        plain.ok_or(Rejection::PayloadDecryptionFailed)
    };
    let image = v
        .run_or(
            Check::PayloadDecryption,
            || decrypt(true),
            || decrypt(false).map(Some),
        )?
        .unwrap_or_else(|| Arc::from(Vec::new()));
    let sha256 = v.run(Check::PayloadDigest, || {
        let sha256 = memo.sha256(&image);
        if !envelope.image_digest.is_sha256(&sha256) {
            return Err(Rejection::PayloadDigestMismatch);
        }
        if image.len() as u64 != envelope.image_size {
            return Err(Rejection::PayloadSizeMismatch {
                expected: envelope.image_size,
                got: image.len() as u64,
            });
        }
        Ok(sha256)
    })?;
    Ok(VerifiedImage {
        envelope,
        image,
        size: PayloadSizeMatches(()),
        decrypted: PayloadDecrypted(()),
        digest: PayloadDigestMatches(()),
        sha256,
    })
}

/// An envelope decoded and checked against icsim's profile.
struct Profiled {
    envelope: Arc<Envelope>,
    component: ComponentId,
    update_type: UpdateType,
    vendor_id: Uuid,
    class_id: Uuid,
    image_digest: Digest,
    image_size: u64,
}

fn decode_profile(bytes: &[u8], memo: &CryptoMemo) -> Result<Profiled, Rejection> {
    let envelope = memo
        .envelope(bytes, Envelope::decode)
        .map_err(|e| Rejection::MalformedEnvelope(e.to_string()))?;
    let m = envelope.manifest();
    let component = match m.components.as_slice() {
        [one] => one.clone(),
        _ => return Err(Rejection::ManifestIncomplete("single component")),
    };
    let update_type = m
        .update_type
        .ok_or(Rejection::ManifestIncomplete("update type"))?;
    let params = &m.parameters;
    let vendor_id = params
        .vendor_id
        .ok_or(Rejection::ManifestIncomplete("vendor-id"))?;
    let class_id = params
        .class_id
        .ok_or(Rejection::ManifestIncomplete("class-id"))?;
    let image_digest = params
        .image_digest
        .clone()
        .ok_or(Rejection::ManifestIncomplete("image-digest"))?;
    let image_size = params
        .image_size
        .ok_or(Rejection::ManifestIncomplete("image-size"))?;
    Ok(Profiled {
        component,
        update_type,
        vendor_id,
        class_id,
        image_digest,
        image_size,
        envelope,
    })
}

fn check_approval(
    env: &Envelope,
    anchor: &PublicKey,
    memo: &CryptoMemo,
) -> Result<ApprovalClaims, Rejection> {
    let mut seen = false;
    for sig in env.signatures() {
        let Some(claims) = ApprovalClaims::from_header(&sig.sign1.protected.header) else {
            continue;
        };
        seen = true;
        if let Ok(claims) = claims
            && cose::verify_sign1_memo(&sig.sign1, Some(env.signed_payload()), anchor, memo)
        {
            return Ok(claims);
        }
    }
    Err(if seen {
        Rejection::ApprovalSignatureInvalid
    } else {
        Rejection::ApprovalMissing
    })
}

fn check_credential<'e>(
    env: &'e Envelope,
    anchor: &PublicKey,
    now: Instant,
    memo: &CryptoMemo,
) -> Result<(&'e coset::CoseSign1, Arc<CredentialClaims>), Rejection> {
    let sig = env
        .signatures()
        .iter()
        .find(|s| cose::header_param(&s.sign1.protected.header, HEADER_KCWT).is_some())
        .ok_or(Rejection::CredentialMissing)?;
    let kcwt = cose::header_param(&sig.sign1.protected.header, HEADER_KCWT)
        .ok_or(Rejection::CredentialMissing)?;
    let bytes = crate::cbor::encode(kcwt);
    match credential::verify_credential_memo(&bytes, anchor, now, memo) {
        Ok(verified) => Ok((&sig.sign1, verified.into_claims())),
        Err(CredentialError::BadSignature) => Err(Rejection::CredentialSignatureInvalid),
        Err(CredentialError::Expired { .. } | CredentialError::NotYetValid { .. }) => {
            Err(Rejection::CredentialExpired)
        }
        Err(e) => Err(Rejection::CredentialMalformed(e.to_string())),
    }
}

fn check_window(claims: &ApprovalClaims, ctx: &VerifyContext<'_>) -> Result<(), Rejection> {
    if !claims.classes.contains(&ctx.device.class_id) {
        return Err(Rejection::ApprovalClassNotApproved);
    }
    let now = ctx.now.unix_secs();
    if let Some(nbf) = claims.not_before
        && now < nbf
    {
        return Err(Rejection::ApprovalNotYetValid(nbf));
    }
    if let Some(naf) = claims.not_after
        && now >= naf
    {
        return Err(Rejection::ApprovalExpired(naf));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
