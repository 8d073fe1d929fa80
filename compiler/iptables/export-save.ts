/**
 * IrPolicy → iptables-save text (`hostctl compile --to iptables-save`). The ingress hook becomes INPUT, egress
 * OUTPUT, user chains keep their names. iptables is IPv4-only and has no sets or owner matches on INPUT, so a
 * rule that cannot be said in iptables is written as a `#` comment naming the reason, and listed in `skipped`.
 * With counters, lines carry `[packets:bytes]` as `iptables-save -c` prints them.
 */
import { formatIPv4, formatMAC } from "../../overlay-isa/index.js";
import { CT_STATE, ICMP_REJECT_CODES, TCP_FLAGS } from "../policy/catalog.js";
import type { Cond, FieldTest, IrChain, IrPolicy, IrRule } from "../policy/ir.js";

export interface ExportResult {
  text: string;
  skipped: { chain: string; rule: number; reason: string }[];
}

class Inexpressible extends Error {}

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 132: "sctp" };
const HDR_PROTO: [number, string][] = [
  [1 << 6, "tcp"],
  [1 << 7, "udp"],
  [1 << 8, "icmp"],
  [1 << 10, "sctp"],
];

function chainName(c: IrChain): string {
  return c.hook === "ingress" ? "INPUT" : c.hook === "egress" ? "OUTPUT" : c.name;
}

function quote(s: string): string {
  return /^[\w./:-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, "\\$1")}"`;
}

/** xtables_save_string: bare when only letters, digits, `_` and `-`, else double-quoted with `"`, `\` and `'` escaped. */
function xtablesString(s: string): string {
  return /^[\w-]+$/.test(s) ? s : `"${s.replace(/(["\\'])/g, "\\$1")}"`;
}

function ipText(t: FieldTest): { opt: "addr" | "range"; text: string } {
  switch (t.kind) {
    case "eq":
      return { opt: "addr", text: `${formatIPv4(Number(t.value))}/32` };
    case "prefix":
      return { opt: "addr", text: `${formatIPv4(Number(t.value))}/${t.len}` };
    case "range":
      return { opt: "range", text: `${formatIPv4(Number(t.lo))}-${formatIPv4(Number(t.hi))}` };
    default:
      throw new Inexpressible("this address test has no iptables form");
  }
}

function portText(t: FieldTest): string {
  if (t.kind === "eq") return String(t.value);
  if (t.kind === "range") return `${t.lo}:${t.hi}`;
  if (t.kind === "cmp") return t.op === "lt" ? `0:${t.value - 1n}` : t.op === "le" ? `0:${t.value}` : t.op === "gt" ? `${t.value + 1n}:65535` : `${t.value}:65535`;
  throw new Inexpressible("this port test has no iptables form");
}

/** The value an owner field test names: its own (first) value, also for a cgroup test widened to the cgroups below. */
function ownerValue(t: FieldTest): bigint {
  if (t.kind === "eq") return t.value;
  if (t.kind === "any" && t.items[0]?.kind === "eq") return t.items[0].value;
  throw new Inexpressible("this owner test has no iptables form");
}

function flagNames(bits: bigint): string {
  if (bits === 0n) return "NONE";
  const names = Object.entries(TCP_FLAGS).filter(([n, v]) => n !== "ecn" && (BigInt(v) & bits) !== 0n).map(([n]) => n.toUpperCase());
  return names.join(",");
}

function ruleOptions(r: IrRule, chain: IrChain, v4Guarded: boolean, strings: IrPolicy["strings"]): string[] {
  const opts: string[] = [];
  const neg = (b: boolean) => (b ? "! " : "");
  let proto: string | undefined;
  const hdrs = r.conds.find((c) => c.kind === "hdrs") as (Cond & { kind: "hdrs" }) | undefined;
  if (hdrs) {
    if ((hdrs.bits & (1 << 5)) !== 0) throw new Inexpressible("iptables filters IPv4 only (this rule matches IPv6)");
    for (const [bit, name] of HDR_PROTO) if ((hdrs.bits & bit) !== 0) proto = name;
    if ((hdrs.bits & ((1 << 1) | (1 << 9))) !== 0) throw new Inexpressible("VLAN and ICMPv6 matches have no iptables form");
  }
  const ipProto = r.conds.find((c) => c.kind === "field" && (c.field === "ip.proto" || c.field === "l4.proto")) as (Cond & { kind: "field" }) | undefined;
  if (proto) opts.push(`-p ${proto}`);
  else if (ipProto) {
    if (ipProto.test.kind !== "eq") throw new Inexpressible("a protocol set has no iptables form");
    const name = PROTO_NAMES[Number(ipProto.test.value)] ?? String(ipProto.test.value);
    opts.push(`${neg(ipProto.negate)}-p ${name}`);
    if (!ipProto.negate && PROTO_NAMES[Number(ipProto.test.value)]) proto = name;
  }
  const mods = new Set<string>();
  const mod = (m: string) => {
    if (!mods.has(m)) opts.push(`-m ${m}`);
    mods.add(m);
  };
  let comment: string | undefined;
  for (const c of r.conds) {
    switch (c.kind) {
      case "hdrs":
        break;
      case "set":
        throw new Inexpressible(`set @${c.set} has no iptables form (iptables needs ipset)`);
      case "owner":
      case "field": {
        if (c.kind === "owner" || c.field.startsWith("owner.")) {
          const terms = c.kind === "owner" ? c.terms : [{ field: c.field, value: ownerValue(c.test), negate: c.negate }];
          // xt_cgroup (the path or below it; no socket, no match) also runs on INPUT; xt_owner does not
          if (chain.hook === "ingress" && !terms.every((t) => t.field === "owner.cgroup")) throw new Inexpressible("Linux cannot match the owner of incoming packets");
          for (const t of terms) {
            if (t.field === "owner.cgroup") {
              const path = strings.cgroup[Number(t.value) - 1];
              if (path === undefined) throw new Inexpressible("an owner cgroup id the policy did not intern");
              mod("cgroup");
              opts.push(`${neg(t.negate)}--path ${xtablesString(path)}`);
              continue;
            }
            if (t.field !== "owner.uid" && t.field !== "owner.gid") throw new Inexpressible(`${t.field} has no iptables form`);
            mod("owner");
            opts.push(`${neg(t.negate)}--${t.field === "owner.uid" ? "uid" : "gid"}-owner ${t.value}`);
          }
          break;
        }
        const t = c.test;
        switch (c.field) {
          case "ip.proto":
          case "l4.proto":
            break;
          case "ip.src":
          case "ip.dst": {
            const x = ipText(t);
            if (x.opt === "addr") opts.push(`${neg(c.negate)}${c.field === "ip.src" ? "-s" : "-d"} ${x.text}`);
            else {
              mod("iprange");
              opts.push(`${neg(c.negate)}--${c.field === "ip.src" ? "src" : "dst"}-range ${x.text}`);
            }
            break;
          }
          case "l4.sport":
          case "l4.dport": {
            if (!proto) throw new Inexpressible("a port match needs a protocol");
            const dir = c.field === "l4.sport" ? "s" : "d";
            if (t.kind === "any") {
              if (t.items.length > 15) throw new Inexpressible("multiport takes at most 15 ports");
              mod("multiport");
              opts.push(`${neg(c.negate)}--${dir}ports ${t.items.map(portText).join(",")}`);
            } else {
              mod(proto);
              opts.push(`${neg(c.negate)}--${dir}port ${portText(t)}`);
            }
            break;
          }
          case "tcp.flags": {
            if (t.kind !== "mask") throw new Inexpressible("tcp flags");
            mod("tcp");
            opts.push(`${neg(c.negate)}--tcp-flags ${flagNames(t.mask)} ${flagNames(t.value)}`);
            break;
          }
          case "icmp.type":
          case "icmp.code": {
            if (c.field === "icmp.code") {
              const type = r.conds.find((x) => x.kind === "field" && x.field === "icmp.type") as (Cond & { kind: "field" }) | undefined;
              if (!type || type.test.kind !== "eq" || t.kind !== "eq" || c.negate) throw new Inexpressible("an ICMP code needs one ICMP type");
              break;
            }
            if (t.kind !== "eq") throw new Inexpressible("a set of ICMP types has no iptables form");
            const code = r.conds.find((x) => x.kind === "field" && x.field === "icmp.code") as (Cond & { kind: "field" }) | undefined;
            mod("icmp");
            opts.push(`${neg(c.negate)}--icmp-type ${t.value}${code && code.test.kind === "eq" ? `/${code.test.value}` : ""}`);
            break;
          }
          case "ct.state": {
            const values = t.kind === "any" ? t.items : [t];
            const names = values.map((v) => {
              const e = Object.entries(CT_STATE).find(([, n]) => v.kind === "eq" && BigInt(n) === v.value);
              if (!e) throw new Inexpressible("conntrack state");
              return e[0].toUpperCase();
            });
            mod("conntrack");
            opts.push(`${neg(c.negate)}--ctstate ${names.join(",")}`);
            break;
          }
          case "$bytes": {
            mod("length");
            opts.push(`${neg(c.negate)}--length ${portText(t)}`);
            break;
          }
          case "ip.ttl": {
            mod("ttl");
            if (t.kind === "eq") opts.push(`${neg(c.negate)}--ttl-eq ${t.value}`);
            else if (t.kind === "cmp" && !c.negate && (t.op === "lt" || t.op === "gt")) opts.push(`--ttl-${t.op} ${t.value}`);
            else throw new Inexpressible("this TTL test has no iptables form");
            break;
          }
          case "eth.src": {
            if (t.kind !== "eq") throw new Inexpressible("a MAC set has no iptables form");
            mod("mac");
            opts.push(`${neg(c.negate)}--mac-source ${formatMAC(Number(t.value)).toUpperCase()}`);
            break;
          }
          case "meta.mark": {
            if (t.kind !== "eq") throw new Inexpressible("a mark set has no iptables form");
            mod("mark");
            opts.push(`${neg(c.negate)}--mark 0x${t.value.toString(16)}`);
            break;
          }
          case "pkt.port": {
            if (t.kind !== "eq") throw new Inexpressible("a port set has no iptables form");
            opts.push(`${neg(c.negate)}${chain.hook === "egress" ? "-o" : "-i"} eth${t.value}`);
            break;
          }
          default:
            throw new Inexpressible(`${c.field} has no iptables match`);
        }
        break;
      }
      case "limit": {
        if (c.over) throw new Inexpressible("'limit rate over' has no iptables form (use hashlimit)");
        const unit = { 1000: "second", 60000: "minute", 3600000: "hour", 86400000: "day" }[c.intervalMs];
        mod("limit");
        opts.push(`--limit ${c.tokensPerInterval}/${unit} --limit-burst ${c.burst}`);
        break;
      }
    }
  }
  void v4Guarded;
  if (r.comment !== undefined) comment = r.comment;
  if (comment !== undefined) {
    mod("comment");
    opts.push(`--comment ${quote(comment)}`);
  }
  // effects and the verdict: iptables has one target per rule
  const targets: string[] = [];
  for (const e of r.effects) {
    if (e.kind === "mark") targets.push(`-j MARK --set-xmark 0x${e.value.toString(16)}/0xffffffff`);
    else if (e.kind === "log") targets.push("-j LOG");
    else throw new Inexpressible("mirror has no iptables form");
  }
  const v = r.verdict;
  if (v) {
    switch (v.kind) {
      case "accept":
        targets.push("-j ACCEPT");
        break;
      case "drop":
        targets.push("-j DROP");
        break;
      case "return":
        targets.push("-j RETURN");
        break;
      case "jump":
        targets.push(`-j ${v.chain}`);
        break;
      case "goto":
        targets.push(`-g ${v.chain}`);
        break;
      case "queue":
        targets.push(`-j NFQUEUE --queue-num ${v.queue}`);
        break;
      case "reject": {
        if (v.how === "tcp-reset") targets.push("-j REJECT --reject-with tcp-reset");
        else if (v.how === "icmp") {
          const name = Object.entries(ICMP_REJECT_CODES).find(([n, code]) => n.startsWith("icmp-") && code === v.code)?.[0];
          if (!name) throw new Inexpressible("this ICMP reject code has no iptables name");
          targets.push(`-j REJECT --reject-with ${name}`);
        } else if (v.how === "default") targets.push("-j REJECT");
        else throw new Inexpressible("ICMPv6 rejects belong to ip6tables");
        break;
      }
    }
  }
  if (targets.length > 1) throw new Inexpressible("iptables has one target per rule (split the statements into rules)");
  return [...opts, ...targets];
}

export function exportIptablesSave(p: IrPolicy, counters?: { packets: bigint; bytes: bigint }[]): ExportResult {
  const out: string[] = ["# Generated by kopi from " + p.file, "*filter"];
  const skipped: ExportResult["skipped"] = [];
  const cnt = (id: number | undefined) => (counters && id !== undefined ? `[${counters[id]?.packets ?? 0n}:${counters[id]?.bytes ?? 0n}]` : "[0:0]");
  const builtins = ["INPUT", "FORWARD", "OUTPUT"];
  for (const name of builtins) {
    const c = p.chains.find((ch) => chainName(ch) === name);
    out.push(`:${name} ${c?.policy === "drop" ? "DROP" : "ACCEPT"} ${c ? cnt(c.policyCounter) : "[0:0]"}`);
  }
  for (const c of p.chains) if (!builtins.includes(chainName(c))) out.push(`:${c.name} - [0:0]`);
  for (const c of p.chains) {
    for (const r of c.rules) {
      try {
        const opts = ruleOptions(r, c, p.ipv4Only, p.strings);
        out.push(`${counters ? cnt(r.counter) + " " : ""}-A ${chainName(c)}${opts.length ? " " + opts.join(" ") : ""}`);
      } catch (e) {
        if (!(e instanceof Inexpressible)) throw e;
        skipped.push({ chain: c.name, rule: r.number, reason: e.message });
        out.push(`# kopi: rule ${r.number} of ${c.name} not exported (${e.message}): ${r.text}`);
      }
    }
  }
  out.push("COMMIT", "# Completed");
  return { text: out.join("\n") + "\n", skipped };
}
