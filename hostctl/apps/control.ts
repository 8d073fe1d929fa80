/**
 * The kernel's process-view calls, for hostctl commands, the demo and tests: attach and detach applications,
 * open and close their connections, set interrupt moderation, list everything with its counters. `attachHost`
 * attaches every application of a host description (HOST.json) with its listening sockets and connections.
 */
import type { HostDescription } from "../../compiler/policy/host.js";
import { formatIPv4, formatIPv6 } from "../../overlay-isa/index.js";
import type { NicTransport } from "../driver/transport.js";
import { channelOf, type AppsChannel } from "./channel.js";
import { PROTO_NAMES } from "./endpoints.js";
import type { AppInfo, AppListing, ConnInfo } from "./service.js";

export interface AttachRequest {
  pid: number;
  uid: number;
  gid?: number;
  user?: string;
  group?: string;
  cmd: string;
  cgroup?: string;
}

export interface OpenRequest {
  app: number;
  kind?: "connection" | "listen" | "raw";
  proto?: string;
  /** ADDRESS:PORT (`*:PORT` for a listener on every address) */
  local?: string;
  remote?: string;
  rxSlots?: number;
  txSlots?: number;
}

export class AppControl {
  readonly channel: AppsChannel;

  constructor(transport: NicTransport | AppsChannel) {
    this.channel = "call" in transport ? transport : channelOf(transport);
  }

  async attach(req: AttachRequest): Promise<AppInfo> {
    return (await this.channel.call("app.attach", { ...req })).header.app as AppInfo;
  }

  async detach(app: number): Promise<{ app: AppInfo; connections: number }> {
    const h = (await this.channel.call("app.detach", { app })).header;
    return { app: h.app as AppInfo, connections: h.connections as number };
  }

  async open(req: OpenRequest): Promise<ConnInfo> {
    return (await this.channel.call("conn.open", { ...req })).header.conn as ConnInfo;
  }

  async close(conn: number): Promise<ConnInfo> {
    return (await this.channel.call("conn.close", { conn })).header.conn as ConnInfo;
  }

  async coalesce(app: number, usecs: number, frames = 1): Promise<void> {
    await this.channel.call("app.coalesce", { app, usecs, frames });
  }

  async list(): Promise<AppListing> {
    return (await this.channel.call("app.list")).header as unknown as AppListing;
  }

  /** Attach the applications of a host description, each with its listening sockets and connections. */
  async attachHost(host: HostDescription): Promise<{ app: AppInfo; conns: ConnInfo[] }[]> {
    const out: { app: AppInfo; conns: ConnInfo[] }[] = [];
    const nameOf = (m: Map<string, number>, id: number) => [...m].find(([, v]) => v === id)?.[0];
    for (const a of host.applications) {
      const user = a.user ?? nameOf(host.users, a.uid);
      const group = a.group ?? nameOf(host.groups, a.gid);
      const info = await this.attach({
        pid: a.pid,
        uid: a.uid,
        gid: a.gid,
        cmd: a.cmd,
        ...(user !== undefined ? { user } : {}),
        ...(group !== undefined ? { group } : {}),
        ...(a.cgroup !== undefined ? { cgroup: a.cgroup } : {}),
      });
      const conns: ConnInfo[] = [];
      for (const l of a.listen) conns.push(await this.open({ app: info.app, kind: "listen", proto: PROTO_NAMES[l.proto] ?? String(l.proto), local: `${l.address === undefined ? "*" : addressText(l.address)}:${l.port}` }));
      for (const c of a.connections) {
        conns.push(await this.open({ app: info.app, kind: "connection", proto: PROTO_NAMES[c.proto] ?? String(c.proto), local: `${addressText(c.local.addr)}:${c.local.port}`, remote: `${addressText(c.remote.addr)}:${c.remote.port}` }));
      }
      out.push({ app: info, conns });
    }
    return out;
  }
}

/** A host description's address (IPv4 up to 32 bits, else IPv6) as endpoint text. */
function addressText(v: bigint): string {
  return v <= 0xffffffffn ? formatIPv4(Number(v)) : `[${formatIPv6(v)}]`;
}
