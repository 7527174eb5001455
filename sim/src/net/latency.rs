//! One-way latency distributions.

use icsim_protocol::time::Duration;
use rand_core::Rng;

use super::open_unit;
use crate::scenario::model;

/// A one-way latency distribution, sampled in whole microseconds.
///
/// Durations cannot be negative, so every mean, bound and median is valid as given; the
/// only clamps are documented on the variants. A sample is computed in `f64` and rounded
/// to the nearest microsecond, saturating at [`u64::MAX`] microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LatencyModel {
    /// Always the same latency. Draws nothing from the stream.
    Fixed(Duration),
    /// Uniform on `[min, max]`: `min + U (max - min)` with `U` uniform in (0, 1).
    /// Mean `(min + max) / 2`, standard deviation `(max - min) / sqrt(12)`. Bounds given
    /// the wrong way round are swapped. One draw per sample.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound.
        max: Duration,
    },
    /// Uniform over the whole multiples of `step` above `min`, from `min` to `max` with both
    /// ends included: `UniformInteger[5, 15]` milliseconds is `min` 5 ms, `max` 15 ms, `step`
    /// 1 ms (eleven values). With `k` values, mean `(min + max') / 2` and variance
    /// `step^2 (k^2 - 1) / 12`, where `max'` is `max` rounded down to the grid. One draw per
    /// sample, mapped by multiply-and-shift (bias below `k / 2^64`). Bounds given the wrong
    /// way round are swapped; a zero step is taken as one microsecond.
    UniformGrid {
        /// Lower bound, the first value.
        min: Duration,
        /// Upper bound (included if it is on the grid).
        max: Duration,
        /// Distance between values.
        step: Duration,
    },
    /// Normal with mean `mean` and standard deviation `std`, truncated at zero: negative
    /// deviates are rejected and drawn again, so the shape above zero is kept and no mass
    /// piles up at zero. The truncated distribution has, with `a = -mean / std`, `phi`
    /// and `Phi` the standard normal density and distribution function and
    /// `lambda = phi(a) / (1 - Phi(a))`, mean `mean + std * lambda` and variance
    /// `std^2 (1 + a lambda - lambda^2)`; for `mean >= 4 std` both are within 0.1 % of
    /// the untruncated values, and for `mean = 0` it is the half-normal, with mean
    /// `std sqrt(2 / pi)` and variance `std^2 (1 - 2 / pi)`.
    ///
    /// Deviates come from the Box-Muller transform (two draws give two deviates, both
    /// used). As `mean >= 0`, each deviate is accepted with probability at least 1/2;
    /// after 64 rejected deviates (probability at most 2^-64) the sample is 0, so a
    /// sample never loops without bound, even on a degenerate stream.
    Normal {
        /// Mean of the untruncated normal.
        mean: Duration,
        /// Standard deviation of the untruncated normal. Zero gives `mean` without a draw.
        std: Duration,
    },
    /// Log-normal: `median * exp(sigma * Z)` with `Z` standard normal (Box-Muller, two
    /// draws per sample). Median `median`, mean `median * exp(sigma^2 / 2)`, variance
    /// `median^2 exp(sigma^2) (exp(sigma^2) - 1)`. A negative `sigma` gives the same
    /// distribution as its absolute value; NaN is taken as 0 (always `median`).
    LogNormal {
        /// Median (the geometric mean).
        median: Duration,
        /// Standard deviation of the natural logarithm of the latency.
        sigma: f64,
    },
}

impl LatencyModel {
    /// Draws one latency from `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        match *self {
            LatencyModel::Fixed(d) => d,
            LatencyModel::Uniform { min, max } => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                let lo_us = lo.as_micros() as f64;
                let span = (hi.as_micros() - lo.as_micros()) as f64;
                micros(lo_us + open_unit(rng) * span)
            }
            LatencyModel::UniformGrid { min, max, step } => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                let step = step.as_micros().max(1);
                let values = u128::from((hi.as_micros() - lo.as_micros()) / step) + 1;
                let k = (u128::from(rng.next_u64()) * values) >> 64;
                // k < values, so k * step stays within hi - lo and fits a u64.
                let offset = u64::try_from(k).unwrap_or(0).saturating_mul(step);
                Duration::from_micros(lo.as_micros().saturating_add(offset))
            }
            LatencyModel::Normal { mean, std } => {
                if std == Duration::ZERO {
                    return mean;
                }
                let (mu, sd) = (mean.as_micros() as f64, std.as_micros() as f64);
                for _ in 0..32 {
                    let (z0, z1) = standard_normal_pair(rng);
                    for z in [z0, z1] {
                        let x = mu + sd * z;
                        if x >= 0.0 {
                            return micros(x);
                        }
                    }
                }
                Duration::ZERO
            }
            LatencyModel::LogNormal { median, sigma } => {
                let sigma = if sigma.is_nan() { 0.0 } else { sigma };
                let z = standard_normal(rng);
                micros(median.as_micros() as f64 * (sigma * z).exp())
            }
        }
    }
}

impl From<&model::Latency> for LatencyModel {
    /// Milliseconds become microseconds (rounded); negative or NaN times become zero.
    fn from(latency: &model::Latency) -> Self {
        match *latency {
            model::Latency::Fixed { ms } => LatencyModel::Fixed(from_ms(ms)),
            model::Latency::Uniform { min_ms, max_ms } => LatencyModel::Uniform {
                min: from_ms(min_ms),
                max: from_ms(max_ms),
            },
            model::Latency::Normal { mean_ms, std_ms } => LatencyModel::Normal {
                mean: from_ms(mean_ms),
                std: from_ms(std_ms),
            },
            model::Latency::LogNormal { median_ms, sigma } => LatencyModel::LogNormal {
                median: from_ms(median_ms),
                sigma,
            },
        }
    }
}

/// Two independent standard normal deviates by the Box-Muller transform:
/// with `U1`, `U2` uniform in (0, 1), `r = sqrt(-2 ln U1)` and `t = 2 pi U2`,
/// `(r cos t, r sin t)`. As `U1 >= 2^-54`, `r` is finite (at most about 8.7).
fn standard_normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    let (r, t) = box_muller_polar(rng);
    let (sin, cos) = t.sin_cos();
    (r * cos, r * sin)
}

/// The first deviate of [`standard_normal_pair`], `r cos t`, from the same two draws,
/// without computing the sine that would be thrown away.
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let (r, t) = box_muller_polar(rng);
    r * t.cos()
}

/// The radius `r` and angle `t` of [`standard_normal_pair`], from two draws.
#[inline]
fn box_muller_polar<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    let u1 = open_unit(rng);
    let u2 = open_unit(rng);
    ((-2.0 * u1.ln()).sqrt(), core::f64::consts::TAU * u2)
}

/// Rounds microseconds to a [`Duration`], half away from zero; the cast saturates (NaN
/// and negatives give 0).
fn micros(us: f64) -> Duration {
    Duration::from_micros(round_to_u64(us))
}

/// `x.round() as u64`, to the bit, without the library call that `f64::round` is on
/// x86-64's baseline (no SSE4.1), once per datagram sent. The cast truncates, and is
/// exact below 2^64; below 2^52 the fraction `x - t` is exact too, and from 2^52 on every
/// `f64` is a whole number, so the fraction is 0. Negatives and NaN give 0 either way (the
/// cast saturates; the fraction is then negative or NaN, so nothing is added).
fn round_to_u64(x: f64) -> u64 {
    let t = x as u64;
    let fraction = x - t as f64;
    if fraction >= 0.5 {
        t.saturating_add(1)
    } else {
        t
    }
}

/// Milliseconds from a scenario file to a [`Duration`].
pub(super) fn from_ms(ms: f64) -> Duration {
    micros(ms * 1_000.0)
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn rounding_without_the_library_call_matches_f64_round() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            1.8446744073709552e19,
            1e300,
            -0.4,
            -2.5,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let random = (0..100_000).map(|i| {
            let bits = rng.next_u64();
            match i % 3 {
                // Any bit pattern: every exponent, NaNs and infinities.
                0 => f64::from_bits(bits),
                // Latencies in microseconds, where halves are common.
                1 => (bits % 2_000_000) as f64 / 2.0,
                _ => (bits >> 11) as f64 * 1e-3,
            }
        });
        for x in edges.into_iter().chain(random) {
            assert_eq!(round_to_u64(x), x.round() as u64, "{x:e}");
        }
    }

    #[test]
    fn conversion_from_the_scenario_rounds_and_clamps() {
        let m = LatencyModel::from(&model::Latency::Normal {
            mean_ms: 12.3456,
            std_ms: -1.0,
        });
        assert_eq!(
            m,
            LatencyModel::Normal {
                mean: Duration::from_micros(12_346),
                std: Duration::ZERO
            }
        );
        let m = LatencyModel::from(&model::Latency::Fixed { ms: f64::NAN });
        assert_eq!(m, LatencyModel::Fixed(Duration::ZERO));
    }

    #[test]
    fn a_grid_gives_every_value_of_the_grid_equally_often() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let model = LatencyModel::UniformGrid {
            min: Duration::from_millis(15),
            max: Duration::from_millis(5),
            step: Duration::from_millis(1),
        };
        let mut counts = [0u32; 11];
        let draws = 110_000;
        for _ in 0..draws {
            let us = model.sample(&mut rng).as_micros();
            assert_eq!(us % 1_000, 0, "{us} us is off the millisecond grid");
            let ms = us / 1_000;
            assert!((5..=15).contains(&ms), "{ms} ms is outside [5, 15]");
            counts[(ms - 5) as usize] += 1;
        }
        // Each value has probability 1/11: 10,000 expected, binomial std about 95.
        for (i, &c) in counts.iter().enumerate() {
            assert!((9_500..10_500).contains(&c), "{} ms drawn {c} times", i + 5);
        }
    }

    #[test]
    fn degenerate_parameters_never_panic_nor_hang() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let big = Duration::from_micros(u64::MAX);
        let models = [
            LatencyModel::Uniform {
                min: big,
                max: Duration::ZERO,
            },
            LatencyModel::UniformGrid {
                min: big,
                max: Duration::ZERO,
                step: Duration::ZERO,
            },
            LatencyModel::Normal {
                mean: big,
                std: big,
            },
            LatencyModel::LogNormal {
                median: big,
                sigma: f64::INFINITY,
            },
            LatencyModel::LogNormal {
                median: Duration::from_millis(5),
                sigma: f64::NAN,
            },
        ];
        for m in models {
            for _ in 0..100 {
                let _ = m.sample(&mut rng);
            }
        }
        let m = LatencyModel::LogNormal {
            median: Duration::from_millis(5),
            sigma: f64::NAN,
        };
        assert_eq!(m.sample(&mut rng), Duration::from_millis(5));
    }

    /// The single deviate is the pair's first, from the same draws, to the last bit.
    #[test]
    fn the_single_deviate_is_the_first_of_the_pair() {
        let (mut a, mut b) = (ChaCha20Rng::seed_from_u64(5), ChaCha20Rng::seed_from_u64(5));
        for _ in 0..10_000 {
            let (z0, _) = standard_normal_pair(&mut a);
            assert_eq!(standard_normal(&mut b).to_bits(), z0.to_bits());
        }
    }

    /// A stream stuck at one value: with `U1 = U2 = 0.6`, both Box-Muller deviates are
    /// negative (`t = 1.2 pi`), so every deviate of a zero-mean normal is rejected. The
    /// loop still ends, with the documented fallback of zero.
    #[test]
    fn a_constant_stream_cannot_make_the_normal_loop_forever() {
        struct Stuck(u64);
        impl rand_core::TryRng for Stuck {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok((self.0 >> 32) as u32)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(self.0)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                dst.fill(0);
                Ok(())
            }
        }
        let m = LatencyModel::Normal {
            mean: Duration::ZERO,
            std: Duration::from_millis(1),
        };
        let mut stuck = Stuck((0.6 * 2f64.powi(64)) as u64);
        let (z0, z1) = standard_normal_pair(&mut stuck);
        assert!(z0 < 0.0 && z1 < 0.0);
        assert_eq!(m.sample(&mut stuck), Duration::ZERO);
        // And a stream stuck at zero (U = 2^-54) gives the largest deviate, r ~ 8.65.
        let (z0, _) = standard_normal_pair(&mut Stuck(0));
        assert!((z0 - (108.0 * core::f64::consts::LN_2).sqrt()).abs() < 1e-9);
    }
}
