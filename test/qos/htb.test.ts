/**
 * htb on the overlay (compiler/qos/gen-htb.ts) against Linux's semantics: guaranteed rates, borrowing up to the
 * ceiling only through ancestors, spare bandwidth by prio then quantum, the default class and the direct queue.
 */
import { describe, expect, it } from "vitest";
import { tcStatsOf } from "./stats.js";
import { bytesBy, cbr, compile, frame, mbit, runLink, S } from "./harness.js";

const greedy = (flow: string, dport: number, rate = mbit(20), size = 1000) => cbr(flow, frame({ dport }), size, rate, 0, 3 * S);
const rateOf = (run: ReturnType<typeof runLink>, flow: string) => (bytesBy(run, flow, 1 * S, 3 * S) * 8) / 2 / 1e6; // Mbit/s over [1 s, 3 s]

describe("htb", () => {
  it("gives every backlogged leaf at least its rate", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit
      class 1:10 parent 1:1 htb rate 2mbit ceil 10mbit
      class 1:20 parent 1:1 htb rate 3mbit ceil 10mbit
      class 1:30 parent 1:1 htb rate 5mbit ceil 10mbit
      filter udp dport 10 flowid 1:10
      filter udp dport 20 flowid 1:20
      filter udp dport 30 flowid 1:30 }`);
    const run = runLink(c, [...greedy("a", 10), ...greedy("b", 20), ...greedy("c", 30)], mbit(10), 3 * S);
    expect(rateOf(run, "a")).toBeGreaterThanOrEqual(2 * 0.99);
    expect(rateOf(run, "b")).toBeGreaterThanOrEqual(3 * 0.99);
    expect(rateOf(run, "c")).toBeGreaterThanOrEqual(5 * 0.99);
    expect(rateOf(run, "a") + rateOf(run, "b") + rateOf(run, "c")).toBeCloseTo(10, 1);
  });

  it("lets a class borrow up to its ceiling, and only from its ancestors", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit ceil 10mbit
      class 1:2 htb rate 5mbit ceil 5mbit
      class 1:10 parent 1:1 htb rate 2mbit ceil 6mbit
      class 1:11 parent 1:1 htb rate 2mbit ceil 10mbit
      class 1:20 parent 1:2 htb rate 1mbit ceil 10mbit
      filter udp dport 10 flowid 1:10
      filter udp dport 11 flowid 1:11
      filter udp dport 20 flowid 1:20 }`);
    // a 20 Mbit/s link has room for everyone: only the tree limits them
    const run = runLink(c, [...greedy("a", 10), ...greedy("b", 11), ...greedy("c", 20)], mbit(20), 3 * S);
    const [a, b, cc] = [rateOf(run, "a"), rateOf(run, "b"), rateOf(run, "c")];
    expect(a).toBeLessThanOrEqual(6 * 1.01); // its own ceiling
    expect(a + b).toBeLessThanOrEqual(10 * 1.01); // its parent's ceiling
    expect(a + b).toBeGreaterThanOrEqual(10 * 0.99); // and the parent lends all it has
    expect(cc).toBeLessThanOrEqual(5 * 1.01); // 1:20 may only borrow from 1:2 (ceil 5), not from 1:1's spare or the link
    expect(cc).toBeGreaterThanOrEqual(5 * 0.99);
    // lends and borrows are counted as Linux counts them
    const s = tcStatsOf(run, c);
    expect(s.classes.get("1:20")!.borrowed).toBeGreaterThan(0);
    expect(s.classes.get("1:2")!.lended).toBeGreaterThan(0);
    expect(s.classes.get("1:1")!.lended).toBeGreaterThan(0);
  });

  it("borrows through every level of a deeper tree, never past an ancestor's ceiling", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit ceil 10mbit
      class 1:2 parent 1:1 htb rate 4mbit ceil 6mbit
      class 1:21 parent 1:2 htb rate 1mbit ceil 6mbit
      class 1:22 parent 1:2 htb rate 1mbit ceil 6mbit
      class 1:3 parent 1:1 htb rate 2mbit ceil 10mbit
      filter udp dport 21 flowid 1:21
      filter udp dport 22 flowid 1:22
      filter udp dport 3 flowid 1:3 }`);
    const run = runLink(c, [...greedy("x", 21), ...greedy("y", 22), ...greedy("z", 3)], mbit(20), 3 * S);
    const [x, y, z] = [rateOf(run, "x"), rateOf(run, "y"), rateOf(run, "z")];
    expect(x + y).toBeLessThanOrEqual(6 * 1.01); // 1:2's ceiling bounds its whole subtree
    expect(x).toBeCloseTo(y, 0); // equal rates, equal quanta: an equal share of what 1:2 gets
    expect(x + y + z).toBeLessThanOrEqual(10 * 1.01); // 1:1's ceiling bounds everything
    expect(x + y + z).toBeGreaterThanOrEqual(10 * 0.99);
    expect(z).toBeGreaterThanOrEqual(2 * 0.99); // 1:3 gets at least its rate
  });

  it("gives spare bandwidth by prio first, then in proportion to quantum", () => {
    const byPrio = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit
      class 1:10 parent 1:1 htb rate 1mbit ceil 10mbit prio 0
      class 1:20 parent 1:1 htb rate 1mbit ceil 10mbit prio 1
      filter udp dport 10 flowid 1:10
      filter udp dport 20 flowid 1:20 }`);
    const p = runLink(byPrio, [...greedy("hi", 10), ...greedy("lo", 20)], mbit(10), 3 * S);
    expect(rateOf(p, "hi")).toBeCloseTo(9, 1);
    expect(rateOf(p, "lo")).toBeCloseTo(1, 1);

    const byQuantum = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit
      class 1:10 parent 1:1 htb rate 1mbit ceil 10mbit quantum 1500
      class 1:20 parent 1:1 htb rate 1mbit ceil 10mbit quantum 4500
      filter udp dport 10 flowid 1:10
      filter udp dport 20 flowid 1:20 }`);
    const q = runLink(byQuantum, [...greedy("q1", 10, mbit(20), 1500), ...greedy("q3", 20, mbit(20), 1500)], mbit(10), 3 * S);
    // each has its rate (1), the spare 8 goes 1:3
    const spare1 = rateOf(q, "q1") - 1;
    const spare3 = rateOf(q, "q3") - 1;
    expect(spare3 / spare1).toBeGreaterThan(3 * 0.98);
    expect(spare3 / spare1).toBeLessThan(3 * 1.02);
  });

  it("sends unclassified packets to the default class", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root default 20
      class 1:1 htb rate 10mbit
      class 1:10 parent 1:1 htb rate 8mbit ceil 10mbit
      class 1:20 parent 1:1 htb rate 2mbit ceil 2mbit
      filter udp dport 10 flowid 1:10 }`);
    const run = runLink(c, [...greedy("known", 10, mbit(5)), ...greedy("other", 99, mbit(5))], mbit(10), 3 * S);
    expect(rateOf(run, "other")).toBeCloseTo(2, 1); // held to 1:20's ceiling
    expect(new Set(run.departures.filter((d) => d.flow === "other").map((d) => d.queue))).toEqual(new Set([1]));
  });

  it("without a default class sends unclassified packets through the direct queue, unshaped (as Linux does)", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root default 40
      class 1:1 htb rate 1mbit
      class 1:10 parent 1:1 htb rate 1mbit
      filter udp dport 10 flowid 1:10 }`);
    expect(c.warnings.some((w) => w.message.includes("default 40 names no class"))).toBe(true);
    const run = runLink(c, [...greedy("shaped", 10, mbit(5)), ...greedy("unclassified", 99, mbit(5))], mbit(10), 3 * S);
    expect(rateOf(run, "shaped")).toBeCloseTo(1, 1);
    expect(rateOf(run, "unclassified")).toBeCloseTo(5, 1); // all it offers: the direct queue is not shaped
    const s = tcStatsOf(run, c);
    expect(s.qdiscLine).toContain("default 0x40 direct_packets_stat");
    expect(Number(/direct_packets_stat (\d+)/.exec(s.qdiscLine)![1])).toBe(run.departures.filter((d) => d.flow === "unclassified").length + run.drops.filter((d) => d.flow === "unclassified").length);
  });

  it("takes a class from the skb priority, as htb_classify does", () => {
    const c = compile(`qos {
      qdisc htb handle 1: root
      class 1:1 htb rate 10mbit
      class 1:10 parent 1:1 htb rate 5mbit
      class 1:20 parent 1:1 htb rate 5mbit }`);
    const run = runLink(c, [{ t: 0, frame: frame(), wire: 1000, flow: "p20", priority: 0x10020 }, { t: 1, frame: frame(), wire: 1000, flow: "p10", priority: 0x10010 }], mbit(10), 1 * S);
    expect(Object.fromEntries(run.departures.map((d) => [d.flow, d.queue]))).toEqual({ p20: 1, p10: 0 });
  });
});
