/**
 * The daemon's client side: a NicTransport over the Unix socket (PROTOCOL.md). Requests are pipelined (each
 * carries an id; replies may arrive in any order).
 */
import { createConnection, type Socket } from "node:net";
import { emptyOutcome, type AppNotification, type AppRecord, type BatchOutcome, type CaptureRecord, type PacketBatch } from "../../fpga-model/packets.js";
import type { Transaction } from "../driver/transaction.js";
import { TransportError, type HostStateRecord, type NicTransport, type QdiscRecord, type QdiscUpdate, type StateUpdate, type TransactResult } from "../driver/transport.js";
import { encodeFrame, encodePackets, FrameDecoder, OUTCOME_RECORD, u32Array, type Frame } from "./protocol.js";

export interface ConnectOptions {
  role?: "kernel" | "app";
  app?: number;
}

/** The daemon refused a request (its error code and message). */
export class DaemonError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DaemonError";
  }
}

export class SocketTransport implements NicTransport {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void }>();
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly name: string,
  ) {
    const decoder = new FrameDecoder();
    socket.on("data", (data: Buffer) => {
      for (const d of decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) {
        if (d.kind !== "frame") {
          this.failAll(new TransportError(`the NIC daemon sent a malformed reply: ${d.message}`));
          socket.destroy();
          return;
        }
        const id = d.frame.header.id;
        const w = typeof id === "number" ? this.waiting.get(id) : undefined;
        if (!w) continue;
        this.waiting.delete(id as number);
        w.resolve(d.frame);
      }
    });
    socket.on("error", (e) => this.failAll(new TransportError(`connection to the NIC daemon at ${name} failed: ${e.message}`)));
    socket.on("close", () => this.failAll(new TransportError(`the NIC daemon at ${name} closed the connection`)));
  }

  /** Connect and say hello; throws TransportError in the user's words when no daemon answers. */
  static async connect(path: string, opts: ConnectOptions = {}): Promise<SocketTransport> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT" || e.code === "ECONNREFUSED") reject(new TransportError(`no NIC daemon at ${path} (start one with \`hostctl nic start\`, or use --nic local)`));
        else if (e.code === "EACCES") reject(new TransportError(`${path}: Permission denied`));
        else reject(new TransportError(`cannot reach the NIC daemon at ${path}: ${e.message}`));
      });
    });
    const t = new SocketTransport(socket, path);
    await t.request({ op: "hello", role: opts.role ?? "kernel", ...(opts.app !== undefined ? { app: opts.app } : {}) });
    return t;
  }

  private failAll(e: Error): void {
    this.closedError ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Send a request; resolves with the reply frame, rejects with DaemonError for an error reply. */
  request(header: Record<string, unknown>, body?: Uint8Array): Promise<Frame> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame({ ...header, id }, body);
    } catch (e) {
      if (e instanceof RangeError) return Promise.reject(new TransportError(`the request is too large for one message to the NIC daemon (${e.message})`));
      throw e;
    }
    return new Promise<Frame>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (f) => {
          if (f.header.ok === true) resolve(f);
          else {
            const err = f.header.error as { code?: string; message?: string } | undefined;
            reject(new DaemonError(err?.code ?? "error", err?.message ?? "the NIC daemon refused the request"));
          }
        },
        reject,
      });
      this.socket.write(bytes);
    });
  }

  async transact(txn: Transaction, update?: StateUpdate, qdisc?: QdiscUpdate): Promise<TransactResult> {
    const f = await this.request({ op: "txn", ...(update ? { update } : {}), ...(qdisc ? { qdisc } : {}) }, txn.encode());
    const h = f.header as Record<string, unknown>;
    return {
      reads: u32Array(f.body),
      executed: h.executed as number,
      writes: h.writes as number,
      revision: h.revision as number,
      ...(h.conflict ? { conflict: true } : {}),
      ...(h.error ? { error: h.error as TransactResult["error"] & object } : {}),
    };
  }

  async inject(batch: PacketBatch): Promise<BatchOutcome> {
    const n = batch.frames.length;
    const f = await this.request(
      { op: "inject", count: n, dir: batch.dir ?? 0, port: batch.port ?? 0, linktype: batch.linktype ?? 1, trace: batch.trace === true },
      encodePackets(batch.frames, batch.wireLengths, batch.timesUs),
    );
    const out = emptyOutcome(n, batch.trace === true);
    const view = new DataView(f.body.buffer, f.body.byteOffset, f.body.byteLength);
    if (f.body.length !== n * OUTCOME_RECORD) throw new TransportError(`the NIC daemon returned ${f.body.length} outcome bytes for ${n} packets`);
    for (let i = 0; i < n; i++) {
      const at = i * OUTCOME_RECORD;
      out.generations[i] = view.getUint32(at, true);
      out.verdicts[i] = view.getUint32(at + 4, true);
      out.marks[i] = view.getUint32(at + 8, true);
      out.cycles[i] = view.getUint32(at + 12, true);
      out.flags[i] = view.getUint8(at + 16);
    }
    const trace = f.header.trace as number[][] | undefined;
    if (out.trace && trace) trace.forEach((t, i) => (out.trace![i] = Uint32Array.from(t)));
    return out;
  }

  private static records<T extends { caplen: number }>(f: Frame): (Omit<T, "caplen"> & { data: Uint8Array })[] {
    const list = (f.header.records as T[]) ?? [];
    let at = 0;
    return list.map((r) => {
      const { caplen, ...rest } = r;
      const data = f.body.slice(at, at + caplen);
      at += caplen;
      return { ...rest, data };
    });
  }

  async captureRead(from: number, max: number): Promise<CaptureRecord[]> {
    return SocketTransport.records<CaptureRecord & { caplen: number }>(await this.request({ op: "capture.read", from, max })) as CaptureRecord[];
  }

  async appReceive(app: number, from: number, max: number): Promise<AppRecord[]> {
    return SocketTransport.records<AppRecord & { caplen: number }>(await this.request({ op: "app.read", app, from, max })) as AppRecord[];
  }

  async appNotifications(app: number, from: number, max: number): Promise<AppNotification[]> {
    return (await this.request({ op: "app.notify", app, from, max })).header.notifications as AppNotification[];
  }

  async getState(): Promise<HostStateRecord> {
    const h = (await this.request({ op: "state" })).header;
    return { revision: h.revision as number, state: (h.state as HostStateRecord["state"]) ?? null, ...(h.pendingConfirm ? { pendingConfirm: h.pendingConfirm as HostStateRecord["pendingConfirm"] & object } : {}) };
  }

  async getQdiscState(): Promise<QdiscRecord> {
    const h = (await this.request({ op: "qdisc.state" })).header;
    return { revision: h.revision as number, state: (h.state as QdiscRecord["state"]) ?? null };
  }

  async confirm(decision: "keep" | "rollback" = "keep"): Promise<boolean> {
    return (await this.request({ op: "confirm", decision })).header.confirmed === true;
  }

  async lock(): Promise<void> {
    await this.request({ op: "lock" });
  }

  async unlock(): Promise<void> {
    await this.request({ op: "unlock" });
  }

  /** Ask the daemon to stop (it replies first). */
  async shutdown(): Promise<void> {
    await this.request({ op: "shutdown" });
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}
