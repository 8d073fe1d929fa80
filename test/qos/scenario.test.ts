/**
 * KOPI's QoS example (examples/qos/game-vs-database.*): the game is known only by its cgroup — its ports change
 * every session — and is held to its ceiling, while the database keeps its rate.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileQos } from "../../compiler/qos/compile.js";
import { simulateSync } from "../../hostctl/qos/simulate.js";
import { parseTraffic } from "../../hostctl/qos/traffic.js";
import { statsSource } from "../../hostctl/qos/report.js";
import { classEntries } from "../../hostctl/qos/tc-stats.js";

const policyFile = "examples/qos/game-vs-database.qos";
const trafficFile = "examples/qos/game-vs-database.json";

describe("the KOPI scenario: a game shaped by cgroup, a database keeping its rate", () => {
  const compiled = compileQos(readFileSync(policyFile, "utf8"), policyFile);
  const spec = parseTraffic(readFileSync(trafficFile, "utf8"), trafficFile);
  const result = simulateSync(compiled, { kind: "sources", spec }, { linkRate: 100e6 / 8, durationNs: 6e9 });
  const cls = (name: string) => result.classes.find((c) => c.name === name)!;
  const src = (name: string) => result.sources.find((s) => s.name === name)!;

  it("classifies the game by cgroup alone: no filter names a port or an address", () => {
    expect(compiled.policy.filters.every((f) => f.matches.every((m) => m.kind === "owner"))).toBe(true);
    // both players' flows (different ports) end in 1:20
    expect(cls("1:20").sentPackets).toBe(src("bob-game").sentPackets + src("charlie-game").sentPackets);
  });

  it("holds the game to its ceiling (10 Mbit/s) though the link has room", () => {
    const ceil = 10e6;
    const series = cls("1:20").series; // 60 ms bins
    const mean = (from: number, n: number) => series.slice(from, from + n).reduce((a, v) => a + v, 0) / n;
    // over every 600 ms window the game stays at or below its ceiling (a bin may hold one 1200-byte packet more)
    for (let b = 0; b + 10 <= series.length; b++) expect(mean(b, 10)).toBeLessThanOrEqual(ceil * 1.01);
    expect(mean(20, 40)).toBeGreaterThan(ceil * 0.97); // and it does use all of it while the link has room
    expect(result.totals.linkUtilization).toBeLessThan(1);
  });

  it("lets the database keep its 60 Mbit/s with sub-millisecond delays, game or no game", () => {
    expect(src("database").throughput).toBeGreaterThanOrEqual(60e6 * 0.99);
    expect(src("database").droppedPackets).toBe(0);
    expect(src("database").delay!.p99).toBeLessThan(1e6);
    // the game's packets are the ones that wait and drop
    expect(src("bob-game").droppedPackets + src("charlie-game").droppedPackets).toBeGreaterThan(0);
  });

  it("shows tc's class statistics for the game's class", () => {
    const game = classEntries(compiled, statsSource(result)).find((e) => e.line.startsWith("class htb 1:20 "))!;
    expect(game.line).toBe("class htb 1:20 parent 1:1 leaf 20: prio 2 rate 5Mbit ceil 10Mbit burst 1600b cburst 1600b ");
    expect(game.stats[0]).toMatch(/^ Sent \d+ bytes \d+ pkt \(dropped [1-9]\d*, overlimits [1-9]\d* requeues 0\) $/);
    expect(game.stats[2]).toMatch(/^ lended: \d+ borrowed: [1-9]\d* giants: 0$/);
  });
});
