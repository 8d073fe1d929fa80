/**
 * libpcap's block graph: the filter as a DAG of blocks, each a test (or an offset computation, or a
 * `protochain` walk) branching to a block or to accept/reject. gen_and/gen_or share continuations rather than
 * copy them, and so does this; the optimizer (optimize.ts) rewires it and the emitter (emit.ts) lays it out.
 */
import type { Cond, Val } from "./ir.js";

export type Leaf = "accept" | "reject";

export type TestCond = Extract<Cond, { t: "test" }>;
export type ChainCond = Extract<Cond, { t: "chain" }>;
export type SeqCond = Extract<Cond, { t: "seq" }>;

interface BlockBase {
  id: number;
  t: GraphNode;
  f: GraphNode;
}
export interface TestBlock extends BlockBase {
  kind: "test";
  test: TestCond;
}
/** Stores computed offsets, then always continues with `t` (= `f`). */
export interface SeqBlock extends BlockBase {
  kind: "seq";
  seq: SeqCond;
}
export interface ChainBlock extends BlockBase {
  kind: "chain";
  chain: ChainCond;
}
/** Computes values only for their loads (which may fault), then continues with `t` (= `f`). */
export interface EvalBlock extends BlockBase {
  kind: "eval";
  values: Val[];
}
export type Block = TestBlock | SeqBlock | ChainBlock | EvalBlock;
export type GraphNode = Leaf | Block;

export const isBlock = (n: GraphNode): n is Block => n !== "accept" && n !== "reject";

/** The graph of a condition whose true outcome continues at `t` and false at `f`. */
export function buildGraph(c: Cond, t: GraphNode, f: GraphNode, ids: { next: number }): GraphNode {
  switch (c.t) {
    case "test":
      return { kind: "test", id: ids.next++, test: c, t, f };
    case "and":
      return buildGraph(c.l, buildGraph(c.r, t, f, ids), f, ids);
    case "or":
      return buildGraph(c.l, t, buildGraph(c.r, t, f, ids), ids);
    case "not":
      return buildGraph(c.c, f, t, ids);
    case "seq":
      return { kind: "seq", id: ids.next++, seq: c, t, f: t };
    case "chain":
      return { kind: "chain", id: ids.next++, chain: c, t, f };
  }
}

export function graphOf(c: Cond): GraphNode {
  return buildGraph(c, "accept", "reject", { next: 0 });
}

/** Blocks reachable from the root, each after all its predecessors (true branches laid out first). */
export function topologicalOrder(root: GraphNode): Block[] {
  const order: Block[] = [];
  const seen = new Set<Block>();
  const visit = (n: GraphNode) => {
    if (!isBlock(n) || seen.has(n)) return;
    seen.add(n);
    visit(n.f);
    visit(n.t);
    order.push(n);
  };
  visit(root);
  return order.reverse();
}

export function reaches(root: GraphNode, goal: Leaf): boolean {
  const seen = new Set<Block>();
  const visit = (n: GraphNode): boolean => {
    if (!isBlock(n)) return n === goal;
    if (seen.has(n)) return false;
    seen.add(n);
    return visit(n.t) || visit(n.f);
  };
  return visit(root);
}
