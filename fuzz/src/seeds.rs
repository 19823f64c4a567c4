//! The seed corpus: tiny files committed under `corpus/` (the formats no Rust crate here can
//! write: MP3, OGG Vorbis, AAC in MP4, ADPCM and mu-law WAV, written once with ffmpeg from a
//! sine), files made here with svs's own writers (PCM WAV of several depths, rates and channel
//! counts, FLAC, model files), the repository's configs, and one folder layout per dataset kind.

use crate::layout::Layout;
use crate::mutate::Field;
use std::path::{Path, PathBuf};
use svs_core::audio::{AudioBuffer, BitDepth, StemFormat, StemWriter, wav_bytes};

/// A seed input and its header fields.
#[derive(Clone, Debug)]
pub struct Seed {
    /// A file name; its extension picks the decoder's hint, the config kind or the layout kind.
    pub name: String,
    pub bytes: Vec<u8>,
    pub fields: Vec<Field>,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the fuzz crate is in the workspace").to_owned()
}

fn tone(rate: u32, frames: usize, channels: usize) -> AudioBuffer {
    AudioBuffer::new(
        rate,
        (0..channels)
            .map(|c| (0..frames).map(|i| 0.5 * (i as f32 * (0.05 + 0.02 * c as f32)).sin()).collect())
            .collect(),
    )
}

fn flac(audio: &AudioBuffer, depth: BitDepth) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer =
        StemWriter::new_as(&mut out, "seed.flac", StemFormat::Flac, audio.sample_rate, audio.n_channels(), depth)
            .expect("valid FLAC settings");
    writer.write_planar(&audio.channels.iter().map(Vec::as_slice).collect::<Vec<_>>()).expect("in memory");
    writer.finalize().expect("in memory");
    out.into_inner()
}

/// Audio seeds of every input format.
pub fn audio() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| {
        let fields = header_fields(&name, &bytes);
        seeds.push(Seed { name, bytes, fields });
    };
    for (rate, frames, channels, depth) in [
        (8000, 600, 1, BitDepth::Int16),
        (44_100, 400, 2, BitDepth::Int24),
        (16_000, 300, 3, BitDepth::Float32),
        (48_000, 200, 8, BitDepth::Int16),
    ] {
        let audio = tone(rate, frames, channels);
        add(format!("pcm-{rate}-{channels}ch.wav"), wav_bytes(&audio, depth).expect("in memory"));
    }
    add("stereo-16.flac".into(), flac(&tone(22_050, 5000, 2), BitDepth::Int16));
    add("mono-24.flac".into(), flac(&tone(8000, 1500, 1), BitDepth::Int24));
    let mut committed: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("audio"))
        .expect("fuzz/corpus/audio is in the repository")
        .map(|e| e.expect("readable corpus").path())
        .collect();
    committed.sort();
    for path in committed {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        add(name, std::fs::read(&path).expect("readable corpus file"));
    }
    seeds
}

/// Where the length, rate and channel fields of a RIFF, FLAC, MP4, OGG or ID3-tagged file are.
pub fn header_fields(name: &str, bytes: &[u8]) -> Vec<Field> {
    let mut fields = Vec::new();
    if bytes.starts_with(b"RIFF") {
        fields.push(Field::le(4, 4));
        let mut at = 12;
        while at + 8 <= bytes.len() {
            fields.push(Field::le(at + 4, 4));
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            if &bytes[at..at + 4] == b"fmt " {
                // Format tag, channels, rate, byte rate, block align, bits, extension size,
                // valid bits, channel mask.
                for (offset, width) in [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2), (22, 2), (24, 2), (26, 2), (28, 4)]
                {
                    if offset + width <= size + 8 {
                        fields.push(Field::le(at + offset, width));
                    }
                }
            }
            at += 8 + size + (size & 1);
        }
    } else if bytes.starts_with(b"fLaC") {
        let mut at = 4;
        while at + 4 <= bytes.len() {
            fields.push(Field::be(at + 1, 3));
            let last = bytes[at] & 0x80 != 0;
            let size = u32::from_be_bytes([0, bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            if bytes[at] & 0x7f == 0 {
                // STREAMINFO: block sizes, frame sizes, then rate / channels / bits / length.
                for (offset, width) in [(4, 2), (6, 2), (8, 3), (11, 3), (14, 4), (18, 4)] {
                    fields.push(Field::be(at + offset, width));
                }
            }
            at += 4 + size;
            if last {
                break;
            }
        }
    } else if bytes.starts_with(b"OggS") {
        let mut at = 0;
        while at + 27 <= bytes.len() && &bytes[at..at + 4] == b"OggS" {
            fields.extend([Field::le(at + 6, 8), Field::le(at + 14, 4), Field::le(at + 18, 4)]);
            let segments = bytes[at + 26] as usize;
            let body: usize = bytes.get(at + 27..at + 27 + segments).map_or(0, |s| s.iter().map(|&b| b as usize).sum());
            at += 27 + segments + body;
        }
    } else if bytes.starts_with(b"ID3") {
        fields.push(Field::be(6, 4));
    } else if bytes.get(4..8) == Some(b"ftyp") {
        mp4_atoms(bytes, 0, bytes.len(), &mut fields);
    }
    let _ = name;
    fields
}

/// MP4 atoms: every size field, and the entry counts of the sample tables.
fn mp4_atoms(bytes: &[u8], start: usize, end: usize, fields: &mut Vec<Field>) {
    let mut at = start;
    while at + 8 <= end {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        fields.push(Field::be(at, 4));
        if size < 8 || at + size > end {
            break;
        }
        match kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" | b"udta" => {
                mp4_atoms(bytes, at + 8, at + size, fields);
            }
            b"stsz" | b"stco" | b"stts" | b"stsc" | b"co64" | b"stsd" | b"elst" => {
                fields.push(Field::be(at + 12, 4));
                fields.push(Field::be(at + 16, 4));
            }
            b"mdhd" | b"mvhd" | b"tkhd" => {
                // Time scale and duration (version 0 layout).
                fields.push(Field::be(at + 20, 4));
                fields.push(Field::be(at + 24, 4));
            }
            _ => {}
        }
        at += size;
    }
}

/// Model-file seeds: a separator and a detector, each with and without the weights checksum
/// (without it, mutations of the configuration reach the model builder).
pub fn models() -> Vec<Seed> {
    use svs_core::model::{PoCoNetConfig, VadConfig};
    use svs_core::model_file::{ModelKind, ModelMetadata, model_bytes};
    let device = svs_core::BackendKind::Cpu.device(0).expect("the CPU backend");
    let separator = PoCoNetConfig::new().with_levels(1).with_base_channels(2).with_max_channels(4);
    let detector = VadConfig::new().with_channels(vec![2, 2]).with_hidden(3);
    let meta = ModelMetadata { trained_on: "fuzz seed".into(), ..Default::default() };
    let with = [
        ("separator", model_bytes(&separator.init(&device), ModelKind::Separator, &separator, &meta)),
        ("vad", model_bytes(&detector.init(&device), ModelKind::VadVocals, &detector, &meta)),
    ];
    let mut seeds = Vec::new();
    for (name, bytes) in with {
        let bytes = bytes.expect("in memory");
        let without = without_checksum(&bytes);
        seeds.push(Seed { name: format!("{name}.safetensors"), fields: vec![Field::le(0, 8)], bytes });
        seeds.push(Seed {
            name: format!("{name}-unchecked.safetensors"),
            fields: vec![Field::le(0, 8)],
            bytes: without,
        });
    }
    seeds
}

/// A safetensors file's header (JSON) and the offset of its tensor bytes.
pub fn split_safetensors(bytes: &[u8]) -> Option<(String, usize)> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = std::str::from_utf8(bytes.get(8..8usize.checked_add(len)?)?).ok()?;
    Some((header.to_owned(), 8 + len))
}

/// The file with its header replaced (the length prefix rewritten to match).
pub fn with_header(bytes: &[u8], header: &str, data_start: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[data_start.min(bytes.len())..]);
    out
}

fn without_checksum(bytes: &[u8]) -> Vec<u8> {
    let (header, start) = split_safetensors(bytes).expect("a model file written here");
    let mut json: serde_json::Value = serde_json::from_str(&header).expect("JSON header");
    json["__metadata__"].as_object_mut().expect("svs metadata").remove(svs_core::model_file::CHECKSUM_KEY);
    with_header(bytes, &json.to_string(), start)
}

/// Configuration seeds; the extension names the parser (`train`, `vad`, `self-train`, `augment`).
pub fn configs() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |name: String, text: String| seeds.push(Seed { name, bytes: text.into_bytes(), fields: Vec::new() });
    let configs = repo_dir().join("configs");
    for (file, kind) in [
        ("teacher-cpu-synthetic.toml", "train"),
        ("teacher-paper.toml", "train"),
        ("self-train-cpu-synthetic.toml", "self-train"),
        ("self-train-paper.toml", "self-train"),
    ] {
        let text = std::fs::read_to_string(configs.join(file)).expect("the repository's configs");
        add(format!("{file}.{kind}"), text);
    }
    for entry in std::fs::read_dir(corpus_dir().join("config")).expect("fuzz/corpus/config is in the repository") {
        let path = entry.expect("readable corpus").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        add(name, std::fs::read_to_string(&path).expect("readable corpus file"));
    }
    seeds.sort_by(|a, b| a.name.cmp(&b.name));
    seeds
}

/// One folder layout per dataset kind.
pub fn layouts() -> Vec<Layout> {
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(corpus_dir().join("layouts")).expect("fuzz/corpus/layouts is in the repository") {
        let path = entry.expect("readable corpus").path();
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        seeds.push(Layout::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    seeds.sort_by(|a, b| a.to_text().cmp(&b.to_text()));
    seeds
}
