/**
 * The kernel's side of the process view, inside the NIC daemon (one per NicHost): it attaches and detaches
 * applications and opens and closes their connections — register transactions on the NIC's application and
 * connection tables — and keeps what the NIC has no room for (user, group, command and cgroup names). It is the
 * interrupt handler for notification queues: an application that waits on a quiet queue sleeps here (the
 * kernel arms the queue's interrupt and does not poll) until the NIC interrupts, the application is detached,
 * or its wait times out. After every commit it rewrites the new program's owner name ids before any packet of
 * the new generation is processed (NicHost.onChange runs synchronously after the transaction).
 *
 * It also plays the MMU: an application may write the transmit descriptors and read the receive records of its
 * own connections' rings in host memory, nothing else.
 */
import { KERNEL, type NicDevice } from "../../fpga-model/nic-device.js";
import type { ConnRecord } from "../../fpga-model/packets.js";
import {
  APP_REG,
  appPageOffset,
  APPT_CMD,
  CONN_CMD,
  CONN_KIND,
  CONN_KIND_IPV6,
  CONN_REG,
  connPageOffset,
  ERR,
  ERROR_TEXT,
  OS_STAT_BASE,
  OS_STATS,
  REG,
  type OsStatName,
} from "../../fpga-model/registers.js";
import { SLOT_BYTES } from "../../fpga-model/rings.js";
import type { NicHost } from "../daemon/nic-host.js";
import { executeTransaction, OP_READ, OP_WRITE, type RegisterError } from "../driver/transaction.js";
import { formatEndpoint, PROTO_NAMES, type Endpoint } from "./endpoints.js";
import { groupName, nameId, PolicyStringCache, userName, type PolicyStrings } from "./names.js";
import { cgroupId } from "../../compiler/policy/cgroup.js";

/** A request the process view refuses; `code` goes back over the socket (PROTOCOL.md). */
export class AppsError extends Error {
  constructor(
    readonly code: "bad-request" | "not-allowed" | "refused" | "not-found",
    message: string,
  ) {
    super(message);
    this.name = "AppsError";
  }
}

export interface AppSpec {
  pid: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  cmd: string;
  cgroup?: string;
}

export interface AppInfo {
  app: number;
  pid: number;
  uid: number;
  gid: number;
  user: string;
  group: string;
  cmd: string;
  cgroup?: string;
  attachedAt: string;
  detachedAt?: string;
}

export type ConnKindName = "connection" | "listen" | "raw";

export interface ConnSpec {
  app: number;
  kind: ConnKindName;
  /** 6, 17 or 132 (not for raw) */
  proto?: number;
  local?: Endpoint;
  remote?: Endpoint;
  rxSlots?: number;
  txSlots?: number;
}

export interface ConnInfo {
  conn: number;
  app: number;
  kind: ConnKindName;
  proto?: string;
  local?: string;
  remote?: string;
  rxSlots: number;
  txSlots: number;
  /** BAR0 offset of its page */
  page: number;
}

export interface WaitResult {
  /** ready: something had happened already; interrupt: the NIC woke the sleeper; timeout; detached */
  woke: "ready" | "interrupt" | "timeout" | "detached";
  head: number;
  drops: number;
}

/** Who is asking: the kernel, or application `app` (its socket's hello). */
export interface Requester {
  role: "kernel" | "app";
  app: number;
  /** run `fn` when the requester's connection ends (a sleeping waiter is then forgotten); returns the undo */
  onClose?: (fn: () => void) => () => void;
}

interface Waiter {
  app: number;
  head: number;
  drops: number;
  resolve: (r: WaitResult) => void;
  timer: NodeJS.Timeout | undefined;
  /** stop listening for the requester's connection to end */
  forget: (() => void) | undefined;
}

const HISTORY = 256;
const KIND_NAMES: Record<number, ConnKindName> = { [CONN_KIND.EXACT]: "connection", [CONN_KIND.LISTEN]: "listen", [CONN_KIND.RAW]: "raw" };

/** A device refusal in the user's words. */
export function describeRefusal(e: Pick<RegisterError, "code" | "arg0" | "arg1">): string {
  switch (e.code) {
    case ERR.APP_TABLE_FULL:
      return `the NIC's application table is full: it holds ${e.arg0} applications`;
    case ERR.NO_APP:
      return `application ${e.arg0} is not attached`;
    case ERR.CONN_TABLE_FULL:
      return `the NIC's connection table is full: it holds ${e.arg0} connections`;
    case ERR.QUEUE_MEMORY:
      return `not enough queue memory for the connection's rings: they need ${e.arg0} bytes, ${e.arg1} bytes are free`;
    case ERR.CONN_EXISTS:
      return `connection ${e.arg0} already has this address (address in use)`;
    case ERR.NO_CONN:
      return `connection ${e.arg0} is not open`;
    default:
      return ERROR_TEXT[e.code] ?? `device error ${e.code}`;
  }
}

const SERVICES = new WeakMap<NicHost, AppService>();

export class AppService {
  private readonly apps = new Map<number, AppInfo>();
  private readonly conns = new Map<number, ConnInfo>();
  private readonly history: AppInfo[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly interrupted = new Set<number>();
  private bottomHalfQueued = false;
  private moderationTimer: { timer: NodeJS.Timeout; dueUs: number } | undefined;
  private readonly strings: PolicyStringCache;
  private synced = { generation: -1, revision: -1 };
  /** how sleepers were woken, and the MMU's refusals */
  readonly counts = { waits: 0, sleeps: 0, ready: 0, interrupt: 0, timeout: 0, detached: 0, interruptsHandled: 0, memoryViolations: 0 };

  private constructor(readonly host: NicHost) {
    this.strings = new PolicyStringCache((m) => host.options.log?.(m));
    host.device.setInterruptSink({ raise: (app) => this.interrupt(app), schedule: (due) => this.scheduleModeration(due) });
    host.onChange(() => this.syncNames());
  }

  /** The service of a NIC host (made on first use). */
  static for(host: NicHost): AppService {
    let s = SERVICES.get(host);
    if (!s) {
      s = new AppService(host);
      SERVICES.set(host, s);
    }
    return s;
  }

  private get device(): NicDevice {
    return this.host.device;
  }

  /** Kernel register accesses in one transaction; a refusal becomes an AppsError in the user's words. */
  private txn(ops: { kind: number; offset: number; value: number }[]): number[] {
    const r = executeTransaction(this.device, ops, KERNEL);
    if (r.error) throw new AppsError("refused", describeRefusal(r.error));
    return r.reads;
  }

  private static w(offset: number, value: number) {
    return { kind: OP_WRITE, offset, value: value >>> 0 };
  }

  private static r(offset: number) {
    return { kind: OP_READ, offset, value: 0 };
  }

  // ---- owner names ---------------------------------------------------------------------------------------

  /** The strings of the program now active, when the host state describes it (else none: ids 0). */
  private activeStrings(): PolicyStrings {
    const state = this.host.state;
    const generation = this.device.read32(REG.ACTIVE_GEN);
    if (!state || state.generation !== generation) return { cmd: [], cgroup: [] };
    return this.strings.stringsOf(state.policy);
  }

  /** After a commit (or rollback): give every application the new active program's name ids. */
  private syncNames(): void {
    const generation = this.device.read32(REG.ACTIVE_GEN);
    if (generation === this.synced.generation && this.host.revision === this.synced.revision) return;
    this.synced = { generation, revision: this.host.revision };
    if (this.apps.size === 0) return;
    const strings = this.activeStrings();
    const ops = [];
    for (const a of this.apps.values()) {
      ops.push(AppService.w(REG.APPT_SELECT, a.app), AppService.w(REG.APPT_CMD, nameId(strings.cmd, a.cmd)), AppService.w(REG.APPT_CGROUP, cgroupId(strings.cgroup, a.cgroup)), AppService.w(REG.APPT_CTRL, APPT_CMD.UPDATE));
    }
    const r = executeTransaction(this.device, ops, KERNEL);
    if (r.error) this.host.options.log?.(`owner names: the NIC refused an update: ${describeRefusal(r.error)}`);
  }

  // ---- applications --------------------------------------------------------------------------------------

  attach(spec: AppSpec): AppInfo {
    for (const a of this.apps.values()) if (a.pid === spec.pid) throw new AppsError("refused", `pid ${spec.pid} is already attached as application ${a.app} (${a.cmd})`);
    const strings = this.activeStrings();
    const [app] = this.txn([
      AppService.w(REG.APPT_PID, spec.pid),
      AppService.w(REG.APPT_UID, spec.uid),
      AppService.w(REG.APPT_GID, spec.gid),
      AppService.w(REG.APPT_CMD, nameId(strings.cmd, spec.cmd)),
      AppService.w(REG.APPT_CGROUP, cgroupId(strings.cgroup, spec.cgroup)),
      AppService.w(REG.APPT_SHADOW_CMD, 0),
      AppService.w(REG.APPT_SHADOW_CGROUP, 0),
      AppService.w(REG.APPT_CTRL, APPT_CMD.ATTACH),
      AppService.r(REG.APPT_RESULT),
    ]) as [number];
    const info: AppInfo = {
      app,
      pid: spec.pid,
      uid: spec.uid,
      gid: spec.gid,
      user: spec.user ?? userName(spec.uid) ?? String(spec.uid),
      group: spec.group ?? groupName(spec.gid) ?? String(spec.gid),
      cmd: spec.cmd,
      ...(spec.cgroup !== undefined ? { cgroup: spec.cgroup } : {}),
      attachedAt: new Date().toISOString(),
    };
    this.apps.set(app, info);
    return info;
  }

  /** Detach: one register write removes everything of the application on the NIC; its sleepers wake. */
  detach(app: number): { app: AppInfo; connections: number } {
    const info = this.apps.get(app);
    if (!info) throw new AppsError("not-found", `application ${app} is not attached`);
    this.txn([AppService.w(REG.APPT_SELECT, app), AppService.w(REG.APPT_CTRL, APPT_CMD.DETACH)]);
    let connections = 0;
    for (const [id, c] of this.conns) {
      if (c.app !== app) continue;
      this.conns.delete(id);
      connections++;
    }
    this.apps.delete(app);
    const gone = { ...info, detachedAt: new Date().toISOString() };
    this.history.push(gone);
    if (this.history.length > HISTORY) this.history.shift();
    for (const w of [...this.waiters]) if (w.app === app) this.finish(w, "detached", 0, 0);
    return { app: gone, connections };
  }

  application(app: number): AppInfo | undefined {
    return this.apps.get(app);
  }

  // ---- connections ---------------------------------------------------------------------------------------

  open(spec: ConnSpec): ConnInfo {
    const owner = this.apps.get(spec.app);
    if (!owner) throw new AppsError("not-found", `application ${spec.app} is not attached`);
    const kind = spec.kind === "raw" ? CONN_KIND.RAW : spec.kind === "listen" ? CONN_KIND.LISTEN : CONN_KIND.EXACT;
    const local = spec.local?.address;
    const remote = spec.remote?.address;
    if (local && remote && local.v6 !== remote.v6) throw new AppsError("bad-request", "the local and remote addresses are of different families");
    const v6 = (local ?? remote)?.v6 ?? false;
    const ops = [
      AppService.w(REG.CONN_SELECT, 0),
      AppService.w(REG.CONN_KIND, kind | ((spec.proto ?? 0) << 8) | (v6 ? CONN_KIND_IPV6 : 0)),
      AppService.w(REG.CONN_APP, spec.app),
    ];
    for (let w = 0; w < 4; w++) {
      if (local?.words[w]) ops.push(AppService.w(REG.CONN_LADDR + 4 * w, local.words[w]!));
      if (remote?.words[w]) ops.push(AppService.w(REG.CONN_RADDR + 4 * w, remote.words[w]!));
    }
    ops.push(AppService.w(REG.CONN_PORTS, (((spec.local?.port ?? 0) << 16) | (spec.remote?.port ?? 0)) >>> 0));
    if (spec.rxSlots) ops.push(AppService.w(REG.CONN_RX_SLOTS, spec.rxSlots));
    if (spec.txSlots) ops.push(AppService.w(REG.CONN_TX_SLOTS, spec.txSlots));
    ops.push(AppService.w(REG.CONN_CTRL, CONN_CMD.OPEN), AppService.r(REG.CONN_RESULT), AppService.r(REG.CONN_RX_SLOTS), AppService.r(REG.CONN_TX_SLOTS));
    const [conn, rxSlots, txSlots] = this.txn(ops) as [number, number, number];
    const info: ConnInfo = {
      conn,
      app: spec.app,
      kind: KIND_NAMES[kind]!,
      ...(kind !== CONN_KIND.RAW ? { proto: PROTO_NAMES[spec.proto!] ?? String(spec.proto), local: formatEndpoint(spec.local) } : {}),
      ...(kind === CONN_KIND.EXACT ? { remote: formatEndpoint(spec.remote) } : {}),
      rxSlots,
      txSlots,
      page: connPageOffset(conn),
    };
    this.conns.set(conn, info);
    return info;
  }

  close(conn: number): ConnInfo {
    const info = this.conns.get(conn);
    if (!info) throw new AppsError("not-found", `connection ${conn} is not open`);
    this.txn([AppService.w(REG.CONN_SELECT, conn), AppService.w(REG.CONN_CTRL, CONN_CMD.CLOSE)]);
    this.conns.delete(conn);
    return info;
  }

  connection(conn: number): ConnInfo | undefined {
    return this.conns.get(conn);
  }

  /** Interrupt moderation of an application (ethtool -C rx-usecs / rx-frames). */
  coalesce(app: number, usecs: number, frames: number): void {
    if (!this.apps.has(app)) throw new AppsError("not-found", `application ${app} is not attached`);
    this.txn([AppService.w(REG.APPT_SELECT, app), AppService.w(REG.APPT_IRQ_USECS, usecs), AppService.w(REG.APPT_IRQ_FRAMES, frames)]);
  }

  // ---- listing -------------------------------------------------------------------------------------------

  list(): AppListing {
    const apps = [...this.apps.values()].sort((a, b) => a.app - b.app);
    const appRegs = apps.flatMap((a) => [
      AppService.w(REG.APPT_SELECT, a.app),
      AppService.r(REG.APPT_CONNS),
      AppService.r(REG.APPT_IRQ_USECS),
      AppService.r(REG.APPT_IRQ_FRAMES),
      AppService.r(REG.APPT_IRQ_COUNT),
      AppService.r(appPageOffset(a.app) + APP_REG.APP_NOTIFY_HEAD),
      AppService.r(appPageOffset(a.app) + APP_REG.APP_NOTIFY_TAIL),
      AppService.r(appPageOffset(a.app) + APP_REG.APP_NOTIFY_DROPS),
      AppService.r(appPageOffset(a.app) + APP_REG.APP_VIOLATIONS),
    ]);
    const conns = [...this.conns.values()].sort((a, b) => a.conn - b.conn);
    const connFields = ["CP_RX_HEAD", "CP_RX_TAIL", "CP_RX_PACKETS", "CP_RX_DROPS", "CP_TX_HEAD", "CP_TX_TAIL", "CP_TX_SENT", "CP_TX_DROPPED", "CP_TX_REFUSED"] as const;
    const connRegs = conns.flatMap((c) => connFields.map((f) => AppService.r(c.page + CONN_REG[f])));
    const statRegs = [AppService.w(REG.STATS_LATCH, 1), ...OS_STATS.flatMap((_, i) => [AppService.r(OS_STAT_BASE + 8 * i), AppService.r(OS_STAT_BASE + 8 * i + 4)])];
    const capRegs = [REG.APPT_COUNT, REG.APPT_CAPACITY, REG.CONN_COUNT, REG.CONN_CAPACITY, REG.QMEM_BYTES, REG.QMEM_FREE].map((o) => AppService.r(o));
    const v = this.txn([...appRegs, ...connRegs, ...statRegs, ...capRegs]);
    let at = 0;
    const next = () => v[at++]!;
    const appRows = apps.map((a) => ({
      ...a,
      connections: next(),
      irq: { usecs: next(), frames: next(), count: next() },
      notify: { head: next(), tail: next(), drops: next() },
      violations: next(),
    }));
    const connRows = conns.map((c) => ({
      ...c,
      rx: { head: next(), tail: next(), packets: next(), drops: next() },
      tx: { head: next(), tail: next(), sent: next(), dropped: next(), refused: next() },
    }));
    const stats = {} as Record<OsStatName, number>;
    for (const [name] of OS_STATS) {
      const lo = next();
      const hi = next();
      stats[name] = hi * 0x1_0000_0000 + lo;
    }
    const [appsUsed, appsCapacity, connsUsed, connsCapacity, queueMemory, queueMemoryFree] = [next(), next(), next(), next(), next(), next()];
    return {
      apps: appRows,
      connections: connRows,
      detached: [...this.history],
      capacity: { apps: appsCapacity, appsUsed, connections: connsCapacity, connectionsUsed: connsUsed, queueMemory, queueMemoryFree, descriptorBytes: SLOT_BYTES },
      stats,
      wakeups: { ...this.counts },
    };
  }

  /** The owner names of (app, pid), attached now or detached lately (capture -P). */
  ownerNames(app: number, pid: number): AppInfo | undefined {
    const a = this.apps.get(app);
    if (a && a.pid === pid) return a;
    for (let i = this.history.length - 1; i >= 0; i--) if (this.history[i]!.app === app && this.history[i]!.pid === pid) return this.history[i];
    return undefined;
  }

  // ---- host memory (the MMU) -------------------------------------------------------------------------------

  private ownConnection(who: Requester, conn: number): ConnInfo {
    const info = this.conns.get(conn);
    if (who.role === "app" && info?.app !== who.app) {
      this.counts.memoryViolations++;
      throw new AppsError("not-allowed", `application ${who.app} has no connection ${conn} mapped`);
    }
    if (!info) throw new AppsError("not-found", `connection ${conn} is not open`);
    return info;
  }

  /**
   * Write frames into the connection's free transmit descriptors and ring its doorbell (as the requester: the
   * NIC checks that the page is the requester's). Returns how many were posted (a full ring takes fewer).
   */
  push(who: Requester, conn: number, frames: readonly Uint8Array[]): { posted: number; tail: number } {
    const info = this.ownConnection(who, conn);
    const requester = who.role === "kernel" ? KERNEL : who.app;
    const tailReg = info.page + CONN_REG.CP_TX_TAIL;
    const tail = this.device.read32(tailReg, requester);
    for (const [i, f] of frames.entries()) if (f.length > SLOT_BYTES) throw new AppsError("bad-request", `frame ${i} has ${f.length} bytes; a descriptor buffer holds ${SLOT_BYTES}`);
    const posted = this.device.connTransmitWrite(conn, tail, frames);
    const next = (tail + posted) >>> 0;
    if (posted > 0) {
      const r = executeTransaction(this.device, [{ kind: OP_WRITE, offset: tailReg, value: next }], requester);
      if (r.error) throw new AppsError("refused", `the NIC refused the doorbell of connection ${conn}`);
      this.host.kick();
    }
    return { posted, tail: next };
  }

  /** Receive-ring records of the connection from ring index `from` (at least its tail), at most `max`. */
  read(who: Requester, conn: number, from: number, max: number): ConnRecord[] {
    this.ownConnection(who, conn);
    return this.device.connReceive(conn, from, max);
  }

  // ---- sleeping and waking -------------------------------------------------------------------------------

  /**
   * Sleep until application `app`'s notification queue moves past (head, drops) — what the application saw
   * when it last checked its rings — or it is detached, or `timeoutMs` passes. No polling: the kernel arms the
   * queue's interrupt and the NIC's interrupt wakes the sleeper.
   */
  wait(app: number, head: number, drops: number, timeoutMs: number, onClose?: Requester["onClose"]): Promise<WaitResult> {
    this.counts.waits++;
    if (!this.apps.has(app)) {
      this.counts.detached++;
      return Promise.resolve({ woke: "detached", head: 0, drops: 0 });
    }
    const page = appPageOffset(app);
    const [h, d] = this.txn([AppService.r(page + APP_REG.APP_NOTIFY_HEAD), AppService.r(page + APP_REG.APP_NOTIFY_DROPS)]) as [number, number];
    if (h !== head >>> 0 || d !== drops >>> 0) {
      this.counts.ready++;
      return Promise.resolve({ woke: "ready", head: h, drops: d });
    }
    this.counts.sleeps++;
    return new Promise<WaitResult>((resolve) => {
      const w: Waiter = { app, head: h, drops: d, resolve, timer: undefined, forget: undefined };
      w.timer = setTimeout(() => this.finish(w, "timeout", h, d), timeoutMs);
      this.waiters.add(w);
      w.forget = onClose?.(() => {
        if (this.waiters.delete(w)) clearTimeout(w.timer);
      });
      // arm: if a notification came after the check above, this fires at once
      this.txn([AppService.w(REG.APPT_SELECT, app), AppService.w(REG.APPT_IRQ_ARM, h)]);
    });
  }

  private finish(w: Waiter, woke: WaitResult["woke"], head: number, drops: number): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    w.forget?.();
    this.counts[woke]++;
    w.resolve({ woke, head, drops });
  }

  /** The interrupt itself: note it and run the handler after the device's current operation (a bottom half). */
  private interrupt(app: number): void {
    this.interrupted.add(app);
    if (this.bottomHalfQueued) return;
    this.bottomHalfQueued = true;
    queueMicrotask(() => this.bottomHalf());
  }

  private bottomHalf(): void {
    this.bottomHalfQueued = false;
    const apps = [...this.interrupted];
    this.interrupted.clear();
    for (const app of apps) {
      this.counts.interruptsHandled++;
      const sleepers = [...this.waiters].filter((w) => w.app === app);
      if (sleepers.length === 0) continue;
      const page = appPageOffset(app);
      const [head, drops] = this.txn([AppService.r(page + APP_REG.APP_NOTIFY_HEAD), AppService.r(page + APP_REG.APP_NOTIFY_DROPS)]) as [number, number];
      let rearm: number | undefined;
      for (const w of sleepers) {
        if (head !== w.head || drops !== w.drops) this.finish(w, "interrupt", head, drops);
        else rearm = head;
      }
      if (rearm !== undefined) this.txn([AppService.w(REG.APPT_SELECT, app), AppService.w(REG.APPT_IRQ_ARM, rearm)]);
    }
  }

  /** The moderation timer: a moderated interrupt is due at `dueUs` on the device clock. */
  private scheduleModeration(dueUs: number): void {
    if (this.moderationTimer && this.moderationTimer.dueUs <= dueUs) return;
    if (this.moderationTimer) clearTimeout(this.moderationTimer.timer);
    const delayMs = Math.max(0, (dueUs - this.device.now()) / 1000);
    const timer = setTimeout(() => {
      this.moderationTimer = undefined;
      const next = this.device.tickInterrupts();
      if (next !== undefined) this.scheduleModeration(next);
    }, delayMs);
    timer.unref?.();
    this.moderationTimer = { timer, dueUs };
  }

  /** Sleepers now (tests, listings). */
  get sleeping(): number {
    return this.waiters.size;
  }
}

export interface AppListing {
  apps: (AppInfo & { connections: number; irq: { usecs: number; frames: number; count: number }; notify: { head: number; tail: number; drops: number }; violations: number })[];
  connections: (ConnInfo & { rx: { head: number; tail: number; packets: number; drops: number }; tx: { head: number; tail: number; sent: number; dropped: number; refused: number } })[];
  detached: AppInfo[];
  capacity: { apps: number; appsUsed: number; connections: number; connectionsUsed: number; queueMemory: number; queueMemoryFree: number; descriptorBytes: number };
  stats: Record<OsStatName, number>;
  wakeups: AppService["counts"];
}
