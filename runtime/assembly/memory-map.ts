// Fixed addresses of the VM's per-packet state. They sit below `memoryBase` (asconfig.json: 4096), where the
// compiler places no data, so every access is an i32.const address — and the JIT tier can hard-code the same
// numbers. runtime/LAYOUT.md is the prose version of this file; keep the two in step.
import { VECTOR_SLOTS } from "./isa.generated";

/** 16 bytes that always read 0 (the high half of a one-slot field for `pfx`). */
export const ZERO16: usize = 16;

/** Registers r0..r15 (u64 each) followed by a seventeenth slot that is always 0: an unindexed raw load uses it
 *  as its index register, so indexed and plain loads share one code path. */
export const REGS: usize = 64;
export const REG_ZERO: u32 = 16;

/** Raw-load bases as u64 byte offsets into the frame: pkt (always 0), l3, l4, payload. An absent header's
 *  base is BASE_ABSENT, so any load relative to it lands past the captured bytes and faults. */
export const BASES: usize = 256;
export const BASE_ABSENT: u64 = 1 << 40;

/** The key a lookup builds from header fields: up to 320 bits as five u64 words, least significant first. */
export const LOOKUP_KEY: usize = 320;
/** Control-plane staging for table writes: key (or range lo) and mask (or range hi), 48 bytes each. */
export const CTL_KEY: usize = 384;
export const CTL_MASK: usize = 448;

/** The parsed-header vector: one u64 per slot (fields.ts order, 128-bit fields high half first). */
export const VEC: usize = 512;
export const VEC_CAPACITY_SLOTS: i32 = (4096 - 512) / 8;

/** End of the fixed area; asconfig.json's memoryBase must not be lower. */
export const FIXED_END: usize = 4096;

/** Byte address of a vector slot. */
// @ts-ignore: decorator
@inline export function slotAddr(slot: i32): usize {
  return VEC + (<usize>slot << 3);
}

// The vector must fit below FIXED_END (new fields are appended to fields.ts over time).
if (VECTOR_SLOTS > VEC_CAPACITY_SLOTS) ERROR("the parsed-header vector outgrew the fixed area: raise memoryBase and FIXED_END");
