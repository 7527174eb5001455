//! The recipient's replay window (RFC 8613 section 7.4), with the conservative floor that
//! a restore after a reboot installs (Appendix B.1.2).

use super::OscoreError;

/// The largest supported replay window (the window is a 128-bit bitmap).
pub const MAX_WINDOW: usize = 128;

/// The default replay window size, as in RFC 8613 section 7.4 ("a window size of 32").
pub const DEFAULT_WINDOW: usize = 32;

/// A sliding replay window over received Partial IVs.
///
/// A Partial IV is accepted if it is at or above the floor and either higher than every
/// accepted one, or inside the window (at most `size - 1` below the highest) and not yet
/// seen. Everything else is [`OscoreError::Replay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    size: usize,
    /// Every Partial IV below this is rejected (0 for a fresh context; set on restore).
    floor: u64,
    /// The highest accepted Partial IV, if any.
    highest: Option<u64>,
    /// Bit `i` set: `highest - i` was accepted.
    seen: u128,
}

impl ReplayWindow {
    /// A window of `size` (1..=[`MAX_WINDOW`]) entries that rejects everything below `floor`.
    pub fn new(size: usize, floor: u64) -> Result<Self, OscoreError> {
        if size == 0 || size > MAX_WINDOW {
            return Err(OscoreError::InvalidReplayWindow(size));
        }
        Ok(Self {
            size,
            floor,
            highest: None,
            seen: 0,
        })
    }

    /// The configured window size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The highest accepted Partial IV, if any.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// The lowest Partial IV that could still be accepted by a window restored with no
    /// margin: one above the highest accepted, or the floor if nothing was accepted.
    pub fn next_floor(&self) -> u64 {
        self.highest
            .map_or(self.floor, |h| h.saturating_add(1).max(self.floor))
    }

    /// Checks without recording: `Ok` if `piv` would be accepted now.
    pub fn check(&self, piv: u64) -> Result<(), OscoreError> {
        let replay = Err(OscoreError::Replay { partial_iv: piv });
        if piv < self.floor {
            return replay;
        }
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if piv > highest {
            return Ok(());
        }
        let age = highest - piv;
        if age >= self.size as u64 {
            return replay;
        }
        if self.seen & (1u128 << age) != 0 {
            return replay;
        }
        Ok(())
    }

    /// Records `piv` as received. Call only after [`Self::check`] passed and the message
    /// verified.
    pub fn record(&mut self, piv: u64) {
        match self.highest {
            None => {
                self.highest = Some(piv);
                self.seen = 1;
            }
            Some(highest) if piv > highest => {
                let shift = piv - highest;
                self.seen = if shift >= 128 { 0 } else { self.seen << shift };
                self.seen |= 1;
                self.highest = Some(piv);
            }
            Some(highest) => {
                let age = highest - piv;
                if age < 128 {
                    self.seen |= 1u128 << age;
                }
            }
        }
        self.seen &= self.mask();
    }

    fn mask(&self) -> u128 {
        if self.size >= 128 {
            u128::MAX
        } else {
            (1u128 << self.size) - 1
        }
    }
}
