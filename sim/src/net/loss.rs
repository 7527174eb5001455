//! Packet loss: independent (Bernoulli) or bursty (Gilbert-Elliott).

use rand_core::Rng;

use super::chance;
use crate::scenario::model;

/// A packet loss model.
///
/// Probabilities are used as given: a value at or below 0, or NaN, acts as 0, and a value
/// at or above 1 acts as 1 (see [`LossModel::clamped`]). Each decision draws a uniform
/// `U` in (0, 1) and the event happens when `U < p`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum LossModel {
    /// Nothing is lost. Draws nothing from the stream.
    #[default]
    None,
    /// Each datagram is lost independently with probability `p`. One draw per datagram.
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// Bursty loss: a two-state Markov chain, Good and Bad, advanced once per datagram.
    ///
    /// Convention: for each datagram the chain first makes its transition (Good to Bad with
    /// probability `p_good_to_bad`, Bad to Good with `p_bad_to_good`), then the datagram is
    /// lost with the loss probability of the *new* state (`loss_good` or `loss_bad`). The
    /// chain starts in Good. Two draws per datagram.
    ///
    /// With `loss_good = 0` and `loss_bad = 1` (the Gilbert model) a loss burst is a stay
    /// in Bad, whose length is geometric with mean `1 / p_bad_to_good`.
    GilbertElliott {
        /// Probability of moving from Good to Bad, per datagram.
        p_good_to_bad: f64,
        /// Probability of moving from Bad to Good, per datagram.
        p_bad_to_good: f64,
        /// Loss probability in Good.
        loss_good: f64,
        /// Loss probability in Bad.
        loss_bad: f64,
    },
}

impl LossModel {
    /// The same model with every probability clamped to [0, 1] (NaN becomes 0). Drawing
    /// from it behaves exactly as drawing from `self`.
    pub fn clamped(self) -> Self {
        match self {
            LossModel::None => LossModel::None,
            LossModel::Bernoulli { p } => LossModel::Bernoulli { p: clamp_prob(p) },
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => LossModel::GilbertElliott {
                p_good_to_bad: clamp_prob(p_good_to_bad),
                p_bad_to_good: clamp_prob(p_bad_to_good),
                loss_good: clamp_prob(loss_good),
                loss_bad: clamp_prob(loss_bad),
            },
        }
    }

    /// The long-run fraction of datagrams lost.
    ///
    /// Bernoulli: `p`. Gilbert-Elliott: with `g = p_good_to_bad` and `b = p_bad_to_good`,
    /// the chain spends `pi_bad = g / (g + b)` of the datagrams in Bad, so the rate is
    /// `(1 - pi_bad) loss_good + pi_bad loss_bad`. When `g = b = 0` the chain never leaves
    /// Good and the rate is `loss_good`. Probabilities are clamped first.
    pub fn stationary_loss_rate(&self) -> f64 {
        match self.clamped() {
            LossModel::None => 0.0,
            LossModel::Bernoulli { p } => p,
            LossModel::GilbertElliott {
                p_good_to_bad: g,
                p_bad_to_good: b,
                loss_good,
                loss_bad,
            } => {
                if g + b == 0.0 {
                    loss_good
                } else {
                    let pi_bad = g / (g + b);
                    (1.0 - pi_bad) * loss_good + pi_bad * loss_bad
                }
            }
        }
    }
}

impl From<&model::Loss> for LossModel {
    /// Probabilities are clamped to [0, 1] (NaN becomes 0).
    fn from(loss: &model::Loss) -> Self {
        let m = match *loss {
            model::Loss::None => LossModel::None,
            model::Loss::Bernoulli { p } => LossModel::Bernoulli { p },
            model::Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            },
        };
        m.clamped()
    }
}

/// The loss process of one link direction: its model and, for Gilbert-Elliott, the
/// current state of the chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossState {
    model: LossModel,
    bad: bool,
}

impl LossState {
    /// A fresh process (a Gilbert-Elliott chain starts in Good).
    pub fn new(model: LossModel) -> Self {
        LossState {
            model: model.clamped(),
            bad: false,
        }
    }

    /// A process of `model` (taken as clamped) in the given chain state.
    pub(super) fn with_state(model: LossModel, bad: bool) -> Self {
        LossState { model, bad }
    }

    /// Decides whether the next datagram is lost, advancing the chain.
    pub fn lost<R: Rng + ?Sized>(&mut self, rng: &mut R) -> bool {
        self.model.draw(&mut self.bad, rng)
    }

    /// Whether a Gilbert-Elliott chain is in its Bad state (always `false` otherwise).
    pub fn is_bad(&self) -> bool {
        self.bad
    }

    /// The model this process follows (with probabilities clamped).
    pub fn model(&self) -> &LossModel {
        &self.model
    }
}

impl LossModel {
    /// Decides whether the next datagram is lost, advancing a Gilbert-Elliott chain whose
    /// state is `bad` (the model is taken as clamped).
    pub(super) fn draw<R: Rng + ?Sized>(&self, bad: &mut bool, rng: &mut R) -> bool {
        match *self {
            LossModel::None => false,
            LossModel::Bernoulli { p } => chance(rng, p),
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let leave = if *bad { p_bad_to_good } else { p_good_to_bad };
                if chance(rng, leave) {
                    *bad = !*bad;
                }
                chance(rng, if *bad { loss_bad } else { loss_good })
            }
        }
    }
}

fn clamp_prob(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn out_of_range_probabilities_act_as_the_nearest_bound() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut always = LossState::new(LossModel::Bernoulli { p: 3.0 });
        let mut never = LossState::new(LossModel::Bernoulli { p: f64::NAN });
        for _ in 0..1000 {
            assert!(always.lost(&mut rng));
            assert!(!never.lost(&mut rng));
        }
        let m = LossModel::from(&model::Loss::GilbertElliott {
            p_good_to_bad: -1.0,
            p_bad_to_good: 2.0,
            loss_good: f64::NAN,
            loss_bad: f64::INFINITY,
        });
        assert_eq!(
            m,
            LossModel::GilbertElliott {
                p_good_to_bad: 0.0,
                p_bad_to_good: 1.0,
                loss_good: 0.0,
                loss_bad: 1.0
            }
        );
        assert_eq!(m.stationary_loss_rate(), 0.0);
    }

    #[test]
    fn stationary_rates() {
        assert_eq!(LossModel::None.stationary_loss_rate(), 0.0);
        assert_eq!(
            LossModel::Bernoulli { p: 0.25 }.stationary_loss_rate(),
            0.25
        );
        let ge = LossModel::GilbertElliott {
            p_good_to_bad: 0.01,
            p_bad_to_good: 0.09,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        assert!((ge.stationary_loss_rate() - 0.1).abs() < 1e-12);
        let stuck = LossModel::GilbertElliott {
            p_good_to_bad: 0.0,
            p_bad_to_good: 0.0,
            loss_good: 0.02,
            loss_bad: 1.0,
        };
        assert_eq!(stuck.stationary_loss_rate(), 0.02);
    }

    /// Transition first, then loss in the new state: from Good with `p_good_to_bad = 1`
    /// and `loss_bad = 1`, the very first datagram is lost.
    #[test]
    fn transition_comes_before_the_loss_draw() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut s = LossState::new(LossModel::GilbertElliott {
            p_good_to_bad: 1.0,
            p_bad_to_good: 1.0,
            loss_good: 0.0,
            loss_bad: 1.0,
        });
        assert!(!s.is_bad());
        let pattern: Vec<bool> = (0..6).map(|_| s.lost(&mut rng)).collect();
        assert_eq!(pattern, [true, false, true, false, true, false]);
    }
}
