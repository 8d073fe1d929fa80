// Load-time register analysis: can the program read a register before any instruction on the path to it wrote
// it? Registers start every packet at 0 (runtime/LAYOUT.md); a program that never observes that — every
// program the verifier accepts — lets the interpreter skip clearing r0..r15 per packet. Driven by the opcode
// table's operand kinds (OP_REGS), so a new opcode is analysed like the others.
import { OP_FLAGS, OP_REGS, OPF_TARGET, OPF_FALLS, OPF_MEM, OPR_WRITE_A, OPR_READ_A, OPR_READ_B, OPR_READ_RT, OPR_INDEX_B, MEM_INDEXED } from "./isa.generated";
import { allocate } from "./heap";

/** Bit set with the registers written on every path to an instruction, once some path reaches it. */
const REACHED: u32 = 1 << 16;

// @ts-ignore: decorator
@inline function merge(state: usize, j: u32, written: u32): void {
  const at = state + (<usize>j << 2);
  const cur = load<u32>(at);
  store<u32>(at, (cur & REACHED) != 0 ? (cur & written) | REACHED : written | REACHED);
}

/**
 * True when some path through the image's `n` instruction words at `words` reads a register that no earlier
 * instruction on that path wrote (the program relies on registers starting at 0). Jumps go forward only (the
 * loader checked), so one pass in instruction order sees every predecessor before its successor.
 */
export function readsUnwritten(words: usize, n: u32): bool {
  const state = allocate(<usize>n << 2);
  if (state == 0) return true; // no room to analyse: keep clearing
  store<u32>(state, REACHED);
  for (let i: u32 = 0; i < n; i++) {
    const s = load<u32>(state + (<usize>i << 2));
    if ((s & REACHED) == 0) continue; // unreachable
    const w = words + <usize>i * 8;
    const op = <i32>load<u8>(w);
    const ra = <u32>load<u8>(w, 1) & 15;
    const rb = <u32>load<u8>(w, 1) >> 4;
    const off = <u32>load<u16>(w, 2);
    const regs = <u32>unchecked(OP_REGS[op]);
    const flags = <u32>unchecked(OP_FLAGS[op]);
    let reads: u32 = 0;
    if ((regs & OPR_READ_A) != 0) reads |= 1 << ra;
    if ((regs & OPR_READ_B) != 0) reads |= 1 << rb;
    if ((regs & OPR_READ_RT) != 0) reads |= 1 << (off & 15);
    if ((regs & OPR_INDEX_B) != 0 && ((flags & OPF_MEM) == 0 || (off & MEM_INDEXED) != 0)) reads |= 1 << rb;
    if ((reads & ~s) != 0) return true;
    const out = (regs & OPR_WRITE_A) != 0 ? s | (1 << ra) : s;
    if ((flags & OPF_TARGET) != 0) merge(state, <u32>(<i32>i + 1 + <i32><i16>off), out);
    if ((flags & OPF_FALLS) != 0) merge(state, i + 1, out);
  }
  return false;
}
