//! The gzip layer: round trips, truncation, caps, lying trailers.
use flate2::Compression;
use flate2::write::GzEncoder;
use profile::ParseError;
use profile::gz::{compress, maybe_decompress};
use proptest::prelude::*;
use std::io::Write;

fn gzip_with_flate2(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

proptest! {
    #[test]
    fn compress_then_decompress(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let z = compress(&data);
        prop_assert_eq!(&z[..2], &[0x1f, 0x8b]);
        let out = maybe_decompress(&z, data.len() as u64).unwrap();
        prop_assert_eq!(&*out, &data[..]);
    }

    #[test]
    fn flate2_output_is_read(data in proptest::collection::vec(0u8..4, 0..4096)) {
        let z = gzip_with_flate2(&data);
        prop_assert_eq!(&*maybe_decompress(&z, 1 << 20).unwrap(), &data[..]);
    }
}

#[test]
fn non_gzip_is_borrowed_unchanged() {
    for d in [
        &b""[..],
        b"\x1f",
        b"\x1f\x8c",
        b"heap profile: 1: 2 [3: 4] @ heap/1",
    ] {
        let out = maybe_decompress(d, 0).unwrap();
        assert!(matches!(out, std::borrow::Cow::Borrowed(_)));
        assert_eq!(&*out, d);
    }
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let data = b"some profile bytes ".repeat(500);
    let z = compress(&data);
    for n in 2..z.len() {
        let r = maybe_decompress(&z[..n], 1 << 20);
        assert!(r.is_err(), "prefix of {n}/{} bytes was accepted", z.len());
    }
}

#[test]
fn truncated_gzip_says_unexpected_eof() {
    let data = b"some profile bytes ".repeat(500);
    let z = compress(&data);
    for n in [3, 10, z.len() / 2, z.len() - 4, z.len() - 1] {
        let e = maybe_decompress(&z[..n], 1 << 20).unwrap_err();
        assert!(matches!(e, ParseError::Decompress(_)), "{n}: {e:?}");
        assert_eq!(
            e.to_string(),
            "decompressing profile: unexpected EOF",
            "prefix {n}"
        );
    }
}

#[test]
fn corrupt_checksum_is_an_error() {
    let data = b"checksummed".repeat(50);
    let mut z = compress(&data);
    let n = z.len();
    z[n - 8] ^= 0xff;
    assert!(matches!(
        maybe_decompress(&z, 1 << 20),
        Err(ParseError::Decompress(_))
    ));
}

#[test]
fn multi_member_like_go() {
    let a = b"member one;".repeat(100);
    let b = b"member two;".repeat(70);
    let mut z = compress(&a);
    z.extend(compress(&b));
    let mut want = a.clone();
    want.extend(&b);
    assert_eq!(&*maybe_decompress(&z, 1 << 20).unwrap(), &want[..]);
    // Two identical members: the last trailer matches the first member, which
    // must not fool the one-shot path into returning half the data.
    let mut z = compress(&a);
    z.extend(compress(&a));
    assert_eq!(maybe_decompress(&z, 1 << 20).unwrap().len(), 2 * a.len());
    // The cap covers all members together.
    assert!(matches!(
        maybe_decompress(&z, a.len() as u64 + 5),
        Err(ParseError::TooLarge { .. })
    ));
}

#[test]
fn lying_isize_trailer_is_only_a_hint() {
    let data = vec![0u8; 1 << 20];
    let mut z = compress(&data);
    let n = z.len();
    // Claim 100 bytes: the one-shot path fails, streaming enforces the cap.
    z[n - 4..].copy_from_slice(&100u32.to_le_bytes());
    assert!(matches!(
        maybe_decompress(&z, 1000),
        Err(ParseError::TooLarge { limit: 1000 })
    ));
    // Within the cap, the stream is decoded and the bad trailer detected.
    assert!(matches!(
        maybe_decompress(&z, 2 << 20),
        Err(ParseError::Decompress(_))
    ));
}

#[test]
fn too_large_message_names_the_limit() {
    let z = compress(&[1u8; 100]);
    let e = maybe_decompress(&z, 10).unwrap_err();
    assert!(e.to_string().contains("limit of 10 bytes"), "{e}");
}
