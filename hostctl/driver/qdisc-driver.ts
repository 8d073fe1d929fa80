/**
 * The egress scheduler's driver: loading a qdisc is a function change made of register writes — upload the qdisc
 * image (fpga-model/egress-image.ts) through EG_DATA into the shadow slot, LOAD, write the owner-name ids its
 * classifier interned for every attached application, COMMIT against the qdisc generation the host believes
 * active — in one transaction, so nothing of it is live unless the commit happens. Statistics are one latch and
 * a run of reads of the snapshot (REGISTERS.md, "Egress scheduler").
 */
import { encodeImage } from "../../overlay-isa/index.js";
import { encodeQdiscImage } from "../../fpga-model/egress-image.js";
import { EG_CMD, EG_NAME_SHADOW, EG_QUEUE_FIELDS, EG_SNAP_HEAD, REG } from "../../fpga-model/registers.js";
import type { QdiscBundle, SchedulerSnapshot } from "../../fpga-model/scheduler.js";
import type { QueueCounters } from "../../runtime/sched/scheduler-vm.js";
import { NicDriver } from "./driver.js";
import { Transaction } from "./transaction.js";
import type { QdiscUpdate, TransactResult } from "./transport.js";

/** Owner-name ids of one application as the qdisc's classifier interned them (0: a name its filters never use). */
export interface QdiscNames {
  app: number;
  cmd: number;
  cgroup: number;
}

export type EgressHead = Record<(typeof EG_SNAP_HEAD)[number][0], number>;

/** Everything EG_LATCH copied, decoded. */
export interface EgressSnapshot {
  head: EgressHead;
  queues: QueueCounters[];
  counters: number[];
  filters: number[];
  stateWords: bigint[];
}

/** The statistics source tc-stats formats (hostctl/qos/tc-stats.ts), from a device snapshot. */
export function schedulerSnapshotOf(s: EgressSnapshot): { snapshot: SchedulerSnapshot; stateWord(i: number): bigint } {
  const h = s.head;
  return {
    snapshot: {
      generation: h.generation,
      queues: s.queues,
      events: { offered: h.offered, refused: h.refused, overflow: h.overflow, faults: h.faults, overruns: h.overruns, emptyPops: h.empty_pops, dequeueRuns: h.dequeue_runs, queueDrops: h.queue_drops },
      counters: s.counters,
      filterHits: s.filters,
      migrationDrops: h.migration_drops,
      migrated: h.migrated,
    },
    stateWord: (i) => s.stateWords[i] ?? 0n,
  };
}

/** The qdisc image of a bundle (what EG_DATA carries). */
export function qdiscImageOf(bundle: QdiscBundle): Uint8Array {
  return encodeQdiscImage({ classifier: encodeImage(bundle.classifier), scheduler: encodeImage(bundle.scheduler), entries: bundle.classifierEntries, sizes: bundle.sizes, ...(bundle.label !== undefined ? { label: bundle.label } : {}) });
}

const SNAP_INDEX = Object.fromEntries(EG_SNAP_HEAD.map(([n], i) => [n, i])) as Record<keyof EgressHead, number>;

export class QdiscDriver {
  constructor(readonly driver: NicDriver) {}

  /** Append the upload of a qdisc image into the shadow slot (RESET, LENGTH, DATA…, LOAD). */
  static addUpload(t: Transaction, image: Uint8Array): void {
    t.write(REG.EG_CTRL, EG_CMD.RESET);
    t.write(REG.EG_LENGTH, image.length);
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    for (let at = 0; at < image.length; at += 4) {
      let word = 0;
      if (at + 4 <= image.length) word = view.getUint32(at, true);
      else for (let i = 0; at + i < image.length; i++) word |= image[at + i]! << (8 * i);
      t.write(REG.EG_DATA, word >>> 0);
    }
    t.write(REG.EG_CTRL, EG_CMD.LOAD);
  }

  /**
   * Load and commit a qdisc atomically: upload, names, commit against `expectedGeneration`, all in one transaction
   * (with the host's qdisc record updated only if every access succeeded). Returns the new qdisc generation.
   */
  async load(image: Uint8Array, names: readonly QdiscNames[], expectedGeneration: number, opts: { linkKbit?: number; update?: QdiscUpdate } = {}): Promise<{ generation: number; writes: number; result: TransactResult }> {
    const t = new Transaction();
    QdiscDriver.addUpload(t, image);
    for (const n of names) {
      if (n.cmd === 0 && n.cgroup === 0) continue;
      t.write(REG.EG_NAME_SELECT, n.app | EG_NAME_SHADOW);
      t.write(REG.EG_NAME_CMD, n.cmd);
      t.write(REG.EG_NAME_CGROUP, n.cgroup);
    }
    if (opts.linkKbit !== undefined) t.write(REG.EG_LINK_KBIT, opts.linkKbit);
    t.write(REG.EG_COMMIT, expectedGeneration);
    const gen = t.read(REG.EG_GEN);
    const r = await this.driver.run(t, undefined, undefined, opts.update);
    return { generation: r.reads[t.readSlot(gen)]!, writes: t.writes, result: r };
  }

  /**
   * Remove the active qdisc (tc's `qdisc del`): stage "no qdisc" in the shadow slot and commit it against
   * `expectedGeneration`, in one transaction that also latches the drop counters just before and after — so
   * the packets and bytes the removal dropped (the removed qdisc's queue) are exact, whatever else runs.
   */
  async remove(expectedGeneration: number, update?: QdiscUpdate): Promise<{ droppedPackets: number; droppedBytes: number; writes: number; result: TransactResult }> {
    const t = new Transaction();
    // [migration_drops, dropped_bytes], each as the access indexes of its low and high word
    const latchDrops = (): [number, number][] => {
      t.write(REG.EG_LATCH, 1);
      return (["migration_drops", "dropped_bytes"] as const).map((name) => {
        t.write(REG.EG_SNAP_SELECT, SNAP_INDEX[name]);
        return [t.read(REG.EG_SNAP_LO), t.read(REG.EG_SNAP_HI)];
      });
    };
    const before = latchDrops();
    t.write(REG.EG_CTRL, EG_CMD.RESET);
    t.write(REG.EG_CTRL, EG_CMD.NONE);
    t.write(REG.EG_COMMIT, expectedGeneration);
    const after = latchDrops();
    const r = await this.driver.run(t, undefined, undefined, update);
    const value = ([lo, hi]: [number, number]) => r.reads[t.readSlot(lo)]! + r.reads[t.readSlot(hi)]! * 2 ** 32;
    return { droppedPackets: value(after[0]!) - value(before[0]!), droppedBytes: value(after[1]!) - value(before[1]!), writes: t.writes, result: r };
  }

  async generation(): Promise<number> {
    return (await this.driver.readRegisters([REG.EG_GEN]))[0]!;
  }

  async status(): Promise<{ generation: number; previousGeneration: number; state: number; crc: number; linkKbit: number }> {
    const [generation, previousGeneration, state, crc, linkKbit] = (await this.driver.readRegisters([REG.EG_GEN, REG.EG_PREVIOUS_GEN, REG.EG_STATE, REG.EG_CRC, REG.EG_LINK_KBIT])) as [number, number, number, number, number];
    return { generation, previousGeneration, state, crc, linkKbit };
  }

  async rollback(expectedGeneration: number, update?: QdiscUpdate): Promise<number> {
    const t = new Transaction();
    t.write(REG.EG_ROLLBACK, expectedGeneration);
    const g = t.read(REG.EG_GEN);
    const r = await this.driver.run(t, undefined, undefined, update);
    return r.reads[t.readSlot(g)]!;
  }

  async setLinkRate(kbit: number): Promise<void> {
    const t = new Transaction();
    t.write(REG.EG_LINK_KBIT, kbit);
    await this.driver.run(t);
  }

  /** Move the egress link's clock on (the link sends what it sends meanwhile). */
  async advance(us: number): Promise<void> {
    const t = new Transaction();
    for (let left = Math.round(us); left > 0; left -= 0xffffffff) t.write(REG.EG_ADVANCE_US, Math.min(left, 0xffffffff));
    if (t.length > 0) await this.driver.run(t);
  }

  /** Latch and read the egress statistics (one instant; retried if another host latched in between). */
  async snapshot(): Promise<EgressSnapshot> {
    for (let attempt = 0; ; attempt++) {
      const head = new Transaction();
      head.write(REG.EG_LATCH, 1);
      head.read(REG.EG_SNAP_WORDS);
      head.write(REG.EG_SNAP_SELECT, 0);
      for (let i = 0; i < EG_SNAP_HEAD.length; i++) {
        head.read(REG.EG_SNAP_LO);
        head.read(REG.EG_SNAP_HI);
      }
      const hr = (await this.driver.run(head)).reads;
      const total = hr[0]!;
      const values = pairs(hr.slice(1));
      const h = Object.fromEntries(EG_SNAP_HEAD.map(([n], i) => [n, Number(values[i]!)])) as EgressHead;
      const rest = total - EG_SNAP_HEAD.length;
      const t = new Transaction();
      t.read(REG.EG_SNAP_WORDS);
      if (rest > 0) {
        t.write(REG.EG_SNAP_SELECT, EG_SNAP_HEAD.length);
        for (let i = 0; i < rest; i++) {
          t.read(REG.EG_SNAP_LO);
          t.read(REG.EG_SNAP_HI);
        }
      }
      const tr = (await this.driver.run(t)).reads;
      // another host's latch between the two transactions: read again (the second one sees the same snapshot)
      if (tr[0] !== total && attempt < 3) continue;
      const body = pairs(tr.slice(1));
      let at = 0;
      const queues: QueueCounters[] = [];
      for (let q = 0; q < h.queues; q++) {
        const rec = {} as QueueCounters;
        for (const f of EG_QUEUE_FIELDS) rec[f] = Number(body[at++] ?? 0n);
        queues.push(rec);
      }
      const counters = Array.from({ length: h.counters }, () => Number(body[at++] ?? 0n));
      const filters = Array.from({ length: h.filters }, () => Number(body[at++] ?? 0n));
      const stateWords = Array.from({ length: h.state_words }, () => body[at++] ?? 0n);
      return { head: h, queues, counters, filters, stateWords };
    }
  }
}

function pairs(words: readonly number[]): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 1 < words.length; i += 2) out.push(BigInt(words[i]!) | (BigInt(words[i + 1]!) << 32n));
  return out;
}
