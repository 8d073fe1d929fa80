/**
 * One data-path worker: its own overlay VM (own memory, tables, counters, flow table) running the pool's
 * program on the interpreter or the JIT. A run has two phases over the shared batch: steer a slice of it (the
 * flow hash of packets [q·n/N, (q+1)·n/N) → each packet's queue), wait for every worker at a barrier, then run
 * the packets of this worker's queue in input order and write their results in place.
 */
import { parentPort } from "node:worker_threads";
import { adoptCompiled } from "../jit/compiler.js";
import { JitRunner } from "../jit/runner.js";
import { OverlayVM, type VMExports } from "../vm.js";
import type { InitMessage, RunMessage, WorkerReply, WorkerRequest } from "./protocol.js";
import { flowHash, RETA_SIZE } from "./rss.js";

/** Frames per VM call and frame bytes per call (the VM's own chunk limits). */
const CHUNK_PACKETS = 65536;
const CHUNK_BYTES = 64 << 20;
const BATCH = { descriptors: 0, verdicts: 1, marks: 2, classes: 3, prios: 4, cycles: 5, faults: 6, mirror: 7 } as const;

const port = parentPort!;
let vm: OverlayVM;
let x: VMExports;
let jit: JitRunner | undefined;
let init: InitMessage;
let control: Int32Array;
let writesMeta = false;

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

function setUp(message: InitMessage): void {
  init = message;
  control = new Int32Array(message.control);
  vm = OverlayVM.createSync();
  x = vm.wasmExports;
  if (message.flowCapacity !== undefined) vm.setFlowCapacity(message.flowCapacity);
  load();
}

/** Load the pool's program and entries: tables, counters, flow table and token buckets start afresh. */
function load(): void {
  vm.load(init.image);
  for (const { table, entry } of init.entries) vm.insertEntry(table, entry);
  if (init.jit) {
    adoptCompiled(init.jit);
    jit = JitRunner.attach(vm, init.jit);
  }
  writesMeta = x.writesMetadata() !== 0;
}

/** Wait until every worker has reached barrier `slot` of this run. */
function barrier(slot: number, workers: number): void {
  const arrived = Atomics.add(control, slot, 1) + 1;
  if (arrived === workers) {
    Atomics.notify(control, slot);
    return;
  }
  for (let seen = arrived; seen < workers; seen = Atomics.load(control, slot)) Atomics.wait(control, slot, seen);
}

interface ResultArrays {
  verdicts: Uint32Array;
  faults: Uint8Array;
  marks: Uint32Array;
  classes: Uint32Array;
  prios: Uint32Array;
  mirror: Uint8Array;
  cycles: Uint32Array;
}

function views(r: { verdicts: SharedArrayBuffer; faults: SharedArrayBuffer; marks: SharedArrayBuffer; classes: SharedArrayBuffer; prios: SharedArrayBuffer; mirror: SharedArrayBuffer; cycles: SharedArrayBuffer }): ResultArrays {
  return {
    verdicts: new Uint32Array(r.verdicts),
    faults: new Uint8Array(r.faults),
    marks: new Uint32Array(r.marks),
    classes: new Uint32Array(r.classes),
    prios: new Uint32Array(r.prios),
    mirror: new Uint8Array(r.mirror),
    cycles: new Uint32Array(r.cycles),
  };
}

/**
 * A run in three phases. 1: steer slice [q·n/N, (q+1)·n/N) of the batch and count its packets per queue;
 * barrier. 2: run this queue's packets in input order; with one worker the results go straight to the
 * packets' indexes, with several into this queue's own compact region (interleaved writes to the per-packet
 * arrays would bounce cache lines between cores); barrier. 3: copy the compact results of this worker's slice
 * back to the packets' indexes (each worker writes only its own slice).
 */
function run(message: RunMessage): WorkerReply {
  const t0 = performance.now();
  const { batch } = message;
  const n = batch.count;
  const q = init.queue;
  const workers = init.workers;
  if (message.jitCycles) adoptCompiled(message.jitCycles);
  const frameBytes = new Uint8Array(batch.bytes);
  const index = new Uint32Array(batch.index);
  const queues = new Uint8Array(batch.queues);
  const counts = control.subarray(2, 2 + workers * workers);
  const mask = RETA_SIZE - 1;
  const sliceOf = (w: number) => [Math.floor((w * n) / workers), Math.floor(((w + 1) * n) / workers)] as const;

  // phase 1: steer this worker's slice and count it per queue
  const [from, to] = sliceOf(q);
  try {
    const mine = new Int32Array(workers);
    for (let i = from; i < to; i++) {
      const queue = message.reta[flowHash(frameBytes, index[3 * i]!, index[3 * i + 1]!, message.linktype) & mask]!;
      queues[i] = queue;
      mine[queue]!++;
    }
    counts.set(mine, q * workers);
  } finally {
    barrier(0, workers); // even after an error: the other workers are waiting for this slice
  }

  const t1 = performance.now();
  // where each queue's region starts, and where each slice's packets sit in it
  const regionStart = new Int32Array(workers + 1);
  for (let queue = 0; queue < workers; queue++) {
    let total = 0;
    for (let s = 0; s < workers; s++) total += counts[s * workers + queue]!;
    regionStart[queue + 1] = regionStart[queue]! + total;
  }

  const compact = message.compact && workers > 1 ? views(message.compact) : undefined;
  const out = views(batch.results);
  let processed = 0;
  try {
    processed = runQueue(message, frameBytes, index, queues, out, compact, regionStart[q]!);
  } finally {
    if (compact) barrier(1, workers);
  }

  const t2 = performance.now();
  // phase 3: results of this worker's slice back to the packets' indexes
  if (compact) {
    const cursor = new Int32Array(workers);
    for (let queue = 0; queue < workers; queue++) {
      let at = regionStart[queue]!;
      for (let s = 0; s < q; s++) at += counts[s * workers + queue]!;
      cursor[queue] = at;
    }
    const meta = writesMeta;
    const cycles = message.cycles;
    for (let i = from; i < to; i++) {
      const k = cursor[queues[i]!]!++;
      out.verdicts[i] = compact.verdicts[k]!;
      out.faults[i] = compact.faults[k]!;
      if (meta) {
        out.marks[i] = compact.marks[k]!;
        out.classes[i] = compact.classes[k]!;
        out.prios[i] = compact.prios[k]!;
        out.mirror[i] = compact.mirror[k]!;
      }
      if (cycles) out.cycles[i] = compact.cycles[k]!;
    }
  }
  const t3 = performance.now();
  return { type: "done", processed, counters: vm.counters(), ms: t3 - t0, phaseMs: [t1 - t0, t2 - t1, t3 - t2] };
}

/** Phase 2: this queue's packets in input order, a VM batch at a time. Returns how many ran. */
function runQueue(message: RunMessage, frameBytes: Uint8Array, index: Uint32Array, queues: Uint8Array, out: ResultArrays, compact: ResultArrays | undefined, regionStart: number): number {
  const { batch } = message;
  const n = batch.count;
  const q = init.queue;
  const owners = batch.owners ? new Uint32Array(batch.owners) : undefined;
  const times = batch.timesUs ? new Float64Array(batch.timesUs) : undefined;
  const frameWords = new Int32Array(frameBytes.buffer);
  const picked = new Int32Array(CHUNK_PACKETS);
  let processed = 0;
  let i = 0;
  while (i < n) {
    let count = 0;
    let bytes = 0;
    for (; i < n && count < CHUNK_PACKETS; i++) {
      if (queues[i] !== q) continue;
      const size = (index[3 * i + 1]! + 7) & ~7;
      if (count > 0 && bytes + size > CHUNK_BYTES) break;
      picked[count++] = i;
      bytes += size;
    }
    if (count === 0) continue;
    // with a compact region, results go to regionStart + processed … in order; else to the packets' indexes
    runChunk(message, picked, count, bytes, frameWords, index, owners, times, compact ?? out, compact ? regionStart + processed : -1);
    processed += count;
  }
  return processed;
}

function runChunk(
  message: RunMessage,
  picked: Int32Array,
  count: number,
  bytes: number,
  src: Int32Array,
  index: Uint32Array,
  owners: Uint32Array | undefined,
  times: Float64Array | undefined,
  out: ResultArrays,
  /** -1: write results at the packets' indexes; else at base + k for the chunk's k-th packet */
  base: number,
): void {
  const framesPtr = x.prepareBatch(count, bytes + 8) >>> 0;
  if (framesPtr === 0) throw new Error(`out of VM memory for a batch of ${count} frames (${bytes} bytes)`);
  const buf = x.memory.buffer;
  const dst = new Int32Array(buf);
  const desc = new Uint32Array(buf, x.batchPointer(BATCH.descriptors) >>> 0, count * 4);
  let at = 0;
  for (let k = 0; k < count; ) {
    // a run of consecutive packets is one contiguous block on both sides (frames sit 8-byte aligned, back to
    // back): long runs are copied in one go, short ones word by word
    let end = k + 1;
    while (end < count && picked[end] === picked[end - 1]! + 1) end++;
    const first = index[3 * picked[k]!]!;
    const last = picked[end - 1]!;
    const runBytes = index[3 * last]! + ((index[3 * last + 1]! + 7) & ~7) - first;
    if (end - k >= 8) new Uint8Array(buf).set(new Uint8Array(src.buffer, first, runBytes), framesPtr + at);
    else {
      // unrolled: the loads of a frame then miss the cache together, not one after another
      const s = first >> 2;
      const d = (framesPtr + at) >> 2;
      const words = runBytes >> 2;
      let w = 0;
      for (; w + 4 <= words; w += 4) {
        const a0 = src[s + w]!;
        const a1 = src[s + w + 1]!;
        const a2 = src[s + w + 2]!;
        const a3 = src[s + w + 3]!;
        dst[d + w] = a0;
        dst[d + w + 1] = a1;
        dst[d + w + 2] = a2;
        dst[d + w + 3] = a3;
      }
      for (; w < words; w++) dst[d + w] = src[s + w]!;
    }
    for (; k < end; k++) {
      const i = picked[k]!;
      const cap = index[3 * i + 1]!;
      desc[4 * k] = at;
      desc[4 * k + 1] = cap;
      desc[4 * k + 2] = index[3 * i + 2]!;
      desc[4 * k + 3] = message.portDir;
      at += (cap + 7) & ~7;
    }
  }
  if (owners || times) {
    const side = x.prepareSideInput(count, framesPtr + at) >>> 0;
    if (side === 0) throw new Error(`out of VM memory for the side input of ${count} frames`);
    const words = new Uint32Array(x.memory.buffer, side, count * 8);
    const stamps = new BigUint64Array(x.memory.buffer, side, count * 4);
    for (let k = 0; k < count; k++) {
      const i = picked[k]!;
      if (owners) words.set(owners.subarray(6 * i, 6 * i + 6), 8 * k);
      else words.set([0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0], 8 * k);
      stamps[4 * k + 3] = BigInt(Math.max(0, Math.floor(times?.[i] ?? 0)));
    }
  }
  const ran = jit ? jit.runStaged(count, message.linktype, message.cycles) : x.runBatch(count, message.linktype, message.cycles ? 1 : 0) !== 0;
  if (!ran) throw new Error("the worker's VM has no program loaded");
  const res = x.memory.buffer;
  const verdicts = new Uint32Array(res, x.batchPointer(BATCH.verdicts) >>> 0, count);
  const faults = new Uint8Array(res, x.batchPointer(BATCH.faults) >>> 0, count);
  for (let k = 0; k < count; k++) {
    const i = base < 0 ? picked[k]! : base + k;
    out.verdicts[i] = verdicts[k]!;
    out.faults[i] = faults[k]!;
  }
  if (writesMeta) {
    const marks = new Uint32Array(res, x.batchPointer(BATCH.marks) >>> 0, count);
    const classes = new Uint32Array(res, x.batchPointer(BATCH.classes) >>> 0, count);
    const prios = new Uint32Array(res, x.batchPointer(BATCH.prios) >>> 0, count);
    const mirror = new Uint8Array(res, x.batchPointer(BATCH.mirror) >>> 0, count);
    for (let k = 0; k < count; k++) {
      const i = base < 0 ? picked[k]! : base + k;
      out.marks[i] = marks[k]!;
      out.classes[i] = classes[k]!;
      out.prios[i] = prios[k]!;
      out.mirror[i] = mirror[k]!;
    }
  }
  if (message.cycles) {
    const cycles = new Uint32Array(res, x.batchPointer(BATCH.cycles) >>> 0, count);
    for (let k = 0; k < count; k++) out.cycles[base < 0 ? picked[k]! : base + k] = cycles[k]!;
  }
}

function handle(message: WorkerRequest): WorkerReply {
  switch (message.type) {
    case "init":
      setUp(message);
      return { type: "ready" };
    case "run":
      return run(message);
    case "insert":
      vm.insertEntry(message.table, message.entry);
      return { type: "ok" };
    case "delete":
      return { type: "ok", result: vm.deleteEntry(message.table, message.entry) };
    case "clear":
      vm.clearTable(message.table);
      return { type: "ok" };
    case "counters": {
      const c = vm.counters();
      return { type: "counters", packets: c.packets, bytes: c.bytes };
    }
    case "reset-counters":
      vm.resetCounters();
      return { type: "ok" };
    case "reload":
      load();
      return { type: "ok" };
  }
}

port.on("message", (message: WorkerRequest) => {
  try {
    reply(handle(message));
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    reply({ type: "error", name: err.name, message: err.message });
  }
});
