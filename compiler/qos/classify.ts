/**
 * The classifier program: the QoS policy's filters, in tc order (priority, then the order written), compiled by
 * the policy compiler as the rules of one egress chain — so filters have exactly the match language of `.kopi`
 * rules, with its sets, tables, rule families and owner matches. A filter's target is the rule's verdict
 * `queue N`; the NIC hands the scheduler program meta.class = N + 1, or 0 when no filter matched (the chain's
 * policy, accept). What N means is the qdisc's (selectors below).
 */
import { SourceError } from "../../overlay-isa/index.js";
import { CompileLimitError } from "../program-builder.js";
import { analyzePolicy } from "../policy/analyze.js";
import type { ActionNode, PolicyAst, RuleNode } from "../policy/ast.js";
import { generatePolicy } from "../policy/codegen.js";
import type { Accounts } from "../policy/lower.js";
import { lowerPolicy } from "../policy/lower.js";
import type { IrPolicy } from "../policy/ir.js";
import type { TableImage } from "../policy/tables.js";
import type { ProgramImage } from "../../overlay-isa/index.js";
import type { QosPolicy } from "./ir.js";
import type { QosWarning } from "./lower.js";
import { majorOf, minorOf, ROOT_HANDLE, type Handle } from "./units.js";
import { lineAndColumn } from "../../overlay-isa/index.js";

/** What a filter's target becomes: a `queue N` verdict, or "no class" (the qdisc's default handling). */
export type Selector = { queue: number } | { unclassified: true };

/** The scheduler-side meaning of a flowid, per qdisc (see each qdisc's code generator). */
export function selectorOf(policy: QosPolicy, target: Handle): Selector {
  const p = policy.root.params;
  const minor = minorOf(target);
  switch (p.kind) {
    case "htb": {
      const leaves = p.classes.filter((c) => c.leaf);
      if (target === policy.root.handle || target === ROOT_HANDLE) return { queue: leaves.length }; // X:0: the direct queue
      const i = leaves.findIndex((c) => c.id === target);
      return i >= 0 ? { queue: i } : { unclassified: true }; // an inner class: Linux ends at its (empty) filter list
    }
    case "prio":
      return { queue: minor >= 1 && minor <= p.bands && majorOf(target) === majorOf(policy.root.handle) ? minor - 1 : p.priomap[0]! };
    case "drr":
      return { queue: p.classes.findIndex((c) => c.id === target) };
    case "sfq":
    case "fq_codel":
      return { queue: minor - 1 };
    default:
      return { unclassified: true };
  }
}

export interface CompiledClassifier {
  ir: IrPolicy;
  image: ProgramImage;
  tables: TableImage[];
  /** counter id of each filter (in policy.filters order), for hit counts */
  filterCounters: number[];
  /** owner strings the program interned: owner.cmd / owner.cgroup hold 1 + the index */
  strings: { cmd: string[]; cgroup: string[] };
  warnings: QosWarning[];
}

/** Compile the filters into a policy program (egress hook). Throws SourceError for a bad match. */
export function compileClassifier(policy: QosPolicy, accounts: Accounts): CompiledClassifier {
  const ordered = policy.filters.map((f, i) => ({ f, i })).sort((a, b) => a.f.prio - b.f.prio || a.f.order - b.f.order);
  const rules: RuleNode[] = ordered.map(({ f }) => {
    const sel = selectorOf(policy, f.target);
    const action: ActionNode = "queue" in sel ? { kind: "queue", queue: { kind: "atom", text: String(sel.queue), pos: f.targetPos }, pos: f.targetPos } : { kind: "accept", pos: f.targetPos };
    return { matches: f.matches, actions: [action], pos: f.pos, text: f.text };
  });
  const ast: PolicyAst = {
    file: policy.file,
    source: policy.source,
    format: "kopi",
    sets: policy.sets,
    chains: [{ name: "filters", namePos: policy.root.pos, hook: "egress", policy: "accept", rules, pos: policy.root.pos }],
  };
  const ir = lowerPolicy(ast, { accounts });
  const warnings: QosWarning[] = analyzePolicy(ir).map((w) => ({ ...w, message: w.message.replace(/\brule\b/g, "filter").replace(/ ends chain 'filters' for every packet/, " matches every packet") }));
  let gen;
  try {
    gen = generatePolicy(ir);
  } catch (e) {
    if (e instanceof CompileLimitError) {
      const { line, column } = lineAndColumn(policy.source, policy.root.pos.start);
      throw new SourceError(policy.file, line, column, `the filters do not fit the overlay: ${e.message}`);
    }
    throw e;
  }
  const chain = ir.chains[0]!;
  const filterCounters = new Array<number>(policy.filters.length);
  ordered.forEach(({ i }, k) => (filterCounters[i] = chain.rules[k]!.counter));
  return { ir, image: gen.image, tables: gen.tables, filterCounters, strings: ir.strings, warnings };
}
