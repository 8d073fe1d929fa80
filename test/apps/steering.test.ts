/**
 * Steering: every packet of a connection lands in that connection's receive ring, in order; a listener takes
 * what no exact connection matches; unmatched traffic goes to the fallback (the kernel's stack), counted and
 * unowned; owner matches see the connection table in both directions.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dispositionOf } from "../../fpga-model/packets.js";
import { HOST_JSON, inbound, ipFrame, outbound, payloadOf, settle, testNic } from "./helpers.js";

describe("steering into connection rings", () => {
  it("delivers each connection's packets to its own ring in order, and the rest to the fallback", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 100, uid: 1001, cmd: "web" });
    const b = await nic.ctl.attach({ pid: 200, uid: 1002, cmd: "db" });
    const c1 = await nic.ctl.open({ app: a.app, proto: "tcp", local: "10.0.0.2:80", remote: "10.0.0.9:40001" });
    const c2 = await nic.ctl.open({ app: a.app, proto: "tcp", local: "10.0.0.2:80", remote: "10.0.0.9:40002" });
    const c3 = await nic.ctl.open({ app: b.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
    const listener = await nic.ctl.open({ app: a.app, proto: "tcp", local: "*:80" });
    const frames: Uint8Array[] = [];
    const expected = new Map<number, string[]>([[c1.conn, []], [c2.conn, []], [c3.conn, []], [listener.conn, []]]);
    let fallback = 0;
    for (let i = 0; i < 300; i++) {
      const which = i % 5;
      const tag = `p${i}`;
      if (which === 0) (frames.push(inbound("tcp", "10.0.0.9", 40001, 80, tag)), expected.get(c1.conn)!.push(tag));
      else if (which === 1) (frames.push(inbound("tcp", "10.0.0.9", 40002, 80, tag)), expected.get(c2.conn)!.push(tag));
      else if (which === 2) (frames.push(inbound("udp", "10.0.0.7", 5353, 53, tag)), expected.get(c3.conn)!.push(tag));
      else if (which === 3) (frames.push(inbound("tcp", "10.0.0.33", 50000 + i, 80, tag)), expected.get(listener.conn)!.push(tag));
      else (frames.push(inbound("udp", "10.0.0.9", 40001, 9999, tag)), fallback++);
    }
    // in several batches, so steering runs across pump slices
    for (let at = 0; at < frames.length; at += 64) await nic.transport.inject({ frames: frames.slice(at, at + 64) });
    for (const [conn, tags] of expected) {
      const got = nic.host.device.connReceive(conn, 0, 1000).map((r) => payloadOf(r.data));
      expect(got).toEqual(tags);
    }
    const l = await nic.ctl.list();
    expect(l.stats.steered).toBe(300 - fallback);
    expect(l.stats.steer_fallback).toBe(fallback);
    expect(l.connections.find((c) => c.conn === c3.conn)!.rx.packets).toBe(60);
  });

  it("steers IPv6 connections and keeps IPv4 and IPv6 keys apart", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 100, uid: 1001, cmd: "web" });
    const v6 = await nic.ctl.open({ app: a.app, proto: "udp", local: "[2001:db8::2]:53", remote: "[2001:db8::9]:5353" });
    const f = new Uint8Array(62 + 4);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 9, 0x86, 0xdd], 0);
    f[14] = 0x60;
    f[19] = 12; // payload length
    f[20] = 17;
    f[21] = 64;
    f.set([0x20, 0x01, 0x0d, 0xb8], 22);
    f[37] = 9;
    f.set([0x20, 0x01, 0x0d, 0xb8], 38);
    f[53] = 2;
    f.set([0x14, 0xe9, 0x00, 0x35, 0, 12], 54);
    const o = await nic.transport.inject({ frames: [f, inbound("udp", "0.0.0.9", 5353, 53)] });
    expect(nic.host.device.connReceive(v6.conn, 0, 10)).toHaveLength(1);
    expect(dispositionOf(o.flags[1]!)).toBe("accepted");
    expect((await nic.ctl.list()).stats.steer_fallback).toBe(1);
  });

  it("fills owner.* from the connection table in both directions", async () => {
    const nic = await testNic();
    await nic.load(
      `table filter {
        chain ingress { policy accept; tcp dport 5432 owner user bob cmd postgres accept; tcp dport 5432 drop }
        chain egress { policy accept; tcp sport 5432 owner user bob cmd postgres accept; tcp sport 5432 drop }
      }`,
      HOST_JSON,
    );
    const bob = await nic.ctl.attach({ pid: 4242, uid: 1001, cmd: "postgres" });
    const eve = await nic.ctl.attach({ pid: 6666, uid: 1003, cmd: "postgres" });
    await nic.ctl.open({ app: bob.app, proto: "tcp", local: "*:5432" });
    const eveConn = await nic.ctl.open({ app: eve.app, proto: "tcp", local: "10.0.0.2:5432", remote: "10.0.0.66:40000" });
    const o = await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 50000, 5432), inbound("tcp", "10.0.0.66", 40000, 5432)] });
    expect([...o.flags].map(dispositionOf)).toEqual(["accepted", "dropped"]);
    // egress as the kernel's own stack would send it: the owner is looked up by the source end
    const e = await nic.transport.inject({ dir: 1, frames: [outbound("tcp", 5432, "10.0.0.9", 50000), outbound("tcp", 5432, "10.0.0.66", 40000)] });
    expect([...e.flags].map(dispositionOf)).toEqual(["accepted", "dropped"]);
    // egress from eve's own ring: the owner is the ring's application, and the policy drops it
    const libos = nic.app(eve.app);
    await libos.wait(await libos.push(eveConn.conn, [outbound("tcp", 5432, "10.0.0.66", 40000)]), 2000);
    const l = await nic.ctl.list();
    expect(l.connections.find((c) => c.conn === eveConn.conn)!.tx).toMatchObject({ sent: 0, dropped: 1, refused: 0 });
  });

  it("a cmd match follows the policy's name ids across reloads that renumber them", async () => {
    const nic = await testNic();
    const ruleset = (names: string[]) => `table filter { chain ingress { policy drop; ${names.map((n, i) => `tcp dport ${1000 + i} owner cmd ${n} accept`).join("; ")} } }`;
    await nic.load(ruleset(["postgres", "mysqld"]));
    const pg = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "postgres" });
    await nic.ctl.open({ app: pg.app, proto: "tcp", local: "*:1000" });
    await nic.ctl.open({ app: pg.app, proto: "tcp", local: "*:1001" });
    const probe = async () => [...(await nic.transport.inject({ frames: [inbound("tcp", "10.0.0.9", 1, 1000), inbound("tcp", "10.0.0.9", 1, 1001)] })).flags].map(dispositionOf);
    expect(await probe()).toEqual(["accepted", "dropped"]);
    // now postgres is the second name the policy interns: its id changes, the match must not break
    await nic.load(ruleset(["mysqld", "postgres"]));
    expect(await probe()).toEqual(["dropped", "accepted"]);
  });

  it("an owner cgroup match takes the applications in cgroups below it, across reloads that add deeper paths", async () => {
    const nic = await testNic();
    const ruleset = (extra: string) => `table filter { chain ingress { policy drop; ${extra}
      tcp dport 5432 owner cgroup "/system.slice" accept
      tcp dport { 6000, 6001, 6002 } owner cgroup "/user.slice/user-1001.slice" accept } }`;
    await nic.load(ruleset(""));
    const apps: [number, string][] = [
      [5432, "/system.slice/postgresql.service"],
      [6000, "/user.slice/user-1001.slice/game.scope"],
      [6001, "/user.slice/user-1001.slice"],
      [6002, "/user.slice/user-1001.slicex"], // a sibling that only starts with the name: no descendant
    ];
    for (const [port, cgroup] of apps) {
      const a = await nic.ctl.attach({ pid: port, uid: 1001, cmd: `app${port}`, cgroup });
      await nic.ctl.open({ app: a.app, proto: "tcp", local: `*:${port}` });
    }
    const probe = async () => [...(await nic.transport.inject({ frames: apps.map(([port]) => inbound("tcp", "10.0.0.9", 40000, port)) })).flags].map(dispositionOf);
    expect(await probe()).toEqual(["accepted", "accepted", "accepted", "dropped"]);
    // a rule naming game.scope itself renumbers the ids and gives game.scope its own: the match still holds
    await nic.load(ruleset('tcp dport 6000 owner cgroup "/user.slice/user-1001.slice/game.scope" counter'));
    expect(await probe()).toEqual(["accepted", "accepted", "accepted", "dropped"]);
  });

  it("matches a reference model of the steering table (property)", async () => {
    // a small universe so keys collide: two remote hosts, three ports each side
    const remotes = ["10.0.0.8", "10.0.0.9"];
    const ports = [1, 2, 3];
    type Key = { kind: "connection" | "listen"; proto: "tcp" | "udp"; lport: number; remote?: string; rport?: number; local: string };
    const key = fc.record({
      kind: fc.constantFrom("connection" as const, "listen" as const),
      proto: fc.constantFrom("tcp" as const, "udp" as const),
      lport: fc.constantFrom(...ports),
      remote: fc.constantFrom(...remotes),
      rport: fc.constantFrom(...ports),
      local: fc.constantFrom("10.0.0.2", "*"),
    });
    const op = fc.oneof(fc.record({ t: fc.constant("open" as const), k: key }), fc.record({ t: fc.constant("close" as const), i: fc.nat(20) }), fc.record({ t: fc.constant("packet" as const), k: key }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const nic = await testNic({ connections: 64 });
        const app = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "x" });
        const open = new Map<number, Key>(); // conn → key
        const keyText = (k: Key) => (k.kind === "listen" ? `L|${k.proto}|${k.local}|${k.lport}` : `C|${k.proto}|${k.lport}|${k.remote}|${k.rport}`);
        for (const o of ops) {
          if (o.t === "open") {
            const k: Key = o.k.kind === "listen" ? { kind: "listen", proto: o.k.proto, lport: o.k.lport, local: o.k.local } : { ...o.k, local: "10.0.0.2" };
            const taken = [...open.values()].some((x) => keyText(x) === keyText(k));
            const req = k.kind === "listen" ? { app: app.app, proto: k.proto, local: `${k.local}:${k.lport}` } : { app: app.app, proto: k.proto, local: `10.0.0.2:${k.lport}`, remote: `${k.remote}:${k.rport}` };
            if (taken) await expect(nic.ctl.open(req)).rejects.toThrow(/address in use/);
            else open.set((await nic.ctl.open(req)).conn, k);
          } else if (o.t === "close") {
            const ids = [...open.keys()];
            if (ids.length === 0) continue;
            const id = ids[o.i % ids.length]!;
            await nic.ctl.close(id);
            open.delete(id);
          } else {
            const k = o.k;
            // reference: exact first, then a listener on 10.0.0.2, then one on any address
            const find = (pred: (x: Key) => boolean) => [...open.entries()].find(([, x]) => pred(x))?.[0];
            const want =
              find((x) => x.kind === "connection" && x.proto === k.proto && x.lport === k.lport && x.remote === k.remote && x.rport === k.rport) ??
              find((x) => x.kind === "listen" && x.proto === k.proto && x.lport === k.lport && x.local === "10.0.0.2") ??
              find((x) => x.kind === "listen" && x.proto === k.proto && x.lport === k.lport && x.local === "*");
            const before = new Map([...open.keys()].map((id) => [id, nic.host.device.connReceive(id, 0, 10000).length]));
            const fallbackBefore = (await nic.ctl.list()).stats.steer_fallback;
            await nic.transport.inject({ frames: [inbound(k.proto, k.remote, k.rport, k.lport)] });
            for (const id of open.keys()) expect(nic.host.device.connReceive(id, 0, 10000).length - before.get(id)!, `conn ${id}`).toBe(id === want ? 1 : 0);
            expect((await nic.ctl.list()).stats.steer_fallback - fallbackBefore).toBe(want === undefined ? 1 : 0);
          }
        }
      }),
      { numRuns: 40 },
    );
    await settle();
  });

  it("TX from a listener may use its port; an exact connection only its 5-tuple", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const l = await nic.ctl.open({ app: a.app, proto: "tcp", local: "*:80" });
    const c = await nic.ctl.open({ app: a.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
    const libos = nic.app(a.app);
    await libos.wait(await libos.push(l.conn, [outbound("tcp", 80, "10.0.0.9", 1), outbound("tcp", 81, "10.0.0.9", 1), ipFrame({ proto: "tcp", src: "10.0.0.3", sport: 80, dst: "10.0.0.9", dport: 2, inbound: false })]), 2000);
    await libos.wait(await libos.push(c.conn, [outbound("udp", 53, "10.0.0.7", 5353), outbound("udp", 53, "10.0.0.7", 5354), outbound("tcp", 53, "10.0.0.7", 5353)]), 2000);
    const list = await nic.ctl.list();
    expect(list.connections.find((x) => x.conn === l.conn)!.tx).toMatchObject({ sent: 2, refused: 1 });
    expect(list.connections.find((x) => x.conn === c.conn)!.tx).toMatchObject({ sent: 1, refused: 2 });
  });
});
