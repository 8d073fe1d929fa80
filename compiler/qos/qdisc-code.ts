/**
 * A qdisc's code as a part of a scheduler program, so that the same qdisc runs as the root or as the leaf of a
 * class (tc's `qdisc add … parent 1:10 handle 10: fq_codel`). A qdisc owns a range of the queue model's queues
 * (from `base`), its state words and counters (named with `prefix`), and emits its enqueue and dequeue code; how
 * each ends is the caller's: the root ends the event (`queue N`, `drop`, "run again", "ask again at"), a class's
 * parent goes on with its own work (charge the class's tokens, count the class's drop) before it ends it.
 *
 * The code of a qdisc uses registers r0 … r12 freely; at an exit the queue concerned (absolute index) is in the
 * register the exit is given. Under a class, that register is QUEUE (r13, free after the event dispatch).
 */
import type { FifoLeaf } from "./ir.js";
import type { Handle } from "./units.js";
import type { Label } from "../program-builder.js";
import { EVENT, type Generated, packetsFor, r1, r2, r3, r9, type Reg, type SchedAsm } from "./sched-asm.js";

/** Where a qdisc sits in the program. */
export interface Place {
  /** its first queue in the queue model */
  base: number;
  /** prefix of its state words and counters: "" for the root, `leaf 1:10 ` for a class's leaf */
  prefix: string;
  /** its handle (sfq and fq_codel take an skb priority of MAJOR:N as flow N), if it has one */
  handle?: Handle;
}

/** The register a leaf's exits hold the queue in. */
export const QUEUE: Reg = EVENT;

/** How an enqueue event ends. */
export interface EnqueueExits {
  /** the packet goes into queue rq (NET_XMIT_SUCCESS) */
  queue(rq: Reg): void;
  /** the packet goes into queue rq, but packets of its own flow were dropped to make room (NET_XMIT_CN) */
  congested(rq: Reg): void;
  /** the packet is refused, accounted to queue rq (NET_XMIT_DROP) */
  refuse(rq: Reg): void;
  /** the packet is refused and accounted to no queue (unclassified) */
  refuseUnclassified(): void;
}

/** How a dequeue event ends. */
export interface DequeueExits {
  /** the head of queue rq is sent */
  send(rq: Reg): void;
  /** state changed: run again at the same instant */
  again(): void;
  /** nothing to send (the qdisc is empty) */
  idle(): void;
  /** nothing to send before the time (ns) in `at`: a token bucket is short (tbf) */
  wait(at: Reg): void;
}

export interface QdiscCode {
  /** queues of the queue model it uses, from its base */
  readonly queues: number;
  /** packets it may hold at most (descriptors) */
  readonly capacity: number;
  /** state to set up at the program's first event (a full token bucket) */
  init?(): void;
  enqueue(x: EnqueueExits): void;
  dequeue(x: DequeueExits): void;
  /** rd = the packets it holds (a class with packets is backlogged); may use `tmp` */
  held(rd: Reg, tmp: Reg): void;
}

/** The exits of a root qdisc: each ends the event (`tmp` builds the verdict word). */
export function rootEnqueueExits(a: SchedAsm, tmp: Reg): EnqueueExits {
  return {
    queue: (rq) => a.exitQueue(rq, tmp),
    congested: (rq) => a.exitQueue(rq, tmp),
    refuse: (rq) => a.refuseReg(rq, tmp),
    refuseUnclassified: () => a.refuse(undefined),
  };
}

export function rootDequeueExits(a: SchedAsm, tmp: Reg): DequeueExits {
  return {
    send: (rq) => a.exitQueue(rq, tmp),
    again: () => a.again(),
    idle: () => a.idle(),
    wait: (at) => a.idle(at),
  };
}

/**
 * The rest of a program whose root is this one qdisc, after its prologue: dispatch the event, the qdisc's
 * enqueue and dequeue code with the root's exits, and the program over `queues` queues of the queue model.
 */
export function finishRootProgram(a: SchedAsm, code: QdiscCode, dequeue: Label, queues: number): Generated {
  a.dispatch(dequeue);
  code.enqueue(rootEnqueueExits(a, r9));
  a.bind(dequeue);
  code.dequeue(rootDequeueExits(a, r9));
  return a.build(queues, packetsFor(code.capacity));
}

/** Packets a FIFO may hold (a bfifo's limit in bytes counted in 64-byte packets, the smallest frame). */
export function fifoCapacity(l: FifoLeaf): number {
  return l.kind === "pfifo" ? l.limit : Math.ceil(l.limit / 64);
}

/** A pfifo or bfifo under a class: tail drop at its limit (fifo_enqueue), the head at dequeue. */
export class FifoCode implements QdiscCode {
  readonly queues = 1;
  readonly capacity: number;
  constructor(
    private readonly a: SchedAsm,
    private readonly leaf: FifoLeaf,
    private readonly place: Place,
  ) {
    this.capacity = fifoCapacity(leaf);
  }

  held(rd: Reg, tmp: Reg): void {
    this.a.k(tmp, this.place.base);
    this.a.emit("qlen", rd, tmp);
  }

  enqueue(x: EnqueueExits): void {
    const full = this.a.label("full");
    this.a.admit(this.place.base, this.leaf, full, r1, r2, r3);
    x.queue(r1);
    this.a.bind(full);
    x.refuse(r1);
  }

  dequeue(x: DequeueExits): void {
    this.a.k(r1, this.place.base);
    x.send(r1);
  }
}
