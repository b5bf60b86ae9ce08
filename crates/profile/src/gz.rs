//! Gzip detection and capped inflation.
//!
//! Fast path: one-shot libdeflate into a buffer sized from the gzip ISIZE
//! trailer. ISIZE is only a hint (it is mod 2^32, attacker-controlled, and
//! describes the *last* member only), so it is trusted just to size the
//! buffer, bounded by `max`, and the result is accepted only when libdeflate
//! consumed the whole input. Anything else (multi-member files, lying
//! trailers, corrupt data) takes the streaming path, which enforces the cap
//! byte by byte and produces the user-facing error.
use crate::error::ParseError;
use flate2::read::MultiGzDecoder;
use std::borrow::Cow;
use std::io::Read;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Deflate cannot expand more than ~1032:1; an ISIZE claiming more than that
/// is a lie and must not size an allocation.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Inflates `data` when it starts with the gzip magic (1f 8b), refusing to
/// produce more than `max` bytes; returns other input unchanged.
pub fn maybe_decompress(data: &[u8], max: u64) -> Result<Cow<'_, [u8]>, ParseError> {
    if data.len() < 2 || data[..2] != GZIP_MAGIC {
        return Ok(Cow::Borrowed(data));
    }
    if let Some(out) = try_oneshot(data, max) {
        return Ok(Cow::Owned(out));
    }
    stream_decompress(data, max).map(Cow::Owned)
}

/// Gzip-compresses `data` (for `-proto` output and the archive).
pub fn compress(data: &[u8]) -> Vec<u8> {
    // Level 6 is gzip's (and Go's) default: a good size/speed balance.
    let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut out = vec![0u8; c.gzip_compress_bound(data.len())];
    let n = c
        .gzip_compress(data, &mut out)
        .expect("buffer sized by gzip_compress_bound");
    out.truncate(n);
    out
}

fn try_oneshot(data: &[u8], max: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    oneshot_into(data, max, &mut out).then_some(out)
}

/// The one-shot path into `out` (its capacity reused); `false`, with `out`
/// in no useful state, when the input needs the streaming path.
fn oneshot_into(data: &[u8], max: u64, out: &mut Vec<u8>) -> bool {
    // 10-byte header + empty deflate block (2) + 8-byte trailer.
    if data.len() < 20 {
        return false;
    }
    let mut isize_le = [0u8; 4];
    isize_le.copy_from_slice(&data[data.len() - 4..]);
    let hint = u64::from(u32::from_le_bytes(isize_le));
    if hint > max || hint > (data.len() as u64).saturating_mul(MAX_DEFLATE_RATIO) {
        return false;
    }
    let Ok(hint) = usize::try_from(hint) else {
        return false;
    };
    out.clear();
    out.resize(hint, 0);
    let Some(mut d) = RawDecompressor::new() else {
        return false;
    };
    matches!(d.gzip_decompress_ex(data, out), Some((consumed, produced)) if consumed == data.len() && produced == hint)
}

/// Like [`maybe_decompress`], but inflates into `out`, reusing its
/// capacity: a reader of many profiles then allocates (and the kernel
/// zeroes) its buffer once, not once per profile. Returns `false`, leaving
/// `out` alone, when `data` is not gzip (use `data` itself).
pub fn gunzip_into(data: &[u8], max: u64, out: &mut Vec<u8>) -> Result<bool, ParseError> {
    if data.len() < 2 || data[..2] != GZIP_MAGIC {
        return Ok(false);
    }
    if !oneshot_into(data, max, out) {
        *out = stream_decompress(data, max)?;
    }
    Ok(true)
}

fn stream_decompress(data: &[u8], max: u64) -> Result<Vec<u8>, ParseError> {
    // Two passes: the first inflates into a scratch chunk only to measure
    // (and to find errors and the cap), the second into an exactly sized
    // buffer. A growing buffer would hold its old and new copies at once on
    // every reallocation (and the allocator may keep freed ones a while),
    // so a bomb could make us resident at several times the cap; this way
    // it makes us allocate nothing. Only input the one-shot path refused
    // (multi-member, lying trailer, corrupt) pays the second pass.
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let mut chunk = vec![0u8; 64 << 10];
    let size = {
        let mut reader = MultiGzDecoder::new(data);
        let mut total = 0usize;
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => break total,
                Ok(n) => {
                    total = total.saturating_add(n);
                    if total > limit {
                        return Err(ParseError::TooLarge { limit: max });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(go_wording(e)),
            }
        }
    };
    let mut out = vec![0u8; size];
    let mut reader = MultiGzDecoder::new(data);
    let mut filled = 0;
    while filled < size {
        match reader.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(go_wording(e)),
        }
    }
    out.truncate(filled);
    Ok(out)
}

/// Rewords flate2's errors as Go's compress/gzip reports them, which is what
/// pprof prints.
fn go_wording(e: std::io::Error) -> ParseError {
    let msg = e.to_string();
    let go = if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "unexpected EOF".to_string()
    } else if msg.contains("checksum") {
        "gzip: invalid checksum".to_string()
    } else if msg.contains("header") {
        // Also what Go says for trailing bytes that are not another member.
        "gzip: invalid header".to_string()
    } else if msg.contains("deflate") {
        // Go adds the offset ("before offset N"), which flate2 does not know.
        "flate: corrupt input".to_string()
    } else {
        msg
    };
    ParseError::Decompress(go)
}

/// libdeflater's safe wrapper hides how many input bytes a gzip member used,
/// which is what tells a single-member file from a multi-member one; the
/// `_ex` entry point of libdeflate-sys reports it.
struct RawDecompressor(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

impl RawDecompressor {
    fn new() -> Option<Self> {
        // SAFETY: plain constructor; a null return means allocation failed.
        let p = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        std::ptr::NonNull::new(p).map(RawDecompressor)
    }

    /// `(input bytes consumed, output bytes written)` on success.
    fn gzip_decompress_ex(&mut self, input: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
        let mut consumed = 0usize;
        let mut produced = 0usize;
        // SAFETY: both slices are valid for their lengths for the duration of
        // the call, libdeflate writes at most `out.len()` bytes to `out`, and
        // the decompressor is exclusively borrowed.
        let ret = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut consumed,
                &mut produced,
            )
        };
        (ret == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS)
            .then_some((consumed, produced))
    }
}

impl Drop for RawDecompressor {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor, freed once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_input_is_borrowed() {
        let d = b"hello";
        assert!(matches!(maybe_decompress(d, 10).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn roundtrip_small() {
        let d = b"hello hello hello".repeat(100);
        let z = compress(&d);
        assert_eq!(&*maybe_decompress(&z, 1 << 20).unwrap(), &d[..]);
    }

    #[test]
    fn multi_member_is_concatenated() {
        let a = b"first member ".repeat(10);
        let mut z = compress(&a);
        z.extend_from_slice(&compress(&a));
        let mut want = a.clone();
        want.extend_from_slice(&a);
        assert_eq!(&*maybe_decompress(&z, 1 << 20).unwrap(), &want[..]);
    }

    #[test]
    fn gunzip_into_reuses_the_buffer_and_matches() {
        let mut out = Vec::new();
        assert!(!gunzip_into(b"plain", 10, &mut out).unwrap());
        assert!(out.is_empty());
        let a = b"alpha ".repeat(500);
        let b = b"beta".repeat(50);
        assert!(gunzip_into(&compress(&a), 1 << 20, &mut out).unwrap());
        assert_eq!(out, a);
        let cap = out.capacity();
        assert!(gunzip_into(&compress(&b), 1 << 20, &mut out).unwrap());
        assert_eq!(out, b);
        assert_eq!(out.capacity(), cap);
        // Multi-member input takes the streaming path.
        let mut z = compress(&b);
        z.extend_from_slice(&compress(&b));
        assert!(gunzip_into(&z, 1 << 20, &mut out).unwrap());
        assert_eq!(out, [b.as_slice(), &b].concat());
        assert!(matches!(
            gunzip_into(&compress(&a), 100, &mut out),
            Err(ParseError::TooLarge { limit: 100 })
        ));
    }

    #[test]
    fn exact_limit_is_accepted_one_more_is_not() {
        let d = vec![7u8; 1000];
        let z = compress(&d);
        assert_eq!(maybe_decompress(&z, 1000).unwrap().len(), 1000);
        assert!(matches!(
            maybe_decompress(&z, 999),
            Err(ParseError::TooLarge { limit: 999 })
        ));
    }
}
