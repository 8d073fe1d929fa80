/**
 * iptables-save text → PolicyAst (the same AST `.kopi` files give). Reads the filter table (`*filter`, chain
 * lines `:CHAIN POLICY [p:b]`, `-N`, `-A` with optional `[p:b]` counters, `COMMIT`). INPUT is the ingress hook,
 * OUTPUT the egress hook; FORWARD is kept but never runs (the NIC delivers to this host or sends from it).
 * As iptables-restore does, one bad line means nothing is applied: the first problem throws a SourceError
 * naming the line, the column and the option.
 */
import { errorAt, parseIPv4 } from "../../overlay-isa/index.js";
import type { ActionNode, ChainNode, ListingColumns, MatchNode, PolicyAst, Pos, RuleNode, ValueNode } from "../policy/ast.js";
import { PROTOCOLS } from "../policy/catalog.js";

interface Token {
  text: string;
  start: number;
  end: number;
}

type AtomNode = ValueNode & { kind: "atom" };

/** Options iptables allows once per rule, by their short letter. */
const ONCE_OPTIONS: Record<string, string> = {
  "-s": "s", "--source": "s", "-d": "d", "--destination": "d", "-p": "p", "--protocol": "p",
  "-i": "i", "--in-interface": "i", "-o": "o", "--out-interface": "o", "-j": "j", "--jump": "j", "-g": "j", "--goto": "j",
};

const BUILTIN_HOOKS: Record<string, "ingress" | "egress" | undefined> = { INPUT: "ingress", OUTPUT: "egress", FORWARD: undefined };

/** Split a rule line into words, honouring "quoted strings" with \" escapes, keeping offsets. */
function tokenize(file: string, src: string, lineStart: number, line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let text = "";
    while (i < line.length && !/\s/.test(line[i]!)) {
      if (line[i] === '"') {
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\" && i + 1 < line.length) i++;
          text += line[i];
          i++;
        }
        if (i >= line.length) throw errorAt(file, src, lineStart + start, "unterminated quoted string");
        i++;
      } else text += line[i++];
    }
    out.push({ text, start: lineStart + start, end: lineStart + i });
  }
  return out;
}

class RuleParser {
  i = 0;
  negate = false;
  negPos = 0;
  proto: string | undefined;
  readonly matches: MatchNode[] = [];
  readonly actions: ActionNode[] = [];
  readonly listing: ListingColumns = { target: "", prot: "all", opt: "--", in: "*", out: "*", source: "0.0.0.0/0", destination: "0.0.0.0/0", extra: "" };
  readonly extras: string[] = [];
  loaded = new Set<string>();
  readonly seen = new Set<string>();
  ownerPos: Pos | undefined;
  cgroupPos: Pos | undefined;
  jumpTarget: Token | undefined;

  constructor(
    readonly file: string,
    readonly src: string,
    readonly toks: Token[],
  ) {}

  fail(at: Token | number, message: string): never {
    throw errorAt(this.file, this.src, typeof at === "number" ? at : at.start, message);
  }

  next(what: string, opt: Token): Token {
    const t = this.toks[this.i++];
    if (!t) this.fail(opt.end, `${opt.text} needs ${what}`);
    return t;
  }

  /** A value token after an option, with a `!` before it read as negation (the old iptables syntax). */
  arg(what: string, opt: Token): Token {
    let t = this.next(what, opt);
    if (t.text === "!") {
      this.takeNegation(t);
      t = this.next(what, opt);
    }
    return t;
  }

  takeNegation(t: Token): void {
    if (this.negate) this.fail(t, "'!' given twice");
    this.negate = true;
    this.negPos = t.start;
  }

  consumeNegation(): boolean {
    const n = this.negate;
    this.negate = false;
    return n;
  }

  atom(t: Token, text = t.text, offset = 0): AtomNode {
    return { kind: "atom", text, pos: { start: t.start + offset, end: t.start + offset + text.length } };
  }

  field(subject: string, field: string, value: ValueNode, opt: Token, negate: boolean): void {
    this.matches.push({ kind: "field", subject, field, op: negate ? "!=" : "==", value, pos: { start: opt.start, end: value.pos.end }, subjectPos: { start: opt.start, end: opt.end } });
  }

  /** `addr[/len|/mask]` as an address value. */
  address(t: Token): ValueNode {
    const slash = t.text.indexOf("/");
    if (slash < 0) return this.atom(t);
    const addr = this.atom(t, t.text.slice(0, slash));
    let len = t.text.slice(slash + 1);
    const lenPos = { start: t.start + slash + 1, end: t.end };
    if (len.includes(".")) {
      const mask = parseIPv4(len);
      // a netmask is ones then zeros; its prefix length is the count of ones
      const ones = mask === undefined ? "0" : mask === 0 ? "" : mask.toString(2).replace(/0+$/, "");
      if (mask === undefined || ones.includes("0")) this.fail(lenPos.start, `'${len}' is not a netmask`);
      len = String(ones.length);
    } else if (!/^\d+$/.test(len)) this.fail(lenPos.start, `'${len}' is not a prefix length`);
    return { kind: "prefix", addr, len, lenPos, pos: { start: t.start, end: t.end } };
  }

  /** `a:b`, `a:`, `:b` or `a` as a port (or other number) value. */
  portValue(t: Token, max: number): ValueNode {
    const m = /^([^:]*):([^:]*)$/.exec(t.text);
    if (!m) return this.atom(t);
    const lo = this.atom(t, m[1] || "0", 0);
    const hi = this.atom(t, m[2] || String(max), m[1]!.length + 1);
    if (m[1] === "") lo.pos = { start: t.start, end: t.start };
    return { kind: "range", lo, hi, pos: { start: t.start, end: t.end } };
  }

  requireProto(opt: Token, protos: string[]): string {
    if (!this.proto || !protos.includes(this.proto)) this.fail(opt, `${opt.text} needs ${protos.map((p) => `-p ${p}`).join(" or ")} before it (iptables: unknown option "${opt.text}")`);
    return this.proto;
  }

  requireModule(opt: Token, mod: string): void {
    if (!this.loaded.has(mod)) this.fail(opt, `${opt.text} needs -m ${mod} before it`);
  }

  parse(): { chain: Token; rule: Omit<RuleNode, "text" | "pos"> } {
    const toks = this.toks;
    let chain: Token | undefined;
    while (this.i < toks.length) {
      const opt = toks[this.i++]!;
      const o = opt.text;
      if (o === "!") {
        this.takeNegation(opt);
        continue;
      }
      const once = ONCE_OPTIONS[o];
      if (once) {
        if (this.seen.has(once)) this.fail(opt, `multiple -${once} flags not allowed`);
        this.seen.add(once);
      }
      switch (o) {
        case "-A":
        case "--append":
          chain = this.next("a chain name", opt);
          break;
        case "-s":
        case "--source":
        case "-d":
        case "--destination": {
          const v = this.arg("an address", opt);
          const neg = this.consumeNegation();
          const src = o === "-s" || o === "--source";
          this.field("ip", src ? "saddr" : "daddr", this.address(v), opt, neg);
          const shown = (neg ? "!" : "") + (v.text.includes("/") ? v.text : `${v.text}`);
          if (src) this.listing.source = shown;
          else this.listing.destination = shown;
          break;
        }
        case "-p":
        case "--protocol": {
          const v = this.arg("a protocol", opt);
          const neg = this.consumeNegation();
          const name = v.text.toLowerCase();
          if (name === "all" || name === "0") {
            if (neg) this.fail(v, "'! -p all' matches nothing");
            break;
          }
          if (PROTOCOLS[name] === undefined && !/^\d+$/.test(name)) this.fail(v, `unknown protocol '${v.text}'`);
          if (!neg) this.proto = name;
          this.field("ip", "protocol", this.atom(v, name), opt, neg);
          this.listing.prot = (neg ? "!" : "") + name;
          break;
        }
        case "-i":
        case "--in-interface":
        case "-o":
        case "--out-interface": {
          const v = this.arg("an interface", opt);
          const neg = this.consumeNegation();
          const m = /^[A-Za-z_.-]*?(\d+)$/.exec(v.text);
          if (v.text.endsWith("+") && !/\d/.test(v.text)) {
            if (neg) this.fail(v, `'! ${o} ${v.text}' matches no packet`);
          } else if (!m) this.fail(v, `interface '${v.text}' names no NIC port (kopi maps ethN, portN and the like to NIC port N)`);
          else this.field("meta", "port", this.atom(v, m[1]!, v.text.length - m[1]!.length), opt, neg);
          if (o.startsWith("-i") || o === "--in-interface") this.listing.in = (neg ? "!" : "") + v.text;
          else this.listing.out = (neg ? "!" : "") + v.text;
          break;
        }
        case "-m":
        case "--match": {
          const mod = this.next("a match module", opt);
          const known = ["tcp", "udp", "icmp", "multiport", "conntrack", "state", "owner", "cgroup", "length", "ttl", "iprange", "mac", "mark", "limit", "comment"];
          if (!known.includes(mod.text)) this.fail(mod, `unsupported match module '${mod.text}' (kopi reads: ${known.join(", ")})`);
          if ((mod.text === "tcp" || mod.text === "udp" || mod.text === "icmp") && this.proto !== mod.text) this.fail(mod, `-m ${mod.text} needs -p ${mod.text} before it`);
          if (mod.text === "multiport" && !["tcp", "udp", "sctp"].includes(this.proto ?? "")) this.fail(mod, "-m multiport needs -p tcp, -p udp or -p sctp before it");
          this.loaded.add(mod.text);
          break;
        }
        case "--sport":
        case "--source-port":
        case "--dport":
        case "--destination-port": {
          const proto = this.requireProto(opt, ["tcp", "udp", "sctp"]);
          const v = this.arg("a port or port range", opt);
          const neg = this.consumeNegation();
          const dst = o === "--dport" || o === "--destination-port";
          this.field(proto, dst ? "dport" : "sport", this.portValue(v, 65535), opt, neg);
          this.extras.push(`${proto} ${dst ? "dpt" : "spt"}${v.text.includes(":") ? "s" : ""}:${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--dports":
        case "--destination-ports":
        case "--sports":
        case "--source-ports": {
          this.requireModule(opt, "multiport");
          const proto = this.proto!;
          const v = this.arg("a port list", opt);
          const neg = this.consumeNegation();
          let off = 0;
          const items = v.text.split(",").map((p) => {
            const t = { text: p, start: v.start + off, end: v.start + off + p.length };
            off += p.length + 1;
            if (p === "") this.fail(t.start, "empty port in the list");
            return this.portValue(t, 65535);
          });
          if (items.length > 15) this.fail(v, "multiport takes at most 15 ports");
          const dst = o.startsWith("--d");
          this.field(proto, dst ? "dport" : "sport", { kind: "list", items, braced: true, pos: { start: v.start, end: v.end } }, opt, neg);
          this.extras.push(`multiport ${dst ? "dports" : "sports"} ${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--ports":
          this.fail(opt, "multiport --ports (source or destination) is not supported; write one rule with --sports and one with --dports");
          break;
        case "--syn":
        case "--tcp-flags": {
          this.requireProto(opt, ["tcp"]);
          const neg = this.consumeNegation();
          let mask: Token;
          let comp: Token;
          if (o === "--syn") {
            mask = { text: "FIN,SYN,RST,ACK", start: opt.start, end: opt.end };
            comp = { text: "SYN", start: opt.start, end: opt.end };
          } else {
            mask = this.arg("a flag mask", opt);
            comp = this.next("the flags that must be set", opt);
          }
          const list = (t: Token): ValueNode => {
            let off = 0;
            const items = t.text.split(",").map((f) => {
              const a = this.atom(t, f, off);
              off += f.length + 1;
              return a;
            });
            return items.length === 1 ? items[0]! : { kind: "list", items, braced: false, pos: { start: t.start, end: t.end } };
          };
          this.matches.push({ kind: "tcpflags", flags: list(comp), mask: list(mask), negate: neg, pos: { start: opt.start, end: comp.end } });
          this.extras.push(o === "--syn" ? `tcp flags:${neg ? "!" : ""}0x17/0x02` : `tcp flags:${neg ? "!" : ""}${mask.text}/${comp.text}`);
          break;
        }
        case "--icmp-type": {
          this.requireProto(opt, ["icmp"]);
          const v = this.arg("an ICMP type", opt);
          const neg = this.consumeNegation();
          const [type, code] = v.text.split("/");
          if (type === "any") {
            if (neg) this.fail(v, "'! --icmp-type any' matches nothing");
            break;
          }
          this.field("icmp", "type", this.atom(v, type!), opt, neg && code === undefined);
          if (code !== undefined) {
            if (neg) this.fail(v, "'! --icmp-type TYPE/CODE' is not supported; split it into two rules");
            this.field("icmp", "code", this.atom(v, code, type!.length + 1), opt, false);
          }
          this.extras.push(`icmptype ${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--ctstate":
        case "--state": {
          this.requireModule(opt, o === "--state" ? "state" : "conntrack");
          const v = this.arg("conntrack states", opt);
          const neg = this.consumeNegation();
          let off = 0;
          const items = v.text.split(",").map((s) => {
            const a = this.atom(v, s.toLowerCase(), off);
            off += s.length + 1;
            return a;
          });
          this.field("ct", "state", { kind: "list", items, braced: false, pos: { start: v.start, end: v.end } }, opt, neg);
          this.extras.push(`${o === "--state" ? "state" : "ctstate"} ${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--uid-owner":
        case "--gid-owner": {
          this.requireModule(opt, "owner");
          const v = this.arg(o === "--uid-owner" ? "a user" : "a group", opt);
          const neg = this.consumeNegation();
          if (v.text.includes("-")) this.fail(v, "uid and gid ranges are not supported; give one user or group");
          const key = o === "--uid-owner" ? (/^\d+$/.test(v.text) ? "uid" : "user") : /^\d+$/.test(v.text) ? "gid" : "group";
          this.ownerPos ??= { start: opt.start, end: v.end };
          this.matches.push({ kind: "owner", terms: [{ key, negate: neg, value: this.atom(v), pos: { start: opt.start, end: v.end } }], pos: { start: opt.start, end: v.end } });
          this.extras.push(`owner ${o === "--uid-owner" ? "UID" : "GID"} match ${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--path": {
          // xt_cgroup (revisions 1, 2): the socket's cgroup is the path or below it; no socket: no match
          this.requireModule(opt, "cgroup");
          if (this.cgroupPos) this.fail(opt, "xt_cgroup takes one --path per match");
          const v = this.arg("a cgroup path", opt);
          const neg = this.consumeNegation();
          this.cgroupPos = { start: opt.start, end: v.end };
          this.matches.push({ kind: "owner", terms: [{ key: "cgroup", negate: neg, value: this.atom(v), pos: { start: opt.start, end: v.end } }], needsOwner: true, pos: { start: opt.start, end: v.end } });
          this.extras.push(`cgroup ${neg ? "! " : ""}${v.text}`);
          break;
        }
        case "--cgroup": {
          this.requireModule(opt, "cgroup");
          this.fail(opt, "--cgroup matches a net_cls classid, which the NIC's connection table does not hold: match the cgroup by --path");
          break;
        }
        case "--length": {
          this.requireModule(opt, "length");
          const v = this.arg("a length or range", opt);
          const neg = this.consumeNegation();
          this.field("meta", "length", this.portValue(v, 65535), opt, neg);
          this.extras.push(`length ${neg ? "!" : ""}${v.text}`);
          break;
        }
        case "--ttl-eq":
        case "--ttl-lt":
        case "--ttl-gt": {
          this.requireModule(opt, "ttl");
          const v = this.arg("a TTL", opt);
          const neg = this.consumeNegation();
          if (neg && o !== "--ttl-eq") this.fail(opt, `'! ${o}' is not valid (iptables negates only --ttl-eq)`);
          const op = o === "--ttl-eq" ? (neg ? "!=" : "==") : o === "--ttl-lt" ? "<" : ">";
          this.matches.push({ kind: "field", subject: "ip", field: "ttl", op, value: this.atom(v), pos: { start: opt.start, end: v.end }, subjectPos: { start: opt.start, end: opt.end } });
          this.extras.push(`TTL match TTL ${o === "--ttl-eq" ? (neg ? "!=" : "==") : o === "--ttl-lt" ? "<" : ">"} ${v.text}`);
          break;
        }
        case "--src-range":
        case "--dst-range": {
          this.requireModule(opt, "iprange");
          const v = this.arg("an address range", opt);
          const neg = this.consumeNegation();
          const dash = v.text.indexOf("-");
          if (dash < 0) this.fail(v, "expected FROM-TO");
          const value: ValueNode = { kind: "range", lo: this.atom(v, v.text.slice(0, dash)), hi: this.atom(v, v.text.slice(dash + 1), dash + 1), pos: { start: v.start, end: v.end } };
          this.field("ip", o === "--src-range" ? "saddr" : "daddr", value, opt, neg);
          this.extras.push(`${o === "--src-range" ? "source" : "destination"} IP range ${neg ? "! " : ""}${v.text}`);
          break;
        }
        case "--mac-source": {
          this.requireModule(opt, "mac");
          const v = this.arg("a MAC address", opt);
          const neg = this.consumeNegation();
          this.field("ether", "saddr", this.atom(v), opt, neg);
          this.extras.push(`MAC ${neg ? "! " : ""}${v.text.toUpperCase()}`);
          break;
        }
        case "--mark": {
          this.requireModule(opt, "mark");
          const v = this.arg("a mark", opt);
          const neg = this.consumeNegation();
          if (v.text.includes("/")) this.fail(v, "mark masks are not supported; give the whole mark value");
          this.field("meta", "mark", this.atom(v), opt, neg);
          this.extras.push(`mark match ${neg ? "! " : ""}${v.text}`);
          break;
        }
        case "--limit": {
          this.requireModule(opt, "limit");
          const v = this.next("a rate such as 10/second", opt);
          const m = /^(\d+)\/(s|sec|second|m|min|minute|h|hour|d|day)$/.exec(v.text);
          if (!m) this.fail(v, `'${v.text}' is not a rate (expected N/second, N/minute, N/hour or N/day)`);
          const unit = ({ s: "second", sec: "second", second: "second", m: "minute", min: "minute", minute: "minute", h: "hour", hour: "hour", d: "day", day: "day" } as const)[m[2] as "s"];
          const existing = this.matches.find((x) => x.kind === "limit");
          if (existing && existing.kind === "limit") {
            existing.rate = Number(m[1]);
            existing.unit = unit;
          } else this.matches.push({ kind: "limit", rate: Number(m[1]), unit, over: false, pos: { start: opt.start, end: v.end } });
          break;
        }
        case "--limit-burst": {
          this.requireModule(opt, "limit");
          const v = this.next("a burst", opt);
          if (!/^\d+$/.test(v.text) || Number(v.text) < 1) this.fail(v, `'${v.text}' is not a burst size`);
          const existing = this.matches.find((x) => x.kind === "limit");
          if (existing && existing.kind === "limit") existing.burst = Number(v.text);
          else this.matches.push({ kind: "limit", rate: 3, unit: "hour", burst: Number(v.text), over: false, pos: { start: opt.start, end: v.end } });
          break;
        }
        case "--comment": {
          this.requireModule(opt, "comment");
          const v = this.next("a comment", opt);
          this.actions.push({ kind: "comment", text: v.text, pos: { start: opt.start, end: v.end } });
          this.extras.push(`/* ${v.text} */`);
          break;
        }
        case "-j":
        case "--jump":
        case "-g":
        case "--goto": {
          const t = this.next("a target", opt);
          this.target(opt, t, o === "-g" || o === "--goto");
          break;
        }
        case "-c":
        case "--set-counters":
          this.next("a packet count", opt);
          this.next("a byte count", opt);
          break;
        default:
          this.fail(opt, o.startsWith("-") ? `unknown or unsupported option '${o}'` : `unexpected '${o}' (expected an option such as -p, -s or -j)`);
      }
      if (this.negate && toks[this.i - 1]?.text !== "!") {
        // a negation must apply to the option right after it
        this.fail(this.negPos, `'!' does not apply to ${o}`);
      }
    }
    if (this.negate) this.fail(this.negPos, "'!' at the end of the rule negates nothing");
    if (!chain) this.fail(this.toks[0] ?? 0, "expected -A CHAIN");
    const limit = this.matches.find((x) => x.kind === "limit");
    if (limit && limit.kind === "limit") {
      const abbrev = { second: "sec", minute: "min", hour: "hour", day: "day" }[limit.unit];
      this.extras.push(`limit: avg ${limit.rate}/${abbrev} burst ${limit.burst ?? 5}`);
    }
    this.listing.extra = this.extras.join(" ");
    return { chain, rule: { matches: this.matches, actions: this.actions, listing: this.listing } };
  }

  target(opt: Token, t: Token, isGoto: boolean): void {
    const pos = { start: opt.start, end: t.end };
    this.listing.target = t.text;
    const rest = () => {
      const o = this.toks[this.i];
      return o && o.text.startsWith("--") && !["--comment"].includes(o.text) ? o : undefined;
    };
    if (isGoto) {
      this.actions.push({ kind: "goto", target: t.text, targetPos: { start: t.start, end: t.end }, pos });
      this.jumpTarget = t;
      return;
    }
    switch (t.text) {
      case "ACCEPT":
        this.actions.push({ kind: "accept", pos });
        return;
      case "DROP":
        this.actions.push({ kind: "drop", pos });
        return;
      case "RETURN":
        this.actions.push({ kind: "return", pos });
        return;
      case "REJECT": {
        let how: ActionNode & { kind: "reject" } = { kind: "reject", with: { how: "icmp", type: "icmp-port-unreachable", typePos: { start: t.start, end: t.end } }, pos };
        const o = rest();
        if (o?.text === "--reject-with") {
          this.i++;
          const v = this.next("a reject type", o);
          if (v.text === "tcp-reset" || v.text === "tcp-rst") how = { kind: "reject", with: { how: "tcp-reset" }, pos: { start: opt.start, end: v.end } };
          else how = { kind: "reject", with: { how: "icmp", type: v.text, typePos: { start: v.start, end: v.end } }, pos: { start: opt.start, end: v.end } };
          this.extras.push(`reject-with ${v.text === "tcp-rst" ? "tcp-reset" : v.text}`);
        } else this.extras.push("reject-with icmp-port-unreachable");
        this.actions.push(how);
        return;
      }
      case "LOG": {
        let prefix: string | undefined;
        for (let o = rest(); o; o = rest()) {
          this.i++;
          const v = this.next("a value", o);
          if (o.text === "--log-prefix") prefix = v.text;
          else if (o.text !== "--log-level") this.fail(o, `unsupported LOG option '${o.text}'`);
        }
        this.actions.push({ kind: "log", prefix, pos });
        this.extras.push(prefix !== undefined ? `LOG flags 0 level 4 prefix "${prefix}"` : "LOG flags 0 level 4");
        return;
      }
      case "MARK": {
        const o = rest();
        if (!o || !["--set-mark", "--set-xmark"].includes(o.text)) this.fail(t, "MARK needs --set-mark VALUE");
        this.i++;
        const v = this.next("a mark", o);
        const [value, mask] = v.text.split("/");
        if (mask !== undefined && !/^0x[fF]{8}$|^4294967295$/.test(mask)) this.fail(v, "MARK with a partial mask is not supported");
        this.actions.push({ kind: "mark", value: this.atom(v, value!), pos: { start: opt.start, end: v.end } });
        this.extras.push(`MARK set ${value}`);
        return;
      }
      case "NFQUEUE":
      case "QUEUE": {
        let num = "0";
        const o = rest();
        if (o?.text === "--queue-num") {
          this.i++;
          num = this.next("a queue number", o).text;
        }
        this.actions.push({ kind: "queue", queue: { kind: "atom", text: num, pos }, pos });
        this.extras.push(`NFQUEUE num ${num}`);
        return;
      }
      default:
        if (/^[A-Z]+$/.test(t.text) && !["INPUT", "OUTPUT", "FORWARD"].includes(t.text)) this.fail(t, `unsupported target '${t.text}' (kopi handles ACCEPT, DROP, REJECT, RETURN, LOG, MARK, NFQUEUE and user chains)`);
        this.actions.push({ kind: "jump", target: t.text, targetPos: { start: t.start, end: t.end }, pos });
        this.jumpTarget = t;
    }
  }
}

/** Parse iptables-save output. */
export function parseIptablesSave(source: string, file = "<iptables-save>"): PolicyAst {
  const chains = new Map<string, ChainNode>();
  const order: ChainNode[] = [];
  let table: string | undefined;
  let committed = false;
  let sawFilter = false;
  const lines = source.split("\n");
  let offset = 0;
  const ownerRules: { chain: string; pos: Pos }[] = [];
  const cgroupRules: { chain: string; pos: Pos }[] = [];
  const jumps: { from: string; to: string }[] = [];
  for (const rawLine of lines) {
    const lineStart = offset;
    offset += rawLine.length + 1;
    const line = rawLine.replace(/\r$/, "");
    const trimmed = line.trim();
    const lead = line.length - line.trimStart().length;
    const fail = (col: number, msg: string): never => {
      throw errorAt(file, source, lineStart + col, msg);
    };
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (trimmed.startsWith("*")) {
      if (table !== undefined && !committed) fail(lead, `table *${table} has no COMMIT before this table`);
      table = trimmed.slice(1);
      committed = false;
      if (table !== "filter") fail(lead, `kopi enforces the filter table; *${table} cannot be applied (remove it, or save only the filter table with 'iptables-save -t filter')`);
      if (sawFilter) fail(lead, "the filter table appears twice");
      sawFilter = true;
      continue;
    }
    if (table === undefined) fail(lead, "expected a table line such as *filter first");
    if (committed) fail(lead, "text after COMMIT (start a new table with *filter)");
    if (trimmed === "COMMIT") {
      committed = true;
      continue;
    }
    if (trimmed.startsWith(":")) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?\s*$/.exec(trimmed);
      if (!m) fail(lead, "expected ':CHAIN POLICY [packets:bytes]'");
      const name = m![1]!;
      const policy = m![2]!;
      if (chains.has(name)) fail(lead + 1, `chain '${name}' is declared twice`);
      const builtin = name in BUILTIN_HOOKS;
      if (builtin && policy !== "ACCEPT" && policy !== "DROP") fail(lead + 2 + name.length, `policy of built-in chain ${name} must be ACCEPT or DROP, not '${policy}'`);
      if (!builtin && policy !== "-") fail(lead + 2 + name.length, `user chain '${name}' cannot have a policy (iptables writes '-')`);
      if (!builtin && ["PREROUTING", "POSTROUTING"].includes(name)) fail(lead + 1, `${name} is not a chain of the filter table`);
      const namePos = { start: lineStart + lead + 1, end: lineStart + lead + 1 + name.length };
      const chain: ChainNode = { name, namePos, hook: BUILTIN_HOOKS[name], builtin, policy: builtin ? (policy === "DROP" ? "drop" : "accept") : undefined, policyPos: builtin ? namePos : undefined, rules: [], pos: { start: lineStart, end: lineStart + line.length } };
      chains.set(name, chain);
      order.push(chain);
      continue;
    }
    let body = line;
    let bodyStart = lineStart;
    const counters = /^(\s*)\[(\d+):(\d+)\]\s*/.exec(line);
    if (counters) {
      body = line.slice(counters[0].length);
      bodyStart = lineStart + counters[0].length;
    }
    const toks = tokenize(file, source, bodyStart, body);
    if (toks[0]?.text === "-N" || toks[0]?.text === "--new-chain") {
      const name = toks[1];
      if (!name || toks.length > 2) fail(lead, "expected -N CHAIN");
      if (chains.has(name!.text)) throw errorAt(file, source, name!.start, `chain '${name!.text}' already exists`);
      const chain: ChainNode = { name: name!.text, namePos: { start: name!.start, end: name!.end }, rules: [], pos: { start: lineStart, end: lineStart + line.length } };
      chains.set(name!.text, chain);
      order.push(chain);
      continue;
    }
    if (toks[0]?.text !== "-A" && toks[0]?.text !== "--append") {
      throw errorAt(file, source, toks[0]?.start ?? lineStart, `expected -A CHAIN RULE, a ':CHAIN' line or COMMIT (found '${toks[0]?.text ?? ""}')`);
    }
    const p = new RuleParser(file, source, toks);
    const { chain: chainTok, rule } = p.parse();
    const chain = chains.get(chainTok.text);
    if (!chain) throw errorAt(file, source, chainTok.start, `chain '${chainTok.text}' does not exist (declare it with ':${chainTok.text} - [0:0]')`);
    if (p.jumpTarget && !chains.has(p.jumpTarget.text)) throw errorAt(file, source, p.jumpTarget.start, `unknown target or chain '${p.jumpTarget.text}'`);
    if (p.ownerPos) ownerRules.push({ chain: chain.name, pos: p.ownerPos });
    if (p.cgroupPos) cgroupRules.push({ chain: chain.name, pos: p.cgroupPos });
    if (p.jumpTarget) jumps.push({ from: chain.name, to: p.jumpTarget.text });
    const specStart = toks[2]?.start ?? chainTok.end;
    const text = source.slice(specStart, lineStart + line.length).trim();
    chain.rules.push({ ...rule, pos: { start: toks[0].start, end: lineStart + line.length }, text });
  }
  if (table === undefined) throw errorAt(file, source, 0, "no *filter table in the input");
  if (!committed) throw errorAt(file, source, source.length, "the table has no COMMIT line (iptables-restore applies nothing without it)");
  const reachedFrom = (hooks: string[]): Set<string> => {
    const reach = new Set<string>(hooks);
    for (let changed = true; changed; ) {
      changed = false;
      for (const j of jumps) if (reach.has(j.from) && !reach.has(j.to)) changed = reach.add(j.to) !== undefined;
    }
    return reach;
  };
  // the kernel knows no owner for packets it receives: iptables refuses owner matches reachable from INPUT
  const reach = reachedFrom(["INPUT", "FORWARD"]);
  for (const o of ownerRules) {
    if (reach.has(o.chain)) throw errorAt(file, source, o.pos.start, `the owner match is only valid in OUTPUT (chain '${o.chain}' is reached from INPUT or FORWARD, where Linux cannot know a packet's owner); write the policy in .kopi to match owners in both directions`);
  }
  // xt_cgroup runs in INPUT (an early-demuxed socket), OUTPUT and POSTROUTING, not in FORWARD
  const forwarded = reachedFrom(["FORWARD"]);
  for (const o of cgroupRules) {
    if (forwarded.has(o.chain)) throw errorAt(file, source, o.pos.start, `the cgroup match is only valid in INPUT and OUTPUT (chain '${o.chain}' is reached from FORWARD, where a packet has no local socket)`);
  }
  return { file, source, format: "iptables-save", sets: [], chains: order };
}
