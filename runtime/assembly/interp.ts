// The interpreter: runs the loaded (predecoded) program over a whole batch of frames in one call.
//
// Batch area (rebuilt by prepareBatch, at the top of the dynamic heap):
//   descriptors  count × 16 bytes: u32 frame offset (from the frames area), u32 caplen, u32 wire length,
//                u16 port, u8 direction, u8 reserved
//   results      structure of arrays: u32 verdict[count], u32 mark[count], u32 class[count], u32 prio[count],
//                u32 cycles[count], u8 fault[count], u8 mirror[count]
//   frames       the frame bytes
import {
  OP_MOV_RI, OP_MOV_RR, OP_ADD_RRI, OP_ADD_RRR, OP_SUB_RRI, OP_SUB_RRR, OP_MUL_RRI, OP_MUL_RRR, OP_DIV_RRI,
  OP_DIV_RRR, OP_MOD_RRI, OP_MOD_RRR, OP_AND_RRI, OP_AND_RRR, OP_OR_RRI, OP_OR_RRR, OP_XOR_RRI, OP_XOR_RRR,
  OP_SHL_RRI, OP_SHL_RRR, OP_SHR_RRI, OP_SHR_RRR, OP_LDF_RF, OP_LDB_RM, OP_LDH_RM, OP_LDW_RM, OP_LDK_RK,
  OP_PFX_RFP, OP_JA_J, OP_JEQ_RIJ, OP_JEQ_RRJ, OP_JNE_RIJ, OP_JNE_RRJ, OP_JGT_RIJ, OP_JGT_RRJ, OP_JGE_RIJ,
  OP_JGE_RRJ, OP_JLT_RIJ, OP_JLT_RRJ, OP_JLE_RIJ, OP_JLE_RRJ, OP_JSET_RIJ, OP_JSET_RRJ, OP_EXIT_V, OP_EXIT_R,
  OP_COUNT_CR, OP_COUNT_XR, OP_STF_FR, OP_STF_FI, OP_LOOKUP_EXACT_RB, OP_LOOKUP_LPM_RB, OP_LOOKUP_RANGE_RB,
  OP_LOOKUP_TERNARY_RB, OP_CYCLES, OP_FLAGS, VERDICT_DROP, WRITABLE_SLOTS, WRITABLE_COUNT,
  F_META_MARK, F_META_CLASS, F_META_PRIO, F_META_MIRROR, F_PKT_LEN, OP_LIMIT_RK,
  OP_SLD_RRI, OP_SST_RRI, OP_MIN_RRR, OP_MAX_RRR, OP_QLEN_RR, OP_QBYTES_RR, OP_QHEAD_RR, OP_QTIME_RR, OP_QDROP_RI,
  OP_QCE_RR, OP_QMAXB_RRI, OP_QMAXP_RRI, OP_FHASH_RR,
} from "./isa.generated";
import { BASES, REGS, slotAddr } from "./memory-map";
import { ensureMemory, heapTop, alignUp } from "./heap";
import { progBase, loaded, headerLevel, writesMeta, usesTime, clearsRegisters, readsOnlyWireLength, counterPackets, counterBytes } from "./loader";
import { parsePacket, writeMetadata } from "./parser";
import { tableLookup } from "./tables";
import { isValidVerdict } from "./verdict";
import { limitTake } from "./ratelimit";
import { beforePacket } from "./packet-input";
import { conntrackAfter, tracking } from "./conntrack";
import { dropPacket, headLen, headTime, markHead, queueBytes, queueLen, queueMax, stateLoad, stateStore } from "./sched-queues";
import { flowHash } from "./sched-hash";
import {
  OPI_AND_EQ, OPI_AND_NE, OPI_AND_GT, OPI_AND_LE, OPI_AND_GE, OPI_AND_LT, OPI_AND_SET, OPI_AND_ANY, OPI_LDF_EQ,
  OPI_LDF_NE, OPI_LDF_GT, OPI_LDF_LE, OPI_LDF_GE, OPI_LDF_LT, OPI_LDF_SET, OPI_LDF_ANY, OPI_LDB_ABS_EQ,
  OPI_LDB_ABS_NE, OPI_LDB_ABS_GT, OPI_LDB_ABS_LE, OPI_LDB_ABS_GE, OPI_LDB_ABS_LT, OPI_LDB_ABS_SET, OPI_LDB_ABS_ANY,
  OPI_LDH_ABS_EQ, OPI_LDH_ABS_NE, OPI_LDH_ABS_GT, OPI_LDH_ABS_LE, OPI_LDH_ABS_GE, OPI_LDH_ABS_LT, OPI_LDH_ABS_SET,
  OPI_LDH_ABS_ANY, OPI_LDW_ABS_EQ, OPI_LDW_ABS_NE, OPI_LDW_ABS_GT, OPI_LDW_ABS_LE, OPI_LDW_ABS_GE, OPI_LDW_ABS_LT,
  OPI_LDW_ABS_SET, OPI_LDW_ABS_ANY, OPI_LDB_IDX_EQ, OPI_LDB_IDX_NE, OPI_LDB_IDX_GT, OPI_LDB_IDX_LE, OPI_LDB_IDX_GE,
  OPI_LDB_IDX_LT, OPI_LDB_IDX_SET, OPI_LDB_IDX_ANY, OPI_LDH_IDX_EQ, OPI_LDH_IDX_NE, OPI_LDH_IDX_GT, OPI_LDH_IDX_LE,
  OPI_LDH_IDX_GE, OPI_LDH_IDX_LT, OPI_LDH_IDX_SET, OPI_LDH_IDX_ANY, OPI_LDW_IDX_EQ, OPI_LDW_IDX_NE, OPI_LDW_IDX_GT,
  OPI_LDW_IDX_LE, OPI_LDW_IDX_GE, OPI_LDW_IDX_LT, OPI_LDW_IDX_SET, OPI_LDW_IDX_ANY,
  OPI_ANY, OPI_MSH, OPI_FUSED_FIRST, OPI_FUSED_LAST, FC_EQ, FC_NE, FC_GT, FC_LE, FC_GE, FC_LT, FC_SET,
  OPI_LDB_AND_EQ, OPI_LDB_AND_NE, OPI_LDB_AND_SET, OPI_LDB_AND_ANY, OPI_LDH_AND_EQ, OPI_LDH_AND_NE, OPI_LDH_AND_SET,
  OPI_LDH_AND_ANY, OPI_LDW_AND_EQ, OPI_LDW_AND_NE, OPI_LDW_AND_SET, OPI_LDW_AND_ANY, AND_CYCLES, AND_JUMP_CYCLES,
  JUMP_CYCLES, MSH_TAIL_CYCLES, chainMatch, chainMissCycles, chainMissTarget, setFusedCycles,
} from "./fuse";

const FAULT: u64 = 1 << 32;

// VM-internal opcodes the loader substitutes when predecoding (never valid in an image; runtime/LAYOUT.md):
// raw loads relative to the frame start, without and with an index register; ldb, ldh, ldw follow each other.
// They sit next to the real load opcodes because a sparse case range makes binaryen give up on br_table.
export const OPI_LDB_ABS: u32 = 0x49;
export const OPI_LDH_ABS: u32 = 0x4a;
export const OPI_LDW_ABS: u32 = 0x4b;
export const OPI_LDB_IDX: u32 = 0x4d;
export const OPI_LDH_IDX: u32 = 0x4e;
export const OPI_LDW_IDX: u32 = 0x4f;

function fusedOpcodesFree(): bool {
  for (let op = OPI_FUSED_FIRST; op <= OPI_FUSED_LAST; op++) if (unchecked(OP_FLAGS[<i32>op]) != 0) return false;
  return true;
}

/** False when a row of the opcode table took an internal opcode's number: the loader then refuses every
 *  program (move the internal opcodes). */
export const internalOpcodesFree: bool =
  unchecked(OP_FLAGS[OPI_LDB_ABS]) == 0 && unchecked(OP_FLAGS[OPI_LDH_ABS]) == 0 && unchecked(OP_FLAGS[OPI_LDW_ABS]) == 0 &&
  unchecked(OP_FLAGS[OPI_LDB_IDX]) == 0 && unchecked(OP_FLAGS[OPI_LDH_IDX]) == 0 && unchecked(OP_FLAGS[OPI_LDW_IDX]) == 0 &&
  fusedOpcodesFree();

/** Cycle cost by (possibly internal) opcode: OP_CYCLES plus the internal forms at their originals' cost. */
const CYCLES: usize = memory.data(256);
for (let op = 0; op < 256; op++) store<u8>(CYCLES + <usize>op, unchecked(OP_CYCLES[op]));
for (let k: u32 = 0; k < 3; k++) {
  const c = unchecked(OP_CYCLES[<i32>OP_LDB_RM + <i32>k]);
  store<u8>(CYCLES + <usize>(OPI_LDB_ABS + k), c);
  store<u8>(CYCLES + <usize>(OPI_LDB_IDX + k), c);
}
setFusedCycles(CYCLES); // fuse.ts: the sum of the fused instructions' cycles

/** What a fused load returns when it faults (a loaded value has at most 32 bits). */
const NO_VALUE: u64 = <u64>-1;
const EXIT_CYCLES: u64 = <u64>unchecked(OP_CYCLES[OP_EXIT_V]);

// batch area pointers (valid after prepareBatch)
export let batchCount: u32 = 0;
export let descBase: usize = 0;
export let resVerdict: usize = 0;
export let resMark: usize = 0;
export let resClass: usize = 0;
export let resPrio: usize = 0;
export let resCycles: usize = 0;
export let resFault: usize = 0;
export let resMirror: usize = 0;
export let framesBase: usize = 0;

/** Lay out a batch of `count` frames totalling `frameBytes`; returns the frames area, 0 when out of memory. */
export function prepareBatch(count: u32, frameBytes: u32): usize {
  const n = <usize>count;
  const start = heapTop();
  const desc = start;
  const verdict = alignUp(desc + n * 16, 16);
  const mark = verdict + n * 4;
  const klass = mark + n * 4;
  const prio = klass + n * 4;
  const cycles = prio + n * 4;
  const fault = alignUp(cycles + n * 4, 16);
  const mirror = fault + n;
  const frames = alignUp(mirror + n, 64);
  const end = <u64>frames + <u64>frameBytes;
  if (end > 0xffff0000 || !ensureMemory(<usize>end)) return 0;
  batchCount = count;
  descBase = desc;
  resVerdict = verdict;
  resMark = mark;
  resClass = klass;
  resPrio = prio;
  resCycles = cycles;
  resFault = fault;
  resMirror = mirror;
  framesBase = frames;
  return frames;
}

/** Zero the writable metadata fields (before each packet of a program that writes them, and after a load). */
export function clearMetadata(): void {
  for (let i = 0; i < WRITABLE_COUNT; i++) store<u64>(slotAddr(<i32>unchecked(WRITABLE_SLOTS[i])), 0);
}

// @ts-ignore: decorator
@inline function clearRegisters(): void {
  const z = i64x2.splat(0);
  v128.store(REGS, z);
  v128.store(REGS, z, 16);
  v128.store(REGS, z, 32);
  v128.store(REGS, z, 48);
  v128.store(REGS, z, 64);
  v128.store(REGS, z, 80);
  v128.store(REGS, z, 96);
  v128.store(REGS, z, 112);
}

// register access by the predecoded byte offsets
// @ts-ignore: decorator
@inline function reg(off: u32): u64 {
  return load<u64>(REGS + <usize>off);
}
// @ts-ignore: decorator
@inline function setReg(off: u32, v: u64): void {
  store<u64>(REGS + <usize>off, v);
}

/** Raw bounds-checked packet address: base + index + imm must leave `size` bytes below caplen. */
// @ts-ignore: decorator
@inline function rawAddr(pc: usize, cap: u64, size: u64): u64 {
  const idx = reg(load<u8>(pc, 2));
  const addr = load<u64>(BASES + <usize>load<u8>(pc, 3)) + load<u64>(pc, 8) + idx;
  // an index ≥ 2^32 is out of range whatever the rest (and keeps the sum from wrapping)
  return idx > 0xffffffff || addr + size > cap ? <u64>-1 : addr;
}

/** The raw load of a fused record (fuse.ts; kinds 0..2 ldb/ldh/ldw at `[pkt + k]`, 3..5 indexed), NO_VALUE when
 *  it faults. `kind` is a constant at every use, so each case keeps only its own path. */
// @ts-ignore: decorator
@inline function fusedLoad(kind: u32, pc: usize, frame: usize, cap: u64): u64 {
  let at = <u64>load<u32>(pc, 12);
  if (kind >= 3) {
    const idx = reg(load<u8>(pc, 2));
    if (idx > 0xffffffff) return NO_VALUE;
    at += idx;
  }
  const size = kind % 3;
  if (at + (<u64>1 << <u64>size) > cap) return NO_VALUE;
  const p = frame + <usize>at;
  if (size == 0) return <u64>load<u8>(p);
  if (size == 1) return <u64>bswap<u16>(load<u16>(p));
  return <u64>bswap<u32>(load<u32>(p));
}

/** Whether a fused jump's condition (constant at every use) holds for v against the record's immediate. */
// @ts-ignore: decorator
@inline function fusedHolds(cond: u32, v: u64, pc: usize): bool {
  const k = <u64>load<u32>(pc, 8);
  if (cond == FC_EQ) return v == k;
  if (cond == FC_NE) return v != k;
  if (cond == FC_GT) return v > k;
  if (cond == FC_LE) return v <= k;
  if (cond == FC_GE) return v >= k;
  if (cond == FC_LT) return v < k;
  return (v & k) != 0; // FC_SET
}

// A fused jump continues at its target's record (bytes 4..7) when the condition holds, else at the record after
// the jump (pc + 32). Written as a branch, which binaryen keeps (the taken side loads): a select would make the
// next dispatch wait for the packet load and the compare, where a predicted branch lets the processor run ahead.

/** A fused chain (FC_ANY): the record after a match or a miss, and above it the cycles spent when counting. */
// @ts-ignore: decorator
@inline function chainNext<C>(pc: usize, v: u64): u64 {
  const table = <usize>load<u32>(pc, 8);
  const c = chainMatch(table, v);
  // selects, not branches: a record whose two ways are exits returns straight from here (see above)
  const next = select<u64>(<u64>load<u32>(pc, 4), <u64>chainMissTarget(table), c != 0);
  return next | (sizeof<C>() == 8 ? select<u64>(<u64>c, chainMissCycles(table), c != 0) << 32 : 0);
}

/** `exit verdict` at the record pc, reached by a fused jump without a dispatch of its own. */
// @ts-ignore: decorator
@inline function exitAt<C>(pc: usize, cycles: u64): u64 {
  return load<u64>(pc, 8) | (sizeof<C>() == 8 ? (cycles + EXIT_CYCLES) << 33 : 0);
}

/** The result of a fault in a fused record, charging only the instructions up to the faulting load. */
// @ts-ignore: decorator
@inline function fusedFault<C>(cycles: u64, notReached: u64): u64 {
  return FAULT | VERDICT_DROP | (sizeof<C>() == 8 ? (cycles - notReached) << 33 : 0);
}

/**
 * Run the program on one frame. Returns the verdict in bits 0..31, the fault flag in bit 32 and (when counting)
 * the cycles in bits 33..63. C is a compile-time switch: u64 counts cycles, u32 does not (two specialised
 * copies of the loop, so the common case pays nothing for the option).
 */
// @ts-ignore: decorator
@inline function execute<C>(frame: usize, cap: u64): u64 {
  let pc = progBase;
  let cycles: u64 = 0;
  for (;;) {
    const op = <u32>load<u8>(pc);
    if (sizeof<C>() == 8) cycles += <u64>load<u8>(CYCLES + <usize>op);
    switch (op) {
      case OP_MOV_RI:
      case OP_LDK_RK:
        setReg(load<u8>(pc, 1), load<u64>(pc, 8));
        break;
      case OP_MOV_RR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)));
        break;
      case OP_ADD_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) + load<u64>(pc, 8));
        break;
      case OP_ADD_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) + reg(load<u8>(pc, 3)));
        break;
      case OP_SUB_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) - load<u64>(pc, 8));
        break;
      case OP_SUB_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) - reg(load<u8>(pc, 3)));
        break;
      case OP_MUL_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) * load<u64>(pc, 8));
        break;
      case OP_MUL_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) * reg(load<u8>(pc, 3)));
        break;
      case OP_DIV_RRI: {
        const d = load<u64>(pc, 8);
        if (d == 0) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) / d);
        break;
      }
      case OP_DIV_RRR: {
        const d = reg(load<u8>(pc, 3));
        if (d == 0) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) / d);
        break;
      }
      case OP_MOD_RRI: {
        const d = load<u64>(pc, 8);
        if (d == 0) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) % d);
        break;
      }
      case OP_MOD_RRR: {
        const d = reg(load<u8>(pc, 3));
        if (d == 0) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) % d);
        break;
      }
      case OP_AND_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) & load<u64>(pc, 8));
        break;
      case OP_AND_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) & reg(load<u8>(pc, 3)));
        break;
      case OP_OR_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) | load<u64>(pc, 8));
        break;
      case OP_OR_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) | reg(load<u8>(pc, 3)));
        break;
      case OP_XOR_RRI:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) ^ load<u64>(pc, 8));
        break;
      case OP_XOR_RRR:
        setReg(load<u8>(pc, 1), reg(load<u8>(pc, 2)) ^ reg(load<u8>(pc, 3)));
        break;
      case OP_SHL_RRI: {
        const n = load<u64>(pc, 8);
        setReg(load<u8>(pc, 1), n >= 64 ? 0 : reg(load<u8>(pc, 2)) << n);
        break;
      }
      case OP_SHL_RRR: {
        const n = reg(load<u8>(pc, 3));
        setReg(load<u8>(pc, 1), n >= 64 ? 0 : reg(load<u8>(pc, 2)) << n);
        break;
      }
      case OP_SHR_RRI: {
        const n = load<u64>(pc, 8);
        setReg(load<u8>(pc, 1), n >= 64 ? 0 : reg(load<u8>(pc, 2)) >> n);
        break;
      }
      case OP_SHR_RRR: {
        const n = reg(load<u8>(pc, 3));
        setReg(load<u8>(pc, 1), n >= 64 ? 0 : reg(load<u8>(pc, 2)) >> n);
        break;
      }
      case OP_LDF_RF:
        setReg(load<u8>(pc, 1), load<u64>(<usize>load<u32>(pc, 4)));
        break;
      case OP_LDB_RM: {
        const at = rawAddr(pc, cap, 1);
        if (at == <u64>-1) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>load<u8>(frame + <usize>at));
        break;
      }
      case OP_LDH_RM: {
        const at = rawAddr(pc, cap, 2);
        if (at == <u64>-1) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u16>(load<u16>(frame + <usize>at)));
        break;
      }
      case OP_LDW_RM: {
        const at = rawAddr(pc, cap, 4);
        if (at == <u64>-1) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u32>(load<u32>(frame + <usize>at)));
        break;
      }
      case OPI_LDB_ABS: {
        const at = load<u64>(pc, 8);
        if (at + 1 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>load<u8>(frame + <usize>at));
        break;
      }
      case OPI_LDH_ABS: {
        const at = load<u64>(pc, 8);
        if (at + 2 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u16>(load<u16>(frame + <usize>at)));
        break;
      }
      case OPI_LDW_ABS: {
        const at = load<u64>(pc, 8);
        if (at + 4 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u32>(load<u32>(frame + <usize>at)));
        break;
      }
      case OPI_LDB_IDX: {
        const idx = reg(load<u8>(pc, 2));
        const at = load<u64>(pc, 8) + idx;
        if (idx > 0xffffffff || at + 1 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>load<u8>(frame + <usize>at));
        break;
      }
      case OPI_LDH_IDX: {
        const idx = reg(load<u8>(pc, 2));
        const at = load<u64>(pc, 8) + idx;
        if (idx > 0xffffffff || at + 2 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u16>(load<u16>(frame + <usize>at)));
        break;
      }
      case OPI_LDW_IDX: {
        const idx = reg(load<u8>(pc, 2));
        const at = load<u64>(pc, 8) + idx;
        if (idx > 0xffffffff || at + 4 > cap) return FAULT | VERDICT_DROP | (cycles << 33);
        setReg(load<u8>(pc, 1), <u64>bswap<u32>(load<u32>(frame + <usize>at)));
        break;
      }
      case OP_PFX_RFP: {
        const rec = <usize>load<u32>(pc, 4);
        const hi = load<u64>(<usize>load<u32>(rec)) & load<u64>(rec, 16);
        const lo = load<u64>(<usize>load<u32>(rec, 4)) & load<u64>(rec, 24);
        setReg(load<u8>(pc, 1), <u64>((hi == load<u64>(rec, 32)) & (lo == load<u64>(rec, 40))));
        break;
      }
      case OP_JA_J:
        pc = <usize>load<u32>(pc, 4);
        continue;
      case OP_JEQ_RIJ:
        if (reg(load<u8>(pc, 1)) == load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JEQ_RRJ:
        if (reg(load<u8>(pc, 1)) == reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JNE_RIJ:
        if (reg(load<u8>(pc, 1)) != load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JNE_RRJ:
        if (reg(load<u8>(pc, 1)) != reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JGT_RIJ:
        if (reg(load<u8>(pc, 1)) > load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JGT_RRJ:
        if (reg(load<u8>(pc, 1)) > reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JGE_RIJ:
        if (reg(load<u8>(pc, 1)) >= load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JGE_RRJ:
        if (reg(load<u8>(pc, 1)) >= reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JLT_RIJ:
        if (reg(load<u8>(pc, 1)) < load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JLT_RRJ:
        if (reg(load<u8>(pc, 1)) < reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JLE_RIJ:
        if (reg(load<u8>(pc, 1)) <= load<u64>(pc, 8)) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JLE_RRJ:
        if (reg(load<u8>(pc, 1)) <= reg(load<u8>(pc, 2))) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JSET_RIJ:
        if ((reg(load<u8>(pc, 1)) & load<u64>(pc, 8)) != 0) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_JSET_RRJ:
        if ((reg(load<u8>(pc, 1)) & reg(load<u8>(pc, 2))) != 0) {
          pc = <usize>load<u32>(pc, 4);
          continue;
        }
        break;
      case OP_EXIT_V:
        return load<u64>(pc, 8) | (cycles << 33);
      case OP_EXIT_R: {
        const word = <u32>reg(load<u8>(pc, 1));
        if (!isValidVerdict(word)) return FAULT | VERDICT_DROP | (cycles << 33);
        return <u64>word | (cycles << 33);
      }
      case OP_COUNT_CR: {
        const c = <usize>load<u32>(pc, 4);
        store<u64>(c, load<u64>(c) + 1);
        const b = c + (counterBytes - counterPackets);
        store<u64>(b, load<u64>(b) + reg(load<u8>(pc, 1)));
        break;
      }
      case OP_COUNT_XR: {
        const idx = reg(load<u8>(pc, 2));
        if (idx >= load<u64>(pc, 8)) return FAULT | VERDICT_DROP | (cycles << 33);
        const c = <usize>load<u32>(pc, 4) + (<usize>idx << 3);
        store<u64>(c, load<u64>(c) + 1);
        const b = c + (counterBytes - counterPackets);
        store<u64>(b, load<u64>(b) + reg(load<u8>(pc, 1)));
        break;
      }
      case OP_STF_FR:
        store<u64>(<usize>load<u32>(pc, 4), reg(load<u8>(pc, 2)) & load<u64>(pc, 8));
        break;
      case OP_STF_FI:
        store<u64>(<usize>load<u32>(pc, 4), load<u64>(pc, 8));
        break;
      case OP_LOOKUP_EXACT_RB:
      case OP_LOOKUP_LPM_RB:
      case OP_LOOKUP_RANGE_RB:
      case OP_LOOKUP_TERNARY_RB:
        setReg(load<u8>(pc, 1), tableLookup(<usize>load<u32>(pc, 4)));
        break;
      case OP_LIMIT_RK:
        setReg(load<u8>(pc, 1), limitTake(<usize>load<u32>(pc, 4)));
        break;
      // scheduler side (sched-queues.ts, sched-hash.ts): none of these faults
      case OP_SLD_RRI:
        setReg(load<u8>(pc, 1), stateLoad(reg(load<u8>(pc, 2)) + load<u64>(pc, 8)));
        break;
      case OP_SST_RRI:
        stateStore(reg(load<u8>(pc, 1)) + load<u64>(pc, 8), reg(load<u8>(pc, 2)));
        break;
      case OP_MIN_RRR: {
        const x = reg(load<u8>(pc, 2));
        const y = reg(load<u8>(pc, 3));
        setReg(load<u8>(pc, 1), x < y ? x : y);
        break;
      }
      case OP_MAX_RRR: {
        const x = reg(load<u8>(pc, 2));
        const y = reg(load<u8>(pc, 3));
        setReg(load<u8>(pc, 1), x > y ? x : y);
        break;
      }
      case OP_QLEN_RR:
        setReg(load<u8>(pc, 1), queueLen(reg(load<u8>(pc, 2))));
        break;
      case OP_QBYTES_RR:
        setReg(load<u8>(pc, 1), queueBytes(reg(load<u8>(pc, 2))));
        break;
      case OP_QHEAD_RR:
        setReg(load<u8>(pc, 1), headLen(reg(load<u8>(pc, 2))));
        break;
      case OP_QTIME_RR:
        setReg(load<u8>(pc, 1), headTime(reg(load<u8>(pc, 2))));
        break;
      case OP_QDROP_RI:
        dropPacket(reg(load<u8>(pc, 1)), load<u64>(pc, 8) != 0);
        break;
      case OP_QCE_RR:
        setReg(load<u8>(pc, 1), markHead(reg(load<u8>(pc, 2))));
        break;
      case OP_QMAXB_RRI:
        setReg(load<u8>(pc, 1), queueMax(reg(load<u8>(pc, 2)), load<u64>(pc, 8), true));
        break;
      case OP_QMAXP_RRI:
        setReg(load<u8>(pc, 1), queueMax(reg(load<u8>(pc, 2)), load<u64>(pc, 8), false));
        break;
      case OP_FHASH_RR:
        setReg(load<u8>(pc, 1), flowHash(reg(load<u8>(pc, 2))));
        break;
      // fused records (fuse.ts): a load (or `and`, or `ldf`) and the conditional jump on its result, or a chain
      // of jeq; a jump that lands on `exit verdict` returns at once (one dispatch less per packet)
      case OPI_LDB_ABS_EQ: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_NE: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_GT: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_LE: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_GE: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_LT: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_SET: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_ABS_ANY: {
        const v = fusedLoad(0, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_EQ: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_NE: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_GT: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_LE: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_GE: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_LT: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_SET: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_ABS_ANY: {
        const v = fusedLoad(1, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_EQ: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_NE: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_GT: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_LE: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_GE: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_LT: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_SET: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_ABS_ANY: {
        const v = fusedLoad(2, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_EQ: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_NE: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_GT: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_LE: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_GE: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_LT: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_SET: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_IDX_ANY: {
        const v = fusedLoad(3, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_EQ: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_NE: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_GT: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_LE: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_GE: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_LT: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_SET: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_IDX_ANY: {
        const v = fusedLoad(4, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_EQ: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_NE: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_GT: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_LE: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_GE: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_LT: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_SET: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, JUMP_CYCLES);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_IDX_ANY: {
        const v = fusedLoad(5, pc, frame, cap);
        if (v == NO_VALUE) return fusedFault<C>(cycles, 0);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_EQ: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_NE: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_GT: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_LE: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_GE: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_LT: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_SET: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_AND_ANY: {
        const v = reg(load<u8>(pc, 2)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_EQ: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_NE: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_GT: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_LE: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_GE: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_GE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_LT: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_LT, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_SET: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 32, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 32;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDF_ANY: {
        const v = load<u64>(<usize>load<u32>(pc, 12));
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_AND_EQ: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 1 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>load<u8>(frame + <usize>at) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_AND_NE: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 1 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>load<u8>(frame + <usize>at) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_AND_SET: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 1 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>load<u8>(frame + <usize>at) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDB_AND_ANY: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 1 > cap) return fusedFault<C>(cycles, AND_CYCLES);
        const v = <u64>load<u8>(frame + <usize>at) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_AND_EQ: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 2 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u16>(load<u16>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_AND_NE: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 2 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u16>(load<u16>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_AND_SET: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 2 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u16>(load<u16>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDH_AND_ANY: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 2 > cap) return fusedFault<C>(cycles, AND_CYCLES);
        const v = <u64>bswap<u16>(load<u16>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_AND_EQ: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 4 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u32>(load<u32>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_EQ, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_AND_NE: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 4 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u32>(load<u32>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_NE, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_AND_SET: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 4 > cap) return fusedFault<C>(cycles, AND_JUMP_CYCLES);
        const v = <u64>bswap<u32>(load<u32>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const holds = fusedHolds(FC_SET, v, pc);
        if (load<u8>(pc, 3) != 0) return exitAt<C>(select<usize>(<usize>load<u32>(pc, 4), pc + 48, holds), cycles);
        pc = holds ? <usize>load<u32>(pc, 4) : pc + 48;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_LDW_AND_ANY: {
        const at = <u64>load<u16>(pc, 2);
        if (at + 4 > cap) return fusedFault<C>(cycles, AND_CYCLES);
        const v = <u64>bswap<u32>(load<u32>(frame + <usize>at)) & <u64>load<u32>(pc, 12);
        setReg(load<u8>(pc, 1), v);
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_ANY: {
        const v = reg(load<u8>(pc, 1));
        const next = chainNext<C>(pc, v);
        if (sizeof<C>() == 8) cycles += next >> 32;
        if (load<u8>(pc, 3) != 0) return exitAt<C>(<usize><u32>next, cycles);
        pc = <usize><u32>next;
        if (load<u8>(pc) == OP_EXIT_V) return exitAt<C>(pc, cycles);
        continue;
      }
      case OPI_MSH: {
        const at = <u64>load<u32>(pc, 12);
        if (at + 1 > cap) return fusedFault<C>(cycles, MSH_TAIL_CYCLES);
        const byte = <u64>load<u8>(frame + <usize>at);
        const masked = byte & <u64>load<u32>(pc, 8);
        setReg(load<u8>(pc, 1), byte);
        setReg(load<u8>(pc, 2), masked);
        setReg(load<u8>(pc, 3), masked << <u64>load<u32>(pc, 4));
        pc += 48; // past the and and the shl
        continue;
      }
      default:
        // unreachable for a loaded program (the loader refuses unknown opcodes); fail safe anyway
        return FAULT | VERDICT_DROP | (cycles << 33);
    }
    pc += 16;
  }
  return FAULT; // not reached: every path ends in an exit
}

/**
 * Opcodes the interpreter gives a meaning to. The loader refuses any other opcode, even one the opcode table
 * has, so a row added to overlay-isa/opcodes.ts without VM semantics is refused at load time (and fails the
 * opcode-enumeration test) instead of faulting packets. Keep in step with the switch in execute().
 */
export function interpreterImplements(op: u32): bool {
  switch (op) {
    case OP_MOV_RI: case OP_MOV_RR: case OP_LDK_RK:
    case OP_ADD_RRI: case OP_ADD_RRR: case OP_SUB_RRI: case OP_SUB_RRR: case OP_MUL_RRI: case OP_MUL_RRR:
    case OP_DIV_RRI: case OP_DIV_RRR: case OP_MOD_RRI: case OP_MOD_RRR: case OP_AND_RRI: case OP_AND_RRR:
    case OP_OR_RRI: case OP_OR_RRR: case OP_XOR_RRI: case OP_XOR_RRR: case OP_SHL_RRI: case OP_SHL_RRR:
    case OP_SHR_RRI: case OP_SHR_RRR:
    case OP_LDF_RF: case OP_LDB_RM: case OP_LDH_RM: case OP_LDW_RM: case OP_PFX_RFP:
    case OP_JA_J: case OP_JEQ_RIJ: case OP_JEQ_RRJ: case OP_JNE_RIJ: case OP_JNE_RRJ: case OP_JGT_RIJ:
    case OP_JGT_RRJ: case OP_JGE_RIJ: case OP_JGE_RRJ: case OP_JLT_RIJ: case OP_JLT_RRJ: case OP_JLE_RIJ:
    case OP_JLE_RRJ: case OP_JSET_RIJ: case OP_JSET_RRJ:
    case OP_EXIT_V: case OP_EXIT_R: case OP_COUNT_CR: case OP_COUNT_XR: case OP_STF_FR: case OP_STF_FI:
    case OP_LOOKUP_EXACT_RB: case OP_LOOKUP_LPM_RB: case OP_LOOKUP_RANGE_RB: case OP_LOOKUP_TERNARY_RB:
    case OP_LIMIT_RK:
    case OP_SLD_RRI: case OP_SST_RRI: case OP_MIN_RRR: case OP_MAX_RRR: case OP_QLEN_RR: case OP_QBYTES_RR:
    case OP_QHEAD_RR: case OP_QTIME_RR: case OP_QDROP_RI: case OP_QCE_RR: case OP_QMAXB_RRI: case OP_QMAXP_RRI:
    case OP_FHASH_RR:
      return true;
    default:
      return false;
  }
}

/** Run the loaded program once on the frame at `frame` (scheduler events, sched.ts): registers zeroed, the
 *  vector and metadata as the caller set them. Returns what execute returns (verdict, fault bit). */
export function runOnce(frame: usize, cap: u64): u64 {
  clearRegisters();
  return execute<u32>(frame, cap);
}

function runLoop<C>(count: u32, linktype: u32): void {
  const level = headerLevel;
  const meta = writesMeta;
  // below level 2 only token buckets read the side input (the time): filters skip the call altogether
  const sideInput = level >= 2 || usesTime;
  const clears = clearsRegisters;
  const lenOnly = readsOnlyWireLength;
  // most pcap filters need none of the per-packet steps: one predictable branch skips them all
  const setup = clears || meta || (level != 0 && !lenOnly) || sideInput;
  const after = tracking || meta;
  for (let i: u32 = 0; i < count; i++) {
    const d = descBase + (<usize>i << 4);
    const frame = framesBase + <usize>load<u32>(d);
    const cap = load<u32>(d, 4);
    if (setup) {
      if (clears) clearRegisters();
      if (meta) clearMetadata();
      if (level != 0) {
        const wire = load<u32>(d, 8);
        if (lenOnly) store<u64>(slotAddr(F_PKT_LEN), <u64>wire);
        else writeMetadata(cap, wire, <u32>load<u16>(d, 12), <u32>load<u8>(d, 14), linktype);
        if (level > 1) parsePacket(frame, cap, wire, linktype);
      }
      if (sideInput) beforePacket(i, frame, cap, level); // owner fields, time and flow state (packet-input.ts)
    } else if (lenOnly) {
      store<u64>(slotAddr(F_PKT_LEN), <u64>load<u32>(d, 8));
    }
    const r = execute<C>(frame, <u64>cap);
    const o = <usize>i << 2;
    store<u32>(resVerdict + o, <u32>r);
    store<u8>(resFault + <usize>i, <u8>((r >> 32) & 1));
    if (sizeof<C>() == 8) store<u32>(resCycles + o, <u32>(r >> 33));
    if (after) {
      if (tracking) conntrackAfter(<u32>r);
      // a program that writes no metadata leaves these results untouched: the host reads them as 0
      if (meta) {
        store<u32>(resMark + o, <u32>load<u64>(slotAddr(F_META_MARK)));
        store<u32>(resClass + o, <u32>load<u64>(slotAddr(F_META_CLASS)));
        store<u32>(resPrio + o, <u32>load<u64>(slotAddr(F_META_PRIO)));
        store<u8>(resMirror + <usize>i, <u8>load<u64>(slotAddr(F_META_MIRROR)));
      }
    }
  }
}

/** Run the loaded program over the prepared batch. Returns false when no program is loaded. */
export function runBatch(count: u32, linktype: u32, withCycles: bool): bool {
  if (!loaded || count > batchCount) return false;
  if (withCycles) runLoop<u64>(count, linktype);
  else runLoop<u32>(count, linktype);
  return true;
}
