//! ACE-OAuth (RFC 9200) with the OSCORE profile (RFC 9203), sans I/O: how the operator's
//! Update Manager (the client, C) gets the right to act on one device (the resource
//! server, RS) and an OSCORE security context with it (DESIGN.md section 1.4, steps 8-9).
//!
//! # Flow
//!
//! ```text
//! UM (client)                    device (RS)                AS
//!   |                                 |                      |
//!   | token request (aud, scope) ------------------------->  |  AuthorizationServer::issue
//!   | <------------ AccessTokenResponse {access_token, cnf}  |
//!   |                                 |                      |
//!   | ClientExchange::start (N1, ID1) |                      |
//!   | POST /authz-info -------------> |  TokenStore::handle_authz_info:
//!   |   {access_token, N1, ID1}       |  open, exp, aud, scope; N2, ID2
//!   | <---------- 2.01 {N2, ID2}      |  -> server ContextParams, TokenInfo
//!   | ClientExchange::finish          |
//!   |   -> client ContextParams       |
//!   | OSCORE request (kid ID2) ====>  |  TokenStore::authorize(now, kid, scope token)
//! ```
//!
//! 1. [`AuthorizationServer`] holds one 16-byte key per device (shared at commissioning)
//!    and issues, for an audience and a scope, a CWT (RFC 8392) with `aud`, `exp`, `iat`,
//!    `cti`, `scope` and `cnf` = `{osc: OSCORE_Input_Material}` (a fresh Master Secret
//!    and an identifier, optionally an input salt). The CWT is a COSE_Encrypt0 with
//!    AES-CCM-16-64-128 under the device's key; the unprotected header carries the full
//!    IV and `kid` = the audience (as UTF-8 bytes), so a device can tell a token meant for
//!    another device without trying its key. The client gets the same input material in
//!    `cnf` of the [`AccessTokenResponse`] (RFC 9203 section 3.2).
//! 2. [`ClientExchange`] draws N1 ([`NONCE_LEN`] = 8 bytes, the 64-bit length RFC 9203
//!    section 4.1 recommends: the Master Secret is fresh per token, so the nonces only need
//!    to differ between re-posts of one token, and 2^32 re-posts of one token are far out of
//!    reach within its lifetime, while 16-byte nonces would cost 16 more bytes per exchange
//!    on slow cell links) and its Recipient ID ID1 ([`CLIENT_RECIPIENT_ID_LEN`] bytes), and
//!    builds the [`AuthzInfoRequest`].
//! 3. [`TokenStore::handle_authz_info`] validates the token (in the order of RFC 9200
//!    section 5.10.1.1: security protection, then `exp`, `aud`, `scope`), draws N2 and a
//!    one-byte ID2 that differs from ID1 and from every other stored token's ID2, answers
//!    with an [`AuthzInfoResponse`], and returns the server's
//!    [`ContextParams`](crate::oscore::ContextParams) with the [`TokenInfo`] that later
//!    requests are authorized against.
//! 4. Both sides set (RFC 9203 section 4.3) Master Secret = `ms`, Master Salt =
//!    `bstr(salt) | bstr(N1) | bstr(N2)` (each CBOR-encoded as a byte string, in this
//!    order), ID Context = `contextId` if present, AEAD = `alg` or the default; the client's
//!    Sender ID is ID2 and its Recipient ID ID1, the device's the other way round.
//! 5. For every OSCORE request it accepts, the device looks up the token by the request's
//!    kid (its Recipient ID, ID2) and calls [`TokenStore::authorize`] (or
//!    [`TokenInfo::authorize`]) with the scope the operation needs.
//!
//! The device keeps at most [`TOKEN_STORE_CAPACITY`] tokens by default: when a new token
//! arrives and the store is full, expired tokens are dropped first, then the one stored
//! longest ago. Re-posting a token with the same `cti` replaces its entry (new nonces, new
//! ID2, hence a new security context, as RFC 9203 section 4.1 allows).
//!
//! For ablation studies only, [`TokenStore::with_defences`] can switch off the audience,
//! expiry and scope checks (`token_audience`, `token_expiry`, `token_scope` of
//! [`crate::verify::Defences`]); each is skipped in one place marked `DANGER(ablation: ..)`.
//!
//! Errors are one enum, [`AceError`]; [`AceError::response_code`] gives the CoAP code
//! RFC 9200 / RFC 9203 prescribe. No function here panics on any input.
//!
//! # Deviations from RFC 9200 / RFC 9203 and omissions
//!
//! - **No AS discovery, no AS Request Creation Hints, no token introspection**, and no
//!   client authentication or authorization policy at the AS: the AS serves the one client
//!   it is configured for (the operator's UM) over a channel the caller secures.
//! - **Symmetric proof-of-possession only** (the OSCORE profile): no asymmetric `cnf`, no
//!   `rs_cnf`, no `req_cnf`; the **update of access rights** over an existing context
//!   (RFC 9203 section 4.1, token posted under OSCORE with `cnf` = `{kid}`) is not
//!   supported; a new token means a new context.
//! - The access token response carries `access_token`, `expires_in`, `ace_profile` =
//!   `coap_oscore` and `cnf`; no `scope` (the AS grants exactly what was asked or fails)
//!   and no `token_type`.
//! - The device is strict where the RFCs are open: the CWT may carry only the claims
//!   `aud`, `exp`, `iat`, `cti`, `scope` and `cnf` (`exp`, `aud`, `cti`, `scope` and `cnf`
//!   are required; `iss` and `nbf` are not used); `cnf` must hold exactly `osc`;
//!   OSCORE_Input_Material must have `id` and `ms`, `version` must be 1, `hkdf` the integer
//!   5 (HMAC 256/256, i.e. HKDF-SHA-256), `alg` the integer 10 or 1, and unknown members
//!   are rejected (RFC 9203 section 4.2 asks for 4.00 on unrecognized `osc` members).
//!   `iat` is not checked against the clock. An empty or ill-spaced scope is malformed.
//! - Without a `salt` in the input material, the input salt is the empty byte string,
//!   encoded `0x40`, in the Master Salt (RFC 9203 section 4.3 takes "the CBOR byte string
//!   received from the AS" and RFC 8613's default Master Salt is empty; some
//!   implementations leave it out instead, so an AS that wants interop beyond icsim should
//!   send a salt, see [`AuthorizationServer::with_input_salt_len`]).
//! - The token must carry a `kid` (RFC 9203 leaves it optional), and it must be the
//!   device's audience. The device checks it before it decrypts, so a token for another
//!   device is [`AceError::WrongAudience`] (4.03) rather than
//!   [`AceError::TokenUndecryptable`] (4.01), although RFC 9200 has the security
//!   protection processed first. The `kid` is unauthenticated, so changing it only changes
//!   which rejection a forged token gets; the authoritative check is the encrypted `aud`.
//! - Nonces from the peer must be 8 to 32 bytes long, Recipient IDs at most the AEAD nonce
//!   length minus 6 bytes (RFC 8613 section 3.3).
//! - A re-posted token replaces its entry (and context) at once, not only after the first
//!   request under the new context verifies; so whoever captured a token on the unprotected
//!   authz-info exchange can re-post it and make the client's context useless (denial of
//!   service, never access: the attacker lacks the Master Secret). The same holds for
//!   eviction by posting other captured, still valid tokens of the same device.
//! - The OSCORE Input Material `id` is a counter of the AS instance (unique per AS as long
//!   as it keeps its state), not persisted.

mod client;
mod error;
mod messages;
mod scope;
mod server;
mod store;
mod token;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub use client::{CLIENT_RECIPIENT_ID_LEN, ClientExchange};
pub use error::AceError;
pub use messages::{AuthzInfoRequest, AuthzInfoResponse, MAX_NONCE_LEN, MIN_NONCE_LEN, NONCE_LEN};
pub use scope::{Scope, ScopeToken};
pub use server::{AccessTokenResponse, AuthorizationServer};
pub use store::{AuthzInfoAccepted, TOKEN_STORE_CAPACITY, TokenInfo, TokenStore};
pub use token::{AccessTokenClaims, OscoreInputMaterial, master_salt};

/// CBOR labels: ACE parameters, CWT claims, confirmation methods and
/// OSCORE_Input_Material members.
pub mod label {
    /// ACE parameters of the token endpoint and authz-info (RFC 9200, RFC 9203 IANA
    /// registrations).
    pub mod param {
        /// `access_token`.
        pub const ACCESS_TOKEN: i64 = 1;
        /// `expires_in`.
        pub const EXPIRES_IN: i64 = 2;
        /// `cnf`.
        pub const CNF: i64 = 8;
        /// `ace_profile`.
        pub const ACE_PROFILE: i64 = 38;
        /// `nonce1`.
        pub const NONCE1: i64 = 40;
        /// `nonce2`.
        pub const NONCE2: i64 = 42;
        /// `ace_client_recipientid`.
        pub const ACE_CLIENT_RECIPIENTID: i64 = 43;
        /// `ace_server_recipientid`.
        pub const ACE_SERVER_RECIPIENTID: i64 = 44;
    }

    /// CWT claims (RFC 8392, RFC 8747, RFC 9200).
    pub mod claim {
        /// `aud`.
        pub const AUD: i64 = 3;
        /// `exp`.
        pub const EXP: i64 = 4;
        /// `iat`.
        pub const IAT: i64 = 6;
        /// `cti`.
        pub const CTI: i64 = 7;
        /// `cnf`.
        pub const CNF: i64 = 8;
        /// `scope`.
        pub const SCOPE: i64 = 9;
    }

    /// The `osc` confirmation method (RFC 9203).
    pub const CNF_OSC: i64 = 4;

    /// The `coap_oscore` value of `ace_profile` (RFC 9203).
    pub const PROFILE_COAP_OSCORE: i64 = 2;

    /// OSCORE_Input_Material members (RFC 9203 section 3.2.1).
    pub mod osc {
        /// `id`.
        pub const ID: i64 = 0;
        /// `version`.
        pub const VERSION: i64 = 1;
        /// `ms`.
        pub const MS: i64 = 2;
        /// `hkdf`.
        pub const HKDF: i64 = 3;
        /// `alg`.
        pub const ALG: i64 = 4;
        /// `salt`.
        pub const SALT: i64 = 5;
        /// `contextId`.
        pub const CONTEXT_ID: i64 = 6;
    }
}
