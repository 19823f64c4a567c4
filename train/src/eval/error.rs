//! Errors of the evaluation metrics.

/// Why BSS Eval could not score a set of signals.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("no sources given")]
    NoSources,
    #[error("{references} reference sources but {estimates} estimates")]
    SourceCountMismatch { references: usize, estimates: usize },
    #[error("{kind} {source_index} has no channels")]
    NoChannels { kind: SignalKind, source_index: usize },
    #[error("{kind} {source_index} has {found} channels, expected {expected} like reference 0")]
    ChannelCountMismatch { kind: SignalKind, source_index: usize, expected: usize, found: usize },
    #[error(
        "{kind} {source_index} channel {channel} has {found} samples, expected {expected} \
         like reference 0"
    )]
    LengthMismatch { kind: SignalKind, source_index: usize, channel: usize, expected: usize, found: usize },
    #[error("the signals are empty")]
    ZeroLength,
    #[error("{kind} {source_index} channel {channel} has a non-finite sample at {sample}")]
    NonFinite { kind: SignalKind, source_index: usize, channel: usize, sample: usize },
    /// museval refuses an all-zero reference or estimate (the projection is then undefined).
    #[error("{kind} {source_index} is silent (all zeros) over the whole signal")]
    SilentSource { kind: SignalKind, source_index: usize },
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Only from a transform given buffers of the wrong size, i.e. a bug here.
    #[error("FFT failed: {0}")]
    Fft(realfft::FftError),
}

// By hand rather than `#[from]`, which would also make the FFT error this one's `source()`: its
// text is already in the message, and anyhow's `{:#}` would print it twice.
impl From<realfft::FftError> for EvalError {
    fn from(error: realfft::FftError) -> Self {
        Self::Fft(error)
    }
}

/// Which side of the comparison a signal belongs to, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Reference,
    Estimate,
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignalKind::Reference => "reference",
            SignalKind::Estimate => "estimate",
        })
    }
}
