/**
 * An application's queue API in the spirit of Demikernel: a connection is a queue descriptor (qd, its id);
 * `push(qd, frames)` posts frames on its transmit ring and returns a queue token (qt) that completes when the
 * NIC has finished them (sent, or dropped by the egress policy); `pop(qd)` returns a token that completes with
 * the next received packet; `wait(qt)` / `waitAny(qts)` block until a token completes.
 *
 * Underneath: the rings in host memory and the connection's page registers (as this application: the NIC
 * refuses anything outside its own pages), and the notification queue in its application page. A wait checks
 * its rings and reads the notification head (and loss count) in one register transaction; when nothing is
 * ready it sleeps in the kernel (`app.wait`) until the queue moves past what it saw — the kernel arms the
 * NIC's interrupt, so a sleeper costs no polling, and an arrival between the check and the sleep is never lost
 * (the kernel compares against the head the application saw, and the NIC fires an armed interrupt at once when
 * its queue has already moved). `stats` counts it: every wake-up is one check, sleeps are interrupt-driven.
 */
import type { ConnRecord } from "../../fpga-model/packets.js";
import { APP_REG, appPageOffset, CONN_REG, connPageOffset } from "../../fpga-model/registers.js";
import { SocketTransport } from "../daemon/client.js";
import { LocalTransport } from "../daemon/local-transport.js";
import type { NicHost } from "../daemon/nic-host.js";
import { encodePackets } from "../daemon/protocol.js";
import { Transaction } from "../driver/transaction.js";
import type { NicTransport } from "../driver/transport.js";
import { channelOf, localChannel, type AppsChannel } from "./channel.js";

export type QToken = number;

export type QResult = { opcode: "push"; qd: number; count: number } | { opcode: "pop"; qd: number; packet: ConnRecord };

/** The application was detached while it used its queues. */
export class DetachedError extends Error {
  constructor(app: number) {
    super(`application ${app} was detached`);
    this.name = "DetachedError";
  }
}

/** The queue (connection) is not this application's, or it was closed. */
export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueueError";
  }
}

export class WaitTimeout extends Error {
  constructor(ms: number) {
    super(`nothing completed within ${ms} ms`);
    this.name = "WaitTimeout";
  }
}

interface Token {
  kind: "push" | "pop";
  qd: number;
  /** push: the transmit index the NIC must complete to */
  target: number;
  count: number;
}

interface Snapshot {
  head: number;
  drops: number;
  attached: boolean;
  rings: Map<number, { rxHead: number; rxTail: number; txHead: number; txTail: number; txSlots: number }>;
}

const U32 = 0x1_0000_0000;
const DEFAULT_TIMEOUT_MS = 3600 * 1000;

/** a reached b in 32-bit wrapping index arithmetic */
const reached = (a: number, b: number) => ((a - b + U32) % U32) < U32 / 2;

export class LibOS {
  private readonly tokens = new Map<QToken, Token>();
  private nextToken = 1;
  private notifySeen: number | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  /** checks: readiness checks (one register transaction each); sleeps: waits in the kernel; woken by what */
  readonly stats = { checks: 0, sleeps: 0, interrupt: 0, ready: 0 };

  constructor(
    readonly app: number,
    readonly transport: NicTransport,
    private readonly channel: AppsChannel,
  ) {}

  /** Connect to the NIC daemon as application `app`. */
  static async connect(socketPath: string, app: number): Promise<LibOS> {
    const t = await SocketTransport.connect(socketPath, { role: "app", app });
    return new LibOS(app, t, channelOf(t));
  }

  /** An application of an in-process NIC host. */
  static local(host: NicHost, app: number): LibOS {
    return new LibOS(app, new LocalTransport(host, app), localChannel(host, { role: "app", app }));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** One register transaction as this application: its notification state and the rings of `qds`. */
  private async snapshot(qds: readonly number[]): Promise<Snapshot> {
    const t = new Transaction();
    const page = appPageOffset(this.app);
    t.read(page + APP_REG.APP_NOTIFY_HEAD);
    t.read(page + APP_REG.APP_NOTIFY_DROPS);
    t.read(page + APP_REG.APP_ATTACHED);
    for (const qd of qds) for (const r of ["CP_RX_HEAD", "CP_RX_TAIL", "CP_TX_HEAD", "CP_TX_TAIL", "CP_TX_SLOTS"] as const) t.read(connPageOffset(qd) + CONN_REG[r]);
    // release the notifications seen last time (they were hints: the rings are checked anyway); last, so a
    // refusal (the queue was reset by a detach) cannot cost the reads
    if (this.notifySeen !== undefined) t.write(page + APP_REG.APP_NOTIFY_TAIL, this.notifySeen);
    this.stats.checks++;
    const r = await this.transport.transact(t);
    const v = r.reads;
    const nReads = 3 + 5 * qds.length;
    if (r.error && r.error.index < nReads) {
      if (v[2] === 0) throw new DetachedError(this.app);
      const qd = qds[Math.floor((r.error.index - 3) / 5)];
      throw new QueueError(`queue ${qd} is not a connection of application ${this.app} (closed, or never its own)`);
    }
    if (v[2] === 0) throw new DetachedError(this.app);
    const rings = new Map<number, Snapshot["rings"] extends Map<number, infer R> ? R : never>();
    qds.forEach((qd, i) => {
      const b = 3 + 5 * i;
      rings.set(qd, { rxHead: v[b]!, rxTail: v[b + 1]!, txHead: v[b + 2]!, txTail: v[b + 3]!, txSlots: v[b + 4]! });
    });
    this.notifySeen = v[0]!;
    return { head: v[0]!, drops: v[1]!, attached: true, rings };
  }

  /** Check-and-act atomically with respect to this LibOS's other waits (two pops never take one packet). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => {});
    return run;
  }

  /**
   * Repeat: check (one transaction) and try to act; when nothing is ready, sleep in the kernel until the
   * notification queue moves past the snapshot. `attempt` returns a value when it could act.
   */
  private async until<T>(qds: readonly number[], attempt: (s: Snapshot) => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await this.exclusive(async () => {
        const s = await this.snapshot(qds);
        const v = await attempt(s);
        return { s, v };
      });
      if (seen.v !== undefined) return seen.v;
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeout(timeoutMs);
      const r = (await this.channel.call("app.wait", { head: seen.s.head, drops: seen.s.drops, timeoutMs: Math.ceil(left) })).header as { woke: string };
      if (r.woke === "detached") throw new DetachedError(this.app);
      if (r.woke === "timeout") throw new WaitTimeout(timeoutMs);
      if (r.woke === "interrupt") {
        this.stats.sleeps++;
        this.stats.interrupt++;
      } else this.stats.ready++;
    }
  }

  /**
   * Post frames on queue `qd`'s transmit ring (waiting for room when it is full) and return the token that
   * completes when the NIC has finished them.
   */
  async push(qd: number, frames: readonly Uint8Array[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<QToken> {
    let rest = [...frames];
    let target = 0;
    if (rest.length === 0) {
      const s = await this.exclusive(() => this.snapshot([qd]));
      target = s.rings.get(qd)!.txTail;
    }
    while (rest.length > 0) {
      const posted = await this.until(
        [qd],
        async (s) => {
          const ring = s.rings.get(qd)!;
          const space = ring.txSlots - ((ring.txTail - ring.txHead + U32) % U32);
          if (space <= 0) return undefined;
          const batch = rest.slice(0, space);
          const r = (await this.channel.call("conn.push", { conn: qd, count: batch.length }, encodePackets(batch))).header as { posted: number; tail: number };
          return r.posted > 0 ? r : undefined;
        },
        timeoutMs,
      );
      rest = rest.slice(posted.posted);
      target = posted.tail;
    }
    const qt = this.nextToken++;
    this.tokens.set(qt, { kind: "push", qd, target, count: frames.length });
    return qt;
  }

  /** A token that completes with the next packet queue `qd` receives. */
  pop(qd: number): QToken {
    if (!Number.isInteger(qd) || qd < 1) throw new QueueError(`${qd} is not a queue descriptor`);
    const qt = this.nextToken++;
    this.tokens.set(qt, { kind: "pop", qd, target: 0, count: 1 });
    return qt;
  }

  /** Complete `token` if the snapshot allows it. */
  private async tryComplete(token: Token, s: Snapshot): Promise<QResult | undefined> {
    const ring = s.rings.get(token.qd)!;
    if (token.kind === "push") return reached(ring.txHead, token.target) ? { opcode: "push", qd: token.qd, count: token.count } : undefined;
    if (ring.rxHead === ring.rxTail) return undefined;
    const reply = await this.channel.call("conn.read", { conn: token.qd, from: ring.rxTail, max: 1 });
    const meta = (reply.header.records as (Omit<ConnRecord, "data"> & { caplen: number })[])[0];
    if (!meta) return undefined;
    const { caplen, ...rest } = meta;
    const t = new Transaction();
    t.write(connPageOffset(token.qd) + CONN_REG.CP_RX_TAIL, (ring.rxTail + 1) >>> 0);
    const r = await this.transport.transact(t);
    if (r.error) throw new QueueError(`queue ${token.qd} was closed while reading it`);
    return { opcode: "pop", qd: token.qd, packet: { ...rest, data: reply.body.slice(0, caplen) } };
  }

  /** Block until token `qt` completes. */
  async wait(qt: QToken, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<QResult> {
    return (await this.waitAny([qt], timeoutMs)).result;
  }

  /** Block until one of the tokens completes; returns its position and result (the token is consumed). */
  async waitAny(qts: readonly QToken[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ index: number; result: QResult }> {
    const tokens = qts.map((qt) => {
      const t = this.tokens.get(qt);
      if (!t) throw new QueueError(`${qt} is not a pending queue token`);
      return t;
    });
    const qds = [...new Set(tokens.map((t) => t.qd))];
    const done = await this.until(
      qds,
      async (s) => {
        for (let i = 0; i < tokens.length; i++) {
          const result = await this.tryComplete(tokens[i]!, s);
          if (result) return { index: i, result };
        }
        return undefined;
      },
      timeoutMs,
    );
    this.tokens.delete(qts[done.index]!);
    return done;
  }
}

