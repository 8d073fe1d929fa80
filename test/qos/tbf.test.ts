/**
 * tbf on the overlay (compiler/qos/gen-simple.ts) on a virtual-time link, checked against tc/Linux semantics:
 * the long-run rate, the burst bound, the size bound and tc's limit = rate × latency + burst.
 */
import { describe, expect, it } from "vitest";
import { bytesBy, cbr, compile, frame, mbit, MS, runLink, S } from "./harness.js";

describe("tbf", () => {
  it("holds a greedy flow to the rate within 1 % over the long run", () => {
    const c = compile("qos { qdisc tbf root rate 2mbit burst 10kb latency 50ms }");
    const run = runLink(c, cbr("a", frame(), 1000, mbit(8), 0, 4 * S), mbit(100), 4 * S);
    // after the first second (the burst is long spent), bytes per second
    const rate = bytesBy(run, "a", 1 * S, 4 * S) / 3;
    expect(Math.abs(rate - mbit(2)) / mbit(2)).toBeLessThan(0.01);
  });

  it("never lets more than burst + rate × t out in any interval starting from a full bucket", () => {
    const burst = 10 * 1024;
    const rate = mbit(2);
    const c = compile(`qos { qdisc tbf root rate 2mbit burst ${burst} limit 100000 }`);
    // a flood at time 0: the first packets ride the burst, at link speed
    const arrivals = cbr("a", frame(), 1000, mbit(1000), 0, 20 * MS);
    const run = runLink(c, arrivals, mbit(1000), 200 * MS);
    expect(run.departures.length).toBeGreaterThan(20);
    const first = run.departures[0]!.t;
    for (const d of run.departures) {
      const sent = bytesBy(run, "a", -1, d.end); // bytes out by this departure's end
      const allowed = burst + (rate * (d.t - first)) / 1e9;
      expect(sent).toBeLessThanOrEqual(allowed + 1e-6);
    }
    // and the burst itself went out at once: the first 10 packets (10,000 bytes ≤ 10,240) back to back
    expect(run.departures[9]!.t - first).toBeLessThan(1 * MS);
    expect(run.departures[10]!.t - first).toBeGreaterThan(1 * MS);
  });

  it("drops a packet larger than the burst (and the kernel's warning is a compile warning)", () => {
    const c = compile("qos { qdisc tbf root rate 1mbit burst 1000 limit 10000 }");
    expect(c.warnings.some((w) => w.message.includes("below the device MTU"))).toBe(true);
    const run = runLink(c, [{ t: 0, frame: frame(), wire: 1001, flow: "big" }, { t: 1, frame: frame(), wire: 1000, flow: "fits" }], mbit(100), 100 * MS);
    expect(run.drops.map((d) => d.flow)).toEqual(["big"]);
    expect(run.departures.map((d) => d.flow)).toEqual(["fits"]);
  });

  it("computes limit = rate × latency + burst as tc does, and holds that many bytes", () => {
    const c = compile("qos { qdisc tbf root rate 8mbit burst 20kb latency 100ms }");
    const p = c.policy.root.params;
    if (p.kind !== "tbf") throw new Error("not tbf");
    // 8mbit = 1,000,000 bytes/s; 100 ms → 100,000 bytes; burst 20kb = 20,480 bytes
    expect(p.limit).toBe(100_000 + 20_480);
    // a flood that the link could take but tbf cannot: the backlog never passes the limit
    const run = runLink(c, cbr("a", frame(), 1000, mbit(100), 0, 500 * MS), mbit(100), 600 * MS);
    expect(run.drops.length).toBeGreaterThan(0);
    const q = run.sched.scheduler.queue(0);
    expect(q.bytes).toBeLessThanOrEqual(p.limit);
    // the qdisc held as many whole packets as fit: a packet was refused only when backlog + 1000 > limit
    expect(Math.floor(p.limit / 1000)).toBe(120);
  });

  it("peakrate bounds the burst's own rate", () => {
    const c = compile("qos { qdisc tbf root rate 1mbit burst 50kb peakrate 4mbit mtu 1514 limit 200000 }");
    const run = runLink(c, cbr("a", frame(), 1000, mbit(1000), 0, 10 * MS), mbit(1000), 100 * MS);
    // while the big bucket is full, packets leave at the peak rate: 4mbit = 500,000 bytes/s → 2 ms per 1000 bytes
    // (after the first two: the peak bucket starts with mtu = 1514 bytes, 3.028 ms of peak tokens)
    const gaps = run.departures.slice(2, 12).map((d, i) => d.t - run.departures[i + 1]!.t);
    expect(run.departures[1]!.t - run.departures[0]!.t).toBe(2_000_000 - 1_028_000);
    for (const g of gaps) expect(Math.abs(g - 2 * MS)).toBeLessThan(0.01 * MS);
  });
});
