//! Streaming FLAC writing with flacenc.
//!
//! flacenc's one-call encoder (`encode_with_fixed_block_size`) keeps every encoded frame of the
//! song in memory before anything is written, which breaks the separator's promise that memory
//! is bounded by the window, not the song. So frames are encoded one at a time with flacenc's
//! frame encoder and written as they are made; the STREAMINFO header (total length, MD5 of the
//! samples, frame sizes) is written as a placeholder first and rewritten in place at the end,
//! as the reference encoder does on seekable outputs.
//!
//! flacenc has no 5-bit Rice parameters (its largest is 14), so loud broadband 24-bit content,
//! above all the 25-bit side channel of its stereo decorrelation, can come out far larger than
//! the raw samples (measured: 1.7x on a noisy accompaniment), and it does not fall back to
//! verbatim subframes on its own. A frame larger than its raw samples is therefore encoded again
//! without stereo decorrelation, and if still too large, verbatim: never more than the raw size.

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};
use std::io::{Seek, SeekFrom, Write};

/// Samples per FLAC frame: the reference encoder's default at its usual compression levels.
const BLOCK_SIZE: usize = 4096;

/// Encodes interleaved integer samples into a FLAC stream written to `W` as it goes.
pub(crate) struct FlacWriter<W: Write + Seek> {
    inner: W,
    header_at: u64,
    /// The default encoder, then the fall-backs: independent channels, verbatim.
    configs: [Verified<config::Encoder>; 3],
    bits_per_sample: usize,
    info: StreamInfo,
    frame: FrameBuf,
    context: Context,
    channels: usize,
    /// Interleaved samples of the frame being filled (at most `BLOCK_SIZE * channels`).
    pending: Vec<i32>,
    frame_bytes: Option<(usize, usize)>,
}

impl<W: Write + Seek> FlacWriter<W> {
    /// `bits_per_sample` is 16 or 24; samples passed to `push` must fit in it.
    pub(crate) fn new(mut inner: W, sample_rate: u32, channels: usize, bits_per_sample: usize) -> Result<Self, String> {
        let info = StreamInfo::new(sample_rate as usize, channels, bits_per_sample).map_err(|e| e.to_string())?;
        let verify = |c: config::Encoder| c.into_verified().map_err(|(_, e)| e.to_string());
        let mut independent = config::Encoder::default();
        independent.stereo_coding.use_leftside = false;
        independent.stereo_coding.use_rightside = false;
        independent.stereo_coding.use_midside = false;
        let mut verbatim = independent.clone();
        verbatim.subframe_coding.use_fixed = false;
        verbatim.subframe_coding.use_lpc = false;
        let configs = [verify(config::Encoder::default())?, verify(independent)?, verify(verbatim)?];
        let header_at = inner.stream_position().map_err(|e| e.to_string())?;
        let mut writer = Self {
            inner,
            header_at,
            configs,
            bits_per_sample,
            info,
            frame: FrameBuf::with_size(channels, BLOCK_SIZE).map_err(|e| e.to_string())?,
            context: Context::new(bits_per_sample, channels),
            channels,
            pending: Vec::with_capacity(BLOCK_SIZE * channels),
            frame_bytes: None,
        };
        writer.write_header()?;
        Ok(writer)
    }

    /// Appends one interleaved sample frame (one sample per channel).
    pub(crate) fn push(&mut self, interleaved: impl IntoIterator<Item = i32>) -> Result<(), String> {
        self.pending.extend(interleaved);
        if self.pending.len() >= BLOCK_SIZE * self.channels {
            self.encode_pending()?;
        }
        Ok(())
    }

    /// Encodes what is left, rewrites the header with the stream's totals and flushes.
    pub(crate) fn finalize(mut self) -> Result<(), String> {
        self.encode_pending()?;
        self.info.set_md5_digest(&self.context.md5_digest());
        self.info.set_total_samples(self.context.total_samples());
        // A fixed-block-size stream declares its block size as both minimum and maximum (the
        // shorter last frame does not count), as flacenc's own encoder does.
        self.info.set_block_sizes(BLOCK_SIZE, BLOCK_SIZE).map_err(|e| e.to_string())?;
        if let Some((min, max)) = self.frame_bytes {
            self.info.set_frame_sizes(min, max).map_err(|e| e.to_string())?;
        }
        let end = self.inner.stream_position().map_err(|e| e.to_string())?;
        self.inner.seek(SeekFrom::Start(self.header_at)).map_err(|e| e.to_string())?;
        self.write_header()?;
        self.inner.seek(SeekFrom::Start(end)).map_err(|e| e.to_string())?;
        self.inner.flush().map_err(|e| e.to_string())
    }

    /// "fLaC" and the STREAMINFO block (always 42 bytes, so it can be rewritten in place).
    fn write_header(&mut self) -> Result<(), String> {
        let mut sink = ByteSink::new();
        Stream::with_stream_info(self.info.clone()).write(&mut sink).map_err(|e| format!("{e:?}"))?;
        self.inner.write_all(sink.as_slice()).map_err(|e| e.to_string())
    }

    fn encode_pending(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        (&mut self.frame, &mut self.context).fill_interleaved(&self.pending).map_err(|e| e.to_string())?;
        self.pending.clear();
        let number = self.context.current_frame_number().expect("a frame was just filled");
        let raw_bytes = self.frame.filled_size() * self.channels * self.bits_per_sample.div_ceil(8);
        let mut bytes = Vec::new();
        for config in &self.configs {
            let frame =
                flacenc::encode_fixed_size_frame(config, &self.frame, number, &self.info).map_err(|e| e.to_string())?;
            let mut sink = ByteSink::new();
            frame.write(&mut sink).map_err(|e| format!("{e:?}"))?;
            bytes = sink.into_inner();
            // Frame and subframe headers and the CRC take under 32 bytes; the last config
            // (verbatim) is kept whatever its size.
            if bytes.len() <= raw_bytes + 32 {
                break;
            }
        }
        self.inner.write_all(&bytes).map_err(|e| e.to_string())?;
        let (min, max) = self.frame_bytes.unwrap_or((usize::MAX, 0));
        self.frame_bytes = Some((min.min(bytes.len()), max.max(bytes.len())));
        Ok(())
    }
}
