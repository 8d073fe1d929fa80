/** The text and JSON reports of `hostctl qos simulate`. */
import { classEntries, entriesJson, qdiscEntries, type StatsSource } from "./tc-stats.js";
import type { FlowResult, SimResult } from "./simulate.js";

export function statsSource(r: SimResult): StatsSource {
  return { snapshot: r.scheduler.snapshot(), stateWord: (i) => r.scheduler.stateWord(i) };
}

function rate(bits: number): string {
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(3)} Gbit/s`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(3)} Mbit/s`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(3)} kbit/s`;
  return `${bits.toFixed(0)} bit/s`;
}

function ms(ns: number | undefined): string {
  return ns === undefined ? "-" : (ns / 1e6).toFixed(3);
}

function table(title: string, rows: FlowResult[]): string {
  const head = [title, "offered", "sent", "dropped", "queued", "throughput", "p50 ms", "p90 ms", "p99 ms", "max ms"];
  const body = rows.map((r) => [r.name, String(r.offeredPackets), String(r.sentPackets), String(r.droppedPackets), String(r.queuedPackets), rate(r.throughput), ms(r.delay?.p50), ms(r.delay?.p90), ms(r.delay?.p99), ms(r.delay?.max)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const details = rows.map((r) => `  ${r.name}: ${r.detail}`).join("\n");
  return [line(head), ...body.map(line), "", details].join("\n") + "\n";
}

export function reportText(r: SimResult, wallMs?: number): string {
  const out: string[] = [];
  const t = r.totals;
  out.push(`${r.qdisc} on a ${rate(r.linkRate * 8)} link, ${r.durationNs / 1e9} s of virtual time (${r.events} events${wallMs !== undefined ? `, ${(wallMs / 1000).toFixed(2)} s wall` : ""})`);
  out.push(`offered ${t.offered} packets: sent ${t.sent}, dropped ${t.dropped}, still queued ${t.queued}; link ${(t.linkUtilization * 100).toFixed(1)}% busy`);
  for (const g of r.generations.slice(1)) out.push(`at ${g.atNs / 1e9} s: qdisc changed to ${g.qdisc} (generation ${g.generation}); ${g.migrated} queued packets carried over, ${g.migrationDrops} dropped`);
  out.push("");
  out.push(table("class", r.classes));
  out.push(table("source", r.sources));
  return out.join("\n");
}

export function reportJson(r: SimResult): object {
  const s = statsSource(r);
  return {
    qdisc: r.qdisc,
    linkRate: r.linkRate * 8,
    durationNs: r.durationNs,
    binNs: r.binNs,
    events: r.events,
    totals: r.totals,
    generations: r.generations,
    classes: r.classes,
    sources: r.sources,
    tc: { qdiscs: entriesJson(qdiscEntries(r.compiled, s)), classes: entriesJson(classEntries(r.compiled, s)) },
  };
}
