/**
 * `--format tc`: a script of tc commands, one per line, as `tc -batch` reads them (the leading `tc` is optional,
 * `#` starts a comment, a trailing `\` continues the line):
 *
 *   tc qdisc add dev eth0 root handle 1: htb default 30
 *   tc class add dev eth0 parent 1: classid 1:1 htb rate 100mbit
 *   tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dport 5432 0xffff flowid 1:10
 *
 * Filters become the kopi match language: u32 (`match ip src|dst PREFIX`, `match ip sport|dport N MASK`,
 * `match ip protocol N 0xff`, `match ip dsfield|tos N 0xfc`, and the ip6 forms), fw (the mark), flower
 * (ip_proto, src_ip, dst_ip, src_port, dst_port) and matchall. Units are tc's (units.ts).
 */
import { errorAt } from "../../overlay-isa/index.js";
import type { FieldMatchNode, MatchNode, Pos, ValueNode } from "../policy/ast.js";
import type { FilterStatement, QosSource, QosStatement, Verb, Word } from "./statements.js";

const VERBS: Record<string, Verb> = { add: "add", replace: "replace", change: "change", a: "add", r: "replace" };
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, "ipv6-icmp": 58, icmpv6: 58 };
const PORT_SUBJECTS: Record<number, string> = { 6: "tcp", 17: "udp", 132: "sctp" };

class TcScript {
  constructor(
    readonly file: string,
    readonly src: string,
  ) {}

  fail(at: number | Word, message: string): never {
    throw errorAt(this.file, this.src, typeof at === "number" ? at : at.pos.start, message);
  }
}

/** The script's logical lines as words (continuations joined, comments dropped). */
function scriptLines(src: string): Word[][] {
  const out: Word[][] = [];
  let current: Word[] = [];
  let i = 0;
  const flush = () => {
    if (current.length) out.push(current);
    current = [];
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      flush();
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "\\" && /^\\[ \t]*\r?\n/.test(src.slice(i, i + 4))) {
      i = src.indexOf("\n", i) + 1; // a continued line
    } else {
      let j = i;
      while (j < src.length && !/\s/.test(src[j]!)) {
        if (src[j] === '"' || src[j] === "'") {
          const close = src.indexOf(src[j]!, j + 1);
          j = close < 0 ? src.length : close + 1;
        } else j++;
      }
      current.push({ text: src.slice(i, j), pos: { start: i, end: j } });
      i = j;
    }
  }
  flush();
  return out;
}

/** Parse a tc script. Throws SourceError at the first word tc would refuse (or kopi cannot express). */
export function parseTcScript(source: string, file = "<tc>"): QosSource {
  const tc: TcScript = new TcScript(file, source);
  const statements: QosStatement[] = [];
  let dev: Word | undefined;
  for (let line of scriptLines(source)) {
    if (line[0]!.text === "tc") line = line.slice(1);
    while (line[0] && /^-/.test(line[0].text)) {
      if (!["-s", "-d", "-stats", "-details", "-b", "-batch"].includes(line[0].text)) tc.fail(line[0], `unknown tc option '${line[0].text}'`);
      line = line.slice(1);
    }
    if (line.length === 0) continue;
    const object = line[0]!;
    if (!["qdisc", "class", "filter"].includes(object.text)) tc.fail(object, `expected 'qdisc', 'class' or 'filter', found '${object.text}' (kopi reads tc's qdisc, class and filter commands)`);
    const verbWord = line[1];
    if (!verbWord) tc.fail(object.pos.end, `expected add, replace or change after '${object.text}'`);
    const verb = VERBS[verbWord.text];
    if (!verb) tc.fail(verbWord, `'${verbWord.text}': kopi reads scripts that build a configuration (add, replace, change), not '${verbWord.text}'`);
    // the device comes first among the options tc takes in any order
    const rest = line.slice(2);
    const devAt = rest.findIndex((w) => w.text === "dev");
    if (devAt < 0) tc.fail(object, `'dev NAME' is missing (tc needs the device)`);
    const devName = rest[devAt + 1];
    if (!devName) tc.fail(rest[devAt]!.pos.end, "expected a device name after 'dev'");
    if (dev && dev.text !== devName.text) tc.fail(devName, `a second device '${devName.text}' (this script configures '${dev.text}'; one device per file)`);
    dev ??= devName;
    const ws = [...rest.slice(0, devAt), ...rest.slice(devAt + 2)];
    const pos = { start: line[0]!.pos.start, end: line[line.length - 1]!.pos.end };
    if (object.text === "qdisc") statements.push(qdiscLine(tc, verb, ws, pos));
    else if (object.text === "class") statements.push(classLine(tc, verb, ws, pos));
    else statements.push(...filterLine(tc, ws, pos));
  }
  if (!dev) throw errorAt(file, source, 0, "the script has no tc commands (expected lines such as 'tc qdisc add dev eth0 root htb')");
  return { file, source, format: "tc", dev: dev.text, devPos: dev.pos, statements, sets: [] };
}

function qdiscLine(tc: TcScript, verb: Verb, ws: Word[], pos: Pos): QosStatement {
  let parent: Word | undefined;
  let handle: Word | undefined;
  let k = 0;
  for (; k < ws.length; ) {
    const w = ws[k]!;
    if (w.text === "root" || w.text === "ingress" || w.text === "clsact") {
      if (w.text !== "root") tc.fail(w, `'${w.text}' qdiscs are not scheduled by kopi's egress link (use root or parent CLASS)`);
      parent = w;
      k++;
    } else if (w.text === "parent" || w.text === "handle") {
      const v = ws[k + 1];
      if (!v) tc.fail(w.pos.end, `expected a value after '${w.text}'`);
      if (w.text === "parent") parent = v;
      else handle = v;
      k += 2;
    } else if (w.text === "estimator" || w.text === "stab") tc.fail(w, `'${w.text}' is not supported by kopi`);
    else break;
  }
  const qdisc = ws[k];
  if (!qdisc) tc.fail(ws[ws.length - 1]?.pos.end ?? pos.end, "expected a qdisc kind (pfifo, bfifo, prio, tbf, htb, drr, sfq, fq_codel)");
  return { kind: "qdisc", verb, qdisc, ...(parent ? { parent } : {}), ...(handle ? { handle } : {}), params: ws.slice(k + 1), pos };
}

function classLine(tc: TcScript, verb: Verb, ws: Word[], pos: Pos): QosStatement {
  let parent: Word | undefined;
  let classid: Word | undefined;
  let k = 0;
  for (; k < ws.length; ) {
    const w = ws[k]!;
    if (w.text === "parent" || w.text === "classid") {
      const v = ws[k + 1];
      if (!v) tc.fail(w.pos.end, `expected a class id after '${w.text}'`);
      if (w.text === "parent") parent = v;
      else classid = v;
      k += 2;
    } else if (w.text === "root") {
      parent = w;
      k++;
    } else break;
  }
  if (!classid) tc.fail(ws[0] ?? pos.start, "'classid MAJOR:MINOR' is missing (tc needs the class's id)");
  const qdisc = ws[k];
  if (!qdisc) tc.fail(ws[ws.length - 1]?.pos.end ?? pos.end, "expected the class's kind (htb, drr) and its parameters");
  return { kind: "class", verb, classid, ...(parent ? { parent } : {}), qdisc, params: ws.slice(k + 1), pos };
}

// ---- filters ------------------------------------------------------------------------------------------------

function atom(w: Word, text = w.text): ValueNode & { kind: "atom" } {
  return { kind: "atom", text, pos: w.pos };
}

function field(subject: string, name: string, value: ValueNode, at: Word): FieldMatchNode {
  return { kind: "field", subject, field: name, op: "==", value, pos: at.pos, subjectPos: at.pos };
}

/** `10.0.0.0/8` or an address as a policy-language value. */
function addressValue(w: Word): ValueNode {
  const slash = w.text.indexOf("/");
  if (slash < 0) return atom(w);
  const addr = { kind: "atom" as const, text: w.text.slice(0, slash), pos: { start: w.pos.start, end: w.pos.start + slash } };
  return { kind: "prefix", addr, len: w.text.slice(slash + 1), lenPos: { start: w.pos.start + slash + 1, end: w.pos.end }, pos: w.pos };
}

/** A u32 value/mask pair on a 16-bit port: the full mask, or leading ones (a range of ports). */
function portValue(tc: TcScript, value: Word, mask: Word | undefined): ValueNode {
  const v = Number(value.text);
  const m = mask === undefined ? 0xffff : Number(mask.text);
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) tc.fail(value, `'${value.text}' is not a port (0 … 65535)`);
  if (!Number.isInteger(m) || m < 0 || m > 0xffff) tc.fail(mask!, `'${mask!.text}' is not a 16-bit mask`);
  if (m === 0xffff) return atom(value, String(v));
  const low = ~m & 0xffff; // the bits the mask ignores: they must be the low ones (2^k − 1)
  if ((low & (low + 1)) !== 0) tc.fail(mask!, `mask ${mask!.text}: kopi matches ports with a mask of leading ones (such as 0xff00) only`);
  const lo = v & m;
  const hi = lo | low;
  return { kind: "range", lo: atom(value, String(lo)), hi: atom(value, String(hi)), pos: value.pos };
}

/** One tc filter line: `[parent P] [protocol X] [prio N] [handle H] KIND … [flowid|classid C]`. */
function filterLine(tc: TcScript, ws: Word[], pos: Pos): FilterStatement[] {
  let parent: Word | undefined;
  let prio: Word | undefined;
  let protocol: Word | undefined;
  let handleWord: Word | undefined;
  let k = 0;
  for (; k < ws.length; ) {
    const w = ws[k]!;
    if (["parent", "prio", "pref", "protocol", "handle", "chain"].includes(w.text)) {
      const v = ws[k + 1];
      if (!v) tc.fail(w.pos.end, `expected a value after '${w.text}'`);
      if (w.text === "parent") parent = v;
      else if (w.text === "prio" || w.text === "pref") prio = v;
      else if (w.text === "protocol") protocol = v;
      else if (w.text === "handle") handleWord = v;
      else if (v.text !== "0") tc.fail(v, "filter chains are not supported by kopi (chain 0 only)");
      k += 2;
    } else if (w.text === "root") {
      parent = w;
      k++;
    } else break;
  }
  const kind = ws[k];
  if (!kind) tc.fail(ws[ws.length - 1]?.pos.end ?? pos.end, "expected a filter kind (u32, fw, flower, matchall)");
  let body = ws.slice(k + 1);
  let target: Word | undefined;
  const t = body.findIndex((w) => w.text === "flowid" || w.text === "classid");
  if (t >= 0) {
    target = body[t + 1];
    if (!target) tc.fail(body[t]!.pos.end, `expected a class id after '${body[t]!.text}'`);
    body = [...body.slice(0, t), ...body.slice(t + 2)];
  }
  if (!target) tc.fail(kind, "the filter has no 'flowid CLASS': kopi needs the class its packets go to");
  const common: MatchNode[] = [];
  if (protocol) {
    const p = protocol.text;
    if (p === "ip") common.push(field("meta", "protocol", atom(protocol, "ip"), protocol));
    else if (p === "ipv6") common.push(field("meta", "protocol", atom(protocol, "ip6"), protocol));
    else if (p !== "all") tc.fail(protocol, `protocol '${p}': kopi classifies ip, ipv6 or all`);
  }
  let alternatives: MatchNode[][];
  switch (kind.text) {
    case "matchall":
      if (body.length && !body.every((w) => w.text === "skip_hw" || w.text === "skip_sw")) tc.fail(body[0]!, `matchall takes no selectors, found '${body[0]!.text}'`);
      alternatives = [[]];
      break;
    case "fw": {
      if (!handleWord) tc.fail(kind, "an fw filter needs 'handle MARK' (the packet mark it matches)");
      if (handleWord.text.includes("/")) tc.fail(handleWord, "fw handle masks are not supported by kopi (give the mark alone)");
      if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(handleWord.text)) tc.fail(handleWord, `'${handleWord.text}' is not a mark`);
      if (body.length) tc.fail(body[0]!, `unexpected '${body[0]!.text}' in an fw filter`);
      alternatives = [[field("meta", "mark", atom(handleWord, String(Number(handleWord.text))), handleWord)]];
      break;
    }
    case "u32":
      alternatives = u32Matches(tc, body);
      break;
    case "flower":
      alternatives = [flowerMatches(tc, body)];
      break;
    default:
      tc.fail(kind, `filter kind '${kind.text}' is not supported by kopi (u32, fw, flower, matchall); the .qos language matches owners and cgroups`);
  }
  return alternatives.map((matches) => ({
    kind: "filter",
    ...(parent ? { parent } : {}),
    ...(prio ? { prio } : {}),
    matches: [...common, ...matches],
    target: target!,
    pos,
    text: tc.src.slice(pos.start, pos.end),
  }));
}

/** u32 selectors (`match ip …`); port matches without a protocol match become one alternative per protocol. */
function u32Matches(tc: TcScript, body: Word[]): MatchNode[][] {
  const matches: MatchNode[] = [];
  const ports: { field: "sport" | "dport"; value: ValueNode; at: Word }[] = [];
  let proto: number | undefined;
  let family: "ip" | "ip6" | undefined;
  for (let k = 0; k < body.length; ) {
    const w = body[k]!;
    if (w.text === "skip_hw" || w.text === "skip_sw") {
      k++;
      continue;
    }
    if (w.text !== "match") tc.fail(w, `expected 'match' in a u32 filter, found '${w.text}'`);
    const fam = body[k + 1];
    const what = body[k + 2];
    const value = body[k + 3];
    if (!fam || !what || !value) tc.fail(w.pos.end, "expected 'match ip FIELD VALUE [MASK]'");
    if (fam.text !== "ip" && fam.text !== "ip6") tc.fail(fam, `u32 'match ${fam.text}' is not supported by kopi (match ip … or match ip6 …)`);
    if (family && family !== fam.text) tc.fail(fam, "one u32 filter matches either ip or ip6 fields");
    family = fam.text;
    const maskWord = body[k + 4] && /^0x[0-9a-fA-F]+$|^\d+$/.test(body[k + 4]!.text) ? body[k + 4] : undefined;
    k += maskWord ? 5 : 4;
    switch (what.text) {
      case "src":
      case "dst":
        if (maskWord) tc.fail(maskWord, `'match ${fam.text} ${what.text}' takes an address or prefix, not a mask`);
        matches.push(field(fam.text, what.text === "src" ? "saddr" : "daddr", addressValue(value), value));
        break;
      case "sport":
      case "dport":
        ports.push({ field: what.text, value: portValue(tc, value, maskWord), at: value });
        break;
      case "protocol":
      case "nexthdr": {
        if (maskWord && Number(maskWord.text) !== 0xff) tc.fail(maskWord, "a protocol match needs the mask 0xff");
        const n = Number(value.text);
        if (!Number.isInteger(n) || n < 0 || n > 255) tc.fail(value, `'${value.text}' is not a protocol number`);
        proto = n;
        matches.push(field("meta", "l4proto", atom(value, String(n)), value));
        break;
      }
      case "tos":
      case "dsfield":
      case "priority": {
        const m = maskWord ? Number(maskWord.text) : 0xff;
        if (m !== 0xfc) tc.fail(maskWord ?? value, "kopi matches the DSCP: give the mask 0xfc (the low two bits are ECN)");
        matches.push(field(fam.text, "dscp", atom(value, String(Number(value.text) >> 2)), value));
        break;
      }
      default:
        tc.fail(what, `u32 'match ${fam.text} ${what.text}' is not supported by kopi (src, dst, sport, dport, protocol, dsfield)`);
    }
  }
  if (ports.length === 0) return [matches];
  const subjects = proto !== undefined ? [PORT_SUBJECTS[proto]] : ["tcp", "udp", "sctp"];
  if (subjects[0] === undefined) tc.fail(ports[0]!.at, `ports need TCP, UDP or SCTP (the filter matches protocol ${proto})`);
  return subjects.map((subject) => [...matches, ...ports.map((p) => field(subject!, p.field, p.value, p.at))]);
}

function flowerMatches(tc: TcScript, body: Word[]): MatchNode[] {
  const matches: MatchNode[] = [];
  let proto: string | undefined;
  const pending: { field: "sport" | "dport"; w: Word }[] = [];
  for (let k = 0; k < body.length; ) {
    const w = body[k]!;
    if (w.text === "skip_hw" || w.text === "skip_sw") {
      k++;
      continue;
    }
    const v = body[k + 1];
    if (!v) tc.fail(w.pos.end, `expected a value after '${w.text}'`);
    k += 2;
    switch (w.text) {
      case "ip_proto":
        if (PROTOCOLS[v.text] === undefined && !/^\d+$/.test(v.text)) tc.fail(v, `unknown ip_proto '${v.text}' (tcp, udp, sctp, icmp, icmpv6 or a number)`);
        proto = v.text;
        matches.push(field("meta", "l4proto", atom(v, String(PROTOCOLS[v.text] ?? Number(v.text))), v));
        break;
      case "src_ip":
      case "dst_ip":
        matches.push(field(v.text.includes(":") ? "ip6" : "ip", w.text === "src_ip" ? "saddr" : "daddr", addressValue(v), v));
        break;
      case "src_port":
      case "dst_port":
        pending.push({ field: w.text === "src_port" ? "sport" : "dport", w: v });
        break;
      default:
        tc.fail(w, `flower key '${w.text}' is not supported by kopi (ip_proto, src_ip, dst_ip, src_port, dst_port)`);
    }
  }
  for (const p of pending) {
    const subject = proto === undefined ? undefined : PORT_SUBJECTS[PROTOCOLS[proto] ?? Number(proto)];
    if (!subject) tc.fail(p.w, "flower port matches need 'ip_proto tcp', 'udp' or 'sctp' (as tc requires)");
    const dash = p.w.text.indexOf("-");
    const value: ValueNode =
      dash < 0
        ? atom(p.w)
        : { kind: "range", lo: { kind: "atom", text: p.w.text.slice(0, dash), pos: p.w.pos }, hi: { kind: "atom", text: p.w.text.slice(dash + 1), pos: p.w.pos }, pos: p.w.pos };
    matches.push(field(subject, p.field, value, p.w));
  }
  return matches;
}
