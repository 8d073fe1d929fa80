/**
 * Conservation for every qdisc: whatever arrives, every packet offered is at every moment sent, dropped or
 * still queued — counted by the test and, independently, by the queue model and tc's statistics.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { leafSlots } from "../../compiler/qos/leaves.js";
import { qdiscEntries } from "../../hostctl/qos/tc-stats.js";
import { statsSourceOf } from "./stats.js";
import { compile, frame, mbit, MS, runLink, type Arrival } from "./harness.js";

const QDISCS: Record<string, string> = {
  pfifo: "qos { qdisc pfifo root limit 20 }",
  bfifo: "qos { qdisc bfifo root limit 15kb }",
  prio: "qos { qdisc prio handle 1: root\n qdisc pfifo parent 1:2 limit 5\n filter udp dport 1 flowid 1:1 }",
  tbf: "qos { qdisc tbf root rate 3mbit burst 4kb limit 20kb }",
  htb: `qos { qdisc htb handle 1: root default 20
    class 1:1 htb rate 4mbit ceil 6mbit
    class 1:10 parent 1:1 htb rate 1mbit ceil 6mbit prio 0
    class 1:20 parent 1:1 htb rate 1mbit ceil 2mbit prio 1
    qdisc bfifo parent 1:20 limit 8kb
    filter udp dport 1 flowid 1:10
    filter udp dport 3 flowid 1: }`,
  drr: `qos { qdisc drr handle 1: root
    class 1:1 drr quantum 700
    class 1:2 drr
    qdisc pfifo parent 1:2 limit 6
    filter udp dport 1 flowid 1:1
    filter udp dport 2 flowid 1:2 }`,
  sfq: "qos { qdisc sfq root limit 24 depth 8 flows 3 perturb 1 }",
  fq_codel: "qos { qdisc fq_codel root limit 40 flows 16 target 1ms interval 10ms }",
  // classes ending in qdiscs of their own (leaves.ts)
  "htb over fq_codel, sfq and tbf": `qos { qdisc htb handle 1: root default 20
    class 1:1 htb rate 4mbit ceil 6mbit
    class 1:10 parent 1:1 htb rate 1mbit ceil 6mbit prio 0
    class 1:20 parent 1:1 htb rate 1mbit ceil 2mbit prio 1
    class 1:30 parent 1:1 htb rate 1mbit ceil 3mbit prio 1
    qdisc fq_codel parent 1:10 handle 10: limit 12 flows 8 target 1ms interval 10ms drop_batch 3
    qdisc sfq parent 1:20 handle 20: limit 10 depth 4 flows 3 headdrop
    qdisc tbf parent 1:30 handle 30: rate 1mbit burst 3kb limit 8kb
    filter udp dport 1 flowid 1:10
    filter udp dport 2 flowid 1:30
    filter udp dport 3 flowid 1: }`,
  "prio over tbf, fq_codel and sfq": `qos { qdisc prio handle 1: root
    qdisc tbf parent 1:1 rate 2mbit burst 2kb limit 6kb
    qdisc fq_codel parent 1:2 limit 10 flows 4 target 1ms interval 10ms
    qdisc sfq parent 1:3 limit 8 depth 3
    filter udp dport 1 flowid 1:1
    filter udp dport 2 flowid 1:2 }`,
};

const arbArrivals = fc.array(
  fc.record({ gap: fc.integer({ min: 0, max: 3 * MS }), size: fc.integer({ min: 64, max: 1514 }), dport: fc.integer({ min: 1, max: 4 }), sport: fc.integer({ min: 1, max: 6 }), tos: fc.constantFrom(0, 2) }),
  { minLength: 1, maxLength: 120 },
);

describe("conservation: offered = sent + dropped + backlog", () => {
  for (const [kind, text] of Object.entries(QDISCS)) {
    it(kind, () => {
      const c = compile(text);
      fc.assert(
        fc.property(arbArrivals, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 10, max: 300 }), (list, linkMbit, untilMs) => {
          let t = 0;
          const arrivals: Arrival[] = list.map((a) => ({ t: (t += a.gap), frame: frame({ dport: a.dport, sport: a.sport, tos: a.tos }), wire: a.size, flow: `${a.sport}` }));
          const run = runLink(c, arrivals, mbit(linkMbit), untilMs * MS);
          const sched = run.sched;
          // the test's own count
          expect(run.departures.length + run.drops.length + sched.backlog).toBe(run.offered);
          // the queue model's count
          const ev = sched.scheduler.events();
          const queues = sched.scheduler.queues();
          const sent = queues.reduce((n, q) => n + q.sentPackets, 0);
          const backlog = queues.reduce((n, q) => n + q.packets, 0);
          const dropped = ev.refused + ev.overflow + ev.faults + ev.queueDrops;
          expect(ev.offered).toBe(run.offered);
          expect(sent + dropped + backlog).toBe(ev.offered);
          expect(sent).toBe(run.departures.length);
          expect(dropped).toBe(run.drops.length);
          expect(ev.faults).toBe(0);
          expect(ev.overruns).toBe(0);
          expect(ev.emptyPops).toBe(0);
          // tc's statistics say the same, and the leaf qdiscs' add up to the root's
          const entries = qdiscEntries(c, statsSourceOf(run)).map((e) => e.json as { packets: number; drops: number; qlen: number; parent?: string });
          const j = entries[0]!;
          expect(j.packets + j.drops + j.qlen).toBe(run.offered);
          const leaves = entries.slice(1);
          const slots = leafSlots(c.policy.root.params, c.policy.root.handle);
          if (slots.length > 0 && slots.every((sl) => sl.leaf.pos !== undefined)) {
            const direct = queues[c.queues.findIndex((q) => q.name === "direct")];
            const sum = (k: "packets" | "drops" | "qlen") => leaves.reduce((n, e) => n + e[k], 0);
            expect(sum("packets") + (direct?.sentPackets ?? 0)).toBe(j.packets);
            expect(sum("drops") + (direct?.droppedPackets ?? 0)).toBe(j.drops);
            expect(sum("qlen") + (direct?.packets ?? 0)).toBe(j.qlen);
          }
        }),
        { numRuns: 30 },
      );
    });
  }
});
