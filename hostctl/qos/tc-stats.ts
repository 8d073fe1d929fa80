/**
 * `tc -s qdisc show` / `tc -s class show` / `tc filter show` for a qdisc on the NIC's egress scheduler: the
 * lines and the JSON (`tc -j`) exactly as iproute2 prints them, from the compiled policy (parameters) and the
 * scheduler's state (the queue model's counters, the programs' counters and state words).
 */
import type { CompiledQos } from "../../compiler/qos/compile.js";
import { isFifoLeaf, type HtbClass, type LeafQdisc, type QdiscParams } from "../../compiler/qos/ir.js";
import { leafPrefix, leafSlots, type LeafSlot } from "../../compiler/qos/leaves.js";
import { BIAS } from "../../compiler/qos/sched-asm.js";
import { burstTimeNs } from "../../compiler/qos/lower.js";
import { formatHandle, formatRate, formatSize, formatTime, majorOf } from "../../compiler/qos/units.js";
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

/** A qdisc's own option text, as tc prints it after `root refcnt 2 ` or `parent 1:10 `. */
function optionText(c: CompiledQos, s: StatsSource | undefined, p: QdiscParams = c.policy.root.params): { text: string; json: Json } {
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
function listLength(c: CompiledQos, s: StatsSource, headName: string, prefix = ""): number {
  let n = 0;
  let at = word(c, s, `${prefix}${headName}`);
  const limit = c.queues.length + 1;
  while (at !== 0n && n < limit) {
    n++;
    at = word(c, s, `${prefix}next`, Number(at) - 1);
  }
  return n;
}

/** fq_codel's xstats lines (print_fq_codel_xstats): its state words and counters are named with `prefix`. */
function fqCodelStats(c: CompiledQos, s: StatsSource, prefix: string, backlogBytes: number): { lines: string[]; json: Json } {
  const x = {
    maxpacket: Number(word(c, s, `${prefix}maxpacket`)),
    drop_overlimit: counter(c, s, `${prefix}drop_overlimit`),
    new_flow_count: counter(c, s, `${prefix}new_flow_count`),
    ecn_mark: counter(c, s, `${prefix}ecn_mark`),
    new_flows_len: listLength(c, s, "new head", prefix),
    old_flows_len: listLength(c, s, "old head", prefix),
  };
  return {
    lines: [`  maxpacket ${x.maxpacket} drop_overlimit ${x.drop_overlimit} new_flow_count ${x.new_flow_count} ecn_mark ${x.ecn_mark}${backlogBytes ? ` memory_used ${backlogBytes}` : ""}`, `  new_flows_len ${x.new_flows_len} old_flows_len ${x.old_flows_len}`],
    json: x,
  };
}

/** The counters of a leaf's queues (its slot of the queue model). */
function slotQueues(queues: QueueCounters[], slot: LeafSlot): QueueCounters {
  return sumQueues(queues.slice(slot.base, slot.base + slot.queues).map((q) => q ?? ZERO));
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
    const x = fqCodelStats(c, s, "", all.bytes);
    stats.push(...x.lines);
    Object.assign(json, x.json);
  }
  const out: StatsEntry[] = [{ line, stats, json }];
  // leaf qdiscs the policy wrote (the default pfifo of a class is not listed, as tc lists none)
  for (const slot of leafSlots(p, root.handle)) {
    const l = slot.leaf;
    if (!l.pos) continue;
    const h = formatHandle(l.handle ?? 0);
    const parent = formatHandle(slot.parent);
    const agg = slotQueues(queues, slot);
    if (isFifoLeaf(l)) {
      const b = basicOf(agg);
      out.push({ line: `qdisc ${l.kind} ${h} parent ${parent} ${optionText(c, s, l).text} `, stats: basicLines(b), json: { kind: l.kind, handle: h, parent, options: { limit: l.limit }, ...b } });
      continue;
    }
    const prefix = leafPrefix(slot.parent);
    const b = basicOf(agg, s ? counter(c, s, `${prefix}overlimits`) : 0);
    const opts = optionText(c, s, l);
    const entry: StatsEntry = { line: `qdisc ${l.kind} ${h} parent ${parent} ${opts.text} `, stats: basicLines(b), json: { kind: l.kind, handle: h, parent, options: opts.json, ...b } };
    if (l.kind === "fq_codel" && s) {
      const x = fqCodelStats(c, s, prefix, agg.bytes);
      entry.stats.push(...x.lines);
      Object.assign(entry.json, x.json);
    }
    out.push(entry);
  }
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
      const slots = leafSlots(p, root.handle);
      const under = (cls: HtbClass): LeafSlot[] => slots.filter((sl) => isUnder(p.classes, p.classes.find((x) => x.id === sl.parent)!, cls));
      for (const cls of p.classes) {
        const id = formatHandle(cls.id);
        const agg = sumQueues(under(cls).map((sl) => slotQueues(queues, sl)));
        const b: Basic = cls.leaf ? basicOf(agg) : { ...basicOf(agg), drops: 0, backlog: 0, qlen: 0 };
        // a class over a qdisc leaf counts the drops its leaf returned at enqueue (htb_enqueue: cl->drops)
        if (cls.leaf && !isFifoLeaf(cls.leaf)) b.drops = s ? counter(c, s, `class ${id} drops`) : 0;
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
      for (const [i, slot] of leafSlots(p, root.handle).entries()) {
        const id = formatHandle(slot.parent);
        const b = basicOf(slotQueues(queues, slot));
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


