/**
 * Scenario "debugging" (examples/scenarios/debugging): a flood of ARP requests from a MAC nobody owns leaves
 * the host; `hostctl capture -P arp` names the process that sends it, and a pcapng capture records the owner
 * as each packet's comment (tshark shows it as frame.comment).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scenarioTraffic, pcapBytes } from "../../examples/scenarios/traffic.js";
import { readFileSync } from "node:fs";
import { runAppAttach, runAppConnect, runAppList } from "../../hostctl/commands/app.js";
import { runAppSend } from "../../hostctl/commands/app-io.js";
import { runLoad } from "../../hostctl/commands/load.js";
import { daemon } from "../nic/helpers.js";
import { scenarioFile, SCENARIOS, startCapture } from "./helpers.js";

const hasTshark = (() => {
  try {
    execFileSync("tshark", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const file = (f: string) => scenarioFile("debugging", f);
const FLOOD_LINE = /^\d\d:\d\d:\d\d\.\d{6} 02:66:66:66:66:66 \(oui Unknown\) > Broadcast, ethertype ARP \(0x0806\), length 60: Request who-has 10\.0\.0\.\d+ tell 10\.0\.0\.66, length 46 \(pid 7777, user mallory, cmd arpflood\)$/;

describe("scenario: debugging an ARP flood", () => {
  it("the scenario's traffic files are what traffic.ts writes", () => {
    for (const [path, frames] of Object.entries(scenarioTraffic())) expect(readFileSync(join(SCENARIOS, path)).equals(Buffer.from(pcapBytes(frames))), path).toBe(true);
  });

  it("capture -P arp names the process behind the flood, on every line and in pcapng comments", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      expect((await runLoad(file("policy.kopi"), { nic, host: file("host.json") })).stdout).toMatch(/^loaded .*policy\.kopi as generation 1/);
      expect((await runAppAttach({ nic, pid: "4242", user: "bob", uid: "1001", cmd: "postgres", cgroup: "/system.slice/postgresql.service" })).stdout).toBe(
        "attached app 1: pid 4242 cmd postgres user bob (1001) group root (0) cgroup /system.slice/postgresql.service\n",
      );
      expect((await runAppAttach({ nic, pid: "7777", user: "mallory", uid: "1003", cmd: "arpflood" })).stdout).toMatch(/^attached app 2: pid 7777 cmd arpflood user mallory \(1003\)/);
      expect((await runAppConnect({ nic, app: "1", local: "10.0.0.2:5432", remote: "10.0.0.9:50000" })).stdout).toMatch(/^opened conn 1 \(app 1\): tcp 10\.0\.0\.2:5432 ↔ 10\.0\.0\.9:50000/);
      expect((await runAppConnect({ nic, app: "2", raw: true })).stdout).toMatch(/^opened conn 2 \(app 2\): raw/);

      // the admin watches the egress side for ARP, with process names
      const capture = await startCapture(nic, ["-i", "nic0:egress", "-e", "-P", "-c", "5", "arp"], d.dir);
      // Postgres answers its client (not ARP: the filter leaves it out), then pid 7777 floods
      expect((await runAppSend({ nic, conn: "1", read: file("postgres-replies.pcap") })).stdout).toBe(
        "conn 1 (as app 1): 2 frames posted: 2 sent, 0 dropped by the egress policy, 0 refused by the NIC (not this connection's addresses and ports)\n",
      );
      expect((await runAppSend({ nic, conn: "2", read: file("arp-flood.pcap") })).stdout).toMatch(/^conn 2 \(as app 2\): 40 frames posted: 40 sent/);
      const { stdout, stderr } = await capture.done;
      const lines = stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(5);
      for (const line of lines) expect(line).toMatch(FLOOD_LINE);
      expect(stderr).toMatch(/^listening on nic0:egress, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes\n5 packets captured\n/);

      // the same capture to a pcapng file: the owner travels as each packet's comment
      const out = join(d.dir, "flood.pcapng");
      const toFile = await startCapture(nic, ["-i", "nic0:egress", "-P", "-c", "3", "--pcapng", "-w", out, "arp"], d.dir);
      await runAppSend({ nic, conn: "2", read: file("arp-flood.pcap") });
      await toFile.done;
      // read back with hostctl capture -P: the comments name the process again
      const readBack = await (await startCapture(nic, ["-r", out, "-P"], d.dir)).done;
      expect(readBack.stdout.trimEnd().split("\n").map((l) => l.replace(/^\S+ /, ""))).toEqual([1, 2, 3].map((i) => `ARP, Request who-has 10.0.0.${i} tell 10.0.0.66, length 46 (pid 7777, user mallory, cmd arpflood)`));
      if (hasTshark) {
        const comments = execFileSync("tshark", ["-r", out, "-T", "fields", "-e", "frame.comment"], { encoding: "utf8" });
        expect(comments).toBe("pid 7777, user mallory, cmd arpflood\n".repeat(3));
      }
      const list = (await runAppList({ nic })).stdout;
      expect(list).toMatch(/\n2 +2 +raw +- +- +- +0 +0 +0 +80 +0 +0\n/);
    } finally {
      await d.stopAll();
    }
  });
});
