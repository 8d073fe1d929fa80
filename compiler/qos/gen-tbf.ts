/**
 * tbf (Linux sch_tbf.c), as the root or as a class's leaf: one queue (a bfifo of `limit` bytes); a packet over
 * the burst is dropped at enqueue; at dequeue the head leaves when the token bucket (and the peak bucket) have
 * its length, else the qdisc waits until they will (tbf_dequeue, tokens in ns of transmission time, an overlimit
 * counted). Under a class the wait is the parent's to handle: htb and prio skip the class until then.
 */
import type { TbfQdisc } from "./ir.js";
import { lengthToTime, rateConfig } from "./lower.js";
import { finishRootProgram, type DequeueExits, type EnqueueExits, type Place, type QdiscCode } from "./qdisc-code.js";
import { BIAS, type Generated, NOW, packetsFor, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, type Reg, SchedAsm, ZERO } from "./sched-asm.js";

export class TbfCode implements QdiscCode {
  readonly queues = 1;
  readonly capacity: number;
  private readonly TOKENS: number;
  private readonly PTOKENS: number;
  private readonly TC: number;
  private readonly overlimits: number;
  private readonly buffer: number;
  private readonly mtuTime: number;
  private readonly maxSize: number;
  /** the root's code as it always was: queue 0 named by constants and the zero register */
  private readonly root: boolean;

  constructor(
    private readonly a: SchedAsm,
    private readonly q: TbfQdisc,
    private readonly place: Place,
    /** the root's own `init` word, allocated first (the root's layout) */
    initWord?: () => void,
  ) {
    this.root = place.prefix === "";
    initWord?.();
    this.TOKENS = a.state(`${place.prefix}tokens`);
    this.PTOKENS = a.state(`${place.prefix}ptokens`);
    this.TC = a.state(`${place.prefix}t_c`);
    this.overlimits = a.counter(`${place.prefix}overlimits`);
    const peak = q.peakrate !== undefined;
    this.buffer = lengthToTime(q.rate, q.burst);
    this.mtuTime = peak ? lengthToTime(q.peakrate!, q.mtu!) : 0;
    this.maxSize = peak ? Math.min(q.burst, q.mtu!) : q.burst;
    this.capacity = Math.ceil(q.limit / 64) + 1;
  }

  /** tbf_init: a full bucket, t_c = now */
  init(): void {
    const a = this.a;
    a.sti(this.TOKENS, BIAS + BigInt(this.buffer), r0);
    a.sti(this.PTOKENS, BIAS + BigInt(this.mtuTime), r0);
    a.st(this.TC, NOW);
  }

  held(rd: Reg, tmp: Reg): void {
    this.a.k(tmp, this.place.base);
    this.a.emit("qlen", rd, tmp);
  }

  /** a packet over max_size is dropped (tbf_enqueue), then the child bfifo's limit */
  enqueue(x: EnqueueExits): void {
    const a = this.a;
    const drop = a.label("drop");
    a.emit("ldf", r1, "pkt.len");
    a.emit("jgt", r1, this.maxSize, drop);
    a.admit(this.place.base, { kind: "bfifo", limit: this.q.limit }, drop, r2, r3, r4);
    if (this.root) a.exitQueueConst(0);
    else x.queue(r2);
    a.bind(drop);
    if (this.root) a.refuse(0);
    else {
      a.k(r2, this.place.base);
      x.refuse(r2);
    }
  }

  /** tbf_dequeue */
  dequeue(x: DequeueExits): void {
    const a = this.a;
    const q = this.q;
    const prate = q.peakrate !== undefined ? rateConfig(q.peakrate) : undefined;
    const rate = rateConfig(q.rate);
    const idle = a.label("idle");
    const wait = a.label("wait");
    if (this.root) a.emit("qhead", r1, ZERO); // len
    else {
      a.k(r10, this.place.base);
      a.emit("qhead", r1, r10);
    }
    a.emit("jeq", r1, 0, idle);
    a.k(r9, BIAS);
    a.ld(r2, this.TC);
    a.emit("sub", r3, NOW, r2);
    a.k(r4, this.buffer);
    a.emit("min", r3, r3, r4); // toks = min(now − t_c, buffer)
    if (prate) {
      a.ld(r6, this.PTOKENS);
      a.emit("add", r6, r6, r3); // ptoks = toks + ptokens, at most mtu
      a.k(r7, BIAS + BigInt(this.mtuTime));
      a.emit("min", r6, r6, r7);
      a.emit("mul", r7, r1, Number(prate.mult));
      a.emit("shr", r7, r7, prate.shift);
      a.emit("sub", r6, r6, r7);
    }
    a.ld(r5, this.TOKENS);
    a.emit("add", r5, r5, r3); // toks += tokens, at most buffer
    a.k(r7, BIAS + BigInt(this.buffer));
    a.emit("min", r5, r5, r7);
    a.emit("mul", r7, r1, Number(rate.mult)); // psched_l2t_ns(rate, len)
    a.emit("shr", r7, r7, rate.shift);
    a.emit("sub", r5, r5, r7);
    a.jneg(r5, r9, wait);
    if (prate) a.jneg(r6, r9, wait);
    a.st(this.TOKENS, r5);
    if (prate) a.st(this.PTOKENS, r6);
    a.st(this.TC, NOW);
    if (this.root) a.exitQueueConst(0);
    else x.send(r10);
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
    a.emit("count", this.overlimits, ZERO);
    x.wait(r8);
    a.bind(idle);
    x.idle();
  }
}

export function genTbf(q: TbfQdisc): Generated {
  const a = new SchedAsm();
  let INIT = 0;
  const code = new TbfCode(a, q, { base: 0, prefix: "" }, () => (INIT = a.state("init")));
  const deq = a.label("dequeue");
  const ready = a.label("ready");
  a.prologue();
  a.ld(r0, INIT);
  a.emit("jne", r0, 0, ready);
  a.sti(INIT, 1, r0);
  code.init();
  a.bind(ready);
  return finishRootProgram(a, code, deq, 1);
}
