/**
 * The host description (HOST.json): the host's addresses, users, groups and applications, with the ports each
 * application listens on and the connections it owns. The compiler resolves `owner user bob` through it; the
 * NIC (here the replay tool, later the NIC model's connection table) uses `OwnerTable` to find the owner of each
 * packet in both directions and fills the owner.* fields before the program runs.
 *
 *   { "addresses": ["10.0.0.2"], "users": { "bob": 1001 }, "groups": { "db": 120 },
 *     "applications": [ { "pid": 4242, "cmd": "postgres", "user": "bob", "uid": 1001, "gid": 1001,
 *       "cgroup": "/system.slice/postgresql.service",
 *       "listen": [ { "proto": "tcp", "port": 5432 } ],
 *       "connections": [ { "proto": "tcp", "local": "10.0.0.2:40000", "remote": "10.0.0.9:3306" } ] } ] }
 */
import { readFileSync } from "node:fs";
import { parseIPv4, parseIPv6 } from "../../overlay-isa/index.js";
import { PROTOCOLS } from "./catalog.js";
import { cgroupId } from "./cgroup.js";

export interface HostApplication {
  /** application id (the NIC's app table index); 1-based, assigned in order when absent */
  id: number;
  pid: number;
  cmd: string;
  user?: string;
  uid: number;
  group?: string;
  gid: number;
  cgroup?: string;
  listen: { proto: number; port: number; address?: bigint }[];
  connections: { proto: number; local: { addr: bigint; port: number }; remote: { addr: bigint; port: number } }[];
}

export interface HostDescription {
  addresses: bigint[];
  users: Map<string, number>;
  groups: Map<string, number>;
  applications: HostApplication[];
}

export class HostError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${file}: ${path ? path + ": " : ""}${detail}`);
    this.name = "HostError";
  }
  format(): string {
    return this.message;
  }
}

function parseAddress(text: string): bigint | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return BigInt(v4);
  return parseIPv6(text);
}

function parseEndpoint(text: string): { addr: bigint; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (!m) return undefined;
  const addr = parseAddress(m[1]!);
  const port = Number(m[2]);
  return addr === undefined || port > 65535 ? undefined : { addr, port };
}

/** Parse a host description from JSON text; every problem names the JSON path. */
export function parseHost(text: string, file = "HOST.json"): HostDescription {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new HostError(file, "", `not valid JSON: ${(e as Error).message}`);
  }
  const fail = (path: string, msg: string): never => {
    throw new HostError(file, path, msg);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("", "expected a JSON object");
  const obj = raw as Record<string, unknown>;
  const num = (v: unknown, path: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(path, "expected an integer from 0 to 4294967295");
    return v as number;
  };
  const str = (v: unknown, path: string): string => {
    if (typeof v !== "string" || v === "") fail(path, "expected a non-empty string");
    return v as string;
  };
  const proto = (v: unknown, path: string): number => {
    if (typeof v === "number") return num(v, path);
    const p = PROTOCOLS[str(v, path)];
    if (p === undefined) fail(path, `unknown protocol ${JSON.stringify(v)}`);
    return p!;
  };
  const users = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const [key, map] of [["users", users], ["groups", groups]] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(key, "expected an object of name: id");
    for (const [name, id] of Object.entries(v as object)) map.set(name, num(id, `${key}.${name}`));
  }
  const addresses: bigint[] = [];
  const addrList = obj.addresses ?? [];
  if (!Array.isArray(addrList)) fail("addresses", "expected an array of addresses");
  (addrList as unknown[]).forEach((a, i) => {
    const v = parseAddress(str(a, `addresses[${i}]`));
    if (v === undefined) fail(`addresses[${i}]`, `${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
    addresses.push(v!);
  });
  const apps = obj.applications ?? [];
  if (!Array.isArray(apps)) fail("applications", "expected an array");
  const applications: HostApplication[] = (apps as unknown[]).map((a, i) => {
    const p = `applications[${i}]`;
    if (typeof a !== "object" || a === null) fail(p, "expected an object");
    const app = a as Record<string, unknown>;
    const user = app.user === undefined ? undefined : str(app.user, `${p}.user`);
    const group = app.group === undefined ? undefined : str(app.group, `${p}.group`);
    let uid = app.uid === undefined ? undefined : num(app.uid, `${p}.uid`);
    let gid = app.gid === undefined ? undefined : num(app.gid, `${p}.gid`);
    if (user !== undefined) {
      if (uid === undefined) uid = users.get(user) ?? fail(`${p}.user`, `user '${user}' has no uid (give "uid" or list it in "users")`);
      else if (users.has(user) && users.get(user) !== uid) fail(`${p}.uid`, `user '${user}' is uid ${users.get(user)} in "users"`);
      users.set(user, uid);
    }
    if (group !== undefined) {
      if (gid === undefined) gid = groups.get(group) ?? fail(`${p}.group`, `group '${group}' has no gid (give "gid" or list it in "groups")`);
      groups.set(group, gid);
    }
    if (uid === undefined) fail(p, 'an application needs "user" or "uid"');
    const listen = ((app.listen ?? []) as unknown[]).map((l, j) => {
      const lp = `${p}.listen[${j}]`;
      const rec = l as Record<string, unknown>;
      const port = num(rec.port, `${lp}.port`);
      if (port > 65535) fail(`${lp}.port`, "a port is 0 to 65535");
      let address: bigint | undefined;
      if (rec.address !== undefined) address = parseAddress(str(rec.address, `${lp}.address`)) ?? fail(`${lp}.address`, "not an address");
      return { proto: proto(rec.proto ?? "tcp", `${lp}.proto`), port, address };
    });
    const connections = ((app.connections ?? []) as unknown[]).map((c, j) => {
      const cp = `${p}.connections[${j}]`;
      const rec = c as Record<string, unknown>;
      const local = parseEndpoint(str(rec.local, `${cp}.local`)) ?? fail(`${cp}.local`, 'expected "ADDRESS:PORT"');
      const remote = parseEndpoint(str(rec.remote, `${cp}.remote`)) ?? fail(`${cp}.remote`, 'expected "ADDRESS:PORT"');
      return { proto: proto(rec.proto ?? "tcp", `${cp}.proto`), local, remote };
    });
    return {
      id: app.id === undefined ? i + 1 : num(app.id, `${p}.id`),
      pid: app.pid === undefined ? 0 : num(app.pid, `${p}.pid`),
      cmd: app.cmd === undefined ? "" : str(app.cmd, `${p}.cmd`),
      user,
      uid: uid!,
      group,
      gid: gid ?? 0,
      cgroup: app.cgroup === undefined ? undefined : str(app.cgroup, `${p}.cgroup`),
      listen,
      connections,
    };
  });
  return { addresses, users, groups, applications };
}

export function readHost(path: string): HostDescription {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new HostError(path, "", `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseHost(text, path);
}

/** Users and groups of this machine (/etc/passwd, /etc/group), for policies compiled without a host file. */
export function systemAccounts(): { users: Map<string, number>; groups: Map<string, number> } {
  const read = (path: string, idColumn: number) => {
    const m = new Map<string, number>();
    try {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        const cols = line.split(":");
        if (cols.length > idColumn && /^\d+$/.test(cols[idColumn]!)) m.set(cols[0]!, Number(cols[idColumn]));
      }
    } catch {
      // no such file: no names known
    }
    return m;
  };
  return { users: read("/etc/passwd", 2), groups: read("/etc/group", 2) };
}

/**
 * The owner.* values the NIC writes for a packet. Without a known owner, app, cmd and cgroup are 0 and uid, gid
 * and pid all ones, values no owner term can name, so a plain `owner uid 1001` never matches an unowned packet.
 */
export interface OwnerFields {
  app: number;
  uid: number;
  gid: number;
  pid: number;
  cmd: number;
  cgroup: number;
}

export const NO_OWNER: OwnerFields = { app: 0, uid: 0xffffffff, gid: 0xffffffff, pid: 0xffffffff, cmd: 0, cgroup: 0 };

/** The packet facts an owner lookup needs. */
export interface FlowKey {
  /** 0 ingress (wire → host), 1 egress (host → wire) */
  dir: 0 | 1;
  proto: number;
  src: bigint;
  dst: bigint;
  sport: number;
  dport: number;
}

/**
 * The NIC's connection table built from a host description: connections first (exact 5-tuple), then listening
 * sockets (protocol and local port, optionally the local address). The local end is the destination of an
 * ingress packet and the source of an egress packet.
 */
export class OwnerTable {
  private readonly connections = new Map<string, HostApplication>();
  private readonly listeners = new Map<string, HostApplication>();

  constructor(
    readonly host: HostDescription,
    /** interned strings of the loaded policy */
    private readonly strings: { cmd: string[]; cgroup: string[] },
  ) {
    for (const app of host.applications) {
      for (const c of app.connections) this.connections.set(`${c.proto}|${c.local.addr}|${c.local.port}|${c.remote.addr}|${c.remote.port}`, app);
      for (const l of app.listen) this.listeners.set(`${l.proto}|${l.address ?? "*"}|${l.port}`, app);
    }
  }

  application(k: FlowKey): HostApplication | undefined {
    const [local, lport, remote, rport] = k.dir === 1 ? [k.src, k.sport, k.dst, k.dport] : [k.dst, k.dport, k.src, k.sport];
    return (
      this.connections.get(`${k.proto}|${local}|${lport}|${remote}|${rport}`) ??
      this.listeners.get(`${k.proto}|${local}|${lport}`) ??
      this.listeners.get(`${k.proto}|*|${lport}`)
    );
  }

  ownerFields(k: FlowKey): OwnerFields {
    const app = this.application(k);
    if (!app) return NO_OWNER;
    return {
      app: app.id,
      uid: app.uid,
      gid: app.gid,
      pid: app.pid,
      cmd: this.strings.cmd.indexOf(app.cmd) + 1,
      cgroup: cgroupId(this.strings.cgroup, app.cgroup),
    };
  }
}
