/**
 * Policies on the NIC: load (atomic, optionally pending confirmation), rule edits that become table writes
 * when the program does not change, counters in the policy's terms, tracing. Every change is planned against
 * the host state under the configuration lock and committed together with the state update it implies, so two
 * hostctl runs never interleave and a run that dies leaves either the old configuration or the new one.
 */
import { LIMITS, SourceError, type TableDecl } from "../../overlay-isa/index.js";
import type { Counter } from "../../compiler/policy/listing.js";
import type { IrPolicy } from "../../compiler/policy/ir.js";
import { warningsText } from "../../compiler/policy/summary.js";
import type { BatchOutcome, PacketBatch } from "../../fpga-model/packets.js";
import { CNT_CMD, REG } from "../../fpga-model/registers.js";
import { formatTiming, resourcesOf, timingOf, type ResourceReport, type TimingReport } from "../../fpga-model/timing.js";
import type { TableEntry } from "../../runtime/vm.js";
import { NicDriver, type DeviceInfo, type DeviceStatus, type TableUse } from "./driver.js";
import { decodeEntry, encodeEntry, encodeOffsets, entryIdentity, HOST_STATE_SCHEMA, imageBytes, offsetsOf, type CounterMap, type HostState, type PolicySource } from "./host-state.js";
import { compileSource, freeCounters, freshProgram, programFor, sameBytes, spareCounters, type NicProgram } from "./policy-program.js";
import { remapRuleError, RuleEditError, spliceRule, type RuleEdit } from "./rule-edit.js";
import { Transaction } from "./transaction.js";
import { explain, type TraceStep } from "./trace-path.js";
import type { HostStateRecord } from "./transport.js";

export { explain, type TraceStep };

/** There is no policy on the NIC to edit, list or save. */
export class NoPolicyError extends Error {
  constructor() {
    super("no policy is loaded on the NIC (load one with `hostctl load FILE`)");
    this.name = "NoPolicyError";
  }
}

export interface ChangeReport {
  /** load: a new policy; tables: the program stayed, only entries changed; reload: a new program was committed */
  mode: "load" | "tables" | "reload";
  generation: number;
  previousGeneration: number;
  /** register writes and reads of the change */
  writes: number;
  reads: number;
  /** table entries inserted and deleted */
  inserted: number;
  deleted: number;
  program: NicProgram;
  /** compiler warnings (shadowed rules …), one per line */
  warnings: string;
  timing: TimingReport;
  resources: ResourceReport;
  /** load --confirm: when the change rolls back unless confirmed (ms since the epoch) */
  confirmDeadline?: number;
  /** a new program: packets of the old generation still waiting when it was committed (they finish on the old one) */
  inflightAtCommit?: number;
}

export interface LoadOptions {
  /** roll back unless confirmed within this many ms */
  confirmWithinMs?: number;
  /** counts to start the rules' counters at (restore -c): chain → per-rule counts, and chain policies */
  initialCounts?: { rules: Record<string, (Counter | undefined)[]>; policies: Record<string, Counter | undefined> };
}

export interface PacketTrace {
  generation: number;
  verdict: number;
  fault: boolean;
  steps: TraceStep[];
}

export class PolicyDriver {
  constructor(readonly driver: NicDriver) {}

  get transport() {
    return this.driver.transport;
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.transport.lock();
    try {
      return await fn();
    } finally {
      await this.transport.unlock();
    }
  }

  private async info(): Promise<DeviceInfo> {
    return this.driver.identify();
  }

  private report(mode: ChangeReport["mode"], program: NicProgram, previousGeneration: number, generation: number, counts: { inserted: number; deleted: number }, info: DeviceInfo, confirmDeadline?: number): ChangeReport {
    return {
      mode,
      generation,
      previousGeneration,
      writes: this.driver.last.writes,
      reads: this.driver.last.reads,
      ...counts,
      program,
      warnings: warningsText(program.compiled),
      timing: timingOf(program.verify.worstCaseCycles ?? 0, { clockMHz: info.clockMHz, cores: info.cores }),
      resources: resourcesOf(program.image, info.tableBlocks, info.instructionMemory),
      ...(confirmDeadline !== undefined ? { confirmDeadline } : {}),
    };
  }

  // ---- load --------------------------------------------------------------------------------------------

  /** Compile and load a policy atomically (a new program in the shadow slot, its tables, one commit). */
  async load(source: PolicySource, opts: LoadOptions = {}): Promise<ChangeReport> {
    const program = freshProgram(source);
    const info = await this.info();
    return this.locked(async () => {
      const rec = await this.transport.getState();
      const previousGeneration = await this.driver.activeGeneration();
      const offsets = new Map<number, Counter>();
      if (opts.initialCounts) {
        for (const [chain, counts] of Object.entries(opts.initialCounts.rules)) {
          counts.forEach((c, i) => {
            const id = program.counters.rules[chain]?.[i];
            if (c && id !== undefined) offsets.set(id, c);
          });
        }
        for (const [chain, c] of Object.entries(opts.initialCounts.policies)) {
          const id = program.counters.policies[chain];
          if (c && id !== undefined) offsets.set(id, c);
        }
      }
      const state: HostState = {
        schema: HOST_STATE_SCHEMA,
        generation: 0,
        image: Buffer.from(program.imageBytes).toString("base64"),
        tables: program.entries.map((t) => t.map(encodeEntry)),
        counterOffsets: encodeOffsets(offsets),
        policy: source,
        counters: program.counters,
        changedAt: new Date().toISOString(),
      };
      const r = await this.driver.loadProgram(program.image, program.entries, previousGeneration, { expectRevision: rec.revision, state, ...(opts.confirmWithinMs !== undefined ? { confirmWithinMs: opts.confirmWithinMs } : {}) });
      const deadline = opts.confirmWithinMs !== undefined ? (await this.transport.getState()).pendingConfirm?.deadline : undefined;
      return { ...this.report("load", program, previousGeneration, r.generation, { inserted: program.entries.reduce((n, t) => n + t.length, 0), deleted: 0 }, info, deadline), inflightAtCommit: r.inflight };
    });
  }

  // ---- rule edits --------------------------------------------------------------------------------------

  /**
   * Edit one rule. When the edited policy compiles to the very program that runs (same code, same tables
   * declared), only table entries change: deletes and inserts in one transaction, no reload, and the counters
   * of every other rule continue. Otherwise the new program is loaded atomically and every rule's count
   * carries over.
   */
  async edit(edit: RuleEdit): Promise<ChangeReport> {
    const info = await this.info();
    return this.locked(async () => {
      const rec = await this.transport.getState();
      const state = rec.state;
      if (!state?.policy || !state.counters) throw new NoPolicyError();
      const spliced = spliceRule(state.policy, edit);
      const source: PolicySource = { ...state.policy, text: spliced.text };
      const ruleText = "rule" in edit ? edit.rule : undefined;
      let compiled;
      try {
        compiled = compileSource(source);
      } catch (e) {
        if (e instanceof SourceError) throw remapRuleError(e, spliced, ruleText);
        throw e;
      }
      const chain = compiled.ir.chains.find((c) => c.name === edit.chain);
      if (!chain || chain.rules.length !== spliced.rulesAfter) {
        throw new RuleEditError(`'${ruleText ?? ""}' is not one rule: chain ${edit.chain} would have ${chain?.rules.length ?? 0} rules instead of ${spliced.rulesAfter}`);
      }
      for (const c of compiled.ir.chains) {
        if (c.name !== edit.chain && (state.counters.rules[c.name]?.length ?? -1) !== c.rules.length) throw new Error(`internal: chain ${c.name} changed under an edit of chain ${edit.chain}`);
      }
      // counters: the edited chain's list changes at one place; a new rule takes a free counter
      const old = state.counters;
      const ids = [...(old.rules[edit.chain] ?? [])];
      const free = freeCounters(old);
      let declared = old.declared;
      const take = (): number => {
        const f = free.shift();
        if (f !== undefined) return f;
        // the spare pool is used up: a larger one means a new program
        const used = Object.values(old.rules).reduce((n, l) => n + l.length, 0) + Object.keys(old.policies).length;
        declared = Math.min(LIMITS.counters, old.declared + spareCounters(used));
        if (declared <= old.declared) throw new RuleEditError(`all ${old.declared} counters of the NIC's program are in use`);
        return old.declared;
      };
      let fresh: number | undefined;
      let freed: number | undefined;
      const k = spliced.number - 1;
      switch (edit.op) {
        case "append":
        case "insert":
          fresh = take();
          ids.splice(k, 0, fresh);
          break;
        case "delete":
        case "delete-spec":
          freed = ids.splice(k, 1)[0];
          break;
        case "replace":
          freed = ids[k];
          fresh = take();
          ids[k] = fresh;
          break;
      }
      const map: CounterMap = { rules: { ...old.rules, [edit.chain]: ids }, policies: old.policies, declared };
      const program = programFor(source, compiled, map);
      const offsets = offsetsOf(state);
      if (freed !== undefined) offsets.delete(freed);
      if (fresh !== undefined) offsets.delete(fresh);
      const previousGeneration = state.generation;
      const next: HostState = { ...state, policy: source, counters: map, tables: program.entries.map((t) => t.map(encodeEntry)), counterOffsets: encodeOffsets(offsets), changedAt: new Date().toISOString() };

      if (sameBytes(program.imageBytes, imageBytes(state))) {
        const ops = tableDiff(state, program.entries);
        const decls: TableDecl[] = program.image.tables;
        await this.driver.updateTables(ops, decls, (t) => {
          // the new rule's counter may hold a deleted rule's counts
          if (fresh !== undefined) NicDriver.addZeroCounter(t, fresh);
        }, { expectRevision: rec.revision, state: next });
        const counts = { inserted: ops.filter((o) => o.op === "insert").length, deleted: ops.filter((o) => o.op === "delete").length };
        return this.report("tables", program, previousGeneration, previousGeneration, counts, info);
      }
      const carry = [...Object.values(map.rules).flat(), ...Object.values(map.policies)].filter((id) => id !== fresh);
      next.image = Buffer.from(program.imageBytes).toString("base64");
      const r = await this.driver.loadProgram(program.image, program.entries, previousGeneration, { expectRevision: rec.revision, state: next, carryCounters: carry });
      return { ...this.report("reload", program, previousGeneration, r.generation, { inserted: program.entries.reduce((n, t) => n + t.length, 0), deleted: 0 }, info), inflightAtCommit: r.inflight };
    });
  }

  // ---- reading the live policy -------------------------------------------------------------------------

  /** The live host state and, when a policy is loaded, its program (recompiled with the live counter map). */
  async live(): Promise<{ record: HostStateRecord; program: NicProgram | undefined }> {
    const record = await this.transport.getState();
    const s = record.state;
    if (!s?.policy || !s.counters) return { record, program: undefined };
    return { record, program: programFor(s.policy, compileSource(s.policy), s.counters) };
  }

  /** Every counter of the live policy: what the NIC counts now plus what replaced programs counted. */
  async counters(state: HostState): Promise<Counter[]> {
    const declared = state.counters?.declared ?? 0;
    const raw = await this.driver.readCounters(declared);
    const offsets = offsetsOf(state);
    const out: Counter[] = [];
    for (let i = 0; i < declared; i++) {
      const o = offsets.get(i);
      out.push({ packets: raw.packets[i]! + (o?.packets ?? 0n), bytes: raw.bytes[i]! + (o?.bytes ?? 0n) });
    }
    return out;
  }

  /** Zero counters: all, one chain's, or one rule's (iptables -Z [CHAIN [N]]). */
  async zero(chain?: string, rule?: number): Promise<number> {
    return this.locked(async () => {
      const rec = await this.transport.getState();
      const state = rec.state;
      if (!state?.counters) throw new NoPolicyError();
      const offsets = offsetsOf(state);
      let ids: number[];
      if (chain === undefined) ids = [];
      else {
        const list = state.counters.rules[chain];
        if (!list) throw new RuleEditError(`chain '${chain}' does not exist (chains: ${Object.keys(state.counters.rules).join(", ")})`);
        if (rule !== undefined) {
          if (!Number.isInteger(rule) || rule < 1 || rule > list.length) throw new RuleEditError(`chain ${chain} has no rule ${rule} (it has ${list.length})`);
          ids = [list[rule - 1]!];
        } else ids = [...list, ...(state.counters.policies[chain] !== undefined ? [state.counters.policies[chain]!] : [])];
      }
      const next: HostState = { ...state, changedAt: new Date().toISOString() };
      const t = new Transaction();
      if (chain === undefined) {
        t.write(REG.CNT_CTRL, CNT_CMD.ZERO_ALL);
        next.counterOffsets = {};
      } else {
        for (const id of ids) {
          NicDriver.addZeroCounter(t, id);
          offsets.delete(id);
        }
        next.counterOffsets = encodeOffsets(offsets);
      }
      await this.driver.run(t, { expectRevision: rec.revision, state: next });
      return chain === undefined ? state.counters.declared : ids.length;
    });
  }

  /** Roll back to the previous program (and host state) now, or confirm a pending `load --confirm`. */
  async confirm(decision: "keep" | "rollback" = "keep"): Promise<boolean> {
    return this.transport.confirm(decision);
  }

  // ---- trace -------------------------------------------------------------------------------------------

  /** Send packets through the NIC's trace port and explain each one's path through the live policy. */
  async trace(batch: PacketBatch): Promise<{ outcome: BatchOutcome; traces: PacketTrace[]; program: NicProgram }> {
    const { program, record } = await this.live();
    if (!program || !record.state) throw new NoPolicyError();
    const outcome = await this.driver.inject({ ...batch, trace: true });
    const traces: PacketTrace[] = [];
    for (let i = 0; i < batch.frames.length; i++) {
      const moved = new Map<number, number>();
      const t = outcome.trace?.[i] ?? new Uint32Array(0);
      for (let k = 0; k + 1 < t.length; k += 2) moved.set(t[k]!, t[k + 1]!);
      const steps = outcome.generations[i] === record.state.generation ? explain(program.ir, batch.dir ?? 0, moved) : [];
      traces.push({ generation: outcome.generations[i]!, verdict: outcome.verdicts[i]!, fault: (outcome.flags[i]! & 1) !== 0, steps });
    }
    return { outcome, traces, program };
  }

  // ---- status ------------------------------------------------------------------------------------------

  async status(): Promise<{ info: DeviceInfo; status: DeviceStatus; record: HostStateRecord; program: NicProgram | undefined; tables: TableUse[]; timing: TimingReport | undefined; resources: ResourceReport | undefined; timingLine: string | undefined }> {
    const info = await this.info();
    const status = await this.driver.status();
    const { record, program } = await this.live();
    const tables = status.generation > 0 ? await this.driver.tableUse(status.tables) : [];
    const timing = status.generation > 0 ? timingOf(status.worstCaseCycles, { clockMHz: info.clockMHz, cores: info.cores }) : undefined;
    const resources = program ? resourcesOf(program.image, info.tableBlocks, info.instructionMemory) : undefined;
    return { info, status, record, program, tables, timing, resources, timingLine: timing ? formatTiming(timing) : undefined };
  }
}

/** Deletes then inserts that turn the state's table entries into `next` (by entry identity). */
export function tableDiff(state: HostState, next: readonly (readonly TableEntry[])[]): { op: "insert" | "delete"; table: number; entry: TableEntry }[] {
  const deletes: { op: "insert" | "delete"; table: number; entry: TableEntry }[] = [];
  const inserts: { op: "insert" | "delete"; table: number; entry: TableEntry }[] = [];
  next.forEach((entries, table) => {
    const before = new Map<string, TableEntry>();
    (state.tables[table] ?? []).forEach((e, i) => {
      const d = decodeEntry(e, `tables[${table}][${i}]`);
      before.set(entryIdentity(d), d);
    });
    const after = new Map<string, TableEntry>(entries.map((e) => [entryIdentity(e), e]));
    for (const [id, e] of before) if (!after.has(id)) deletes.push({ op: "delete", table, entry: e });
    for (const [id, e] of after) {
      const b = before.get(id);
      if (!b || b.value !== e.value) inserts.push({ op: "insert", table, entry: e });
    }
  });
  return [...deletes, ...inserts];
}
