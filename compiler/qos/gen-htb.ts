/**
 * The htb scheduler program (Linux sch_htb.c). The class tree is known when the program is compiled, so every
 * walk over it is unrolled into forward code:
 *
 *  enqueue  skb priority naming the qdisc → the direct queue, naming a leaf → that leaf; else the filter's
 *           class; else the default class if it is a leaf; else the direct queue (htb_classify). A leaf is a
 *           pfifo/bfifo; the direct queue holds direct_qlen packets.
 *  dequeue  the direct queue first, unshaped. Then every class's mode at `now` (htb_class_mode: ctokens < 0
 *           can't send, tokens ≥ 0 can send, else may borrow); each backlogged leaf's lending level — itself
 *           when it can send, else the first ancestor that can, through ancestors that may borrow (none past
 *           a class that can't send: borrowing only through ancestors). The leaf with the lowest (level, prio)
 *           sends; ties go round robin by class id with a deficit per leaf and level refilled by its quantum
 *           (htb_dequeue_tree). Sending charges the leaf and its ancestors (htb_charge_class): tokens of the
 *           classes at or above the lending level, ctokens of all; lends and borrows are counted, and a
 *           class that turns can't-send counts an overlimit. Nothing sendable: the program asks to be woken
 *           when the first class on a backlogged path changes mode.
 *
 * Tokens are ns of transmission time at the class's rate (ctokens at its ceil), biased (sched-asm.ts), with
 * Linux's buffer = burst, mbuffer = 60 s. One difference from Linux: within one (level, prio) the round robin
 * runs over the leaves in class-id order, where Linux nests it (lenders, then their feeds); with one level of
 * inner classes the two agree.
 */
import { isFifoLeaf, type FifoLeaf, type HtbClass, type HtbQdisc } from "./ir.js";
import { leafCodes, leafSlots } from "./leaves.js";
import { fifoCapacity } from "./qdisc-code.js";
import { burstTimeNs, rateConfig } from "./lower.js";
import { BIAS, EVENT, type Generated, NOW, packetsFor, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, scratchFor, SchedAsm, ZERO } from "./sched-asm.js";
import { formatHandle, type Handle } from "./units.js";

const MAX_DEPTH = 8;
const MBUFFER = 60_000_000_000n;
const CAN = 0;
const MAY = 1;
const CANT = 2;
const NO_KEY = 0xff;
const NONE = 0xffff;
const ALL_ONES = (1n << 64n) - 1n;

interface ClassInfo {
  c: HtbClass;
  index: number;
  parent: number;
  depth: number;
  level: number;
  buffer: number;
  cbuffer: number;
}

export function genHtb(q: HtbQdisc, rootHandle: Handle): Generated {
  const a = new SchedAsm();
  const infos: ClassInfo[] = q.classes.map((c, index) => ({ c, index, parent: -1, depth: 0, level: 0, buffer: burstTimeNs(c.rate, c.burst), cbuffer: burstTimeNs(c.ceil, c.cburst) }));
  const byId = new Map(infos.map((i) => [i.c.id, i]));
  for (const i of infos) i.parent = i.c.parent === undefined ? -1 : byId.get(i.c.parent)!.index;
  for (const i of infos) {
    let d = 0;
    for (let p = i.parent; p >= 0; p = infos[p]!.parent) d++;
    i.depth = d;
    i.level = i.c.leaf ? 0 : MAX_DEPTH - 1 - d;
  }
  const leaves = infos.filter((i) => i.c.leaf);
  const L = leaves.length;
  // the leaves' queues (one each for FIFOs; a qdisc leaf's own range), then the direct queue
  const slots = leafSlots(q, rootHandle);
  const composite = slots.some((sl) => !isFifoLeaf(sl.leaf));
  const DIRECT = slots.reduce((n, sl) => n + sl.queues, 0);
  /** meta.class of a filter to the direct queue (classify.ts: after the leaves) */
  const DIRECT_CLASS = L;
  const path = (leaf: ClassInfo): ClassInfo[] => {
    const out: ClassInfo[] = [];
    for (let p = leaf.index; p >= 0; p = infos[p]!.parent) out.push(infos[p]!);
    return out;
  };
  const C = infos.length;

  const INIT = a.state("init");
  const TOK = a.state("tokens", C);
  const CTOK = a.state("ctokens", C);
  const TC = a.state("t_c", C);
  const MODE = a.state("mode", C);
  const CT = a.state("tokens now", C);
  const CC = a.state("ctokens now", C);
  const KEY = a.state("key", Math.max(1, L));
  const DEF = a.state("deficit", Math.max(1, L) * MAX_DEPTH);
  const PTR = a.state("round robin", MAX_DEPTH * 8);
  const qdiscOverlimits = a.counter("overlimits");
  const directPackets = a.counter("direct_packets");
  const over = infos.map((i) => a.counter(`class ${formatHandle(i.c.id)} overlimits`));
  const lends = infos.map((i) => a.counter(`class ${formatHandle(i.c.id)} lends`));
  const borrows = infos.map((i) => a.counter(`class ${formatHandle(i.c.id)} borrows`));
  for (const i of infos) {
    a.words[`class ${formatHandle(i.c.id)} tokens`] = TOK + i.index;
    a.words[`class ${formatHandle(i.c.id)} ctokens`] = CTOK + i.index;
  }
  // with qdisc leaves: the sending leaf's level and key kept over its code, each leaf's wait (tbf), its drops
  const LEVEL = composite ? a.state("sending level") : 0;
  const SENDKEY = composite ? a.state("sending key") : 0;
  const THROTTLE = composite ? a.state("leaf wait", L) : 0;
  const classDrops = slots.map((sl) => (composite && !isFifoLeaf(sl.leaf) ? a.counter(`class ${formatHandle(sl.parent)} drops`) : -1));
  const codes = composite ? leafCodes(a, slots) : [];

  const deq = a.label("dequeue");
  const ready = a.label("ready");
  a.prologue();
  // htb_change_class: full buckets, t_c = now; deficits 0
  a.ld(r0, INIT);
  a.emit("jne", r0, 0, ready);
  a.sti(INIT, 1, r0);
  for (const i of infos) {
    a.sti(TOK + i.index, BIAS + BigInt(i.buffer), r0);
    a.sti(CTOK + i.index, BIAS + BigInt(i.cbuffer), r0);
    a.st(TC + i.index, NOW);
  }
  a.k(r0, BIAS);
  for (let k = 0; k < L * MAX_DEPTH; k++) a.st(DEF + k, r0);
  for (const code of codes) code.init?.();
  a.bind(ready);
  a.dispatch(deq);

  // ---- enqueue: htb_classify ----
  const leafLabels = leaves.map((l) => a.label(`leaf_${formatHandle(l.c.id)}`));
  const direct = a.label("direct");
  a.emit("ldf", r0, "pkt.priority");
  a.emit("jeq", r0, rootHandle >>> 0, direct);
  leaves.forEach((l, i) => a.emit("jeq", r0, l.c.id >>> 0, leafLabels[i]!));
  a.emit("ldf", r0, "meta.class");
  const byDefault = a.label("default");
  a.emit("jeq", r0, 0, byDefault);
  leaves.forEach((_, i) => a.emit("jeq", r0, i + 1, leafLabels[i]!));
  a.emit("jeq", r0, DIRECT_CLASS + 1, direct);
  a.bind(byDefault);
  const def = leaves.findIndex((l) => (l.c.id & 0xffff) === q.defaultMinor && q.defaultMinor !== 0);
  a.emit("ja", def >= 0 ? leafLabels[def]! : direct);
  leaves.forEach((l, i) => {
    a.bind(leafLabels[i]!);
    if (composite) {
      // the leaf's enqueue; a drop it returns (NET_XMIT_DROP or _CN) is the class's (htb_enqueue: cl->drops)
      const classDrop = () => {
        if (classDrops[i]! >= 0) a.emit("count", classDrops[i]!, ZERO);
      };
      codes[i]!.enqueue({
        queue: (rq) => a.exitQueue(rq, scratchFor(rq)),
        congested: (rq) => {
          classDrop();
          a.exitQueue(rq, scratchFor(rq));
        },
        refuse: (rq) => {
          classDrop();
          a.refuseReg(rq, scratchFor(rq));
        },
        refuseUnclassified: () => {
          classDrop();
          a.refuse(undefined);
        },
      });
      return;
    }
    const full = a.label(`full${i}`);
    a.admit(i, l.c.leaf as FifoLeaf, full, r1, r2, r3);
    a.exitQueueConst(i);
    a.bind(full);
    a.refuse(i);
  });
  a.bind(direct);
  const directFull = a.label("directfull");
  a.admit(DIRECT, { kind: "pfifo", limit: q.directQlen }, directFull, r1, r2, r3);
  a.emit("count", directPackets, ZERO);
  a.exitQueueConst(DIRECT);
  a.bind(directFull);
  a.refuse(DIRECT);

  // ---- dequeue ----
  a.bind(deq);
  const classes = a.label("classes");
  a.k(r1, DIRECT);
  a.emit("qlen", r2, r1);
  a.emit("jeq", r2, 0, classes);
  a.exitQueueConst(DIRECT);
  a.bind(classes);
  const MB = EVENT; // EVENT is free after the dispatch: it holds mbuffer from here
  a.k(MB, MBUFFER);
  a.k(r12, BIAS);
  // every class's mode now (htb_do_events / htb_class_mode)
  for (const i of infos) {
    const done = a.label();
    a.ld(r1, TC + i.index);
    a.emit("sub", r2, NOW, r1);
    a.emit("min", r2, r2, MB);
    a.ld(r4, TOK + i.index);
    a.emit("add", r4, r4, r2);
    a.st(CT + i.index, r4);
    a.ld(r5, CTOK + i.index);
    a.emit("add", r5, r5, r2);
    a.st(CC + i.index, r5);
    a.emit("mov", r6, CANT);
    a.emit("jlt", r5, r12, done);
    a.emit("mov", r6, CAN);
    a.emit("jge", r4, r12, done);
    a.emit("mov", r6, MAY);
    a.bind(done);
    a.st(MODE + i.index, r6);
  }
  // each backlogged leaf's (lending level, prio) key; the earliest mode change on the blocked paths
  a.emit("mov", r10, NO_KEY);
  a.k(r11, ALL_ONES);
  leaves.forEach((l, li) => {
    const done = a.label();
    a.emit("mov", r3, NO_KEY);
    if (composite) {
      codes[li]!.held(r2, r1);
      a.emit("jeq", r2, 0, done);
      // a leaf waiting for its tokens (tbf) is not a candidate until then; its wait is a timer
      const ready = a.label();
      a.ld(r1, THROTTLE + li);
      a.emit("jle", r1, NOW, ready);
      a.emit("sub", r1, r1, NOW);
      a.emit("min", r11, r11, r1);
      a.emit("ja", done);
      a.bind(ready);
    } else {
      a.k(r1, li);
      a.emit("qlen", r2, r1);
      a.emit("jeq", r2, 0, done);
    }
    for (const anc of path(l)) {
      const can = a.label();
      const may = a.label();
      const cand = a.label();
      a.ld(r4, MODE + anc.index);
      a.emit("jeq", r4, CAN, can);
      // not sendable: when will it change (−ctokens for can't send, −tokens for may borrow)?
      a.emit("jeq", r4, MAY, may);
      a.ld(r5, CC + anc.index);
      a.emit("ja", cand);
      a.bind(may);
      a.ld(r5, CT + anc.index);
      a.bind(cand);
      a.emit("sub", r5, r12, r5);
      a.emit("min", r11, r11, r5);
      a.emit("jeq", r4, CANT, done); // a class that can't send blocks the path
      if (anc.parent < 0) a.emit("ja", done); // may borrow, but there is no one to borrow from
      const next = a.label();
      a.emit("ja", next);
      a.bind(can);
      a.emit("mov", r3, anc.level * 8 + l.c.prio);
      a.emit("ja", done);
      a.bind(next);
    }
    a.bind(done);
    a.st(KEY + li, r3);
    a.emit("min", r10, r10, r3);
  });
  const wait = a.label("wait");
  a.emit("jeq", r10, NO_KEY, wait);
  // round robin among the leaves with the best key: the first at or after the pointer, else the first
  a.ldx(r1, r10, PTR);
  a.emit("mov", r2, NONE);
  a.emit("mov", r3, NONE);
  for (let li = L - 1; li >= 0; li--) {
    const skip = a.label();
    a.ld(r4, KEY + li);
    a.emit("jne", r4, r10, skip);
    a.emit("mov", r2, li);
    a.emit("jgt", r1, li, skip);
    a.emit("mov", r3, li);
    a.bind(skip);
  }
  const chosen = a.label("chosen");
  a.emit("jne", r3, NONE, chosen);
  a.emit("mov", r3, r2);
  a.bind(chosen);
  a.emit("shr", r5, r10, 3); // the lending level
  const serves = leaves.map((l) => a.label(`serve_${formatHandle(l.c.id)}`));
  leaves.forEach((_, li) => a.emit("jeq", r3, li, serves[li]!));
  a.idle(); // not reached
  leaves.forEach((l, li) => {
    a.bind(serves[li]!);
    if (composite) {
      // the leaf picks its packet (htb_dequeue_tree: cl->leaf.q->dequeue); then the class is charged for it
      const sent = a.label(`sent_${formatHandle(l.c.id)}`);
      a.st(LEVEL, r5);
      a.st(SENDKEY, r10);
      codes[li]!.dequeue({
        send: (rq) => {
          if (rq.reg !== r3.reg) a.emit("mov", r3, rq);
          a.emit("ja", sent);
        },
        again: () => a.again(),
        // emptied by its own drops: choose again
        idle: () => a.again(),
        wait: (at) => {
          a.st(THROTTLE + li, at);
          a.again();
        },
      });
      a.bind(sent);
      a.ld(r5, LEVEL);
      a.ld(r10, SENDKEY);
      a.k(MB, MBUFFER);
      a.k(r12, BIAS);
      a.emit("qhead", r6, r3); // len
    } else {
      a.k(r1, li);
      a.emit("qhead", r6, r1); // len
    }
    // leaf.deficit[level] −= len; below zero: += quantum, and the round robin moves on
    const defOk = a.label();
    a.emit("add", r7, r5, DEF + li * MAX_DEPTH);
    a.ldx(r8, r7, 0);
    a.emit("sub", r8, r8, r6);
    a.emit("jge", r8, r12, defOk);
    a.emit("add", r8, r8, l.c.quantum);
    a.emit("mov", r9, li + 1);
    a.stx(r10, PTR, r9);
    a.bind(defOk);
    a.stx(r7, 0, r8);
    for (const anc of path(l)) charge(a, anc, { over: over[anc.index]!, lends: lends[anc.index]!, borrows: borrows[anc.index]!, qdiscOverlimits }, { TOK, CTOK, TC, MODE }, MB);
    if (composite) a.exitQueue(r3, r7);
    else a.exitQueueConst(li);
  });
  a.bind(wait);
  const noTimer = a.label("notimer");
  a.k(r1, ALL_ONES);
  a.emit("jeq", r11, r1, noTimer);
  a.emit("add", r11, NOW, r11);
  a.idle(r11);
  a.bind(noTimer);
  a.idle();
  const total = composite ? codes.reduce((n, c) => n + c.capacity, q.directQlen) : leaves.reduce((n, l) => n + fifoCapacity(l.c.leaf as FifoLeaf), q.directQlen);
  return a.build(DIRECT + 1, packetsFor(total));
}

/** htb_charge_class for one class on the sending leaf's path: r5 lending level, r6 length, r12 BIAS, MB mbuffer. */
function charge(a: SchedAsm, i: ClassInfo, ctr: { over: number; lends: number; borrows: number; qdiscOverlimits: number }, w: { TOK: number; CTOK: number; TC: number; MODE: number }, MB: typeof r0): void {
  const rate = rateConfig(i.c.rate);
  const ceil = rateConfig(i.c.ceil);
  const borrow = a.label();
  const ctok = a.label();
  const floorTok = a.label();
  const floorCtok = a.label();
  a.ld(r1, w.TC + i.index);
  a.emit("sub", r2, NOW, r1);
  a.emit("min", r2, r2, MB); // diff
  a.emit("jgt", r5, i.level, borrow);
  // htb_accnt_tokens: min(tokens + diff, buffer) − l2t(len), at least 1 − mbuffer
  a.ld(r4, w.TOK + i.index);
  a.emit("add", r4, r4, r2);
  a.k(r9, BIAS + BigInt(i.buffer));
  a.emit("min", r4, r4, r9);
  a.emit("mul", r9, r6, Number(rate.mult));
  a.emit("shr", r9, r9, rate.shift);
  a.emit("sub", r4, r4, r9);
  a.k(r9, BIAS - MBUFFER);
  a.emit("jgt", r4, r9, floorTok);
  a.emit("add", r4, r9, 1);
  a.bind(floorTok);
  a.st(w.TOK + i.index, r4);
  const notLender = a.label();
  a.emit("jne", r5, i.level, notLender);
  a.emit("count", ctr.lends, ZERO);
  a.bind(notLender);
  a.emit("ja", ctok);
  a.bind(borrow);
  a.ld(r4, w.TOK + i.index);
  a.emit("add", r4, r4, r2);
  a.st(w.TOK + i.index, r4);
  a.emit("count", ctr.borrows, ZERO);
  a.bind(ctok);
  // htb_accnt_ctokens
  a.ld(r8, w.CTOK + i.index);
  a.emit("add", r8, r8, r2);
  a.k(r9, BIAS + BigInt(i.cbuffer));
  a.emit("min", r8, r8, r9);
  a.emit("mul", r9, r6, Number(ceil.mult));
  a.emit("shr", r9, r9, ceil.shift);
  a.emit("sub", r8, r8, r9);
  a.k(r9, BIAS - MBUFFER);
  a.emit("jgt", r8, r9, floorCtok);
  a.emit("add", r8, r9, 1);
  a.bind(floorCtok);
  a.st(w.CTOK + i.index, r8);
  a.st(w.TC + i.index, NOW);
  // the mode after the charge; turning can't-send is an overlimit
  const setMode = a.label();
  const same = a.label();
  a.emit("mov", r0, CANT);
  a.emit("jlt", r8, r12, setMode);
  a.emit("mov", r0, CAN);
  a.emit("jge", r4, r12, setMode);
  a.emit("mov", r0, MAY);
  a.bind(setMode);
  a.ld(r9, w.MODE + i.index);
  a.st(w.MODE + i.index, r0);
  a.emit("jne", r0, CANT, same);
  a.emit("jeq", r9, CANT, same);
  a.emit("count", ctr.over, ZERO);
  a.emit("count", ctr.qdiscOverlimits, ZERO);
  a.bind(same);
}
