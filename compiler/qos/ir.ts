/**
 * The QoS IR: one egress device's root qdisc, its classes and leaf qdiscs, and the filters that classify
 * packets into them, with every value resolved to tc's meaning (rates in bytes per second, sizes in bytes,
 * times in microseconds) and every default filled in as Linux fills it. Both front ends (the `.qos` policy
 * language and `tc` scripts) produce it; the classifier and scheduler code generators read it.
 */
import type { MatchNode, Pos, SetNode } from "../policy/ast.js";
import type { Handle } from "./units.js";

export type QdiscKind = "pfifo" | "bfifo" | "prio" | "tbf" | "htb" | "drr" | "sfq" | "fq_codel";
export const QDISC_KINDS: readonly QdiscKind[] = ["pfifo", "bfifo", "prio", "tbf", "htb", "drr", "sfq", "fq_codel"];
export const CLASSFUL: readonly QdiscKind[] = ["prio", "htb", "drr"];

/** A FIFO leaf: tc's default child qdisc of a class is pfifo with the device's txqueuelen. */
export type FifoLeaf = { kind: "pfifo"; limit: number; handle?: Handle; pos?: Pos } | { kind: "bfifo"; limit: number; handle?: Handle; pos?: Pos };

/**
 * What a classful qdisc's class (an htb or drr class, a prio band) ends in: a FIFO, or a qdisc of its own —
 * sfq, fq_codel or tbf — that decides which of its packets goes next and what it drops, while the class decides
 * when the leaf may send (compiler/qos/leaf-qdisc.ts). `handle` and `pos` are set when the policy wrote it.
 */
export type LeafQdisc = FifoLeaf | ((SfqQdisc | FqCodelQdisc | TbfQdisc) & { handle?: Handle; pos?: Pos });

/** The leaf kinds kopi runs under a class. */
export const LEAF_KINDS: readonly QdiscKind[] = ["pfifo", "bfifo", "sfq", "fq_codel", "tbf"];

export function isFifoLeaf(l: LeafQdisc): l is FifoLeaf {
  return l.kind === "pfifo" || l.kind === "bfifo";
}

export interface PfifoQdisc {
  kind: "pfifo";
  /** packets */
  limit: number;
}

export interface BfifoQdisc {
  kind: "bfifo";
  /** bytes */
  limit: number;
}

export interface PrioQdisc {
  kind: "prio";
  bands: number;
  /** band for each of the 16 skb priorities */
  priomap: number[];
  /** band i's queue */
  leaves: LeafQdisc[];
}

export interface TbfQdisc {
  kind: "tbf";
  /** bytes per second */
  rate: number;
  /** bucket size, bytes */
  burst: number;
  /** bytes the queue may hold (tc computes it from `latency` when that is given) */
  limit: number;
  /** tc's latency, µs, when the limit came from it */
  latencyUs?: number;
  peakrate?: number;
  /** the peak bucket's size (tc's `mtu`/`minburst`), bytes */
  mtu?: number;
}

export interface HtbClass {
  id: Handle;
  /** the parent class, or undefined for a class directly under the qdisc */
  parent?: Handle;
  /** bytes per second */
  rate: number;
  ceil: number;
  /** bytes */
  burst: number;
  cburst: number;
  prio: number;
  /** DRR quantum (bytes): given, or rate / r2q clamped to 1000 … 200000 */
  quantum: number;
  quantumGiven: boolean;
  /** for a leaf (a class no other class names as parent) */
  leaf?: LeafQdisc;
  pos: Pos;
}

export interface HtbQdisc {
  kind: "htb";
  r2q: number;
  /** minor of the default class; 0: none (unclassified packets go to the direct queue) */
  defaultMinor: number;
  directQlen: number;
  classes: HtbClass[];
}

export interface DrrClass {
  id: Handle;
  quantum: number;
  leaf: LeafQdisc;
  pos: Pos;
}

export interface DrrQdisc {
  kind: "drr";
  classes: DrrClass[];
}

export interface SfqQdisc {
  kind: "sfq";
  /** packets, whole qdisc */
  limit: number;
  /** packets per flow */
  depth: number;
  quantum: number;
  divisor: number;
  /** flows that may be active at once */
  flows: number;
  /** seconds between hash perturbations, 0: never */
  perturbSec: number;
  headdrop: boolean;
}

export interface FqCodelQdisc {
  kind: "fq_codel";
  /** packets */
  limit: number;
  flows: number;
  targetUs: number;
  intervalUs: number;
  quantum: number;
  ecn: boolean;
  /** bytes (kopi counts wire bytes, not skb truesize) */
  memoryLimit: number;
  dropBatch: number;
}

export type QdiscParams = PfifoQdisc | BfifoQdisc | PrioQdisc | TbfQdisc | HtbQdisc | DrrQdisc | SfqQdisc | FqCodelQdisc;

export interface RootQdisc {
  handle: Handle;
  params: QdiscParams;
  pos: Pos;
}

/** A tc filter: matches in the kopi match language, a priority, and the class (flowid) it sends packets to. */
export interface QosFilter {
  prio: number;
  /** order of appearance (ties of prio keep it) */
  order: number;
  matches: MatchNode[];
  target: Handle;
  /** where the flowid was written */
  targetPos: Pos;
  pos: Pos;
  text: string;
}

export interface QosPolicy {
  file: string;
  source: string;
  format: "qos" | "tc";
  dev: string;
  root: RootQdisc;
  filters: QosFilter[];
  /** named sets the filters' matches may reference (`@name`) */
  sets: SetNode[];
}

/** The device defaults Linux and tc fill in (a 1500-byte Ethernet device). */
export const DEVICE = {
  /** txqueuelen: pfifo's default limit, htb's direct_qlen */
  txqueuelen: 1000,
  mtu: 1500,
  /** psched_mtu: MTU + link header, the default quantum of drr, sfq and fq_codel */
  pschedMtu: 1514,
} as const;
