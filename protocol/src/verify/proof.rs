//! Proof tokens (in the manner of rustls' `HandshakeSignatureValid`): zero-sized values
//! that only this module's verifier can create, each standing for one check that ran and
//! passed (or that an ablation study deliberately switched off, see [`super::Defences`]).
//! Installing an image takes a [`super::VerifiedImage`], which cannot exist without all of
//! them, so the compiler shows that no path installs an unverified image.

macro_rules! proof {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub(super) ());
    )*};
}

proof! {
    /// The authentication wrapper's digest matches the manifest.
    DigestMatches;
    /// An operator approval signature verified with the trust anchor.
    ApprovalValid;
    /// The author credential verified with the trust anchor and is within its validity.
    CredentialValid;
    /// The author's signature verified with the credential's key.
    AuthorSignatureValid;
    /// The credential's scope covers the update type, component and device class.
    ScopeCovers;
    /// Vendor and class id match this device.
    DeviceMatches;
    /// The sequence number is newer than the installed one.
    NotRollback;
    /// The approval covers this device's class and the current time.
    WithinApprovalWindow;
    /// The session's access token permits this update type.
    TokenScopeCovers;
    /// Every dependency is installed at the required sequence number.
    DependenciesMet;
    /// The payload has the announced size.
    PayloadSizeMatches;
    /// The payload decrypted under the CEK (authenticated encryption).
    PayloadDecrypted;
    /// The decrypted image has the digest the manifest names.
    PayloadDigestMatches;
}
