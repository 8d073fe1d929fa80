/**
 * Overlay code for a filter's block graph (graph.ts), through compiler/program-builder.ts. Blocks are laid out
 * in a topological order, so every jump goes forward, ending in `exit accept` / `exit drop`; values are computed
 * into registers with raw loads relative to the packet start (`[pkt + rX + off]`), which fault past the captured
 * bytes exactly like BPF's loads reject the packet. 32-bit BPF arithmetic is kept by masking the results of
 * + - * <<.
 *
 * What libpcap's optimizer does to the code, done the overlay's way (each step exact, see the notes):
 *  - a value every path to a block has computed is read from the register it was kept in (reuse.ts), so
 *    `4*(ip[0]&0xf)`, the Ethertype and the ports are loaded once per packet;
 *  - three-operand arithmetic reads kept values in place; `(x & m) == 0` is a `jset` with swapped branches;
 *  - blocks whose code and successors are identical are emitted once (libpcap's intern_blocks): the ports
 *    tested after IPv4 and after IPv6 share one chain of comparisons when their values sit in one register;
 *  - a jump to an exit is the exit itself where a block would otherwise end in `ja`.
 */
import { CompileLimitError, Label, ProgramBuilder, reg, type Arg } from "../program-builder.js";
import { LIMITS, type ProgramImage } from "../../overlay-isa/index.js";
import { isBlock, type Block, type ChainCond, type GraphNode, type Leaf, type TestCond } from "./graph.js";
import type { AluOp, JumpOp, Val } from "./ir.js";
import { assignRegisters, availability, varsOf, type Interval, type Occurrences, type RegisterPlan } from "./reuse.js";

/**
 * Headers `protochain` follows. libpcap loops until a load runs off the packet; the overlay's code is
 * loop-free, so the walk is unrolled: 192 steps cover every chain that fits a 1518-byte frame (each header
 * takes at least 8 bytes). A longer chain does not match.
 */
export const PROTOCHAIN_STEPS = 192;

const IPPROTO_NONE = 59;
const IPPROTO_AH = 51;
const IPV6_EXTENSIONS = [0, 60, 43, 44]; // hop-by-hop, destination options, routing, fragment

const ALU: Readonly<Record<AluOp, string>> = {
  add: "add", sub: "sub", mul: "mul", div: "div", mod: "mod", and: "and", or: "or", xor: "xor", lsh: "shl", rsh: "shr",
};
/** An upper bound on the bits a value needs, to skip the 32-bit mask where nothing can overflow. */
function bits(v: Val): number {
  switch (v.t) {
    case "k":
      return 32 - Math.clz32(v.v);
    case "ld":
      return v.size * 8;
    case "acc":
      return 0;
    case "field":
      return 16;
    case "bin": {
      const a = bits(v.a);
      const b = bits(v.b);
      switch (v.op) {
        case "and":
          return Math.min(a, b);
        case "or":
        case "xor":
          return Math.max(a, b);
        case "add":
          return Math.max(a, b) + 1;
        case "mul":
          return a + b;
        case "lsh":
          return v.b.t === "k" ? a + v.b.v : 64;
        case "rsh":
        case "div":
        case "mod":
          return a;
        case "sub":
          return 64; // may go below zero
      }
      return 64;
    }
    default:
      return 32;
  }
}
const NEGATED: Readonly<Record<Exclude<JumpOp, "jset">, string>> = { jeq: "jne", jgt: "jle", jge: "jlt" };
const LOAD: Readonly<Record<1 | 2 | 4, string>> = { 1: "ldb", 2: "ldh", 4: "ldw" };
const PKT = 0; // MEM_BASES index of `pkt`

/** Values the emitter computes once and may keep (constants and offset registers cost nothing to name). */
const tracked = (v: Val): boolean => v.t === "ld" || v.t === "bin" || v.t === "neg" || v.t === "len" || v.t === "field";

const codeKeys = new WeakMap<Val, string>();

/**
 * What a value computes, as code: ir.ts's valKey without the load's form (libpcap's optimizer numbers a
 * relation's `ip[9]` apart from `ip proto`'s load of the same byte, which matters for what it folds, not for
 * what the load returns).
 */
function codeKey(v: Val): string {
  let key = codeKeys.get(v);
  if (key !== undefined) return key;
  switch (v.t) {
    case "k":
      key = `#${v.v}`;
      break;
    case "ld":
      key = `ld${v.size}[${v.x ? codeKey(v.x) + "+" : ""}${v.off}]`;
      break;
    case "bin":
      key = `(${codeKey(v.a)} ${v.op} ${codeKey(v.b)})`;
      break;
    case "neg":
      key = `-(${codeKey(v.a)})`;
      break;
    case "var":
      key = `m${v.id}`;
      break;
    case "field":
      key = v.name;
      break;
    default:
      key = v.t;
  }
  codeKeys.set(v, key);
  return key;
}

/** Keys of every tracked value in v's tree. */
function keysOf(v: Val, into: string[] = []): string[] {
  if (tracked(v)) into.push(codeKey(v));
  if (v.t === "ld" && v.x) keysOf(v.x, into);
  else if (v.t === "bin") {
    keysOf(v.a, into);
    keysOf(v.b, into);
  } else if (v.t === "neg") keysOf(v.a, into);
  return into;
}

/** A test as it is emitted: `(x & m) == 0` becomes `!(x jset m)` (one instruction, the same outcome). */
interface TestShape {
  a: Val;
  op: JumpOp;
  b: Val;
  swap: boolean;
}
function shapeOf(c: TestCond): TestShape {
  const { a, op, b } = c;
  if (op === "jeq" && b.t === "k" && b.v === 0 && a.t === "bin" && a.op === "and" && a.b.t === "k") return { a: a.a, op: "jset", b: a.b, swap: true };
  return { a, op, b, swap: false };
}

/** Temporaries a value needs while it is computed, its result included when that is a fresh register. */
function need(v: Val): number {
  switch (v.t) {
    case "var":
      return 0; // read in place
    case "ld":
      return v.x ? Math.max(need(v.x), 1) : 1;
    case "neg":
      return Math.max(need(v.a), 1);
    case "bin": {
      if (v.b.t === "k") return Math.max(need(v.a), 1);
      const [first, second] = need(v.a) >= need(v.b) ? [need(v.a), need(v.b)] : [need(v.b), need(v.a)];
      return Math.max(first, 1 + second, 1);
    }
    default:
      return 1;
  }
}

function blockNeed(b: Block): number {
  switch (b.kind) {
    case "test": {
      if (b.t === b.f) return 0;
      const s = shapeOf(b.test);
      return s.b.t === "k" ? need(s.a) : Math.max(need(s.a), 1 + need(s.b));
    }
    case "seq":
      return Math.max(0, ...b.seq.set.map((s) => need(s.v)));
    case "chain":
      return Math.max(need(b.chain.start), 1 + need(b.chain.hlen), 3);
    case "eval":
      return Math.max(0, ...b.values.map(need));
  }
}

/** What a block computes, in order, with the offset registers it rewrites in between (reuse.ts). */
function computes(b: Block): ({ keys: string[] } | { kill: number })[] {
  switch (b.kind) {
    case "test": {
      if (b.t === b.f) return [];
      const s = shapeOf(b.test);
      return [{ keys: [...keysOf(s.a), ...keysOf(s.b)] }];
    }
    case "seq":
      return b.seq.set.flatMap((s) => [{ keys: keysOf(s.v) }, { kill: s.id }]);
    case "chain":
      return [{ keys: [...keysOf(b.chain.start), ...keysOf(b.chain.hlen)] }];
    case "eval":
      return [{ keys: b.values.flatMap((v) => keysOf(v)) }];
  }
}

/**
 * Blocks in a topological order (each after all its predecessors): a block is followed by its true successor,
 * or by its false one when it ends in `jset` (which has no negated form) — so most blocks need one jump.
 */
function layout(root: GraphNode): Block[] {
  const order: Block[] = [];
  const seen = new Set<Block>();
  const visit = (n: GraphNode) => {
    if (!isBlock(n) || seen.has(n)) return;
    seen.add(n);
    // the successor visited last is laid out right after the block: the one the block falls through to
    const shape = n.kind === "test" ? shapeOf(n.test) : undefined;
    const fallsToFalse = shape?.op === "jset" && !shape.swap; // `jset → t`, else f; swapped: `jset → f`, else t
    const [first, last] = fallsToFalse ? [n.t, n.f] : [n.f, n.t];
    visit(first);
    visit(last);
    order.push(n);
  };
  visit(root);
  return order.reverse();
}

/** A jump target inside buffered code: a graph node, resolved once identical blocks are merged. */
class Goto {
  constructor(readonly node: GraphNode) {}
}
type CodeArg = Arg | Goto;
interface Insn {
  m: string;
  args: CodeArg[];
}
/** A block's code: instructions (or the binding of a label local to the block), then where it falls through. */
interface BlockCode {
  insns: (Insn | Label)[];
  fall: GraphNode;
}

interface Operand {
  reg: number;
  /** a temporary the caller frees (else a kept value or an offset register, read in place) */
  owned: boolean;
}

/** The register state one emission pass works with: a dry run records occurrences, the real one emits. */
type Mode = { dry: true; kept: ReadonlySet<string>; seen: Occurrences } | { dry: false; plan: RegisterPlan };

class BlockEmitter {
  private insns: (Insn | Label)[] = [];
  private free: number[] = [];
  private avail = new Set<string>();
  private position = 0;
  private labels = 0;

  constructor(
    private readonly mode: Mode,
    private readonly varRegs: readonly number[],
    private readonly varsOfKey: (key: string) => ReadonlySet<number>,
  ) {}

  private emit(m: string, ...args: CodeArg[]): void {
    this.insns.push({ m, args });
  }

  private alloc(): number {
    if (this.mode.dry) return 0;
    const r = this.free.pop();
    if (r === undefined) throw new Error("internal: the filter emitter ran out of temporary registers");
    return r;
  }

  private release(o: Operand): void {
    if (o.owned && !this.mode.dry) this.free.push(o.reg);
  }

  private kept(key: string): boolean {
    return this.mode.dry ? this.mode.kept.has(key) : this.mode.plan.intervals.has(key);
  }

  private record(kind: "defs" | "reuses", key: string): void {
    if (!this.mode.dry) return;
    const list = this.mode.seen[kind];
    (list.get(key) ?? list.set(key, []).get(key)!).push(this.position);
  }

  /** Compute a value (or find it kept); the result is read-only unless owned. */
  value(v: Val): Operand {
    if (v.t === "var") return { reg: this.varRegs[v.id]!, owned: false };
    const key = tracked(v) ? codeKey(v) : undefined;
    let target: number | undefined;
    if (key !== undefined && this.kept(key)) {
      if (this.avail.has(key)) {
        this.record("reuses", key);
        if (this.mode.dry) return { reg: 0, owned: false };
        const r = this.mode.plan.registerAt(key, this.position);
        if (r === undefined) throw new Error(`internal: kept value ${key} has no register at block ${this.position}`);
        return { reg: r, owned: false };
      }
      if (!this.mode.dry) target = this.mode.plan.registerAt(key, this.position);
    }
    const result = this.compute(v, target);
    if (key !== undefined) {
      this.record("defs", key);
      if (this.kept(key) && (this.mode.dry || target !== undefined)) this.avail.add(key);
    }
    return result;
  }

  /** Compute v into `target` (a kept value's register) or a temporary. */
  private compute(v: Val, target: number | undefined): Operand {
    const into = (reuse?: Operand): Operand => {
      if (target !== undefined) return { reg: target, owned: false };
      if (reuse?.owned) return reuse;
      return { reg: this.alloc(), owned: true };
    };
    const finish = (out: Operand, ...inputs: Operand[]): Operand => {
      for (const i of inputs) if (i.owned && i.reg !== out.reg) this.release(i);
      return out;
    };
    switch (v.t) {
      case "k":
      case "acc": {
        const out = into();
        this.emit("mov", reg(out.reg), v.t === "k" ? v.v : 0);
        return out;
      }
      case "len":
      case "field": {
        const out = into();
        this.emit("ldf", reg(out.reg), v.t === "len" ? "pkt.len" : v.name);
        return out;
      }
      case "var":
        return { reg: this.varRegs[v.id]!, owned: false };
      case "ld": {
        if (v.x) {
          // index + offset in 64 bits: past 2^32 is past the packet, as BPF's overflow check has it
          const x = this.value(v.x);
          const out = into(x);
          this.emit(LOAD[v.size], reg(out.reg), { base: PKT, index: x.reg, offset: v.off });
          return finish(out, x);
        }
        const out = into();
        this.emit(LOAD[v.size], reg(out.reg), { base: PKT, offset: v.off });
        return out;
      }
      case "neg": {
        const a = this.value(v.a);
        const out = into(a);
        this.emit("xor", reg(out.reg), reg(a.reg), 0xffffffff); // 0 - x in 32 bits: !x + 1
        this.emit("add", reg(out.reg), reg(out.reg), 1);
        this.emit("and", reg(out.reg), reg(out.reg), 0xffffffff);
        return finish(out, a);
      }
      case "bin": {
        let out: Operand;
        if (v.b.t === "k") {
          const a = this.value(v.a);
          out = into(a);
          this.emit(ALU[v.op], reg(out.reg), reg(a.reg), v.b.v);
          finish(out, a);
        } else {
          let a: Operand;
          let b: Operand;
          if (need(v.a) >= need(v.b)) {
            a = this.value(v.a);
            b = this.value(v.b);
          } else {
            b = this.value(v.b);
            a = this.value(v.a);
          }
          out = into(a.owned ? a : b);
          this.emit(ALU[v.op], reg(out.reg), reg(a.reg), reg(b.reg));
          finish(out, a, b);
        }
        if (bits(v) > 32) this.emit("and", reg(out.reg), reg(out.reg), 0xffffffff);
        return out;
      }
    }
  }

  /** An owned copy of a value (the protochain walk rewrites its registers). */
  private owned(v: Val): Operand {
    const o = this.value(v);
    if (o.owned) return o;
    const copy = { reg: this.alloc(), owned: true };
    this.emit("mov", reg(copy.reg), reg(o.reg));
    return copy;
  }

  /** The code of block `b` at layout position `position`; `next` is the block laid out after it. */
  block(b: Block, position: number, availIn: ReadonlySet<string>, next: GraphNode | undefined): BlockCode {
    this.insns = [];
    this.position = position;
    this.avail = new Set(availIn);
    this.free = this.mode.dry ? [] : this.mode.plan.temps(position).reverse(); // alloc() pops the preferred
    let fall: GraphNode;
    switch (b.kind) {
      case "test":
        fall = b.t === b.f ? b.t : this.test(b.test, b.t, b.f, next);
        break;
      case "seq":
        for (const { id, v } of b.seq.set) {
          const r = this.value(v);
          this.emit("mov", reg(this.varRegs[id]!), reg(r.reg));
          this.release(r);
          for (const key of [...this.avail]) if (this.varsOfKey(key).has(id)) this.avail.delete(key);
        }
        fall = b.t;
        break;
      case "chain":
        fall = this.chain(b.chain, b.t, b.f, next);
        break;
      case "eval":
        for (const v of b.values) this.release(this.value(v));
        fall = b.t;
        break;
    }
    return { insns: this.insns, fall };
  }

  private test(c: TestCond, t: GraphNode, f: GraphNode, next: GraphNode | undefined): GraphNode {
    const s = shapeOf(c);
    const a = this.value(s.a);
    const b = s.b.t === "k" ? undefined : this.value(s.b);
    const fall = s.swap ? this.branch(a.reg, s.op, b ? reg(b.reg) : (s.b as { v: number }).v, f, t, next) : this.branch(a.reg, s.op, b ? reg(b.reg) : (s.b as { v: number }).v, t, f, next);
    this.release(a);
    if (b) this.release(b);
    return fall;
  }

  /** The conditional jump for `a OP b`; returns where the block falls through to. */
  private branch(a: number, op: JumpOp, b: number | { reg: number }, t: GraphNode, f: GraphNode, next: GraphNode | undefined): GraphNode {
    if (next === t && op !== "jset") {
      this.emit(NEGATED[op], reg(a), b, new Goto(f));
      return t;
    }
    this.emit(op, reg(a), b, new Goto(t));
    return f;
  }

  /** `ip protochain` / `ip6 protochain`, libpcap's header walk unrolled (see PROTOCHAIN_STEPS). */
  private chain(c: ChainCond, t: GraphNode, f: GraphNode, next: GraphNode | undefined): GraphNode {
    const rA = this.owned(c.start);
    const rX = this.owned(c.hlen);
    const rT = { reg: this.alloc(), owned: true };
    const [A, X, T] = [rA.reg, rX.reg, rT.reg];
    const label = () => new Label(`c${this.labels++}`);
    const end = label();
    for (let step = 0; step < PROTOCHAIN_STEPS; step++) {
      const again = label();
      this.emit("jeq", reg(A), c.proto, end);
      this.emit("jeq", reg(A), IPPROTO_NONE, end);
      const extension = label();
      if (c.ipv6) for (const p of IPV6_EXTENSIONS) this.emit("jeq", reg(A), p, extension);
      this.emit("jne", reg(A), IPPROTO_AH, end);
      // AH: libpcap sets X to (length + 2) * 4 without adding the header's own offset; kept as it is
      this.emit("ldb", reg(T), { base: PKT, index: X, offset: c.nl + 1 });
      this.emit("ldb", reg(A), { base: PKT, index: X, offset: c.nl });
      this.emit("add", reg(T), reg(T), 2);
      this.emit("shl", reg(X), reg(T), 2);
      if (c.ipv6) {
        this.emit("ja", again);
        this.insns.push(extension);
        this.emit("ldb", reg(T), { base: PKT, index: X, offset: c.nl + 1 });
        this.emit("ldb", reg(A), { base: PKT, index: X, offset: c.nl });
        this.emit("add", reg(T), reg(T), 1);
        this.emit("shl", reg(T), reg(T), 3);
        this.emit("add", reg(X), reg(X), reg(T));
      } else {
        this.insns.push(extension); // unused for IPv4; bound so the builder sees every label placed
      }
      this.insns.push(again);
    }
    this.emit("ja", new Goto(f)); // the chain goes on past the unrolled steps
    this.insns.push(end);
    const fall = this.branch(A, "jeq", c.proto, t, f, next);
    this.release(rT);
    this.release(rX);
    this.release(rA);
    return fall;
  }
}

/** The offset registers each key's value reads. */
function varsByKey(order: readonly Block[]): (key: string) => ReadonlySet<number> {
  const vars = new Map<string, Set<number>>();
  const note = (v: Val): void => {
    if (tracked(v) && !vars.has(codeKey(v))) vars.set(codeKey(v), varsOf(v));
    if (v.t === "ld" && v.x) note(v.x);
    else if (v.t === "bin") {
      note(v.a);
      note(v.b);
    } else if (v.t === "neg") note(v.a);
  };
  for (const b of order) for (const v of blockVals(b)) note(v);
  return (key) => vars.get(key) ?? new Set();
}

function blockVals(b: Block): Val[] {
  switch (b.kind) {
    case "test": {
      const s = shapeOf(b.test);
      return [s.a, s.b];
    }
    case "seq":
      return b.seq.set.map((s) => s.v);
    case "chain":
      return [b.chain.start, b.chain.hlen];
    case "eval":
      return b.values;
  }
}

/** One emission pass over the laid-out blocks. */
function emitBlocks(mode: Mode, order: readonly Block[], availIn: readonly Set<string>[], varRegs: readonly number[], varsOfKey: (key: string) => ReadonlySet<number>): BlockCode[] {
  const e = new BlockEmitter(mode, varRegs, varsOfKey);
  return order.map((b, p) => e.block(b, p, availIn[p]!, order[p + 1]));
}

/** Registers for the kept values: dry runs until every value that is reused has a register or is recomputed. */
function planRegisters(
  order: readonly Block[],
  availIn: readonly Set<string>[],
  varRegs: readonly number[],
  general: readonly number[],
  varsOfKey: (key: string) => ReadonlySet<number>,
  hints: ReadonlyMap<string, string>,
): RegisterPlan {
  const needs = order.map(blockNeed);
  const worst = Math.max(0, ...needs);
  if (worst > general.length) throw new CompileLimitError(`the expression needs more than ${LIMITS.registers} registers`);
  let kept = new Set(order.flatMap((b) => computes(b).flatMap((s) => ("keys" in s ? s.keys : []))));
  for (let round = 0; ; round++) {
    const seen: Occurrences = { defs: new Map(), reuses: new Map() };
    emitBlocks({ dry: true, kept, seen }, order, availIn, varRegs, varsOfKey);
    kept = new Set([...kept].filter((key) => (seen.reuses.get(key)?.length ?? 0) > 0));
    const { plan, spilled } = assignRegisters(kept, seen, general, needs, hints);
    if (spilled.length === 0) return plan;
    for (const key of spilled) kept.delete(key);
    if (round > 64) throw new Error("internal: register planning did not settle");
  }
}

/** A block's code as text, its jump targets named by `name`; `registers` false leaves register numbers out. */
function signature(code: BlockCode, name: (n: GraphNode) => string, registers: boolean): string {
  const arg = (a: CodeArg) => {
    if (a instanceof Goto) return name(a.node);
    if (!registers && typeof a === "object" && a !== null && "reg" in a) return "r";
    if (!registers && typeof a === "object" && a !== null && "index" in a) return `[${(a as { offset: number }).offset}]`;
    return JSON.stringify(a);
  };
  return `${(code.insns as Insn[]).map((i) => `${i.m} ${i.args.map(arg).join(",")}`).join(";")}|${name(code.fall)}`;
}

/** Register operands of a block's code, in order. */
function registersOf(code: BlockCode): number[] {
  const out: number[] = [];
  for (const i of code.insns as Insn[]) {
    for (const a of i.args) {
      if (typeof a !== "object" || a === null || a instanceof Goto) continue;
      if ("reg" in a) out.push((a as { reg: number }).reg);
      else if ("index" in a && (a as { index?: number }).index !== undefined) out.push((a as { index: number }).index);
    }
  }
  return out;
}

/**
 * Emit blocks whose code and fall-through are identical only once (the later one, after all predecessors of
 * both); a block without code is its successor. Returns each block's representative. With `registers` false,
 * blocks that differ only in register numbers count as identical (to find which values to give one register).
 */
function mergeIdentical(order: readonly Block[], codes: readonly BlockCode[], registers = true): Map<Block, GraphNode> {
  const rep = new Map<Block, GraphNode>();
  const resolve = (n: GraphNode): GraphNode => (isBlock(n) ? rep.get(n) ?? n : n);
  const ids = new Map<Block, number>(order.map((b, i) => [b, i]));
  const name = (n: GraphNode) => {
    const r = resolve(n);
    return isBlock(r) ? `b${ids.get(r)}` : r;
  };
  const bySignature = new Map<string, Block>();
  for (let p = order.length - 1; p >= 0; p--) {
    const b = order[p]!;
    const code = codes[p]!;
    if (code.insns.length === 0) {
      rep.set(b, resolve(code.fall));
      continue;
    }
    // blocks with labels of their own (protochain) are never merged
    if (code.insns.some((i) => i instanceof Label)) {
      rep.set(b, b);
      continue;
    }
    const sig = signature(code, name, registers);
    const same = bySignature.get(sig);
    if (same) rep.set(b, same);
    else {
      bySignature.set(sig, b);
      rep.set(b, b);
    }
  }
  return rep;
}

/**
 * Register hints that let more blocks merge: where two blocks differ only in the registers of kept values
 * (the ports after IPv4 in r2, after IPv6 in r0), the later value is hinted to the earlier one's register.
 */
function mergeHints(order: readonly Block[], codes: readonly BlockCode[], plan: RegisterPlan): Map<string, string> {
  const loose = mergeIdentical(order, codes, false);
  const position = new Map<Block, number>(order.map((b, i) => [b, i]));
  const byReg = new Map<number, Interval[]>();
  for (const i of plan.intervals.values()) (byReg.get(i.reg) ?? byReg.set(i.reg, []).get(i.reg)!).push(i);
  const keyIn = (r: number, p: number) => byReg.get(r)?.find((i) => i.start <= p && p <= i.end);
  const hints = new Map<string, string>();
  order.forEach((b, p) => {
    const other = loose.get(b);
    if (!other || other === b || !isBlock(other)) return;
    const q = position.get(other)!;
    const mine = registersOf(codes[p]!);
    const theirs = registersOf(codes[q]!);
    mine.forEach((r, i) => {
      const s = theirs[i]!;
      if (r === s) return;
      const x = keyIn(r, p);
      const y = keyIn(s, q);
      if (!x || !y || x.key === y.key) return;
      const [early, late] = x.start <= y.start ? [x, y] : [y, x];
      if (!hints.has(late.key)) hints.set(late.key, early.key);
    });
  });
  return hints;
}

export function emitFilter(root: GraphNode, vars: number): ProgramImage {
  if (vars > LIMITS.registers - 4) throw new CompileLimitError(`the filter needs ${vars} offset registers; the overlay has ${LIMITS.registers}`);
  const varRegs = Array.from({ length: vars }, (_, i) => LIMITS.registers - 1 - i);
  const general = Array.from({ length: LIMITS.registers - vars }, (_, i) => i);
  const order = layout(root);
  const position = new Map<Block, number>(order.map((b, i) => [b, i]));
  const varsOfKey = varsByKey(order);
  const availIn = availability(order, position, computes, varsOfKey);
  const emitWith = (hints: ReadonlyMap<string, string>) => {
    const plan = planRegisters(order, availIn, varRegs, general, varsOfKey, hints);
    const codes = emitBlocks({ dry: false, plan }, order, availIn, varRegs, varsOfKey);
    return { plan, codes, image: assemble(root, order, codes, varRegs) };
  };
  const first = emitWith(new Map());
  const hints = mergeHints(order, first.codes, first.plan);
  if (hints.size === 0) return first.image;
  const second = emitWith(hints);
  return second.image.code.length < first.image.code.length ? second.image : first.image;
}

const INVERSE: Readonly<Record<string, string>> = { jeq: "jne", jne: "jeq", jgt: "jle", jle: "jgt", jge: "jlt", jlt: "jge" };

/**
 * A block whose conditional jump goes to the block laid out next (merging moved its fall-through elsewhere)
 * jumps on the inverse condition to the old fall-through instead, and falls into the next block: one `ja` less.
 */
function flipToFallThrough(code: BlockCode, resolve: (n: GraphNode) => GraphNode, next: Block | undefined): BlockCode {
  const last = code.insns[code.insns.length - 1];
  if (next === undefined || last === undefined || last instanceof Label || resolve(code.fall) === next) return code;
  const goto = last.args[last.args.length - 1];
  const inverse = INVERSE[last.m];
  if (!(goto instanceof Goto) || inverse === undefined || resolve(goto.node) !== next) return code;
  const flipped: Insn = { m: inverse, args: [...last.args.slice(0, -1), new Goto(code.fall)] };
  return { insns: [...code.insns.slice(0, -1), flipped], fall: goto.node };
}

/** The program: offset registers cleared, the merged blocks in layout order, then the exits jumped to. */
function assemble(root: GraphNode, order: readonly Block[], codes: readonly BlockCode[], varRegs: readonly number[]): ProgramImage {
  const builder = new ProgramBuilder("filter");
  for (const r of varRegs) builder.emit("mov", reg(r), 0); // offset registers start at 0, as if never set
  const rep = mergeIdentical(order, codes);
  const position = new Map<Block, number>(order.map((b, i) => [b, i]));
  const exits: Record<Leaf, Label> = { accept: builder.label("accept"), reject: builder.label("drop") };
  const used = new Set<Leaf>();
  const labels = new Map<Block, Label>();
  const resolve = (n: GraphNode): GraphNode => (isBlock(n) ? rep.get(n)! : n);
  const target = (n: GraphNode): Label => {
    const r = resolve(n);
    if (!isBlock(r)) {
      used.add(r);
      return exits[r];
    }
    return labels.get(r) ?? labels.set(r, builder.label(`b${position.get(r)}`)).get(r)!;
  };
  const emitted = order.filter((b) => rep.get(b) === b);
  const start = resolve(root);
  if (!isBlock(start)) {
    builder.exit({ kind: start === "accept" ? "accept" : "drop" });
    return builder.build();
  }
  if (emitted[0] !== start) builder.emit("ja", target(start));
  let fallsTo: Leaf | undefined;
  emitted.forEach((b, i) => {
    builder.bind(target(b));
    const code = flipToFallThrough(codes[position.get(b)!]!, resolve, emitted[i + 1]);
    for (const insn of code.insns) {
      if (insn instanceof Label) builder.bind(insn);
      else builder.emit(insn.m, ...insn.args.map((a) => (a instanceof Goto ? target(a.node) : a)));
    }
    const fall = resolve(code.fall);
    if (i + 1 < emitted.length && fall === emitted[i + 1]) return;
    if (isBlock(fall)) builder.emit("ja", target(fall));
    else if (i + 1 === emitted.length) fallsTo = fall; // the exits follow the last block
    else builder.exit({ kind: fall === "accept" ? "accept" : "drop" });
  });
  // the exit the last block falls into comes first
  const leaves: Leaf[] = fallsTo === "reject" ? ["reject", "accept"] : ["accept", "reject"];
  for (const leaf of leaves) {
    if (!used.has(leaf) && leaf !== fallsTo) continue;
    builder.bind(exits[leaf]);
    builder.exit({ kind: leaf === "accept" ? "accept" : "drop" });
  }
  return builder.build();
}
