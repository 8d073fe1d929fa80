/**
 * Holds a whole capture in a VM's memory as one batch, so a benchmark times the engine alone (one Wasm call
 * per run over every packet) — as libpcap's harness times pcap_offline_filter over packets already in memory.
 */
import type { OverlayVM } from "../runtime/vm.js";

/** Copy `frames` into the VM's batch area with their descriptors; the batch stays until the next load. */
export function stageAll(vm: OverlayVM, frames: readonly Uint8Array[], wireLengths?: readonly number[]): number {
  const x = vm.wasmExports;
  let total = 0;
  for (const f of frames) total += f.length;
  const ptr = x.prepareBatch(frames.length, total) >>> 0;
  if (ptr === 0) throw new Error(`the VM cannot hold ${frames.length} frames (${total} bytes) in one batch`);
  const mem = new Uint8Array(x.memory.buffer);
  const desc = new Uint32Array(x.memory.buffer, x.batchPointer(0) >>> 0, frames.length * 4);
  let at = 0;
  frames.forEach((f, i) => {
    mem.set(f, ptr + at);
    desc[4 * i] = at;
    desc[4 * i + 1] = f.length;
    desc[4 * i + 2] = wireLengths?.[i] ?? f.length;
    desc[4 * i + 3] = 0;
    at += f.length;
  });
  return frames.length;
}

/** Verdict words of the staged batch's last run. */
export function stagedVerdicts(vm: OverlayVM, count: number): Uint32Array {
  const x = vm.wasmExports;
  return new Uint32Array(x.memory.buffer, x.batchPointer(1) >>> 0, count);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Run `warm` until V8 has tiered the Wasm up: its first calls run on the baseline compiler (Liftoff) while
 * TurboFan compiles in the background — 2–4 × slower, and steady, so steadiness alone does not prove the
 * tier-up. Warms for at least `minMs`, then until the last three times agree within 10 % and are near the best
 * seen, for at most `maxMs`.
 */
export function warmUntilSteady(warm: () => void, minMs = 300, maxMs = 3000): void {
  const times: number[] = [];
  const start = performance.now();
  for (;;) {
    const t0 = process.hrtime.bigint();
    warm();
    times.push(Number(process.hrtime.bigint() - t0));
    const elapsed = performance.now() - start;
    if (elapsed > maxMs) return;
    if (elapsed < minMs || times.length < 5) continue;
    const last = times.slice(-3);
    const best = Math.min(...times);
    if (Math.max(...last) <= 1.1 * Math.min(...last) && Math.min(...last) <= 1.1 * best) return;
  }
}

/** ns per packet of `run` (one pass over `packets`): warm-up passes, then the median of `runs` timed passes. */
export function nsPerPacket(run: () => void, packets: number, runs: number, warmup: () => void): { ns: number; samples: number[] } {
  warmup();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    run();
    samples.push(Number(process.hrtime.bigint() - t0) / packets);
  }
  return { ns: median(samples), samples };
}
