/**
 * `tc -s qdisc show` / `tc -s class show` / `tc filter show` for a qdisc on the NIC's egress scheduler: the
 * lines and the JSON (`tc -j`) exactly as iproute2 prints them, from the compiled policy (parameters) and the
 * scheduler's state (the queue model's counters, the programs' counters and state words).
 */
import type { CompiledQos } from "../../compiler/qos/compile.js";
import type { HtbClass, LeafQdisc } from "../../compiler/qos/ir.js";
import { BIAS } from "../../compiler/qos/sched-asm.js";
import { burstTimeNs } from "../../compiler/qos/lower.js";
import { formatHandle, formatRate, formatSize, formatTime, handle, majorOf, type Handle } from "../../compiler/qos/units.js";
import type { SchedulerSnapshot } from "../../fpga-model/scheduler.js";
import type { QueueCounters } from "../../runtime/sched/scheduler-vm.js";

/** What the statistics are read from: a snapshot and the active qdisc's state memory. */
export interface StatsSource {
  snapshot: SchedulerSnapshot;
  stateWord(index: number): bigint;
}

interface Basic {
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  backlog: number;
  qlen: number;
}

type Json = Record<string, unknown>;

export interface StatsEntry {
  /** the tc line (without statistics) */
  line: string;
  /** the statistics lines (each starting with a space), printed with -s */
  stats: string[];
  json: Json;
}

const ZERO: QueueCounters = { packets: 0, bytes: 0, enqueuedPackets: 0, enqueuedBytes: 0, sentPackets: 0, sentBytes: 0, droppedPackets: 0, droppedBytes: 0, ecnMarks: 0 };

function sumQueues(list: QueueCounters[]): QueueCounters {
  const s = { ...ZERO };
  for (const q of list) for (const k of Object.keys(s) as (keyof QueueCounters)[]) s[k] += q[k];
  return s;
}

function basicOf(q: QueueCounters, overlimits = 0): Basic {
  return { bytes: q.sentBytes, packets: q.sentPackets, drops: q.droppedPackets, overlimits, requeues: 0, backlog: q.bytes, qlen: q.packets };
}

/** print_tcstats2_attr: two lines. */
function basicLines(b: Basic): string[] {
  return [` Sent ${b.bytes} bytes ${b.packets} pkt (dropped ${b.drops}, overlimits ${b.overlimits} requeues ${b.requeues}) `, ` backlog ${formatSize(b.backlog)} ${b.qlen}p requeues ${b.requeues}`];
}

function counter(c: CompiledQos, s: StatsSource, name: string): number {
  const id = c.scheduler.layout.counters[name];
  return id === undefined ? 0 : s.snapshot.counters[id] ?? 0;
}

function word(c: CompiledQos, s: StatsSource, name: string, offset = 0): bigint {
  const at = c.scheduler.layout.words[name];
  return at === undefined ? 0n : s.stateWord(at + offset);
}

/** A biased signed state value as Linux's s64, then PSCHED_NS2TICKS clamped to int (htb's tokens). */
function ticks(biased: bigint): number {
  const ns = biased - BIAS;
  const t = ns >> 6n;
  return Number(t < -2147483648n ? -2147483648n : t > 2147483647n ? 2147483647n : t);
}

function leafQdiscText(l: LeafQdisc): string {
  return l.kind === "pfifo" ? `limit ${l.limit}p` : `limit ${formatSize(l.limit)}`;
}

/** The qdisc's own option text, as tc prints it after `root refcnt 2 `. */
function optionText(c: CompiledQos, s: StatsSource | undefined): { text: string; json: Json } {
  const p = c.policy.root.params;
  switch (p.kind) {
    case "pfifo":
      return { text: `limit ${p.limit}p`, json: { limit: p.limit } };
    case "bfifo":
      return { text: `limit ${formatSize(p.limit)}`, json: { limit: p.limit } };
    case "prio":
      return { text: `bands ${p.bands} priomap ${p.priomap.join(" ")}`, json: { bands: p.bands, priomap: p.priomap, multiqueue: false } };
    case "tbf": {
      // tc's q_tbf.c: lat = limit / rate − burst time (and the peak's, when larger)
      let latUs = (1e6 * p.limit) / p.rate - (1e6 * p.burst) / p.rate;
      if (p.peakrate !== undefined) latUs = Math.max(latUs, (1e6 * p.limit) / p.peakrate - (1e6 * p.mtu!) / p.peakrate);
      const peak = p.peakrate !== undefined ? `peakrate ${formatRate(p.peakrate)} minburst ${formatSize(p.mtu!)} ` : "";
      const tail = latUs >= 0 ? `lat ${formatTime(latUs)}` : `limit ${formatSize(p.limit)}`;
      return { text: `rate ${formatRate(p.rate)} burst ${formatSize(p.burst)} ${peak}${tail}`, json: { rate: p.rate, burst: p.burst, ...(p.peakrate !== undefined ? { peakrate: p.peakrate, minburst: p.mtu } : {}), lat: Math.round(latUs), limit: p.limit } };
    }
    case "htb": {
      const direct = s ? counter(c, s, "direct_packets") : 0;
      const def = p.defaultMinor === 0 ? "0" : `0x${p.defaultMinor.toString(16)}`;
      return { text: `r2q ${p.r2q} default ${def} direct_packets_stat ${direct} direct_qlen ${p.directQlen}`, json: { r2q: p.r2q, default: def, direct_packets_stat: direct, direct_qlen: p.directQlen } };
    }
    case "drr":
      return { text: "", json: {} };
    case "sfq": {
      const perturb = p.perturbSec ? ` perturb ${p.perturbSec}sec` : "";
      return { text: `limit ${p.limit}p quantum ${formatSize(p.quantum)} depth ${p.depth} divisor ${p.divisor}${perturb}${p.headdrop ? " headdrop" : ""}`, json: { limit: p.limit, quantum: p.quantum, depth: p.depth, divisor: p.divisor, perturb: p.perturbSec, headdrop: p.headdrop } };
    }
    case "fq_codel":
      return {
        text: `limit ${p.limit}p flows ${p.flows} quantum ${p.quantum} target ${formatTime(p.targetUs)} interval ${formatTime(p.intervalUs)} memory_limit ${formatSize(p.memoryLimit)} ${p.ecn ? "ecn " : ""}drop_batch ${p.dropBatch}`,
        json: { limit: p.limit, flows: p.flows, quantum: p.quantum, target: p.targetUs, interval: p.intervalUs, memory_limit: p.memoryLimit, ecn: p.ecn, drop_batch: p.dropBatch },
      };
  }
}

/** Length of a list kept in state memory as index + 1 links (fq_codel's new_flows, old_flows). */
function listLength(c: CompiledQos, s: StatsSource, headName: string): number {
  let n = 0;
  let at = word(c, s, headName);
  const limit = c.queues.length + 1;
  while (at !== 0n && n < limit) {
    n++;
    at = word(c, s, "next", Number(at) - 1);
  }
  return n;
}

/** `tc -s qdisc show dev DEV`: the root qdisc and the leaf qdiscs written in the policy. */
export function qdiscEntries(c: CompiledQos, s: StatsSource | undefined): StatsEntry[] {
  const root = c.policy.root;
  const p = root.params;
  const queues = s?.snapshot.queues ?? c.queues.map(() => ZERO);
  const all = sumQueues(queues);
  const ev = s?.snapshot.events;
  const drops = ev ? ev.refused + ev.overflow + ev.faults + ev.queueDrops : 0;
  const basic: Basic = { ...basicOf(all, s ? counter(c, s, "overlimits") : 0), drops };
  const opts = optionText(c, s);
  const line = `qdisc ${p.kind} ${formatHandle(root.handle)} root refcnt 2 ${opts.text}`.trimEnd() + " ";
  const stats = basicLines(basic);
  const json: Json = { kind: p.kind, handle: formatHandle(root.handle), root: true, refcnt: 2, options: opts.json, ...basic };
  if (p.kind === "fq_codel" && s) {
    const x = {
      maxpacket: Number(word(c, s, "maxpacket")),
      drop_overlimit: counter(c, s, "drop_overlimit"),
      new_flow_count: counter(c, s, "new_flow_count"),
      ecn_mark: counter(c, s, "ecn_mark"),
      new_flows_len: listLength(c, s, "new head"),
      old_flows_len: listLength(c, s, "old head"),
    };
    stats.push(`  maxpacket ${x.maxpacket} drop_overlimit ${x.drop_overlimit} new_flow_count ${x.new_flow_count} ecn_mark ${x.ecn_mark}${all.bytes ? ` memory_used ${all.bytes}` : ""}`);
    stats.push(`  new_flows_len ${x.new_flows_len} old_flows_len ${x.old_flows_len}`);
    Object.assign(json, x);
  }
  const out: StatsEntry[] = [{ line, stats, json }];
  // leaf qdiscs the policy wrote (the default pfifo of a class is not listed, as tc lists none)
  const leaf = (l: LeafQdisc | undefined, parent: Handle, q: number) => {
    if (!l?.pos) return;
    const h = l.handle ?? 0;
    const b = basicOf(queues[q] ?? ZERO);
    out.push({ line: `qdisc ${l.kind} ${formatHandle(h)} parent ${formatHandle(parent)} ${leafQdiscText(l)} `, stats: basicLines(b), json: { kind: l.kind, handle: formatHandle(h), parent: formatHandle(parent), options: { limit: l.limit }, ...b } });
  };
  if (p.kind === "htb") p.classes.filter((x) => x.leaf).forEach((x, i) => leaf(x.leaf, x.id, i));
  if (p.kind === "drr") p.classes.forEach((x, i) => leaf(x.leaf, x.id, i));
  if (p.kind === "prio") p.leaves.forEach((l, i) => leaf(l, handle(majorOf(root.handle), i + 1), i));
  return out;
}

/** `tc -s class show dev DEV`. */
export function classEntries(c: CompiledQos, s: StatsSource | undefined): StatsEntry[] {
  const root = c.policy.root;
  const p = root.params;
  const queues = s?.snapshot.queues ?? c.queues.map(() => ZERO);
  const out: StatsEntry[] = [];
  const leafInfo = (l: LeafQdisc | undefined) => (l?.pos && l.handle !== undefined ? `leaf ${majorOf(l.handle).toString(16)}: ` : "");
  switch (p.kind) {
    case "htb": {
      const leaves = p.classes.filter((x) => x.leaf);
      const under = (cls: HtbClass): number[] => leaves.flatMap((l, i) => (isUnder(p.classes, l, cls) ? [i] : []));
      for (const cls of p.classes) {
        const id = formatHandle(cls.id);
        const qs = under(cls).map((i) => queues[i] ?? ZERO);
        const agg = sumQueues(qs);
        const b: Basic = cls.leaf ? basicOf(agg) : { ...basicOf(agg), drops: 0, backlog: 0, qlen: 0 };
        b.overlimits = s ? counter(c, s, `class ${id} overlimits`) : 0;
        const where = cls.parent === undefined ? "root " : `parent ${formatHandle(cls.parent)} `;
        const prio = cls.leaf ? `prio ${cls.prio} ` : "";
        const line = `class htb ${id} ${where}${leafInfo(cls.leaf)}${prio}rate ${formatRate(cls.rate)} ceil ${formatRate(cls.ceil)} burst ${formatSize(cls.burst)} cburst ${formatSize(cls.cburst)} `;
        const x = {
          lended: s ? counter(c, s, `class ${id} lends`) : 0,
          borrowed: s ? counter(c, s, `class ${id} borrows`) : 0,
          giants: 0,
          tokens: s ? ticks(word(c, s, `class ${id} tokens`)) : ticks(BIAS + BigInt(burstTimeNs(cls.rate, cls.burst))),
          ctokens: s ? ticks(word(c, s, `class ${id} ctokens`)) : ticks(BIAS + BigInt(burstTimeNs(cls.ceil, cls.cburst))),
        };
        out.push({
          line,
          stats: [...basicLines(b), ` lended: ${x.lended} borrowed: ${x.borrowed} giants: ${x.giants}`, ` tokens: ${x.tokens} ctokens: ${x.ctokens}`],
          json: { class: "htb", handle: id, ...(cls.parent === undefined ? { root: true } : { parent: formatHandle(cls.parent) }), ...(cls.leaf ? { prio: cls.prio } : {}), rate: cls.rate, ceil: cls.ceil, burst: cls.burst, cburst: cls.cburst, ...b, ...x },
        });
      }
      break;
    }
    case "drr":
      p.classes.forEach((cls, i) => {
        const id = formatHandle(cls.id);
        const b = basicOf(queues[i] ?? ZERO);
        const deficit = s ? Number(word(c, s, `class ${i} deficit`)) : 0;
        out.push({
          line: `class drr ${id} root ${leafInfo(cls.leaf)}quantum ${formatSize(cls.quantum)} `,
          stats: [...basicLines(b), ` deficit ${formatSize(deficit)} `],
          json: { class: "drr", handle: id, root: true, quantum: cls.quantum, ...b, deficit },
        });
      });
      break;
    case "prio":
      for (let i = 0; i < p.bands; i++) {
        const id = formatHandle(handle(majorOf(root.handle), i + 1));
        const b = basicOf(queues[i] ?? ZERO);
        out.push({ line: `class prio ${id} parent ${formatHandle(root.handle)} ${leafInfo(p.leaves[i])}`, stats: basicLines(b), json: { class: "prio", handle: id, parent: formatHandle(root.handle), ...b } });
      }
      break;
    default:
      break; // classless (sfq and fq_codel list flows only with `tc class show` of live flows; kopi lists none)
  }
  return out;
}

function isUnder(classes: HtbClass[], leaf: HtbClass, cls: HtbClass): boolean {
  for (let x: HtbClass | undefined = leaf; x; x = x.parent === undefined ? undefined : classes.find((y) => y.id === x!.parent)) if (x.id === cls.id) return true;
  return false;
}

/** `tc filter show dev DEV`: the filters in tc's order, as the policy wrote them, with hit counts under -s. */
export function filterEntries(c: CompiledQos, s: StatsSource | undefined): StatsEntry[] {
  const ordered = c.policy.filters.map((f, i) => ({ f, i })).sort((a, b) => a.f.prio - b.f.prio || a.f.order - b.f.order);
  return ordered.map(({ f, i }) => {
    const hits = s?.snapshot.filterHits[c.classifier.filterCounters[i]!] ?? 0;
    const flowid = formatHandle(f.target);
    return {
      line: `filter parent ${formatHandle(c.policy.root.handle)} pref ${f.prio} kopi ${f.text.replace(/^filter\s+/, "")}${/flowid|classid/.test(f.text) ? "" : ` flowid ${flowid}`} `,
      stats: [` hits ${hits}`],
      json: { parent: formatHandle(c.policy.root.handle), pref: f.prio, kind: "kopi", match: f.text, flowid, hits },
    };
  });
}

export function formatEntries(entries: StatsEntry[], withStats: boolean): string {
  return entries.map((e) => [e.line, ...(withStats ? e.stats : [])].join("\n") + "\n").join(withStats ? "" : "");
}

/** tc -j prints one JSON array. */
export function entriesJson(entries: StatsEntry[]): Json[] {
  return entries.map((e) => e.json);
}


