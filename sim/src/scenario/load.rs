//! Reading a scenario: JSON text to a [`Scenario`] with the path of any bad value, then
//! [`validate`](super::validate()), and the JSON Schema of the format.

use std::fs;
use std::path::Path;

use serde_json::Value;
use serde_path_to_error::Segment;

use super::error::{Rule, ScenarioError};
use super::model::Scenario;
use super::validate::{JsonPath, validate};

/// The `$id` of the JSON Schema that [`json_schema`] prints.
pub const SCHEMA_ID: &str = "https://example.invalid/icsim/scenario.schema.json";

/// Read, parse and validate the scenario file at `path`.
///
/// The first problem is reported: a file that cannot be read (the error names the file),
/// then JSON syntax, types, missing and unknown fields (in the order they occur in the
/// text), then the rules of [`validate`](super::validate()) (in the order of the format's
/// fields).
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let bytes = fs::read(path).map_err(|e| ScenarioError::read(path, &e))?;
    load_slice(&bytes)
}

/// Parse and validate a scenario held in memory; see [`load_file`].
pub fn load_str(text: &str) -> Result<Scenario, ScenarioError> {
    load_slice(text.as_bytes())
}

/// The JSON Schema (draft 2020-12) of scenario files, pretty-printed, with `$id` and
/// `title`. It describes the structure and types; the rules of
/// [`validate`](super::validate()) that relate fields to each other are not in it.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Scenario);
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema.insert("title".into(), "icsim scenario".into());
    // Serialising a schema built from our own types cannot fail: it is a JSON value with
    // string keys and no non-finite numbers.
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

fn load_slice(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let scenario = parse(bytes)?;
    validate(&scenario)?;
    Ok(scenario)
}

fn parse(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScenarioError::new(
            "$",
            Rule::Syntax,
            "the document is empty (expected a JSON object)",
        ));
    }
    // Serde also reads a struct from an array of its fields in order; the format is objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ScenarioError::new(
            "$",
            Rule::Type,
            "invalid type: array, expected a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let scenario: Scenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(scenario) => scenario,
        Err(err) => return Err(from_serde(err, bytes)),
    };
    de.end()
        .map_err(|e| ScenarioError::new("$", Rule::Syntax, e.to_string()))?;
    reject_ignored_keys(bytes, &scenario)?;
    Ok(scenario)
}

/// A serde error with its path as a [`ScenarioError`]: the rule from the error's category
/// and wording, and the path made as precise as the text allows.
fn from_serde(err: serde_path_to_error::Error<serde_json::Error>, bytes: &[u8]) -> ScenarioError {
    let mut keys: Vec<Key> = err
        .path()
        .iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(Key::Index(*index)),
            Segment::Map { key } => Some(Key::Member(key.clone())),
            Segment::Enum { variant } => Some(Key::Member(variant.clone())),
            Segment::Unknown => None,
        })
        .collect();
    let inner = err.into_inner();
    let message = inner.to_string();
    let word = |prefix: &str| {
        message
            .starts_with(prefix)
            .then(|| quoted(&message))
            .flatten()
    };
    let rule = if message.starts_with("number out of range") {
        Rule::Range
    } else if !inner.is_data() {
        Rule::Syntax
    } else if let Some(name) = word("missing field") {
        push_member(&mut keys, name);
        Rule::MissingField
    } else if let Some(name) = word("unknown field") {
        push_member(&mut keys, name);
        Rule::UnknownField
    } else if let Some(name) = word("duplicate field") {
        push_member(&mut keys, name);
        Rule::Duplicate
    } else if message.starts_with("unknown variant") {
        Rule::Choice
    } else {
        if message.starts_with("invalid type") && message.contains("expected f64") {
            locate_in_tagged_object(bytes, &mut keys);
        }
        Rule::Type
    };
    ScenarioError::new(path_of(&keys).into_string(), rule, message)
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Member(String),
    Index(usize),
}

fn path_of(keys: &[Key]) -> JsonPath {
    keys.iter().fold(JsonPath::root(), |path, key| match key {
        Key::Member(name) => path.field(name),
        Key::Index(i) => path.index(*i),
    })
}

/// Append the member `name` unless the path already ends with it (serde names the field in
/// the message; the path stops at the object when the error is raised by the object).
fn push_member(keys: &mut Vec<Key>, name: &str) {
    if keys.last() != Some(&Key::Member(name.to_string())) {
        keys.push(Key::Member(name.to_string()));
    }
}

/// The variants of the tagged objects (`latency`, `loss`) are read from a buffer, so serde
/// reports a wrongly typed number at the object. Point at the first member, other than the
/// tag, that is not a number.
fn locate_in_tagged_object(bytes: &[u8], keys: &mut Vec<Key>) {
    let Ok(doc) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let mut value = &doc;
    for key in keys.iter() {
        let next = match key {
            Key::Member(name) => value.get(name.as_str()),
            Key::Index(i) => value.get(*i),
        };
        match next {
            Some(v) => value = v,
            None => return,
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    if !object.contains_key("kind") {
        return;
    }
    if let Some((name, _)) = object
        .iter()
        .find(|(name, v)| name.as_str() != "kind" && !v.is_number())
    {
        keys.push(Key::Member(name.clone()));
    }
}

/// Serde silently ignores members of a tagged object whose variant has no fields (e.g.
/// `{"kind": "none", "p": 0.1}`) and reads a struct from an array of its fields: find any
/// member of the text that did not make it into the scenario, or any array where the format
/// has an object, by comparing with the scenario serialised back.
fn reject_ignored_keys(bytes: &[u8], scenario: &Scenario) -> Result<(), ScenarioError> {
    let (Ok(input), Ok(parsed)) = (
        serde_json::from_slice::<Value>(bytes),
        serde_json::to_value(scenario),
    ) else {
        return Ok(());
    };
    let mut keys = Vec::new();
    match stray(&input, &parsed, &mut keys) {
        None => Ok(()),
        Some(Stray::Member(name)) => Err(ScenarioError::new(
            path_of(&keys).into_string(),
            Rule::UnknownField,
            format!("unknown field `{name}`: this kind takes no such field"),
        )),
        Some(Stray::ArrayForObject) => Err(ScenarioError::new(
            path_of(&keys).into_string(),
            Rule::Type,
            "invalid type: array, expected a JSON object",
        )),
    }
}

/// What [`stray`] found.
enum Stray {
    /// A member the scenario does not have (its name; the path ends with it).
    Member(String),
    /// An array where the format has an object.
    ArrayForObject,
}

/// The first difference in shape between the text and the scenario read from it; `keys`
/// is left at its path.
fn stray(input: &Value, parsed: &Value, keys: &mut Vec<Key>) -> Option<Stray> {
    match (input, parsed) {
        (Value::Object(a), Value::Object(b)) => {
            for (name, value) in a {
                keys.push(Key::Member(name.clone()));
                let found = match b.get(name) {
                    None => Some(Stray::Member(name.clone())),
                    Some(other) => stray(value, other, keys),
                };
                if found.is_some() {
                    return found;
                }
                keys.pop();
            }
            None
        }
        (Value::Array(_), Value::Object(_)) => Some(Stray::ArrayForObject),
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                keys.push(Key::Index(i));
                if let Some(found) = stray(x, y, keys) {
                    return Some(found);
                }
                keys.pop();
            }
            None
        }
        _ => None,
    }
}

/// The first `backquoted` word of a serde message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}
