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
    let mut inst = Decoder::with_ip(64, code, pc, DecoderOptions::NONE).decode();
    if inst.is_invalid() && has_lock_prefix(code) {
        // x86asm decodes a LOCK that the instruction cannot take, and shows
        // it.
        inst = Decoder::with_ip(64, code, pc, DecoderOptions::NO_INVALID_CHECK).decode();
    }
    if inst.is_invalid() || inst.len() == 0 {
        return ("?".to_owned(), 1);
    }
    if UNKNOWN_TO_X86ASM.contains(&inst.mnemonic()) || rex_not_last(code) {
        return ("?".to_owned(), 1);
    }
    // iced joins FWAIT to the x87 instruction after it; x86asm does not.
    if matches!(
        inst.mnemonic(),
        Mnemonic::Wait
            | Mnemonic::Fstsw
            | Mnemonic::Fstcw
            | Mnemonic::Fclex
            | Mnemonic::Finit
            | Mnemonic::Fsave
            | Mnemonic::Fstenv
    ) {
        return ("FWAIT".to_owned(), 1);
    }
    let Some(len) = x86asm_len(&inst, code) else {
        return ("?".to_owned(), 1);
    };
    match render(&inst, code, pc, lookup) {
        Some(text) => (text, len),
        None => ("?".to_owned(), 1),
    }
}

fn has_lock_prefix(code: &[u8]) -> bool {
    code.iter()
        .take_while(|b| {
            matches!(
                b,
                0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x66 | 0x67
            )
        })
        .any(|&b| b == 0xf0)
}

/// x86asm takes one REX prefix, right before the opcode; a second REX or a
/// legacy prefix after it is read as an opcode, which fails.
fn rex_not_last(code: &[u8]) -> bool {
    let is_legacy = |b: &u8| {
        matches!(
            b,
            0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x66 | 0x67
        )
    };
    let legacy = code.iter().take_while(|b| is_legacy(b)).count();
    match code.get(legacy..legacy + 2) {
        Some([rex, next]) => rex & 0xf0 == 0x40 && (next & 0xf0 == 0x40 || is_legacy(next)),
        _ => false,
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
            // XLATB: x86asm shows the table with its segment, not the AL
            // index.
            OpKind::Memory if mnemonic == Mnemonic::Xlatb => Arg::Mem(string_operand(
                inst.memory_segment(),
                Register::RBX,
                i,
                inst,
            )),
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

    // x86asm lists SHA256RNDS2's implicit XMM0.
    if mnemonic == Mnemonic::Sha256rnds2 {
        args.push(Arg::Reg(Register::XMM0));
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
    if let Some(prefix) = shown_prefix(inst, code) {
        out.push_str(prefix);
        out.push(' ');
    }
    out.push_str(&op);
    if !texts.is_empty() {
        out.push(' ');
        out.push_str(&texts.join(", "));
    }
    Some(out)
}

/// The one prefix GoSyntax shows before the mnemonic: the last LOCK or
/// segment override that the instruction does not consume (REP and REPNE
/// are shown apart; operand and address size never).
fn shown_prefix(inst: &Instruction, code: &[u8]) -> Option<&'static str> {
    let uses_segment = (0..inst.op_count()).any(|i| {
        !matches!(
            inst.op_kind(i),
            OpKind::Register
                | OpKind::NearBranch16
                | OpKind::NearBranch32
                | OpKind::NearBranch64
                | OpKind::FarBranch16
                | OpKind::FarBranch32
                | OpKind::Immediate8
                | OpKind::Immediate8_2nd
                | OpKind::Immediate16
                | OpKind::Immediate32
                | OpKind::Immediate64
                | OpKind::Immediate8to16
                | OpKind::Immediate8to32
                | OpKind::Immediate8to64
                | OpKind::Immediate32to64
        )
    });
    let legacy_len = code
        .iter()
        .take_while(|b| {
            matches!(
                b,
                0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x66 | 0x67
            )
        })
        .count();
    let legacy = &code[..legacy_len];
    // Only the last segment override takes effect; a memory operand
    // consumes it.
    let last_segment = legacy
        .iter()
        .rposition(|b| matches!(b, 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65));
    let mut last = None;
    for (at, &b) in legacy.iter().enumerate() {
        let name = match b {
            0xf0 => "LOCK",
            0x2e => "CS",
            0x36 => "SS",
            0x3e => "DS",
            0x26 => "ES",
            0x64 => "FS",
            0x65 => "GS",
            _ => continue,
        };
        if b != 0xf0 && uses_segment && Some(at) == last_segment {
            continue;
        }
        last = Some(name);
    }
    last
}

/// Whether a REP prefix is part of the instruction rather than printed.
fn implies_rep(_inst: &Instruction) -> bool {
    false
}

fn memory_operand(inst: &Instruction, next_pc: u64) -> Mem {
    let mut base = inst.memory_base();
    let displ_size = inst.memory_displ_size();
    // x86asm decodes the RIP-relative form of VEX and EVEX instructions
    // as an absolute 32-bit address.
    if base == Register::RIP && matches!(inst.encoding(), EncodingKind::VEX | EncodingKind::EVEX) {
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
    } else if is_moffs(inst) {
        // A 64-bit moffs, kept signed.
        inst.memory_displacement64() as i64
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

fn is_moffs(inst: &Instruction) -> bool {
    matches!(
        inst.code(),
        Code::Mov_AL_moffs8
            | Code::Mov_AX_moffs16
            | Code::Mov_EAX_moffs32
            | Code::Mov_RAX_moffs64
            | Code::Mov_moffs8_AL
            | Code::Mov_moffs16_AX
            | Code::Mov_moffs32_EAX
            | Code::Mov_moffs64_RAX
    )
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
        Mnemonic::Retf => "LRET".to_owned(),
        Mnemonic::Int1 => "ICEBP".to_owned(),
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
/// iced mnemonics x86asm does not decode (it prints `?` and moves one
/// byte on): those whose names its tables lack.
const UNKNOWN_TO_X86ASM: &[Mnemonic] = &[
    Mnemonic::Adcx,
    Mnemonic::Adox,
    Mnemonic::Andn,
    Mnemonic::Bextr,
    Mnemonic::Blcfill,
    Mnemonic::Blci,
    Mnemonic::Blcic,
    Mnemonic::Blcmsk,
    Mnemonic::Blcs,
    Mnemonic::Blsfill,
    Mnemonic::Blsi,
    Mnemonic::Blsic,
    Mnemonic::Blsmsk,
    Mnemonic::Blsr,
    Mnemonic::Bndcl,
    Mnemonic::Bndcn,
    Mnemonic::Bndcu,
    Mnemonic::Bndldx,
    Mnemonic::Bndmk,
    Mnemonic::Bndmov,
    Mnemonic::Bndstx,
    Mnemonic::Bzhi,
    Mnemonic::Cl1invmb,
    Mnemonic::Clac,
    Mnemonic::Cldemote,
    Mnemonic::Clflushopt,
    Mnemonic::Clgi,
    Mnemonic::Clrssbsy,
    Mnemonic::Clwb,
    Mnemonic::Clzero,
    Mnemonic::Db,
    Mnemonic::Dd,
    Mnemonic::Dq,
    Mnemonic::Dw,
    Mnemonic::Encls,
    Mnemonic::Enclu,
    Mnemonic::Enclv,
    Mnemonic::Endbr32,
    Mnemonic::Endbr64,
    Mnemonic::Enqcmd,
    Mnemonic::Enqcmds,
    Mnemonic::Extrq,
    Mnemonic::Fdisi,
    Mnemonic::Femms,
    Mnemonic::Feni,
    Mnemonic::Fndisi,
    Mnemonic::Fneni,
    Mnemonic::Fnsetpm,
    Mnemonic::Frstpm,
    Mnemonic::Fsetpm,
    Mnemonic::Fstdw,
    Mnemonic::Fstpnce,
    Mnemonic::Fstsg,
    Mnemonic::Getsec,
    Mnemonic::Gf2p8affineinvqb,
    Mnemonic::Gf2p8affineqb,
    Mnemonic::Gf2p8mulb,
    Mnemonic::Ibts,
    Mnemonic::Incsspd,
    Mnemonic::Incsspq,
    Mnemonic::Insertq,
    Mnemonic::Invept,
    Mnemonic::Invlpga,
    Mnemonic::Invvpid,
    Mnemonic::Jmpe,
    Mnemonic::Llwpcb,
    Mnemonic::Loadall,
    Mnemonic::Lwpins,
    Mnemonic::Lwpval,
    Mnemonic::Mcommit,
    Mnemonic::Monitorx,
    Mnemonic::Montmul,
    Mnemonic::Movdir64b,
    Mnemonic::Movdiri,
    Mnemonic::Mulx,
    Mnemonic::Mwaitx,
    Mnemonic::Pavgusb,
    Mnemonic::Pcmpestri64,
    Mnemonic::Pcmpestrm64,
    Mnemonic::Pcommit,
    Mnemonic::Pconfig,
    Mnemonic::Pdep,
    Mnemonic::Pext,
    Mnemonic::Pf2id,
    Mnemonic::Pf2iw,
    Mnemonic::Pfacc,
    Mnemonic::Pfadd,
    Mnemonic::Pfcmpeq,
    Mnemonic::Pfcmpge,
    Mnemonic::Pfcmpgt,
    Mnemonic::Pfmax,
    Mnemonic::Pfmin,
    Mnemonic::Pfmul,
    Mnemonic::Pfnacc,
    Mnemonic::Pfpnacc,
    Mnemonic::Pfrcp,
    Mnemonic::Pfrcpit1,
    Mnemonic::Pfrcpit2,
    Mnemonic::Pfrcpv,
    Mnemonic::Pfrsqit1,
    Mnemonic::Pfrsqrt,
    Mnemonic::Pfrsqrtv,
    Mnemonic::Pfsub,
    Mnemonic::Pfsubr,
    Mnemonic::Pi2fd,
    Mnemonic::Pi2fw,
    Mnemonic::Pmulhrw,
    Mnemonic::Prefetch,
    Mnemonic::Prefetchwt1,
    Mnemonic::Pswapd,
    Mnemonic::Ptwrite,
    Mnemonic::Rdpid,
    Mnemonic::Rdpkru,
    Mnemonic::Rdpru,
    Mnemonic::Rdseed,
    Mnemonic::Rdsspd,
    Mnemonic::Rdsspq,
    Mnemonic::Reservednop,
    Mnemonic::Rorx,
    Mnemonic::Rstorssp,
    Mnemonic::Sal,
    Mnemonic::Salc,
    Mnemonic::Sarx,
    Mnemonic::Saveprevssp,
    Mnemonic::Setssbsy,
    Mnemonic::Shlx,
    Mnemonic::Shrx,
    Mnemonic::Skinit,
    Mnemonic::Slwpcb,
    Mnemonic::Stac,
    Mnemonic::Stgi,
    Mnemonic::T1mskc,
    Mnemonic::Tpause,
    Mnemonic::Tzmsk,
    Mnemonic::Umonitor,
    Mnemonic::Umov,
    Mnemonic::Umwait,
    Mnemonic::Vfmaddpd,
    Mnemonic::Vfmaddps,
    Mnemonic::Vfmaddsd,
    Mnemonic::Vfmaddss,
    Mnemonic::Vfmaddsubpd,
    Mnemonic::Vfmaddsubps,
    Mnemonic::Vfmsubaddpd,
    Mnemonic::Vfmsubaddps,
    Mnemonic::Vfmsubpd,
    Mnemonic::Vfmsubps,
    Mnemonic::Vfmsubsd,
    Mnemonic::Vfmsubss,
    Mnemonic::Vfnmaddpd,
    Mnemonic::Vfnmaddps,
    Mnemonic::Vfnmaddsd,
    Mnemonic::Vfnmaddss,
    Mnemonic::Vfnmsubpd,
    Mnemonic::Vfnmsubps,
    Mnemonic::Vfnmsubsd,
    Mnemonic::Vfnmsubss,
    Mnemonic::Vfrczpd,
    Mnemonic::Vfrczps,
    Mnemonic::Vfrczsd,
    Mnemonic::Vfrczss,
    Mnemonic::Vmcall,
    Mnemonic::Vmclear,
    Mnemonic::Vmfunc,
    Mnemonic::Vmlaunch,
    Mnemonic::Vmload,
    Mnemonic::Vmmcall,
    Mnemonic::Vmptrld,
    Mnemonic::Vmptrst,
    Mnemonic::Vmread,
    Mnemonic::Vmresume,
    Mnemonic::Vmrun,
    Mnemonic::Vmsave,
    Mnemonic::Vmwrite,
    Mnemonic::Vmxoff,
    Mnemonic::Vmxon,
    Mnemonic::Vpcmov,
    Mnemonic::Vpcomb,
    Mnemonic::Vpcomd,
    Mnemonic::Vpcomq,
    Mnemonic::Vpcomub,
    Mnemonic::Vpcomud,
    Mnemonic::Vpcomuq,
    Mnemonic::Vpcomuw,
    Mnemonic::Vpcomw,
    Mnemonic::Vpermil2pd,
    Mnemonic::Vpermil2ps,
    Mnemonic::Vphaddbd,
    Mnemonic::Vphaddbq,
    Mnemonic::Vphaddbw,
    Mnemonic::Vphadddq,
    Mnemonic::Vphaddubd,
    Mnemonic::Vphaddubq,
    Mnemonic::Vphaddubw,
    Mnemonic::Vphaddudq,
    Mnemonic::Vphadduwd,
    Mnemonic::Vphadduwq,
    Mnemonic::Vphaddwd,
    Mnemonic::Vphaddwq,
    Mnemonic::Vphsubbw,
    Mnemonic::Vphsubdq,
    Mnemonic::Vphsubwd,
    Mnemonic::Vpmacsdd,
    Mnemonic::Vpmacsdqh,
    Mnemonic::Vpmacsdql,
    Mnemonic::Vpmacssdd,
    Mnemonic::Vpmacssdqh,
    Mnemonic::Vpmacssdql,
    Mnemonic::Vpmacsswd,
    Mnemonic::Vpmacssww,
    Mnemonic::Vpmacswd,
    Mnemonic::Vpmacsww,
    Mnemonic::Vpmadcsswd,
    Mnemonic::Vpmadcswd,
    Mnemonic::Vpperm,
    Mnemonic::Vprotb,
    Mnemonic::Vprotd,
    Mnemonic::Vprotq,
    Mnemonic::Vprotw,
    Mnemonic::Vpshab,
    Mnemonic::Vpshad,
    Mnemonic::Vpshaq,
    Mnemonic::Vpshaw,
    Mnemonic::Vpshlb,
    Mnemonic::Vpshld,
    Mnemonic::Vpshlq,
    Mnemonic::Vpshlw,
    Mnemonic::Wbnoinvd,
    Mnemonic::Wrpkru,
    Mnemonic::Wrssd,
    Mnemonic::Wrssq,
    Mnemonic::Wrussd,
    Mnemonic::Wrussq,
    Mnemonic::Xbts,
    Mnemonic::Xcryptcbc,
    Mnemonic::Xcryptcfb,
    Mnemonic::Xcryptctr,
    Mnemonic::Xcryptecb,
    Mnemonic::Xcryptofb,
    Mnemonic::Xsha1,
    Mnemonic::Xsha256,
    Mnemonic::Xstore,
    Mnemonic::Rmpadjust,
    Mnemonic::Rmpupdate,
    Mnemonic::Psmash,
    Mnemonic::Pvalidate,
    Mnemonic::Serialize,
    Mnemonic::Xsusldtrk,
    Mnemonic::Xresldtrk,
    Mnemonic::Invlpgb,
    Mnemonic::Tlbsync,
    Mnemonic::Vmgexit,
    Mnemonic::Getsecq,
    Mnemonic::Sysexitq,
    Mnemonic::Ldtilecfg,
    Mnemonic::Tilerelease,
    Mnemonic::Sttilecfg,
    Mnemonic::Tilezero,
    Mnemonic::Tileloaddt1,
    Mnemonic::Tilestored,
    Mnemonic::Tileloadd,
    Mnemonic::Tdpbf16ps,
    Mnemonic::Tdpbuud,
    Mnemonic::Tdpbusd,
    Mnemonic::Tdpbsud,
    Mnemonic::Tdpbssd,
    Mnemonic::Sysretq,
    Mnemonic::Fnstdw,
    Mnemonic::Fnstsg,
    Mnemonic::Rdshr,
    Mnemonic::Wrshr,
    Mnemonic::Smint,
    Mnemonic::Dmint,
    Mnemonic::Rdm,
    Mnemonic::Svdc,
    Mnemonic::Rsdc,
    Mnemonic::Svldt,
    Mnemonic::Rsldt,
    Mnemonic::Svts,
    Mnemonic::Rsts,
    Mnemonic::Bb0_reset,
    Mnemonic::Bb1_reset,
    Mnemonic::Cpu_write,
    Mnemonic::Cpu_read,
    Mnemonic::Altinst,
    Mnemonic::Paveb,
    Mnemonic::Paddsiw,
    Mnemonic::Pmagw,
    Mnemonic::Pdistib,
    Mnemonic::Psubsiw,
    Mnemonic::Pmvzb,
    Mnemonic::Pmvnzb,
    Mnemonic::Pmvlzb,
    Mnemonic::Pmvgezb,
    Mnemonic::Pmulhriw,
    Mnemonic::Pmachriw,
    Mnemonic::Ftstp,
    Mnemonic::Frint2,
    Mnemonic::Frichop,
    Mnemonic::Frinear,
    Mnemonic::Undoc,
    Mnemonic::Tdcall,
    Mnemonic::Seamret,
    Mnemonic::Seamops,
    Mnemonic::Seamcall,
    Mnemonic::Aesencwide128kl,
    Mnemonic::Aesdecwide128kl,
    Mnemonic::Aesencwide256kl,
    Mnemonic::Aesdecwide256kl,
    Mnemonic::Loadiwkey,
    Mnemonic::Aesenc128kl,
    Mnemonic::Aesdec128kl,
    Mnemonic::Aesenc256kl,
    Mnemonic::Aesdec256kl,
    Mnemonic::Encodekey128,
    Mnemonic::Encodekey256,
    Mnemonic::Uiret,
    Mnemonic::Testui,
    Mnemonic::Clui,
    Mnemonic::Stui,
    Mnemonic::Senduipi,
    Mnemonic::Hreset,
    Mnemonic::Ccs_hash,
    Mnemonic::Ccs_encrypt,
    Mnemonic::Lkgs,
    Mnemonic::Eretu,
    Mnemonic::Erets,
    Mnemonic::Storeall,
    Mnemonic::Rdudbg,
    Mnemonic::Wrudbg,
    Mnemonic::Clevict0,
    Mnemonic::Clevict1,
    Mnemonic::Delay,
    Mnemonic::Jknzd,
    Mnemonic::Jkzd,
    Mnemonic::Kand,
    Mnemonic::Kandn,
    Mnemonic::Kandnr,
    Mnemonic::Kconcath,
    Mnemonic::Kconcatl,
    Mnemonic::Kextract,
    Mnemonic::Kmerge2l1h,
    Mnemonic::Kmerge2l1l,
    Mnemonic::Kmov,
    Mnemonic::Knot,
    Mnemonic::Kor,
    Mnemonic::Kortest,
    Mnemonic::Kxnor,
    Mnemonic::Kxor,
    Mnemonic::Spflt,
    Mnemonic::Tzcnti,
    Mnemonic::Vaddnpd,
    Mnemonic::Vaddnps,
    Mnemonic::Vaddsetsps,
    Mnemonic::Vcvtfxpntdq2ps,
    Mnemonic::Vcvtfxpntpd2dq,
    Mnemonic::Vcvtfxpntpd2udq,
    Mnemonic::Vcvtfxpntps2dq,
    Mnemonic::Vcvtfxpntps2udq,
    Mnemonic::Vcvtfxpntudq2ps,
    Mnemonic::Vexp223ps,
    Mnemonic::Vfixupnanpd,
    Mnemonic::Vfixupnanps,
    Mnemonic::Vfmadd233ps,
    Mnemonic::Vgatherpf0hintdpd,
    Mnemonic::Vgatherpf0hintdps,
    Mnemonic::Vgmaxabsps,
    Mnemonic::Vgmaxpd,
    Mnemonic::Vgmaxps,
    Mnemonic::Vgminpd,
    Mnemonic::Vgminps,
    Mnemonic::Vloadunpackhd,
    Mnemonic::Vloadunpackhpd,
    Mnemonic::Vloadunpackhps,
    Mnemonic::Vloadunpackhq,
    Mnemonic::Vloadunpackld,
    Mnemonic::Vloadunpacklpd,
    Mnemonic::Vloadunpacklps,
    Mnemonic::Vloadunpacklq,
    Mnemonic::Vlog2ps,
    Mnemonic::Vmovnrapd,
    Mnemonic::Vmovnraps,
    Mnemonic::Vmovnrngoapd,
    Mnemonic::Vmovnrngoaps,
    Mnemonic::Vpackstorehd,
    Mnemonic::Vpackstorehpd,
    Mnemonic::Vpackstorehps,
    Mnemonic::Vpackstorehq,
    Mnemonic::Vpackstoreld,
    Mnemonic::Vpackstorelpd,
    Mnemonic::Vpackstorelps,
    Mnemonic::Vpackstorelq,
    Mnemonic::Vpadcd,
    Mnemonic::Vpaddsetcd,
    Mnemonic::Vpaddsetsd,
    Mnemonic::Vpcmpltd,
    Mnemonic::Vpermf32x4,
    Mnemonic::Vpmadd231d,
    Mnemonic::Vpmadd233d,
    Mnemonic::Vpmulhd,
    Mnemonic::Vpmulhud,
    Mnemonic::Vprefetch0,
    Mnemonic::Vprefetch1,
    Mnemonic::Vprefetch2,
    Mnemonic::Vprefetche0,
    Mnemonic::Vprefetche1,
    Mnemonic::Vprefetche2,
    Mnemonic::Vprefetchenta,
    Mnemonic::Vprefetchnta,
    Mnemonic::Vpsbbd,
    Mnemonic::Vpsbbrd,
    Mnemonic::Vpsubrd,
    Mnemonic::Vpsubrsetbd,
    Mnemonic::Vpsubsetbd,
    Mnemonic::Vrcp23ps,
    Mnemonic::Vrndfxpntpd,
    Mnemonic::Vrndfxpntps,
    Mnemonic::Vrsqrt23ps,
    Mnemonic::Vscaleps,
    Mnemonic::Vscatterpf0hintdpd,
    Mnemonic::Vscatterpf0hintdps,
    Mnemonic::Vsubrpd,
    Mnemonic::Vsubrps,
    Mnemonic::Xsha512,
    Mnemonic::Xstore_alt,
    Mnemonic::Xsha512_alt,
    Mnemonic::Zero_bytes,
    Mnemonic::Aadd,
    Mnemonic::Aand,
    Mnemonic::Aor,
    Mnemonic::Axor,
    Mnemonic::Cmpbexadd,
    Mnemonic::Cmpbxadd,
    Mnemonic::Cmplexadd,
    Mnemonic::Cmplxadd,
    Mnemonic::Cmpnbexadd,
    Mnemonic::Cmpnbxadd,
    Mnemonic::Cmpnlexadd,
    Mnemonic::Cmpnlxadd,
    Mnemonic::Cmpnoxadd,
    Mnemonic::Cmpnpxadd,
    Mnemonic::Cmpnsxadd,
    Mnemonic::Cmpnzxadd,
    Mnemonic::Cmpoxadd,
    Mnemonic::Cmppxadd,
    Mnemonic::Cmpsxadd,
    Mnemonic::Cmpzxadd,
    Mnemonic::Prefetchit0,
    Mnemonic::Prefetchit1,
    Mnemonic::Rdmsrlist,
    Mnemonic::Rmpquery,
    Mnemonic::Tdpfp16ps,
    Mnemonic::Wrmsrlist,
    Mnemonic::Wrmsrns,
    Mnemonic::Tcmmrlfp16ps,
    Mnemonic::Tcmmimfp16ps,
    Mnemonic::Pbndkb,
];
