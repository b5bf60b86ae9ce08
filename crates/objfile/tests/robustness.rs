//! Bad input gives errors or empty answers, never a panic: arbitrary bytes,
//! and real binaries truncated or with flipped bits (this test's own
//! executable always; a Go program, whose pclntab is the interesting part,
//! with `HEAPDRIFT_GO`).

use std::path::Path;
use std::process::Command;

use objfile::ObjFile;
use proptest::prelude::*;

/// Every query on whatever parsed; answers are not checked, only that
/// they come.
fn exercise(bytes: &[u8]) {
    let Ok(obj) = ObjFile::parse(bytes) else {
        return;
    };
    let _ = obj.load_address();
    let _ = obj.mapping_offset(0x7f00_0000_0000);
    let starts: Vec<(u64, i64)> = match obj.symbols() {
        Ok(syms) => syms.iter().map(|s| (s.addr, s.size)).take(400).collect(),
        Err(_) => Vec::new(),
    };
    let _ = obj.pprof_symbols(|name| name.contains("main"), 0);
    for &(addr, size) in starts.iter().step_by(3) {
        for pc in [
            addr,
            addr.wrapping_add(size as u64 / 2),
            addr.wrapping_sub(1),
        ] {
            let _ = obj.go_line(pc);
            let _ = obj.source_line(pc);
        }
        let _ = obj.disasm(addr, addr.wrapping_add((size as u64).min(256)));
    }
    // From the start of .text (disasm clamps), a stretch of it.
    let _ = obj.disasm(0, 0x40_4000);
    let _ = obj.source_line(0);
    let _ = obj.source_line(u64::MAX);
}

/// Truncations at many lengths and single-bit flips spread over the file
/// and concentrated in `hot` (a byte range worth corrupting harder).
fn mutate_and_exercise(original: &[u8], hot: Option<std::ops::Range<usize>>) {
    let len = original.len();
    for cut in (0..len)
        .step_by((len / 97).max(1))
        .chain([len - 1, 16, 64, 65])
    {
        exercise(&original[..cut.min(len)]);
    }
    let mut bytes = original.to_vec();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..120 {
        let at = match &hot {
            Some(r) if round % 2 == 0 && !r.is_empty() => r.start + next() as usize % r.len(),
            // The headers and tables are near both ends: flip there too.
            _ if round % 3 == 0 => next() as usize % len.min(4096),
            _ => next() as usize % len,
        };
        let bit = 1u8 << (next() % 8);
        bytes[at] ^= bit;
        exercise(&bytes);
        bytes[at] ^= bit;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise(&bytes);
    }

    /// Arbitrary bytes behind a valid ELF64 x86-64 identification, so that
    /// parsing gets past the magic number.
    #[test]
    fn arbitrary_after_elf_header(tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut bytes = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0];
        bytes.extend(tail);
        exercise(&bytes);
    }

    /// Any bytes at any address disassemble to something, one byte at least
    /// per instruction.
    #[test]
    fn disasm_of_arbitrary_code(code in proptest::collection::vec(any::<u8>(), 1..64)) {
        let elf = tiny_elf_with_text(&code);
        let obj = ObjFile::parse(&elf).expect("the tiny ELF parses");
        let insts = obj.disasm(0, u64::MAX).expect("disassembles");
        let total: u64 = insts.iter().map(|i| i.size).sum();
        prop_assert_eq!(total, code.len() as u64);
        prop_assert!(insts.iter().all(|i| i.size >= 1 && !i.text.is_empty()));
    }
}

/// An ELF64 x86-64 executable with a .text of `code` at 0x401000, an empty
/// symbol table and no pclntab.
fn tiny_elf_with_text(code: &[u8]) -> Vec<u8> {
    let shstrtab = b"\0.text\0.symtab\0.strtab\0.shstrtab\0";
    let text_off = 0x40u64;
    let symtab_off = text_off + code.len() as u64;
    let strtab_off = symtab_off + 24;
    let shstrtab_off = strtab_off + 1;
    let sh_off = (shstrtab_off + shstrtab.len() as u64).next_multiple_of(8);
    let mut out = Vec::new();
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let u16le = |v: u16| v.to_le_bytes();
    out.extend(u16le(2)); // ET_EXEC
    out.extend(u16le(0x3e)); // x86-64
    out.extend(1u32.to_le_bytes());
    out.extend(0x401000u64.to_le_bytes()); // entry
    out.extend(0u64.to_le_bytes()); // no program headers
    out.extend(sh_off.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(u16le(64));
    out.extend(u16le(56));
    out.extend(u16le(0));
    out.extend(u16le(64));
    out.extend(u16le(5)); // sections
    out.extend(u16le(4)); // .shstrtab
    out.extend_from_slice(code);
    out.extend([0u8; 24]); // the null symbol
    out.push(0); // .strtab
    out.extend_from_slice(shstrtab);
    out.resize(sh_off as usize, 0);
    let section = |out: &mut Vec<u8>,
                   name: u32,
                   kind: u32,
                   flags: u64,
                   addr: u64,
                   off: u64,
                   size: u64,
                   link: u32,
                   entsize: u64| {
        out.extend(name.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(flags.to_le_bytes());
        out.extend(addr.to_le_bytes());
        out.extend(off.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(link.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(1u64.to_le_bytes());
        out.extend(entsize.to_le_bytes());
    };
    section(&mut out, 0, 0, 0, 0, 0, 0, 0, 0);
    section(
        &mut out,
        1,
        1,
        6,
        0x401000,
        text_off,
        code.len() as u64,
        0,
        0,
    );
    section(&mut out, 7, 2, 0, 0, symtab_off, 24, 3, 24);
    section(&mut out, 15, 3, 0, 0, strtab_off, 1, 0, 0);
    section(
        &mut out,
        23,
        3,
        0,
        0,
        shstrtab_off,
        shstrtab.len() as u64,
        0,
        0,
    );
    out
}

#[test]
fn own_executable_truncated_and_flipped() {
    let exe = std::fs::read(std::env::current_exe().expect("current exe")).expect("read exe");
    mutate_and_exercise(&exe, None);
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn go_program_truncated_and_flipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("prog");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/prog");
    let go = std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let status = Command::new(go)
        .current_dir(&src)
        .args(["build", "-o"])
        .arg(&path)
        .arg(".")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .status()
        .expect("go build");
    assert!(status.success());
    let bytes = std::fs::read(&path).expect("read program");
    // The pclntab, located the way a corruption would not move it.
    let needle = [0xf1, 0xff, 0xff, 0xff, 0, 0];
    let hot = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|start| start..(start + 0x40000).min(bytes.len()));
    assert!(hot.is_some(), "no Go 1.20 pclntab magic in the program");
    mutate_and_exercise(&bytes, hot);
}
