//! A fuzzing harness for svs's input handling, independent of the `svs` binary and of the
//! timed test suite: structured mutations (bit flips, truncations, huge lengths in header
//! fields, odd rates and channel counts, damaged folder layouts) of a seed corpus, fed to
//!
//! - the audio decoders (every input format: WAV PCM/ADPCM/mu-law, FLAC, MP3, OGG Vorbis, AAC in MP4),
//! - the model-file loader (header, checksum, configuration, weights),
//! - the TOML configurations (training, detector training, self-training, augmentation),
//! - the dataset loaders' folder walkers (every dataset layout).
//!
//! Each case runs on its own thread under a panic catcher, a 10 s deadline and a memory
//! watch (a counting global allocator; see [`alloc`]). Why not cargo-fuzz: it needs a nightly
//! toolchain and libFuzzer, and its coverage guidance matters less here than mutations that
//! know where the length fields of each format are.

pub mod alloc;
pub mod harness;
pub mod layout;
pub mod mutate;
pub mod seeds;
pub mod targets;
