//! The defence switches of `ATTACKS.md`, all on by default, each off only in ablation
//! studies.
//!
//! Where each switch acts (every weakened path carries a `DANGER(ablation: NAME)` comment):
//!
//! | switch | weakened path |
//! |---|---|
//! | `payload_digest`, `operator_approval`, `author_signature`, `author_scope`, `device_match`, `anti_rollback`, `approval_window`, `token_scope`, `dependencies`, `payload_size` | the envelope and payload checks, in `Verifier::run` (module [`super`]) |
//! | `payload_digest` | there too: the payload is decrypted without checking the AES-GCM tag ([`crate::cose::danger_decrypt_detached_unauthenticated`]) |
//! | `token_scope` | every scope decision of the device's token store ([`crate::ace::TokenStore::grants`]) |
//! | `payload_size` | the device's download is bounded by its own `max_payload` only, not by the manifest's size |
//! | `token_audience` | the token store's audience checks (`kid` and `aud`) |
//! | `token_expiry` | the token store's `exp` checks (at `authz-info` and on every request) |
//! | `replay_window` | the OSCORE replay check ([`crate::oscore::SecurityContext::danger_disable_replay_protection`]) |
//! | `oscore` | the device serves unprotected requests on its `suit/*` resources |
//! | `payload_encryption` | the UM sends, and the device accepts, the key delivery (`suit/cek`) without OSCORE |

use core::fmt;

use super::Check;

/// The defences a device (and, for `payload_encryption`, the Update Manager) applies; each
/// can be switched off for ablation studies only. `Default` is all on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defences {
    /// Manifest digest, payload digest and the payload's AEAD tag (`payload_digest`).
    pub payload_digest: bool,
    /// Operator approval signature (`operator_approval`).
    pub operator_approval: bool,
    /// Author credential and author signature (`author_signature`).
    pub author_signature: bool,
    /// Author credential scope (`author_scope`).
    pub author_scope: bool,
    /// Vendor and class conditions (`device_match`).
    pub device_match: bool,
    /// Sequence number per component (`anti_rollback`).
    pub anti_rollback: bool,
    /// Approval classes and validity window (`approval_window`).
    pub approval_window: bool,
    /// Access-token scope, for the envelope and for every resource (`token_scope`).
    pub token_scope: bool,
    /// Dependencies (`dependencies`).
    pub dependencies: bool,
    /// Payload size, checked and as the bound of the download (`payload_size`).
    pub payload_size: bool,
    /// Access-token audience (`token_audience`).
    pub token_audience: bool,
    /// Access-token expiry (`token_expiry`).
    pub token_expiry: bool,
    /// The OSCORE replay window (`replay_window`).
    pub replay_window: bool,
    /// OSCORE required on the update resources (`oscore`).
    pub oscore: bool,
    /// The content key only over OSCORE (`payload_encryption`).
    pub payload_encryption: bool,
}

impl Default for Defences {
    fn default() -> Self {
        Defences {
            payload_digest: true,
            operator_approval: true,
            author_signature: true,
            author_scope: true,
            device_match: true,
            anti_rollback: true,
            approval_window: true,
            token_scope: true,
            dependencies: true,
            payload_size: true,
            token_audience: true,
            token_expiry: true,
            replay_window: true,
            oscore: true,
            payload_encryption: true,
        }
    }
}

/// A defence switch name that `ATTACKS.md` does not define (or that is simulator-level,
/// such as `device_timeout`, `retries` and `rate_limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDefence(pub String);

impl fmt::Display for UnknownDefence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown defence `{}` (the protocol's switches are: {})",
            self.0,
            Defences::NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownDefence {}

impl Defences {
    /// Every switch by its `ATTACKS.md` name, in the order of the fields.
    pub const NAMES: [&'static str; 15] = [
        "payload_digest",
        "operator_approval",
        "author_signature",
        "author_scope",
        "device_match",
        "anti_rollback",
        "approval_window",
        "token_scope",
        "dependencies",
        "payload_size",
        "token_audience",
        "token_expiry",
        "replay_window",
        "oscore",
        "payload_encryption",
    ];

    /// Every switch by its `ATTACKS.md` name (see [`Self::NAMES`]).
    pub fn names() -> &'static [&'static str] {
        &Self::NAMES
    }

    /// Whether the switch `name` is on.
    pub fn is_on(&self, name: &str) -> Result<bool, UnknownDefence> {
        let mut copy = *self;
        copy.switch(name).map(|on| *on)
    }

    /// Turn the switch `name` on or off.
    pub fn set(&mut self, name: &str, on: bool) -> Result<(), UnknownDefence> {
        *self.switch(name)? = on;
        Ok(())
    }

    /// The names of the switches that are off, in the order of [`Self::NAMES`] (for
    /// reports; empty for the default).
    pub fn off(&self) -> Vec<&'static str> {
        Self::NAMES
            .into_iter()
            .filter(|name| self.is_on(name) == Ok(false))
            .collect()
    }

    /// Whether the defence behind `check` is on. Decoding cannot be switched off; the
    /// authenticated decryption of the payload belongs to `payload_digest` (with it off the
    /// payload is decrypted without its tag being checked).
    pub(super) fn enabled(&self, check: Check) -> bool {
        match check {
            Check::Decode => true,
            Check::ManifestDigest | Check::PayloadDecryption | Check::PayloadDigest => {
                self.payload_digest
            }
            Check::OperatorApproval => self.operator_approval,
            Check::AuthorCredential | Check::AuthorSignature => self.author_signature,
            Check::AuthorScope => self.author_scope,
            Check::DeviceMatch => self.device_match,
            Check::AntiRollback => self.anti_rollback,
            Check::ApprovalWindow => self.approval_window,
            Check::TokenScope => self.token_scope,
            Check::Dependencies => self.dependencies,
            Check::PayloadSize => self.payload_size,
        }
    }

    fn switch(&mut self, name: &str) -> Result<&mut bool, UnknownDefence> {
        Ok(match name {
            "payload_digest" => &mut self.payload_digest,
            "operator_approval" => &mut self.operator_approval,
            "author_signature" => &mut self.author_signature,
            "author_scope" => &mut self.author_scope,
            "device_match" => &mut self.device_match,
            "anti_rollback" => &mut self.anti_rollback,
            "approval_window" => &mut self.approval_window,
            "token_scope" => &mut self.token_scope,
            "dependencies" => &mut self.dependencies,
            "payload_size" => &mut self.payload_size,
            "token_audience" => &mut self.token_audience,
            "token_expiry" => &mut self.token_expiry,
            "replay_window" => &mut self.replay_window,
            "oscore" => &mut self.oscore,
            "payload_encryption" => &mut self.payload_encryption,
            _ => return Err(UnknownDefence(name.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_sets_exactly_its_own_switch() {
        assert!(Defences::default().off().is_empty());
        let mut all_off = Defences::default();
        for name in Defences::names() {
            let mut d = Defences::default();
            assert_eq!(d.is_on(name), Ok(true));
            d.set(name, false).unwrap();
            assert_eq!(d.off(), vec![*name]);
            assert_ne!(d, Defences::default());
            d.set(name, true).unwrap();
            assert_eq!(d, Defences::default());
            all_off.set(name, false).unwrap();
        }
        // Listing every field: adding a switch without a name fails to compile or here.
        let expected = Defences {
            payload_digest: false,
            operator_approval: false,
            author_signature: false,
            author_scope: false,
            device_match: false,
            anti_rollback: false,
            approval_window: false,
            token_scope: false,
            dependencies: false,
            payload_size: false,
            token_audience: false,
            token_expiry: false,
            replay_window: false,
            oscore: false,
            payload_encryption: false,
        };
        assert_eq!(all_off, expected);
        assert_eq!(all_off.off(), Defences::NAMES.to_vec());
    }

    #[test]
    fn unknown_and_simulator_level_names_are_refused() {
        let mut d = Defences::default();
        for name in ["device_timeout", "retries", "rate_limit", "", "OSCORE"] {
            let err = d.set(name, false).unwrap_err();
            assert_eq!(err, UnknownDefence(name.into()));
            assert!(err.to_string().contains("payload_encryption"));
            assert!(d.is_on(name).is_err());
        }
        assert_eq!(d, Defences::default());
    }
}
