/**
 * The `.qos` policy language: tc's qdisc/class/filter model written as kopi policy text, with filters in the
 * kopi match language (the same matches as `.kopi` rules: 5-tuple, sets, marks, owner user/cmd/cgroup).
 *
 *   qos dev nic0 {
 *     set games { type ipv4_addr; elements = { 203.0.113.7, 203.0.113.8 } }
 *     qdisc htb handle 1: root default 30
 *     class 1:1 htb rate 100mbit
 *     class 1:10 parent 1:1 htb rate 60mbit ceil 100mbit prio 0
 *     class 1:30 parent 1:1 htb rate 5mbit ceil 10mbit prio 1
 *     qdisc pfifo parent 1:30 limit 50
 *     filter prio 1 owner cgroup "/user.slice/game.scope" flowid 1:30
 *     filter prio 2 tcp dport 5432 flowid 1:10
 *   }
 *
 * Statements end at a line end or `;` outside braces; `#` starts a comment. Parameters are tc's (same names,
 * same units). Syntax errors point at the word; the matches' errors are the policy language's own.
 */
import type { MatchNode, Pos, RuleNode, SetNode, ValueNode } from "../policy/ast.js";
import { BlockScanner } from "../policy/block-scanner.js";
import { matchStatement } from "../policy/parse.js";
import { words, type QosSource, type QosStatement, type Verb, type Word } from "./statements.js";

class Scanner extends BlockScanner {
  word(): Word | undefined {
    this.skip();
    const m = /[^\s{}#;]+/y;
    m.lastIndex = this.i;
    const r = m.exec(this.src);
    if (!r) return undefined;
    const w = { text: r[0], pos: { start: this.i, end: this.i + r[0].length } };
    this.i = w.pos.end;
    return w;
  }
}

const VERBS = new Set(["add", "replace", "change"]);

/** Parse a `.qos` text. Throws SourceError at the first problem. */
export function parseQos(source: string, file = "<qos>"): QosSource {
  const sc: Scanner = new Scanner(file, source);
  sc.skip();
  if (sc.i >= source.length) sc.fail(0, "the QoS policy is empty: expected 'qos dev NAME { … }'");
  const kw = sc.word();
  if (!kw || kw.text !== "qos") sc.fail(kw?.pos.start ?? sc.i, "expected 'qos [dev NAME] { … }'");
  let dev = "nic0";
  let devPos: Pos | undefined;
  sc.skip();
  if (source[sc.i] !== "{") {
    const d = sc.word();
    if (!d || d.text !== "dev") sc.fail(d?.pos.start ?? sc.i, "expected 'dev NAME' or '{' after 'qos'");
    const name = sc.word();
    if (!name) sc.fail(sc.i, "expected a device name after 'dev'");
    dev = name.text;
    devPos = name.pos;
    sc.skip();
  }
  if (source[sc.i] !== "{") sc.fail(sc.i, "expected '{' to open the qos block");
  const open = sc.i++;
  const statements: QosStatement[] = [];
  const sets: SetNode[] = [];
  for (const [a, b] of sc.statements(open)) {
    const ws = words(source, a, b);
    const head = ws[0]!;
    switch (head.text) {
      case "set":
        sets.push(parseSet(sc, a, b));
        break;
      case "qdisc":
        statements.push(parseQdisc(sc, ws));
        break;
      case "class":
        statements.push(parseClass(sc, ws));
        break;
      case "filter":
        statements.push(parseFilter(sc, ws, a, b));
        break;
      default:
        sc.fail(head.pos.start, `expected 'qdisc', 'class', 'filter' or 'set', found '${head.text}'`);
    }
  }
  sc.skip();
  if (sc.i < source.length) sc.fail(sc.i, "unexpected text after the qos block (one qos block per file: one device)");
  return { file, source, format: "qos", dev, ...(devPos ? { devPos } : {}), statements, sets };
}

/** `qdisc [add|replace|change] KIND [handle H] [root | parent P] PARAMS…` */
function parseQdisc(sc: Scanner, ws: Word[]): QosStatement {
  let k = 1;
  let verb: Verb = "add";
  if (ws[k] && VERBS.has(ws[k]!.text)) verb = ws[k++]!.text as Verb;
  const qdisc = ws[k++];
  if (!qdisc) sc.fail(ws[0]!.pos.end, "expected a qdisc kind (pfifo, bfifo, prio, tbf, htb, drr, sfq, fq_codel)");
  let handle: Word | undefined;
  let parent: Word | undefined;
  const params: Word[] = [];
  while (k < ws.length) {
    const w = ws[k]!;
    if (w.text === "handle" || w.text === "parent") {
      const v = ws[k + 1];
      if (!v) sc.fail(w.pos.end, `expected a ${w.text === "handle" ? "handle such as 1:" : "class id such as 1:10"} after '${w.text}'`);
      if (w.text === "handle") handle = v;
      else parent = v;
      k += 2;
    } else if (w.text === "root") {
      parent = w;
      k++;
    } else params.push(ws[k++]!);
  }
  return { kind: "qdisc", verb, qdisc, ...(handle ? { handle } : {}), ...(parent ? { parent } : {}), params, pos: { start: ws[0]!.pos.start, end: ws[ws.length - 1]!.pos.end } };
}

/** `class [add|replace|change] ID [parent P] KIND PARAMS…` */
function parseClass(sc: Scanner, ws: Word[]): QosStatement {
  let k = 1;
  let verb: Verb = "add";
  if (ws[k] && VERBS.has(ws[k]!.text)) verb = ws[k++]!.text as Verb;
  const classid = ws[k++];
  if (!classid) sc.fail(ws[0]!.pos.end, "expected a class id such as 1:10 after 'class'");
  let parent: Word | undefined;
  if (ws[k]?.text === "parent") {
    parent = ws[k + 1];
    if (!parent) sc.fail(ws[k]!.pos.end, "expected a class id such as 1:1 after 'parent'");
    k += 2;
  }
  const qdisc = ws[k++];
  if (!qdisc) sc.fail(ws[k - 2]!.pos.end, "expected the class's qdisc kind (htb, drr or prio) after the class id");
  return { kind: "class", verb, classid, ...(parent ? { parent } : {}), qdisc, params: ws.slice(k), pos: { start: ws[0]!.pos.start, end: ws[ws.length - 1]!.pos.end } };
}

/** `filter [parent P] [prio N] MATCHES… flowid ID` — the matches are the kopi match language. */
function parseFilter(sc: Scanner, ws: Word[], a: number, b: number): QosStatement {
  let k = 1;
  let parent: Word | undefined;
  let prio: Word | undefined;
  for (;;) {
    const w = ws[k];
    if (w?.text === "parent" || w?.text === "prio" || w?.text === "pref") {
      const v = ws[k + 1];
      if (!v) sc.fail(w.pos.end, `expected a value after '${w.text}'`);
      if (w.text === "parent") parent = v;
      else prio = v;
      k += 2;
    } else break;
  }
  let t = ws.length - 2;
  while (t >= k && ws[t]!.text !== "flowid" && ws[t]!.text !== "classid") t--;
  if (t < k) sc.fail(ws[ws.length - 1]!.pos.end, "a filter ends with 'flowid CLASS' (the class its packets go to, such as flowid 1:10)");
  if (t !== ws.length - 2) sc.fail(ws[t + 2]!.pos.start, `nothing may follow 'flowid ${ws[t + 1]!.text}'`);
  const target = ws[t + 1]!;
  const matchStart = k < ws.length ? ws[k]!.pos.start : b;
  const matchEnd = t > k ? ws[t - 1]!.pos.end : matchStart;
  let matches: MatchNode[] = [];
  if (matchEnd > matchStart) {
    const st = matchStatement(sc.file, sc.src, matchStart, matchEnd, "ChainStatement") as { kind: string } & Partial<RuleNode>;
    if (st.kind !== "rule") sc.fail(matchStart, "expected matches (such as 'tcp dport 22' or 'owner cgroup \"/game.slice\"') before flowid");
    const action = st.actions?.[0];
    if (action) sc.fail(action.pos.start, `a filter takes matches only: '${sc.src.slice(action.pos.start, action.pos.end)}' is an action (the filter's target is its flowid)`);
    matches = st.matches ?? [];
  }
  return {
    kind: "filter",
    ...(parent ? { parent } : {}),
    ...(prio ? { prio } : {}),
    matches,
    target,
    pos: { start: a, end: b },
    text: sc.src.slice(a, b).replace(/\s+#.*$/, "").trim(),
  };
}

/** `set NAME { type …; flags interval; elements = { … } }`, read with the policy language's set statements. */
function parseSet(sc: Scanner, a: number, b: number): SetNode {
  const src = sc.src;
  const save = sc.i;
  sc.i = a + 3;
  const name = sc.word();
  if (!name || name.text.startsWith("{")) sc.fail(a + 3, "expected a set name after 'set'");
  sc.skip();
  if (src[sc.i] !== "{") sc.fail(sc.i, "expected '{' after the set name");
  const open = sc.i++;
  const spans = sc.statements(open);
  const rest = src.slice(sc.i, b).replace(/#.*$/, "");
  if (rest.trim() !== "") sc.fail(sc.i + (rest.length - rest.trimStart().length), "unexpected text after the set's closing '}'");
  const set: SetNode = { name: name.text, namePos: name.pos, type: "", typePos: name.pos, interval: false, elements: [], pos: { start: a, end: b } };
  let typed = false;
  for (const [x, y] of spans) {
    const st = matchStatement(sc.file, src, x, y, "SetStatement") as { kind: string; type?: string; pos?: Pos; flags?: { flag: string; pos: Pos }[]; elements?: ValueNode[] };
    if (st.kind === "type") {
      set.type = st.type!;
      set.typePos = st.pos!;
      typed = true;
    } else if (st.kind === "flags") {
      for (const f of st.flags!) {
        if (f.flag === "interval") set.interval = true;
        else if (f.flag !== "constant") sc.fail(f.pos.start, `unknown set flag '${f.flag}' (kopi knows interval and constant)`);
      }
    } else set.elements.push(...st.elements!);
  }
  if (!typed) sc.fail(name.pos.start, `set '${name.text}' has no type (add 'type ipv4_addr;' or another set type)`);
  sc.i = save;
  return set;
}
