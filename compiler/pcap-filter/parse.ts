/**
 * Parses a pcap-filter expression into the syntax tree of ast.ts: scanner (lexer.ts), the ohm grammar over its
 * tokens (grammar.ts), and semantics that build the tree. Syntax errors become SourceErrors positioned at the
 * offending token, worded for the context (`expected a port number or service name after 'port', found 'and'`).
 */
import type { Node, TerminalNode, IterationNode } from "ohm-js";
import { SourceError } from "../../overlay-isa/index.js";
import type { Arith, ArithOp, Dir, Expr, Id, Other, Proto, Qual, Relop, Span } from "./ast.js";
import { pcapFilterGrammar } from "./grammar.js";
import { scan, type Token } from "./lexer.js";
import { filterError } from "./errors.js";

/** Tokens of the expression being parsed (the semantics run synchronously, one parse at a time). */
interface ParseContext {
  tokens: Token[];
  /** token index by the synthetic offset where it starts */
  byStart: Map<number, number>;
  /** token index by the synthetic offset where it ends */
  byEnd: Map<number, number>;
  text: string;
}
let current: ParseContext = { tokens: [], byStart: new Map(), byEnd: new Map(), text: "" };

function tokenAt(node: Node): Token {
  const i = current.byStart.get(node.source.startIdx);
  if (i === undefined) throw new Error(`internal: no token at synthetic offset ${node.source.startIdx}`);
  return current.tokens[i]!;
}

/** Character span in the expression of everything a node matched. */
function spanOf(node: Node): Span {
  const first = current.byStart.get(node.source.startIdx);
  const last = current.byEnd.get(node.source.endIdx);
  if (first === undefined || last === undefined || node.source.endIdx === node.source.startIdx) {
    const at = first !== undefined ? current.tokens[first]!.start : current.text.length;
    return { start: at, end: at };
  }
  return { start: current.tokens[first]!.start, end: current.tokens[last]!.end };
}

function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

function kindOf(node: Node): string {
  return tokenAt(node).kind;
}

const PRECEDENCE: Partial<Record<ArithOp, number>> = { "|": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5 };
const UMINUS = 6;
const BINOPS: Readonly<Record<string, ArithOp>> = {
  PLUS: "+", MINUS: "-", STAR: "*", SLASH: "/", PERCENT: "%", AMP: "&", PIPE: "|", CARET: "^", LSH: "<<", RSH: ">>",
};
const RELOPS: Readonly<Record<string, Relop>> = { GT: ">", GEQ: ">=", EQ: "=", LEQ: "<=", LT: "<", NEQ: "!=" };

/**
 * Resolve a flat `operand (op operand)*` list the way yacc resolves libpcap's arithmetic: %left levels
 * | < & < << >> < + - < * /, unary minus above all, and `%`/`^` (declared without precedence) always shifting,
 * so they take everything to their right as the right operand.
 */
function resolveArith(operands: { negs: Span[]; primary: Arith }[], ops: ArithOp[]): Arith {
  type Op = { t: "neg"; span: Span } | { t: "bin"; op: ArithOp };
  const values: Arith[] = [];
  const stack: Op[] = [];
  const reduceTop = () => {
    const op = stack.pop()!;
    if (op.t === "neg") {
      const operand = values.pop()!;
      values.push({ k: "neg", operand, span: join(op.span, operand.span) });
    } else {
      const right = values.pop()!;
      const left = values.pop()!;
      values.push({ k: "bin", op: op.op, left, right, span: join(left.span, right.span) });
    }
  };
  operands.forEach((operand, i) => {
    if (i > 0) {
      const incoming = ops[i - 1]!;
      const pIn = PRECEDENCE[incoming];
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const pTop = top.t === "neg" ? UMINUS : PRECEDENCE[top.op];
        if (pTop === undefined || pIn === undefined || pTop < pIn) break; // shift
        reduceTop();
      }
      stack.push({ t: "bin", op: incoming });
    }
    for (const span of operand.negs) stack.push({ t: "neg", span });
    values.push(operand.primary);
  });
  while (stack.length > 0) reduceTop();
  return values[0]!;
}

function dqualOf(dqual: Node): Dir {
  const inner = dqual.children[0]!;
  switch (inner.ctorName) {
    case "Dqual_srcOrDst":
    case "Dqual_dstOrSrc":
      return "OR";
    case "Dqual_srcAndDst":
    case "Dqual_dstAndSrc":
      return "AND";
    default:
      return kindOf(inner) as Dir;
  }
}

function optionalPname(node: Node): Proto | "default" {
  const it = node as IterationNode;
  return it.children.length > 0 ? (kindOf(it.children[0]!) as Proto) : "default";
}

const semantics = pcapFilterGrammar.createSemantics();

semantics.addOperation<unknown>("tree", {
  Prog(expr: IterationNode) {
    return expr.children.length > 0 ? expr.children[0]!["tree"]() : undefined;
  },
  Expr_andTerm(l: Node, _op: Node, r: Node): Expr {
    return { k: "and", left: l["tree"](), right: r["tree"](), span: spanOf(this as unknown as Node) };
  },
  Expr_andId(l: Node, _op: Node, r: Node): Expr {
    return { k: "and", left: l["tree"](), right: { k: "id", id: r["tree"]() }, span: spanOf(this as unknown as Node) };
  },
  Expr_orTerm(l: Node, _op: Node, r: Node): Expr {
    return { k: "or", left: l["tree"](), right: r["tree"](), span: spanOf(this as unknown as Node) };
  },
  Expr_orId(l: Node, _op: Node, r: Node): Expr {
    return { k: "or", left: l["tree"](), right: { k: "id", id: r["tree"]() }, span: spanOf(this as unknown as Node) };
  },
  Id_paren(_l: Node, pid: Node, _r: Node): Id {
    const inner = pid["tree"]() as Id;
    return inner.k === "idList" ? { ...inner, span: spanOf(this as unknown as Node) } : inner;
  },
  Nid_hidLen(h: Node, _s: Node, n: Node): Id {
    return { k: "hidLen", text: tokenAt(h).text, len: tokenAt(n).num!, span: spanOf(this as unknown as Node), lenSpan: spanOf(n) };
  },
  Nid_hidMask(h: Node, _m: Node, m: Node): Id {
    return { k: "hidMask", text: tokenAt(h).text, mask: tokenAt(m).text, span: spanOf(this as unknown as Node), maskSpan: spanOf(m) };
  },
  Nid_hid(h: Node): Id {
    return { k: "hid", text: tokenAt(h).text, span: spanOf(h) };
  },
  Nid_hid6Len(h: Node, _s: Node, n: Node): Id {
    return { k: "hid6Len", text: tokenAt(h).text, len: tokenAt(n).num!, span: spanOf(this as unknown as Node), lenSpan: spanOf(n) };
  },
  Nid_hid6(h: Node): Id {
    return { k: "hid6", text: tokenAt(h).text, span: spanOf(h) };
  },
  Nid_name(t: Node): Id {
    return { k: "name", text: tokenAt(t).text, span: spanOf(t) };
  },
  Nid_eid(t: Node): Id {
    return { k: "eid", text: tokenAt(t).text, span: spanOf(t) };
  },
  Nid_aid(t: Node): Id {
    return { k: "aid", text: tokenAt(t).text, span: spanOf(t) };
  },
  Nid_not(_b: Node, id: Node): Id {
    return { k: "notId", operand: id["tree"](), span: spanOf(this as unknown as Node) };
  },
  Pid_and(pid: Node, _op: Node, id: Node): Id {
    return appendId(pid["tree"](), "and", id["tree"](), spanOf(this as unknown as Node));
  },
  Pid_or(pid: Node, _op: Node, id: Node): Id {
    return appendId(pid["tree"](), "or", id["tree"](), spanOf(this as unknown as Node));
  },
  Pid_pnumAnd(pnum: Node, _op: Node, id: Node): Id {
    return { k: "idList", first: pnumId(pnum), rest: [{ op: "and", id: id["tree"]() }], span: spanOf(this as unknown as Node) };
  },
  Pid_pnumOr(pnum: Node, _op: Node, id: Node): Id {
    return { k: "idList", first: pnumId(pnum), rest: [{ op: "or", id: id["tree"]() }], span: spanOf(this as unknown as Node) };
  },
  Pnum_num(n: Node): Id {
    return { k: "num", value: tokenAt(n).num!, span: spanOf(n) };
  },
  Pnum_paren(_l: Node, p: Node, _r: Node): Id {
    const inner = p["tree"]() as Extract<Id, { k: "num" }>;
    return { ...inner, span: spanOf(this as unknown as Node) };
  },
  Term_not(_b: Node, t: Node): Expr {
    return { k: "not", operand: t["tree"](), span: spanOf(this as unknown as Node) };
  },
  Rterm_head(head: Node, id: Node): Expr {
    return { k: "head", qual: head["tree"](), id: id["tree"](), span: spanOf(this as unknown as Node) };
  },
  Rterm_rel(l: Node, op: Node, r: Node): Expr {
    return { k: "rel", op: RELOPS[kindOf(op)]!, left: l["tree"](), right: r["tree"](), span: spanOf(this as unknown as Node) };
  },
  Rterm_paren(_l: Node, e: Node, _r: Node): Expr {
    return { k: "paren", inner: e["tree"](), span: spanOf(this as unknown as Node) };
  },
  Rterm_pname(p: Node): Expr {
    return { k: "pname", proto: kindOf(p) as Proto, span: spanOf(p) };
  },
  Rterm(alt: Node): Expr {
    if (alt.ctorName === "Other") return { k: "other", other: alt["tree"](), span: spanOf(alt) };
    return alt["tree"]();
  },
  Head_dqualAqual(p: Node, d: Node, a: Node): Qual {
    return { proto: optionalPname(p), dir: dqualOf(d), addr: kindOf(a) as Qual["addr"] };
  },
  Head_dqual(p: Node, d: Node): Qual {
    return { proto: optionalPname(p), dir: dqualOf(d), addr: "default" };
  },
  Head_aqual(p: Node, a: Node): Qual {
    return { proto: optionalPname(p), dir: "default", addr: kindOf(a) as Qual["addr"] };
  },
  Head_proto(p: Node, _t: Node): Qual {
    return { proto: optionalPname(p), dir: "default", addr: "PROTO" };
  },
  Head_protochain(p: Node, _t: Node): Qual {
    return { proto: optionalPname(p), dir: "default", addr: "PROTOCHAIN" };
  },
  Head_gateway(p: Node, _t: Node): Qual {
    return { proto: optionalPname(p), dir: "default", addr: "GATEWAY" };
  },
  Arth(first: Node, ops: IterationNode, rest: IterationNode): Arith {
    const operands = [first["tree"](), ...rest.children.map((c) => c["tree"]())] as { negs: Span[]; primary: Arith }[];
    return resolveArith(operands, ops.children.map((o) => BINOPS[kindOf(o)]!));
  },
  ArthOperand(negs: IterationNode, primary: Node) {
    return { negs: negs.children.map(spanOf), primary: primary["tree"]() };
  },
  ArthPrimary_loadSized(p: Node, _l: Node, index: Node, _c: Node, size: Node, _r: Node): Arith {
    return { k: "load", proto: kindOf(p) as Proto, index: index["tree"](), size: tokenAt(size).num!, sizeSpan: spanOf(size), span: spanOf(this as unknown as Node) };
  },
  ArthPrimary_load(p: Node, _l: Node, index: Node, _r: Node): Arith {
    return { k: "load", proto: kindOf(p) as Proto, index: index["tree"](), size: 1, span: spanOf(this as unknown as Node) };
  },
  ArthPrimary_len(t: Node): Arith {
    return { k: "len", span: spanOf(t) };
  },
  ArthPrimary_pnum(p: Node): Arith {
    const n = p["tree"]() as Extract<Id, { k: "num" }>;
    return { k: "num", value: n.value, span: n.span };
  },
  ArthPrimary_paren(_l: Node, a: Node, _r: Node): Arith {
    return a["tree"]();
  },
  Other_broadcast(p: Node, _t: Node): Other {
    return { k: "broadcast", proto: optionalPname(p), span: spanOf(this as unknown as Node) };
  },
  Other_multicast(p: Node, _t: Node): Other {
    return { k: "multicast", proto: optionalPname(p), span: spanOf(this as unknown as Node) };
  },
  Other_less(_t: Node, n: Node): Other {
    return { k: "less", value: tokenAt(n).num!, span: spanOf(this as unknown as Node) };
  },
  Other_greater(_t: Node, n: Node): Other {
    return { k: "greater", value: tokenAt(n).num!, span: spanOf(this as unknown as Node) };
  },
  Other_byte(_t: Node, idx: Node, op: Node, val: Node): Other {
    const sym = ({ AMP: "&", PIPE: "|", LT: "<", GT: ">", EQ: "=" } as const)[kindOf(op) as "AMP"]!;
    return { k: "byte", index: tokenAt(idx).num!, op: sym, value: tokenAt(val).num!, span: spanOf(this as unknown as Node) };
  },
  Other_inbound(_t: Node): Other {
    return { k: "inbound", span: spanOf(this as unknown as Node) };
  },
  Other_outbound(_t: Node): Other {
    return { k: "outbound", span: spanOf(this as unknown as Node) };
  },
  Other_ifindex(_t: Node, n: Node): Other {
    return { k: "ifindex", value: tokenAt(n).num!, span: spanOf(this as unknown as Node) };
  },
  Other_vlanNum: (t: Node, n: Node) => numbered("vlan", t, n),
  Other_vlan: (t: Node) => ({ k: "vlan", span: spanOf(t) }),
  Other_mplsNum: (t: Node, n: Node) => numbered("mpls", t, n),
  Other_mpls: (t: Node) => ({ k: "mpls", span: spanOf(t) }),
  Other_pppoed: (t: Node) => ({ k: "pppoed", span: spanOf(t) }),
  Other_pppoesNum: (t: Node, n: Node) => numbered("pppoes", t, n),
  Other_pppoes: (t: Node) => ({ k: "pppoes", span: spanOf(t) }),
  Other_geneveNum: (t: Node, n: Node) => numbered("geneve", t, n),
  Other_geneve: (t: Node) => ({ k: "geneve", span: spanOf(t) }),
  Other_pf(p: Node): Other {
    return { k: "pf", what: tokenAt(p).text, span: spanOf(p) };
  },
  Other_p80211(_p: Node, v: Node): Other {
    return { k: "p80211", what: v.children[0]!.ctorName === "P80211_dir" ? "dir" : "type", span: spanOf(this as unknown as Node) };
  },
  Other_llcName(_t: Node, n: Node): Other {
    return { k: "llc", sub: tokenAt(n).text, span: spanOf(this as unknown as Node) };
  },
  Other_llcRnr(_t: Node, _n: Node): Other {
    return { k: "llc", sub: "rnr", span: spanOf(this as unknown as Node) };
  },
  Other_llc(t: Node): Other {
    return { k: "llc", span: spanOf(t) };
  },
  Other_atmType: (t: Node) => ({ k: "atm", what: tokenAt(t).text, span: spanOf(t) }),
  Other_atmMultiType: (t: Node) => ({ k: "atm", what: tokenAt(t).text, span: spanOf(t) }),
  Other_atmField: (t: Node, _v: Node) => ({ k: "atm", what: tokenAt(t).text, span: spanOf(t) }),
  Other_mtp2Type: (t: Node) => ({ k: "mtp", what: tokenAt(t).text, span: spanOf(t) }),
  Other_mtp3Field: (t: Node, _v: Node) => ({ k: "mtp", what: tokenAt(t).text, span: spanOf(t) }),
  _terminal(this: TerminalNode) {
    return this.sourceString;
  },
});

function numbered(k: "vlan" | "mpls" | "pppoes" | "geneve", t: Node, n: Node): Other {
  const num = n["tree"]() as Extract<Id, { k: "num" }>;
  return { k, value: num.value, valueSpan: num.span, span: join(spanOf(t), num.span) };
}

function pnumId(node: Node): Id {
  return node["tree"]() as Id;
}

function appendId(list: Id, op: "and" | "or", id: Id, span: Span): Id {
  if (list.k === "idList") return { ...list, rest: [...list.rest, { op, id }], span };
  return { k: "idList", first: list, rest: [{ op, id }], span };
}

/** What a token kind is, in words, for error messages. */
function describe(t: Token | undefined): string {
  if (!t) return "the end of the expression";
  return `'${t.text}'`;
}

/** The expectation implied by the token before the error, when it narrows things down. */
function expectationAfter(prev: Token | undefined): string | undefined {
  switch (prev?.kind) {
    case "PORT":
      return "a port number or service name";
    case "PORTRANGE":
      return "a port range (like 1-1023) or a port";
    case "HOST":
      return "a host address or name";
    case "NET":
      return "a network address (like 10.0.0.0/8)";
    case "NETMASK":
      return "a netmask (like 255.255.0.0)";
    case "PROTO":
    case "PROTOCHAIN":
      return "a protocol number or name (escape keywords: \\tcp)";
    case "GATEWAY":
      return "a host name";
    case "SRC":
    case "DST":
      return "an address, or 'host', 'net', 'port' or 'portrange'";
    case "LESS":
    case "GREATER":
      return "a length in bytes";
    case "LBRACK":
      return "a byte offset";
    case "COLON":
      return "a field size (1, 2 or 4)";
    case "AND":
    case "OR":
    case "BANG":
    case "LPAREN":
      return "an expression";
    case "GT": case "GEQ": case "EQ": case "LEQ": case "LT": case "NEQ":
    case "PLUS": case "MINUS": case "STAR": case "SLASH": case "PERCENT": case "AMP": case "PIPE": case "CARET":
    case "LSH": case "RSH":
      return "a number or arithmetic expression";
    default:
      return undefined;
  }
}

/** Words for what the grammar would have accepted, from ohm's list of expected tokens. */
function expectationFromGrammar(expectedText: string): string {
  const kinds = new Set([...expectedText.matchAll(/<([A-Z0-9_]+)>/g)].map((m) => m[1]!));
  const parts: string[] = [];
  if (kinds.has("AND") || kinds.has("OR")) parts.push("'and' or 'or'");
  if (kinds.has("GT") || kinds.has("EQ")) parts.push("a comparison (=, !=, <, <=, >, >=)");
  if (kinds.has("RPAREN")) parts.push("')'");
  if (kinds.has("RBRACK")) parts.push("']'");
  if (kinds.has("HID") || kinds.has("ID")) parts.push("an address or name");
  if (kinds.has("HOST") || kinds.has("TCP") || kinds.has("LEN")) parts.push("a filter primitive");
  if (kinds.has("NUM") && parts.length === 0) parts.push("a number");
  return parts.length ? parts.join(" or ") : "a valid filter expression";
}

export interface ParseResult {
  /** undefined for an empty expression (which matches every packet) */
  tree: Expr | undefined;
  tokens: Token[];
}

/** Parse an expression; throws a SourceError (`filter:1:COL: …`) for any syntax error. */
export function parseFilter(expression: string): ParseResult {
  const tokens = scan(expression);
  const byStart = new Map<number, number>();
  const byEnd = new Map<number, number>();
  let synthetic = "";
  tokens.forEach((t, i) => {
    byStart.set(synthetic.length, i);
    synthetic += `<${t.kind}>`;
    byEnd.set(synthetic.length, i);
  });
  const match = pcapFilterGrammar.match(synthetic);
  if (match.failed()) {
    const index = tokenIndexAt(byStart, match.getRightmostFailurePosition(), tokens.length);
    const bad = tokens[index];
    const prev = index > 0 ? tokens[index - 1] : undefined;
    const position = bad ? bad.start : expression.length;
    if (bad?.kind === "BAD") {
      throw filterError(expression, position, bad.error === "syntax error" ? `unexpected character '${bad.text}'` : bad.error!);
    }
    const expectedText = match.getExpectedText();
    // "end of input" alone means a complete expression (or nothing) was read and the rest does not continue it
    const expected =
      expectationAfter(prev) ??
      (expectedText === "end of input" ? (prev ? "'and', 'or' or the end of the expression" : "a filter expression") : expectationFromGrammar(expectedText));
    throw filterError(expression, position, `expected ${expected}${prev ? ` after '${prev.text}'` : ""}, found ${describe(bad)}`);
  }
  current = { tokens, byStart, byEnd, text: expression };
  try {
    return { tree: semantics(match)["tree"]() as Expr | undefined, tokens };
  } finally {
    current = { tokens: [], byStart: new Map(), byEnd: new Map(), text: "" };
  }
}

/** The token at (or the first one after) a synthetic offset; `count` means the end of the expression. */
function tokenIndexAt(byStart: Map<number, number>, offset: number, count: number): number {
  const i = byStart.get(offset);
  if (i !== undefined) return i;
  let best = count;
  for (const [o, idx] of byStart) if (o > offset && idx < best) best = idx;
  return best;
}

export { SourceError };
