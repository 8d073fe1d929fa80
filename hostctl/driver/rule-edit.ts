/**
 * Rule edits on a policy's source text, as iptables -A/-I/-D/-R edit a chain: the new text is the old one with
 * one rule line added, removed or replaced, in the policy's own language (a `.kopi` statement, or an iptables
 * rule spec such as `-p tcp --dport 22 -j ACCEPT`). The edited text is compiled like any policy, so a bad rule
 * gets the compiler's positioned error — pointed back at the rule the user typed.
 */
import { SourceError } from "../../overlay-isa/index.js";
import { parsePolicy } from "../../compiler/policy/compile.js";
import type { ChainNode, PolicyAst } from "../../compiler/policy/ast.js";
import type { PolicySource } from "./host-state.js";

export type RuleEdit =
  | { op: "append"; chain: string; rule: string }
  | { op: "insert"; chain: string; number: number; rule: string }
  | { op: "delete"; chain: string; number: number }
  | { op: "delete-spec"; chain: string; rule: string }
  | { op: "replace"; chain: string; number: number; rule: string };

/** A rule edit that cannot apply (no such chain, index too big, no matching rule): iptables' own complaints. */
export class RuleEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleEditError";
  }
}

export interface SplicedEdit {
  text: string;
  /** where the user's rule text starts in the new text (for error positions), if it was inserted */
  ruleStart?: number;
  /** rule number (1-based) the edit affects in its chain */
  number: number;
  /** how many rules the chain has after the edit */
  rulesAfter: number;
}

/** Join argv words into rule text, quoting words a shell split out of quotes (`--comment "a b"`). */
export function ruleText(words: readonly string[]): string {
  return words.map((w) => (w === "" || /[\s"#;{}]/.test(w) ? JSON.stringify(w) : w)).join(" ").trim();
}

function normalize(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function findChain(ast: PolicyAst, name: string): ChainNode {
  const c = ast.chains.find((x) => x.name === name);
  if (!c) throw new RuleEditError(`chain '${name}' does not exist (chains: ${ast.chains.map((x) => x.name).join(", ") || "none"})`);
  return c;
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

function lineEnd(text: string, at: number): number {
  const e = text.indexOf("\n", at);
  return e < 0 ? text.length : e;
}

/** Apply an edit to the source text. Throws RuleEditError when it does not apply, SourceError if the old text no longer parses. */
export function spliceRule(src: PolicySource, edit: RuleEdit): SplicedEdit {
  const ast = parsePolicy(src.text, src.file, src.format);
  const chain = findChain(ast, edit.chain);
  const rules = chain.rules;
  const text = src.text;
  const ipt = src.format === "iptables-save";
  const asLine = (rule: string) => (ipt ? `-A ${chain.name} ${rule}` : rule);
  const indentOf = (at: number) => /^[ \t]*/.exec(text.slice(lineStart(text, at)))![0];

  const insertBefore = (k: number, rule: string): SplicedEdit => {
    const r = rules[k - 1]!;
    const at = ipt ? lineStart(text, r.pos.start) : r.pos.start;
    const ins = ipt ? `${asLine(rule)}\n` : `${rule}\n${indentOf(r.pos.start)}`;
    return { text: text.slice(0, at) + ins + text.slice(at), ruleStart: at + (ipt ? asLine("").length : 0), number: k, rulesAfter: rules.length + 1 };
  };
  const append = (rule: string): SplicedEdit => {
    if (rules.length > 0) {
      const last = rules[rules.length - 1]!;
      const at = ipt ? lineEnd(text, last.pos.end) : last.pos.end;
      const prefix = `\n${ipt ? "" : indentOf(last.pos.start)}`;
      return { text: text.slice(0, at) + prefix + asLine(rule) + text.slice(at), ruleStart: at + prefix.length + (ipt ? asLine("").length : 0), number: rules.length + 1, rulesAfter: rules.length + 1 };
    }
    if (ipt) {
      // an empty chain: the rule goes before the COMMIT that ends its table
      const commit = text.slice(chain.pos.end).search(/^COMMIT\b/m);
      if (commit < 0) throw new RuleEditError(`cannot find the COMMIT line after chain ${chain.name}`);
      const at = chain.pos.end + commit;
      return { text: text.slice(0, at) + asLine(rule) + "\n" + text.slice(at), ruleStart: at + asLine("").length, number: 1, rulesAfter: 1 };
    }
    const close = text.lastIndexOf("}", chain.pos.end - 1);
    if (close < chain.pos.start) throw new RuleEditError(`cannot find the end of chain ${chain.name}`);
    const indent = indentOf(chain.pos.start) + "  ";
    const ins = `\n${indent}${rule}\n${indentOf(close)}`;
    return { text: text.slice(0, close).replace(/[ \t]*$/, "") + ins + text.slice(close), ruleStart: text.slice(0, close).replace(/[ \t]*$/, "").length + 1 + indent.length, number: 1, rulesAfter: 1 };
  };
  const remove = (k: number): SplicedEdit => {
    const r = rules[k - 1]!;
    const ls = lineStart(text, r.pos.start);
    const le = lineEnd(text, r.pos.end);
    const wholeLine = { start: ls, end: le < text.length ? le + 1 : le };
    let cut = { start: r.pos.start, end: r.pos.end };
    if (ipt) cut = wholeLine;
    else {
      const semicolon = /^[ \t]*;/.exec(text.slice(cut.end, le));
      if (semicolon) cut.end += semicolon[0].length;
      // a rule alone on its line takes the line (and its trailing comment) with it
      if (/^[ \t]*$/.test(text.slice(ls, cut.start)) && /^[ \t]*(#.*)?$/.test(text.slice(cut.end, le))) cut = wholeLine;
    }
    return { text: text.slice(0, cut.start) + text.slice(cut.end), number: k, rulesAfter: rules.length - 1 };
  };
  const checkIndex = (k: number, what: string, max: number) => {
    if (!Number.isInteger(k) || k < 1) throw new RuleEditError(`rule number ${k} is not a positive integer`);
    if (k > max) throw new RuleEditError(`index of ${what} too big: chain ${chain.name} has ${rules.length} rule${rules.length === 1 ? "" : "s"}`);
  };

  switch (edit.op) {
    case "append":
      return append(edit.rule);
    case "insert":
      checkIndex(edit.number, "insertion", rules.length + 1);
      return edit.number === rules.length + 1 ? append(edit.rule) : insertBefore(edit.number, edit.rule);
    case "delete":
      checkIndex(edit.number, "deletion", rules.length);
      return remove(edit.number);
    case "delete-spec": {
      const want = normalize(edit.rule);
      const k = rules.findIndex((r) => normalize(r.text) === want);
      if (k < 0) throw new RuleEditError(`no rule '${edit.rule}' in chain ${chain.name} (does a matching rule exist in that chain?)`);
      return remove(k + 1);
    }
    case "replace": {
      checkIndex(edit.number, "replacement", rules.length);
      const r = rules[edit.number - 1]!;
      const start = ipt ? lineStart(text, r.pos.start) : r.pos.start;
      const end = ipt ? lineEnd(text, r.pos.end) : r.pos.end;
      return { text: text.slice(0, start) + asLine(edit.rule) + text.slice(end), ruleStart: start + (ipt ? asLine("").length : 0), number: edit.number, rulesAfter: rules.length };
    }
  }
}

/**
 * A compile error in the edited text, pointed at the rule the user typed when it lies there:
 * `<rule>:1:14: expected a port number` with the rule and a caret.
 */
export function remapRuleError(e: SourceError, edited: SplicedEdit, rule: string | undefined): SourceError {
  if (edited.ruleStart === undefined || rule === undefined) return e;
  const before = edited.text.slice(0, edited.ruleStart);
  const line = before.split("\n").length;
  const col = edited.ruleStart - lineStart(edited.text, edited.ruleStart) + 1;
  if (e.line !== line || e.column < col || e.column > col + rule.length) {
    return new SourceError(e.file, e.line, e.column, `${e.detail} (in the policy after the change)`, e.sourceLine);
  }
  return new SourceError("<rule>", 1, e.column - col + 1, e.detail, rule);
}
