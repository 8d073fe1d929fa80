/**
 * The NIC daemon: malformed frames are refused with an error and change nothing; a client that dies in the
 * middle of a transaction leaves no partial commit and the daemon keeps serving everyone else; applications
 * cannot reach policy registers over the socket either; --state restores the last committed configuration.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REG, APP_REG, appPageOffset, PROG_CMD } from "../../fpga-model/registers.js";
import { NicDriver } from "../../hostctl/driver/driver.js";
import { Transaction } from "../../hostctl/driver/transaction.js";
import { SocketTransport } from "../../hostctl/daemon/client.js";
import { encodeFrame, FrameDecoder, type Frame } from "../../hostctl/daemon/protocol.js";
import { startNic } from "../../hostctl/commands/nic.js";
import { ACCEPT, daemon, DROP, frame, kopi, tempDir } from "./helpers.js";

const POLICY = `table filter {
  chain ingress { policy drop;
    tcp dport 22 accept
    tcp dport 80 accept
    tcp dport 443 accept
    tcp dport 8080 accept
  }
}
`;

/** A raw protocol client: send bytes, collect reply frames. */
async function raw(path: string): Promise<{ socket: Socket; send: (b: Uint8Array) => void; next: () => Promise<Frame>; closed: Promise<void> }> {
  const socket = createConnection(path);
  await new Promise<void>((r) => socket.once("connect", () => r()));
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const waiters: ((f: Frame) => void)[] = [];
  socket.on("data", (d: Buffer) => {
    for (const x of decoder.push(new Uint8Array(d))) {
      if (x.kind !== "frame") continue;
      const w = waiters.shift();
      if (w) w(x.frame);
      else frames.push(x.frame);
    }
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  return {
    socket,
    send: (b) => socket.write(b),
    next: () => (frames.length ? Promise.resolve(frames.shift()!) : new Promise((r) => waiters.push(r))),
    closed,
  };
}

function frameWithLength(length: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, length);
  return b;
}

describe("NIC daemon", () => {
  it("refuses malformed frames with an error, changes nothing, and keeps serving", async () => {
    const d = await daemon();
    try {
      const { policy, driver } = await d.connect();
      await policy.load(kopi(POLICY));
      const before = { gen: d.host.device.read32(REG.ACTIVE_GEN), revision: d.host.revision, crc: d.host.device.read32(REG.ACTIVE_CRC) };
      const c = await raw(d.socketPath);
      c.send(encodeFrame({ id: 1, op: "hello" }));
      expect((await c.next()).header).toMatchObject({ id: 1, ok: true, protocol: 2 });
      const cases: [Uint8Array, string][] = [
        [encodeFrame({ id: 2, op: "txn" }, new Uint8Array(10)), "bad-request"], // not whole accesses
        [encodeFrame({ id: 3, op: "txn" }, Uint8Array.from([7, 0, 0, 0, 0, 0, 0, 0, 0])), "bad-request"], // kind 7
        [encodeFrame({ id: 4, op: "frobnicate" }), "unknown-op"],
        [encodeFrame({ id: 5, op: "txn" }, new Uint8Array(0), 9), "bad-frame"], // protocol version 9
        [encodeFrame({ op: "state" }), "bad-request"], // no id
        [encodeFrame({ id: 6, op: "inject", count: 2 }, new Uint8Array(20)), "bad-request"], // body too short for 2 packets
        [encodeFrame({ id: 7, op: "txn", update: { expectRevision: 0, state: { schema: 1 } } }), "bad-request"], // bad host state
        [encodeFrame({ id: 8, op: "confirm", decision: "maybe" }), "bad-request"],
        [encodeFrame({ id: 9, op: "capture.read", max: 0 }), "bad-request"],
      ];
      for (const [bytes, code] of cases) {
        c.send(bytes);
        const reply = await c.next();
        expect(reply.header.ok, JSON.stringify(reply.header)).toBe(false);
        expect((reply.header.error as { code: string }).code).toBe(code);
      }
      // a header that is not JSON, inside a well-formed frame
      const junk = encodeFrame({ id: 10, op: "state" });
      junk.set(new TextEncoder().encode("{{{{"), 9);
      c.send(junk);
      expect(((await c.next()).header.error as { code: string }).code).toBe("bad-frame");
      // the same connection still works
      c.send(encodeFrame({ id: 11, op: "state" }));
      expect((await c.next()).header).toMatchObject({ id: 11, ok: true });
      // a length the stream cannot follow: error, then the daemon closes that connection only
      c.send(frameWithLength(0xffffffff));
      expect(((await c.next()).header.error as { code: string }).code).toBe("bad-frame");
      await c.closed;
      expect({ gen: d.host.device.read32(REG.ACTIVE_GEN), revision: d.host.revision, crc: d.host.device.read32(REG.ACTIVE_CRC) }).toEqual(before);
      expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 23 })] })).verdicts)).toEqual([ACCEPT, DROP]);
      // a request before hello
      const c2 = await raw(d.socketPath);
      c2.send(encodeFrame({ id: 1, op: "state" }));
      expect(((await c2.next()).header.error as { code: string }).code).toBe("no-hello");
      c2.socket.destroy();
    } finally {
      await d.stopAll();
    }
  });

  it("a client killed mid-transaction leaves no partial commit, releases its lock, and others carry on", async () => {
    const d = await daemon();
    try {
      const { policy, driver } = await d.connect();
      await policy.load(kopi(POLICY));
      const gen = d.host.device.read32(REG.ACTIVE_GEN);
      const revision = d.host.revision;
      // 1. killed while sending a whole load (upload, tables, commit) in one frame: half the frame arrives
      const t = new Transaction();
      const image = (await policy.live()).program!.image;
      NicDriver.addUpload(t, { ...image, code: [...image.code, ...image.code.slice(-1)] });
      t.write(REG.COMMIT, gen);
      const whole = encodeFrame({ id: 2, op: "txn" }, t.encode());
      const c = await raw(d.socketPath);
      c.send(encodeFrame({ id: 1, op: "hello" }));
      await c.next();
      c.send(encodeFrame({ id: 9, op: "lock" }));
      await c.next();
      c.send(whole.subarray(0, Math.floor(whole.length / 2)));
      await new Promise((r) => setTimeout(r, 20));
      c.socket.destroy();
      await c.closed;
      // 2. killed between transactions of a multi-step load: the upload started, no commit came
      const c3 = await raw(d.socketPath);
      c3.send(encodeFrame({ id: 1, op: "hello" }));
      await c3.next();
      const partial = new Transaction();
      partial.write(REG.PROG_CTRL, PROG_CMD.RESET).write(REG.PROG_LENGTH, 4096).write(REG.PROG_DATA, 0x49504f4b);
      c3.send(encodeFrame({ id: 2, op: "txn" }, partial.encode()));
      expect((await c3.next()).header).toMatchObject({ ok: true, writes: 3 });
      c3.socket.destroy();
      await c3.closed;
      // nothing of either reached the data path or the host state
      expect(d.host.device.read32(REG.ACTIVE_GEN)).toBe(gen);
      expect(d.host.revision).toBe(revision);
      expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 23 })] })).verdicts)).toEqual([ACCEPT, DROP]);
      // the lock the dead client held is free: a normal edit and a new load go through
      const other = await d.connect();
      const e = await other.policy.edit({ op: "append", chain: "ingress", rule: "tcp dport 23 accept" });
      expect(e.mode).toBe("tables");
      expect(Array.from((await driver.inject({ frames: [frame({ dport: 23 })] })).verdicts)).toEqual([ACCEPT]);
      const l = await other.policy.load(kopi(POLICY.replace("tcp dport 22 accept", "tcp dport 2222 accept")));
      expect(l.generation).toBe(gen + 1);
    } finally {
      await d.stopAll();
    }
  });

  it("an application's connection reaches its own page only: policy registers refused and counted", async () => {
    const d = await daemon();
    try {
      const { policy, driver } = await d.connect();
      await policy.load(kopi(POLICY));
      const app = await SocketTransport.connect(d.socketPath, { role: "app", app: 4 });
      const appDriver = new NicDriver(app);
      const page = appPageOffset(4);
      expect(await appDriver.readRegisters([page + APP_REG.APP_ID, page + APP_REG.APP_ACTIVE_GEN])).toEqual([4, 1]);
      const t = new Transaction();
      t.write(REG.COMMIT, 1);
      await expect(appDriver.run(t)).rejects.toThrow(/COMMIT refused: an application page cannot reach it/);
      const t2 = new Transaction();
      t2.write(REG.TBL_CTRL, 3);
      await expect(appDriver.run(t2)).rejects.toThrow(/refused/);
      await expect(app.getState()).rejects.toThrow(/for the host kernel/);
      await expect(app.inject({ frames: [frame()] })).rejects.toThrow(/for the host kernel/);
      await expect(app.appReceive(5, 0, 10)).rejects.toThrow(/cannot read application 5/);
      expect(await appDriver.readRegisters([page + APP_REG.APP_VIOLATIONS])).toEqual([2]);
      expect((await driver.stats()).privilege_violations).toBe(2n);
      expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 })] })).verdicts)).toEqual([ACCEPT]);
      await app.close();
    } finally {
      await d.stopAll();
    }
  });

  it("queue verdicts reach the bound application's ring, read through its page and receive port", async () => {
    const d = await daemon();
    try {
      const { policy, driver } = await d.connect();
      await policy.load(kopi("table filter {\n  chain ingress { policy drop;\n    tcp dport 5432 queue num 7\n  }\n}\n"));
      await driver.bindQueue(7, 9);
      const out = await driver.inject({ frames: [frame({ dport: 5432 }), frame({ dport: 5432, sport: 1 }), frame({ dport: 1 })] });
      expect(Array.from(out.verdicts)).toEqual([2 | (7 << 8), 2 | (7 << 8), DROP]);
      const app = await SocketTransport.connect(d.socketPath, { role: "app", app: 9 });
      const page = appPageOffset(9);
      const appDriver = new NicDriver(app);
      const [head, tail] = await appDriver.readRegisters([page + APP_REG.APP_RX_HEAD, page + APP_REG.APP_RX_TAIL]);
      expect([head, tail]).toEqual([2, 0]);
      const records = await app.appReceive(9, 0, 10);
      expect(records.map((r) => r.queue)).toEqual([7, 7]);
      expect(records[1]!.data).toEqual(frame({ dport: 5432, sport: 1 }));
      const t = new Transaction();
      t.write(page + APP_REG.APP_RX_TAIL, 2);
      await appDriver.run(t);
      expect((await app.appNotifications(9, 0, 10)).map((n) => n.kind)).toEqual([1]);
      await app.close();
    } finally {
      await d.stopAll();
    }
  });

  it("nic start --state restores the last committed configuration; counters continue after a clean stop", async () => {
    const { dir, cleanup } = tempDir();
    const state = join(dir, "nic-state.json");
    try {
      const sock = join(dir, "a.sock");
      let nic = await startNic({ socket: sock, state });
      let t = await SocketTransport.connect(sock);
      let driver = new NicDriver(t);
      const { PolicyDriver } = await import("../../hostctl/driver/policy-driver.js");
      let policy = new PolicyDriver(driver);
      await policy.load(kopi(POLICY));
      await policy.edit({ op: "append", chain: "ingress", rule: "tcp dport 25 accept" });
      await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 25 }), frame({ dport: 99 })] });
      // the file as it was after the last change (a crash now would restart from it)
      copyFileSync(state, join(dir, "crash.json"));
      await t.close();
      await nic.stop();

      nic = await startNic({ socket: sock, state });
      t = await SocketTransport.connect(sock);
      driver = new NicDriver(t);
      policy = new PolicyDriver(driver);
      const { record, program } = await policy.live();
      expect(record.state!.generation).toBe(1);
      expect(record.state!.policy!.text).toContain("tcp dport 25 accept");
      expect(Array.from((await driver.inject({ frames: [frame({ dport: 25 }), frame({ dport: 99 })] })).verdicts)).toEqual([ACCEPT, DROP]);
      const counters = await policy.counters(record.state!);
      const rules = program!.ir.chains[0]!.rules;
      expect(counters[rules[0]!.counter]!.packets).toBe(1n); // 22 before the restart
      expect(counters[rules[4]!.counter]!.packets).toBe(2n); // 25 before and after
      expect(counters[program!.ir.chains[0]!.policyCounter!]!.packets).toBe(2n);
      await t.close();
      await nic.stop();

      // restarting from the file of before the clean stop: the configuration, counters as of the last change
      nic = await startNic({ socket: sock, state: join(dir, "crash.json") });
      t = await SocketTransport.connect(sock);
      policy = new PolicyDriver(new NicDriver(t));
      const crash = await policy.live();
      expect(crash.record.state!.policy!.text).toContain("tcp dport 25 accept");
      expect((await policy.counters(crash.record.state!))[rules[0]!.counter]!.packets).toBe(0n);
      await t.close();
      await nic.stop();

      // a broken state file is refused with its name and the problem
      writeFileSync(state, '{"kopiNicState":1,"revision":3,"state":{"schema":1}}');
      await expect(startNic({ socket: sock, state })).rejects.toThrow(`${state}: generation`);
      writeFileSync(state, "not json");
      await expect(startNic({ socket: sock, state })).rejects.toThrow(/not JSON/);
      expect(readFileSync(state, "utf8")).toBe("not json");
    } finally {
      cleanup();
    }
  });

  it("a clean stop rolls back a load that was never confirmed before saving the state", async () => {
    const { dir, cleanup } = tempDir();
    const state = join(dir, "s.json");
    try {
      const sock = join(dir, "c.sock");
      let nic = await startNic({ socket: sock, state });
      let t = await SocketTransport.connect(sock);
      const { PolicyDriver } = await import("../../hostctl/driver/policy-driver.js");
      let policy = new PolicyDriver(new NicDriver(t));
      await policy.load(kopi(POLICY));
      await policy.load(kopi(POLICY.replace("tcp dport 22 accept", "tcp dport 2222 accept")), { confirmWithinMs: 60_000 });
      await t.close();
      await nic.stop();
      nic = await startNic({ socket: sock, state });
      t = await SocketTransport.connect(sock);
      policy = new PolicyDriver(new NicDriver(t));
      expect((await policy.live()).record.state!.policy!.text).toBe(POLICY);
      await t.close();
      await nic.stop();
    } finally {
      cleanup();
    }
  });

  it("refuses to start on a socket another daemon serves, and replaces a stale one", async () => {
    const d = await daemon();
    try {
      await expect(startNic({ socket: d.socketPath })).rejects.toThrow(/already listening/);
    } finally {
      await d.stopAll();
    }
    const { dir, cleanup } = tempDir();
    try {
      const sock = join(dir, "stale.sock");
      writeFileSync(sock, "");
      const nic = await startNic({ socket: sock });
      const t = await SocketTransport.connect(sock);
      expect((await new NicDriver(t).identify()).version).toBe("1.1");
      await t.close();
      await nic.stop();
      await expect(SocketTransport.connect(sock)).rejects.toThrow(/no NIC daemon at/);
    } finally {
      cleanup();
    }
  });
});
