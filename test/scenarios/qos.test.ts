/**
 * Scenario "QoS" (examples/scenarios/qos): the game is known by its cgroup only. Through the daemon: its
 * packets, on whatever ports each session picks, leave its rings with its cgroup as their owner and are counted
 * under it; the traffic spec's owners are exactly what the NIC's application table holds. The shaping runs the
 * issue-6 qdisc on its virtual-time egress link (hostctl qos simulate): the database keeps its rate, the games'
 * class stays within its ceiling. (The qdisc does not sit on the NIC daemon's egress port yet: see the README.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AppListing } from "../../hostctl/apps/service.js";
import { runAppAttach, runAppConnect, runAppList } from "../../hostctl/commands/app.js";
import { runAppSend } from "../../hostctl/commands/app-io.js";
import { runList } from "../../hostctl/commands/list.js";
import { runLoad } from "../../hostctl/commands/load.js";
import { runQosSimulate } from "../../hostctl/commands/qos.js";
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

      // the shaping
      const qos = await runQosSimulate({ policy: join(SCENARIOS, "..", "qos", "game-vs-database.qos"), traffic: file("traffic.json"), link: "100mbit", duration: "10s", json: true });
      const r = JSON.parse(qos.stdout) as { classes: { name: string; throughput: number }[]; sources: { name: string; throughput: number }[] };
      const cls = (n: string) => r.classes.find((c) => c.name === n)!.throughput;
      expect(cls("1:10")).toBeGreaterThanOrEqual(0.99 * 60e6); // the database keeps its 60 Mbit/s
      expect(cls("1:20")).toBeLessThanOrEqual(10e6 * 1.01); // the games, together, within their 10 Mbit/s ceiling
      const games = r.sources.filter((s) => s.name.endsWith("-game")).reduce((n, s) => n + s.throughput, 0);
      expect(games).toBeCloseTo(cls("1:20"), -3); // and the games are exactly what class 1:20 carried
    } finally {
      await d.stopAll();
    }
  });
});
