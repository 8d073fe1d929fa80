/**
 * The fq_codel scheduler program (Linux sch_fq_codel.c with include/net/codel_impl.h). One queue per flow.
 *
 *  enqueue  flow = the filter's flowid, else reciprocal_scale(flow hash, flows); a flow that was on no list
 *           joins new_flows with deficit = quantum (new_flow_count); over `limit` packets (or memory_limit
 *           bytes) the fattest flow loses packets from its head until half its backlog or drop_batch packets
 *           are gone (fq_codel_drop; drop_overlimit)
 *  dequeue  one step of fq_codel_dequeue: the first flow of new_flows, else old_flows; a flow whose deficit is
 *           spent gets a quantum and moves to old_flows; otherwise CoDel decides on its head packet with the
 *           flow's own state: it starts dropping (or ECN-marking) only once the sojourn time has stayed above
 *           `target` for `interval` (codel_should_drop), and then drops at interval / √count (the control law,
 *           with the kernel's Newton step for 1/√count in 16 bits); an emptied flow moves to old_flows (from
 *           new_flows) or off the lists
 *
 * Times are ns (the kernel's CoDel clock counts 1024 ns units). Memory is counted in wire bytes (the kernel
 * counts skb truesize).
 */
import type { FqCodelQdisc } from "./ir.js";
import { QUEUE, finishRootProgram, type DequeueExits, type EnqueueExits, type Place, type QdiscCode } from "./qdisc-code.js";
import { BIAS, type Generated, NOW, packetsFor, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, type Reg, SchedAsm, ZERO } from "./sched-asm.js";
import { DEVICE } from "./ir.js";

const LIST_NEW = 1;
const LIST_OLD = 2;

/**
 * fq_codel's code, as the root (queues from 0, the flow index is the queue) or under a class (queues from
 * `base`: the flow's queue is in QUEUE; an skb priority MAJOR:N of its handle picks flow N, as fq_codel_classify).
 */
export function fqCodelCode(a: SchedAsm, q: FqCodelQdisc, place: Place, hasFilters: boolean): QdiscCode {
  const root = place.base === 0 && place.prefix === "";
  const P = place.prefix;
  const F = q.flows;
  const target = q.targetUs * 1000;
  const interval = q.intervalUs * 1000;
  const mtu = DEVICE.pschedMtu;
  const NEW_HEAD = a.state(`${P}new head`);
  const NEW_TAIL = a.state(`${P}new tail`);
  const OLD_HEAD = a.state(`${P}old head`);
  const OLD_TAIL = a.state(`${P}old tail`);
  const TOTAL = a.state(`${P}qlen`);
  const BACKLOG = a.state(`${P}backlog`);
  const MAXPACKET = a.state(`${P}maxpacket`);
  const NEXT = a.state(`${P}next`, F);
  const LIST = a.state(`${P}list`, F);
  const DEF = a.state(`${P}deficit`, F);
  const COUNT = a.state(`${P}count`, F);
  const LASTCOUNT = a.state(`${P}lastcount`, F);
  const DROPPING = a.state(`${P}dropping`, F);
  const RIS = a.state(`${P}rec_inv_sqrt`, F);
  const FIRST_ABOVE = a.state(`${P}first_above_time`, F);
  const DROP_NEXT = a.state(`${P}drop_next`, F);
  const LDELAY = a.state(`${P}ldelay`, F);
  const dropOverlimit = a.counter(`${P}drop_overlimit`);
  /** Count an overlimit drop of a packet of `len` bytes and take it out of the qdisc's qlen and backlog (uses r9). */
  const overlimitDrop = (len: Reg) => {
    a.emit("count", dropOverlimit, ZERO);
    a.ld(r9, TOTAL);
    a.emit("sub", r9, r9, 1);
    a.st(TOTAL, r9);
    a.ld(r9, BACKLOG);
    a.emit("sub", r9, r9, len);
    a.st(BACKLOG, r9);
  };
  const newFlowCount = a.counter(`${P}new_flow_count`);
  const ecnMark = a.counter(`${P}ecn_mark`);
  const codelDrops = a.counter(`${P}codel_drops`);

  /** Append flow (index in rf, index + 1 in rf1) to a list's tail. */
  const append = (head: number, tail: number, rf: Reg, rf1: Reg, t: Reg, tag: number): void => {
    const empty = a.label();
    const done = a.label();
    a.stx(rf, NEXT, ZERO);
    a.ld(t, tail);
    a.emit("jeq", t, 0, empty);
    a.emit("sub", t, t, 1);
    a.stx(t, NEXT, rf1);
    a.emit("ja", done);
    a.bind(empty);
    a.st(head, rf1);
    a.bind(done);
    a.st(tail, rf1);
    a.emit("mov", t, tag);
    a.stx(rf, LIST, t);
  };
  /** Remove the head flow (rf) of a list. */
  const popHead = (head: number, tail: number, rf: Reg, t: Reg): void => {
    const done = a.label();
    a.ldx(t, rf, NEXT);
    a.st(head, t);
    a.emit("jne", t, 0, done);
    a.st(tail, ZERO);
    a.bind(done);
  };

  /** the flow's queue: the flow itself at the root, else QUEUE = flow + base */
  const queueOf = (flow: Reg): Reg => {
    if (root) return flow;
    a.emit("add", QUEUE, flow, place.base);
    return QUEUE;
  };

  // ---- enqueue ----
  const enqueue = (x: EnqueueExits): void => {
    const flow = a.label("flow");
    const bypass = a.label("bypass");
    if (!root && place.handle !== undefined) {
      // fq_codel_classify: an skb priority MAJOR:N of this qdisc names flow N
      const hash = a.label("hash");
      a.emit("ldf", r1, "pkt.priority");
      a.emit("shr", r2, r1, 16);
      a.emit("jne", r2, place.handle >>> 16, hash);
      a.emit("and", r2, r1, 0xffff);
      a.emit("jeq", r2, 0, hash);
      a.emit("jgt", r2, F, hash);
      a.emit("sub", r0, r2, 1);
      a.emit("ja", flow);
      a.bind(hash);
    }
    if (hasFilters) {
      a.emit("ldf", r0, "meta.class");
      a.emit("jeq", r0, 0, bypass);
      a.emit("sub", r0, r0, 1);
    } else {
      a.emit("mov", r1, 0x2f1);
      a.emit("fhash", r2, r1);
      a.emit("mul", r2, r2, F);
      a.emit("shr", r0, r2, 32); // reciprocal_scale(hash, flows)
    }
    a.bind(flow);
    const QR = queueOf(r0);
    a.emit("ldf", r1, "pkt.len");
    a.emit("add", r10, r0, 1);
    // a flow on no list joins new_flows
    const listed = a.label("listed");
    a.ldx(r2, r0, LIST);
    a.emit("jne", r2, 0, listed);
    append(NEW_HEAD, NEW_TAIL, r0, r10, r3, LIST_NEW);
    a.emit("count", newFlowCount, ZERO);
    a.k(r3, BIAS + BigInt(q.quantum));
    a.stx(r0, DEF, r3);
    a.bind(listed);
    a.ld(r2, TOTAL);
    a.emit("add", r2, r2, 1);
    a.st(TOTAL, r2);
    a.ld(r3, BACKLOG);
    a.emit("add", r3, r3, r1);
    a.st(BACKLOG, r3);
    const accept = a.label("accept");
    const overlimit = a.label("overlimit");
    a.emit("jgt", r2, q.limit, overlimit);
    a.emit("jle", r3, Math.min(q.memoryLimit, 0xffffffff), accept);
    a.bind(overlimit);
    // fq_codel_drop: the fattest flow (this packet counted) loses head packets: half its backlog, at most a batch
    const oursFat = a.label("oursfat");
    const fatKnown = a.label("fatknown");
    if (root) a.emit("qmaxb", r4, ZERO, F);
    else {
      a.k(r12, place.base);
      a.emit("qmaxb", r4, r12, F);
    }
    a.emit("qbytes", r5, r4);
    a.emit("qbytes", r6, QR);
    a.emit("add", r6, r6, r1);
    a.emit("jgt", r6, r5, oursFat);
    a.emit("jlt", r6, r5, fatKnown);
    a.emit("jlt", QR, r4, oursFat); // equal backlogs: the lower index, as the kernel's scan finds it
    a.emit("ja", fatKnown);
    a.bind(oursFat);
    a.emit("mov", r4, QR);
    a.emit("mov", r5, r6);
    a.bind(fatKnown);
    a.emit("shr", r5, r5, 1); // threshold
    a.emit("mov", r7, 0); // bytes dropped
    const dropsDone = a.label("dropsdone");
    const droppedOurs = a.label("droppedours");
    for (let i = 0; i < q.dropBatch; i++) {
      const real = a.label();
      a.emit("qhead", r8, r4);
      a.emit("jne", r8, 0, real);
      // the flow's queued packets are gone: the next at its head is the arriving one
      a.emit("jeq", r4, QR, droppedOurs);
      a.emit("ja", dropsDone);
      a.bind(real);
      a.emit("qdrop", r4, 0);
      a.emit("add", r7, r7, r8);
      overlimitDrop(r8);
      if (i < q.dropBatch - 1) a.emit("jge", r7, r5, dropsDone);
    }
    a.bind(dropsDone);
    // packets of the arriving packet's own flow were dropped: the kernel returns NET_XMIT_CN
    if (!root) {
      a.emit("jne", r4, QR, accept);
      x.congested(QR);
    }
    a.bind(accept);
    x.queue(QR);
    a.bind(droppedOurs);
    // the arriving packet itself is dropped (the flow was this packet alone)
    overlimitDrop(r1);
    x.refuse(QR);
    a.bind(bypass);
    x.refuseUnclassified();
  };

  // ---- dequeue: one step of fq_codel_dequeue ----
  // registers: r0 flow, r10 flow + 1, r11 list (1 new, 2 old), r12 BIAS, QR the flow's queue
  const dequeue = (x: DequeueExits): void => {
    const got = a.label("got");
    const idle = a.label("idle");
    a.k(r12, BIAS);
    a.ld(r10, NEW_HEAD);
    a.emit("mov", r11, LIST_NEW);
    a.emit("jne", r10, 0, got);
    a.ld(r10, OLD_HEAD);
    a.emit("mov", r11, LIST_OLD);
    a.emit("jne", r10, 0, got);
    a.bind(idle);
    x.idle();
    a.bind(got);
    a.emit("sub", r0, r10, 1);
    const QR = queueOf(r0);
    /** Take the flow off the head of its list (r11 says which). */
    const popCurrent = (t: Reg): void => {
      const fromOld = a.label();
      const done = a.label();
      a.emit("jne", r11, LIST_NEW, fromOld);
      popHead(NEW_HEAD, NEW_TAIL, r0, t);
      a.emit("ja", done);
      a.bind(fromOld);
      popHead(OLD_HEAD, OLD_TAIL, r0, t);
      a.bind(done);
    };
    // a spent deficit: another quantum, and the flow goes to old_flows' tail
    const positive = a.label("positive");
    a.ldx(r1, r0, DEF);
    a.emit("jgt", r1, r12, positive);
    a.emit("add", r1, r1, q.quantum);
    a.stx(r0, DEF, r1);
    popCurrent(r2);
    append(OLD_HEAD, OLD_TAIL, r0, r10, r2, LIST_OLD);
    x.again();
    a.bind(positive);

    const emptyMove = a.label("emptymove");
    const serve = a.label("serve");
    const nonEmpty = a.label("nonempty");
    a.emit("qlen", r1, QR);
    a.emit("jne", r1, 0, nonEmpty);
    a.stx(r0, DROPPING, ZERO); // codel_dequeue of an empty queue: leave the dropping state
    a.emit("ja", emptyMove);
    a.bind(nonEmpty);

    /** codel_should_drop(head of the flow) → rOut 1/0, with its side effects on first_above_time and ldelay. */
    const shouldDrop = (rOut: Reg): void => {
      const has = a.label();
      const below = a.label();
      const done = a.label();
      const check = a.label();
      a.emit("qlen", r1, QR);
      a.emit("jne", r1, 0, has);
      a.stx(r0, FIRST_ABOVE, ZERO);
      a.emit("mov", rOut, 0);
      a.emit("ja", done);
      a.bind(has);
      a.emit("qhead", r2, QR);
      a.emit("qtime", r3, QR);
      a.emit("sub", r3, NOW, r3);
      a.stx(r0, LDELAY, r3);
      a.ld(r4, MAXPACKET);
      a.emit("max", r4, r4, r2);
      a.st(MAXPACKET, r4);
      a.emit("jlt", r3, target, below);
      a.ld(r4, BACKLOG);
      a.emit("sub", r4, r4, r2); // the kernel has already taken the head off the backlog
      a.emit("jle", r4, mtu, below);
      a.ldx(r5, r0, FIRST_ABOVE);
      a.emit("jne", r5, 0, check);
      a.k(r6, interval);
      a.emit("add", r5, NOW, r6);
      a.stx(r0, FIRST_ABOVE, r5);
      a.emit("mov", rOut, 0);
      a.emit("ja", done);
      a.bind(check);
      a.emit("mov", rOut, 1);
      a.emit("jgt", NOW, r5, done);
      a.emit("mov", rOut, 0);
      a.emit("ja", done);
      a.bind(below);
      a.stx(r0, FIRST_ABOVE, ZERO);
      a.emit("mov", rOut, 0);
      a.bind(done);
    };
    /** codel_Newton_step on the flow's count and rec_inv_sqrt (u16), exactly as the kernel computes it. */
    const newton = (): void => {
      a.ldx(r1, r0, RIS);
      a.emit("shl", r1, r1, 16); // invsqrt (u32)
      a.emit("mul", r2, r1, r1);
      a.emit("shr", r2, r2, 32); // invsqrt2
      a.ldx(r3, r0, COUNT);
      a.emit("mul", r3, r3, r2);
      a.k(r4, 3n << 32n);
      a.emit("sub", r4, r4, r3); // (3 << 32) − count × invsqrt2 (u64)
      a.emit("shr", r4, r4, 2);
      a.emit("mul", r4, r4, r1);
      a.emit("shr", r4, r4, 31);
      a.emit("shr", r4, r4, 16);
      a.emit("and", r4, r4, 0xffff);
      a.stx(r0, RIS, r4);
    };
    /** rd = t + interval × (rec_inv_sqrt << 16) >> 32 (codel_control_law) */
    const controlLaw = (rd: Reg, t: Reg): void => {
      a.ldx(r1, r0, RIS);
      a.emit("shl", r1, r1, 16);
      a.k(r2, interval);
      a.emit("mul", r1, r1, r2);
      a.emit("shr", r1, r1, 32);
      a.emit("add", rd, t, r1);
    };
    /** Drop the flow's head packet (a CoDel drop). */
    const codelDrop = (): void => {
      a.emit("qhead", r2, QR);
      a.ld(r3, BACKLOG);
      a.emit("sub", r3, r3, r2);
      a.st(BACKLOG, r3);
      a.ld(r3, TOTAL);
      a.emit("sub", r3, r3, 1);
      a.st(TOTAL, r3);
      a.emit("qdrop", QR, 0);
      a.emit("count", codelDrops, ZERO);
    };

    shouldDrop(r7);
    const notDropping = a.label("notdropping");
    a.ldx(r8, r0, DROPPING);
    a.emit("jeq", r8, 0, notDropping);
    // dropping state
    const still = a.label("still");
    a.emit("jne", r7, 0, still);
    a.stx(r0, DROPPING, ZERO); // sojourn below target: leave the dropping state
    a.emit("ja", serve);
    a.bind(still);
    a.ldx(r9, r0, DROP_NEXT);
    a.emit("jlt", NOW, r9, serve);
    // time for the next drop: count++, Newton, then mark or drop
    a.ldx(r1, r0, COUNT);
    a.emit("add", r1, r1, 1);
    a.emit("and", r1, r1, 0xffffffff);
    a.stx(r0, COUNT, r1);
    newton();
    const reallyDrop = a.label("reallydrop");
    if (q.ecn) {
      a.emit("qce", r1, QR);
      a.emit("jeq", r1, 0, reallyDrop);
      a.emit("count", ecnMark, ZERO);
      a.ldx(r9, r0, DROP_NEXT);
      controlLaw(r9, r9);
      a.stx(r0, DROP_NEXT, r9);
      a.emit("ja", serve);
    }
    a.bind(reallyDrop);
    codelDrop();
    shouldDrop(r7);
    const scheduleNext = a.label("schedulenext");
    a.emit("jne", r7, 0, scheduleNext);
    a.stx(r0, DROPPING, ZERO);
    a.emit("ja", serve);
    a.bind(scheduleNext);
    a.ldx(r9, r0, DROP_NEXT);
    controlLaw(r9, r9);
    a.stx(r0, DROP_NEXT, r9);
    const loopAgain = a.label("loopagain");
    a.emit("jge", NOW, r9, loopAgain); // the kernel's while loop goes on: run again (the state says where)
    a.emit("ja", serve);
    a.bind(loopAgain);
    x.again();

    a.bind(notDropping);
    a.emit("jeq", r7, 0, serve);
    // sojourn above target for an interval: drop (or mark) and enter the dropping state
    const enter = a.label("enter");
    if (q.ecn) {
      const noMark = a.label();
      a.emit("qce", r1, QR);
      a.emit("jeq", r1, 0, noMark);
      a.emit("count", ecnMark, ZERO);
      a.emit("ja", enter);
      a.bind(noMark);
    }
    codelDrop();
    shouldDrop(r7);
    a.bind(enter);
    a.emit("mov", r1, 1);
    a.stx(r0, DROPPING, r1);
    const reset = a.label("reset");
    const setLast = a.label("setlast");
    a.ldx(r1, r0, COUNT);
    a.ldx(r2, r0, LASTCOUNT);
    a.emit("sub", r3, r1, r2);
    a.emit("and", r3, r3, 0xffffffff); // delta (u32)
    a.emit("jle", r3, 1, reset);
    a.ldx(r4, r0, DROP_NEXT);
    a.k(r5, 16 * interval);
    a.emit("add", r4, r4, r5);
    a.emit("jge", NOW, r4, reset); // now − drop_next ≥ 16 intervals: start over
    a.stx(r0, COUNT, r3);
    newton();
    a.emit("ja", setLast);
    a.bind(reset);
    a.emit("mov", r1, 1);
    a.stx(r0, COUNT, r1);
    a.emit("mov", r1, 0xffff);
    a.stx(r0, RIS, r1);
    a.bind(setLast);
    a.ldx(r1, r0, COUNT);
    a.stx(r0, LASTCOUNT, r1);
    controlLaw(r9, NOW);
    a.stx(r0, DROP_NEXT, r9);

    // send the flow's head, or move on from an emptied flow
    a.bind(serve);
    a.emit("qlen", r1, QR);
    a.emit("jeq", r1, 0, emptyMove);
    a.emit("qhead", r2, QR);
    a.ldx(r3, r0, DEF);
    a.emit("sub", r3, r3, r2);
    a.stx(r0, DEF, r3);
    a.ld(r3, BACKLOG);
    a.emit("sub", r3, r3, r2);
    a.st(BACKLOG, r3);
    a.ld(r3, TOTAL);
    a.emit("sub", r3, r3, 1);
    a.st(TOTAL, r3);
    x.send(QR);

    // an empty flow: from new_flows to old_flows' tail when old_flows has flows, else off the lists
    a.bind(emptyMove);
    const offLists = a.label("offlists");
    a.emit("jne", r11, LIST_NEW, offLists);
    a.ld(r1, OLD_HEAD);
    a.emit("jeq", r1, 0, offLists);
    popCurrent(r2);
    append(OLD_HEAD, OLD_TAIL, r0, r10, r2, LIST_OLD);
    x.again();
    a.bind(offLists);
    popCurrent(r2);
    a.stx(r0, LIST, ZERO);
    x.again();
  };

  return {
    queues: F,
    capacity: q.limit + 1,
    held: (rd: Reg) => a.ld(rd, TOTAL),
    enqueue,
    dequeue,
  };
}

export function genFqCodel(q: FqCodelQdisc, hasFilters: boolean): Generated {
  const a = new SchedAsm();
  const code = fqCodelCode(a, q, { base: 0, prefix: "" }, hasFilters);
  const deq = a.label("dequeue");
  a.prologue();
  return finishRootProgram(a, code, deq, q.flows);
}
