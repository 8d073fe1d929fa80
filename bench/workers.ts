/**
 * The data path on 1 and on 2 worker threads (runtime/workers): packets/s of `pool.run` over the same frames,
 * received onto the pool's queues first. Receiving is the NIC's RX stage (the flow hash that picks each frame's
 * queue, and the frame's placement in that queue's ring) — hardware in a multi-queue NIC, so not the workers'
 * time; its cost on one thread is reported beside (receiveNsPerPacket). Target: 2 workers ≥ 1.8 × one
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
  const n = frames.length;
  const rows: WorkerRow[] = [];
  for (const workers of counts) {
    const pool = await DataPathPool.create({ workers, image, tier });
    try {
      const r0 = process.hrtime.bigint();
      const batch = pool.receive({ frames });
      const receiveNsPerPacket = Number(process.hrtime.bigint() - r0) / n;
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
      rows.push({ workers, packetsPerSecond: (n * 1e9) / ns, nsPerPacket: ns / n, perWorker, receiveNsPerPacket });
    } finally {
      await pool.close();
    }
  }
  const most = counts[counts.length - 1]!;
  const computeSpeedup = (await spin(1, 4e8, runs)) / (await spin(most, 4e8, runs));
  return { tier, packets: n, rows, speedup: rows[rows.length - 1]!.packetsPerSecond / rows[0]!.packetsPerSecond, computeSpeedup };
}
