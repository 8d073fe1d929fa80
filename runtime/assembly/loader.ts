// Program loading: read a KOPI image from the staging area, check its structure, predecode it and lay out
// counters and tables. The check is the NIC's own (driven by the generated OP_FLAGS), independent of the
// TypeScript verifier, so that no image — verified or not — can make the interpreter trap, loop or touch
// memory outside the frame, the vector and its own tables. It does not do the verifier's dataflow: an
// unverified program may read a register it never wrote (it reads 0, registers are zeroed per packet).
//
// Predecoded instruction, 16 bytes (see runtime/LAYOUT.md):
//   0 u8 op     1 u8 a: byte offset of ra/rd in REGS     2 u8 b: byte offset of rs / index register
//   3 u8 c: byte offset of rt (ALU), or base × 8 (raw loads)
//   4 u32 d: jump target address | field slot address | table descriptor | counter address | pfx record
//   8 u64 imm: immediate, constant, verdict, width mask (stf rs), counter limit (indexed count)
import {
  OP_FLAGS, OPF_VALID, OPF_TARGET, OPF_FIELD, OPF_WFIELD, OPF_TABLE, OPF_COUNTER, OPF_COUNTERX, OPF_CONST,
  OPF_KPREFIX, OPF_MEM, OPF_VERDICT, OPF_FALLS, FIELD_COUNT, FIELD_SLOT, FIELD_BITS, FIELD_WRITABLE,
  OP_LDF_RF, OP_LDB_RM, OP_PFX_RFP, OP_LDK_RK, OP_STF_FR, OP_STF_FI, OP_COUNT_XR, OP_LOOKUP_EXACT_RB, MEM_BASE_COUNT, MEM_INDEXED, LIMIT_INSTRUCTION_MEMORY, LIMIT_TABLES, LIMIT_COUNTERS, LIMIT_CONSTANTS,
  LIMIT_KEY_FIELDS, LIMIT_KEY_BITS, LIMIT_LPM_KEY_BITS, LIMIT_TABLE_ENTRIES, TABLE_LPM, TABLE_RANGE,
  F_PKT_HDRS, F_PKT_LEN, F_CT_STATE, OP_LIMIT_RK, OPF_HEADERS, OP_SLD_RRI, OP_SST_RRI, OP_QLEN_RR, OP_QMAXP_RRI,
} from "./isa.generated";
import { REG_ZERO, ZERO16, slotAddr } from "./memory-map";
import { STAGE, STAGE_CAPACITY, allocate, resetHeap } from "./heap";
import { TD_BYTES, TDO_KIND, TDO_CAPACITY, TDO_KEY_BITS, TDO_KEY_WORDS, TDO_NFIELDS, TDO_STORAGE, TDO_FIELDS, tableInit, tableStorageBytes } from "./tables";
import { limitBucket } from "./ratelimit";
import { allocateTable, setTracking, tracking } from "./conntrack";
import { isValidVerdict } from "./verdict";
import { allocateQueues, allocateState } from "./sched-queues";
import { interpreterImplements, internalOpcodesFree, OPI_LDB_ABS, OPI_LDB_IDX } from "./interp";
import { fuseProgram } from "./fuse";
import { readsUnwritten } from "./liveness";

export const INSN_BYTES: usize = 16;
export const PFX_BYTES: usize = 48;

// why a load was refused (runtime/vm.ts turns these into messages)
export const LOAD_OK: i32 = 0;
export const LOAD_BAD_IMAGE: i32 = 1;
export const LOAD_BAD_SIZE: i32 = 2;
export const LOAD_BAD_TABLE_DECL: i32 = 3;
export const LOAD_UNKNOWN_OPCODE: i32 = 4;
export const LOAD_BAD_JUMP: i32 = 5;
export const LOAD_FALLS_OFF_END: i32 = 6;
export const LOAD_BAD_FIELD: i32 = 7;
export const LOAD_BAD_TABLE: i32 = 8;
export const LOAD_BAD_COUNTER: i32 = 9;
export const LOAD_BAD_CONSTANT: i32 = 10;
export const LOAD_BAD_MEMORY_BASE: i32 = 11;
export const LOAD_BAD_VERDICT: i32 = 12;
export const LOAD_OUT_OF_MEMORY: i32 = 13;
export const LOAD_UNIMPLEMENTED: i32 = 14;

// the loaded program (all zero when none is loaded)
export let loaded = false;
export let progBase: usize = 0;
export let insnCount: u32 = 0;
export let tableCount: u32 = 0;
export let tableDescs: usize = 0;
export let counterCount: u32 = 0;
export let counterPackets: usize = 0;
export let counterBytes: usize = 0;
/** 0: the program reads nothing of the vector; 1: packet metadata only; 2: the parser must run */
export let headerLevel: i32 = 0;
/** the program writes metadata fields, so they are cleared per packet */
export let writesMeta = false;
/** the program uses token buckets (`limit`), so each packet's timestamp must be set (packet-input.ts) */
export let usesTime = false;
/** some path reads a register before writing it, so r0..r15 are cleared before each packet (liveness.ts) */
export let clearsRegisters = true;
/** the only packet metadata the program reads is pkt.len (`len`, `greater`, `less`): the per-packet setup
 *  writes that one slot */
export let readsOnlyWireLength = false;
/** index of the offending instruction (or table) of the last refused load, -1 for the image as a whole */
export let loadErrorIndex: i32 = -1;

/** Which of the packet metadata slots (pkt.len … pkt.linktype, below pkt.hdrs) the program reads, one bit each. */
let pktSlotsRead: u32 = 0;

/** What a program's reading of field `id` requires of the per-packet setup. */
function fieldLevel(id: i32): i32 {
  const read = <i32>unchecked(FIELD_SLOT[id]);
  if (unchecked(FIELD_WRITABLE[id]) == 0 && read < F_PKT_HDRS) pktSlotsRead |= <u32>1 << <u32>read;
  if (unchecked(FIELD_WRITABLE[id]) != 0) return 0;
  const slot = <i32>unchecked(FIELD_SLOT[id]);
  if (slot < F_PKT_HDRS) return 1;
  return 2; // parser fields, and fields appended after meta.* (filled per packet by whoever adds them)
}

// @ts-ignore: decorator
@inline function maxI32(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

function refuse(code: i32, index: i32): i32 {
  loaded = false;
  loadErrorIndex = index;
  return code;
}

/** Mask of bits [from, to) of one 64-bit word. */
function bitRange(from: i32, to: i32): u64 {
  if (to <= from) return 0;
  const w = to - from;
  return (w >= 64 ? <u64>-1 : (<u64>1 << <u64>w) - 1) << <u64>from;
}

/** Load the image of `length` bytes in the staging area. Returns LOAD_OK or a LOAD_* reason. */
export function loadImage(length: u32): i32 {
  loaded = false;
  loadErrorIndex = -1;
  resetHeap();
  if (<usize>length < 32 || <usize>length > STAGE_CAPACITY) return refuse(LOAD_BAD_SIZE, -1);
  const img = STAGE;
  if (load<u32>(img) != 0x49504f4b || load<u16>(img, 4) != 1 || load<u16>(img, 6) > 2) return refuse(LOAD_BAD_IMAGE, -1);
  const nCode = load<u32>(img, 8);
  const nTables = <u32>load<u16>(img, 12);
  const nCounters = load<u32>(img, 16);
  const nConst = <u32>load<u16>(img, 20);
  if (nCode == 0 || nCode > <u32>LIMIT_INSTRUCTION_MEMORY) return refuse(LOAD_BAD_SIZE, -1);
  if (nTables > <u32>LIMIT_TABLES || nCounters > <u32>LIMIT_COUNTERS || nConst > <u32>LIMIT_CONSTANTS) return refuse(LOAD_BAD_SIZE, -1);
  const declBase = img + 32;
  const constBase = declBase + nTables * 24;
  const codeBase = constBase + nConst * 16;
  if (<u64>codeBase + <u64>nCode * 8 != <u64>(img + length)) return refuse(LOAD_BAD_SIZE, -1);

  // table declarations
  for (let t: u32 = 0; t < nTables; t++) {
    const d = declBase + t * 24;
    const kind = <u32>load<u8>(d);
    const nKeys = <u32>load<u8>(d, 1);
    const capacity = load<u32>(d, 4);
    if (kind > 3 || nKeys == 0 || nKeys > <u32>LIMIT_KEY_FIELDS || capacity == 0 || capacity > <u32>LIMIT_TABLE_ENTRIES) return refuse(LOAD_BAD_TABLE_DECL, <i32>t);
    let bits: u32 = 0;
    for (let k: u32 = 0; k < nKeys; k++) {
      const f = <i32>load<u16>(d + 8 + k * 2);
      if (f >= FIELD_COUNT) return refuse(LOAD_BAD_TABLE_DECL, <i32>t);
      bits += <u32>unchecked(FIELD_BITS[f]);
    }
    if (bits > <u32>LIMIT_KEY_BITS || (kind == TABLE_LPM && bits > <u32>LIMIT_LPM_KEY_BITS)) return refuse(LOAD_BAD_TABLE_DECL, <i32>t);
    if (kind == TABLE_RANGE && (nKeys != 1 || bits > 64)) return refuse(LOAD_BAD_TABLE_DECL, <i32>t);
  }

  // instructions: structure first, nothing is written until the whole program passes
  let pfxCount: u32 = 0;
  let level: i32 = 0;
  let meta = false;
  let time = false;
  pktSlotsRead = 0;
  let schedState = false;
  let schedQueues = load<u16>(img, 6) == 2; // a scheduler program always gets the queue model (sched.ts)
  for (let i: u32 = 0; i < nCode; i++) {
    const w = codeBase + i * 8;
    const op = <i32>load<u8>(w);
    const off = <u32>load<u16>(w, 2);
    const imm = load<u32>(w, 4);
    const flags = <u32>unchecked(OP_FLAGS[op]);
    if ((flags & OPF_VALID) == 0) return refuse(LOAD_UNKNOWN_OPCODE, <i32>i);
    if (!interpreterImplements(<u32>op) || !internalOpcodesFree) return refuse(LOAD_UNIMPLEMENTED, <i32>i);
    if ((flags & OPF_TARGET) != 0) {
      const target = <i64>i + 1 + <i64><i16>off;
      if (target <= <i64>i || target >= <i64>nCode) return refuse(LOAD_BAD_JUMP, <i32>i);
    }
    if ((flags & OPF_FALLS) != 0 && i == nCode - 1) return refuse(LOAD_FALLS_OFF_END, <i32>i);
    if ((flags & (OPF_FIELD | OPF_WFIELD)) != 0) {
      if (<i32>off >= FIELD_COUNT) return refuse(LOAD_BAD_FIELD, <i32>i);
      const fbits = <i32>unchecked(FIELD_BITS[off]);
      if ((flags & OPF_WFIELD) != 0) {
        if (unchecked(FIELD_WRITABLE[off]) == 0) return refuse(LOAD_BAD_FIELD, <i32>i);
        meta = true;
      } else {
        if (op == OP_LDF_RF && fbits > 64) return refuse(LOAD_BAD_FIELD, <i32>i);
        level = maxI32(level, fieldLevel(<i32>off));
        if (<i32>unchecked(FIELD_SLOT[off]) == F_CT_STATE) setTracking(true); // conntrack.ts runs per packet
      }
      if ((flags & OPF_KPREFIX) != 0) {
        if ((imm & 0xffff) >= nConst || <i32>((imm >> 16) & 0xff) > fbits) return refuse(LOAD_BAD_CONSTANT, <i32>i);
        pfxCount++;
      }
    }
    if ((flags & OPF_TABLE) != 0) {
      if (off >= nTables) return refuse(LOAD_BAD_TABLE, <i32>i);
      const kind = <i32>load<u8>(declBase + off * 24);
      if (kind != op - <i32>OP_LOOKUP_EXACT_RB) return refuse(LOAD_BAD_TABLE, <i32>i);
      const d = declBase + off * 24;
      for (let k: u32 = 0; k < <u32>load<u8>(d, 1); k++) level = maxI32(level, fieldLevel(<i32>load<u16>(d + 8 + k * 2)));
    }
    if ((flags & (OPF_COUNTER | OPF_COUNTERX)) != 0 && imm >= nCounters) return refuse(LOAD_BAD_COUNTER, <i32>i);
    if ((flags & OPF_CONST) != 0 && imm >= nConst) return refuse(LOAD_BAD_CONSTANT, <i32>i);
    if ((flags & OPF_MEM) != 0) {
      if ((off & 0xf) >= MEM_BASE_COUNT) return refuse(LOAD_BAD_MEMORY_BASE, <i32>i);
      if ((off & 0xf) != 0) level = 2;
    }
    if ((flags & OPF_VERDICT) != 0 && !isValidVerdict(imm)) return refuse(LOAD_BAD_VERDICT, <i32>i);
    // an opcode that reads headers without naming a field (fhash) needs the parser
    if ((flags & OPF_HEADERS) != 0 && (flags & (OPF_FIELD | OPF_TABLE | OPF_MEM | OPF_KPREFIX)) == 0) level = 2;
    if (op == <i32>OP_SLD_RRI || op == <i32>OP_SST_RRI) schedState = true;
    if (op >= <i32>OP_QLEN_RR && op <= <i32>OP_QMAXP_RRI) schedQueues = true;
  }

  // layout
  const prog = allocate(<usize>nCode * INSN_BYTES);
  const pfx = allocate(<usize>maxI32(<i32>pfxCount, 1) * PFX_BYTES);
  const counters = allocate(<usize>maxI32(<i32>nCounters, 1) * 16);
  const descs = allocate(<usize>maxI32(<i32>nTables, 1) * TD_BYTES);
  if (prog == 0 || pfx == 0 || counters == 0 || descs == 0) return refuse(LOAD_OUT_OF_MEMORY, -1);
  for (let t: u32 = 0; t < nTables; t++) {
    const d = declBase + t * 24;
    const td = descs + <usize>t * TD_BYTES;
    const kind = <u32>load<u8>(d);
    const nKeys = <u32>load<u8>(d, 1);
    const capacity = load<u32>(d, 4);
    let bits: u32 = 0;
    for (let k: u32 = 0; k < nKeys; k++) bits += <u32>unchecked(FIELD_BITS[<i32>load<u16>(d + 8 + k * 2)]);
    // field positions: the last key field holds the least significant bits
    let pos: u32 = bits;
    for (let k: u32 = 0; k < nKeys; k++) {
      const f = <i32>load<u16>(d + 8 + k * 2);
      const fb = <u32>unchecked(FIELD_BITS[f]);
      pos -= fb;
      const fr = td + TDO_FIELDS + k * 8;
      store<u16>(fr, <u16>unchecked(FIELD_SLOT[f]));
      store<u16>(fr, <u16>fb, 2);
      store<u16>(fr, <u16>pos, 4);
    }
    const kw = (bits + 63) >> 6;
    store<u32>(td, kind, TDO_KIND);
    store<u32>(td, capacity, TDO_CAPACITY);
    store<u32>(td, bits, TDO_KEY_BITS);
    store<u32>(td, kw, TDO_KEY_WORDS);
    store<u32>(td, nKeys, TDO_NFIELDS);
    const bytes = tableStorageBytes(kind, capacity, kw);
    const storage = bytes < 0xf0000000 ? allocate(<usize>bytes) : 0;
    if (storage == 0) return refuse(LOAD_OUT_OF_MEMORY, <i32>t);
    store<u32>(td, storage, TDO_STORAGE);
    tableInit(td);
  }

  // predecode
  let pfxNext = pfx;
  for (let i: u32 = 0; i < nCode; i++) {
    const w = codeBase + i * 8;
    let op = <u32>load<u8>(w);
    const ab = <u32>load<u8>(w, 1);
    const ra = ab & 15;
    const rb = ab >> 4;
    const off = <u32>load<u16>(w, 2);
    const imm = load<u32>(w, 4);
    const flags = <u32>unchecked(OP_FLAGS[op]);
    const p = prog + <usize>i * INSN_BYTES;
    let b = rb;
    let c: u32 = (off & 15) << 3; // rt (ALU register form) or base × 8 (raw loads)
    let d: u32 = 0;
    let k: u64 = <u64>imm;
    if ((flags & OPF_TARGET) != 0) d = <u32>(prog + <usize>(<i32>i + 1 + <i32><i16>off) * INSN_BYTES);
    if ((flags & OPF_MEM) != 0) {
      if ((off & MEM_INDEXED) == 0) b = REG_ZERO;
      // frame-relative loads (most pcap-filter code) get specialised forms that skip the base table
      if ((off & 15) == 0) op = ((off & MEM_INDEXED) != 0 ? OPI_LDB_IDX : OPI_LDB_ABS) + (op - <u32>OP_LDB_RM);
    }
    if ((flags & (OPF_FIELD | OPF_WFIELD)) != 0) {
      const slot = <i32>unchecked(FIELD_SLOT[off]);
      const fbits = <i32>unchecked(FIELD_BITS[off]);
      d = <u32>slotAddr(slot);
      if (op == OP_STF_FR) k = fbits >= 64 ? <u64>-1 : (<u64>1 << <u64>fbits) - 1;
      else if (op == OP_STF_FI) k = fbits >= 64 ? <u64>imm : <u64>imm & ((<u64>1 << <u64>fbits) - 1);
      if (op == OP_PFX_RFP) {
        // compare bits [fbits - prefix, fbits) of the field (as a 128-bit number) with the constant's
        const cst = constBase + (imm & 0xffff) * 16;
        const prefix = <i32>((imm >> 16) & 0xff);
        const from = fbits - prefix;
        const mLo = bitRange(from < 64 ? from : 64, fbits < 64 ? fbits : 64);
        const mHi = bitRange(from > 64 ? from - 64 : 0, fbits > 64 ? fbits - 64 : 0);
        const cHi = bswap<u64>(load<u64>(cst));
        const cLo = bswap<u64>(load<u64>(cst, 8));
        store<u32>(pfxNext, fbits > 64 ? slotAddr(slot) : ZERO16);
        store<u32>(pfxNext, fbits > 64 ? slotAddr(slot + 1) : slotAddr(slot), 4);
        store<u64>(pfxNext, mHi, 16);
        store<u64>(pfxNext, mLo, 24);
        store<u64>(pfxNext, cHi & mHi, 32);
        store<u64>(pfxNext, cLo & mLo, 40);
        d = <u32>pfxNext;
        pfxNext += PFX_BYTES;
      }
    }
    if ((flags & OPF_TABLE) != 0) d = <u32>(descs + <usize>off * TD_BYTES);
    if ((flags & OPF_CONST) != 0 && op == OP_LDK_RK) k = bswap<u64>(load<u64>(constBase + imm * 16, 8));
    if (op == OP_LIMIT_RK) {
      time = true;
      d = <u32>limitBucket(constBase, imm, nConst); // ratelimit.ts: one bucket per constant
      if (d == 0) return refuse(LOAD_OUT_OF_MEMORY, <i32>i);
    }
    if ((flags & (OPF_COUNTER | OPF_COUNTERX)) != 0) {
      d = <u32>(counters + <usize>imm * 8);
      if (op == OP_COUNT_XR) k = <u64>(nCounters - imm); // indexes from 0 to k - 1 are declared
    }
    store<u8>(p, <u8>op);
    store<u8>(p, <u8>(ra << 3), 1);
    store<u8>(p, <u8>(b << 3), 2);
    store<u8>(p, <u8>c, 3);
    store<u32>(p, d, 4);
    store<u64>(p, k, 8);
  }

  fuseProgram(codeBase, nCode, prog, INSN_BYTES); // superinstructions (fuse.ts)
  const clears = readsUnwritten(codeBase, nCode); // liveness.ts

  if (tracking && !allocateTable()) return refuse(LOAD_OUT_OF_MEMORY, -1); // the flow table (conntrack.ts)
  if (schedState && !allocateState()) return refuse(LOAD_OUT_OF_MEMORY, -1); // sched-queues.ts
  if (schedQueues && !allocateQueues()) return refuse(LOAD_OUT_OF_MEMORY, -1);
  progBase = prog;
  insnCount = nCode;
  tableCount = nTables;
  tableDescs = descs;
  counterCount = nCounters;
  counterPackets = counters;
  counterBytes = counters + nCounters * 8;
  headerLevel = level;
  writesMeta = meta;
  usesTime = time;
  clearsRegisters = clears;
  readsOnlyWireLength = level == 1 && pktSlotsRead == <u32>1 << <u32>F_PKT_LEN;
  loaded = true;
  return LOAD_OK;
}
