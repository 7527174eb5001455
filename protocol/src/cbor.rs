//! Small helpers over `ciborium::Value` for decoding untrusted CBOR into typed structures.
//!
//! Every function here returns a [`CborError`] instead of panicking. Decoding refuses
//! trailing bytes after the top-level item ("parse, don't validate").

use ciborium::Value;

/// Why a CBOR item could not be decoded into the expected structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The bytes are not well-formed CBOR (or nest too deeply).
    #[error("not well-formed CBOR: {0}")]
    Syntax(String),
    /// Bytes follow the top-level item.
    #[error("{0} trailing byte(s) after the CBOR item")]
    TrailingBytes(usize),
    /// An item has the wrong type or shape.
    #[error("{what}: expected {expected}")]
    Shape {
        /// Which field or structure.
        what: &'static str,
        /// What was expected there.
        expected: &'static str,
    },
    /// A required map key is absent.
    #[error("{what}: missing required key {key}")]
    Missing {
        /// Which structure.
        what: &'static str,
        /// The missing key.
        key: i64,
    },
    /// A map key that the structure does not allow.
    #[error("{what}: unknown or duplicate key {key}")]
    UnexpectedKey {
        /// Which structure.
        what: &'static str,
        /// The offending key, in diagnostic form.
        key: String,
    },
}

/// Scratch space of [`decode`], in bytes.
const SCRATCH: usize = 256;

/// Decode exactly one CBOR item from `bytes`; trailing bytes are an error.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    let mut reader = bytes;
    // ciborium's `from_reader` zeroes a 4 KiB scratch buffer on every call, which costs
    // more than decoding a small message. Any size works: longer byte and text strings are
    // read in scratch-sized chunks (text with split UTF-8 sequences carried over).
    let mut scratch = [0u8; SCRATCH];
    let value: Value = ciborium::de::from_reader_with_buffer(&mut reader, &mut scratch)
        .map_err(|e| CborError::Syntax(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CborError::TrailingBytes(reader.len()));
    }
    Ok(value)
}

/// Encode a value to bytes. Encoding a `Value` into a `Vec` cannot fail.
pub fn encode(value: &Value) -> Vec<u8> {
    // Room for a session message's CBOR from the start, rather than growing the vector
    // through 8, 16, 32 and 64 bytes, a reallocation each.
    let mut out = Vec::with_capacity(128);
    // Writing to a Vec is infallible and a `Value` is always serialisable.
    ciborium::ser::into_writer(value, &mut out).expect("encoding a CBOR value into a Vec");
    out
}

/// The byte string inside `value`, or a shape error naming `what`.
pub fn bytes<'a>(value: &'a Value, what: &'static str) -> Result<&'a [u8], CborError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(CborError::Shape {
            what,
            expected: "byte string",
        }),
    }
}

/// The text string inside `value`.
pub fn text<'a>(value: &'a Value, what: &'static str) -> Result<&'a str, CborError> {
    match value {
        Value::Text(t) => Ok(t),
        _ => Err(CborError::Shape {
            what,
            expected: "text string",
        }),
    }
}

/// The array inside `value`.
pub fn array<'a>(value: &'a Value, what: &'static str) -> Result<&'a [Value], CborError> {
    match value {
        Value::Array(a) => Ok(a),
        _ => Err(CborError::Shape {
            what,
            expected: "array",
        }),
    }
}

/// An unsigned integer that fits in `u64`.
pub fn uint(value: &Value, what: &'static str) -> Result<u64, CborError> {
    match value {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| CborError::Shape {
            what,
            expected: "unsigned integer",
        }),
        _ => Err(CborError::Shape {
            what,
            expected: "unsigned integer",
        }),
    }
}

/// A signed integer that fits in `i64`.
pub fn int(value: &Value, what: &'static str) -> Result<i64, CborError> {
    match value {
        Value::Integer(i) => i64::try_from(*i).map_err(|_| CborError::Shape {
            what,
            expected: "integer within i64",
        }),
        _ => Err(CborError::Shape {
            what,
            expected: "integer",
        }),
    }
}

/// A CBOR map whose keys are all integers, with duplicate keys rejected.
///
/// Lookups are by integer label; the entries keep their wire order.
#[derive(Debug)]
pub struct IntMap<'a> {
    what: &'static str,
    entries: Vec<(i64, &'a Value)>,
}

impl<'a> IntMap<'a> {
    /// View `value` as a map with integer keys.
    pub fn new(value: &'a Value, what: &'static str) -> Result<Self, CborError> {
        let Value::Map(pairs) = value else {
            return Err(CborError::Shape {
                what,
                expected: "map",
            });
        };
        let mut entries: Vec<(i64, &'a Value)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = match k {
                Value::Integer(i) => i64::try_from(*i).ok(),
                _ => None,
            };
            let Some(key) = key else {
                return Err(CborError::UnexpectedKey {
                    what,
                    key: format!("{k:?}"),
                });
            };
            if entries.iter().any(|(seen, _)| *seen == key) {
                return Err(CborError::UnexpectedKey {
                    what,
                    key: key.to_string(),
                });
            }
            entries.push((key, v));
        }
        Ok(Self { what, entries })
    }

    /// The value under `key`, if present.
    pub fn get(&self, key: i64) -> Option<&'a Value> {
        self.entries
            .iter()
            .find_map(|(k, v)| (*k == key).then_some(*v))
    }

    /// The value under `key`, or a `Missing` error.
    pub fn require(&self, key: i64) -> Result<&'a Value, CborError> {
        self.get(key).ok_or(CborError::Missing {
            what: self.what,
            key,
        })
    }

    /// Fail on any key not in `allowed`.
    pub fn only(&self, allowed: &[i64]) -> Result<(), CborError> {
        match self.entries.iter().find(|(k, _)| !allowed.contains(k)) {
            Some((k, _)) => Err(CborError::UnexpectedKey {
                what: self.what,
                key: k.to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// Build a map with integer keys, in the order given.
pub fn int_map(entries: impl IntoIterator<Item = (i64, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Integer(k.into()), v))
            .collect(),
    )
}

/// A byte string holding the encoding of `value` (CDDL `bstr .cbor`).
pub fn wrap(value: &Value) -> Value {
    Value::Bytes(encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_and_duplicates_are_rejected() {
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::TrailingBytes(1)));
        // {1: 1, 1: 2}
        let dup = decode(&[0xa2, 0x01, 0x01, 0x01, 0x02]).unwrap();
        assert!(matches!(
            IntMap::new(&dup, "t"),
            Err(CborError::UnexpectedKey { .. })
        ));
        assert!(matches!(decode(&[0x5f]), Err(CborError::Syntax(_))));
    }

    /// Strings longer than the scratch space decode as ciborium's own 4 KiB reader
    /// decodes them: bytes, and text whose multi-byte characters straddle chunk edges.
    #[test]
    fn strings_longer_than_the_scratch_space_decode_whole() {
        let text: String = "aé€😀".repeat(3 * SCRATCH);
        let bytes: Vec<u8> = (0..5 * SCRATCH).map(|i| (i % 251) as u8).collect();
        let value = Value::Array(vec![
            Value::Text(text.clone()),
            Value::Bytes(bytes.clone()),
            Value::Text("short".into()),
        ]);
        let encoded = encode(&value);
        let reference: Value = ciborium::de::from_reader(encoded.as_slice()).unwrap();
        assert_eq!(decode(&encoded).unwrap(), reference);
        assert_eq!(decode(&encoded).unwrap(), value);
        // A string cut short is still a syntax error, not a partial value.
        assert!(matches!(
            decode(&encoded[..encoded.len() - 300]),
            Err(CborError::Syntax(_))
        ));
        // Indefinite-length text in chunks: each chunk must be valid UTF-8 on its own
        // (RFC 8949 §3.2.3), so a split inside the 'é' is malformed (as ciborium's own
        // reader also finds) and a split between characters is not.
        let indefinite = |split: usize| {
            let mut out = vec![0x7f];
            for part in [&text.as_bytes()[..split], &text.as_bytes()[split..]] {
                out.push(0x79);
                out.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
                out.extend_from_slice(part);
            }
            out.push(0xff);
            out
        };
        let inside = indefinite(2);
        assert!(ciborium::de::from_reader::<Value, _>(inside.as_slice()).is_err());
        assert!(matches!(decode(&inside), Err(CborError::Syntax(_))));
        assert_eq!(decode(&indefinite(1)).unwrap(), Value::Text(text));
    }
}
