//! The protocol's own notion of time (in the spirit of smoltcp's `time` module).
//!
//! The protocol never reads a clock. Callers pass an [`Instant`] into every `handle_*`
//! method: the simulator derives it from its paused tokio clock plus the scenario epoch,
//! the command-line tools from an explicit `--now` or the system clock in the binary.
//! An `Instant` is an absolute point in time, in microseconds since the Unix epoch
//! (1970-01-01T00:00:00Z), so CWT claims (`iat`, `exp`) and approval windows can be
//! computed from it directly.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// An absolute point in time: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    micros: u64,
}

/// A span of time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    micros: u64,
}

impl Instant {
    /// The Unix epoch itself.
    pub const UNIX_EPOCH: Instant = Instant { micros: 0 };

    /// An instant from microseconds since the Unix epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Self { micros }
    }

    /// An instant from milliseconds since the Unix epoch (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Self {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// An instant from whole seconds since the Unix epoch (saturating).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub const fn as_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// Whole seconds since the Unix epoch (truncated), as used by CWT NumericDate claims.
    pub const fn unix_secs(self) -> u64 {
        self.micros / 1_000_000
    }

    /// `self - earlier`, or zero when `earlier` is later than `self`.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(earlier.micros),
        }
    }

    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_add(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };

    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Self { micros }
    }

    /// A duration of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Self {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// A duration of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// The duration in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// The duration in milliseconds (truncated).
    pub const fn as_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// The duration in whole seconds (truncated).
    pub const fn as_secs(self) -> u64 {
        self.micros / 1_000_000
    }

    /// The duration in seconds as a float, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }

    /// `self * factor`, saturating.
    pub const fn saturating_mul(self, factor: u64) -> Self {
        Self {
            micros: self.micros.saturating_mul(factor),
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far end of time rather than overflowing.
    fn add(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero when `rhs` is later than `self`.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Instant::from_micros(u64::MAX - 1);
        assert_eq!((t + Duration::from_secs(5)).as_micros(), u64::MAX);
        assert_eq!(Instant::UNIX_EPOCH - t, Duration::ZERO);
        assert_eq!(Instant::from_unix_secs(10).unix_secs(), 10);
        assert_eq!(Duration::from_millis(1500).to_string(), "1.500000s");
    }
}
