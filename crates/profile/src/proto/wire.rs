//! Protobuf wire format primitives, with pprof's error wording.
use crate::error::ParseError;

pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

pub(crate) fn err(msg: &str) -> ParseError {
    ParseError::Proto(msg.to_string())
}

#[cold]
fn bad_varint() -> ParseError {
    err("bad varint")
}

#[cold]
pub(crate) fn type_mismatch() -> ParseError {
    err("type mismatch")
}

/// One decoded field value. Fixed-width values are kept only to be skipped:
/// no profile.proto field uses them.
#[derive(Clone, Copy)]
pub(crate) enum Val<'a> {
    Varint(u64),
    Fixed,
    Bytes(&'a [u8]),
}

impl<'a> Val<'a> {
    #[inline]
    pub(crate) fn varint(self) -> Result<u64, ParseError> {
        match self {
            Val::Varint(v) => Ok(v),
            _ => Err(type_mismatch()),
        }
    }

    #[inline]
    pub(crate) fn int64(self) -> Result<i64, ParseError> {
        self.varint().map(u64::cast_signed)
    }

    #[inline]
    pub(crate) fn bytes(self) -> Result<&'a [u8], ParseError> {
        match self {
            Val::Bytes(b) => Ok(b),
            _ => Err(type_mismatch()),
        }
    }
}

/// Reads a varint from the front of `data`. Like Go's decoder, at most 10
/// bytes are read and bits beyond 64 are dropped.
#[inline(always)]
pub(crate) fn read_varint(data: &mut &[u8]) -> Result<u64, ParseError> {
    let d = *data;
    // One- and two-byte varints (every id of a profile with fewer than
    // 16384 locations) take the fast paths.
    match *d {
        [b, ..] if b < 0x80 => {
            *data = &d[1..];
            Ok(u64::from(b))
        }
        [b0, b1, ..] if b1 < 0x80 => {
            *data = &d[2..];
            Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7))
        }
        [_, ..] => read_varint_slow(data),
        [] => Err(bad_varint()),
    }
}

/// [`read_varint`] for callers that only need to know that a run is
/// malformed, not why: no error value to build or move.
#[inline(always)]
pub(crate) fn read_varint_opt(data: &mut &[u8]) -> Option<u64> {
    let d = *data;
    match *d {
        [b, ..] if b < 0x80 => {
            *data = &d[1..];
            Some(u64::from(b))
        }
        [b0, b1, ..] if b1 < 0x80 => {
            *data = &d[2..];
            Some(u64::from(b0 & 0x7f) | (u64::from(b1) << 7))
        }
        _ => read_varint_slow(data).ok(),
    }
}

#[inline]
fn read_varint_slow(data: &mut &[u8]) -> Result<u64, ParseError> {
    let d = *data;
    let mut v = 0u64;
    for (i, &b) in d.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *data = &d[i + 1..];
            return Ok(v);
        }
    }
    Err(bad_varint())
}

/// A cursor over one message's bytes.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len()
    }

    /// The next `(field number, value)`, or `None` at the end. Every length
    /// is checked against the remaining bytes.
    #[inline(always)]
    pub(crate) fn next_field(&mut self) -> Result<Option<(u64, Val<'a>)>, ParseError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let key = read_varint(&mut self.data)?;
        let field = key >> 3;
        let val = match (key & 7) as u8 {
            VARINT => Val::Varint(read_varint(&mut self.data)?),
            FIXED64 => {
                self.data = self.data.get(8..).ok_or_else(|| err("not enough data"))?;
                Val::Fixed
            }
            LEN => {
                let n = read_varint(&mut self.data)?;
                let Some((b, rest)) = usize::try_from(n)
                    .ok()
                    .and_then(|n| self.data.split_at_checked(n))
                else {
                    return Err(err("too much data"));
                };
                self.data = rest;
                Val::Bytes(b)
            }
            FIXED32 => {
                self.data = self.data.get(4..).ok_or_else(|| err("not enough data"))?;
                Val::Fixed
            }
            // Groups (3, 4) and the undefined 6, 7: pprof rejects them too.
            t => return Err(ParseError::Proto(format!("unknown wire type: {t}"))),
        };
        Ok(Some((field, val)))
    }
}

/// Upper bound on the number of varints in a packed run: one terminating
/// byte each.
#[inline]
pub(crate) fn count_varints(b: &[u8]) -> usize {
    b.iter().filter(|&&x| x < 0x80).count()
}

/// Appends a repeated varint field, packed (wire type 2) or not.
#[inline]
pub(crate) fn push_repeated<T>(
    out: &mut Vec<T>,
    v: Val<'_>,
    conv: impl Fn(u64) -> T,
) -> Result<(), ParseError> {
    match v {
        Val::Bytes(mut b) => {
            out.reserve(count_varints(b));
            while !b.is_empty() {
                out.push(conv(read_varint(&mut b)?));
            }
            Ok(())
        }
        Val::Varint(x) => {
            out.push(conv(x));
            Ok(())
        }
        Val::Fixed => Err(type_mismatch()),
    }
}

// ---- encoding ----

#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        buf.push((x & 0x7f) as u8 | 0x80);
        x >>= 7;
    }
    buf.push((x & 0x7f) as u8);
}

#[inline]
pub(crate) fn put_key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(buf, (u64::from(field) << 3) | u64::from(wire));
}

#[inline]
pub(crate) fn put_u64(buf: &mut Vec<u8>, field: u32, x: u64) {
    put_key(buf, field, VARINT);
    put_varint(buf, x);
}

/// pprof's `encode*Opt`: zero values are omitted.
#[inline]
pub(crate) fn put_u64_opt(buf: &mut Vec<u8>, field: u32, x: u64) {
    if x != 0 {
        put_u64(buf, field, x);
    }
}

#[inline]
pub(crate) fn put_i64_opt(buf: &mut Vec<u8>, field: u32, x: i64) {
    put_u64_opt(buf, field, x.cast_unsigned());
}

#[inline]
pub(crate) fn put_bool_opt(buf: &mut Vec<u8>, field: u32, x: bool) {
    put_u64_opt(buf, field, u64::from(x));
}

pub(crate) fn put_bytes(buf: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_key(buf, field, LEN);
    put_varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

fn varint_len(x: u64) -> usize {
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

/// pprof packs a repeated varint field only when it has more than two
/// elements.
pub(crate) fn put_repeated(buf: &mut Vec<u8>, field: u32, xs: &[u64]) {
    if xs.len() > 2 {
        let n: usize = xs.iter().map(|&x| varint_len(x)).sum();
        put_key(buf, field, LEN);
        put_varint(buf, n as u64);
        buf.reserve(n);
        for &x in xs {
            put_varint(buf, x);
        }
    } else {
        for &x in xs {
            put_u64(buf, field, x);
        }
    }
}

/// Writes field `field` as an embedded message whose body `body` appends to
/// the buffer; the length prefix is inserted afterwards.
#[inline]
pub(crate) fn put_message(buf: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    body(buf);
    let len = buf.len() - start;
    let mut hdr = [0u8; 20];
    let mut n = 0;
    for mut x in [(u64::from(field) << 3) | u64::from(LEN), len as u64] {
        while x >= 0x80 {
            hdr[n] = (x & 0x7f) as u8 | 0x80;
            n += 1;
            x >>= 7;
        }
        hdr[n] = (x & 0x7f) as u8;
        n += 1;
    }
    buf.extend_from_slice(&hdr[..n]);
    buf[start..].rotate_right(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_roundtrip_and_len() {
        for x in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, x);
            assert_eq!(b.len(), varint_len(x));
            let mut s = &b[..];
            assert_eq!(read_varint(&mut s).unwrap(), x);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let b = [0x80u8; 11];
        assert!(read_varint(&mut &b[..]).is_err());
        assert!(read_varint(&mut &b[..3]).is_err());
    }
}
