//! Errors of the augmentation module.

/// What can go wrong when building an [`super::Augmenter`] or reading its configuration.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// A configuration value is out of its allowed range; `key` is its dotted path in the
    /// config file (e.g. `pitch.max_semitones`) so the user knows what to fix.
    #[error("invalid augmentation setting `{key}`: {reason}")]
    InvalidConfig { key: &'static str, reason: String },
    /// The configuration text is not valid TOML or has unknown/mistyped keys; toml's message
    /// names the offending key.
    #[error("cannot parse augmentation config: {0}")]
    Parse(toml::de::Error),
    /// The segment source holds no segments, so no example can be drawn.
    #[error("the segment source is empty: no training example can be drawn")]
    EmptySource,
}

// By hand rather than `#[from]`, which would also make the parse error this one's `source()`:
// its text is already in the message, and anyhow's `{:#}` would print it twice.
impl From<toml::de::Error> for AugmentError {
    fn from(error: toml::de::Error) -> Self {
        Self::Parse(error)
    }
}

impl AugmentError {
    pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig { key, reason: reason.into() }
    }
}
