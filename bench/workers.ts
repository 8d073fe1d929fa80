/**
 * The data path on 1 and on 2 worker threads (runtime/workers): packets/s over the same batch in shared memory,
 * steering included (each run hashes every packet's flow, then each worker runs its share). Target: 2 workers
 * ≥ 1.8 × one worker's packets/s.
 */
import { Worker } from "node:worker_threads";
import type { ProgramImage } from "../overlay-isa/index.js";
import { DataPathPool, SharedBatch } from "../runtime/workers/pool.js";
import { median } from "./stage.js";

export interface WorkerRow {
  workers: number;
  packetsPerSecond: number;
  nsPerPacket: number;
  perWorker: number[];
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

export async function benchWorkers(image: ProgramImage, frames: readonly Uint8Array[], counts: readonly number[], runs: number, tier: "interpreter" | "jit" = "jit"): Promise<WorkerFigures> {
  const batch = SharedBatch.from({ frames });
  const n = frames.length;
  const rows: WorkerRow[] = [];
  for (const workers of counts) {
    const pool = await DataPathPool.create({ workers, image, tier });
    try {
      let perWorker: number[] = [];
      // warm-up until steady: V8 tiers the workers' Wasm and JavaScript up over the first runs
      const warm: number[] = [];
      for (let k = 0; k < 12; k++) {
        const t0 = process.hrtime.bigint();
        await pool.run(batch);
        warm.push(Number(process.hrtime.bigint() - t0));
        const last = warm.slice(-3);
        if (k >= 3 && Math.max(...last) <= 1.1 * Math.min(...last)) break;
      }
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t0 = process.hrtime.bigint();
        perWorker = (await pool.run(batch)).perWorker;
        times.push(Number(process.hrtime.bigint() - t0));
      }
      const ns = median(times);
      rows.push({ workers, packetsPerSecond: (n * 1e9) / ns, nsPerPacket: ns / n, perWorker });
    } finally {
      await pool.close();
    }
  }
  const most = counts[counts.length - 1]!;
  const computeSpeedup = (await spin(1, 4e8, runs)) / (await spin(most, 4e8, runs));
  return { tier, packets: n, rows, speedup: rows[rows.length - 1]!.packetsPerSecond / rows[0]!.packetsPerSecond, computeSpeedup };
}
