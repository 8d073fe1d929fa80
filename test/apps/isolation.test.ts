/**
 * Isolation: an application reaches only its own page and its own connections' pages and rings. Writing
 * anywhere else, or transmitting a 5-tuple that is not its connection's (another connection's above all), is
 * refused and counted — and what it may send still passes the egress policy.
 */
import { describe, expect, it } from "vitest";
import { KERNEL } from "../../fpga-model/nic-device.js";
import { APP_REG, appPageOffset, CONN_REG, connPageOffset, ERR, REG, statOffset } from "../../fpga-model/registers.js";
import { DaemonError, SocketTransport } from "../../hostctl/daemon/client.js";
import { LocalTransport } from "../../hostctl/daemon/local-transport.js";
import { channelOf, localChannel } from "../../hostctl/apps/channel.js";
import { AppControl } from "../../hostctl/apps/control.js";
import { LibOS } from "../../hostctl/apps/libos.js";
import { Transaction } from "../../hostctl/driver/transaction.js";
import { encodePackets } from "../../hostctl/daemon/protocol.js";
import { daemon } from "../nic/helpers.js";
import { HOST_JSON, inbound, ipFrame, outbound, testNic } from "./helpers.js";

async function write(t: LocalTransport | SocketTransport, offset: number, value: number) {
  const txn = new Transaction();
  txn.write(offset, value);
  return t.transact(txn);
}

async function read(t: LocalTransport | SocketTransport, offset: number) {
  const txn = new Transaction();
  txn.read(offset);
  return t.transact(txn);
}

describe("isolation of applications", () => {
  it("refuses and counts accesses outside an application's own pages, and changes nothing", async () => {
    const nic = await testNic();
    await nic.load("table filter { chain ingress { policy accept; tcp dport 22 drop } }");
    const bob = await nic.ctl.attach({ pid: 10, uid: 1001, cmd: "postgres" });
    const eve = await nic.ctl.attach({ pid: 20, uid: 1003, cmd: "evil" });
    const bobConn = await nic.ctl.open({ app: bob.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.9:50000" });
    const eveConn = await nic.ctl.open({ app: eve.app, proto: "tcp", local: "10.0.0.2:6000", remote: "10.0.0.9:50001" });
    const dev = nic.host.device;
    const eveT = new LocalTransport(nic.host, eve.app);
    const gen = dev.read32(REG.ACTIVE_GEN);
    const attempts: [number, number][] = [
      [REG.COMMIT, gen], // a policy register
      [REG.TBL_CTRL, 3], // clear a table
      [REG.APPT_CTRL, 2], // detach someone
      [REG.CONN_CTRL, 1],
      [appPageOffset(bob.app) + APP_REG.APP_NOTIFY_TAIL, 0], // another application's page
      [bobConn.page + CONN_REG.CP_RX_TAIL, 0], // another application's connection page
      [bobConn.page + CONN_REG.CP_TX_TAIL, 1], // … its doorbell
      [connPageOffset(4000) + CONN_REG.CP_TX_TAIL, 1], // a connection that is not open
    ];
    for (const [offset, value] of attempts) {
      const r = await write(eveT, offset, value);
      expect(r.error, `write 0x${offset.toString(16)}`).toMatchObject({ code: ERR.PRIVILEGE });
    }
    const peek = await read(eveT, bobConn.page + CONN_REG.CP_RX_HEAD);
    expect(peek.error).toMatchObject({ code: ERR.PRIVILEGE });
    expect(peek.reads).toEqual([0xffffffff]);
    // its own page and its own connection's page work
    expect((await read(eveT, eveConn.page + CONN_REG.CP_TX_SLOTS)).reads).toEqual([64]);
    expect((await read(eveT, appPageOffset(eve.app) + APP_REG.APP_VIOLATIONS)).reads).toEqual([attempts.length + 1]);
    dev.write32(REG.STATS_LATCH, 1);
    expect(dev.read32(statOffset("privilege_violations"))).toBe(attempts.length + 1);
    expect(dev.read32(REG.ACTIVE_GEN, KERNEL)).toBe(gen);
    expect(dev.read32(REG.APPT_COUNT)).toBe(2);
    expect(dev.read32(REG.CONN_COUNT)).toBe(2);
    // the kernel-only requests and other applications' rings are out of reach too
    const eveOps = localChannel(nic.host, { role: "app", app: eve.app });
    await expect(eveOps.call("app.detach", { app: bob.app })).rejects.toMatchObject({ code: "not-allowed" });
    await expect(eveOps.call("conn.open", { app: eve.app, proto: "tcp", local: "*:22" })).rejects.toMatchObject({ code: "not-allowed" });
    await expect(eveOps.call("conn.read", { conn: bobConn.conn })).rejects.toMatchObject({ code: "not-allowed" });
    await expect(eveOps.call("conn.push", { conn: bobConn.conn, count: 1 }, encodePackets([outbound("tcp", 5432, "10.0.0.9", 50000)]))).rejects.toMatchObject({ code: "not-allowed" });
    await expect(eveOps.call("app.wait", { app: bob.app, head: 0, drops: 0 })).rejects.toMatchObject({ code: "not-allowed" });
    expect(nic.service.counts.memoryViolations).toBe(2);
    expect(dev.connReceive(bobConn.conn, 0, 10)).toEqual([]);
  });

  it("refuses and counts forged 5-tuples on transmit; what the application may send is still filtered", async () => {
    const nic = await testNic();
    await nic.load(
      `table filter {
        chain egress { policy accept;
          tcp sport 5432 owner user bob accept
          tcp sport 5432 counter drop
          udp dport 53 owner user mallory counter drop
        }
      }`,
      HOST_JSON,
    );
    const bob = await nic.ctl.attach({ pid: 10, uid: 1001, cmd: "postgres" });
    const eve = await nic.ctl.attach({ pid: 20, uid: 1003, cmd: "postgres" });
    await nic.ctl.open({ app: bob.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.9:50000" });
    const eveConn = await nic.ctl.open({ app: eve.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.66:40000" });
    const eveRaw = await nic.ctl.open({ app: eve.app, kind: "raw" });
    await nic.driver.setCapture(0b101); // tap egress: what reaches the wire side is visible
    const eveOs = nic.app(eve.app);
    const bobTuple = outbound("tcp", 5432, "10.0.0.9", 50000);
    // on her connection: bob's tuple (forged), a foreign source port (forged), an empty descriptor, and her own tuple
    await eveOs.wait(await eveOs.push(eveConn.conn, [bobTuple, outbound("tcp", 5433, "10.0.0.66", 40000), new Uint8Array(0), outbound("tcp", 5432, "10.0.0.66", 40000)]), 2000);
    // on her raw socket: bob's tuple again (forged), an ARP request and a DNS query (hers to send, the policy drops it)
    const arp = new Uint8Array(60);
    arp.set([255, 255, 255, 255, 255, 255, 2, 0x66, 0x66, 0x66, 0x66, 0x66, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 0);
    const dns = ipFrame({ proto: "udp", src: "10.0.0.2", sport: 40053, dst: "8.8.8.8", dport: 53, inbound: false, payload: "q" });
    await eveOs.wait(await eveOs.push(eveRaw.conn, [bobTuple, arp, dns]), 2000);
    const l = await nic.ctl.list();
    expect(l.connections.find((c) => c.conn === eveConn.conn)!.tx).toMatchObject({ refused: 3, sent: 0, dropped: 1 });
    expect(l.connections.find((c) => c.conn === eveRaw.conn)!.tx).toMatchObject({ refused: 1, sent: 1, dropped: 1 });
    expect(l.stats).toMatchObject({ tx_refused: 4, tx_packets: 3, tx_sent: 1 });
    // refused descriptors never reached the overlay or the capture tap: only the 3 judged packets did
    const stats = await nic.driver.stats();
    expect(stats.rx_packets).toBe(3n);
    const cap = await nic.transport.captureRead(0, 100);
    expect(cap.map((r) => r.app)).toEqual([eve.app, eve.app, eve.app]);
    expect(cap.every((r) => r.pid === 20 && r.uid === 1003)).toBe(true);
    // the application saw only its own counters move; the rings keep working
    expect((await read(new LocalTransport(nic.host, eve.app), eveConn.page + CONN_REG.CP_TX_HEAD)).reads).toEqual([4]);
    // an ingress packet for bob's tuple still goes to bob, not to the forger
    await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 50000, 5432)] });
    expect(nic.host.device.connReceive(eveConn.conn, 0, 10)).toEqual([]);
  });

  it("an application's socket to the daemon reaches only its own queues", async () => {
    const d = await daemon();
    try {
      const { transport } = await d.connect();
      const ctl = new AppControl(transport);
      const bob = await ctl.attach({ pid: 10, uid: 1001, cmd: "postgres" });
      const eve = await ctl.attach({ pid: 20, uid: 1003, cmd: "evil" });
      const bobConn = await ctl.open({ app: bob.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
      const eveOs = await LibOS.connect(d.socketPath, eve.app);
      try {
        await expect(channelOf(eveOs.transport).call("conn.read", { conn: bobConn.conn })).rejects.toBeInstanceOf(DaemonError);
        await expect(channelOf(eveOs.transport).call("app.list")).rejects.toMatchObject({ code: "not-allowed" });
        const r = await write(eveOs.transport as SocketTransport, REG.COMMIT, 1);
        expect(r.error).toMatchObject({ code: ERR.PRIVILEGE });
        // a pop on someone else's queue fails cleanly instead of sleeping
        await expect(eveOs.wait(eveOs.pop(bobConn.conn), 1000)).rejects.toThrow(/not a connection of application/);
        const l = await ctl.list();
        expect(l.apps.find((a) => a.app === eve.app)!.violations).toBeGreaterThanOrEqual(2);
      } finally {
        await eveOs.close();
      }
    } finally {
      await d.stopAll();
    }
  });
});
