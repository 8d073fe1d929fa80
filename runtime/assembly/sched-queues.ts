// The scheduler's queue model (runtime/sched/README.md): a fixed number of queues, each a PIFO — packets kept
// in increasing rank order, first in first out among equal ranks — over one bounded pool of packet
// descriptors, plus the scheduler state memory that `sld`/`sst` address. Both are laid out when a program that
// uses them is loaded (loader.ts), with the sizes the host configured (setSchedSizes), and start empty.
//
// Only descriptors are queued (handle, wire length, enqueue time, rank, ECN bits): the host keeps the frames.
// Every packet that leaves a queue — sent by a dequeue, or dropped by `qdrop` — is accounted to that queue, and
// dropped handles are logged so the host can tell its sources which packets were lost.
import { allocate } from "./heap";
import { LIMIT_SCHED_STATE_WORDS, LIMIT_SCHED_QUEUES } from "./isa.generated";

// queue record (QREC bytes)
const Q_HEAD = 0; // u32 descriptor index + 1, 0 when empty
const Q_TAIL = 4;
const Q_PACKETS = 8; // u32
const Q_BYTES = 16; // u64
const Q_ENQ_PACKETS = 24; // u64 packets admitted
const Q_ENQ_BYTES = 32;
const Q_SENT_PACKETS = 40;
const Q_SENT_BYTES = 48;
const Q_DROP_PACKETS = 56; // dropped from the queue (qdrop) or refused on the way in (attributed by meta.class)
const Q_DROP_BYTES = 64;
const Q_ECN_MARKS = 72;
export const QREC: usize = 80;

// descriptor (DREC bytes)
const D_NEXT = 0; // u32 index + 1 toward the tail, 0 none
const D_PREV = 4; // u32 index + 1 toward the head
const D_HANDLE = 8;
const D_LEN = 12;
const D_TIME = 16; // u64 ns
const D_RANK = 24; // u32
const D_ECN = 28; // u8 the packet's ECN bits (IP), 0 not ECN-capable
const D_IS_IP = 29; // u8 1 when ECN bits apply
export const DREC: usize = 32;

// configured sizes (effective at the next load) and the laid-out ones
let wantStateWords: u32 = 4096;
let wantQueues: u32 = 64;
let wantPackets: u32 = 4096;

export let stateBase: usize = 0;
export let stateWords: u32 = 0;
export let queueBase: usize = 0;
export let queueCount: u32 = 0;
let descBase: usize = 0;
let descCount: u32 = 0;
let freeHead: u32 = 0; // index + 1
let dropLogBase: usize = 0;
export let dropLogCount: u32 = 0;
let dropLogCapacity: u32 = 0;
let inUse: u32 = 0;
/** packets `qdrop` took out of queues since the load */
export let droppedFromQueues: u64 = 0;

// what the last pop took off a queue (sched.ts reports it to the host)
export let lastHandle: u32 = 0;
export let lastLen: u32 = 0;
export let lastTime: u64 = 0;
export let lastQueue: u32 = 0;
export let lastCe: u32 = 0;

/** Sizes laid out at the next program load: state words, queues, packet descriptors. False when out of range. */
export function setSchedSizes(words: u32, queues: u32, packets: u32): bool {
  if (words > <u32>LIMIT_SCHED_STATE_WORDS || queues == 0 || queues > <u32>LIMIT_SCHED_QUEUES || packets == 0 || packets > (1 << 24)) return false;
  wantStateWords = words;
  wantQueues = queues;
  wantPackets = packets;
  return true;
}

/** Forget the previous program's state and queues (its memory is being reused by the load). */
export function beginLoad(): void {
  stateBase = 0;
  stateWords = 0;
  queueBase = 0;
  queueCount = 0;
  descBase = 0;
  descCount = 0;
  freeHead = 0;
  dropLogBase = 0;
  dropLogCount = 0;
  dropLogCapacity = 0;
  inUse = 0;
  droppedFromQueues = 0;
}

/** Lay out the state memory (zeroed); false when out of memory. */
export function allocateState(): bool {
  if (wantStateWords == 0) return true;
  stateBase = allocate(<usize>wantStateWords << 3);
  if (stateBase == 0) return false;
  stateWords = wantStateWords;
  return true;
}

/** Lay out empty queues, the descriptor pool (all free) and the drop log; false when out of memory. */
export function allocateQueues(): bool {
  queueBase = allocate(<usize>wantQueues * QREC);
  descBase = allocate(<usize>wantPackets * DREC);
  dropLogBase = allocate((<usize>wantPackets + 1) << 2);
  if (queueBase == 0 || descBase == 0 || dropLogBase == 0) return false;
  queueCount = wantQueues;
  descCount = wantPackets;
  dropLogCapacity = wantPackets + 1;
  for (let i: u32 = 0; i < descCount; i++) store<u32>(desc(i), i + 2 <= descCount ? i + 2 : 0, D_NEXT);
  freeHead = 1;
  return true;
}

// @ts-ignore: decorator
@inline function desc(i: u32): usize {
  return descBase + <usize>i * DREC;
}

// @ts-ignore: decorator
@inline function queue(q: u32): usize {
  return queueBase + <usize>q * QREC;
}

// ---- state memory ----------------------------------------------------------------------------------------

export function stateLoad(index: u64): u64 {
  return index < <u64>stateWords ? load<u64>(stateBase + (<usize>index << 3)) : 0;
}

export function stateStore(index: u64, value: u64): void {
  if (index < <u64>stateWords) store<u64>(stateBase + (<usize>index << 3), value);
}

// ---- reading queues (qlen, qbytes, qhead, qtime, qmaxb, qmaxp) -------------------------------------------

export function queueLen(q: u64): u64 {
  return q < <u64>queueCount ? <u64>load<u32>(queue(<u32>q), Q_PACKETS) : 0;
}

export function queueBytes(q: u64): u64 {
  return q < <u64>queueCount ? load<u64>(queue(<u32>q), Q_BYTES) : 0;
}

export function headLen(q: u64): u64 {
  if (q >= <u64>queueCount) return 0;
  const h = load<u32>(queue(<u32>q), Q_HEAD);
  return h == 0 ? 0 : <u64>load<u32>(desc(h - 1), D_LEN);
}

export function headTime(q: u64): u64 {
  if (q >= <u64>queueCount) return 0;
  const h = load<u32>(queue(<u32>q), Q_HEAD);
  return h == 0 ? 0 : load<u64>(desc(h - 1), D_TIME);
}

/** The queue among [first, first + n) with the most bytes (byBytes) or packets; the lowest on ties. */
export function queueMax(first: u64, n: u64, byBytes: bool): u64 {
  let best = first;
  let most: u64 = 0;
  const end = first + n < <u64>queueCount ? first + n : <u64>queueCount;
  for (let q = first; q < end; q++) {
    const r = queue(<u32>q);
    const v = byBytes ? load<u64>(r, Q_BYTES) : <u64>load<u32>(r, Q_PACKETS);
    if (v > most) {
      most = v;
      best = q;
    }
  }
  return best;
}

// ---- changing queues -------------------------------------------------------------------------------------

/** Room for one more packet? */
export function poolHasRoom(): bool {
  return freeHead != 0;
}

/**
 * Put a packet into queue q at its rank: after every packet of a lower or equal rank (a PIFO; FIFO when every
 * rank is equal). Returns false when q is not a queue or the descriptor pool is exhausted (the caller drops).
 */
export function enqueuePacket(q: u32, handle: u32, len: u32, time: u64, rank: u32, ecn: u32, isIp: bool): bool {
  if (q >= queueCount || freeHead == 0) return false;
  const di = freeHead - 1;
  const d = desc(di);
  freeHead = load<u32>(d, D_NEXT);
  inUse++;
  store<u32>(d, handle, D_HANDLE);
  store<u32>(d, len, D_LEN);
  store<u64>(d, time, D_TIME);
  store<u32>(d, rank, D_RANK);
  store<u8>(d, <u8>ecn, D_ECN);
  store<u8>(d, isIp ? 1 : 0, D_IS_IP);
  const r = queue(q);
  // walk back from the tail past packets of a higher rank (O(1) when ranks do not decrease)
  let after = load<u32>(r, Q_TAIL);
  while (after != 0 && load<u32>(desc(after - 1), D_RANK) > rank) after = load<u32>(desc(after - 1), D_PREV);
  const me = di + 1;
  if (after == 0) {
    const oldHead = load<u32>(r, Q_HEAD);
    store<u32>(d, oldHead, D_NEXT);
    store<u32>(d, 0, D_PREV);
    if (oldHead != 0) store<u32>(desc(oldHead - 1), me, D_PREV);
    else store<u32>(r, me, Q_TAIL);
    store<u32>(r, me, Q_HEAD);
  } else {
    const next = load<u32>(desc(after - 1), D_NEXT);
    store<u32>(d, next, D_NEXT);
    store<u32>(d, after, D_PREV);
    store<u32>(desc(after - 1), me, D_NEXT);
    if (next != 0) store<u32>(desc(next - 1), me, D_PREV);
    else store<u32>(r, me, Q_TAIL);
  }
  store<u32>(r, load<u32>(r, Q_PACKETS) + 1, Q_PACKETS);
  store<u64>(r, load<u64>(r, Q_BYTES) + <u64>len, Q_BYTES);
  store<u64>(r, load<u64>(r, Q_ENQ_PACKETS) + 1, Q_ENQ_PACKETS);
  store<u64>(r, load<u64>(r, Q_ENQ_BYTES) + <u64>len, Q_ENQ_BYTES);
  return true;
}

/** Unlink descriptor `me` (index + 1) from queue record r and return it to the pool. */
function unlink(r: usize, me: u32): void {
  const d = desc(me - 1);
  const next = load<u32>(d, D_NEXT);
  const prev = load<u32>(d, D_PREV);
  if (prev != 0) store<u32>(desc(prev - 1), next, D_NEXT);
  else store<u32>(r, next, Q_HEAD);
  if (next != 0) store<u32>(desc(next - 1), prev, D_PREV);
  else store<u32>(r, prev, Q_TAIL);
  const len = load<u32>(d, D_LEN);
  store<u32>(r, load<u32>(r, Q_PACKETS) - 1, Q_PACKETS);
  store<u64>(r, load<u64>(r, Q_BYTES) - <u64>len, Q_BYTES);
  store<u32>(d, freeHead, D_NEXT);
  freeHead = me;
  inUse--;
}

/** Take the head of queue q for the link; false when q is empty or not a queue. Sets last*. */
export function popHead(q: u32): bool {
  if (q >= queueCount) return false;
  const r = queue(q);
  const h = load<u32>(r, Q_HEAD);
  if (h == 0) return false;
  const d = desc(h - 1);
  lastHandle = load<u32>(d, D_HANDLE);
  lastLen = load<u32>(d, D_LEN);
  lastTime = load<u64>(d, D_TIME);
  lastQueue = q;
  lastCe = load<u8>(d, D_IS_IP) != 0 && load<u8>(d, D_ECN) == 3 ? 1 : 0;
  unlink(r, h);
  store<u64>(r, load<u64>(r, Q_SENT_PACKETS) + 1, Q_SENT_PACKETS);
  store<u64>(r, load<u64>(r, Q_SENT_BYTES) + <u64>lastLen, Q_SENT_BYTES);
  return true;
}

function logDrop(handle: u32): void {
  if (dropLogCount < dropLogCapacity) {
    store<u32>(dropLogBase + (<usize>dropLogCount << 2), handle);
    dropLogCount++;
  }
}

/** `qdrop`: drop the head (tail = false) or tail packet of queue q, counted and logged. */
export function dropPacket(q: u64, tail: bool): void {
  if (q >= <u64>queueCount) return;
  const r = queue(<u32>q);
  const which = tail ? load<u32>(r, Q_TAIL) : load<u32>(r, Q_HEAD);
  if (which == 0) return;
  const d = desc(which - 1);
  const len = load<u32>(d, D_LEN);
  logDrop(load<u32>(d, D_HANDLE));
  unlink(r, which);
  droppedFromQueues++;
  store<u64>(r, load<u64>(r, Q_DROP_PACKETS) + 1, Q_DROP_PACKETS);
  store<u64>(r, load<u64>(r, Q_DROP_BYTES) + <u64>len, Q_DROP_BYTES);
}

/** A packet refused on the way in, attributed to queue q when q names one. */
export function countRefused(q: u32, handle: u32, len: u32): void {
  logDrop(handle);
  if (q >= queueCount) return;
  const r = queue(q);
  store<u64>(r, load<u64>(r, Q_DROP_PACKETS) + 1, Q_DROP_PACKETS);
  store<u64>(r, load<u64>(r, Q_DROP_BYTES) + <u64>len, Q_DROP_BYTES);
}

/** `qce`: mark the head packet of queue q CE if it is ECN-capable; 1 when marked. */
export function markHead(q: u64): u64 {
  if (q >= <u64>queueCount) return 0;
  const r = queue(<u32>q);
  const h = load<u32>(r, Q_HEAD);
  if (h == 0) return 0;
  const d = desc(h - 1);
  if (load<u8>(d, D_IS_IP) == 0 || load<u8>(d, D_ECN) == 0) return 0;
  store<u8>(d, 3, D_ECN);
  store<u64>(r, load<u64>(r, Q_ECN_MARKS) + 1, Q_ECN_MARKS);
  return 1;
}

// ---- host access -----------------------------------------------------------------------------------------

export function packetsInUse(): u32 {
  return inUse;
}

export function dropLogPointer(): usize {
  return dropLogBase;
}

export function clearDropLog(): void {
  dropLogCount = 0;
}
