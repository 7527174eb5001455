//! Identifiers shared by manifests, credentials and devices: UUIDs (RFC 9562) for vendor
//! and class ids, SUIT component identifiers, update types.

use core::fmt;
use core::str::FromStr;

/// A 16-byte UUID, as SUIT's vendor-id and class-id (RFC 9124 section 4.2.1 / 4.2.2).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

/// Why a text is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID (expected 32 hex digits, optionally in 8-4-4-4-12 groups): {0:?}")]
pub struct UuidError(pub String);

impl Uuid {
    /// A UUID from 16 bytes; `None` when the slice has another length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Uuid)
    }
}

impl FromStr for Uuid {
    type Err = UuidError;
    fn from_str(s: &str) -> Result<Self, UuidError> {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        let dashes_ok = !s.contains('-') || s.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
        if hex.len() != 32 || !dashes_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(UuidError(s.to_string()));
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| UuidError(s.to_string()))?;
        }
        Ok(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// A SUIT component identifier: an array of byte strings (RFC 9124 section 4.2.5).
///
/// icsim names components by one UTF-8 segment (e.g. `plc-firmware`), the common case.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ComponentId(pub Vec<Vec<u8>>);

impl ComponentId {
    /// A component id of one segment holding `name`.
    pub fn named(name: &str) -> Self {
        ComponentId(vec![name.as_bytes().to_vec()])
    }
}

impl fmt::Display for ComponentId {
    /// Segments joined by `/`, each as text when it is printable UTF-8, else as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            match std::str::from_utf8(seg) {
                Ok(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()) => {
                    f.write_str(s)?
                }
                _ => {
                    f.write_str("0x")?;
                    for b in seg {
                        write!(f, "{b:02x}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The kind of software an update carries (DESIGN.md section 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum UpdateType {
    /// Device firmware, typically from the manufacturer.
    Firmware,
    /// A control application, typically from the operator's engineering.
    Application,
    /// A third-party library used by applications.
    Library,
}

impl UpdateType {
    /// All update types, in a fixed order.
    pub const ALL: [UpdateType; 3] = [
        UpdateType::Firmware,
        UpdateType::Application,
        UpdateType::Library,
    ];

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            UpdateType::Firmware => "firmware",
            UpdateType::Application => "application",
            UpdateType::Library => "library",
        }
    }

    /// The ACE scope token that permits installing this type (e.g. `fw:install`).
    pub fn install_scope(self) -> &'static str {
        match self {
            UpdateType::Firmware => "fw:install",
            UpdateType::Application => "app:install",
            UpdateType::Library => "lib:install",
        }
    }
}

/// Why a text is not an update type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown update type {0:?} (expected firmware, application or library)")]
pub struct UpdateTypeError(pub String);

impl FromStr for UpdateType {
    type Err = UpdateTypeError;
    fn from_str(s: &str) -> Result<Self, UpdateTypeError> {
        UpdateType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UpdateTypeError(s.to_string()))
    }
}

impl fmt::Display for UpdateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_parse_with_and_without_dashes_and_print_canonically() {
        let u: Uuid = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe".parse().unwrap();
        assert_eq!(u.to_string(), "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
        assert_eq!(
            "fa6b4a53d5ad5fdfbe9de663e4d41ffe".parse::<Uuid>().unwrap(),
            u
        );
        assert!(
            "fa6b4a53-d5ad5fdf-be9d-e663e4d41ffe"
                .parse::<Uuid>()
                .is_err()
        );
        assert!("zz6b4a53d5ad5fdfbe9de663e4d41ffe".parse::<Uuid>().is_err());
        assert!("é".repeat(16).parse::<Uuid>().is_err());
    }

    #[test]
    fn update_types_round_trip_through_their_names() {
        for t in UpdateType::ALL {
            assert_eq!(t.name().parse::<UpdateType>().unwrap(), t);
        }
        assert!("firmwarez".parse::<UpdateType>().is_err());
        assert_eq!(ComponentId::named("plc-fw").to_string(), "plc-fw");
        assert_eq!(ComponentId(vec![vec![0]]).to_string(), "0x00");
    }
}
