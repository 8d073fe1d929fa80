/**
 * Emitting scheduler programs: ProgramBuilder plus the scheduler side of the ISA — named state words (`sld`/
 * `sst` with a zero register), named counters, 64-bit constants, register verdicts — and the layout the
 * statistics reader needs. Signed quantities (token buckets, deficits) are stored with BIAS added, so the
 * overlay's unsigned compares order them: a value v ≥ 0 ⟺ v + BIAS ≥ BIAS.
 */
import { encodeVerdict, type ProgramImage } from "../../overlay-isa/index.js";
import { type Label, ProgramBuilder, reg } from "../program-builder.js";

export type Reg = { reg: number };

/** Added to signed state values; far from 0 and 2⁶⁴ whatever a token bucket or deficit does. */
export const BIAS = 1n << 62n;

export const ZERO = reg(15);
export const NOW = reg(14);
export const EVENT = reg(13);
/** registers r0 … r12 are the generators' */
export const r0 = reg(0), r1 = reg(1), r2 = reg(2), r3 = reg(3), r4 = reg(4), r5 = reg(5), r6 = reg(6);
export const r7 = reg(7), r8 = reg(8), r9 = reg(9), r10 = reg(10), r11 = reg(11), r12 = reg(12);

export interface SchedLayout {
  /** queues the queue model needs */
  queues: number;
  /** state words */
  stateWords: number;
  /** packet descriptors: room for everything the qdisc may hold, plus one */
  packets: number;
  /** named state words: `class 1:10 tokens` → address */
  words: Record<string, number>;
  /** named counters: `overlimits`, `class 1:10 lends` → counter id */
  counters: Record<string, number>;
}

/** A register to build a verdict in that is not the one holding its queue. */
export function scratchFor(rq: Reg): Reg {
  return rq.reg === r9.reg ? r8 : r9;
}

/** A compiled scheduler program and what the NIC lays out for it. */
export interface Generated {
  image: ProgramImage;
  layout: SchedLayout;
}

/** Descriptors for a qdisc that may hold `n` packets (bounded so a huge limit does not ask for gigabytes). */
export function packetsFor(n: number): number {
  return Math.max(16, Math.min(n + 1, 1 << 20));
}

export class SchedAsm {
  readonly b = new ProgramBuilder("scheduler");
  private stateTop = 0;
  readonly words: Record<string, number> = {};
  readonly counters: Record<string, number> = {};

  /** Reserve `n` state words (zero after a load); returns the first address. */
  state(name: string, n = 1): number {
    const at = this.stateTop;
    this.stateTop += n;
    this.words[name] = at;
    return at;
  }

  counter(name: string): number {
    const id = this.b.counter(1);
    this.counters[name] = id;
    return id;
  }

  label(name?: string): Label {
    return this.b.label(name);
  }

  bind(l: Label): void {
    this.b.bind(l);
  }

  emit(mnemonic: string, ...args: Parameters<ProgramBuilder["emit"]>[1][]): void {
    this.b.emit(mnemonic, ...args);
  }

  /** rd = a constant of up to 64 bits. */
  k(rd: Reg, value: bigint | number): void {
    const v = BigInt(value);
    if (v >= 0n && v <= 0xffffffffn) this.b.emit("mov", rd, Number(v));
    else this.b.emit("ldk", rd, this.b.constant(v & ((1n << 64n) - 1n)));
  }

  /** rd = state[addr] */
  ld(rd: Reg, addr: number): void {
    this.b.emit("sld", rd, ZERO, addr);
  }

  /** rd = state[ri + base] */
  ldx(rd: Reg, ri: Reg, base: number): void {
    this.b.emit("sld", rd, ri, base);
  }

  /** state[addr] = rs */
  st(addr: number, rs: Reg): void {
    this.b.emit("sst", ZERO, rs, addr);
  }

  /** state[ri + base] = rs */
  stx(ri: Reg, base: number, rs: Reg): void {
    this.b.emit("sst", ri, rs, base);
  }

  /** state[addr] = constant (through `tmp`) */
  sti(addr: number, value: bigint | number, tmp: Reg): void {
    this.k(tmp, value);
    this.st(addr, tmp);
  }

  /** Jump to `to` when ra (signed, biased) < 0, i.e. ra < BIAS; `bias` holds BIAS. */
  jneg(ra: Reg, bias: Reg, to: Label): void {
    this.b.emit("jlt", ra, bias, to);
  }

  /** End the event with `queue rq` (a register). */
  exitQueue(rq: Reg, tmp: Reg): void {
    this.b.emit("shl", tmp, rq, 8);
    this.b.emit("or", tmp, tmp, encodeVerdict({ kind: "queue", queue: 0 }));
    this.b.emit("exit", tmp);
  }

  exitQueueConst(q: number): void {
    this.b.exit({ kind: "queue", queue: q });
  }

  /** Refuse the arriving packet, accounted to queue q (or to none). */
  refuse(q: number | undefined): void {
    this.b.emit("stf", "meta.class", q === undefined ? 0 : q + 1);
    this.b.exit({ kind: "drop" });
  }

  /** Refuse the arriving packet, accounted to the queue in register rq. */
  refuseReg(rq: Reg, tmp: Reg): void {
    this.b.emit("add", tmp, rq, 1);
    this.b.emit("stf", "meta.class", tmp);
    this.b.exit({ kind: "drop" });
  }

  /** Dequeue: nothing to send; ask again at the time in `wake` (or at the next arrival). */
  idle(wake?: Reg): void {
    if (wake) this.b.emit("stf", "meta.scratch0", wake);
    this.b.exit({ kind: "drop" });
  }

  /** Dequeue: state changed, run again now. */
  again(): void {
    this.b.exit({ kind: "accept" });
  }

  /** Common entry: ZERO, NOW and EVENT loaded. */
  prologue(): void {
    this.b.emit("mov", ZERO, 0);
    this.b.emit("ldf", NOW, "sched.now");
    this.b.emit("ldf", EVENT, "sched.event");
  }

  /** Go to `dequeue` for a dequeue event (enqueue code follows). */
  dispatch(dequeue: Label): void {
    this.b.emit("jne", EVENT, 0, dequeue);
  }

  /** Queue admission of a FIFO leaf: jump to `full` when queue q cannot take the arriving packet. */
  admit(q: number, leaf: { kind: "pfifo" | "bfifo"; limit: number }, full: Label, t1: Reg, t2: Reg, t3: Reg): void {
    this.k(t1, q);
    if (leaf.kind === "pfifo") {
      // pfifo_enqueue: qlen < limit
      this.b.emit("qlen", t2, t1);
      this.b.emit("jge", t2, Math.min(leaf.limit, 0xffffffff), full);
    } else {
      // bfifo_enqueue: backlog + len <= limit
      this.b.emit("qbytes", t2, t1);
      this.b.emit("ldf", t3, "pkt.len");
      this.b.emit("add", t2, t2, t3);
      this.b.emit("jgt", t2, Math.min(leaf.limit, 0xffffffff), full);
    }
  }

  build(queues: number, packets: number): { image: ProgramImage; layout: SchedLayout } {
    return { image: this.b.build(), layout: { queues, stateWords: Math.max(1, this.stateTop), packets, words: this.words, counters: this.counters } };
  }
}
