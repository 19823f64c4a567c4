//! `svs`: singing-voice separation by noisy self-training.

use anyhow::Result;
use clap::{Parser, Subcommand};
use svs_train::commands;

#[derive(Parser, Debug)]
#[command(
    name = "svs",
    version,
    about = "Separate songs into vocals and accompaniment; train separators by noisy self-training."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Separate songs into vocals and accompaniment.
    Separate(commands::separate::SeparateArgs),
    /// Show a model file's or a preset's configuration and parameter count.
    Info(commands::info::InfoArgs),
    /// Generate a synthetic corpus of songs with known stems.
    Synth(commands::synth::SynthArgs),
    /// Cache a dataset as 16 kHz mono 30-second segments for training.
    Prepare(commands::prepare::PrepareArgs),
    /// Train a separator (teacher or student) from a TOML configuration.
    Train(commands::train::TrainArgs),
    /// Train the vocal and accompaniment voice-activity detectors used to filter pseudo-labels.
    TrainVad(commands::train_vad::TrainVadArgs),
    /// Pseudo-label an unlabeled corpus with a teacher (resumable, shardable).
    Label(commands::label::LabelArgs),
    /// Rank pseudo-labeled songs with the detectors and keep the best (and draw Figure 2).
    Filter(commands::filter::FilterArgs),
    /// Run the whole self-training pipeline from a configuration (resumable).
    SelfTrain(commands::self_train::SelfTrainArgs),
    /// Write a training run's best or latest model as a model file.
    Export(commands::export::ExportArgs),
    /// SDR of separated stems against references (BSS Eval v4, as museval), or of a model on a dataset.
    Eval(commands::eval::EvalArgs),
    /// Paired difference of two models' per-song SDRs (from `svs eval --json`), over songs and seeds.
    Compare(commands::compare::CompareArgs),
    /// One report over a study's runs (per-seed SDRs, paired comparisons, the filter against the truth).
    Report(commands::report::ReportArgs),
    /// Measure speed and memory (figures for docs/BENCHMARKS.md).
    Bench(commands::bench::BenchArgs),
}

fn main() -> Result<()> {
    svs_train::heap::keep_freed_memory();
    let cli = Cli::parse();
    svs_train::logging::init(cli.verbose);
    match cli.command {
        Command::Separate(args) => commands::separate::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::Prepare(args) => commands::prepare::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::TrainVad(args) => commands::train_vad::run(args),
        Command::Label(args) => commands::label::run(args),
        Command::Filter(args) => commands::filter::run(args),
        Command::SelfTrain(args) => commands::self_train::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Bench(args) => commands::bench::run(args),
    }
}
