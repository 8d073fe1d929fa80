/**
 * The leaf qdiscs of a classful root (htb's leaf classes, drr's classes, prio's bands) and where each sits in
 * the queue model: leaves in class order, each with as many queues as it needs (one for a FIFO or tbf, one per
 * bucket or flow for sfq and fq_codel), htb's direct queue after them. The code generators and everything that
 * reads the queue model's counters (statistics, reports) take the layout from here, so they agree.
 */
import { SfqCode } from "./gen-drr.js";
import { fqCodelCode } from "./gen-fq-codel.js";
import { TbfCode } from "./gen-tbf.js";
import { isFifoLeaf, type LeafQdisc, type QosPolicy, type QdiscParams } from "./ir.js";
import { FifoCode, type Place, type QdiscCode } from "./qdisc-code.js";
import type { SchedAsm } from "./sched-asm.js";
import { formatHandle, handle, majorOf, type Handle } from "./units.js";

export interface LeafSlot {
  leaf: LeafQdisc;
  /** the class (or band) the leaf hangs from */
  parent: Handle;
  /** its first queue */
  base: number;
  queues: number;
}

/** Queues a leaf needs. */
export function leafQueueCount(l: LeafQdisc): number {
  switch (l.kind) {
    case "sfq":
      return l.divisor;
    case "fq_codel":
      return l.flows;
    default:
      return 1;
  }
}

/** The leaves of a classful qdisc, in queue order (none for a classless one). */
export function leafSlots(p: QdiscParams, root: Handle): LeafSlot[] {
  let leaves: { leaf: LeafQdisc; parent: Handle }[];
  switch (p.kind) {
    case "htb":
      leaves = p.classes.filter((c) => c.leaf).map((c) => ({ leaf: c.leaf!, parent: c.id }));
      break;
    case "drr":
      leaves = p.classes.map((c) => ({ leaf: c.leaf, parent: c.id }));
      break;
    case "prio":
      leaves = p.leaves.map((leaf, i) => ({ leaf, parent: handle(majorOf(root), i + 1) }));
      break;
    default:
      return [];
  }
  let base = 0;
  return leaves.map((l) => {
    const slot = { ...l, base, queues: leafQueueCount(l.leaf) };
    base += slot.queues;
    return slot;
  });
}

/** Does some class end in a qdisc of its own (not a FIFO)? Then the programs are built from leaf code. */
export function hasQdiscLeaves(policy: QosPolicy): boolean {
  return leafSlots(policy.root.params, policy.root.handle).some((s) => !isFifoLeaf(s.leaf));
}

/** Prefix of a leaf's state words and counters in the program's layout. */
export function leafPrefix(parent: Handle): string {
  return `leaf ${formatHandle(parent)} `;
}

/** A leaf's code, at its place (a leaf has no filters of its own: sfq and fq_codel hash). */
function leafCode(a: SchedAsm, leaf: LeafQdisc, place: Place): QdiscCode {
  switch (leaf.kind) {
    case "pfifo":
    case "bfifo":
      return new FifoCode(a, leaf, place);
    case "sfq":
      return new SfqCode(a, leaf, place, false);
    case "fq_codel":
      return fqCodelCode(a, leaf, place, false);
    case "tbf":
      return new TbfCode(a, leaf, place);
  }
}

/** The code of every leaf of a classful qdisc, placed as leafSlots lays them out. */
export function leafCodes(a: SchedAsm, slots: LeafSlot[]): QdiscCode[] {
  return slots.map((s) => leafCode(a, s.leaf, { base: s.base, prefix: leafPrefix(s.parent), ...(s.leaf.handle !== undefined ? { handle: s.leaf.handle } : {}) }));
}
