/**
 * `.kopi` text → PolicyAst. A small hand-written scanner walks the outline (`table NAME { set …{…} chain …{…} }`)
 * and cuts each chain and set body into statements at `;` and line ends outside braces; each statement is then
 * matched with the ohm grammar on its own. Offsets are kept; line and column are computed only for a message.
 */
import type * as ohm from "ohm-js";
import { errorAt, SourceError } from "../../overlay-isa/index.js";
import type { ActionNode, ChainNode, CmpOp, Hook, MatchNode, OwnerTermNode, PolicyAst, Pos, RejectWith, RuleNode, SetNode, ValueNode } from "./ast.js";
import { kopiGrammar } from "./grammar.js";
import { BlockScanner } from "./block-scanner.js";
import { ShapeCache } from "./shape-cache.js";

type AtomNode = ValueNode & { kind: "atom" };

/** Offset of the statement being matched within the whole file; ohm positions are relative to the statement. */
let base = 0;

function posOf(node: ohm.Node): Pos {
  return { start: base + node.source.startIdx, end: base + node.source.endIdx };
}

function optional<T>(node: ohm.Node, f: (n: ohm.Node) => T): T | undefined {
  return node.children.length > 0 ? f(node.children[0]!) : undefined;
}

function unquote(text: string): string {
  return text.slice(1, -1);
}

let semantics: ohm.Semantics | undefined;

function kopiSemantics(): ohm.Semantics {
  if (semantics) return semantics;
  const s = kopiGrammar().createSemantics();
  s.addOperation<unknown>("ast", {
    PolicyStmt(_kw, verdict) {
      return { kind: "policy", verdict: verdict.sourceString, pos: posOf(verdict) };
    },
    HookStmt(_type, _family, _hook, hookName, _prio) {
      return { kind: "hook", hook: hookName.sourceString, pos: posOf(hookName) };
    },
    SetType(_kw, name) {
      return { kind: "type", type: name.sourceString, pos: posOf(name) };
    },
    SetFlags(_kw, list) {
      return { kind: "flags", flags: list.asIteration().children.map((c) => ({ flag: c.sourceString, pos: posOf(c) })) };
    },
    SetElements(_kw, _eq, _open, list, _comma, _close) {
      return { kind: "elements", elements: list.asIteration().children.map((c) => c.ast()) };
    },
    Rule(items) {
      const matches: MatchNode[] = [];
      const actions: ActionNode[] = [];
      for (const item of items.children) {
        const node = item.ast() as { isAction?: boolean; node: MatchNode | ActionNode };
        if (node.isAction) actions.push(node.node as ActionNode);
        else matches.push(node.node as MatchNode);
      }
      return { kind: "rule", matches, actions, pos: posOf(this) };
    },
    RuleItem(inner) {
      const isAction = inner.ctorName === "Action";
      return { isAction, node: inner.ast() };
    },
    FieldMatch(subject, field, expr) {
      const e = expr.ast() as { op: CmpOp; value: ValueNode };
      return { kind: "field", subject: subject.sourceString, field: field.sourceString, op: e.op, value: e.value, pos: posOf(this), subjectPos: posOf(subject) };
    },
    BarePort(word, expr) {
      const e = expr.ast() as { op: CmpOp; value: ValueNode };
      return { kind: "field", subject: "", field: word.sourceString, op: e.op, value: e.value, pos: posOf(this), subjectPos: posOf(word) };
    },
    TcpFlags(_tcp, _flags, neg, value, mask) {
      return { kind: "tcpflags", flags: value.ast(), mask: optional(mask, (m) => m.children[1]!.ast()), negate: neg.children.length > 0, pos: posOf(this) };
    },
    FlagsValue(v) {
      return v.ast();
    },
    Owner(_kw, terms) {
      return { kind: "owner", terms: terms.children.map((t) => t.ast()), pos: posOf(this) };
    },
    OwnerTerm(not, key, expr): OwnerTermNode {
      const e = expr.ast() as { op: CmpOp; value: ValueNode };
      return { key: key.sourceString as OwnerTermNode["key"], negate: not.children.length > 0 !== (e.op === "!="), value: e.value, pos: posOf(this) };
    },
    Limit(_limit, _rate, over, rate, _slash, unit, burst) {
      return {
        kind: "limit",
        rate: Number(rate.sourceString),
        unit: unit.sourceString,
        burst: optional(burst, (b) => Number(b.children[1]!.sourceString)),
        over: over.children.length > 0,
        pos: posOf(this),
      };
    },
    Expr(op, value) {
      return { op: (optional(op, (o) => o.sourceString) ?? "==") as CmpOp, value: value.ast() };
    },
    Value(v) {
      return v.ast();
    },
    SetRef(_at, name): ValueNode {
      return { kind: "setref", name: name.sourceString, pos: posOf(this) };
    },
    BracedList(_open, list, _comma, _close): ValueNode {
      return { kind: "list", items: list.asIteration().children.map((c) => c.ast()), braced: true, pos: posOf(this) };
    },
    BareList(list): ValueNode {
      const items = list.asIteration().children.map((c) => c.ast() as ValueNode);
      return items.length === 1 ? items[0]! : { kind: "list", items, braced: false, pos: posOf(this) };
    },
    Element(e) {
      return e.ast();
    },
    range(lo, _dash, hi): ValueNode {
      return { kind: "range", lo: lo.ast() as AtomNode, hi: hi.ast() as AtomNode, pos: posOf(this) };
    },
    prefix(addr, _slash, len): ValueNode {
      return { kind: "prefix", addr: addr.ast() as AtomNode, len: len.sourceString, lenPos: posOf(len), pos: posOf(this) };
    },
    scalar(_inner): ValueNode {
      return { kind: "atom", text: this.sourceString, pos: posOf(this) };
    },
    Action_accept(_kw): ActionNode {
      return { kind: "accept", pos: posOf(this) };
    },
    Action_drop(_kw): ActionNode {
      return { kind: "drop", pos: posOf(this) };
    },
    Action_mirror(_kw): ActionNode {
      return { kind: "mirror", pos: posOf(this) };
    },
    Action_return(_kw): ActionNode {
      return { kind: "return", pos: posOf(this) };
    },
    Reject(_kw, how): ActionNode {
      const w = optional(how, (h) => h.children[1]!.ast() as RejectWith) ?? { how: "default" };
      return { kind: "reject", with: w, pos: posOf(this) };
    },
    RejectHow_tcpreset(_kw): RejectWith {
      return { how: "tcp-reset" };
    },
    RejectHow_tcpreset2(_tcp, _reset): RejectWith {
      return { how: "tcp-reset" };
    },
    RejectHow_icmp6(_kw, _type, name): RejectWith {
      return { how: "icmpv6", type: name.sourceString, typePos: posOf(name) };
    },
    RejectHow_icmp(_kw, _type, name): RejectWith {
      return { how: "icmp", type: name.sourceString, typePos: posOf(name) };
    },
    Counter(_kw, _init): ActionNode {
      return { kind: "counter", pos: posOf(this) };
    },
    Log(_kw, prefix): ActionNode {
      return { kind: "log", prefix: optional(prefix, (p) => unquote(p.children[1]!.sourceString)), pos: posOf(this) };
    },
    MarkSet(_meta, _mark, _set, value): ActionNode {
      return { kind: "mark", value: value.ast(), pos: posOf(this) };
    },
    Queue(_kw, _num, value): ActionNode {
      return { kind: "queue", queue: value.ast(), pos: posOf(this) };
    },
    Jump(_kw, name): ActionNode {
      return { kind: "jump", target: name.sourceString, targetPos: posOf(name), pos: posOf(this) };
    },
    Goto(_kw, name): ActionNode {
      return { kind: "goto", target: name.sourceString, targetPos: posOf(name), pos: posOf(this) };
    },
    Comment(_kw, text): ActionNode {
      return { kind: "comment", text: unquote(text.sourceString), pos: posOf(this) };
    },
  });
  semantics = s;
  return s;
}

/** ohm lists every keyword an alternative could start with; say it in words instead. */
function friendlier(detail: string): string {
  if (!detail.includes('"accept"') || !detail.includes('"drop"')) return detail;
  const end = detail.includes("end of input") ? ", or the end of the rule" : "";
  return `expected a match (such as 'tcp dport 22' or 'ip saddr 10.0.0.0/8') or an action (accept, drop, reject, counter, log, mark set, queue, mirror, jump, goto, return, comment)${end}`;
}

/** Match one statement; a syntax error becomes a SourceError at the failure position in the whole file. */
export function matchStatement(file: string, source: string, start: number, end: number, rule: "ChainStatement" | "SetStatement", cache?: ShapeCache): unknown {
  const text = source.slice(start, end);
  if (cache) return cache.parse(text, start, () => matchStatement(file, source, start, end, rule));
  const m = kopiGrammar().match(text, rule);
  if (m.failed()) {
    const at = start + m.getRightmostFailurePosition();
    const detail = friendlier(m.shortMessage?.replace(/^Line \d+, col \d+: /, "") ?? "syntax error");
    throw errorAt(file, source, at, detail);
  }
  base = start;
  return kopiSemantics()(m).ast();
}

// ---------------------------------------------------------------------------------------------------------
// the outline scanner

class Outline extends BlockScanner {
  constructor(file: string, src: string, useShapes = true) {
    super(file, src);
    this.shapes = useShapes ? new ShapeCache() : undefined;
  }

  /** parse trees of rule statements by shape (see shape-cache.ts) */
  readonly shapes: ShapeCache | undefined;

  word(): { text: string; pos: Pos } | undefined {
    this.skip();
    const m = /[A-Za-z_][\w.-]*/y;
    m.lastIndex = this.i;
    const r = m.exec(this.src);
    if (!r) return undefined;
    const pos = { start: this.i, end: this.i + r[0].length };
    this.i = pos.end;
    return { text: r[0], pos };
  }

  expectWord(what: string): { text: string; pos: Pos } {
    const w = this.word();
    if (!w) this.fail(this.i, `expected ${what}`);
    return w;
  }

  expectChar(ch: string, what: string): number {
    this.skip();
    if (this.src[this.i] !== ch) this.fail(this.i, `expected ${what}`);
    return this.i++;
  }
}

interface StatementResult {
  kind: string;
  [k: string]: unknown;
}

const HOOK_NAMES: Record<string, Hook> = { ingress: "ingress", egress: "egress", input: "ingress", output: "egress" };

/** Parse a `.kopi` text. Throws SourceError on the first error. */
export function parseKopi(source: string, file = "<policy>", opts: { shapeCache?: boolean } = {}): PolicyAst {
  const o = new Outline(file, source, opts.shapeCache !== false);
  const sets: SetNode[] = [];
  const chains: ChainNode[] = [];
  o.skip();
  if (o.i >= source.length) o.fail(0, "the policy is empty: expected 'table NAME { … }'");
  while ((o.skip(), o.i < source.length)) {
    const kw = o.word();
    if (!kw || kw.text !== "table") o.fail(kw?.pos.start ?? o.i, "expected 'table NAME { … }'");
    let name = o.expectWord("a table name");
    if (["inet", "ip", "ip6", "netdev"].includes(name.text)) {
      o.skip();
      if (source[o.i] !== "{") name = o.expectWord("a table name");
    }
    if (name.text !== "filter") o.fail(name.pos.start, `unknown table '${name.text}': kopi policies live in 'table filter'`);
    o.expectChar("{", "'{' after the table name");
    for (;;) {
      o.skip();
      if (o.i >= source.length) o.fail(o.i, "expected '}' to close the table");
      if (source[o.i] === "}") {
        o.i++;
        break;
      }
      const item = o.expectWord("'set' or 'chain'");
      if (item.text === "set") sets.push(parseSet(o, item.pos.start));
      else if (item.text === "chain") chains.push(parseChain(o, item.pos.start));
      else o.fail(item.pos.start, `expected 'set' or 'chain', found '${item.text}'`);
    }
  }
  return { file, source, format: "kopi", sets, chains };
}

function parseSet(o: Outline, start: number): SetNode {
  const name = o.expectWord("a set name");
  const open = o.expectChar("{", "'{' after the set name");
  const set: SetNode = { name: name.text, namePos: name.pos, type: "", typePos: name.pos, interval: false, elements: [], pos: { start, end: start } };
  let typed = false;
  for (const [a, b] of o.statements(open)) {
    const st = matchStatement(o.file, o.src, a, b, "SetStatement") as StatementResult;
    if (st.kind === "type") {
      set.type = st.type as string;
      set.typePos = st.pos as Pos;
      typed = true;
    } else if (st.kind === "flags") {
      for (const f of st.flags as { flag: string; pos: Pos }[]) {
        if (f.flag === "interval") set.interval = true;
        else if (f.flag !== "constant") o.fail(f.pos.start, `unknown set flag '${f.flag}' (kopi knows interval and constant)`);
      }
    } else set.elements.push(...(st.elements as ValueNode[]));
  }
  if (!typed) o.fail(name.pos.start, `set '${name.text}' has no type (add 'type ipv4_addr;' or another set type)`);
  set.pos.end = o.i;
  return set;
}

function parseChain(o: Outline, start: number): ChainNode {
  const name = o.expectWord("a chain name");
  const open = o.expectChar("{", "'{' after the chain name");
  const chain: ChainNode = { name: name.text, namePos: name.pos, hook: HOOK_NAMES[name.text] && (name.text === "ingress" || name.text === "egress") ? HOOK_NAMES[name.text] : undefined, rules: [], pos: { start, end: start } };
  for (const [a, b] of o.statements(open)) {
    const st = matchStatement(o.file, o.src, a, b, "ChainStatement", o.shapes) as StatementResult;
    if (st.kind === "policy") {
      chain.policy = st.verdict as "accept" | "drop";
      chain.policyPos = st.pos as Pos;
    } else if (st.kind === "hook") {
      const hook = HOOK_NAMES[st.hook as string];
      if (!hook) o.fail((st.pos as Pos).start, `unknown hook '${st.hook as string}' (kopi hooks: ingress, egress)`);
      chain.hook = hook;
    } else {
      const rule = st as unknown as RuleNode & { kind: string };
      chain.rules.push({ matches: rule.matches, actions: rule.actions, pos: rule.pos, text: o.src.slice(a, b).replace(/\s+#.*$/, "").trim() });
    }
  }
  chain.pos.end = o.i;
  return chain;
}

export { SourceError };
