//! WAV writing with hound: streaming to a file (bounded memory for long songs) or into bytes
//! (the web app's downloads).

use super::AudioBuffer;
use std::fs::File;
use std::io::{BufWriter, Cursor, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BitDepth {
    Int16,
    #[default]
    Int24,
    Float32,
}

impl std::str::FromStr for BitDepth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "16" => Ok(Self::Int16),
            "24" => Ok(Self::Int24),
            "32f" | "32" => Ok(Self::Float32),
            other => Err(format!("unknown bit depth '{other}' (expected 16, 24 or 32f)")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: hound::Error },
}

fn spec(sample_rate: u32, channels: usize, depth: BitDepth) -> hound::WavSpec {
    let (bits_per_sample, sample_format) = match depth {
        BitDepth::Int16 => (16, hound::SampleFormat::Int),
        BitDepth::Int24 => (24, hound::SampleFormat::Int),
        BitDepth::Float32 => (32, hound::SampleFormat::Float),
    };
    hound::WavSpec { channels: channels as u16, sample_rate, bits_per_sample, sample_format }
}

/// Writes planar blocks to a WAV file as they are produced.
pub struct StemWriter<W: Write + Seek = BufWriter<File>> {
    path: PathBuf,
    writer: hound::WavWriter<W>,
    depth: BitDepth,
}

impl StemWriter {
    pub fn create(path: &Path, sample_rate: u32, channels: usize, depth: BitDepth) -> Result<Self, EncodeError> {
        let writer = hound::WavWriter::create(path, spec(sample_rate, channels, depth))
            .map_err(|source| EncodeError::Write { path: path.to_owned(), source })?;
        Ok(Self { path: path.to_owned(), writer, depth })
    }
}

impl<W: Write + Seek> StemWriter<W> {
    pub fn new(inner: W, name: &str, sample_rate: u32, channels: usize, depth: BitDepth) -> Result<Self, EncodeError> {
        let writer = hound::WavWriter::new(inner, spec(sample_rate, channels, depth))
            .map_err(|source| EncodeError::Write { path: name.into(), source })?;
        Ok(Self { path: name.into(), writer, depth })
    }

    /// Appends planar samples (clipped to [-1, 1] for the integer formats).
    pub fn write_planar(&mut self, channels: &[&[f32]]) -> Result<(), EncodeError> {
        let n = channels.first().map_or(0, |c| c.len());
        let map = |source| EncodeError::Write { path: self.path.clone(), source };
        for i in 0..n {
            for c in channels {
                let x = c[i];
                match self.depth {
                    BitDepth::Int16 => self.writer.write_sample(quantize(x, 32767.0) as i16),
                    BitDepth::Int24 => self.writer.write_sample(quantize(x, 8_388_607.0)),
                    BitDepth::Float32 => self.writer.write_sample(x),
                }
                .map_err(map)?;
            }
        }
        Ok(())
    }

    /// Writes the header's final sizes.
    pub fn finalize(self) -> Result<(), EncodeError> {
        let path = self.path;
        self.writer.finalize().map_err(|source| EncodeError::Write { path, source })
    }
}

fn quantize(x: f32, full_scale: f32) -> i32 {
    (x.clamp(-1.0, 1.0) * full_scale).round() as i32
}

/// A whole buffer as WAV bytes.
pub fn wav_bytes(buffer: &AudioBuffer, depth: BitDepth) -> Result<Vec<u8>, EncodeError> {
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut writer = StemWriter::new(&mut cursor, "memory", buffer.sample_rate, buffer.n_channels(), depth)?;
        writer.write_planar(&buffer.channels.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
        writer.finalize()?;
    }
    Ok(cursor.into_inner())
}
