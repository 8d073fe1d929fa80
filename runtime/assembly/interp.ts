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
  F_META_MARK, F_META_CLASS, F_META_PRIO, F_META_MIRROR, OP_LIMIT_RK,
} from "./isa.generated";
import { BASES, REGS, slotAddr } from "./memory-map";
import { ensureMemory, heapTop, alignUp } from "./heap";
import { progBase, loaded, headerLevel, writesMeta, usesTime, counterPackets, counterBytes } from "./loader";
import { parsePacket, writeMetadata } from "./parser";
import { tableLookup } from "./tables";
import { isValidVerdict } from "./verdict";
import { limitTake } from "./ratelimit";
import { beforePacket } from "./packet-input";
import { conntrackAfter, tracking } from "./conntrack";

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

/** False when a row of the opcode table took an internal opcode's number: the loader then refuses every
 *  program (move the internal opcodes). */
export const internalOpcodesFree: bool =
  unchecked(OP_FLAGS[OPI_LDB_ABS]) == 0 && unchecked(OP_FLAGS[OPI_LDH_ABS]) == 0 && unchecked(OP_FLAGS[OPI_LDW_ABS]) == 0 &&
  unchecked(OP_FLAGS[OPI_LDB_IDX]) == 0 && unchecked(OP_FLAGS[OPI_LDH_IDX]) == 0 && unchecked(OP_FLAGS[OPI_LDW_IDX]) == 0;

/** Cycle cost by (possibly internal) opcode: OP_CYCLES plus the internal forms at their originals' cost. */
const CYCLES: usize = memory.data(256);
for (let op = 0; op < 256; op++) store<u8>(CYCLES + <usize>op, unchecked(OP_CYCLES[op]));
for (let k: u32 = 0; k < 3; k++) {
  const c = unchecked(OP_CYCLES[<i32>OP_LDB_RM + <i32>k]);
  store<u8>(CYCLES + <usize>(OPI_LDB_ABS + k), c);
  store<u8>(CYCLES + <usize>(OPI_LDB_IDX + k), c);
}

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
      return true;
    default:
      return false;
  }
}

function runLoop<C>(count: u32, linktype: u32): void {
  const level = headerLevel;
  const meta = writesMeta;
  // below level 2 only token buckets read the side input (the time): filters skip the call altogether
  const sideInput = level >= 2 || usesTime;
  for (let i: u32 = 0; i < count; i++) {
    const d = descBase + (<usize>i << 4);
    const frame = framesBase + <usize>load<u32>(d);
    const cap = load<u32>(d, 4);
    clearRegisters();
    if (meta) clearMetadata();
    if (level != 0) {
      const wire = load<u32>(d, 8);
      writeMetadata(cap, wire, <u32>load<u16>(d, 12), <u32>load<u8>(d, 14), linktype);
      if (level > 1) parsePacket(frame, cap, wire, linktype);
    }
    if (sideInput) beforePacket(i, frame, cap, level); // owner fields, time and flow state (packet-input.ts)
    const r = execute<C>(frame, <u64>cap);
    if (tracking) conntrackAfter(<u32>r);
    const o = <usize>i << 2;
    store<u32>(resVerdict + o, <u32>r);
    store<u8>(resFault + <usize>i, <u8>((r >> 32) & 1));
    if (sizeof<C>() == 8) store<u32>(resCycles + o, <u32>(r >> 33));
    // a program that writes no metadata leaves these results untouched: the host reads them as 0
    if (meta) {
      store<u32>(resMark + o, <u32>load<u64>(slotAddr(F_META_MARK)));
      store<u32>(resClass + o, <u32>load<u64>(slotAddr(F_META_CLASS)));
      store<u32>(resPrio + o, <u32>load<u64>(slotAddr(F_META_PRIO)));
      store<u8>(resMirror + <usize>i, <u8>load<u64>(slotAddr(F_META_MIRROR)));
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
