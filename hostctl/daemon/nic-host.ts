/**
 * The NIC as a long-lived service: the device model, the host state beside it, the configuration lock, the
 * receive pump that works through the device's FIFO a slice at a time (so register transactions of other
 * clients land between slices, as they would between packets on real hardware), `load --confirm` rollback
 * timers, and `--state FILE` persistence (the policy, the egress qdisc and the link rate). The daemon
 * (server.ts) and the in-process transport (local-transport.ts) both drive one of these, so `--nic local`
 * behaves as the daemon does.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { decodeImage, ImageError } from "../../overlay-isa/index.js";
import { KERNEL, NicDevice, type NicConfig } from "../../fpga-model/nic-device.js";
import type { BatchOutcome, PacketBatch } from "../../fpga-model/packets.js";
import { CNT_SELECT_SHADOW, EG_DEFAULT_LINK_KBIT, REG } from "../../fpga-model/registers.js";
import { checkHostState, decodeEntry, encodeOffsets, HostStateError, imageBytes, offsetsOf, type HostState } from "../driver/host-state.js";
import { executeTransaction, OP_READ, OP_WRITE, type TransactionResult } from "../driver/transaction.js";
import type { HostStateRecord, QdiscRecord, QdiscState, QdiscUpdate, StateUpdate } from "../driver/transport.js";
import { checkQdiscState } from "../driver/qdisc-state.js";
import { QdiscDriver } from "../driver/qdisc-driver.js";
import { syncQdiscNames } from "./qdisc-names.js";
import { NicDriver } from "../driver/driver.js";
import { LocalTransport } from "./local-transport.js";

/** Packets processed per slice of the receive pump. */
const PUMP_SLICE = 2048;
const STATE_FILE_VERSION = 1;

export interface NicHostOptions {
  config?: NicConfig;
  /** persist the committed configuration here and restore it at start */
  stateFile?: string;
  /** packets the receive pump processes between chances for other requests (default 2048) */
  pumpSlice?: number;
  log?: (line: string) => void;
}

export interface AccessOp {
  kind: number;
  offset: number;
  value: number;
}

/** The state file could not be used (its message names the file and the problem). */
export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateFileError";
  }
}

export class NicHost {
  revision = 0;
  state: HostState | null = null;
  /** the qdisc record (hostctl qdisc add|replace), with its own revision */
  qdiscRevision = 0;
  qdiscState: QdiscState | null = null;
  private lockOwner: object | undefined;
  private readonly lockWaiters: { owner: object; resolve: () => void }[] = [];
  private pumping = false;
  private pending: { deadline: number; generation: number; previous: HostState | null; timer: NodeJS.Timeout } | undefined;
  private closed = false;
  /** restoring the state file (nothing is persisted meanwhile) */
  private restoring = false;
  private readonly log: (line: string) => void;
  /** called after every kernel transaction and state change (hostctl/apps keeps owner name ids in step) */
  private readonly changeListeners = new Set<() => void>();

  private constructor(
    readonly device: NicDevice,
    readonly options: NicHostOptions,
  ) {
    this.log = options.log ?? (() => {});
  }

  static async create(options: NicHostOptions = {}): Promise<NicHost> {
    const host = new NicHost(await NicDevice.create(options.config), options);
    if (options.stateFile !== undefined) await host.restore(options.stateFile);
    return host;
  }

  // ---- register transactions ---------------------------------------------------------------------------

  /**
   * Run accesses as `requester`; with an update, check the revision first (a stale plan executes nothing) and
   * apply the update only when every access succeeded.
   */
  transact(ops: readonly AccessOp[], requester = KERNEL, update?: StateUpdate, qdisc?: QdiscUpdate): TransactionResult & { revision: number; qdiscRevision: number; conflict?: boolean } {
    const refused = { reads: [], executed: 0, writes: 0, revision: this.revision, qdiscRevision: this.qdiscRevision, conflict: true as const };
    if (update && (requester !== KERNEL || update.expectRevision !== this.revision)) return refused;
    if (qdisc && (requester !== KERNEL || qdisc.expectRevision !== this.qdiscRevision)) return refused;
    const previous = this.state;
    const r = executeTransaction(this.device, ops, requester);
    // a transmit doorbell (an application's, too) puts packets in the FIFO: the pump takes them
    if (this.device.pending > 0) this.schedulePump();
    // the saved configuration: the policy, the qdisc and the link rate (a refused transaction may have set it)
    let save = requester === KERNEL && ops.slice(0, r.executed).some((o) => o.kind === OP_WRITE && o.offset === REG.EG_LINK_KBIT);
    if (update && !r.error) {
      this.state = update.state ? { ...update.state, generation: this.device.read32(REG.ACTIVE_GEN) } : null;
      if (this.state && update.carryCounters?.length) this.carry(this.state, update.carryCounters);
      this.revision++;
      if (update.confirmWithinMs !== undefined) this.armRollback(update.confirmWithinMs, previous);
      else if (this.pending) this.disarm();
      save = true;
    }
    if (qdisc && !r.error) {
      this.qdiscState = qdisc.state ? { ...qdisc.state, generation: this.device.read32(REG.EG_GEN) } : null;
      this.qdiscRevision++;
      save = true;
    }
    if (save) this.persist();
    if (requester === KERNEL) this.changed();
    return { ...r, revision: this.revision, qdiscRevision: this.qdiscRevision };
  }

  qdiscRecord(): QdiscRecord {
    return { revision: this.qdiscRevision, state: this.qdiscState };
  }

  /**
   * Listen for kernel transactions and host-state changes; the listener runs synchronously, before any packet
   * is processed after the change (so it can complete a commit's bookkeeping atomically). Returns a remover.
   */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  /** Make sure the receive pump runs (packets were put in the FIFO other than by inject). */
  kick(): void {
    if (this.device.pending > 0) this.schedulePump();
  }

  /** Fold the replaced (now shadow) program's final counts of `ids` into the state's carried-over counts. */
  private carry(state: HostState, ids: readonly number[]): void {
    const head = executeTransaction(this.device, [
      { kind: OP_WRITE, offset: REG.CNT_SELECT, value: CNT_SELECT_SHADOW >>> 0 },
      { kind: OP_READ, offset: REG.CNT_DECLARED, value: 0 },
    ]);
    if (head.error) return; // no previous program: nothing to carry
    const oldDeclared = head.reads[0]!;
    const keep = ids.filter((id) => id < oldDeclared);
    const ops: AccessOp[] = [];
    for (const id of keep) {
      ops.push({ kind: OP_WRITE, offset: REG.CNT_SELECT, value: (id | CNT_SELECT_SHADOW) >>> 0 });
      for (const reg of [REG.CNT_PACKETS_LO, REG.CNT_PACKETS_HI, REG.CNT_BYTES_LO, REG.CNT_BYTES_HI]) ops.push({ kind: OP_READ, offset: reg, value: 0 });
    }
    const r = executeTransaction(this.device, ops);
    if (r.error) return;
    const offsets = offsetsOf(state);
    keep.forEach((id, k) => {
      const [pl, ph, bl, bh] = r.reads.slice(4 * k, 4 * k + 4) as [number, number, number, number];
      const p = BigInt(pl) | (BigInt(ph) << 32n);
      const b = BigInt(bl) | (BigInt(bh) << 32n);
      if (p === 0n && b === 0n) return;
      const o = offsets.get(id) ?? { packets: 0n, bytes: 0n };
      offsets.set(id, { packets: o.packets + p, bytes: o.bytes + b });
    });
    state.counterOffsets = encodeOffsets(offsets);
  }

  record(): HostStateRecord {
    return { revision: this.revision, state: this.state, ...(this.pending ? { pendingConfirm: { deadline: this.pending.deadline, generation: this.pending.generation } } : {}) };
  }

  // ---- traffic -----------------------------------------------------------------------------------------

  inject(batch: PacketBatch): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      try {
        this.device.receive(batch, resolve);
      } catch (e) {
        reject(e);
        return;
      }
      this.schedulePump();
    });
  }

  private schedulePump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumping = false;
    if (this.closed) return;
    // the qdisc's classifier sees each application's owner names as it interned them (attached since, too)
    syncQdiscNames(this);
    this.device.process(this.options.pumpSlice ?? PUMP_SLICE);
    for (const e of this.device.takeInternalErrors()) this.log(`internal error in the data path (packets dropped as faulted): ${(e as Error)?.stack ?? String(e)}`);
    if (this.device.pending > 0) this.schedulePump();
  }

  // ---- configuration lock ------------------------------------------------------------------------------

  lock(owner: object): Promise<void> {
    if (this.lockOwner === undefined || this.lockOwner === owner) {
      this.lockOwner = owner;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.lockWaiters.push({ owner, resolve }));
  }

  /** Release the lock if `owner` holds it, and forget any wait of `owner` (its connection ended). */
  unlock(owner: object): void {
    const i = this.lockWaiters.findIndex((w) => w.owner === owner);
    if (i >= 0) this.lockWaiters.splice(i, 1);
    if (this.lockOwner !== owner) return;
    const next = this.lockWaiters.shift();
    this.lockOwner = next?.owner;
    next?.resolve();
  }

  // ---- load --confirm ----------------------------------------------------------------------------------

  private armRollback(ms: number, previous: HostState | null): void {
    this.disarm();
    const generation = this.device.read32(REG.ACTIVE_GEN);
    const timer = setTimeout(() => this.rollbackNow(), ms);
    timer.unref?.();
    this.pending = { deadline: Date.now() + ms, generation, previous, timer };
  }

  private disarm(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  confirm(decision: "keep" | "rollback" = "keep"): boolean {
    const had = this.pending !== undefined;
    if (decision === "rollback") this.rollbackNow();
    else this.disarm();
    return had;
  }

  /** The confirmation did not come: put the previous program and host state back. */
  rollbackNow(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    const r = executeTransaction(this.device, [
      { kind: OP_WRITE, offset: REG.ROLLBACK, value: p.generation },
      { kind: OP_READ, offset: REG.ACTIVE_GEN, value: 0 },
    ]);
    if (r.error) {
      this.log(`load --confirm: not confirmed, but rollback is impossible (device error ${r.error.code}); keeping generation ${p.generation}`);
      return;
    }
    const generation = r.reads[0]!;
    this.state = p.previous ? { ...p.previous, generation, changedAt: new Date().toISOString() } : null;
    this.revision++;
    this.persist();
    this.changed();
    this.log(`load --confirm: not confirmed in time; rolled back to the previous program (generation ${generation})`);
  }

  // ---- persistence ---------------------------------------------------------------------------------------

  private persist(): void {
    const file = this.options.stateFile;
    if (file === undefined || this.restoring) return;
    const tmp = `${file}.tmp-${process.pid}`;
    // a qdisc is saved with its image, which a restart uploads again (a record without one cannot be restored)
    const q = this.qdiscState;
    if (q && q.image === undefined) this.log(`the qdisc record of ${q.policy.file} carries no image (loaded by an older hostctl): the state file keeps no qdisc`);
    const qdisc = q && q.image !== undefined ? q : null;
    try {
      writeFileSync(tmp, JSON.stringify({ kopiNicState: STATE_FILE_VERSION, revision: this.revision, state: this.state, qdisc, linkKbit: this.device.read32(REG.EG_LINK_KBIT) }) + "\n");
      renameSync(tmp, file);
    } catch (e) {
      this.log(`cannot write the state file ${file}: ${(e as Error).message}`);
    }
  }

  /** Replay the last committed configuration of a state file through the register interface. */
  private async restore(file: string): Promise<void> {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // first start: the file appears at the first change
      throw new StateFileError(`${file}: ${(e as Error).message}`);
    }
    let parsed: { kopiNicState?: unknown; revision?: unknown; state?: unknown; qdisc?: unknown; linkKbit?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (e) {
      throw new StateFileError(`${file}: not JSON (${(e as Error).message})`);
    }
    if (parsed === null || typeof parsed !== "object" || parsed.kopiNicState !== STATE_FILE_VERSION) throw new StateFileError(`${file}: not a kopi NIC state file (version ${STATE_FILE_VERSION})`);
    if (typeof parsed.revision !== "number" || !Number.isInteger(parsed.revision) || parsed.revision < 0) throw new StateFileError(`${file}: revision must be a non-negative integer`);
    // everything is checked before anything is loaded: a bad file leaves nothing half-restored
    let state: HostState | undefined;
    if (parsed.state !== null && parsed.state !== undefined) {
      try {
        state = checkHostState(parsed.state, file);
      } catch (e) {
        if (e instanceof HostStateError) throw new StateFileError(e.message);
        throw e;
      }
    }
    // files written before the qdisc was saved have neither field: the egress link starts as after a reset
    const linkKbit = parsed.linkKbit ?? EG_DEFAULT_LINK_KBIT;
    if (typeof linkKbit !== "number" || !Number.isInteger(linkKbit) || linkKbit < 1 || linkKbit > 0xffffffff) throw new StateFileError(`${file}: linkKbit must be the egress link rate in kbit/s, 1 … 4294967295`);
    let qdisc: { state: QdiscState; image: Uint8Array } | undefined;
    if (parsed.qdisc !== undefined && parsed.qdisc !== null) {
      try {
        const q = checkQdiscState(parsed.qdisc, `${file}: qdisc`);
        if (q.image === undefined) throw new HostStateError(`${file}: qdisc.image is missing (the qdisc image a restart uploads)`);
        qdisc = { state: q, image: new Uint8Array(Buffer.from(q.image, "base64")) };
      } catch (e) {
        if (e instanceof HostStateError) throw new StateFileError(e.message);
        throw e;
      }
    }
    this.revision = parsed.revision;
    // the file is what is being restored: nothing is written back to it meanwhile
    this.restoring = true;
    try {
      if (state) await this.restorePolicy(file, state);
      await this.restoreEgress(file, linkKbit, qdisc);
    } finally {
      this.restoring = false;
    }
  }

  /** The policy program and its tables, through the register interface (upload, entries, commit). */
  private async restorePolicy(file: string, state: HostState): Promise<void> {
    let image;
    try {
      image = decodeImage(imageBytes(state));
    } catch (e) {
      if (e instanceof ImageError) throw new StateFileError(`${file}: the saved program image is malformed: ${e.message}`);
      throw e;
    }
    const tables = state.tables.map((t, ti) => t.map((e, ei) => decodeEntry(e, `${file}: tables[${ti}][${ei}]`)));
    const driver = new NicDriver(new LocalTransport(this));
    try {
      const { generation } = await driver.loadProgram(image, tables, 0);
      this.state = { ...state, generation };
    } catch (e) {
      throw new StateFileError(`${file}: the saved configuration cannot be loaded: ${(e as Error).message}`);
    }
    this.log(`restored the configuration of ${file} (revision ${this.revision}) as generation ${this.state.generation}`);
  }

  /** The egress link's rate and the qdisc, uploaded and committed as `qdisc add` does (applications attach later). */
  private async restoreEgress(file: string, linkKbit: number, qdisc: { state: QdiscState; image: Uint8Array } | undefined): Promise<void> {
    const qd = new QdiscDriver(new NicDriver(new LocalTransport(this)));
    try {
      if (!qdisc) {
        if (linkKbit !== this.device.read32(REG.EG_LINK_KBIT)) await qd.setLinkRate(linkKbit);
        return;
      }
      // no record update: the record is set below, and nothing is written back to the file while restoring
      const { generation } = await qd.load(qdisc.image, [], 0, { linkKbit });
      this.qdiscState = { ...qdisc.state, generation };
    } catch (e) {
      throw new StateFileError(`${file}: the saved qdisc cannot be loaded: ${(e as Error).message}`);
    }
    this.log(`restored the qdisc of ${file} (${qdisc.state.policy.file}) as qdisc generation ${this.qdiscState.generation}, link ${linkKbit} kbit/s`);
  }

  /**
   * Stop: pending packets are processed, a load still waiting for confirmation is rolled back (it was never
   * confirmed), and the active program's counters are folded into the host state's carried-over counts (so a
   * clean restart with --state continues them), then persisted.
   */
  shutdown(): void {
    if (this.closed) return;
    this.device.drain();
    if (this.pending) this.rollbackNow();
    const declared = this.device.read32(REG.ACTIVE_COUNTERS);
    if (this.state && declared > 0) {
      const ops: AccessOp[] = [{ kind: OP_WRITE, offset: REG.CNT_SELECT, value: 0 }];
      for (let i = 0; i < declared; i++) for (const reg of [REG.CNT_PACKETS_LO, REG.CNT_PACKETS_HI, REG.CNT_BYTES_LO, REG.CNT_BYTES_HI]) ops.push({ kind: OP_READ, offset: reg, value: 0 });
      const r = executeTransaction(this.device, ops);
      if (!r.error) {
        const offsets = offsetsOf(this.state);
        for (let i = 0; i < declared; i++) {
          const p = BigInt(r.reads[4 * i]!) | (BigInt(r.reads[4 * i + 1]!) << 32n);
          const b = BigInt(r.reads[4 * i + 2]!) | (BigInt(r.reads[4 * i + 3]!) << 32n);
          if (p === 0n && b === 0n) continue;
          const o = offsets.get(i) ?? { packets: 0n, bytes: 0n };
          offsets.set(i, { packets: o.packets + p, bytes: o.bytes + b });
        }
        this.state = { ...this.state, counterOffsets: encodeOffsets(offsets) };
        this.persist();
      }
    }
    this.closed = true;
  }
}
