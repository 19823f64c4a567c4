//! Datasets: loaders for the layouts the real datasets are distributed in (MUSDB18-HQ,
//! MUSDB18 `.stem.mp4`, MIR-1K, ccMixter, DAMP-VSEP, and two generic folder layouts), the
//! preprocessing cache of 30-second segments (`svs prepare`), and reading songs back at 16 kHz.
//! docs/DATASETS.md lists exactly which files and columns each loader reads.

pub mod cache;
pub mod loaders;
pub mod prepare;
pub mod song;

pub use cache::{CacheError, SegmentCache};
pub use loaders::{DatasetKind, list_songs};
pub use song::{AudioRef, DataError, Song, SongAudio, SongSources, Split, load_song};
