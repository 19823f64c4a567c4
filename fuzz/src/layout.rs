//! Dataset folder layouts as text, so a layout is a seed file and a failing one a regression
//! file. One entry a line:
//!
//! ```text
//! kind musdb18hq
//! d train/Song A
//! f train/Song A/vocals.wav @wav
//! f meta.csv perf_key,vocal_path\nk,a.wav
//! l train/Song A/loop -> ..
//! ```
//!
//! `f` contents are `@wav` (a tiny valid WAV), `@empty`, `@garbage`, or literal text with `\n`
//! escapes. Paths stay inside the layout's root; link targets are relative (a loop to an
//! ancestor, a sibling, or nothing).

use crate::mutate::Mutator;
use rand::Rng;
use rand::seq::IndexedRandom;
use std::path::{Component, Path};
use svs_train::data::loaders::DatasetKind;

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Dir(String),
    File(String, String),
    Link(String, String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub kind: DatasetKind,
    pub entries: Vec<Entry>,
}

pub const KINDS: [(&str, DatasetKind); 7] = [
    ("musdb18hq", DatasetKind::Musdb18hq),
    ("musdb18", DatasetKind::Musdb18),
    ("mir1k", DatasetKind::Mir1k),
    ("ccmixter", DatasetKind::Ccmixter),
    ("damp-vsep", DatasetKind::DampVsep),
    ("paired", DatasetKind::Paired),
    ("mixtures", DatasetKind::Mixtures),
];

fn kind_name(kind: DatasetKind) -> &'static str {
    KINDS.iter().find(|(_, k)| *k == kind).map(|(n, _)| *n).expect("every kind is listed")
}

fn inside(path: &str) -> bool {
    !path.is_empty() && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
}

impl Layout {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let first = lines.next().ok_or("empty layout")?;
        let name = first.strip_prefix("kind ").ok_or("the first line must be `kind NAME`")?;
        let kind = KINDS.iter().find(|(n, _)| *n == name).ok_or_else(|| format!("unknown kind {name}"))?.1;
        let mut entries = Vec::new();
        for line in lines {
            let (tag, rest) = line.split_at(line.find(' ').ok_or_else(|| format!("bad line: {line}"))?);
            let rest = &rest[1..];
            let entry = match tag {
                "d" => Entry::Dir(rest.to_owned()),
                "f" => {
                    let (path, contents) = rest
                        .split_once(" @")
                        .map_or_else(
                            || rest.split_once(' ').map(|(p, c)| (p.to_owned(), c.replace("\\n", "\n"))),
                            |(p, c)| Some((p.to_owned(), format!("@{c}"))),
                        )
                        .ok_or_else(|| format!("bad file line: {line}"))?;
                    Entry::File(path, contents)
                }
                "l" => {
                    let (path, target) = rest.split_once(" -> ").ok_or_else(|| format!("bad link line: {line}"))?;
                    Entry::Link(path.to_owned(), target.to_owned())
                }
                _ => return Err(format!("bad line: {line}")),
            };
            entries.push(entry);
        }
        Ok(Self { kind, entries })
    }

    pub fn to_text(&self) -> String {
        let mut out = format!("kind {}\n", kind_name(self.kind));
        for entry in &self.entries {
            match entry {
                Entry::Dir(p) => out += &format!("d {p}\n"),
                Entry::File(p, c) if c.starts_with('@') => out += &format!("f {p} {c}\n"),
                Entry::File(p, c) => out += &format!("f {p} {}\n", c.replace('\n', "\\n")),
                Entry::Link(p, t) => out += &format!("l {p} -> {t}\n"),
            }
        }
        out
    }

    /// Creates the layout under `root`. Entries that cannot be made (a file where a folder
    /// is, a path leaving the root) are skipped: the point is the walkers, not this.
    pub fn materialize(&self, root: &Path, wav: &[u8]) {
        for entry in &self.entries {
            match entry {
                Entry::Dir(p) if inside(p) => {
                    let _ = std::fs::create_dir_all(root.join(p));
                }
                Entry::File(p, contents) if inside(p) => {
                    let path = root.join(p);
                    if let Some(parent) = path.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    let bytes: Vec<u8> = match contents.as_str() {
                        "@wav" => wav.to_vec(),
                        "@empty" => Vec::new(),
                        "@garbage" => b"not audio at all".to_vec(),
                        text => text.as_bytes().to_vec(),
                    };
                    let _ = std::fs::write(path, bytes);
                }
                Entry::Link(p, target) if inside(p) && !target.starts_with('/') => {
                    let path = root.join(p);
                    if let Some(parent) = path.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    #[cfg(unix)]
                    let _ = std::os::unix::fs::symlink(target, path);
                }
                _ => {}
            }
        }
    }

    /// One to three structural mutations.
    pub fn mutate(&self, m: &mut Mutator) -> Layout {
        let mut out = self.clone();
        for _ in 0..m.rng().random_range(1..=3) {
            out.mutate_once(m);
        }
        out
    }

    fn paths(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Dir(p) | Entry::File(p, _) | Entry::Link(p, _) => p.clone(),
            })
            .collect()
    }

    fn mutate_once(&mut self, m: &mut Mutator) {
        let paths = self.paths();
        let dirs: Vec<String> = paths
            .iter()
            .flat_map(|p| {
                Path::new(p).ancestors().skip(1).map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>()
            })
            .chain(self.entries.iter().filter_map(|e| if let Entry::Dir(p) = e { Some(p.clone()) } else { None }))
            .filter(|d| !d.is_empty())
            .collect();
        let some_dir = |m: &mut Mutator| dirs.choose(m.rng()).cloned().unwrap_or_else(|| "x".into());
        let rng_index = |m: &mut Mutator, n: usize| m.rng().random_range(0..n.max(1));
        match m.rng().random_range(0..11) {
            0 if !self.entries.is_empty() => {
                let i = rng_index(m, self.entries.len());
                self.entries.remove(i);
            }
            // A path renamed: another extension, case, or a stray character.
            1 | 2 if !self.entries.is_empty() => {
                let i = rng_index(m, self.entries.len());
                let renamed = |p: &str, m: &mut Mutator| -> String {
                    let choice = m.rng().random_range(0..5);
                    match choice {
                        0 => p.to_uppercase(),
                        1 => format!("{p}.txt"),
                        2 => Path::new(p)
                            .with_extension(*["WAV", "Flac", "mp3", "", "wav.part"].choose(m.rng()).unwrap())
                            .to_string_lossy()
                            .into_owned(),
                        3 => format!("{p} "),
                        _ => p.replacen('/', "/.", 1),
                    }
                };
                let entry = &mut self.entries[i];
                match entry {
                    Entry::Dir(p) | Entry::File(p, _) | Entry::Link(p, _) => *p = renamed(p, m),
                }
            }
            // A file's contents changed (the CSV's text mutated).
            3 => {
                let files: Vec<usize> =
                    (0..self.entries.len()).filter(|&i| matches!(self.entries[i], Entry::File(..))).collect();
                if let Some(&i) = files.choose(m.rng()) {
                    if let Entry::File(_, contents) = &mut self.entries[i] {
                        *contents = if contents.starts_with('@') {
                            (*["@wav", "@empty", "@garbage"].choose(m.rng()).unwrap()).to_owned()
                        } else {
                            m.text(contents)
                        };
                    }
                }
            }
            // A link back to an ancestor (a loop), to a sibling, or to nothing.
            4 | 5 => {
                let dir = some_dir(m);
                let depth = Path::new(&dir).components().count();
                let target = match m.rng().random_range(0..4) {
                    0 => "..".repeat(1).to_owned(),
                    1 => vec![".."; m.rng().random_range(1..=depth + 1)].join("/"),
                    2 => ".".into(),
                    _ => "missing".into(),
                };
                let name = *["loop", "vocals.wav", "track", "train", "Wavfile"].choose(m.rng()).unwrap();
                self.entries.push(Entry::Link(format!("{dir}/{name}"), target));
            }
            // A file where a folder is expected, or a folder where a file is.
            6 if !self.entries.is_empty() => {
                let i = rng_index(m, self.entries.len());
                self.entries[i] = match &self.entries[i] {
                    Entry::Dir(p) => Entry::File(p.clone(), "@garbage".into()),
                    Entry::File(p, _) | Entry::Link(p, _) => Entry::Dir(p.clone()),
                };
            }
            // Deep nesting.
            7 => {
                let depth = m.rng().random_range(20..=120);
                let base = some_dir(m);
                let deep = (0..depth).map(|i| format!("d{i}")).collect::<Vec<_>>().join("/");
                self.entries.push(Entry::File(format!("{base}/{deep}/vocals.wav"), "@wav".into()));
            }
            // Many entries in one folder.
            8 => {
                let base = some_dir(m);
                for i in 0..m.rng().random_range(10..=200) {
                    self.entries.push(Entry::Dir(format!("{base}/song {i}")));
                }
            }
            // Odd names.
            9 => {
                let base = some_dir(m);
                let name = *[".hidden.wav", "\u{202e}vaw.txt", "a\\b.wav", "résumé.flac", "x.WAV", " .wav", "..wav"]
                    .choose(m.rng())
                    .unwrap();
                self.entries.push(Entry::File(format!("{base}/{name}"), "@wav".into()));
            }
            _ => {
                // The dataset read as another kind.
                self.kind = KINDS.choose(m.rng()).unwrap().1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_through_text() {
        let text = "kind paired\nd train/a\nf train/a/vocals.wav @wav\nf meta.csv a,b\\nc,d\nl train/a/loop -> ..\n";
        let layout = Layout::parse(text).unwrap();
        assert_eq!(layout.entries.len(), 4);
        assert_eq!(layout.entries[2], Entry::File("meta.csv".into(), "a,b\nc,d".into()));
        assert_eq!(layout.to_text(), text);
        assert!(!inside("../x") && !inside("/x") && inside("a/b"));
    }
}
