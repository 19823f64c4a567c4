//! Small numeric loops written so that the compiler vectorises them.
//!
//! A single running floating-point sum cannot be reordered, so it advances one addition per
//! addition latency; four independent partial sums let the compiler use vector registers.
//!
//! The crate is built for the baseline x86-64 instruction set (128-bit vectors). The hot loops
//! of the evaluation carry `#[multiversion(targets("x86_64+avx2"))]`, which compiles each a
//! second time with AVX2 (256-bit vectors) and picks that copy at run time on CPUs that have it.
//! Both copies do the same operations in the same order (no fused multiply-adds), so their
//! results are bitwise identical.

use multiversion::multiversion;

/// `sum a[i] * b[i]`.
#[multiversion(targets("x86_64+avx2"))]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0; 4];
    for (x, y) in a4.zip(b4) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `(sum a[i]^2, sum (b[i] - a[i])^2)` in one pass; the first equals `dot(a, a)` exactly.
#[multiversion(targets("x86_64+avx2"))]
pub(crate) fn energy_and_squared_distance(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail_energy: f64 = a4.remainder().iter().map(|x| x * x).sum();
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| (y - x) * (y - x)).sum();
    let (mut energy, mut distance) = ([0.0; 4], [0.0; 4]);
    for (x, y) in a4.zip(b4) {
        for i in 0..4 {
            energy[i] += x[i] * x[i];
            let d = y[i] - x[i];
            distance[i] += d * d;
        }
    }
    let energy = (energy[0] + energy[1]) + (energy[2] + energy[3]) + tail_energy;
    (energy, (distance[0] + distance[1]) + (distance[2] + distance[3]) + tail)
}

/// `y += alpha * x`.
#[multiversion(targets("x86_64+avx2"))]
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_plain_loops() {
        let a: Vec<f64> = (0..11).map(|i| i as f64 * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..11).map(|i| (i * i) as f64 * 0.25).collect();
        let plain_dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let plain_distance: f64 = a.iter().zip(&b).map(|(x, y)| (y - x) * (y - x)).sum();
        assert!((dot(&a, &b) - plain_dot).abs() < 1e-12);
        let (energy, distance) = energy_and_squared_distance(&a, &b);
        assert_eq!(energy, dot(&a, &a));
        assert!((distance - plain_distance).abs() < 1e-12);
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        assert!(y.iter().zip(a.iter().zip(&b)).all(|(y, (a, b))| *y == b + 2.0 * a));
    }
}
