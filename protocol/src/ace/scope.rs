//! Scopes: the space-separated scope tokens of the `scope` claim (RFC 9200 section 5.8.1,
//! RFC 6749 section 3.3) that icsim devices know.

use core::fmt;

use super::AceError;
use crate::ids::UpdateType;

/// One scope token a device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ScopeToken {
    /// `fw:install`: install device firmware.
    FwInstall,
    /// `app:install`: install a control application.
    AppInstall,
    /// `lib:install`: install a third-party library.
    LibInstall,
    /// `status:read`: read the device's update state.
    StatusRead,
}

impl ScopeToken {
    /// Every scope token, in canonical order.
    pub const ALL: [ScopeToken; 4] = [
        ScopeToken::FwInstall,
        ScopeToken::AppInstall,
        ScopeToken::LibInstall,
        ScopeToken::StatusRead,
    ];

    /// The token as it appears in a scope string.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeToken::FwInstall => UpdateType::Firmware.install_scope(),
            ScopeToken::AppInstall => UpdateType::Application.install_scope(),
            ScopeToken::LibInstall => UpdateType::Library.install_scope(),
            ScopeToken::StatusRead => "status:read",
        }
    }

    /// The token for a text, if it is a known one (scope tokens are case-sensitive).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The token that permits installing an update of `kind`.
    pub fn install(kind: UpdateType) -> Self {
        match kind {
            UpdateType::Firmware => ScopeToken::FwInstall,
            UpdateType::Application => ScopeToken::AppInstall,
            UpdateType::Library => ScopeToken::LibInstall,
        }
    }
}

impl fmt::Display for ScopeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of known scope tokens. Displays in canonical order, separated by one
/// space (e.g. `fw:install status:read`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Sorted, without duplicates, never empty.
    tokens: Vec<ScopeToken>,
}

impl Scope {
    /// Parses a scope string: scope tokens separated by single spaces, no leading or
    /// trailing space, no duplicates, at least one token.
    ///
    /// A token this device does not know is [`AceError::UnknownScope`]; any other defect
    /// is [`AceError::Malformed`].
    pub fn parse(text: &str) -> Result<Self, AceError> {
        if text.is_empty() {
            return Err(AceError::Malformed("empty scope".into()));
        }
        let mut tokens = Vec::new();
        for part in text.split(' ') {
            if part.is_empty() {
                return Err(AceError::Malformed(
                    "scope tokens must be separated by single spaces".into(),
                ));
            }
            let token =
                ScopeToken::parse(part).ok_or_else(|| AceError::UnknownScope(part.into()))?;
            if tokens.contains(&token) {
                return Err(AceError::Malformed(format!("scope token {part} repeated")));
            }
            tokens.push(token);
        }
        tokens.sort_unstable();
        Ok(Self { tokens })
    }

    /// A scope of the given tokens; `None` if there are none.
    pub fn of(tokens: impl IntoIterator<Item = ScopeToken>) -> Option<Self> {
        let mut tokens: Vec<ScopeToken> = tokens.into_iter().collect();
        tokens.sort_unstable();
        tokens.dedup();
        (!tokens.is_empty()).then_some(Self { tokens })
    }

    /// Whether the scope contains `token`.
    pub fn contains(&self, token: ScopeToken) -> bool {
        self.tokens.contains(&token)
    }

    /// The tokens, in canonical order.
    pub fn tokens(&self) -> &[ScopeToken] {
        &self.tokens
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token.as_str())?;
        }
        Ok(())
    }
}
