/**
 * The QoS compiler's entry point: a `.qos` policy or a tc script → IR → two verified overlay programs: the
 * classifier (the filters, a policy program, classify.ts) and the qdisc (a scheduler program, gen-*.ts), plus
 * what the NIC needs to lay them out and what `qdisc show -s` needs to read their statistics. Bad input throws
 * a positioned SourceError (or HostError for a bad host description); anything else is a bug in kopi.
 */
import { LIMITS, SourceError, verify, type ProgramImage, type VerifyResult } from "../../overlay-isa/index.js";
import { CompileLimitError } from "../program-builder.js";
import { accountsFor, type CompileOptions } from "../policy/compile.js";
import { compileClassifier, type CompiledClassifier } from "./classify.js";
import { genDrr, genSfq } from "./gen-drr.js";
import { genFqCodel } from "./gen-fq-codel.js";
import { genHtb } from "./gen-htb.js";
import { genFifo, genPrio } from "./gen-simple.js";
import { genTbf } from "./gen-tbf.js";
import type { Generated } from "./sched-asm.js";
import type { QosPolicy } from "./ir.js";
import { leafSlots } from "./leaves.js";
import { lowerQos, type QosWarning } from "./lower.js";
import { parseQos } from "./parse-qos.js";
import { parseTcScript } from "./parse-tc.js";
import type { SchedLayout } from "./sched-asm.js";
import { formatHandle, handle, majorOf, type Handle } from "./units.js";
import { lineAndColumn } from "../../overlay-isa/index.js";

export type QosFormat = "qos" | "tc";

export interface QosCompileOptions extends Pick<CompileOptions, "host" | "hostFile"> {
  format?: QosFormat;
}

/** What one queue of the queue model holds, for statistics and plots. */
export interface QueueRole {
  /** the class (or band, or flow) id as tc names it */
  id: Handle;
  /** `1:10`, `direct`, `flow 17` */
  name: string;
}

export interface CompiledQos {
  policy: QosPolicy;
  classifier: CompiledClassifier;
  /** the classifier program's static worst-case cycles per packet */
  classifierWorstCase: number;
  scheduler: { image: ProgramImage; layout: SchedLayout; verify: VerifyResult };
  /** queue index → what it is */
  queues: QueueRole[];
  warnings: QosWarning[];
}

/**
 * The queue model's queues for a qdisc: its leaves' queues (leaves.ts: class id order, bands; one per FIFO or
 * tbf, one per bucket or flow of an sfq or fq_codel leaf, each named by its class), htb's direct queue, flows.
 */
export function queueRoles(policy: QosPolicy): QueueRole[] {
  const p = policy.root.params;
  const major = majorOf(policy.root.handle);
  switch (p.kind) {
    case "pfifo":
    case "bfifo":
    case "tbf":
      return [{ id: policy.root.handle, name: formatHandle(policy.root.handle) }];
    case "prio":
    case "htb":
    case "drr": {
      const roles = leafSlots(p, policy.root.handle).flatMap((s) =>
        Array.from({ length: s.queues }, (_, k) => ({ id: s.parent, name: s.queues === 1 ? formatHandle(s.parent) : `${formatHandle(s.parent)} flow ${k + 1}` })),
      );
      return p.kind === "htb" ? [...roles, { id: policy.root.handle, name: "direct" }] : roles;
    }
    case "sfq":
      return Array.from({ length: p.divisor }, (_, i) => ({ id: handle(major, i + 1), name: `flow ${i + 1}` }));
    case "fq_codel":
      return Array.from({ length: p.flows }, (_, i) => ({ id: handle(major, i + 1), name: `flow ${i + 1}` }));
  }
}

function generate(policy: QosPolicy): Generated {
  const p = policy.root.params;
  const hasFilters = policy.filters.length > 0;
  switch (p.kind) {
    case "pfifo":
    case "bfifo":
      return genFifo(p);
    case "prio":
      return genPrio(p, policy.root.handle);
    case "tbf":
      return genTbf(p);
    case "htb":
      return genHtb(p, policy.root.handle);
    case "drr":
      return genDrr(p);
    case "sfq":
      return genSfq(p, policy.root.handle, hasFilters);
    case "fq_codel":
      return genFqCodel(p, hasFilters);
  }
}

export function parseQosSource(text: string, file: string, format: QosFormat = "qos") {
  return format === "tc" ? parseTcScript(text, file) : parseQos(text, file);
}

export function compileQos(text: string, file = "<qos>", opts: QosCompileOptions = {}): CompiledQos {
  const src = parseQosSource(text, file, opts.format ?? (/\.(tc|sh)$/.test(file) ? "tc" : "qos"));
  const { policy, warnings } = lowerQos(src);
  const classifier = compileClassifier(policy, accountsFor({ ...(opts.host ? { host: opts.host } : {}), ...(opts.hostFile ? { hostFile: opts.hostFile } : {}) }));
  let gen: Generated;
  try {
    gen = generate(policy);
  } catch (e) {
    if (e instanceof CompileLimitError) {
      const { line, column } = lineAndColumn(policy.source, policy.root.pos.start);
      throw new SourceError(policy.file, line, column, `the ${policy.root.params.kind} qdisc does not fit the overlay: ${e.message} (fewer classes or flows)`);
    }
    throw e;
  }
  for (const [have, most, what] of [[gen.layout.queues, LIMITS.schedQueues, "queues"], [gen.layout.stateWords, LIMITS.schedStateWords, "state words"]] as const) {
    // leaf qdiscs' flows add up: say so where the qdisc was written, not when the NIC refuses the layout
    if (have > most) {
      const { line, column } = lineAndColumn(policy.source, policy.root.pos.start);
      throw new SourceError(policy.file, line, column, `the ${policy.root.params.kind} qdisc does not fit the overlay: it needs ${have} ${what} and the NIC's queue model has ${most} (fewer classes, or fewer flows or buckets in their sfq and fq_codel qdiscs)`);
    }
  }
  const result = verify(gen.image);
  if (!result.ok) throw new Error(`internal: the ${policy.root.params.kind} scheduler program fails verification: ${result.errors.map((e) => `${e.index ?? ""} ${e.message}`).join("; ")}`);
  const classifierCheck = verify(classifier.image);
  if (!classifierCheck.ok) throw new Error("internal: the classifier program fails verification");
  return { policy, classifier, classifierWorstCase: classifierCheck.worstCaseCycles ?? 0, scheduler: { image: gen.image, layout: gen.layout, verify: result }, queues: queueRoles(policy), warnings: [...warnings, ...classifier.warnings] };
}
