/**
 * The data path on 1 and on 2 worker threads (runtime/workers): packets/s of `pool.run` over the same frames,
 * received onto the pool's queues first. Receiving is the NIC's RX stage (the flow hash that picks each frame's
 * queue, and the frame's placement in that queue's ring) — hardware in a multi-queue NIC, so not the workers'
 * time; its cost on one thread is reported beside, into fresh shared memory (receiveNsPerPacket) and into a
 * recycled batch's (receiveRecycledNsPerPacket). Target: 2 workers ≥ 1.8 × one
 * worker's packets/s.
 */
import { Worker } from "node:worker_threads";
import type { ProgramImage } from "../overlay-isa/index.js";
import { DataPathPool } from "../runtime/workers/pool.js";
import { median } from "./stage.js";

export interface WorkerRow {
  workers: number;
  packetsPerSecond: number;
  nsPerPacket: number;
  perWorker: number[];
  /** the RX stage (hashing and ring placement) on the main thread, ns per packet, not part of packetsPerSecond */
  receiveNsPerPacket: number;
  /** the same into the memory of a finished batch (SharedBatch.from's recycle), as a NIC reuses its rings */
  receiveRecycledNsPerPacket: number;
}

export interface WorkerFigures {
  tier: "interpreter" | "jit";
  packets: number;
  rows: WorkerRow[];
  /** packets/s of the most workers over packets/s of one */
  speedup: number;
  /**
   * What the machine gives at the same moment: the speedup of a pure arithmetic loop split over as many threads
   * (other processes on a shared machine take cores; the data path cannot scale past this)
   */
  computeSpeedup: number;
}

const SPIN = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (n) => { let x = 0; for (let i = 0; i < n; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0; parentPort.postMessage(x); });`;

/** Wall time of `iterations` of a pure arithmetic loop split over `threads` worker threads (median of runs). */
async function spin(threads: number, iterations: number, runs: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(SPIN, { eval: true }));
  const round = (n: number) => Promise.all(workers.map((w) => new Promise((done) => { w.once("message", done); w.postMessage(n); })));
  try {
    await round(1e6);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      await round(Math.floor(iterations / threads));
      times.push(Number(process.hrtime.bigint() - t0));
    }
    return median(times);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Every pool is created, fed and warmed first; then the timed runs take turns (1, 2, 1, 2, …), so that whatever
 * else the machine does at some moment weighs on every pool alike, and each pool's figure is the median of its
 * turns. Only the pool taking its turn has busy threads.
 */
export async function benchWorkers(image: ProgramImage, frames: readonly Uint8Array[], counts: readonly number[], runs: number, tier: "interpreter" | "jit" = "jit"): Promise<WorkerFigures> {
  const n = frames.length;
  const pools: DataPathPool[] = [];
  try {
    const prepared = [];
    for (const workers of counts) {
      const pool = await DataPathPool.create({ workers, image, tier });
      pools.push(pool);
      const r0 = process.hrtime.bigint();
      const fresh = pool.receive({ frames });
      const receiveNsPerPacket = Number(process.hrtime.bigint() - r0) / n;
      const r1 = process.hrtime.bigint();
      const batch = pool.receive({ frames }, fresh);
      const receiveRecycledNsPerPacket = Number(process.hrtime.bigint() - r1) / n;
      // warm-up until steady: V8 tiers the workers' Wasm and JavaScript up over the first runs
      const warm: number[] = [];
      for (let k = 0; k < 12; k++) {
        const t0 = process.hrtime.bigint();
        await pool.run(batch);
        warm.push(Number(process.hrtime.bigint() - t0));
        const last = warm.slice(-3);
        if (k >= 3 && Math.max(...last) <= 1.1 * Math.min(...last)) break;
      }
      prepared.push({ workers, pool, batch, receiveNsPerPacket, receiveRecycledNsPerPacket, times: [] as number[], perWorker: [] as number[] });
    }
    for (let r = 0; r < Math.max(runs, 9); r++) {
      for (const p of prepared) {
        const t0 = process.hrtime.bigint();
        p.perWorker = (await p.pool.run(p.batch)).perWorker;
        p.times.push(Number(process.hrtime.bigint() - t0));
      }
    }
    const rows: WorkerRow[] = prepared.map(({ workers, times, perWorker, receiveNsPerPacket, receiveRecycledNsPerPacket }) => {
      const ns = median(times);
      return { workers, packetsPerSecond: (n * 1e9) / ns, nsPerPacket: ns / n, perWorker, receiveNsPerPacket, receiveRecycledNsPerPacket };
    });
    await Promise.all(pools.splice(0).map((p) => p.close()));
    const most = counts[counts.length - 1]!;
    const computeSpeedup = (await spin(1, 4e8, runs)) / (await spin(most, 4e8, runs));
    return { tier, packets: n, rows, speedup: rows[rows.length - 1]!.packetsPerSecond / rows[0]!.packetsPerSecond, computeSpeedup };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}
