/** hostctl qos compile|simulate and qdisc|class|filter show: output shapes, files, errors and exit codes. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SourceError } from "../../overlay-isa/index.js";
import { runQosSimulate } from "../../hostctl/commands/qos.js";
import { runShow } from "../../hostctl/commands/qdisc.js";
import { frame } from "./harness.js";

const root = new URL("../..", import.meta.url).pathname;
const tsx = join(root, "node_modules", ".bin", "tsx");
const cli = join(root, "hostctl", "cli.ts");
const dir = mkdtempSync(join(tmpdir(), "kopi-qos-"));
const POLICY = "examples/qos/game-vs-database.qos";
const TRAFFIC = "examples/qos/game-vs-database.json";

function hostctl(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [cli, ...args], { encoding: "utf8", cwd: root });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.replace(/^npm warn.*\n/gm, "") };
}

describe("hostctl qos simulate", () => {
  it("prints per-class and per-source throughput, drops and delay percentiles, and writes a readable SVG", async () => {
    const plot = join(dir, "game.svg");
    const r = await runQosSimulate({ policy: POLICY, traffic: TRAFFIC, link: "100mbit", duration: "3s", plot });
    expect(r.stdout).toMatch(/^htb 1: root on a 100\.000 Mbit\/s link, 3 s of virtual time/);
    expect(r.stdout).toMatch(/\nclass +offered +sent +dropped +queued +throughput +p50 ms +p90 ms +p99 ms +max ms\n/);
    expect(r.stdout).toMatch(/\n1:10 +\d+ +\d+ +0 +\d+ +60\.0\d\d Mbit\/s/);
    expect(r.stdout).toMatch(/\ndatabase +\d+/);
    const svg = readFileSync(plot, "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const text of ["time (s)", "rate (Mbit/s)", "link 100 Mbit/s", "1:10", "1:20", "1:30", "class (mean rate)"]) expect(svg).toContain(text);
    expect((svg.match(/<polyline /g) ?? []).length).toBe(3); // the direct queue carried nothing: no line for it
  });

  it("--json carries the results and tc's statistics", async () => {
    const r = await runQosSimulate({ policy: POLICY, traffic: TRAFFIC, link: "100mbit", duration: "1s", json: true });
    const j = JSON.parse(r.stdout);
    expect(j.linkRate).toBe(100e6);
    expect(j.totals.offered).toBe(j.totals.sent + j.totals.dropped + j.totals.queued);
    expect(j.classes.map((c: { name: string }) => c.name)).toEqual(["1:10", "1:20", "1:30", "direct"]);
    expect(j.classes[0].delay.p99).toBeGreaterThan(0);
    expect(j.tc.qdiscs[0]).toMatchObject({ kind: "htb", handle: "1:", root: true, options: { r2q: 100, default: "0x30", direct_qlen: 1000 } });
    expect(j.tc.classes.find((c: { handle: string }) => c.handle === "1:20")).toMatchObject({ class: "htb", parent: "1:1", rate: 625000, ceil: 1250000 });
  });

  it("replays a capture at its timestamps (-r)", async () => {
    // a pcap of 200 UDP packets 1 ms apart, half to port 5432
    const f1 = frame({ dport: 5432, proto: "tcp" });
    const f2 = frame({ dport: 80 });
    const parts: Uint8Array[] = [];
    const head = new DataView(new ArrayBuffer(24));
    head.setUint32(0, 0xa1b2c3d4, true);
    head.setUint16(4, 2, true);
    head.setUint16(6, 4, true);
    head.setUint32(16, 65535, true);
    head.setUint32(20, 1, true);
    parts.push(new Uint8Array(head.buffer));
    for (let i = 0; i < 200; i++) {
      const fr = i % 2 ? f1 : f2;
      const rec = new DataView(new ArrayBuffer(16));
      rec.setUint32(0, 1000, true);
      rec.setUint32(4, i * 1000, true);
      rec.setUint32(8, fr.length, true);
      rec.setUint32(12, 1000, true);
      parts.push(new Uint8Array(rec.buffer), fr);
    }
    const pcap = join(dir, "in.pcap");
    writeFileSync(pcap, Buffer.concat(parts));
    const r = await runQosSimulate({ policy: POLICY, read: pcap, link: "10mbit", duration: "1s", json: true });
    const j = JSON.parse(r.stdout);
    expect(j.totals.offered).toBe(200);
    expect(j.classes.find((c: { name: string }) => c.name === "1:30").offeredPackets).toBe(200); // no owners known: the default class
  });
});

describe("a qdisc change in the traffic spec", () => {
  it("commits the new qdisc mid-run, carries the queue over and keeps every class's books balanced", async () => {
    const r = await runQosSimulate({ policy: "examples/qos/pfifo.qos", traffic: "examples/qos/bufferbloat.json", link: "20mbit", duration: "8s", json: true });
    const j = JSON.parse(r.stdout);
    expect(j.generations).toHaveLength(2);
    expect(j.generations[1]).toMatchObject({ atNs: 5e9, generation: 2, qdisc: "fq_codel 8001: root" });
    expect(j.generations[1].migrated).toBeGreaterThan(0);
    expect(j.classes.map((c: { name: string }) => c.name)).toEqual(["8001: pfifo", "8001: fq_codel"]);
    for (const c of j.classes) expect(c.offeredPackets).toBe(c.sentPackets + c.droppedPackets + c.queuedPackets);
    expect(j.totals.offered).toBe(j.totals.sent + j.totals.dropped + j.totals.queued);
  });
});

describe("qdiscs under classes (examples/qos/htb-fq-codel.*)", () => {
  it("simulate: each class's fq_codel shares the class flow by flow; tc's lines for every leaf; the tc script runs the same", async () => {
    const args = { traffic: "examples/qos/htb-fq-codel.json", link: "20mbit", duration: "4s", json: true };
    const j = JSON.parse((await runQosSimulate({ policy: "examples/qos/htb-fq-codel.qos", ...args })).stdout);
    expect(j.classes.map((c: { name: string }) => c.name)).toEqual(["1:10", "1:20", "direct"]);
    for (const c of j.classes) expect(c.offeredPackets).toBe(c.sentPackets + c.droppedPackets + c.queuedPackets);
    const src = (name: string) => j.sources.find((x: { name: string }) => x.name === name) as { throughput: number; delay: { p99: number } };
    // 1:20's fq_codel gives its one upload flow about what each of the backup's four flows gets
    const perBackupFlow = src("backup").throughput / 4;
    expect(Math.abs(src("upload").throughput - perBackupFlow) / perBackupFlow).toBeLessThan(0.15);
    expect(src("voip").delay.p99).toBeLessThan(1e6); // 1:10 is not behind the bulk queue
    expect(j.tc.qdiscs.map((q: { kind: string; handle: string; parent?: string }) => [q.kind, q.handle, q.parent ?? "root"])).toEqual([
      ["htb", "1:", "root"],
      ["fq_codel", "10:", "1:10"],
      ["fq_codel", "20:", "1:20"],
    ]);
    const t = JSON.parse((await runQosSimulate({ policy: "examples/qos/htb-fq-codel.tc", format: "tc", ...args })).stdout);
    expect(t.totals).toEqual(j.totals);
    expect(t.tc).toEqual(j.tc);
  });

  it("qdisc show -s prints the leaves after the root, class show -s names each class's leaf", async () => {
    const q = await runShow("qdisc", [], { policy: "examples/qos/htb-fq-codel.qos", stats: true, traffic: "examples/qos/htb-fq-codel.json", link: "20mbit", duration: "1s" });
    const heads = q.stdout.split("\n").filter((l) => l.startsWith("qdisc "));
    expect(heads).toEqual([
      "qdisc htb 1: root refcnt 2 r2q 100 default 0x20 direct_packets_stat 0 direct_qlen 1000 ",
      "qdisc fq_codel 10: parent 1:10 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 ",
      "qdisc fq_codel 20: parent 1:20 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 ",
    ]);
    expect(q.stdout).toMatch(/\n  maxpacket 1500 drop_overlimit 0 new_flow_count \d+ ecn_mark \d+/);
    const c = await runShow("class", [], { policy: "examples/qos/htb-fq-codel.qos" });
    expect(c.stdout).toContain("class htb 1:20 parent 1:1 leaf 20: prio 1 rate 16Mbit ceil 20Mbit burst 1600b cburst 1600b \n");
  });
});

describe("hostctl qdisc|class|filter show", () => {
  it("prints tc's lines and, with -s, its statistics", async () => {
    const q = await runShow("qdisc", ["dev", "nic0"], { policy: POLICY, stats: true, traffic: TRAFFIC, link: "100mbit", duration: "1s" });
    const lines = q.stdout.split("\n");
    expect(lines[0]).toBe("qdisc htb 1: root refcnt 2 r2q 100 default 0x30 direct_packets_stat 0 direct_qlen 1000 ");
    expect(lines[1]).toMatch(/^ Sent \d+ bytes \d+ pkt \(dropped \d+, overlimits \d+ requeues 0\) $/);
    expect(lines[2]).toMatch(/^ backlog \d+(b|Kb|Mb) \d+p requeues 0$/);
    expect(lines[3]).toBe("qdisc pfifo 20: parent 1:20 limit 100p ");
    const c = await runShow("class", [], { policy: POLICY, stats: true });
    expect(c.stdout).toContain("class htb 1:1 root rate 100Mbit ceil 100Mbit burst 1600b cburst 1600b \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n lended: 0 borrowed: 0 giants: 0\n tokens: 2000 ctokens: 2000\n");
    const f = await runShow("filter", [], { policy: POLICY, json: true });
    expect(JSON.parse(f.stdout).map((x: { pref: number; flowid: string }) => [x.pref, x.flowid])).toEqual([[1, "1:20"], [1, "1:20"], [2, "1:10"]]);
    await expect(runShow("qdisc", ["dev", "eth9"], { policy: POLICY })).rejects.toThrow(/Cannot find device "eth9"/);
  });
});

describe("errors", () => {
  it("a bad traffic spec is a positioned error", async () => {
    const spec = join(dir, "bad.json");
    writeFileSync(spec, '{ "sources": [\n  { "name": "x", "rate": "40mbits" }\n] }\n');
    const e = await runQosSimulate({ policy: POLICY, traffic: spec, link: "100mbit", duration: "1s" }).catch((x) => x);
    expect(e).toBeInstanceOf(SourceError);
    expect((e as SourceError).message).toBe(`${spec}:2:26: sources[0].rate: '40mbits': unknown rate unit 'mbits' (bit, kbit, mbit, gbit, tbit are bits per second; bps, kbps, mbps, gbps are bytes per second)`);
  });

  it("the CLI prints file:line:col with a caret and exits 2, without a stack trace; asks for the missing options", () => {
    const bad = join(dir, "bad.qos");
    writeFileSync(bad, "qos {\n  qdisc htb handle 1: root\n  filter udp dport 1 flowid 1:77\n}\n");
    const r = hostctl("qos", "simulate", "--policy", bad, "--traffic", TRAFFIC, "--link", "100mbit", "--duration", "1s");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${bad}:3:29: unknown class id 1:77 (qdisc 1: has no classes)\n    filter udp dport 1 flowid 1:77\n  ${" ".repeat(28)}^\n`);
    const m = hostctl("qos", "simulate", "--policy", POLICY, "--traffic", TRAFFIC, "--duration", "1s");
    expect(m.status).toBe(2);
    expect(m.stderr).toBe("hostctl: --link RATE is required (the egress link's rate, such as 100mbit or 1gbit)\n");
  });
});
