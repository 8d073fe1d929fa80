/**
 * The policy IR: rules as conjunctions of conditions over parsed-header fields plus effects and a verdict.
 * Both front ends (`.kopi`, iptables-save) lower into it; the passes (analysis, set/table lowering) and codegen
 * read it. Values are bigints at the field's width so 48-bit MACs and 128-bit IPv6 addresses fit.
 */
import type { Hook, Pos } from "./ast.js";

/** A test of one field's value. */
export type FieldTest =
  | { kind: "eq"; value: bigint }
  | { kind: "cmp"; op: "lt" | "le" | "gt" | "ge"; value: bigint }
  | { kind: "range"; lo: bigint; hi: bigint }
  /** the field's top `len` bits equal value's (value has its low bits zero) */
  | { kind: "prefix"; value: bigint; len: number }
  /** (field & mask) == value */
  | { kind: "mask"; mask: bigint; value: bigint }
  /** any of the tests (an anonymous set) */
  | { kind: "any"; items: FieldTest[] };

export type Cond =
  /** every one of these HDR bits is set in pkt.hdrs */
  | { kind: "hdrs"; bits: number }
  | { kind: "field"; field: string; bits: number; test: FieldTest; negate: boolean }
  /** membership of a field in a named set */
  | { kind: "set"; field: string; set: string; negate: boolean }
  /**
   * owner terms (all must hold); a packet whose owner the NIC does not know matches only when every term is
   * negated, as Linux's xt_owner does for a packet without a socket — or never, with `needsOwner` (xt_cgroup).
   * A term's field equals `value`, or with `values` (a cgroup match with cgroups below it) any of them.
   */
  | { kind: "owner"; terms: { field: string; value: bigint; values?: bigint[]; negate: boolean }[]; needsOwner?: boolean }
  /** token bucket: true while within rate (or, with `over`, while over it) */
  | { kind: "limit"; bucket: number; tokensPerInterval: number; intervalMs: number; burst: number; over: boolean };

export type Verdict =
  | { kind: "accept" }
  | { kind: "drop" }
  | { kind: "reject"; how: "default" | "tcp-reset" | "icmp" | "icmpv6"; type?: number; code?: number }
  | { kind: "queue"; queue: number }
  | { kind: "jump"; chain: string }
  | { kind: "goto"; chain: string }
  | { kind: "return" };

export type Effect =
  | { kind: "mark"; value: number }
  | { kind: "mirror" }
  | { kind: "log"; index: number };

export interface IrRule {
  conds: Cond[];
  effects: Effect[];
  verdict?: Verdict;
  /** counter id in the program */
  counter: number;
  chain: string;
  /** 1-based number of the rule in its chain (as iptables --line-numbers shows) */
  number: number;
  pos: Pos;
  /** where the verdict was written (unreachable-rule messages point at it) */
  verdictPos?: Pos;
  text: string;
  comment?: string;
  listing?: import("./ast.js").ListingColumns;
}

export interface IrChain {
  name: string;
  hook?: Hook;
  policy: "accept" | "drop";
  /** counter of the policy (hook chains only) */
  policyCounter?: number;
  rules: IrRule[];
  /** number of jumps and gotos that name this chain (iptables -L shows "N references") */
  references: number;
  pos: Pos;
}

export interface IrSetElement {
  /** inclusive interval of values */
  lo: bigint;
  hi: bigint;
}

export interface IrSet {
  name: string;
  /** element width in bits */
  bits: number;
  typeName: string;
  interval: boolean;
  elements: IrSetElement[];
  pos: Pos;
}

export interface CounterInfo {
  id: number;
  chain: string;
  /** rule number, or undefined for a chain policy */
  rule?: number;
}

export interface IrPolicy {
  file: string;
  source: string;
  format: "kopi" | "iptables-save";
  chains: IrChain[];
  sets: Map<string, IrSet>;
  counters: CounterInfo[];
  /** only IPv4 packets reach the hooks (iptables); else IPv4 and IPv6 (nft's inet family) */
  ipv4Only: boolean;
  /** interned owner strings: owner.cmd / owner.cgroup hold 1 + the index in these lists */
  strings: { cmd: string[]; cgroup: string[] };
  logPrefixes: string[];
}
