//! Operator approval (DESIGN.md section 1.3): a second COSE_Sign1 in the SUIT
//! authentication wrapper, by the operator, over the same manifest digest as the author's
//! signature, with the approval claims in its protected header under the private-use
//! label `-70020`: `{1: [+ class-id], ? 2: not-before, ? 3: not-after, 4: approval-id}`
//! (times in seconds since the Unix epoch).

use ciborium::Value;
use coset::Header;

use crate::cbor::{self, CborError, IntMap};
use crate::cose;
use crate::ids::Uuid;
use crate::keys::PrivateKey;
use crate::suit::{Envelope, EnvelopeError};

/// The protected-header label of the approval claims.
pub const HEADER_APPROVAL: i64 = -70020;

/// What the operator approved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalClaims {
    /// Device classes the update is approved for (at least one).
    pub classes: Vec<Uuid>,
    /// Not to be installed before this time (Unix seconds).
    pub not_before: Option<u64>,
    /// Not to be installed at or after this time (Unix seconds).
    pub not_after: Option<u64>,
    /// The operator's identifier of this approval (for audit).
    pub approval_id: Vec<u8>,
}

impl ApprovalClaims {
    fn to_value(&self) -> Value {
        let mut entries = vec![(
            1,
            Value::Array(
                self.classes
                    .iter()
                    .map(|c| Value::Bytes(c.0.to_vec()))
                    .collect(),
            ),
        )];
        if let Some(t) = self.not_before {
            entries.push((2, Value::Integer(t.into())));
        }
        if let Some(t) = self.not_after {
            entries.push((3, Value::Integer(t.into())));
        }
        entries.push((4, Value::Bytes(self.approval_id.clone())));
        cbor::int_map(entries)
    }

    /// Decode approval claims from their header value.
    pub fn from_value(value: &Value) -> Result<Self, CborError> {
        let map = IntMap::new(value, "approval claims")?;
        map.only(&[1, 2, 3, 4])?;
        let classes = cbor::array(map.require(1)?, "approved classes")?
            .iter()
            .map(|c| {
                Uuid::from_slice(cbor::bytes(c, "approved class")?).ok_or(CborError::Shape {
                    what: "approved class",
                    expected: "16-byte UUID",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if classes.is_empty() {
            return Err(CborError::Shape {
                what: "approved classes",
                expected: "at least one class",
            });
        }
        let time = |key| {
            map.get(key)
                .map(|v| cbor::uint(v, "approval time"))
                .transpose()
        };
        Ok(ApprovalClaims {
            classes,
            not_before: time(2)?,
            not_after: time(3)?,
            approval_id: cbor::bytes(map.require(4)?, "approval id")?.to_vec(),
        })
    }

    /// The claims in a protected header, if it carries any.
    pub fn from_header(header: &Header) -> Option<Result<Self, CborError>> {
        cose::header_param(header, HEADER_APPROVAL).map(Self::from_value)
    }
}

/// Add the operator's approval signature to `envelope`.
pub fn approve(
    envelope: &mut Envelope,
    operator: &PrivateKey,
    claims: &ApprovalClaims,
) -> Result<(), EnvelopeError> {
    let protected = coset::HeaderBuilder::new()
        .key_id(operator.public_key().kid().to_vec())
        .value(HEADER_APPROVAL, claims.to_value())
        .build();
    let sign1 = cose::sign1_detached(
        operator,
        protected,
        Header::default(),
        envelope.signed_payload(),
    );
    envelope.add_signature(sign1)
}

/// Whether a signature of the wrapper is an approval (carries approval claims).
pub fn is_approval(signature: &crate::suit::EnvelopeSignature) -> bool {
    cose::header_param(&signature.sign1.protected.header, HEADER_APPROVAL).is_some()
}
