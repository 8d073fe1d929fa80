/** tc statistics of a test run, parsed back from hostctl's tc-shaped output (so the tests read what users read). */
import type { CompiledQos } from "../../compiler/qos/compile.js";
import { classEntries, formatEntries, qdiscEntries, type StatsSource } from "../../hostctl/qos/tc-stats.js";
import type { LinkRun } from "./harness.js";

export function statsSourceOf(run: LinkRun): StatsSource {
  return { snapshot: run.sched.snapshot(), stateWord: (i) => run.sched.stateWord(i) };
}

export function tcStatsOf(run: LinkRun, c: CompiledQos): { qdiscLine: string; qdiscText: string; classText: string; classes: Map<string, { lended: number; borrowed: number; sent: number; dropped: number; overlimits: number }> } {
  const s = statsSourceOf(run);
  const qd = qdiscEntries(c, s);
  const cl = classEntries(c, s);
  const classes = new Map<string, { lended: number; borrowed: number; sent: number; dropped: number; overlimits: number }>();
  for (const e of cl) {
    const j = e.json as Record<string, number | string>;
    classes.set(String(j.handle), { lended: Number(j.lended ?? 0), borrowed: Number(j.borrowed ?? 0), sent: Number(j.packets), dropped: Number(j.drops), overlimits: Number(j.overlimits) });
  }
  return { qdiscLine: qd[0]!.line, qdiscText: formatEntries(qd, true), classText: formatEntries(cl, true), classes };
}
