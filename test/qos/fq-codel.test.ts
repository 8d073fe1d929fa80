/** fq_codel on the overlay (compiler/qos/gen-fq-codel.ts) against the kernel's CoDel and flow queueing. */
import { describe, expect, it } from "vitest";
import { statsSourceOf } from "./stats.js";
import { cbr, compile, frame, mbit, MS, runLink, S } from "./harness.js";
import { qdiscEntries } from "../../hostctl/qos/tc-stats.js";

const TARGET = 5 * MS;
const INTERVAL = 100 * MS;

describe("fq_codel", () => {
  it("starts dropping only once the sojourn time has stayed above target for an interval", () => {
    const c = compile("qos { qdisc fq_codel root noecn }");
    // one flow at twice the link rate: the queue, and its sojourn time, grow steadily
    const run = runLink(c, cbr("bulk", frame({ sport: 7 }), 1000, mbit(20), 0, 1 * S), mbit(10), 1 * S);
    const above = run.departures.find((d) => d.t - d.arrivedAt >= TARGET)!;
    expect(above).toBeDefined();
    const firstDrop = run.drops[0]!;
    expect(firstDrop).toBeDefined();
    const txTime = (1000 * 1e9) / mbit(10);
    expect(firstDrop.t).toBeGreaterThan(above.t + INTERVAL);
    expect(firstDrop.t).toBeLessThanOrEqual(above.t + INTERVAL + txTime);
    // then the control law: the next drop comes interval × 1/√count later, with 1/√count kept as the kernel keeps
    // it — one Newton step per drop from 1.0 (so 100, 50, 56.25, 48.8 ms … converging on interval/√count)
    const gaps = run.drops.slice(1, 8).map((d, i) => d.t - run.drops[i]!.t);
    let x = 0xffff / 65536;
    gaps.forEach((gap, i) => {
      expect(Math.abs(gap - INTERVAL * x)).toBeLessThanOrEqual(txTime + 0.1 * MS);
      const count = i + 2;
      x = (x * (3 - count * x * x)) / 2;
    });
    expect(gaps[6]! / INTERVAL).toBeCloseTo(1 / Math.sqrt(7), 1);
  });

  it("never drops a flow whose sojourn time stays below the target", () => {
    const c = compile("qos { qdisc fq_codel root }");
    const run = runLink(c, cbr("ok", frame(), 1000, mbit(9), 0, 1 * S), mbit(10), 1 * S);
    expect(run.drops).toEqual([]);
    expect(run.departures.every((d) => d.t - d.arrivedAt < TARGET)).toBe(true);
  });

  it("marks ECN-capable packets instead of dropping them", () => {
    const c = compile("qos { qdisc fq_codel root ecn }");
    const run = runLink(c, cbr("ect", frame({ tos: 2 }), 1000, mbit(20), 0, 600 * MS), mbit(10), 600 * MS);
    expect(run.drops).toEqual([]);
    const marked = run.departures.filter((d) => d.ce);
    expect(marked.length).toBeGreaterThan(0);
    const s = qdiscEntries(c, statsSourceOf(run));
    expect(s[0]!.stats.join("\n")).toMatch(new RegExp(`ecn_mark ${marked.length}\\b`));
  });

  it("sends sparse flows first: a new flow's packet does not wait behind a bulk flow's queue", () => {
    const c = compile("qos { qdisc fq_codel root }");
    const bulk = cbr("bulk", frame({ sport: 1 }), 1500, mbit(20), 0, 1 * S);
    const sparse = cbr("sparse", frame({ sport: 2 }), 100, 2_000, 10 * MS, 1 * S); // a 100-byte packet every 50 ms
    const run = runLink(c, [...bulk, ...sparse], mbit(10), 1 * S);
    const delays = (f: string) => run.departures.filter((d) => d.flow === f).map((d) => d.t - d.arrivedAt);
    const sparseDelays = delays("sparse");
    expect(sparseDelays.length).toBeGreaterThan(15);
    const bulkTx = (1500 * 1e9) / mbit(10);
    for (const d of sparseDelays) expect(d).toBeLessThanOrEqual(bulkTx); // at most the bulk packet already on the wire
    const bulkDelays = delays("bulk").sort((a, b) => a - b);
    expect(bulkDelays[Math.floor(bulkDelays.length / 2)]!).toBeGreaterThan(TARGET);
    expect(run.drops.every((d) => d.flow === "bulk")).toBe(true);
  });

  it("over the limit drops from the fattest flow's head, half its backlog at a time (drop_overlimit)", () => {
    const c = compile("qos { qdisc fq_codel root limit 100 }");
    const fat = cbr("fat", frame({ sport: 1 }), 1000, mbit(100), 0, 50 * MS);
    const thin = cbr("thin", frame({ sport: 2 }), 1000, mbit(1), 0, 50 * MS);
    const run = runLink(c, [...fat, ...thin], mbit(5), 50 * MS);
    expect(run.drops.length).toBeGreaterThan(0);
    expect(run.drops.every((d) => d.flow === "fat")).toBe(true);
    const text = qdiscEntries(c, statsSourceOf(run))[0]!.stats.join("\n");
    expect(text).toMatch(new RegExp(`drop_overlimit ${run.drops.length}\\b`));
    expect(text).toMatch(/new_flow_count \d+/);
  });
});
