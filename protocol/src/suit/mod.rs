//! SUIT envelopes and manifests (draft-ietf-suit-manifest, RFC 9124 information model),
//! with encrypted payloads (draft-ietf-suit-firmware-encryption).
//!
//! # icsim's profile and extensions
//!
//! - One component per manifest; the shared sequence sets `vendor-id`, `class-id`,
//!   `image-digest`, `image-size` and `encryption-info` and runs the vendor and class
//!   conditions; `validate` runs image-match; `install` sets `uri`, fetches and matches.
//! - The encryption info applies to the fetched payload (the draft's examples decrypt with
//!   `directive-write`/`copy`; icsim's devices decrypt the fetched ciphertext into the
//!   inactive slot, the same operation without an extra component).
//! - Two manifest members in the private-use range carry what SUIT has no member for:
//!   `-70001` the update type (`"firmware"`, `"application"`, `"library"`) and `-70002`
//!   dependencies as `[* [component-id, min-sequence-number]]`. They are covered by the
//!   manifest digest and so by every signature.
//! - The authentication wrapper holds the author's COSE_Sign1 (with the author credential
//!   in `kcwt`) and the operator's approval COSE_Sign1, both over the same digest.
//!
//! Decoding accepts the general envelope structure of the draft, so all of its examples
//! decode and verify.

pub mod envelope;
pub mod labels;
pub mod manifest;

pub use envelope::{Envelope, EnvelopeError, EnvelopeSignature};
pub use manifest::{Dependency, Digest, Manifest, ManifestSpec, Parameters};

#[cfg(test)]
mod tests;
