/**
 * QoS figures (issue 6): the cost of one enqueue plus one dequeue event of a scheduler program on the
 * interpreter tier, with the packets of 10, 1,000 and 100,000 flows (fq_codel with 65,536 flow queues, so flows
 * hash into their own queues and lists grow with them), and of a 10-class htb; and how many packets a
 * simulation of a 10-class htb egress link (classifier + qdisc + virtual clock, hostctl qos simulate) runs per
 * wall-clock second.
 */
import { compileQos, type CompiledQos } from "../compiler/qos/compile.js";
import { SchedulerVM } from "../runtime/sched/scheduler-vm.js";
import { simulateSync } from "../hostctl/qos/simulate.js";
import { flowFrame, type SourceSpec, type TrafficSpec } from "../hostctl/qos/traffic.js";

export interface QosBenchFigures {
  /** ns per (enqueue + dequeue) of fq_codel, by number of flows */
  fqCodel: { flows: number; nsPerPacket: number; packets: number }[];
  /** ns per (enqueue + dequeue) of a 10-class htb (10 leaves under one root class) */
  htb10NsPerPacket: number;
  /** hostctl qos simulate on a 10-class htb: simulated packets per wall-clock second */
  htb10SimulatedPacketsPerSecond: number;
  htb10SimulatedPackets: number;
  note: string;
}

function spec(i: number, size = 1000): SourceSpec {
  return {
    name: `s${i}`,
    owner: { app: 0, uid: 0xffffffff, gid: 0xffffffff, pid: 0xffffffff },
    proto: 17,
    src: (10 << 24) | (i >>> 8),
    dst: (10 << 24) | 9,
    sport: 1024 + (i & 0xff) * 200,
    dport: 5000 + (i % 10),
    flows: 1,
    size,
    pattern: { kind: "constant", rate: 1e6 },
    startNs: 0,
    stopNs: Infinity,
    priority: 0,
    mark: 0,
    tos: 0,
  };
}

/** Steady state: a backlog of `depth` packets, then one enqueue and one dequeue per packet. */
function eventCost(c: CompiledQos, frames: Uint8Array[], classes: number[], packets: number, depth: number): number {
  const vm = SchedulerVM.createSync();
  vm.load(c.scheduler.image, c.scheduler.layout);
  let now = 0;
  const step = 1200; // ns between packets: the link keeps up, queues stay at `depth`
  let h = 0;
  for (; h < depth; h++) vm.enqueue(h, frames[h % frames.length]!, 1000, (now += step), classes[h % classes.length]!);
  // warm up (V8 tiers the Wasm up), then time
  const run = (n: number) => {
    for (let k = 0; k < n; k++, h++) {
      vm.enqueue(h, frames[h % frames.length]!, 1000, (now += step), classes[h % classes.length]!);
      vm.dequeue(now);
    }
    vm.takeDrops();
  };
  run(Math.min(packets, 20_000));
  const t0 = performance.now();
  run(packets);
  return ((performance.now() - t0) * 1e6) / packets;
}

export async function benchQos(opts: { packets?: number } = {}): Promise<QosBenchFigures> {
  const packets = opts.packets ?? 200_000;
  const fq = compileQos("qos { qdisc fq_codel root flows 65536 limit 200000 }", "bench.qos");
  const fqCodel = [10, 1000, 100_000].map((flows) => {
    const frames = Array.from({ length: flows }, (_, i) => flowFrame(spec(i), 0));
    return { flows, nsPerPacket: Math.round(eventCost(fq, frames, [0], packets, Math.min(flows, 4096)) * 10) / 10, packets };
  });
  const htbText = [
    "qos {",
    "  qdisc htb handle 1: root r2q 100",
    "  class 1:1 htb rate 1gbit",
    ...Array.from({ length: 10 }, (_, i) => `  class 1:${(i + 10).toString(16)} parent 1:1 htb rate 100mbit ceil 1gbit prio ${i % 3}`),
    ...Array.from({ length: 10 }, (_, i) => `  filter udp dport ${5000 + i} flowid 1:${(i + 10).toString(16)}`),
    "}",
  ].join("\n");
  const htb = compileQos(htbText, "bench-htb.qos");
  const htbFrames = Array.from({ length: 10 }, (_, i) => flowFrame(spec(i), 0));
  const htb10NsPerPacket = Math.round(eventCost(htb, htbFrames, Array.from({ length: 10 }, (_, i) => i + 1), packets, 64) * 10) / 10;
  // the whole simulator: 10 sources at 110 Mbit/s each into a 1 Gbit/s link
  const traffic: TrafficSpec = { seed: 1, changes: [], sources: Array.from({ length: 10 }, (_, i) => ({ ...spec(i, 1250), name: `class${i}`, pattern: { kind: "constant" as const, rate: 110e6 / 8 } })) };
  simulateSync(htb, { kind: "sources", spec: traffic }, { linkRate: 1e9 / 8, durationNs: 0.05e9 }); // warm up
  const t0 = performance.now();
  const r = simulateSync(htb, { kind: "sources", spec: traffic }, { linkRate: 1e9 / 8, durationNs: 1e9 });
  const wall = (performance.now() - t0) / 1000;
  return {
    fqCodel,
    htb10NsPerPacket,
    htb10SimulatedPacketsPerSecond: Math.round(r.totals.offered / wall),
    htb10SimulatedPackets: r.totals.offered,
    note: "enqueue + dequeue events of the scheduler program on the interpreter tier (JS → Wasm calls included, classifier not included); the simulation includes the classifier, the qdisc and the event loop",
  };
}
