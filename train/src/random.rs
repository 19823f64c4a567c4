//! Random draws shared by augmentation and the synthetic corpus.

use rand::Rng;

/// Uniform draw from `[lo, hi]`; unlike `random_range` it never panics (equal or swapped
/// bounds just narrow the range), so pure functions stay total on odd parameters.
pub fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// [`uniform`] over a configured `(low, high)` range of `f32` settings.
pub fn uniform_in(rng: &mut impl Rng, (low, high): (f32, f32)) -> f32 {
    uniform(rng, f64::from(low), f64::from(high)) as f32
}

/// Log-uniform draw from `[lo, hi]` (both positive): equal odds per octave, the natural prior
/// for frequencies and Q factors.
pub fn log_uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    uniform(rng, lo.ln(), hi.ln()).exp()
}

/// `true` with probability `p` (clamped to [0, 1]); always consumes one draw so the random
/// stream's layout does not depend on `p`.
pub fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_stay_in_range_and_odd_bounds_do_not_panic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let x = uniform(&mut rng, -2.0, 5.0);
            assert!((-2.0..=5.0).contains(&x));
            let y = log_uniform(&mut rng, 100.0, 8000.0);
            assert!((100.0..=8000.0).contains(&y));
        }
        assert_eq!(uniform(&mut rng, 1.5, 1.5), 1.5);
        assert_eq!(uniform_in(&mut rng, (-3.0, -3.0)), -3.0);
        let swapped = uniform_in(&mut rng, (4.0, 2.0));
        assert!((2.0..=4.0).contains(&swapped));
        assert!(!chance(&mut rng, 0.0) && chance(&mut rng, 1.0));
        let hits = (0..4000).filter(|_| chance(&mut rng, 0.25)).count();
        assert!((850..1150).contains(&hits), "{hits}");
    }
}
