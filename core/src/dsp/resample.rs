//! Sample-rate conversion with rubato's FFT resampler (any integer rate to any other).

use rubato::{FftFixedIn, Resampler};

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
