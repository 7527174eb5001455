//! The checks a device runs and the reasons it rejects, each distinct and named.

use core::fmt;

use crate::ids::ComponentId;

/// One check of the device's verification, in the order of DESIGN.md section 1.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The envelope decodes and follows icsim's profile.
    Decode,
    /// The manifest digest.
    ManifestDigest,
    /// The operator's approval signature.
    OperatorApproval,
    /// The author credential (signature by the operator, expiry).
    AuthorCredential,
    /// The author's signature.
    AuthorSignature,
    /// The credential's scope.
    AuthorScope,
    /// Vendor and class conditions.
    DeviceMatch,
    /// Anti-rollback per component.
    AntiRollback,
    /// The approval's classes and validity window.
    ApprovalWindow,
    /// The access token's scope (session level).
    TokenScope,
    /// Dependencies on installed components.
    Dependencies,
    /// The payload's size.
    PayloadSize,
    /// Decryption of the payload.
    PayloadDecryption,
    /// The payload's digest.
    PayloadDigest,
}

impl Check {
    /// Every check, in verification order.
    pub const ALL: [Check; 14] = [
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
        Check::PayloadSize,
        Check::PayloadDecryption,
        Check::PayloadDigest,
    ];

    /// A stable snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Decode => "decode",
            Check::ManifestDigest => "manifest_digest",
            Check::OperatorApproval => "operator_approval",
            Check::AuthorCredential => "author_credential",
            Check::AuthorSignature => "author_signature",
            Check::AuthorScope => "author_scope",
            Check::DeviceMatch => "device_match",
            Check::AntiRollback => "anti_rollback",
            Check::ApprovalWindow => "approval_window",
            Check::TokenScope => "token_scope",
            Check::Dependencies => "dependencies",
            Check::PayloadSize => "payload_size",
            Check::PayloadDecryption => "payload_decryption",
            Check::PayloadDigest => "payload_digest",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// It ran and passed.
    Passed,
    /// It ran and failed: the verification stops here.
    Failed,
    /// Deliberately not run: its defence is switched off (ablation study).
    DangerSkipped,
}

impl CheckOutcome {
    /// A stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::DangerSkipped => "skipped_defence_off",
        }
    }
}

/// Why a device rejected an update. Each variant belongs to one [`Check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The envelope does not decode.
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    /// The manifest lacks something icsim's profile requires.
    #[error("manifest incomplete: no {0}")]
    ManifestIncomplete(&'static str),
    /// The digest in the authentication wrapper does not match the manifest.
    #[error("manifest digest mismatch")]
    ManifestDigestMismatch,
    /// No operator approval in the authentication wrapper.
    #[error("no operator approval")]
    ApprovalMissing,
    /// An approval is present, but none verifies with the operator's key.
    #[error("operator approval signature does not verify")]
    ApprovalSignatureInvalid,
    /// No author signature carrying a credential.
    #[error("no author signature with a credential (kcwt)")]
    CredentialMissing,
    /// The credential does not decode.
    #[error("author credential malformed: {0}")]
    CredentialMalformed(String),
    /// The credential's signature does not verify with the operator's key.
    #[error("author credential not signed by the operator")]
    CredentialSignatureInvalid,
    /// The credential has expired (or is not valid yet).
    #[error("author credential expired or not yet valid")]
    CredentialExpired,
    /// The author's signature does not verify with the credential's key.
    #[error("author signature does not verify with the credential's key")]
    AuthorSignatureInvalid,
    /// The credential does not permit this update type.
    #[error("author scope does not cover update type {0}")]
    ScopeExcludesType(String),
    /// The credential does not permit this component.
    #[error("author scope does not cover component {0}")]
    ScopeExcludesComponent(String),
    /// The credential does not permit this device class.
    #[error("author scope does not cover this device class")]
    ScopeExcludesDeviceClass,
    /// The manifest's vendor id is not this device's.
    #[error("vendor id mismatch")]
    VendorMismatch,
    /// The manifest's class id is not this device's.
    #[error("class id mismatch")]
    ClassMismatch,
    /// The sequence number is not newer than the installed one.
    #[error("rollback: offered sequence {offered}, installed {installed}")]
    Rollback {
        /// Installed sequence number.
        installed: u64,
        /// Offered sequence number.
        offered: u64,
    },
    /// The approval does not list this device's class.
    #[error("approval does not cover this device class")]
    ApprovalClassNotApproved,
    /// The approval's not-before lies in the future.
    #[error("approval not valid before {0}")]
    ApprovalNotYetValid(u64),
    /// The approval's not-after has passed.
    #[error("approval expired at {0}")]
    ApprovalExpired(u64),
    /// The access token's scope does not permit this update type.
    #[error("access token scope does not permit installing {0}")]
    TokenScopeInsufficient(String),
    /// A dependency is missing or too old.
    #[error("dependency {component} >= {required} not met (installed: {installed:?})")]
    DependencyUnmet {
        /// The component required.
        component: String,
        /// The minimum sequence number.
        required: u64,
        /// What is installed, if anything.
        installed: Option<u64>,
    },
    /// The payload is longer or shorter than the manifest says.
    #[error("payload size mismatch: expected {expected} bytes, got {got}")]
    PayloadSizeMismatch {
        /// Expected size (of what was received: ciphertext with tag, or plaintext).
        expected: u64,
        /// Received size.
        got: u64,
    },
    /// The payload does not decrypt (wrong key or altered ciphertext).
    #[error("payload decryption failed")]
    PayloadDecryptionFailed,
    /// The decrypted payload's digest differs from the manifest's.
    #[error("payload digest mismatch")]
    PayloadDigestMismatch,
}

impl Rejection {
    /// The check that rejects for this reason.
    pub fn check(&self) -> Check {
        use Rejection::*;
        match self {
            MalformedEnvelope(_) | ManifestIncomplete(_) => Check::Decode,
            ManifestDigestMismatch => Check::ManifestDigest,
            ApprovalMissing | ApprovalSignatureInvalid => Check::OperatorApproval,
            CredentialMissing
            | CredentialMalformed(_)
            | CredentialSignatureInvalid
            | CredentialExpired => Check::AuthorCredential,
            AuthorSignatureInvalid => Check::AuthorSignature,
            ScopeExcludesType(_) | ScopeExcludesComponent(_) | ScopeExcludesDeviceClass => {
                Check::AuthorScope
            }
            VendorMismatch | ClassMismatch => Check::DeviceMatch,
            Rollback { .. } => Check::AntiRollback,
            ApprovalClassNotApproved | ApprovalNotYetValid(_) | ApprovalExpired(_) => {
                Check::ApprovalWindow
            }
            TokenScopeInsufficient(_) => Check::TokenScope,
            DependencyUnmet { .. } => Check::Dependencies,
            PayloadSizeMismatch { .. } => Check::PayloadSize,
            PayloadDecryptionFailed => Check::PayloadDecryption,
            PayloadDigestMismatch => Check::PayloadDigest,
        }
    }

    /// A stable snake_case code for reports and the command line.
    pub fn code(&self) -> &'static str {
        use Rejection::*;
        match self {
            MalformedEnvelope(_) => "malformed_envelope",
            ManifestIncomplete(_) => "manifest_incomplete",
            ManifestDigestMismatch => "manifest_digest_mismatch",
            ApprovalMissing => "approval_missing",
            ApprovalSignatureInvalid => "approval_signature_invalid",
            CredentialMissing => "credential_missing",
            CredentialMalformed(_) => "credential_malformed",
            CredentialSignatureInvalid => "credential_signature_invalid",
            CredentialExpired => "credential_expired",
            AuthorSignatureInvalid => "author_signature_invalid",
            ScopeExcludesType(_) => "author_scope_type",
            ScopeExcludesComponent(_) => "author_scope_component",
            ScopeExcludesDeviceClass => "author_scope_device_class",
            VendorMismatch => "vendor_mismatch",
            ClassMismatch => "class_mismatch",
            Rollback { .. } => "rollback",
            ApprovalClassNotApproved => "approval_class_not_approved",
            ApprovalNotYetValid(_) => "approval_not_yet_valid",
            ApprovalExpired(_) => "approval_expired",
            TokenScopeInsufficient(_) => "token_scope",
            DependencyUnmet { .. } => "dependency_unmet",
            PayloadSizeMismatch { .. } => "payload_size_mismatch",
            PayloadDecryptionFailed => "payload_decryption_failed",
            PayloadDigestMismatch => "payload_digest_mismatch",
        }
    }

    pub(super) fn dependency(
        component: &ComponentId,
        required: u64,
        installed: Option<u64>,
    ) -> Self {
        Rejection::DependencyUnmet {
            component: component.to_string(),
            required,
            installed,
        }
    }
}
