//! `svs synth`: a synthetic corpus of songs with known stems (the library's
//! [`crate::synth::corpus`]).

use crate::synth::corpus::{CorpusOptions, SynthKind, write_corpus};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of songs (the training split for `labeled`).
    #[arg(long)]
    pub songs: usize,
    /// Songs for the test split (`labeled` only).
    #[arg(long, default_value_t = 0)]
    pub test_songs: usize,
    /// Seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "labeled")]
    pub kind: SynthKind,
    /// Length of each song in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f32,
    /// General MIDI SoundFont (default: $SVS_SOUNDFONT or Debian's TimGM6mb / FluidR3_GM). Give
    /// several (`--soundfont A --soundfont B`, or `A,B`) and each song draws one.
    #[arg(long, value_delimiter = ',')]
    pub soundfont: Vec<PathBuf>,
    /// SoundFonts with a General MIDI drum kit (e.g. the AVL kits of Debian's
    /// avldrums.lv2-soundfont): each song's drums are played by one of them or by its own
    /// SoundFont's kit, drawn per song.
    #[arg(long, value_delimiter = ',')]
    pub drum_soundfont: Vec<PathBuf>,
    /// `damp` only: also write each recording's clean voice and accompaniment
    /// (`vocal-truth.wav`, `background-truth.wav`), to score pseudo-labels against.
    #[arg(long)]
    pub truth: bool,
    /// A folder of recorded voice clips (wav, ogg, flac, mp3, searched recursively; e.g. the
    /// spoken letters of Debian's klettres-data): some songs' voices are made of them instead
    /// of the synthetic singer.
    #[arg(long)]
    pub voice_clips: Option<PathBuf>,
    /// With `--voice-clips`: the share of songs whose voice is recorded clips.
    #[arg(long, default_value_t = 0.5)]
    pub recorded_voice_probability: f32,
    /// The share of songs (among those not sung by recorded clips) sung by the SoundFont's
    /// sampled voices, "Choir Aahs" or "Voice Oohs", instead of the synthetic singer. Default 0,
    /// as for the bus.
    #[arg(long, default_value_t = 0.0)]
    pub sampled_voice_probability: f32,
    /// The share of songs sent through a mix bus (a compressor and a limiter, the same gain on
    /// every stem, so the stems still add up to the mixture). Default 0: corpora made before
    /// the bus existed stay the same.
    #[arg(long, default_value_t = 0.0)]
    pub bus_probability: f32,
    /// The share of songs whose choruses a second singer harmonises (a diatonic third above or
    /// below the melody; part of the vocals). Default 0, as for the bus.
    #[arg(long, default_value_t = 0.0)]
    pub harmony_probability: f32,
    /// A folder of recorded instrumental music (wav, ogg, flac, mp3, searched recursively; no
    /// voices in it, e.g. the orchestral tracks of Debian's wesnoth-1.16-music): some songs get an
    /// excerpt of one of them as an extra layer of their accompaniment ("other" stem).
    #[arg(long)]
    pub music_clips: Option<PathBuf>,
    /// With `--music-clips`: the share of songs with such a layer.
    #[arg(long, default_value_t = 0.5)]
    pub music_layer_probability: f32,
    /// The share of accompaniment parts (all but the drums and the bass) that play an instrument
    /// drawn from all of General MIDI's melodic programs (xylophones, organs, ethnic instruments,
    /// synth pads and effects; voice-like ones excluded) instead of the song style's band.
    /// Default 0, as for the bus.
    #[arg(long, default_value_t = 0.0)]
    pub wide_palette_probability: f32,
    /// The share of songs with an instrumental line that plays while the voice sings: a
    /// countermelody, the melody doubled an octave away, or a drone on the tonic, by any melodic
    /// General MIDI instrument; part of the accompaniment. Default 0, as for the bus.
    #[arg(long, default_value_t = 0.0)]
    pub instrument_line_probability: f32,
    /// The share of instrumental songs: the melody played by any melodic General MIDI instrument
    /// instead of sung, the band thinned (down to that lone instrument in some songs), the vocals
    /// stem silent. Default 0, as for the bus.
    #[arg(long, default_value_t = 0.0)]
    pub instrumental_probability: f32,
    /// The range each song's vocal-to-accompaniment ratio is drawn from, in dB (`LOW,HIGH`, e.g.
    /// `-10,5`; default -6,3).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub vocal_level_db: Option<Vec<f32>>,
}

pub fn run(args: SynthArgs) -> Result<()> {
    let vocal_to_accompaniment_db = match args.vocal_level_db.as_deref() {
        None => None,
        Some(&[low, high]) => Some((low, high)),
        Some(other) => anyhow::bail!("--vocal-level-db takes two values, LOW,HIGH (got {})", other.len()),
    };
    let options = CorpusOptions {
        out: args.out,
        songs: args.songs,
        test_songs: args.test_songs,
        seed: args.seed,
        kind: args.kind,
        seconds: args.seconds,
        soundfonts: args.soundfont,
        drum_soundfonts: args.drum_soundfont,
        truth: args.truth,
        voice_clips: args.voice_clips,
        recorded_voice_probability: Some(args.recorded_voice_probability),
        sampled_voice_probability: Some(args.sampled_voice_probability),
        bus_probability: Some(args.bus_probability),
        harmony_probability: Some(args.harmony_probability),
        vocal_to_accompaniment_db,
        music_clips: args.music_clips,
        music_layer_probability: Some(args.music_layer_probability),
        wide_palette_probability: Some(args.wide_palette_probability),
        instrument_line_probability: Some(args.instrument_line_probability),
        instrumental_probability: Some(args.instrumental_probability),
    };
    let summary = write_corpus(&options)?;
    println!(
        "{}: {} songs of {} s in {:.1} s ({:.0}x real time)",
        options.out.display(),
        summary.songs,
        options.seconds,
        summary.elapsed_seconds,
        summary.songs as f64 * options.seconds as f64 / summary.elapsed_seconds.max(1e-9)
    );
    Ok(())
}
