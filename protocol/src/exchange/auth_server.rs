//! The Authorization Server as a node: `POST token` with `{5: audience, 9: scope}` (RFC 9200
//! section 5.8 parameters) answered 2.01 with the access token response, or 4.00 with a
//! refusal naming the error.

use ciborium::Value;
use coap_lite::{RequestType, ResponseType};
use rand_core::CryptoRng;

use super::wire::{PATH_TOKEN, Refusal};
use super::{Addr, Node, msg};
use crate::ace::AuthorizationServer;
use crate::cbor::{self, CborError, IntMap};
use crate::coap::{Endpoint, EndpointConfig, Event, Stats, Transmit};
use crate::time::Instant;

/// Token request parameter labels (RFC 9200 section 8.10).
const AUDIENCE: i64 = 5;
const SCOPE: i64 = 9;

/// Encode a token request.
pub fn encode_token_request(audience: &str, scope: &str) -> Vec<u8> {
    cbor::encode(&cbor::int_map([
        (AUDIENCE, Value::Text(audience.to_string())),
        (SCOPE, Value::Text(scope.to_string())),
    ]))
}

fn decode_token_request(bytes: &[u8]) -> Result<(String, String), CborError> {
    let v = cbor::decode(bytes)?;
    let map = IntMap::new(&v, "token request")?;
    map.only(&[AUDIENCE, SCOPE])?;
    Ok((
        cbor::text(map.require(AUDIENCE)?, "audience")?.to_string(),
        cbor::text(map.require(SCOPE)?, "scope")?.to_string(),
    ))
}

/// The AS node.
pub struct AuthServer<R> {
    rng: R,
    endpoint: Endpoint<Addr>,
    server: AuthorizationServer,
    /// Token requests refused.
    pub refused: u64,
}

impl<R: CryptoRng> AuthServer<R> {
    /// A node serving `server`.
    pub fn new(config: EndpointConfig, server: AuthorizationServer, mut rng: R) -> Self {
        AuthServer {
            endpoint: Endpoint::new(config, &mut rng),
            rng,
            server,
            refused: 0,
        }
    }

    /// The AS itself (e.g. to register devices or read its counters).
    pub fn server(&mut self) -> &mut AuthorizationServer {
        &mut self.server
    }

    /// CoAP counters.
    pub fn stats(&self) -> &Stats {
        self.endpoint.stats()
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            let Event::RequestReceived { id, request, .. } = event else {
                continue;
            };
            let request = request.to_packet();
            let reply = if msg::path(&request).as_deref() != Some(PATH_TOKEN) {
                msg::response(ResponseType::NotFound, Vec::new())
            } else if msg::method(&request) != Some(RequestType::Post) {
                msg::response(ResponseType::MethodNotAllowed, Vec::new())
            } else {
                let issued = decode_token_request(&request.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|(aud, scope)| {
                        self.server
                            .issue(now, &aud, &scope, &mut self.rng)
                            .map_err(|e| e.to_string())
                    });
                match issued {
                    Ok(token) => msg::response(ResponseType::Created, token.encode()),
                    Err(reason) => {
                        self.refused += 1;
                        msg::response(ResponseType::BadRequest, Refusal { reason }.encode())
                    }
                }
            };
            // A fresh request id and a token response well below the message size limit.
            let _ = self.endpoint.respond(now, &mut self.rng, id, reply);
        }
    }
}

impl<R: CryptoRng> Node for AuthServer<R> {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.endpoint.handle_datagram(now, from, bytes);
        self.process(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.process(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        self.endpoint.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }
}
