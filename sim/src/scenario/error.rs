//! The one error type of scenario loading: where (a JSON path), which rule, and the value.

use std::fmt;
use std::path::Path;

/// Why a scenario file was refused: the JSON path of the bad value, the rule it breaks and,
/// when there is one, the offending value.
///
/// Its `Display` is exactly `PATH: MESSAGE`, e.g.
/// `sites[2].cell.loss.p: must be within [0, 1], got 1.5`. The path is in JSON-path style
/// (`a.b[3].c`, `$` for the document itself; keys that are not identifiers are written
/// `["a key"]`). A file that cannot be read is the one exception: its path is the file's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScenarioError {
    path: String,
    rule: Rule,
    message: String,
    value: Option<String>,
}

/// The kinds of rule a scenario can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The file could not be read (the path is the file's).
    Read,
    /// The text is not one JSON document: empty, malformed, or trailing characters.
    Syntax,
    /// A value has the wrong JSON type, an integer does not fit its type, or a variant
    /// name is unknown.
    Type,
    /// A required field is missing.
    MissingField,
    /// A field is not part of the format.
    UnknownField,
    /// A text or list must not be empty.
    Empty,
    /// A number is outside its allowed range.
    Range,
    /// A text does not follow its format (RFC 3339 time, UUID, `HH:MM`).
    Format,
    /// A value is not one of the allowed choices (update type, rollout policy).
    Choice,
    /// A name is used twice.
    Duplicate,
    /// A name does not refer to anything.
    Reference,
    /// An update depends on itself, on a later update, or on a cycle.
    Dependency,
    /// Fields that are valid alone do not fit together (block size and MTU, author scope,
    /// maintenance windows, release time and horizon, shared WAN links).
    Consistency,
    /// The fleet has no devices.
    EmptyFleet,
}

impl Rule {
    /// A stable lower-case name for the rule, e.g. `missing_field`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Read => "read",
            Rule::Syntax => "syntax",
            Rule::Type => "type",
            Rule::MissingField => "missing_field",
            Rule::UnknownField => "unknown_field",
            Rule::Empty => "empty",
            Rule::Range => "range",
            Rule::Format => "format",
            Rule::Choice => "choice",
            Rule::Duplicate => "duplicate",
            Rule::Reference => "reference",
            Rule::Dependency => "dependency",
            Rule::Consistency => "consistency",
            Rule::EmptyFleet => "empty_fleet",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ScenarioError {
    /// The JSON path of the bad value (`$` for the whole document), or the file's path
    /// for [`Rule::Read`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rule that was broken.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending value as JSON text (e.g. `1.5`, `"12:60"`), when there is one.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    pub(crate) fn new(path: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.into(),
            rule,
            message: message.into(),
            value: None,
        }
    }

    pub(crate) fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub(crate) fn read(file: &Path, err: &std::io::Error) -> Self {
        ScenarioError::new(
            file.display().to_string(),
            Rule::Read,
            format!("cannot read the scenario file: {err}"),
        )
    }
}
