// Load-time superinstructions (runtime/LAYOUT.md, "Fused records"): after predecoding, the loader rewrites the
// record at the start of a common instruction sequence into one VM-internal opcode that runs the whole sequence
// in one dispatch — a raw load and the conditional jump on the loaded register, `and` and such a jump, a chain
// of `jeq r, K, T` on one register and target (a hash-set lookup), `4 * (pkt[k] & 0xf)`. The records after the
// first keep their own decoding, so a jump into the middle of a sequence still runs what the image says.
//
// A fused opcode does exactly what its sequence does — it writes every register the sequence writes, faults
// where it faults — and counts the cycles the original instructions would have taken on the path it takes.
import {
  OP_CYCLES, OP_LDF_RF, OP_LDB_RM, OP_LDH_RM, OP_LDW_RM, OP_AND_RRI, OP_SHL_RRI, OP_JA_J, OP_JEQ_RIJ, OP_JNE_RIJ, OP_JGT_RIJ,
  OP_JLE_RIJ, OP_JGE_RIJ, OP_JLT_RIJ, OP_JSET_RIJ, OP_EXIT_V, MEM_INDEXED,
} from "./isa.generated";
import { allocate } from "./heap";

// Conditions of a fused jump, in this order within each group of eight opcodes: the jump's own condition
// (jeq, jne, jgt, jle, jge, jlt, jset), or ANY — the register equals one of a set's values (a chain of jeq).
export const FC_EQ: u32 = 0;
export const FC_NE: u32 = 1;
export const FC_GT: u32 = 2;
export const FC_LE: u32 = 3;
export const FC_GE: u32 = 4;
export const FC_LT: u32 = 5;
export const FC_SET: u32 = 6;
export const FC_ANY: u32 = 7;

/** `and rd, rs, imm` + conditional jump on rd: OPI_AND_JUMP + condition. */
export const OPI_AND_JUMP: u32 = 0xb0;
/** `ldf rd, field` + conditional jump on rd: OPI_LDF_JUMP + condition. */
export const OPI_LDF_JUMP: u32 = 0xb8;
/** Load + conditional jump: OPI_LD_JUMP + kind × 8 + condition; kinds 0..2 ldb/ldh/ldw `[pkt + k]`, 3..5 the
 *  same indexed by a register. */
export const OPI_LD_JUMP: u32 = 0xc0;
/** A chain of `jeq r, K, T` (through `ja`) on one register and target. */
export const OPI_ANY: u32 = 0xf0;
/** `ldb rA, [pkt + k]; and rB, rA, m; shl rC, rB, s` — libpcap's IPv4 header length (BPF's ldxb msh). */
export const OPI_MSH: u32 = 0xf1;
/** `ldX rd, [pkt + k]; and rd, rd, m` + conditional jump on rd (k < 65536; eq, ne, set or a chain):
 *  OPI_LD_AND_JUMP + kind × 4 + (0 eq, 1 ne, 2 set, 3 chain), kinds 0..2 ldb/ldh/ldw — `net 10.0.0.0/8`. */
export const OPI_LD_AND_JUMP: u32 = 0xf2;
export const OPI_FUSED_FIRST: u32 = OPI_AND_JUMP;
export const OPI_FUSED_LAST: u32 = 0xfd;
// the same numbers as literals: binaryen turns the interpreter's switch into one jump table only when every case
// label is a plain constant
export const OPI_AND_EQ: u32 = 0xb0, OPI_AND_NE: u32 = 0xb1, OPI_AND_GT: u32 = 0xb2, OPI_AND_LE: u32 = 0xb3, OPI_AND_GE: u32 = 0xb4, OPI_AND_LT: u32 = 0xb5, OPI_AND_SET: u32 = 0xb6, OPI_AND_ANY: u32 = 0xb7;
export const OPI_LDF_EQ: u32 = 0xb8, OPI_LDF_NE: u32 = 0xb9, OPI_LDF_GT: u32 = 0xba, OPI_LDF_LE: u32 = 0xbb, OPI_LDF_GE: u32 = 0xbc, OPI_LDF_LT: u32 = 0xbd, OPI_LDF_SET: u32 = 0xbe, OPI_LDF_ANY: u32 = 0xbf;
export const OPI_LDB_AND_EQ: u32 = 0xf2, OPI_LDB_AND_NE: u32 = 0xf3, OPI_LDB_AND_SET: u32 = 0xf4, OPI_LDB_AND_ANY: u32 = 0xf5;
export const OPI_LDH_AND_EQ: u32 = 0xf6, OPI_LDH_AND_NE: u32 = 0xf7, OPI_LDH_AND_SET: u32 = 0xf8, OPI_LDH_AND_ANY: u32 = 0xf9;
export const OPI_LDW_AND_EQ: u32 = 0xfa, OPI_LDW_AND_NE: u32 = 0xfb, OPI_LDW_AND_SET: u32 = 0xfc, OPI_LDW_AND_ANY: u32 = 0xfd;
export const OPI_LDB_ABS_EQ: u32 = 0xc0, OPI_LDB_ABS_NE: u32 = 0xc1, OPI_LDB_ABS_GT: u32 = 0xc2, OPI_LDB_ABS_LE: u32 = 0xc3, OPI_LDB_ABS_GE: u32 = 0xc4, OPI_LDB_ABS_LT: u32 = 0xc5, OPI_LDB_ABS_SET: u32 = 0xc6, OPI_LDB_ABS_ANY: u32 = 0xc7;
export const OPI_LDH_ABS_EQ: u32 = 0xc8, OPI_LDH_ABS_NE: u32 = 0xc9, OPI_LDH_ABS_GT: u32 = 0xca, OPI_LDH_ABS_LE: u32 = 0xcb, OPI_LDH_ABS_GE: u32 = 0xcc, OPI_LDH_ABS_LT: u32 = 0xcd, OPI_LDH_ABS_SET: u32 = 0xce, OPI_LDH_ABS_ANY: u32 = 0xcf;
export const OPI_LDW_ABS_EQ: u32 = 0xd0, OPI_LDW_ABS_NE: u32 = 0xd1, OPI_LDW_ABS_GT: u32 = 0xd2, OPI_LDW_ABS_LE: u32 = 0xd3, OPI_LDW_ABS_GE: u32 = 0xd4, OPI_LDW_ABS_LT: u32 = 0xd5, OPI_LDW_ABS_SET: u32 = 0xd6, OPI_LDW_ABS_ANY: u32 = 0xd7;
export const OPI_LDB_IDX_EQ: u32 = 0xd8, OPI_LDB_IDX_NE: u32 = 0xd9, OPI_LDB_IDX_GT: u32 = 0xda, OPI_LDB_IDX_LE: u32 = 0xdb, OPI_LDB_IDX_GE: u32 = 0xdc, OPI_LDB_IDX_LT: u32 = 0xdd, OPI_LDB_IDX_SET: u32 = 0xde, OPI_LDB_IDX_ANY: u32 = 0xdf;
export const OPI_LDH_IDX_EQ: u32 = 0xe0, OPI_LDH_IDX_NE: u32 = 0xe1, OPI_LDH_IDX_GT: u32 = 0xe2, OPI_LDH_IDX_LE: u32 = 0xe3, OPI_LDH_IDX_GE: u32 = 0xe4, OPI_LDH_IDX_LT: u32 = 0xe5, OPI_LDH_IDX_SET: u32 = 0xe6, OPI_LDH_IDX_ANY: u32 = 0xe7;
export const OPI_LDW_IDX_EQ: u32 = 0xe8, OPI_LDW_IDX_NE: u32 = 0xe9, OPI_LDW_IDX_GT: u32 = 0xea, OPI_LDW_IDX_LE: u32 = 0xeb, OPI_LDW_IDX_GE: u32 = 0xec, OPI_LDW_IDX_LT: u32 = 0xed, OPI_LDW_IDX_SET: u32 = 0xee, OPI_LDW_IDX_ANY: u32 = 0xef;

/** Cycles of a conditional jump with an immediate: the fused jumps assume every condition costs the same. */
export const JUMP_CYCLES: u64 = <u64>unchecked(OP_CYCLES[<i32>OP_JEQ_RIJ]);
/** Cycles of the `and` (and the jump) a faulting OPI_LD_AND_JUMP load never reaches. */
export const AND_CYCLES: u64 = <u64>unchecked(OP_CYCLES[<i32>OP_AND_RRI]);
export const AND_JUMP_CYCLES: u64 = AND_CYCLES + JUMP_CYCLES;
/** Cycles of the `and` and `shl` a faulting OPI_MSH load never reaches. */
export const MSH_TAIL_CYCLES: u64 = <u64>unchecked(OP_CYCLES[<i32>OP_AND_RRI]) + <u64>unchecked(OP_CYCLES[<i32>OP_SHL_RRI]);

function sameJumpCycles(): bool {
  const c = unchecked(OP_CYCLES[<i32>OP_JEQ_RIJ]);
  return unchecked(OP_CYCLES[<i32>OP_JNE_RIJ]) == c && unchecked(OP_CYCLES[<i32>OP_JGT_RIJ]) == c && unchecked(OP_CYCLES[<i32>OP_JLE_RIJ]) == c &&
    unchecked(OP_CYCLES[<i32>OP_JGE_RIJ]) == c && unchecked(OP_CYCLES[<i32>OP_JLT_RIJ]) == c && unchecked(OP_CYCLES[<i32>OP_JSET_RIJ]) == c;
}
/** Fusing a jump into a record that charges one figure for every condition is exact only while they agree. */
const JUMPS_FUSABLE: bool = sameJumpCycles();

/** Fill the cycle cost of the fused opcodes (a chain's cycles come from its set table at run time). */
export function setFusedCycles(table: usize): void {
  for (let kind: u32 = 0; kind < 6; kind++) {
    const ld = <u32>unchecked(OP_CYCLES[<i32>OP_LDB_RM + <i32>(kind % 3)]);
    for (let cond: u32 = 0; cond <= FC_ANY; cond++) store<u8>(table + <usize>(OPI_LD_JUMP + kind * 8 + cond), <u8>(ld + (cond == FC_ANY ? 0 : <u32>JUMP_CYCLES)));
  }
  for (let cond: u32 = 0; cond <= FC_ANY; cond++) store<u8>(table + <usize>(OPI_AND_JUMP + cond), <u8>(<u32>unchecked(OP_CYCLES[<i32>OP_AND_RRI]) + (cond == FC_ANY ? 0 : <u32>JUMP_CYCLES)));
  for (let cond: u32 = 0; cond <= FC_ANY; cond++) store<u8>(table + <usize>(OPI_LDF_JUMP + cond), <u8>(<u32>unchecked(OP_CYCLES[<i32>OP_LDF_RF]) + (cond == FC_ANY ? 0 : <u32>JUMP_CYCLES)));
  for (let kind: u32 = 0; kind < 3; kind++) {
    const ld = <u32>unchecked(OP_CYCLES[<i32>OP_LDB_RM + <i32>kind]) + <u32>AND_CYCLES;
    for (let c: u32 = 0; c < 4; c++) store<u8>(table + <usize>(OPI_LD_AND_JUMP + kind * 4 + c), <u8>(ld + (c == 3 ? 0 : <u32>JUMP_CYCLES)));
  }
  store<u8>(table + <usize>OPI_ANY, 0);
  store<u8>(table + <usize>OPI_MSH, <u8>(<u32>unchecked(OP_CYCLES[<i32>OP_LDB_RM]) + <u32>MSH_TAIL_CYCLES));
}

// ---- the image's instructions (still in the staging area while the loader runs) and the decoded records -----
let code: usize = 0;
let count: u32 = 0;
let prog: usize = 0;
let recordBytes: usize = 16;

// @ts-ignore: decorator
@inline function opAt(i: u32): u32 {
  return <u32>load<u8>(code + <usize>i * 8);
}
// @ts-ignore: decorator
@inline function raAt(i: u32): u32 {
  return <u32>load<u8>(code + <usize>i * 8, 1) & 15;
}
// @ts-ignore: decorator
@inline function rbAt(i: u32): u32 {
  return <u32>load<u8>(code + <usize>i * 8, 1) >> 4;
}
// @ts-ignore: decorator
@inline function offAt(i: u32): u32 {
  return <u32>load<u16>(code + <usize>i * 8, 2);
}
// @ts-ignore: decorator
@inline function immAt(i: u32): u32 {
  return load<u32>(code + <usize>i * 8, 4);
}
// @ts-ignore: decorator
@inline function targetOf(i: u32): u32 {
  return <u32>(<i32>i + 1 + <i32><i16>offAt(i));
}

/** Condition of a jump-with-immediate opcode; -1 for any other opcode. */
function conditionOf(op: u32): i32 {
  if (op == OP_JEQ_RIJ) return FC_EQ;
  if (op == OP_JNE_RIJ) return FC_NE;
  if (op == OP_JGT_RIJ) return FC_GT;
  if (op == OP_JLE_RIJ) return FC_LE;
  if (op == OP_JGE_RIJ) return FC_GE;
  if (op == OP_JLT_RIJ) return FC_LT;
  if (op == OP_JSET_RIJ) return FC_SET;
  return -1;
}

// the chain found by chainAt()
let chainTable: usize = 0;
let chainEnd: u32 = 0; // the instruction after the chain's last jeq, where a miss continues

// Set table: u32 slot mask, u32 cycles of a miss, u32 multiplier, u32 shift, u32 address of the record a miss
// continues at, u32 padding, then slots of {u32 value, u32 cycles} (cycles 0: empty). With a shift, the table is a perfect hash: value v can only sit in slot
// (v × multiplier) >>> shift, so a lookup is one probe and no loop — its only branch is the chain's own outcome.
// Without one (no multiplier separated the values), slots are probed linearly from ((v × 0x9e3779b1) >>> 16).
const SET_HEADER: usize = 24;
/** Chains longer than this keep the probed table (a perfect table would need too many slots). */
const PERFECT_MAX_VALUES: u32 = 256;
const PERFECT_TRIES: u32 = 24;

/** Insert into a probed table; false when the value is there already (the first jeq of a value is the one that
 *  jumps). */
function probeInsert(table: usize, mask: u32, v: u32, cycles: u32): bool {
  let h = ((v * 0x9e3779b1) >>> 16) & mask;
  for (;;) {
    const s = table + SET_HEADER + (<usize>h << 3);
    if (load<u32>(s, 4) == 0) {
      store<u32>(s, v);
      store<u32>(s, cycles, 4);
      return true;
    }
    if (load<u32>(s) == v) return false;
    h = (h + 1) & mask;
  }
  return false;
}

/** A perfect table for the values of the probed table `from` (n values), or 0 when none was found. */
function perfectTable(from: usize, fromSlots: u32, n: u32, missCycles: u32): usize {
  if (n > PERFECT_MAX_VALUES) return 0;
  let bits: u32 = 2;
  while ((<u32>1 << bits) < n * 2) bits++;
  const maxBits = bits + 4;
  let seed: u32 = 0x9e3779b1;
  for (; bits <= maxBits; bits++) {
    const slots = <u32>1 << bits;
    const shift = 32 - bits;
    // each size gets its own allocation (the heap only grows): a small set usually fits the first
    const table = allocate(SET_HEADER + <usize>slots * 8);
    if (table == 0) return 0;
    for (let t: u32 = 0; t < PERFECT_TRIES; t++) {
      const mult = seed | 1;
      seed = seed * 1664525 + 1013904223;
      memory.fill(table + SET_HEADER, 0, <usize>slots * 8);
      let ok = true;
      for (let i: u32 = 0; i < fromSlots && ok; i++) {
        const src = from + SET_HEADER + (<usize>i << 3);
        const cycles = load<u32>(src, 4);
        if (cycles == 0) continue;
        const v = load<u32>(src);
        const dst = table + SET_HEADER + (<usize>((v * mult) >>> shift) << 3);
        if (load<u32>(dst, 4) != 0) ok = false;
        else {
          store<u32>(dst, v);
          store<u32>(dst, cycles, 4);
        }
      }
      if (!ok) continue;
      store<u32>(table, slots - 1);
      store<u32>(table, missCycles, 4);
      store<u32>(table, mult, 8);
      store<u32>(table, shift, 12);
      store<u32>(table, load<u32>(from, 16), 16);
      return table;
    }
  }
  return 0;
}

/**
 * A chain of at least two `jeq r, K, T` with one register and one target starting at `i`, following `ja`
 * between them: builds its set table (each value with the cycles the chain spends up to the jeq that matches)
 * and returns true.
 */
function chainAt(i: u32): bool {
  if (opAt(i) != OP_JEQ_RIJ) return false;
  const r = raAt(i);
  const target = targetOf(i);
  let n: u32 = 0;
  let at = i;
  let end = i;
  for (;;) {
    const op = opAt(at);
    if (op == OP_JEQ_RIJ && raAt(at) == r && targetOf(at) == target) {
      n++;
      at++;
      end = at;
    } else if (op == OP_JA_J && n > 0) {
      at = targetOf(at);
    } else break;
    if (at >= count) break;
  }
  if (n < 2) return false;
  let slots: u32 = 4;
  while (slots < n * 2) slots <<= 1;
  const table = allocate(SET_HEADER + <usize>slots * 8);
  if (table == 0) return false; // out of memory: the chain stays unfused
  let cycles: u32 = 0;
  let distinct: u32 = 0;
  at = i;
  while (at != end) {
    const op = opAt(at);
    cycles += <u32>unchecked(OP_CYCLES[<i32>op]);
    if (op == OP_JA_J) {
      at = targetOf(at);
      continue;
    }
    if (probeInsert(table, slots - 1, immAt(at), cycles)) distinct++;
    at++;
  }
  store<u32>(table, slots - 1);
  store<u32>(table, cycles, 4);
  store<u32>(table, <u32>(prog + <usize>end * recordBytes), 16);
  const perfect = perfectTable(table, slots, distinct, cycles);
  chainTable = perfect != 0 ? perfect : table;
  chainEnd = end;
  return true;
}

/** Cycles of the matching jeq in a chain's set table (≥ 1), or 0 when `v` is none of its values. */
// @ts-ignore: decorator
@inline export function chainMatch(table: usize, v: u64): u32 {
  if (v > 0xffffffff) return 0;
  const x = <u32>v;
  const shift = load<u32>(table, 12);
  if (shift != 0) {
    const s = table + SET_HEADER + (<usize>((x * load<u32>(table, 8)) >>> shift) << 3);
    return load<u32>(s) == x ? load<u32>(s, 4) : 0;
  }
  const mask = load<u32>(table);
  let h = ((x * 0x9e3779b1) >>> 16) & mask;
  for (;;) {
    const s = table + SET_HEADER + (<usize>h << 3);
    const c = load<u32>(s, 4);
    if (c == 0 || load<u32>(s) == x) return c;
    h = (h + 1) & mask;
  }
  return 0;
}

/** Cycles a chain spends when no value matches. */
// @ts-ignore: decorator
@inline export function chainMissCycles(table: usize): u64 {
  return <u64>load<u32>(table, 4);
}

/** The record a chain continues at when no value matches. */
// @ts-ignore: decorator
@inline export function chainMissTarget(table: usize): usize {
  return <usize>load<u32>(table, 16);
}

/** Address of instruction j's decoded record. */
// @ts-ignore: decorator
@inline function recordOf(j: u32): u32 {
  return <u32>(prog + <usize>j * recordBytes);
}

/**
 * The jump at j as the condition of the fused record at p, which continues at the record after j when the jump
 * is not taken: stores the jump's target record and its immediate (or, for a chain, the set table). Returns the
 * condition, -1 when j is no jump on register r the record can take.
 */
function fuseJump(p: usize, j: u32, r: u32): i32 {
  if (j >= count || raAt(j) != r) return -1;
  if (chainAt(j)) {
    store<u32>(p, recordOf(targetOf(j)), 4);
    store<u32>(p, <u32>chainTable, 8);
    store<u8>(p, exitsBothWays(targetOf(j), chainEnd), 3);
    return FC_ANY;
  }
  if (!JUMPS_FUSABLE) return -1;
  const c = conditionOf(opAt(j));
  if (c < 0) return -1;
  store<u32>(p, recordOf(targetOf(j)), 4);
  store<u32>(p, immAt(j), 8);
  store<u8>(p, exitsBothWays(targetOf(j), j + 1), 3);
  return c;
}

/** 1 when both places a fused jump continues at are `exit verdict` (the record then picks the verdict with a
 *  select rather than a branch: the last test of most filters, whose outcome the processor cannot predict). */
function exitsBothWays(whenTrue: u32, whenFalse: u32): u8 {
  return opAt(whenTrue) == OP_EXIT_V && opAt(whenFalse) == OP_EXIT_V ? 1 : 0;
}

/**
 * Rewrite the decoded program at `prog` (records of `insnBytes`) with fused records, reading the image's
 * `n` instruction words at `words`. Only the first record of each sequence changes.
 */
export function fuseProgram(words: usize, n: u32, decoded: usize, insnBytes: usize): void {
  code = words;
  count = n;
  prog = decoded;
  recordBytes = insnBytes;
  for (let i: u32 = 0; i < n; i++) {
    const p = prog + <usize>i * insnBytes;
    const op = opAt(i);
    if (op >= <u32>OP_LDB_RM && op <= <u32>OP_LDW_RM && (offAt(i) & 15) == 0) {
      // a raw load relative to the frame start (the loader's OPI_LD*_ABS / _IDX records)
      const size = op - <u32>OP_LDB_RM;
      const indexed = (offAt(i) & <u32>MEM_INDEXED) != 0;
      if (op == <u32>OP_LDB_RM && !indexed && i + 2 < n && mshAt(p, i)) continue;
      if (!indexed && i + 2 < n && loadAndAt(p, i, size)) continue;
      // the record's u64 k (the offset) moves to bytes 12..15: an offset past 32 bits never comes from an image
      const offset = immAt(i);
      const cond = fuseJump(p, i + 1, raAt(i));
      if (cond < 0) continue;
      store<u32>(p, offset, 12);
      store<u8>(p, <u8>(OPI_LD_JUMP + (size + (indexed ? 3 : 0)) * 8 + <u32>cond));
    } else if (op == <u32>OP_AND_RRI) {
      const mask = immAt(i);
      const cond = fuseJump(p, i + 1, raAt(i));
      if (cond < 0) continue;
      store<u32>(p, mask, 12);
      store<u8>(p, <u8>(OPI_AND_JUMP + <u32>cond));
    } else if (op == <u32>OP_LDF_RF) {
      const slot = load<u32>(p, 4); // the field's vector slot, where the targets go
      const cond = fuseJump(p, i + 1, raAt(i));
      if (cond < 0) continue;
      store<u32>(p, slot, 12);
      store<u8>(p, <u8>(OPI_LDF_JUMP + <u32>cond));
    } else if (op == <u32>OP_JEQ_RIJ && chainAt(i)) {
      store<u32>(p, recordOf(targetOf(i)), 4);
      store<u32>(p, <u32>chainTable, 8);
      store<u8>(p, exitsBothWays(targetOf(i), chainEnd), 3);
      store<u8>(p, <u8>OPI_ANY);
    }
  }
}

/** `ldX rd, [pkt + k]; and rd, rd, m` and a jump on rd (eq, ne, set or a chain) at i, k < 65536: fuse into
 *  the record at p (the offset in bytes 2..3, the mask in 12..15). */
function loadAndAt(p: usize, i: u32, size: u32): bool {
  const rd = raAt(i);
  const k = immAt(i);
  if (k > 0xffff || opAt(i + 1) != OP_AND_RRI || raAt(i + 1) != rd || rbAt(i + 1) != rd) return false;
  const jop = opAt(i + 2);
  if (jop != OP_JEQ_RIJ && jop != OP_JNE_RIJ && jop != OP_JSET_RIJ) return false;
  const mask = immAt(i + 1);
  const cond = fuseJump(p, i + 2, rd);
  if (cond < 0) return false;
  const c: u32 = cond == FC_ANY ? 3 : cond == FC_SET ? 2 : cond == FC_NE ? 1 : 0;
  store<u16>(p, <u16>k, 2);
  store<u32>(p, mask, 12);
  store<u8>(p, <u8>(OPI_LD_AND_JUMP + size * 4 + c));
  return true;
}

/** `ldb rA, [pkt + k]; and rB, rA, m; shl rC, rB, s` at i (s < 64): fuse into the record at p. */
function mshAt(p: usize, i: u32): bool {
  if (opAt(i + 1) != OP_AND_RRI || rbAt(i + 1) != raAt(i)) return false;
  if (opAt(i + 2) != OP_SHL_RRI || rbAt(i + 2) != raAt(i + 1) || immAt(i + 2) >= 64) return false;
  const k = immAt(i);
  store<u8>(p, <u8>(raAt(i) << 3), 1);
  store<u8>(p, <u8>(raAt(i + 1) << 3), 2);
  store<u8>(p, <u8>(raAt(i + 2) << 3), 3);
  store<u32>(p, immAt(i + 2), 4);
  store<u32>(p, immAt(i + 1), 8);
  store<u32>(p, k, 12);
  store<u8>(p, <u8>OPI_MSH);
  return true;
}
