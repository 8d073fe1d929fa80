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
}

export interface RunMessage {
  type: "run";
  batch: SharedBatchData;
  /** port | dir << 16, as the VM's descriptors hold it */
  portDir: number;
  cycles: boolean;
  /** the cycle-counting JIT variant, the first time a JIT pool counts cycles */
  jitCycles?: CompiledJit;
}

export type ControlMessage = { type: "insert"; table: number; entry: TableEntry } | { type: "delete"; table: number; entry: TableEntry } | { type: "clear"; table: number } | { type: "counters" } | { type: "reset-counters" } | { type: "reload" };

export type WorkerRequest = InitMessage | RunMessage | ControlMessage;

export type WorkerReply =
  | { type: "ready" }
  | { type: "done"; processed: number; counters: { packets: BigUint64Array; bytes: BigUint64Array }; ms: number }
  | { type: "ok"; result?: boolean }
  | { type: "counters"; packets: BigUint64Array; bytes: BigUint64Array }
  | { type: "error"; name: string; message: string };
