//! `svs separate INPUT...`: vocals and accompaniment for each input file, written as
//! `OUT_DIR/<input name>/vocals.<ext>` and `accompaniment.<ext>`.

use crate::data::loaders::audio_files;
use crate::progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use svs_core::audio::{AudioReader, BitDepth, StemFormat, StemWriter, read_audio};
use svs_core::{BackendKind, LiveConfig, LiveSeparator, PoCoNet, Separator};

#[derive(Args, Debug)]
pub struct SeparateArgs {
    /// Audio files or directories of audio files (WAV, FLAC, MP3, OGG, M4A/AAC).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write `<input name>/vocals.<ext>` and `<input name>/accompaniment.<ext>`.
    #[arg(short, long, default_value = "separated")]
    pub out_dir: PathBuf,
    /// Model file (from `svs export`); default: the embedded model.
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    /// Output format: wav or flac (lossless, about half the size; 16 or 24 bits).
    #[arg(long, default_value = "wav")]
    pub format: StemFormat,
    /// Output sample format: 16, 24 or 32f (WAV only).
    #[arg(long, default_value = "24")]
    pub bit_depth: BitDepth,
    #[command(flatten)]
    pub windows: super::WindowArgs,
    /// Separate as the live mode does (the streaming network, 67-75 ms of latency, on the
    /// CPU; the plugin's Live setting), the latency removed: to hear what live use gives.
    #[arg(long, conflicts_with_all = ["chunk_seconds", "overlap", "context_seconds"])]
    pub live: bool,
}

pub fn run(args: SeparateArgs) -> Result<()> {
    if args.format == StemFormat::Flac && args.bit_depth == BitDepth::Float32 {
        bail!("--format flac stores integer samples: use --bit-depth 16 or 24 (32f is WAV only)");
    }
    let inputs = collect_inputs(&args.inputs)?;
    let file = super::load_model_file(args.model.as_deref())?;
    let device = args.backend.device(0)?;
    let separator = Separator::from_model_file(&file, device, args.windows.config())?;
    tracing::info!(backend = %args.backend, "model loaded from {}", file.name().display());
    let live_model = if args.live {
        if args.backend != BackendKind::Cpu {
            bail!("--live runs on the CPU (not --backend {})", args.backend);
        }
        Some(file.separator(&BackendKind::Cpu.device(0)?)?.0)
    } else {
        None
    };

    let mut failures = Vec::new();
    for input in &inputs {
        let result = match &live_model {
            Some(model) => separate_file_live(model, input, &args),
            None => separate_file(&separator, input, &args),
        };
        match result {
            Ok(dir) => tracing::info!("{} -> {}", input.display(), dir.display()),
            Err(e) => {
                // Most errors already start with the file's name (the decoder's, the writer's);
                // the others get it here, so it is said once either way.
                let message = format!("{e:#}");
                let name = input.display().to_string();
                if message.contains(&name) {
                    tracing::error!("{message}");
                } else {
                    tracing::error!("{name}: {message}");
                }
                failures.push(input.clone());
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} inputs failed: {}",
            failures.len(),
            inputs.len(),
            failures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Files as given, and the audio files inside given directories (sorted, recursive).
fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let found = audio_files(input).with_context(|| format!("reading directory {}", input.display()))?;
            if found.is_empty() {
                tracing::warn!("{}: no audio files in this directory", input.display());
            }
            files.extend(found);
        } else {
            // Missing files are reported per file later, so the others still get processed.
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// The name of an input's output folder: its file name without the extension(s) that mark
/// audio (`song.stem.mp4` -> `song`).
pub fn output_name(input: &Path) -> String {
    let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "input".into());
    let name = name.strip_suffix(".stem.mp4").map(str::to_owned).unwrap_or(name);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => name,
    }
}

/// Separates one file, streaming from the decoder to the writers. The writers keep stems under
/// a `.partial` name until finished and delete them on failure (see `svs_core::audio::encode`),
/// so a failure never leaves a partial stem that looks finished.
fn separate_file(separator: &Separator, input: &Path, args: &SeparateArgs) -> Result<PathBuf> {
    let mut reader = AudioReader::open(input)?;
    let rate = reader.sample_rate();
    let Some(first) = reader.next_block()? else {
        bail!("{}: contains no audio samples", input.display());
    };
    let channels = first.len();
    if channels > 2 {
        tracing::info!("{}: {channels} channels: the model hears their mix, every channel is kept", input.display());
    }
    let mut stream = separator.stream(rate, channels)?;
    let dir = args.out_dir.join(output_name(input));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ext = args.format.extension();
    let mut vocals =
        StemWriter::create_as(&dir.join(format!("vocals.{ext}")), args.format, rate, channels, args.bit_depth)?;
    let mut accompaniment =
        StemWriter::create_as(&dir.join(format!("accompaniment.{ext}")), args.format, rate, channels, args.bit_depth)?;

    let bar = progress::bar(reader.n_frames().unwrap_or(0), output_name(input), "samples");
    let mut write = |block: svs_core::separator::StemBlock| -> Result<()> {
        vocals.write_planar(&as_slices(&block.vocals))?;
        accompaniment.write_planar(&as_slices(&block.accompaniment))?;
        bar.inc(block.vocals[0].len() as u64);
        Ok(())
    };
    let mut block = Some(first);
    while let Some(samples) = block {
        for out in stream.push(&as_slices(&samples))? {
            write(out)?;
        }
        block = reader.next_block()?;
    }
    if let Some(out) = stream.finish()? {
        write(out)?;
    }
    bar.finish_and_clear();
    vocals.finalize()?;
    accompaniment.finalize()?;
    if reader.non_finite_samples > 0 {
        tracing::warn!(
            "{}: {} NaN/infinite samples were replaced by silence",
            input.display(),
            reader.non_finite_samples
        );
    }
    if reader.skipped_packets > 0 {
        tracing::warn!("{}: {} damaged packets were skipped", input.display(), reader.skipped_packets);
    }
    Ok(dir)
}

/// Separates one file through the live path (the whole file in memory: `--live` is for
/// listening tests, not for long batches).
fn separate_file_live(model: &PoCoNet, input: &Path, args: &SeparateArgs) -> Result<PathBuf> {
    let audio = read_audio(input)?;
    if audio.n_frames() == 0 {
        bail!("{}: contains no audio samples", input.display());
    }
    let config = LiveConfig { mask: args.windows.mask.into(), ..Default::default() };
    let mut live = LiveSeparator::new(model, audio.sample_rate, audio.n_channels(), &config)?;
    let stems = live.separate(&audio)?;
    let dir = args.out_dir.join(output_name(input));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ext = args.format.extension();
    for (name, stem) in [("vocals", &stems.vocals), ("accompaniment", &stems.accompaniment)] {
        let path = dir.join(format!("{name}.{ext}"));
        let mut writer =
            StemWriter::create_as(&path, args.format, stem.sample_rate, stem.n_channels(), args.bit_depth)?;
        writer.write_planar(&as_slices(&stem.channels))?;
        writer.finalize()?;
    }
    Ok(dir)
}

fn as_slices(channels: &[Vec<f32>]) -> Vec<&[f32]> {
    channels.iter().map(Vec::as_slice).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names() {
        assert_eq!(output_name(Path::new("/a/My Song.mp3")), "My Song");
        assert_eq!(output_name(Path::new("x/track.stem.mp4")), "track");
        assert_eq!(output_name(Path::new("noext")), "noext");
        assert_eq!(output_name(Path::new(".hidden")), ".hidden");
    }
}
