//! On-disk layout: slugs, file names, UTC time stamps and the atomic write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use profile::civil::{civil_from_days, days_from_civil};

/// Prefix of temporary files; recovery deletes whatever carries it.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// A directory-safe name for a target URL: scheme dropped, every run of
/// characters other than `[a-z0-9._]` replaced by one `-`, at most 80 bytes.
pub fn slug(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let mut out = String::new();
    for c in rest.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s = out.trim_matches(['-', '.']).to_string();
    s.truncate(80);
    let s = s.trim_end_matches(['-', '.']).to_string();
    if s.is_empty() { "target".into() } else { s }
}

/// `20261126T164916.123456789Z`: sorts like the time it names.
pub fn format_utc(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{frac:09}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Inverse of [`format_utc`].
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 26 || b[8] != b'T' || b[15] != b'.' || b[25] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss, ns) = (num(9..11)?, num(11..13)?, num(13..15)?, num(16..25)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000_000) + ns)
}

/// File name of a snapshot: `<UTC time>-<seq>.<ext>`.
pub fn file_name(taken_at: i64, seq: u64, ext: &str) -> String {
    format!("{}-{seq:06}.{ext}", format_utc(taken_at))
}

/// Splits a snapshot file name into (taken_at, seq, ext).
pub fn parse_file_name(name: &str) -> Option<(i64, u64, &str)> {
    let t = parse_utc(name.get(..26)?)?;
    let rest = name.get(26..)?.strip_prefix('-')?;
    let (seq, ext) = rest.split_once('.')?;
    Some((t, seq.parse().ok()?, ext))
}

pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    // Directories can be opened read-only and fsynced on Unix; elsewhere
    // this is best effort.
    match File::open(dir) {
        Ok(f) => match f.sync_all() {
            Ok(()) => Ok(()),
            Err(e) if cfg!(unix) => Err(e),
            Err(_) => Ok(()),
        },
        Err(e) if cfg!(unix) => Err(e),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to `dir/name` so that the name either does not exist or
/// holds all of the bytes: temp file in the same directory, fsync, rename,
/// fsync of the directory. Fails rather than replace an existing file.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let final_path = dir.join(name);
    if final_path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            name.to_string(),
        ));
    }
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &final_path)?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trip() {
        for &t in &[
            0i64,
            1,
            1_764_175_756_123_456_789,
            951_782_400_000_000_000,
            4_102_444_799_999_999_999,
        ] {
            let s = format_utc(t);
            assert_eq!(parse_utc(&s), Some(t), "{s}");
        }
        assert_eq!(
            format_utc(1_764_175_756_123_456_789),
            "20251126T164916.123456789Z"
        );
        assert_eq!(
            format_utc(951_782_400_000_000_000),
            "20000229T000000.000000000Z"
        );
        assert_eq!(parse_utc("20251326T164916.123456789Z"), None);
    }

    #[test]
    fn file_names() {
        let n = file_name(1_764_175_756_000_000_001, 42, "pb.gz");
        assert_eq!(n, "20251126T164916.000000001Z-000042.pb.gz");
        assert_eq!(
            parse_file_name(&n),
            Some((1_764_175_756_000_000_001, 42, "pb.gz"))
        );
        assert_eq!(parse_file_name(".tmp-x"), None);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("http://127.0.0.1:6060"), "127.0.0.1-6060");
        assert_eq!(
            slug("https://Svc.example:8443/debug/pprof/"),
            "svc.example-8443-debug-pprof"
        );
        assert_eq!(slug("http://"), "target");
        assert_eq!(slug("../../etc"), "etc");
    }
}
