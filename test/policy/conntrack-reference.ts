/**
 * A reference model of the VM's flow table (runtime/assembly/conntrack.ts) written from its specification with
 * a Map instead of a hash table: the tests replay random packet sequences through both and compare every
 * packet's ct.state, the flow count and the overflow count. Works on packet descriptions, not frames.
 */
export const CT = { invalid: 1, established: 2, related: 4, new: 8 } as const;

import { TcpFlow, validTcpFlags, type TcpSegment } from "./conntrack-tcp-reference.js";

const SEC = 1_000_000;

/** One endpoint pair and protocol, as conntrack reads it from a packet. */
export interface Tuple {
  fam: 4 | 6;
  proto: number;
  src: bigint;
  dst: bigint;
  sport: number;
  dport: number;
}

/** What the flow table needs to know about a packet. */
export type CtPacket =
  | { kind: "udp"; tuple: Tuple; flags: number }
  | { kind: "tcp"; tuple: Tuple; flags: number; segment: TcpSegment }
  | { kind: "icmp"; tuple: Tuple; type: number; id: number }
  /** an ICMP error quoting a packet of `quoted` (a TCP or UDP tuple) */
  | { kind: "icmp-error"; tuple: Tuple; type: number; quoted: Tuple };

interface Flow {
  tuple: Tuple;
  replied: boolean;
  last: number;
  timeout: number;
  tcp?: TcpFlow;
}

const keyOf = (t: Tuple) => `${t.fam}|${t.proto}|${t.src}|${t.dst}|${t.sport}|${t.dport}`;
const reverse = (t: Tuple): Tuple => ({ ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport });

function timeoutFor(proto: number, replied: boolean): number {
  if (proto === 6) return replied ? 432000 * SEC : 120 * SEC;
  if (proto === 17) return replied ? 180 * SEC : 30 * SEC;
  if (proto === 1 || proto === 58) return 30 * SEC;
  return 600 * SEC;
}

function isIcmpError(v6: boolean, type: number): boolean {
  return v6 ? type >= 1 && type <= 4 : [3, 4, 5, 11, 12].includes(type);
}
function isIcmpQuery(v6: boolean, type: number): boolean {
  return v6 ? type === 128 : [8, 13, 15, 17].includes(type);
}
function isIcmpReply(v6: boolean, type: number): boolean {
  return v6 ? type === 129 : [0, 14, 16, 18].includes(type);
}

export class FlowTableModel {
  private readonly flows = new Map<string, Flow>();
  overflows = 0;
  private lastReclaim = -1;
  private pending: Flow | undefined;

  constructor(private readonly capacity: number) {}

  get count(): number {
    return this.flows.size;
  }

  /** The live flow of exactly this tuple; a timed-out one is forgotten on the way. */
  private find(t: Tuple, now: number): Flow | undefined {
    const f = this.flows.get(keyOf(t));
    if (f && now > f.last + f.timeout) {
      this.flows.delete(keyOf(t));
      return undefined;
    }
    return f;
  }

  private lookupBoth(t: Tuple, now: number): { flow: Flow; reply: boolean } | undefined {
    const f = this.find(t, now);
    if (f) return { flow: f, reply: false };
    const r = this.find(reverse(t), now);
    return r ? { flow: r, reply: true } : undefined;
  }

  private reclaim(now: number): void {
    if (this.lastReclaim !== -1 && now < this.lastReclaim + SEC) return;
    this.lastReclaim = now;
    for (const [k, f] of this.flows) if (now > f.last + f.timeout) this.flows.delete(k);
  }

  /** The packet's ct.state (before the program runs). */
  before(p: CtPacket, now: number): number {
    this.pending = undefined;
    const v6 = p.tuple.fam === 6;
    let tuple = p.tuple;
    let mayOpen = true;
    if (p.kind === "icmp-error") return this.lookupBoth(p.quoted, now) ? CT.related : CT.invalid;
    if (p.kind === "icmp") {
      if (isIcmpError(v6, p.type)) throw new Error("use icmp-error");
      tuple = { ...tuple, sport: p.id, dport: 0 };
      if (!isIcmpQuery(v6, p.type)) {
        if (!isIcmpReply(v6, p.type)) return CT.invalid;
        mayOpen = false;
      }
    } else if (p.kind === "tcp") {
      if (!validTcpFlags(p.segment.flags)) return CT.invalid;
      mayOpen = TcpFlow.mayOpen(p.segment);
    }
    let hit = this.lookupBoth(tuple, now);
    let kill = false;
    if (hit && p.kind === "tcp") {
      const answer = hit.flow.tcp!.track(p.segment, hit.reply ? 1 : 0, hit.flow.replied);
      if (answer === "invalid") return CT.invalid;
      if (answer === "reopen") {
        this.flows.delete(keyOf(hit.flow.tuple));
        hit = undefined;
      } else if (answer === "ignore") {
        // not refreshed, but a reply counts as seen
        if (hit.reply) hit.flow.replied = true;
        return hit.flow.replied ? CT.established : CT.new;
      }
      else kill = answer === "kill";
    }
    if (hit) {
      const f = hit.flow;
      f.last = now;
      if (tuple.proto === 6 && p.kind === "tcp" && (p.flags & 4) !== 0) f.timeout = 10 * SEC;
      if (kill) {
        this.flows.delete(keyOf(f.tuple));
        return hit.reply ? CT.established : CT.new;
      }
      if (hit.reply) {
        if (!f.replied) {
          f.replied = true;
          if (f.timeout !== 10 * SEC) f.timeout = timeoutFor(tuple.proto, true);
        }
        return CT.established;
      }
      return f.replied ? CT.established : CT.new;
    }
    if (!mayOpen) return CT.invalid;
    if (this.flows.size >= this.capacity) this.reclaim(now);
    if (this.flows.size >= this.capacity) {
      this.overflows++;
      return CT.invalid;
    }
    let tcp: TcpFlow | undefined;
    if (p.kind === "tcp") {
      tcp = new TcpFlow(p.segment);
      // never "invalid" for a first segment: a SYN opens its own window, a picked-up flow is liberal
      if (tcp.track(p.segment, 0, false) === "invalid") throw new Error("a first segment out of window");
    }
    this.pending = { tuple, replied: false, last: now, timeout: timeoutFor(tuple.proto, false), tcp };
    return CT.new;
  }

  /** After the program: a NEW packet's flow is kept unless the packet was dropped or rejected. */
  after(letThrough: boolean): void {
    if (this.pending && letThrough) this.flows.set(keyOf(this.pending.tuple), this.pending);
    this.pending = undefined;
  }
}
