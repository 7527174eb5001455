//! The Authorization Server: the operator's AS that issues access tokens for its devices
//! (RFC 9200 section 5.8, RFC 9203 section 3.2).

use std::collections::BTreeMap;

use ciborium::Value;
use rand_core::CryptoRng;

use super::AceError;
use super::label::{CNF_OSC, PROFILE_COAP_OSCORE, param};
use super::messages::MAX_TOKEN_LEN;
use super::scope::Scope;
use super::token::{AccessTokenClaims, OscoreInputMaterial, bounded_bytes, device_key};
use crate::cbor::{self, IntMap};
use crate::encrypt0::SymmetricKey;
use crate::time::{Duration, Instant};

/// The length of the Master Secret the AS draws: the 128-bit key of the AEAD.
const MASTER_SECRET_LEN: usize = 16;

/// The length of the `cti` the AS draws.
const CTI_LEN: usize = 8;

/// The longest input salt the AS can be configured to send.
const MAX_INPUT_SALT_LEN: usize = 32;

/// What the AS answers the client (RFC 9200 section 5.8.2, RFC 9203 section 3.2):
/// `{access_token, expires_in, cnf: {osc: OSCORE_Input_Material}, ace_profile: coap_oscore}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenResponse {
    /// The access token, opaque to the client (a COSE_Encrypt0 for the device).
    pub access_token: Vec<u8>,
    /// The token's lifetime in seconds from issuance.
    pub expires_in: u64,
    /// The OSCORE input material the token is bound to, for the client.
    pub cnf: OscoreInputMaterial,
}

impl AccessTokenResponse {
    /// The CBOR encoding, keys in ascending order.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&cbor::int_map([
            (param::ACCESS_TOKEN, Value::Bytes(self.access_token.clone())),
            (param::EXPIRES_IN, Value::Integer(self.expires_in.into())),
            (
                param::CNF,
                cbor::int_map([(CNF_OSC, self.cnf.to_cbor_value())]),
            ),
            (
                param::ACE_PROFILE,
                Value::Integer(PROFILE_COAP_OSCORE.into()),
            ),
        ]))
    }

    /// Decodes a response. `access_token`, `expires_in` and `cnf` are required;
    /// `ace_profile`, if present, must be `coap_oscore`.
    pub fn decode(bytes: &[u8]) -> Result<Self, AceError> {
        let value = cbor::decode(bytes)?;
        let map = IntMap::new(&value, "access token response")?;
        map.only(&[
            param::ACCESS_TOKEN,
            param::EXPIRES_IN,
            param::CNF,
            param::ACE_PROFILE,
        ])?;
        if let Some(profile) = map.get(param::ACE_PROFILE) {
            let profile = cbor::int(profile, "ace_profile")?;
            if profile != PROFILE_COAP_OSCORE {
                return Err(AceError::Unsupported(format!("ace_profile {profile}")));
            }
        }
        let cnf = IntMap::new(map.require(param::CNF)?, "cnf")?;
        cnf.only(&[CNF_OSC])?;
        Ok(Self {
            access_token: bounded_bytes(
                map.require(param::ACCESS_TOKEN)?,
                "access_token",
                1,
                MAX_TOKEN_LEN,
            )?,
            expires_in: cbor::uint(map.require(param::EXPIRES_IN)?, "expires_in")?,
            cnf: OscoreInputMaterial::from_cbor_value(cnf.require(CNF_OSC)?)?,
        })
    }

    /// When the token expires, for a client that received this response at `received`.
    pub fn expires_at(&self, received: Instant) -> Instant {
        received + Duration::from_secs(self.expires_in)
    }
}

/// The operator's Authorization Server.
///
/// It holds the key it shares with each device since commissioning, keyed by the device's
/// audience string, and issues access tokens for the operator's Update Manager: a CWT with
/// `aud`, `iat`, `exp` = `iat` + the token lifetime, a random `cti`, the requested `scope`,
/// and `cnf` with fresh OSCORE input material, encrypted for the device (see the module
/// documentation).
#[derive(Debug, Clone)]
pub struct AuthorizationServer {
    device_keys: BTreeMap<String, SymmetricKey>,
    token_lifetime: Duration,
    input_salt_len: usize,
    next_material_id: u64,
    tokens_issued: u64,
}

impl AuthorizationServer {
    /// An AS with no devices that issues tokens valid for `token_lifetime` (whole seconds)
    /// and sends no input salt.
    pub fn new(token_lifetime: Duration) -> Self {
        Self {
            device_keys: BTreeMap::new(),
            token_lifetime,
            input_salt_len: 0,
            next_material_id: 0,
            tokens_issued: 0,
        }
    }

    /// Sends a random input salt of `len` bytes (at most 32) in every OSCORE input material;
    /// 0 sends none (the default, which saves bytes; see the module documentation on
    /// interoperability).
    pub fn with_input_salt_len(mut self, len: usize) -> Self {
        self.input_salt_len = len.min(MAX_INPUT_SALT_LEN);
        self
    }

    /// Registers the key shared with the device `audience` at commissioning, replacing any
    /// earlier key for it.
    pub fn register_device(&mut self, audience: impl Into<String>, key: [u8; 16]) {
        self.device_keys.insert(audience.into(), device_key(&key));
    }

    /// Whether the AS has a key for `audience`.
    pub fn knows(&self, audience: &str) -> bool {
        self.device_keys.contains_key(audience)
    }

    /// How long the tokens it issues are valid.
    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    /// How many tokens it has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued
    }

    /// Issues an access token for `audience` with `scope` (space-separated scope tokens)
    /// at `now`.
    ///
    /// An audience without a registered key is [`AceError::UnknownAudience`]; a scope with
    /// a token devices do not know is [`AceError::UnknownScope`], an ill-formed one
    /// [`AceError::Malformed`]. The scope in the token is written in canonical order.
    /// Draws, in this order, the Master Secret, the `cti`, the input salt (if configured)
    /// and the token's IV from `rng`.
    pub fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        audience: &str,
        scope: &str,
        rng: &mut R,
    ) -> Result<AccessTokenResponse, AceError> {
        let key = self
            .device_keys
            .get(audience)
            .ok_or_else(|| AceError::UnknownAudience(audience.to_string()))?;
        let scope = Scope::parse(scope)?;
        let mut master_secret = vec![0u8; MASTER_SECRET_LEN];
        rng.fill_bytes(&mut master_secret);
        let mut cti = vec![0u8; CTI_LEN];
        rng.fill_bytes(&mut cti);
        let salt = (self.input_salt_len > 0).then(|| {
            let mut salt = vec![0u8; self.input_salt_len];
            rng.fill_bytes(&mut salt);
            salt
        });
        let osc = OscoreInputMaterial {
            id: minimal_be_bytes(self.next_material_id),
            master_secret,
            algorithm: None,
            salt,
            context_id: None,
        };
        let iat = now.unix_secs();
        let claims = AccessTokenClaims {
            audience: audience.to_string(),
            expires_at: iat.saturating_add(self.token_lifetime.as_secs()),
            issued_at: Some(iat),
            cti,
            scope: scope.to_string(),
            osc: osc.clone(),
        };
        let access_token = claims.seal(key, audience.as_bytes(), rng)?;
        self.next_material_id += 1;
        self.tokens_issued += 1;
        Ok(AccessTokenResponse {
            access_token,
            expires_in: self.token_lifetime.as_secs(),
            cnf: osc,
        })
    }
}

/// `n` as big-endian bytes without leading zeros (at least one byte).
fn minimal_be_bytes(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take(7).take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}
