//! Stem writing, streamed to a file (bounded memory for long songs) or into bytes (the web
//! app's downloads): WAV with hound, FLAC with flacenc (`flac.rs`).
//!
//! A file is written under a `.partial` name and renamed to its own only once `finalize` has
//! written the header's final sizes and flushed: a full disk, a killed process or an error
//! never leaves a half-written stem under a finished name, and a writer dropped unfinished
//! deletes its partial file. (Errors name the finished name: that is the file the user asked for.)

use super::AudioBuffer;
use super::flac::FlacWriter;
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

/// Container of the written stems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StemFormat {
    #[default]
    Wav,
    /// Lossless and about half the size; integer samples only (16 or 24 bits).
    Flac,
}

impl StemFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Flac => "flac",
        }
    }
}

impl std::str::FromStr for StemFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "wav" => Ok(Self::Wav),
            "flac" => Ok(Self::Flac),
            other => Err(format!("unknown format '{other}' (expected wav or flac)")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{path}: cannot write: {error}")]
    Write { path: PathBuf, error: hound::Error },
    #[error("{path}: cannot write FLAC: {message}")]
    Flac { path: PathBuf, message: String },
    #[error("{path}: cannot create: {error}")]
    Create { path: PathBuf, error: std::io::Error },
    #[error("{path}: cannot rename the finished file into place: {error}")]
    Rename { path: PathBuf, error: std::io::Error },
    #[error("FLAC stores integer samples: use a bit depth of 16 or 24, not 32-bit float")]
    FlacFloat,
}

fn spec(sample_rate: u32, channels: usize, depth: BitDepth) -> hound::WavSpec {
    let (bits_per_sample, sample_format) = match depth {
        BitDepth::Int16 => (16, hound::SampleFormat::Int),
        BitDepth::Int24 => (24, hound::SampleFormat::Int),
        BitDepth::Float32 => (32, hound::SampleFormat::Float),
    };
    hound::WavSpec { channels: channels as u16, sample_rate, bits_per_sample, sample_format }
}

/// Writes planar blocks to a WAV or FLAC file as they are produced.
pub struct StemWriter<W: Write + Seek = BufWriter<File>> {
    path: PathBuf,
    encoder: Encoder<W>,
    depth: BitDepth,
    /// For files: the partial file, renamed to `path` by `finalize` (declared after the
    /// encoder, so the file is closed before an unfinished one is deleted).
    partial: Option<PartialFile>,
}

/// A file being written under a temporary name; deleted when dropped unless `commit`ted.
struct PartialFile {
    partial: PathBuf,
    done: PathBuf,
    committed: bool,
}

impl PartialFile {
    fn new(done: &Path) -> Self {
        let mut name = done.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        Self { partial: done.with_file_name(name), done: done.to_owned(), committed: false }
    }

    fn commit(mut self) -> Result<(), EncodeError> {
        std::fs::rename(&self.partial, &self.done)
            .map_err(|error| EncodeError::Rename { path: self.done.clone(), error })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

enum Encoder<W: Write + Seek> {
    Wav(hound::WavWriter<W>),
    Flac(FlacWriter<W>),
}

impl StemWriter {
    /// A WAV file.
    pub fn create(path: &Path, sample_rate: u32, channels: usize, depth: BitDepth) -> Result<Self, EncodeError> {
        Self::create_as(path, StemFormat::Wav, sample_rate, channels, depth)
    }

    pub fn create_as(
        path: &Path,
        format: StemFormat,
        sample_rate: u32,
        channels: usize,
        depth: BitDepth,
    ) -> Result<Self, EncodeError> {
        if format == StemFormat::Flac && depth == BitDepth::Float32 {
            return Err(EncodeError::FlacFloat);
        }
        let partial = PartialFile::new(path);
        let file =
            File::create(&partial.partial).map_err(|error| EncodeError::Create { path: path.to_owned(), error })?;
        let mut writer =
            StemWriter::new_as(BufWriter::new(file), &path.to_string_lossy(), format, sample_rate, channels, depth)?;
        writer.partial = Some(partial);
        Ok(writer)
    }
}

impl<W: Write + Seek> StemWriter<W> {
    /// A WAV stream.
    pub fn new(inner: W, name: &str, sample_rate: u32, channels: usize, depth: BitDepth) -> Result<Self, EncodeError> {
        Self::new_as(inner, name, StemFormat::Wav, sample_rate, channels, depth)
    }

    pub fn new_as(
        inner: W,
        name: &str,
        format: StemFormat,
        sample_rate: u32,
        channels: usize,
        depth: BitDepth,
    ) -> Result<Self, EncodeError> {
        let path = PathBuf::from(name);
        let encoder = match format {
            StemFormat::Wav => Encoder::Wav(
                hound::WavWriter::new(inner, spec(sample_rate, channels, depth))
                    .map_err(|error| EncodeError::Write { path: path.clone(), error })?,
            ),
            StemFormat::Flac => {
                let bits = match depth {
                    BitDepth::Int16 => 16,
                    BitDepth::Int24 => 24,
                    BitDepth::Float32 => return Err(EncodeError::FlacFloat),
                };
                Encoder::Flac(
                    FlacWriter::new(inner, sample_rate, channels, bits)
                        .map_err(|message| EncodeError::Flac { path: path.clone(), message })?,
                )
            }
        };
        Ok(Self { path, encoder, depth, partial: None })
    }

    /// Appends planar samples (clipped to [-1, 1] for the integer formats).
    pub fn write_planar(&mut self, channels: &[&[f32]]) -> Result<(), EncodeError> {
        let n = channels.first().map_or(0, |c| c.len());
        let path = &self.path;
        match &mut self.encoder {
            Encoder::Wav(writer) => {
                let map = |error| EncodeError::Write { path: path.clone(), error };
                for i in 0..n {
                    for c in channels {
                        let x = c[i];
                        match self.depth {
                            BitDepth::Int16 => writer.write_sample(quantize(x, 32767.0) as i16),
                            BitDepth::Int24 => writer.write_sample(quantize(x, 8_388_607.0)),
                            BitDepth::Float32 => writer.write_sample(x),
                        }
                        .map_err(map)?;
                    }
                }
            }
            Encoder::Flac(writer) => {
                let full_scale = if self.depth == BitDepth::Int16 { 32767.0 } else { 8_388_607.0 };
                for i in 0..n {
                    writer
                        .push(channels.iter().map(|c| quantize(c[i], full_scale)))
                        .map_err(|message| EncodeError::Flac { path: path.clone(), message })?;
                }
            }
        }
        Ok(())
    }

    /// Writes the header's final sizes and flushes; a file then gets its own name.
    pub fn finalize(self) -> Result<(), EncodeError> {
        let Self { path, encoder, partial, .. } = self;
        match encoder {
            Encoder::Wav(writer) => writer.finalize().map_err(|error| EncodeError::Write { path, error })?,
            Encoder::Flac(writer) => writer.finalize().map_err(|message| EncodeError::Flac { path, message })?,
        }
        partial.map_or(Ok(()), PartialFile::commit)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::read_audio_bytes;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    fn flac_bytes(buffer: &AudioBuffer, depth: BitDepth, blocks: usize) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = StemWriter::new_as(
            &mut cursor,
            "test.flac",
            StemFormat::Flac,
            buffer.sample_rate,
            buffer.n_channels(),
            depth,
        )
        .unwrap();
        // Written in uneven blocks, as the separator's stream produces them.
        let n = buffer.n_frames();
        let step = n.div_ceil(blocks);
        for start in (0..n).step_by(step) {
            let end = (start + step).min(n);
            writer.write_planar(&buffer.channels.iter().map(|c| &c[start..end]).collect::<Vec<_>>()).unwrap();
        }
        writer.finalize().unwrap();
        cursor.into_inner()
    }

    /// Decodes with symphonia's MD5 verification on: the header's length and checksum (written
    /// last, in place) must describe the samples.
    fn verified_length(bytes: Vec<u8>) -> (Option<u64>, Option<bool>) {
        let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        let mut hint = Hint::new();
        hint.with_extension("flac");
        let probed = symphonia::default::get_probe()
            .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
            .unwrap();
        let mut format = probed.format;
        let track = format.default_track().unwrap().clone();
        let mut decoder =
            symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions { verify: true }).unwrap();
        while let Ok(packet) = format.next_packet() {
            decoder.decode(&packet).unwrap();
        }
        (track.codec_params.n_frames, decoder.finalize().verify_ok)
    }

    fn song(rate: u32, frames: usize, channels: usize) -> AudioBuffer {
        let signal = |c: usize, i: usize| {
            let t = i as f32 / rate as f32;
            0.5 * (2.0 * std::f32::consts::PI * (220.0 + 110.0 * c as f32) * t).sin()
                + 0.1 * ((i * 7919 + c * 104_729) % 1000) as f32 / 1000.0
                - 0.05
        };
        AudioBuffer::new(rate, (0..channels).map(|c| (0..frames).map(|i| signal(c, i)).collect()).collect())
    }

    #[test]
    fn flac_round_trips_every_sample_and_its_header() {
        // Lengths that are not a whole number of 4096-sample frames, mono to three channels.
        for (depth, bits, rate, frames, channels) in [
            (BitDepth::Int16, 16, 44_100, 10_001, 2),
            (BitDepth::Int24, 24, 48_000, 9_000, 1),
            (BitDepth::Int24, 24, 16_000, 5_000, 3),
        ] {
            let input = song(rate, frames, channels);
            let bytes = flac_bytes(&input, depth, 7);
            assert_eq!(&bytes[..4], b"fLaC");
            let decoded = read_audio_bytes(bytes.clone(), "test.flac").unwrap();
            assert_eq!(decoded.sample_rate, rate);
            assert_eq!(decoded.n_channels(), channels);
            assert_eq!(decoded.n_frames(), frames);
            let full_scale = if bits == 16 { 32767.0 } else { 8_388_607.0 };
            let decoder_scale = (1u32 << (bits - 1)) as f32;
            for c in 0..channels {
                for i in 0..frames {
                    let stored = (decoded.channels[c][i] * decoder_scale).round() as i32;
                    assert_eq!(
                        stored,
                        quantize(input.channels[c][i], full_scale),
                        "{bits} bits, channel {c}, sample {i}"
                    );
                }
            }
            assert_eq!(verified_length(bytes), (Some(frames as u64), Some(true)), "{bits} bits");
        }
    }

    #[test]
    fn flac_is_smaller_than_wav() {
        let input = song(44_100, 44_100, 2);
        let flac = flac_bytes(&input, BitDepth::Int16, 1);
        let wav = wav_bytes(&input, BitDepth::Int16).unwrap();
        assert!(flac.len() < wav.len() * 9 / 10, "FLAC {} bytes, WAV {} bytes", flac.len(), wav.len());
    }

    #[test]
    fn flac_of_loud_noise_is_no_larger_than_wav() {
        // Gaussian-like noise at an accompaniment's level (RMS 0.14): flacenc alone writes it at
        // 5.5 times the raw size (no 5-bit Rice parameters, no verbatim fall-back; see flac.rs).
        let mut state = 1u32;
        let mut uniform = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        let channels = (0..2)
            .map(|_| (0..20_000).map(|_| 0.12 * (uniform() + uniform() + uniform() + uniform())).collect())
            .collect();
        let input = AudioBuffer::new(44_100, channels);
        let flac = flac_bytes(&input, BitDepth::Int24, 3);
        let wav = wav_bytes(&input, BitDepth::Int24).unwrap();
        assert!(flac.len() <= wav.len() + 1000, "FLAC {} bytes, WAV {} bytes", flac.len(), wav.len());
        let decoded = read_audio_bytes(flac.clone(), "noise.flac").unwrap();
        assert_eq!(decoded.n_frames(), 20_000);
        assert_eq!(verified_length(flac), (Some(20_000), Some(true)));
    }

    #[test]
    fn a_file_gets_its_name_only_when_finished_and_an_unfinished_one_is_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let input = song(16_000, 3000, 2);
        let blocks: Vec<&[f32]> = input.channels.iter().map(Vec::as_slice).collect();
        for format in [StemFormat::Wav, StemFormat::Flac] {
            let done = dir.join(format!("vocals.{}", format.extension()));
            let partial = dir.join(format!("vocals.{}.partial", format.extension()));
            let mut writer = StemWriter::create_as(&done, format, 16_000, 2, BitDepth::Int16).unwrap();
            writer.write_planar(&blocks).unwrap();
            assert!(partial.exists() && !done.exists(), "{format:?}: written under the partial name");
            writer.finalize().unwrap();
            assert!(done.exists() && !partial.exists());
            assert_eq!(crate::audio::read_audio(&done).unwrap().n_frames(), 3000);
            // An error part-way (the writer is dropped): nothing under either name.
            std::fs::remove_file(&done).unwrap();
            let mut writer = StemWriter::create_as(&done, format, 16_000, 2, BitDepth::Int16).unwrap();
            writer.write_planar(&blocks).unwrap();
            drop(writer);
            assert!(!done.exists() && !partial.exists(), "{format:?}: an unfinished file was left");
        }
        let err =
            StemWriter::create(&dir.join("no such folder").join("x.wav"), 16_000, 1, BitDepth::Int16).err().unwrap();
        assert!(err.to_string().contains("no such folder/x.wav: cannot create"), "{err}");
    }

    #[test]
    fn flac_refuses_float_samples() {
        let result =
            StemWriter::new_as(Cursor::new(Vec::new()), "x.flac", StemFormat::Flac, 44_100, 2, BitDepth::Float32);
        assert!(matches!(result, Err(EncodeError::FlacFloat)));
        assert_eq!("FLAC".parse::<StemFormat>(), Ok(StemFormat::Flac));
        assert!("mp3".parse::<StemFormat>().unwrap_err().contains("mp3"));
    }
}
