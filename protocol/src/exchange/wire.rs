//! The bodies of the update resources, as small CBOR maps with integer keys, and the
//! resource paths. Every decoder rejects unknown keys, trailing bytes and wrong types.
//!
//! | resource (on the device) | method | protection | request body | success |
//! |---|---|---|---|---|
//! | `authz-info` | POST | none (RFC 9203) | ACE authz-info map | 2.01 |
//! | `suit/envelope` | POST (Block1) | OSCORE | SUIT envelope | 2.04 |
//! | `suit/cek` | POST | OSCORE | [`KeyDelivery`] | 2.04 |
//! | `suit/payload` | POST (Block1) | OSCORE | encrypted payload (push mode) | 2.04 |
//! | `suit/install` | POST | OSCORE | [`InstallCommand`] | 2.04 |
//! | `suit/status` | GET | OSCORE | none | 2.05 [`StatusReport`] |
//! | `suit/revert` | POST | OSCORE | none | 2.04 |
//!
//! A rejection is 4.03 Forbidden (or 4.09 Conflict for a request that does not fit the
//! device's state) with a [`Refusal`] body naming the reason code. Only the ablation
//! switches `oscore` (every `suit/*` resource) and `payload_encryption` (`suit/cek`) of
//! [`crate::verify::Defences`] let the device serve these resources without OSCORE.

use ciborium::Value;

use crate::cbor::{self, CborError, IntMap};
use crate::cose::Cek;
use crate::verify::Defences;

/// `authz-info` (RFC 9200 section 5.10.1).
pub const PATH_AUTHZ_INFO: &str = "authz-info";
/// The envelope resource.
pub const PATH_ENVELOPE: &str = "suit/envelope";
/// The content-encryption key resource.
pub const PATH_CEK: &str = "suit/cek";
/// The pushed payload resource.
pub const PATH_PAYLOAD: &str = "suit/payload";
/// The install command resource.
pub const PATH_INSTALL: &str = "suit/install";
/// The status resource.
pub const PATH_STATUS: &str = "suit/status";
/// The revert resource: back to the image before the last committed update (an aborted
/// rollout).
pub const PATH_REVERT: &str = "suit/revert";
/// The Authorization Server's token endpoint (RFC 9200 section 5.8).
pub const PATH_TOKEN: &str = "token";

/// Whether the key delivery (`suit/cek`) travels without OSCORE: never, unless the
/// `payload_encryption` ablation is on. The UM (whether to protect it) and the device
/// (whether to accept it unprotected) both ask here.
pub(crate) fn danger_cek_in_clear(defences: &Defences) -> bool {
    // DANGER(ablation: payload_encryption)
    !defences.payload_encryption
}

/// How the payload reaches the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The device fetches it with plain CoAP Block2 from a distribution point (a site cache
    /// or the repository, both untrusted).
    Fetch {
        /// The distribution point's address.
        source: u32,
    },
    /// The UM pushes it over OSCORE (Block1 to `suit/payload`).
    Push,
}

/// The CEK, released by the UM inside the OSCORE session, and how the payload comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDelivery {
    /// The content-encryption key (absent for an unencrypted payload).
    pub cek: Option<Cek>,
    /// How the payload comes.
    pub delivery: Delivery,
    /// The path to fetch (fetch mode); the manifest's URI names the same object.
    pub path: String,
}

impl KeyDelivery {
    /// Encode: `{? 1: cek, 2: 0 (fetch) / 1 (push), ? 3: source, 4: path}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries = Vec::new();
        if let Some(cek) = &self.cek {
            entries.push((1, Value::Bytes(cek.as_bytes().to_vec())));
        }
        match self.delivery {
            Delivery::Fetch { source } => {
                entries.push((2, Value::Integer(0.into())));
                entries.push((3, Value::Integer(source.into())));
            }
            Delivery::Push => entries.push((2, Value::Integer(1.into()))),
        }
        entries.push((4, Value::Text(self.path.clone())));
        cbor::encode(&cbor::int_map(entries))
    }

    /// Decode.
    pub fn decode(bytes: &[u8]) -> Result<Self, CborError> {
        let v = cbor::decode(bytes)?;
        let map = IntMap::new(&v, "key delivery")?;
        map.only(&[1, 2, 3, 4])?;
        let cek = match map.get(1) {
            Some(v) => {
                Some(
                    Cek::from_slice(cbor::bytes(v, "cek")?).map_err(|_| CborError::Shape {
                        what: "cek",
                        expected: "16 bytes",
                    })?,
                )
            }
            None => None,
        };
        let delivery = match cbor::uint(map.require(2)?, "delivery")? {
            0 => Delivery::Fetch {
                source: u32::try_from(cbor::uint(map.require(3)?, "source")?).map_err(|_| {
                    CborError::Shape {
                        what: "source",
                        expected: "32-bit address",
                    }
                })?,
            },
            1 => Delivery::Push,
            _ => {
                return Err(CborError::Shape {
                    what: "delivery",
                    expected: "0 (fetch) or 1 (push)",
                });
            }
        };
        Ok(KeyDelivery {
            cek,
            delivery,
            path: cbor::text(map.require(4)?, "path")?.to_string(),
        })
    }
}

/// When to install a staged image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallCommand {
    /// Install at this time (Unix seconds), e.g. the start of the maintenance window;
    /// `None` means at once.
    pub at: Option<u64>,
}

impl InstallCommand {
    /// Encode: `{? 1: at}`.
    pub fn encode(&self) -> Vec<u8> {
        let entries = self.at.map(|t| (1, Value::Integer(t.into())));
        cbor::encode(&cbor::int_map(entries))
    }

    /// Decode.
    pub fn decode(bytes: &[u8]) -> Result<Self, CborError> {
        let v = cbor::decode(bytes)?;
        let map = IntMap::new(&v, "install command")?;
        map.only(&[1])?;
        Ok(InstallCommand {
            at: map.get(1).map(|v| cbor::uint(v, "at")).transpose()?,
        })
    }
}

/// The device's update state as reported on `suit/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UpdatePhase {
    /// No update in progress.
    Idle,
    /// Envelope accepted, waiting for the key.
    AwaitKey,
    /// Key received, payload in transfer.
    Downloading,
    /// Image verified and written to the inactive slot.
    Staged,
    /// Install scheduled or running, or rebooting into the new image.
    Installing,
    /// The new image booted, passed its self-test and is committed.
    Committed,
    /// The new image failed its self-test; the previous image runs again.
    RolledBack,
    /// The last update was rejected (see the reason).
    Rejected,
}

impl UpdatePhase {
    const ALL: [UpdatePhase; 8] = [
        UpdatePhase::Idle,
        UpdatePhase::AwaitKey,
        UpdatePhase::Downloading,
        UpdatePhase::Staged,
        UpdatePhase::Installing,
        UpdatePhase::Committed,
        UpdatePhase::RolledBack,
        UpdatePhase::Rejected,
    ];

    /// The phase's number on the wire.
    pub fn code(self) -> u64 {
        UpdatePhase::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or(0) as u64
    }

    fn from_code(code: u64) -> Option<Self> {
        usize::try_from(code)
            .ok()
            .and_then(|i| UpdatePhase::ALL.get(i).copied())
    }
}

/// The body of a `suit/status` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The phase of the current or last update.
    pub phase: UpdatePhase,
    /// The reason code of a rejection or rollback.
    pub reason: Option<String>,
    /// The component and sequence number the last update concerned.
    pub sequence: Option<u64>,
    /// The sequence number of the last update committed (and not reverted since). A later
    /// rejected attempt replaces `sequence` but not this: a UM whose answer was lost learns
    /// from it that its update went in.
    pub committed: Option<u64>,
}

impl StatusReport {
    /// Encode: `{1: phase, ? 2: reason, ? 3: sequence, ? 4: committed}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries = vec![(1, Value::Integer(self.phase.code().into()))];
        if let Some(r) = &self.reason {
            entries.push((2, Value::Text(r.clone())));
        }
        if let Some(s) = self.sequence {
            entries.push((3, Value::Integer(s.into())));
        }
        if let Some(c) = self.committed {
            entries.push((4, Value::Integer(c.into())));
        }
        cbor::encode(&cbor::int_map(entries))
    }

    /// Decode.
    pub fn decode(bytes: &[u8]) -> Result<Self, CborError> {
        let v = cbor::decode(bytes)?;
        let map = IntMap::new(&v, "status")?;
        map.only(&[1, 2, 3, 4])?;
        Ok(StatusReport {
            phase: UpdatePhase::from_code(cbor::uint(map.require(1)?, "phase")?).ok_or(
                CborError::Shape {
                    what: "phase",
                    expected: "a known phase",
                },
            )?,
            reason: map
                .get(2)
                .map(|v| cbor::text(v, "reason").map(str::to_string))
                .transpose()?,
            sequence: map.get(3).map(|v| cbor::uint(v, "sequence")).transpose()?,
            committed: map.get(4).map(|v| cbor::uint(v, "committed")).transpose()?,
        })
    }
}

/// The body of a refusal: `{1: reason code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// A stable reason code (e.g. `rollback`, `approval_missing`, `token_scope`).
    pub reason: String,
}

impl Refusal {
    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&cbor::int_map([(1, Value::Text(self.reason.clone()))]))
    }

    /// Decode.
    pub fn decode(bytes: &[u8]) -> Result<Self, CborError> {
        let v = cbor::decode(bytes)?;
        let map = IntMap::new(&v, "refusal")?;
        map.only(&[1])?;
        Ok(Refusal {
            reason: cbor::text(map.require(1)?, "reason")?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_reject_strangers() {
        let k = KeyDelivery {
            cek: Some(Cek::from_slice(&[7; 16]).unwrap()),
            delivery: Delivery::Fetch { source: 42 },
            path: "fw/7".into(),
        };
        assert_eq!(KeyDelivery::decode(&k.encode()).unwrap(), k);
        let i = InstallCommand {
            at: Some(1_800_000_000),
        };
        assert_eq!(InstallCommand::decode(&i.encode()).unwrap(), i);
        let s = StatusReport {
            phase: UpdatePhase::RolledBack,
            reason: Some("self_test_failed".into()),
            sequence: Some(3),
            committed: Some(2),
        };
        assert_eq!(StatusReport::decode(&s.encode()).unwrap(), s);
        assert!(
            StatusReport::decode(&cbor::encode(&cbor::int_map([(
                1,
                Value::Integer(99.into())
            )])))
            .is_err()
        );
        assert!(InstallCommand::decode(&cbor::encode(&cbor::int_map([(9, Value::Null)]))).is_err());
    }
}
