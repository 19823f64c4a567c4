//! Training batches: a weighted choice of dataset, then an augmented example from it
//! (random window, random mixing, gains, pitch, filters). Deterministic from the RNG state,
//! which checkpoints save, so a resumed run sees the same examples.

use super::config::DatasetEntry;
use crate::augment::{Augmenter, SegmentSource, SourcePair};
use crate::data::{CacheError, SegmentCache};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

impl SegmentSource for SegmentCache {
    fn len(&self) -> usize {
        self.segments.len()
    }
    fn segment(&self, index: usize) -> SourcePair<'_> {
        let signals = &self.segments[index];
        SourcePair { vocals: &signals[0], accompaniment: &signals[1] }
    }
    fn song_of(&self, index: usize) -> usize {
        self.song_of[index]
    }
}

/// Several labeled caches with their sampling weights.
pub struct TrainingData {
    pub datasets: Vec<(SegmentCache, f64, String)>,
}

/// `batch` examples as flat `[batch * samples]` vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub batch: usize,
    pub samples: usize,
    pub mixture: Vec<f32>,
    pub vocals: Vec<f32>,
    pub accompaniment: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainingDataError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}: holds no two-source songs for training (is it a mixture-only cache?)")]
    NotLabeled(String),
    #[error("{0}: no segments in the requested splits")]
    Empty(String),
}

impl TrainingData {
    pub fn open(entries: &[DatasetEntry]) -> Result<Self, TrainingDataError> {
        let mut datasets = Vec::new();
        for entry in entries {
            let name = entry.cache.display().to_string();
            let cache = SegmentCache::open(&entry.cache, &entry.splits)?;
            if cache.segments.is_empty() {
                return Err(TrainingDataError::Empty(name));
            }
            if cache.songs.iter().any(|s| s.signals.len() != 2) {
                return Err(TrainingDataError::NotLabeled(name));
            }
            let label = if entry.label.is_empty() { name } else { entry.label.clone() };
            datasets.push((cache, entry.weight, label));
        }
        Ok(Self { datasets })
    }

    pub fn hours(&self) -> f64 {
        self.datasets.iter().map(|(c, _, _)| c.hours()).sum()
    }

    /// Each dataset's label and weight, for model metadata ("MUSDB18 train (weight 1)").
    pub fn trained_on(&self) -> Vec<String> {
        self.datasets.iter().map(|(_, w, l)| format!("{l} (weight {w})")).collect()
    }

    /// Draws a batch.
    pub fn batch(&self, augmenter: &Augmenter, batch: usize, rng: &mut ChaCha8Rng) -> Batch {
        let samples = augmenter.window_samples();
        let mut out = Batch {
            batch,
            samples,
            mixture: Vec::with_capacity(batch * samples),
            vocals: Vec::with_capacity(batch * samples),
            accompaniment: Vec::with_capacity(batch * samples),
        };
        let total: f64 = self.datasets.iter().map(|(_, w, _)| w).sum();
        for _ in 0..batch {
            let mut pick = rng.random::<f64>() * total;
            let mut chosen = &self.datasets[0].0;
            for (cache, weight, _) in &self.datasets {
                chosen = cache;
                if pick < *weight {
                    break;
                }
                pick -= weight;
            }
            let example = augmenter.example(chosen, rng);
            out.mixture.extend_from_slice(&example.mixture);
            out.vocals.extend_from_slice(&example.vocals);
            out.accompaniment.extend_from_slice(&example.accompaniment);
        }
        out
    }
}
