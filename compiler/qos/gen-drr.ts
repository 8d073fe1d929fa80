/**
 * Scheduler programs of the deficit round-robin qdiscs, with Linux's semantics (sch_drr.c, sch_sfq.c). Lists
 * live in state memory as `index + 1` links (0 ends a list, so zeroed memory is an empty list). A dequeue
 * event does one step of the kernel's loop — serve the head class, or give it a quantum and move it on — and
 * says "run again" after a step that sent nothing, so the work per event is bounded.
 *
 *  drr  classes by filter (unclassified packets are dropped, as drr does); a class joins the tail of the
 *       active list with deficit = quantum when its queue was empty; the head sends while its head packet
 *       fits its deficit, else gets another quantum and goes to the tail
 *  sfq  one queue per hash bucket (divisor); at most `flows` buckets active, `depth` packets each, `limit`
 *       in all — over it the longest flow loses its tail (sfq_drop); a new flow joins after the ring's tail
 *       with allot = quantum (in 8-byte units as the kernel counts); the flow after the tail sends while its
 *       allot is positive. `perturb N` re-seeds the hash every N seconds (packets already queued stay in
 *       their buckets; the kernel also moves them)
 */
import type { DrrQdisc, FifoLeaf, SfqQdisc } from "./ir.js";
import { fifoCapacity, QUEUE, finishRootProgram, type DequeueExits, type EnqueueExits, type Place, type QdiscCode } from "./qdisc-code.js";
import { BIAS, type Generated, NOW, packetsFor, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, type Reg, SchedAsm, ZERO } from "./sched-asm.js";

export function genDrr(q: DrrQdisc): Generated {
  const a = new SchedAsm();
  const C = q.classes.length;
  const INIT = a.state("init");
  const HEAD = a.state("head");
  const TAIL = a.state("tail");
  const NEXT = a.state("next", C);
  const DEF = a.state("deficit", C);
  const QUANT = a.state("quantum", C);
  q.classes.forEach((c, i) => (a.words[`class ${i} deficit`] = DEF + i));

  const deq = a.label("dequeue");
  const ready = a.label("ready");
  a.prologue();
  a.ld(r0, INIT);
  a.emit("jne", r0, 0, ready);
  a.sti(INIT, 1, r0);
  q.classes.forEach((c, i) => a.sti(QUANT + i, c.quantum, r0));
  a.bind(ready);
  a.dispatch(deq);

  // enqueue: the filter's class (drr_classify); none: dropped
  const append = a.label("append");
  a.emit("ldf", r0, "meta.class");
  const unclassified = a.label("unclassified");
  a.emit("jeq", r0, 0, unclassified);
  a.emit("sub", r0, r0, 1);
  const labels = q.classes.map((_, i) => a.label(`class${i}`));
  q.classes.forEach((_, i) => a.emit("jeq", r0, i, labels[i]!));
  a.bind(unclassified);
  a.refuse(undefined);
  q.classes.forEach((c, i) => {
    const full = a.label(`full${i}`);
    a.bind(labels[i]!);
    a.admit(i, c.leaf as FifoLeaf, full, r1, r2, r3);
    a.emit("qlen", r2, r1);
    a.emit("mov", r4, i + 1);
    a.emit("jeq", r2, 0, append); // first packet: the class becomes active
    a.exitQueueConst(i);
    a.bind(full);
    a.refuse(i);
  });
  // append class r4 − 1 to the active list's tail with deficit = quantum, then queue the packet
  a.bind(append);
  const nonEmpty = a.label("nonempty");
  const setTail = a.label("settail");
  a.emit("sub", r5, r4, 1);
  a.stx(r5, NEXT, ZERO);
  a.ld(r6, TAIL);
  a.emit("jne", r6, 0, nonEmpty);
  a.st(HEAD, r4);
  a.emit("ja", setTail);
  a.bind(nonEmpty);
  a.emit("sub", r6, r6, 1);
  a.stx(r6, NEXT, r4);
  a.bind(setTail);
  a.st(TAIL, r4);
  a.ldx(r7, r5, QUANT);
  a.stx(r5, DEF, r7);
  a.exitQueue(r5, r8);

  // dequeue: one step of drr_dequeue
  a.bind(deq);
  const idle = a.label("idle");
  const rotate = a.label("rotate");
  const send = a.label("send");
  const popHead = a.label("pophead");
  a.ld(r1, HEAD);
  a.emit("jeq", r1, 0, idle);
  a.emit("sub", r2, r1, 1);
  a.emit("qhead", r3, r2);
  const stale = a.label("stale");
  a.emit("jeq", r3, 0, stale);
  a.ldx(r4, r2, DEF);
  a.emit("jgt", r3, r4, rotate);
  a.emit("sub", r4, r4, r3);
  a.stx(r2, DEF, r4);
  a.emit("qlen", r5, r2);
  a.emit("jne", r5, 1, send);
  // the class empties with this packet: it leaves the active list
  a.ldx(r6, r2, NEXT);
  a.st(HEAD, r6);
  a.emit("jne", r6, 0, send);
  a.st(TAIL, ZERO);
  a.bind(send);
  a.exitQueue(r2, r8);
  a.bind(rotate);
  // another quantum, and the class moves to the tail
  a.ldx(r5, r2, QUANT);
  a.emit("add", r4, r4, r5);
  a.stx(r2, DEF, r4);
  const again = a.label("again");
  a.ld(r6, TAIL);
  a.emit("jeq", r6, r1, again);
  a.ldx(r7, r2, NEXT);
  a.st(HEAD, r7);
  a.stx(r2, NEXT, ZERO);
  a.emit("sub", r8, r6, 1);
  a.stx(r8, NEXT, r1);
  a.st(TAIL, r1);
  a.bind(again);
  a.again();
  a.bind(stale);
  // an empty class on the list (not reached: a class leaves when it empties); drop it from the list
  a.bind(popHead);
  a.ldx(r6, r2, NEXT);
  a.st(HEAD, r6);
  const done = a.label("done");
  a.emit("jne", r6, 0, done);
  a.st(TAIL, ZERO);
  a.bind(done);
  a.again();
  a.bind(idle);
  a.idle();
  // drr's classes end in FIFOs (lower.ts refuses other leaves: drr peeks)
  const total = q.classes.reduce((n, c) => n + fifoCapacity(c.leaf as FifoLeaf), 0);
  return a.build(Math.max(1, C), packetsFor(total));
}

/** sfq's allot unit: the kernel counts allot in 8-byte units (SFQ_ALLOT_SHIFT 3). */
const allotUnits = (bytes: number) => Math.ceil(bytes / 8);

/**
 * sfq's code, as the root (queues from 0, the flow index is the queue) or under a class (queues from `base`:
 * the queue is in QUEUE, the flow index stays the state's index).
 */
export class SfqCode implements QdiscCode {
  readonly queues: number;
  readonly capacity: number;
  private readonly TAIL: number;
  private readonly ACTIVE: number;
  private readonly TOTAL: number;
  private readonly NEXT: number;
  private readonly ALLOT: number;
  private readonly root: boolean;

  constructor(
    private readonly a: SchedAsm,
    private readonly q: SfqQdisc,
    private readonly place: Place,
    private readonly hasFilters: boolean,
  ) {
    this.root = place.base === 0 && place.prefix === "";
    const D = q.divisor;
    const p = place.prefix;
    this.TAIL = a.state(`${p}tail`);
    this.ACTIVE = a.state(`${p}active`);
    this.TOTAL = a.state(`${p}total`);
    this.NEXT = a.state(`${p}next`, D);
    this.ALLOT = a.state(`${p}allot`, D);
    this.queues = D;
    this.capacity = q.limit + 1;
  }

  held(rd: Reg): void {
    this.a.ld(rd, this.TOTAL);
  }

  /** the queue of flow `flow`: the flow itself at the root, else QUEUE = flow + base */
  private queueOf(flow: Reg): Reg {
    if (this.root) return flow;
    this.a.emit("add", QUEUE, flow, this.place.base);
    return QUEUE;
  }

  enqueue(x: EnqueueExits): void {
    const a = this.a;
    const q = this.q;
    const D = q.divisor;
    const { TAIL, ACTIVE, TOTAL, NEXT, ALLOT } = this;
    const quantumUnits = allotUnits(q.quantum);
    // the bucket (sfq_classify): skb priority MAJOR:N of this qdisc, else the filter's flowid, else the hash
    const bucket = a.label("bucket");
    const bypass = a.label("bypass");
    const noPrio = a.label("noprio");
    if (this.place.handle !== undefined) {
      a.emit("ldf", r1, "pkt.priority");
      a.emit("shr", r2, r1, 16);
      a.emit("jne", r2, this.place.handle >>> 16, noPrio);
      a.emit("and", r2, r1, 0xffff);
      a.emit("jeq", r2, 0, noPrio);
      a.emit("jgt", r2, D, noPrio);
      a.emit("sub", r0, r2, 1);
      a.emit("ja", bucket);
    }
    a.bind(noPrio);
    if (this.hasFilters) {
      a.emit("ldf", r0, "meta.class");
      a.emit("jeq", r0, 0, bypass);
      a.emit("sub", r0, r0, 1);
    } else {
      if (q.perturbSec > 0) {
        a.k(r2, BigInt(q.perturbSec) * 1_000_000_000n);
        a.emit("div", r1, NOW, r2);
        a.emit("add", r1, r1, 0x5f3);
      } else a.emit("mov", r1, 0x5f3);
      a.emit("fhash", r2, r1);
      a.emit("and", r0, r2, D - 1);
    }
    a.bind(bucket);
    const QR = this.queueOf(r0);
    const oldSlot = a.label("oldslot");
    const noRoom = a.label("noroom");
    const tooDeep = a.label("toodeep");
    a.emit("qlen", r1, QR);
    a.emit("jne", r1, 0, oldSlot);
    a.ld(r2, ACTIVE);
    a.emit("jge", r2, q.flows, noRoom); // no free slot
    a.bind(oldSlot);
    const depthOk = a.label("depthok");
    a.emit("jlt", r1, q.depth, depthOk);
    const enqueue = a.label("enqueue");
    if (!q.headdrop) a.emit("ja", tooDeep);
    else {
      // headdrop: the flow's oldest packet makes room and the new one takes its place (no limit check)
      a.emit("qdrop", QR, 0);
      if (this.root) a.emit("ja", enqueue);
      else x.congested(QR);
    }
    a.bind(depthOk);
    const admitted = a.label("admitted");
    const counted = a.label("counted");
    const dropOurs = a.label("dropours");
    const deep = a.label("deep");
    a.ld(r2, TOTAL);
    a.emit("add", r2, r2, 1);
    a.emit("jle", r2, q.limit, admitted);
    // over the limit: sfq_drop takes a packet from the longest flow (this one counted with its new packet)
    if (this.root) a.emit("qmaxp", r3, ZERO, D);
    else {
      a.k(r10, this.place.base);
      a.emit("qmaxp", r3, r10, D);
    }
    a.emit("qlen", r4, r3);
    a.emit("add", r5, r1, 1);
    a.emit("max", r6, r4, r5);
    a.emit("jgt", r6, 1, deep);
    // every flow holds one packet: the flow after the tail loses its packet and its slot
    a.ld(r7, TAIL);
    a.emit("jeq", r7, 0, dropOurs);
    a.emit("sub", r7, r7, 1);
    a.ldx(r8, r7, NEXT);
    a.emit("sub", r8, r8, 1);
    if (this.root) a.emit("qdrop", r8, 0);
    else {
      a.emit("add", r10, r8, this.place.base);
      a.emit("qdrop", r10, 0);
    }
    a.ldx(r9, r8, NEXT);
    a.stx(r7, NEXT, r9);
    const unlinked = a.label("unlinked");
    a.emit("jne", r8, r7, unlinked);
    a.st(TAIL, ZERO);
    a.bind(unlinked);
    a.ld(r9, ACTIVE);
    a.emit("sub", r9, r9, 1);
    a.st(ACTIVE, r9);
    a.emit("ja", counted);
    a.bind(deep);
    a.emit("jge", r5, r4, dropOurs); // this flow is the longest: its new packet goes
    a.emit("qdrop", r3, 1);
    a.emit("ja", counted);
    a.bind(dropOurs);
    x.refuse(QR);
    a.bind(admitted);
    a.st(TOTAL, r2);
    a.bind(counted);
    // a new flow joins after the tail and becomes the tail, with a quantum
    a.emit("jne", r1, 0, enqueue);
    a.ld(r2, ACTIVE);
    a.emit("add", r2, r2, 1);
    a.st(ACTIVE, r2);
    a.emit("add", r3, r0, 1);
    a.ld(r4, TAIL);
    const linked = a.label("linked");
    const first = a.label("first");
    a.emit("jeq", r4, 0, first);
    a.emit("sub", r5, r4, 1);
    a.ldx(r6, r5, NEXT);
    a.stx(r0, NEXT, r6);
    a.stx(r5, NEXT, r3);
    a.emit("ja", linked);
    a.bind(first);
    a.stx(r0, NEXT, r3);
    a.bind(linked);
    a.st(TAIL, r3);
    a.k(r6, BIAS + BigInt(quantumUnits));
    a.stx(r0, ALLOT, r6);
    a.bind(enqueue);
    x.queue(QR);
    a.bind(noRoom);
    x.refuse(QR);
    a.bind(tooDeep);
    x.refuse(QR);
    a.bind(bypass);
    x.refuseUnclassified();
  }

  /** one step of sfq_dequeue */
  dequeue(x: DequeueExits): void {
    const a = this.a;
    const { TAIL, ACTIVE, TOTAL, NEXT, ALLOT } = this;
    const quantumUnits = allotUnits(this.q.quantum);
    const idle = a.label("idle");
    const serve = a.label("serve");
    const keep = a.label("keep");
    a.ld(r1, TAIL);
    a.emit("jeq", r1, 0, idle);
    a.emit("sub", r1, r1, 1); // the tail
    a.ldx(r2, r1, NEXT);
    a.emit("sub", r2, r2, 1); // a = tail → next
    a.ldx(r3, r2, ALLOT);
    a.k(r9, BIAS);
    a.emit("jgt", r3, r9, serve);
    a.emit("add", r3, r3, quantumUnits);
    a.stx(r2, ALLOT, r3);
    a.emit("add", r4, r2, 1);
    a.st(TAIL, r4);
    x.again();
    a.bind(serve);
    const QR = this.queueOf(r2);
    a.emit("qhead", r5, QR);
    a.emit("qlen", r6, QR);
    a.ld(r7, TOTAL);
    a.emit("sub", r7, r7, 1);
    a.st(TOTAL, r7);
    a.emit("jne", r6, 1, keep);
    // the flow empties: it leaves the ring
    a.ld(r7, ACTIVE);
    a.emit("sub", r7, r7, 1);
    a.st(ACTIVE, r7);
    a.ldx(r8, r2, NEXT);
    a.emit("sub", r8, r8, 1);
    const notLast = a.label("notlast");
    a.emit("jne", r8, r2, notLast);
    a.st(TAIL, ZERO);
    x.send(QR);
    a.bind(notLast);
    a.emit("add", r8, r8, 1);
    a.stx(r1, NEXT, r8);
    x.send(QR);
    a.bind(keep);
    a.emit("add", r8, r5, 7);
    a.emit("shr", r8, r8, 3);
    a.emit("sub", r3, r3, r8);
    a.stx(r2, ALLOT, r3);
    x.send(QR);
    a.bind(idle);
    x.idle();
  }
}

export function genSfq(q: SfqQdisc, handle: number, hasFilters: boolean): Generated {
  const a = new SchedAsm();
  const code = new SfqCode(a, q, { base: 0, prefix: "", handle }, hasFilters);
  const deq = a.label("dequeue");
  a.prologue();
  return finishRootProgram(a, code, deq, q.divisor);
}
