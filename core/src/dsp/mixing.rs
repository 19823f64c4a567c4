//! The stem mixer's rules, shared by the plugin and the web app so both mix alike.

/// Linear gain for a level in decibels.
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// One stem's mixer strip: its linear gain, solo and mute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StemControl {
    pub gain: f32,
    pub solo: bool,
    pub mute: bool,
}

impl StemControl {
    /// At `gain`, neither soloed nor muted.
    pub fn at(gain: f32) -> Self {
        Self { gain, solo: false, mute: false }
    }
}

/// The linear gains of (vocals, accompaniment) after solo and mute, as DAW mixers do: a muted
/// stem is silent, whatever its solo (mute wins over solo); when any stem is soloed, only the
/// soloed stems are heard.
pub fn stem_gains(vocals: StemControl, accompaniment: StemControl) -> (f32, f32) {
    let any_solo = vocals.solo || accompaniment.solo;
    let gain = |s: StemControl| if s.mute || (any_solo && !s.solo) { 0.0 } else { s.gain };
    (gain(vocals), gain(accompaniment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decibels() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0) - 0.501_187).abs() < 1e-6);
        assert!((db_to_gain(20.0) - 10.0).abs() < 1e-5);
    }

    #[test]
    fn solo_and_mute() {
        let (v, a) = (StemControl::at(0.5), StemControl::at(1.0));
        assert_eq!(stem_gains(v, a), (0.5, 1.0));
        assert_eq!(stem_gains(StemControl { solo: true, ..v }, a), (0.5, 0.0), "solo silences the other");
        assert_eq!(stem_gains(v, StemControl { solo: true, ..a }), (0.0, 1.0));
        assert_eq!(stem_gains(StemControl { mute: true, ..v }, a), (0.0, 1.0));
        let (sv, sa) = (StemControl { solo: true, ..v }, StemControl { solo: true, ..a });
        assert_eq!(stem_gains(sv, sa), (0.5, 1.0), "both soloed: both heard");
        assert_eq!(stem_gains(StemControl { mute: true, ..sv }, sa), (0.0, 1.0), "mute wins over solo");
        assert_eq!(stem_gains(v, StemControl { mute: true, ..sa }), (0.0, 0.0), "a muted solo is silent");
    }
}
