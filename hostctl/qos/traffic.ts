/**
 * The traffic spec of `hostctl qos simulate --traffic SPEC.json`: applications' offered load, each tagged with
 * the owner the NIC's connection table would give its packets (uid, gid, pid, command, cgroup), so a policy can
 * classify by owner without knowing ports.
 *
 *   { "seed": 7,
 *     "sources": [
 *       { "name": "database", "owner": { "cmd": "postgres", "cgroup": "/system.slice/postgresql.service", "uid": 120 },
 *         "proto": "tcp", "src": "10.0.0.2", "dst": "10.0.0.9", "sport": 40000, "dport": 5432,
 *         "pattern": "constant", "rate": "40mbit", "size": 1500 },
 *       { "name": "game", "owner": { "cgroup": "/user.slice/game.scope" }, "proto": "udp", "dport": 27015,
 *         "flows": 4, "pattern": "aimd", "rtt": "30ms", "start": "1s", "stop": "9s" } ],
 *     "changes": [ { "at": "5s", "policy": "relaxed.qos" } ] }
 *
 * Patterns: `constant` (rate), `onoff` (rate while on; `on`, `off` durations), `poisson` (mean rate, exponential
 * gaps), `aimd` (TCP-like: a window of `size`-byte packets, +1 per window per RTT, halved on a drop or an ECN
 * mark, `rtt`, optional `window` cap and `rate` cap). Rates and times use tc's units (`10mbit`, `30ms`); a plain
 * number is bits per second or seconds. `flows` opens several connections (source ports sport, sport + 1, …).
 */
import { parseIPv4 } from "../../overlay-isa/index.js";
import { parseRate, parseTime } from "../../compiler/qos/units.js";
import { JsonObject, JsonSource } from "./json-source.js";
import { cgroupId } from "../../compiler/policy/cgroup.js";

export type Pattern =
  | { kind: "constant"; rate: number }
  | { kind: "onoff"; rate: number; onNs: number; offNs: number }
  | { kind: "poisson"; rate: number }
  | { kind: "aimd"; rttNs: number; window: number; initialWindow: number; rate?: number };

export interface OwnerSpec {
  app: number;
  uid: number;
  gid: number;
  pid: number;
  cmd?: string;
  cgroup?: string;
  user?: string;
}

export interface SourceSpec {
  name: string;
  owner: OwnerSpec;
  /** 6 tcp, 17 udp */
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  flows: number;
  /** wire bytes per packet */
  size: number;
  pattern: Pattern;
  startNs: number;
  stopNs: number;
  priority: number;
  mark: number;
  /** DSCP/ECN byte of the IPv4 header (ECT(0) for aimd sources unless given) */
  tos: number;
}

export interface QdiscChange {
  atNs: number;
  policy: string;
  format?: "qos" | "tc";
  /** where the change was written, for errors while compiling it */
  at: number;
}

export interface TrafficSpec {
  seed: number;
  sources: SourceSpec[];
  changes: QdiscChange[];
}

const SOURCE_KEYS = ["name", "owner", "proto", "src", "dst", "sport", "dport", "flows", "size", "pattern", "rate", "on", "off", "rtt", "window", "start", "stop", "priority", "mark", "tos"];
const OWNER_KEYS = ["app", "uid", "gid", "pid", "cmd", "cgroup", "user"];
const NO_ID = 0xffffffff;

const rate = (o: JsonObject, key: string) => o.quantity(key, parseRate, (n) => n / 8);
const time = (o: JsonObject, key: string) => o.quantity(key, (t) => parseTime(t) * 1000, (n) => n * 1e9);

/** Parse a traffic spec. `users` resolves owner.user names. Throws SourceError pointing into the file. */
export function parseTraffic(text: string, file: string, users?: Map<string, number>): TrafficSpec {
  const src = new JsonSource(file, text);
  const doc = JsonObject.of(src, src.parse(), "");
  doc.only(["seed", "sources", "changes"]);
  const list = doc.array("sources");
  if (!list || list.length === 0) return doc.fail(list ? "sources" : undefined, "a traffic spec needs \"sources\": [ … ] with at least one source");
  const sources = list.map((node, i) => source(JsonObject.of(src, node, `sources[${i}]`), i, users));
  const names = new Set<string>();
  sources.forEach((s, i) => {
    if (names.has(s.name)) JsonObject.of(src, list[i]!, `sources[${i}]`).fail("name", `the name '${s.name}' is used twice`);
    names.add(s.name);
  });
  const changes = (doc.array("changes") ?? []).map((node, i): QdiscChange => {
    const c = JsonObject.of(src, node, `changes[${i}]`);
    c.only(["at", "policy", "format"]);
    const atNs = time(c, "at");
    if (atNs === undefined) return c.fail(undefined, "a change needs \"at\" (when the new qdisc is committed)");
    const policy = c.string("policy");
    if (!policy) return c.fail(undefined, "a change needs \"policy\" (the .qos or tc file to load)");
    const formatText = c.string("format");
    if (formatText !== undefined && formatText !== "qos" && formatText !== "tc") c.fail("format", "expected \"qos\" or \"tc\"");
    const format = formatText as "qos" | "tc" | undefined;
    return { atNs, policy, ...(format ? { format } : {}), at: node.at };
  });
  return { seed: doc.number("seed", 0, 2 ** 32 - 1, true) ?? 1, sources, changes };
}

function address(o: JsonObject, key: string, dflt: string): number {
  const text = o.string(key) ?? dflt;
  const v = parseIPv4(text);
  if (v === undefined) o.fail(key, `'${text}' is not an IPv4 address`);
  return v;
}

function source(o: JsonObject, index: number, users?: Map<string, number>): SourceSpec {
  o.only(SOURCE_KEYS);
  const name = o.string("name") ?? `source${index + 1}`;
  const protoText = o.string("proto") ?? "udp";
  const proto = protoText === "tcp" ? 6 : protoText === "udp" ? 17 : o.fail("proto", `'${protoText}': expected "tcp" or "udp"`);
  const headers = 14 + 20 + (proto === 6 ? 20 : 8);
  const size = o.number("size", headers, 9000, true) ?? 1500;
  const kind = o.string("pattern") ?? "constant";
  let pattern: Pattern;
  const needRate = (): number => {
    const r = rate(o, "rate");
    if (r === undefined) o.fail(undefined, `a ${kind} source needs "rate" (such as "10mbit")`);
    if (r <= 0) o.fail("rate", "the rate must be above 0");
    return r;
  };
  switch (kind) {
    case "constant":
    case "poisson":
      pattern = { kind, rate: needRate() };
      break;
    case "onoff": {
      const onNs = time(o, "on");
      const offNs = time(o, "off");
      if (onNs === undefined || offNs === undefined) o.fail(undefined, 'an onoff source needs "on" and "off" durations (such as "100ms")');
      if (onNs <= 0) o.fail("on", "the on period must be above 0");
      pattern = { kind, rate: needRate(), onNs, offNs };
      break;
    }
    case "aimd": {
      const rttNs = time(o, "rtt") ?? 20e6;
      if (rttNs <= 0) o.fail("rtt", "the RTT must be above 0");
      const window = o.number("window", 1, 1e6, true) ?? 10_000;
      const cap = rate(o, "rate");
      pattern = { kind, rttNs, window, initialWindow: Math.min(10, window), ...(cap !== undefined ? { rate: cap } : {}) };
      break;
    }
    default:
      o.fail("pattern", `unknown pattern '${kind}' (constant, onoff, poisson, aimd)`);
  }
  for (const k of ["on", "off"]) if (o.has(k) && kind !== "onoff") o.fail(k, `"${k}" belongs to the onoff pattern`);
  for (const k of ["rtt", "window"]) if (o.has(k) && kind !== "aimd") o.fail(k, `"${k}" belongs to the aimd pattern`);
  const startNs = time(o, "start") ?? 0;
  const stopNs = time(o, "stop") ?? Infinity;
  if (startNs < 0) o.fail("start", "the start must not be negative");
  if (stopNs <= startNs) o.fail("stop", "the source stops before it starts");
  const ownerObj = o.object("owner");
  const owner: OwnerSpec = { app: 0, uid: NO_ID, gid: NO_ID, pid: NO_ID };
  if (ownerObj) {
    ownerObj.only(OWNER_KEYS);
    owner.app = ownerObj.number("app", 0, 0xffffffff, true) ?? index + 1;
    owner.pid = ownerObj.number("pid", 0, 0xfffffffe, true) ?? 1000 + index;
    const user = ownerObj.string("user");
    let uid = ownerObj.number("uid", 0, 0xfffffffe, true);
    if (user !== undefined) {
      const known = users?.get(user);
      if (known === undefined) ownerObj.fail("user", `unknown user '${user}' (give "uid", or describe the host with --host HOST.json)`);
      if (uid !== undefined && uid !== known) ownerObj.fail("uid", `uid ${uid} disagrees with user ${user} (${known})`);
      uid = known;
      owner.user = user;
    }
    owner.uid = uid ?? 0;
    owner.gid = ownerObj.number("gid", 0, 0xfffffffe, true) ?? owner.uid;
    const cmd = ownerObj.string("cmd");
    const cgroup = ownerObj.string("cgroup");
    if (cmd !== undefined) owner.cmd = cmd;
    if (cgroup !== undefined) owner.cgroup = cgroup;
  }
  const flows = o.number("flows", 1, 4096, true) ?? 1;
  const sport = o.number("sport", 1, 65535, true) ?? 40000 + 100 * index;
  if (sport + flows - 1 > 65535) o.fail("flows", `${flows} flows from port ${sport} run past port 65535`);
  return {
    name,
    owner,
    proto,
    src: address(o, "src", "10.0.0.2"),
    dst: address(o, "dst", "10.0.0.9"),
    sport,
    dport: o.number("dport", 1, 65535, true) ?? 5000 + index,
    flows,
    size,
    pattern,
    startNs,
    stopNs,
    priority: o.number("priority", 0, 0xffffffff, true) ?? 0,
    mark: o.number("mark", 0, 0xffffffff, true) ?? 0,
    tos: o.number("tos", 0, 255, true) ?? (kind === "aimd" ? 2 : 0),
  };
}

/** An Ethernet + IPv4 + TCP/UDP header for one flow of a source; the wire length carries the payload. */
export function flowFrame(s: SourceSpec, flow: number): Uint8Array {
  const l4 = s.proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 2], 0);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint8(15, s.tos);
  v.setUint16(16, s.size - 14);
  v.setUint8(22, 64);
  v.setUint8(23, s.proto);
  v.setUint32(26, s.src >>> 0);
  v.setUint32(30, s.dst >>> 0);
  v.setUint16(34, s.sport + flow);
  v.setUint16(36, s.dport);
  if (s.proto === 6) {
    v.setUint8(46, 0x50);
    v.setUint8(47, 0x18); // PSH, ACK
    v.setUint16(48, 65535);
  } else v.setUint16(38, s.size - 14 - 20);
  return f;
}

/** The owner fields the classifier sees (runtime/vm.ts RunOptions.owners order): app, uid, gid, pid, cmd, cgroup. */
export function ownerWords(o: OwnerSpec, strings: { cmd: string[]; cgroup: string[] }): Uint32Array {
  return Uint32Array.from([o.app, o.uid, o.gid, o.pid, o.cmd === undefined ? 0 : strings.cmd.indexOf(o.cmd) + 1, cgroupId(strings.cgroup, o.cgroup)]);
}
