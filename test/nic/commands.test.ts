/**
 * The hostctl commands against a NIC daemon: load (and --confirm), rule, list, zero, stats, save/restore with
 * counters, trace, status, inject with per-outcome pcap output, and the live capture source.
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferedOutput, FdSink } from "../../hostctl/pcap/byte-sink.js";
import { CapturedPacket } from "../../hostctl/pcap/packet.js";
import { PcapWriter } from "../../hostctl/pcap/pcap-writer.js";
import { CliError } from "../../hostctl/errors.js";
import { runInject } from "../../hostctl/commands/inject.js";
import { runList, runZero } from "../../hostctl/commands/list.js";
import { runConfirm, runLoad } from "../../hostctl/commands/load.js";
import { runRuleEdit } from "../../hostctl/commands/rule.js";
import { runRestore, runSave } from "../../hostctl/commands/save.js";
import { runStats } from "../../hostctl/commands/stats.js";
import { runStatus } from "../../hostctl/commands/status.js";
import { runTrace } from "../../hostctl/commands/trace.js";
import { nicLiveSource } from "../../hostctl/commands/capture-nic.js";
import { daemon, frame } from "./helpers.js";

const KOPI = `table filter {
  chain ingress { policy drop;
    tcp dport 22 accept
    tcp dport 80 accept
    tcp dport 443 accept
    tcp dport 8080 accept
    ip saddr 10.9.0.0/16 drop
  }
}
`;

const IPTABLES = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -s 198.51.100.0/24 -j DROP
COMMIT
`;

function writePcap(path: string, frames: Uint8Array[]): void {
  const w = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 262144 });
  frames.forEach((f, i) => w.write(new CapturedPacket(1700000000 + i, 0, f.length, f)));
  w.close();
}

const hasTcpdump = (() => {
  try {
    execFileSync("tcpdump", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("hostctl NIC commands", () => {
  it("load, rule, list, zero, stats, status, inject and trace", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      const file = join(d.dir, "p.kopi");
      writeFileSync(file, KOPI);
      const load = await runLoad(file, { nic });
      expect(load.stdout).toMatch(new RegExp(`^loaded ${file} as generation 1: 5 rules in 1 chain, \\d+ instructions, 1 table \\(4 entries\\), \\d+ counters\\n`));
      expect(load.stdout).toMatch(/\nworst case \d+ cycles\/packet → [\d.]+ Mpps per core at 250 MHz; \d+ cores needed for 148\.8 Mpps \(100GbE, 64 B\)\n/);
      expect(load.stdout).toMatch(/\ntable memory: 1 of 1024 BRAM blocks; \d+ register writes in one transaction\n$/);

      const add = await runRuleEdit({ op: "append", chain: "ingress", rule: "tcp dport 9090 accept" }, { nic });
      expect(add.stdout).toMatch(/^ingress: rule added \(program reloaded as generation 2: \d+ register writes; counters carried over\)\n$/);
      const ins = await runRuleEdit({ op: "insert", chain: "ingress", number: 1, rule: "tcp dport 3306 accept" }, { nic, json: true });
      const insJson = JSON.parse(ins.stdout) as { mode: string; registerWrites: number; generation: number };
      expect(insJson).toMatchObject({ mode: "tables", generation: 2 });
      expect(insJson.registerWrites).toBeLessThanOrEqual(16);

      const pcap = join(d.dir, "in.pcap");
      writePcap(pcap, [frame({ dport: 22 }), frame({ dport: 3306 }), frame({ dport: 25 }), frame({ dport: 25, src: 0x0a090001 }), frame({ dport: 80 })]);
      const accepted = join(d.dir, "accepted.pcap");
      const dropped = join(d.dir, "dropped.pcap");
      const inj = await runInject({ read: pcap, nic, writeAccepted: accepted, writeDropped: dropped });
      expect(inj.stdout).toBe("5 packets injected (ingress): 3 accepted, 2 dropped, 0 queued, 0 mirrored-only\njudged 5 by generation 2\n");
      if (hasTcpdump) {
        const lines = execFileSync("tcpdump", ["-n", "-r", accepted], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n");
        expect(lines).toHaveLength(3);
        expect(lines[1]).toContain("> 192.168.0.1.3306:");
        expect(execFileSync("tcpdump", ["-n", "-r", dropped], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n")).toHaveLength(2);
      } else expect(existsSync(accepted)).toBe(true);

      const list = await runList(undefined, { nic });
      const lines = list.stdout.split("\n");
      expect(lines[0]).toBe("Chain ingress (policy DROP 1 packets, 50 bytes)");
      expect(lines[1]).toBe("num      pkts      bytes target     prot opt in     out     source               destination         ");
      expect(lines[2]).toMatch(/^1 +1 +50 ACCEPT +6 +-- +\* +\* +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 +tcp dport 3306 accept$/);
      expect(lines[3]).toMatch(/^2 +1 +50 ACCEPT .* tcp dport 22 accept$/);
      expect(lines[6]).toMatch(/^5 +0 +0 ACCEPT .* tcp dport 8080 accept$/);
      expect(lines[7]).toMatch(/^6 +1 +50 DROP +0 +-- .* 10\.9\.0\.0\/16 .* ip saddr 10\.9\.0\.0\/16 drop$/);
      const json = JSON.parse((await runList("ingress", { nic, json: true })).stdout) as { generation: number; chains: { rules: { packets: number }[] }[] };
      expect(json.generation).toBe(2);
      expect(json.chains[0]!.rules.map((r) => r.packets)).toEqual([1, 1, 1, 0, 0, 1, 0]);
      await expect(runList("nope", { nic })).rejects.toThrow("chain 'nope' does not exist (chains: ingress)");

      const stats = await runStats({ nic });
      expect(stats.stdout).toContain("     rx_packets:           5\n");
      expect(stats.stdout).toContain("conservation: rx 5 = accepted 3 + dropped 2 + queued 0 + mirrored-only 0: balanced\n");

      const status = await runStatus({ nic });
      expect(status.stdout).toContain(`policy ${file} (kopi, 7 rules`);
      expect(status.stdout).toMatch(/\n {2}t0 exact \(16-bit key\): 5 of 16 entries — rules 1–5 of chain ingress\n/);
      expect(status.stdout).toMatch(/\nworst case \d+ cycles\/packet/);

      const trace = await runTrace({ read: pcap, nic, count: "3" });
      const tl = trace.stdout.split("\n");
      expect(tl[0]).toMatch(/^#1 IP 10\.0\.0\.1\.40000 > 192\.168\.0\.1\.22: Flags \[\.\]/);
      expect(tl[1]).toBe("    gen 2 ingress: ingress rule 2 (tcp dport 22 accept) → accept");
      expect(tl[5]).toBe("    gen 2 ingress: ingress policy drop");
      expect(tl).toHaveLength(7);

      await runZero("ingress", "2", { nic });
      expect(JSON.parse((await runList("ingress", { nic, json: true })).stdout).chains[0].rules.map((r: { packets: number }) => r.packets)).toEqual([2, 0, 1, 0, 0, 1, 0]);
      await runZero(undefined, undefined, { nic });
      expect(JSON.parse((await runList("ingress", { nic, json: true })).stdout).chains[0].rules.every((r: { packets: number }) => r.packets === 0)).toBe(true);
    } finally {
      await d.stopAll();
    }
  });

  it("save -c and restore -c round-trip policies and their counters, in both languages", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      for (const [name, text] of [["p.kopi", KOPI], ["p.rules", IPTABLES]] as const) {
        const file = join(d.dir, name);
        writeFileSync(file, text);
        await runLoad(file, { nic });
        await runInject({ read: (writePcap(join(d.dir, "x.pcap"), [frame({ dport: 22 }), frame({ dport: 22 }), frame({ dport: 7 })]), join(d.dir, "x.pcap")), nic });
        const saved = (await runSave({ nic, counters: true })).stdout;
        if (name === "p.rules") {
          expect(saved).toMatch(/^# Generated by hostctl save on .*\n\*filter\n:INPUT DROP \[1:50\]\n:FORWARD DROP \[0:0\]\n:OUTPUT ACCEPT \[0:0\]\n\[2:100\] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\[0:0\] -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n\[0:0\] -A INPUT -s 198\.51\.100\.0\/24 -j DROP\nCOMMIT\n# Completed on .*\n$/);
          expect((await runSave({ nic })).stdout).toContain("\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n");
        } else {
          expect(saved).toContain("    tcp dport 22 accept counter packets 2 bytes 100\n");
          expect((await runSave({ nic })).stdout).toBe(KOPI);
        }
        // a fresh NIC: restore -c brings the counts back
        const d2 = await daemon();
        try {
          const savedFile = join(d2.dir, "saved");
          writeFileSync(savedFile, saved);
          const r = await runRestore(savedFile, { nic: d2.socketPath, counters: true });
          expect(r.stdout).toMatch(/^restored .* as generation 1 with its saved counters\n/);
          const rules = JSON.parse((await runList(undefined, { nic: d2.socketPath, json: true })).stdout).chains.find((c: { rules: unknown[] }) => c.rules.length > 0).rules;
          expect(rules[0].packets).toBe(2);
          expect(rules[0].bytes).toBe(100);
          // the counts went into the counters, not into the policy text
          const again = (await runSave({ nic: d2.socketPath })).stdout;
          expect(again).not.toMatch(/packets \d|\[\d+:\d+\] -A/);
          if (name === "p.kopi") expect(again).toBe(KOPI.replace(/ accept\n/g, " accept counter\n").replace(/ drop\n/g, " drop counter\n"));
          // restored without -c, counting starts from zero
          await runRestore(savedFile, { nic: d2.socketPath });
          expect(JSON.parse((await runList(undefined, { nic: d2.socketPath, json: true })).stdout).chains.find((c: { rules: unknown[] }) => c.rules.length > 0).rules[0].packets).toBe(0);
        } finally {
          await d2.stopAll();
        }
      }
    } finally {
      await d.stopAll();
    }
  });

  it("load --confirm rolls back unless confirmed: a 'no', silence until the deadline, or `hostctl confirm`", async () => {
    const d = await daemon();
    const nic = d.socketPath;
    try {
      const a = join(d.dir, "a.kopi");
      const b = join(d.dir, "b.kopi");
      writeFileSync(a, KOPI);
      writeFileSync(b, KOPI.replace("tcp dport 22 accept", "tcp dport 2222 accept"));
      await runLoad(a, { nic });
      const verdict22 = async () => (await d.connect()).driver.inject({ frames: [frame({ dport: 22 })] }).then((o) => o.verdicts[0]);
      // answered no
      const no = await runLoad(b, { nic, confirm: "30s" }, { prompt: async () => "n" });
      expect(no.exitCode).toBe(1);
      expect(no.stderr).toContain("not confirmed: rolled back to the previous policy");
      expect(await verdict22()).toBe(1);
      expect((await runSave({ nic })).stdout).toBe(KOPI);
      // answered yes
      const yes = await runLoad(b, { nic, confirm: "30s" }, { prompt: async () => "y" });
      expect(yes.stderr).toContain("kept the new policy");
      expect(await verdict22()).toBe(0);
      await runLoad(a, { nic });
      // nobody answers: the daemon rolls back by itself at the deadline
      const silent = await runLoad(b, { nic, confirm: "150ms", json: true }, {});
      expect(JSON.parse(silent.stdout).confirmDeadline).toBeDefined();
      expect(await verdict22()).toBe(0);
      expect((await runStatus({ nic })).stdout).toContain("waiting for confirmation");
      await new Promise((r) => setTimeout(r, 300));
      expect(await verdict22()).toBe(1);
      expect((await runSave({ nic })).stdout).toBe(KOPI);
      // confirmed from another command
      await runLoad(b, { nic, confirm: "150ms" }, {});
      expect((await runConfirm({ nic })).stdout).toMatch(/^confirmed generation \d+\n$/);
      await new Promise((r) => setTimeout(r, 300));
      expect(await verdict22()).toBe(0);
      expect((await runConfirm({ nic })).exitCode).toBe(1);
      await expect(runLoad(b, { nic: "local", confirm: "1s" })).rejects.toThrow(/--confirm needs the NIC daemon/);
    } finally {
      await d.stopAll();
    }
  });

  it("hostctl capture -i nic0 reads the capture ring live", async () => {
    const d = await daemon();
    try {
      const open = nicLiveSource({ nic: d.socketPath });
      await expect(open("eth9", { snapshotLength: 0, precision: "micro" })).rejects.toThrow(/eth9: No such device exists/);
      const source = await open("nic0", { snapshotLength: 96, precision: "micro" });
      expect(source.banner).toBe("listening on nic0, link-type EN10MB (Ethernet), snapshot length 96 bytes");
      const { driver } = await d.connect();
      await driver.inject({ frames: [frame({ dport: 1, size: 120 }), frame({ dport: 2 })], timesUs: [1700000000123456, 1700000001000000] });
      const batch = await source.nextBatch(100);
      expect(batch.map((p) => [p.seconds, p.microseconds, p.wireLength, p.data.length])).toEqual([
        [1700000000, 123456, 120, 96],
        [1700000001, 0, 64, 64],
      ]);
      expect((await driver.captureState()).tail).toBe(2);
      expect(source.statistics()).toEqual({ received: 2, dropped: 0 });
      source.close();
      await new Promise((r) => setTimeout(r, 50));
      expect((await driver.captureState()).ctrl).toBe(1);
    } finally {
      await d.stopAll();
    }
  });

  it("reports a missing daemon and a NIC without policy in the user's words", async () => {
    await expect(runList(undefined, { nic: "/nonexistent/nic.sock" })).rejects.toThrow("no NIC daemon at /nonexistent/nic.sock (start one with `hostctl nic start`, or use --nic local)");
    const err = await runList(undefined, { nic: "local" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe("no policy is loaded on the NIC (load one with `hostctl load FILE`)");
    await expect(runLoad("/nonexistent.kopi", { nic: "local" })).rejects.toThrow("/nonexistent.kopi: No such file or directory");
  });
});
