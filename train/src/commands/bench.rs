//! `svs bench`: the measurements behind docs/BENCHMARKS.md. Timing lives here (never in tests).

use crate::training::config::ModelSection;
use crate::training::cpu_step::{StepPath, cpu_train_step};
use crate::training::data::Batch;
use crate::training::trainer::batch_loss;
use anyhow::Result;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use svs_core::audio::{AudioBuffer, BitDepth, StemWriter};
use svs_core::model::Preset;
use svs_core::model::cpu::train::CpuTrainer;
use svs_core::{BackendKind, LiveConfig, LiveSeparator, Separator, SeparatorConfig};

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
        #[command(flatten)]
        signal: SignalArgs,
        #[arg(long, default_value_t = SeparatorConfig::default().chunk_seconds)]
        chunk_seconds: f32,
        /// Run the model as its burn tensor graph even on the CPU (the path before the compiled
        /// CPU model, for comparison).
        #[arg(long)]
        tensor_graph: bool,
    },
    /// Training throughput: optimiser steps on random batches (CPU: the flex backend).
    Train {
        #[arg(long, default_value = "small")]
        preset: Preset,
        #[arg(long, default_value = "cpu")]
        backend: BackendKind,
        /// Window length T in seconds.
        #[arg(long, default_value_t = 2.5)]
        window_seconds: f32,
        #[arg(long, default_value_t = 4)]
        batch: usize,
        /// Timed steps (after one warm-up step).
        #[arg(long, default_value_t = 3)]
        steps: usize,
        /// The CPU implementation's hand-written backward, or burn autodiff on the tensor graph.
        #[arg(long, value_enum, default_value_t = StepPath::Cpu)]
        path: StepPath,
        /// Override the preset's base channels (the embedded default is small with base 8).
        #[arg(long)]
        base_channels: Option<usize>,
        /// Override the preset's channel cap.
        #[arg(long)]
        max_channels: Option<usize>,
        /// Override the preset's number of U-Net levels.
        #[arg(long)]
        levels: Option<usize>,
    },
    /// CPU load of live separation (the streaming network, one thread): the test signal in
    /// host-sized blocks, timed per block against the block's duration.
    Live {
        /// A preset with random weights (speed does not depend on them); the embedded default
        /// model when left out.
        #[arg(long)]
        preset: Option<Preset>,
        /// Override the preset's base channels.
        #[arg(long, requires = "preset")]
        base_channels: Option<usize>,
        /// Override the preset's channel cap.
        #[arg(long, requires = "preset")]
        max_channels: Option<usize>,
        /// Override the preset's number of U-Net levels.
        #[arg(long, requires = "preset")]
        levels: Option<usize>,
        #[command(flatten)]
        signal: SignalArgs,
        /// Samples per host block.
        #[arg(long, default_value_t = 512)]
        block: usize,
        /// The attention's past in seconds.
        #[arg(long, default_value_t = LiveConfig::default().attention_seconds)]
        attention_seconds: f32,
        /// Seconds at the stream's start every frame keeps attending to.
        #[arg(long, default_value_t = LiveConfig::default().first_seconds)]
        first_seconds: f32,
    },
    /// Writes a test signal (tones and noise) as a WAV file, streamed, for memory benchmarks.
    Signal {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        signal: SignalArgs,
    },
}

/// The test signal's length and format.
#[derive(Args, Debug)]
pub struct SignalArgs {
    #[arg(long, default_value_t = 60.0)]
    seconds: f32,
    #[arg(long, default_value_t = 44100)]
    rate: u32,
    #[arg(long, default_value_t = 2)]
    channels: usize,
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchCommand::Separate {
            preset,
            backend,
            signal: SignalArgs { seconds, rate, channels },
            chunk_seconds,
            tensor_graph,
        } => {
            let device = backend.device(0)?;
            let config = preset.config();
            let settings = SeparatorConfig { chunk_seconds, ..Default::default() };
            let separator = if tensor_graph {
                Separator::new_tensor_graph(config.init(&device), device, settings)?
            } else {
                Separator::new(config.init(&device), device, settings)?
            };
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
                "preset={preset} backend={backend}{} audio={seconds}s {rate}Hz {channels}ch chunk={chunk_seconds}s: \
                 {elapsed:.2} s, real-time factor {:.3} ({:.2}x faster than real time), model {:.2} GFLOP per second of audio",
                if tensor_graph { " (tensor graph)" } else { "" },
                elapsed / seconds as f64,
                seconds as f64 / elapsed,
                config.flops_per_second(chunk_seconds as f64) / 1e9
            );
        }
        BenchCommand::Train {
            preset,
            backend,
            window_seconds,
            batch,
            steps,
            path,
            base_channels,
            max_channels,
            levels,
        } => {
            let config = ModelSection { preset, levels, max_channels, base_channels }.resolve();
            let samples = (window_seconds * svs_core::MODEL_SAMPLE_RATE as f32) as usize;
            let rate = svs_core::MODEL_SAMPLE_RATE;
            let vocals: Vec<f32> = (0..batch).flat_map(|b| test_signal(b * samples, samples, rate, 0)).collect();
            let accompaniment: Vec<f32> = (0..batch).flat_map(|b| test_signal(b * samples, samples, rate, 1)).collect();
            let mixture = vocals.iter().zip(&accompaniment).map(|(v, a)| v + a).collect();
            let data = Batch { batch, samples, mixture, vocals, accompaniment };
            let timings = bench_train_steps(&config, backend, &data, steps, path)?;
            let per_step = timings.iter().sum::<f64>() / timings.len().max(1) as f64;
            // A training step is about three forward passes (forward, input and weight gradients).
            let step_flops =
                3.0 * config.flops_per_second(window_seconds as f64) * (batch as f64 * window_seconds as f64);
            println!(
                "preset={preset} base={} max={} levels={} backend={backend} path={path} window={window_seconds}s batch={batch}: \
                 {per_step:.2} s per iteration, {:.3} examples/s, {:.0} GFLOP per step, {:.1} GFLOP/s, peak RSS {} MB",
                config.base_channels,
                config.max_channels,
                config.levels,
                batch as f64 / per_step,
                step_flops / 1e9,
                step_flops / 1e9 / per_step,
                peak_rss_mb().map_or("?".into(), |m| m.to_string())
            );
        }
        BenchCommand::Live {
            preset,
            base_channels,
            max_channels,
            levels,
            signal: SignalArgs { seconds, rate, channels },
            block,
            attention_seconds,
            first_seconds,
        } => {
            let device = BackendKind::Cpu.device(0)?;
            let (model, name) = match preset {
                Some(preset) => {
                    let config = ModelSection { preset, levels, max_channels, base_channels }.resolve();
                    let name = format!(
                        "{preset} base={} max={} levels={}",
                        config.base_channels, config.max_channels, config.levels
                    );
                    (config.init(&device), name)
                }
                None => (svs_core::default_model::default_model()?.separator(&device)?.0, "embedded default".into()),
            };
            let mut live = LiveSeparator::new(
                &model,
                rate,
                channels,
                &LiveConfig { attention_seconds, first_seconds, ..Default::default() },
            )?;
            let n = (seconds * rate as f32) as usize;
            let input: Vec<Vec<f32>> = (0..channels).map(|c| test_signal(0, n, rate, c)).collect();
            let mut vocals = vec![vec![0.0f32; block]; channels];
            let mut accompaniment = vec![vec![0.0f32; block]; channels];
            let mut times = Vec::with_capacity(n / block + 1);
            for start in (0..n.saturating_sub(block)).step_by(block) {
                let ins: Vec<&[f32]> = input.iter().map(|c| &c[start..start + block]).collect();
                let mut v: Vec<&mut [f32]> = vocals.iter_mut().map(|c| &mut c[..]).collect();
                let mut a: Vec<&mut [f32]> = accompaniment.iter_mut().map(|c| &mut c[..]).collect();
                let started = Instant::now();
                live.process(&ins, &mut v, &mut a)?;
                times.push(started.elapsed().as_secs_f64());
            }
            let deadline = block as f64 / rate as f64;
            let total: f64 = times.iter().sum();
            times.sort_by(f64::total_cmp);
            let quantile = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
            println!(
                "live {name}: {rate} Hz {channels}ch blocks of {block} ({:.1} ms), attention {attention_seconds} s, \
                 latency {} samples ({:.1} ms): \
                 CPU load {:.1} % of one core, block time median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} % of the block)",
                deadline * 1e3,
                live.latency(),
                live.latency_seconds() * 1e3,
                100.0 * total / (times.len() as f64 * deadline),
                quantile(0.5) * 1e3,
                quantile(0.99) * 1e3,
                quantile(1.0) * 1e3,
                100.0 * quantile(1.0) / deadline
            );
        }
        BenchCommand::Signal { out, signal: SignalArgs { seconds, rate, channels } } => {
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

/// Seconds per optimiser step on `data` (after one warm-up step).
fn bench_train_steps(
    config: &svs_core::model::PoCoNetConfig,
    backend: BackendKind,
    data: &Batch,
    steps: usize,
    path: StepPath,
) -> Result<Vec<f64>> {
    let loss = svs_core::model::SeparationLossConfig::new().init();
    let mut optimizer = AdamConfig::new().init();
    let mut timings = Vec::new();
    match path {
        StepPath::Tensor => {
            let device = backend.device(0)?.autodiff();
            let mut model = config.init(&device).train();
            for step in 0..=steps {
                let start = Instant::now();
                let l = batch_loss(&model, &loss, data, &device);
                let grads = GradientsParams::from_grads(l.backward(), &model);
                model = optimizer.step(1e-4, model, grads);
                if step > 0 {
                    timings.push(start.elapsed().as_secs_f64());
                }
            }
        }
        StepPath::Cpu => {
            if backend != BackendKind::Cpu {
                anyhow::bail!("--path cpu runs on the CPU only (use --path tensor with --backend {backend})");
            }
            let mut model = config.init(&backend.device(0)?.autodiff()).train();
            let trainer = CpuTrainer::default();
            for step in 0..=steps {
                let start = Instant::now();
                model = cpu_train_step(&trainer, model, &mut optimizer, &loss, data, 1e-4).0;
                if step > 0 {
                    timings.push(start.elapsed().as_secs_f64());
                }
            }
        }
    }
    Ok(timings)
}

/// Peak resident memory of this process (Linux `VmHWM`), in MB.
pub fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb / 1024)
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
