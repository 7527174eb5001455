//! Summary statistics across replications: mean, sample standard deviation and a 95 %
//! confidence interval of the mean (Student's t).
//!
//! Conventions, so that every consumer reads the numbers the same way:
//!
//! - the standard deviation is the *sample* standard deviation (divisor `n - 1`);
//! - the confidence interval is `mean ± t(0.975, n - 1) · std / √n`, with the t quantile
//!   from a table for 1 to 30 degrees of freedom and the normal 1.96 beyond;
//! - with a single sample, the standard deviation is 0 and the interval collapses to the
//!   mean (there is no spread to estimate from one run: read such a CI as "unknown", not as
//!   "exact");
//! - with no sample (a metric never reached, or no run at all), `reached` is 0 and the mean,
//!   standard deviation and interval are all 0 and carry no meaning;
//! - samples that are not finite (NaN, ±∞) are ignored, as if the metric was not reached in
//!   that run.
//!
//! Sums are taken in the order of the samples, so the same samples in the same order give
//! the same bits.

use serde::{Deserialize, Serialize};

/// Two-sided 95 % quantiles of Student's t distribution, `T_975[df - 1]` for 1 to 30
/// degrees of freedom.
const T_975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// The normal quantile used beyond 30 degrees of freedom.
const Z_975: f64 = 1.96;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (table up to 30, then
/// 1.96); 0 for `df == 0`.
pub fn t_quantile_975(df: u64) -> f64 {
    match df {
        0 => 0.0,
        1..=30 => T_975[(df - 1) as usize],
        _ => Z_975,
    }
}

/// Mean, spread and 95 % confidence interval of one metric across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Runs considered.
    pub n: u64,
    /// Runs in which the metric had a value (reached, for completion times); the other
    /// fields are computed over these only. Equal to `n` for metrics every run has.
    pub reached: u64,
    /// Mean over the runs that reached it.
    pub mean: f64,
    /// Sample standard deviation (divisor `reached - 1`; 0 for fewer than two values).
    pub std: f64,
    /// Lower bound of the 95 % confidence interval of the mean.
    pub ci95_lo: f64,
    /// Upper bound of the 95 % confidence interval of the mean.
    pub ci95_hi: f64,
}

impl Stat {
    /// Statistics of samples every run has (non-finite values are dropped, see the module
    /// documentation).
    pub fn from_samples(samples: &[f64]) -> Stat {
        Stat::from_optional(samples.iter().map(|&v| Some(v)))
    }

    /// Statistics of a metric that some runs may lack (`None`: not reached in that run).
    /// `n` counts every item, `reached` the finite values.
    pub fn from_optional<I: IntoIterator<Item = Option<f64>>>(samples: I) -> Stat {
        let mut n = 0u64;
        let mut values = Vec::new();
        for s in samples {
            n += 1;
            if let Some(v) = s.filter(|v| v.is_finite()) {
                values.push(v);
            }
        }
        let k = values.len() as u64;
        if k == 0 {
            return Stat {
                n,
                reached: 0,
                mean: 0.0,
                std: 0.0,
                ci95_lo: 0.0,
                ci95_hi: 0.0,
            };
        }
        let mean = values.iter().sum::<f64>() / k as f64;
        let std = if k > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (k - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half = t_quantile_975(k - 1) * std / (k as f64).sqrt();
        // Guard against overflow to infinity with extreme inputs.
        let half = if half.is_finite() { half } else { 0.0 };
        Stat {
            n,
            reached: k,
            mean,
            std,
            ci95_lo: mean - half,
            ci95_hi: mean + half,
        }
    }

    /// Half the width of the confidence interval.
    pub fn half_ci(&self) -> f64 {
        (self.ci95_hi - self.ci95_lo) / 2.0
    }

    /// Whether every run had a value.
    pub fn all_reached(&self) -> bool {
        self.reached == self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn known_values_five_samples() {
        // 2, 4, 4, 4, 5, 5, 7, 9 is the textbook set; use a 5-sample one with exact values:
        // 1..=5: mean 3, sample variance 2.5.
        let s = Stat::from_samples(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((s.n, s.reached), (5, 5));
        assert!(close(s.mean, 3.0));
        assert!(close(s.std, 2.5f64.sqrt()));
        let half = 2.7764 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!(close(s.ci95_lo, 3.0 - half));
        assert!(close(s.ci95_hi, 3.0 + half));
        assert!(close(s.half_ci(), half));
        // Known value: half ≈ 1.9632.
        assert!((half - 1.9632).abs() < 1e-3);
    }

    #[test]
    fn textbook_eight_samples() {
        // Population std 2, sample variance 32/7.
        let s = Stat::from_samples(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!(close(s.mean, 5.0));
        assert!(close(s.std, (32.0f64 / 7.0).sqrt()));
        assert!(close(
            s.half_ci(),
            2.3646 * (32.0f64 / 7.0).sqrt() / 8f64.sqrt()
        ));
    }

    #[test]
    fn one_sample_has_zero_spread() {
        let s = Stat::from_samples(&[7.5]);
        assert_eq!((s.n, s.reached), (1, 1));
        assert_eq!((s.mean, s.std, s.ci95_lo, s.ci95_hi), (7.5, 0.0, 7.5, 7.5));
    }

    #[test]
    fn constant_samples_have_a_point_interval() {
        let s = Stat::from_samples(&[4.0; 6]);
        assert_eq!((s.mean, s.std, s.ci95_lo, s.ci95_hi), (4.0, 0.0, 4.0, 4.0));
    }

    #[test]
    fn empty_and_unreached() {
        let s = Stat::from_samples(&[]);
        assert_eq!((s.n, s.reached, s.mean, s.std), (0, 0, 0.0, 0.0));
        let s = Stat::from_optional([None, None, None]);
        assert_eq!((s.n, s.reached), (3, 0));
        assert!(!s.all_reached());
    }

    #[test]
    fn partially_reached() {
        let s = Stat::from_optional([Some(2.0), None, Some(4.0), None, Some(6.0)]);
        assert_eq!((s.n, s.reached), (5, 3));
        assert!(close(s.mean, 4.0));
        assert!(close(s.std, 2.0));
        assert!(close(s.half_ci(), 4.3027 * 2.0 / 3f64.sqrt()));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let s = Stat::from_samples(&[1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert_eq!((s.n, s.reached), (4, 2));
        assert!(close(s.mean, 2.0));
        assert!(s.ci95_lo.is_finite() && s.ci95_hi.is_finite());
    }

    #[test]
    fn t_table() {
        assert_eq!(t_quantile_975(0), 0.0);
        assert_eq!(t_quantile_975(1), 12.7062);
        assert_eq!(t_quantile_975(4), 2.7764);
        assert_eq!(t_quantile_975(30), 2.0423);
        assert_eq!(t_quantile_975(31), 1.96);
        assert_eq!(t_quantile_975(1000), 1.96);
        // Large n uses the normal quantile: 100 samples of 0 and 1 alternating.
        let v: Vec<f64> = (0..100).map(|i| f64::from(i % 2)).collect();
        let s = Stat::from_samples(&v);
        let std = (25.0f64 / 99.0).sqrt();
        assert!(close(s.std, std));
        assert!(close(s.half_ci(), 1.96 * std / 10.0));
    }
}
