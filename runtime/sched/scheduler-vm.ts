/**
 * TypeScript side of the scheduler (README.md): an overlay VM holding a scheduler program and its queue model,
 * driven one event at a time — a packet arrives (enqueue), the link can send (dequeue). Times are ns on
 * whatever clock the caller keeps (the simulator's virtual clock, the NIC's).
 */
import { OverlayVM, VMError, type VMExports } from "../vm.js";
import type { ProgramImage } from "../../overlay-isa/index.js";

/** The scheduler exports of the VM module (runtime/assembly/index.ts). i64 values travel as bigint. */
interface SchedExports extends VMExports {
  setSchedSizes(words: number, queues: number, packets: number): number;
  schedFramePointer(bytes: number): number;
  schedEnqueue(handle: number, caplen: number, wirelen: number, linktype: number, now: bigint, klass: number, mark: number, priority: number): number;
  schedDequeue(now: bigint, linktype: number): bigint;
  schedLast(which: number): bigint;
  schedStat(which: number): bigint;
  schedQueuePointer(): number;
  schedQueueCount(): number;
  schedQueueRecordBytes(): number;
  schedStatePointer(): number;
  schedStateWords(): number;
  schedPacketsQueued(): number;
  schedDropLogPointer(): number;
  schedDropLogCount(): number;
  schedClearDropLog(): void;
}

export interface SchedSizes {
  stateWords: number;
  queues: number;
  packets: number;
}

/** Largest frame an enqueue takes (bytes the program may read; the wire length may be larger). */
export const MAX_FRAME = 9216;

export interface Dequeued {
  handle: number;
  queue: number;
  /** wire length */
  length: number;
  /** enqueue time, ns */
  enqueuedAt: number;
  /** the packet leaves with ECN CE set */
  ce: boolean;
}

/** Per-queue counters of the queue model (runtime/assembly/sched-queues.ts). */
export interface QueueCounters {
  packets: number;
  bytes: number;
  enqueuedPackets: number;
  enqueuedBytes: number;
  sentPackets: number;
  sentBytes: number;
  droppedPackets: number;
  droppedBytes: number;
  ecnMarks: number;
}

export interface EventCounters {
  offered: number;
  refused: number;
  overflow: number;
  faults: number;
  overruns: number;
  emptyPops: number;
  dequeueRuns: number;
  /** packets the program dropped out of queues (qdrop) */
  queueDrops: number;
}

export const ENQUEUE_REFUSED = -1;
export const ENQUEUE_OVERFLOW = -2;

export class SchedulerVM {
  private readonly x: SchedExports;
  private frame = 0;
  private mem: Uint8Array;
  private loadedImage: ProgramImage | undefined;

  private constructor(readonly vm: OverlayVM) {
    this.x = vm.wasmExports as SchedExports;
    this.mem = new Uint8Array(this.x.memory.buffer);
  }

  static async create(): Promise<SchedulerVM> {
    return new SchedulerVM(await OverlayVM.create());
  }

  static createSync(): SchedulerVM {
    return new SchedulerVM(OverlayVM.createSync());
  }

  /** Verify and load a scheduler program with its memories sized; queues start empty, state zeroed. */
  load(image: ProgramImage, sizes: SchedSizes): void {
    if (image.kind !== "scheduler") throw new VMError(`a ${image.kind} program is not a scheduler program`);
    if (this.x.setSchedSizes(sizes.stateWords, sizes.queues, sizes.packets) === 0) throw new VMError(`scheduler memories out of range (${sizes.stateWords} state words, ${sizes.queues} queues, ${sizes.packets} packets)`);
    this.vm.load(image);
    this.frame = this.x.schedFramePointer(MAX_FRAME) >>> 0;
    if (this.frame === 0) throw new VMError("out of memory for the scheduler's frame buffer");
    this.mem = new Uint8Array(this.x.memory.buffer);
    this.loadedImage = image;
  }

  get image(): ProgramImage | undefined {
    return this.loadedImage;
  }

  private view(): Uint8Array {
    if (this.mem.buffer !== this.x.memory.buffer || this.mem.byteLength === 0) this.mem = new Uint8Array(this.x.memory.buffer);
    return this.mem;
  }

  /**
   * A packet arrives at `now` ns. `klass` is the classifier's result (meta.class: 1 + the filter's queue, 0 for
   * none). Returns the queue it went into, ENQUEUE_REFUSED (the program dropped it) or ENQUEUE_OVERFLOW (the
   * queue model had no room). Packets the program dropped from queues meanwhile are in takeDrops().
   */
  enqueue(handle: number, frame: Uint8Array, wireLength: number, now: number, klass: number, mark = 0, priority = 0, linktype = 1): number {
    const caplen = Math.min(frame.length, MAX_FRAME);
    this.view().set(caplen === frame.length ? frame : frame.subarray(0, caplen), this.frame);
    const r = this.x.schedEnqueue(handle >>> 0, caplen, wireLength >>> 0, linktype, BigInt(Math.round(now)), klass >>> 0, mark >>> 0, priority >>> 0);
    if (r === -3) throw new VMError("no scheduler program is loaded");
    return r;
  }

  /** The link can send at `now` ns: the packet it sends, or undefined (then wakeAt() says when to ask again). */
  dequeue(now: number, linktype = 1): Dequeued | undefined {
    const h = this.x.schedDequeue(BigInt(Math.round(now)), linktype);
    if (h < 0n) return undefined;
    const x = this.x;
    return { handle: Number(h), queue: Number(x.schedLast(1)), length: Number(x.schedLast(2)), enqueuedAt: Number(x.schedLast(3)), ce: x.schedLast(4) !== 0n };
  }

  /** The queue the last refused arrival was accounted to (its meta.class at the drop), or -1. */
  lastRefusedQueue(): number {
    const q = this.x.schedStat(8);
    return q >= BigInt(this.queueCount) ? -1 : Number(q);
  }

  /** When the last fruitless dequeue asked to be run again, ns; undefined: at the next arrival. */
  wakeAt(): number | undefined {
    const w = this.x.schedStat(7);
    return w === 0n ? undefined : Number(w);
  }

  /** Handles dropped since the last call (refused arrivals and packets dropped from queues), in order. */
  takeDrops(): Uint32Array {
    const n = this.x.schedDropLogCount() >>> 0;
    if (n === 0) return new Uint32Array(0);
    const out = new Uint32Array(this.x.memory.buffer, this.x.schedDropLogPointer() >>> 0, n).slice();
    this.x.schedClearDropLog();
    return out;
  }

  get queueCount(): number {
    return this.x.schedQueueCount() >>> 0;
  }

  /** Packets queued now, over all queues. */
  get backlogPackets(): number {
    return this.x.schedPacketsQueued() >>> 0;
  }

  queue(q: number): QueueCounters {
    if (!Number.isInteger(q) || q < 0 || q >= this.queueCount) throw new VMError(`queue ${q} does not exist (the queue model has ${this.queueCount})`);
    const at = (this.x.schedQueuePointer() >>> 0) + q * (this.x.schedQueueRecordBytes() >>> 0);
    const b = new DataView(this.x.memory.buffer, at, 80);
    const u64 = (o: number) => Number(b.getBigUint64(o, true));
    return {
      packets: b.getUint32(8, true),
      bytes: u64(16),
      enqueuedPackets: u64(24),
      enqueuedBytes: u64(32),
      sentPackets: u64(40),
      sentBytes: u64(48),
      droppedPackets: u64(56),
      droppedBytes: u64(64),
      ecnMarks: u64(72),
    };
  }

  /** All queues' counters. */
  queues(): QueueCounters[] {
    return Array.from({ length: this.queueCount }, (_, q) => this.queue(q));
  }

  /** A state word (0 past the state memory, as `sld` reads it). */
  stateWord(index: number): bigint {
    const n = this.x.schedStateWords() >>> 0;
    if (!Number.isInteger(index) || index < 0 || index >= n) return 0n;
    return new BigUint64Array(this.x.memory.buffer, (this.x.schedStatePointer() >>> 0) + index * 8, 1)[0]!;
  }

  events(): EventCounters {
    const s = (i: number) => Number(this.x.schedStat(i));
    return { offered: s(0), refused: s(1), overflow: s(2), faults: s(3), overruns: s(4), emptyPops: s(5), dequeueRuns: s(6), queueDrops: s(9) };
  }

  /** The program's counters (its `count` instructions: overlimits, lends, borrows, …). */
  counters(): { packets: BigUint64Array; bytes: BigUint64Array } {
    return this.vm.counters();
  }
}
