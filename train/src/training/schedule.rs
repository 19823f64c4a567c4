//! The paper's learning-rate schedule (Sec. 3.3): start at 1e-4 and halve every 100k
//! iterations until the rate is no greater than 1e-6, then keep it there.

use crate::config_file::InvalidConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    pub learning_rate: f64,
    /// Iterations between halvings.
    pub halve_every: u64,
    /// Halving stops once the rate is no greater than this.
    pub min_learning_rate: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self { learning_rate: 1e-4, halve_every: 100_000, min_learning_rate: 1e-6 }
    }
}

impl ScheduleConfig {
    /// The learning rate at `iteration` (0-based).
    pub fn learning_rate(&self, iteration: u64) -> f64 {
        let mut lr = self.learning_rate;
        for _ in 0..iteration / self.halve_every.max(1) {
            if lr <= self.min_learning_rate {
                break;
            }
            lr *= 0.5;
        }
        lr
    }

    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(InvalidConfig::new(
                "optimizer.learning_rate",
                format!("must be positive, got {}", self.learning_rate),
            ));
        }
        if self.halve_every == 0 {
            return Err(InvalidConfig::new("optimizer.halve_every", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_every_100k_until_at_most_1e_6() {
        let s = ScheduleConfig::default();
        assert_eq!(s.learning_rate(0), 1e-4);
        assert_eq!(s.learning_rate(99_999), 1e-4);
        assert_eq!(s.learning_rate(100_000), 5e-5);
        assert_eq!(s.learning_rate(250_000), 2.5e-5);
        // 1e-4 / 2^7 = 7.8125e-7 is the first rate <= 1e-6; it stays there.
        assert_eq!(s.learning_rate(700_000), 1e-4 / 128.0);
        assert_eq!(s.learning_rate(5_000_000), 1e-4 / 128.0);
        assert!(s.learning_rate(600_000) > 1e-6);
    }
}
