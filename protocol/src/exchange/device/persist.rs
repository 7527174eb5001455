//! What a device keeps across reboots: installed component versions, the A/B image slots,
//! the OSCORE state that must never go backwards, and a boot counter. Everything else
//! (CoAP state, transfers in progress, tokens) is RAM and lost on a reboot.

use std::collections::BTreeMap;

use super::super::wire::UpdatePhase;
use crate::ids::{ComponentId, UpdateType};
use crate::memo::CryptoMemo;
use crate::oscore::{ContextParams, PersistentOscoreState};
use crate::suit::Digest;
use crate::verify::{InstalledComponents, VerifiedImage};

/// An image in a slot: which component and version, and its digest (the image bytes
/// themselves are not modelled in memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotImage {
    /// The component.
    pub component: ComponentId,
    /// Its sequence number.
    pub sequence: u64,
    /// The plaintext digest.
    pub digest: Digest,
    /// The plaintext size.
    pub size: u64,
}

/// A verified image written to the inactive slot. Only [`Slots::stage`] makes one, from a
/// [`VerifiedImage`], so nothing else can reach the install step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedImage {
    image: SlotImage,
    update_type: UpdateType,
}

impl StagedImage {
    /// The staged image.
    pub fn image(&self) -> &SlotImage {
        &self.image
    }

    /// The update type it was verified as.
    pub fn update_type(&self) -> UpdateType {
        self.update_type
    }
}

/// A/B slots of one device (all components share the pair, a simplification).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    /// The image that runs.
    pub active: Option<SlotImage>,
    /// The other slot: a staged image, or the previous one after an install.
    pub inactive: Option<SlotImage>,
}

impl Slots {
    /// Write a verified image into the inactive slot. The plaintext is dropped here: the
    /// simulator does not keep images per device. The image's digest is the one the
    /// payload check computed (or, with that check switched off, computed through the
    /// run-wide `memo`).
    pub fn stage(&mut self, verified: VerifiedImage, memo: &CryptoMemo) -> StagedImage {
        let env = verified.envelope();
        let image = SlotImage {
            component: env.component().clone(),
            sequence: env.sequence_number(),
            digest: Digest {
                algorithm: crate::cose::alg::SHA256,
                bytes: verified.sha256(memo).to_vec(),
            },
            size: verified.image().len() as u64,
        };
        self.inactive = Some(image.clone());
        StagedImage {
            image,
            update_type: env.update_type(),
        }
    }

    /// Boot into the staged image: swap the slots.
    pub(crate) fn swap(&mut self) {
        std::mem::swap(&mut self.active, &mut self.inactive);
    }
}

/// One OSCORE context as persisted (RFC 8613 Appendix B.1.1): its parameters (fixed) and
/// its high-water marks (advanced before they are used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedContext {
    /// The parameters to re-derive the context.
    pub params: ContextParams,
    /// Sender sequence number and replay high-water marks.
    pub state: PersistentOscoreState,
}

/// The result of the last update, kept in flash so that it can be reported after a reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastOutcome {
    /// The phase it ended in (or is in, across an install reboot).
    pub phase: UpdatePhase,
    /// The reason code of a rejection or a rollback.
    pub reason: Option<String>,
    /// The sequence number concerned.
    pub sequence: Option<u64>,
}

/// Everything a device keeps in flash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePersistent {
    /// Installed sequence number per component (anti-rollback state).
    pub installed: InstalledComponents,
    /// The image slots.
    pub slots: Slots,
    /// OSCORE contexts by the device's Recipient ID (boxed, so that a map of one or two
    /// takes a B-tree leaf of pointers rather than of eleven inline contexts).
    pub oscore: BTreeMap<Vec<u8>, Box<PersistedContext>>,
    /// Number of boots so far.
    pub boots: u64,
    /// The result of the last update.
    pub last_outcome: Option<LastOutcome>,
    /// What an operator-ordered revert goes back to: the component of the last committed
    /// update, the sequence number installed before it, and the committed one.
    pub revert_to: Option<(ComponentId, Option<u64>, u64)>,
}
