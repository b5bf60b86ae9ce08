//! A gigabyte of zeros, gzipped to about a megabyte, must be refused with a
//! bounded amount of memory. Alone in its own test binary so that the peak
//! RSS it measures is its own.
use flate2::Compression;
use flate2::write::GzEncoder;
use profile::ParseError;
use profile::gz::maybe_decompress;
use std::io::Write;

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn gzip_bomb_is_refused_with_bounded_memory() {
    const GIB: usize = 1 << 30;
    const CAP: u64 = 64 << 20;
    let chunk = vec![0u8; 1 << 20];
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    for _ in 0..GIB / chunk.len() {
        e.write_all(&chunk).unwrap();
    }
    let bomb = e.finish().unwrap();
    drop(chunk);
    assert!(bomb.len() < 16 << 20, "bomb is {} bytes", bomb.len());

    let err = maybe_decompress(&bomb, CAP).unwrap_err();
    assert!(
        matches!(err, ParseError::TooLarge { limit: CAP }),
        "{err:?}"
    );

    // Same bomb with a trailer claiming a size under the cap.
    let mut lying = bomb.clone();
    let n = lying.len();
    lying[n - 4..].copy_from_slice(&(1000u32).to_le_bytes());
    let err = maybe_decompress(&lying, CAP).unwrap_err();
    assert!(
        matches!(err, ParseError::TooLarge { limit: CAP }),
        "{err:?}"
    );

    if let Some(peak) = peak_rss_bytes() {
        // The output is capped at CAP; the bomb itself is a few MiB.
        assert!(peak < 2 * CAP, "peak RSS {} MiB", peak >> 20);
        eprintln!("peak RSS {} MiB", peak >> 20);
    }
}
