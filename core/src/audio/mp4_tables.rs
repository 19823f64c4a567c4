//! A check of an MP4/M4A file's box sizes and sample tables against the file's own length,
//! before symphonia reads it.
//!
//! symphonia's MP4 demuxer sizes its allocations from counts in the file (sample tables,
//! sample sizes) without comparing them with what the file can hold: the fuzzing harness found
//! damaged M4A and `.stem.mp4` files that made it ask for 2 to 33 GB, which aborts the process.
//! No crate validates MP4 structure without also being a demuxer, so this walks the box tree
//! (a few dozen lines) and refuses a box that overruns its parent, a table whose entries cannot
//! fit in its box, and a sample size larger than the file.

/// Containers whose payload is more boxes (ISO/IEC 14496-12).
const CONTAINERS: [&[u8; 4]; 11] =
    [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf", b"udta"];

/// Whether `bytes` start like an MP4 file (an `ftyp` box first).
pub(crate) fn is_mp4(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[4..8] == b"ftyp"
}

/// `Err(reason)` if a box or table in `bytes` claims more than the file holds.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    check_boxes(bytes, bytes.len() as u64, 0)
}

fn be32(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes(s.try_into().unwrap()) as u64)
}

fn check_boxes(mut data: &[u8], file_len: u64, depth: usize) -> Result<(), String> {
    if depth > 16 {
        return Err("MP4 boxes nested more than 16 deep".into());
    }
    while data.len() >= 8 {
        let size32 = be32(data, 0).unwrap();
        let kind: [u8; 4] = data[4..8].try_into().unwrap();
        let (size, header) = match size32 {
            0 => (data.len() as u64, 8),
            1 => {
                let high = be32(data, 8).ok_or("a truncated MP4 box header")?;
                let low = be32(data, 12).ok_or("a truncated MP4 box header")?;
                ((high << 32) | low, 16)
            }
            n => (n, 8),
        };
        let name = String::from_utf8_lossy(&kind).into_owned();
        if size < header as u64 || size > data.len() as u64 {
            return Err(format!("MP4 box '{name}' claims {size} bytes, {} are left", data.len()));
        }
        let payload = &data[header..size as usize];
        if CONTAINERS.contains(&&kind) {
            check_boxes(payload, file_len, depth + 1)?;
        } else {
            check_table(&kind, payload, file_len).map_err(|reason| format!("MP4 box '{name}': {reason}"))?;
        }
        data = &data[size as usize..];
    }
    Ok(())
}

/// The sample tables: (version/flags, [fixed fields], count, entry size).
fn check_table(kind: &[u8; 4], payload: &[u8], file_len: u64) -> Result<(), String> {
    let entries = |count_at: usize, entry: u64| -> Result<(), String> {
        let count = be32(payload, count_at).ok_or("too short for its entry count")?;
        let room = payload.len().saturating_sub(count_at + 4) as u64;
        if count.saturating_mul(entry) > room {
            return Err(format!("{count} entries of {entry} bytes do not fit in {room} bytes"));
        }
        Ok(())
    };
    match kind {
        b"stts" | b"ctts" | b"co64" => entries(4, 8),
        b"stco" | b"stss" => entries(4, 4),
        b"stsc" => entries(4, 12),
        b"stsz" => {
            let sample_size = be32(payload, 4).ok_or("too short for its sample size")?;
            if sample_size > file_len {
                return Err(format!("a sample size of {sample_size} bytes in a {file_len}-byte file"));
            }
            if sample_size == 0 {
                entries(8, 4)?;
                let count = be32(payload, 8).unwrap_or(0) as usize;
                for i in 0..count {
                    let size = be32(payload, 12 + 4 * i).unwrap_or(0);
                    if size > file_len {
                        return Err(format!("sample {i} of {size} bytes in a {file_len}-byte file"));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        [&((payload.len() + 8) as u32).to_be_bytes()[..], kind, payload].concat()
    }

    #[test]
    fn tables_that_fit_pass_and_oversized_counts_and_boxes_are_named() {
        let stco = |count: u32, entries: usize| {
            mp4_box(b"stco", &[&[0u8; 4][..], &count.to_be_bytes(), &vec![0; 4 * entries]].concat())
        };
        let file = |table: Vec<u8>| [mp4_box(b"ftyp", b"isom"), mp4_box(b"moov", &mp4_box(b"trak", &table))].concat();
        assert!(is_mp4(&file(stco(2, 2))));
        assert_eq!(check(&file(stco(2, 2))), Ok(()));
        let error = check(&file(stco(1_000_000_000, 2))).unwrap_err();
        assert!(error.contains("'stco'") && error.contains("1000000000 entries"), "{error}");
        let mut overrun = file(stco(2, 2));
        overrun[8 + 4 + 3] = 0xff; // the moov box's size, past the end of the file
        assert!(check(&overrun).unwrap_err().contains("'moov'"));
        let stsz = mp4_box(b"stsz", &[&[0u8; 4][..], &u32::MAX.to_be_bytes(), &1u32.to_be_bytes()].concat());
        assert!(check(&file(stsz)).unwrap_err().contains("sample size"));
        assert!(!is_mp4(b"RIFF\0\0\0\0WAVE"));
    }
}
