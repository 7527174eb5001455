//! Building an update as its author (DESIGN.md section 1.2): encrypt the payload under a
//! fresh CEK (A128GCM), wrap the CEK for the operator only (ECDH-ES + A128KW), write the
//! manifest, and sign the manifest digest with the author's key, carrying the author's
//! credential in the `kcwt` header parameter. Also the operator's side of the CEK: only
//! the operator's key-agreement key unwraps it.

use ciborium::Value;
use coset::Header;
use rand_core::CryptoRng;

use crate::cbor;
use crate::cose::{self, Cek, CoseError, HEADER_KCWT, Recipient, RecipientKey, SUIT_KDF_OTHER};
use crate::credential::{self, CredentialError};
use crate::ids::{ComponentId, UpdateType, Uuid};
use crate::keys::{KeyAlgorithm, KeyError, PrivateKey, PublicKey};
use crate::suit::{Dependency, Digest, Envelope, EnvelopeError, Manifest, ManifestSpec};

/// What the author specifies for a new update.
#[derive(Clone, Debug)]
pub struct UpdateSpec {
    /// The component updated.
    pub component: ComponentId,
    /// Vendor of the target devices.
    pub vendor_id: Uuid,
    /// Class of the target devices.
    pub class_id: Uuid,
    /// Sequence number (must exceed what devices have installed).
    pub sequence_number: u64,
    /// Update type.
    pub update_type: UpdateType,
    /// Dependencies on other components.
    pub dependencies: Vec<Dependency>,
    /// Where devices fetch the encrypted payload.
    pub payload_uri: String,
    /// Whether to encrypt the payload (always on, except to show what confidentiality
    /// buys in ablation studies).
    pub encrypt: bool,
}

/// A freshly built update.
#[derive(Clone, Debug)]
pub struct BuiltUpdate {
    /// The signed (not yet approved) envelope.
    pub envelope: Envelope,
    /// The payload as distributed: ciphertext with its tag, or the plaintext if unencrypted.
    pub payload: Vec<u8>,
}

/// Why an update could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A key is unsuitable.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The credential does not decode, or does not name the author's key.
    #[error("credential: {0}")]
    Credential(String),
    /// A COSE operation failed.
    #[error("{0}")]
    Cose(#[from] CoseError),
    /// The envelope could not be assembled.
    #[error("{0}")]
    Envelope(#[from] EnvelopeError),
}

impl From<CredentialError> for BuildError {
    fn from(e: CredentialError) -> Self {
        BuildError::Credential(e.to_string())
    }
}

/// Build, encrypt and sign an update.
///
/// `credential` is the author's credential as issued by the operator; its `cnf` key must
/// be `author`'s public key (checked here so that an author notices a mix-up at once).
pub fn create_update<R: CryptoRng + ?Sized>(
    rng: &mut R,
    author: &PrivateKey,
    credential: &[u8],
    operator_kek: &PublicKey,
    payload: &[u8],
    spec: &UpdateSpec,
) -> Result<BuiltUpdate, BuildError> {
    author.require_algorithm(KeyAlgorithm::Es256)?;
    operator_kek.require_algorithm(KeyAlgorithm::EcdhEsA128Kw)?;
    let cred = credential::decode_credential(credential)?;
    let claims = credential::CredentialClaims::decode(cred.payload.as_deref().unwrap_or_default())?;
    if &claims.author_key != author.public_key() {
        return Err(BuildError::Credential(
            "the credential's cnf key is not the author's public key".into(),
        ));
    }
    let (encryption_info, distributed) = if spec.encrypt {
        let cek = Cek::generate(rng);
        let (info, ciphertext) = cose::encrypt_detached(
            rng,
            &cek,
            Recipient::EcdhEsA128Kw(operator_kek),
            SUIT_KDF_OTHER,
            payload,
        )?;
        (Some(cose::encode_encrypt(info)?), ciphertext)
    } else {
        (None, payload.to_vec())
    };
    let manifest = Manifest::encode(&ManifestSpec {
        sequence_number: spec.sequence_number,
        component: spec.component.clone(),
        vendor_id: spec.vendor_id,
        class_id: spec.class_id,
        image_digest: Digest::sha256(payload),
        image_size: payload.len() as u64,
        encryption_info,
        payload_uri: spec.payload_uri.clone(),
        update_type: spec.update_type,
        dependencies: spec.dependencies.clone(),
    });
    let mut envelope = Envelope::new(manifest)?;
    sign_as_author(&mut envelope, author, credential)?;
    Ok(BuiltUpdate {
        envelope,
        payload: distributed,
    })
}

/// Add an author signature (with the credential in `kcwt`) to `envelope`.
pub fn sign_as_author(
    envelope: &mut Envelope,
    author: &PrivateKey,
    credential: &[u8],
) -> Result<(), BuildError> {
    let kcwt = match cbor::decode(credential).map_err(|e| BuildError::Credential(e.to_string()))? {
        Value::Tag(credential::TAG_CWT, inner) => *inner,
        v => v,
    };
    let protected = coset::HeaderBuilder::new()
        .key_id(author.public_key().kid().to_vec())
        .value(HEADER_KCWT, kcwt)
        .build();
    let sign1 = cose::sign1_detached(
        author,
        protected,
        Header::default(),
        envelope.signed_payload(),
    );
    envelope.add_signature(sign1)?;
    Ok(())
}

/// The operator unwraps an update's CEK with its key-agreement key (DESIGN.md step 7).
pub fn unwrap_cek(envelope: &Envelope, operator_kek: &PrivateKey) -> Result<Cek, CoseError> {
    let info = envelope
        .manifest()
        .parameters
        .encryption_info
        .as_deref()
        .ok_or(CoseError::Header("the manifest has no encryption info"))?;
    let info = cose::decode_encrypt(info)?;
    cose::unwrap_cek(&info, RecipientKey::Agreement(operator_kek), SUIT_KDF_OTHER)
}
