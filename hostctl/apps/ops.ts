/**
 * The process view's requests on the daemon's socket (hostctl/daemon/PROTOCOL.md, "Applications and
 * connections"): every header field is checked here, then AppService does the work. The kernel attaches,
 * detaches, lists and opens; an application may push to, read from and wait on its own connections only.
 */
import { MAX_RING_SLOTS, MIN_RING_SLOTS, validRingSlots } from "../../fpga-model/rings.js";
import { decodePackets, encodeRecords } from "../daemon/protocol.js";
import type { NicHost } from "../daemon/nic-host.js";
import { parseEndpoint, parseProtocol, type Endpoint } from "./endpoints.js";
import { AppsError, AppService, type AppSpec, type ConnSpec, type Requester } from "./service.js";

export const APPS_OPS = ["app.attach", "app.detach", "app.list", "app.coalesce", "app.wait", "conn.open", "conn.close", "conn.push", "conn.read"] as const;
export type AppsOp = (typeof APPS_OPS)[number];

export function isAppsOp(op: string): op is AppsOp {
  return (APPS_OPS as readonly string[]).includes(op);
}

const MAX_READ = 65536;
const MAX_WAIT_MS = 3600 * 1000;
const MAX_PUSH = 4096;

function bad(message: string): never {
  throw new AppsError("bad-request", message);
}

function integer(h: Record<string, unknown>, key: string, min: number, max: number, fallback?: number): number {
  const v = h[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) bad(`${key} must be an integer from ${min} to ${max}`);
  return v as number;
}

function text(h: Record<string, unknown>, key: string, required: boolean, max = 4096): string | undefined {
  const v = h[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || v === "" || v.length > max || /[\0\n]/.test(v)) bad(`${key} must be a non-empty string of at most ${max} characters without newlines`);
  return v as string;
}

function endpoint(h: Record<string, unknown>, key: string, anyAllowed: boolean): Endpoint | undefined {
  const v = text(h, key, false, 128);
  if (v === undefined) return undefined;
  const e = parseEndpoint(v, anyAllowed);
  if (typeof e === "string") bad(`${key}: ${e}`);
  return e as Endpoint;
}

function slots(h: Record<string, unknown>, key: string): number | undefined {
  if (h[key] === undefined) return undefined;
  const n = integer(h, key, MIN_RING_SLOTS, MAX_RING_SLOTS);
  if (!validRingSlots(n)) bad(`${key} must be a power of two from ${MIN_RING_SLOTS} to ${MAX_RING_SLOTS}`);
  return n;
}

export function parseAppSpec(h: Record<string, unknown>): AppSpec {
  const cgroup = text(h, "cgroup", false);
  if (cgroup !== undefined && !cgroup.startsWith("/")) bad(`cgroup must be a path starting with / (like /system.slice/postgresql.service), not '${cgroup}'`);
  const user = text(h, "user", false, 256);
  const group = text(h, "group", false, 256);
  return {
    pid: integer(h, "pid", 1, 0xfffffffe),
    uid: integer(h, "uid", 0, 0xfffffffe),
    gid: integer(h, "gid", 0, 0xfffffffe, 0),
    cmd: text(h, "cmd", true, 256)!,
    ...(user !== undefined ? { user } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(cgroup !== undefined ? { cgroup } : {}),
  };
}

export function parseConnSpec(h: Record<string, unknown>): ConnSpec {
  const app = integer(h, "app", 1, 0xffff);
  const kind = h.kind ?? (h.remote === undefined ? "listen" : "connection");
  if (kind !== "connection" && kind !== "listen" && kind !== "raw") bad(`kind must be connection, listen or raw, not ${JSON.stringify(kind)}`);
  const rxSlots = slots(h, "rxSlots");
  const txSlots = slots(h, "txSlots");
  const common = { app, ...(rxSlots ? { rxSlots } : {}), ...(txSlots ? { txSlots } : {}) };
  if (kind === "raw") {
    if (h.local !== undefined || h.remote !== undefined || h.proto !== undefined) bad("a raw connection has no protocol, local or remote endpoint");
    return { ...common, kind };
  }
  const protoText = h.proto === undefined ? "tcp" : String(h.proto);
  const proto = parseProtocol(protoText);
  if (proto === undefined) bad(`proto must be tcp, udp or sctp, not '${protoText}'`);
  const local = endpoint(h, "local", kind === "listen");
  if (!local) bad(`a ${kind === "listen" ? "listening socket" : "connection"} needs local ADDRESS:PORT`);
  if (kind === "listen") {
    if (h.remote !== undefined) bad("a listening socket has no remote endpoint");
    return { ...common, kind, proto, local };
  }
  const remote = endpoint(h, "remote", false);
  if (!remote) bad("a connection needs remote ADDRESS:PORT");
  return { ...common, kind, proto, local, remote };
}


function kernelOnly(who: Requester, op: string): void {
  if (who.role !== "kernel") throw new AppsError("not-allowed", `${op} is for the host kernel; application ${who.app} may use conn.push, conn.read and app.wait on its own connections`);
}

/** Serve one request of the process view. */
export async function serveApps(host: NicHost, who: Requester, op: AppsOp, h: Record<string, unknown>, body: Uint8Array): Promise<[object, Uint8Array?]> {
  const svc = AppService.for(host);
  switch (op) {
    case "app.attach":
      kernelOnly(who, op);
      return [{ app: svc.attach(parseAppSpec(h)) }];
    case "app.detach": {
      kernelOnly(who, op);
      const r = svc.detach(integer(h, "app", 1, 0xffff));
      return [{ app: r.app, connections: r.connections }];
    }
    case "app.list":
      kernelOnly(who, op);
      return [svc.list()];
    case "app.coalesce":
      kernelOnly(who, op);
      svc.coalesce(integer(h, "app", 1, 0xffff), integer(h, "usecs", 0, 1_000_000), integer(h, "frames", 1, 0xffff, 1));
      return [{}];
    case "conn.open":
      kernelOnly(who, op);
      return [{ conn: svc.open(parseConnSpec(h)) }];
    case "conn.close":
      kernelOnly(who, op);
      return [{ conn: svc.close(integer(h, "conn", 1, 0xffffffff)) }];
    case "conn.push": {
      const conn = integer(h, "conn", 1, 0xffffffff);
      const count = integer(h, "count", 0, MAX_PUSH);
      const packets = decodePackets(body, count);
      if ("error" in packets) bad(packets.error);
      return [svc.push(who, conn, (packets as { frames: Uint8Array[] }).frames)];
    }
    case "conn.read": {
      const conn = integer(h, "conn", 1, 0xffffffff);
      return encodeRecords(svc.read(who, conn, integer(h, "from", 0, 0xffffffff, 0), integer(h, "max", 1, MAX_READ, 1024)));
    }
    case "app.wait": {
      const app = who.role === "app" ? who.app : integer(h, "app", 1, 0xffff);
      if (who.role === "app" && h.app !== undefined && h.app !== who.app) throw new AppsError("not-allowed", `application ${who.app} cannot wait on application ${String(h.app)}'s queue`);
      const r = await svc.wait(app, integer(h, "head", 0, 0xffffffff), integer(h, "drops", 0, 0xffffffff), integer(h, "timeoutMs", 0, MAX_WAIT_MS, MAX_WAIT_MS), who.onClose);
      return [r];
    }
  }
}
