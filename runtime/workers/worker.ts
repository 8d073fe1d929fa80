/**
 * One data-path worker: its own overlay VM (own memory, tables, counters, flow table) running the pool's
 * program on the interpreter or the JIT over its own queue's ring of each batch (shared-batch.ts): frames in
 * arrival order, copied into its VM a chunk at a time, results written at the frames' arrival indexes.
 */
import { parentPort } from "node:worker_threads";
import { adoptCompiled } from "../jit/compiler.js";
import { JitRunner } from "../jit/runner.js";
import { OverlayVM, type VMExports } from "../vm.js";
import type { InitMessage, RunMessage, WorkerReply, WorkerRequest } from "./protocol.js";
import { SLOT_WORDS } from "./shared-batch.js";

/**
 * Frames per VM call: a chunk of 64-byte frames (512 KiB) stays in the core's L2 cache between the copy into
 * the VM and the run over it.
 */
const CHUNK_PACKETS = 8192;
/** Frame bytes per VM call (the VM's own limit on a batch) */
const CHUNK_BYTES = 64 << 20;
const BATCH = { descriptors: 0, verdicts: 1, marks: 2, classes: 3, prios: 4, cycles: 5, faults: 6, mirror: 7 } as const;

const port = parentPort!;
let vm: OverlayVM;
let x: VMExports;
let jit: JitRunner | undefined;
let init: InitMessage;
let writesMeta = false;

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

function setUp(message: InitMessage): void {
  init = message;
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

/** Per-arrival-index result arrays of a batch. */
interface ResultArrays {
  verdicts: Uint32Array;
  faults: Uint8Array;
  marks: Uint32Array;
  classes: Uint32Array;
  prios: Uint32Array;
  mirror: Uint8Array;
  cycles: Uint32Array;
}

/** Run this worker's ring of the batch, a chunk at a time, in arrival order. */
function run(message: RunMessage): WorkerReply {
  const t0 = performance.now();
  const { batch } = message;
  if (batch.queues !== init.workers) throw new Error(`the batch was received onto ${batch.queues} queue(s); this pool has ${init.workers} workers`);
  if (message.jitCycles) adoptCompiled(message.jitCycles);
  const r = batch.results;
  const out: ResultArrays = {
    verdicts: new Uint32Array(r.verdicts),
    faults: new Uint8Array(r.faults),
    marks: new Uint32Array(r.marks),
    classes: new Uint32Array(r.classes),
    prios: new Uint32Array(r.prios),
    mirror: new Uint8Array(r.mirror),
    cycles: new Uint32Array(r.cycles),
  };
  const index = new Uint32Array(batch.index);
  const owners = batch.owners ? new Uint32Array(batch.owners) : undefined;
  const times = batch.timesUs ? new Float64Array(batch.timesUs) : undefined;
  const from = batch.ringStart[init.queue]!;
  const to = batch.ringStart[init.queue + 1]!;
  for (let s = from; s < to; ) {
    let count = 0;
    let bytes = 0;
    for (; s + count < to && count < CHUNK_PACKETS; count++) {
      const size = (index[SLOT_WORDS * (s + count) + 1]! + 7) & ~7;
      if (count > 0 && bytes + size > CHUNK_BYTES) break;
      bytes += size;
    }
    runChunk(message, s, count, bytes, index, owners, times, out);
    s += count;
  }
  return { type: "done", processed: to - from, counters: vm.counters(), ms: performance.now() - t0 };
}

/** Ring slots [first, first + count), `bytes` of frames back to back: copy in, run, results to arrival indexes. */
function runChunk(message: RunMessage, first: number, count: number, bytes: number, index: Uint32Array, owners: Uint32Array | undefined, times: Float64Array | undefined, out: ResultArrays): void {
  const framesPtr = x.prepareBatch(count, bytes + 8) >>> 0;
  if (framesPtr === 0) throw new Error(`out of VM memory for a batch of ${count} frames (${bytes} bytes)`);
  const buf = x.memory.buffer;
  const start = index[SLOT_WORDS * first]!;
  // the ring's frames are contiguous: one copy for the whole chunk
  new Uint8Array(buf, framesPtr, bytes).set(new Uint8Array(message.batch.bytes, start, bytes));
  const desc = new Uint32Array(buf, x.batchPointer(BATCH.descriptors) >>> 0, count * 4);
  for (let k = 0, s = SLOT_WORDS * first; k < count; k++, s += SLOT_WORDS) {
    desc[4 * k] = index[s]! - start;
    desc[4 * k + 1] = index[s + 1]!;
    desc[4 * k + 2] = index[s + 2]!;
    desc[4 * k + 3] = message.portDir;
  }
  if (owners || times) {
    const side = x.prepareSideInput(count, framesPtr + bytes) >>> 0;
    if (side === 0) throw new Error(`out of VM memory for the side input of ${count} frames`);
    const words = new Uint32Array(x.memory.buffer, side, count * 8);
    const stamps = new BigUint64Array(x.memory.buffer, side, count * 4);
    for (let k = 0; k < count; k++) {
      const s = first + k;
      if (owners) words.set(owners.subarray(6 * s, 6 * s + 6), 8 * k);
      else words.set([0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0], 8 * k);
      stamps[4 * k + 3] = BigInt(Math.max(0, Math.floor(times?.[s] ?? 0)));
    }
  }
  const ran = jit ? jit.runStaged(count, message.batch.linktype, message.cycles) : x.runBatch(count, message.batch.linktype, message.cycles ? 1 : 0) !== 0;
  if (!ran) throw new Error("the worker's VM has no program loaded");
  const res = x.memory.buffer;
  const verdicts = new Uint32Array(res, x.batchPointer(BATCH.verdicts) >>> 0, count);
  const faults = new Uint8Array(res, x.batchPointer(BATCH.faults) >>> 0, count);
  const arrival = SLOT_WORDS * first + 3;
  for (let k = 0; k < count; k++) {
    const i = index[arrival + SLOT_WORDS * k]!;
    out.verdicts[i] = verdicts[k]!;
    out.faults[i] = faults[k]!;
  }
  if (writesMeta) {
    const marks = new Uint32Array(res, x.batchPointer(BATCH.marks) >>> 0, count);
    const classes = new Uint32Array(res, x.batchPointer(BATCH.classes) >>> 0, count);
    const prios = new Uint32Array(res, x.batchPointer(BATCH.prios) >>> 0, count);
    const mirror = new Uint8Array(res, x.batchPointer(BATCH.mirror) >>> 0, count);
    for (let k = 0; k < count; k++) {
      const i = index[arrival + SLOT_WORDS * k]!;
      out.marks[i] = marks[k]!;
      out.classes[i] = classes[k]!;
      out.prios[i] = prios[k]!;
      out.mirror[i] = mirror[k]!;
    }
  }
  if (message.cycles) {
    const cycles = new Uint32Array(res, x.batchPointer(BATCH.cycles) >>> 0, count);
    for (let k = 0; k < count; k++) out.cycles[index[arrival + SLOT_WORDS * k]!] = cycles[k]!;
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
