/**
 * The NIC's egress port: the egress scheduler (scheduler.ts: classifier and qdisc programs, the queue model)
 * in front of a link of a configured rate, driven by the EG_ registers (REGISTERS.md, "Egress scheduler").
 *
 * Every packet leaving for the wire — an egress packet the policy accepted, whether an application posted it on
 * its transmit ring or it was injected as egress traffic — arrives here with its owner fields and mark. With a
 * qdisc committed it is classified and enqueued; the link dequeues one packet at a time and is busy for its
 * wire bytes × 8 / rate. Without one, packets pass unscheduled (counted as passed).
 *
 * **Time** is the link's own virtual clock in ns, counted from the first packet's timestamp: it moves to each
 * arriving packet's timestamp (never backwards: a slightly older stamp arrives "now", one over a second older
 * starts a new time base at "now") and on EG_ADVANCE_US. Between
 * those instants the link runs event to event — the link becoming free, the qdisc's timer — so what it sends is
 * exact and repeatable, whatever the host's speed; nothing depends on wall time except the timestamps the
 * packets carry.
 *
 * **A qdisc is a function change**: an image uploaded through EG_DATA (egress-image.ts) is decoded, both programs
 * verified and the memories laid out at LOAD, into the shadow slot; the host writes the owner-name ids the
 * classifier interned (EG_NAME_*, shadow bit) and COMMIT makes it active at the link's current time. Packets
 * queued then are carried over as scheduler.ts documents; those the new qdisc refuses are dropped and counted.
 * A refused upload changes nothing of the active qdisc. **Removing the qdisc** (tc's `qdisc del`) takes the same
 * path: EG_CTRL NONE stages "no qdisc" in the shadow slot and COMMIT makes it active — generation 0, packets pass
 * unscheduled again (the NIC's default, like a Linux device's noqueue), the removed qdisc's queue is dropped and
 * counted (migration_drops, dropped_packets), and the removed qdisc is kept for rollback.
 */
import { decodeImage, ImageError, verify, type ProgramImage } from "../overlay-isa/index.js";
import { ProgramRejected, TableError, VMError } from "../runtime/vm.js";
import { decodeQdiscImage, EgressImageError } from "./egress-image.js";
import { EgressScheduler, SchedulerError, type QdiscBundle } from "./scheduler.js";
import { APP_PAGES, EG_CMD, EG_DEFAULT_LINK_KBIT, EG_NAME_SHADOW, EG_QUEUE_FIELDS, EG_SNAP_HEAD, EG_STATE_NONE, ERR, PROG_STATE, VERIFY_RULES } from "./registers.js";

/** Largest qdisc image: two programs of the whole instruction memory and their tables, with room to spare. */
export const EG_IMAGE_MAX = 16 << 20;

/** A refused register access: the error code and its details (nic-device.ts records them). */
export interface EgressRefusal {
  code: number;
  arg0?: number;
  arg1?: number;
}

/** How far back a packet's stamp may be before it starts a new time base (ns). */
const REBASE_NS = 1e9;

type Names = Map<number, [number, number]>;

const HEAD_INDEX = Object.fromEntries(EG_SNAP_HEAD.map(([n], i) => [n, i])) as Record<(typeof EG_SNAP_HEAD)[number][0], number>;

export class EgressLink {
  private readonly sched: EgressScheduler<undefined>;
  rateKbit = EG_DEFAULT_LINK_KBIT;
  // the shadow slot's upload
  private shadowState: number = PROG_STATE.EMPTY;
  private length = 0;
  private addr = 0;
  private upload: Uint8Array | undefined;
  private written: Uint8Array | undefined;
  private shadowCrc = 0;
  private activeCrc = 0;
  private previousGen = 0;
  private previousCrc = 0;
  // owner-name ids of each qdisc's classifier, by application
  private activeNames: Names = new Map();
  private shadowNames: Names = new Map();
  private nameSelect = 0;
  // the link
  private epochUs: number | undefined;
  private nowNs = 0;
  private busyUntil: number | undefined;
  private wake: number | undefined;
  // accounting across every qdisc (enqueued = sent + dropped + backlog)
  private readonly totals = { enqueued: 0, sentPackets: 0, sentBytes: 0, droppedPackets: 0, droppedBytes: 0, passedPackets: 0, passedBytes: 0 };
  private snapshot: bigint[] = [];
  private snapSelect = 0;

  private constructor(sched: EgressScheduler<undefined>) {
    this.sched = sched;
  }

  static createSync(): EgressLink {
    return new EgressLink(EgressScheduler.createSync<undefined>());
  }

  static async create(): Promise<EgressLink> {
    return new EgressLink(await EgressScheduler.create<undefined>());
  }

  get generation(): number {
    return this.sched.generation;
  }

  /** Packets queued in the qdisc now. */
  get backlog(): number {
    return this.sched.backlog;
  }

  /** The link clock, ns since its first packet. */
  get now(): number {
    return this.nowNs;
  }

  // ---- the data path -------------------------------------------------------------------------------------

  /**
   * A packet leaves for the wire at `timeUs` (device clock). `owner` is the six owner words as the policy's slot
   * saw them (or undefined: no owner); the command and cgroup ids are replaced by the ones the qdisc's
   * classifier interned for that application.
   */
  transmit(frame: Uint8Array, wireLength: number, owner: Uint32Array | undefined, mark: number, timeUs: number): void {
    this.advanceTo(this.clockOf(timeUs));
    if (this.sched.generation === 0) {
      this.totals.passedPackets++;
      this.totals.passedBytes += wireLength;
      return;
    }
    if (frame.length === 0) return; // never reaches here: the policy judged a frame
    let words: Uint32Array | undefined;
    if (owner && owner[0] !== 0) {
      words = owner.slice();
      const n = this.activeNames.get(owner[0]!);
      words[4] = n?.[0] ?? 0;
      words[5] = n?.[1] ?? 0;
    }
    this.totals.enqueued++;
    this.sched.enqueue({ frame, wireLength, mark, ...(words ? { owner: words } : {}) }, this.nowNs);
    this.noteDrops();
    this.pump();
  }

  /**
   * Device time in µs → link time in ns. The first packet fixes the epoch. A stamp up to a second older than the
   * link's clock arrives "now" (sources interleave); one further back is another time base (a capture replayed
   * after live traffic): the epoch moves so that it arrives now and the packets after it keep their spacing.
   */
  private clockOf(timeUs: number): number {
    if (this.epochUs === undefined) this.epochUs = timeUs;
    const ns = Math.round((timeUs - this.epochUs) * 1000);
    if (ns < this.nowNs - REBASE_NS) {
      this.epochUs = timeUs - this.nowNs / 1000;
      return this.nowNs;
    }
    return Math.max(this.nowNs, ns);
  }

  /** Run the link up to `toNs`: finish transmissions, fire the qdisc's timers, send what can be sent. */
  advanceTo(toNs: number): void {
    for (;;) {
      if (this.busyUntil !== undefined) {
        if (this.busyUntil > toNs) break;
        this.nowNs = Math.max(this.nowNs, this.busyUntil);
        this.busyUntil = undefined;
        this.pump();
        continue;
      }
      if (this.wake !== undefined && this.wake <= toNs) {
        this.nowNs = Math.max(this.nowNs, this.wake);
        this.wake = undefined;
        this.pump();
        continue;
      }
      break;
    }
    this.nowNs = Math.max(this.nowNs, toNs);
  }

  /** The link is free at nowNs: ask the qdisc for a packet. */
  private pump(): void {
    if (this.busyUntil !== undefined || this.sched.generation === 0) return;
    const sent = this.sched.dequeue(this.nowNs);
    this.noteDrops();
    if (!sent) {
      const w = this.sched.wakeAt();
      this.wake = w === undefined ? undefined : Math.max(w, this.nowNs + 1);
      return;
    }
    this.wake = undefined;
    const len = sent.packet.wireLength;
    this.totals.sentPackets++;
    this.totals.sentBytes += len;
    const bitsPerSec = this.rateKbit * 1000;
    this.busyUntil = this.nowNs + Math.max(1, Math.round((len * 8 * 1e9) / bitsPerSec));
  }

  private noteDrops(): void {
    for (const d of this.sched.takeDropped()) {
      this.totals.droppedPackets++;
      this.totals.droppedBytes += d.packet.wireLength;
    }
  }

  // ---- registers -----------------------------------------------------------------------------------------

  read(name: string): number {
    switch (name) {
      case "EG_LENGTH":
        return this.length;
      case "EG_ADDR":
        return this.addr;
      case "EG_STATE":
        return this.shadowState;
      case "EG_GEN":
        return this.sched.generation;
      case "EG_PREVIOUS_GEN":
        return this.shadowState === PROG_STATE.PREVIOUS ? this.previousGen : 0;
      case "EG_CRC":
        return this.sched.generation > 0 ? this.activeCrc : 0;
      case "EG_IMAGE_MAX":
        return EG_IMAGE_MAX;
      case "EG_LINK_KBIT":
        return this.rateKbit;
      case "EG_NAME_SELECT":
        return this.nameSelect;
      case "EG_NAME_CMD":
      case "EG_NAME_CGROUP": {
        const n = this.selectedNames().get(this.nameSelect & 0xff);
        return n?.[name === "EG_NAME_CMD" ? 0 : 1] ?? 0;
      }
      case "EG_SNAP_WORDS":
        return this.snapshot.length;
      case "EG_SNAP_SELECT":
        return this.snapSelect;
      case "EG_SNAP_LO":
      case "EG_SNAP_HI": {
        const v = this.snapshot[this.snapSelect] ?? 0n;
        if (name === "EG_SNAP_LO") return Number(v & 0xffffffffn);
        if (this.snapSelect < this.snapshot.length) this.snapSelect++;
        return Number((v >> 32n) & 0xffffffffn);
      }
      default:
        return 0;
    }
  }

  /** Write an EG_ register; true when done, else the refusal. */
  write(name: string, value: number): true | EgressRefusal {
    const bad = (): EgressRefusal => ({ code: ERR.BAD_VALUE, arg1: value });
    switch (name) {
      case "EG_CTRL":
        if (value === EG_CMD.RESET) {
          this.resetShadow();
          return true;
        }
        if (value === EG_CMD.LOAD) return this.load();
        if (value === EG_CMD.NONE) return this.stageNone();
        return bad();
      case "EG_LENGTH":
        if (value < 1 || value > EG_IMAGE_MAX) return bad();
        if (this.shadowState === PROG_STATE.VERIFIED || this.shadowState === PROG_STATE.PREVIOUS) return { code: ERR.SLOT_BUSY, arg0: 1 };
        this.shadowState = PROG_STATE.UPLOADING;
        this.length = value;
        this.addr = 0;
        this.upload = new Uint8Array(value);
        this.written = new Uint8Array(Math.ceil(value / 4));
        return true;
      case "EG_ADDR":
        if (this.shadowState !== PROG_STATE.UPLOADING) return { code: ERR.SLOT_BUSY, arg0: 1 };
        if ((value & 3) !== 0 || value >= this.length) return bad();
        this.addr = value;
        return true;
      case "EG_DATA":
        return this.data(value);
      case "EG_COMMIT":
      case "EG_ROLLBACK":
        return this.swap(name === "EG_ROLLBACK", value);
      case "EG_LINK_KBIT":
        if (value < 1) return bad();
        this.rateKbit = value;
        return true;
      case "EG_ADVANCE_US":
        if (value < 1) return bad();
        this.advanceTo(this.nowNs + value * 1000);
        return true;
      case "EG_NAME_SELECT": {
        const app = value & ~EG_NAME_SHADOW;
        if (app < 1 || app >= APP_PAGES) return bad();
        this.nameSelect = value;
        return true;
      }
      case "EG_NAME_CMD":
      case "EG_NAME_CGROUP": {
        const app = this.nameSelect & 0xff;
        if (app === 0) return { code: ERR.NO_APP, arg0: 0 };
        const names = this.selectedNames();
        const n = names.get(app) ?? [0, 0];
        n[name === "EG_NAME_CMD" ? 0 : 1] = value;
        if (n[0] === 0 && n[1] === 0) names.delete(app);
        else names.set(app, n);
        return true;
      }
      case "EG_LATCH":
        if (value !== 1) return bad();
        this.latch();
        return true;
      case "EG_SNAP_SELECT":
        if (value >= Math.max(1, this.snapshot.length)) return bad();
        this.snapSelect = value;
        return true;
      default:
        return { code: ERR.READ_ONLY };
    }
  }

  private selectedNames(): Names {
    return (this.nameSelect & EG_NAME_SHADOW) !== 0 ? this.shadowNames : this.activeNames;
  }

  private resetShadow(): void {
    this.shadowState = PROG_STATE.EMPTY;
    this.length = 0;
    this.addr = 0;
    this.upload = undefined;
    this.written = undefined;
    this.shadowCrc = 0;
    this.shadowNames = new Map();
  }

  private data(value: number): true | EgressRefusal {
    if (this.shadowState !== PROG_STATE.UPLOADING || !this.upload || !this.written) return { code: ERR.SLOT_BUSY, arg0: 1 };
    const at = this.addr;
    if (at >= this.length) return { code: ERR.UPLOAD_OVERFLOW, arg0: at, arg1: this.length };
    for (let i = 0; i < 4; i++) {
      const b = (value >>> (8 * i)) & 0xff;
      if (at + i < this.length) this.upload[at + i] = b;
      else if (b !== 0) return { code: ERR.UPLOAD_OVERFLOW, arg0: at + i, arg1: this.length };
    }
    this.written[at >> 2] = 1;
    this.addr = at + 4;
    return true;
  }

  /** NONE: "no qdisc" into the shadow slot (an upload in progress is abandoned, as a new EG_LENGTH would). */
  private stageNone(): true | EgressRefusal {
    if (this.shadowState === PROG_STATE.VERIFIED || this.shadowState === PROG_STATE.PREVIOUS || this.shadowState === EG_STATE_NONE) return { code: ERR.SLOT_BUSY, arg0: 1 };
    this.resetShadow();
    this.sched.loadNone();
    this.shadowState = EG_STATE_NONE;
    return true;
  }

  /** LOAD: decode the container, verify both programs, install into the shadow slot. Refusals change nothing active. */
  private load(): true | EgressRefusal {
    if (this.shadowState !== PROG_STATE.UPLOADING || !this.upload || !this.written) return { code: ERR.SLOT_BUSY, arg0: 1 };
    const refuse = (r: EgressRefusal): EgressRefusal => {
      this.shadowState = PROG_STATE.REJECTED;
      this.upload = undefined;
      this.written = undefined;
      return r;
    };
    const missing = this.written.indexOf(0);
    if (missing >= 0) return refuse({ code: ERR.BAD_IMAGE, arg0: missing * 4 });
    let parts;
    try {
      parts = decodeQdiscImage(this.upload);
    } catch (e) {
      if (e instanceof EgressImageError) return refuse({ code: ERR.BAD_IMAGE, arg0: e.byteOffset });
      throw e;
    }
    const images: ProgramImage[] = [];
    for (const [bytes, at, kind] of [
      [parts.classifier, parts.classifierAt, "policy"],
      [parts.scheduler, parts.schedulerAt, "scheduler"],
    ] as const) {
      let image: ProgramImage;
      try {
        image = decodeImage(bytes);
      } catch (e) {
        if (e instanceof ImageError) return refuse({ code: ERR.BAD_IMAGE, arg0: at + e.byteOffset });
        throw e;
      }
      if (image.kind !== kind) return refuse({ code: ERR.BAD_IMAGE, arg0: at + 6 });
      const v = verify(image);
      if (!v.ok) {
        const first = v.errors[0]!;
        return refuse({ code: ERR.VERIFY_FAILED, arg0: first.index ?? first.table ?? 0xffffffff, arg1: VERIFY_RULES.indexOf(first.rule as (typeof VERIFY_RULES)[number]) });
      }
      images.push(image);
    }
    const bundle: QdiscBundle = { classifier: images[0]!, classifierEntries: parts.entries, scheduler: images[1]!, sizes: parts.sizes, label: parts.label };
    try {
      this.sched.load(bundle);
    } catch (e) {
      if (e instanceof TableError) return refuse({ code: ERR.BAD_ENTRY, arg0: 0 });
      if (e instanceof ProgramRejected) return refuse({ code: ERR.VM_REFUSED, arg0: e.errors[0]?.index ?? 0xffffffff });
      if (e instanceof VMError) return refuse({ code: ERR.VM_REFUSED, arg0: 0xffffffff });
      throw e;
    }
    this.shadowState = PROG_STATE.VERIFIED;
    this.shadowCrc = parts.crc;
    this.upload = undefined;
    this.written = undefined;
    return true;
  }

  private swap(rollback: boolean, expected: number): true | EgressRefusal {
    const gen = this.sched.generation;
    if (expected !== gen) return { code: ERR.GEN_MISMATCH, arg0: gen, arg1: expected };
    const removing = !rollback && this.shadowState === EG_STATE_NONE;
    if (removing && gen === 0) return { code: ERR.NO_PROGRAM, arg0: 0 };
    if (rollback ? this.shadowState !== PROG_STATE.PREVIOUS : this.shadowState !== PROG_STATE.VERIFIED && !removing) return rollback ? { code: ERR.NO_PREVIOUS } : { code: ERR.NOT_VERIFIED, arg0: this.shadowState };
    // the queued packets move over at the link's present instant
    try {
      if (rollback) this.sched.rollback(this.nowNs);
      else this.sched.commit(this.nowNs, gen);
    } catch (e) {
      if (e instanceof SchedulerError) return rollback ? { code: ERR.NO_PREVIOUS } : { code: ERR.NOT_VERIFIED };
      throw e;
    }
    const oldNames = this.activeNames;
    this.activeNames = this.shadowNames;
    this.shadowNames = oldNames;
    const oldCrc = gen > 0 ? this.activeCrc : 0;
    this.activeCrc = rollback ? this.previousCrc : this.shadowCrc;
    this.previousCrc = oldCrc;
    this.previousGen = gen;
    this.shadowCrc = 0;
    this.shadowState = gen > 0 ? PROG_STATE.PREVIOUS : PROG_STATE.EMPTY;
    this.noteDrops();
    this.wake = undefined;
    this.pump();
    return true;
  }

  /** EG_LATCH: every value of the snapshot at this instant. */
  private latch(): void {
    const t = this.totals;
    const active = this.sched.generation > 0;
    const queues = active ? this.sched.scheduler.queues() : [];
    const events = active ? this.sched.scheduler.events() : undefined;
    const counters = active ? this.sched.scheduler.counters().packets : new BigUint64Array(0);
    const filters = active ? this.sched.classifierVm.counters().packets : new BigUint64Array(0);
    const words = active ? this.stateWordCount() : 0;
    let backlogBytes = 0;
    for (const q of queues) backlogBytes += q.bytes;
    const head = new Array<number>(EG_SNAP_HEAD.length).fill(0);
    const set = (n: keyof typeof HEAD_INDEX, v: number) => (head[HEAD_INDEX[n]] = v);
    set("generation", this.sched.generation);
    set("now_ns", this.nowNs);
    set("enqueued", t.enqueued);
    set("sent_packets", t.sentPackets);
    set("sent_bytes", t.sentBytes);
    set("dropped_packets", t.droppedPackets);
    set("dropped_bytes", t.droppedBytes);
    set("backlog_packets", this.sched.backlog);
    set("backlog_bytes", backlogBytes);
    set("passed_packets", t.passedPackets);
    set("passed_bytes", t.passedBytes);
    set("migrated", this.sched.migrated);
    set("migration_drops", this.sched.migrationDrops);
    if (events) {
      set("offered", events.offered);
      set("refused", events.refused);
      set("overflow", events.overflow);
      set("faults", events.faults);
      set("overruns", events.overruns);
      set("empty_pops", events.emptyPops);
      set("dequeue_runs", events.dequeueRuns);
      set("queue_drops", events.queueDrops);
    }
    set("queues", queues.length);
    set("counters", counters.length);
    set("filters", filters.length);
    set("state_words", words);
    const snap: bigint[] = head.map((v) => BigInt(v));
    for (const q of queues) for (const f of EG_QUEUE_FIELDS) snap.push(BigInt(q[f]));
    for (const c of counters) snap.push(c);
    for (const c of filters) snap.push(c);
    for (let i = 0; i < words; i++) snap.push(this.sched.stateWord(i));
    this.snapshot = snap;
    this.snapSelect = 0;
  }

  private stateWordCount(): number {
    return this.sched.activeBundle?.sizes.stateWords ?? 0;
  }

  /** The active qdisc's label (`htb 1: root`), for listings. */
  get activeLabel(): string | undefined {
    return this.sched.activeBundle?.label;
  }
}
