/**
 * A reference evaluator of the policy IR, written straight from iptables' semantics (first final verdict wins,
 * jump returns, goto returns to the caller's caller, a hook's end applies its policy) with no tables and no
 * codegen. Tests run it beside the compiled program on the VM: the two must agree on every verdict and counter.
 */
import { encodeVerdict, HDR } from "../../overlay-isa/index.js";
import type { Cond, FieldTest, IrChain, IrPolicy, IrRule } from "../../compiler/policy/ir.js";

export interface RefResult {
  verdict: number;
  counted: number[];
  mark?: number;
}

type Outcome = { final: number } | { ret: true };

function test(t: FieldTest, v: bigint, bits: number): boolean {
  switch (t.kind) {
    case "eq":
      return v === t.value;
    case "cmp":
      return t.op === "lt" ? v < t.value : t.op === "le" ? v <= t.value : t.op === "gt" ? v > t.value : v >= t.value;
    case "range":
      return v >= t.lo && v <= t.hi;
    case "prefix":
      return v >> BigInt(bits - t.len) === t.value >> BigInt(bits - t.len);
    case "mask":
      return (v & t.mask) === t.value;
    case "any":
      return t.items.some((i) => test(i, v, bits));
  }
}

export function evaluate(p: IrPolicy, fields: Map<string, bigint>, dir: 0 | 1, limiter: (bucket: number) => boolean = () => true): RefResult {
  const hdrs = Number(fields.get("pkt.hdrs")!);
  const counted: number[] = [];
  let mark: number | undefined;
  const bytes = (hdrs & HDR.IPV4) !== 0 ? fields.get("ip.len")! : (hdrs & HDR.IPV6) !== 0 ? 40n + fields.get("ip6.plen")! : fields.get("pkt.len")!;
  const accept = encodeVerdict({ kind: "accept" });
  if ((hdrs & (p.ipv4Only ? HDR.IPV4 : HDR.IPV4 | HDR.IPV6)) === 0) return { verdict: accept, counted };
  const hook = p.chains.find((c) => c.hook === (dir === 0 ? "ingress" : "egress"));
  if (!hook) return { verdict: accept, counted };
  const chains = new Map(p.chains.map((c) => [c.name, c]));
  const value = (f: string) => (f === "$bytes" ? bytes : fields.get(f)!);

  const holds = (c: Cond): boolean => {
    switch (c.kind) {
      case "hdrs":
        return (hdrs & c.bits) === c.bits;
      case "field":
        return test(c.test, value(c.field), c.bits) !== c.negate;
      case "set": {
        const v = value(c.field);
        return p.sets.get(c.set)!.elements.some((e) => v >= e.lo && v <= e.hi) !== c.negate;
      }
      case "owner":
        if (fields.get("owner.app") === 0n) return c.terms.every((t) => t.negate) && !c.needsOwner;
        return c.terms.every((t) => (t.values ?? [t.value]).includes(value(t.field)) !== t.negate);
      case "limit":
        return limiter(c.bucket) !== c.over;
    }
  };

  const rule = (r: IrRule): Outcome | undefined => {
    if (!r.conds.every(holds)) return undefined;
    counted.push(r.counter);
    for (const e of r.effects) if (e.kind === "mark") mark = e.value;
    const v = r.verdict;
    if (!v) return undefined;
    switch (v.kind) {
      case "jump": {
        const o = chain(chains.get(v.chain)!);
        return "final" in o ? o : undefined;
      }
      case "goto":
        return chain(chains.get(v.chain)!);
      case "return":
        return { ret: true };
      case "queue":
        return { final: encodeVerdict({ kind: "queue", queue: v.queue }) };
      case "reject":
        return { final: encodeVerdict(v.how === "icmp" || v.how === "icmpv6" ? { kind: "reject", how: v.how, type: v.type, code: v.code } : { kind: "reject", how: v.how }) };
      default:
        return { final: encodeVerdict({ kind: v.kind }) };
    }
  };

  const chain = (c: IrChain): Outcome => {
    for (const r of c.rules) {
      const o = rule(r);
      if (o) return o;
    }
    return { ret: true };
  };

  const o = chain(hook);
  if ("final" in o) return { verdict: o.final, counted, mark };
  counted.push(hook.policyCounter!);
  return { verdict: encodeVerdict({ kind: hook.policy }), counted, mark };
}
