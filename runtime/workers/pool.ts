/**
 * The data path on N worker threads, as a multi-queue NIC runs it: each worker owns an overlay VM with the same
 * program and table entries (the control plane writes every entry to every worker, as the NIC replicates its
 * tables); `receive` is the NIC's RX stage, which hashes every frame's flow (rss.ts, symmetric: both directions
 * meet) and appends it to its queue's ring in shared memory; `run` has each worker run its own ring in arrival
 * order. Results land at each packet's arrival index; counters are the sum of the workers' counters, exact
 * because every packet is counted by exactly one worker.
 *
 * Programs that use `limit` are refused with more than one worker: a token bucket split over workers would
 * pass N times the rate — a different answer, which the data path never gives silently.
 */
import type { Worker } from "node:worker_threads";
import type { ProgramImage } from "../../overlay-isa/index.js";
import { compileJit, type CompiledJit } from "../jit/compiler.js";
import { planProgram } from "../jit/plan.js";
import { siblingModule, spawnModuleWorker } from "../jit/spawn-worker.js";
import { VMError } from "../errors.js";
import { OverlayVM, type TableEntry } from "../vm.js";
import type { InitMessage, RunMessage, WorkerReply, WorkerRequest } from "./protocol.js";
import { indirectionTable } from "./rss.js";
import { SharedBatch, type SharedBatchInit } from "./shared-batch.js";
import { vmLayout } from "../jit/runner.js";

export { SharedBatch, type SharedBatchInit, type Steering } from "./shared-batch.js";
export { flowHash, indirectionTable } from "./rss.js";

export interface PoolOptions {
  workers: number;
  image: ProgramImage;
  /** engine of every worker (default "jit") */
  tier?: "interpreter" | "jit";
  /** table entries to write before the first batch */
  entries?: readonly { table: number; entry: TableEntry }[];
  /** flow-table capacity of each worker (runtime/vm.ts setFlowCapacity) */
  flowCapacity?: number;
}

export interface PoolRunOptions {
  port?: number;
  dir?: 0 | 1;
  cycles?: boolean;
}

/** Results of one run: views of the batch's shared arrays, valid until the batch runs again. */
export interface PoolResult {
  verdicts: Uint32Array;
  faults: Uint8Array;
  marks: Uint32Array;
  classes: Uint32Array;
  prios: Uint32Array;
  mirror: Uint8Array;
  cycles?: Uint32Array;
  /** the worker (queue) each packet ran on */
  queues: Uint8Array;
  /** packets each worker ran */
  perWorker: number[];
  /** each worker's time in ms for its ring */
  workerMs: number[];
  /** the counters of this run's workers, summed (cumulative since the last resetCounters) */
  counters: { packets: BigUint64Array; bytes: BigUint64Array };
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

class WorkerHandle {
  private readonly queue: Pending[] = [];
  private dead: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on("message", (reply: WorkerReply) => this.queue.shift()?.resolve(reply));
    worker.on("error", (e) => this.fail(e));
    worker.on("exit", (code) => this.fail(new VMError(`a data-path worker exited (code ${code})`)));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  /** Send a request; the worker answers requests in order. */
  request(message: WorkerRequest): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<WorkerReply>((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.worker.postMessage(message);
    }).then((reply) => {
      if (reply.type === "error") throw new VMError(`data-path worker: ${reply.message}`);
      return reply;
    });
  }
}

export class DataPathPool {
  /** the RX stage's indirection table: hash → queue (worker) */
  readonly reta: Uint8Array;
  private jitCycles: CompiledJit | undefined;
  private cyclesSent = false;
  private closed = false;
  private readonly metaDirty = new WeakSet<SharedBatch>();

  private constructor(
    private readonly handles: WorkerHandle[],
    readonly image: ProgramImage,
    readonly tier: "interpreter" | "jit",
    private readonly writesMeta: boolean,
    workers: number,
  ) {
    this.reta = indirectionTable(workers);
  }

  get workers(): number {
    return this.handles.length;
  }

  /** Start the workers, load the program and entries into each, and (JIT tier) compile the program once. */
  static async create(options: PoolOptions): Promise<DataPathPool> {
    const n = options.workers;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new VMError(`workers must be an integer from 1 to 64, got ${n}`);
    const tier = options.tier ?? "jit";
    // check the program here, once, with the main thread's VM: clear errors before any worker starts
    const probe = OverlayVM.createSync();
    probe.load(options.image);
    for (const { table, entry } of options.entries ?? []) probe.insertEntry(table, entry);
    const plan = planProgram(options.image);
    if (plan.usesTime && n > 1) throw new VMError("the program uses `limit` (token buckets): a bucket cannot be split over workers without passing more than its rate; run it with one worker");
    if (plan.usesSched && n > 1) throw new VMError("the program uses scheduler instructions (state memory, queues): they belong to one core; run it with one worker");
    const jit = tier === "jit" ? compileJit(options.image, vmLayout(probe)) : undefined;
    const handles: WorkerHandle[] = [];
    const pool = new DataPathPool(handles, options.image, tier, plan.writesMeta, n);
    try {
      for (let q = 0; q < n; q++) handles.push(new WorkerHandle(spawnModuleWorker(siblingModule(import.meta.url, "worker"))));
      const init = (queue: number): InitMessage => ({
        type: "init",
        queue,
        workers: n,
        image: options.image,
        entries: [...(options.entries ?? [])],
        ...(jit ? { jit } : {}),
        ...(options.flowCapacity !== undefined ? { flowCapacity: options.flowCapacity } : {}),
      });
      await Promise.all(handles.map((h, q) => h.request(init(q))));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /**
   * The RX stage: frames onto this pool's queues (one ring per worker) by the flow hash of each; `recycle`
   * reuses a finished batch's shared memory (SharedBatch.from).
   */
  receive(init: SharedBatchInit, recycle?: SharedBatch): SharedBatch {
    return SharedBatch.from(init, { queues: this.handles.length, reta: this.reta }, recycle);
  }

  /** Run a received batch: each worker its own ring, results at the packets' arrival indexes. */
  async run(batch: SharedBatch, options: PoolRunOptions = {}): Promise<PoolResult> {
    if (this.closed) throw new VMError("the pool is closed");
    if (batch.queues !== this.handles.length) throw new VMError(`the batch was received onto ${batch.queues} queue(s) but the pool has ${this.handles.length} workers: receive it with this pool's receive()`);
    const port = options.port ?? 0;
    const dir = options.dir ?? 0;
    const cycles = options.cycles === true;
    if (cycles && this.tier === "jit" && !this.jitCycles) this.jitCycles = compileJit(this.image, vmLayout(OverlayVM.createSync()), { cycles: true });
    const data = batch.data;
    const r = data.results;
    const n = data.count;
    if (!this.writesMeta && this.metaDirty.has(batch)) {
      for (const a of [new Uint32Array(r.marks, 0, n), new Uint32Array(r.classes, 0, n), new Uint32Array(r.prios, 0, n), new Uint8Array(r.mirror, 0, n)]) a.fill(0);
      this.metaDirty.delete(batch);
    }
    const message: RunMessage = {
      type: "run",
      batch: data,
      portDir: port | (dir << 16),
      cycles,
      ...(cycles && this.jitCycles && !this.cyclesSent ? { jitCycles: this.jitCycles } : {}),
    };
    if (message.jitCycles) this.cyclesSent = true;
    const replies = await Promise.all(this.handles.map((h) => h.request(message)));
    if (this.writesMeta) this.metaDirty.add(batch);
    const perWorker: number[] = [];
    const workerMs: number[] = [];
    const packets = new BigUint64Array(this.image.counters);
    const bytes = new BigUint64Array(this.image.counters);
    for (const reply of replies) {
      if (reply.type !== "done") throw new VMError(`data-path worker: unexpected reply ${reply.type}`);
      perWorker.push(reply.processed);
      workerMs.push(reply.ms);
      for (let c = 0; c < packets.length; c++) {
        packets[c] = BigInt.asUintN(64, packets[c]! + reply.counters.packets[c]!);
        bytes[c] = BigInt.asUintN(64, bytes[c]! + reply.counters.bytes[c]!);
      }
    }
    return {
      verdicts: new Uint32Array(r.verdicts, 0, n),
      faults: new Uint8Array(r.faults, 0, n),
      marks: new Uint32Array(r.marks, 0, n),
      classes: new Uint32Array(r.classes, 0, n),
      prios: new Uint32Array(r.prios, 0, n),
      mirror: new Uint8Array(r.mirror, 0, n),
      ...(cycles ? { cycles: new Uint32Array(r.cycles, 0, n) } : {}),
      queues: new Uint8Array(data.queueOf, 0, n),
      perWorker,
      workerMs,
      counters: { packets, bytes },
    };
  }

  private async everyWorker(message: WorkerRequest): Promise<WorkerReply[]> {
    if (this.closed) throw new VMError("the pool is closed");
    return Promise.all(this.handles.map((h) => h.request(message)));
  }

  /** Write a table entry to every worker's VM. */
  async insertEntry(table: number, entry: TableEntry): Promise<void> {
    await this.everyWorker({ type: "insert", table, entry });
  }

  async deleteEntry(table: number, entry: TableEntry): Promise<boolean> {
    const replies = await this.everyWorker({ type: "delete", table, entry });
    return replies.every((r) => r.type === "ok" && r.result === true);
  }

  async clearTable(table: number): Promise<void> {
    await this.everyWorker({ type: "clear", table });
  }

  /** Counters summed over the workers. */
  async counters(): Promise<{ packets: BigUint64Array; bytes: BigUint64Array }> {
    const replies = await this.everyWorker({ type: "counters" });
    const packets = new BigUint64Array(this.image.counters);
    const bytes = new BigUint64Array(this.image.counters);
    for (const r of replies) {
      if (r.type !== "counters") continue;
      for (let c = 0; c < packets.length; c++) {
        packets[c] = BigInt.asUintN(64, packets[c]! + r.packets[c]!);
        bytes[c] = BigInt.asUintN(64, bytes[c]! + r.bytes[c]!);
      }
    }
    return { packets, bytes };
  }

  async resetCounters(): Promise<void> {
    await this.everyWorker({ type: "reset-counters" });
  }

  /**
   * Load the program again in every worker, with the pool's initial entries: tables, counters, flow tables and
   * token buckets start afresh, as after a program load on one VM (entries written since creation are gone).
   */
  async reload(): Promise<void> {
    await this.everyWorker({ type: "reload" });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
