//! Synthetic songs with known stems, for training and testing separators where real
//! multitrack datasets cannot be downloaded.
//!
//! A song is an [`arrangement`] (style, tempo, key, sections, chords, parts, melody) rendered
//! stem by stem: drums, bass and other through a General MIDI SoundFont with `rustysynth`, and
//! the vocals with the singing synthesizer in [`voice`] (optionally doubled by the SoundFont's
//! choir). Everything is deterministic from a `u64` seed. [`damp_pair`] turns a song into the
//! two leaky recordings of a karaoke app (DAMP-like data).
//!
//! ```text
//! let path = default_soundfont_path().expect("install timgm6mb-soundfont");
//! let synth = SongSynthesizer::new(&path, SynthConfig::default())?;
//! let song = synth.song(7);
//! let mixture = song.mixture();
//! let pair = damp_pair(&song, 7);
//! ```

pub mod arrangement;
pub mod bus;
pub mod corpus;
pub mod dsp;
pub mod leakage;
pub mod music;
pub mod music_layer;
pub mod psola;
pub mod recorded;
pub mod render;
pub mod voice;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustysynth::SoundFont;

pub use arrangement::{ArrangementConfig, PartRole, Section, SectionKind, Style};
pub use leakage::{DampPair, LeakageConfig, damp_pair, damp_pair_from_stems, room_impulse_response};
pub use voice::{Consonant, SungNote, Syllable, VoiceConfig, VoiceType, Vowel, sing};

use crate::random::uniform_in;
use arrangement::Arrangement;
use dsp::{energy, peak};
use svs_core::dsp::db_to_gain;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("SoundFont not found at {}", .path.display())]
    SoundFontMissing { path: PathBuf },
    #[error("cannot read SoundFont {}: {error}", .path.display())]
    SoundFontUnreadable { path: PathBuf, error: std::io::Error },
    #[error("invalid SoundFont {}: {message}", .path.display())]
    SoundFontInvalid { path: PathBuf, message: String },
    #[error("invalid synthesis configuration: {0}")]
    InvalidConfig(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("SoundFont synthesizer: {0}")]
    Synthesizer(String),
    #[error("audio clip {}: {message}", .path.display())]
    Clip { path: PathBuf, message: String },
    #[error(
        "no usable audio clip (wav, ogg, flac, mp3 of 0.15 s or more) under {} ({unreadable} file(s) could not be read)",
        .dir.display()
    )]
    NoClips { dir: PathBuf, unreadable: usize },
}

/// Where Debian-like systems keep General MIDI SoundFonts. `SVS_SOUNDFONT`, when set and
/// non-empty, wins even if the file is missing, so a typo surfaces as a clear
/// [`SynthError::SoundFontMissing`] instead of silently using another font.
pub fn default_soundfont_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SVS_SOUNDFONT").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    const CANDIDATES: [&str; 5] = [
        "/usr/share/sounds/sf2/TimGM6mb.sf2",
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
        "/usr/share/sounds/sf2/default-GM.sf2",
        "/usr/share/soundfonts/default.sf2",
        "/usr/share/soundfonts/FluidR3_GM.sf2",
    ];
    CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Parameters of the song generator. Ranges are `(low, high)`; each song draws within them.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    pub sample_rate: u32,
    pub duration_seconds: f32,
    pub tempo_range_bpm: (f32, f32),
    /// Vocal energy over the accompaniment's, measured where the melody is sung (dB).
    pub vocal_to_accompaniment_db: (f32, f32),
    /// Peak of the mixture after the stems are scaled together.
    pub target_peak: f32,
    /// Probability that a song starts at a later section rather than its intro.
    pub random_start_probability: f32,
    pub female_probability: f32,
    /// Probability of doubling the vocal with the SoundFont's "Choir Aahs" (program 52).
    pub choir_double_probability: f32,
    /// Level of that doubling relative to the synthesized voice (dB).
    pub choir_level_db: (f32, f32),
    /// Level of the vocal reverb's wet signal relative to the dry voice (dB).
    pub vocal_reverb_db: (f32, f32),
    /// Level of the instrument stems' reverb relative to their dry signal (dB).
    pub instrument_reverb_db: (f32, f32),
    /// Reverberation time range of the song's room (s).
    pub reverb_time_s: (f32, f32),
    /// The SoundFont synthesizer's own reverb and chorus. Off by default: it costs more than
    /// the rest of the song together, and the generator's own reverb varies per song.
    pub soundfont_effects: bool,
    /// Probability that a song's voice is recorded clips ([`recorded`]) instead of the
    /// synthetic singer, when the synthesizer has clips ([`SongSynthesizer::with_voice_clips`]).
    pub recorded_voice_probability: f32,
    /// Probability that a song not sung by recorded clips is sung by the SoundFont's sampled
    /// voices ("Choir Aahs" or "Voice Oohs": recordings of real singers) instead of the
    /// synthetic singer. Off by default, so earlier corpora stay the same.
    pub sampled_voice_probability: f32,
    /// Probability that a song goes through a mix bus ([`bus`]: a compressor and a limiter whose
    /// gain multiplies every stem). Off by default, so the corpora made before it stay the same.
    pub bus_probability: f32,
    /// Probability that a second singer harmonises the choruses (a diatonic third above or
    /// below the melody), counted as vocals. Off by default, so earlier corpora stay the same.
    pub harmony_probability: f32,
    /// Level of the harmony relative to the lead voice where both sing (dB).
    pub harmony_level_db: (f32, f32),
    /// Probability that a song's `other` stem gets a layer of recorded instrumental music
    /// ([`music_layer`]), when the synthesizer has music clips
    /// ([`SongSynthesizer::with_music_clips`]). Off by default, so earlier corpora stay the same.
    pub music_layer_probability: f32,
    /// Level of that layer relative to the SoundFont's `other` stem (dB).
    pub music_layer_db: (f32, f32),
    /// Probability that each accompaniment part other than the drums and the bass plays an
    /// instrument drawn from all of General MIDI's melodic programs instead of its style's palette
    /// ([`arrangement::wide_palette`]). Off by default, so earlier corpora stay the same.
    pub wide_palette_probability: f32,
    /// Probability that a song gets an instrumental line that plays while the voice sings (a
    /// countermelody, the melody doubled an octave away, or a drone; [`arrangement::instrument_line`]),
    /// counted as accompaniment. Off by default, so earlier corpora stay the same.
    pub instrument_line_probability: f32,
    /// Probability that a song is an instrumental ([`arrangement::make_instrumental`]): its melody
    /// played by an instrument instead of sung, its band thinned, its vocals stem silent. Off by
    /// default, so earlier corpora stay the same.
    pub instrumental_probability: f32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            duration_seconds: 30.0,
            tempo_range_bpm: (70.0, 150.0),
            vocal_to_accompaniment_db: (-6.0, 3.0),
            target_peak: 0.9,
            random_start_probability: 0.5,
            female_probability: 0.5,
            choir_double_probability: 0.25,
            choir_level_db: (-18.0, -10.0),
            vocal_reverb_db: (-20.0, -10.0),
            instrument_reverb_db: (-20.0, -8.0),
            reverb_time_s: (0.5, 2.0),
            soundfont_effects: false,
            recorded_voice_probability: 0.5,
            sampled_voice_probability: 0.0,
            bus_probability: 0.0,
            harmony_probability: 0.0,
            harmony_level_db: (-12.0, -4.0),
            music_layer_probability: 0.0,
            music_layer_db: (-6.0, 3.0),
            wide_palette_probability: 0.0,
            instrument_line_probability: 0.0,
            instrumental_probability: 0.0,
        }
    }
}

impl SynthConfig {
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: String| Err(SynthError::InvalidConfig(m));
        // rustysynth accepts 16-192 kHz.
        if !(16_000..=192_000).contains(&self.sample_rate) {
            return bad(format!("sample_rate {} outside 16000..=192000", self.sample_rate));
        }
        if !(self.duration_seconds.is_finite() && self.duration_seconds > 0.0 && self.duration_seconds <= 3600.0) {
            return bad(format!("duration_seconds {} outside (0, 3600]", self.duration_seconds));
        }
        let ranges = [
            ("tempo_range_bpm", self.tempo_range_bpm),
            ("vocal_to_accompaniment_db", self.vocal_to_accompaniment_db),
            ("choir_level_db", self.choir_level_db),
            ("vocal_reverb_db", self.vocal_reverb_db),
            ("instrument_reverb_db", self.instrument_reverb_db),
            ("reverb_time_s", self.reverb_time_s),
            ("harmony_level_db", self.harmony_level_db),
            ("music_layer_db", self.music_layer_db),
        ];
        for (name, (low, high)) in ranges {
            if !(low.is_finite() && high.is_finite() && low <= high) {
                return bad(format!("{name} must be finite with low <= high"));
            }
        }
        if !(self.tempo_range_bpm.0 >= 20.0 && self.tempo_range_bpm.1 <= 400.0) {
            return bad("tempo_range_bpm must lie within 20..=400".into());
        }
        if !(self.reverb_time_s.0 >= 0.05 && self.reverb_time_s.1 <= 10.0) {
            return bad("reverb_time_s must lie within 0.05..=10".into());
        }
        if !(self.target_peak > 0.0 && self.target_peak < 1.0) {
            return bad(format!("target_peak {} outside (0, 1)", self.target_peak));
        }
        for (name, p) in [
            ("random_start_probability", self.random_start_probability),
            ("female_probability", self.female_probability),
            ("choir_double_probability", self.choir_double_probability),
            ("recorded_voice_probability", self.recorded_voice_probability),
            ("sampled_voice_probability", self.sampled_voice_probability),
            ("bus_probability", self.bus_probability),
            ("harmony_probability", self.harmony_probability),
            ("music_layer_probability", self.music_layer_probability),
            ("wide_palette_probability", self.wide_palette_probability),
            ("instrument_line_probability", self.instrument_line_probability),
            ("instrumental_probability", self.instrumental_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} {p} outside 0..=1"));
            }
        }
        Ok(())
    }

    fn num_samples(&self) -> usize {
        (self.duration_seconds as f64 * self.sample_rate as f64).round() as usize
    }
}

/// The General MIDI programs a song uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SongPrograms {
    /// GM drum kit (bank 128 preset).
    pub drum_kit: u8,
    pub bass: u8,
    /// Programs of the `other` stem's parts with their roles.
    pub other: Vec<(PartRole, u8)>,
    /// Whether "Choir Aahs" doubles the vocal.
    pub choir_double: bool,
}

/// A synthetic song: four mono stems at `sample_rate` plus what generated them.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSong {
    pub name: String,
    pub seed: u64,
    pub sample_rate: u32,
    pub vocals: Vec<f32>,
    pub drums: Vec<f32>,
    pub bass: Vec<f32>,
    pub other: Vec<f32>,
    pub style: Style,
    pub tempo_bpm: f32,
    pub beats_per_bar: u32,
    /// E.g. "F# minor".
    pub key: String,
    pub voice: VoiceType,
    /// The recorded clips that are the song's voice, in order (empty: the synthetic singer).
    pub recorded_voice: Vec<String>,
    /// The SoundFont program that sings the melody instead of the synthetic singer, if any.
    pub sampled_voice: Option<u8>,
    /// Which of the synthesizer's SoundFonts rendered the song (0: the first).
    pub soundfont: usize,
    /// Which of its drum kits played the drums (`None`: the song's SoundFont).
    pub drum_soundfont: Option<usize>,
    pub programs: SongPrograms,
    /// The mix bus the song went through, if any.
    pub bus: Option<bus::BusSettings>,
    /// The harmony singer's notes (empty: no harmony), part of the vocals.
    pub harmony: Vec<SungNote>,
    /// The recorded music clip layered into `other`, if any.
    pub music_layer: Option<String>,
    /// The instrumental line playing over the voice, if any (its part is the last of
    /// `programs.other`).
    pub instrument_line: Option<arrangement::LineKind>,
    /// Whether the song is an instrumental: `melody` played by an instrument (the last of
    /// `programs.other`), the vocals silent.
    pub instrumental: bool,
    /// The drawn vocal-to-accompaniment ratio (dB over the sung samples).
    pub vocal_to_accompaniment_db: f32,
    /// Every sung note (times in seconds from the song start); in an instrumental, the notes its
    /// melody instrument plays instead.
    pub melody: Vec<SungNote>,
    pub sections: Vec<Section>,
}

impl SynthSong {
    pub fn accompaniment(&self) -> Vec<f32> {
        self.drums.iter().zip(&self.bass).zip(&self.other).map(|((d, b), o)| d + b + o).collect()
    }

    pub fn mixture(&self) -> Vec<f32> {
        self.accompaniment().iter().zip(&self.vocals).map(|(a, v)| a + v).collect()
    }

    pub fn duration_seconds(&self) -> f32 {
        self.vocals.len() as f32 / self.sample_rate as f32
    }
}

/// Generates songs; holds the parsed SoundFonts so many songs (and threads) share them.
#[derive(Clone, Debug)]
pub struct SongSynthesizer {
    /// Each song's instruments and sampled voices come from one of these, drawn per song.
    fonts: Vec<Arc<SoundFont>>,
    /// Drum kits that may play a song's drums instead of its SoundFont's own kit.
    drum_fonts: Vec<Arc<SoundFont>>,
    config: SynthConfig,
    voice_clips: Option<Arc<recorded::ClipLibrary>>,
    music_clips: Option<Arc<recorded::ClipLibrary>>,
}

impl SongSynthesizer {
    pub fn new(soundfont_path: &Path, config: SynthConfig) -> Result<Self, SynthError> {
        config.validate()?;
        let font = load_checked(soundfont_path, &config)?;
        Ok(Self { fonts: vec![font], drum_fonts: Vec::new(), config, voice_clips: None, music_clips: None })
    }

    /// Songs whose SoundFont is drawn per song, evenly, from the first one and `more`. With one
    /// SoundFont nothing is drawn, so songs stay what they were.
    pub fn with_soundfonts(mut self, more: &[PathBuf]) -> Result<Self, SynthError> {
        for path in more {
            self.fonts.push(load_checked(path, &self.config)?);
        }
        Ok(self)
    }

    /// Songs whose drums are played, evenly drawn per song, by their SoundFont's own kit or by
    /// the General MIDI drum kit (bank 128) of one of `kits` (e.g. the AVL acoustic kits). Without
    /// kits nothing is drawn, so songs stay what they were.
    pub fn with_drum_soundfonts(mut self, kits: &[PathBuf]) -> Result<Self, SynthError> {
        for path in kits {
            self.drum_fonts.push(load_checked(path, &self.config)?);
        }
        Ok(self)
    }

    /// Songs whose voice is, with [`SynthConfig::recorded_voice_probability`], drawn from
    /// `clips` (at the configuration's sample rate) instead of sung by the synthetic singer.
    pub fn with_voice_clips(mut self, clips: Arc<recorded::ClipLibrary>) -> Result<Self, SynthError> {
        self.check_rate(&clips, "voice")?;
        self.voice_clips = Some(clips);
        Ok(self)
    }

    /// Songs whose `other` stem gets, with [`SynthConfig::music_layer_probability`], a layer of
    /// one of `clips` (recorded instrumental music at the configuration's sample rate).
    pub fn with_music_clips(mut self, clips: Arc<recorded::ClipLibrary>) -> Result<Self, SynthError> {
        self.check_rate(&clips, "music")?;
        self.music_clips = Some(clips);
        Ok(self)
    }

    /// Clips must be at the songs' sample rate (`what` names them in the error).
    fn check_rate(&self, clips: &recorded::ClipLibrary, what: &str) -> Result<(), SynthError> {
        if clips.sample_rate() == self.config.sample_rate {
            return Ok(());
        }
        Err(SynthError::InvalidConfig(format!(
            "{what} clips at {} Hz for songs at {} Hz",
            clips.sample_rate(),
            self.config.sample_rate
        )))
    }

    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// The song for `seed`: identical for identical seeds and configurations.
    pub fn song(&self, seed: u64) -> SynthSong {
        let cfg = &self.config;
        let sr = cfg.sample_rate;
        let n = cfg.num_samples();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let arrangement_config = ArrangementConfig {
            tempo_range_bpm: cfg.tempo_range_bpm,
            random_start_probability: cfg.random_start_probability as f64,
            female_probability: cfg.female_probability as f64,
            choir_double_probability: cfg.choir_double_probability as f64,
        };
        let mut arr = arrangement::generate(&mut rng, cfg.duration_seconds as f64, &arrangement_config);
        // Separate streams per component: a change in one does not reshuffle the others.
        let voice_seed: u64 = rng.random();
        let mix_seed: u64 = rng.random();
        // So does the wide palette: songs made without it stay exactly what they were.
        let mut palette_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x9A1E_77E0_4DE5_0005);
        arrangement::wide_palette(&mut arr.other, cfg.wide_palette_probability as f64, &mut palette_rng);
        // And the instrumental line over the voice.
        let mut line_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x11E0_7E55_0A1C_0006);
        let instrument_line = (line_rng.random::<f32>() < cfg.instrument_line_probability).then(|| {
            let (kind, part) = arrangement::instrument_line(&arr, &mut line_rng, cfg.duration_seconds as f64);
            arr.other.push(part);
            kind
        });
        // And the instrumental.
        let mut instrumental_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x1257_4E4D_0A17_0007);
        let instrumental = instrumental_rng.random::<f32>() < cfg.instrumental_probability;
        if instrumental {
            arrangement::make_instrumental(&mut arr, &mut instrumental_rng);
        }
        let mut mix_rng = ChaCha8Rng::seed_from_u64(mix_seed);

        // The SoundFont draws from a stream of its own, and only when there is a choice.
        let soundfont = match self.fonts.len() {
            1 => 0,
            count => ChaCha8Rng::seed_from_u64(voice_seed ^ 0x50F7_F0A7_5E1E_C700).random_range(0..count),
        };
        let font = &self.fonts[soundfont];
        // Validated in `new`, so rendering cannot fail; silence is the safe fallback anyway.
        let render = |parts: &[&arrangement::Part], effects: bool| {
            render::render_parts(font, parts, sr, n, effects).unwrap_or_else(|_| vec![0.0; n])
        };
        // The drum kit too (index into `drum_fonts`; `None`: the song's SoundFont).
        let drum_soundfont = match self.drum_fonts.len() {
            0 => None,
            kits => ChaCha8Rng::seed_from_u64(voice_seed ^ 0xD2_0F0A7_5E1E_C701).random_range(0..=kits).checked_sub(1),
        };
        let mut drums = match drum_soundfont {
            Some(kit) => render::render_parts(&self.drum_fonts[kit], &[&arr.drums], sr, n, cfg.soundfont_effects)
                .unwrap_or_else(|_| vec![0.0; n]),
            None => render(&[&arr.drums], cfg.soundfont_effects),
        };
        let mut bass = render(&[&arr.bass], cfg.soundfont_effects);
        let other_parts: Vec<&arrangement::Part> = arr.other.iter().collect();
        let mut other = render(&other_parts, cfg.soundfont_effects);

        let voice_config = VoiceConfig::random(arr.voice_type, sr, &mut mix_rng);
        // Recorded clips draw from a stream of their own, only when there are clips: songs made
        // without clips stay exactly what they were. An instrumental sings nothing.
        let recorded = self.voice_clips.as_ref().filter(|_| !instrumental).and_then(|clips| {
            let mut clip_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x5EC0_4DED_C11F_5EED);
            (clip_rng.random::<f32>() < cfg.recorded_voice_probability)
                .then(|| recorded::recorded_vocals(clips, &arr.melody, n, &mut clip_rng))
        });
        // So does a sampled voice, so songs made without one stay the same.
        let mut sampled_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x5A3B_1ED0_C401_0003);
        let sampled_voice = (recorded.is_none() && sampled_rng.random::<f32>() < cfg.sampled_voice_probability)
            .then(|| if sampled_rng.random_bool(0.5) { arrangement::CHOIR_AAHS } else { arrangement::VOICE_OOHS });
        let (mut vocals, recorded_voice) = match (recorded, sampled_voice) {
            _ if instrumental => (vec![0.0; n], Vec::new()),
            (Some(recorded), _) => recorded,
            (None, Some(program)) => (render(&[&arrangement::sung_part(&arr.melody, program)], false), Vec::new()),
            (None, None) => {
                (sing(&arr.melody, n, &voice_config, voice_seed).unwrap_or_else(|_| vec![0.0; n]), Vec::new())
            }
        };
        let sung = sung_mask(&arr.melody, sr, n);
        // A harmony singer draws from a stream of its own, so songs made without one stay the same.
        let mut harmony_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x4A12_3011_7E55_0002);
        let harmony = if harmony_rng.random::<f32>() < cfg.harmony_probability && !instrumental {
            harmony_notes(&arr, harmony_rng.random_bool(0.5))
        } else {
            Vec::new()
        };
        if !harmony.is_empty() {
            let voice_type = if harmony_rng.random_bool(0.5) { VoiceType::Male } else { VoiceType::Female };
            let singer = VoiceConfig::random(voice_type, sr, &mut harmony_rng);
            let line = sing(&harmony, n, &singer, harmony_rng.random()).unwrap_or_else(|_| vec![0.0; n]);
            let both = sung_mask(&harmony, sr, n);
            let gain = relative_gain(&line, &vocals, &both, uniform_in(&mut harmony_rng, cfg.harmony_level_db));
            vocals.iter_mut().zip(&line).for_each(|(v, h)| *v += gain * h);
        }
        if let Some(choir) = &arr.choir {
            let doubled = render(&[choir], false);
            let gain = relative_gain(&doubled, &vocals, &sung, uniform_in(&mut mix_rng, cfg.choir_level_db));
            vocals.iter_mut().zip(&doubled).for_each(|(v, c)| *v += gain * c);
        }
        // One room per song: every stem gets its own reverb instance with shared character.
        let room = (
            uniform_in(&mut mix_rng, cfg.reverb_time_s),
            mix_rng.random_range(0.6..1.4f32),
            mix_rng.random_range(2500.0..7000.0f32),
        );
        add_reverb(&mut vocals, sr, room, uniform_in(&mut mix_rng, cfg.vocal_reverb_db));
        add_reverb(&mut other, sr, room, uniform_in(&mut mix_rng, cfg.instrument_reverb_db));
        add_reverb(&mut drums, sr, room, uniform_in(&mut mix_rng, cfg.instrument_reverb_db) - 4.0);
        // A recorded music layer draws from a stream of its own, only when there are music
        // clips, so songs made without them stay exactly what they were.
        let music_layer = self.music_clips.as_ref().and_then(|clips| {
            let mut layer_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0x30_51C0_1A7E_4004);
            (layer_rng.random::<f32>() < cfg.music_layer_probability).then(|| {
                let (layer, name) = music_layer::music_layer(clips, n, &mut layer_rng);
                let everywhere = vec![true; n];
                let level = uniform_in(&mut layer_rng, cfg.music_layer_db);
                let gain = relative_gain(&layer, &other, &everywhere, level);
                other.iter_mut().zip(&layer).for_each(|(o, l)| *o += gain * l);
                name
            })
        });

        // Instrument balance: each stem at its own RMS around a common level, so a soft
        // SoundFont preset cannot make a stem vanish.
        for (stem, (low, high)) in [(&mut drums, (-2.0, 2.0)), (&mut bass, (-5.0, 0.0)), (&mut other, (-3.0, 2.0))] {
            let e = energy(stem);
            if e > 0.0 {
                let target = 0.1 * db_to_gain(mix_rng.random_range(low..high));
                let gain = target / (e / n as f64).sqrt() as f32;
                stem.iter_mut().for_each(|x| *x *= gain);
            }
        }
        let mut accompaniment: Vec<f32> = drums.iter().zip(&bass).zip(&other).map(|((d, b), o)| d + b + o).collect();
        let ratio_db = uniform_in(&mut mix_rng, cfg.vocal_to_accompaniment_db);
        let gain = relative_gain(&vocals, &accompaniment, &sung, ratio_db);
        vocals.iter_mut().for_each(|v| *v *= gain);

        // The mix bus draws from a stream of its own, so songs made without it stay the same.
        let mut bus_rng = ChaCha8Rng::seed_from_u64(voice_seed ^ 0xB05_C0_4D_1117_0001);
        let bus = (bus_rng.random::<f32>() < cfg.bus_probability).then(|| bus::BusSettings::draw(&mut bus_rng));
        if let Some(settings) = &bus {
            let mixture: Vec<f32> = accompaniment.iter().zip(&vocals).map(|(a, v)| a + v).collect();
            let gain = bus::bus_gain(&mixture, sr, settings);
            for stem in [&mut vocals, &mut drums, &mut bass, &mut other, &mut accompaniment] {
                stem.iter_mut().zip(&gain).for_each(|(x, g)| *x *= g);
            }
        }
        let mixture_peak = peak(&accompaniment.iter().zip(&vocals).map(|(a, v)| a + v).collect::<Vec<f32>>());
        if mixture_peak > 0.0 {
            let gain = cfg.target_peak / mixture_peak;
            for stem in [&mut vocals, &mut drums, &mut bass, &mut other] {
                stem.iter_mut().for_each(|x| *x *= gain);
            }
        }
        let mut song = song_from(arr, seed, sr, ratio_db, [vocals, drums, bass, other], recorded_voice);
        song.bus = bus;
        song.harmony = harmony;
        song.music_layer = music_layer;
        song.instrument_line = instrument_line;
        song.instrumental = instrumental;
        song.sampled_voice = sampled_voice;
        song.soundfont = soundfont;
        song.drum_soundfont = drum_soundfont;
        song
    }
}

/// The chorus melody a diatonic third above (`above`) or below, as a backing singer harmonises
/// it: each note moved two scale steps in the song's key, keeping its timing and syllable.
fn harmony_notes(arr: &Arrangement, above: bool) -> Vec<SungNote> {
    let in_chorus = |t: f64| {
        arr.sections.iter().any(|s| s.kind == arrangement::SectionKind::Chorus && s.start_s <= t && t < s.end_s)
    };
    arr.melody
        .iter()
        .filter(|note| in_chorus(note.start_s))
        .map(|note| {
            let written = note.midi.round();
            let moved = arr.key.step(written as i32, if above { 2 } else { -2 }) as f32;
            SungNote { midi: moved + (note.midi - written), ..note.clone() }
        })
        .collect()
}

/// The song from its arrangement and its stems (`[vocals, drums, bass, other]`).
fn song_from(
    arr: Arrangement,
    seed: u64,
    sample_rate: u32,
    ratio_db: f32,
    [vocals, drums, bass, other]: [Vec<f32>; 4],
    recorded_voice: Vec<String>,
) -> SynthSong {
    SynthSong {
        name: format!("synth-{seed:016x}"),
        seed,
        sample_rate,
        vocals,
        drums,
        bass,
        other,
        style: arr.style,
        tempo_bpm: arr.tempo_bpm,
        beats_per_bar: arr.beats_per_bar,
        key: arr.key.name(),
        voice: arr.voice_type,
        recorded_voice,
        sampled_voice: None,
        soundfont: 0,
        drum_soundfont: None,
        bus: None,
        harmony: Vec::new(),
        music_layer: None,
        instrument_line: None,
        instrumental: false,
        programs: SongPrograms {
            drum_kit: arr.drums.program,
            bass: arr.bass.program,
            other: arr.other.iter().map(|p| (p.role, p.program)).collect(),
            choir_double: arr.choir.is_some(),
        },
        vocal_to_accompaniment_db: ratio_db,
        melody: arr.melody,
        sections: arr.sections,
    }
}

/// [`load_soundfont`], then one synthesizer built from it for `config`, so that settings problems
/// surface when the synthesizer is made, not in `song`.
fn load_checked(path: &Path, config: &SynthConfig) -> Result<Arc<SoundFont>, SynthError> {
    let font = load_soundfont(path)?;
    render::synthesizer(&font, config.sample_rate, config.soundfont_effects)?;
    Ok(font)
}

fn load_soundfont(path: &Path) -> Result<Arc<SoundFont>, SynthError> {
    if !path.is_file() {
        return Err(SynthError::SoundFontMissing { path: path.to_path_buf() });
    }
    let file = std::fs::File::open(path)
        .map_err(|error| SynthError::SoundFontUnreadable { path: path.to_path_buf(), error })?;
    let mut reader = std::io::BufReader::new(file);
    let font = SoundFont::new(&mut reader)
        .map_err(|e| SynthError::SoundFontInvalid { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(Arc::new(font))
}

/// Marks the samples where a melody note sounds.
fn sung_mask(melody: &[SungNote], sample_rate: u32, n: usize) -> Vec<bool> {
    let mut mask = vec![false; n];
    let fs = sample_rate as f64;
    for note in melody {
        let a = ((note.start_s * fs).max(0.0) as usize).min(n);
        let b = ((note.end_s() * fs).max(0.0) as usize).min(n);
        mask[a..b].iter_mut().for_each(|m| *m = true);
    }
    mask
}

/// Gain that puts `signal`'s energy `level_db` above `reference`'s, both measured over the
/// masked samples (the whole signals when the mask is empty). 0 when `signal` is silent there.
fn relative_gain(signal: &[f32], reference: &[f32], mask: &[bool], level_db: f32) -> f32 {
    let any = mask.iter().any(|&m| m);
    let masked_energy =
        |x: &[f32]| -> f64 { x.iter().zip(mask).filter(|(_, m)| **m || !any).map(|(v, _)| (*v as f64).powi(2)).sum() };
    let (s, r) = (masked_energy(signal), masked_energy(reference));
    if s <= 0.0 || r <= 0.0 {
        return if s <= 0.0 { 0.0 } else { 1.0 };
    }
    ((r / s).sqrt() as f32) * db_to_gain(level_db)
}

/// Adds reverb from `room` = (rt60 s, size, damping Hz) at `wet_db` relative to the dry
/// signal's energy, as every produced stem has some.
fn add_reverb(signal: &mut [f32], sample_rate: u32, room: (f32, f32, f32), wet_db: f32) {
    let mut reverb = dsp::Reverb::new(sample_rate, room.0, room.1, room.2);
    let wet = dsp::reverberate(signal, &mut reverb);
    let (d, w) = (energy(signal), energy(&wet));
    let gain = if w > 0.0 { ((d / w).sqrt() as f32) * db_to_gain(wet_db) } else { 0.0 };
    signal.iter_mut().zip(&wet).for_each(|(v, w)| *v += gain * w);
}
