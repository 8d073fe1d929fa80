/** Messages between a data-path pool (pool.ts) and its workers (worker.ts). */
import type { ProgramImage } from "../../overlay-isa/index.js";
import type { CompiledJit } from "../jit/compiler.js";
import type { TableEntry } from "../vm.js";
import type { SharedBatchData } from "./shared-batch.js";

export interface InitMessage {
  type: "init";
  /** this worker's queue number, and how many workers share the batches */
  queue: number;
  workers: number;
  image: ProgramImage;
  entries: { table: number; entry: TableEntry }[];
  /** the plain JIT variant when the pool runs on the JIT tier */
  jit?: CompiledJit;
  flowCapacity?: number;
  /**
   * Int32Array: [0] workers past steering, [1] workers past running (the two barriers of a run), then from
   * [2] the per-slice queue counts, slice × workers + queue
   */
  control: SharedArrayBuffer;
}

export interface RunMessage {
  type: "run";
  batch: SharedBatchData;
  linktype: number;
  /** port | dir << 16, as the VM's descriptors hold it */
  portDir: number;
  cycles: boolean;
  /** the cycle-counting JIT variant, the first time a JIT pool counts cycles */
  jitCycles?: CompiledJit;
  reta: Uint8Array;
  /** results in queue order, one region per queue (with more than one worker: see worker.ts) */
  compact?: CompactResults;
}

/** Per-queue result regions: a worker writes its own region contiguously, never a cache line another writes. */
export interface CompactResults {
  verdicts: SharedArrayBuffer;
  faults: SharedArrayBuffer;
  marks: SharedArrayBuffer;
  classes: SharedArrayBuffer;
  prios: SharedArrayBuffer;
  mirror: SharedArrayBuffer;
  cycles: SharedArrayBuffer;
}

export type ControlMessage = { type: "insert"; table: number; entry: TableEntry } | { type: "delete"; table: number; entry: TableEntry } | { type: "clear"; table: number } | { type: "counters" } | { type: "reset-counters" } | { type: "reload" };

export type WorkerRequest = InitMessage | RunMessage | ControlMessage;

export type WorkerReply =
  | { type: "ready" }
  | { type: "done"; processed: number; counters: { packets: BigUint64Array; bytes: BigUint64Array }; ms: number; phaseMs: [steer: number, run: number, gather: number] }
  | { type: "ok"; result?: boolean }
  | { type: "counters"; packets: BigUint64Array; bytes: BigUint64Array }
  | { type: "error"; name: string; message: string };
