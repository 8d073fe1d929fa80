/**
 * Scenario "QoS" (examples/scenarios/qos): the game is known by its cgroup only, and shaped on the NIC. Through
 * the daemon: the htb qdisc is loaded onto the NIC's egress link (hostctl qdisc add); the applications' packets,
 * on whatever ports each session picks, leave their rings with their cgroup as owner and are counted under it;
 * then half a second of their load (egress-load.ts, at its timestamps) goes out through the egress policy, the
 * qdisc and the 100 Mbit/s link: the database keeps its rate, the games' class stays within its ceiling, and
 * `hostctl class show -s` prints exactly the NIC's counters.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AppListing } from "../../hostctl/apps/service.js";
import { runAppAttach, runAppConnect, runAppList } from "../../hostctl/commands/app.js";
import { runAppSend } from "../../hostctl/commands/app-io.js";
import { runList } from "../../hostctl/commands/list.js";
import { runLoad } from "../../hostctl/commands/load.js";
import { runQdiscAdd, runShow } from "../../hostctl/commands/qdisc.js";
import { QdiscDriver, type EgressSnapshot } from "../../hostctl/driver/qdisc-driver.js";
import { egressLoad, LOAD_SECONDS } from "../../examples/scenarios/qos/egress-load.js";
import { daemon } from "../nic/helpers.js";
import { scenarioFile, SCENARIOS } from "./helpers.js";

const file = (f: string) => scenarioFile("qos", f);

describe("scenario: QoS by cgroup", () => {
  it("the game is identified by its cgroup only, whatever its ports; shaped while the database keeps its rate", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      await runLoad(file("policy.kopi"), { nic, host: file("host.json") });
      await runAppAttach({ nic, from: file("host.json") });
      const qos = join(SCENARIOS, "..", "qos", "game-vs-database.qos");
      expect((await runQdiscAdd("add", ["dev", "nic0"], { policy: qos, nic, link: "100mbit" })).stdout).toMatch(/^added the egress qdisc: htb 1: root/);
      const send = async (conn: string, pcap: string) => (await runAppSend({ nic, conn, read: file(pcap) })).stdout;
      expect(await send("1", "database.pcap")).toMatch(/6 frames posted: 6 sent/);
      expect(await send("2", "bob-game-session-1.pcap")).toMatch(/5 frames posted: 5 sent/);
      // a new session, new ports: a new connection of the same application
      expect((await runAppConnect({ nic, app: "2", proto: "udp", local: "10.0.0.2:40404", remote: "198.51.100.8:27777" })).stdout).toMatch(/^opened conn 4 \(app 2\)/);
      expect(await send("4", "bob-game-session-2.pcap")).toMatch(/3 frames posted: 3 sent/);
      expect(await send("3", "charlie-game.pcap")).toMatch(/4 frames posted: 4 sent/);
      const listing = JSON.parse((await runList("egress", { nic, json: true })).stdout) as { chains: { rules: { packets: number }[] }[] };
      expect(listing.chains[0]!.rules.map((r) => r.packets)).toEqual([8, 4, 6]);

      // the offered load's owners are the NIC's applications
      const apps = JSON.parse((await runAppList({ nic, json: true })).stdout) as AppListing;
      const spec = JSON.parse(readFileSync(file("traffic.json"), "utf8")) as { sources: { name: string; owner: { pid?: number; uid?: number; cmd?: string; cgroup?: string } }[] };
      for (const name of ["database", "bob-game", "charlie-game"]) {
        const o = spec.sources.find((s) => s.name === name)!.owner;
        const a = apps.apps.find((x) => x.pid === o.pid)!;
        expect({ pid: a.pid, uid: a.uid, cmd: a.cmd, cgroup: a.cgroup }, name).toEqual({ pid: o.pid, uid: o.uid, cmd: o.cmd, cgroup: o.cgroup });
      }

      // the shaping, on the NIC: the load at its timestamps through policy, qdisc and link
      const { driver } = await d.connect();
      const qd = new QdiscDriver(driver);
      const before = await qd.snapshot();
      const load = egressLoad();
      const out = await driver.inject({ frames: load.map((p) => p.frame), wireLengths: load.map((p) => p.wireLength), timesUs: load.map((p) => p.timeUs), dir: 1 });
      expect([...out.flags].every((f) => f >> 2 === 0)).toBe(true); // the egress policy accepts all of it
      const after = await qd.snapshot();
      const seconds = (after.head.now_ns - before.head.now_ns) / 1e9;
      expect(seconds).toBeCloseTo(LOAD_SECONDS, 2);
      const rate = (q: number, a: EgressSnapshot, b: EgressSnapshot) => ((b.queues[q]!.sentBytes - a.queues[q]!.sentBytes) * 8) / seconds;
      // queue 0 is class 1:10 (the database), queue 1 class 1:20 (the games): leaves in class-id order
      expect(rate(0, before, after)).toBeGreaterThanOrEqual(0.99 * 60e6); // the database keeps (more than) its 60 Mbit/s
      expect(rate(1, before, after)).toBeLessThanOrEqual(1.01 * 10e6); // the games, together, within their 10 Mbit/s ceiling
      expect(rate(1, before, after)).toBeGreaterThanOrEqual(0.9 * 10e6); // and they do get it
      expect(after.queues[1]!.droppedPackets).toBeGreaterThan(0); // offered 24 Mbit/s: the rest is dropped
      expect(after.head.enqueued).toBe(after.head.sent_packets + after.head.dropped_packets + after.head.backlog_packets);
      // the games were classified by cgroup: every game packet of the load hit the cgroup filters
      const games = load.filter((p) => p.source !== "database").length;
      const filters = JSON.parse((await runShow("filter", ["dev", "nic0"], { nic, json: true })).stdout) as { match: string; hits: number }[];
      const cgroupHits = filters.filter((f) => f.match.includes("cgroup")).reduce((n, f) => n + f.hits, 0);
      expect(cgroupHits).toBe(games + 8 + 4); // and the ring packets before
      // tc's view of the same counters
      const now = await qd.snapshot();
      const classes = JSON.parse((await runShow("class", ["dev", "nic0"], { nic, json: true })).stdout) as { handle: string; bytes: number; drops: number }[];
      expect(classes.find((c) => c.handle === "1:20")!.bytes).toBe(now.queues[1]!.sentBytes);
      expect(classes.find((c) => c.handle === "1:10")!.bytes).toBe(now.queues[0]!.sentBytes);
      expect(classes.find((c) => c.handle === "1:20")!.drops).toBe(now.queues[1]!.droppedPackets);
    } finally {
      await d.stopAll();
    }
  });
});
