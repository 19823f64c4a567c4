//! Streaming decoding of WAV, FLAC, MP3, OGG/Vorbis and AAC/M4A through symphonia.
//!
//! [`AudioReader`] yields one decoded packet at a time, so a song of hours is never held whole
//! in memory by the separator.

use super::{AudioBuffer, sanitize};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// File extensions of the formats this build decodes (symphonia's `wav`, `flac`, `mp3`, `ogg` +
/// `vorbis` and `isomp4` + `aac` features): what folder walkers should pick up.
pub const SUPPORTED_EXTENSIONS: [&str; 8] = ["wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac"];

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{path}: cannot open: {error}")]
    Open { path: PathBuf, error: std::io::Error },
    #[error("{path}: not a supported audio file ({reason})")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: has no audio track number {index} (it has {available})")]
    NoTrack { path: PathBuf, index: usize, available: usize },
    #[error("{path}: corrupt audio: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: contains no audio samples")]
    Empty { path: PathBuf },
}

/// Packet-by-packet decoder of one audio track.
pub struct AudioReader {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    sample_rate: u32,
    channels: Option<usize>,
    n_frames: Option<u64>,
    /// Samples that were NaN or infinite and were replaced by silence.
    pub non_finite_samples: usize,
    /// Packets the decoder rejected and skipped (a damaged stretch of an MP3, say).
    pub skipped_packets: usize,
    /// Whether `n_frames` is exact (PCM, ADPCM, FLAC), so a shorter stream means lost data;
    /// MP3's is estimated from the bit rate and the lossy codecs' include encoder padding.
    length_is_exact: bool,
    frames_read: u64,
    truncation: Option<Truncation>,
    /// symphonia panicked inside this stream: its state is not trusted any further.
    failed: bool,
}

/// A stream that ended before the length its header states: the file was cut short (an
/// interrupted download or copy), and what was read is all there is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncation {
    pub read_frames: u64,
    pub stated_frames: u64,
    pub sample_rate: u32,
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = |frames: u64| frames as f64 / self.sample_rate as f64;
        write!(
            f,
            "truncated: {} of the {} samples its header states were read ({:.2} s of {:.2} s)",
            self.read_frames,
            self.stated_frames,
            seconds(self.read_frames),
            seconds(self.stated_frames)
        )
    }
}

impl std::fmt::Debug for AudioReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReader").field("path", &self.path).field("sample_rate", &self.sample_rate).finish()
    }
}

impl AudioReader {
    /// Opens the first audio track of a file.
    pub fn open(path: &Path) -> Result<Self, DecodeError> {
        Self::open_track(path, 0)
    }

    /// Opens the `index`-th audio track (multitrack files such as MUSDB18's `.stem.mp4`).
    pub fn open_track(path: &Path, index: usize) -> Result<Self, DecodeError> {
        let open_error = |error| DecodeError::Open { path: path.to_owned(), error };
        let mut file = File::open(path).map_err(open_error)?;
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
        let mut head = [0u8; 8];
        let read_head = file.read_exact(&mut head).is_ok();
        if read_head && super::flac_blocks::is_flac(&head) {
            // FLAC can be large: its metadata blocks are checked in place, not read whole.
            let file_len = file.metadata().map_err(open_error)?.len();
            super::flac_blocks::check(&mut file, file_len).map_err(|reason| corrupt(path, reason))?;
        }
        file.seek(SeekFrom::Start(0)).map_err(open_error)?;
        if read_head && super::mp4_tables::is_mp4(&head) {
            // Compressed audio: the whole file is small enough to check in memory first.
            let bytes = std::fs::read(path).map_err(open_error)?;
            check_mp4(&bytes, path)?;
            return Self::from_source(Box::new(Cursor::new(bytes)), ext.as_deref(), path.to_owned(), index);
        }
        Self::from_source(Box::new(file), ext.as_deref(), path.to_owned(), index)
    }

    /// Decodes from memory (the web app and the plugin); `name` is used in error messages.
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> Result<Self, DecodeError> {
        let ext = Path::new(name).extension().and_then(|e| e.to_str()).map(str::to_owned);
        if super::mp4_tables::is_mp4(&bytes) {
            check_mp4(&bytes, Path::new(name))?;
        }
        if super::flac_blocks::is_flac(&bytes) {
            super::flac_blocks::check(&mut Cursor::new(&bytes), bytes.len() as u64)
                .map_err(|reason| corrupt(Path::new(name), reason))?;
        }
        Self::from_source(Box::new(Cursor::new(bytes)), ext.as_deref(), PathBuf::from(name), 0)
    }

    fn from_source(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        path: PathBuf,
        index: usize,
    ) -> Result<Self, DecodeError> {
        let stream = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let unsupported = |reason: String| DecodeError::Unsupported { path: path.clone(), reason };
        let probed = shielded(&path, || {
            symphonia::default::get_probe().format(
                &hint,
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
        })?
        .map_err(|e| unsupported(e.to_string()))?;
        let format = probed.format;
        let audio_tracks: Vec<_> = format.tracks().iter().filter(|t| t.codec_params.codec != CODEC_TYPE_NULL).collect();
        let available = audio_tracks.len();
        let track =
            audio_tracks.get(index).ok_or_else(|| DecodeError::NoTrack { path: path.clone(), index, available })?;
        let params = &track.codec_params;
        let sample_rate = params.sample_rate.ok_or_else(|| unsupported("no sample rate".into()))?;
        let codecs = symphonia::default::get_codecs();
        let decoder = codecs.make(params, &DecoderOptions::default()).map_err(|e| unsupported(e.to_string()))?;
        // symphonia has no "lossless" flag; its short names are stable ("pcm_s16le", "adpcm_ms").
        let length_is_exact = codecs.get_codec(params.codec).is_some_and(|codec| {
            codec.short_name.starts_with("pcm_") || codec.short_name.starts_with("adpcm_") || codec.short_name == "flac"
        });
        Ok(Self {
            track_id: track.id,
            channels: params.channels.map(|c| c.count()),
            n_frames: params.n_frames,
            sample_rate,
            format,
            decoder,
            path,
            non_finite_samples: 0,
            skipped_packets: 0,
            length_is_exact,
            frames_read: 0,
            truncation: None,
            failed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// Channel count, if the container states it before decoding (AAC may not).
    pub fn channels(&self) -> Option<usize> {
        self.channels
    }
    /// Length in frames, if the container states it.
    pub fn n_frames(&self) -> Option<u64> {
        self.n_frames
    }

    /// Set once the stream has ended short of the length its header states (WAV, FLAC: the
    /// formats whose stated length is exact); also logged as a warning naming the file.
    pub fn truncation(&self) -> Option<Truncation> {
        self.truncation
    }

    fn end_of_stream(&mut self) -> Option<Vec<Vec<f32>>> {
        if let Some(stated_frames) = self.n_frames.filter(|_| self.length_is_exact && self.truncation.is_none())
            && self.frames_read < stated_frames
        {
            let truncation = Truncation { read_frames: self.frames_read, stated_frames, sample_rate: self.sample_rate };
            tracing::warn!("{}: {truncation}", self.path.display());
            self.truncation = Some(truncation);
        }
        None
    }

    /// Next decoded packet as planar samples, or `None` at the end of the stream.
    pub fn next_block(&mut self) -> Result<Option<Vec<Vec<f32>>>, DecodeError> {
        loop {
            if self.failed {
                return Err(self.corrupt("the decoder already failed on this file"));
            }
            let format = &mut self.format;
            let next = shielded(&self.path, move || format.next_packet()).inspect_err(|_| self.failed = true)?;
            let packet = match next {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(self.end_of_stream());
                }
                Err(e) => return Err(self.corrupt(e)),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoder = &mut self.decoder;
            let result = shielded(&self.path, move || decoder.decode(&packet));
            let decoded = match result.inspect_err(|_| self.failed = true)? {
                Ok(decoded) => decoded,
                // A damaged packet: skip it (as players do) and count it.
                Err(SymphoniaError::DecodeError(_)) => {
                    self.skipped_packets += 1;
                    continue;
                }
                Err(e) => return Err(self.corrupt(e)),
            };
            let spec = *decoded.spec();
            let n_channels = spec.channels.count();
            if n_channels == 0 {
                return Err(self.corrupt("a packet with zero channels"));
            }
            if *self.channels.get_or_insert(n_channels) != n_channels {
                return Err(self.corrupt("the channel count changes mid-stream"));
            }
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            let mut interleaved = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            interleaved.copy_interleaved_ref(decoded);
            let samples = &interleaved.samples()[..frames * n_channels];
            let mut planar: Vec<Vec<f32>> =
                (0..n_channels).map(|c| samples.iter().skip(c).step_by(n_channels).copied().collect()).collect();
            for channel in &mut planar {
                self.non_finite_samples += sanitize(channel);
            }
            self.frames_read += frames as u64;
            return Ok(Some(planar));
        }
    }

    /// Decodes the rest of the stream into one buffer.
    pub fn read_to_end(mut self) -> Result<AudioBuffer, DecodeError> {
        let mut channels: Vec<Vec<f32>> = Vec::new();
        while let Some(block) = self.next_block()? {
            if channels.is_empty() {
                channels = vec![Vec::new(); block.len()];
            }
            for (dst, src) in channels.iter_mut().zip(block) {
                dst.extend_from_slice(&src);
            }
        }
        if channels.first().is_none_or(Vec::is_empty) {
            return Err(DecodeError::Empty { path: self.path });
        }
        Ok(AudioBuffer::new(self.sample_rate, channels))
    }

    fn corrupt(&self, reason: impl std::fmt::Display) -> DecodeError {
        DecodeError::Corrupt { path: self.path.clone(), reason: reason.to_string() }
    }
}

/// Refuses an MP4 whose tables claim more than the file holds (see [`super::mp4_tables`]).
fn check_mp4(bytes: &[u8], path: &Path) -> Result<(), DecodeError> {
    super::mp4_tables::check(bytes).map_err(|reason| corrupt(path, reason))
}

fn corrupt(path: &Path, reason: String) -> DecodeError {
    DecodeError::Corrupt { path: path.to_owned(), reason }
}

/// Runs a call into symphonia, turning a panic inside it into an error naming the file.
///
/// Damaged files reach arithmetic in symphonia's demuxers that overflows (found by the fuzzing
/// harness: an MP4 sample-to-chunk table, a WAV channel mask); with overflow checks on (this
/// project's one build profile) that panics, and a bad file must be an error, never a crash of
/// the CLI, the plugin's host or the page. Where panics abort (wasm32) this cannot catch them.
fn shielded<T>(path: &Path, call: impl FnOnce() -> T) -> Result<T, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        DecodeError::Corrupt { path: path.to_owned(), reason: format!("the decoder failed on damaged data ({what})") }
    })
}

/// Decodes a whole file.
pub fn read_audio(path: &Path) -> Result<AudioBuffer, DecodeError> {
    AudioReader::open(path)?.read_to_end()
}

/// Decodes a whole in-memory file.
pub fn read_audio_bytes(bytes: Vec<u8>, name: &str) -> Result<AudioBuffer, DecodeError> {
    AudioReader::from_bytes(bytes, name)?.read_to_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{BitDepth, StemFormat, StemWriter, wav_bytes};

    #[test]
    fn wav_round_trip_keeps_rate_channels_and_samples() {
        let left: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let right: Vec<f32> = left.iter().map(|x| -x).collect();
        let buffer = AudioBuffer::new(44100, vec![left.clone(), right.clone()]);
        for depth in [BitDepth::Int16, BitDepth::Int24, BitDepth::Float32] {
            let bytes = wav_bytes(&buffer, depth).unwrap();
            let decoded = read_audio_bytes(bytes, "x.wav").unwrap();
            assert_eq!(decoded.sample_rate, 44100);
            assert_eq!(decoded.n_channels(), 2);
            assert_eq!(decoded.n_frames(), 1000);
            let tol = match depth {
                BitDepth::Int16 => 1e-4,
                BitDepth::Int24 => 1e-6,
                BitDepth::Float32 => 0.0,
            };
            let err = decoded.channels[1].iter().zip(&right).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err <= tol, "{depth:?}: {err}");
        }
    }

    #[test]
    fn garbage_is_a_clear_error_naming_the_file() {
        let err = read_audio_bytes(b"this is not audio at all".repeat(20), "notes.txt").unwrap_err();
        assert!(matches!(err, DecodeError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("notes.txt"));
        let err = read_audio(Path::new("/nonexistent/song.wav")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/song.wav"));
    }

    #[test]
    fn truncated_wav_is_an_error_or_shorter_never_a_panic() {
        let buffer = AudioBuffer::new(16000, vec![vec![0.25; 4000]]);
        let bytes = wav_bytes(&buffer, BitDepth::Int16).unwrap();
        for cut in [10, 44, 100, 3000] {
            match read_audio_bytes(bytes[..cut].to_vec(), "cut.wav") {
                Ok(buf) => assert!(buf.n_frames() < 4000),
                Err(e) => assert!(e.to_string().contains("cut.wav")),
            }
        }
    }

    #[test]
    fn a_truncated_wav_or_flac_says_how_much_was_read_of_the_stated_length() {
        let buffer = AudioBuffer::new(16000, vec![vec![0.25; 4000]]);
        let bytes = wav_bytes(&buffer, BitDepth::Int16).unwrap();
        // 44 bytes of header, then 2 bytes a sample: 1478 whole samples survive the cut.
        let mut reader = AudioReader::from_bytes(bytes[..3000].to_vec(), "cut.wav").unwrap();
        let mut frames = 0;
        while let Some(block) = reader.next_block().unwrap() {
            frames += block[0].len();
        }
        let truncation = reader.truncation().expect("a cut WAV is reported");
        assert_eq!(truncation, Truncation { read_frames: frames as u64, stated_frames: 4000, sample_rate: 16000 });
        assert_eq!(frames, 1478);
        assert!(truncation.to_string().contains("1478 of the 4000 samples"), "{truncation}");
        // The whole file is not truncated.
        let mut reader = AudioReader::from_bytes(bytes, "whole.wav").unwrap();
        while reader.next_block().unwrap().is_some() {}
        assert_eq!(reader.truncation(), None);

        // FLAC states its length in STREAMINFO; a cut drops the frames after it.
        let song: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let mut flac = Cursor::new(Vec::new());
        let mut writer = StemWriter::new_as(&mut flac, "x.flac", StemFormat::Flac, 16000, 1, BitDepth::Int16).unwrap();
        writer.write_planar(&[song.as_slice()]).unwrap();
        writer.finalize().unwrap();
        let flac = flac.into_inner();
        let read_all = |bytes: Vec<u8>| {
            let mut reader = AudioReader::from_bytes(bytes, "cut.flac").unwrap();
            let mut frames = 0u64;
            while let Some(block) = reader.next_block().unwrap() {
                frames += block[0].len() as u64;
            }
            (frames, reader.truncation())
        };
        assert_eq!(read_all(flac.clone()), (10_000, None));
        let (frames, truncation) = read_all(flac[..flac.len() / 2].to_vec());
        assert!(frames < 10_000);
        assert_eq!(truncation, Some(Truncation { read_frames: frames, stated_frames: 10_000, sample_rate: 16000 }));
    }

    #[test]
    fn zero_length_wav_is_empty_error() {
        let buffer = AudioBuffer::new(16000, vec![vec![]]);
        let bytes = wav_bytes(&buffer, BitDepth::Int16).unwrap();
        let err = read_audio_bytes(bytes, "empty.wav").unwrap_err();
        assert!(matches!(err, DecodeError::Empty { .. } | DecodeError::Unsupported { .. }), "{err}");
    }
}
