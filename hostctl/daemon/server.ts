/**
 * The NIC daemon's socket server: accepts connections on a Unix socket and serves protocol-1 requests
 * (PROTOCOL.md) against one NicHost. Each request is handled whole before the next (register transactions are
 * atomic); a malformed frame gets an error reply and changes nothing; a client that disappears mid-frame
 * leaves nothing behind (its partial frame is dropped, its lock released); other clients are never affected.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { KERNEL, PacketPortError } from "../../fpga-model/nic-device.js";
import { APP_PAGES } from "../../fpga-model/registers.js";
import { isAppsOp, serveApps } from "../apps/ops.js";
import { AppsError } from "../apps/service.js";
import { checkHostState, HostStateError } from "../driver/host-state.js";
import { checkQdiscState } from "../driver/qdisc-state.js";
import { decodeTransaction } from "../driver/transaction.js";
import type { QdiscUpdate, StateUpdate } from "../driver/transport.js";
import type { NicHost } from "./nic-host.js";
import { decodePackets, encodeFrame, encodeRecords, FrameDecoder, OUTCOME_RECORD, PROTOCOL_VERSION, u32Body, type Frame } from "./protocol.js";

const MAX_READ = 65536;
const MAX_CONFIRM_MS = 24 * 3600 * 1000;

export interface ServerOptions {
  socketPath: string;
  host: NicHost;
  log?: (line: string) => void;
  /** called when a kernel client asks the daemon to stop (after the reply is sent) */
  onShutdown?: () => void;
}

/** A request the daemon refuses: its code and message go back to the client, nothing changes. */
class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Connection {
  socket: Socket;
  hello: boolean;
  role: "kernel" | "app";
  app: number;
  /** lock owner token of this connection */
  owner: object;
}

export class NicServer {
  private readonly connections = new Set<Connection>();
  private closing = false;

  private constructor(
    private readonly server: Server,
    readonly options: ServerOptions,
  ) {}

  /** Listen on the socket path (replacing a stale socket file; refusing when another daemon answers there). */
  static async start(options: ServerOptions): Promise<NicServer> {
    const path = options.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (existsSync(path)) {
      const alive = await new Promise<boolean>((resolve) => {
        const probe = createConnection(path);
        probe.once("connect", () => {
          probe.destroy();
          resolve(true);
        });
        probe.once("error", () => resolve(false));
      });
      if (alive) throw new Error(`a NIC daemon is already listening on ${path}`);
      unlinkSync(path);
    }
    const server = createServer();
    const nic = new NicServer(server, options);
    server.on("connection", (s) => nic.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    try {
      chmodSync(path, 0o660);
    } catch {
      // a filesystem without modes: leave it
    }
    return nic;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Stop accepting, end every connection, remove the socket file. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.options.socketPath);
    } catch {
      // already gone
    }
  }

  private accept(socket: Socket): void {
    const conn: Connection = { socket, hello: false, role: "kernel", app: 0, owner: {} };
    this.connections.add(conn);
    const decoder = new FrameDecoder();
    socket.on("data", (data: Buffer) => {
      for (const d of decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) {
        if (d.kind === "fatal") {
          this.reply(conn, { id: null, ok: false, error: { code: "bad-frame", message: d.message } });
          socket.end();
          return;
        }
        if (d.kind === "bad-frame") {
          this.reply(conn, { id: d.id ?? null, ok: false, error: { code: "bad-frame", message: d.message } });
          continue;
        }
        this.dispatch(conn, d.frame);
      }
    });
    socket.on("error", () => {
      // a client that vanished: the close handler cleans up
    });
    socket.on("close", () => {
      this.connections.delete(conn);
      this.options.host.unlock(conn.owner);
    });
  }

  private reply(conn: Connection, header: object, body?: Uint8Array, version = PROTOCOL_VERSION): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    conn.socket.write(encodeFrame(header, body, version));
  }

  /** A request that protocol 1 does not have. */
  private static needsV2(frame: Frame, what: string): void {
    if (frame.version < 2) throw new RequestError("bad-request", `${what} needs protocol version 2 (this frame is version ${frame.version})`);
  }

  private dispatch(conn: Connection, frame: Frame): void {
    const id = frame.header.id;
    const op = frame.header.op;
    const fail = (e: unknown) => {
      if (e instanceof RequestError) this.reply(conn, { id, ok: false, error: { code: e.code, message: e.message } });
      else if (e instanceof PacketPortError) this.reply(conn, { id, ok: false, error: { code: "bad-request", message: e.message } });
      else {
        this.options.log?.(`internal error serving ${String(op)}: ${(e as Error)?.stack ?? String(e)}`);
        this.reply(conn, { id, ok: false, error: { code: "internal", message: `internal error: ${(e as Error)?.message ?? String(e)}` } });
      }
    };
    try {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new RequestError("bad-request", "every request needs an integer id ≥ 0");
      if (typeof op !== "string") throw new RequestError("bad-request", "every request needs an op");
      if (op !== "hello" && !conn.hello) throw new RequestError("no-hello", "the first request must be hello");
      const result = this.serve(conn, op, frame);
      if (result instanceof Promise) result.then(([h, b]) => this.reply(conn, { id, ok: true, ...h }, b, frame.version), fail);
      else this.reply(conn, { id, ok: true, ...result[0] }, result[1], frame.version);
    } catch (e) {
      fail(e);
    }
  }

  private kernelOnly(conn: Connection, op: string): void {
    if (conn.role !== "kernel") throw new RequestError("not-allowed", `${op} is for the host kernel; application ${conn.app} may use txn on its own page, app.read and app.notify`);
  }

  private serve(conn: Connection, op: string, frame: Frame): [object, Uint8Array?] | Promise<[object, Uint8Array?]> {
    const h = frame.header;
    const host = this.options.host;
    switch (op) {
      case "hello": {
        const role = h.role ?? "kernel";
        if (role !== "kernel" && role !== "app") throw new RequestError("bad-request", `role must be kernel or app, not ${JSON.stringify(role)}`);
        if (role === "app") {
          const app = h.app;
          if (typeof app !== "number" || !Number.isInteger(app) || app < 1 || app >= APP_PAGES) throw new RequestError("bad-request", `an application needs its id, 1 … ${APP_PAGES - 1}`);
          conn.app = app;
        }
        conn.role = role;
        conn.hello = true;
        return [{ protocol: frame.version, server: "kopi-nic", role, ...(role === "app" ? { app: conn.app } : {}) }];
      }
      case "txn": {
        const decoded = decodeTransaction(frame.body);
        if ("error" in decoded) throw new RequestError("bad-request", decoded.error);
        let update: StateUpdate | undefined;
        if (h.update !== undefined) {
          this.kernelOnly(conn, "a host-state update");
          update = checkUpdate(h.update);
        }
        let qdisc: QdiscUpdate | undefined;
        if (h.qdisc !== undefined) {
          NicServer.needsV2(frame, "a qdisc-record update");
          this.kernelOnly(conn, "a qdisc-record update");
          qdisc = checkQdiscUpdate(h.qdisc);
        }
        const r = host.transact(decoded.ops, conn.role === "kernel" ? KERNEL : conn.app, update, qdisc);
        return [{ executed: r.executed, writes: r.writes, revision: r.revision, ...(frame.version >= 2 ? { qdiscRevision: r.qdiscRevision } : {}), ...(r.conflict ? { conflict: true } : {}), ...(r.error ? { error: r.error } : {}) }, u32Body(r.reads)];
      }
      case "state":
        this.kernelOnly(conn, op);
        return [host.record()];
      case "qdisc.state":
        NicServer.needsV2(frame, op);
        this.kernelOnly(conn, op);
        return [host.qdiscRecord()];
      case "inject": {
        this.kernelOnly(conn, op);
        const count = h.count;
        if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > 1 << 20) throw new RequestError("bad-request", "inject needs count, 0 … 1048576 packets");
        const packets = decodePackets(frame.body, count);
        if ("error" in packets) throw new RequestError("bad-request", packets.error);
        const dir = h.dir ?? 0;
        if (dir !== 0 && dir !== 1) throw new RequestError("bad-request", "dir must be 0 (ingress) or 1 (egress)");
        const batch = { ...packets, dir: dir as 0 | 1, port: (h.port as number) ?? 0, linktype: (h.linktype as number) ?? 1, trace: h.trace === true };
        return host.inject(batch).then((o): [object, Uint8Array] => {
          const body = new Uint8Array(count * OUTCOME_RECORD);
          const view = new DataView(body.buffer);
          for (let i = 0; i < count; i++) {
            const at = i * OUTCOME_RECORD;
            view.setUint32(at, o.generations[i]!, true);
            view.setUint32(at + 4, o.verdicts[i]!, true);
            view.setUint32(at + 8, o.marks[i]!, true);
            view.setUint32(at + 12, o.cycles[i]!, true);
            view.setUint8(at + 16, o.flags[i]!);
          }
          return [{ count, ...(o.trace ? { trace: o.trace.map((t) => Array.from(t)) } : {}) }, body];
        });
      }
      case "capture.read": {
        this.kernelOnly(conn, op);
        const { from, max } = range(h);
        return encodeRecords(host.device.captureRead(from, max));
      }
      case "app.read":
      case "app.notify": {
        const { from, max } = range(h);
        let app = conn.app;
        if (conn.role === "kernel") {
          if (typeof h.app !== "number") throw new RequestError("bad-request", `${op} needs app`);
          app = h.app;
        } else if (h.app !== undefined && h.app !== conn.app) {
          throw new RequestError("not-allowed", `application ${conn.app} cannot read application ${String(h.app)}'s ring`);
        }
        if (op === "app.notify") return [{ notifications: host.device.appNotifications(app, from, max) }];
        return encodeRecords(host.device.appReceive(app, from, max));
      }
      case "lock":
        this.kernelOnly(conn, op);
        return host.lock(conn.owner).then((): [object] => [{}]);
      case "unlock":
        this.kernelOnly(conn, op);
        host.unlock(conn.owner);
        return [{}];
      case "confirm": {
        this.kernelOnly(conn, op);
        const decision = h.decision ?? "keep";
        if (decision !== "keep" && decision !== "rollback") throw new RequestError("bad-request", "decision must be keep or rollback");
        return [{ confirmed: host.confirm(decision) }];
      }
      case "shutdown":
        this.kernelOnly(conn, op);
        setImmediate(() => this.options.onShutdown?.());
        return [{}];
      default:
        // applications and connections (hostctl/apps): attach, detach, list, open, close, push, read, wait
        if (isAppsOp(op)) {
          const who = {
            role: conn.role,
            app: conn.app,
            onClose: (fn: () => void) => {
              conn.socket.once("close", fn);
              return () => void conn.socket.off("close", fn);
            },
          };
          return serveApps(host, who, op, h, frame.body).catch((e: unknown) => {
            throw e instanceof AppsError ? new RequestError(e.code, e.message) : e;
          });
        }
        throw new RequestError("unknown-op", `unknown op ${JSON.stringify(op)}`);
    }
  }
}

function range(h: Record<string, unknown>): { from: number; max: number } {
  const from = h.from ?? 0;
  const max = h.max ?? 1024;
  if (typeof from !== "number" || !Number.isInteger(from) || from < 0) throw new RequestError("bad-request", "from must be a ring index ≥ 0");
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_READ) throw new RequestError("bad-request", `max must be 1 … ${MAX_READ}`);
  return { from, max };
}


/** A qdisc-record update as the protocol carries it; every field checked (the daemon keeps it as given). */
function checkQdiscUpdate(raw: unknown): QdiscUpdate {
  const u = raw as Record<string, unknown>;
  const bad = (m: string) => new RequestError("bad-request", `qdisc.${m}`);
  if (u === null || typeof u !== "object" || Array.isArray(u)) throw bad("update must be an object");
  if (typeof u.expectRevision !== "number" || !Number.isInteger(u.expectRevision) || u.expectRevision < 0) throw bad("expectRevision must be an integer ≥ 0");
  if (u.state === null) return { expectRevision: u.expectRevision, state: null };
  try {
    return { expectRevision: u.expectRevision, state: checkQdiscState(u.state, "qdisc.state") };
  } catch (e) {
    if (e instanceof HostStateError) throw new RequestError("bad-request", e.message);
    throw e;
  }
}

function checkUpdate(raw: unknown): StateUpdate {
  const u = raw as Record<string, unknown>;
  if (u === null || typeof u !== "object") throw new RequestError("bad-request", "update must be an object");
  if (typeof u.expectRevision !== "number" || !Number.isInteger(u.expectRevision) || u.expectRevision < 0) throw new RequestError("bad-request", "update.expectRevision must be an integer ≥ 0");
  let state = null;
  if (u.state !== null) {
    try {
      state = checkHostState(u.state, "update.state");
    } catch (e) {
      if (e instanceof HostStateError) throw new RequestError("bad-request", e.message);
      throw e;
    }
  }
  const out: StateUpdate = { expectRevision: u.expectRevision, state };
  if (u.confirmWithinMs !== undefined) {
    if (typeof u.confirmWithinMs !== "number" || !Number.isInteger(u.confirmWithinMs) || u.confirmWithinMs < 0 || u.confirmWithinMs > MAX_CONFIRM_MS) throw new RequestError("bad-request", "update.confirmWithinMs must be 0 … 86400000");
    out.confirmWithinMs = u.confirmWithinMs;
  }
  if (u.carryCounters !== undefined) {
    if (!Array.isArray(u.carryCounters) || !u.carryCounters.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < 65536)) throw new RequestError("bad-request", "update.carryCounters must be counter ids");
    out.carryCounters = u.carryCounters as number[];
  }
  return out;
}
