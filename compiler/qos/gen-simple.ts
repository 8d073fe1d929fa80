/**
 * Scheduler programs of the simple qdiscs, each one event handler per packet arrival and per link opportunity
 * (runtime/sched/README.md), with Linux's semantics:
 *
 *  pfifo / bfifo  one queue; tail drop at `limit` packets / bytes (fifo_enqueue)
 *  prio           one queue per band; band = the filter's flowid, else priomap[skb priority & 15]; strict
 *                 priority at dequeue (prio_dequeue); each band a pfifo/bfifo
 *  tbf            one queue (a bfifo of `limit` bytes); a packet over the burst is dropped at enqueue; at dequeue
 *                 the head leaves when the token bucket (and the peak bucket) have its length, else the program
 *                 asks to be called when they will (tbf_dequeue, tokens in ns of transmission time)
 */
import type { BfifoQdisc, PfifoQdisc, PrioQdisc, TbfQdisc } from "./ir.js";
import { lengthToTime, rateConfig } from "./lower.js";
import { BIAS, NOW, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, SchedAsm, type SchedLayout, ZERO } from "./sched-asm.js";
import type { ProgramImage } from "../../overlay-isa/index.js";

export interface Generated {
  image: ProgramImage;
  layout: SchedLayout;
}

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

/** Descriptors for a qdisc that may hold `n` packets (bounded so a huge limit does not ask for gigabytes). */
export function packetsFor(n: number): number {
  return Math.max(16, Math.min(n + 1, 1 << 20));
}

export function genPrio(q: PrioQdisc): Generated {
  const a = new SchedAsm();
  const deq = a.label("dequeue");
  a.prologue();
  a.dispatch(deq);
  // band: meta.class − 1 from a filter, else the priomap of the skb priority
  const haveBand = a.label("band");
  a.emit("ldf", r0, "meta.class");
  a.emit("jne", r0, 0, haveBand);
  a.emit("ldf", r1, "pkt.priority");
  a.emit("and", r1, r1, 15);
  a.emit("mul", r1, r1, 4);
  a.k(r2, q.priomap.reduce((acc, band, i) => acc | (BigInt(band) << BigInt(4 * i)), 0n));
  a.emit("shr", r2, r2, r1);
  a.emit("and", r2, r2, 15);
  a.emit("add", r0, r2, 1);
  a.bind(haveBand);
  a.emit("sub", r0, r0, 1);
  const bands = q.leaves.map((_, i) => a.label(`band${i}`));
  for (let i = 0; i < q.bands; i++) a.emit("jeq", r0, i, bands[i]!);
  a.refuse(undefined); // not reached: the compiler maps every flowid to a band
  for (let i = 0; i < q.bands; i++) {
    const full = a.label(`full${i}`);
    a.bind(bands[i]!);
    a.admit(i, q.leaves[i]!, full, r1, r2, r3);
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
  const total = q.leaves.reduce((n, l) => n + (l.kind === "pfifo" ? l.limit : Math.ceil(l.limit / 64)), 0);
  return a.build(q.bands, packetsFor(total));
}

export function genTbf(q: TbfQdisc): Generated {
  const a = new SchedAsm();
  const INIT = a.state("init");
  const TOKENS = a.state("tokens");
  const PTOKENS = a.state("ptokens");
  const TC = a.state("t_c");
  const overlimits = a.counter("overlimits");
  const peak = q.peakrate !== undefined;
  const buffer = lengthToTime(q.rate, q.burst);
  const mtuTime = peak ? lengthToTime(q.peakrate!, q.mtu!) : 0;
  const maxSize = peak ? Math.min(q.burst, q.mtu!) : q.burst;
  const rate = rateConfig(q.rate);
  const prate = peak ? rateConfig(q.peakrate!) : undefined;

  const deq = a.label("dequeue");
  const ready = a.label("ready");
  a.prologue();
  // tbf_init: a full bucket, t_c = now
  a.ld(r0, INIT);
  a.emit("jne", r0, 0, ready);
  a.sti(INIT, 1, r0);
  a.sti(TOKENS, BIAS + BigInt(buffer), r0);
  a.sti(PTOKENS, BIAS + BigInt(mtuTime), r0);
  a.st(TC, NOW);
  a.bind(ready);
  a.dispatch(deq);
  // enqueue: a packet over max_size is dropped (tbf_enqueue), then the child bfifo's limit
  const drop = a.label("drop");
  a.emit("ldf", r1, "pkt.len");
  a.emit("jgt", r1, maxSize, drop);
  a.admit(0, { kind: "bfifo", limit: q.limit }, drop, r2, r3, r4);
  a.exitQueueConst(0);
  a.bind(drop);
  a.refuse(0);

  // dequeue: tbf_dequeue
  a.bind(deq);
  const idle = a.label("idle");
  const wait = a.label("wait");
  a.emit("qhead", r1, ZERO); // len
  a.emit("jeq", r1, 0, idle);
  a.k(r9, BIAS);
  a.ld(r2, TC);
  a.emit("sub", r3, NOW, r2);
  a.k(r4, buffer);
  a.emit("min", r3, r3, r4); // toks = min(now − t_c, buffer)
  if (prate) {
    a.ld(r6, PTOKENS);
    a.emit("add", r6, r6, r3); // ptoks = toks + ptokens, at most mtu
    a.k(r7, BIAS + BigInt(mtuTime));
    a.emit("min", r6, r6, r7);
    a.emit("mul", r7, r1, Number(prate.mult));
    a.emit("shr", r7, r7, prate.shift);
    a.emit("sub", r6, r6, r7);
  }
  a.ld(r5, TOKENS);
  a.emit("add", r5, r5, r3); // toks += tokens, at most buffer
  a.k(r7, BIAS + BigInt(buffer));
  a.emit("min", r5, r5, r7);
  a.emit("mul", r7, r1, Number(rate.mult)); // psched_l2t_ns(rate, len)
  a.emit("shr", r7, r7, rate.shift);
  a.emit("sub", r5, r5, r7);
  a.jneg(r5, r9, wait);
  if (prate) a.jneg(r6, r9, wait);
  a.st(TOKENS, r5);
  if (prate) a.st(PTOKENS, r6);
  a.st(TC, NOW);
  a.exitQueueConst(0);
  a.bind(wait);
  // watchdog at now + max(−toks, −ptoks)
  const noTok = a.label("notok");
  a.emit("mov", r8, 0);
  a.emit("jge", r5, r9, noTok);
  a.emit("sub", r8, r9, r5);
  a.bind(noTok);
  if (prate) {
    const noPeak = a.label("nopeak");
    a.emit("jge", r6, r9, noPeak);
    a.emit("sub", r6, r9, r6);
    a.emit("max", r8, r8, r6);
    a.bind(noPeak);
  }
  a.emit("add", r8, NOW, r8);
  a.emit("count", overlimits, ZERO);
  a.idle(r8);
  a.bind(idle);
  a.idle();
  return a.build(1, packetsFor(Math.ceil(q.limit / 64) + 1));
}
