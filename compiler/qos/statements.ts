/**
 * What both QoS front ends produce before any meaning is checked: `qdisc`, `class` and `filter` statements as
 * tc spells them (words with their source positions), filters already holding their matches in the kopi match
 * language. lower.ts gives them tc's meaning and turns them into the IR.
 */
import type { MatchNode, Pos, SetNode } from "../policy/ast.js";

export interface Word {
  text: string;
  pos: Pos;
}

/** tc's verbs: add refuses to replace, replace adds or replaces, change needs an existing object. */
export type Verb = "add" | "replace" | "change";

export interface QdiscStatement {
  kind: "qdisc";
  verb: Verb;
  /** undefined or "root" for the root qdisc, else the parent class */
  parent?: Word;
  handle?: Word;
  qdisc: Word;
  /** the kind's parameters, as written (`rate 10mbit burst 15k …`) */
  params: Word[];
  pos: Pos;
}

export interface ClassStatement {
  kind: "class";
  verb: Verb;
  classid: Word;
  parent?: Word;
  qdisc: Word;
  params: Word[];
  pos: Pos;
}

export interface FilterStatement {
  kind: "filter";
  parent?: Word;
  prio?: Word;
  matches: MatchNode[];
  /** flowid / classid */
  target?: Word;
  pos: Pos;
  text: string;
}

export type QosStatement = QdiscStatement | ClassStatement | FilterStatement;

export interface QosSource {
  file: string;
  source: string;
  format: "qos" | "tc";
  dev: string;
  /** where the device was named (a second device is an error) */
  devPos?: Pos;
  statements: QosStatement[];
  sets: SetNode[];
}

/** Split a statement's text into words at blanks, keeping quoted strings whole; positions are file offsets. */
export function words(source: string, start: number, end: number): Word[] {
  const out: Word[] = [];
  let i = start;
  while (i < end) {
    const c = source[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "#") break;
    let j = i;
    while (j < end && !/\s/.test(source[j]!)) {
      if (source[j] === '"') {
        const close = source.indexOf('"', j + 1);
        j = close < 0 || close >= end ? end : close + 1;
      } else j++;
    }
    out.push({ text: source.slice(i, j), pos: { start: i, end: j } });
    i = j;
  }
  return out;
}
