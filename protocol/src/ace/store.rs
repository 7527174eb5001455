//! The device (resource server) side: the authz-info endpoint (RFC 9203 sections 4.1-4.3)
//! and the tokens that later OSCORE requests are authorized against (RFC 9200 section
//! 5.10.2, RFC 9203 section 4.4).

use rand_core::CryptoRng;

use super::AceError;
use super::messages::{AuthzInfoRequest, AuthzInfoResponse, NONCE_LEN};
use super::scope::{Scope, ScopeToken};
use super::token::{AccessTokenClaims, device_key};
use crate::encrypt0::SymmetricKey;
use crate::oscore::ContextParams;
use crate::time::Instant;
use crate::verify::Defences;

/// How many access tokens a device keeps by default. RFC 9200 asks for at least one; a
/// few allow a maintenance tool next to the Update Manager and a token renewal while the
/// old context is still in use.
pub const TOKEN_STORE_CAPACITY: usize = 4;

/// The largest capacity [`TokenStore::with_capacity`] accepts; it keeps one-byte server
/// Recipient IDs always available.
const MAX_CAPACITY: usize = 64;

/// Random draws of a one-byte Recipient ID before scanning for a free one.
const RECIPIENT_ID_DRAWS: usize = 8;

/// What a device knows about one accepted access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The scope the token grants.
    pub scope: Scope,
    /// The token's `exp`.
    pub expires_at: Instant,
    /// The token's `iat`, if it had one.
    pub issued_at: Option<Instant>,
    /// The token's `cti`.
    pub cti: Vec<u8>,
    /// The `id` of the OSCORE input material the token is bound to.
    pub input_material_id: Vec<u8>,
    /// ID1: the client's Recipient ID, the device's Sender ID.
    pub client_recipient_id: Vec<u8>,
    /// ID2: the device's Recipient ID, the kid of the client's requests.
    pub server_recipient_id: Vec<u8>,
}

impl TokenInfo {
    /// Whether the token grants `scope`, a single scope token such as `"fw:install"`
    /// (`false` for a token the device does not know).
    pub fn permits(&self, scope: &str) -> bool {
        ScopeToken::parse(scope).is_some_and(|token| self.scope.contains(token))
    }

    /// Whether the token has expired at `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        now.unix_secs() >= self.expires_at.unix_secs()
    }

    /// Checks a request that needs `required` at `now`: [`AceError::Expired`] once the
    /// token has expired (RFC 9203 section 4.3: 4.01), [`AceError::OutsideScope`] if the
    /// token does not grant `required` (RFC 9200 section 5.10.2: 4.03).
    pub fn authorize(&self, now: Instant, required: ScopeToken) -> Result<(), AceError> {
        if self.is_expired(now) {
            return Err(AceError::Expired {
                exp: self.expires_at.unix_secs(),
                now: now.unix_secs(),
            });
        }
        if !self.scope.contains(required) {
            return Err(AceError::OutsideScope {
                required,
                granted: self.scope.clone(),
            });
        }
        Ok(())
    }
}

/// The outcome of an accepted POST to authz-info.
#[derive(Debug, Clone)]
pub struct AuthzInfoAccepted {
    /// The payload of the 2.01 (Created) answer.
    pub response: AuthzInfoResponse,
    /// The device's OSCORE parameters for this client (Sender ID = ID1, Recipient ID =
    /// ID2); derive a `SecurityContext` from them.
    pub context: ContextParams,
    /// The stored token.
    pub token: TokenInfo,
    /// The entry of the same token (same `cti`) that this one replaced: drop its context.
    pub replaced: Option<TokenInfo>,
    /// Entries dropped to make room (expired ones, then the oldest): drop their contexts.
    pub evicted: Vec<TokenInfo>,
}

/// The device's authz-info endpoint and its stored access tokens.
///
/// Tokens are kept oldest first, at most `capacity` of them, each under a server Recipient
/// ID (ID2) that is unique in the store, so the kid of an OSCORE request finds its token.
#[derive(Debug, Clone)]
pub struct TokenStore {
    audience: String,
    key: SymmetricKey,
    capacity: usize,
    entries: Vec<TokenInfo>,
    defences: Defences,
}

impl TokenStore {
    /// The store of the device `audience`, which shares `as_key` with the AS, holding up to
    /// [`TOKEN_STORE_CAPACITY`] tokens.
    pub fn new(audience: impl Into<String>, as_key: [u8; 16]) -> Self {
        Self {
            audience: audience.into(),
            key: device_key(&as_key),
            capacity: TOKEN_STORE_CAPACITY,
            entries: Vec::new(),
            defences: Defences::default(),
        }
    }

    /// The same store applying the token defences of `defences`: `token_audience`,
    /// `token_expiry` and `token_scope` (all on by default; off only in ablation studies).
    pub fn with_defences(mut self, defences: Defences) -> Self {
        self.defences = defences;
        self
    }

    /// Whether `token` grants `required`. Every scope decision of a device goes through
    /// here ([`Self::authorize`], and the update types an envelope may have), so that the
    /// `token_scope` ablation acts on all of them at once.
    pub fn grants(&self, token: &TokenInfo, required: ScopeToken) -> bool {
        // DANGER(ablation: token_scope)
        if !self.defences.token_scope {
            return true;
        }
        token.scope.contains(required)
    }

    /// The same store holding up to `capacity` tokens (clamped to 1..=64).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.clamp(1, MAX_CAPACITY);
        self
    }

    /// The device's audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The most tokens it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stored tokens, oldest first.
    pub fn tokens(&self) -> &[TokenInfo] {
        &self.entries
    }

    /// The token of the security context whose Recipient ID (the kid of the client's
    /// requests) is `server_recipient_id`.
    pub fn token(&self, server_recipient_id: &[u8]) -> Option<&TokenInfo> {
        self.entries
            .iter()
            .find(|t| t.server_recipient_id == server_recipient_id)
    }

    /// Drops the tokens expired at `now` and returns them (their contexts must go too).
    pub fn remove_expired(&mut self, now: Instant) -> Vec<TokenInfo> {
        let (expired, kept) = core::mem::take(&mut self.entries)
            .into_iter()
            .partition(|t| t.is_expired(now));
        self.entries = kept;
        expired
    }

    /// Authorizes a request that arrived under the context with Recipient ID
    /// `server_recipient_id` and needs `required`: [`AceError::NoToken`] if no token
    /// belongs to it, else the checks of [`TokenInfo::authorize`] (expiry, then scope), as
    /// far as the store's defences have them on.
    pub fn authorize(
        &self,
        now: Instant,
        server_recipient_id: &[u8],
        required: ScopeToken,
    ) -> Result<&TokenInfo, AceError> {
        let token = self
            .token(server_recipient_id)
            .ok_or_else(|| AceError::NoToken(server_recipient_id.to_vec()))?;
        self.check_expiry(token.expires_at.unix_secs(), now)?;
        if !self.grants(token, required) {
            return Err(AceError::OutsideScope {
                required,
                granted: token.scope.clone(),
            });
        }
        Ok(token)
    }

    /// Handles the payload of a POST to `/authz-info` at `now` (RFC 9203 sections 4.1-4.3).
    ///
    /// Decodes the request and opens the token ([`AccessTokenClaims::open`]), then checks,
    /// in the order of RFC 9200 section 5.10.1.1: `exp` ([`AceError::Expired`]), `aud`
    /// ([`AceError::WrongAudience`]), `scope` ([`AceError::UnknownScope`]); then that ID1
    /// fits the AEAD. On success draws N2 and then ID2 from `rng`, stores the token
    /// (replacing an entry with the same `cti`, else evicting expired entries and then the
    /// oldest while full) and returns the answer and the device's OSCORE parameters. A
    /// rejected request leaves the store unchanged. Never panics on any input. With the
    /// `token_audience` or `token_expiry` defence off ([`Self::with_defences`]), the `kid`
    /// and `aud` checks, or the `exp` check, are left out.
    pub fn handle_authz_info<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        body: &[u8],
        rng: &mut R,
    ) -> Result<AuthzInfoAccepted, AceError> {
        let request = AuthzInfoRequest::decode(body)?;
        // DANGER(ablation: token_audience)
        let audience = self
            .defences
            .token_audience
            .then_some(self.audience.as_str());
        let claims = AccessTokenClaims::open_for(&request.access_token, &self.key, audience)?;
        self.check_expiry(claims.expires_at, now)?;
        if let Some(audience) = audience
            && claims.audience != audience
        {
            return Err(AceError::WrongAudience {
                expected: self.audience.clone(),
                found: claims.audience,
            });
        }
        let scope = Scope::parse(&claims.scope)?;
        let id1 = request.client_recipient_id;
        let max_id = claims.osc.aead().max_id_len();
        if id1.len() > max_id {
            return Err(AceError::Malformed(format!(
                "ace_client_recipientid of {} bytes, at most {max_id}",
                id1.len()
            )));
        }

        // Accepted: from here on the store changes.
        let mut nonce2 = vec![0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce2);
        let replaced = self
            .entries
            .iter()
            .position(|t| t.cti == claims.cti)
            .map(|i| self.entries.remove(i));
        let mut evicted = Vec::new();
        if replaced.is_none() && self.entries.len() >= self.capacity {
            evicted = self.remove_expired(now);
            while self.entries.len() >= self.capacity {
                evicted.push(self.entries.remove(0));
            }
        }
        let id2 = self.fresh_recipient_id(&id1, rng);
        let context = claims
            .osc
            .context_params(&request.nonce1, &nonce2, &id1, &id2);
        let token = TokenInfo {
            scope,
            expires_at: Instant::from_unix_secs(claims.expires_at),
            issued_at: claims.issued_at.map(Instant::from_unix_secs),
            cti: claims.cti,
            input_material_id: claims.osc.id.clone(),
            client_recipient_id: id1,
            server_recipient_id: id2.clone(),
        };
        self.entries.push(token.clone());
        Ok(AuthzInfoAccepted {
            response: AuthzInfoResponse {
                nonce2,
                server_recipient_id: id2,
            },
            context,
            token,
            replaced,
            evicted,
        })
    }

    /// [`AceError::Expired`] if a token with `exp` (Unix seconds) has expired at `now`.
    /// Every expiry decision goes through here, at authz-info and for every request.
    fn check_expiry(&self, exp: u64, now: Instant) -> Result<(), AceError> {
        // DANGER(ablation: token_expiry)
        if !self.defences.token_expiry {
            return Ok(());
        }
        if now.unix_secs() >= exp {
            return Err(AceError::Expired {
                exp,
                now: now.unix_secs(),
            });
        }
        Ok(())
    }

    /// A one-byte Recipient ID that differs from `client_id` and from every stored
    /// token's: a few random draws, then the first free value. At most 63 stored tokens
    /// and one client ID exclude at most 64 of the 256 values, so the scan always finds one.
    fn fresh_recipient_id<R: CryptoRng + ?Sized>(&self, client_id: &[u8], rng: &mut R) -> Vec<u8> {
        let free =
            |id: &[u8]| id != client_id && self.entries.iter().all(|t| t.server_recipient_id != id);
        for _ in 0..RECIPIENT_ID_DRAWS {
            let mut id = [0u8; 1];
            rng.fill_bytes(&mut id);
            if free(&id) {
                return id.to_vec();
            }
        }
        (0..=u8::MAX)
            .map(|b| vec![b])
            .find(|id| free(id))
            // Unreachable (see above); two bytes would be free anyway.
            .unwrap_or_else(|| vec![0, 0])
    }
}
