//! Input checking and the flattened view of the sources.

use std::ops::Range;

use super::error::{EvalError, SignalKind};
use multiversion::multiversion;

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
    let sets = |scan: bool| -> Result<_, EvalError> {
        let refs = source_set(SignalKind::Reference, references, channels, len, scan)?;
        let ests = source_set(SignalKind::Estimate, estimates, channels, len, scan)?;
        Ok((refs, ests))
    };
    // The scan for non-finite samples is a whole pass over the signals: it is left to
    // `first_non_finite_error`, which callers run when a result shows there is one. Where
    // another check fails, the checks are redone with the scan, so the error is the one the
    // checks in their documented order give.
    sets(false).or_else(|_| sets(true))
}

/// The error [`validated`]'s scan for non-finite samples gives, if any: the first NaN or
/// infinity, references before estimates, each by source, channel and sample.
///
/// `validated` leaves this scan out; run it whenever a result computed from every sample is
/// not finite. A NaN or infinite sample makes every whole-track correlation it enters non-finite
/// (it spreads to every bin of its block's spectrum, and from there to every lag), so when all
/// correlations are finite, so are all samples.
pub(crate) fn first_non_finite_error(refs: &SourceSet, ests: &SourceSet) -> Option<EvalError> {
    for (kind, set) in [(SignalKind::Reference, refs), (SignalKind::Estimate, ests)] {
        for (i, samples) in set.signals.iter().enumerate() {
            if let Some(sample) = first_non_finite(samples) {
                let (source_index, channel) = (i / set.channels, i % set.channels);
                return Some(EvalError::NonFinite { kind, source_index, channel, sample });
            }
        }
    }
    None
}

fn source_set<'a>(
    kind: SignalKind,
    sources: &[Vec<&'a [f64]>],
    channels: usize,
    len: usize,
    scan_non_finite: bool,
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
            if let Some(sample) = scan_non_finite.then(|| first_non_finite(samples)).flatten() {
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
        if all_finite(chunk) { None } else { chunk.iter().position(|v| !v.is_finite()).map(|k| i * CHUNK + k) }
    })
}

/// Whether every value is finite: `x * 0` is zero for finite `x` and NaN otherwise, so eight
/// running sums of those (which vectorise) stay zero exactly when all are.
#[multiversion(targets("x86_64+avx2"))]
fn all_finite(values: &[f64]) -> bool {
    let (blocks, rest) = values.as_chunks::<8>();
    let mut sums = [0.0; 8];
    for block in blocks {
        for (sum, x) in sums.iter_mut().zip(block) {
            *sum += x * 0.0;
        }
    }
    sums.iter().chain(rest).all(|v| v.is_finite())
}
