//! Structured mutations of bytes and of text. Each case stacks one to three of them on a seed.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A length, count, rate or channel field of a format's header: where it is and how it is
/// stored, so mutations can write extreme values exactly there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub width: usize,
    pub big_endian: bool,
}

impl Field {
    pub fn le(offset: usize, width: usize) -> Self {
        Self { offset, width, big_endian: false }
    }
    pub fn be(offset: usize, width: usize) -> Self {
        Self { offset, width, big_endian: true }
    }
}

/// Values that break arithmetic on lengths, rates and channel counts.
const INTERESTING: [u64; 22] = [
    0,
    1,
    2,
    3,
    7,
    8,
    16,
    255,
    256,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7f_ffff,
    0xff_ffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// Numbers that break configuration values.
const NUMBERS: [&str; 20] = [
    "0",
    "-1",
    "1",
    "-0.0",
    "0.5",
    "3",
    "1e9",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e400",
];

/// Fragments that break TOML's (and JSON's) structure.
const FRAGMENTS: [&str; 14] =
    ["[", "]", "\"", "'", "=", "{", "}", ",", "\n[data]\n", "\n[[x]]\n", "\u{0}", "\\", "\u{202e}", "a = 1\na = 2\n"];

pub struct Mutator {
    rng: ChaCha8Rng,
}

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// One to three byte-level mutations; `fields` are the seed's header fields.
    pub fn bytes(&mut self, seed: &[u8], fields: &[Field]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..self.rng.random_range(1..=3) {
            self.mutate_bytes(&mut data, fields);
        }
        data
    }

    fn interesting(&mut self) -> u64 {
        if self.rng.random_bool(0.8) { *INTERESTING.choose(&mut self.rng).unwrap() } else { self.rng.random() }
    }

    fn mutate_bytes(&mut self, data: &mut Vec<u8>, fields: &[Field]) {
        let len = data.len();
        let pos = |rng: &mut ChaCha8Rng| if len == 0 { 0 } else { rng.random_range(0..len) };
        match self.rng.random_range(0..10) {
            // Bit flips.
            0 | 1 if len > 0 => {
                for _ in 0..self.rng.random_range(1..=8) {
                    let at = pos(&mut self.rng);
                    data[at] ^= 1 << self.rng.random_range(0..8);
                }
            }
            // An interesting byte.
            2 if len > 0 => {
                let at = pos(&mut self.rng);
                data[at] = *[0u8, 1, 0x7f, 0x80, 0xff].choose(&mut self.rng).unwrap();
            }
            // Truncation.
            3 => data.truncate(pos(&mut self.rng)),
            // A header field set to an extreme value (or scaled).
            4 | 5 if !fields.is_empty() => {
                let field = *fields.choose(&mut self.rng).unwrap();
                let value = if self.rng.random_bool(0.25) {
                    read_field(data, field).map_or(0, |v| v.wrapping_mul(self.rng.random_range(2..=1000)))
                } else {
                    self.interesting()
                };
                write_field(data, field, value);
            }
            // An extreme 32- or 64-bit value anywhere.
            6 if len >= 8 => {
                let width = *[2usize, 4, 8].choose(&mut self.rng).unwrap();
                let at = self.rng.random_range(0..=len - width);
                let big_endian = self.rng.random();
                let value = self.interesting();
                write_field(data, Field { offset: at, width, big_endian }, value);
            }
            // A range deleted.
            7 if len > 1 => {
                let start = pos(&mut self.rng);
                let end = (start + self.rng.random_range(1..=len.min(512))).min(len);
                data.drain(start..end);
            }
            // A range duplicated (growth bounded to 4 kB).
            8 if len > 1 => {
                let start = pos(&mut self.rng);
                let end = (start + self.rng.random_range(1..=len.min(4096))).min(len);
                let copy = data[start..end].to_vec();
                let at = pos(&mut self.rng);
                data.splice(at..at, copy);
            }
            // Random bytes over a range.
            _ if len > 0 => {
                let start = pos(&mut self.rng);
                let end = (start + self.rng.random_range(1..=64)).min(len);
                self.rng.fill(&mut data[start..end]);
            }
            _ => data.extend(std::iter::repeat_n(0u8, self.rng.random_range(1..64))),
        }
    }

    /// One to three text-level mutations of a TOML or JSON document.
    pub fn text(&mut self, seed: &str) -> String {
        let mut text = seed.to_owned();
        for _ in 0..self.rng.random_range(1..=3) {
            text = self.mutate_text(&text);
        }
        text
    }

    fn mutate_text(&mut self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        match self.rng.random_range(0..10) {
            // A number replaced by an extreme one (most likely: it reaches validation).
            0..=3 => {
                let numbers = number_spans(text);
                match numbers.choose(&mut self.rng) {
                    Some(&(start, end)) => {
                        format!("{}{}{}", &text[..start], NUMBERS.choose(&mut self.rng).unwrap(), &text[end..])
                    }
                    None => text.to_owned(),
                }
            }
            4 if !lines.is_empty() => {
                let mut lines = lines.clone();
                let at = self.rng.random_range(0..lines.len());
                match self.rng.random_range(0..3) {
                    0 => {
                        lines.remove(at);
                    }
                    1 => lines.insert(at, lines[at]),
                    _ => {
                        let other = self.rng.random_range(0..lines.len());
                        lines.swap(at, other);
                    }
                }
                lines.join("\n")
            }
            5 => {
                let mut bytes = text.as_bytes().to_vec();
                if !bytes.is_empty() {
                    let at = self.rng.random_range(0..bytes.len());
                    bytes[at] ^= 1 << self.rng.random_range(0..8);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            6 => {
                let cut = self.rng.random_range(0..=text.len());
                text[..floor_char_boundary(text, cut)].to_owned()
            }
            7 => {
                let at = floor_char_boundary(text, self.rng.random_range(0..=text.len()));
                format!("{}{}{}", &text[..at], FRAGMENTS.choose(&mut self.rng).unwrap(), &text[at..])
            }
            // Deep nesting (a recursive parser's stack) or a very long value.
            8 => {
                let depth = self.rng.random_range(10..=5000);
                if self.rng.random() {
                    format!("{text}\nz = {}1{}\n", "[".repeat(depth), "]".repeat(depth))
                } else {
                    format!("{text}\nz = \"{}\"\n", "a".repeat(depth * 20))
                }
            }
            // A string value replaced.
            _ => {
                let odd = ["", "/", "../../..", "\u{202e}x", "\\\\", "C:\\x", "a\nb", "."];
                match text.find("= \"") {
                    Some(start) => {
                        let start = start + 3;
                        let end = text[start..].find('"').map_or(text.len(), |e| start + e);
                        format!("{}{}{}", &text[..start], odd.choose(&mut self.rng).unwrap(), &text[end..])
                    }
                    None => text.to_owned(),
                }
            }
        }
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Byte spans of the numbers in a document (digits with an optional sign, point and exponent).
pub fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts =
            bytes[i].is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let start = if i > 0 && bytes[i - 1] == b'-' { i - 1 } else { i };
            let mut end = i;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || b".eE+-_".contains(&bytes[end])) {
                end += 1;
            }
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

pub fn read_field(data: &[u8], field: Field) -> Option<u64> {
    let bytes = data.get(field.offset..field.offset + field.width)?;
    let mut value = 0u64;
    for k in 0..field.width.min(8) {
        let byte = if field.big_endian { bytes[k] } else { bytes[field.width - 1 - k] };
        value = (value << 8) | u64::from(byte);
    }
    Some(value)
}

pub fn write_field(data: &mut [u8], field: Field, value: u64) {
    let Some(bytes) = data.get_mut(field.offset..field.offset + field.width) else { return };
    for k in 0..field.width {
        let byte = if k < 8 { (value >> (8 * k)) as u8 } else { 0 };
        let at = if field.big_endian { field.width - 1 - k } else { k };
        bytes[at] = byte;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_in_both_byte_orders() {
        let mut data = vec![0u8; 8];
        write_field(&mut data, Field::le(1, 4), 0x1234_5678);
        assert_eq!(data, [0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0]);
        assert_eq!(read_field(&data, Field::le(1, 4)), Some(0x1234_5678));
        write_field(&mut data, Field::be(4, 3), 0xabcdef);
        assert_eq!(&data[4..7], [0xab, 0xcd, 0xef]);
        assert_eq!(read_field(&data, Field::be(4, 3)), Some(0xabcdef));
        assert_eq!(read_field(&data, Field::le(6, 4)), None);
    }

    #[test]
    fn numbers_are_found_but_not_inside_names() {
        let text = "a = 12\nb2 = -3.5e2\nlist = [1, 20]\n";
        let found: Vec<&str> = number_spans(text).into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(found, ["12", "-3.5e2", "1", "20"]);
    }

    #[test]
    fn mutations_are_deterministic_per_seed() {
        let seed = b"RIFF....WAVEfmt ........".to_vec();
        let a = Mutator::new(7).bytes(&seed, &[Field::le(4, 4)]);
        let b = Mutator::new(7).bytes(&seed, &[Field::le(4, 4)]);
        assert_eq!(a, b);
        assert_eq!(Mutator::new(3).text("x = 1"), Mutator::new(3).text("x = 1"));
    }
}
