//! The SUIT manifest (draft-ietf-suit-manifest section 8.4) as a typed representation.
//!
//! Decoding accepts the general structure of the draft (any components, command sequences
//! with nested `try-each`, severed members) and extracts what a device in icsim needs:
//! sequence number, component, the parameters of the shared sequence, the conditions it
//! requires, the payload URI and the icsim extensions. Encoding writes icsim's profile:
//! one component, vendor and class conditions in the shared sequence, image match in
//! `validate`, and fetch-then-match in `install`.

use ciborium::Value;
use sha2::{Digest as _, Sha256};

use super::labels::{REPORT_POLICY_ALL, command, common, manifest as m, parameter};
use crate::cbor::{self, CborError, IntMap};
use crate::cose::alg;
use crate::ids::{ComponentId, UpdateType, Uuid};

/// `SUIT_Digest`: `[algorithm-id, digest-bytes]`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Digest {
    /// The COSE hash algorithm (SHA-256 is -16).
    pub algorithm: i64,
    /// The digest value.
    pub bytes: Vec<u8>,
}

impl Digest {
    /// The SHA-256 digest of `data`.
    pub fn sha256(data: &[u8]) -> Self {
        Digest {
            algorithm: alg::SHA256,
            bytes: Sha256::digest(data).to_vec(),
        }
    }

    /// Whether `data` has this digest. Only SHA-256 is supported; any other algorithm
    /// never matches.
    pub fn matches(&self, data: &[u8]) -> bool {
        self.algorithm == alg::SHA256 && Sha256::digest(data).as_slice() == self.bytes.as_slice()
    }

    /// Whether this is the SHA-256 digest `sha256` (computed elsewhere, e.g. memoised).
    pub fn is_sha256(&self, sha256: &[u8; 32]) -> bool {
        self.algorithm == alg::SHA256 && self.bytes.as_slice() == sha256.as_slice()
    }

    /// Decode from a CBOR value.
    pub fn from_value(value: &Value) -> Result<Self, CborError> {
        let items = cbor::array(value, "SUIT_Digest")?;
        let [a, b] = items else {
            return Err(CborError::Shape {
                what: "SUIT_Digest",
                expected: "[algorithm-id, digest-bytes]",
            });
        };
        Ok(Digest {
            algorithm: cbor::int(a, "SUIT_Digest algorithm-id")?,
            bytes: cbor::bytes(b, "SUIT_Digest digest-bytes")?.to_vec(),
        })
    }

    /// Encode as a CBOR value.
    pub fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::Integer(self.algorithm.into()),
            Value::Bytes(self.bytes.clone()),
        ])
    }
}

/// A dependency of an update: `component` must be installed at `min_sequence` or newer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Dependency {
    /// The component required.
    pub component: ComponentId,
    /// The lowest acceptable installed sequence number.
    pub min_sequence: u64,
}

/// The parameters set for the first component by the shared sequence.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Parameters {
    /// `vendor-id`.
    pub vendor_id: Option<Uuid>,
    /// `class-id`.
    pub class_id: Option<Uuid>,
    /// `image-digest` of the plaintext image.
    pub image_digest: Option<Digest>,
    /// `image-size` of the plaintext image.
    pub image_size: Option<u64>,
    /// `encryption-info`: the encoded COSE_Encrypt (detached ciphertext).
    pub encryption_info: Option<Vec<u8>>,
    /// `uri` of the payload.
    pub uri: Option<String>,
}

/// A decoded SUIT manifest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Manifest {
    /// `suit-manifest-sequence-number`: monotonic per component (anti-rollback).
    pub sequence_number: u64,
    /// `suit-components`.
    pub components: Vec<ComponentId>,
    /// Parameters of the first component from the shared sequence.
    pub parameters: Parameters,
    /// The condition commands the shared sequence runs (top level), e.g. vendor and class.
    pub conditions: Vec<i64>,
    /// The payload URI set in `suit-install` (or the shared sequence).
    pub payload_uri: Option<String>,
    /// `suit-reference-uri`.
    pub reference_uri: Option<String>,
    /// icsim extension: what kind of update this is.
    pub update_type: Option<UpdateType>,
    /// icsim extension: components this update needs installed first.
    pub dependencies: Vec<Dependency>,
    /// Severable members present only as a digest (their bodies travel in the envelope).
    pub severed: Vec<(i64, Digest)>,
}

/// What an author puts into a new manifest (icsim's profile).
#[derive(Clone, Debug)]
pub struct ManifestSpec {
    /// Sequence number, newer than any installed one for this component.
    pub sequence_number: u64,
    /// The component updated.
    pub component: ComponentId,
    /// The device vendor the update is for.
    pub vendor_id: Uuid,
    /// The device class the update is for.
    pub class_id: Uuid,
    /// Digest of the plaintext image.
    pub image_digest: Digest,
    /// Size of the plaintext image, in bytes.
    pub image_size: u64,
    /// Encoded SUIT_Encryption_Info (COSE_Encrypt), if the payload is encrypted.
    pub encryption_info: Option<Vec<u8>>,
    /// Where devices fetch the payload.
    pub payload_uri: String,
    /// The update type.
    pub update_type: UpdateType,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
}

impl Manifest {
    /// Encode a manifest in icsim's profile from `spec`.
    pub fn encode(spec: &ManifestSpec) -> Vec<u8> {
        let int = |i: i64| Value::Integer(i.into());
        let policy = || Value::Integer(REPORT_POLICY_ALL.into());
        let mut params = vec![
            (
                parameter::VENDOR_ID,
                Value::Bytes(spec.vendor_id.0.to_vec()),
            ),
            (parameter::CLASS_ID, Value::Bytes(spec.class_id.0.to_vec())),
            (
                parameter::IMAGE_DIGEST,
                cbor::wrap(&spec.image_digest.to_value()),
            ),
            (
                parameter::IMAGE_SIZE,
                Value::Integer(spec.image_size.into()),
            ),
        ];
        if let Some(info) = &spec.encryption_info {
            params.push((parameter::ENCRYPTION_INFO, Value::Bytes(info.clone())));
        }
        let shared = Value::Array(vec![
            int(command::OVERRIDE_PARAMETERS),
            cbor::int_map(params),
            int(command::VENDOR_IDENTIFIER),
            policy(),
            int(command::CLASS_IDENTIFIER),
            policy(),
        ]);
        let common_map = cbor::int_map([
            (
                common::COMPONENTS,
                Value::Array(vec![component_value(&spec.component)]),
            ),
            (common::SHARED_SEQUENCE, cbor::wrap(&shared)),
        ]);
        let validate = Value::Array(vec![int(command::IMAGE_MATCH), policy()]);
        let install = Value::Array(vec![
            int(command::OVERRIDE_PARAMETERS),
            cbor::int_map([(parameter::URI, Value::Text(spec.payload_uri.clone()))]),
            int(command::FETCH),
            policy(),
            int(command::IMAGE_MATCH),
            policy(),
        ]);
        let mut entries = vec![
            (m::VERSION, int(1)),
            (
                m::SEQUENCE_NUMBER,
                Value::Integer(spec.sequence_number.into()),
            ),
            (m::COMMON, cbor::wrap(&common_map)),
            (m::VALIDATE, cbor::wrap(&validate)),
            (m::INSTALL, cbor::wrap(&install)),
            (
                m::X_UPDATE_TYPE,
                Value::Text(spec.update_type.name().to_string()),
            ),
        ];
        if !spec.dependencies.is_empty() {
            let deps = spec
                .dependencies
                .iter()
                .map(|d| {
                    Value::Array(vec![
                        component_value(&d.component),
                        Value::Integer(d.min_sequence.into()),
                    ])
                })
                .collect();
            entries.push((m::X_DEPENDENCIES, Value::Array(deps)));
        }
        cbor::encode(&cbor::int_map(entries))
    }

    /// Decode a manifest from its encoding (the content of the envelope's `suit-manifest` bstr).
    pub fn decode(bytes: &[u8]) -> Result<Self, CborError> {
        let value = cbor::decode(bytes)?;
        let map = IntMap::new(&value, "SUIT_Manifest")?;
        let version = cbor::uint(map.require(m::VERSION)?, "suit-manifest-version")?;
        if version != 1 {
            return Err(CborError::Shape {
                what: "suit-manifest-version",
                expected: "1",
            });
        }
        let sequence_number = cbor::uint(
            map.require(m::SEQUENCE_NUMBER)?,
            "suit-manifest-sequence-number",
        )?;
        let common_value = cbor::decode(cbor::bytes(map.require(m::COMMON)?, "suit-common")?)?;
        let common_map = IntMap::new(&common_value, "SUIT_Common")?;
        let components = match common_map.get(common::COMPONENTS) {
            Some(v) => cbor::array(v, "suit-components")?
                .iter()
                .map(component_from_value)
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let mut parameters = Parameters::default();
        let mut conditions = Vec::new();
        if let Some(shared) = common_map.get(common::SHARED_SEQUENCE) {
            let seq = decode_sequence(cbor::bytes(shared, "suit-shared-sequence")?)?;
            scan_sequence(&seq, &mut parameters, &mut conditions)?;
        }
        let mut severed = Vec::new();
        let mut payload_uri = parameters.uri.clone();
        for key in m::SEVERABLE {
            match map.get(key) {
                Some(Value::Bytes(seq)) if key != m::TEXT => {
                    let mut install_params = Parameters::default();
                    scan_sequence(&decode_sequence(seq)?, &mut install_params, &mut Vec::new())?;
                    payload_uri = payload_uri.or(install_params.uri);
                }
                Some(Value::Bytes(_)) | None => {}
                Some(digest) => severed.push((key, Digest::from_value(digest)?)),
            }
        }
        for key in [m::VALIDATE, m::LOAD, m::INVOKE] {
            if let Some(seq) = map.get(key) {
                decode_sequence(cbor::bytes(seq, "command sequence")?)?;
            }
        }
        let reference_uri = match map.get(m::REFERENCE_URI) {
            Some(v) => Some(cbor::text(v, "suit-reference-uri")?.to_string()),
            None => None,
        };
        let update_type =
            match map.get(m::X_UPDATE_TYPE) {
                Some(v) => Some(cbor::text(v, "icsim update type")?.parse().map_err(|_| {
                    CborError::Shape {
                        what: "icsim update type",
                        expected: "firmware, application or library",
                    }
                })?),
                None => None,
            };
        let dependencies = match map.get(m::X_DEPENDENCIES) {
            Some(v) => cbor::array(v, "icsim dependencies")?
                .iter()
                .map(dependency_from_value)
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        Ok(Manifest {
            sequence_number,
            components,
            parameters,
            conditions,
            payload_uri,
            reference_uri,
            update_type,
            dependencies,
            severed,
        })
    }

    /// The first (in icsim's profile: the only) component.
    pub fn component(&self) -> Option<&ComponentId> {
        self.components.first()
    }
}

fn component_value(id: &ComponentId) -> Value {
    Value::Array(id.0.iter().map(|s| Value::Bytes(s.clone())).collect())
}

fn component_from_value(value: &Value) -> Result<ComponentId, CborError> {
    let segments = cbor::array(value, "SUIT_Component_Identifier")?
        .iter()
        .map(|s| cbor::bytes(s, "component id segment").map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ComponentId(segments))
}

fn dependency_from_value(value: &Value) -> Result<Dependency, CborError> {
    let [component, min] = cbor::array(value, "icsim dependency")? else {
        return Err(CborError::Shape {
            what: "icsim dependency",
            expected: "[component-id, min-sequence-number]",
        });
    };
    Ok(Dependency {
        component: component_from_value(component)?,
        min_sequence: cbor::uint(min, "dependency min-sequence-number")?,
    })
}

/// Decode a command sequence: an array of (command, argument) pairs.
fn decode_sequence(bytes: &[u8]) -> Result<Vec<(i64, Value)>, CborError> {
    let value = cbor::decode(bytes)?;
    let items = cbor::array(&value, "SUIT_Command_Sequence")?;
    if items.len() % 2 != 0 {
        return Err(CborError::Shape {
            what: "SUIT_Command_Sequence",
            expected: "an even number of items (command, argument)",
        });
    }
    items
        .chunks_exact(2)
        .map(|pair| Ok((cbor::int(&pair[0], "SUIT command")?, pair[1].clone())))
        .collect()
}

/// Collect the parameters set for component 0 and the top-level conditions of a sequence.
/// Nested `try-each` sequences are checked for well-formedness but not applied.
fn scan_sequence(
    seq: &[(i64, Value)],
    params: &mut Parameters,
    conditions: &mut Vec<i64>,
) -> Result<(), CborError> {
    let mut component_index = 0u64;
    for (cmd, arg) in seq {
        match *cmd {
            command::SET_COMPONENT_INDEX => {
                component_index = match arg {
                    Value::Integer(_) => cbor::uint(arg, "set-component-index")?,
                    _ => u64::MAX, // `true` or a list: several components, not only the first
                }
            }
            command::OVERRIDE_PARAMETERS | command::SET_PARAMETERS if component_index == 0 => {
                apply_parameters(arg, params)?;
            }
            command::TRY_EACH => {
                for alternative in cbor::array(arg, "try-each")? {
                    decode_sequence(cbor::bytes(alternative, "try-each sequence")?)?;
                }
            }
            c if (1..=11).contains(&c) || c == 14 || c == 24 => conditions.push(c),
            _ => {}
        }
    }
    Ok(())
}

fn apply_parameters(arg: &Value, params: &mut Parameters) -> Result<(), CborError> {
    let map = IntMap::new(arg, "SUIT_Parameters")?;
    let uuid = |v: &Value, what| {
        Uuid::from_slice(cbor::bytes(v, what)?).ok_or(CborError::Shape {
            what,
            expected: "16-byte UUID",
        })
    };
    if let Some(v) = map.get(parameter::VENDOR_ID) {
        params.vendor_id = Some(uuid(v, "vendor-id")?);
    }
    if let Some(v) = map.get(parameter::CLASS_ID) {
        params.class_id = Some(uuid(v, "class-id")?);
    }
    if let Some(v) = map.get(parameter::IMAGE_DIGEST) {
        params.image_digest = Some(Digest::from_value(&cbor::decode(cbor::bytes(
            v,
            "image-digest",
        )?)?)?);
    }
    if let Some(v) = map.get(parameter::IMAGE_SIZE) {
        params.image_size = Some(cbor::uint(v, "image-size")?);
    }
    if let Some(v) = map.get(parameter::ENCRYPTION_INFO) {
        params.encryption_info = Some(cbor::bytes(v, "encryption-info")?.to_vec());
    }
    if let Some(v) = map.get(parameter::URI) {
        params.uri = Some(cbor::text(v, "uri")?.to_string());
    }
    Ok(())
}
