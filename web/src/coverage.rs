//! Which frames of the song are separated so far, and where to separate next. The worker
//! separates in stretches (from wherever the listener is, then the rest); the page draws the
//! separated stretches on the waveform. Pure, so it is tested natively.

use std::ops::Range;

/// The player's render quantum (Web Audio's 128 frames). The player counts separated frames per
/// quantum, so stretches start on quantum boundaries: see [`quantum_start`].
pub const QUANTUM: usize = 128;

/// The start of the quantum holding `frame`: where a stretch for a listener at `frame` begins.
pub fn quantum_start(frame: usize) -> usize {
    frame / QUANTUM * QUANTUM
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coverage {
    total: usize,
    /// Separated stretches: sorted, disjoint, never touching (touching ones are merged).
    ranges: Vec<Range<usize>>,
}

impl Coverage {
    /// Nothing separated yet of a song of `total` frames.
    pub fn new(total: usize) -> Self {
        Self { total, ranges: Vec::new() }
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// The separated stretches, in order.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// Marks `range` separated (clipped to the song).
    pub fn add(&mut self, range: Range<usize>) {
        let range = range.start.min(self.total)..range.end.min(self.total);
        if range.is_empty() {
            return;
        }
        // The stretches that touch or overlap `range` merge into one.
        let first = self.ranges.partition_point(|r| r.end < range.start);
        let last = self.ranges.partition_point(|r| r.start <= range.end);
        let merged = if first < last {
            self.ranges[first].start.min(range.start)..self.ranges[last - 1].end.max(range.end)
        } else {
            range
        };
        self.ranges.splice(first..last, [merged]);
    }

    /// Frames separated.
    pub fn covered(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    /// The fraction of the song separated (1 for an empty song).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 { 1.0 } else { self.covered() as f64 / self.total as f64 }
    }

    pub fn is_complete(&self) -> bool {
        self.covered() == self.total
    }

    /// Whether every frame of `range` is separated.
    pub fn contains(&self, range: Range<usize>) -> bool {
        range.is_empty() || self.ranges.iter().any(|r| r.start <= range.start && range.end <= r.end)
    }

    /// The next stretch to separate for a listener at frame `from`: the first one not yet
    /// separated at or after `from`, else (everything after it is done) the first one from the
    /// song's start. `None` once the whole song is separated.
    pub fn next_gap(&self, from: usize) -> Option<Range<usize>> {
        let from = from.min(self.total);
        self.gap_at_or_after(from).or_else(|| self.gap_at_or_after(0))
    }

    fn gap_at_or_after(&self, from: usize) -> Option<Range<usize>> {
        // Inside a separated stretch, the gap starts at its end.
        let start = self.ranges.iter().find(|r| r.start <= from && from < r.end).map_or(from, |r| r.end);
        if start >= self.total {
            return None;
        }
        let end = self.ranges.iter().map(|r| r.start).find(|&s| s > start).unwrap_or(self.total);
        Some(start..end)
    }

    /// Per column of a `columns`-wide drawing of the song, the fraction of its frames separated.
    pub fn columns(&self, columns: usize) -> Vec<f32> {
        (0..columns)
            .map(|i| {
                let at = |i: usize| (i as u64 * self.total as u64 / columns.max(1) as u64) as usize;
                let span = at(i)..at(i + 1);
                if span.is_empty() {
                    return if self.contains(span.start..span.start + 1) { 1.0 } else { 0.0 };
                }
                let inside: usize =
                    self.ranges.iter().map(|r| r.end.min(span.end).saturating_sub(r.start.max(span.start))).sum();
                inside as f32 / span.len() as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_merge_when_they_touch_or_overlap() {
        let mut c = Coverage::new(100);
        c.add(10..20);
        c.add(30..40);
        assert_eq!(c.ranges(), [10..20, 30..40]);
        c.add(20..25);
        assert_eq!(c.ranges(), [10..25, 30..40], "touching merges");
        c.add(24..31);
        assert_eq!(c.ranges(), [10..40], "bridging merges all three");
        c.add(0..5);
        c.add(95..200);
        assert_eq!(c.ranges(), [0..5, 10..40, 95..100], "clipped to the song");
        assert_eq!(c.covered(), 5 + 30 + 5);
        assert!((c.fraction() - 0.4).abs() < 1e-12);
        c.add(50..50);
        assert_eq!(c.ranges().len(), 3, "an empty stretch adds nothing");
        assert!(c.contains(12..40) && !c.contains(39..41) && c.contains(7..7));
    }

    #[test]
    fn the_next_gap_follows_the_listener_then_wraps_to_the_start() {
        let mut c = Coverage::new(100);
        assert_eq!(c.next_gap(0), Some(0..100));
        assert_eq!(c.next_gap(60), Some(60..100), "a seek forward separates from there");
        c.add(60..80);
        assert_eq!(c.next_gap(65), Some(80..100), "inside a separated stretch: from its end");
        assert_eq!(c.next_gap(10), Some(10..60), "before it: up to it");
        c.add(80..100);
        assert_eq!(c.next_gap(70), Some(0..60), "nothing left after the listener: from the start");
        assert_eq!(c.next_gap(250), Some(0..60), "past the end counts as the end");
        c.add(0..60);
        assert!(c.is_complete());
        assert_eq!(c.next_gap(0), None);
    }

    #[test]
    fn stretches_for_a_listener_start_on_a_quantum() {
        assert_eq!(quantum_start(793_800), 793_728);
        assert_eq!(quantum_start(127), 0);
        assert_eq!(quantum_start(256), 256);
    }

    #[test]
    fn columns_give_the_separated_share_of_each() {
        let mut c = Coverage::new(100);
        c.add(0..25);
        c.add(60..70);
        assert_eq!(c.columns(4), [1.0, 0.0, 0.4, 0.0]);
        assert_eq!(Coverage::new(3).columns(6).len(), 6, "more columns than frames");
        assert_eq!(Coverage::new(0).fraction(), 1.0);
    }
}
