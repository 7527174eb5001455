//! Received messages: a datagram checked once and indexed where its parts lie, without
//! copying each option into a `coap-lite` [`Packet`] (a tree of lists of vectors: about ten
//! allocations for a block request, where this takes one or two).
//!
//! The framing pass agrees with `coap-lite`'s `Packet::from_bytes` (the same packet, or the
//! matching error), and the checks after it are those of RFC 7252 section 3 that coap-lite
//! leaves out (property tests against a reference decoder built on coap-lite). The endpoint
//! hands the application a [`Message`]; code that wants a packet (OSCORE) converts it with
//! [`Message::to_packet`].

use std::collections::LinkedList;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};

use super::message::{self, DropReason, FormatError};

/// Options indexed in place before the index spills to the heap.
const INLINE_OPTIONS: usize = 8;

/// One option: its number and the range of its value in the datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct OptionAt {
    number: u16,
    start: u16,
    end: u16,
}

/// A received CoAP message, well-formed (RFC 7252 section 3: the checks of
/// [`Endpoint::handle_datagram`](super::Endpoint::handle_datagram)).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    bytes: Vec<u8>,
    mid: u16,
    mtype: MessageType,
    code: MessageClass,
    token_len: u8,
    inline: [OptionAt; INLINE_OPTIONS],
    inline_len: u8,
    /// Options past the first [`INLINE_OPTIONS`].
    spilled: Vec<OptionAt>,
    payload_start: usize,
}

impl Message {
    /// The datagram as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The datagram's buffer, to hand back to the endpoint with
    /// [`Endpoint::recycle`](super::Endpoint::recycle) once the message is handled.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The message code.
    pub fn code(&self) -> MessageClass {
        self.code
    }

    /// The request method, if it is a request.
    pub fn method(&self) -> Option<RequestType> {
        match self.code {
            MessageClass::Request(m) => Some(m),
            _ => None,
        }
    }

    /// The response code, if it is a response.
    pub fn response_code(&self) -> Option<ResponseType> {
        match self.code {
            MessageClass::Response(c) => Some(c),
            _ => None,
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        self.mtype
    }

    /// The message ID.
    pub fn message_id(&self) -> u16 {
        self.mid
    }

    /// The token.
    pub fn token(&self) -> &[u8] {
        &self.bytes[4..4 + usize::from(self.token_len)]
    }

    /// The payload (empty if there is none).
    pub fn payload(&self) -> &[u8] {
        &self.bytes[self.payload_start..]
    }

    /// Every option as (number, value), in the order of the datagram (which is ascending
    /// number order).
    pub fn options(&self) -> impl Iterator<Item = (u16, &[u8])> {
        self.inline[..usize::from(self.inline_len)]
            .iter()
            .chain(&self.spilled)
            .map(|o| {
                let range = usize::from(o.start)..usize::from(o.end);
                (o.number, &self.bytes[range])
            })
    }

    /// The value of option `number` if the message has it once; `Err(())` if it has it
    /// more than once. Options are stored in ascending number order (the encoding's
    /// deltas cannot be negative), so the scan stops past `number`.
    pub(crate) fn single_value(&self, number: u16) -> Result<Option<&[u8]>, ()> {
        let mut found: Option<&OptionAt> = None;
        'scan: for list in [&self.inline[..usize::from(self.inline_len)], &self.spilled] {
            for o in list {
                if o.number > number {
                    break 'scan;
                }
                if o.number == number {
                    if found.is_some() {
                        return Err(());
                    }
                    found = Some(o);
                }
            }
        }
        Ok(found.map(|o| &self.bytes[usize::from(o.start)..usize::from(o.end)]))
    }

    /// The values of `option`, in order.
    pub fn option_values(&self, option: CoapOption) -> impl Iterator<Item = &[u8]> {
        let number = u16::from(option);
        self.options()
            .filter(move |(n, _)| *n == number)
            .map(|(_, v)| v)
    }

    /// The message as the `coap-lite` packet that `Packet::from_bytes` gives for it.
    pub fn to_packet(&self) -> Packet {
        let mut packet = Packet::new();
        packet.header.set_version(1);
        packet.header.set_type(self.mtype);
        packet.header.code = self.code;
        packet.header.message_id = self.mid;
        packet.set_token(self.token().to_vec());
        // Options come in number order, each number's values together: one insertion each.
        let mut run: Option<(u16, LinkedList<Vec<u8>>)> = None;
        for (number, value) in self.options() {
            match &mut run {
                Some((n, values)) if *n == number => values.push_back(value.to_vec()),
                _ => {
                    let next = (number, LinkedList::from([value.to_vec()]));
                    if let Some((n, values)) = run.replace(next) {
                        packet.set_option(CoapOption::from(n), values);
                    }
                }
            }
        }
        if let Some((n, values)) = run {
            packet.set_option(CoapOption::from(n), values);
        }
        packet.payload = self.payload().to_vec();
        packet
    }
}

/// Checks and indexes a datagram, keeping its buffer; the errors are those of the packet
/// decoder. Datagrams over 65535 bytes are too large whatever `max_size` says (the
/// endpoint's limit is lower).
pub(super) fn decode(bytes: Vec<u8>, max_size: usize) -> Result<Message, DropReason> {
    if bytes.len() > max_size.min(usize::from(u16::MAX)) {
        return Err(DropReason::TooLarge);
    }
    let (message, empty_payload_marker, version) = parse(bytes).map_err(DropReason::Malformed)?;
    if version != 1 {
        return Err(DropReason::UnknownVersion);
    }
    if empty_payload_marker {
        return Err(DropReason::Malformed(FormatError::EmptyPayload));
    }
    let has_content = message.token_len != 0
        || message.inline_len != 0
        || message.payload_start < message.bytes.len();
    message::check_class(message.mtype, message.code, has_content)
        .map_err(DropReason::Malformed)?;
    Ok(message)
}

/// The framing pass, recording where things are: the message, whether a payload marker had
/// no payload after it, and the version.
pub(super) fn parse(bytes: Vec<u8>) -> Result<(Message, bool, u8), FormatError> {
    let buf = &bytes[..];
    let [first, code, mid_hi, mid_lo, ..] = *buf else {
        return Err(FormatError::Truncated);
    };
    let tkl = usize::from(first & 0x0F);
    let options_start = 4 + tkl;
    if tkl > 8 || options_start > buf.len() {
        return Err(FormatError::TokenLength);
    }
    let mut inline = [OptionAt::default(); INLINE_OPTIONS];
    let mut inline_len = 0usize;
    let mut spilled = Vec::new();
    let mut idx = options_start;
    let mut number = 0u16;
    while idx < buf.len() {
        let byte = buf[idx];
        if byte == 0xFF {
            break;
        }
        idx += 1;
        let delta = message::extended(byte >> 4, buf, &mut idx, FormatError::OptionDelta)?;
        let length = usize::from(message::extended(
            byte & 0x0F,
            buf,
            &mut idx,
            FormatError::OptionLength,
        )?);
        number = number.checked_add(delta).ok_or(FormatError::OptionDelta)?;
        let end = idx + length;
        if end > buf.len() {
            return Err(FormatError::OptionLength);
        }
        // Datagrams are at most 65535 bytes (checked first).
        let at = OptionAt {
            number,
            start: idx as u16,
            end: end as u16,
        };
        if inline_len < INLINE_OPTIONS {
            inline[inline_len] = at;
            inline_len += 1;
        } else {
            spilled.push(at);
        }
        idx = end;
    }
    let marker = idx < buf.len();
    let payload_start = if marker { idx + 1 } else { buf.len() };
    let empty_payload_marker = marker && payload_start == buf.len();
    let mtype = match (first >> 4) & 0b11 {
        0 => MessageType::Confirmable,
        1 => MessageType::NonConfirmable,
        2 => MessageType::Acknowledgement,
        _ => MessageType::Reset,
    };
    let message = Message {
        bytes,
        mid: u16::from_be_bytes([mid_hi, mid_lo]),
        mtype,
        code: MessageClass::from(code),
        token_len: tkl as u8,
        inline,
        inline_len: inline_len as u8,
        spilled,
        payload_start,
    };
    Ok((message, empty_payload_marker, first >> 6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Well-formed messages of every kind, to be mutated.
    fn samples() -> Vec<Vec<u8>> {
        let request = |mtype, options: &[(u16, &[u8])], payload: &[u8]| {
            message::encode_parts(
                Vec::new(),
                mtype,
                MessageClass::Request(RequestType::Get),
                0x1234,
                &[1, 2, 3, 4],
                options.iter().copied(),
                payload,
                2_000,
            )
            .expect("encodes")
        };
        let long = [7u8; 300];
        vec![
            request(
                MessageType::Confirmable,
                &[(11, b"fw"), (11, b"payload"), (23, &[0x12, 0x36])],
                b"",
            ),
            request(
                MessageType::NonConfirmable,
                &[(1, b"x"), (15, &long[..20]), (300, &long)],
                b"body",
            ),
            // Ten options: past the inline index.
            request(
                MessageType::Confirmable,
                &[
                    (11, b"a"),
                    (11, b"b"),
                    (11, b"c"),
                    (11, b"d"),
                    (11, b"e"),
                    (11, b"f"),
                    (11, b"g"),
                    (11, b"h"),
                    (11, b"i"),
                    (60, b"z"),
                ],
                b"p",
            ),
            message::encode_parts(
                Vec::new(),
                MessageType::Acknowledgement,
                MessageClass::Response(ResponseType::Content),
                7,
                &[9],
                [(23u16, &[0x12u8, 0x36][..]), (28, &[4, 0])].into_iter(),
                &long,
                2_000,
            )
            .expect("encodes"),
            message::empty_message(MessageType::Acknowledgement, 7),
            message::empty_message(MessageType::Reset, 8),
        ]
    }

    /// What the old decoder and the new one give for `bytes` agree.
    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let reference = super::super::tests::reference_decode(bytes, 1_500);
        let decoded = decode(bytes.to_vec(), 1_500);
        match (&reference, &decoded) {
            (Ok(packet), Ok(message)) => {
                prop_assert_eq!(&message.to_packet(), packet);
                prop_assert_eq!(message.code(), packet.header.code);
                prop_assert_eq!(message.message_type(), packet.header.get_type());
                prop_assert_eq!(message.message_id(), packet.header.message_id);
                prop_assert_eq!(message.token(), packet.get_token());
                prop_assert_eq!(message.payload(), &packet.payload[..]);
                // Each option's values, in order.
                for (option, values) in packet.options() {
                    let number = *option;
                    let mine: Vec<&[u8]> =
                        message.option_values(CoapOption::from(number)).collect();
                    let theirs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                    let once = match theirs.as_slice() {
                        [] => Ok(None),
                        [one] => Ok(Some(*one)),
                        _ => Err(()),
                    };
                    prop_assert_eq!(message.single_value(number), once, "option {}", number);
                    prop_assert_eq!(mine, theirs, "option {}", number);
                }
                // And an option the message does not have.
                let absent =
                    (0..=u16::MAX).find(|n| packet.get_option(CoapOption::from(*n)).is_none());
                if let Some(n) = absent {
                    prop_assert_eq!(message.single_value(n), Ok(None));
                }
                let count: usize = packet.options().map(|(_, v)| v.len()).sum();
                prop_assert_eq!(message.options().count(), count);
                prop_assert_eq!(message.bytes(), bytes);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "{reference:?} vs {decoded:?}"),
        }
        Ok(())
    }

    #[test]
    fn the_samples_decode_alike() {
        for sample in samples() {
            assert!(decode(sample.clone(), 1_500).is_ok());
            agree(&sample).expect("agree");
        }
        let ten = decode(samples()[2].clone(), 1_500).expect("decodes");
        assert_eq!(ten.option_values(CoapOption::UriPath).count(), 9);
        assert!(!ten.spilled.is_empty());
        assert_eq!(decode(samples()[0].clone(), 10), Err(DropReason::TooLarge));
        assert_eq!(
            decode(vec![0x40; 70_000], usize::MAX),
            Err(DropReason::TooLarge)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 4_096,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn random_datagrams_decode_alike(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            agree(&bytes)?;
        }

        #[test]
        fn mutated_messages_decode_alike(
            which in 0usize..6,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
            extra in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut bytes = samples()[which].clone();
            bytes.extend_from_slice(&extra);
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            agree(&bytes)?;
        }
    }
}
