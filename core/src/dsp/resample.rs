//! Sample-rate conversion with rubato: its FFT resampler between integer rates ([`resample`]),
//! its sinc resampler to an exact length at any ratio ([`resample_to_len`], the pitch shifter's
//! last step).

use rubato::{
    FftFixedIn, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
    calculate_cutoff,
};

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("unsupported sample rate {0} Hz (supported: 1 Hz to 768 kHz)")]
    Rate(u32),
    #[error("resampler failed: {0}")]
    Rubato(String),
}

/// Resamples a mono signal from `from` Hz to `to` Hz. The output has exactly
/// `round(len * to / from)` samples and is aligned with the input (rubato's delay removed).
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    for rate in [from, to] {
        if rate == 0 || rate > 768_000 {
            return Err(ResampleError::Rate(rate));
        }
    }
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let expected = ((input.len() as u64 * to as u64 + from as u64 / 2) / from as u64) as usize;
    // rubato's FFT resampler reports its delay as half its output FFT size, rounded down: with
    // an odd size the output would sit half a sample late. An input chunk of an even number
    // of the ratio's base periods makes that size even, so the delay is exact.
    let gcd = gcd(from, to) as usize;
    let period_in = from as usize / gcd;
    let chunk = 2 * period_in * (1024 / (2 * period_in)).max(1);
    let mut resampler = FftFixedIn::<f32>::new(from as usize, to as usize, chunk, 1, 1)
        .map_err(|e| ResampleError::Rubato(e.to_string()))?;
    let delay = resampler.output_delay();
    let mut output = Vec::with_capacity(expected + delay + 2 * chunk);
    let mut out_buf = resampler.output_buffer_allocate(true);
    let mut pos = 0;
    // Feed whole chunks, then the tail, then silence until the delayed signal has come out.
    while output.len() < expected + delay {
        let need = resampler.input_frames_next();
        let end = (pos + need).min(input.len());
        let block: &[f32] = if pos < input.len() { &input[pos..end] } else { &[] };
        let (_, written) = if block.len() == need {
            resampler.process_into_buffer(&[block], &mut out_buf, None)
        } else if block.is_empty() {
            resampler.process_partial_into_buffer(None::<&[&[f32]]>, &mut out_buf, None)
        } else {
            resampler.process_partial_into_buffer(Some(&[block]), &mut out_buf, None)
        }
        .map_err(|e| ResampleError::Rubato(e.to_string()))?;
        output.extend_from_slice(&out_buf[0][..written]);
        pos = end;
    }
    output.drain(..delay);
    output.truncate(expected);
    Ok(output)
}

/// Sinc filter length of the resampler: with a Blackman-Harris window, 64 taps pass most of the
/// band (up to 7 kHz at 16 kHz) with sidelobes near -90 dB, the passband of 128 taps under the
/// squared window at half the cost.
pub const SINC_LEN: usize = 64;
const SINC_WINDOW: WindowFunction = WindowFunction::BlackmanHarris;

/// Resamples `signal` to exactly `out_len` samples with rubato's sinc resampler (any ratio,
/// band-limited to the lower of the two rates), aligned with the input (rubato's delay removed).
pub fn resample_to_len(signal: &[f32], out_len: usize) -> Vec<f32> {
    if signal.is_empty() || out_len == 0 {
        return vec![0.0; out_len];
    }
    if signal.len() == out_len {
        return signal.to_vec();
    }
    let ratio = out_len as f64 / signal.len() as f64;
    // One chunk holding the whole signal plus enough trailing zeros to flush the filter's delay.
    let mut padded = signal.to_vec();
    padded.resize(signal.len() + 2 * SINC_LEN + 16, 0.0);
    match sinc_resample(&padded, ratio) {
        Some((delay, out)) => {
            let mut y: Vec<f32> = out.into_iter().skip(delay).take(out_len).collect();
            y.resize(out_len, 0.0);
            y
        }
        // Only reachable with an absurd ratio; fall back to linear interpolation so the caller
        // still gets a signal of the promised length.
        None => linear_resample(signal, out_len),
    }
}

/// Runs `padded` through a sinc resampler as one chunk; returns rubato's delay and its output.
fn sinc_resample(padded: &[f32], ratio: f64) -> Option<(usize, Vec<f32>)> {
    let mut resampler = SincFixedIn::<f32>::new(ratio, 1.0, sinc_parameters(), padded.len(), 1).ok()?;
    let delay = resampler.output_delay();
    let mut out = resampler.process(&[padded], None).ok()?;
    Some((delay, out.swap_remove(0)))
}

fn sinc_parameters() -> SincInterpolationParameters {
    SincInterpolationParameters {
        sinc_len: SINC_LEN,
        f_cutoff: calculate_cutoff(SINC_LEN, SINC_WINDOW),
        oversampling_factor: 256,
        interpolation: SincInterpolationType::Linear,
        window: SINC_WINDOW,
    }
}

/// A mono sinc resampler from `from` to `to` Hz for a stream fed `chunk` samples at a time (the
/// live separator), with [`resample_to_len`]'s filter. Its `process_into_buffer` allocates
/// nothing; its delay (`output_delay()`, in output samples) is the caller's to remove.
pub fn streaming_resampler(from: u32, to: u32, chunk: usize) -> Result<SincFixedIn<f32>, ResampleError> {
    for rate in [from, to] {
        if rate == 0 || rate > 768_000 {
            return Err(ResampleError::Rate(rate));
        }
    }
    SincFixedIn::<f32>::new(to as f64 / from as f64, 1.0, sinc_parameters(), chunk, 1)
        .map_err(|e| ResampleError::Rubato(e.to_string()))
}

fn linear_resample(signal: &[f32], out_len: usize) -> Vec<f32> {
    let step = signal.len() as f64 / out_len as f64;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let i0 = (pos.floor() as usize).min(signal.len() - 1);
            let i1 = (i0 + 1).min(signal.len() - 1);
            let frac = (pos - i0 as f64) as f32;
            signal[i0] * (1.0 - frac) + signal[i1] * frac
        })
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_tone_survive_resampling() {
        for (from, to) in [(44100, 16000), (16000, 44100), (48000, 16000), (8000, 16000), (192000, 16000)] {
            let len = from as usize; // one second
            let f = 440.0f32;
            let x: Vec<f32> =
                (0..len).map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / from as f32).sin()).collect();
            let y = resample(&x, from, to).unwrap();
            assert_eq!(y.len(), to as usize, "{from}->{to}");
            // Away from the edges the output is the same sine at the new rate.
            let err = (to as usize / 10..to as usize * 9 / 10)
                .map(|i| (y[i] - (2.0 * std::f32::consts::PI * f * i as f32 / to as f32).sin()).abs())
                .fold(0.0, f32::max);
            assert!(err < 2e-3, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn an_impulse_stays_in_place() {
        for (from, to) in
            [(44100u32, 16000u32), (48000, 16000), (16000, 44100), (8000, 16000), (192000, 16000), (22050, 16000)]
        {
            let mut x = vec![0.0f32; from as usize];
            x[from as usize / 2] = 1.0;
            let y = resample(&x, from, to).unwrap();
            let (i, _) =
                y.iter().enumerate().fold((0, 0.0f32), |m, (i, v)| if v.abs() > m.1 { (i, v.abs()) } else { m });
            // Sub-sample peak position by parabolic interpolation.
            let (a, b, c) = (y[i - 1] as f64, y[i] as f64, y[i + 1] as f64);
            let peak = i as f64 + 0.5 * (a - c) / (a - 2.0 * b + c);
            assert!((peak - (to / 2) as f64).abs() < 0.05, "{from}->{to}: impulse moved to {peak}");
        }
    }

    #[test]
    fn rejects_zero_rate() {
        assert!(matches!(resample(&[0.0; 10], 0, 16000), Err(ResampleError::Rate(0))));
    }
}
