//! Unit tests of the ACE module: the whole exchange with OSCORE contexts that interoperate,
//! every rejection by cause, the token store bound, tampering, codecs and sizes.

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::encrypt0::SymmetricKey;
use crate::oscore::{ResponseNonce, SecurityContext};
use crate::time::{Duration, Instant};

pub(super) const KEY_A: [u8; 16] = [0xa1; 16];
const KEY_B: [u8; 16] = [0xb2; 16];
pub(super) const PLC_A: &str = "plc-0001";
const PLC_B: &str = "plc-0002";
pub(super) const SCOPE: &str = "fw:install status:read";
const LIFETIME: u64 = 3600;

pub(super) fn now() -> Instant {
    Instant::from_unix_secs(1_700_000_000)
}

pub(super) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub(super) fn authority() -> AuthorizationServer {
    let mut aserver = AuthorizationServer::new(Duration::from_secs(LIFETIME));
    aserver.register_device(PLC_A, KEY_A);
    aserver.register_device(PLC_B, KEY_B);
    aserver
}

fn issue(scope: &str, seed: u64) -> AccessTokenResponse {
    authority()
        .issue(now(), PLC_A, scope, &mut rng(seed))
        .unwrap()
}

fn post(
    store: &mut TokenStore,
    at: Instant,
    token: &AccessTokenResponse,
    seed: u64,
) -> Result<AuthzInfoAccepted, AceError> {
    let client = ClientExchange::start(token, &mut rng(seed));
    store.handle_authz_info(at, &client.request().encode(), &mut rng(seed + 1))
}

/// A token for `PLC_A` with arbitrary claims, sealed under `key` with kid `PLC_A`.
fn crafted(key: [u8; 16], edit: impl FnOnce(&mut AccessTokenClaims)) -> AccessTokenResponse {
    let mut token = issue(SCOPE, 7);
    let mut claims = AccessTokenClaims::open(
        &token.access_token,
        &SymmetricKey::new(crate::encrypt0::ContentAlgorithm::AesCcm16_64_128, &KEY_A).unwrap(),
        PLC_A,
    )
    .unwrap();
    edit(&mut claims);
    let key = SymmetricKey::new(crate::encrypt0::ContentAlgorithm::AesCcm16_64_128, &key).unwrap();
    token.access_token = claims.seal(&key, PLC_A.as_bytes(), &mut rng(8)).unwrap();
    token
}

fn coap_request(payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(RequestType::Put);
    p.header.message_id = 7;
    p.set_token(vec![1, 2]);
    p.add_option(CoapOption::UriPath, b"fw".to_vec());
    p.payload = payload.to_vec();
    p
}

#[test]
fn issued_token_is_accepted_and_the_contexts_interoperate() {
    let mut aserver = authority();
    let token = aserver.issue(now(), PLC_A, SCOPE, &mut rng(1)).unwrap();
    assert_eq!(aserver.tokens_issued(), 1);
    assert_eq!(token.expires_in, LIFETIME);
    // The client's copy of the response survives its encoding.
    let token = AccessTokenResponse::decode(&token.encode()).unwrap();

    let client = ClientExchange::start(&token, &mut rng(2));
    assert_eq!(client.nonce1().len(), NONCE_LEN);
    assert_eq!(client.recipient_id().len(), CLIENT_RECIPIENT_ID_LEN);
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let accepted = store
        .handle_authz_info(now(), &client.request().encode(), &mut rng(3))
        .unwrap();
    assert_eq!(accepted.token.scope.to_string(), SCOPE);
    assert_eq!(
        accepted.token.expires_at,
        Instant::from_unix_secs(now().unix_secs() + LIFETIME)
    );
    assert_eq!(accepted.token.client_recipient_id, client.recipient_id());
    assert_eq!(store.len(), 1);

    let client_params = client.finish(&accepted.response.encode()).unwrap();
    let server_params = accepted.context;
    assert_eq!(client_params.sender_id, server_params.recipient_id);
    assert_eq!(client_params.recipient_id, server_params.sender_id);
    assert_eq!(client_params.master_secret, token.cnf.master_secret);
    let salt = master_salt(None, client.nonce1(), &accepted.response.nonce2);
    assert_eq!(salt[0], 0x40);
    assert_eq!(client_params.master_salt, salt);
    assert_eq!(server_params.master_salt, salt);

    let mut c = SecurityContext::derive(&client_params).unwrap();
    let mut s = SecurityContext::derive(&server_params).unwrap();
    let (protected, binding) = c.protect_request(&coap_request(b"envelope")).unwrap();
    let (plain, server_binding) = s.unprotect_request(&protected).unwrap();
    assert_eq!(plain.payload, b"envelope");
    // The request's kid finds the token, and the token covers the operation.
    let info = store
        .authorize(now(), server_binding.kid(), ScopeToken::FwInstall)
        .unwrap();
    assert_eq!(info.cti, accepted.token.cti);

    let mut answer = Packet::new();
    answer.header.code = MessageClass::Response(ResponseType::Changed);
    answer.payload = b"verified".to_vec();
    let protected = s
        .protect_response(&answer, &server_binding, ResponseNonce::Reuse)
        .unwrap();
    let plain = c.unprotect_response(&protected, &binding).unwrap();
    assert_eq!(plain.payload, b"verified");
}

#[test]
fn input_salt_and_the_rfc_9203_master_salt_example() {
    // RFC 9203 section 4.3, Figure 13.
    let salt = hex::decode("f9af838368e353e78888e1426bd94e6f").unwrap();
    let n1 = hex::decode("018a278f7faab55a").unwrap();
    let n2 = hex::decode("25a8991cd700ac01").unwrap();
    assert_eq!(
        hex::encode(master_salt(Some(&salt), &n1, &n2)),
        "50f9af838368e353e78888e1426bd94e6f48018a278f7faab55a4825a8991cd700ac01"
    );

    let mut aserver = authority().with_input_salt_len(8);
    let token = aserver.issue(now(), PLC_A, SCOPE, &mut rng(1)).unwrap();
    let input_salt = token.cnf.salt.clone().unwrap();
    assert_eq!(input_salt.len(), 8);
    let client = ClientExchange::start(&token, &mut rng(2));
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let accepted = store
        .handle_authz_info(now(), &client.request().encode(), &mut rng(3))
        .unwrap();
    let client_params = client.finish(&accepted.response.encode()).unwrap();
    assert_eq!(client_params.master_salt, accepted.context.master_salt);
    assert_eq!(&client_params.master_salt[1..9], &input_salt[..]);
}

#[test]
fn token_for_another_device_is_wrong_audience() {
    // Addressed (kid) to plc-0002 and encrypted under its key.
    let token = authority().issue(now(), PLC_B, SCOPE, &mut rng(1)).unwrap();
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let err = post(&mut store, now(), &token, 2).unwrap_err();
    assert_eq!(
        err,
        AceError::WrongAudience {
            expected: PLC_A.into(),
            found: PLC_B.into()
        }
    );
    assert_eq!(err.response_code(), Some(ResponseType::Forbidden));

    // Authentic under plc-0001's key, but its aud claim names plc-0002.
    let token = crafted(KEY_A, |c| c.audience = PLC_B.into());
    let err = post(&mut store, now(), &token, 2).unwrap_err();
    assert!(matches!(err, AceError::WrongAudience { ref found, .. } if found == PLC_B));
    assert!(store.is_empty());
}

#[test]
fn expired_token_is_rejected_and_expiry_ends_authorization() {
    let token = issue(SCOPE, 1);
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let exp = now() + Duration::from_secs(LIFETIME);
    let err = post(&mut store, exp, &token, 2).unwrap_err();
    assert_eq!(
        err,
        AceError::Expired {
            exp: exp.unix_secs(),
            now: exp.unix_secs()
        }
    );
    assert_eq!(err.response_code(), Some(ResponseType::Unauthorized));
    assert!(store.is_empty());

    let last_second = now() + Duration::from_secs(LIFETIME - 1);
    let accepted = post(&mut store, last_second, &token, 2).unwrap();
    let kid = accepted.token.server_recipient_id;
    assert!(
        store
            .authorize(last_second, &kid, ScopeToken::FwInstall)
            .is_ok()
    );
    assert!(matches!(
        store.authorize(exp, &kid, ScopeToken::FwInstall),
        Err(AceError::Expired { .. })
    ));
    assert_eq!(store.remove_expired(exp).len(), 1);
    assert_eq!(
        store.authorize(exp, &kid, ScopeToken::FwInstall),
        Err(AceError::NoToken(kid))
    );
}

#[test]
fn token_under_a_wrong_key_is_undecryptable() {
    let mut aserver = AuthorizationServer::new(Duration::from_secs(LIFETIME));
    aserver.register_device(PLC_A, KEY_B);
    let token = aserver.issue(now(), PLC_A, SCOPE, &mut rng(1)).unwrap();
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let err = post(&mut store, now(), &token, 2).unwrap_err();
    assert_eq!(err, AceError::TokenUndecryptable);
    assert_eq!(err.response_code(), Some(ResponseType::Unauthorized));
}

#[test]
fn unknown_scopes_and_audiences_are_rejected() {
    let mut aserver = authority();
    let err = aserver
        .issue(now(), PLC_A, "fw:install debug:shell", &mut rng(1))
        .unwrap_err();
    assert_eq!(err, AceError::UnknownScope("debug:shell".into()));
    assert_eq!(err.response_code(), Some(ResponseType::BadRequest));
    let err = aserver
        .issue(now(), "plc-9999", SCOPE, &mut rng(1))
        .unwrap_err();
    assert_eq!(err, AceError::UnknownAudience("plc-9999".into()));
    for bad in [
        "",
        " fw:install",
        "fw:install  status:read",
        "fw:install fw:install",
    ] {
        assert!(matches!(
            aserver.issue(now(), PLC_A, bad, &mut rng(1)),
            Err(AceError::Malformed(_))
        ));
    }
    assert_eq!(aserver.tokens_issued(), 0);

    // A device rejects an authentic token whose scope it does not know.
    let token = crafted(KEY_A, |c| c.scope = "fw:install debug:shell".into());
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let err = post(&mut store, now(), &token, 2).unwrap_err();
    assert_eq!(err, AceError::UnknownScope("debug:shell".into()));
    assert_eq!(err.response_code(), Some(ResponseType::BadRequest));
}

#[test]
fn app_install_does_not_permit_fw_install() {
    let token = issue("app:install", 1);
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let info = post(&mut store, now(), &token, 2).unwrap().token;
    assert!(info.permits("app:install"));
    assert!(!info.permits("fw:install"));
    assert!(!info.permits("status:read"));
    assert!(!info.permits("debug:shell"));
    assert!(info.authorize(now(), ScopeToken::AppInstall).is_ok());
    let err = store
        .authorize(
            now(),
            &info.server_recipient_id,
            ScopeToken::install(crate::ids::UpdateType::Firmware),
        )
        .unwrap_err();
    assert_eq!(
        err,
        AceError::OutsideScope {
            required: ScopeToken::FwInstall,
            granted: Scope::of([ScopeToken::AppInstall]).unwrap()
        }
    );
    assert_eq!(err.response_code(), Some(ResponseType::Forbidden));
    let other_kid: Vec<u8> = vec![info.server_recipient_id[0].wrapping_add(1)];
    let err = store
        .authorize(now(), &other_kid, ScopeToken::AppInstall)
        .unwrap_err();
    assert_eq!(err.response_code(), Some(ResponseType::Unauthorized));
}

#[test]
fn the_store_never_holds_more_than_its_bound() {
    let mut aserver = authority();
    let mut store = TokenStore::new(PLC_A, KEY_A);
    assert_eq!(store.capacity(), TOKEN_STORE_CAPACITY);
    let mut posted = Vec::new();
    for i in 0..10u64 {
        let token = aserver
            .issue(now(), PLC_A, SCOPE, &mut rng(100 + i))
            .unwrap();
        let accepted = post(&mut store, now(), &token, 200 + 2 * i).unwrap();
        posted.push(accepted.token.cti.clone());
        assert!(store.len() <= TOKEN_STORE_CAPACITY);
        if i >= TOKEN_STORE_CAPACITY as u64 {
            // The oldest goes.
            assert_eq!(accepted.evicted.len(), 1);
            assert_eq!(
                accepted.evicted[0].cti,
                posted[i as usize - TOKEN_STORE_CAPACITY]
            );
        }
        let mut ids: Vec<_> = store
            .tokens()
            .iter()
            .map(|t| t.server_recipient_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), store.len(), "server recipient ids are unique");
    }

    // Expired tokens go before the oldest valid one.
    let mut short = AuthorizationServer::new(Duration::from_secs(10));
    short.register_device(PLC_A, KEY_A);
    let mut store = TokenStore::new(PLC_A, KEY_A).with_capacity(3);
    let old = post(&mut store, now(), &issue(SCOPE, 1), 2).unwrap().token;
    for seed in [3, 5] {
        post(
            &mut store,
            now(),
            &short.issue(now(), PLC_A, SCOPE, &mut rng(seed)).unwrap(),
            9,
        )
        .unwrap();
    }
    let later = now() + Duration::from_secs(60);
    let accepted = post(&mut store, later, &issue(SCOPE, 11), 12).unwrap();
    assert_eq!(accepted.evicted.len(), 2);
    assert!(accepted.evicted.iter().all(|t| t.is_expired(later)));
    assert_eq!(store.tokens()[0], old);
    assert_eq!(store.len(), 2);
}

#[test]
fn reposting_a_token_replaces_its_entry_with_a_new_context() {
    let token = issue(SCOPE, 1);
    let mut store = TokenStore::new(PLC_A, KEY_A).with_capacity(1);
    let first = post(&mut store, now(), &token, 2).unwrap();
    let second = post(&mut store, now(), &token, 4).unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(second.replaced.as_ref(), Some(&first.token));
    assert!(second.evicted.is_empty());
    assert_ne!(first.context.master_salt, second.context.master_salt);
    assert_eq!(store.tokens()[0], second.token);
}

#[test]
fn a_flipped_byte_anywhere_in_the_token_is_rejected() {
    let token = issue(SCOPE, 1);
    let mut store = TokenStore::new(PLC_A, KEY_A);
    for i in 0..token.access_token.len() {
        for mask in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
            let mut altered = token.clone();
            altered.access_token[i] ^= mask;
            let result = post(&mut store, now(), &altered, 2);
            assert!(result.is_err(), "byte {i} ^ {mask:#04x} accepted");
        }
    }
    assert!(store.is_empty());
    assert!(post(&mut store, now(), &token, 2).is_ok());
}

#[test]
fn malformed_requests_and_answers_are_typed() {
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let token = issue(SCOPE, 1);
    let good = ClientExchange::start(&token, &mut rng(2)).request();
    let mut short_nonce = good.clone();
    short_nonce.nonce1.truncate(4);
    let mut long_id = good.clone();
    long_id.client_recipient_id = vec![1; 8];
    for body in [
        vec![],
        vec![0xa0],
        short_nonce.encode(),
        long_id.encode(),
        [good.encode(), vec![0]].concat(),
    ] {
        let err = store
            .handle_authz_info(now(), &body, &mut rng(3))
            .unwrap_err();
        assert!(matches!(err, AceError::Malformed(_)), "{err:?}");
        assert_eq!(err.response_code(), Some(ResponseType::BadRequest));
    }

    let client = ClientExchange::with_recipient_id(&token, &[7], &mut rng(2)).unwrap();
    assert!(ClientExchange::with_recipient_id(&token, &[0; 8], &mut rng(2)).is_err());
    let collision = AuthzInfoResponse {
        nonce2: vec![0; NONCE_LEN],
        server_recipient_id: vec![7],
    };
    let err = client.finish(&collision.encode()).unwrap_err();
    assert_eq!(err, AceError::RecipientIdCollision);
    assert_eq!(err.response_code(), None);
}

#[test]
fn codecs_round_trip_and_reject_the_unknown() {
    let token = issue(SCOPE, 1);
    assert_eq!(AccessTokenResponse::decode(&token.encode()).unwrap(), token);
    let request = ClientExchange::start(&token, &mut rng(2)).request();
    assert_eq!(
        AuthzInfoRequest::decode(&request.encode()).unwrap(),
        request
    );

    let mut material = token.cnf.clone();
    material.salt = Some(vec![1, 2]);
    material.context_id = Some(vec![3]);
    material.algorithm = Some(crate::oscore::AeadAlgorithm::A128Gcm);
    let value = material.to_cbor_value();
    assert_eq!(
        OscoreInputMaterial::from_cbor_value(&value).unwrap(),
        material
    );
    let with = |k: i64, v: ciborium::Value| {
        let ciborium::Value::Map(mut m) = value.clone() else {
            unreachable!()
        };
        m.push((ciborium::Value::Integer(k.into()), v));
        ciborium::Value::Map(m)
    };
    for (k, v) in [
        (label::osc::VERSION, ciborium::Value::Integer(2.into())),
        (label::osc::HKDF, ciborium::Value::Integer((-10).into())),
        (7, ciborium::Value::Null),
    ] {
        assert!(matches!(
            OscoreInputMaterial::from_cbor_value(&with(k, v)),
            Err(AceError::Unsupported(_))
        ));
    }
    assert!(OscoreInputMaterial::from_cbor_value(&with(label::osc::VERSION, 1.into())).is_ok());
    // Debug does not print the Master Secret.
    let shown = format!("{material:?}");
    assert!(!shown.contains(&format!("{:?}", material.master_secret)));

    assert_eq!(
        Scope::parse("status:read fw:install").unwrap().to_string(),
        SCOPE
    );
    assert_eq!(ScopeToken::parse("fw:install"), Some(ScopeToken::FwInstall));
    assert_eq!(ScopeToken::parse("FW:INSTALL"), None);
}

#[test]
fn sizes_of_a_typical_exchange() {
    let token = issue(SCOPE, 1);
    let client = ClientExchange::start(&token, &mut rng(2));
    let request = client.request().encode();
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let accepted = store
        .handle_authz_info(now(), &request, &mut rng(3))
        .unwrap();
    let response = accepted.response.encode();
    let (t, q, r, a) = (
        token.access_token.len(),
        request.len(),
        response.len(),
        token.encode().len(),
    );
    println!("access token {t} B, authz-info request {q} B, response {r} B, AS response {a} B");
    assert!((100..=140).contains(&t), "token {t}");
    assert!(q > t && q <= t + 20, "request {q}");
    assert_eq!(r, 1 + 2 + 1 + NONCE_LEN + 2 + 1 + 1);
    // Deterministic: the same seeds give the same bytes.
    assert_eq!(issue(SCOPE, 1), token);
}

#[test]
fn the_token_defences_can_be_switched_off_one_by_one() {
    use crate::verify::Defences;
    let off = |name: &str| {
        let mut d = Defences::default();
        d.set(name, false).unwrap();
        TokenStore::new(PLC_A, KEY_A).with_defences(d)
    };

    // token_audience: two devices that share an AS key (a per-site group key). A token
    // for plc-0002 is refused by its kid, and one whose kid was rewritten by its aud
    // claim; with the defence off both are accepted.
    let mut shared = AuthorizationServer::new(Duration::from_secs(LIFETIME));
    shared.register_device(PLC_B, KEY_A);
    let for_b = shared.issue(now(), PLC_B, SCOPE, &mut rng(1)).unwrap();
    let kid_rewritten = crafted(KEY_A, |c| c.audience = PLC_B.into());
    for token in [&for_b, &kid_rewritten] {
        let mut store = TokenStore::new(PLC_A, KEY_A);
        let err = post(&mut store, now(), token, 2).unwrap_err();
        assert!(matches!(err, AceError::WrongAudience { ref found, .. } if found == PLC_B));
        let mut store = off("token_audience");
        assert!(post(&mut store, now(), token, 2).is_ok());
    }
    // Another device's key still does not open: the audience check is all that is off.
    let other = authority().issue(now(), PLC_B, SCOPE, &mut rng(1)).unwrap();
    assert_eq!(
        post(&mut off("token_audience"), now(), &other, 2).unwrap_err(),
        AceError::TokenUndecryptable
    );

    // token_expiry: an expired token is accepted and authorizes requests.
    let token = issue(SCOPE, 1);
    let late = now() + Duration::from_secs(LIFETIME + 3600);
    assert!(matches!(
        post(&mut TokenStore::new(PLC_A, KEY_A), late, &token, 2),
        Err(AceError::Expired { .. })
    ));
    let mut store = off("token_expiry");
    let kid = post(&mut store, late, &token, 2)
        .unwrap()
        .token
        .server_recipient_id;
    assert!(store.authorize(late, &kid, ScopeToken::FwInstall).is_ok());
    assert!(matches!(
        store.authorize(late, &kid, ScopeToken::AppInstall),
        Err(AceError::OutsideScope { .. })
    ));

    // token_scope: every scope is granted by any valid token.
    let token = issue("app:install", 1);
    let mut store = TokenStore::new(PLC_A, KEY_A);
    let kid = post(&mut store, now(), &token, 2)
        .unwrap()
        .token
        .server_recipient_id;
    assert!(matches!(
        store.authorize(now(), &kid, ScopeToken::FwInstall),
        Err(AceError::OutsideScope { .. })
    ));
    let mut store = off("token_scope");
    let accepted = post(&mut store, now(), &token, 2).unwrap();
    let kid = accepted.token.server_recipient_id.clone();
    for scope in ScopeToken::ALL {
        assert!(store.authorize(now(), &kid, scope).is_ok());
        assert!(store.grants(&accepted.token, scope));
    }
    assert!(matches!(
        store.authorize(late, &kid, ScopeToken::FwInstall),
        Err(AceError::Expired { .. })
    ));
}
