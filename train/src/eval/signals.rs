//! Input checking and the flattened view of the sources.

use std::ops::Range;

use super::error::{EvalError, SignalKind};

/// Signals of one side, flattened so that signal `source * channels + channel` is one channel.
pub(crate) struct SourceSet<'a> {
    pub(crate) channels: usize,
    pub(crate) signals: Vec<&'a [f64]>,
}

impl<'a> SourceSet<'a> {
    pub(crate) fn sources(&self) -> usize {
        self.signals.len() / self.channels
    }

    pub(crate) fn len(&self) -> usize {
        self.signals.first().map_or(0, |s| s.len())
    }

    pub(crate) fn channel(&self, source: usize, channel: usize) -> &'a [f64] {
        self.signals[source * self.channels + channel]
    }

    /// museval's `_any_source_silent` for one source: the sum over its channels is exactly
    /// zero at every sample of `range`.
    pub(crate) fn is_silent(&self, source: usize, range: Range<usize>) -> bool {
        range.into_iter().all(|n| {
            let sum: f64 = (0..self.channels).map(|c| self.channel(source, c)[n]).sum();
            sum == 0.0
        })
    }
}

/// Checks the shapes and samples of both sides and flattens them; mirrors museval's
/// `validate` (same shapes, no all-zero source), plus a check museval lacks: every sample must
/// be finite, so that a broken estimate is an error instead of NaN scores.
pub(crate) fn validated<'a>(
    references: &[Vec<&'a [f64]>],
    estimates: &[Vec<&'a [f64]>],
) -> Result<(SourceSet<'a>, SourceSet<'a>), EvalError> {
    if references.is_empty() || estimates.is_empty() {
        return Err(EvalError::NoSources);
    }
    if references.len() != estimates.len() {
        return Err(EvalError::SourceCountMismatch { references: references.len(), estimates: estimates.len() });
    }
    // Reference 0's first channel sets the shape everything else must have.
    let channels = references[0].len();
    let len = references[0].first().map_or(0, |c| c.len());
    let refs = source_set(SignalKind::Reference, references, channels, len)?;
    let ests = source_set(SignalKind::Estimate, estimates, channels, len)?;
    Ok((refs, ests))
}

fn source_set<'a>(
    kind: SignalKind,
    sources: &[Vec<&'a [f64]>],
    channels: usize,
    len: usize,
) -> Result<SourceSet<'a>, EvalError> {
    for (j, source) in sources.iter().enumerate() {
        if source.is_empty() {
            return Err(EvalError::NoChannels { kind, source_index: j });
        }
        if source.len() != channels {
            return Err(EvalError::ChannelCountMismatch {
                kind,
                source_index: j,
                expected: channels,
                found: source.len(),
            });
        }
        for (c, samples) in source.iter().enumerate() {
            if samples.len() != len {
                return Err(EvalError::LengthMismatch {
                    kind,
                    source_index: j,
                    channel: c,
                    expected: len,
                    found: samples.len(),
                });
            }
            if let Some(sample) = first_non_finite(samples) {
                return Err(EvalError::NonFinite { kind, source_index: j, channel: c, sample });
            }
        }
    }
    if len == 0 {
        return Err(EvalError::ZeroLength);
    }
    let set = SourceSet { channels, signals: sources.iter().flatten().copied().collect() };
    match (0..set.sources()).find(|&j| set.is_silent(j, 0..len)) {
        Some(j) => Err(EvalError::SilentSource { kind, source_index: j }),
        None => Ok(set),
    }
}

/// Index of the first NaN or infinity. Scans in chunks with a branch-free test so the common,
/// all-finite case runs at memory speed.
fn first_non_finite(samples: &[f64]) -> Option<usize> {
    const CHUNK: usize = 1024;
    samples.chunks(CHUNK).enumerate().find_map(|(i, chunk)| {
        let all_finite = chunk.iter().fold(true, |ok, v| ok & v.is_finite());
        if all_finite { None } else { chunk.iter().position(|v| !v.is_finite()).map(|k| i * CHUNK + k) }
    })
}
