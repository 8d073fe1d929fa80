/**
 * A policy as the NIC runs it: compiled by the policy compiler, with counter ids the control plane assigns so
 * that a rule keeps its counter across edits (rule n of a chain need not own counter n), a pool of spare
 * counters for rules added later, and family tables that hold counter ids (CodegenOptions
 * absoluteFamilyCounters). Two compilations that differ only in data then produce byte-identical programs, and
 * the difference is table entries: that is what makes a rule change a table write instead of a reload.
 */
import { encodeImage, LIMITS, verify, type ProgramImage, type VerifyResult } from "../../overlay-isa/index.js";
import { generatePolicy } from "../../compiler/policy/codegen.js";
import { compilePolicy, type CompiledPolicy } from "../../compiler/policy/compile.js";
import { HostError, parseHost } from "../../compiler/policy/host.js";
import type { CounterInfo, IrPolicy } from "../../compiler/policy/ir.js";
import type { TableImage } from "../../compiler/policy/tables.js";
import type { TableEntry } from "../../runtime/vm.js";
import type { CounterMap, PolicySource } from "./host-state.js";

/** Spare counters a freshly loaded policy declares for rules added later: half the rules, at least 64. */
export function spareCounters(used: number): number {
  return Math.max(0, Math.min(LIMITS.counters - used, Math.max(64, Math.ceil(used / 2))));
}

export interface NicProgram {
  source: PolicySource;
  /** the compiler's result; its ir carries the NIC's counter ids */
  compiled: CompiledPolicy;
  ir: IrPolicy;
  image: ProgramImage;
  imageBytes: Uint8Array;
  verify: VerifyResult;
  /** table images as generated (ids, purposes, entries) */
  tables: TableImage[];
  /** entries to write, by table id */
  entries: TableEntry[][];
  counters: CounterMap;
}

/** A host description given with a policy could not be read. */
export class PolicySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicySourceError";
  }
}

/** Compile a policy source (throws SourceError for bad policy text, PolicySourceError for a bad host file). */
export function compileSource(src: PolicySource): CompiledPolicy {
  let host;
  if (src.host !== undefined) {
    try {
      host = parseHost(src.host, src.hostFile ?? "HOST.json");
    } catch (e) {
      if (e instanceof HostError) throw new PolicySourceError(e.message);
      throw e;
    }
  }
  return compilePolicy(src.text, src.file, { format: src.format, ...(host ? { host, hostFile: src.hostFile } : {}) });
}

/** The compiler's own counter ids, plus a spare pool (a fresh load). */
export function freshCounterMap(ir: IrPolicy): CounterMap {
  const rules: Record<string, number[]> = {};
  const policies: Record<string, number> = {};
  for (const c of ir.chains) {
    rules[c.name] = c.rules.map((r) => r.counter);
    if (c.policyCounter !== undefined) policies[c.name] = c.policyCounter;
  }
  const used = ir.counters.length;
  return { rules, policies, declared: used + spareCounters(used) };
}

/** Counter ids no rule or policy of the map uses, lowest first. */
export function freeCounters(map: CounterMap): number[] {
  const used = new Set<number>([...Object.values(map.rules).flat(), ...Object.values(map.policies)]);
  const free: number[] = [];
  for (let i = 0; i < map.declared; i++) if (!used.has(i)) free.push(i);
  return free;
}

/** Runtime table entries of a compiled table image (ternary priority = position, as the compiler intends). */
export function runtimeEntries(t: TableImage): TableEntry[] {
  return t.entries.map((e, i): TableEntry => {
    const value = Number(e.value);
    if ("lo" in e) return { kind: "range", lo: e.lo, hi: e.hi, value };
    if ("prefixLen" in e) return { kind: "lpm", key: e.key, prefixLen: e.prefixLen, value };
    if ("mask" in e) return { kind: "ternary", key: e.key, mask: e.mask, priority: i, value };
    return { kind: "exact", key: e.key, value };
  });
}

/**
 * Generate the NIC's program for a compiled policy with the given counter map. The map must name a counter
 * for every rule and hook policy of the policy (checked); the program declares map.declared counters.
 */
export function programFor(source: PolicySource, compiled: CompiledPolicy, map: CounterMap): NicProgram {
  const ir: IrPolicy = { ...compiled.ir, chains: compiled.ir.chains.map((c) => ({ ...c, rules: c.rules.map((r) => ({ ...r })) })) };
  const info: CounterInfo[] = [];
  for (let i = 0; i < map.declared; i++) info.push({ id: i, chain: "", rule: undefined });
  for (const c of ir.chains) {
    const ids = map.rules[c.name];
    if (!ids || ids.length !== c.rules.length) throw new Error(`internal: counter map of chain ${c.name} has ${ids?.length ?? 0} ids for ${c.rules.length} rules`);
    c.rules.forEach((r, i) => {
      r.counter = ids[i]!;
      info[r.counter] = { id: r.counter, chain: c.name, rule: r.number };
    });
    if (c.policyCounter !== undefined) {
      const p = map.policies[c.name];
      if (p === undefined) throw new Error(`internal: counter map names no policy counter for chain ${c.name}`);
      c.policyCounter = p;
      info[p] = { id: p, chain: c.name };
    }
  }
  ir.counters = info;
  const gen = generatePolicy(ir, { absoluteFamilyCounters: true });
  const result = verify(gen.image);
  if (!result.ok) throw new Error(`internal: the NIC program for ${source.file} fails verification: ${result.errors.map((e) => `${e.index ?? ""} ${e.message}`).join("; ")}`);
  const entries: TableEntry[][] = gen.image.tables.map(() => []);
  for (const t of gen.tables) entries[t.id] = runtimeEntries(t);
  return {
    source,
    compiled: { ...compiled, ir, image: gen.image, tables: gen.tables, families: gen.families, verify: result },
    ir,
    image: gen.image,
    imageBytes: encodeImage(gen.image),
    verify: result,
    tables: gen.tables,
    entries,
    counters: map,
  };
}

/** Compile and generate with a fresh counter map (a `load`). */
export function freshProgram(source: PolicySource): NicProgram {
  const compiled = compileSource(source);
  return programFor(source, compiled, freshCounterMap(compiled.ir));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
