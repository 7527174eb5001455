//! The latency and loss models match their analytic moments and rates, within sampling
//! error (fixed seeds; tolerances of 5 standard errors).

use icsim_protocol::time::Duration;
use icsim_sim::net::{LatencyModel, LossModel, LossState};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const DRAWS: usize = 100_000;
const Z: f64 = 5.0;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

/// Draws `DRAWS` samples (in ms) and checks the mean and standard deviation against the
/// analytic values. Standard errors: `sd / sqrt(n)` for the mean; for the standard
/// deviation, `sqrt((m4 - s^4) / n) / (2 s)` (delta method, `m4` the empirical fourth
/// central moment, so heavy tails widen the tolerance as they should).
fn check_moments(name: &str, m: LatencyModel, seed: u64, mean: f64, sd: f64) {
    let mut r = rng(seed);
    let xs: Vec<f64> = (0..DRAWS)
        .map(|_| m.sample(&mut r).as_micros() as f64 / 1_000.0)
        .collect();
    let n = DRAWS as f64;
    let m1 = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m1).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m1).powi(4)).sum::<f64>() / n;
    let s = var.sqrt();
    let se_mean = sd / n.sqrt();
    let se_sd = ((m4 - var * var) / n).sqrt() / (2.0 * s);
    eprintln!(
        "{name}: mean {m1:.4} ms (analytic {mean:.4}, {:+.2} se), sd {s:.4} ms \
         (analytic {sd:.4}, {:+.2} se)",
        (m1 - mean) / se_mean,
        (s - sd) / se_sd
    );
    assert!(
        (m1 - mean).abs() <= Z * se_mean,
        "{name}: mean {m1} vs {mean}"
    );
    assert!((s - sd).abs() <= Z * se_sd, "{name}: sd {s} vs {sd}");
}

#[test]
fn fixed_latency_is_fixed() {
    let mut r = rng(10);
    let m = LatencyModel::Fixed(ms(7));
    assert!((0..1_000).all(|_| m.sample(&mut r) == ms(7)));
}

#[test]
fn uniform_latency_moments() {
    let m = LatencyModel::Uniform {
        min: ms(10),
        max: ms(30),
    };
    check_moments("uniform [10, 30]", m, 11, 20.0, 20.0 / 12f64.sqrt());
    // Every sample within the bounds, also with the bounds given the wrong way round.
    let mut r = rng(12);
    let swapped = LatencyModel::Uniform {
        min: ms(30),
        max: ms(10),
    };
    assert!((0..10_000).all(|_| (ms(10)..=ms(30)).contains(&swapped.sample(&mut r))));
}

#[test]
fn normal_latency_moments() {
    // Truncation at zero is 4 standard deviations away: it shifts the mean by 0.7 us.
    let m = LatencyModel::Normal {
        mean: ms(20),
        std: ms(5),
    };
    check_moments("normal (20, 5)", m, 13, 20.0, 5.0);

    // Mean 0: the half-normal, mean s sqrt(2/pi), variance s^2 (1 - 2/pi).
    let m = LatencyModel::Normal {
        mean: ms(0),
        std: ms(5),
    };
    let pi = std::f64::consts::PI;
    check_moments(
        "normal (0, 5) truncated",
        m,
        14,
        5.0 * (2.0 / pi).sqrt(),
        5.0 * (1.0 - 2.0 / pi).sqrt(),
    );

    // Mean = one standard deviation: a = -1, lambda = phi(1) / Phi(1).
    let phi_1 = (-0.5f64).exp() / (2.0 * pi).sqrt();
    let cdf_1 = 0.841_344_746_068_542_9; // Phi(1), from tables.
    let lambda = phi_1 / cdf_1;
    let m = LatencyModel::Normal {
        mean: ms(5),
        std: ms(5),
    };
    check_moments(
        "normal (5, 5) truncated",
        m,
        15,
        5.0 + 5.0 * lambda,
        5.0 * (1.0 - lambda - lambda * lambda).sqrt(),
    );
}

#[test]
fn log_normal_latency_moments() {
    let (median, sigma) = (50.0f64, 0.5f64);
    let m = LatencyModel::LogNormal {
        median: ms(50),
        sigma,
    };
    let s2 = sigma * sigma;
    check_moments(
        "log-normal (median 50, sigma 0.5)",
        m,
        16,
        median * (s2 / 2.0).exp(),
        median * (s2.exp() * (s2.exp() - 1.0)).sqrt(),
    );
    // The median is the median.
    let mut r = rng(17);
    let below = (0..DRAWS).filter(|_| m.sample(&mut r) < ms(50)).count() as f64;
    let se = (0.25 / DRAWS as f64).sqrt();
    assert!((below / DRAWS as f64 - 0.5).abs() <= Z * se);
}

#[test]
fn the_same_seed_gives_the_same_latencies() {
    let m = LatencyModel::LogNormal {
        median: ms(50),
        sigma: 1.0,
    };
    let draw = |seed| -> Vec<Duration> {
        let mut r = rng(seed);
        (0..1_000).map(|_| m.sample(&mut r)).collect()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
}

fn losses(model: LossModel, seed: u64, n: usize) -> Vec<bool> {
    let mut r = rng(seed);
    let mut s = LossState::new(model);
    (0..n).map(|_| s.lost(&mut r)).collect()
}

fn rate(xs: &[bool]) -> f64 {
    xs.iter().filter(|&&x| x).count() as f64 / xs.len() as f64
}

/// Mean length of the runs of consecutive losses, and the number of runs.
fn bursts(xs: &[bool]) -> (f64, usize) {
    let (mut runs, mut lost, mut prev) = (0usize, 0usize, false);
    for &x in xs {
        runs += usize::from(x && !prev);
        lost += usize::from(x);
        prev = x;
    }
    (lost as f64 / runs.max(1) as f64, runs)
}

#[test]
fn bernoulli_loss_rate() {
    let p = 0.05;
    let xs = losses(LossModel::Bernoulli { p }, 20, DRAWS);
    let se = (p * (1.0 - p) / DRAWS as f64).sqrt();
    let r = rate(&xs);
    eprintln!(
        "Bernoulli 0.05: rate {r:.5} ({:+.2} se), mean burst {:.3}",
        (r - p) / se,
        bursts(&xs).0
    );
    assert!((r - p).abs() <= Z * se);
}

/// Standard error of the loss rate of a Gilbert-Elliott chain over `n` datagrams. The
/// indicators are correlated: with `lambda = 1 - g - b`, `pi` the share of Bad and `r` the
/// rate, `Cov(L_0, L_k) = (loss_bad - loss_good)^2 pi (1 - pi) lambda^k`, so the variance
/// of the mean is `[r (1 - r) + 2 (loss_bad - loss_good)^2 pi (1 - pi) lambda /
/// (1 - lambda)] / n`.
fn ge_se(g: f64, b: f64, lg: f64, lb: f64, n: usize) -> f64 {
    let pi = g / (g + b);
    let r = (1.0 - pi) * lg + pi * lb;
    let lambda = 1.0 - g - b;
    let var = r * (1.0 - r) + 2.0 * (lb - lg).powi(2) * pi * (1.0 - pi) * lambda / (1.0 - lambda);
    (var / n as f64).sqrt()
}

#[test]
fn gilbert_elliott_rate_and_bursts() {
    const N: usize = 1_000_000;
    // The Gilbert case: a burst is a stay in Bad, of mean length 1 / p_bad_to_good = 4.
    let (g, b) = (0.01, 0.25);
    let ge = LossModel::GilbertElliott {
        p_good_to_bad: g,
        p_bad_to_good: b,
        loss_good: 0.0,
        loss_bad: 1.0,
    };
    let target = ge.stationary_loss_rate();
    assert!((target - g / (g + b)).abs() < 1e-15);
    let xs = losses(ge, 21, N);
    let r = rate(&xs);
    let se = ge_se(g, b, 0.0, 1.0, N);
    let (burst, runs) = bursts(&xs);
    // Run lengths are geometric: mean 1/b, variance (1 - b) / b^2.
    let burst_se = ((1.0 - b) / (b * b) / runs as f64).sqrt();
    eprintln!(
        "Gilbert (g 0.01, b 0.25): rate {r:.5} vs {target:.5} ({:+.2} se), \
         mean burst {burst:.3} vs 4 ({:+.2} se, {runs} bursts)",
        (r - target) / se,
        (burst - 1.0 / b) / burst_se
    );
    assert!((r - target).abs() <= Z * se);
    assert!((burst - 1.0 / b).abs() <= Z * burst_se);

    // Bernoulli at the same mean loses in runs of mean 1 / (1 - p), about 1.04.
    let bern = losses(LossModel::Bernoulli { p: target }, 22, N);
    let (bern_burst, _) = bursts(&bern);
    eprintln!("Bernoulli at the same rate: mean burst {bern_burst:.3}");
    assert!((bern_burst - 1.0 / (1.0 - target)).abs() < 0.01);
    assert!(burst > 3.0 * bern_burst);
}

#[test]
fn gilbert_elliott_with_loss_in_both_states() {
    const N: usize = 1_000_000;
    let (g, b, lg, lb) = (0.02, 0.2, 0.01, 0.6);
    let ge = LossModel::GilbertElliott {
        p_good_to_bad: g,
        p_bad_to_good: b,
        loss_good: lg,
        loss_bad: lb,
    };
    let target = ge.stationary_loss_rate();
    let xs = losses(ge, 23, N);
    let r = rate(&xs);
    let se = ge_se(g, b, lg, lb, N);
    eprintln!(
        "Gilbert-Elliott (0.02, 0.2, 0.01, 0.6): rate {r:.5} vs {target:.5} ({:+.2} se), \
         mean burst {:.3}",
        (r - target) / se,
        bursts(&xs).0
    );
    assert!((r - target).abs() <= Z * se);
    let bern = losses(LossModel::Bernoulli { p: target }, 24, N);
    assert!(bursts(&xs).0 > bursts(&bern).0 + 0.1);
}
