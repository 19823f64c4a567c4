//! The karaoke mixer's settings and the gains they give each track. Pure, so it is tested
//! natively; `mixer` applies the gains to Web Audio nodes.

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
    /// Gains of (original, vocals, accompaniment). Solo wins over mute: soloing a muted stem is
    /// a request to hear it.
    pub fn gains(&self) -> [f32; 3] {
        if self.original {
            return [1.0, 0.0, 0.0];
        }
        let audible = |stem: Solo, muted: bool| match self.solo {
            Solo::None => !muted,
            solo => solo == stem,
        };
        let vocals = if audible(Solo::Vocals, self.vocals_muted) { self.vocals_level } else { 0.0 };
        let accompaniment =
            if audible(Solo::Accompaniment, self.accompaniment_muted) { self.accompaniment_level } else { 0.0 };
        [0.0, vocals.clamp(0.0, 1.0), accompaniment.clamp(0.0, 1.0)]
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
        assert_eq!(mix.gains(), [0.0, 0.0, 1.0]);
        mix.solo = Solo::Vocals;
        assert_eq!(mix.gains(), [0.0, 0.25, 0.0]);
        mix.original = true;
        assert_eq!(mix.gains(), [1.0, 0.0, 0.0]);
    }
}
