/**
 * Scenario "blocking I/O" (examples/scenarios/blocking-io): a UDP server sleeps in `wait`; its request arrives,
 * the NIC steers it into the connection's ring, notifies, interrupts; the kernel wakes the server. The server
 * checked its ring once before sleeping and once after waking, however long it slept: no polling.
 */
import { describe, expect, it } from "vitest";
import { AppService } from "../../hostctl/apps/service.js";
import type { AppListing } from "../../hostctl/apps/service.js";
import { runAppAttach, runAppConnect, runAppList } from "../../hostctl/commands/app.js";
import { runAppRecv } from "../../hostctl/commands/app-io.js";
import { runInject } from "../../hostctl/commands/inject.js";
import { runList } from "../../hostctl/commands/list.js";
import { runLoad } from "../../hostctl/commands/load.js";
import { daemon } from "../nic/helpers.js";
import { scenarioFile } from "./helpers.js";

const file = (f: string) => scenarioFile("blocking-io", f);

describe("scenario: blocking I/O", () => {
  it("the server sleeps in wait and an interrupt-driven notification wakes it, without polling", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      await runLoad(file("policy.kopi"), { nic, host: file("host.json") });
      await runAppAttach({ nic, pid: "4343", user: "bob", uid: "1001", cmd: "udp-server" });
      await runAppConnect({ nic, app: "1", proto: "udp", local: "10.0.0.2:5555", remote: "10.0.0.9:5000" });

      // the server: an application process of its own (its own socket to the daemon), blocked in recv
      const server = runAppRecv({ nic, conn: "1", n: true });
      const service = AppService.for(d.host);
      for (let i = 0; i < 200 && service.sleeping < 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(service.sleeping).toBe(1);
      // a while passes: the sleeper costs nothing — no interrupt, no check
      await new Promise((r) => setTimeout(r, 300));
      let apps = JSON.parse((await runAppList({ nic, json: true })).stdout) as AppListing;
      expect(apps.wakeups).toMatchObject({ waits: 1, sleeps: 1, interrupt: 0 });
      expect(apps.stats.interrupts).toBe(0);

      // the request arrives
      expect((await runInject({ nic, read: file("request.pcap") })).stdout).toMatch(/^1 packets injected \(ingress\): 1 accepted/);
      const out = await server;
      expect(out.stdout).toMatch(/^\d\d:\d\d:\d\d\.000000 IP 10\.0\.0\.9\.5000 > 10\.0\.0\.2\.5555: UDP, length 4\n$/);
      // one check before the sleep, one after the wake-up, however long the sleep
      expect(out.stderr).toBe("1 packet received on conn 1; slept 1 time in wait, woken 1 time by an interrupt; 2 ring checks in all (no polling)\n");
      apps = JSON.parse((await runAppList({ nic, json: true })).stdout) as AppListing;
      expect(apps.stats).toMatchObject({ steered: 1, notifications: 1, interrupts: 1 });
      expect(apps.apps[0]!.irq.count).toBe(1);
      expect(apps.wakeups).toMatchObject({ sleeps: 1, interrupt: 1, timeout: 0 });
      expect(service.sleeping).toBe(0);

      // the policy saw the owner: bob's udp-server
      const listing = JSON.parse((await runList(undefined, { nic, json: true })).stdout) as { chains: { rules: { packets: number }[] }[] };
      expect(listing.chains[0]!.rules.map((r) => r.packets)).toEqual([1, 0]);
    } finally {
      await d.stopAll();
    }
  });
});
