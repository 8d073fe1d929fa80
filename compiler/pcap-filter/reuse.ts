/**
 * Which computed values the filter emitter (emit.ts) keeps in registers for later blocks, and in which
 * register: libpcap's optimizer numbers values and drops a load whose value the accumulator or a scratch slot
 * already holds; this does the same across the whole block DAG with the overlay's sixteen registers.
 *
 * Exact by construction: within one packet the frame bytes never change and the arithmetic is pure, so a
 * value computed on every path to a block (it is "available" there) is the same value there — and its loads
 * cannot fault there, since the identical loads before did not. Values that read an offset register
 * (`var`) stop being available where a `seq` block rewrites that register.
 *
 * Registers: the blocks are laid out in a topological order, so every path visits them in increasing layout
 * position. A kept value owns its register from the first block that computes it to the last block that reuses
 * it (an interval of positions); intervals sharing a register never overlap, so between a computation and a
 * reuse nothing else writes the register. Each block keeps enough unreserved registers for its own temporaries.
 */
import type { Block } from "./graph.js";
import type { Val } from "./ir.js";

/** What one dry run of the emitter observed: which blocks compute (def) and reuse each value key. */
export interface Occurrences {
  defs: Map<string, number[]>;
  reuses: Map<string, number[]>;
}

export interface Interval {
  key: string;
  start: number;
  end: number;
  reg: number;
}

export interface RegisterPlan {
  /** the kept values: register and the block positions it is reserved over */
  readonly intervals: ReadonlyMap<string, Interval>;
  /** registers free for temporaries at a block position, the preferred first: those no kept value ever uses,
   *  lowest first (so blocks that compute the same thing use the same registers and can merge) */
  temps(position: number): number[];
  /** the register of a kept value when position lies in its interval */
  registerAt(key: string, position: number): number | undefined;
}

/**
 * Linear scan over the intervals of the keys in `kept` (keys with at least one reuse). `general` are the
 * registers values may use (the offset registers excluded); `need[p]` the temporaries block p needs at most.
 * Returns the plan and the keys that found no register (the emitter recomputes those instead).
 */
export function assignRegisters(
  kept: ReadonlySet<string>,
  seen: Occurrences,
  general: readonly number[],
  need: readonly number[],
  hints: ReadonlyMap<string, string> = new Map(),
): { plan: RegisterPlan; spilled: string[] } {
  const candidates: Omit<Interval, "reg">[] = [];
  for (const key of kept) {
    const reuses = seen.reuses.get(key);
    if (!reuses || reuses.length === 0) continue;
    const end = Math.max(...reuses);
    const defs = (seen.defs.get(key) ?? []).filter((p) => p <= end);
    if (defs.length === 0) continue;
    candidates.push({ key, start: Math.min(...defs), end });
  }
  candidates.sort((a, b) => a.start - b.start || b.end - a.end);
  const occupied = new Int32Array(need.length);
  const byReg = new Map<number, { start: number; end: number }[]>();
  const intervals = new Map<string, Interval>();
  const spilled: string[] = [];
  const fits = (reg: number, start: number, end: number) => (byReg.get(reg) ?? []).every((o) => o.end < start || o.start > end);
  for (const c of candidates) {
    let room = true;
    for (let p = c.start; p <= c.end && room; p++) if (occupied[p]! + 1 + need[p]! > general.length) room = false;
    const hinted = hints.get(c.key);
    const hintReg = hinted !== undefined ? intervals.get(hinted)?.reg : undefined;
    const reg = !room ? undefined : hintReg !== undefined && fits(hintReg, c.start, c.end) ? hintReg : general.find((r) => fits(r, c.start, c.end));
    if (reg === undefined) {
      spilled.push(c.key);
      continue;
    }
    for (let p = c.start; p <= c.end; p++) occupied[p]!++;
    (byReg.get(reg) ?? byReg.set(reg, []).get(reg)!).push({ start: c.start, end: c.end });
    intervals.set(c.key, { ...c, reg });
  }
  const reservedAt: number[][] = need.map(() => []);
  const everKept = new Set([...intervals.values()].map((i) => i.reg));
  for (const i of intervals.values()) for (let p = i.start; p <= i.end; p++) reservedAt[p]!.push(i.reg);
  return {
    spilled,
    plan: {
      intervals,
      temps: (p) => {
        const free = general.filter((r) => !reservedAt[p]!.includes(r));
        return [...free.filter((r) => !everKept.has(r)), ...free.filter((r) => everKept.has(r))];
      },
      registerAt: (key, p) => {
        const i = intervals.get(key);
        return i && p >= i.start && p <= i.end ? i.reg : undefined;
      },
    },
  };
}

/** Offset registers a value reads. */
export function varsOf(v: Val, into: Set<number> = new Set()): Set<number> {
  switch (v.t) {
    case "var":
      into.add(v.id);
      break;
    case "ld":
      if (v.x) varsOf(v.x, into);
      break;
    case "bin":
      varsOf(v.a, into);
      varsOf(v.b, into);
      break;
    case "neg":
      varsOf(v.a, into);
      break;
  }
  return into;
}

/**
 * Keys available on entry to each block (by layout position): computed on every path from the root and not
 * invalidated by a `seq` since. `computes(b)` lists what a block computes in order, with the offset registers
 * it rewrites (kills) between them.
 */
export function availability(
  order: readonly Block[],
  position: ReadonlyMap<Block, number>,
  computes: (b: Block) => ({ keys: string[] } | { kill: number })[],
  varsOfKey: (key: string) => ReadonlySet<number>,
): Set<string>[] {
  const availIn: (Set<string> | undefined)[] = new Array(order.length);
  availIn[0] = new Set();
  order.forEach((b, p) => {
    const out = new Set(availIn[p] ?? []);
    for (const step of computes(b)) {
      if ("kill" in step) {
        for (const key of [...out]) if (varsOfKey(key).has(step.kill)) out.delete(key);
      } else {
        for (const key of step.keys) out.add(key);
      }
    }
    for (const succ of b.t === b.f ? [b.t] : [b.t, b.f]) {
      if (typeof succ === "string") continue;
      const q = position.get(succ)!;
      const current = availIn[q];
      if (!current) availIn[q] = new Set(out);
      else for (const key of [...current]) if (!out.has(key)) current.delete(key);
    }
  });
  return order.map((_, p) => availIn[p] ?? new Set());
}
