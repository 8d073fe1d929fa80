/**
 * A batch of frames in shared memory, which every worker of a pool reads without a copy through the main
 * thread: frame bytes 8-byte aligned (workers copy them into their VM word by word), per-frame offset, captured
 * length and wire length, optional side input (owners, times) and the result arrays the workers fill in place.
 */
import { VMError } from "../errors.js";

export interface SharedBatchInit {
  frames: readonly Uint8Array[];
  wireLengths?: readonly number[];
  /** six u32 per frame: owner app, uid, gid, pid, command id, cgroup id (runtime/vm.ts RunOptions.owners) */
  owners?: Uint32Array;
  /** µs per frame (runtime/vm.ts RunOptions.timesUs) */
  timesUs?: Float64Array;
}

/** The transferable description of a batch (SharedArrayBuffers are shared, not copied, by postMessage). */
export interface SharedBatchData {
  count: number;
  bytes: SharedArrayBuffer;
  /** u32 × 3 per frame: byte offset, captured length, wire length */
  index: SharedArrayBuffer;
  owners?: SharedArrayBuffer;
  timesUs?: SharedArrayBuffer;
  /** u8 per frame: the worker it is steered to (written by the workers' first phase) */
  queues: SharedArrayBuffer;
  results: {
    verdicts: SharedArrayBuffer;
    faults: SharedArrayBuffer;
    marks: SharedArrayBuffer;
    classes: SharedArrayBuffer;
    prios: SharedArrayBuffer;
    mirror: SharedArrayBuffer;
    cycles: SharedArrayBuffer;
  };
}

export class SharedBatch {
  private constructor(readonly data: SharedBatchData) {}

  get count(): number {
    return this.data.count;
  }

  static from(init: SharedBatchInit): SharedBatch {
    const n = init.frames.length;
    if (init.wireLengths !== undefined && init.wireLengths.length !== n) throw new VMError(`wireLengths has ${init.wireLengths.length} entries for ${n} frames`);
    if (init.owners !== undefined && init.owners.length !== 6 * n) throw new VMError(`owners has ${init.owners.length} entries for ${n} frames (6 per frame)`);
    if (init.timesUs !== undefined && init.timesUs.length !== n) throw new VMError(`timesUs has ${init.timesUs.length} entries for ${n} frames`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const f = init.frames[i];
      if (!(f instanceof Uint8Array)) throw new VMError(`frame ${i} is not a Uint8Array`);
      total += (f.length + 7) & ~7;
    }
    // 8 spare bytes: a worker copies whole 32-bit words, the last one may reach past the last frame
    const bytes = new SharedArrayBuffer(total + 8);
    const index = new SharedArrayBuffer(12 * n);
    const mem = new Uint8Array(bytes);
    const idx = new Uint32Array(index);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const f = init.frames[i]!;
      const w = init.wireLengths?.[i] ?? f.length;
      if (!Number.isInteger(w) || w < 0 || w > 0xffff_ffff) throw new VMError(`wire length ${w} of frame ${i} is not a packet length`);
      mem.set(f, at);
      idx[3 * i] = at;
      idx[3 * i + 1] = f.length;
      idx[3 * i + 2] = w;
      at += (f.length + 7) & ~7;
    }
    const copy = <T extends Uint32Array | Float64Array>(a: T | undefined): SharedArrayBuffer | undefined => {
      if (!a) return undefined;
      const sab = new SharedArrayBuffer(a.byteLength);
      (a instanceof Uint32Array ? new Uint32Array(sab) : new Float64Array(sab)).set(a as never);
      return sab;
    };
    const owners = copy(init.owners);
    const timesUs = copy(init.timesUs);
    return new SharedBatch({
      count: n,
      bytes,
      index,
      ...(owners ? { owners } : {}),
      ...(timesUs ? { timesUs } : {}),
      queues: new SharedArrayBuffer(n),
      results: {
        verdicts: new SharedArrayBuffer(4 * n),
        faults: new SharedArrayBuffer(n),
        marks: new SharedArrayBuffer(4 * n),
        classes: new SharedArrayBuffer(4 * n),
        prios: new SharedArrayBuffer(4 * n),
        mirror: new SharedArrayBuffer(n),
        cycles: new SharedArrayBuffer(4 * n),
      },
    });
  }
}
