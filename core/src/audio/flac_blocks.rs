//! A check of a FLAC file's metadata blocks against their own lengths and the file's, before
//! symphonia reads it.
//!
//! symphonia's FLAC reader allocates each Vorbis comment and each picture field at the length
//! the block states (a `u32`), before it reads it: the fuzzing harness found a damaged FLAC
//! whose comment count and comment length made it ask for 2.6 GB at once (an abort in the
//! browser, where memory is capped). The metadata blocks sit before the first audio frame and
//! are a flat list (RFC 9639, section 8), so this reads their headers, and the two block kinds
//! with inner lengths, without reading the audio.

use std::io::{Read, Seek, SeekFrom};

const VORBIS_COMMENT: u8 = 4;
const PICTURE: u8 = 6;

/// Whether a file's first bytes are a FLAC stream marker.
pub(crate) fn is_flac(head: &[u8]) -> bool {
    head.starts_with(b"fLaC")
}

/// `Err(reason)` if a metadata block in `file` (of `file_len` bytes, starting with `fLaC`)
/// claims more than the file, or its block, holds.
pub(crate) fn check(file: &mut (impl Read + Seek), file_len: u64) -> Result<(), String> {
    let unreadable = |error: std::io::Error| format!("cannot read the FLAC metadata: {error}");
    let mut at = 4u64;
    loop {
        file.seek(SeekFrom::Start(at)).map_err(unreadable)?;
        let mut header = [0u8; 4];
        file.read_exact(&mut header).map_err(|_| "a truncated FLAC metadata block header".to_string())?;
        let (last, kind) = (header[0] & 0x80 != 0, header[0] & 0x7f);
        let len = u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
        let left = file_len.saturating_sub(at + 4);
        if len > left {
            return Err(format!("FLAC metadata block of type {kind} claims {len} bytes, {left} are left"));
        }
        if kind == VORBIS_COMMENT || kind == PICTURE {
            // At most 16 MiB (a 24-bit length), and no more than the file holds (checked above).
            let mut body = vec![0u8; len as usize];
            file.read_exact(&mut body).map_err(unreadable)?;
            let checked = if kind == VORBIS_COMMENT { check_vorbis_comment(&body) } else { check_picture(&body) };
            checked.map_err(|reason| format!("FLAC {} block: {reason}", block_name(kind)))?;
        }
        at += 4 + len;
        if last {
            return Ok(());
        }
    }
}

fn block_name(kind: u8) -> &'static str {
    if kind == VORBIS_COMMENT { "Vorbis comment" } else { "picture" }
}

/// Reads length-prefixed fields from a block, refusing a length larger than what is left.
struct Fields<'a> {
    rest: &'a [u8],
    big_endian: bool,
}

impl Fields<'_> {
    fn number(&mut self, what: &str) -> Result<u64, String> {
        let bytes: [u8; 4] = self
            .rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("the block ends inside {what}"))?;
        self.rest = &self.rest[4..];
        Ok(u64::from(if self.big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) }))
    }

    fn skip_sized(&mut self, what: &str) -> Result<(), String> {
        let len = self.number(what)?;
        if len > self.rest.len() as u64 {
            return Err(format!("{what} claims {len} bytes, {} are left", self.rest.len()));
        }
        self.rest = &self.rest[len as usize..];
        Ok(())
    }
}

/// A vendor string and a counted list of comments, lengths little-endian (RFC 9639, 8.6).
fn check_vorbis_comment(body: &[u8]) -> Result<(), String> {
    let mut fields = Fields { rest: body, big_endian: false };
    fields.skip_sized("the vendor string")?;
    let count = fields.number("the comment count")?;
    if count.saturating_mul(4) > fields.rest.len() as u64 {
        return Err(format!("{count} comments do not fit in {} bytes", fields.rest.len()));
    }
    for i in 0..count {
        fields.skip_sized(&format!("comment {i}"))?;
    }
    Ok(())
}

/// Picture type, media type, description, four numbers, then the picture (RFC 9639, 8.8).
fn check_picture(body: &[u8]) -> Result<(), String> {
    let mut fields = Fields { rest: body, big_endian: true };
    fields.number("the picture type")?;
    fields.skip_sized("the media type")?;
    fields.skip_sized("the description")?;
    for what in ["the width", "the height", "the colour depth", "the colour count"] {
        fields.number(what)?;
    }
    fields.skip_sized("the picture data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn block(kind: u8, last: bool, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        [&[kind | if last { 0x80 } else { 0 }, len[1], len[2], len[3]][..], body].concat()
    }

    fn comments(vendor: &[u8], entries: &[&[u8]], count: u32) -> Vec<u8> {
        let mut body = [&(vendor.len() as u32).to_le_bytes()[..], vendor, &count.to_le_bytes()].concat();
        for entry in entries {
            body.extend_from_slice(&(entry.len() as u32).to_le_bytes());
            body.extend_from_slice(entry);
        }
        body
    }

    fn run(file: &[u8]) -> Result<(), String> {
        assert!(is_flac(file));
        check(&mut Cursor::new(file), file.len() as u64)
    }

    #[test]
    fn well_formed_blocks_pass_and_oversized_lengths_are_named() {
        let stream_info = block(0, false, &[0; 34]);
        let file = |tail: Vec<u8>| [&b"fLaC"[..], &stream_info, &tail, &[0xff, 0xf8]].concat();
        let good = comments(b"svs", &[b"TITLE=a", b"ARTIST=b"], 2);
        assert_eq!(run(&file(block(VORBIS_COMMENT, true, &good))), Ok(()));

        let too_many = comments(b"svs", &[b"TITLE=a"], 3_000_000_000);
        let error = run(&file(block(VORBIS_COMMENT, true, &too_many))).unwrap_err();
        assert!(error.contains("Vorbis comment") && error.contains("3000000000 comments"), "{error}");

        let mut long_comment = comments(b"svs", &[b"TITLE=a"], 1);
        let at = 4 + 3 + 4; // the first comment's length
        long_comment[at..at + 4].copy_from_slice(&2_600_000_000u32.to_le_bytes());
        let error = run(&file(block(VORBIS_COMMENT, true, &long_comment))).unwrap_err();
        assert!(error.contains("comment 0 claims 2600000000 bytes"), "{error}");

        let picture = |data_len: u32| {
            let mut body = [0u8; 4].to_vec();
            for field in [&b"image/png"[..], b""] {
                body.extend_from_slice(&(field.len() as u32).to_be_bytes());
                body.extend_from_slice(field);
            }
            body.extend_from_slice(&[0; 16]);
            body.extend_from_slice(&data_len.to_be_bytes());
            body.extend_from_slice(&[1, 2, 3]);
            body
        };
        assert_eq!(run(&file(block(PICTURE, true, &picture(3)))), Ok(()));
        let error = run(&file(block(PICTURE, true, &picture(u32::MAX)))).unwrap_err();
        assert!(error.contains("picture") && error.contains("the picture data claims"), "{error}");

        let overrun = [&b"fLaC"[..], &stream_info, &[0x85, 0xcb, 0x25, 0xb1]].concat();
        assert!(run(&overrun).unwrap_err().contains("type 5 claims"));
        assert!(run(&b"fLaC\x00\x00"[..]).unwrap_err().contains("truncated"));
        assert!(!is_flac(b"RIFF\0\0\0\0WAVE"));
    }
}
