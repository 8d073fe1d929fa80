/**
 * The NIC's egress scheduler block: the classifier program (the qdisc's filters, a policy program) and the
 * qdisc program (a scheduler program) run on their own overlay cores in front of the egress link, with the
 * queue model between them (runtime/sched/README.md).
 *
 * A qdisc is a function change, like a new policy: it is loaded into the shadow slot (verified, memories laid
 * out), then one commit makes it active as a new generation; the replaced qdisc stays in the other slot for
 * rollback. **Queued packets at a commit** are not lost silently: they leave the old qdisc in the order they
 * arrived and are offered to the new one — classified by its filters, ranked and admitted by its program, as
 * if they arrived at the commit instant (their original arrival time is kept for delay statistics). Packets
 * the new qdisc refuses are dropped and counted as `migrationDrops`. The old slot's queues are then empty and
 * its program restarts from its initial state, ready for a rollback (which migrates the same way).
 *
 * **Removing the qdisc** (tc's `qdisc del`) is a commit too: "no qdisc" is loaded into the shadow slot and
 * committed. The active generation becomes 0 (egress packets pass unscheduled, the NIC's default); the packets
 * queued in the removed qdisc are dropped, as Linux drops a deleted qdisc's queue, and counted as
 * `migrationDrops` (a swap that can carry none over). The removed qdisc stays in the other slot for rollback.
 */
import type { ProgramImage } from "../overlay-isa/index.js";
import { OverlayVM, VMError, type TableEntry } from "../runtime/vm.js";
import { ENQUEUE_OVERFLOW, ENQUEUE_REFUSED, SchedulerVM, type Dequeued, type EventCounters, type QueueCounters, type SchedSizes } from "../runtime/sched/scheduler-vm.js";

/** What the host loads: the two programs, the classifier's table entries and the scheduler's memory sizes. */
export interface QdiscBundle {
  classifier: ProgramImage;
  classifierEntries: { table: number; entry: TableEntry }[];
  scheduler: ProgramImage;
  sizes: SchedSizes;
  /** for listings: what the bundle is (`htb 1: root`) */
  label?: string;
}

/** A packet handed to the egress link. */
export interface EgressPacket<T = unknown> {
  frame: Uint8Array;
  wireLength: number;
  /** owner fields as the connection table knows them: app, uid, gid, pid, cmd id, cgroup id */
  owner?: Uint32Array;
  mark?: number;
  /** skb priority (SO_PRIORITY) */
  priority?: number;
  /** the caller's own data, returned with the packet */
  tag?: T;
}

export interface Queued<T> {
  packet: EgressPacket<T>;
  handle: number;
  /** arrival time, ns */
  arrivedAt: number;
  /** the classifier's result (meta.class) */
  klass: number;
  /** the queue it went into, or -1/-2 when refused */
  queue: number;
  /** the queue its drop is accounted to: its queue, or for a refused packet the queue the qdisc named (-1: none) */
  accountedQueue: number;
  generation: number;
}

export interface Sent<T> extends Queued<T> {
  sentAt: number;
  ce: boolean;
}

export class SchedulerError extends Error {}

const NO_OWNER = Uint32Array.from([0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0]);

/** Largest frame the classifier reads (the rest of a packet is on the wire length). */
const CLASSIFY_BYTES = 9216;

/**
 * The classifier core's one-packet path: the batch area laid out once per load for a single frame and its
 * side input (runtime/LAYOUT.md), then per packet the frame, its descriptor and owner record are written and
 * one runBatch call judges it — what OverlayVM.run does, without building arrays for a batch of one.
 */
class ClassifierPort {
  private frames = 0;
  private side = 0;
  private verdicts = 0;
  private desc = 0;
  // views of the VM's memory, taken again when it grows (growth detaches them)
  private buffer: ArrayBuffer | undefined;
  private bytes = new Uint8Array(0);
  private words = new Uint32Array(0);
  private time = new BigUint64Array(0);
  constructor(readonly vm: OverlayVM) {}

  reset(): void {
    const x = this.vm.wasmExports;
    this.frames = x.prepareBatch(1, CLASSIFY_BYTES) >>> 0;
    this.side = this.frames === 0 ? 0 : x.prepareSideInput(1, this.frames + CLASSIFY_BYTES) >>> 0;
    if (this.frames === 0 || this.side === 0) throw new VMError("out of memory for the classifier's packet buffer");
    this.verdicts = x.batchPointer(1) >>> 0;
    this.desc = x.batchPointer(0) >>> 0;
    this.buffer = undefined;
  }

  private views(): void {
    const buf = this.vm.wasmExports.memory.buffer as ArrayBuffer;
    if (buf === this.buffer) return;
    this.buffer = buf;
    this.bytes = new Uint8Array(buf);
    this.words = new Uint32Array(buf);
    this.time = new BigUint64Array(buf, this.side + 24, 1);
  }

  /** The verdict word of the loaded classifier for one egress packet at `now` ns. */
  run(frame: Uint8Array, wireLength: number, owner: Uint32Array, now: number): number {
    const x = this.vm.wasmExports;
    this.views();
    const caplen = Math.min(frame.length, CLASSIFY_BYTES);
    this.bytes.set(caplen === frame.length ? frame : frame.subarray(0, caplen), this.frames);
    const w = this.words;
    const d = this.desc >>> 2;
    w[d] = 0;
    w[d + 1] = caplen;
    w[d + 2] = wireLength >>> 0;
    w[d + 3] = 1 << 16; // port 0, egress
    w.set(owner, this.side >>> 2);
    this.time[0] = BigInt(Math.floor(now / 1000));
    if (x.runBatch(1, 1, 0) === 0) throw new VMError("no classifier program is loaded");
    return this.words[this.verdicts >>> 2]!;
  }
}

class Slot {
  bundle: QdiscBundle | undefined;
  generation = 0;
  readonly port: ClassifierPort;
  constructor(
    readonly classifier: OverlayVM,
    readonly scheduler: SchedulerVM,
  ) {
    this.port = new ClassifierPort(classifier);
  }

  install(bundle: QdiscBundle): void {
    this.classifier.load(bundle.classifier);
    for (const { table, entry } of bundle.classifierEntries) this.classifier.insertEntry(table, entry);
    this.port.reset();
    this.scheduler.load(bundle.scheduler, bundle.sizes);
    this.bundle = bundle;
  }

  /** Empty the queues and restart the program from its initial state (a reload). */
  restart(): void {
    if (this.bundle) this.install(this.bundle);
  }
}

export class EgressScheduler<T = unknown> {
  private readonly slots: [Slot, Slot];
  private active = 0;
  private shadowLoaded = false;
  /** the other slot holds the qdisc a commit replaced */
  private previousKept = false;
  private generationCounter = 0;
  private nextHandle = 1;
  private readonly inQueue = new Map<number, Queued<T>>();
  private readonly dropped: Queued<T>[] = [];
  private readonly carried: { before: Queued<T>; after: Queued<T> }[] = [];
  /** packets a commit or rollback could not carry over into the new qdisc */
  migrationDrops = 0;
  /** packets carried over by commits and rollbacks */
  migrated = 0;

  private constructor(slots: [Slot, Slot]) {
    this.slots = slots;
  }

  static async create<T = unknown>(): Promise<EgressScheduler<T>> {
    const make = async () => new Slot(await OverlayVM.create(), await SchedulerVM.create());
    return new EgressScheduler<T>([await make(), await make()]);
  }

  static createSync<T = unknown>(): EgressScheduler<T> {
    const make = () => new Slot(OverlayVM.createSync(), SchedulerVM.createSync());
    return new EgressScheduler<T>([make(), make()]);
  }

  /** The active generation (0 before the first commit: packets then pass unscheduled). */
  get generation(): number {
    return this.slots[this.active]!.generation;
  }

  get activeBundle(): QdiscBundle | undefined {
    const s = this.slots[this.active]!;
    return s.generation > 0 ? s.bundle : undefined;
  }

  /** The active slot's scheduler VM (statistics). */
  get scheduler(): SchedulerVM {
    return this.slots[this.active]!.scheduler;
  }

  get classifierVm(): OverlayVM {
    return this.slots[this.active]!.classifier;
  }

  /** Load a qdisc into the shadow slot. Throws (ProgramRejected, VMError) and leaves the active qdisc alone. */
  load(bundle: QdiscBundle): void {
    const shadow = this.slots[1 - this.active]!;
    shadow.generation = 0;
    this.shadowLoaded = false;
    this.previousKept = false;
    shadow.install(bundle);
    this.shadowLoaded = true;
  }

  /** Load "no qdisc" into the shadow slot: committing it removes the active qdisc (see the file comment). */
  loadNone(): void {
    const shadow = this.slots[1 - this.active]!;
    shadow.generation = 0;
    shadow.bundle = undefined;
    this.previousKept = false;
    this.shadowLoaded = true;
  }

  /**
   * Make the shadow slot's qdisc active as a new generation, at `now` ns. `expect` guards against a commit
   * over a generation the caller did not see. Queued packets move to the new qdisc (see the file comment); a
   * commit of "no qdisc" (loadNone) makes the generation 0 and drops them.
   */
  commit(now: number, expect?: number): number {
    if (!this.shadowLoaded) throw new SchedulerError("nothing to commit: load a qdisc into the shadow slot first");
    if (expect !== undefined && expect !== this.generation) throw new SchedulerError(`stale commit: the active generation is ${this.generation}, not ${expect}`);
    const next = this.slots[1 - this.active]!;
    if (next.bundle === undefined && this.generation === 0) throw new SchedulerError("no qdisc is committed: there is none to remove");
    const old = this.slots[this.active]!;
    this.active = 1 - this.active;
    next.generation = next.bundle !== undefined ? ++this.generationCounter : 0;
    this.shadowLoaded = false;
    this.previousKept = old.bundle !== undefined;
    this.migrate(old, now);
    return this.generation;
  }

  /** Reactivate the previous qdisc (kept in the other slot) as a new generation. */
  rollback(now: number): number {
    if (!this.previousKept) throw new SchedulerError("nothing to roll back to: no earlier qdisc is kept (a load replaces it)");
    this.shadowLoaded = true;
    return this.commit(now);
  }

  private migrate(old: Slot, now: number): void {
    const carried = [...this.inQueue.values()].sort((a, b) => a.arrivedAt - b.arrivedAt || a.handle - b.handle);
    this.inQueue.clear();
    old.restart();
    if (this.generation === 0) {
      // no qdisc now: nothing can take the queued packets
      for (const q of carried) this.dropped.push(q);
      this.migrationDrops += carried.length;
      return;
    }
    for (const q of carried) {
      const r = this.admit(q.packet, now, q.arrivedAt, q.handle);
      this.carried.push({ before: q, after: r });
      if (r.queue < 0) this.migrationDrops++;
      else this.migrated++;
    }
  }

  /** The packets the last commits carried over: where each was queued before and how the new qdisc took it. */
  takeCarried(): { before: Queued<T>; after: Queued<T> }[] {
    return this.carried.splice(0, this.carried.length);
  }

  private classify(packet: EgressPacket<T>, now: number): number {
    const slot = this.slots[this.active]!;
    const v = slot.port.run(packet.frame, packet.wireLength, packet.owner ?? NO_OWNER, now);
    return (v & 0xff) === 2 ? (v >>> 8) + 1 : 0; // queue N → class N + 1; accept → unclassified
  }

  private admit(packet: EgressPacket<T>, now: number, arrivedAt: number, handle: number): Queued<T> {
    const slot = this.slots[this.active]!;
    const klass = this.classify(packet, now);
    const queue = slot.scheduler.enqueue(handle, packet.frame, packet.wireLength, now, klass, packet.mark ?? 0, packet.priority ?? 0);
    const accountedQueue = queue >= 0 ? queue : slot.scheduler.lastRefusedQueue();
    const q: Queued<T> = { packet, handle, arrivedAt, klass, queue, accountedQueue, generation: slot.generation };
    if (queue >= 0) this.inQueue.set(handle, q);
    else this.dropped.push(q);
    this.collectDrops();
    return q;
  }

  private collectDrops(): void {
    for (const h of this.slots[this.active]!.scheduler.takeDrops()) {
      const q = this.inQueue.get(h);
      if (q) {
        this.inQueue.delete(h);
        this.dropped.push(q);
      }
    }
  }

  /** A packet arrives at `now` ns: classified, then enqueued (or refused). */
  enqueue(packet: EgressPacket<T>, now: number): Queued<T> {
    if (this.generation === 0) throw new SchedulerError("no qdisc is committed");
    if (packet.frame.length === 0) throw new SchedulerError("an empty frame cannot be scheduled");
    const handle = this.nextHandle;
    this.nextHandle = this.nextHandle >= 0xfffffff0 ? 1 : this.nextHandle + 1;
    return this.admit(packet, now, now, handle);
  }

  /** The link asks for a packet at `now`: the packet sent, or undefined (then `wakeAt` says when to ask again). */
  dequeue(now: number): Sent<T> | undefined {
    if (this.generation === 0) return undefined;
    const d: Dequeued | undefined = this.scheduler.dequeue(now);
    this.collectDrops();
    if (!d) return undefined;
    const q = this.inQueue.get(d.handle);
    if (!q) throw new VMError(`internal: the queue model sent handle ${d.handle}, which is not queued`);
    this.inQueue.delete(d.handle);
    return { ...q, queue: d.queue, sentAt: now, ce: d.ce };
  }

  /** When the last fruitless dequeue wants to be asked again (undefined: at the next arrival). */
  wakeAt(): number | undefined {
    return this.scheduler.wakeAt();
  }

  /** Packets dropped since the last call (refused on arrival, or dropped from a queue), oldest first. */
  takeDropped(): Queued<T>[] {
    return this.dropped.splice(0, this.dropped.length);
  }

  /** Packets queued now. */
  get backlog(): number {
    return this.inQueue.size;
  }

  snapshot(): SchedulerSnapshot {
    const s = this.scheduler;
    const counters = s.counters();
    return {
      generation: this.generation,
      queues: s.queues(),
      events: s.events(),
      counters: Array.from(counters.packets, Number),
      filterHits: Array.from(this.classifierVm.counters().packets, Number),
      migrationDrops: this.migrationDrops,
      migrated: this.migrated,
    };
  }

  /** A scheduler state word of the active qdisc (token buckets, deficits: the compiler's layout names them). */
  stateWord(index: number): bigint {
    return this.scheduler.stateWord(index);
  }
}

export interface SchedulerSnapshot {
  generation: number;
  queues: QueueCounters[];
  events: EventCounters;
  /** the qdisc program's counters (packets) */
  counters: number[];
  /** the classifier's per-rule counters (packets) */
  filterHits: number[];
  migrationDrops: number;
  migrated: number;
}

export { ENQUEUE_OVERFLOW, ENQUEUE_REFUSED };
