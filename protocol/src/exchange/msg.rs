//! Small helpers to build and read CoAP messages (coap-lite `Packet`).

use std::collections::LinkedList;

use coap_lite::{CoapOption, MessageClass, Packet, RequestType, ResponseType};

use crate::coap::{BlockOption, BlockValue, CoapOptions, Message};

/// A request with `method`, the Uri-Path segments of `path` and `payload`.
pub(crate) fn request(method: RequestType, path: &str, payload: Vec<u8>) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Request(method);
    // One option insertion for all segments (as many `add_option` calls would build).
    let segments: LinkedList<Vec<u8>> = path
        .as_bytes()
        .split(|b| *b == b'/')
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if !segments.is_empty() {
        p.set_option(CoapOption::UriPath, segments);
    }
    p.payload = payload;
    p
}

/// A response with `code` and `payload` (header type and ids are the endpoint's business).
pub(crate) fn response(code: ResponseType, payload: Vec<u8>) -> Packet {
    let mut p = Packet::new();
    p.header.code = MessageClass::Response(code);
    p.payload = payload;
    p
}

/// The Uri-Path of a request joined by `/`; `None` when a segment is not UTF-8 or holds a
/// `/` itself (a segment `a/b` is not the two segments `a`, `b`: RFC 7252 section 6.5).
pub(crate) fn path(p: &Packet) -> Option<String> {
    let segments = p.get_option(CoapOption::UriPath);
    // The segments and a separator between each two: one allocation, no growth.
    let capacity = segments.map_or(0, |s| s.iter().map(|seg| seg.len() + 1).sum());
    let mut out = String::with_capacity(capacity);
    if let Some(segments) = segments {
        for (i, seg) in segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            if seg.contains(&b'/') {
                return None;
            }
            out.push_str(std::str::from_utf8(seg).ok()?);
        }
    }
    Some(out)
}

/// The Uri-Path of a request joined by `/`, as bytes, into `out` (cleared first, its
/// allocation reused); returns the number of segments. A segment may hold a `/` itself,
/// which the caller must refuse (see [`path`]): the joined path then has more than one
/// `/` fewer than segments, which a lookup among known paths can check without scanning
/// every byte. Not checked for UTF-8: a lookup among UTF-8 names finds no match for a
/// path that is not.
pub(crate) fn join_path_into(m: &Message, out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut segments = 0;
    for segment in m.option_values(CoapOption::UriPath) {
        if segments > 0 {
            out.push(b'/');
        }
        crate::coap::put_bytes(out, segment);
        segments += 1;
    }
    segments
}

/// The request method, if the packet is a request.
pub(crate) fn method(p: &Packet) -> Option<RequestType> {
    match p.header.code {
        MessageClass::Request(m) => Some(m),
        _ => None,
    }
}

/// The response code, if the packet is a response.
pub(crate) fn code(p: &Packet) -> Option<ResponseType> {
    match p.header.code {
        MessageClass::Response(c) => Some(c),
        _ => None,
    }
}

/// Whether the packet carries an OSCORE option.
pub(crate) fn is_oscore(p: &Packet) -> bool {
    p.get_option(CoapOption::Oscore).is_some()
}

/// The Block1 or Block2 option; a malformed one reads as an error string.
#[inline]
pub(crate) fn block(
    p: &impl CoapOptions,
    which: BlockOption,
) -> Result<Option<BlockValue>, String> {
    BlockValue::read(p, which).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_its_segments_joined_and_a_slash_inside_one_matches_nothing() {
        let with = |segments: &[&[u8]]| {
            let mut p = Packet::new();
            for s in segments {
                p.add_option(CoapOption::UriPath, s.to_vec());
            }
            p
        };
        assert_eq!(path(&with(&[b"fw", b"1"])).as_deref(), Some("fw/1"));
        assert_eq!(path(&with(&[])).as_deref(), Some(""));
        assert_eq!(path(&with(&[b"fw/1"])), None);
        assert_eq!(path(&with(&[b"f\xffw"])), None);
    }
}
