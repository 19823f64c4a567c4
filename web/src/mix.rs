//! The karaoke mixer's settings and the gains they give each track. Pure, so it is tested
//! natively; `mixer` applies the gains to Web Audio nodes.

use svs_core::dsp::{StemControl, stem_gains};

/// Which stem, if any, is soloed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solo {
    None,
    Vocals,
    Accompaniment,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixSettings {
    /// Play the untouched original instead of the stems (to compare).
    pub original: bool,
    /// Levels 0..=1 from the sliders.
    pub vocals_level: f32,
    pub accompaniment_level: f32,
    pub vocals_muted: bool,
    pub accompaniment_muted: bool,
    pub solo: Solo,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            original: false,
            vocals_level: 1.0,
            accompaniment_level: 1.0,
            vocals_muted: false,
            accompaniment_muted: false,
            solo: Solo::None,
        }
    }
}

impl MixSettings {
    /// Gains of (original, vocals, accompaniment), by the core's mixer rule
    /// ([`svs_core::dsp::stem_gains`]: mute wins over solo, as in the plugin and DAW mixers).
    pub fn gains(&self) -> [f32; 3] {
        if self.original {
            return [1.0, 0.0, 0.0];
        }
        let strip = |level: f32, muted: bool, stem: Solo| StemControl {
            gain: level.clamp(0.0, 1.0),
            solo: self.solo == stem,
            mute: muted,
        };
        let (vocals, accompaniment) = stem_gains(
            strip(self.vocals_level, self.vocals_muted, Solo::Vocals),
            strip(self.accompaniment_level, self.accompaniment_muted, Solo::Accompaniment),
        );
        [0.0, vocals, accompaniment]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_follow_levels_mute_solo_and_original() {
        let mut mix = MixSettings::default();
        assert_eq!(mix.gains(), [0.0, 1.0, 1.0]);
        mix.vocals_level = 0.25;
        assert_eq!(mix.gains(), [0.0, 0.25, 1.0]);
        mix.accompaniment_muted = true;
        assert_eq!(mix.gains(), [0.0, 0.25, 0.0]);
        mix.solo = Solo::Accompaniment;
        assert_eq!(mix.gains(), [0.0, 0.0, 0.0], "mute wins over solo");
        mix.accompaniment_muted = false;
        assert_eq!(mix.gains(), [0.0, 0.0, 1.0]);
        mix.solo = Solo::Vocals;
        assert_eq!(mix.gains(), [0.0, 0.25, 0.0]);
        mix.original = true;
        assert_eq!(mix.gains(), [1.0, 0.0, 0.0]);
    }
}
