/**
 * Capacities and exhaustion (hostctl/apps/README.md): the application table, the connection table and queue
 * memory refuse at setup with a clear error and change nothing; a full receive ring drops and counts; a full
 * transmit ring takes fewer descriptors and the queue API waits for room.
 */
import { describe, expect, it } from "vitest";
import { dispositionOf } from "../../fpga-model/packets.js";
import { ERR, REG } from "../../fpga-model/registers.js";
import { SLOT_BYTES } from "../../fpga-model/rings.js";
import { inbound, outbound, testNic } from "./helpers.js";

describe("capacities", () => {
  it("the application table holds 63 applications; the 64th is refused", async () => {
    const nic = await testNic();
    for (let i = 1; i <= 63; i++) expect((await nic.ctl.attach({ pid: i, uid: i, cmd: `p${i}` })).app).toBe(i);
    await expect(nic.ctl.attach({ pid: 64, uid: 64, cmd: "p64" })).rejects.toThrow("the NIC's application table is full: it holds 63 applications");
    expect(nic.host.device.read32(REG.APPT_COUNT)).toBe(63);
    expect(nic.host.device.read32(REG.ERROR_CODE)).toBe(ERR.APP_TABLE_FULL);
    await expect(nic.ctl.attach({ pid: 3, uid: 1, cmd: "dup" })).rejects.toThrow("pid 3 is already attached as application 3 (p3)");
  });

  it("a full connection table refuses the next connection and changes nothing", async () => {
    const nic = await testNic({ connections: 4 });
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    for (let p = 1; p <= 4; p++) await nic.ctl.open({ app: a.app, proto: "tcp", local: `*:${p}` });
    const free = nic.host.device.read32(REG.QMEM_FREE);
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "*:5" })).rejects.toThrow("the NIC's connection table is full: it holds 4 connections");
    expect(nic.host.device.read32(REG.CONN_COUNT)).toBe(4);
    expect(nic.host.device.read32(REG.QMEM_FREE)).toBe(free);
    // the refused key was never entered: its traffic falls back
    await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 1, 5)] });
    expect((await nic.ctl.list()).stats.steer_fallback).toBe(1);
    // closing one makes room
    await nic.ctl.close(1);
    expect((await nic.ctl.open({ app: a.app, proto: "tcp", local: "*:5" })).conn).toBe(1);
  });

  it("queue memory runs out before the table does: refused with the bytes needed and free", async () => {
    const nic = await testNic({ queueMemoryBytes: 10 * 64 * SLOT_BYTES });
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    for (let p = 1; p <= 5; p++) await nic.ctl.open({ app: a.app, proto: "udp", local: `*:${p}` }); // 64 + 64 descriptors each
    await expect(nic.ctl.open({ app: a.app, proto: "udp", local: "*:6" })).rejects.toThrow(`not enough queue memory for the connection's rings: they need ${128 * SLOT_BYTES} bytes, 0 bytes are free`);
    await nic.ctl.close(5);
    await nic.ctl.open({ app: a.app, proto: "udp", local: "*:6", rxSlots: 32, txSlots: 32 });
    await nic.ctl.open({ app: a.app, proto: "udp", local: "*:7", rxSlots: 32, txSlots: 32 });
    await expect(nic.ctl.open({ app: a.app, proto: "udp", local: "*:8", rxSlots: 2, txSlots: 2 })).rejects.toThrow(/need 8192 bytes, 0 bytes are free/);
    const l = await nic.ctl.list();
    expect(l.capacity).toMatchObject({ queueMemory: 10 * 64 * SLOT_BYTES, queueMemoryFree: 0, connectionsUsed: 6 });
  });

  it("refuses malformed connections with the reason", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    await expect(nic.ctl.open({ app: 9, proto: "tcp", local: "*:80" })).rejects.toThrow("application 9 is not attached");
    await expect(nic.ctl.open({ app: a.app, proto: "icmp", local: "*:80" })).rejects.toThrow("proto must be tcp, udp or sctp, not 'icmp'");
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "10.0.0.2:80", remote: "*:9" })).rejects.toThrow("remote: '*:9' needs an address");
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "10.0.0.2:80", remote: "[2001:db8::1]:9" })).rejects.toThrow("the local and remote addresses are of different families");
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "*:70000" })).rejects.toThrow("port 70000 in '*:70000' is not 1 … 65535");
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "*:80", rxSlots: 100 })).rejects.toThrow("rxSlots must be a power of two from 2 to 4096");
    await nic.ctl.open({ app: a.app, proto: "tcp", local: "*:80" });
    await expect(nic.ctl.open({ app: a.app, proto: "tcp", local: "0.0.0.0:80" })).rejects.toThrow("connection 1 already has this address (address in use)");
    await expect(nic.ctl.attach({ pid: 2, uid: 1, cmd: "x", cgroup: "system.slice" })).rejects.toThrow("cgroup must be a path starting with /");
    expect(nic.host.device.read32(REG.CONN_COUNT)).toBe(1);
  });

  it("a full receive ring drops and counts; the packet's outcome says dropped", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const c = await nic.ctl.open({ app: a.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353", rxSlots: 4 });
    const o = await nic.transport.inject({ frames: Array.from({ length: 6 }, (_, i) => inbound("udp", "10.0.0.7", 5353, 53, String(i))) });
    expect([...o.flags].map(dispositionOf)).toEqual(["accepted", "accepted", "accepted", "accepted", "dropped", "dropped"]);
    const l = await nic.ctl.list();
    expect(l.connections[0]!.rx).toMatchObject({ packets: 4, drops: 2, head: 4, tail: 0 });
    expect(l.stats).toMatchObject({ steered: 4, ring_overflow: 2 });
    const stats = await nic.driver.stats();
    expect(stats.rx_packets).toBe(stats.accepted + stats.dropped + stats.queued + stats.mirrored_only);
    expect(stats.dropped).toBe(2n);
    // the application reads, the ring has room again
    const os = nic.app(a.app);
    for (let i = 0; i < 4; i++) await os.wait(os.pop(c.conn), 1000);
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 5353, 53, "again")] });
    expect((await nic.ctl.list()).connections[0]!.rx).toMatchObject({ packets: 5, drops: 2 });
  });

  it("a full transmit ring takes what fits; the queue API waits for room and sends everything", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const c = await nic.ctl.open({ app: a.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353", txSlots: 2 });
    const frames = Array.from({ length: 7 }, (_, i) => outbound("udp", 53, "10.0.0.7", 5353, String(i)));
    // straight into host memory: two descriptors free, two taken
    expect(nic.host.device.connTransmitWrite(c.conn, 0, frames)).toBe(2);
    // the queue API: posts in rounds as the NIC completes descriptors
    const fresh = await testNic();
    const b = await fresh.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const d = await fresh.ctl.open({ app: b.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353", txSlots: 2 });
    const os = fresh.app(b.app);
    const qt = await os.push(d.conn, frames, 5000);
    expect(await os.wait(qt, 5000)).toEqual({ opcode: "push", qd: d.conn, count: 7 });
    expect((await fresh.ctl.list()).connections[0]!.tx).toMatchObject({ sent: 7, refused: 0, head: 7, tail: 7 });
  });
});
