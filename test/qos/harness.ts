/**
 * A virtual-time link for the qdisc tests: known arrivals go through the NIC's egress scheduler
 * (fpga-model/scheduler.ts) and leave on a link of a fixed rate; every departure and drop is recorded, so a
 * test can check exact properties (bytes by a time, the order of departures) rather than averages.
 */
import { compileQos, type CompiledQos } from "../../compiler/qos/compile.js";
import { EgressScheduler } from "../../fpga-model/scheduler.js";
import { bundleOf } from "../../hostctl/qos/bundle.js";
import { flowFrame, type SourceSpec } from "../../hostctl/qos/traffic.js";

export interface Arrival {
  /** ns */
  t: number;
  frame: Uint8Array;
  wire: number;
  /** what the test calls the packet's flow */
  flow: string;
  owner?: Uint32Array;
  priority?: number;
  mark?: number;
}

export interface Departure {
  /** when the qdisc handed it to the link, ns */
  t: number;
  /** when its last bit left, ns */
  end: number;
  len: number;
  flow: string;
  queue: number;
  arrivedAt: number;
  ce: boolean;
}

export interface LinkRun {
  departures: Departure[];
  drops: { flow: string; len: number; t: number }[];
  sched: EgressScheduler<string>;
  offered: number;
}

export function compile(text: string, format: "qos" | "tc" = "qos"): CompiledQos {
  return compileQos(text, format === "tc" ? "test.tc" : "test.qos", { format });
}

/** Run arrivals (any order; sorted by time) through the compiled qdisc on a link of `rate` bytes/s until `until` ns. */
export function runLink(c: CompiledQos, arrivals: Arrival[], rate: number, until: number): LinkRun {
  const sched = EgressScheduler.createSync<string>();
  sched.load(bundleOf(c));
  sched.commit(0);
  const list = [...arrivals].sort((a, b) => a.t - b.t);
  const departures: Departure[] = [];
  const drops: LinkRun["drops"] = [];
  let next = 0;
  let linkFree = 0;
  let wake: number | undefined;
  const take = (now: number) => {
    for (const d of sched.takeDropped()) drops.push({ flow: d.packet.tag!, len: d.packet.wireLength, t: now });
  };
  for (let now = 0; now <= until; ) {
    // arrivals due now
    while (next < list.length && list[next]!.t <= now) {
      const a = list[next++]!;
      sched.enqueue({ frame: a.frame, wireLength: a.wire, tag: a.flow, ...(a.owner ? { owner: a.owner } : {}), priority: a.priority ?? 0, mark: a.mark ?? 0 }, a.t);
      take(a.t);
    }
    if (linkFree <= now) {
      const s = sched.dequeue(now);
      take(now);
      if (s) {
        const tx = Math.max(1, Math.round((s.packet.wireLength * 1e9) / rate));
        departures.push({ t: now, end: now + tx, len: s.packet.wireLength, flow: s.packet.tag!, queue: s.queue, arrivedAt: s.arrivedAt, ce: s.ce });
        linkFree = now + tx;
        wake = undefined;
      } else {
        const w = sched.wakeAt();
        wake = w !== undefined && w > now ? w : undefined;
      }
    }
    // the next instant anything can happen
    const candidates = [next < list.length ? list[next]!.t : Infinity, linkFree > now ? linkFree : Infinity, wake ?? Infinity];
    const t = Math.min(...candidates);
    if (!Number.isFinite(t)) break;
    now = t;
  }
  return { departures, drops, sched, offered: next };
}

/** A UDP (or TCP) header for a flow; the wire length carries the payload. */
export function frame(opts: { sport?: number; dport?: number; proto?: "tcp" | "udp"; src?: string; dst?: string; size?: number; tos?: number } = {}): Uint8Array {
  const ip = (s: string) => s.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const spec: SourceSpec = {
    name: "t",
    owner: { app: 0, uid: 0xffffffff, gid: 0xffffffff, pid: 0xffffffff },
    proto: opts.proto === "tcp" ? 6 : 17,
    src: ip(opts.src ?? "10.0.0.2"),
    dst: ip(opts.dst ?? "10.0.0.9"),
    sport: opts.sport ?? 4000,
    dport: opts.dport ?? 5000,
    flows: 1,
    size: opts.size ?? 1000,
    pattern: { kind: "constant", rate: 1 },
    startNs: 0,
    stopNs: Infinity,
    priority: 0,
    mark: 0,
    tos: opts.tos ?? 0,
  };
  return flowFrame(spec, 0);
}

/** Packets of `size` bytes at `rate` bytes/s from `start` to `stop` ns (constant bit rate). */
export function cbr(flow: string, f: Uint8Array, size: number, rate: number, start: number, stop: number, extra: Partial<Arrival> = {}): Arrival[] {
  const out: Arrival[] = [];
  const gap = (size * 1e9) / rate;
  for (let t = start; t < stop; t += gap) out.push({ t: Math.round(t), frame: f, wire: size, flow, ...extra });
  return out;
}

/** Bytes of a flow whose last bit left by `t`. */
export function bytesBy(run: LinkRun, flow: string | undefined, from: number, to: number): number {
  let n = 0;
  for (const d of run.departures) if ((flow === undefined || d.flow === flow) && d.end > from && d.end <= to) n += d.len;
  return n;
}

export const MS = 1e6;
export const S = 1e9;
/** bytes per second of a rate in Mbit/s */
export const mbit = (m: number) => (m * 1e6) / 8;
