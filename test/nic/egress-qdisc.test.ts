/**
 * The egress scheduler on the NIC (fpga-model/egress-link.ts): a qdisc loaded and committed through MMIO, the
 * modeled link draining it on the packets' clock, swaps under traffic with conservation, a malformed upload
 * refused with nothing changed, and `hostctl qdisc show -s` through the daemon reading the device's counters.
 */
import { describe, expect, it } from "vitest";
import { compileQos } from "../../compiler/qos/compile.js";
import { crc32 } from "../../overlay-isa/index.js";
import { encodeQdiscImage, decodeQdiscImage } from "../../fpga-model/egress-image.js";
import { EG_CMD, ERR, PROG_STATE, REG } from "../../fpga-model/registers.js";
import { bundleOf } from "../../hostctl/qos/bundle.js";
import { DeviceError } from "../../hostctl/driver/driver.js";
import { qdiscImageOf, QdiscDriver, type EgressSnapshot } from "../../hostctl/driver/qdisc-driver.js";
import { Transaction } from "../../hostctl/driver/transaction.js";
import { runQdiscAdd, runShow } from "../../hostctl/commands/qdisc.js";
import { daemon, frame, localNic } from "./helpers.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { encodeFrame, FrameDecoder, type Frame } from "../../hostctl/daemon/protocol.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PFIFO = "qos dev nic0 {\n  qdisc pfifo root limit 1000\n}\n";
const TBF = "qos dev nic0 {\n  qdisc tbf root rate 2mbit burst 3000 limit 30000\n}\n";
const HTB = `qos dev nic0 {
  qdisc htb handle 1: root default 20
  class 1:1 htb rate 10mbit
  class 1:10 parent 1:1 htb rate 8mbit ceil 10mbit prio 0
  class 1:20 parent 1:1 htb rate 2mbit ceil 2mbit prio 1
  qdisc pfifo parent 1:20 handle 20: limit 20
  filter prio 1 udp dport 5432 flowid 1:10
}
`;

const image = (text: string) => qdiscImageOf(bundleOf(compileQos(text, "test.qos", { format: "qos" })));

/** Egress packets of 1250 bytes (1 ms on a 10 Mbit/s link) at `t0` µs, `gapUs` apart. */
function egress(n: number, t0: number, gapUs: number, dport = 80) {
  return { frames: Array.from({ length: n }, () => frame({ proto: "udp", dport, size: 1250 })), timesUs: Array.from({ length: n }, (_, i) => t0 + i * gapUs), dir: 1 as const };
}

function conserved(s: EgressSnapshot): void {
  expect(s.head.enqueued).toBe(s.head.sent_packets + s.head.dropped_packets + s.head.backlog_packets);
}

describe("egress scheduler on the NIC", () => {
  it("loads and commits a qdisc through MMIO; the link drains it on the packets' clock", async () => {
    const { host, driver } = await localNic();
    const qd = new QdiscDriver(driver);
    const img = image(PFIFO);
    await qd.setLinkRate(10_000); // 10 Mbit/s
    const r = await qd.load(img, [], 0);
    expect(r.generation).toBe(1);
    expect(host.device.read32(REG.EG_CRC)).toBe(crc32(img));
    expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.EMPTY); // nothing kept before the first qdisc
    await driver.inject(egress(100, 1_000_000, 0)); // 100 packets at one instant
    let s = await qd.snapshot();
    expect(s.head).toMatchObject({ generation: 1, enqueued: 100, sent_packets: 1, backlog_packets: 99, dropped_packets: 0 });
    expect(s.queues[0]).toMatchObject({ packets: 99, bytes: 99 * 1250 });
    await qd.advance(10_000); // 10 ms: the link has sent one packet per ms
    s = await qd.snapshot();
    expect(s.head).toMatchObject({ now_ns: 10_000_000, sent_packets: 11, sent_bytes: 11 * 1250, backlog_packets: 89 });
    conserved(s);
    // ingress traffic never reaches the egress link
    await driver.inject({ frames: [frame()], dir: 0 });
    expect((await qd.snapshot()).head.enqueued).toBe(100);
  });

  it("refuses a malformed qdisc upload and changes nothing", async () => {
    const { host, driver } = await localNic();
    const qd = new QdiscDriver(driver);
    await qd.setLinkRate(10_000);
    const good = image(PFIFO);
    await qd.load(good, [], 0);
    await driver.inject(egress(20, 0, 0));
    const before = { snap: await qd.snapshot(), gen: host.device.read32(REG.EG_GEN), crc: host.device.read32(REG.EG_CRC) };
    const parts = decodeQdiscImage(good);
    // a scheduler image whose first instruction word is garbage, a truncated container, a policy program as scheduler
    const badOpcode = parts.scheduler.slice();
    badOpcode.fill(0xff, badOpcode.length - 8);
    const corrupt = encodeQdiscImage({ ...parts, scheduler: badOpcode });
    const swapped = encodeQdiscImage({ ...parts, classifier: parts.scheduler, scheduler: parts.classifier });
    for (const bad of [corrupt, good.subarray(0, good.length - 3), swapped]) {
      await expect(qd.load(bad, [], 1)).rejects.toThrow(DeviceError);
      expect(host.device.read32(REG.EG_GEN)).toBe(before.gen);
      expect(host.device.read32(REG.EG_CRC)).toBe(before.crc);
      expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.REJECTED);
      expect((await qd.snapshot()).head).toEqual(before.snap.head);
    }
    const e = await qd.load(good.subarray(0, good.length - 3), [], 1).catch((x: unknown) => x as DeviceError);
    expect(e.message).toMatch(/qdisc image: malformed at byte/);
    // a commit with nothing verified, and a stale one
    const t = new Transaction();
    t.write(REG.EG_COMMIT, 1);
    await expect(driver.run(t)).rejects.toThrow(/commit without a verified qdisc/);
    await expect(qd.load(good, [], 7)).rejects.toThrow(/active qdisc generation is 1, not 7/);
    expect(host.device.read32(REG.EG_GEN)).toBe(1);
    // the link still runs the old qdisc
    await qd.advance(5_000);
    expect((await qd.snapshot()).head.sent_packets).toBe(before.snap.head.sent_packets + 5);
  });

  it("swaps qdiscs under traffic atomically: enqueued = sent + dropped + backlog across every swap", async () => {
    const { host, driver } = await localNic({}, 64);
    const qd = new QdiscDriver(driver);
    await qd.setLinkRate(10_000);
    let gen = 0;
    gen = (await qd.load(image(PFIFO), [], gen)).generation;
    let t = 0;
    const plan = [image(HTB), image(TBF), image(PFIFO), image(HTB)];
    for (const next of plan) {
      // traffic in flight while the commit lands: the inject's packets are still in the FIFO
      const flowing = driver.inject(egress(300, t, 200, t % 2 ? 5432 : 80));
      const r = await qd.load(next, [], gen);
      expect(r.generation).toBe(gen + 1);
      gen = r.generation;
      await flowing;
      t += 300 * 200;
      const s = await qd.snapshot();
      conserved(s);
      expect(s.head.generation).toBe(gen);
    }
    // rollback (to the tbf qdisc kept in the other slot): a swap too
    const back = await qd.rollback(gen);
    expect(back).toBe(gen + 1);
    await driver.inject(egress(50, t, 100));
    await qd.advance(2_000_000);
    const s = await qd.snapshot();
    conserved(s);
    expect(s.head.enqueued).toBe(4 * 300 + 50);
    expect(s.head.migrated + s.head.migration_drops).toBeGreaterThan(0);
    expect(s.head.backlog_packets).toBe(0); // two seconds drain everything left
    expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.PREVIOUS);
    // the refused reset/upload paths leave the slot usable
    const x = new Transaction();
    x.write(REG.EG_CTRL, EG_CMD.RESET);
    await driver.run(x);
    expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.EMPTY);
    const y = new Transaction();
    y.write(REG.EG_ROLLBACK, back);
    await expect(driver.run(y)).rejects.toThrow(/no previous qdisc/);
    expect(host.device.read32(REG.ERROR_CODE)).toBe(ERR.NO_PREVIOUS);
  });

  it("hostctl qdisc add/show -s through the daemon print the device's live counters", async () => {
    const d = await daemon();
    const dir = mkdtempSync(join(tmpdir(), "kopi-qdisc-"));
    try {
      const policy = join(dir, "htb.qos");
      writeFileSync(policy, HTB);
      const nic = d.socketPath;
      expect((await runQdiscAdd("add", ["dev", "nic0"], { policy, nic, link: "10mbit" })).stdout).toMatch(/^added the egress qdisc: htb 1: root \(3 queues\) as qdisc generation 1/);
      await expect(runQdiscAdd("add", [], { policy, nic })).rejects.toThrow(/Exclusivity flag on/);
      const { driver } = await d.connect();
      await driver.inject(egress(200, 5_000_000, 100, 5432));
      await driver.inject(egress(200, 5_000_000, 100, 80));
      const qd = new QdiscDriver(driver);
      await qd.advance(20_000);
      const snap = await qd.snapshot();
      const q = JSON.parse((await runShow("qdisc", ["dev", "nic0"], { nic, json: true })).stdout) as { kind: string; bytes: number; packets: number; drops: number; qlen: number; backlog: number }[];
      expect(q[0]).toMatchObject({ kind: "htb", packets: snap.head.sent_packets, bytes: snap.head.sent_bytes, qlen: snap.head.backlog_packets, backlog: snap.head.backlog_bytes });
      expect(q[0]!.drops).toBe(snap.head.dropped_packets);
      const classes = JSON.parse((await runShow("class", [], { nic, json: true })).stdout) as { handle: string; packets: number; drops: number }[];
      const leaf = (h: string) => classes.find((c) => c.handle === h)!;
      expect(leaf("1:10").packets).toBe(snap.queues[0]!.sentPackets);
      expect(leaf("1:20").packets).toBe(snap.queues[1]!.sentPackets);
      expect(leaf("1:20").drops).toBe(snap.queues[1]!.droppedPackets);
      expect(leaf("1:20").drops).toBeGreaterThan(0); // 2 Mbit/s and 20 packets of queue for 20 Mbit/s offered
      const text = (await runShow("qdisc", [], { nic, stats: true })).stdout;
      expect(text).toContain(`qdisc htb 1: root refcnt 2 r2q 10 default 0x20`);
      expect(text).toContain(` Sent ${snap.head.sent_bytes} bytes ${snap.head.sent_packets} pkt (dropped ${snap.head.dropped_packets},`);
      const filters = JSON.parse((await runShow("filter", [], { nic, json: true })).stdout) as { hits: number }[];
      expect(filters[0]!.hits).toBe(200);
      // replace keeps the queued packets (carried over)
      expect((await runQdiscAdd("replace", [], { policy, nic })).stdout).toMatch(/qdisc generation 2, \d+ register writes; \d+ queued packets carried over, \d+ dropped/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await d.stopAll();
    }
  });

  it("a qdisc with fq_codel under an htb class loads through MMIO and shows its leaf's live counters", async () => {
    const d = await daemon();
    const dir = mkdtempSync(join(tmpdir(), "kopi-qdisc-"));
    try {
      const policy = join(dir, "leaves.tc");
      writeFileSync(
        policy,
        [
          "tc qdisc add dev nic0 root handle 1: htb default 20",
          "tc class add dev nic0 parent 1: classid 1:1 htb rate 10mbit",
          "tc class add dev nic0 parent 1:1 classid 1:10 htb rate 4mbit ceil 4mbit",
          "tc class add dev nic0 parent 1:1 classid 1:20 htb rate 6mbit ceil 10mbit",
          "tc qdisc add dev nic0 parent 1:10 handle 10: fq_codel limit 200 flows 64",
          "tc filter add dev nic0 parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip dport 5432 0xffff flowid 1:10",
          "",
        ].join("\n"),
      );
      const nic = d.socketPath;
      expect((await runQdiscAdd("add", ["dev", "nic0"], { policy, nic, link: "20mbit" })).stdout).toMatch(/^added the egress qdisc: htb 1: root \(66 queues\) as qdisc generation 1/);
      const { driver } = await d.connect();
      // two flows into 1:10 at 8 Mbit/s each (1250 bytes every 1.25 ms), interleaved, for 400 ms
      await driver.inject({
        frames: Array.from({ length: 640 }, (_, i) => frame({ proto: "udp", sport: i % 2 ? 2000 : 1000, dport: 5432, size: 1250 })),
        timesUs: Array.from({ length: 640 }, (_, i) => 1_000_000 + Math.floor(i / 2) * 1250),
        dir: 1,
      });
      const qd = new QdiscDriver(driver);
      await qd.advance(100_000);
      const snap = await qd.snapshot();
      conserved(snap);
      const q = JSON.parse((await runShow("qdisc", ["dev", "nic0"], { nic, json: true })).stdout) as { kind: string; handle: string; parent?: string; packets: number; drops: number; qlen: number; new_flow_count?: number }[];
      const leaf = q.find((e) => e.kind === "fq_codel")!;
      expect(leaf).toMatchObject({ handle: "10:", parent: "1:10" });
      const leafQueues = snap.queues.slice(0, 64);
      expect(leaf.packets).toBe(leafQueues.reduce((n, x) => n + x.sentPackets, 0));
      expect(leaf.drops).toBe(leafQueues.reduce((n, x) => n + x.droppedPackets, 0));
      expect(leaf.packets + leaf.drops + leaf.qlen).toBe(640); // all 640 went into 1:10
      expect(leaf.drops).toBeGreaterThan(0); // 16 Mbit/s offered to a 4 Mbit/s class: CoDel, then the limit
      // still backlogged, so the class sent at its 4 Mbit/s from the first arrival (the link clock's 0) on: 400
      // packets of 1250 bytes a second
      expect(leaf.qlen).toBeGreaterThan(0);
      const shaped = (snap.head.now_ns / 1e9) * 400;
      expect(leaf.packets).toBeGreaterThan(shaped * 0.97);
      expect(leaf.packets).toBeLessThanOrEqual(shaped + 2);
      const used = leafQueues.map((x) => x.sentPackets).filter((n) => n > 0);
      expect(used).toHaveLength(2);
      expect(Math.abs(used[0]! - used[1]!)).toBeLessThanOrEqual(2);
      const text = (await runShow("qdisc", [], { nic, stats: true })).stdout;
      expect(text).toContain("qdisc fq_codel 10: parent 1:10 limit 200p flows 64 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 \n");
      expect(text).toMatch(/\n  maxpacket 1250 drop_overlimit \d+ new_flow_count \d+ ecn_mark 0/);
      const classes = JSON.parse((await runShow("class", [], { nic, json: true })).stdout) as { handle: string; packets: number }[];
      expect(classes.find((c) => c.handle === "1:10")!.packets).toBe(leaf.packets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await d.stopAll();
    }
  });

  it("protocol 2 carries the qdisc record; a version-1 frame is served as before, without it", async () => {
    const d = await daemon();
    try {
      const sock = createConnection(d.socketPath);
      await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
      const decoder = new FrameDecoder();
      const replies: Frame[] = [];
      sock.on("data", (b: Buffer) => {
        for (const x of decoder.push(new Uint8Array(b))) if (x.kind === "frame") replies.push(x.frame);
      });
      const ask = async (header: object, version: number) => {
        const n = replies.length;
        sock.write(encodeFrame(header, new Uint8Array(0), version));
        while (replies.length === n) await new Promise((r) => setTimeout(r, 5));
        return replies[n]!;
      };
      const hello = await ask({ id: 1, op: "hello" }, 1);
      expect(hello.version).toBe(1);
      expect(hello.header).toMatchObject({ ok: true, protocol: 1 });
      expect((await ask({ id: 2, op: "qdisc.state" }, 1)).header).toMatchObject({ ok: false, error: { code: "bad-request", message: expect.stringMatching(/needs protocol version 2/) } });
      expect((await ask({ id: 3, op: "qdisc.state" }, 2)).header).toMatchObject({ ok: true, revision: 0, state: null });
      sock.destroy();
    } finally {
      await d.stopAll();
    }
  });
});
