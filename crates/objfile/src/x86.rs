//! x86-64 instructions in Go's assembler syntax.

pub(crate) fn go_syntax<'a>(
    _code: &[u8],
    _pc: u64,
    _lookup: &dyn Fn(u64) -> Option<(&'a str, u64)>,
) -> (String, usize) {
    ("?".into(), 1)
}
