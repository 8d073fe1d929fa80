/**
 * IrPolicy → overlay program + table images.
 *
 * Layout: a prologue loads pkt.hdrs into r14 and the byte count iptables uses (IPv4 total length, 40 + IPv6
 * payload length) into r15, lets packets the hooks do not see pass, and branches on pkt.dir to the ingress or
 * egress hook chain. Chains are inlined: `jump` emits the target chain with the next rule as its return point,
 * `goto` with the caller's, so control flow stays a forward-only DAG (cycles were rejected earlier). Every rule
 * counts into its own counter; a hook's end counts its policy counter and exits with the policy.
 *
 * Runs of four or more rules of one shape (the same header guard and the same fields compared for equality,
 * one of them optionally by prefix, a plain verdict) become one exact or LPM table whose value is the rule's
 * index in the run: one lookup, then `count cBASE[r1]` keeps every rule's counter exact. Named sets and large
 * anonymous sets become membership tables.
 */
import { CT_STATE, encodeVerdict, fieldByName, HDR, LIMITS, type ProgramImage, type TableKind, type Verdict as IsaVerdict } from "../../overlay-isa/index.js";
import { CompileLimitError, type Label, ProgramBuilder, reg } from "../program-builder.js";
import type { Cond, FieldTest, IrChain, IrPolicy, IrRule, IrSetElement, Verdict } from "./ir.js";
import { capacityFor, intervalToPrefixes, keyWidth, setEntries, setTableKind, type TableEntry, type TableImage } from "./tables.js";

const R_HDRS = reg(14);
const R_BYTES = reg(15);
const R0 = reg(0);
const R1 = reg(1);
const R2 = reg(2);

/** Anonymous sets with more elements than this become a table. */
const ANON_SET_TABLE_THRESHOLD = 8;
/** Rules of one shape in a row that become a table. */
const FAMILY_MIN_RULES = 4;
/** Low bits of a family table's value that hold the rule's index in its run (the rest: which verdict). */
const FAMILY_INDEX_BITS = 20;
/** Distinct verdicts one family may have (each costs a compare after the lookup). */
const FAMILY_MAX_VERDICTS = 8;

export interface FamilyInfo {
  chain: string;
  firstRule: number;
  rules: number;
  table: number;
}

export interface CodegenResult {
  image: ProgramImage;
  tables: TableImage[];
  families: FamilyInfo[];
}

interface KeyPart {
  field: string;
  bits: number;
  prefix: boolean;
}

interface Family {
  rules: IrRule[];
  guard: number;
  key: KeyPart[];
}

function isaVerdict(v: Verdict): IsaVerdict {
  switch (v.kind) {
    case "accept":
    case "drop":
      return { kind: v.kind };
    case "queue":
      return { kind: "queue", queue: v.queue };
    case "reject":
      return v.how === "icmp" || v.how === "icmpv6" ? { kind: "reject", how: v.how, type: v.type, code: v.code } : { kind: "reject", how: v.how };
    default:
      throw new Error(`internal: ${v.kind} is not an exit verdict`);
  }
}

export class PolicyCodegen {
  readonly b = new ProgramBuilder("policy");
  readonly tables: TableImage[] = [];
  readonly families: FamilyInfo[] = [];
  private readonly chains: Map<string, IrChain>;
  private readonly setTables = new Map<string, number>();
  private readonly familyTables = new Map<string, { table: number; verdicts: number[]; uniform: boolean }>();
  private readonly familyRuns = new Map<string, Family[]>();

  constructor(
    readonly policy: IrPolicy,
    readonly options: CodegenOptions = {},
  ) {
    this.chains = new Map(policy.chains.map((c) => [c.name, c]));
  }

  generate(): CodegenResult {
    const b = this.b;
    b.counter(this.policy.counters.length);
    b.emit("ldf", R_HDRS, "pkt.hdrs");
    // bytes as iptables counts them: the IP packet
    const v4 = b.label("ipv4_len");
    const v6 = b.label("ipv6_len");
    const lenDone = b.label("len_done");
    b.emit("ldf", R_BYTES, "pkt.len");
    b.emit("jset", R_HDRS, HDR.IPV4, v4);
    b.emit("jset", R_HDRS, HDR.IPV6, v6);
    b.emit("ja", lenDone);
    b.bind(v4);
    b.emit("ldf", R_BYTES, "ip.len");
    b.emit("ja", lenDone);
    b.bind(v6);
    b.emit("ldf", R_BYTES, "ip6.plen");
    b.emit("add", R_BYTES, R_BYTES, 40);
    b.bind(lenDone);
    const pass = b.label("pass");
    // only IP packets reach the hooks (iptables: IPv4 only), as netfilter's inet/ip families see them
    b.emit("and", R0, R_HDRS, this.policy.ipv4Only ? HDR.IPV4 : HDR.IPV4 | HDR.IPV6);
    b.emit("jeq", R0, 0, pass);
    const hooks = { ingress: this.policy.chains.find((c) => c.hook === "ingress"), egress: this.policy.chains.find((c) => c.hook === "egress") };
    const egress = b.label("egress");
    b.emit("ldf", R0, "pkt.dir");
    b.emit("jne", R0, 0, egress);
    this.hook(hooks.ingress);
    b.bind(egress);
    this.hook(hooks.egress);
    b.bind(pass);
    b.exit({ kind: "accept" });
    return { image: b.build(), tables: this.tables, families: this.families };
  }

  private hook(chain: IrChain | undefined): void {
    const b = this.b;
    if (!chain) {
      b.exit({ kind: "accept" });
      return;
    }
    const policy = b.label(`${chain.name}_policy`);
    this.chain(chain, policy);
    b.bind(policy);
    b.emit("count", chain.policyCounter!, R_BYTES);
    b.exit({ kind: chain.policy });
  }

  /** Emit a chain's rules; `ret` is where `return` goes. The end of the code falls through to the caller. */
  private chain(chain: IrChain, ret: Label): void {
    const runs = this.runsOf(chain);
    let i = 0;
    for (const run of runs) {
      while (chain.rules[i] !== run.rules[0]) this.rule(chain.rules[i++]!, ret);
      this.family(chain, run);
      i += run.rules.length;
    }
    while (i < chain.rules.length) this.rule(chain.rules[i++]!, ret);
  }

  // ------------------------------------------------------------------ rule families

  /** The key shape of a rule that a family table can hold, or undefined. */
  private shape(r: IrRule): { guard: number; key: KeyPart[]; sig: string } | undefined {
    if (r.effects.length > 0 || !r.verdict || !["accept", "drop", "reject", "queue"].includes(r.verdict.kind)) return undefined;
    let guard = 0;
    const key: KeyPart[] = [];
    for (const c of r.conds) {
      if (c.kind === "hdrs") guard |= c.bits;
      else if (c.kind === "field" && !c.negate && (c.test.kind === "eq" || c.test.kind === "prefix") && c.field !== "$bytes") {
        if (key.some((k) => k.field === c.field)) return undefined;
        key.push({ field: c.field, bits: c.bits, prefix: c.test.kind === "prefix" });
      } else return undefined;
    }
    if (key.length === 0 || key.length > LIMITS.keyFields) return undefined;
    key.sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0));
    return { guard, key, sig: `${guard}|${key.map((k) => k.field).join(",")}` };
  }

  /** Maximal runs of same-shape rules; a run is kept when a table can hold it and it is long enough. */
  private runsOf(chain: IrChain): Family[] {
    const cached = this.familyRuns.get(chain.name);
    if (cached) return cached;
    const out: Family[] = [];
    let cur: { sig: string; guard: number; fields: string[]; prefixFields: Set<string>; rules: IrRule[] } | undefined;
    const close = () => {
      if (!cur || cur.rules.length < FAMILY_MIN_RULES) return;
      if (cur.prefixFields.size > 1 || cur.rules.length >= 1 << FAMILY_INDEX_BITS) return;
      if (new Set(cur.rules.map((r) => encodeVerdict(isaVerdict(r.verdict!)))).size > FAMILY_MAX_VERDICTS) return;
      const widths = new Map(cur.rules[0]!.conds.flatMap((c) => (c.kind === "field" ? [[c.field, c.bits] as const] : [])));
      const key: KeyPart[] = cur.fields.map((f) => ({ field: f, bits: widths.get(f)!, prefix: cur!.prefixFields.has(f) }));
      // the prefix field goes last so one prefix length covers the whole key
      key.sort((x, y) => Number(x.prefix) - Number(y.prefix));
      const bits = keyWidth(key.map((k) => k.field));
      if (bits > LIMITS.keyBits) return;
      if (cur.prefixFields.size === 1 && bits > LIMITS.lpmKeyBits) return;
      out.push({ rules: cur.rules, guard: cur.guard, key });
    };
    for (const r of chain.rules) {
      const s = this.shape(r);
      if (s && cur && s.sig === cur.sig) {
        cur.rules.push(r);
        for (const k of s.key) if (k.prefix) cur.prefixFields.add(k.field);
        continue;
      }
      close();
      cur = s ? { sig: s.sig, guard: s.guard, fields: s.key.map((k) => k.field), prefixFields: new Set(s.key.filter((k) => k.prefix).map((k) => k.field)), rules: [r] } : undefined;
    }
    close();
    this.familyRuns.set(chain.name, out);
    return out;
  }

  private familyTable(chain: IrChain, fam: Family): { table: number; verdicts: number[]; uniform: boolean } {
    const id = `${chain.name}#${fam.rules[0]!.number}`;
    const known = this.familyTables.get(id);
    if (known) return known;
    const verdicts = fam.rules.map((r) => r.verdict!);
    const words = verdicts.map((v) => encodeVerdict(isaVerdict(v)));
    const distinct = [...new Set(words)];
    const uniform = distinct.length === 1;
    const lpm = fam.key.some((k) => k.prefix);
    const kind: TableKind = lpm ? "lpm" : "exact";
    const totalBits = fam.key.reduce((n, k) => n + k.bits, 0);
    const entries: TableEntry[] = [];
    // table values are 32 bits: the rule's index in the run, and above it which of the run's verdicts it has
    const index = (i: number) => (this.options.absoluteFamilyCounters ? fam.rules[i]!.counter : i);
    const value = (i: number) => BigInt(index(i)) | (BigInt(distinct.indexOf(words[i]!)) << BigInt(FAMILY_INDEX_BITS));
    if (!lpm) {
      const seen = new Set<bigint>();
      fam.rules.forEach((r, i) => {
        let key = 0n;
        for (const k of fam.key) key = (key << BigInt(k.bits)) | this.eqValue(r, k.field);
        if (seen.has(key)) return; // an earlier rule of the run has this key: this one never matches
        seen.add(key);
        entries.push({ key, value: value(i) });
      });
    } else {
      // first match wins, longest prefix is what the table finds: skip prefixes an earlier entry covers
      const byLen = new Map<number, Set<bigint>>();
      fam.rules.forEach((r, i) => {
        let key = 0n;
        let len = 0;
        for (const k of fam.key) {
          const c = r.conds.find((x) => x.kind === "field" && x.field === k.field) as Cond & { kind: "field" };
          const t = c.test as FieldTest & { kind: "eq" | "prefix" };
          key = (key << BigInt(k.bits)) | t.value;
          len += t.kind === "prefix" ? t.len : k.bits;
        }
        for (const [l, set] of byLen) {
          if (l <= len && set.has(key >> BigInt(totalBits - l))) return;
        }
        let set = byLen.get(len);
        if (!set) byLen.set(len, (set = new Set()));
        set.add(key >> BigInt(totalBits - len));
        entries.push({ key, prefixLen: len, value: value(i) });
      });
    }
    const table = this.b.table({ kind, keyFields: fam.key.map((k) => fieldByName(k.field)!.id), capacity: capacityFor(entries.length) });
    this.tables.push({
      id: table,
      kind,
      keyFields: fam.key.map((k) => k.field),
      keyBits: totalBits,
      capacity: capacityFor(entries.length),
      purpose: `rules ${fam.rules[0]!.number}–${fam.rules[fam.rules.length - 1]!.number} of chain ${chain.name}`,
      entries,
    });
    this.families.push({ chain: chain.name, firstRule: fam.rules[0]!.number, rules: fam.rules.length, table });
    const out = { table, verdicts: distinct, uniform };
    this.familyTables.set(id, out);
    return out;
  }

  private eqValue(r: IrRule, field: string): bigint {
    const c = r.conds.find((x) => x.kind === "field" && x.field === field) as Cond & { kind: "field" };
    return (c.test as FieldTest & { kind: "eq" }).value;
  }

  private family(chain: IrChain, fam: Family): void {
    const b = this.b;
    const { table, verdicts, uniform } = this.familyTable(chain, fam);
    const after = b.label(`after_${chain.name}_${fam.rules[0]!.number}`);
    if (fam.guard) {
      b.emit("and", R0, R_HDRS, fam.guard);
      b.emit("jne", R0, fam.guard, after);
    }
    const kind = fam.key.some((k) => k.prefix) ? "lpm" : "exact";
    b.emit(`lookup.${kind}`, R1, table);
    const base = this.options.absoluteFamilyCounters ? 0 : fam.rules[0]!.counter;
    if (uniform) {
      b.emit("jge", R1, 0xffffffff, after);
      b.emit("count", { base, index: 1 }, R_BYTES);
      b.exit(isaVerdict(fam.rules[0]!.verdict!));
    } else {
      b.emit("jge", R1, 0xffffffff, after);
      b.emit("shr", R2, R1, FAMILY_INDEX_BITS);
      b.emit("and", R1, R1, (1 << FAMILY_INDEX_BITS) - 1);
      b.emit("count", { base, index: 1 }, R_BYTES);
      verdicts.forEach((word, k) => {
        if (k === verdicts.length - 1) {
          b.emit("exit", word);
          return;
        }
        const other = b.label();
        b.emit("jne", R2, k, other);
        b.emit("exit", word);
        b.bind(other);
      });
    }
    b.bind(after);
  }

  // ------------------------------------------------------------------ single rules

  private rule(r: IrRule, ret: Label): void {
    const b = this.b;
    const next = b.label(`${r.chain}_${r.number}_next`);
    for (const c of r.conds) this.cond(c, next);
    b.emit("count", r.counter, R_BYTES);
    for (const e of r.effects) {
      if (e.kind === "mark") b.emit("stf", "meta.mark", e.value);
      else if (e.kind === "mirror") b.emit("stf", "meta.mirror", 1);
      else b.emit("stf", "meta.log", e.index + 1);
    }
    const v = r.verdict;
    if (v) {
      switch (v.kind) {
        case "jump":
          this.chain(this.chains.get(v.chain)!, next);
          break;
        case "goto":
          this.chain(this.chains.get(v.chain)!, ret);
          b.emit("ja", ret);
          break;
        case "return":
          b.emit("ja", ret);
          break;
        default:
          b.exit(isaVerdict(v));
      }
    }
    b.bind(next);
  }

  /** Emit code that jumps to `fail` unless the condition holds. */
  private cond(c: Cond, fail: Label): void {
    const b = this.b;
    switch (c.kind) {
      case "hdrs":
        b.emit("and", R0, R_HDRS, c.bits);
        b.emit("jne", R0, c.bits, fail);
        return;
      case "field": {
        if (c.test.kind === "any" && c.test.items.length > ANON_SET_TABLE_THRESHOLD && c.field !== "$bytes" && c.field !== "ct.state") {
          const elements = c.test.items.map((t) => this.interval(t, c.bits));
          if (elements.every((e) => e !== undefined)) {
            this.setLookup(`{anonymous}@${c.field}#${this.tables.length}`, c.field, c.bits, elements as IrSetElement[], c.negate, fail, "an anonymous set");
            return;
          }
        }
        const wide = c.bits > 64;
        if (!wide) {
          if (c.field === "$bytes") b.emit("mov", R0, R_BYTES);
          else b.emit("ldf", R0, c.field);
        }
        if (c.negate) {
          if (c.test.kind === "eq" && !wide) {
            this.jumpIf("eq", c.test.value, fail);
            return;
          }
          const skip = b.label();
          this.test(c.field, c.bits, c.test, skip);
          b.emit("ja", fail);
          b.bind(skip);
        } else this.test(c.field, c.bits, c.test, fail);
        return;
      }
      case "set": {
        const set = this.policy.sets.get(c.set)!;
        this.setLookup(`${c.set}@${c.field}`, c.field, set.bits, set.elements, c.negate, fail, `set @${c.set}`);
        return;
      }
      case "owner": {
        const known = b.label();
        const ok = b.label();
        b.emit("ldf", R0, "owner.app");
        b.emit("jne", R0, 0, known);
        b.emit("ja", c.terms.every((t) => t.negate) && !c.needsOwner ? ok : fail);
        b.bind(known);
        for (const t of c.terms) {
          b.emit("ldf", R0, t.field);
          if (t.values === undefined) this.jumpIf(t.negate ? "eq" : "ne", t.value, fail);
          else if (t.negate) for (const v of t.values) this.jumpIf("eq", v, fail);
          else {
            const holds = b.label();
            for (const v of t.values) this.jumpIf("eq", v, holds);
            b.emit("ja", fail);
            b.bind(holds);
          }
        }
        b.bind(ok);
        return;
      }
      case "limit": {
        const k = BigInt(c.burst) | (BigInt(c.tokensPerInterval) << 32n) | (BigInt(c.intervalMs) << 64n) | (BigInt(c.bucket) << 96n);
        b.emit("limit", R0, b.constant(k));
        b.emit(c.over ? "jne" : "jeq", R0, 0, fail);
        return;
      }
    }
  }

  private interval(t: FieldTest, bits: number): IrSetElement | undefined {
    if (t.kind === "eq") return { lo: t.value, hi: t.value };
    if (t.kind === "range") return { lo: t.lo, hi: t.hi };
    if (t.kind === "prefix") return { lo: t.value, hi: t.value | ((1n << BigInt(bits - t.len)) - 1n) };
    return undefined;
  }

  private setLookup(cacheKey: string, field: string, bits: number, elements: IrSetElement[], negate: boolean, fail: Label, what: string): void {
    const b = this.b;
    let table = this.setTables.get(cacheKey);
    const kind = setTableKind(elements, bits);
    if (table === undefined) {
      const entries = setEntries(kind, elements, bits);
      table = b.table({ kind, keyFields: [fieldByName(field)!.id], capacity: capacityFor(entries.length) });
      this.tables.push({ id: table, kind, keyFields: [field], keyBits: bits, capacity: capacityFor(entries.length), purpose: `${what} on ${field}`, entries });
      this.setTables.set(cacheKey, table);
    }
    b.emit(`lookup.${kind}`, R0, table);
    b.emit(negate ? "jeq" : "jne", R0, 0, fail);
  }

  /** Jump to `target` if r0 `cond` value (any width up to 64 bits). */
  private jumpIf(cond: "eq" | "ne" | "lt" | "le" | "gt" | "ge", value: bigint, target: Label): void {
    if (value <= 0xffffffffn) this.b.emit(`j${cond}`, R0, Number(value), target);
    else {
      this.b.emit("ldk", R1, this.b.constant(value));
      this.b.emit(`j${cond}`, R0, R1, target);
    }
  }

  /** r0 holds the field (fields ≤ 64 bits); jump to `fail` unless the test holds. */
  private test(field: string, bits: number, t: FieldTest, fail: Label): void {
    const b = this.b;
    const wide = bits > 64;
    switch (t.kind) {
      case "eq":
        if (wide) {
          b.emit("pfx", R2, field, { index: b.constant(t.value), prefix: bits });
          b.emit("jeq", R2, 0, fail);
        } else this.jumpIf("ne", t.value, fail);
        return;
      case "prefix":
        if (field === "$bytes") throw new Error("internal: prefix on a length");
        b.emit("pfx", R2, field, { index: b.constant(t.value), prefix: t.len });
        b.emit("jeq", R2, 0, fail);
        return;
      case "cmp": {
        const inverse = { lt: "ge", le: "gt", gt: "le", ge: "lt" } as const;
        this.jumpIf(inverse[t.op], t.value, fail);
        return;
      }
      case "range":
        if (wide) {
          this.test(field, bits, { kind: "any", items: intervalToPrefixes(t.lo, t.hi, bits).map((p) => ({ kind: "prefix", value: p.value, len: p.len })) }, fail);
          return;
        }
        this.jumpIf("lt", t.lo, fail);
        this.jumpIf("gt", t.hi, fail);
        return;
      case "mask":
        b.emit("and", R1, R0, Number(t.mask));
        b.emit("jne", R1, Number(t.value), fail);
        return;
      case "any": {
        const ok = b.label();
        for (const item of t.items) {
          if (item.kind === "eq" && !wide) {
            this.jumpIf("eq", item.value, ok);
            continue;
          }
          const nextItem = b.label();
          this.test(field, bits, item, nextItem);
          b.emit("ja", ok);
          b.bind(nextItem);
        }
        b.emit("ja", fail);
        b.bind(ok);
        return;
      }
    }
  }
}

/**
 * Options for the NIC's control plane (hostctl/driver): with absoluteFamilyCounters a family table's value holds
 * the rule's counter id itself and the family counts `c0[r1]`, so rules may own any counters (not one run of
 * consecutive ones) — a rule added to or deleted from a family then changes table entries only, not the code.
 */
export interface CodegenOptions {
  absoluteFamilyCounters?: boolean;
}

export function generatePolicy(policy: IrPolicy, options: CodegenOptions = {}): CodegenResult {
  return new PolicyCodegen(policy, options).generate();
}

export { CompileLimitError, CT_STATE };
