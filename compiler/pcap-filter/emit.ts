/**
 * Overlay code for a filter's block graph (graph.ts), through compiler/program-builder.ts. Blocks are laid out
 * in topological order, so every jump goes forward, ending in `exit accept` / `exit drop`; values are computed
 * into registers with
 * raw loads relative to the packet start (`[pkt + rX + off]`), which fault past the captured bytes exactly like
 * BPF's loads reject the packet. 32-bit BPF arithmetic is kept by masking the results of + - * <<.
 */
import { CompileLimitError, ProgramBuilder, reg, type Label } from "../program-builder.js";
import { LIMITS, type ProgramImage } from "../../overlay-isa/index.js";
import { isBlock, topologicalOrder, type Block, type ChainCond, type GraphNode, type TestCond } from "./graph.js";
import type { AluOp, JumpOp, Val } from "./ir.js";

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

class Emitter {
  readonly b = new ProgramBuilder("filter");
  private readonly free: number[] = [];
  private readonly varRegs: number[] = [];

  constructor(vars: number) {
    if (vars > LIMITS.registers - 4) throw new CompileLimitError(`the filter needs ${vars} offset registers; the overlay has ${LIMITS.registers}`);
    for (let i = 0; i < vars; i++) this.varRegs.push(LIMITS.registers - 1 - i);
    for (let r = LIMITS.registers - 1 - vars; r >= 0; r--) this.free.push(r);
  }

  private alloc(): number {
    const r = this.free.pop();
    if (r === undefined) throw new CompileLimitError(`the expression needs more than ${LIMITS.registers} registers`);
    return r;
  }

  private release(r: number): void {
    this.free.push(r);
  }

  /** Registers a value needs (Sethi–Ullman): the larger operand is computed first. */
  private need(v: Val): number {
    switch (v.t) {
      case "ld":
        return v.x ? this.need(v.x) : 1;
      case "neg":
        return this.need(v.a);
      case "bin": {
        if (v.b.t === "k") return this.need(v.a);
        const a = this.need(v.a);
        const b = this.need(v.b);
        return a === b ? a + 1 : Math.max(a, b);
      }
      default:
        return 1;
    }
  }

  private mask32(r: number): void {
    this.b.emit("and", reg(r), reg(r), 0xffffffff);
  }

  /** Compute a value into a fresh register and return it. */
  value(v: Val): number {
    switch (v.t) {
      case "k": {
        const r = this.alloc();
        this.b.emit("mov", reg(r), v.v);
        return r;
      }
      case "acc": {
        const r = this.alloc();
        this.b.emit("mov", reg(r), 0);
        return r;
      }
      case "len": {
        const r = this.alloc();
        this.b.emit("ldf", reg(r), "pkt.len");
        return r;
      }
      case "field": {
        const r = this.alloc();
        this.b.emit("ldf", reg(r), v.name);
        return r;
      }
      case "var": {
        const r = this.alloc();
        this.b.emit("mov", reg(r), reg(this.varRegs[v.id]!));
        return r;
      }
      case "ld": {
        if (v.x) {
          // index + offset in 64 bits: past 2^32 is past the packet, as BPF's overflow check has it
          const r = this.value(v.x);
          this.b.emit(LOAD[v.size], reg(r), { base: PKT, index: r, offset: v.off });
          return r;
        }
        const r = this.alloc();
        this.b.emit(LOAD[v.size], reg(r), { base: PKT, offset: v.off });
        return r;
      }
      case "neg": {
        const r = this.value(v.a);
        this.b.emit("xor", reg(r), reg(r), 0xffffffff); // 0 - x in 32 bits: !x + 1
        this.b.emit("add", reg(r), reg(r), 1);
        this.mask32(r);
        return r;
      }
      case "bin": {
        let r: number;
        if (v.b.t === "k") {
          r = this.value(v.a);
          this.b.emit(ALU[v.op], reg(r), reg(r), v.b.v);
        } else {
          let ra: number;
          let rb: number;
          if (this.need(v.a) >= this.need(v.b)) {
            ra = this.value(v.a);
            rb = this.value(v.b);
          } else {
            rb = this.value(v.b);
            ra = this.value(v.a);
          }
          this.b.emit(ALU[v.op], reg(ra), reg(ra), reg(rb));
          this.release(rb);
          r = ra;
        }
        if (bits(v) > 32) this.mask32(r);
        return r;
      }
    }
  }

  /** One block: jump to `t` when its test holds, to `f` when not; `next` is the label placed right after it. */
  block(b: Block, t: Label, f: Label, next: Label): void {
    switch (b.kind) {
      case "test":
        if (t === f) {
          if (next !== t) this.b.emit("ja", t); // decided by the optimizer: nothing is loaded
          return;
        }
        return this.test(b.test, t, f, next);
      case "seq":
        for (const { id, v } of b.seq.set) {
          const r = this.value(v);
          this.b.emit("mov", reg(this.varRegs[id]!), reg(r));
          this.release(r);
        }
        if (next !== t) this.b.emit("ja", t);
        return;
      case "chain":
        return this.chain(b.chain, t, f, next);
      case "eval":
        for (const v of b.values) this.release(this.value(v));
        if (next !== t) this.b.emit("ja", t);
        return;
    }
  }

  private test(c: TestCond, t: Label, f: Label, next: Label): void {
    const a = this.value(c.a);
    const b = c.b.t === "k" ? c.b.v : reg(this.value(c.b));
    this.branch(a, c.op, b, t, f, next);
    this.release(a);
    if (typeof b !== "number") this.release(b.reg);
  }

  /** The conditional jump(s) for `a OP b`. */
  private branch(a: number, op: JumpOp, b: number | { reg: number }, t: Label, f: Label, next: Label): void {
    if (next === f) {
      this.b.emit(op, reg(a), b, t);
    } else if (next === t) {
      if (op === "jset") {
        this.b.emit("and", reg(a), reg(a), b);
        this.b.emit("jeq", reg(a), 0, f);
      } else {
        this.b.emit(NEGATED[op], reg(a), b, f);
      }
    } else {
      this.b.emit(op, reg(a), b, t);
      this.b.emit("ja", f);
    }
  }

  /** `ip protochain` / `ip6 protochain`, libpcap's header walk unrolled (see PROTOCHAIN_STEPS). */
  private chain(c: ChainCond, t: Label, f: Label, next: Label): void {
    const rA = this.value(c.start);
    const rX = this.value(c.hlen);
    const rT = this.alloc();
    const end = this.b.label();
    for (let step = 0; step < PROTOCHAIN_STEPS; step++) {
      const again = this.b.label();
      this.b.emit("jeq", reg(rA), c.proto, end);
      this.b.emit("jeq", reg(rA), IPPROTO_NONE, end);
      const extension = this.b.label();
      if (c.ipv6) for (const p of IPV6_EXTENSIONS) this.b.emit("jeq", reg(rA), p, extension);
      this.b.emit("jne", reg(rA), IPPROTO_AH, end);
      // AH: libpcap sets X to (length + 2) * 4 without adding the header's own offset; kept as it is
      this.b.emit("ldb", reg(rT), { base: PKT, index: rX, offset: c.nl + 1 });
      this.b.emit("ldb", reg(rA), { base: PKT, index: rX, offset: c.nl });
      this.b.emit("add", reg(rT), reg(rT), 2);
      this.b.emit("shl", reg(rX), reg(rT), 2);
      if (c.ipv6) {
        this.b.emit("ja", again);
        this.b.bind(extension);
        this.b.emit("ldb", reg(rT), { base: PKT, index: rX, offset: c.nl + 1 });
        this.b.emit("ldb", reg(rA), { base: PKT, index: rX, offset: c.nl });
        this.b.emit("add", reg(rT), reg(rT), 1);
        this.b.emit("shl", reg(rT), reg(rT), 3);
        this.b.emit("add", reg(rX), reg(rX), reg(rT));
      } else {
        this.b.bind(extension); // unused for IPv4; bound so the builder sees every label placed
      }
      this.b.bind(again);
    }
    this.b.emit("ja", f); // the chain goes on past the unrolled steps
    this.b.bind(end);
    this.branch(rA, "jeq", c.proto, t, f, next);
    this.release(rT);
    this.release(rX);
    this.release(rA);
  }

  /** Offset registers start at 0, as if the tests that set them never ran (BPF's scratch memory is undefined). */
  initVars(): void {
    for (const r of this.varRegs) this.b.emit("mov", reg(r), 0);
  }
}

export function emitFilter(root: GraphNode, vars: number): ProgramImage {
  const e = new Emitter(vars);
  e.initVars();
  const accept = e.b.label("accept");
  const drop = e.b.label("drop");
  const order = topologicalOrder(root);
  const labels = new Map<Block, Label>(order.map((b) => [b, e.b.label(`b${b.id}`)]));
  const labelOf = (n: GraphNode): Label => (isBlock(n) ? labels.get(n)! : n === "accept" ? accept : drop);
  if (!isBlock(root) && root === "reject") e.b.emit("ja", drop);
  order.forEach((b, i) => {
    e.b.bind(labels.get(b)!);
    e.block(b, labelOf(b.t), labelOf(b.f), i + 1 < order.length ? labels.get(order[i + 1]!)! : accept);
  });
  e.b.bind(accept);
  e.b.exit({ kind: "accept" });
  e.b.bind(drop);
  e.b.exit({ kind: "drop" });
  return e.b.build();
}
