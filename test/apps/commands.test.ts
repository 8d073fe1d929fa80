/**
 * `hostctl app …` against a NIC daemon: what each command prints, its JSON, and its errors in the user's words
 * (exit 1 when the NIC or the kernel refused, 2 for bad input); the owner annotation of `capture -P`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotateOwner, ownerComment } from "../../hostctl/apps/owner-text.js";
import { attachRequest, runAppAttach, runAppClose, runAppCoalesce, runAppConnect, runAppDetach, runAppList } from "../../hostctl/commands/app.js";
import { runAppRecv, runAppSend } from "../../hostctl/commands/app-io.js";
import { CliError } from "../../hostctl/errors.js";
import { pcapBytes } from "../../examples/scenarios/traffic.js";
import { daemon } from "../nic/helpers.js";
import { inbound, outbound } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

describe("hostctl app", () => {
  it("attach, connect, coalesce, list, close, detach: output and JSON", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      expect((await runAppAttach({ nic, pid: "4242", uid: "1001", user: "bob", gid: "120", group: "db", cmd: "postgres", cgroup: "/system.slice/postgresql.service" })).stdout).toBe(
        "attached app 1: pid 4242 cmd postgres user bob (1001) group db (120) cgroup /system.slice/postgresql.service\n",
      );
      const json = JSON.parse((await runAppAttach({ nic, pid: "10", uid: "0", cmd: "sshd", json: true })).stdout) as { app: number; user: string };
      expect(json).toMatchObject({ app: 2, user: "root" });
      expect((await runAppConnect({ nic, app: "1", local: "*:5432" })).stdout).toBe("opened conn 1 (app 1): tcp *:5432 listening (remote any); rings 64 rx / 64 tx descriptors; page 0x101000\n");
      expect((await runAppConnect({ nic, app: "1", proto: "udp", local: "[2001:db8::2]:53", remote: "[2001:db8::9]:5353", rxSlots: "8", txSlots: "4" })).stdout).toBe(
        "opened conn 2 (app 1): udp [2001:db8::2]:53 ↔ [2001:db8::9]:5353; rings 8 rx / 4 tx descriptors; page 0x102000\n",
      );
      expect((await runAppConnect({ nic, app: "2", raw: true })).stdout).toBe("opened conn 3 (app 2): raw (any frame out, none steered in); rings 64 rx / 64 tx descriptors; page 0x103000\n");
      expect((await runAppCoalesce("1", { nic, usecs: "50", frames: "8" })).stdout).toBe("app 1: an armed interrupt fires after 8 notifications or 50 µs, whichever comes first\n");
      const list = (await runAppList({ nic })).stdout;
      expect(list).toMatch(/^applications 2 of 63; connections 3 of 65536; queue memory 0\.\d of 256\.0 MiB in use\n/);
      expect(list).toMatch(/\n1 +4242 +bob +db +postgres +\/system\.slice\/postgresql\.service +2 +0 pending +0 +0 +50us\/8 +0\n/);
      expect(list).toMatch(/\n2 +1 +connection +udp +\[2001:db8::2\]:53 +\[2001:db8::9\]:5353 +0/);
      expect(list).toMatch(/\nsteering: 0 steered into rings, 0 to the kernel stack \(no connection\), 0 lost to full rings\n/);
      const listJson = JSON.parse((await runAppList({ nic, json: true })).stdout) as { apps: unknown[]; capacity: { connections: number } };
      expect(listJson.apps).toHaveLength(2);
      expect(listJson.capacity.connections).toBe(65536);
      expect((await runAppClose("2", { nic })).stdout).toBe("closed conn 2 (app 1): its key left the steering table, its rings returned to queue memory\n");
      expect((await runAppDetach("1", { nic })).stdout).toBe("detached app 1 (postgres, pid 4242): 1 connection closed, its rings and owner entry gone\n");
      const detachedList = JSON.parse((await runAppList({ nic, json: true })).stdout) as { detached: { app: number; pid: number }[] };
      expect(detachedList.detached).toMatchObject([{ app: 1, pid: 4242 }]);
    } finally {
      await d.stopAll();
    }
  });

  it("send and recv act as the application; the NIC refuses another application", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      await runAppAttach({ nic, pid: "1", uid: "1001", cmd: "srv" });
      await runAppAttach({ nic, pid: "2", uid: "1003", cmd: "evil" });
      await runAppConnect({ nic, app: "1", proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
      const pcap = join(d.dir, "out.pcap");
      writeFileSync(pcap, pcapBytes([outbound("udp", 53, "10.0.0.7", 5353, "a"), outbound("udp", 54, "10.0.0.7", 5353, "b")]));
      const sent = await runAppSend({ nic, conn: "1", read: pcap, json: true });
      expect(JSON.parse(sent.stdout)).toMatchObject({ conn: 1, app: 1, posted: 2, sent: 1, dropped: 0, refused: 1 });
      const refused = await failure(runAppSend({ nic, conn: "1", as: "2", read: pcap }));
      expect(refused.message).toBe("queue 1 is not a connection of application 2 (closed, or never its own)");
      expect(refused.exitCode).toBe(1);
      // recv: the packet is there already, so nobody sleeps; -w writes it to a pcap
      const { transport } = await d.connect();
      await transport.inject({ frames: [inbound("udp", "10.0.0.7", 5353, 53, "q")] });
      const r = await runAppRecv({ nic, conn: "1", n: true });
      expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{6} IP 10\.0\.0\.7\.5353 > 10\.0\.0\.2\.53: [^\n]+\n$/);
      expect(r.stderr).toBe("1 packet received on conn 1; slept 0 times in wait, woken 0 times by an interrupt; 1 ring checks in all (no polling)\n");
      const timedOut = await failure(runAppRecv({ nic, conn: "1", timeout: "200ms" }));
      expect(timedOut.message).toBe("timed out: nothing completed within 200 ms");
      expect((await failure(runAppRecv({ nic, conn: "9" }))).message).toBe("connection 9 is not open (see hostctl app list)");
    } finally {
      await d.stopAll();
    }
  });

  it("a long recv sleeps and wakes many times on one socket without leaving anything behind", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      await runAppAttach({ nic, pid: "1", uid: "1001", cmd: "srv" });
      await runAppConnect({ nic, app: "1", proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
      const service = (await import("../../hostctl/apps/service.js")).AppService.for(d.host);
      const recv = runAppRecv({ nic, conn: "1", count: "15", n: true });
      const { transport } = await d.connect();
      for (let i = 0; i < 15; i++) {
        for (let k = 0; k < 500 && service.sleeping === 0; k++) await new Promise((r) => setTimeout(r, 2));
        expect(service.sleeping).toBe(1);
        await transport.inject({ frames: [inbound("udp", "10.0.0.7", 5353, 53, `#${i}`)] });
      }
      const r = await recv;
      expect(r.stdout.trimEnd().split("\n")).toHaveLength(15);
      expect(r.stderr).toBe("15 packets received on conn 1; slept 15 times in wait, woken 15 times by an interrupt; 30 ring checks in all (no polling)\n");
      await new Promise((r) => setTimeout(r, 20));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await d.stopAll();
    }
  });

  it("bad input and refusals, in the user's words", async () => {
    expect(() => attachRequest({ cmd: "x", uid: "1" })).toThrow("app attach needs --pid (or --from HOST.json)");
    expect(() => attachRequest({ pid: "1", uid: "1" })).toThrow("app attach needs --cmd, the command name");
    expect(() => attachRequest({ pid: "1", cmd: "x" })).toThrow("app attach needs --user or --uid");
    expect(() => attachRequest({ pid: "1", cmd: "x", user: "no-such-user-kopi" })).toThrow("unknown user 'no-such-user-kopi' (not in /etc/passwd): give its --uid too");
    expect(() => attachRequest({ pid: "1", cmd: "x", uid: "1", group: "no-such-group-kopi" })).toThrow("unknown group 'no-such-group-kopi' (not in /etc/group): give its --gid too");
    expect(() => attachRequest({ pid: "x", cmd: "x", uid: "1" })).toThrow("--pid 'x' is not a number");
    expect(() => attachRequest({ pid: "1", cmd: "x", uid: "4294967295" })).toThrow("--uid 4294967295 is outside 0 … 4294967294");
    expect(() => attachRequest({ pid: "1", cmd: "x", uid: "1", cgroup: "user.slice" })).toThrow("--cgroup must be a path starting with /");
    expect(attachRequest({ pid: "1", cmd: "x", user: "root" })).toMatchObject({ uid: 0 });
    await expect(runAppConnect({ app: "1", nic: "local" })).rejects.toThrow("app connect needs --local ADDRESS:PORT");
    await expect(runAppConnect({ app: "1", raw: true, local: "*:1", nic: "local" })).rejects.toThrow("--raw takes no --proto, --local or --remote");
    const notAttached = await failure(runAppConnect({ app: "1", local: "*:80", nic: "local" }));
    expect(notAttached.message).toBe("application 1 is not attached");
    expect(notAttached.exitCode).toBe(1);
    const badEndpoint = await failure(runAppConnect({ app: "1", local: "10.0.0.1", nic: "local" }));
    expect(badEndpoint.message).toBe("local: '10.0.0.1' is not ADDRESS:PORT (IPv6 in brackets: [2001:db8::1]:443)");
    expect(badEndpoint.exitCode).toBe(2);
    await expect(runAppAttach({ from: "/nonexistent/host.json", nic: "local" })).rejects.toThrow("/nonexistent/host.json: cannot read: ENOENT");
    await expect(runAppDetach("3", { nic: "local" })).rejects.toThrow("application 3 is not attached");
    await expect(runAppSend({ conn: "1", read: "/dev/null", nic: "local" })).rejects.toThrow("connection 1 is not open");
    await expect(runAppList({ nic: "/nonexistent/nic.sock" })).rejects.toThrow("no NIC daemon at /nonexistent/nic.sock");
  });

  it("capture -P puts the owner at the end of each packet's first line", () => {
    const owner = ownerComment({ pid: 7777, user: "mallory", cmd: "arpflood" });
    expect(owner).toBe("pid 7777, user mallory, cmd arpflood");
    expect(annotateOwner("12:00:00.000000 ARP, Request who-has 10.0.0.1 tell 10.0.0.66, length 46\n", owner)).toBe(
      "12:00:00.000000 ARP, Request who-has 10.0.0.1 tell 10.0.0.66, length 46 (pid 7777, user mallory, cmd arpflood)\n",
    );
    expect(annotateOwner("12:00:00.000000 IP (tos 0x0) …\n    10.0.0.1 > 10.0.0.2: …\n", undefined)).toBe("12:00:00.000000 IP (tos 0x0) … (pid -, user -, cmd -)\n    10.0.0.1 > 10.0.0.2: …\n");
    // a comment someone else wrote into a pcapng is not an owner
    expect(annotateOwner("x\n", "captured at the lab")).toBe("x (pid -, user -, cmd -)\n");
  });
});
