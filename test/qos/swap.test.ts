/**
 * A qdisc change is an atomic function change (fpga-model/scheduler.ts): a new generation at commit, queued
 * packets carried over into the new qdisc in arrival order (refused ones dropped and counted), rollback to the
 * previous qdisc.
 */
import { describe, expect, it } from "vitest";
import { EgressScheduler, SchedulerError } from "../../fpga-model/scheduler.js";
import { bundleOf } from "../../hostctl/qos/bundle.js";
import { compile, frame } from "./harness.js";

describe("swapping the qdisc while packets are queued", () => {
  const fifo = compile("qos { qdisc pfifo root limit 100 }");
  const small = compile("qos { qdisc prio handle 1: root\n qdisc pfifo parent 1:2 limit 3\n filter udp dport 7 flowid 1:1 }");

  it("commits a new generation and carries queued packets over in arrival order", () => {
    const s = EgressScheduler.createSync<string>();
    s.load(bundleOf(fifo));
    expect(s.commit(0)).toBe(1);
    for (let i = 0; i < 10; i++) s.enqueue({ frame: frame({ dport: i % 2 ? 7 : 9 }), wireLength: 500, tag: `p${i}` }, i);
    expect(s.backlog).toBe(10);
    s.load(bundleOf(small)); // the shadow slot: the active qdisc still runs
    expect(s.generation).toBe(1);
    expect(s.dequeue(20)!.packet.tag).toBe("p0");
    expect(s.commit(30, 1)).toBe(2);
    // p1..p9 re-offered to prio: dport 7 → band 0 (p1 p3 p5 p7 p9), the rest → band 1 by priomap (limit 3)
    const dropped = s.takeDropped().map((d) => d.packet.tag);
    expect(dropped).toEqual(["p8"]);
    expect(s.migrated).toBe(8);
    expect(s.migrationDrops).toBe(1);
    const out: string[] = [];
    for (let d = s.dequeue(40); d; d = s.dequeue(40)) out.push(d.packet.tag!);
    expect(out).toEqual(["p1", "p3", "p5", "p7", "p9", "p2", "p4", "p6"]);
    // arrival times are kept for delay statistics
    expect(s.backlog).toBe(0);
  });

  it("carries queued packets into a class's own qdisc: each class's flows take turns in its fq_codel", () => {
    const leaves = compile("qos { qdisc htb handle 1: root default 10\n class 1:10 htb rate 10mbit\n qdisc fq_codel parent 1:10 handle 10: flows 16 }");
    const s = EgressScheduler.createSync<string>();
    s.load(bundleOf(fifo));
    s.commit(0);
    // a burst of flow 1, then one packet of flow 2: the FIFO would send flow 2's packet last
    for (let i = 0; i < 6; i++) s.enqueue({ frame: frame({ sport: 1 }), wireLength: 500, tag: `a${i}` }, i);
    s.enqueue({ frame: frame({ sport: 2 }), wireLength: 500, tag: "b0" }, 6);
    s.load(bundleOf(leaves));
    s.commit(10, 1);
    expect(s.migrated).toBe(7);
    expect(s.takeCarried().every((c) => c.after.queue >= 0 && c.after.queue < 16)).toBe(true); // the leaf's queues
    const out: string[] = [];
    // 1 ms apart: 500 bytes take 0.4 ms at the class's 10 Mbit/s, so the class may always send
    for (let t = 20e6, d = s.dequeue(t); d; t += 1e6, d = s.dequeue(t)) out.push(d.packet.tag!);
    // fq_codel's round: flow 1 spends its quantum (1514 bytes: three 500-byte packets), then flow 2's turn
    expect(out).toEqual(["a0", "a1", "a2", "a3", "b0", "a4", "a5"]);
  });

  it("refuses a stale commit and a commit with nothing loaded; rolls back to the kept qdisc", () => {
    const s = EgressScheduler.createSync<string>();
    expect(() => s.commit(0)).toThrow(SchedulerError);
    s.load(bundleOf(fifo));
    s.commit(0);
    s.load(bundleOf(small));
    expect(() => s.commit(1, 7)).toThrow(/stale commit/);
    expect(s.commit(1, 1)).toBe(2);
    expect(s.activeBundle!.label).toBe("prio 1: root");
    expect(s.rollback(2)).toBe(3);
    expect(s.activeBundle!.label).toBe("pfifo 8001: root");
    s.load(bundleOf(small));
    s.commit(3);
    s.load(bundleOf(fifo)); // a load replaces what a rollback would return to
    expect(() => s.rollback(4)).toThrow(/nothing to roll back to/);
  });

  it("removing the qdisc (a commit of no qdisc) drops the queued packets, counts them, and keeps the qdisc for rollback", () => {
    const s = EgressScheduler.createSync<string>();
    s.loadNone();
    expect(() => s.commit(0)).toThrow(/no qdisc is committed: there is none to remove/);
    s.load(bundleOf(fifo));
    expect(s.commit(0)).toBe(1);
    for (let i = 0; i < 5; i++) s.enqueue({ frame: frame({ dport: 9 }), wireLength: 500, tag: `p${i}` }, i);
    expect(s.dequeue(10)!.packet.tag).toBe("p0");
    s.loadNone();
    expect(s.generation).toBe(1); // staged only: the qdisc still runs
    expect(s.commit(20, 1)).toBe(0);
    expect(s.generation).toBe(0);
    expect(s.activeBundle).toBeUndefined();
    expect(s.takeDropped().map((d) => d.packet.tag)).toEqual(["p1", "p2", "p3", "p4"]);
    expect(s.migrationDrops).toBe(4);
    expect(s.migrated).toBe(0);
    expect(s.backlog).toBe(0);
    expect(s.dequeue(30)).toBeUndefined();
    expect(() => s.enqueue({ frame: frame(), wireLength: 64 }, 40)).toThrow(/no qdisc is committed/);
    // the removed qdisc comes back as a new generation, its queue empty
    expect(s.rollback(50)).toBe(2);
    expect(s.activeBundle!.label).toBe("pfifo 8001: root");
    expect(s.backlog).toBe(0);
    expect(() => s.rollback(60)).toThrow(/nothing to roll back to/); // "no qdisc" is not kept
  });
});
