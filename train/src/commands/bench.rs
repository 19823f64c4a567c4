//! `svs bench`: the measurements behind docs/BENCHMARKS.md. Timing lives here (never in tests).

use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use svs_core::audio::{AudioBuffer, BitDepth, StemWriter};
use svs_core::model::Preset;
use svs_core::{BackendKind, Separator, SeparatorConfig};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Real-time factor of separation for a preset (random weights: speed does not depend on them).
    Separate {
        #[arg(long, default_value = "small")]
        preset: Preset,
        #[arg(long, default_value = "cpu")]
        backend: BackendKind,
        #[arg(long, default_value_t = 60.0)]
        seconds: f32,
        #[arg(long, default_value_t = 44100)]
        rate: u32,
        #[arg(long, default_value_t = 2)]
        channels: usize,
        #[arg(long, default_value_t = SeparatorConfig::default().chunk_seconds)]
        chunk_seconds: f32,
    },
    /// Writes a test signal (tones and noise) as a WAV file, streamed, for memory benchmarks.
    Signal {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 60.0)]
        seconds: f32,
        #[arg(long, default_value_t = 44100)]
        rate: u32,
        #[arg(long, default_value_t = 2)]
        channels: usize,
    },
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchCommand::Separate { preset, backend, seconds, rate, channels, chunk_seconds } => {
            let device = backend.device(0)?;
            let config = preset.config();
            let separator =
                Separator::new(config.init(&device), device, SeparatorConfig { chunk_seconds, ..Default::default() })?;
            let n = (seconds * rate as f32) as usize;
            let audio = AudioBuffer::new(rate, (0..channels).map(|c| test_signal(0, n, rate, c)).collect());
            // Warm-up (first-call allocations, shader compilation on wgpu).
            let warm =
                AudioBuffer::new(rate, (0..channels).map(|c| test_signal(0, rate as usize * 2, rate, c)).collect());
            separator.separate(&warm, |_| {})?;
            let start = Instant::now();
            separator.separate(&audio, |_| {})?;
            let elapsed = start.elapsed().as_secs_f64();
            println!(
                "preset={preset} backend={backend} audio={seconds}s {rate}Hz {channels}ch chunk={chunk_seconds}s: \
                 {elapsed:.2} s, real-time factor {:.3} ({:.2}x faster than real time), model {:.2} GFLOP per second of audio",
                elapsed / seconds as f64,
                seconds as f64 / elapsed,
                config.flops_per_second(chunk_seconds as f64) / 1e9
            );
        }
        BenchCommand::Signal { out, seconds, rate, channels } => {
            let total = (seconds as f64 * rate as f64) as usize;
            let mut writer = StemWriter::create(&out, rate, channels, BitDepth::Int16)?;
            let block = rate as usize;
            let mut pos = 0;
            while pos < total {
                let n = block.min(total - pos);
                let chans: Vec<Vec<f32>> = (0..channels).map(|c| test_signal(pos, n, rate, c)).collect();
                writer.write_planar(&chans.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
                pos += n;
            }
            writer.finalize()?;
        }
    }
    Ok(())
}

/// Samples `start..start + n` of a deterministic music-like test signal on channel `channel`.
fn test_signal(start: usize, n: usize, rate: u32, channel: usize) -> Vec<f32> {
    (start..start + n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let tone = (2.0 * std::f32::consts::PI * (220.0 + 55.0 * channel as f32) * t).sin();
            let vibrato = (2.0 * std::f32::consts::PI * (440.0 * t + 2.0 * (5.0 * t).sin())).sin();
            let noise = ((i.wrapping_mul(2_654_435_761) >> 8) % 2000) as f32 / 1000.0 - 1.0;
            0.3 * tone + 0.2 * vibrato + 0.05 * noise
        })
        .collect()
}
