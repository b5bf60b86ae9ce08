//! x86-64 instructions in Go's assembler syntax, as `go tool objdump` and
//! pprof print them (golang.org/x/arch's `x86asm.GoSyntax`), over
//! iced-x86's decoding.
//!
//! x86asm's decoder models an instruction as Intel-order arguments, an
//! operand size and a memory operand size; the printer reverses the
//! arguments, adds a size suffix to some mnemonics and symbolizes
//! addresses. This module first rebuilds that model from iced's decoding
//! (`GoInst`), including x86asm's quirks that show in the text (32-bit
//! displacements are zero-extended, `INT3` is `INT $0x3`, ...), then prints
//! it the way GoSyntax does.

use iced_x86::{
    Code, Decoder, DecoderOptions, EncodingKind, Instruction, Mnemonic, OpKind, Register,
    RoundingControl,
};

/// Finds the symbol holding an address: its name and start.
pub(crate) type Lookup<'a> = dyn Fn(u64) -> Option<(&'a str, u64)> + 'a;

/// One argument as x86asm holds it.
enum Arg {
    Reg(Register),
    /// Immediate, sign- or zero-extended as x86asm extends it.
    Imm(i64),
    Mem(Mem),
    /// Branch target, absolute.
    Rel(u64),
}

struct Mem {
    segment: Register,
    base: Register,
    index: Register,
    scale: u32,
    disp: i64,
}

/// The text of the instruction at the start of `code` (at address `pc`)
/// and its length; `?` and 1 where x86asm cannot decode.
pub(crate) fn go_syntax<'a>(code: &[u8], pc: u64, lookup: &Lookup<'a>) -> (String, usize) {
    let mut decoder = Decoder::with_ip(64, code, pc, DecoderOptions::NONE);
    let inst = decoder.decode();
    if inst.is_invalid() || inst.len() == 0 {
        return ("?".to_owned(), 1);
    }
    let Some(len) = x86asm_len(&inst, code) else {
        return ("?".to_owned(), 1);
    };
    match render(&inst, code, pc, lookup) {
        Some(text) => (text, len),
        None => ("?".to_owned(), 1),
    }
}

/// The length x86asm gives: iced's, but VZEROUPPER and VZEROALL, which
/// x86asm decodes with a ModR/M operand (and its SIB and displacement)
/// they do not have.
fn x86asm_len(inst: &Instruction, code: &[u8]) -> Option<usize> {
    if !matches!(inst.mnemonic(), Mnemonic::Vzeroupper | Mnemonic::Vzeroall) {
        return Some(inst.len());
    }
    let at = inst.len();
    let modrm = *code.get(at)?;
    let (mode, rm) = (modrm >> 6, modrm & 7);
    let mut len = at + 1;
    if mode != 3 && rm == 4 {
        let sib = *code.get(len)?;
        len += 1;
        if mode == 0 && sib & 7 == 5 {
            len += 4;
        }
    }
    len += match (mode, rm) {
        (0, 5) => 4,
        (1, _) => 1,
        (2, _) => 4,
        _ => 0,
    };
    (len <= code.len()).then_some(len)
}

/// Legacy prefixes and REX as x86asm reads them: the operand size they set.
struct Prefixes {
    /// x86asm's `DataSize`: 64 with REX.W, else 16 with 0x66, else 32.
    data_size: u32,
}

fn scan_prefixes(code: &[u8]) -> Prefixes {
    let mut saw_66 = false;
    let mut i = 0;
    while let Some(&b) = code.get(i) {
        match b {
            0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x67 => {}
            0x66 => saw_66 = true,
            _ => break,
        }
        i += 1;
    }
    let rex_w = code.get(i).is_some_and(|&b| b & 0xf8 == 0x48);
    Prefixes {
        data_size: if rex_w {
            64
        } else if saw_66 {
            16
        } else {
            32
        },
    }
}

fn render(inst: &Instruction, code: &[u8], pc: u64, lookup: &Lookup<'_>) -> Option<String> {
    let prefixes = scan_prefixes(&code[..inst.len().min(code.len())]);
    let data_size = prefixes.data_size;
    let next_pc = pc.wrapping_add(inst.len() as u64);
    let mnemonic = inst.mnemonic();
    let mut args: Vec<Arg> = Vec::with_capacity(5);
    let mut mem_bytes = 0u32;
    for i in 0..inst.op_count() {
        let arg = match inst.op_kind(i) {
            OpKind::Register => Arg::Reg(inst.op_register(i)),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
                Arg::Rel(inst.near_branch_target())
            }
            OpKind::Immediate8 => Arg::Imm(i64::from(inst.immediate8())),
            OpKind::Immediate8_2nd => Arg::Imm(i64::from(inst.immediate8_2nd())),
            // x86asm sign-extends 16-bit immediates but RET's and ENTER's.
            OpKind::Immediate16
                if matches!(mnemonic, Mnemonic::Ret | Mnemonic::Retf | Mnemonic::Enter) =>
            {
                Arg::Imm(i64::from(inst.immediate16()))
            }
            OpKind::Immediate16 => Arg::Imm(i64::from(inst.immediate16() as i16)),
            // x86asm sign-extends 32-bit immediates.
            OpKind::Immediate32 => Arg::Imm(i64::from(inst.immediate32() as i32)),
            OpKind::Immediate64 => Arg::Imm(inst.immediate64() as i64),
            OpKind::Immediate8to16 | OpKind::Immediate8to32 | OpKind::Immediate8to64 => {
                Arg::Imm(i64::from(inst.immediate8() as i8))
            }
            OpKind::Immediate32to64 => Arg::Imm(i64::from(inst.immediate32() as i32)),
            OpKind::Memory => {
                mem_bytes = inst.memory_size().size() as u32;
                Arg::Mem(memory_operand(inst, next_pc))
            }
            OpKind::MemorySegSI
            | OpKind::MemorySegESI
            | OpKind::MemorySegRSI
            | OpKind::MemorySegDI
            | OpKind::MemorySegEDI
            | OpKind::MemorySegRDI => Arg::Mem(string_operand(
                inst.memory_segment(),
                Register::RSI,
                i,
                inst,
            )),
            OpKind::MemoryESDI | OpKind::MemoryESEDI | OpKind::MemoryESRDI => {
                Arg::Mem(string_operand(Register::ES, Register::RDI, i, inst))
            }
            _ => return None,
        };
        args.push(arg);
        // x86asm lists an AVX-512 opmask as the argument after the
        // destination.
        if i == 0 && inst.op_mask() != Register::None {
            args.push(Arg::Reg(inst.op_mask()));
        }
    }

    let mut op = op_name(inst, mnemonic);
    if mnemonic == Mnemonic::Int3 {
        op = "INT".to_owned();
        args.push(Arg::Imm(3));
    }

    if takes_size_suffix(mnemonic) {
        let mut size = data_size;
        if mem_bytes != 0 {
            size = mem_bytes * 8;
        } else if args.len() == 1
            && let Arg::Reg(r) = args[0]
            && r.is_gpr64()
        {
            size = 64;
        }
        op.push_str(match size {
            8 => "B",
            16 => "W",
            32 => "L",
            64 => "Q",
            _ => "",
        });
    }
    if inst.is_broadcast() {
        op.push_str(".BCST");
    }
    if inst.suppress_all_exceptions() || inst.rounding_control() != RoundingControl::None {
        op.push_str(match inst.rounding_control() {
            RoundingControl::None => ".SAE",
            RoundingControl::RoundToNearest => ".RN_SAE",
            RoundingControl::RoundDown => ".RD_SAE",
            RoundingControl::RoundUp => ".RU_SAE",
            RoundingControl::RoundTowardZero => ".RZ_SAE",
        });
    }
    if inst.zeroing_masking() {
        op.push_str(".Z");
    }

    let mut texts: Vec<String> = args
        .iter()
        .rev()
        .map(|a| print_arg(a, mnemonic, data_size, pc, next_pc, lookup))
        .collect();
    // Comparisons read left to right (Go issue 60920).
    if mnemonic == Mnemonic::Cmp && texts.len() >= 2 {
        texts.swap(0, 1);
    }

    let mut out = String::new();
    if inst.has_rep_prefix() && !implies_rep(inst) {
        out.push_str("REP; ");
    } else if inst.has_repne_prefix() {
        out.push_str("REPNE; ");
    }
    if inst.has_lock_prefix() {
        out.push_str("LOCK ");
    }
    out.push_str(&op);
    if !texts.is_empty() {
        out.push(' ');
        out.push_str(&texts.join(", "));
    }
    Some(out)
}

/// Whether a REP prefix is part of the instruction rather than printed.
fn implies_rep(_inst: &Instruction) -> bool {
    false
}

fn memory_operand(inst: &Instruction, next_pc: u64) -> Mem {
    let mut base = inst.memory_base();
    let displ_size = inst.memory_displ_size();
    // x86asm decodes EVEX's RIP-relative form as an absolute 32-bit
    // address.
    if base == Register::RIP && inst.encoding() == EncodingKind::EVEX {
        base = Register::None;
        let raw = inst.memory_displacement64().wrapping_sub(next_pc) as u32;
        return Mem {
            segment: inst.segment_prefix(),
            base,
            index: Register::None,
            scale: 0,
            disp: i64::from(raw),
        };
    }
    let disp = if base == Register::RIP {
        // iced gives the target; x86asm keeps the 32-bit field, unsigned.
        i64::from(inst.memory_displacement64().wrapping_sub(next_pc) as u32)
    } else if displ_size >= 4 {
        // x86asm zero-extends a 32-bit displacement.
        i64::from(inst.memory_displacement64() as u32)
    } else {
        inst.memory_displacement64() as i64
    };
    Mem {
        segment: inst.segment_prefix(),
        base,
        index: inst.memory_index(),
        scale: if inst.memory_index() == Register::None {
            0
        } else {
            inst.memory_index_scale()
        },
        disp,
    }
}

fn string_operand(segment: Register, base: Register, _i: u32, _inst: &Instruction) -> Mem {
    Mem {
        segment,
        base,
        index: Register::None,
        scale: 0,
        disp: 0,
    }
}

fn op_name(inst: &Instruction, mnemonic: Mnemonic) -> String {
    match mnemonic {
        Mnemonic::Movsd if !is_string_op(inst) => "MOVSD_XMM".to_owned(),
        Mnemonic::Cmpsd if !is_string_op(inst) => "CMPSD_XMM".to_owned(),
        _ => format!("{mnemonic:?}").to_uppercase(),
    }
}

fn is_string_op(inst: &Instruction) -> bool {
    matches!(inst.code(), Code::Movsd_m32_m32 | Code::Cmpsd_m32_m32)
}

fn print_arg(
    arg: &Arg,
    mnemonic: Mnemonic,
    data_size: u32,
    _pc: u64,
    next_pc: u64,
    lookup: &Lookup<'_>,
) -> String {
    match arg {
        Arg::Reg(r) => reg_name(*r),
        Arg::Rel(target) => match lookup(*target) {
            // Only a symbol's start is shown by name: jumps within a
            // function read better as addresses.
            Some((name, base)) if base == *target => format!("{name}(SB)"),
            _ => format!("{target:#x}"),
        },
        Arg::Imm(value) => {
            if matches!(mnemonic, Mnemonic::Mov | Mnemonic::Push)
                && data_size == 32
                && let Some((name, base)) = lookup(*value as u64)
            {
                let offset = (*value as u64).wrapping_sub(base);
                return if offset == 0 {
                    format!("${name}(SB)")
                } else {
                    format!("${name}+{offset}(SB)")
                };
            }
            if i64::from(*value as i32) == *value {
                format!("${}", signed_hex(*value))
            } else {
                format!("${:#x}", *value as u64)
            }
        }
        Arg::Mem(m) => {
            if let Some((name, offset)) = mem_symbol(m, next_pc, lookup) {
                return if offset == 0 {
                    format!("{name}(SB)")
                } else {
                    format!("{name}{offset:+}(SB)")
                };
            }
            let mut s = String::new();
            if m.segment != Register::None {
                s.push_str(&reg_name(m.segment));
                s.push(':');
            }
            if m.disp != 0 {
                s.push_str(&signed_hex(m.disp));
            } else {
                s.push('0');
            }
            if m.base != Register::None {
                s.push_str(&format!("({})", reg_name(m.base)));
            }
            if m.index != Register::None && m.scale != 0 {
                s.push_str(&format!("({}*{})", reg_name(m.index), m.scale));
            }
            s
        }
    }
}

/// x86asm's `memArgToSymbol`: a plain RIP-relative or absolute address
/// inside a symbol, as the symbol and the offset into it.
fn mem_symbol<'a>(m: &Mem, next_pc: u64, lookup: &Lookup<'a>) -> Option<(&'a str, i64)> {
    if m.segment != Register::None || m.disp == 0 || m.index != Register::None || m.scale != 0 {
        return None;
    }
    let addr = match m.base {
        Register::RIP | Register::EIP => (m.disp as u64).wrapping_add(next_pc),
        Register::None => m.disp as u64,
        _ => return None,
    };
    let (name, base) = lookup(addr)?;
    Some((name, (addr as i64).wrapping_sub(base as i64)))
}

/// Go's `%#x` of a signed value: `-0x10` for -16.
fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// Register names in Go's assembler: every width of a general register
/// has the 64-bit register's name.
fn reg_name(r: Register) -> String {
    if r == Register::RIP || r == Register::EIP {
        return "IP".to_owned();
    }
    if r.is_gpr() {
        if matches!(
            r,
            Register::AL
                | Register::CL
                | Register::DL
                | Register::BL
                | Register::AH
                | Register::CH
                | Register::DH
                | Register::BH
        ) {
            return format!("{r:?}");
        }
        const NAMES: [&str; 16] = [
            "AX", "CX", "DX", "BX", "SP", "BP", "SI", "DI", "R8", "R9", "R10", "R11", "R12", "R13",
            "R14", "R15",
        ];
        return NAMES[r.full_register().number() % 16].to_owned();
    }
    if r.is_xmm() {
        return format!("X{}", r.number());
    }
    if r.is_ymm() {
        return format!("Y{}", r.number());
    }
    if r.is_zmm() {
        return format!("Z{}", r.number());
    }
    if r.is_k() {
        return format!("K{}", r.number());
    }
    if r.is_st() {
        return format!("F{}", r.number());
    }
    if r.is_mm() {
        return format!("M{}", r.number());
    }
    format!("{r:?}").to_uppercase()
}

/// x86asm's `plan9Suffix`: mnemonics that get B, W, L or Q.
fn takes_size_suffix(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Adc | Add
            | And
            | Bsf
            | Bsr
            | Bt
            | Btc
            | Btr
            | Bts
            | Cmp
            | Cmpxchg
            | Cvtsi2sd
            | Cvtsi2ss
            | Cvtsd2si
            | Cvtss2si
            | Cvttsd2si
            | Cvttss2si
            | Dec
            | Div
            | Fldenv
            | Frstor
            | Idiv
            | Imul
            | In
            | Inc
            | Lea
            | Mov
            | Movnti
            | Mul
            | Neg
            | Nop
            | Not
            | Or
            | Out
            | Pop
            | Popa
            | Popcnt
            | Push
            | Pusha
            | Rcl
            | Rcr
            | Rol
            | Ror
            | Sar
            | Sbb
            | Shl
            | Shld
            | Shr
            | Shrd
            | Sub
            | Test
            | Xadd
            | Xchg
            | Xor
    )
}
