/** drr, prio and sfq on the overlay against Linux's semantics (compiler/qos/gen-drr.ts, gen-simple.ts). */
import { describe, expect, it } from "vitest";
import { bytesBy, cbr, compile, frame, mbit, MS, runLink, S } from "./harness.js";

describe("drr", () => {
  it("shares the link in proportion to quantum, within 2 %, whatever the packet sizes", () => {
    const c = compile(`qos {
      qdisc drr handle 1: root
      class 1:1 drr quantum 1500
      class 1:2 drr quantum 3000
      class 1:3 drr quantum 4500
      filter udp dport 1 flowid 1:1
      filter udp dport 2 flowid 1:2
      filter udp dport 3 flowid 1:3 }`);
    const arrivals = [...cbr("q1", frame({ dport: 1 }), 1000, mbit(20), 0, 2 * S), ...cbr("q2", frame({ dport: 2 }), 1400, mbit(20), 0, 2 * S), ...cbr("q3", frame({ dport: 3 }), 600, mbit(20), 0, 2 * S)];
    const run = runLink(c, arrivals, mbit(10), 2 * S);
    const b = ["q1", "q2", "q3"].map((f) => bytesBy(run, f, 0.5 * S, 2 * S));
    expect(b[1]! / b[0]!).toBeGreaterThan(2 * 0.98);
    expect(b[1]! / b[0]!).toBeLessThan(2 * 1.02);
    expect(b[2]! / b[0]!).toBeGreaterThan(3 * 0.98);
    expect(b[2]! / b[0]!).toBeLessThan(3 * 1.02);
  });

  it("drops packets no filter classifies (drr has no default class)", () => {
    const c = compile("qos { qdisc drr handle 1: root\n class 1:1 drr\n filter udp dport 1 flowid 1:1 }");
    const run = runLink(c, [{ t: 0, frame: frame({ dport: 1 }), wire: 500, flow: "ok" }, { t: 1, frame: frame({ dport: 2 }), wire: 500, flow: "stray" }], mbit(10), 10 * MS);
    expect(run.departures.map((d) => d.flow)).toEqual(["ok"]);
    expect(run.drops.map((d) => d.flow)).toEqual(["stray"]);
  });
});

describe("prio", () => {
  it("is strict: a lower band sends only when every higher band is empty", () => {
    const c = compile(`qos {
      qdisc prio handle 1: root bands 3
      filter udp dport 1 flowid 1:1
      filter udp dport 2 flowid 1:2 }`);
    const hi = cbr("hi", frame({ dport: 1 }), 1000, mbit(6), 0, 1 * S);
    const lo = cbr("lo", frame({ dport: 2 }), 1000, mbit(10), 0, 1 * S);
    const run = runLink(c, [...hi, ...lo], mbit(10), 1 * S);
    const his = run.departures.filter((d) => d.flow === "hi");
    for (const d of run.departures.filter((x) => x.flow === "lo")) {
      // no high-band packet was waiting when this low-band packet was chosen
      expect(his.some((h) => h.arrivedAt <= d.t && h.t > d.t)).toBe(false);
    }
    expect((bytesBy(run, "hi", 0.2 * S, 1 * S) * 8) / 0.8 / 1e6).toBeCloseTo(6, 1);
    expect((bytesBy(run, "lo", 0.2 * S, 1 * S) * 8) / 0.8 / 1e6).toBeCloseTo(4, 1);
  });

  it("maps skb priorities to bands with the priomap (default 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1)", () => {
    const c = compile("qos { qdisc prio root }");
    const at = (priority: number, t: number) => ({ t, frame: frame(), wire: 100, flow: `p${priority}`, priority });
    const run = runLink(c, [at(0, 0), at(1, 1), at(6, 2), at(2, 3)], mbit(1), 100 * MS);
    expect(Object.fromEntries(run.departures.map((d) => [d.flow, d.queue]))).toEqual({ p0: 1, p1: 2, p6: 0, p2: 2 });
    // the first packet went at once; then band 0 (priority 6) before band 1 before band 2
    expect(run.departures.map((d) => d.flow)).toEqual(["p0", "p6", "p1", "p2"]);
  });
});

describe("sfq", () => {
  it("gives backlogged flows equal bytes, within one MTU", () => {
    const c = compile("qos { qdisc sfq root limit 400 depth 127 }");
    // sizes are multiples of 8: sfq charges allot in 8-byte units rounded up (SFQ_ALLOT_SIZE), so a 1500-byte
    // flow is charged 1504 per packet and falls behind by 0.27 % — in Linux too
    // every flow starts with a backlog (20 packets at time 0) so none empties and re-enters with a fresh quantum
    const sizes = [1000, 1496, 400, 1200];
    const flows = [1001, 1002, 1003, 1004].map((sport, i) => {
      const f = frame({ sport });
      return [...Array.from({ length: 20 }, () => ({ t: 0, frame: f, wire: sizes[i]!, flow: `f${i}` })), ...cbr(`f${i}`, f, sizes[i]!, mbit(10), 0, 1 * S)];
    });
    const run = runLink(c, flows.flat(), mbit(10), 1 * S);
    expect(new Set(run.departures.map((d) => d.queue)).size).toBe(4); // four buckets
    const MTU = 1514;
    // sfq serves the flows in turns, round after round. Whenever every flow has had the same number of turns,
    // their bytes differ by less than one MTU; mid-round a flow is at most one quantum (an MTU) further ahead.
    const order: string[] = [];
    for (const d of run.departures) if (!order.includes(d.flow)) order.push(d.flow);
    expect(order.length).toBe(4);
    const last = order[3]!;
    const sent = new Map<string, number>();
    let rounds = 0;
    run.departures.forEach((d, i) => {
      sent.set(d.flow, (sent.get(d.flow) ?? 0) + d.len);
      const v = [...sent.values()];
      expect(Math.max(...v) - Math.min(...v)).toBeLessThanOrEqual(2 * MTU);
      const endOfRound = d.flow === last && run.departures[i + 1]?.flow !== last;
      if (endOfRound && i + 1 < run.departures.length) {
        rounds++;
        expect(Math.max(...v) - Math.min(...v), `after round ${rounds}`).toBeLessThan(MTU);
      }
    });
    expect(rounds).toBeGreaterThan(100);
  });

  it("drops from the longest flow when the qdisc is full", () => {
    const c = compile("qos { qdisc sfq root limit 20 depth 127 }");
    const fat = cbr("fat", frame({ sport: 1 }), 1000, mbit(50), 0, 50 * MS);
    const thin = cbr("thin", frame({ sport: 2 }), 1000, mbit(1), 0, 50 * MS);
    const run = runLink(c, [...fat, ...thin], mbit(2), 50 * MS);
    expect(run.drops.length).toBeGreaterThan(0);
    expect(run.drops.every((d) => d.flow === "fat")).toBe(true);
  });
});
