/**
 * The virtual-time egress link of `hostctl qos simulate`: applications' packets (traffic.ts sources, or a
 * capture's packets at their timestamps) go through the NIC's egress scheduler (fpga-model/scheduler.ts: the
 * classifier and qdisc programs on the overlay) and leave on a link of a fixed rate. Time is a number of ns that
 * jumps from event to event — arrivals, the link becoming free, the qdisc's timer, TCP-like acknowledgements,
 * qdisc changes — so a run is exact and repeatable, whatever the machine.
 *
 * Accounting: a packet is *offered* when it arrives, *sent* when the qdisc hands it to the link (its delay is
 * the time it waited in the qdisc), *dropped* when the qdisc refuses it or drops it from a queue, and otherwise
 * still *queued* when the run ends: offered = sent + dropped + queued, per source and per class. Throughput
 * counts the bytes that finished crossing the link within the run.
 */
import type { CompiledQos } from "../../compiler/qos/compile.js";
import { EgressScheduler, type EgressPacket, type Queued } from "../../fpga-model/scheduler.js";
import { bundleOf, reportClasses, type ClassName } from "./bundle.js";
import { EventQueue, type SimEvent } from "./event-queue.js";
import { flowFrame, ownerWords, type SourceSpec, type TrafficSpec } from "./traffic.js";

/** A packet from a capture, arriving at `timeNs` after the run starts. */
export interface CapturePacket {
  frame: Uint8Array;
  wireLength: number;
  timeNs: number;
  owner?: Uint32Array;
}

export type Offered = { kind: "sources"; spec: TrafficSpec } | { kind: "capture"; name: string; packets: CapturePacket[] };

export interface SimOptions {
  /** link rate, bytes per second */
  linkRate: number;
  durationNs: number;
  /** time bins of the rate series (default 100) */
  bins?: number;
  /** the qdiscs the traffic spec's changes commit, in order, compiled */
  changes?: CompiledQos[];
  /** called now and then with the simulated time (for a progress line) */
  progress?: (simNs: number, packets: number) => void;
}

export interface DelayStats {
  /** ns */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface FlowResult {
  name: string;
  detail: string;
  offeredPackets: number;
  offeredBytes: number;
  sentPackets: number;
  sentBytes: number;
  droppedPackets: number;
  droppedBytes: number;
  queuedPackets: number;
  /** bits per second over the run (bytes that finished crossing the link) */
  throughput: number;
  delay: DelayStats | undefined;
  /** bits per second in each time bin */
  series: number[];
}

export interface SimResult {
  linkRate: number;
  durationNs: number;
  binNs: number;
  qdisc: string;
  classes: FlowResult[];
  sources: FlowResult[];
  totals: { offered: number; sent: number; dropped: number; queued: number; linkUtilization: number };
  /** the egress scheduler at the end (tc statistics come from it) */
  scheduler: EgressScheduler<Tag>;
  /** the qdisc active at the end */
  compiled: CompiledQos;
  generations: { atNs: number; generation: number; qdisc: string; migrated: number; migrationDrops: number }[];
  events: number;
}

/** What the simulator remembers of each packet it offers. */
export interface Tag {
  source: number;
  flow: number;
  /** report class index, set when the packet is queued or dropped */
  klass: number;
}

type Ev =
  | (SimEvent & { kind: "gen"; source: number })
  | (SimEvent & { kind: "send"; source: number; flow: number })
  | (SimEvent & { kind: "capture"; index: number })
  | (SimEvent & { kind: "linkfree" })
  | (SimEvent & { kind: "wake" })
  | (SimEvent & { kind: "ack"; source: number; flow: number; ce: boolean })
  | (SimEvent & { kind: "loss"; source: number; flow: number })
  | (SimEvent & { kind: "change"; index: number });

/** A deterministic PRNG (mulberry32): runs repeat exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Tally {
  offeredPackets = 0;
  offeredBytes = 0;
  sentPackets = 0;
  sentBytes = 0;
  droppedPackets = 0;
  droppedBytes = 0;
  queuedPackets = 0;
  departedBytes = 0;
  private delays = new Float64Array(1024);
  private n = 0;
  readonly bins: Float64Array;
  constructor(bins: number) {
    this.bins = new Float64Array(bins);
  }
  delay(ns: number): void {
    if (this.n === this.delays.length) {
      const grown = new Float64Array(this.n * 2);
      grown.set(this.delays);
      this.delays = grown;
    }
    this.delays[this.n++] = ns;
  }
  delayStats(): DelayStats | undefined {
    if (this.n === 0) return undefined;
    const d = this.delays.slice(0, this.n).sort();
    const at = (p: number) => d[Math.min(this.n - 1, Math.ceil(p * this.n) - 1)]!;
    let sum = 0;
    for (const x of d) sum += x;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: d[this.n - 1]!, mean: sum / this.n };
  }
  result(name: string, detail: string, durationNs: number, binNs: number): FlowResult {
    return {
      name,
      detail,
      offeredPackets: this.offeredPackets,
      offeredBytes: this.offeredBytes,
      sentPackets: this.sentPackets,
      sentBytes: this.sentBytes,
      droppedPackets: this.droppedPackets,
      droppedBytes: this.droppedBytes,
      queuedPackets: this.queuedPackets,
      throughput: (this.departedBytes * 8 * 1e9) / durationNs,
      delay: this.delayStats(),
      series: Array.from(this.bins, (b) => (b * 8 * 1e9) / binNs),
    };
  }
}

interface AimdFlow {
  cwnd: number;
  ssthresh: number;
  inflight: number;
  lastCut: number;
  nextSend: number;
  sendPending: boolean;
}

export async function simulate(compiled: CompiledQos, offered: Offered, opts: SimOptions): Promise<SimResult> {
  const sched = await EgressScheduler.create<Tag>();
  return runSimulation(sched, compiled, offered, opts);
}

export function simulateSync(compiled: CompiledQos, offered: Offered, opts: SimOptions): SimResult {
  return runSimulation(EgressScheduler.createSync<Tag>(), compiled, offered, opts);
}

function runSimulation(sched: EgressScheduler<Tag>, compiled: CompiledQos, offered: Offered, opts: SimOptions): SimResult {
  const bins = opts.bins ?? 100;
  const duration = opts.durationNs;
  const binNs = duration / bins;
  const linkRate = opts.linkRate;
  sched.load(bundleOf(compiled));
  sched.commit(0);
  let current = compiled;
  let classMap = reportClasses(current);
  const classTallies = new Map<string, { tally: Tally; detail: string }>();
  const tallyOfClass = (c: ClassName): number => {
    const names = [...classTallies.keys()];
    let i = names.indexOf(c.name);
    if (i < 0) {
      classTallies.set(c.name, { tally: new Tally(bins), detail: c.detail });
      i = names.length;
    }
    return i;
  };
  let queueClass = classMap.ofQueue.map((k) => tallyOfClass(classMap.classes[k]!));
  const classByIndex = () => [...classTallies.values()].map((x) => x.tally);
  let classTallyList = classByIndex();
  const generations: SimResult["generations"] = [{ atNs: 0, generation: sched.generation, qdisc: bundleOf(current).label ?? "", migrated: 0, migrationDrops: 0 }];

  const sources: SourceSpec[] = offered.kind === "sources" ? offered.spec.sources : [];
  const sourceTallies = offered.kind === "sources" ? sources.map(() => new Tally(bins)) : [new Tally(bins)];
  const sourceNames = offered.kind === "sources" ? sources.map((s) => ({ name: s.name, detail: describeSource(s) })) : [{ name: offered.name, detail: "capture" }];
  const frames = sources.map((s) => Array.from({ length: s.flows }, (_, f) => flowFrame(s, f)));
  const owners = sources.map((s) => ownerWords(s.owner, current.classifier.strings));
  const rand = sources.map((_, i) => prng(((offered.kind === "sources" ? offered.spec.seed : 1) * 7919 + i * 104729) >>> 0));
  const sentCount = sources.map(() => 0);
  const aimd: AimdFlow[][] = sources.map((s) =>
    s.pattern.kind === "aimd" ? Array.from({ length: s.flows }, () => ({ cwnd: (s.pattern as { initialWindow: number }).initialWindow, ssthresh: Infinity, inflight: 0, lastCut: -Infinity, nextSend: s.startNs, sendPending: false })) : [],
  );

  const q = new EventQueue<Ev>();
  let linkBusy = false;
  let inFlight: { bytes: number; klass: number; source: number; flow: number; ce: boolean } | undefined;
  let pendingWake = Infinity;
  let events = 0;
  let packets = 0;

  // first events
  sources.forEach((s, i) => {
    if (s.pattern.kind === "aimd") aimd[i]!.forEach((_, f) => q.push({ time: s.startNs, kind: "send", source: i, flow: f }));
    else q.push({ time: s.startNs, kind: "gen", source: i });
  });
  if (offered.kind === "capture" && offered.packets.length > 0) q.push({ time: offered.packets[0]!.timeNs, kind: "capture", index: 0 });
  (opts.changes ?? []).forEach((_, i) => {
    const at = offered.kind === "sources" ? offered.spec.changes[i]!.atNs : Infinity;
    q.push({ time: at, kind: "change", index: i });
  });

  const noteDrops = (now: number) => {
    for (const d of sched.takeDropped()) {
      const tag = d.packet.tag!;
      const len = d.packet.wireLength;
      const st = sourceTallies[tag.source]!;
      st.droppedPackets++;
      st.droppedBytes += len;
      const k = d.accountedQueue >= 0 ? queueClass[d.accountedQueue] ?? tag.klass : tag.klass;
      const ct = classTallyList[k];
      if (ct) {
        ct.droppedPackets++;
        ct.droppedBytes += len;
      }
      const s = sources[tag.source];
      if (s?.pattern.kind === "aimd") q.push({ time: now + s.pattern.rttNs, kind: "loss", source: tag.source, flow: tag.flow });
    }
  };

  const pump = (now: number) => {
    if (linkBusy) return;
    const sent = sched.dequeue(now);
    noteDrops(now);
    if (!sent) {
      const wake = sched.wakeAt();
      if (wake !== undefined) {
        const at = Math.max(wake, now + 1);
        if (at < pendingWake) {
          pendingWake = at;
          q.push({ time: at, kind: "wake" });
        }
      }
      return;
    }
    const tag = sent.packet.tag!;
    const len = sent.packet.wireLength;
    const k = queueClass[sent.queue] ?? tag.klass;
    const delay = now - sent.arrivedAt;
    const st = sourceTallies[tag.source]!;
    st.sentPackets++;
    st.sentBytes += len;
    st.delay(delay);
    const ct = classTallyList[k]!;
    ct.sentPackets++;
    ct.sentBytes += len;
    ct.delay(delay);
    const tx = Math.max(1, Math.round((len * 1e9) / linkRate));
    linkBusy = true;
    inFlight = { bytes: len, klass: k, source: tag.source, flow: tag.flow, ce: sent.ce };
    q.push({ time: now + tx, kind: "linkfree" });
  };

  const arrive = (now: number, packet: EgressPacket<Tag>, source: number) => {
    packets++;
    const st = sourceTallies[source]!;
    st.offeredPackets++;
    st.offeredBytes += packet.wireLength;
    const r: Queued<Tag> = sched.enqueue(packet, now);
    const k = r.accountedQueue >= 0 ? queueClass[r.accountedQueue]! : r.queue >= 0 ? queueClass[r.queue]! : -1;
    packet.tag!.klass = k;
    const ct = classTallyList[k];
    if (ct) {
      ct.offeredPackets++;
      ct.offeredBytes += packet.wireLength;
    }
    noteDrops(now);
    pump(now);
  };

  const sourcePacket = (i: number, flow: number): EgressPacket<Tag> => {
    const s = sources[i]!;
    return { frame: frames[i]![flow]!, wireLength: s.size, owner: owners[i]!, mark: s.mark, priority: s.priority, tag: { source: i, flow, klass: -1 } };
  };

  const aimdSend = (now: number, i: number, f: number) => {
    const s = sources[i]!;
    const p = s.pattern as Extract<SourceSpec["pattern"], { kind: "aimd" }>;
    const st = aimd[i]![f]!;
    st.sendPending = false;
    while (st.inflight < Math.floor(st.cwnd) && now < s.stopNs && now < duration) {
      if (p.rate !== undefined && now < st.nextSend) {
        st.sendPending = true;
        q.push({ time: st.nextSend, kind: "send", source: i, flow: f });
        return;
      }
      st.inflight++;
      if (p.rate !== undefined) st.nextSend = now + (s.size * 1e9 * s.flows) / p.rate;
      arrive(now, sourcePacket(i, f), i);
    }
  };

  const cut = (now: number, i: number, f: number) => {
    const s = sources[i]!;
    const p = s.pattern as Extract<SourceSpec["pattern"], { kind: "aimd" }>;
    const st = aimd[i]![f]!;
    if (now - st.lastCut < p.rttNs) return; // one reduction per round trip
    st.ssthresh = Math.max(2, st.cwnd / 2);
    st.cwnd = st.ssthresh;
    st.lastCut = now;
  };

  let lastProgress = 0;
  for (;;) {
    const e = q.pop();
    if (!e || e.time > duration) break;
    const now = e.time;
    events++;
    if (opts.progress && (events & 0xfff) === 0 && now - lastProgress >= duration / 200) {
      lastProgress = now;
      opts.progress(now, packets);
    }
    switch (e.kind) {
      case "gen": {
        const s = sources[e.source]!;
        if (now >= s.stopNs) break;
        const n = sentCount[e.source]!++;
        arrive(now, sourcePacket(e.source, n % s.flows), e.source);
        const p = s.pattern;
        let next: number;
        if (p.kind === "poisson") next = now + (-Math.log(1 - rand[e.source]!()) * s.size * 1e9) / p.rate;
        else {
          next = now + (s.size * 1e9) / (p as { rate: number }).rate;
          if (p.kind === "onoff") {
            const period = p.onNs + p.offNs;
            const phase = (next - s.startNs) % period;
            if (phase >= p.onNs) next += period - phase;
          }
        }
        if (next < s.stopNs) q.push({ time: next, kind: "gen", source: e.source });
        break;
      }
      case "send":
        aimdSend(now, e.source, e.flow);
        break;
      case "capture": {
        if (offered.kind !== "capture") break;
        const c = offered.packets[e.index]!;
        arrive(now, { frame: c.frame, wireLength: c.wireLength, ...(c.owner ? { owner: c.owner } : {}), tag: { source: 0, flow: 0, klass: -1 } }, 0);
        const next = offered.packets[e.index + 1];
        if (next) q.push({ time: Math.max(now, next.timeNs), kind: "capture", index: e.index + 1 });
        break;
      }
      case "linkfree": {
        const f = inFlight!;
        inFlight = undefined;
        linkBusy = false;
        sourceTallies[f.source]!.departedBytes += f.bytes;
        const ct = classTallyList[f.klass]!;
        ct.departedBytes += f.bytes;
        const bin = Math.min(bins - 1, Math.floor(now / binNs));
        ct.bins[bin]! += f.bytes;
        sourceTallies[f.source]!.bins[bin]! += f.bytes;
        const s = sources[f.source];
        if (s?.pattern.kind === "aimd") q.push({ time: now + s.pattern.rttNs, kind: "ack", source: f.source, flow: f.flow, ce: f.ce });
        pump(now);
        break;
      }
      case "wake":
        if (now >= pendingWake) pendingWake = Infinity;
        pump(now);
        break;
      case "ack": {
        const st = aimd[e.source]![e.flow]!;
        st.inflight = Math.max(0, st.inflight - 1);
        const p = sources[e.source]!.pattern as Extract<SourceSpec["pattern"], { kind: "aimd" }>;
        if (e.ce) cut(now, e.source, e.flow);
        else st.cwnd = Math.min(p.window, st.cwnd + (st.cwnd < st.ssthresh ? 1 : 1 / st.cwnd));
        if (!st.sendPending) aimdSend(now, e.source, e.flow);
        break;
      }
      case "loss": {
        const st = aimd[e.source]![e.flow]!;
        st.inflight = Math.max(0, st.inflight - 1);
        cut(now, e.source, e.flow);
        if (!st.sendPending) aimdSend(now, e.source, e.flow);
        break;
      }
      case "change": {
        const next = opts.changes![e.index]!;
        const before = { migrated: sched.migrated, drops: sched.migrationDrops };
        sched.load(bundleOf(next));
        sched.commit(now);
        current = next;
        classMap = reportClasses(current);
        queueClass = classMap.ofQueue.map((k) => tallyOfClass(classMap.classes[k]!));
        classTallyList = classByIndex();
        // a carried-over packet is offered to its new class instead of its old one
        for (const { before: b, after } of sched.takeCarried()) {
          const oldClass = classTallyList[b.packet.tag!.klass];
          const k = after.accountedQueue >= 0 ? queueClass[after.accountedQueue]! : after.queue >= 0 ? queueClass[after.queue]! : -1;
          const newClass = classTallyList[k];
          if (oldClass) {
            oldClass.offeredPackets--;
            oldClass.offeredBytes -= b.packet.wireLength;
          }
          if (newClass) {
            newClass.offeredPackets++;
            newClass.offeredBytes += b.packet.wireLength;
          }
          b.packet.tag!.klass = k;
        }
        sources.forEach((s, i) => (owners[i] = ownerWords(s.owner, current.classifier.strings)));
        generations.push({ atNs: now, generation: sched.generation, qdisc: bundleOf(current).label ?? "", migrated: sched.migrated - before.migrated, migrationDrops: sched.migrationDrops - before.drops });
        // packets the migration refused are drops of their sources
        noteDrops(now);
        pump(now);
        break;
      }
    }
  }
  opts.progress?.(duration, packets);

  // whatever is still queued at the end
  const snapshotQueues = sched.scheduler.queues();
  snapshotQueues.forEach((qc, i) => {
    const k = queueClass[i];
    if (k !== undefined && qc.packets > 0) classTallyList[k]!.queuedPackets += qc.packets;
  });
  for (const t of sourceTallies) t.queuedPackets = t.offeredPackets - t.sentPackets - t.droppedPackets;
  const classes = [...classTallies.entries()].map(([name, { tally, detail }]) => tally.result(name, detail, duration, binNs));
  const srcResults = sourceTallies.map((t, i) => t.result(sourceNames[i]!.name, sourceNames[i]!.detail, duration, binNs));
  const sum = (f: (r: FlowResult) => number) => srcResults.reduce((n, r) => n + f(r), 0);
  return {
    linkRate,
    durationNs: duration,
    binNs,
    qdisc: bundleOf(current).label ?? "",
    classes,
    sources: srcResults,
    totals: {
      offered: sum((r) => r.offeredPackets),
      sent: sum((r) => r.sentPackets),
      dropped: sum((r) => r.droppedPackets),
      queued: sched.backlog,
      linkUtilization: (sum((r) => r.throughput) / 8 / linkRate) || 0,
    },
    scheduler: sched,
    compiled: current,
    generations,
    events,
  };
}

function describeSource(s: SourceSpec): string {
  const p = s.pattern;
  const rate = (b: number) => `${((b * 8) / 1e6).toPrecision(3)} Mbit/s`;
  const owner = [s.owner.cmd && `cmd ${s.owner.cmd}`, s.owner.cgroup && `cgroup ${s.owner.cgroup}`].filter(Boolean).join(", ");
  const what = p.kind === "aimd" ? `aimd, rtt ${p.rttNs / 1e6} ms` : p.kind === "onoff" ? `onoff ${rate(p.rate)}` : `${p.kind} ${rate(p.rate)}`;
  return `${what}${s.flows > 1 ? `, ${s.flows} flows` : ""}${owner ? `, ${owner}` : ""}`;
}
