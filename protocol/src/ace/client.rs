//! The client side (the operator's Update Manager): posting the token to the device and
//! deriving the client's OSCORE parameters (RFC 9203 sections 4.1 and 4.3).

use rand_core::CryptoRng;

use super::AceError;
use super::messages::{AuthzInfoRequest, AuthzInfoResponse, NONCE_LEN};
use super::server::AccessTokenResponse;
use super::token::OscoreInputMaterial;
use crate::oscore::ContextParams;

/// The length of the client Recipient ID (ID1) that [`ClientExchange::start`] draws. Two
/// bytes make a collision between the contexts of one Update Manager unlikely; a caller
/// that tracks its Recipient IDs picks them itself with
/// [`ClientExchange::with_recipient_id`].
pub const CLIENT_RECIPIENT_ID_LEN: usize = 2;

/// One authz-info exchange of a client with a device: the token and input material from
/// the AS, N1 and ID1.
///
/// [`ClientExchange::finish`] takes `&self`: a forged or corrupted answer must not end an
/// exchange whose genuine answer may still arrive. Each call with a valid answer derives
/// the parameters that go with that answer's N2 and ID2.
#[derive(Debug, Clone)]
pub struct ClientExchange {
    access_token: Vec<u8>,
    material: OscoreInputMaterial,
    nonce1: Vec<u8>,
    recipient_id: Vec<u8>,
}

impl ClientExchange {
    /// Starts an exchange for the token in `response`: draws N1 ([`NONCE_LEN`] bytes) and
    /// then ID1 ([`CLIENT_RECIPIENT_ID_LEN`] bytes) from `rng`.
    pub fn start<R: CryptoRng + ?Sized>(response: &AccessTokenResponse, rng: &mut R) -> Self {
        let mut nonce1 = vec![0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce1);
        let mut recipient_id = vec![0u8; CLIENT_RECIPIENT_ID_LEN];
        rng.fill_bytes(&mut recipient_id);
        Self {
            access_token: response.access_token.clone(),
            material: response.cnf.clone(),
            nonce1,
            recipient_id,
        }
    }

    /// Starts an exchange with a Recipient ID the caller chose (unique among its own);
    /// draws N1 from `rng`. An ID longer than the AEAD allows is [`AceError::Malformed`].
    pub fn with_recipient_id<R: CryptoRng + ?Sized>(
        response: &AccessTokenResponse,
        recipient_id: &[u8],
        rng: &mut R,
    ) -> Result<Self, AceError> {
        let max = response.cnf.aead().max_id_len();
        if recipient_id.len() > max {
            return Err(AceError::Malformed(format!(
                "client recipient id of {} bytes, at most {max}",
                recipient_id.len()
            )));
        }
        let mut nonce1 = vec![0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce1);
        Ok(Self {
            access_token: response.access_token.clone(),
            material: response.cnf.clone(),
            nonce1,
            recipient_id: recipient_id.to_vec(),
        })
    }

    /// The request to POST to the device's `/authz-info`.
    pub fn request(&self) -> AuthzInfoRequest {
        AuthzInfoRequest {
            access_token: self.access_token.clone(),
            nonce1: self.nonce1.clone(),
            client_recipient_id: self.recipient_id.clone(),
        }
    }

    /// N1.
    pub fn nonce1(&self) -> &[u8] {
        &self.nonce1
    }

    /// ID1, the client's Recipient ID.
    pub fn recipient_id(&self) -> &[u8] {
        &self.recipient_id
    }

    /// Derives the client's OSCORE parameters from the payload of the device's 2.01
    /// (Created) answer: Sender ID = ID2, Recipient ID = ID1, Master Salt from the input
    /// salt, N1 and N2 (RFC 9203 section 4.3).
    ///
    /// A payload that does not decode, or an ID2 longer than the AEAD allows, is
    /// [`AceError::Malformed`]; ID2 equal to ID1 is [`AceError::RecipientIdCollision`].
    pub fn finish(&self, response_body: &[u8]) -> Result<ContextParams, AceError> {
        let response = AuthzInfoResponse::decode(response_body)?;
        let id2 = response.server_recipient_id;
        let max = self.material.aead().max_id_len();
        if id2.len() > max {
            return Err(AceError::Malformed(format!(
                "ace_server_recipientid of {} bytes, at most {max}",
                id2.len()
            )));
        }
        if id2 == self.recipient_id {
            return Err(AceError::RecipientIdCollision);
        }
        Ok(self
            .material
            .context_params(&self.nonce1, &response.nonce2, &id2, &self.recipient_id))
    }
}
