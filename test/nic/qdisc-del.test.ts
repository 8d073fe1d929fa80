/**
 * `hostctl qdisc del` (tc's `qdisc del dev DEV root`): the NIC's egress qdisc removed through the same MMIO
 * function-change path add and replace take (EG_CTRL NONE, EG_COMMIT). The queued packets are dropped and
 * counted, egress packets then pass unscheduled (the NIC's default), and deleting when there is nothing to
 * delete fails as tc does — exit 2, nothing changed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileQos } from "../../compiler/qos/compile.js";
import { EG_CMD, EG_STATE_NONE, ERR, PROG_STATE, REG } from "../../fpga-model/registers.js";
import { bundleOf } from "../../hostctl/qos/bundle.js";
import { CliError } from "../../hostctl/errors.js";
import { qdiscImageOf, QdiscDriver, type EgressSnapshot } from "../../hostctl/driver/qdisc-driver.js";
import { Transaction } from "../../hostctl/driver/transaction.js";
import { delWords, runQdiscAdd, runQdiscDel, runShow } from "../../hostctl/commands/qdisc.js";
import { daemon, frame, localNic } from "./helpers.js";

const TBF = "qos dev nic0 {\n  qdisc tbf root rate 2mbit burst 3000 limit 30000\n}\n";
const HTB = `qos dev nic0 {
  qdisc htb handle 1: root default 20
  class 1:1 htb rate 10mbit
  class 1:10 parent 1:1 htb rate 8mbit ceil 10mbit prio 0
  class 1:20 parent 1:1 htb rate 2mbit ceil 2mbit prio 1
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

async function cliError(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

describe("removing the egress qdisc through MMIO", () => {
  it("EG_CTRL NONE + EG_COMMIT: generation 0, the queue dropped and counted, packets pass unscheduled; rollback brings it back", async () => {
    const { host, driver } = await localNic();
    const qd = new QdiscDriver(driver);
    await qd.setLinkRate(10_000);
    const img = image(TBF);
    await qd.load(img, [], 0);
    await driver.inject(egress(30, 1_000_000, 0));
    const before = await qd.snapshot();
    // tbf's limit of 30,000 bytes holds 24 of them; one is on the wire, five were refused
    expect(before.head).toMatchObject({ generation: 1, enqueued: 30, sent_packets: 1, backlog_packets: 24, dropped_packets: 5 });
    const r = await qd.remove(1, undefined);
    expect(r).toMatchObject({ droppedPackets: 24, droppedBytes: 24 * 1250 });
    expect(host.device.read32(REG.EG_GEN)).toBe(0);
    expect(host.device.read32(REG.EG_CRC)).toBe(0);
    expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.PREVIOUS); // the removed qdisc, kept for rollback
    expect(host.device.read32(REG.EG_PREVIOUS_GEN)).toBe(1);
    let s = await qd.snapshot();
    expect(s.head).toMatchObject({ generation: 0, backlog_packets: 0, dropped_packets: 29, dropped_bytes: 29 * 1250, migration_drops: 24, migrated: 0, queues: 0 });
    conserved(s);
    // the NIC's default: no scheduler, packets go straight to the link
    await driver.inject(egress(10, 2_000_000, 0));
    s = await qd.snapshot();
    expect(s.head).toMatchObject({ enqueued: 30, passed_packets: 10, passed_bytes: 12_500, backlog_packets: 0 });
    // EG_ROLLBACK against generation 0 reactivates the removed qdisc, with an empty queue
    expect(await qd.rollback(0)).toBe(2);
    expect(host.device.read32(REG.EG_CRC)).not.toBe(0);
    await driver.inject(egress(5, 3_000_000, 0));
    s = await qd.snapshot();
    expect(s.head).toMatchObject({ generation: 2, enqueued: 35, backlog_packets: 4, passed_packets: 10 });
    conserved(s);
  });

  it("refuses a removal with no qdisc active (NO_PROGRAM), a stale one, and NONE over a loaded shadow slot — changing nothing", async () => {
    const { host, driver } = await localNic();
    const qd = new QdiscDriver(driver);
    await expect(qd.remove(0)).rejects.toThrow(/no qdisc is active on the NIC's egress link: there is none to remove/);
    expect(host.device.read32(REG.ERROR_CODE)).toBe(ERR.NO_PROGRAM);
    expect(host.device.read32(REG.EG_GEN)).toBe(0);
    expect(host.device.read32(REG.EG_STATE)).toBe(EG_STATE_NONE); // staged, never committed
    await qd.load(image(TBF), [], 0);
    await driver.inject(egress(8, 0, 0));
    const snap = await qd.snapshot();
    await expect(qd.remove(7)).rejects.toThrow(/active qdisc generation is 1, not 7/);
    expect(host.device.read32(REG.EG_GEN)).toBe(1);
    expect((await qd.snapshot()).head).toEqual({ ...snap.head });
    // NONE needs an empty (or rejected) shadow slot, as an upload does
    const up = new Transaction();
    QdiscDriver.addUpload(up, image(TBF));
    up.write(REG.EG_CTRL, EG_CMD.NONE);
    await expect(driver.run(up)).rejects.toThrow(/shadow slot is busy/);
    expect(host.device.read32(REG.EG_STATE)).toBe(PROG_STATE.VERIFIED);
    expect(host.device.read32(REG.EG_GEN)).toBe(1);
  });
});

describe("hostctl qdisc del", () => {
  it("reads tc's words: dev NAME, root, handle H, KIND; refuses what tc refuses", () => {
    expect(delWords(["dev", "nic0", "root"])).toEqual({ dev: "nic0" });
    expect(delWords(["nic0"])).toEqual({ dev: "nic0" });
    expect(delWords([])).toEqual({});
    expect(delWords(["dev", "nic0", "root", "handle", "1:", "htb"])).toEqual({ dev: "nic0", handle: 0x10000, kind: "htb" });
    expect(delWords(["root", "handle", "8001"])).toEqual({ handle: 0x80010000 });
    expect(() => delWords(["dev", "nic0", "root", "root"])).toThrow('"root" is duplicate parent ID');
    expect(() => delWords(["dev", "nic0", "parent", "1:1"])).toThrow(/only the root qdisc can be deleted/);
    expect(() => delWords(["dev", "nic0", "root", "handle"])).toThrow(/handle needs a qdisc handle/);
    expect(() => delWords(["dev", "nic0", "root", "handle", "zz"])).toThrow(/handle: 'zz' is not a qdisc handle/);
    expect(() => delWords(["dev", "nic0", "root", "handle", "1:10"])).toThrow(/'1:10' is not a qdisc handle/);
    expect(() => delWords(["dev", "nic0", "bogus"])).toThrow(/unexpected 'bogus' \(qdisc del takes \[dev NAME\] \[root\] \[handle H\] \[KIND\]\)/);
    expect(() => delWords(["dev"])).toThrow(/dev needs a device name/);
  });

  it("through the daemon: deletes the running qdisc, drops and counts its queue; errors as tc's leave the qdisc alone", async () => {
    const d = await daemon();
    const dir = mkdtempSync(join(tmpdir(), "kopi-qdisc-del-"));
    try {
      const policy = join(dir, "htb.qos");
      writeFileSync(policy, HTB);
      const nic = d.socketPath;
      // nothing to delete: tc's message, exit 2
      let e = await cliError(runQdiscDel(["dev", "nic0", "root"], { nic }));
      expect(e.message).toMatch(/^Cannot delete qdisc with handle of zero/);
      expect(e.exitCode).toBe(2);
      e = await cliError(runQdiscDel(["dev", "nic0", "root", "handle", "1:"], { nic }));
      expect(e.message).toMatch(/^Invalid handle/);
      await runQdiscAdd("add", ["dev", "nic0", "root"], { policy, nic, link: "10mbit" });
      const { driver } = await d.connect();
      const qd = new QdiscDriver(driver);
      await driver.inject(egress(60, 5_000_000, 0, 5432));
      const before = await qd.snapshot();
      expect(before.head.backlog_packets).toBeGreaterThan(0);
      // wrong device, handle or kind: refused, the qdisc still runs with its queue
      for (const [words, msg] of [
        [["dev", "eth0", "root"], /^Cannot find device "eth0" \(the NIC's egress link is nic0\)/],
        [["dev", "nic0", "root", "handle", "2:"], /^Invalid handle: the NIC's qdisc is 1:, not 2:/],
        [["dev", "nic0", "root", "tbf"], /^Invalid qdisc name: must match existing qdisc \(the NIC runs htb, not tbf\)/],
      ] as const) {
        e = await cliError(runQdiscDel([...words], { nic }));
        expect(e.message).toMatch(msg);
        expect(e.exitCode).toBe(2);
        expect((await qd.snapshot()).head).toEqual(before.head);
      }
      const out = (await runQdiscDel(["dev", "nic0", "root", "handle", "1:", "htb"], { nic })).stdout;
      expect(out).toBe(`deleted the egress qdisc: htb 1: root (${policy}); ${before.head.backlog_packets} queued packets (${before.head.backlog_bytes} bytes) dropped; egress packets leave unscheduled\n`);
      const after = await qd.snapshot();
      expect(after.head).toMatchObject({ generation: 0, backlog_packets: 0, dropped_packets: before.head.dropped_packets + before.head.backlog_packets, migration_drops: before.head.backlog_packets });
      conserved(after);
      const show = await runShow("qdisc", ["dev", "nic0"], { nic });
      expect(show.stdout).toBe("");
      expect(show.stderr).toMatch(/^no qdisc on the NIC's egress link/);
      await expect((await d.connect()).transport.getQdiscState()).resolves.toMatchObject({ state: null });
      // deleted twice: tc's error; add works again (it was refused while a qdisc ran)
      e = await cliError(runQdiscDel([], { nic }));
      expect(e.message).toMatch(/^Cannot delete qdisc with handle of zero/);
      expect((await runQdiscAdd("add", ["nic0"], { policy, nic })).stdout).toMatch(/^added the egress qdisc: htb 1: root \(3 queues\) as qdisc generation 2,/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await d.stopAll();
    }
  });

  it("the CLI: tc's spelling, the message on stderr and exit status 2 when there is no qdisc", () => {
    const root = new URL("../..", import.meta.url).pathname;
    const r = spawnSync(join(root, "node_modules", ".bin", "tsx"), [join(root, "hostctl", "cli.ts"), "qdisc", "del", "dev", "nic0", "root", "--nic", "local"], { encoding: "utf8", cwd: root });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("hostctl: Cannot delete qdisc with handle of zero: the NIC's egress link runs no qdisc (egress packets leave unscheduled)\n");
  });
});
