/**
 * A batch of received frames in shared memory, laid out as a multi-queue NIC's receive side leaves them: the
 * RX stage hashes each frame's flow (rss.ts) as it arrives and appends it to the ring of its queue, so each
 * worker of a pool reads only its own queue, contiguously and without a copy through the main thread.
 *
 * Per ring slot: frame bytes (8-byte aligned, the queue's frames back to back in arrival order), byte offset,
 * captured length, wire length and the frame's arrival index; optional side input (owners, times) in ring
 * order. Results are per arrival index, filled in place by the workers.
 */
import { VMError } from "../errors.js";
import { flowHash, RETA_SIZE } from "./rss.js";

export interface SharedBatchInit {
  frames: readonly Uint8Array[];
  wireLengths?: readonly number[];
  /** six u32 per frame: owner app, uid, gid, pid, command id, cgroup id (runtime/vm.ts RunOptions.owners) */
  owners?: Uint32Array;
  /** µs per frame (runtime/vm.ts RunOptions.timesUs) */
  timesUs?: Float64Array;
  /** link type of every frame (default 1, Ethernet): the RSS stage finds the IP header by it */
  linktype?: number;
}

/** How the receive stage spreads frames over queues: queue = reta[flowHash & (RETA_SIZE - 1)]. */
export interface Steering {
  queues: number;
  /** RETA_SIZE entries, each a queue below `queues` */
  reta: Uint8Array;
}

/** u32 per ring slot in `index` */
export const SLOT_WORDS = 4;

/** The transferable description of a batch (SharedArrayBuffers are shared, not copied, by postMessage). */
export interface SharedBatchData {
  count: number;
  linktype: number;
  /** number of queues (rings) the frames were steered to */
  queues: number;
  /** ring q holds slots [ringStart[q], ringStart[q + 1]) */
  ringStart: number[];
  bytes: SharedArrayBuffer;
  /** u32 × SLOT_WORDS per ring slot: byte offset, captured length, wire length, arrival index */
  index: SharedArrayBuffer;
  /** six u32 per ring slot */
  owners?: SharedArrayBuffer;
  /** f64 per ring slot */
  timesUs?: SharedArrayBuffer;
  /** u8 per arrival index: the queue the frame was steered to */
  queueOf: SharedArrayBuffer;
  /** per arrival index */
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

/**
 * A recycled batch's result arrays when every one holds `n` packets, with the metadata a program may leave
 * unwritten (marks, classes, priorities, mirror flags) cleared: results must not leak from the last use.
 */
function recycledResults(results: SharedBatchData["results"] | undefined, n: number): SharedBatchData["results"] | undefined {
  if (results === undefined) return undefined;
  const { verdicts, faults, marks, classes, prios, mirror, cycles } = results;
  if ([verdicts, marks, classes, prios, cycles].some((b) => b.byteLength < 4 * n) || faults.byteLength < n || mirror.byteLength < n) return undefined;
  for (const a of [new Uint32Array(marks, 0, n), new Uint32Array(classes, 0, n), new Uint32Array(prios, 0, n), new Uint8Array(mirror, 0, n)]) a.fill(0);
  return results;
}

const ONE_QUEUE: Steering = { queues: 1, reta: new Uint8Array(RETA_SIZE) };

export class SharedBatch {
  private constructor(readonly data: SharedBatchData) {}

  get count(): number {
    return this.data.count;
  }

  get queues(): number {
    return this.data.queues;
  }

  /**
   * Receive `init.frames` onto `steering.queues` rings (one ring, in arrival order, without hashing, when there
   * is one queue — a single-queue NIC computes no RSS hash either).
   *
   * `recycle`: a batch whose shared memory is reused where it is large enough, as a NIC reuses its rings (fresh
   * shared memory costs a page fault per 4 KiB on first touch, more than the copy). That batch must not be
   * running; its frames and results are overwritten.
   */
  static from(init: SharedBatchInit, steering: Steering = ONE_QUEUE, recycle?: SharedBatch): SharedBatch {
    const n = init.frames.length;
    const linktype = init.linktype ?? 1;
    if (init.wireLengths !== undefined && init.wireLengths.length !== n) throw new VMError(`wireLengths has ${init.wireLengths.length} entries for ${n} frames`);
    if (init.owners !== undefined && init.owners.length !== 6 * n) throw new VMError(`owners has ${init.owners.length} entries for ${n} frames (6 per frame)`);
    if (init.timesUs !== undefined && init.timesUs.length !== n) throw new VMError(`timesUs has ${init.timesUs.length} entries for ${n} frames`);
    if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff) throw new VMError(`link type ${linktype} is not a link type number`);
    const { queues, reta } = steering;
    if (!Number.isInteger(queues) || queues < 1 || queues > 64) throw new VMError(`queues must be an integer from 1 to 64, got ${queues}`);
    if (reta.length !== RETA_SIZE || reta.some((q) => q >= queues)) throw new VMError(`the indirection table needs ${RETA_SIZE} entries below ${queues}`);

    const old = recycle?.data;
    const reuse = (sab: SharedArrayBuffer | undefined, bytes: number) => (sab !== undefined && sab.byteLength >= bytes ? sab : new SharedArrayBuffer(bytes));
    // the RX stage: each frame's queue, and each ring's size in slots and bytes
    const queueOf = reuse(old?.queueOf, Math.max(1, n));
    const queueOfView = new Uint8Array(queueOf);
    const slots = new Int32Array(queues + 1);
    const ringBytes = new Float64Array(queues);
    for (let i = 0; i < n; i++) {
      const f = init.frames[i];
      if (!(f instanceof Uint8Array)) throw new VMError(`frame ${i} is not a Uint8Array`);
      const w = init.wireLengths?.[i] ?? f.length;
      if (!Number.isInteger(w) || w < 0 || w > 0xffff_ffff) throw new VMError(`wire length ${w} of frame ${i} is not a packet length`);
      const q = queues === 1 ? 0 : reta[flowHash(f, 0, f.length, linktype) & (RETA_SIZE - 1)]!;
      queueOfView[i] = q;
      slots[q + 1]!++;
      ringBytes[q] = ringBytes[q]! + ((f.length + 7) & ~7);
    }
    const ringStart = [0];
    const byteStart = [0];
    for (let q = 0; q < queues; q++) {
      ringStart.push(ringStart[q]! + slots[q + 1]!);
      byteStart.push(byteStart[q]! + ringBytes[q]!);
    }

    // 8 spare bytes: a worker copies whole 32-bit words, the last one may reach past the last frame
    const bytes = reuse(old?.bytes, byteStart[queues]! + 8);
    const index = reuse(old?.index, Math.max(1, SLOT_WORDS * 4 * n));
    const owners = init.owners ? reuse(old?.owners, init.owners.byteLength) : undefined;
    const timesUs = init.timesUs ? reuse(old?.timesUs, init.timesUs.byteLength) : undefined;
    const mem = new Uint8Array(bytes);
    const idx = new Uint32Array(index);
    const ownersView = owners ? new Uint32Array(owners) : undefined;
    const timesView = timesUs ? new Float64Array(timesUs) : undefined;
    const nextSlot = ringStart.slice(0, queues);
    const nextByte = byteStart.slice(0, queues);
    for (let i = 0; i < n; i++) {
      const f = init.frames[i]!;
      const q = queueOfView[i]!;
      const s = nextSlot[q]!++;
      const at = nextByte[q]!;
      nextByte[q] = at + ((f.length + 7) & ~7);
      mem.set(f, at);
      idx[SLOT_WORDS * s] = at;
      idx[SLOT_WORDS * s + 1] = f.length;
      idx[SLOT_WORDS * s + 2] = init.wireLengths?.[i] ?? f.length;
      idx[SLOT_WORDS * s + 3] = i;
      if (ownersView) ownersView.set(init.owners!.subarray(6 * i, 6 * i + 6), 6 * s);
      if (timesView) timesView[s] = init.timesUs![i]!;
    }
    return new SharedBatch({
      count: n,
      results: recycledResults(old?.results, n) ?? {
        verdicts: new SharedArrayBuffer(4 * n),
        faults: new SharedArrayBuffer(n),
        marks: new SharedArrayBuffer(4 * n),
        classes: new SharedArrayBuffer(4 * n),
        prios: new SharedArrayBuffer(4 * n),
        mirror: new SharedArrayBuffer(n),
        cycles: new SharedArrayBuffer(4 * n),
      },
      linktype,
      queues,
      ringStart,
      bytes,
      index,
      ...(owners ? { owners } : {}),
      ...(timesUs ? { timesUs } : {}),
      queueOf,
    });
  }
}
