/**
 * Hot plug: detaching an application removes its connections, rings, queue bindings, notifications and owner
 * entry in one step, while traffic flows: every packet sees all of it or none of it, and its old 5-tuples stop
 * matching.
 */
import { describe, expect, it } from "vitest";
import { dispositionOf } from "../../fpga-model/packets.js";
import { APP_REG, appPageOffset, CONN_REG, ERR, REG } from "../../fpga-model/registers.js";
import { HOST_JSON, inbound, settle, testNic } from "./helpers.js";

describe("hot plug", () => {
  it("a detach under traffic splits the packet stream cleanly: before it steered and owned, after it neither", async () => {
    const nic = await testNic({}, 16); // the pump works 16 packets at a time, so the detach lands mid-stream
    await nic.load(
      `table filter { chain ingress { policy accept;
        tcp dport 5432 owner user bob accept comment "owned"
        tcp dport 5432 accept comment "unowned"
      } }`,
      HOST_JSON,
    );
    const bob = await nic.ctl.attach({ pid: 4242, uid: 1001, cmd: "postgres" });
    const other = await nic.ctl.attach({ pid: 5353, uid: 1002, cmd: "mysqld" });
    const conn = await nic.ctl.open({ app: bob.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.9:50000", rxSlots: 4096 });
    const listener = await nic.ctl.open({ app: bob.app, proto: "tcp", local: "*:5432", rxSlots: 4096 });
    const otherConn = await nic.ctl.open({ app: other.app, proto: "tcp", local: "10.0.0.2:3306", remote: "10.0.0.9:50001", rxSlots: 4096 });
    await nic.driver.bindQueue(7, bob.app);
    await nic.driver.setCapture(0b011); // tap ingress: every packet's owner as the NIC saw it
    const dev = nic.host.device;
    const qmemFree = dev.read32(REG.QMEM_FREE);
    const n = 1500;
    const frames = Array.from({ length: n }, (_, i) => (i % 3 === 2 ? inbound("tcp", "10.0.0.9", 50001, 3306) : i % 3 === 1 ? inbound("tcp", "10.0.0.77", 60000, 5432) : inbound("tcp", "10.0.0.9", 50000, 5432)));
    const done = nic.transport.inject({ frames });
    // detach after a few slices of the pump have run
    for (let i = 0; i < 12; i++) await new Promise((r) => setImmediate(r));
    expect(dev.pending).toBeGreaterThan(0);
    expect(dev.pending).toBeLessThan(n);
    const detached = await nic.ctl.detach(bob.app);
    expect(detached.connections).toBe(2);
    const outcome = await done;
    expect([...outcome.flags].every((f) => dispositionOf(f) === "accepted")).toBe(true);

    // the capture tap recorded each packet's owner: bob's packets are owned up to one point, never after it
    const records = await nic.transport.captureRead(0, 4096);
    expect(records).toHaveLength(n);
    const bobOwned = records.map((r, i) => (i % 3 === 2 ? undefined : r.app === bob.app));
    const firstUnowned = bobOwned.findIndex((o) => o === false);
    expect(firstUnowned).toBeGreaterThan(0);
    expect(bobOwned.slice(firstUnowned).every((o) => o !== true)).toBe(true);
    expect(records.filter((_, i) => i % 3 === 2).every((r) => r.app === other.app)).toBe(true);

    // policy counters agree with steering: owned ⇔ steered into bob's rings
    const owned = bobOwned.filter((o) => o === true).length;
    const l = await nic.ctl.list();
    const otherSteered = n / 3;
    expect(l.stats.steered).toBe(owned + otherSteered);
    expect(l.stats.steer_fallback).toBe(n - owned - otherSteered);
    const state = (await nic.transport.getState()).state!;
    const counters = await nic.policy.counters(state);
    const [ownedRule, unownedRule] = state.counters!.rules.ingress!;
    expect(counters[ownedRule!]!.packets).toBe(BigInt(owned));
    expect(counters[unownedRule!]!.packets).toBe(BigInt((2 * n) / 3 - owned));

    // nothing of bob is left on the NIC
    expect(dev.read32(conn.page + CONN_REG.CP_RX_HEAD)).toBe(0xffffffff);
    expect(dev.read32(REG.ERROR_CODE)).toBe(ERR.BAD_OFFSET);
    expect(() => dev.connReceive(conn.conn, 0, 1)).toThrow(/no connection/);
    expect(() => dev.connReceive(listener.conn, 0, 1)).toThrow(/no connection/);
    dev.write32(REG.APPT_SELECT, bob.app);
    expect(dev.read32(REG.APPT_STATE)).toBe(0);
    expect(dev.read32(REG.APPT_COUNT)).toBe(1);
    expect(dev.read32(REG.CONN_COUNT)).toBe(1);
    dev.write32(REG.QUEUE_SELECT, 7);
    expect(dev.read32(REG.QUEUE_APP)).toBe(0);
    expect(dev.read32(appPageOffset(bob.app) + APP_REG.APP_NOTIFY_HEAD)).toBe(0);
    expect(dev.read32(appPageOffset(bob.app) + APP_REG.APP_ATTACHED)).toBe(0);
    expect(dev.read32(REG.QMEM_FREE)).toBe(qmemFree + 2 * (4096 + 64) * 2048);
    // the other application never noticed
    expect(dev.connReceive(otherConn.conn, 0, 4096)).toHaveLength(n / 3);

    // its old 5-tuples stop matching: the next packets fall back, unowned
    await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 50000, 5432)] });
    const after = await nic.ctl.list();
    expect(after.stats.steer_fallback).toBe(l.stats.steer_fallback + 1);
    expect((await nic.transport.captureRead(n, 10))[0]!.app).toBeUndefined();

    // attaching again starts from a clean page, even with the same id
    const again = await nic.ctl.attach({ pid: 4243, uid: 1001, cmd: "postgres" });
    expect(again.app).toBe(bob.app);
    expect(dev.read32(appPageOffset(again.app) + APP_REG.APP_NOTIFY_HEAD)).toBe(0);
    const reopened = await nic.ctl.open({ app: again.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.9:50000" });
    await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 50000, 5432)] });
    expect(dev.connReceive(reopened.conn, 0, 10)).toHaveLength(1);
    await settle();
  });

  it("detach wakes the application's sleepers and closing a connection fails its waits", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const c = await nic.ctl.open({ app: a.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
    const os = nic.app(a.app);
    const sleeping = os.wait(os.pop(c.conn), 10_000);
    await settle();
    expect(nic.service.sleeping).toBe(1);
    await nic.ctl.detach(a.app);
    await expect(sleeping).rejects.toThrow(/detached/);
    expect(nic.service.sleeping).toBe(0);
    expect(nic.service.counts.detached).toBe(1);
  });
});
