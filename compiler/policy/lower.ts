/**
 * PolicyAst → IrPolicy: checks what the grammar cannot (value ranges, field/protocol pairs, chain and set names,
 * jump cycles, users) and states every match as conditions over parsed-header fields. The first problem throws
 * a SourceError at its position; nothing is compiled from a policy with an error.
 */
import { errorAt, HDR, parseIPv4, parseIPv6, parseMAC, type SourceError } from "../../overlay-isa/index.js";
import type { ActionNode, ChainNode, CmpOp, FieldMatchNode, MatchNode, PolicyAst, Pos, RuleNode, ValueNode } from "./ast.js";
import {
  CT_STATE,
  ETHERTYPES,
  FIELD_CATALOG,
  ICMP_REJECT_CODES,
  ICMP_TYPES,
  ICMPV6_REJECT_CODES,
  ICMPV6_TYPES,
  OWNER_FIELDS,
  PROTOCOLS,
  SERVICES,
  SET_TYPES,
  TCP_FLAGS,
  typeName,
  type ValueType,
} from "./catalog.js";
import type { Cond, CounterInfo, Effect, FieldTest, IrChain, IrPolicy, IrRule, IrSet, IrSetElement, Verdict } from "./ir.js";
import { cgroupIdsUnder } from "./cgroup.js";

export interface Accounts {
  users: Map<string, number>;
  groups: Map<string, number>;
  /** where the names come from, for "unknown user" messages */
  source: string;
}

export interface LowerOptions {
  accounts?: Accounts;
}

type AtomNode = ValueNode & { kind: "atom" };

const UNIT_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const DEFAULT_BURST = 5;

class Lowerer {
  constructor(
    readonly ast: PolicyAst,
    readonly opts: LowerOptions,
  ) {}

  fail(pos: Pos | number, message: string): never {
    throw errorAt(this.ast.file, this.ast.source, typeof pos === "number" ? pos : pos.start, message) as SourceError;
  }

  // ------------------------------------------------------------------ values

  /** Parse an integer literal; errors name the allowed range. */
  integer(a: AtomNode, max: bigint, what: string): bigint {
    const t = a.text;
    let v: bigint | undefined;
    if (/^0[xX][0-9a-fA-F]+$/.test(t) || /^\d+$/.test(t)) v = BigInt(t);
    if (v === undefined) this.fail(a.pos, `'${t}' is not ${what} (expected a number from 0 to ${max})`);
    if (v! > max) this.fail(a.pos, `${what} ${t} is out of range (0 to ${max})`);
    return v!;
  }

  ipv4(a: AtomNode): bigint {
    const v = parseIPv4(a.text);
    if (v !== undefined) return BigInt(v);
    const parts = a.text.split(".");
    if (parts.length === 4 && parts.every((p) => /^\d+$/.test(p))) {
      let off = 0;
      for (const p of parts) {
        if (Number(p) > 255) this.fail(a.pos.start + off, `'${a.text}' is not an IPv4 address: octet ${p} is over 255`);
        off += p.length + 1;
      }
    }
    this.fail(a.pos, `'${a.text}' is not an IPv4 address`);
  }

  /** One scalar value of a type, as a number at the field width. */
  scalar(t: ValueType, a: AtomNode): bigint {
    const name = a.text;
    switch (t.kind) {
      case "ipv4":
        return this.ipv4(a);
      case "ipv6": {
        const v = parseIPv6(name);
        if (v === undefined) this.fail(a.pos, `'${name}' is not an IPv6 address`);
        return v!;
      }
      case "mac": {
        const v = parseMAC(name);
        if (v === undefined) this.fail(a.pos, `'${name}' is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)`);
        return BigInt(v!);
      }
      case "port":
        if (SERVICES[name] !== undefined) return BigInt(SERVICES[name]!);
        if (/^[A-Za-z]/.test(name)) this.fail(a.pos, `unknown service '${name}' (give the port number)`);
        return this.integer(a, 65535n, "port");
      case "proto":
        if (PROTOCOLS[name] !== undefined) return BigInt(PROTOCOLS[name]!);
        if (/^[A-Za-z]/.test(name)) this.fail(a.pos, `unknown protocol '${name}' (known: ${Object.keys(PROTOCOLS).join(", ")})`);
        return this.integer(a, 255n, "protocol");
      case "ethertype":
        if (ETHERTYPES[name] !== undefined) return BigInt(ETHERTYPES[name]!);
        if (/^[A-Za-z]/.test(name)) this.fail(a.pos, `unknown ether type '${name}' (known: ${Object.keys(ETHERTYPES).join(", ")})`);
        return this.integer(a, 0xffffn, "ether type");
      case "icmp-type": {
        const table = t.v6 ? ICMPV6_TYPES : ICMP_TYPES;
        if (table[name] !== undefined) return BigInt(table[name]!);
        if (/^[A-Za-z]/.test(name)) this.fail(a.pos, `unknown ${t.v6 ? "ICMPv6" : "ICMP"} type '${name}' (known: ${Object.keys(table).join(", ")})`);
        return this.integer(a, 255n, "ICMP type");
      }
      case "ct-state": {
        const v = (CT_STATE as Record<string, number>)[name.toLowerCase()];
        if (v === undefined) this.fail(a.pos, `unknown conntrack state '${name}' (known: new, established, related, invalid, untracked)`);
        return BigInt(v!);
      }
      case "int":
        return this.integer(a, (1n << BigInt(t.bits)) - 1n, t.what);
    }
  }

  addressBits(t: ValueType): number | undefined {
    return t.kind === "ipv4" ? 32 : t.kind === "ipv6" ? 128 : t.kind === "mac" ? 48 : undefined;
  }

  /** A value (not a set reference) as a test; `bits` is the field width. */
  valueTest(t: ValueType, bits: number, v: ValueNode, allowList = true): FieldTest {
    switch (v.kind) {
      case "atom":
        return { kind: "eq", value: this.scalar(t, v) };
      case "range": {
        const lo = this.scalar(t, v.lo);
        const hi = this.scalar(t, v.hi);
        if (lo > hi) this.fail(v.pos, `empty range: ${v.lo.text} is greater than ${v.hi.text}`);
        return lo === hi ? { kind: "eq", value: lo } : { kind: "range", lo, hi };
      }
      case "prefix": {
        const width = this.addressBits(t);
        if (width === undefined || t.kind === "mac") this.fail(v.pos, `a prefix needs an address value; this field holds ${typeName(t)}`);
        const len = Number(v.len);
        if (len > width!) this.fail(v.lenPos.start - 1, `/${v.len} is not a prefix length for ${t.kind === "ipv4" ? "IPv4 (0 to 32)" : "IPv6 (0 to 128)"}`);
        const addr = this.scalar(t, v.addr);
        const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(width! - len);
        if (len === width) return { kind: "eq", value: addr };
        return { kind: "prefix", value: addr & mask, len };
      }
      case "list": {
        if (!allowList) this.fail(v.pos, "a set cannot contain another set");
        const items = v.items.map((i) => this.valueTest(t, bits, i, false));
        return items.length === 1 ? items[0]! : { kind: "any", items };
      }
      case "setref":
        this.fail(v.pos, "internal: set reference in a value");
    }
  }

  /** Elements of a named set as inclusive intervals. */
  setElements(t: ValueType, bits: number, v: ValueNode, interval: boolean, setName: string): IrSetElement[] {
    const test = this.valueTest(t, bits, v, false);
    if (test.kind === "eq") return [{ lo: test.value, hi: test.value }];
    if (!interval) this.fail(v.pos, `set '${setName}' holds a ${v.kind}; declare it with 'flags interval'`);
    if (test.kind === "range") return [{ lo: test.lo, hi: test.hi }];
    if (test.kind === "prefix") return [{ lo: test.value, hi: test.value | ((1n << BigInt(bits - test.len)) - 1n) }];
    this.fail(v.pos, "internal: unexpected set element");
  }

  // ------------------------------------------------------------------ matches

  fieldMatch(m: FieldMatchNode, conds: Cond[], guards: { bits: number; tcp: boolean }, sets: Map<string, IrSet>): void {
    const subject = FIELD_CATALOG[m.subject];
    if (m.subject === "" || ((m.field === "dport" || m.field === "sport") && !["tcp", "udp", "sctp"].includes(m.subject))) {
      this.fail(m.subject === "" ? m.pos : m.subjectPos, `'${m.field}' needs a transport protocol: write 'tcp ${m.field} …', 'udp ${m.field} …' or 'sctp ${m.field} …'`);
    }
    const entry = subject?.[m.field];
    if (!subject || !entry) this.fail(m.subjectPos.end + 1, `${m.subject} has no field '${m.field}' (fields: ${Object.keys(subject ?? {}).join(", ")}${m.subject === "tcp" ? ", flags" : ""})`);
    guards.bits |= entry.guard;
    if (m.subject === "tcp") guards.tcp = true;
    if (entry.field === "l4.proto" || entry.field === "ip.proto") {
      // `meta l4proto tcp` makes a rule TCP-only just as `tcp dport` does
      if (m.op === "==" && m.value.kind === "atom" && this.scalar(entry.type, m.value) === 6n) guards.tcp = true;
    }
    const v = m.value;
    if (v.kind === "setref") {
      if (m.op !== "==" && m.op !== "!=") this.fail(m.pos, `'${m.op}' cannot compare with a set`);
      const set = sets.get(v.name);
      if (!set) this.fail(v.pos, `unknown set '@${v.name}'${sets.size ? ` (sets: ${[...sets.keys()].map((s) => "@" + s).join(", ")})` : ""}`);
      if (set.typeName !== typeName(entry.type)) this.fail(v.pos, `set '@${v.name}' holds ${set.typeName}; ${m.subject} ${m.field} is ${typeName(entry.type)}`);
      conds.push({ kind: "set", field: entry.field, set: v.name, negate: m.op === "!=" });
      return;
    }
    if (entry.type.kind === "ct-state") {
      if (m.op !== "==" && m.op !== "!=") this.fail(m.pos, `'${m.op}' cannot compare conntrack states`);
      const test = this.valueTest(entry.type, entry.bits, v);
      conds.push({ kind: "field", field: entry.field, bits: entry.bits, test, negate: m.op === "!=" });
      return;
    }
    if (m.op === "==" || m.op === "!=") {
      conds.push({ kind: "field", field: entry.field, bits: entry.bits, test: this.valueTest(entry.type, entry.bits, v), negate: m.op === "!=" });
      return;
    }
    if (v.kind !== "atom") this.fail(v.pos, `'${m.op}' compares with one value, not a ${v.kind}`);
    const ops = { "<": "lt", "<=": "le", ">": "gt", ">=": "ge" } as const;
    conds.push({ kind: "field", field: entry.field, bits: entry.bits, test: { kind: "cmp", op: ops[m.op as "<"], value: this.scalar(entry.type, v) }, negate: false });
  }

  tcpFlags(v: ValueNode): bigint {
    const items = v.kind === "list" ? v.items : [v];
    let bits = 0n;
    for (const i of items) {
      if (i.kind !== "atom") this.fail(i.pos, "expected TCP flag names (fin, syn, rst, psh, ack, urg, ecn, cwr)");
      const name = i.text.toLowerCase();
      if (name === "none") continue;
      if (name === "all") {
        bits |= 0xffn;
        continue;
      }
      const f = TCP_FLAGS[name];
      if (f === undefined) this.fail(i.pos, `unknown TCP flag '${i.text}' (fin, syn, rst, psh, ack, urg, ecn, cwr)`);
      bits |= BigInt(f!);
    }
    return bits;
  }

  match(m: MatchNode, conds: Cond[], guards: { bits: number; tcp: boolean }, sets: Map<string, IrSet>, state: PolicyState): void {
    switch (m.kind) {
      case "field":
        return this.fieldMatch(m, conds, guards, sets);
      case "tcpflags": {
        guards.bits |= HDR.TCP | HDR.L4;
        guards.tcp = true;
        const flags = this.tcpFlags(m.flags);
        const mask = m.mask ? this.tcpFlags(m.mask) : flags;
        if ((flags & ~mask) !== 0n) this.fail(m.flags.pos, "the flags must be a subset of the mask after '/'");
        conds.push({ kind: "field", field: "tcp.flags", bits: 9, test: { kind: "mask", mask, value: flags }, negate: m.negate });
        return;
      }
      case "owner": {
        const terms = m.terms.map((t) => {
          if (t.value.kind !== "atom") this.fail(t.value.pos, `an owner ${t.key} term takes one value`);
          const a = t.value;
          const text = a.text.startsWith('"') ? a.text.slice(1, -1) : a.text;
          let value: bigint;
          switch (t.key) {
            case "user":
            case "group": {
              if (/^\d+$/.test(text)) value = this.integer(a, 0xfffffffen, t.key === "user" ? "uid" : "gid");
              else {
                const acc = this.opts.accounts;
                const id = (t.key === "user" ? acc?.users : acc?.groups)?.get(text);
                if (id === undefined) this.fail(a.pos, `unknown ${t.key} '${text}'${acc ? ` (not in ${acc.source})` : ""}`);
                value = BigInt(id!);
              }
              break;
            }
            case "uid":
            case "gid":
            case "pid":
              // 0xffffffff is what the NIC writes for "no owner" ((uid_t)-1 is no valid id either)
              value = this.integer(a, 0xfffffffen, t.key);
              break;
            case "cmd":
            case "cgroup": {
              const list = state.strings[t.key];
              let i = list.indexOf(text);
              if (i < 0) i = list.push(text) - 1;
              value = BigInt(i + 1);
              break;
            }
          }
          return { field: OWNER_FIELDS[t.key], value, negate: t.negate, cgroup: t.key === "cgroup" ? text : undefined };
        });
        // A cgroup test never holds for a packet without a socket, negated or not (xt_cgroup, nft's socket
        // cgroupv2): an owner match with one needs an owner.
        const needsOwner = m.needsOwner === true || terms.some((t) => t.cgroup !== undefined);
        // Un-negated terms are plain field tests: an unowned packet carries values no term can name.
        if (terms.every((t) => !t.negate)) {
          for (const t of terms) {
            const cond: Cond = { kind: "field", field: t.field, bits: 32, test: { kind: "eq", value: t.value }, negate: false };
            conds.push(cond);
            if (t.cgroup !== undefined) state.cgroupTests.push({ path: t.cgroup, own: t.value, widen: (ids) => (cond.test = { kind: "any", items: ids.map((value) => ({ kind: "eq", value })) }) });
          }
        } else {
          const owner: Cond & { kind: "owner" } = { kind: "owner", terms: terms.map((t) => ({ field: t.field, value: t.value, negate: t.negate })), ...(needsOwner ? { needsOwner: true } : {}) };
          conds.push(owner);
          terms.forEach((t, k) => {
            if (t.cgroup !== undefined) state.cgroupTests.push({ path: t.cgroup, own: t.value, widen: (ids) => (owner.terms[k]!.values = ids) });
          });
        }
        return;
      }
      case "limit": {
        if (m.rate < 1 || m.rate > 0xffffffff) this.fail(m.pos, "a rate must be at least 1");
        conds.push({ kind: "limit", bucket: state.buckets++, tokensPerInterval: m.rate, intervalMs: UNIT_MS[m.unit], burst: m.burst ?? DEFAULT_BURST, over: m.over });
        return;
      }
    }
  }

  // ------------------------------------------------------------------ rules

  rule(chain: ChainNode, r: RuleNode, number: number, chainNames: Map<string, ChainNode>, sets: Map<string, IrSet>, state: PolicyState): IrRule {
    const conds: Cond[] = [];
    const guards = { bits: 0, tcp: false };
    for (const m of r.matches) this.match(m, conds, guards, sets, state);
    if (guards.bits) conds.unshift({ kind: "hdrs", bits: guards.bits });
    const effects: Effect[] = [];
    let verdict: Verdict | undefined;
    let verdictPos: Pos | undefined;
    let comment: string | undefined;
    for (const a of r.actions) {
      if (verdict && a.kind !== "comment" && a.kind !== "counter") this.fail(a.pos, `nothing can follow the verdict '${this.ast.source.slice(verdictPos!.start, verdictPos!.end)}' in a rule`);
      const v = this.action(a, guards, chainNames, effects, state);
      if (v) {
        verdict = v;
        verdictPos = a.pos;
      }
      if (a.kind === "comment") comment = a.text;
    }
    return { conds, effects, verdict, counter: -1, chain: chain.name, number, pos: r.pos, verdictPos, text: r.text, comment, listing: r.listing };
  }

  action(a: ActionNode, guards: { bits: number; tcp: boolean }, chains: Map<string, ChainNode>, effects: Effect[], state: PolicyState): Verdict | undefined {
    switch (a.kind) {
      case "accept":
      case "drop":
      case "return":
        return { kind: a.kind };
      case "reject": {
        const w = a.with;
        if (w.how === "tcp-reset") {
          if (!guards.tcp) this.fail(a.pos, "'reject with tcp reset' needs a rule that matches only TCP (add 'meta l4proto tcp' or a tcp match)");
          return { kind: "reject", how: "tcp-reset" };
        }
        if (w.how === "icmp" || w.how === "icmpv6") {
          const codes = w.how === "icmp" ? ICMP_REJECT_CODES : ICMPV6_REJECT_CODES;
          const code = /^\d+$/.test(w.type) ? Number(w.type) : codes[w.type];
          if (code === undefined || code > 255) this.fail(w.typePos, `unknown reject type '${w.type}' (known: ${Object.keys(codes).filter((k) => !k.startsWith("icmp-")).join(", ")})`);
          return { kind: "reject", how: w.how, type: w.how === "icmp" ? 3 : 1, code };
        }
        return { kind: "reject", how: "default" };
      }
      case "queue": {
        if (a.queue.kind !== "atom") this.fail(a.queue.pos, "a queue number is one number");
        return { kind: "queue", queue: Number(this.integer(a.queue, 65535n, "queue number")) };
      }
      case "jump":
      case "goto": {
        const target = chains.get(a.target);
        if (!target) this.fail(a.targetPos, `unknown chain '${a.target}'${chains.size ? ` (chains: ${[...chains.keys()].join(", ")})` : ""}`);
        if (target.hook) this.fail(a.targetPos, `cannot ${a.kind} to '${a.target}': it is the ${target.hook} hook's chain`);
        return { kind: a.kind, chain: a.target };
      }
      case "mark": {
        if (a.value.kind !== "atom") this.fail(a.value.pos, "a mark is one number");
        effects.push({ kind: "mark", value: Number(this.integer(a.value, 0xffffffffn, "mark")) });
        return undefined;
      }
      case "mirror":
        effects.push({ kind: "mirror" });
        return undefined;
      case "log":
        effects.push({ kind: "log", index: state.logPrefixes.push(a.prefix ?? "") - 1 });
        return undefined;
      case "counter":
      case "comment":
        return undefined;
    }
  }

  // ------------------------------------------------------------------ the whole policy

  lower(): IrPolicy {
    const ast = this.ast;
    const sets = new Map<string, IrSet>();
    for (const s of ast.sets) {
      if (sets.has(s.name)) this.fail(s.namePos, `set '${s.name}' is declared twice`);
      const t = SET_TYPES[s.type];
      if (!t) this.fail(s.typePos, `unknown set type '${s.type}' (known: ${Object.keys(SET_TYPES).join(", ")})`);
      const bits = t.kind === "ipv4" ? 32 : t.kind === "ipv6" ? 128 : t.kind === "mac" ? 48 : t.kind === "port" ? 16 : t.kind === "proto" ? 8 : 32;
      const elements = s.elements.flatMap((e) => this.setElements(t, bits, e, s.interval, s.name));
      sets.set(s.name, { name: s.name, bits, typeName: typeName(t), interval: s.interval, elements: mergeIntervals(elements), pos: s.pos });
    }
    const chainNames = new Map<string, ChainNode>();
    const hooks = new Map<string, ChainNode>();
    for (const c of ast.chains) {
      if (chainNames.has(c.name)) this.fail(c.namePos, `chain '${c.name}' is declared twice`);
      chainNames.set(c.name, c);
      if (c.hook) {
        const other = hooks.get(c.hook);
        if (other) this.fail(c.namePos, `the ${c.hook} hook already has chain '${other.name}'`);
        hooks.set(c.hook, c);
      } else if (c.policy && c.policyPos && !c.builtin) this.fail(c.policyPos, `only a hook chain (ingress, egress) has a policy; '${c.name}' is a user chain that returns at its end`);
    }
    const state: PolicyState = { strings: { cmd: [], cgroup: [] }, logPrefixes: [], buckets: 0, cgroupTests: [] };
    const chains: IrChain[] = ast.chains.map((c) => ({
      name: c.name,
      hook: c.hook,
      policy: c.policy ?? "accept",
      rules: c.rules.map((r, i) => this.rule(c, r, i + 1, chainNames, sets, state)),
      references: 0,
      pos: c.pos,
    }));
    // a cgroup match holds for the cgroup and every cgroup below it (cgroup.ts): once every path is interned, a
    // match whose path has interned paths below it accepts their ids too
    for (const t of state.cgroupTests) {
      const ids = cgroupIdsUnder(state.strings.cgroup, t.path, Number(t.own)).map(BigInt);
      if (ids.length > 1) t.widen(ids);
    }
    const byName = new Map(chains.map((c) => [c.name, c]));
    for (const c of chains) for (const r of c.rules) if (r.verdict?.kind === "jump" || r.verdict?.kind === "goto") byName.get(r.verdict.chain)!.references++;
    this.checkCycles(chains, byName);
    // counters: every rule in order, then every hook's policy
    const counters: CounterInfo[] = [];
    for (const c of chains) {
      for (const r of c.rules) {
        r.counter = counters.length;
        counters.push({ id: r.counter, chain: c.name, rule: r.number });
      }
      if (c.hook) {
        c.policyCounter = counters.length;
        counters.push({ id: c.policyCounter, chain: c.name });
      }
    }
    return { file: ast.file, source: ast.source, format: ast.format, chains, sets, counters, ipv4Only: ast.format === "iptables-save", strings: state.strings, logPrefixes: state.logPrefixes };
  }

  checkCycles(chains: IrChain[], byName: Map<string, IrChain>): void {
    const color = new Map<string, 0 | 1 | 2>();
    const stack: string[] = [];
    const visit = (c: IrChain): void => {
      color.set(c.name, 1);
      stack.push(c.name);
      for (const r of c.rules) {
        const v = r.verdict;
        if (v?.kind !== "jump" && v?.kind !== "goto") continue;
        const target = byName.get(v.chain)!;
        const col = color.get(target.name) ?? 0;
        if (col === 1) {
          const loop = [...stack.slice(stack.indexOf(target.name)), target.name].join(" → ");
          this.fail(r.verdictPos ?? r.pos, `${v.kind} to '${v.chain}' makes a loop: ${loop}`);
        }
        if (col === 0) visit(target);
      }
      stack.pop();
      color.set(c.name, 2);
    };
    for (const c of chains) if ((color.get(c.name) ?? 0) === 0) visit(c);
  }
}

interface PolicyState {
  strings: { cmd: string[]; cgroup: string[] };
  logPrefixes: string[];
  buckets: number;
  /** cgroup matches, widened to the cgroups below them once every path is known */
  cgroupTests: { path: string; own: bigint; widen: (ids: bigint[]) => void }[];
}

/** Sort intervals and merge overlapping or adjacent ones. */
export function mergeIntervals(list: IrSetElement[]): IrSetElement[] {
  const sorted = [...list].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: IrSetElement[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.lo <= last.hi + 1n) {
      if (e.hi > last.hi) last.hi = e.hi;
    } else out.push({ ...e });
  }
  return out;
}

export function lowerPolicy(ast: PolicyAst, opts: LowerOptions = {}): IrPolicy {
  return new Lowerer(ast, opts).lower();
}

export type { CmpOp };
