/**
 * Qdiscs under classes (compiler/qos/leaves.ts), with tc's semantics: the class's shaping decides when its leaf
 * may send, the leaf decides which of its packets goes next and what it drops — htb (and prio) over fq_codel,
 * sfq and tbf, as `tc qdisc add dev eth0 parent 1:10 handle 10: fq_codel` sets them up; their statistics as
 * `tc -s qdisc show` and `tc -s class show` print them (golden: test/qos/golden/htb-leaves.txt).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileQos } from "../../compiler/qos/compile.js";
import { SourceError } from "../../overlay-isa/index.js";
import { classEntries, formatEntries, qdiscEntries } from "../../hostctl/qos/tc-stats.js";
import { statsSourceOf, tcStatsOf } from "./stats.js";
import { bytesBy, cbr, compile, frame, mbit, MS, runLink, S, type LinkRun } from "./harness.js";

const TARGET = 5 * MS;
const INTERVAL = 100 * MS;

/** Mbit/s of a flow's bytes that left between `from` and `to`. */
const rateOf = (run: LinkRun, flow: string, from: number, to: number) => (bytesBy(run, flow, from, to) * 8) / ((to - from) / S) / 1e6;

/** htb with 1:10 (4 Mbit/s, no borrowing) ending in `leaf`, and 1:20 that may borrow up to the parent's 10. */
const htbWith = (leaf: string) =>
  compile(`qos { qdisc htb handle 1: root default 10
    class 1:1 htb rate 10mbit
    class 1:10 parent 1:1 htb rate 4mbit ceil 4mbit
    class 1:20 parent 1:1 htb rate 6mbit ceil 10mbit
    ${leaf}
    filter udp dport 9 flowid 1:20 }`);

/** Two flows into 1:10 (5 and 3 Mbit/s) and one into 1:20 (8 Mbit/s) on a 20 Mbit/s link, for 2 s. */
function twoFlowsIn10(leaf: string) {
  const c = htbWith(leaf);
  const run = runLink(
    c,
    [...cbr("a", frame({ sport: 1 }), 1000, mbit(5), 0, 2 * S), ...cbr("b", frame({ sport: 2 }), 1000, mbit(3), 0, 2 * S), ...cbr("c", frame({ sport: 3, dport: 9 }), 1000, mbit(8), 0, 2 * S)],
    mbit(20),
    2 * S,
  );
  return { c, run };
}

describe("htb with an fq_codel leaf", () => {
  const { c, run } = twoFlowsIn10("qdisc fq_codel parent 1:10 handle 10:");

  it("shares the class's rate fairly between the class's flows; the class's shaping holds the total", () => {
    const a = rateOf(run, "a", 0.5 * S, 2 * S);
    const b = rateOf(run, "b", 0.5 * S, 2 * S);
    expect(a).toBeCloseTo(2, 1);
    expect(b).toBeCloseTo(2, 1);
    expect(a + b).toBeCloseTo(4, 1); // 1:10's ceil
    expect(rateOf(run, "c", 0.5 * S, 2 * S)).toBeCloseTo(6, 1); // what 1:1 leaves 1:20
    // a FIFO leaf shares in proportion to what each flow offers instead: the leaf decides, not the class
    const fifo = twoFlowsIn10("").run;
    expect(rateOf(fifo, "a", 0.5 * S, 2 * S)).toBeCloseTo(2.5, 1);
    expect(rateOf(fifo, "b", 0.5 * S, 2 * S)).toBeCloseTo(1.5, 1);
  });

  it("drops with CoDel under the standing queue the class's shaping builds, and only there", () => {
    expect(run.drops.length).toBeGreaterThan(0);
    expect(run.drops.every((d) => d.flow === "a" || d.flow === "b")).toBe(true);
    // CoDel (per flow) waits an interval of sojourn above target before its first drop; the flow's head is looked
    // at each time the flow's turn comes: two flows, a 1000-byte packet each at the class's 4 Mbit/s, 4 ms
    const first = run.drops[0]!;
    const above = run.departures.find((d) => d.flow === first.flow && d.t - d.arrivedAt >= TARGET)!;
    expect(first.t).toBeGreaterThan(above.t + INTERVAL);
    expect(first.t).toBeLessThanOrEqual(above.t + INTERVAL + 4 * MS + 0.1 * MS);
    const stats = qdiscEntries(c, statsSourceOf(run));
    const leaf = stats.find((e) => e.line.startsWith("qdisc fq_codel 10: parent 1:10 "))!;
    expect(leaf.line).toBe("qdisc fq_codel 10: parent 1:10 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 ");
    expect(leaf.json).toMatchObject({ drops: run.drops.length, drop_overlimit: 0 });
    // CoDel's drops happen at dequeue: not drops the leaf returned to the class at enqueue (cl->drops)
    expect(tcStatsOf(run, c).classes.get("1:10")!.dropped).toBe(0);
    expect(stats[0]!.json).toMatchObject({ drops: run.drops.length });
  });

  it("sends a sparse flow of the class ahead of the class's backlog", () => {
    const c2 = htbWith("qdisc fq_codel parent 1:10 handle 10:");
    const r = runLink(c2, [...cbr("bulk", frame({ sport: 1 }), 1500, mbit(6), 0, 1 * S), ...cbr("sparse", frame({ sport: 2 }), 100, 2_000, 10 * MS, 1 * S)], mbit(20), 1 * S);
    const delays = (f: string) => r.departures.filter((d) => d.flow === f).map((d) => d.t - d.arrivedAt);
    // at most the class's next send time: one 1500-byte packet at its 4 Mbit/s
    for (const d of delays("sparse")) expect(d).toBeLessThanOrEqual((1500 * 8 * 1e9) / 4e6 + 0.1 * MS);
    const bulk = delays("bulk").sort((x, y) => x - y);
    expect(bulk[Math.floor(bulk.length / 2)]!).toBeGreaterThan(TARGET);
  });

  it("over the leaf's limit drops the fattest flow's head, and the class counts the drop its leaf returned", () => {
    const c2 = htbWith("qdisc fq_codel parent 1:10 handle 10: limit 40");
    const r = runLink(c2, [...cbr("fat", frame({ sport: 1 }), 1000, mbit(20), 0, 100 * MS), ...cbr("thin", frame({ sport: 2 }), 1000, mbit(1), 0, 100 * MS)], mbit(50), 100 * MS);
    expect(r.drops.length).toBeGreaterThan(0);
    expect(r.drops.every((d) => d.flow === "fat")).toBe(true);
    const s = tcStatsOf(r, c2);
    // every overlimit drop took packets of the arriving packet's own flow: NET_XMIT_CN, one class drop each time
    const overlimit = qdiscEntries(c2, statsSourceOf(r)).find((e) => e.line.startsWith("qdisc fq_codel"))!.json as { drop_overlimit: number };
    expect(overlimit.drop_overlimit).toBe(r.drops.length);
    expect(s.classes.get("1:10")!.dropped).toBeGreaterThan(0);
    expect(s.classes.get("1:10")!.dropped).toBeLessThanOrEqual(r.drops.length);
  });
});

describe("other leaves", () => {
  it("sfq under htb shares the class's rate between its flows", () => {
    const { run } = twoFlowsIn10("qdisc sfq parent 1:10 handle 10:");
    expect(rateOf(run, "a", 0.5 * S, 2 * S)).toBeCloseTo(2, 1);
    expect(rateOf(run, "b", 0.5 * S, 2 * S)).toBeCloseTo(2, 1);
    expect(rateOf(run, "c", 0.5 * S, 2 * S)).toBeCloseTo(6, 1);
  });

  it("tbf under htb holds its class below the class's own rate; the other class takes what is left", () => {
    const c = htbWith("qdisc tbf parent 1:10 handle 10: rate 2mbit burst 4kb latency 50ms");
    const run = runLink(c, [...cbr("a", frame({ sport: 1 }), 1000, mbit(5), 0, 2 * S), ...cbr("c", frame({ sport: 3, dport: 9 }), 1000, mbit(9), 0, 2 * S)], mbit(20), 2 * S);
    expect(rateOf(run, "a", 0.5 * S, 2 * S)).toBeCloseTo(2, 1);
    expect(rateOf(run, "c", 0.5 * S, 2 * S)).toBeCloseTo(8, 1); // 1:1's 10 Mbit/s less what 1:10 uses
    const leaf = qdiscEntries(c, statsSourceOf(run)).find((e) => e.line.startsWith("qdisc tbf 10: parent 1:10 "))!;
    expect(leaf.line).toBe("qdisc tbf 10: parent 1:10 rate 2Mbit burst 4Kb lat 50ms ");
    expect((leaf.json as { overlimits: number }).overlimits).toBeGreaterThan(0);
  });

  it("prio with a tbf band waiting for tokens sends the next band meanwhile; an fq_codel band shares fairly", () => {
    const c = compile(`qos { qdisc prio handle 1: root bands 2 priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1
      qdisc tbf parent 1:1 handle 10: rate 1mbit burst 2kb limit 20kb
      qdisc fq_codel parent 1:2 handle 20:
      filter udp dport 9 flowid 1:1 }`);
    const run = runLink(
      c,
      [...cbr("urgent", frame({ sport: 1, dport: 9 }), 1000, mbit(3), 0, 2 * S), ...cbr("x", frame({ sport: 2 }), 1000, mbit(6), 0, 2 * S), ...cbr("y", frame({ sport: 3 }), 1000, mbit(6), 0, 2 * S)],
      mbit(5),
      2 * S,
    );
    expect(rateOf(run, "urgent", 0.5 * S, 2 * S)).toBeCloseTo(1, 1); // band 0, held to its tbf's rate
    expect(rateOf(run, "x", 0.5 * S, 2 * S)).toBeCloseTo(2, 1); // band 1 gets the rest of the link, shared fairly
    expect(rateOf(run, "y", 0.5 * S, 2 * S)).toBeCloseTo(2, 1);
    const cls = classEntries(c, statsSourceOf(run)).map((e) => e.line);
    expect(cls).toEqual(["class prio 1:1 parent 1: leaf 10: ", "class prio 1:2 parent 1: leaf 20: "]);
  });
});

describe("a class's FIFO behaves the same whether the program is built from leaf code or not", () => {
  // the second policy adds a class whose sfq no packet reaches: its program is built from the leaves' code
  // (leaves.ts), so the FIFO classes run through FifoCode, the leaf exits and htb's send continuation
  const pairs: [string, string, string][] = [
    [
      "htb",
      `qdisc htb handle 1: root default 20
        class 1:1 htb rate 4mbit ceil 6mbit
        class 1:10 parent 1:1 htb rate 1mbit ceil 6mbit prio 0
        class 1:20 parent 1:1 htb rate 1mbit ceil 2mbit prio 1
        qdisc bfifo parent 1:20 limit 8kb
        filter udp dport 1 flowid 1:10
        filter udp dport 3 flowid 1:`,
      `class 1:99 htb rate 1mbit
        qdisc sfq parent 1:99 handle 99:`,
    ],
    ["prio", "qdisc prio handle 1: root bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n qdisc pfifo parent 1:2 limit 5\n filter udp dport 1 flowid 1:1", "qdisc sfq parent 1:4 handle 40:"],
  ];
  for (const [kind, base, extra] of pairs) {
    it(kind, () => {
      const plain = compile(`qos { ${base} }`);
      const built = compile(`qos { ${base}\n ${extra} }`);
      expect(built.scheduler.image.code.length).toBeGreaterThan(plain.scheduler.image.code.length);
      fc.assert(
        fc.property(fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3 * MS }), size: fc.integer({ min: 64, max: 1514 }), dport: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 150 }), (list) => {
          let t = 0;
          const arrivals = list.map((a, i) => ({ t: (t += a.gap), frame: frame({ dport: a.dport, sport: i % 5 }), wire: a.size, flow: `p${i}` }));
          const a = runLink(plain, arrivals, mbit(8), 300 * MS);
          const b = runLink(built, arrivals, mbit(8), 300 * MS);
          expect(b.departures.map((d) => [d.flow, d.t])).toEqual(a.departures.map((d) => [d.flow, d.t]));
          expect(b.drops).toEqual(a.drops);
        }),
        { numRuns: 25 },
      );
    });
  }
});

describe("the policy language and tc scripts", () => {
  const qos = `qos dev eth0 {
    qdisc htb handle 1: root default 20
    class 1:1 htb rate 10mbit
    class 1:10 parent 1:1 htb rate 4mbit ceil 4mbit prio 0
    class 1:20 parent 1:1 htb rate 6mbit ceil 10mbit prio 1
    qdisc fq_codel parent 1:10 handle 10: limit 100 target 2ms interval 20ms
    qdisc sfq parent 1:20 handle 20: limit 30 depth 10
    filter prio 1 udp dport 5000 flowid 1:10
  }`;
  const tc = [
    "tc qdisc add dev eth0 root handle 1: htb default 20",
    "tc class add dev eth0 parent 1: classid 1:1 htb rate 10mbit",
    "tc class add dev eth0 parent 1:1 classid 1:10 htb rate 4mbit ceil 4mbit prio 0",
    "tc class add dev eth0 parent 1:1 classid 1:20 htb rate 6mbit ceil 10mbit prio 1",
    "tc qdisc add dev eth0 parent 1:10 handle 10: fq_codel limit 100 target 2ms interval 20ms",
    "tc qdisc add dev eth0 parent 1:20 handle 20: sfq limit 30 depth 10",
    "tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip dport 5000 0xffff flowid 1:10",
  ].join("\n");

  it("compile to the same qdisc program", () => {
    const a = compileQos(qos, "x.qos");
    const b = compileQos(tc, "x.tc", { format: "tc" });
    expect(b.scheduler.image).toEqual(a.scheduler.image);
    expect(b.scheduler.layout).toEqual(a.scheduler.layout);
    // the leaves' queues in class order, then htb's direct queue
    expect(a.queues.length).toBe(1024 + 1024 + 1);
    expect(a.queues[0]).toEqual({ id: 0x10010, name: "1:10 flow 1" });
    expect(a.queues[1024]).toEqual({ id: 0x10020, name: "1:20 flow 1" });
    expect(a.queues[2048]).toEqual({ id: 0x10000, name: "direct" });
  });

  it("prints the statistics as tc -s qdisc show / tc -s class show do (golden)", () => {
    const c = compile(qos);
    const arrivals = [
      ...cbr("a", frame({ sport: 1, dport: 5000 }), 1000, mbit(4), 0, 1 * S),
      ...cbr("b", frame({ sport: 2, dport: 5000 }), 500, mbit(1), 0, 1 * S),
      ...cbr("c", frame({ sport: 3, dport: 80 }), 1500, mbit(6), 0, 1 * S),
      ...cbr("d", frame({ sport: 4, dport: 80 }), 1500, mbit(3), 200 * MS, 1 * S),
    ];
    const run = runLink(c, arrivals, mbit(12), 1 * S);
    const s = statsSourceOf(run);
    const qd = qdiscEntries(c, s);
    const text = formatEntries(qd, true) + formatEntries(classEntries(c, s), true);
    const golden = new URL("./golden/htb-leaves.txt", import.meta.url).pathname;
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
    expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(text).toBe(readFileSync(golden, "utf8"));
    // the books balance per leaf: what each class was offered is sent, dropped or still queued in its leaf
    const offered = (flows: string[]) => arrivals.filter((x) => flows.includes(x.flow)).length;
    const j = (i: number) => qd[i]!.json as { packets: number; drops: number; qlen: number };
    expect(j(1).packets + j(1).drops + j(1).qlen).toBe(offered(["a", "b"]));
    expect(j(2).packets + j(2).drops + j(2).qlen).toBe(offered(["c", "d"]));
    expect(j(0).packets + j(0).drops + j(0).qlen).toBe(arrivals.length);
  });

  const errorOf = (text: string, format: "qos" | "tc" = "qos"): SourceError => {
    try {
      compileQos(text, format === "tc" ? "t.tc" : "t.qos", { format });
    } catch (e) {
      if (e instanceof SourceError) return e;
      throw e;
    }
    throw new Error("expected an error");
  };

  it("refuses what the scheduler model cannot run, saying why, where it was written", () => {
    const drr = errorOf("qos {\n qdisc drr handle 1: root\n class 1:1 drr\n qdisc fq_codel parent 1:1 handle 10:\n}");
    expect(drr.message).toBe(
      "t.qos:4:8: fq_codel under a drr class is not supported by kopi: drr peeks at its leaf's next packet, which Linux takes out of the leaf and keeps aside, and the NIC's queue model can only hold a packet in a queue; use pfifo or bfifo under drr, or fq_codel under htb or prio",
    );
    const nested = errorOf("qos {\n qdisc htb handle 1: root\n class 1:1 htb rate 1mbit\n qdisc sfq parent 1:1 handle 10:\n qdisc pfifo parent 10:3\n}");
    expect(nested.message).toBe("t.qos:5:21: 10:3 is a class of the leaf qdisc 10: (at t.qos:4:30): kopi runs a qdisc under a class of the root qdisc, not under a leaf qdisc's classes");
    expect(errorOf("qos {\n qdisc htb handle 1: root\n class 1:1 htb rate 1mbit\n qdisc prio parent 1:1 handle 10:\n}").message).toMatch(/^t\.qos:4:8: prio under a class is not supported by kopi: a class's qdisc is pfifo, bfifo, sfq, fq_codel, tbf/);
    // leaves' flows add up in the queue model
    const big = errorOf("qos {\n qdisc htb handle 1: root\n class 1:1 htb rate 1mbit\n class 1:2 htb rate 1mbit\n qdisc fq_codel parent 1:1 flows 65536\n qdisc fq_codel parent 1:2 flows 65536\n}");
    expect(big.message).toBe("t.qos:2:2: the htb qdisc does not fit the overlay: it needs 131073 queues and the NIC's queue model has 65536 (fewer classes, or fewer flows or buckets in their sfq and fq_codel qdiscs)");
    // a leaf's parameters are checked as the root's are
    expect(errorOf("tc qdisc add dev eth0 root handle 1: htb\ntc class add dev eth0 parent 1: classid 1:1 htb rate 1mbit\ntc qdisc add dev eth0 parent 1:1 sfq divisor 100", "tc").message).toMatch(/^t\.tc:3:46: sfq divisor 100 must be a power of 2/);
  });
});
