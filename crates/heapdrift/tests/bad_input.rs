//! Malformed profile.proto bytes and a real-size gzip bomb through the whole
//! binary: one stderr line naming the file and what is wrong, then pprof's
//! "failed to fetch any source profiles", exit status 2, no panic, and
//! memory bounded by the decompression cap.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, name: &str, bytes: &[u8]) -> Output {
    std::fs::write(dir.join(name), bytes).unwrap();
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(["pprof", "-top", name])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn assert_source_error(o: &Output, file: &str, wants: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{file}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{file}: {err:?}");
    assert!(lines[0].starts_with(&format!("{file}: ")), "{err:?}");
    assert!(
        lines[0].contains(wants),
        "{file}: want {wants:?} in {err:?}"
    );
    assert_eq!(lines[1], "failed to fetch any source profiles", "{err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty());
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(field: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// A minimal valid profile: one sample type, one sample at location 1.
fn profile_with(sample_location: u64, sample_type_string: u64) -> Vec<u8> {
    let mut p = Vec::new();
    // sample_type { type: sample_type_string, unit: 2 }
    let mut vt = Vec::new();
    varint(1 << 3, &mut vt);
    varint(sample_type_string, &mut vt);
    varint(2 << 3, &mut vt);
    varint(2, &mut vt);
    field_bytes(1, &vt, &mut p);
    // sample { location_id: [loc], value: [7] }
    let mut s = Vec::new();
    varint(1 << 3, &mut s);
    varint(sample_location, &mut s);
    varint(2 << 3, &mut s);
    varint(7, &mut s);
    field_bytes(2, &s, &mut p);
    // location { id: 1, address: 0x1000 }
    let mut l = Vec::new();
    varint(1 << 3, &mut l);
    varint(1, &mut l);
    varint(3 << 3, &mut l);
    varint(0x1000, &mut l);
    field_bytes(4, &l, &mut p);
    for s in ["", "samples", "count"] {
        field_bytes(6, s.as_bytes(), &mut p);
    }
    p
}

#[test]
fn malformed_protos_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    // The well-formed version really is accepted, so the failures below
    // come from the one defect each carries.
    let ok = run(dir.path(), "ok.pb", &profile_with(1, 1));
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");

    let o = run(dir.path(), "unknown-location.pb", &profile_with(9, 1));
    assert_source_error(&o, "unknown-location.pb", "parsing profile");

    let o = run(dir.path(), "string-index.pb", &profile_with(1, 77));
    assert_source_error(&o, "string-index.pb", "parsing profile");

    // A length prefix that runs past the end of the buffer.
    let mut past = profile_with(1, 1);
    past.extend_from_slice(&[6 << 3 | 2, 0xff, 0x01, b'x']);
    let o = run(dir.path(), "length-past-end.pb", &past);
    assert_source_error(&o, "length-past-end.pb", "parsing profile");

    // Every prefix of a valid gzip'ed profile: truncated gzip.
    let gz = profile::gz::compress(&profile_with(1, 1));
    for cut in [1, 10, gz.len() / 2, gz.len() - 1] {
        let o = run(dir.path(), "cut.pb.gz", &gz[..cut]);
        assert_source_error(&o, "cut.pb.gz", "profile");
    }
}

/// 1 GiB of zeros, gzip'ed (1 MB on disk), under the default cap: refused
/// with a message naming the cap, and the process never holds much more
/// than the cap (measured by /usr/bin/time when it is installed).
#[test]
fn one_gib_gzip_bomb_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.pb.gz");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            enc.write_all(&zeros).unwrap();
        }
        enc.finish().unwrap();
    }
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "maxrss_kb=%M", env!("CARGO_BIN_EXE_heapdrift")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_heapdrift"))
    };
    let o = cmd
        .args(["pprof", "-top", "bomb.pb.gz"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let mut lines = err.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("bomb.pb.gz: "), "{err}");
    assert!(first.contains("HEAPDRIFT_MAX_DECOMPRESSED"), "{err}");
    if let Some(kb) = lines
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        let cap_kb = profile::parse::DEFAULT_MAX_DECOMPRESSED / 1024;
        assert!(
            kb < cap_kb + 64 * 1024,
            "peak RSS {kb} kB for a 1 GiB bomb with a {cap_kb} kB cap"
        );
        eprintln!("1 GiB gzip bomb: peak RSS {} MB", kb / 1024);
    }
}
