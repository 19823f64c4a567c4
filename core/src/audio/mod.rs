//! Audio in and out: a planar buffer type, streaming decoding with symphonia and WAV / FLAC
//! writing with hound / flacenc.

pub mod decode;
pub mod encode;
mod flac;
mod flac_blocks;
mod mp4_tables;

pub use decode::{AudioReader, DecodeError, SUPPORTED_EXTENSIONS, Truncation, read_audio, read_audio_bytes};
pub use encode::{BitDepth, EncodeError, StemFormat, StemWriter, wav_bytes};

/// Planar audio: `channels[c][i]`, every channel the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioBuffer {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
}

impl AudioBuffer {
    pub fn new(sample_rate: u32, channels: Vec<Vec<f32>>) -> Self {
        debug_assert!(channels.windows(2).all(|w| w[0].len() == w[1].len()));
        Self { sample_rate, channels }
    }
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }
    pub fn n_frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
    pub fn duration_seconds(&self) -> f64 {
        self.n_frames() as f64 / self.sample_rate as f64
    }
    /// The average of all channels (the model hears mono).
    pub fn to_mono(&self) -> Vec<f32> {
        downmix(&self.channels.iter().map(Vec::as_slice).collect::<Vec<_>>())
    }
}

/// Average of the given channels.
pub fn downmix(channels: &[&[f32]]) -> Vec<f32> {
    let n = channels.first().map_or(0, |c| c.len());
    let scale = 1.0 / channels.len().max(1) as f32;
    (0..n).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale).collect()
}

/// Replaces NaN and infinite samples by silence, returning how many there were. Decoders of
/// broken files and float WAVs can carry them, and one NaN would poison the whole STFT.
pub fn sanitize(samples: &mut [f32]) -> usize {
    let mut count = 0;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_and_sanitize_counts() {
        assert_eq!(downmix(&[&[1.0, 0.0], &[0.0, 1.0]]), vec![0.5, 0.5]);
        let mut x = [1.0, f32::NAN, f32::INFINITY, -2.0];
        assert_eq!(sanitize(&mut x), 2);
        assert_eq!(x, [1.0, 0.0, 0.0, -2.0]);
    }
}
