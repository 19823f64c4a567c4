//! Batch norm's loops over one frame of a map (`[bins][channels]`), for training's forward and
//! backward passes ([`super::dense`]).
//!
//! They vectorise over the channels, but the crate is built for baseline x86-64 (SSE2), so each
//! is compiled a second time with AVX2 and AVX-512 and the widest copy the CPU has is picked at
//! run time (multiversion, as [`super::kernels`]). Lanes run across channels, never across
//! pixels, so every copy gives the same bits. `c` is the channel count: every per-channel slice
//! has that length.

use multiversion::multiversion;

/// `sum[o] += (value - centre[o])^power` over the frame's pixels (`power` 1 or 2), in f64.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(super) fn add_centred_powers(sum: &mut [f64], frame: &[f32], centre: &[f64], power: i32) {
    let c = sum.len();
    let centre = &centre[..c];
    for pixel in frame.chunks_exact(c) {
        let pixel = &pixel[..c];
        if power == 1 {
            for o in 0..c {
                sum[o] += pixel[o] as f64 - centre[o];
            }
        } else {
            for o in 0..c {
                let d = pixel[o] as f64 - centre[o];
                sum[o] += d * d;
            }
        }
    }
}

/// `y = relu((z - mean) * inv_std * gamma + beta)` for the frame's pixels.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(super) fn normalise_relu(y: &mut [f32], z: &[f32], mean: &[f32], inv_std: &[f32], gamma: &[f32], beta: &[f32]) {
    let c = mean.len();
    let (inv_std, gamma, beta) = (&inv_std[..c], &gamma[..c], &beta[..c]);
    for (yp, zp) in y.chunks_exact_mut(c).zip(z.chunks_exact(c)) {
        let (yp, zp) = (&mut yp[..c], &zp[..c]);
        for o in 0..c {
            yp[o] = ((zp[o] - mean[o]) * inv_std[o] * gamma[o] + beta[o]).max(0.0);
        }
    }
}

/// The backward pass's sums over the frame, in f64: `sum[o] += d_a` and `sum_x[o] += d_a *
/// x_hat`, where `d_a` is `d_y` where ReLU passed it (`y > 0`) and `x_hat = (z - mean) * inv_std`.
#[allow(clippy::too_many_arguments)] // one frame of three maps and the statistics, nothing to group
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(super) fn add_backward_sums(
    sum: &mut [f64],
    sum_x: &mut [f64],
    z: &[f32],
    y: &[f32],
    d_y: &[f32],
    mean: &[f32],
    inv_std: &[f32],
) {
    let c = mean.len();
    let (sum, sum_x, inv_std) = (&mut sum[..c], &mut sum_x[..c], &inv_std[..c]);
    for ((zp, yp), dp) in z.chunks_exact(c).zip(y.chunks_exact(c)).zip(d_y.chunks_exact(c)) {
        let (zp, yp, dp) = (&zp[..c], &yp[..c], &dp[..c]);
        for o in 0..c {
            let d_a = if yp[o] > 0.0 { dp[o] } else { 0.0 };
            sum[o] += d_a as f64;
            sum_x[o] += (d_a * ((zp[o] - mean[o]) * inv_std[o])) as f64;
        }
    }
}

/// The gradient with respect to the pre-norm map, written over `z`:
/// `scale * (d_a - mean(d_a) - x_hat * mean(d_a * x_hat))` with `scale = gamma * inv_std`.
#[allow(clippy::too_many_arguments)] // one frame of three maps and the statistics, nothing to group
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(super) fn backward_in_place(
    z: &mut [f32],
    y: &[f32],
    d_y: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    scale: &[f32],
    mean_d: &[f32],
    mean_dx: &[f32],
) {
    let c = mean.len();
    let (inv_std, scale, mean_d, mean_dx) = (&inv_std[..c], &scale[..c], &mean_d[..c], &mean_dx[..c]);
    for ((zp, yp), dp) in z.chunks_exact_mut(c).zip(y.chunks_exact(c)).zip(d_y.chunks_exact(c)) {
        let (zp, yp, dp) = (&mut zp[..c], &yp[..c], &dp[..c]);
        for o in 0..c {
            let d_a = if yp[o] > 0.0 { dp[o] } else { 0.0 };
            let x_hat = (zp[o] - mean[o]) * inv_std[o];
            zp[o] = scale[o] * (d_a - mean_d[o] - x_hat * mean_dx[o]);
        }
    }
}
