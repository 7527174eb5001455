//! The errors of the ACE module and the CoAP codes a server answers them with.

use coap_lite::ResponseType;

use super::scope::{Scope, ScopeToken};
use crate::cbor::CborError;

/// Why an ACE operation failed, named by cause.
///
/// Bytes that do not decode, or lack a required parameter, are [`AceError::Malformed`];
/// a token the device cannot open is [`AceError::TokenUndecryptable`]; a well-formed,
/// authentic token that is not good here is [`AceError::Expired`],
/// [`AceError::WrongAudience`] or [`AceError::UnknownScope`]; a request beyond what a valid
/// token grants is [`AceError::OutsideScope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AceError {
    /// The bytes do not decode into the expected structure, or a required parameter is
    /// missing or has the wrong type or size.
    #[error("malformed ACE message: {0}")]
    Malformed(String),
    /// A parameter the peer sent is well-formed but not supported here (an `osc` member,
    /// OSCORE version, HKDF or AEAD algorithm this implementation does not know).
    #[error("unsupported parameter: {0}")]
    Unsupported(String),
    /// The access token does not decrypt under the device's key: a wrong key, or altered
    /// bytes.
    #[error("access token does not decrypt under this device's key")]
    TokenUndecryptable,
    /// The token is for another audience: its `kid` names another device, or its
    /// (authenticated) `aud` claim does.
    #[error("access token is for {found:?}, not for {expected:?}")]
    WrongAudience {
        /// The audience of the receiving device.
        expected: String,
        /// The audience the token names.
        found: String,
    },
    /// The token's `exp` is not in the future.
    #[error("access token expired at {exp} (now {now}, Unix seconds)")]
    Expired {
        /// The `exp` claim, Unix seconds.
        exp: u64,
        /// The time of the check, Unix seconds.
        now: u64,
    },
    /// A scope token that neither the AS nor the device knows.
    #[error("unknown scope {0:?}")]
    UnknownScope(String),
    /// The AS has no key for this audience.
    #[error("unknown audience {0:?}")]
    UnknownAudience(String),
    /// The request needs a scope token that the client's access token does not grant.
    #[error("operation needs {required}, token grants {granted}")]
    OutsideScope {
        /// What the operation needs.
        required: ScopeToken,
        /// What the token grants.
        granted: Scope,
    },
    /// No stored access token belongs to this security context (the kid of the request
    /// names none, or it was evicted).
    #[error("no access token for recipient id {0:02x?}")]
    NoToken(Vec<u8>),
    /// The device answered with the client's own Recipient ID as its Recipient ID, so the
    /// two OSCORE keys would be equal (RFC 9203 section 4.3): the client must not derive
    /// a context.
    #[error("server recipient id equals the client recipient id")]
    RecipientIdCollision,
}

impl AceError {
    /// The CoAP response code a server answers with when handling a request failed with
    /// this error, or `None` for errors that arise only at the client.
    ///
    /// At authz-info (RFC 9200 section 5.10.1.1, RFC 9203 section 4.2): 4.00 Bad Request
    /// for bytes that do not parse, missing or unrecognized parameters and unknown scopes;
    /// 4.01 Unauthorized for a token that fails its security check or is expired; 4.03
    /// Forbidden for a token for another audience. For protected requests (RFC 9200
    /// section 5.10.2): 4.01 when no valid token belongs to the context, 4.03 when the
    /// token does not cover the operation. At the AS (RFC 9200 section 5.8.3): 4.00 for an
    /// unknown audience (`invalid_request`) or scope (`invalid_scope`).
    pub fn response_code(&self) -> Option<ResponseType> {
        match self {
            AceError::Malformed(_)
            | AceError::Unsupported(_)
            | AceError::UnknownScope(_)
            | AceError::UnknownAudience(_) => Some(ResponseType::BadRequest),
            AceError::TokenUndecryptable | AceError::Expired { .. } | AceError::NoToken(_) => {
                Some(ResponseType::Unauthorized)
            }
            AceError::WrongAudience { .. } | AceError::OutsideScope { .. } => {
                Some(ResponseType::Forbidden)
            }
            AceError::RecipientIdCollision => None,
        }
    }
}

impl From<CborError> for AceError {
    fn from(e: CborError) -> Self {
        AceError::Malformed(e.to_string())
    }
}
