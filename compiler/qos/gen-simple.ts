/**
 * Scheduler programs of the simple qdiscs, each one event handler per packet arrival and per link opportunity
 * (runtime/sched/README.md), with Linux's semantics:
 *
 *  pfifo / bfifo  one queue; tail drop at `limit` packets / bytes (fifo_enqueue)
 *  prio           one queue per band (or a band's qdisc's queues); band = the filter's flowid, else
 *                 priomap[skb priority & 15]; strict priority at dequeue (prio_dequeue: the first band whose
 *                 qdisc gives a packet); each band a pfifo/bfifo, or sfq, fq_codel, tbf
 *
 * tbf is in gen-tbf.ts.
 */
import { isFifoLeaf, type BfifoQdisc, type FifoLeaf, type PfifoQdisc, type PrioQdisc } from "./ir.js";
import { leafCodes, leafSlots } from "./leaves.js";
import { fifoCapacity, rootEnqueueExits } from "./qdisc-code.js";
import { type Generated, NOW, packetsFor, r0, r1, r2, r3, r4, r9, r11, scratchFor, SchedAsm, ZERO } from "./sched-asm.js";
import type { Handle } from "./units.js";

export function genFifo(q: PfifoQdisc | BfifoQdisc): Generated {
  const a = new SchedAsm();
  const deq = a.label("dequeue");
  const full = a.label("full");
  a.prologue();
  a.dispatch(deq);
  a.admit(0, q, full, r0, r1, r2);
  a.exitQueueConst(0);
  a.bind(full);
  a.refuse(0);
  a.bind(deq);
  const idle = a.label("idle");
  a.emit("qlen", r1, ZERO);
  a.emit("jeq", r1, 0, idle);
  a.exitQueueConst(0);
  a.bind(idle);
  a.idle();
  return a.build(1, packetsFor(q.kind === "pfifo" ? q.limit : Math.ceil(q.limit / 64)));
}

export function genPrio(q: PrioQdisc, rootHandle: Handle): Generated {
  if (!q.leaves.every(isFifoLeaf)) return genPrioWithQdiscs(q, rootHandle);
  const a = new SchedAsm();
  const deq = a.label("dequeue");
  a.prologue();
  a.dispatch(deq);
  band(a, q);
  const bands = q.leaves.map((_, i) => a.label(`band${i}`));
  for (let i = 0; i < q.bands; i++) a.emit("jeq", r0, i, bands[i]!);
  a.refuse(undefined); // not reached: the compiler maps every flowid to a band
  for (let i = 0; i < q.bands; i++) {
    const full = a.label(`full${i}`);
    a.bind(bands[i]!);
    a.admit(i, q.leaves[i] as FifoLeaf, full, r1, r2, r3);
    a.exitQueueConst(i);
    a.bind(full);
    a.refuse(i);
  }
  a.bind(deq);
  for (let i = 0; i < q.bands; i++) {
    const next = a.label(`next${i}`);
    a.k(r4, i);
    a.emit("qlen", r1, r4);
    a.emit("jeq", r1, 0, next);
    a.exitQueueConst(i);
    a.bind(next);
  }
  a.idle();
  const total = q.leaves.reduce((n, l) => n + fifoCapacity(l as FifoLeaf), 0);
  return a.build(q.bands, packetsFor(total));
}

/** prio's band: meta.class − 1 from a filter, else the priomap of the skb priority (r0; r1, r2 used). */
function band(a: SchedAsm, q: PrioQdisc): void {
  const haveBand = a.label("band");
  a.emit("ldf", r0, "meta.class");
  a.emit("jne", r0, 0, haveBand);
  a.emit("ldf", r1, "pkt.priority");
  a.emit("and", r1, r1, 15);
  a.emit("mul", r1, r1, 4);
  a.k(r2, q.priomap.reduce((acc, b, i) => acc | (BigInt(b) << BigInt(4 * i)), 0n));
  a.emit("shr", r2, r2, r1);
  a.emit("and", r2, r2, 15);
  a.emit("add", r0, r2, 1);
  a.bind(haveBand);
  a.emit("sub", r0, r0, 1);
}

/**
 * prio whose bands end in qdiscs (sfq, fq_codel, tbf, FIFOs): a band's packet goes through its qdisc's enqueue;
 * at dequeue the first band whose qdisc has packets runs its dequeue (prio_dequeue's qdisc_dequeue_peeked). A
 * band's tbf that must wait for tokens is passed over until then, and its wait is the program's timer.
 */
function genPrioWithQdiscs(q: PrioQdisc, rootHandle: Handle): Generated {
  const a = new SchedAsm();
  const THROTTLE = a.state("leaf wait", q.bands);
  const codes = leafCodes(a, leafSlots(q, rootHandle));
  const initialised = codes.some((c) => c.init) ? a.state("init") : -1;
  const deq = a.label("dequeue");
  a.prologue();
  if (initialised >= 0) {
    const ready = a.label("ready");
    a.ld(r0, initialised);
    a.emit("jne", r0, 0, ready);
    a.sti(initialised, 1, r0);
    for (const c of codes) c.init?.();
    a.bind(ready);
  }
  a.dispatch(deq);
  band(a, q);
  const bands = q.leaves.map((_, i) => a.label(`band${i}`));
  for (let i = 0; i < q.bands; i++) a.emit("jeq", r0, i, bands[i]!);
  a.refuse(undefined); // not reached: the compiler maps every flowid to a band
  codes.forEach((c, i) => {
    a.bind(bands[i]!);
    c.enqueue(rootEnqueueExits(a, r9));
  });
  a.bind(deq);
  const dequeues = codes.map((_, i) => a.label(`dequeue${i}`));
  a.k(r11, ALL_ONES); // the earliest wait of a band
  codes.forEach((c, i) => {
    const next = a.label(`next${i}`);
    const waiting = a.label(`waiting${i}`);
    c.held(r1, r4);
    a.emit("jeq", r1, 0, next);
    a.ld(r2, THROTTLE + i);
    a.emit("jgt", r2, NOW, waiting);
    a.emit("ja", dequeues[i]!);
    a.bind(waiting);
    a.emit("min", r11, r11, r2);
    a.bind(next);
  });
  const noTimer = a.label("notimer");
  a.k(r1, ALL_ONES);
  a.emit("jeq", r11, r1, noTimer);
  a.idle(r11);
  a.bind(noTimer);
  a.idle();
  codes.forEach((c, i) => {
    a.bind(dequeues[i]!);
    c.dequeue({
      send: (rq) => a.exitQueue(rq, scratchFor(rq)),
      again: () => a.again(),
      // emptied by its own drops: the next band
      idle: () => a.again(),
      wait: (at) => {
        a.st(THROTTLE + i, at);
        a.again();
      },
    });
  });
  return a.build(codes.reduce((n, c) => n + c.queues, 0), packetsFor(codes.reduce((n, c) => n + c.capacity, 0)));
}

const ALL_ONES = (1n << 64n) - 1n;
