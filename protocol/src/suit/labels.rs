//! CBOR labels of draft-ietf-suit-manifest (and the extensions icsim defines), in one place.

/// `SUIT_Envelope_Tagged`.
pub const TAG_ENVELOPE: u64 = 107;

/// Envelope members.
pub mod envelope {
    /// `suit-delegation`.
    pub const DELEGATION: i64 = 1;
    /// `suit-authentication-wrapper`.
    pub const AUTHENTICATION_WRAPPER: i64 = 2;
    /// `suit-manifest`.
    pub const MANIFEST: i64 = 3;
}

/// Manifest members.
pub mod manifest {
    /// `suit-manifest-version`.
    pub const VERSION: i64 = 1;
    /// `suit-manifest-sequence-number`.
    pub const SEQUENCE_NUMBER: i64 = 2;
    /// `suit-common`.
    pub const COMMON: i64 = 3;
    /// `suit-reference-uri`.
    pub const REFERENCE_URI: i64 = 4;
    /// `suit-manifest-component-id`.
    pub const COMPONENT_ID: i64 = 5;
    /// `suit-validate`.
    pub const VALIDATE: i64 = 7;
    /// `suit-load`.
    pub const LOAD: i64 = 8;
    /// `suit-invoke`.
    pub const INVOKE: i64 = 9;
    /// `suit-payload-fetch` (severable).
    pub const PAYLOAD_FETCH: i64 = 16;
    /// `suit-install` (severable).
    pub const INSTALL: i64 = 20;
    /// `suit-text` (severable).
    pub const TEXT: i64 = 23;
    /// icsim extension: the update type, a text string (`firmware`, `application`, `library`).
    pub const X_UPDATE_TYPE: i64 = -70001;
    /// icsim extension: dependencies, `[* [component-id, min-sequence-number]]`.
    pub const X_DEPENDENCIES: i64 = -70002;
    /// The members that may be severed into the envelope (their manifest entry is then a digest).
    pub const SEVERABLE: [i64; 3] = [PAYLOAD_FETCH, INSTALL, TEXT];
}

/// `SUIT_Common` members.
pub mod common {
    /// `suit-dependencies` (trust-domains extension).
    pub const DEPENDENCIES: i64 = 1;
    /// `suit-components`.
    pub const COMPONENTS: i64 = 2;
    /// `suit-shared-sequence`.
    pub const SHARED_SEQUENCE: i64 = 4;
}

/// Commands (conditions and directives).
pub mod command {
    /// `suit-condition-vendor-identifier`.
    pub const VENDOR_IDENTIFIER: i64 = 1;
    /// `suit-condition-class-identifier`.
    pub const CLASS_IDENTIFIER: i64 = 2;
    /// `suit-condition-image-match`.
    pub const IMAGE_MATCH: i64 = 3;
    /// `suit-directive-set-component-index`.
    pub const SET_COMPONENT_INDEX: i64 = 12;
    /// `suit-directive-try-each`.
    pub const TRY_EACH: i64 = 15;
    /// `suit-directive-write`.
    pub const WRITE: i64 = 18;
    /// `suit-directive-override-parameters`.
    pub const OVERRIDE_PARAMETERS: i64 = 20;
    /// `suit-directive-fetch`.
    pub const FETCH: i64 = 21;
    /// `suit-directive-invoke`.
    pub const INVOKE: i64 = 23;
    /// `suit-directive-set-parameters`.
    pub const SET_PARAMETERS: i64 = 19;
}

/// Parameters.
pub mod parameter {
    /// `suit-parameter-vendor-identifier`.
    pub const VENDOR_ID: i64 = 1;
    /// `suit-parameter-class-identifier`.
    pub const CLASS_ID: i64 = 2;
    /// `suit-parameter-image-digest`.
    pub const IMAGE_DIGEST: i64 = 3;
    /// `suit-parameter-image-size`.
    pub const IMAGE_SIZE: i64 = 14;
    /// `suit-parameter-encryption-info` (draft-ietf-suit-firmware-encryption).
    pub const ENCRYPTION_INFO: i64 = 19;
    /// `suit-parameter-uri`.
    pub const URI: i64 = 21;
}

/// Reporting policy used as the argument of conditions and directives: report on success and
/// failure, record on success and failure (`0b1111`), as in the draft's examples.
pub const REPORT_POLICY_ALL: u64 = 15;
