/**
 * libpcap's optimizer, as far as it changes which packets match or whether an expression compiles. It runs in
 * libpcap's two phases on the block graph (graph.ts):
 *
 *  1. branches: tests of two literal constants are decided; an edge whose successor tests what a dominating
 *     edge already decided is redirected past it (same value, operator and operand → same outcome; after a
 *     true `x == c`, `x == d` is false); a block whose branches meet is bypassed, its loads with it. Repeated
 *     until nothing changes. This is why `ip6 or udp port 53` accepts an IPv6 packet too short to hold a port.
 *  2. statements: constant folding, with its errors ("division by zero", "shift by more than 31 bits") and
 *     simplifications that drop loads (`x * 0` is 0 even when x lies past the captured bytes); tests it decides
 *     keep their place in the graph but load nothing. No branch is moved in this phase.
 *
 * Then the root is skipped while both its branches go to the same place; a root that ends as reject is
 * libpcap's "expression rejects all packets".
 *
 * Values are numbered like libpcap numbers them (ir.ts valKey): a load from an arithmetic relation (`ip[9]`)
 * and the same byte loaded by a primitive (`ip proto 6`) get different numbers there, so they do not fold
 * against each other here either.
 */
import { GenError } from "./errors.js";
import { isBlock, topologicalOrder, type Block, type GraphNode, type TestBlock } from "./graph.js";
import { valKey, type AluOp, type JumpOp, type Val } from "./ir.js";

function foldOp(op: AluOp, a: number, b: number, at: number): number {
  switch (op) {
    case "add":
      return (a + b) >>> 0;
    case "sub":
      return (a - b) >>> 0;
    case "mul":
      return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
    case "div":
      if (b === 0) throw new GenError(at, "division by zero");
      return Math.floor(a / b) >>> 0;
    case "mod":
      if (b === 0) throw new GenError(at, "modulus by zero");
      return a % b >>> 0;
    case "and":
      return (a & b) >>> 0;
    case "or":
      return (a | b) >>> 0;
    case "xor":
      return (a ^ b) >>> 0;
    case "lsh":
      return b < 32 ? (a << b) >>> 0 : 0;
    case "rsh":
      return b < 32 ? a >>> b : 0;
  }
}

/**
 * Phase-2 constant folding of one value (libpcap's opt_stmt with `alter` set). A divisor that only folds to 0
 * here becomes `div #0`, which libpcap refuses on its next pass — if the block is still reachable then — so that
 * error goes to `deferred` rather than being thrown.
 */
export function foldVal(v: Val, at: number, deferred: (message: string) => void = (m) => {
  throw new GenError(at, m);
}): Val {
  const fold = (x: Val) => foldVal(x, at, deferred);
  switch (v.t) {
    case "ld": {
      if (!v.x) return v;
      const x = fold(v.x);
      // a constant index becomes part of the offset, added in 32 bits: `ip[0 - 14]` wraps to the frame start
      if (x.t === "k") return { t: "ld", size: v.size, off: (x.v + v.off) >>> 0, form: v.form };
      // libpcap's "ugly special case" for tcp[k]: `ld #k; add x; tax; ld [x + m]` becomes `ld [x + m + k]`, the
      // sum taken in 32 bits, so a negative k lands before the transport header or far past the packet
      if (x.t === "bin" && x.op === "add" && x.a.t === "k") return { ...v, off: (x.a.v + v.off) >>> 0, x: x.b };
      return { ...v, x };
    }
    case "neg": {
      const a = fold(v.a);
      return a.t === "k" ? { t: "k", v: (0 - a.v) >>> 0 } : { t: "neg", a };
    }
    case "bin": {
      const a = fold(v.a);
      const b = fold(v.b);
      if (b.t === "k") {
        if (a.t === "k") return { t: "k", v: foldOp(v.op, a.v, b.v, at) };
        if ((v.op === "lsh" || v.op === "rsh") && b.v > 31) throw new GenError(at, "shift by more than 31 bits");
        if (b.v === 0) {
          if (v.op === "add" || v.op === "lsh" || v.op === "rsh" || v.op === "or" || v.op === "xor") return a;
          if (v.op === "mul" || v.op === "and") return { t: "k", v: 0 };
          if (v.op === "div") deferred("division by zero");
          if (v.op === "mod") deferred("modulus by zero");
        }
        return { t: "bin", op: v.op, a, b };
      }
      if (a.t === "k" && a.v === 0) {
        if (v.op === "add" || v.op === "or" || v.op === "xor") return b;
        if (v.op !== "sub") return { t: "k", v: 0 };
      }
      return { t: "bin", op: v.op, a, b };
    }
    default:
      return v;
  }
}

function decide(op: JumpOp, a: number, b: number): boolean {
  switch (op) {
    case "jeq":
      return a === b;
    case "jgt":
      return a > b;
    case "jge":
      return a >= b;
    case "jset":
      return (a & b) !== 0;
  }
}

/** The outcome of a test whose operands fold to constants, or undefined. */
function constantOutcome(b: TestBlock, a: Val, o: Val): boolean | undefined {
  if (a.t === "k" && o.t === "k") return decide(b.test.op, a.v, o.v);
  // libpcap's peephole turns `(x & m) == 0` into `!(x jset m)`, then takes `jset #0xffffffff` as always true,
  // so `x & 0xffffffff == 0` never matches (even when x is 0)
  if (b.test.op === "jeq" && o.t === "k" && o.v === 0 && a.t === "bin" && a.op === "and" && a.b.t === "k" && a.b.v === 0xffffffff) return false;
  return undefined;
}

function settle(b: Block, outcome: boolean): void {
  const target = outcome ? b.t : b.f;
  b.t = target;
  b.f = target;
}

function hasLoad(v: Val): boolean {
  switch (v.t) {
    case "ld":
      return true;
    case "bin":
      return hasLoad(v.a) || hasLoad(v.b);
    case "neg":
      return hasLoad(v.a);
    default:
      return false;
  }
}

// ---- phase 1: branches ---------------------------------------------------------------------------------------

interface Edge {
  pred: TestBlock;
  sense: boolean;
}

const code = (b: TestBlock) => `${b.test.op}${b.test.b.t === "k" ? "K" : "X"}`;

/** libpcap's fold_edge(): the outcome of `child` known from a dominating edge, or undefined. */
function foldEdge(child: Block, dom: Edge): GraphNode | undefined {
  if (child.kind !== "test") return undefined;
  const pred = dom.pred;
  if (code(child) !== code(pred) || valKey(child.test.a) !== valKey(pred.test.a)) return undefined;
  if (valKey(child.test.b) === valKey(pred.test.b)) return dom.sense ? child.t : child.f;
  if (dom.sense && code(pred) === "jeqK") return child.f;
  return undefined;
}

/** The value a block leaves in libpcap's accumulator: what it tests. */
const aKey = (b: Block) => (b.kind === "test" ? valKey(b.test.a) : `opaque${b.id}`);

/** A branch slot of a block (libpcap's `&JT(b)` / `&JF(b)`). */
interface Slot {
  block: Block;
  sense: boolean;
}
const read = (s: Slot): GraphNode => (s.sense ? s.block.t : s.block.f);
const write = (s: Slot, n: GraphNode): void => {
  if (s.sense) s.block.t = n;
  else s.block.f = n;
};

/** Fixed-size bit sets over block or edge numbers (libpcap's uset). */
class BitSet {
  readonly words: Uint32Array;
  constructor(size: number, full = false) {
    this.words = new Uint32Array((size + 31) >>> 5);
    if (full) this.words.fill(0xffffffff);
  }
  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  add(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  intersect(other: BitSet): void {
    for (let w = 0; w < this.words.length; w++) this.words[w]! &= other.words[w]!;
  }
  copy(): BitSet {
    const c = new BitSet(0);
    (c as { words: Uint32Array }).words = this.words.slice();
    return c;
  }
  *members(): Generator<number> {
    for (let w = 0; w < this.words.length; w++) {
      let x = this.words[w]!;
      while (x !== 0) {
        const bit = 31 - Math.clz32(x & -x);
        x &= x - 1;
        yield w * 32 + bit;
      }
    }
  }
}

/** One pass's view of the graph, computed at its start as libpcap's find_levels/find_dom/find_edom do. */
interface PassState {
  /** blocks by level (leaves 0, a block one above its higher child), each list in libpcap's link order */
  levels: Block[][];
  /** whether block `b` is dominated by block `by` */
  dominatedBy(b: Block, by: Block): boolean;
  /** the edges dominating a block's true or false edge, the edge itself included */
  edom(b: Block, sense: boolean): Edge[];
}

function analysePass(root: Block): PassState {
  const level = new Map<Block, number>();
  const levels: Block[][] = [];
  const levelOf = (n: GraphNode) => (isBlock(n) ? level.get(n)! : 0);
  const visit = (b: GraphNode) => {
    if (!isBlock(b) || level.has(b)) return;
    level.set(b, -1);
    visit(b.t);
    visit(b.f);
    const l = Math.max(levelOf(b.t), levelOf(b.f)) + 1;
    level.set(b, l);
    (levels[l] ??= []).unshift(b);
  };
  visit(root);
  const index = new Map<Block, number>();
  const blocks: Block[] = [];
  for (let l = levels.length - 1; l >= 1; l--) for (const b of levels[l] ?? []) index.set(b, blocks.push(b) - 1);
  const n = blocks.length;
  const edges: Edge[] = blocks.flatMap((b) => [{ pred: b as TestBlock, sense: true }, { pred: b as TestBlock, sense: false }]);
  const dom: (BitSet | undefined)[] = new Array(n);
  const edomIn: (BitSet | undefined)[] = new Array(n);
  const edomOut: BitSet[] = new Array(2 * n);
  dom[0] = new BitSet(n);
  edomIn[0] = new BitSet(2 * n);
  for (let i = 0; i < n; i++) {
    const b = blocks[i]!;
    const d = dom[i]!;
    d.add(i);
    for (const sense of [true, false]) {
      const e = 2 * i + (sense ? 0 : 1);
      const out = edomIn[i]!.copy();
      out.add(e);
      edomOut[e] = out;
      const succ = sense ? b.t : b.f;
      if (!isBlock(succ)) continue;
      const j = index.get(succ)!;
      if (dom[j]) dom[j]!.intersect(d);
      else dom[j] = d.copy();
      if (edomIn[j]) edomIn[j]!.intersect(out);
      else edomIn[j] = out.copy();
    }
  }
  return {
    levels,
    dominatedBy: (b, by) => {
      const i = index.get(b);
      const j = index.get(by);
      return i !== undefined && j !== undefined && dom[i]!.has(j);
    },
    edom: (b, sense) => [...edomOut[2 * index.get(b)! + (sense ? 0 : 1)]!.members()].map((e) => edges[e]!),
  };
}

/** libpcap's opt_j(): move an edge past successors its dominating edges decide. */
function optJ(from: Slot, doms: readonly Edge[]): boolean {
  let changed = false;
  let succ = read(from);
  if (!isBlock(succ)) return false;
  if (succ.t === succ.f) {
    write(from, succ.t);
    changed = true;
  }
  for (let guard = 0; guard < 10_000; guard++) {
    succ = read(from);
    if (!isBlock(succ)) break;
    let target: GraphNode | undefined;
    for (let i = 0; target === undefined && i < doms.length; i++) target = foldEdge(succ, doms[i]!);
    if (target === undefined) break;
    write(from, target);
    changed = true;
  }
  return changed;
}

/**
 * libpcap's or_pullup() (`or = true`) and and_pullup(): in a chain of tests sharing their true (or, for AND,
 * false) target, move up the first later test of the value the block's predecessors tested — libpcap's
 * "predicate assertion propagation". It reorders evaluation, so it decides which loads a packet reaches.
 */
function pullup(b: Block, inEdges: readonly Edge[], pass: PassState, or: boolean): boolean {
  if (inEdges.length === 0) return false;
  const val = aKey(inEdges[0]!.pred);
  if (inEdges.some((e) => aKey(e.pred) !== val)) return false;
  const same = (n: GraphNode) => (or ? (n as Block).t === b.t : (n as Block).f === b.f);
  const dominated = (n: Block) => pass.dominatedBy(n, b);
  const first = inEdges[0]!.pred;
  let diffp: Slot = { block: first, sense: first.t === b };
  let atTop = true;
  for (;;) {
    const d = read(diffp);
    if (!isBlock(d) || !same(d) || !dominated(d)) return false;
    if (aKey(d) !== val) break;
    diffp = { block: d, sense: !or };
    atTop = false;
  }
  let samep: Slot = { block: read(diffp) as Block, sense: !or };
  for (;;) {
    const s = read(samep);
    if (!isBlock(s) || !same(s) || !dominated(s)) return false;
    if (aKey(s) === val) break;
    samep = { block: s, sense: !or };
  }
  const pull = read(samep) as Block;
  write(samep, or ? pull.f : pull.t);
  if (or) pull.f = read(diffp);
  else pull.t = read(diffp);
  if (atTop) {
    for (const e of inEdges) {
      if (e.pred.t === b) e.pred.t = pull;
      else e.pred.f = pull;
    }
  } else {
    write(diffp, pull);
  }
  return true;
}

/** Phase 1 of libpcap's optimizer, pass after pass until nothing moves: opt_j on every edge, then the pullups. */
function threadBranches(root: GraphNode): GraphNode {
  for (let pass = 0; pass < 200 && isBlock(root); pass++) {
    const view = analysePass(root);
    const { levels } = view;
    let changed = false;
    for (let l = 1; l < levels.length; l++) {
      for (const p of levels[l] ?? []) {
        if (optJ({ block: p, sense: true }, view.edom(p, true))) changed = true;
        if (optJ({ block: p, sense: false }, view.edom(p, false))) changed = true;
      }
    }
    // in-edges after the jumps moved, linked the way libpcap's find_inedges() links them (each list newest first)
    const inEdges = new Map<Block, Edge[]>();
    for (let l = levels.length - 1; l >= 1; l--) {
      for (const p of levels[l] ?? []) {
        for (const sense of [true, false]) {
          const succ = sense ? p.t : p.f;
          if (isBlock(succ)) (inEdges.get(succ) ?? inEdges.set(succ, []).get(succ)!).unshift({ pred: p as TestBlock, sense });
        }
      }
    }
    for (let l = 1; l < levels.length; l++) {
      for (const p of levels[l] ?? []) {
        if (pullup(p, inEdges.get(p) ?? [], view, true)) changed = true;
        if (pullup(p, inEdges.get(p) ?? [], view, false)) changed = true;
      }
    }
    if (!changed) break;
  }
  return root;
}

/** Run libpcap's optimizer over a block graph; returns the new root (a leaf when the filter is constant). */
export function optimizeGraph(root: GraphNode): GraphNode {
  // phase 1: literal-constant tests are decided, then branches are threaded (the root stays in place)
  for (const b of topologicalOrder(root)) {
    if (b.kind !== "test") continue;
    const { a, op, b: o } = b.test;
    if (a.t === "k" && o.t === "k") settle(b, decide(op, a.v, o.v));
    // the peephole `and #m; jeq #0` → `jset #m` with the branches swapped; it changes which tests fold
    // together (a primitive's mask is a constant from the start; a relation's only becomes one in phase 2)
    else if (b.test.at === undefined && op === "jeq" && o.t === "k" && o.v === 0 && a.t === "bin" && a.op === "and" && a.b.t === "k") {
      b.test = { ...b.test, a: a.a, op: "jset", b: a.b };
      [b.t, b.f] = [b.f, b.t];
      // and then "jset #0 → never, jset #0xffffffff → always" (the second wrong for a zero value, as libpcap has it)
      if (a.b.v === 0) settle(b, false);
      else if (a.b.v === 0xffffffff) settle(b, true);
    }
  }
  root = threadBranches(root);

  // phase 2: statements are folded (which may fail); decided tests keep their place but load nothing
  const pending = new Map<Block, GenError>();
  for (const b of topologicalOrder(root)) {
    if (b.kind !== "test") continue;
    const at = b.test.at ?? 0;
    const defer = (message: string) => {
      if (!pending.has(b)) pending.set(b, new GenError(at, message));
    };
    const a = foldVal(b.test.a, at, defer);
    const o = foldVal(b.test.b, at, defer);
    if (b.t === b.f) {
      b.test = { ...b.test, a, b: o };
      continue;
    }
    const outcome = constantOutcome(b, a, o);
    if (outcome !== undefined) {
      settle(b, outcome);
      b.test = { ...b.test, a: { t: "k", v: 0 }, op: "jeq", b: { t: "k", v: 0 } };
    } else {
      b.test = { ...b.test, a, b: o };
    }
  }
  // libpcap's next pass refuses a division by a folded zero in any block still reachable
  for (const b of topologicalOrder(root)) {
    const error = pending.get(b);
    if (error) throw error;
  }
  // libpcap's opt_root: skip the root while both its branches go to the same place, keeping the statements of
  // the first root in front of the new one (its loads still run, and still reject a packet too short for them)
  const first = root;
  while (isBlock(root) && root.t === root.f) root = root.t;
  if (first !== root && isBlock(root) && isBlock(first) && first.kind === "test") {
    const values = [first.test.a, first.test.b].filter(hasLoad);
    if (values.length > 0) root = { kind: "eval", id: -1, values, t: root, f: root };
  }
  return root;
}
