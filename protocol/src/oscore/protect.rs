//! Protecting and unprotecting requests and responses (RFC 8613 sections 5 and 8).

use coap_lite::{CoapOption, MessageClass, Packet, RequestType, ResponseType};

use super::algorithm::{aad, nonce};
use super::context::{RequestBinding, ResponseNonce, SecurityContext};
use super::cose_option::{OscoreOptionValue, decode_partial_iv, encode_partial_iv};
use super::plaintext::{
    self, OptionClass, ReceivedOuter, class_of, is_request_code, is_response_code, received_outer,
};
use super::{OptionError, OscoreError};

/// A message to protect, split into its outer (Class U) and inner (Class E) options.
struct Split<'a> {
    code: u8,
    outer: Vec<(u16, &'a [u8])>,
    inner: Vec<(u16, &'a [u8])>,
    payload: &'a [u8],
}

impl<'a> Split<'a> {
    fn of(msg: &'a Packet) -> Result<Self, OscoreError> {
        // Each list sized exactly: at most one allocation each, no growth.
        let (mut outer_count, mut inner_count) = (0, 0);
        for (&num, values) in msg.options() {
            match class_of(num)? {
                OptionClass::Outer => outer_count += values.len(),
                OptionClass::Inner => inner_count += values.len(),
            }
        }
        let mut outer = Vec::with_capacity(outer_count);
        let mut inner = Vec::with_capacity(inner_count);
        for (&num, values) in msg.options() {
            for value in values {
                match class_of(num)? {
                    OptionClass::Outer => outer.push((num, value.as_slice())),
                    OptionClass::Inner => inner.push((num, value.as_slice())),
                }
            }
        }
        Ok(Self {
            code: u8::from(msg.header.code),
            outer,
            inner,
            payload: &msg.payload,
        })
    }

    fn plaintext(&self) -> Vec<u8> {
        plaintext::encode(self.code, &self.inner, self.payload)
    }

    fn plaintext_len(&self) -> usize {
        plaintext::encoded_len(&self.inner, self.payload.len())
    }

    /// The outer message: header and token of `msg`, the given outer code, the Class U
    /// options, the OSCORE option and the ciphertext as payload.
    fn outer_message(
        &self,
        msg: &Packet,
        code: MessageClass,
        option: &OscoreOptionValue,
        ciphertext: Vec<u8>,
    ) -> Packet {
        let mut out = shell(msg);
        out.header.code = code;
        for &(num, value) in &self.outer {
            out.add_option(CoapOption::from(num), value.to_vec());
        }
        out.add_option(CoapOption::Oscore, option.encode());
        out.payload = ciphertext;
        out
    }
}

impl SecurityContext {
    /// Protects a request (RFC 8613 section 8.1) with the next sender sequence number.
    ///
    /// Class E options and the payload are encrypted; the outer code is POST. Returns the
    /// protected message and the binding that [`Self::unprotect_response`] needs. After
    /// this call, check [`Self::take_checkpoint`].
    pub fn protect_request(
        &mut self,
        request: &Packet,
    ) -> Result<(Packet, RequestBinding), OscoreError> {
        let code = u8::from(request.header.code);
        if !is_request_code(code) {
            return Err(OscoreError::NotARequest(code));
        }
        let split = Split::of(request)?;
        let seq = self.next_sequence_number()?;
        let piv = encode_partial_iv(seq);
        let option = self.request_option(piv.clone());
        let nonce = nonce(&self.common_iv, &self.sender_id, &piv);
        let aad = aad(self.algorithm, &self.sender_id, &piv);
        let ciphertext = self
            .algorithm
            .seal(&self.sender_key, &nonce, &aad, &split.plaintext())?;
        let outer = split.outer_message(
            request,
            MessageClass::Request(RequestType::Post),
            &option,
            ciphertext,
        );
        let binding = RequestBinding {
            kid: self.sender_id.to_vec(),
            partial_iv: piv,
            kid_context: option.kid_context,
        };
        Ok((outer, binding))
    }

    /// Verifies and decrypts a protected request (RFC 8613 section 8.2).
    ///
    /// Checks that kid (and kid context, if sent) name this context, that the Partial IV
    /// passes the replay window, and the AEAD tag; then records the Partial IV as received
    /// and returns the original request (outer Class U options, inner options, inner code
    /// and payload) with the binding for the response. Outer Class E options are
    /// discarded. Never panics on any input. After this call, check
    /// [`Self::take_checkpoint`].
    pub fn unprotect_request(
        &mut self,
        request: &Packet,
    ) -> Result<(Packet, RequestBinding), OscoreError> {
        let option = oscore_option(request)?;
        let kid = option.kid.ok_or(OscoreError::MissingKid)?;
        let piv = option.partial_iv.ok_or(OscoreError::MissingPartialIv)?;
        if *kid != *self.recipient_id {
            return Err(OscoreError::UnknownKid(kid));
        }
        self.check_kid_context(option.kid_context.as_deref())?;
        let outer = outer_options(request)?;
        let seq = decode_partial_iv(&piv);
        // DANGER(ablation: replay_window)
        if self.replay_protection {
            self.replay.check(seq)?;
        }

        let nonce = nonce(&self.common_iv, &kid, &piv);
        let aad = aad(self.algorithm, &kid, &piv);
        let plain = self
            .algorithm
            .open(&self.recipient_key, &nonce, &aad, &request.payload)?;
        // The peer really sent this Partial IV: never accept it again, even if the
        // plaintext turns out malformed.
        self.record_received(seq);

        let inner = plaintext::decode(&plain)?;
        if !is_request_code(inner.code) {
            return Err(OscoreError::PlaintextMalformed(
                "inner code is not a request",
            ));
        }
        let binding = RequestBinding {
            kid,
            partial_iv: piv,
            kid_context: option.kid_context,
        };
        Ok((rebuild(request, outer, inner), binding))
    }

    /// Protects a response to the request described by `binding` (RFC 8613 section 8.3).
    ///
    /// With [`ResponseNonce::Reuse`] the request's nonce is reused and the OSCORE option is
    /// empty; with [`ResponseNonce::Fresh`] the next sender sequence number becomes the
    /// response's Partial IV (check [`Self::take_checkpoint`] afterwards). The outer code
    /// is 2.04 Changed. An Empty message (code 0.00, e.g. an empty ACK) is not protected
    /// and returned unchanged (RFC 8613 section 4.2).
    pub fn protect_response(
        &mut self,
        response: &Packet,
        binding: &RequestBinding,
        nonce_kind: ResponseNonce,
    ) -> Result<Packet, OscoreError> {
        let code = u8::from(response.header.code);
        if code == 0 {
            return Ok(response.clone());
        }
        if !is_response_code(code) {
            return Err(OscoreError::NotAResponse(code));
        }
        let split = Split::of(response)?;
        let (option, nonce) = match nonce_kind {
            ResponseNonce::Reuse => (
                OscoreOptionValue::default(),
                nonce(&self.common_iv, &binding.kid, &binding.partial_iv),
            ),
            ResponseNonce::Fresh => {
                let piv = encode_partial_iv(self.next_sequence_number()?);
                let nonce = nonce(&self.common_iv, &self.sender_id, &piv);
                let option = OscoreOptionValue {
                    partial_iv: Some(piv),
                    ..OscoreOptionValue::default()
                };
                (option, nonce)
            }
        };
        let aad = aad(self.algorithm, &binding.kid, &binding.partial_iv);
        let ciphertext = self
            .algorithm
            .seal(&self.sender_key, &nonce, &aad, &split.plaintext())?;
        Ok(split.outer_message(
            response,
            MessageClass::Response(ResponseType::Changed),
            &option,
            ciphertext,
        ))
    }

    /// Verifies and decrypts a protected response to the request described by `binding`
    /// (RFC 8613 section 8.4). The response may reuse the request nonce or carry its own
    /// Partial IV. An Empty message (code 0.00) is returned unchanged. Never panics on any
    /// input.
    ///
    /// The binding is borrowed, so that a forged response cannot use it up; the caller
    /// accepts at most one verified response per request (the CoAP layer matches by
    /// token), which is the replay protection for responses (section 7.4).
    pub fn unprotect_response(
        &mut self,
        response: &Packet,
        binding: &RequestBinding,
    ) -> Result<Packet, OscoreError> {
        if u8::from(response.header.code) == 0 {
            return Ok(response.clone());
        }
        let option = oscore_option(response)?;
        match option.kid {
            Some(kid) if *kid != *self.recipient_id => return Err(OscoreError::UnknownKid(kid)),
            _ => {}
        }
        self.check_kid_context(option.kid_context.as_deref())?;
        let outer = outer_options(response)?;
        let nonce = match &option.partial_iv {
            Some(piv) => nonce(&self.common_iv, &self.recipient_id, piv),
            None => nonce(&self.common_iv, &binding.kid, &binding.partial_iv),
        };
        let aad = aad(self.algorithm, &binding.kid, &binding.partial_iv);
        let plain = self
            .algorithm
            .open(&self.recipient_key, &nonce, &aad, &response.payload)?;
        let inner = plaintext::decode(&plain)?;
        if !is_response_code(inner.code) {
            return Err(OscoreError::PlaintextMalformed(
                "inner code is not a response",
            ));
        }
        Ok(rebuild(response, outer, inner))
    }

    /// The exact number of bytes that [`Self::protect_request`] would add to `request`
    /// right now (protected length minus unprotected length, both as serialized by
    /// `coap-lite`). Uses the next sequence number without consuming it.
    ///
    /// With AES-CCM-16-64-128 this is the OSCORE option (1 byte option header, 1 flag
    /// byte, the Partial IV, the kid, and 1 + s bytes of kid context if sent) plus 1 byte
    /// inner code, 1 byte extra payload marker and the 8-byte tag, give or take changes in
    /// option delta encoding.
    pub fn request_overhead(&self, request: &Packet) -> Result<usize, OscoreError> {
        let code = u8::from(request.header.code);
        if !is_request_code(code) {
            return Err(OscoreError::NotARequest(code));
        }
        if self.sender_seq > super::context::MAX_SEQUENCE_NUMBER {
            return Err(OscoreError::SequenceNumberExhausted);
        }
        let option = self.request_option(encode_partial_iv(self.sender_seq));
        let code = MessageClass::Request(RequestType::Post);
        overhead(request, code, &option, self.algorithm.tag_len())
    }

    /// The exact number of bytes that [`Self::protect_response`] would add to `response`
    /// right now with the given nonce choice (0 for an Empty message). Consumes nothing.
    pub fn response_overhead(
        &self,
        response: &Packet,
        nonce_kind: ResponseNonce,
    ) -> Result<usize, OscoreError> {
        let code = u8::from(response.header.code);
        if code == 0 {
            return Ok(0);
        }
        if !is_response_code(code) {
            return Err(OscoreError::NotAResponse(code));
        }
        let option = match nonce_kind {
            ResponseNonce::Reuse => OscoreOptionValue::default(),
            ResponseNonce::Fresh => {
                if self.sender_seq > super::context::MAX_SEQUENCE_NUMBER {
                    return Err(OscoreError::SequenceNumberExhausted);
                }
                OscoreOptionValue {
                    partial_iv: Some(encode_partial_iv(self.sender_seq)),
                    ..OscoreOptionValue::default()
                }
            }
        };
        let code = MessageClass::Response(ResponseType::Changed);
        overhead(response, code, &option, self.algorithm.tag_len())
    }

    /// The OSCORE option of a request with Partial IV `piv`.
    fn request_option(&self, piv: Vec<u8>) -> OscoreOptionValue {
        OscoreOptionValue {
            partial_iv: Some(piv),
            kid_context: self.id_context.clone().filter(|_| self.send_kid_context),
            kid: Some(self.sender_id.to_vec()),
        }
    }

    /// A received kid context must equal this context's ID Context.
    fn check_kid_context(&self, received: Option<&[u8]>) -> Result<(), OscoreError> {
        match received {
            Some(ctx) if Some(ctx) != self.id_context.as_deref() => {
                Err(OscoreError::UnknownKidContext(ctx.to_vec()))
            }
            _ => Ok(()),
        }
    }
}

/// The decoded OSCORE option of a received message.
fn oscore_option(msg: &Packet) -> Result<OscoreOptionValue, OscoreError> {
    let values = msg
        .get_option(CoapOption::Oscore)
        .filter(|v| !v.is_empty())
        .ok_or(OscoreError::MissingOscoreOption)?;
    let mut iter = values.iter();
    let first = iter.next().ok_or(OscoreError::MissingOscoreOption)?;
    if iter.next().is_some() {
        return Err(OptionError::Repeated.into());
    }
    Ok(OscoreOptionValue::decode(first)?)
}

/// The outer options of a received message that survive into the unprotected one.
fn outer_options(msg: &Packet) -> Result<Vec<(u16, Vec<u8>)>, OscoreError> {
    let mut kept = Vec::new();
    for (&num, values) in msg.options() {
        if values.is_empty() {
            continue;
        }
        if received_outer(num)? == ReceivedOuter::Keep {
            kept.extend(values.iter().map(|v| (num, v.clone())));
        }
    }
    Ok(kept)
}

/// The unprotected message: header and token of the outer one, the inner code, kept outer
/// options (replaced by inner options of the same number) and the inner options and
/// payload.
fn rebuild(outer_msg: &Packet, outer: Vec<(u16, Vec<u8>)>, inner: plaintext::Plaintext) -> Packet {
    let mut out = shell(outer_msg);
    out.header.code = MessageClass::from(inner.code);
    for (num, value) in outer {
        if !inner.options.iter().any(|(n, _)| *n == num) {
            out.add_option(CoapOption::from(num), value);
        }
    }
    for (num, value) in inner.options {
        out.add_option(CoapOption::from(num), value);
    }
    out.payload = inner.payload;
    out
}

/// `msg` without its options and payload: its header and token only. What a clone with
/// the options cleared and the payload emptied would be, without copying the options and
/// payload first.
pub(super) fn shell(msg: &Packet) -> Packet {
    let mut out = Packet::new();
    out.set_token(msg.get_token().to_vec());
    // After the token, which sets the header's token length: the header as it was.
    out.header = msg.header.clone();
    out
}

/// Protected minus unprotected length, computed with a dummy ciphertext of the right size.
fn overhead(
    msg: &Packet,
    code: MessageClass,
    option: &OscoreOptionValue,
    tag_len: usize,
) -> Result<usize, OscoreError> {
    let split = Split::of(msg)?;
    let dummy = vec![0u8; split.plaintext_len() + tag_len];
    let protected = split.outer_message(msg, code, option, dummy);
    let before = serialized_len(msg)?;
    let after = serialized_len(&protected)?;
    Ok(after.saturating_sub(before))
}

fn serialized_len(msg: &Packet) -> Result<usize, OscoreError> {
    msg.to_bytes_unlimited()
        .map(|b| b.len())
        .map_err(|e| OscoreError::Encoding(e.to_string()))
}
