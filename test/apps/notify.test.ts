/**
 * Notifications and blocking waits: no lost wake-up under a fast-check model of interleaved arrivals, waits,
 * detaches and re-attaches (small rings and notification queues, so full rings and lost notifications happen);
 * interrupts are armed only for sleepers and moderated as documented.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DetachedError, type LibOS } from "../../hostctl/apps/libos.js";
import { inbound, payloadOf, settle, testNic, type TestNic } from "./helpers.js";

interface AppState {
  pid: number;
  app: number | undefined;
  os: LibOS | undefined;
  /** open connections: their id and the port the model's packets use */
  conns: { conn: number; port: number }[];
}

interface PendingWait {
  appIndex: number;
  conn: number;
  port: number;
  result: { payload: string; index: number } | { error: unknown } | undefined;
}

type Command = { t: "arrive"; app: number; conn: number; k: number } | { t: "wait"; app: number; conn: number } | { t: "detach"; app: number } | { t: "attach"; app: number } | { t: "pause" };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("arrive" as const), app: fc.nat(1), conn: fc.nat(2), k: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("wait" as const), app: fc.nat(1), conn: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("detach" as const), app: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("attach" as const), app: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("pause" as const) }) },
);

/** Run until nothing moves: the pump, bottom halves, the LibOS round trips. */
async function quiesce(): Promise<void> {
  await settle(25);
}

/** Retry `check` until it passes or `ms` have gone by (then its failure is the test's). */
async function eventually(check: () => void, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 1));
      await quiesce();
    }
  }
}

async function attach(nic: TestNic, s: AppState, index: number): Promise<void> {
  const info = await nic.ctl.attach({ pid: s.pid, uid: 1000 + index, cmd: `app${index}` });
  s.app = info.app;
  s.os = nic.app(info.app);
  s.conns = [];
  for (let c = 0; c < 3; c++) {
    const port = 1000 + 10 * index + c;
    const conn = await nic.ctl.open({ app: info.app, proto: "udp", local: `10.0.0.2:${port}`, remote: "10.0.0.9:7", rxSlots: 4, txSlots: 2 });
    s.conns.push({ conn: conn.conn, port });
  }
}

describe("notifications and blocking waits", () => {
  it("never loses a wake-up: a sleeper has nothing to pop, every packet is popped once, in order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), fc.boolean(), async (commands, moderated) => {
        const nic = await testNic({ notifySlots: 1 });
        const apps: AppState[] = [0, 1].map((i) => ({ pid: 100 + i, app: undefined, os: undefined, conns: [] }));
        for (const [i, s] of apps.entries()) {
          await attach(nic, s, i);
          if (moderated) await nic.ctl.coalesce(s.app!, 300, 2);
        }
        const waits: PendingWait[] = [];
        let seq = 0;
        const sent = new Map<number, string[]>(); // conn → payloads injected for it, in order
        const popped = new Map<number, { payload: string; index: number }[]>();
        for (const cmd of commands) {
          const s = apps[cmd.app === undefined ? 0 : cmd.app]!;
          if (cmd.t === "arrive" && s.app !== undefined) {
            const c = s.conns[cmd.conn]!;
            const payloads = Array.from({ length: cmd.k }, () => `#${seq++}`);
            sent.set(c.conn, [...(sent.get(c.conn) ?? []), ...payloads]);
            await nic.transport.inject({ frames: payloads.map((p) => inbound("udp", "10.0.0.9", 7, c.port, p)) });
          } else if (cmd.t === "wait" && s.app !== undefined) {
            const c = s.conns[cmd.conn]!;
            const w: PendingWait = { appIndex: cmd.app, conn: c.conn, port: c.port, result: undefined };
            waits.push(w);
            s.os!.wait(s.os!.pop(c.conn), 60_000).then(
              (r) => {
                const got = r.opcode === "pop" ? { payload: payloadOf(r.packet.data), index: r.packet.index } : { payload: "", index: -1 };
                w.result = got;
                popped.set(c.conn, [...(popped.get(c.conn) ?? []), got]);
              },
              (e: unknown) => (w.result = { error: e }),
            );
          } else if (cmd.t === "detach" && s.app !== undefined) {
            await nic.ctl.detach(s.app);
            s.app = undefined;
          } else if (cmd.t === "attach" && s.app === undefined) {
            await attach(nic, s, cmd.app);
            if (moderated) await nic.ctl.coalesce(s.app!, 300, 2);
          } else if (cmd.t === "pause") {
            await new Promise((r) => setTimeout(r, 1));
          }
          await quiesce();
          // the invariant (a moderated interrupt may take its 300 µs): nobody sleeps while its packet waits in
          // its ring, nobody sleeps on a detached application
          await eventually(() => {
            for (const w of waits) {
              if (w.result !== undefined) continue;
              const s2 = apps[w.appIndex]!;
              const open = s2.app !== undefined && s2.conns.some((c) => c.conn === w.conn);
              expect(open, `a waiter on a detached application is still asleep`).toBe(true);
              expect(nic.host.device.connReceive(w.conn, 0, 100), `conn ${w.conn} has a packet while a waiter sleeps`).toHaveLength(0);
            }
          }, 1000);
        }
        // every popped packet was popped once, in ring order (indexes 0, 1, 2 …), and in the order it was sent
        for (const [conn, list] of popped) {
          expect(list.map((p) => p.index)).toEqual(list.map((_, i) => i));
          const order = list.map((p) => (sent.get(conn) ?? []).indexOf(p.payload));
          expect(order.every((o) => o >= 0)).toBe(true);
          expect([...order].sort((x, y) => x - y)).toEqual(order);
        }
        // waits that failed failed because their application went away
        for (const w of waits) if (w.result && "error" in w.result) expect(w.result.error).toBeInstanceOf(DetachedError);
        // cleanup: detach everything, which wakes the rest
        for (const s of apps) if (s.app !== undefined) await nic.ctl.detach(s.app);
        await eventually(() => {
          expect(waits.every((w) => w.result !== undefined)).toBe(true);
          expect(nic.service.sleeping).toBe(0);
        }, 1000);
      }),
      { numRuns: 80 },
    );
  });

  it("arms an interrupt only for a sleeper, and wakes it without polling", async () => {
    const nic = await testNic();
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const c = await nic.ctl.open({ app: a.app, proto: "udp", local: "10.0.0.2:53", remote: "10.0.0.7:5353" });
    // busy traffic with nobody asleep: notifications, no interrupts
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 5353, 53, "a")] });
    let l = await nic.ctl.list();
    expect(l.stats).toMatchObject({ notifications: 1, interrupts: 0 });
    const os = nic.app(a.app);
    expect(payloadOf(((await os.wait(os.pop(c.conn), 1000)) as { packet: { data: Uint8Array } }).packet.data)).toBe("a");
    expect(os.stats).toMatchObject({ checks: 1, sleeps: 0 });
    // now it sleeps: one check, then nothing until the packet comes
    const pending = os.wait(os.pop(c.conn), 5000);
    await new Promise((r) => setTimeout(r, 30));
    expect(os.stats.checks).toBe(2);
    expect(nic.service.sleeping).toBe(1);
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 5353, 53, "b")] });
    const r = await pending;
    expect(r.opcode === "pop" && payloadOf(r.packet.data)).toBe("b");
    expect(os.stats).toMatchObject({ checks: 3, sleeps: 1, interrupt: 1 });
    l = await nic.ctl.list();
    expect(l.stats.interrupts).toBe(1);
    expect(l.apps[0]!.irq.count).toBe(1);
    expect(l.wakeups).toMatchObject({ sleeps: 1, interrupt: 1 });
  });

  it("moderation: an interrupt waits for `frames` notifications or `usecs`, whichever first", async () => {
    let now = 1_000_000;
    const nic = await testNic({ nowUs: () => now });
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const conns = [];
    for (let p = 0; p < 3; p++) conns.push(await nic.ctl.open({ app: a.app, proto: "udp", local: `10.0.0.2:${100 + p}`, remote: "10.0.0.7:7" }));
    await nic.ctl.coalesce(a.app, 500, 3);
    const dev = nic.host.device;
    const os = nic.app(a.app);
    const pending = os.waitAny(conns.map((c) => os.pop(c.conn)), 10_000);
    await settle(10);
    expect(nic.service.sleeping).toBe(1);
    // two notifications (two rings going non-empty): under the frame count, inside the time: no interrupt yet
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 7, 100, "x")] });
    now += 100;
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 7, 101, "y")] });
    await settle(10);
    expect((await nic.ctl.list()).stats.interrupts).toBe(0);
    expect(nic.service.sleeping).toBe(1);
    // the time runs out: the moderation timer fires it
    now += 400;
    expect(dev.tickInterrupts()).toBeUndefined();
    const r = await pending;
    expect(r.result.opcode).toBe("pop");
    expect((await nic.ctl.list()).stats.interrupts).toBe(1);
    // the frame count: three notifications fire at once, whatever the time
    const y = await os.wait(os.pop(conns[1]!.conn), 1000); // y is still there: no sleep
    expect(y.opcode === "pop" && payloadOf(y.packet.data)).toBe("y");
    const second = os.waitAny(conns.map((c) => os.pop(c.conn)), 10_000);
    await settle(10);
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 7, 100, "1"), inbound("udp", "10.0.0.7", 7, 101, "2"), inbound("udp", "10.0.0.7", 7, 102, "3")] });
    await second;
    expect((await nic.ctl.list()).stats.interrupts).toBe(2);
  });

  it("a full notification queue loses entries but not wake-ups", async () => {
    const nic = await testNic({ notifySlots: 1 });
    const a = await nic.ctl.attach({ pid: 1, uid: 1, cmd: "srv" });
    const conns = [];
    for (let p = 0; p < 4; p++) conns.push(await nic.ctl.open({ app: a.app, proto: "udp", local: `10.0.0.2:${200 + p}`, remote: "10.0.0.7:7" }));
    // three rings go non-empty with nobody reading: one entry fits, two are lost and counted
    await nic.transport.inject({ frames: [0, 1, 2].map((i) => inbound("udp", "10.0.0.7", 7, 200 + i)) });
    let l = await nic.ctl.list();
    expect(l.apps[0]!.notify).toMatchObject({ head: 1, tail: 0, drops: 2 });
    expect(l.stats.notify_overflows).toBe(2);
    // the kernel puts a waiter to sleep on what it saw; the queue is still full
    const pending = nic.service.wait(a.app, 1, 2, 5000);
    expect(nic.service.sleeping).toBe(1);
    // the fourth ring's arrival finds no room: the entry is lost, the sleeper is woken all the same
    await nic.transport.inject({ frames: [inbound("udp", "10.0.0.7", 7, 203, "late")] });
    expect(await pending).toEqual({ woke: "interrupt", head: 1, drops: 3 });
    // the application checks its rings (entries are hints) and finds the packet
    const os = nic.app(a.app);
    const r = await os.wait(os.pop(conns[3]!.conn), 1000);
    expect(r.opcode === "pop" && payloadOf(r.packet.data)).toBe("late");
    l = await nic.ctl.list();
    expect(l.wakeups.interrupt).toBe(1);
  });
});
