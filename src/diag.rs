//! CBOR diagnostic notation (RFC 8949 section 8, with the `<< >>` extension of RFC 8610
//! appendix G for byte strings that hold encoded CBOR), for `icsim update inspect`.

use ciborium::Value;

/// Render `value` in diagnostic notation, indented, expanding embedded CBOR.
pub(crate) fn render(value: &Value) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

fn write(value: &Value, depth: usize, out: &mut String) {
    let pad = |d: usize| "  ".repeat(d);
    match value {
        Value::Integer(i) => out.push_str(&i128::from(*i).to_string()),
        Value::Bytes(b) => match embedded(b) {
            Some(inner) if depth < 32 => {
                out.push_str("<< ");
                write(&inner, depth, out);
                out.push_str(" >>");
            }
            _ => {
                out.push_str("h'");
                for byte in b {
                    out.push_str(&format!("{byte:02x}"));
                }
                out.push('\'');
            }
        },
        Value::Text(t) => out.push_str(&format!("{t:?}")),
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::Tag(t, inner) => {
            out.push_str(&format!("{t}("));
            write(inner, depth, out);
            out.push(')');
        }
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Map(pairs) if pairs.is_empty() => out.push_str("{}"),
        Value::Map(pairs) => {
            out.push_str("{\n");
            for (i, (k, v)) in pairs.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write(k, depth + 1, out);
                out.push_str(": ");
                write(v, depth + 1, out);
                out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

/// A byte string that is itself one well-formed CBOR array, map or tag (`bstr .cbor`).
fn embedded(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() || !matches!(bytes[0] >> 5, 4..=6) {
        return None;
    }
    icsim_protocol::cbor::decode(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nested_cbor_in_brackets() {
        let inner = icsim_protocol::cbor::encode(&Value::Array(vec![Value::Integer(1.into())]));
        let v = Value::Tag(
            107,
            Box::new(Value::Map(vec![(
                Value::Integer(2.into()),
                Value::Bytes(inner),
            )])),
        );
        assert_eq!(render(&v), "107({\n  2: << [\n    1\n  ] >>\n})");
        assert_eq!(render(&Value::Bytes(vec![0xde, 0xad])), "h'dead'");
    }
}
