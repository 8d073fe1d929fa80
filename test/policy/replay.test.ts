/**
 * `hostctl replay`: the KOPI port partition enforced in both directions with a host description (owners from
 * the NIC's connection table), refused traffic counted; the listing shapes (iptables -L, iptables-save -c, JSON)
 * and the command line.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCompile } from "../../hostctl/commands/compile.js";
import { registerReplay, runReplay } from "../../hostctl/commands/replay.js";
import { reportError } from "../../hostctl/errors.js";
import { encodeVerdict } from "../../overlay-isa/index.js";
import { EXAMPLES } from "./helpers.js";
import { ipv4Frame, TCP, writePcap, type PacketSpec } from "./packets.js";

const ACCEPT = encodeVerdict({ kind: "accept" });
const DROP = encodeVerdict({ kind: "drop" });
const RST = encodeVerdict({ kind: "reject", how: "tcp-reset" });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kopi-replay-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(name: string, specs: PacketSpec[]): string {
  const path = join(dir, name);
  writePcap(path, specs.map((s) => ipv4Frame(s)));
  return path;
}

const H = "10.0.0.2";
/** [packet, expected verdict, why] */
const PARTITION: [PacketSpec, number, string][] = [
  [{ src: "10.0.0.9", dst: H, proto: "tcp", sport: 50000, dport: 5432, flags: TCP.SYN }, ACCEPT, "to Bob's Postgres"],
  [{ src: H, dst: "10.0.0.9", proto: "tcp", sport: 5432, dport: 50000, flags: TCP.SYN | TCP.ACK }, ACCEPT, "from Bob's Postgres"],
  [{ src: "10.0.0.66", dst: H, proto: "tcp", sport: 40000, dport: 5432, flags: TCP.ACK, payload: 40 }, DROP, "to Mallory's rogue postgres on 5432"],
  [{ src: H, dst: "10.0.0.66", proto: "tcp", sport: 5432, dport: 40000, flags: TCP.ACK, payload: 100 }, DROP, "from Mallory's rogue postgres on 5432"],
  [{ src: "10.0.0.9", dst: H, proto: "tcp", sport: 50001, dport: 3306, flags: TCP.SYN }, ACCEPT, "to Charlie's MySQL"],
  [{ src: H, dst: "10.0.0.9", proto: "tcp", sport: 3306, dport: 50001, flags: TCP.SYN | TCP.ACK }, ACCEPT, "from Charlie's MySQL"],
  [{ src: H, dst: "10.0.0.66", proto: "tcp", sport: 3306, dport: 40001, flags: TCP.ACK }, RST, "from Mallory on 3306: reset"],
  [{ src: "10.0.0.66", dst: H, proto: "tcp", sport: 40001, dport: 3306, flags: TCP.ACK }, DROP, "to Mallory on 3306"],
  [{ src: "10.0.0.9", dst: H, proto: "tcp", sport: 50002, dport: 22, flags: TCP.SYN }, ACCEPT, "other ports are not partitioned"],
];

describe("the KOPI port partition (Bob/Postgres 5432, Charlie/MySQL 3306)", () => {
  it("is enforced in both directions and refused traffic is counted", async () => {
    const pcap = capture("partition.pcap", PARTITION.map(([p]) => p));
    const { result, stdout } = await runReplay({ policy: `${EXAMPLES}port-partition.kopi`, read: pcap, host: `${EXAMPLES}port-partition.host.json` });
    PARTITION.forEach(([, verdict, why], i) => expect(result.verdicts[i], why).toBe(verdict));
    expect([...result.directions]).toEqual([0, 1, 0, 1, 0, 1, 1, 0, 0]);
    const lines = stdout.split("\n");
    const row = (chain: string, n: number) => {
      const at = lines.findIndex((l) => l.startsWith(`Chain ${chain} `));
      return lines[at + 1 + n]!.split(/\s+/).slice(0, 3).join(" ");
    };
    // pkts and bytes (IP length: 40 for a bare TCP header, plus payload)
    expect(row("ingress", 1)).toBe("1 1 40");
    expect(row("ingress", 2)).toBe("2 1 80");
    expect(row("ingress", 3)).toBe("3 1 40");
    expect(row("ingress", 4)).toBe("4 1 40");
    expect(row("egress", 1)).toBe("1 1 40");
    expect(row("egress", 2)).toBe("2 1 140");
    expect(row("egress", 3)).toBe("3 1 40");
    expect(row("egress", 4)).toBe("4 0 0");
    expect(stdout).toContain("Chain ingress (policy ACCEPT 1 packets, 40 bytes)");
    expect(stdout).toContain("Chain egress (policy ACCEPT 1 packets, 40 bytes)");
  });

  it("when the NIC knows no owner, the partition refuses everything on its ports (and only there)", async () => {
    const pcap = capture("partition2.pcap", PARTITION.map(([p]) => p));
    const users = join(dir, "users-only.json");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(users, JSON.stringify({ addresses: [H], users: { bob: 1001, charlie: 1002 } }));
    const { result } = await runReplay({ policy: `${EXAMPLES}port-partition.kopi`, read: pcap, host: users });
    expect([...result.verdicts]).toEqual([DROP, DROP, DROP, DROP, DROP, RST, RST, DROP, ACCEPT]);
  });
});

describe("replay output", () => {
  const web = (): string =>
    capture("web.pcap", [
      { src: "192.168.10.5", dst: H, proto: "tcp", sport: 40000, dport: 22, flags: TCP.SYN },
      { src: "8.8.8.8", dst: H, proto: "tcp", sport: 40000, dport: 443, flags: TCP.SYN, payload: 10 },
      { src: "8.8.8.8", dst: H, proto: "udp", sport: 40000, dport: 9, payload: 12 },
    ]);

  it("prints iptables-save -c lines with the chain names of the input", async () => {
    const { stdout } = await runReplay({ policy: `${EXAMPLES}basic.rules`, read: web(), saveCounters: true });
    expect(stdout).toContain(":INPUT DROP [1:40]");
    expect(stdout).toContain("[1:40] -A ssh-in -s 10.0.0.0/8 -j ACCEPT".replace("[1:40]", "[0:0]"));
    expect(stdout).toContain("[1:40] -A INPUT -p tcp -m tcp --dport 22 -j ssh-in");
    expect(stdout).toContain("[1:40] -A ssh-in -j DROP");
    expect(stdout).toContain("[1:50] -A INPUT -p tcp -m multiport --dports 80,443,8080:8090 -j ACCEPT");
    expect(stdout).toContain("[1:40] -A INPUT -m comment --comment \"log the rest\" -j LOG --log-prefix \"in-drop: \"");
    expect(stdout.trimEnd().split("\n").slice(-2)).toEqual(["COMMIT", "# Completed"]);
  });

  it("prints JSON", async () => {
    const { stdout } = await runReplay({ policy: `${EXAMPLES}web-server.kopi`, read: web(), json: true });
    const j = JSON.parse(stdout);
    expect(j.packets).toBe(3);
    const ingress = j.chains.find((c: { name: string }) => c.name === "ingress");
    expect(ingress.rules.map((r: { packets: number }) => r.packets)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(ingress.policy).toEqual({ verdict: "drop", packets: 1, bytes: 40 });
  });

  it("runs from the command line; bad input is a positioned error with exit code 2", async () => {
    const program = new Command().exitOverride();
    registerCompile(program);
    registerReplay(program);
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
    try {
      await program.parseAsync(["replay", "--policy", `${EXAMPLES}web-server.kopi`, "-r", web()], { from: "user" });
      await program.parseAsync(["compile", `${EXAMPLES}families.kopi`], { from: "user" });
    } finally {
      process.stdout.write = write;
    }
    expect(out.join("")).toContain("Chain ingress (policy DROP 1 packets, 40 bytes)");
    expect(out.join("")).toContain("lookup.exact r1, t0");
    const bad = join(dir, "bad.kopi");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(bad, "table filter {\n  chain ingress { tcp dport 70000 accept }\n}\n");
    let err = "";
    const code = await program.parseAsync(["compile", bad], { from: "user" }).then(
      () => 0,
      (e) => reportError(e, (s) => (err += s)),
    );
    expect(code).toBe(2);
    expect(err).toBe(`${bad}:2:29: port 70000 is out of range (0 to 65535)\n    chain ingress { tcp dport 70000 accept }\n                              ^\n`);
    let err2 = "";
    const code2 = await program.parseAsync(["replay", "--policy", `${EXAMPLES}web-server.kopi`, "-r", join(dir, "missing.pcap")], { from: "user" }).then(
      () => 0,
      (e) => reportError(e, (s) => (err2 += s)),
    );
    expect(code2).toBe(2);
    expect(err2).toBe(`hostctl: ${join(dir, "missing.pcap")}: No such file or directory\n`);
    expect(readFileSync(`${EXAMPLES}web-server.kopi`, "utf8")).toContain("table filter");
  });
});
