//! Linear convolution of a song with a room's impulse response.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

/// Responses at most this long are convolved directly (cheaper than the transforms).
const DIRECT_MAX_TAPS: usize = 32;

/// Linear convolution of `signal` with `impulse_response`, truncated to `signal.len()` (the
/// tail past the end of the song is dropped). Long responses use FFT overlap-add (realfft, in
/// f64), so a 30 s song through a 400 ms room costs milliseconds, not seconds.
pub fn convolve(signal: &[f32], impulse_response: &[f32]) -> Vec<f32> {
    let (n, m) = (signal.len(), impulse_response.len());
    let mut out = vec![0.0f32; n];
    if n == 0 || m == 0 {
        return out;
    }
    if m <= DIRECT_MAX_TAPS {
        for (i, o) in out.iter_mut().enumerate() {
            *o = impulse_response.iter().take(i + 1).enumerate().map(|(k, &h)| h * signal[i - k]).sum();
        }
        return out;
    }
    let fft_len = (2 * m).next_power_of_two().max(4096);
    let hop = fft_len - m + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);
    let mut time = forward.make_input_vec();
    let mut response = forward.make_output_vec();
    let mut spectrum = forward.make_output_vec();
    for (t, &h) in time.iter_mut().zip(impulse_response) {
        *t = f64::from(h);
    }
    forward.process(&mut time, &mut response).expect("buffers come from the plan");
    // realfft's inverse is unscaled.
    let scale = 1.0 / fft_len as f64;
    let mut start = 0;
    while start < n {
        let end = (start + hop).min(n);
        time.fill(0.0);
        for (t, &s) in time.iter_mut().zip(&signal[start..end]) {
            *t = f64::from(s);
        }
        forward.process(&mut time, &mut spectrum).expect("buffers come from the plan");
        for (s, h) in spectrum.iter_mut().zip(&response) {
            *s *= *h * scale;
        }
        // The imaginary parts of DC and Nyquist are zero up to rounding; realfft insists.
        for k in [0, spectrum.len() - 1] {
            spectrum[k] = Complex::new(spectrum[k].re, 0.0);
        }
        inverse.process(&mut spectrum, &mut time).expect("buffers come from the plan");
        for (o, &y) in out[start..].iter_mut().zip(&time) {
            *o += y as f32;
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_convolution_matches_direct_convolution() {
        let signal: Vec<f32> = (0..10_000).map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5).collect();
        for taps in [7, 300] {
            let ir: Vec<f32> =
                (0..taps).map(|i| (-(i as f32) / 50.0).exp() * if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
            let fast = convolve(&signal, &ir);
            assert_eq!(fast.len(), signal.len());
            for i in (0..signal.len()).step_by(97) {
                let direct: f32 = (0..ir.len().min(i + 1)).map(|k| ir[k] * signal[i - k]).sum();
                assert!((fast[i] - direct).abs() < 1e-4, "{taps} taps, sample {i}: {} vs {direct}", fast[i]);
            }
        }
        assert!(convolve(&[], &[1.0]).is_empty());
        assert_eq!(convolve(&[1.0, 2.0], &[]), vec![0.0, 0.0]);
    }
}
