/**
 * Scenario "port partitioning" (examples/scenarios/port-partitioning): only Postgres run by bob uses 5432, only
 * MySQL run by charlie uses 3306, in both directions; violations are dropped (or reset) and counted, and a
 * process forging someone else's connection is refused by the NIC before the policy even sees it.
 */
import { describe, expect, it } from "vitest";
import { runAppAttach, runAppConnect, runAppList } from "../../hostctl/commands/app.js";
import { runAppSend } from "../../hostctl/commands/app-io.js";
import { runInject } from "../../hostctl/commands/inject.js";
import { runList } from "../../hostctl/commands/list.js";
import { runLoad } from "../../hostctl/commands/load.js";
import type { AppListing } from "../../hostctl/apps/service.js";
import { daemon } from "../nic/helpers.js";
import { scenarioFile } from "./helpers.js";

const file = (f: string) => scenarioFile("port-partitioning", f);

describe("scenario: port partitioning", () => {
  it("only bob's Postgres uses 5432 and only charlie's MySQL 3306, both directions", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      await runLoad(file("policy.kopi"), { nic, host: file("host.json") });
      const attached = (await runAppAttach({ nic, from: file("host.json") })).stdout;
      expect(attached).toBe(
        [
          "app 1: pid 4242 cmd postgres user bob (1001) group db (120) cgroup /system.slice/postgresql.service",
          "  conn 1 (app 1): tcp *:5432 listening (remote any); rings 64 rx / 64 tx descriptors; page 0x101000",
          "app 2: pid 5353 cmd mysqld user charlie (1002) group db (120) cgroup /system.slice/mysql.service",
          "  conn 2 (app 2): tcp *:3306 listening (remote any); rings 64 rx / 64 tx descriptors; page 0x102000",
          "app 3: pid 6666 cmd postgres user mallory (1003) group mallory (1003) cgroup /user.slice/user-1003.slice",
          "  conn 3 (app 3): tcp 10.0.0.2:5432 ↔ 10.0.0.66:40000; rings 64 rx / 64 tx descriptors; page 0x103000",
          "  conn 4 (app 3): tcp 10.0.0.2:3306 ↔ 10.0.0.66:40001; rings 64 rx / 64 tx descriptors; page 0x104000",
          "",
        ].join("\n"),
      );

      // inbound: the clients; two of them talk to mallory's sockets on the partitioned ports
      expect((await runInject({ nic, read: file("clients.pcap") })).stdout).toBe("6 packets injected (ingress): 4 accepted, 2 dropped, 0 queued, 0 mirrored-only\njudged 6 by generation 1\n");
      // outbound, from each application's own ring
      const send = async (conn: string, pcap: string) => (await runAppSend({ nic, conn, read: file(pcap) })).stdout;
      expect(await send("1", "bob-5432.pcap")).toMatch(/2 frames posted: 2 sent, 0 dropped/);
      expect(await send("2", "charlie-3306.pcap")).toMatch(/2 frames posted: 2 sent, 0 dropped/);
      expect(await send("3", "mallory-5432.pcap")).toMatch(/1 frame posted: 0 sent, 1 dropped by the egress policy, 0 refused/);
      expect(await send("4", "mallory-3306.pcap")).toMatch(/1 frame posted: 0 sent, 1 dropped by the egress policy, 0 refused/);
      // the kernel lets bob open a connection from 3306; the NIC's policy still says no
      expect((await runAppConnect({ nic, app: "1", local: "10.0.0.2:3306", remote: "10.0.0.9:50009" })).stdout).toMatch(/^opened conn 5 \(app 1\)/);
      expect(await send("5", "bob-3306.pcap")).toMatch(/1 frame posted: 0 sent, 1 dropped by the egress policy/);
      // mallory's connection posts a reply to bob's client: not its 5-tuple, refused before the policy
      expect(await send("3", "forged.pcap")).toMatch(/1 frame posted: 0 sent, 0 dropped by the egress policy, 1 refused by the NIC/);

      const listing = JSON.parse((await runList(undefined, { nic, json: true })).stdout) as { chains: { name: string; rules: { text: string; packets: number }[] }[] };
      const counts = Object.fromEntries(listing.chains.map((c) => [c.name, c.rules.map((r) => r.packets)]));
      expect(counts).toEqual({ ingress: [2, 1, 2, 1], egress: [2, 1, 2, 2] });
      const text = (await runList(undefined, { nic })).stdout;
      expect(text).toMatch(/Chain ingress \(policy ACCEPT/);
      expect(text).toMatch(/\n2 +1 +\d+ +DROP .*anyone else on 5432/);

      const apps = JSON.parse((await runAppList({ nic, json: true })).stdout) as AppListing;
      const conn = (id: number) => apps.connections.find((c) => c.conn === id)!;
      expect(conn(1).rx.packets).toBe(2); // bob's clients reached bob's ring
      expect(conn(2).rx.packets).toBe(2);
      expect(conn(3).rx.packets + conn(4).rx.packets).toBe(0); // the violations never reached mallory
      expect(conn(3).tx).toMatchObject({ sent: 0, dropped: 1, refused: 1 });
      expect(apps.stats).toMatchObject({ steered: 4, tx_packets: 7, tx_sent: 4, tx_refused: 1 });
    } finally {
      await d.stopAll();
    }
  });
});
