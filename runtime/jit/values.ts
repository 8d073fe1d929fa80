/**
 * Value numbering over the program's DAG: finds instructions that recompute a value every path to them has
 * already computed — the same raw load, the same ALU operation on the same values, the same read-only field —
 * so the JIT reads that value from a Wasm local instead of recomputing it. Front ends that compile pcap-filter
 * the way libpcap's code generator does reload `4 * (ip[0] & 0xf)` and the ports before every comparison; with
 * this, each is computed once per packet.
 *
 * Sound because, within one packet, frame bytes, raw-load bases and the parsed-header vector (apart from the
 * writable meta.* slots) never change, ALU operations are pure, and a value is reused only where its defining
 * instruction lies on every path from the entry (the key is available on every incoming edge with the same
 * value number, and each value number has one defining instruction). A reused load or division cannot fault:
 * the identical one before it did not. Cycle counts are unchanged: the instruction still costs its cycles.
 */
import type { PlannedOp } from "./plan.js";

/** Keys kept per program point; beyond this the pass stops adding (bounds work on huge programs). */
const MAX_AVAILABLE = 512;
/** Values held in Wasm locals at most (each reused value takes one). */
export const MAX_VALUE_LOCALS = 4096;

interface State {
  regs: Int32Array;
  avail: Map<string, number>;
}

export interface ValueReuse {
  /** per instruction: the value local to read instead of computing (undefined: compute) */
  readonly reuse: (number | undefined)[];
  /** per instruction: the value local its result must also be stored in (a later instruction reuses it) */
  readonly keep: (number | undefined)[];
  readonly locals: number;
}

const COMMUTATIVE = new Set(["add", "mul", "and", "or", "xor"]);

/** The key of a pure value an instruction computes, or undefined when it computes none (or an impure one). */
function keyOf(op: PlannedOp, regs: Int32Array, readOnlySlot: (slot: number) => boolean, constVn: (v: bigint) => number): string | undefined {
  switch (op.k) {
    case "alu": {
      const a = regs[op.rs]!;
      const b = op.rt !== undefined ? regs[op.rt]! : constVn(op.imm!);
      const [x, y] = COMMUTATIVE.has(op.op) && b < a ? [b, a] : [a, b];
      return `${op.op}:${x}:${y}`;
    }
    case "minmax": {
      const [x, y] = regs[op.rt]! < regs[op.rs]! ? [regs[op.rt]!, regs[op.rs]!] : [regs[op.rs]!, regs[op.rt]!];
      return `${op.op}:${x}:${y}`;
    }
    case "ld":
      return `ld${op.size}:${op.base}:${op.offset}:${op.index !== undefined ? regs[op.index]! : "-"}`;
    case "ldf":
      return readOnlySlot(op.slot) ? `f:${op.slot}` : undefined;
    case "pfx":
      return readOnlySlot(op.loSlot) && (op.hiSlot === undefined || readOnlySlot(op.hiSlot)) ? `p:${op.hiSlot ?? "-"}:${op.loSlot}:${op.maskHi}:${op.maskLo}:${op.valueHi}:${op.valueLo}` : undefined;
    default:
      return undefined;
  }
}

/**
 * Number the values of the reachable instructions (program order is a topological order of the DAG).
 * `successors(i)` lists instruction i's successors; `readOnlySlot` tells vector slots no instruction writes.
 */
export function numberValues(ops: readonly PlannedOp[], reachable: Uint8Array, successors: (i: number) => number[], readOnlySlot: (slot: number) => boolean, registers: number): ValueReuse {
  const n = ops.length;
  let next = 1;
  const consts = new Map<bigint, number>();
  const constVn = (v: bigint) => {
    let vn = consts.get(v);
    if (vn === undefined) consts.set(v, (vn = next++));
    return vn;
  };
  const phis = new Map<string, number>();
  const phi = (at: number, r: number) => {
    const k = `${at}:${r}`;
    let vn = phis.get(k);
    if (vn === undefined) phis.set(k, (vn = next++));
    return vn;
  };
  const states: (State | undefined)[] = new Array(n);
  states[0] = { regs: new Int32Array(registers).fill(constVn(0n)), avail: new Map() };
  const reuseVn: (number | undefined)[] = new Array(n);
  const definer = new Map<number, number>(); // value number → defining instruction
  for (let i = 0; i < n; i++) {
    const state = states[i];
    states[i] = undefined; // each state is consumed once: program order visits every predecessor first
    if (!reachable[i] || !state) continue;
    const { regs, avail } = state;
    const op = ops[i]!;
    const key = keyOf(op, regs, readOnlySlot, constVn);
    if (key !== undefined && "rd" in op) {
      const known = avail.get(key);
      if (known !== undefined) {
        reuseVn[i] = known;
        regs[op.rd] = known;
      } else {
        const vn = next++;
        definer.set(vn, i);
        if (avail.size < MAX_AVAILABLE) avail.set(key, vn);
        regs[op.rd] = vn;
      }
    } else if (op.k === "movi") regs[op.rd] = constVn(op.value);
    else if (op.k === "movr") regs[op.rd] = regs[op.rs]!;
    else if ("rd" in op) regs[op.rd] = next++; // lookup, limit: a value of their own, never shared
    const succ = successors(i);
    succ.forEach((s, k) => {
      const incoming = states[s];
      if (!incoming) {
        // the last successor may take the state itself; others get copies
        states[s] = k === succ.length - 1 ? { regs, avail } : { regs: regs.slice(), avail: new Map(avail) };
        return;
      }
      for (let r = 0; r < registers; r++) if (incoming.regs[r] !== regs[r]) incoming.regs[r] = phi(s, r);
      for (const [k2, v] of incoming.avail) if (avail.get(k2) !== v) incoming.avail.delete(k2);
    });
  }
  // value locals for the values some instruction reuses
  const local = new Map<number, number>();
  const reuse: (number | undefined)[] = new Array(n);
  const keep: (number | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const vn = reuseVn[i];
    if (vn === undefined) continue;
    let l = local.get(vn);
    if (l === undefined) {
      if (local.size >= MAX_VALUE_LOCALS) continue; // out of locals: recompute
      local.set(vn, (l = local.size));
      keep[definer.get(vn)!] = l;
    }
    reuse[i] = l;
  }
  return { reuse, keep, locals: local.size };
}
