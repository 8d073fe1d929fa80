/**
 * The filter's intermediate form: libpcap's block graph as a boolean tree of tests over 32-bit values computed
 * from raw packet bytes, exactly like classic BPF (loads relative to the packet start, indexed loads, 32-bit
 * arithmetic, a fault on any load past the captured bytes). emit.ts turns it into overlay code; optimize.ts folds
 * it the way libpcap's optimizer does and decides "expression rejects all packets".
 */

export type AluOp = "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" | "lsh" | "rsh";

/**
 * How a load was generated, which is how libpcap's optimizer numbers its value: an absolute load
 * (`ldh [12]`), an indexed load (`ldh [x + 14]` with the IPv4 header length in x), or the load of an
 * arithmetic relation (`proto[expr]`, whose index goes through a scratch register first).
 */
export type LoadForm = "abs" | "ind" | "rel";

export type Val =
  | { t: "k"; v: number } // constant (u32)
  | { t: "len" } // length of the packet on the wire
  | { t: "ld"; size: 1 | 2 | 4; off: number; x?: Val; form: LoadForm } // big-endian bytes at x + off
  | { t: "bin"; op: AluOp; a: Val; b: Val } // 32-bit unsigned arithmetic
  | { t: "neg"; a: Val }
  | { t: "var"; id: number } // a value a `seq` stored earlier (libpcap's offset registers)
  | { t: "field"; name: "pkt.dir" | "pkt.port" } // NIC packet metadata (live captures only)
  | { t: "acc" }; // BPF's accumulator before anything was loaded: 0 when the program runs, unknown to folding

export type JumpOp = "jeq" | "jgt" | "jge" | "jset";

export type Cond =
  | { t: "test"; a: Val; op: JumpOp; b: Val; at?: number } // a OP b; any load fault rejects the packet
  | { t: "and"; l: Cond; r: Cond }
  | { t: "or"; l: Cond; r: Cond }
  | { t: "not"; c: Cond }
  | { t: "seq"; set: { id: number; v: Val }[] } // evaluate and store; always true
  | { t: "chain"; ipv6: boolean; proto: number; nl: number; start: Val; hlen: Val }; // protochain walk

export const k = (v: number): Val => ({ t: "k", v: v >>> 0 });
export const LEN: Val = { t: "len" };

export function load(size: 1 | 2 | 4, off: number, x?: Val, form: LoadForm = x ? "ind" : "abs"): Val {
  return x ? { t: "ld", size, off: off >>> 0, x, form } : { t: "ld", size, off: off >>> 0, form };
}

export function bin(op: AluOp, a: Val, b: Val): Val {
  return { t: "bin", op, a, b };
}

export function test(a: Val, op: JumpOp, b: Val | number): Cond {
  return { t: "test", a, op, b: typeof b === "number" ? k(b) : b };
}

/** libpcap's gen_and(b0, b1): b0 is evaluated first. */
export function and(l: Cond, r: Cond): Cond {
  return { t: "and", l, r };
}

/** libpcap's gen_or(b0, b1): b0 is evaluated first. */
export function or(l: Cond, r: Cond): Cond {
  return { t: "or", l, r };
}

export function not(c: Cond): Cond {
  return { t: "not", c };
}

export const TRUE: Cond = { t: "test", a: { t: "k", v: 0 }, op: "jeq", b: { t: "k", v: 0 } };
export const FALSE: Cond = { t: "test", a: { t: "k", v: 1 }, op: "jeq", b: { t: "k", v: 0 } };

const keys = new WeakMap<Val, string>();

/** A structural key for a value: equal keys mean libpcap's optimizer gives them the same value number. */
export function valKey(v: Val): string {
  let key = keys.get(v);
  if (key === undefined) {
    key = computeKey(v);
    keys.set(v, key);
  }
  return key;
}

function computeKey(v: Val): string {
  switch (v.t) {
    case "k":
      return `#${v.v}`;
    case "len":
      return "len";
    case "ld":
      return `${v.form}${v.size}[${v.x ? valKey(v.x) + "+" : ""}${v.off}]`;
    case "bin":
      return `(${valKey(v.a)} ${v.op} ${valKey(v.b)})`;
    case "neg":
      return `-(${valKey(v.a)})`;
    case "var":
      return `m${v.id}`;
    case "field":
      return v.name;
    case "acc":
      return "A";
  }
}

/** Readable text of a value, for tests and debugging. */
export function formatVal(v: Val): string {
  return valKey(v);
}

export function formatCond(c: Cond): string {
  switch (c.t) {
    case "test":
      return `${formatVal(c.a)} ${c.op} ${formatVal(c.b)}`;
    case "and":
    case "or":
      return `(${formatCond(c.l)} ${c.t} ${formatCond(c.r)})`;
    case "not":
      return `!${formatCond(c.c)}`;
    case "seq":
      return `{${c.set.map((s) => `m${s.id}=${formatVal(s.v)}`).join("; ")}}`;
    case "chain":
      return `${c.ipv6 ? "ip6" : "ip"} protochain ${c.proto}`;
  }
}
