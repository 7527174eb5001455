//! The two messages of the authz-info exchange (RFC 9203 sections 4.1 and 4.2), as typed
//! structures with their `application/ace+cbor` encodings.

use ciborium::Value;

use super::AceError;
use super::label::param;
use super::token::bounded_bytes;
use crate::cbor::{self, IntMap};

/// The length of the nonces N1 and N2 this implementation draws: 64 bits, as RFC 9203
/// sections 4.1 and 4.2 recommend.
pub const NONCE_LEN: usize = 8;

/// The shortest nonce accepted from the peer.
pub const MIN_NONCE_LEN: usize = 8;

/// The longest nonce accepted from the peer.
pub const MAX_NONCE_LEN: usize = 32;

/// The longest Recipient ID any supported AEAD allows (AES-CCM-16-64-128: 13 - 6 bytes).
pub(super) const MAX_RECIPIENT_ID_LEN: usize = 7;

/// The longest access token accepted at authz-info.
pub(super) const MAX_TOKEN_LEN: usize = 1024;

/// The payload of the POST to `/authz-info` (RFC 9203 section 4.1):
/// `{access_token: bstr, nonce1: bstr, ace_client_recipientid: bstr}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzInfoRequest {
    /// The access token, as received from the AS.
    pub access_token: Vec<u8>,
    /// N1, the client's nonce.
    pub nonce1: Vec<u8>,
    /// ID1, the client's OSCORE Recipient ID (the device's Sender ID).
    pub client_recipient_id: Vec<u8>,
}

impl AuthzInfoRequest {
    /// The CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&cbor::int_map([
            (param::ACCESS_TOKEN, Value::Bytes(self.access_token.clone())),
            (param::NONCE1, Value::Bytes(self.nonce1.clone())),
            (
                param::ACE_CLIENT_RECIPIENTID,
                Value::Bytes(self.client_recipient_id.clone()),
            ),
        ]))
    }

    /// Decodes a request. All three parameters are required (the nonce-less update of
    /// access rights is not supported); other parameters, ill-sized values and trailing
    /// bytes are [`AceError::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, AceError> {
        let value = cbor::decode(bytes)?;
        let map = IntMap::new(&value, "authz-info request")?;
        map.only(&[
            param::ACCESS_TOKEN,
            param::NONCE1,
            param::ACE_CLIENT_RECIPIENTID,
        ])?;
        Ok(Self {
            access_token: bounded_bytes(
                map.require(param::ACCESS_TOKEN)?,
                "access_token",
                1,
                MAX_TOKEN_LEN,
            )?,
            nonce1: bounded_bytes(
                map.require(param::NONCE1)?,
                "nonce1",
                MIN_NONCE_LEN,
                MAX_NONCE_LEN,
            )?,
            client_recipient_id: bounded_bytes(
                map.require(param::ACE_CLIENT_RECIPIENTID)?,
                "ace_client_recipientid",
                0,
                MAX_RECIPIENT_ID_LEN,
            )?,
        })
    }
}

/// The payload of the device's 2.01 (Created) answer (RFC 9203 section 4.2):
/// `{nonce2: bstr, ace_server_recipientid: bstr}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzInfoResponse {
    /// N2, the device's nonce.
    pub nonce2: Vec<u8>,
    /// ID2, the device's OSCORE Recipient ID (the client's Sender ID).
    pub server_recipient_id: Vec<u8>,
}

impl AuthzInfoResponse {
    /// The CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&cbor::int_map([
            (param::NONCE2, Value::Bytes(self.nonce2.clone())),
            (
                param::ACE_SERVER_RECIPIENTID,
                Value::Bytes(self.server_recipient_id.clone()),
            ),
        ]))
    }

    /// Decodes a response; both parameters are required, nothing else is allowed.
    pub fn decode(bytes: &[u8]) -> Result<Self, AceError> {
        let value = cbor::decode(bytes)?;
        let map = IntMap::new(&value, "authz-info response")?;
        map.only(&[param::NONCE2, param::ACE_SERVER_RECIPIENTID])?;
        Ok(Self {
            nonce2: bounded_bytes(
                map.require(param::NONCE2)?,
                "nonce2",
                MIN_NONCE_LEN,
                MAX_NONCE_LEN,
            )?,
            server_recipient_id: bounded_bytes(
                map.require(param::ACE_SERVER_RECIPIENTID)?,
                "ace_server_recipientid",
                0,
                MAX_RECIPIENT_ID_LEN,
            )?,
        })
    }
}
