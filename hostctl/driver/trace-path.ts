/**
 * A packet's path through a policy, reconstructed from the counters it moved (every rule counts when it
 * matches): what `hostctl trace` prints, and what `hostctl replay --kernel-log` walks to find the log rules a
 * packet hit, in the order the kernel would have run them.
 */
import type { IrChain, IrPolicy, IrRule } from "../../compiler/policy/ir.js";

/** One step of a packet's path through the policy. */
export interface TraceStep {
  hook: string;
  chain: string;
  /** rule number, or undefined for the chain's policy */
  rule?: number;
  text: string;
  /** what the step did: a verdict, `jump X`, `goto X`, `return`, or `continue` (marks, logs) */
  action: string;
}

/** One step of the walk: a rule that matched, or (no rule) the hook's policy. */
export interface PathStep {
  chain: IrChain;
  rule?: IrRule;
}

function verdictAction(r: IrRule): string {
  const v = r.verdict;
  if (!v) return "continue";
  switch (v.kind) {
    case "jump":
    case "goto":
      return `${v.kind} ${v.chain}`;
    case "queue":
      return `queue ${v.queue}`;
    case "reject":
      return v.how === "default" ? "reject" : `reject with ${v.how}`;
    default:
      return v.kind;
  }
}

/**
 * Reconstruct a packet's path from the counters it moved: walk its hook chain in rule order; a rule whose
 * counter moved matched (its verdict ends the walk, a jump walks the target chain first); a hook whose rules
 * did not decide ends at its policy. `moved` is consumed.
 */
export function walkPath(ir: IrPolicy, dir: 0 | 1, moved: Map<number, number>): PathStep[] {
  const hook = ir.chains.find((c) => c.hook === (dir === 0 ? "ingress" : "egress"));
  const steps: PathStep[] = [];
  if (!hook) return steps;
  const chains = new Map(ir.chains.map((c) => [c.name, c]));
  const take = (id: number): boolean => {
    const n = moved.get(id) ?? 0;
    if (n <= 0) return false;
    moved.set(id, n - 1);
    return true;
  };
  const walk = (chain: IrChain, depth: number): "terminal" | "return" | "end" => {
    if (depth > 64) return "end";
    for (const r of chain.rules) {
      if (!take(r.counter)) continue;
      steps.push({ chain, rule: r });
      const v = r.verdict;
      if (!v) continue;
      if (v.kind === "jump") {
        if (walk(chains.get(v.chain)!, depth + 1) === "terminal") return "terminal";
        continue;
      }
      if (v.kind === "goto") return walk(chains.get(v.chain)!, depth + 1) === "terminal" ? "terminal" : "return";
      if (v.kind === "return") return "return";
      return "terminal";
    }
    return "end";
  };
  if (walk(hook, 0) !== "terminal" && hook.policyCounter !== undefined && take(hook.policyCounter)) steps.push({ chain: hook });
  return steps;
}

/** The path as `hostctl trace` prints it. */
export function explain(ir: IrPolicy, dir: 0 | 1, moved: Map<number, number>): TraceStep[] {
  const hook = dir === 0 ? "ingress" : "egress";
  return walkPath(ir, dir, moved).map(({ chain, rule }) =>
    rule ? { hook, chain: chain.name, rule: rule.number, text: rule.text, action: verdictAction(rule) } : { hook, chain: chain.name, text: `policy ${chain.policy}`, action: chain.policy },
  );
}
