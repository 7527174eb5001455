//! Property tests of the ACE module: no bytes from the network make a decoder or the
//! authz-info handler panic, and no change to a valid token is accepted.

use proptest::collection::vec;
use proptest::prelude::*;

use super::tests::{KEY_A, PLC_A, SCOPE, authority, now, rng};
use super::*;

fn token() -> AccessTokenResponse {
    authority().issue(now(), PLC_A, SCOPE, &mut rng(1)).unwrap()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        let mut store = TokenStore::new(PLC_A, KEY_A);
        let _ = store.handle_authz_info(now(), &bytes, &mut rng(2));
        // The same bytes as the token inside a well-formed request.
        let request = AuthzInfoRequest {
            access_token: bytes.clone(),
            nonce1: vec![0; NONCE_LEN],
            client_recipient_id: vec![1],
        };
        let _ = store.handle_authz_info(now(), &request.encode(), &mut rng(2));
        prop_assert!(store.is_empty());
        let key = super::token::device_key(&KEY_A);
        let _ = AccessTokenClaims::open(&bytes, &key, PLC_A);
        let _ = AccessTokenClaims::decode(&bytes);
        let _ = AccessTokenResponse::decode(&bytes);
        let _ = AuthzInfoRequest::decode(&bytes);
        let _ = AuthzInfoResponse::decode(&bytes);
        let _ = ClientExchange::start(&token(), &mut rng(3)).finish(&bytes);
        let _ = Scope::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn changed_tokens_are_never_accepted(
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let original = token();
        let mut altered = original.clone();
        for (at, byte) in edits {
            let i = at.index(altered.access_token.len());
            altered.access_token[i] = byte;
        }
        if truncate {
            altered.access_token.truncate(cut.index(altered.access_token.len()));
        }
        prop_assume!(altered.access_token != original.access_token);
        let mut store = TokenStore::new(PLC_A, KEY_A);
        let request = ClientExchange::start(&altered, &mut rng(2)).request();
        prop_assert!(store.handle_authz_info(now(), &request.encode(), &mut rng(3)).is_err());
    }
}
