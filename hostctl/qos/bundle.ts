/** A compiled QoS policy as the NIC's egress scheduler loads it, and the names of its classes for reports. */
import type { CompiledQos } from "../../compiler/qos/compile.js";
import { isFifoLeaf, type LeafQdisc } from "../../compiler/qos/ir.js";
import { leafSlots } from "../../compiler/qos/leaves.js";
import { formatHandle, formatRate, handle, majorOf } from "../../compiler/qos/units.js";
import type { QdiscBundle } from "../../fpga-model/scheduler.js";
import { runtimeEntries } from "../driver/policy-program.js";

export function bundleOf(c: CompiledQos): QdiscBundle {
  const p = c.policy.root;
  return {
    classifier: c.classifier.image,
    classifierEntries: c.classifier.tables.flatMap((t) => runtimeEntries(t).map((entry) => ({ table: t.id, entry }))),
    scheduler: c.scheduler.image,
    sizes: c.scheduler.layout,
    label: `${p.params.kind} ${formatHandle(p.handle)} root`,
  };
}

/** A class of the report: what its packets are counted under. */
export interface ClassName {
  name: string;
  /** rate and ceil, quantum, band …, for legends */
  detail: string;
}

/**
 * The report class of each queue: a classful qdisc's leaf classes (htb's direct queue is `direct`), prio's
 * bands; a classless or per-flow qdisc is one class, the qdisc itself.
 */
export function reportClasses(c: CompiledQos): { classes: ClassName[]; ofQueue: number[] } {
  const p = c.policy.root.params;
  const root = formatHandle(c.policy.root.handle);
  // a class's queues: its FIFO's one, or every flow of its sfq or fq_codel (leaves.ts)
  const ofQueue = leafSlots(p, c.policy.root.handle).flatMap((s, i) => Array.from({ length: s.queues }, () => i));
  switch (p.kind) {
    case "htb": {
      const leaves = p.classes.filter((x) => x.leaf);
      const classes = leaves.map((x) => ({ name: formatHandle(x.id), detail: `rate ${formatRate(x.rate)} ceil ${formatRate(x.ceil)} prio ${x.prio}${leafDetail(x.leaf!)}` }));
      classes.push({ name: "direct", detail: "unclassified, unshaped" });
      return { classes, ofQueue: [...ofQueue, leaves.length] };
    }
    case "drr":
      return { classes: p.classes.map((x) => ({ name: formatHandle(x.id), detail: `quantum ${x.quantum}` })), ofQueue };
    case "prio":
      return { classes: p.leaves.map((l, i) => ({ name: formatHandle(handle(majorOf(c.policy.root.handle), i + 1)), detail: `band ${i}${leafDetail(l)}` })), ofQueue };
    default:
      // the qdisc itself, named with its kind so that a qdisc change to another kind gets a row of its own
      return { classes: [{ name: `${root} ${p.kind}`, detail: describeClassless(c) }], ofQueue: c.queues.map(() => 0) };
  }
}

/** The qdisc a class ends in, for the legend (nothing for a FIFO, as before qdisc leaves existed). */
function leafDetail(l: LeafQdisc): string {
  return isFifoLeaf(l) ? "" : `, ${l.kind}${l.handle !== undefined ? ` ${formatHandle(l.handle)}` : ""}`;
}

function describeClassless(c: CompiledQos): string {
  const p = c.policy.root.params;
  switch (p.kind) {
    case "pfifo":
      return `limit ${p.limit} packets`;
    case "bfifo":
      return `limit ${p.limit} bytes`;
    case "tbf":
      return `rate ${formatRate(p.rate)} burst ${p.burst}`;
    case "sfq":
      return `${p.divisor} buckets, ${p.flows} flows, limit ${p.limit}`;
    case "fq_codel":
      return `${p.flows} flows, target ${p.targetUs / 1000} ms, interval ${p.intervalUs / 1000} ms${p.ecn ? ", ecn" : ""}`;
    default:
      return p.kind;
  }
}
