// Entry points of the overlay VM module (build/overlay-vm.wasm). runtime/vm.ts is the only intended caller;
// runtime/LAYOUT.md documents the memory these functions share with it and with the JIT tier.
import {
  OP_FLAGS, OPF_VALID, VECTOR_SLOTS, OP_SLD_RRI, OP_SST_RRI, OP_MIN_RRR, OP_MAX_RRR, OP_QLEN_RR, OP_QBYTES_RR,
  OP_QHEAD_RR, OP_QTIME_RR, OP_QDROP_RI, OP_QCE_RR, OP_QMAXB_RRI, OP_QMAXP_RRI, OP_FHASH_RR,
} from "./isa.generated";
import { BASES, CTL_KEY, CTL_MASK, LOOKUP_KEY, REGS, VEC } from "./memory-map";
import { STAGE, STAGE_CAPACITY } from "./heap";
import * as loader from "./loader";
import * as interp from "./interp";
import * as ratelimit from "./ratelimit";
import * as conntrack from "./conntrack";
import * as packetInput from "./packet-input";
import * as schedQueues from "./sched-queues";
import * as sched from "./sched";
import { flowHash } from "./sched-hash";
import { parsePacket, resetParser, writeMetadata } from "./parser";
import { TD_BYTES, T_FULL, tableClear, tableCount, tableDelete, tableInsert, tableLookup } from "./tables";

// ---- program -----------------------------------------------------------------------------------------------

/** Where the host writes an image before calling loadProgram, and how large it may be. */
export function stagePointer(): usize {
  return STAGE;
}
export function stageCapacity(): usize {
  return STAGE_CAPACITY;
}

/** Load the staged image of `length` bytes: LOAD_OK (0) or a LOAD_* reason (see loadErrorIndex). */
export function loadProgram(length: u32): i32 {
  ratelimit.beginLoad();
  conntrack.beginLoad();
  schedQueues.beginLoad();
  sched.resetSchedStats();
  const r = loader.loadImage(length);
  resetParser();
  interp.clearMetadata();
  interp.batchCount = 0;
  return r;
}

/** The interpreter gives this opcode a meaning (a program using any other is refused at load time). */
export function implementsOpcode(op: u32): bool {
  return op < 256 && (unchecked(OP_FLAGS[<i32>op]) & OPF_VALID) != 0 && interp.interpreterImplements(op);
}

export function loadErrorIndex(): i32 {
  return loader.loadErrorIndex;
}

export function programLoaded(): bool {
  return loader.loaded;
}

/** The loaded program writes metadata fields (otherwise the mark/class/prio/mirror results are not written). */
export function writesMetadata(): bool {
  return loader.writesMeta;
}

/** 0: the program reads no header field; 1: packet metadata only; 2: the parser runs for every packet. */
export function headerLevel(): i32 {
  return loader.headerLevel;
}

// ---- batches -----------------------------------------------------------------------------------------------

export function prepareBatch(count: u32, frameBytes: u32): usize {
  packetInput.clearSideInput();
  return interp.prepareBatch(count, frameBytes);
}

/** Side input of the prepared batch (owner fields and timestamps, packet-input.ts), placed after `after`. */
export function prepareSideInput(count: u32, after: usize): usize {
  return packetInput.prepareSideInput(count, after);
}

// ---- flow table (conntrack.ts) -------------------------------------------------------------------------------

export function setFlowCapacity(n: u32): bool {
  return conntrack.setFlowCapacity(n);
}
export function flowCapacity(): u32 {
  return conntrack.flowCapacity();
}
export function flowCount(): u32 {
  return conntrack.flowCount();
}
export function flowOverflows(): u64 {
  return conntrack.flowOverflows();
}
export function resetFlowStats(): void {
  conntrack.resetFlowStats();
}

/** Pointers of the prepared batch: 0 descriptors, 1 verdicts, 2 marks, 3 classes, 4 prios, 5 cycles,
 *  6 faults, 7 mirror flags, 8 frames. */
export function batchPointer(which: i32): usize {
  switch (which) {
    case 0: return interp.descBase;
    case 1: return interp.resVerdict;
    case 2: return interp.resMark;
    case 3: return interp.resClass;
    case 4: return interp.resPrio;
    case 5: return interp.resCycles;
    case 6: return interp.resFault;
    case 7: return interp.resMirror;
    case 8: return interp.framesBase;
    default: return 0;
  }
}

export function runBatch(count: u32, linktype: u32, withCycles: bool): bool {
  return interp.runBatch(count, linktype, withCycles);
}

// ---- classic pcap records in the frames area (pcap-records.ts) -------------------------------------------------

export { indexPcapRecords, pcapStop, pcapNext, compactPcapRecords, pcapKept } from "./pcap-records";

/** Parse one frame into the vector and the raw-load bases, exactly as the interpreter does per packet (the JIT
 *  tier imports this, so both tiers share one parser and its per-packet slot clearing). */
export function parseFrame(frame: usize, caplen: u32, wirelen: u32, linktype: u32): void {
  parsePacket(frame, caplen, wirelen, linktype);
}

// JIT tier hooks: the per-packet steps of interp.ts runLoop that touch VM state, and `limit`, so compiled code
// shares the interpreter's side input, flow table and token buckets (runtime/jit/translate.ts calls them).

/** runLoop's beforePacket (side input: time, owner.*, ct.state): at level 2 or when the program uses `limit`. */
export function packetSideInput(i: u32, frame: usize, cap: u32, level: i32): void {
  packetInput.beforePacket(i, frame, cap, level);
}

/** runLoop's step after the program: confirm or forget the flow the packet opened (programs reading ct.state). */
export function packetDone(verdict: u32): void {
  if (conntrack.tracking) conntrack.conntrackAfter(verdict);
}

/** `limit` at instruction `insn` of the loaded program: its token bucket, as the interpreter takes it. */
export function limitAt(insn: u32): u64 {
  if (!loader.loaded || insn >= loader.insnCount) return 0;
  return ratelimit.limitTake(<usize>load<u32>(loader.progBase + <usize>insn * loader.INSN_BYTES, 4));
}

/** The loaded program uses `limit` (runLoop then passes every packet's time through packetSideInput). */
export function usesTime(): bool {
  return loader.usesTime;
}

/** The loaded program reads ct.state (runLoop then tracks flows per packet). */
export function tracksFlows(): bool {
  return conntrack.tracking;
}

/** Parse the first frame of the prepared batch into the vector (for tools and tests), whatever the program. */
export function parseFirstFrame(caplen: u32, wirelen: u32, linktype: u32, port: u32, dir: u32): usize {
  writeMetadata(caplen, wirelen, port, dir, linktype);
  parsePacket(interp.framesBase, caplen, wirelen, linktype);
  interp.clearMetadata();
  return VEC;
}

// ---- counters ----------------------------------------------------------------------------------------------

export function counterCount(): u32 {
  return loader.counterCount;
}
export function counterPackets(): usize {
  return loader.counterPackets;
}
export function counterBytes(): usize {
  return loader.counterBytes;
}
export function resetCounters(): void {
  if (loader.counterCount != 0) memory.fill(loader.counterPackets, 0, <usize>loader.counterCount * 16);
}

// ---- tables ------------------------------------------------------------------------------------------------
// Entry keys are staged at ctlKeyPointer() (and the ternary mask or range hi at ctlMaskPointer()) as u64
// words, least significant first.

export function ctlKeyPointer(): usize {
  return CTL_KEY;
}
export function ctlMaskPointer(): usize {
  return CTL_MASK;
}

function descriptor(table: u32): usize {
  return table < loader.tableCount ? loader.tableDescs + <usize>table * TD_BYTES : 0;
}

/** 0 inserted, 1 value replaced, -1 table full, -2 no such table. */
export function insertEntry(table: u32, value: u32, arg: u32): i32 {
  const td = descriptor(table);
  if (td == 0) return -2;
  const r = tableInsert(td, value, arg);
  return r == T_FULL ? -1 : r;
}

/** 1 deleted, 0 no such entry, -2 no such table. */
export function deleteEntry(table: u32, arg: u32): i32 {
  const td = descriptor(table);
  if (td == 0) return -2;
  return tableDelete(td, arg) ? 1 : 0;
}

export function clearTable(table: u32): bool {
  const td = descriptor(table);
  if (td == 0) return false;
  tableClear(td);
  return true;
}

/** Entries in a table, -1 when there is no such table. */
export function tableSize(table: u32): i32 {
  const td = descriptor(table);
  return td == 0 ? -1 : <i32>tableCount(td);
}

/** The lookup the interpreter does for `lookup.* rd, tN` (for the JIT tier): key from the current vector. */
export function lookup(table: u32): u64 {
  const td = descriptor(table);
  return td == 0 ? 0xffff_ffff_ffff_ffff : tableLookup(td);
}

/** Where the loaded program's table descriptors start (TD_BYTES each): the JIT's inline lookups read them. */
export function tableDescriptors(): usize {
  return loader.tableDescs;
}

// ---- fixed addresses (runtime/LAYOUT.md) -------------------------------------------------------------------

export function vectorPointer(): usize {
  return VEC;
}
export function vectorSlots(): i32 {
  return VECTOR_SLOTS;
}
export function registersPointer(): usize {
  return REGS;
}
export function basesPointer(): usize {
  return BASES;
}
export function lookupKeyPointer(): usize {
  return LOOKUP_KEY;
}

// ---- scheduler (sched.ts, sched-queues.ts; runtime/sched/README.md) ----------------------------------------

/** Sizes of the state memory (words), queues and packet descriptors laid out at the next load. */
export function setSchedSizes(words: u32, queues: u32, packets: u32): bool {
  return schedQueues.setSchedSizes(words, queues, packets);
}

/** The frame area the host writes an arriving packet into before schedEnqueue (room for `bytes`). */
export function schedFramePointer(bytes: u32): usize {
  packetInput.clearSideInput();
  return interp.prepareBatch(1, bytes);
}

export function schedEnqueue(handle: u32, caplen: u32, wirelen: u32, linktype: u32, now: u64, klass: u32, mark: u32, priority: u32): i32 {
  return sched.schedEnqueue(handle, caplen, wirelen, linktype, now, klass, mark, priority);
}

export function schedDequeue(now: u64, linktype: u32): i64 {
  return sched.schedDequeue(now, linktype);
}

/** What the last successful dequeue took: 0 handle, 1 queue, 2 wire length, 3 enqueue time, 4 CE mark. */
export function schedLast(which: i32): u64 {
  switch (which) {
    case 0: return <u64>schedQueues.lastHandle;
    case 1: return <u64>schedQueues.lastQueue;
    case 2: return <u64>schedQueues.lastLen;
    case 3: return schedQueues.lastTime;
    case 4: return <u64>schedQueues.lastCe;
    default: return 0;
  }
}

/** Event statistics (sched.ts schedStat): 0 offered, 1 refused, 2 overflow, 3 faults, 4 overruns, 5 empty pops,
 *  6 dequeue runs, 7 the wake-up time of the last idle dequeue, 8 the queue the last refusal was accounted to,
 *  9 packets qdrop took out of queues. */
export function schedStat(which: i32): u64 {
  return sched.schedStat(which);
}

/** Queue records (sched-queues.ts QREC bytes each), how many, and the state memory. */
export function schedQueuePointer(): usize {
  return schedQueues.queueBase;
}
export function schedQueueCount(): u32 {
  return schedQueues.queueCount;
}
export function schedQueueRecordBytes(): u32 {
  return <u32>schedQueues.QREC;
}
export function schedStatePointer(): usize {
  return schedQueues.stateBase;
}
export function schedStateWords(): u32 {
  return schedQueues.stateWords;
}
export function schedPacketsQueued(): u32 {
  return schedQueues.packetsInUse();
}

/** Handles the queue model dropped since the last clear (u32 each). */
export function schedDropLogPointer(): usize {
  return schedQueues.dropLogPointer();
}
export function schedDropLogCount(): u32 {
  return schedQueues.dropLogCount;
}
export function schedClearDropLog(): void {
  schedQueues.clearDropLog();
}

/** A scheduler instruction at index `insn` of the loaded program, run on register values x (first source) and y
 *  (second source, or the stored value of `sst`): the JIT tier calls this, so both tiers share one queue model,
 *  one state memory and one flow hash. Returns the value written to rd (0 for sst and qdrop). */
export function schedAt(insn: u32, x: u64, y: u64): u64 {
  if (!loader.loaded || insn >= loader.insnCount) return 0;
  const p = loader.progBase + <usize>insn * loader.INSN_BYTES;
  const op = <u32>load<u8>(p);
  const k = load<u64>(p, 8);
  switch (op) {
    case OP_SLD_RRI: return schedQueues.stateLoad(x + k);
    case OP_SST_RRI: schedQueues.stateStore(x + k, y); return 0;
    case OP_MIN_RRR: return x < y ? x : y;
    case OP_MAX_RRR: return x > y ? x : y;
    case OP_QLEN_RR: return schedQueues.queueLen(x);
    case OP_QBYTES_RR: return schedQueues.queueBytes(x);
    case OP_QHEAD_RR: return schedQueues.headLen(x);
    case OP_QTIME_RR: return schedQueues.headTime(x);
    case OP_QDROP_RI: schedQueues.dropPacket(x, k != 0); return 0;
    case OP_QCE_RR: return schedQueues.markHead(x);
    case OP_QMAXB_RRI: return schedQueues.queueMax(x, k, true);
    case OP_QMAXP_RRI: return schedQueues.queueMax(x, k, false);
    case OP_FHASH_RR: return flowHash(x);
    default: return 0;
  }
}
