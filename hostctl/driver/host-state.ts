/**
 * The host's record of what it committed to the NIC (as the kernel keeps its rule set): the program image, the
 * table entries, where each rule's counter lives, the counts carried over from programs that were replaced, and
 * the policy source it all came from. It is plain JSON (bigints as hex strings) so it travels over the daemon's
 * socket and lands in `nic start --state FILE` unchanged.
 */
import type { TableEntry } from "../../runtime/vm.js";

export const HOST_STATE_SCHEMA = 1;

export type EncodedEntry =
  | { k: string; v: number } // exact
  | { k: string; p: number; v: number } // lpm
  | { lo: string; hi: string; v: number } // range
  | { k: string; m: string; pr: number; v: number }; // ternary

export interface PolicySource {
  /** file name as the user gave it (messages, listings) */
  file: string;
  format: "kopi" | "iptables-save";
  text: string;
  /** host description JSON text (owner names), if one was given */
  host?: string;
  hostFile?: string;
}

/** Where each rule's counter is: chain → counter id per rule (rule n at index n−1), chain → policy counter. */
export interface CounterMap {
  rules: Record<string, number[]>;
  policies: Record<string, number>;
  /** counters the program declares (rules, policies and a spare pool for rules added later) */
  declared: number;
}

export interface HostState {
  schema: typeof HOST_STATE_SCHEMA;
  /** generation the NIC committed this configuration as */
  generation: number;
  /** KOPI program image, base64 */
  image: string;
  /** entries of every table the program declares, by table id */
  tables: EncodedEntry[][];
  /** counts of counters whose program was replaced, by counter id: [packets, bytes] as decimal strings */
  counterOffsets: Record<string, [string, string]>;
  policy?: PolicySource;
  counters?: CounterMap;
  /** ISO time of the last change */
  changedAt: string;
}

const hex = (v: bigint): string => v.toString(16);

export function encodeEntry(e: TableEntry): EncodedEntry {
  switch (e.kind) {
    case "exact":
      return { k: hex(e.key), v: e.value };
    case "lpm":
      return { k: hex(e.key), p: e.prefixLen, v: e.value };
    case "range":
      return { lo: hex(e.lo), hi: hex(e.hi), v: e.value };
    case "ternary":
      return { k: hex(e.key), m: hex(e.mask), pr: e.priority, v: e.value };
  }
}

export class HostStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostStateError";
  }
}

function big(s: unknown, where: string): bigint {
  if (typeof s !== "string" || !/^[0-9a-f]+$/.test(s)) throw new HostStateError(`${where}: ${JSON.stringify(s)} is not a hexadecimal number`);
  return BigInt("0x" + s);
}

function int(v: unknown, where: string, max = 0xffffffff): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new HostStateError(`${where}: ${JSON.stringify(v)} is not an integer from 0 to ${max}`);
  return v;
}

export function decodeEntry(e: EncodedEntry, where: string): TableEntry {
  const o = e as Record<string, unknown>;
  if (o === null || typeof o !== "object") throw new HostStateError(`${where}: not an entry object`);
  const value = int(o.v, `${where}.v`);
  if ("lo" in o) return { kind: "range", lo: big(o.lo, `${where}.lo`), hi: big(o.hi, `${where}.hi`), value };
  if ("m" in o) return { kind: "ternary", key: big(o.k, `${where}.k`), mask: big(o.m, `${where}.m`), priority: int(o.pr, `${where}.pr`), value };
  if ("p" in o) return { kind: "lpm", key: big(o.k, `${where}.k`), prefixLen: int(o.p, `${where}.p`, 320), value };
  return { kind: "exact", key: big(o.k, `${where}.k`), value };
}

/** Identity of an entry in its table (what an insert replaces and a delete names). */
export function entryIdentity(e: TableEntry): string {
  switch (e.kind) {
    case "exact":
      return `${hex(e.key)}`;
    case "lpm":
      return `${hex(e.key)}/${e.prefixLen}`;
    case "range":
      return `${hex(e.lo)}-${hex(e.hi)}`;
    case "ternary":
      return `${hex(e.key)}&${hex(e.mask)}@${e.priority}`;
  }
}

/** Check a host state read from a file or a socket; throws HostStateError naming the bad part. */
export function checkHostState(raw: unknown, where: string): HostState {
  const o = raw as Record<string, unknown>;
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new HostStateError(`${where}: not a JSON object`);
  if (o.schema !== HOST_STATE_SCHEMA) throw new HostStateError(`${where}: schema ${JSON.stringify(o.schema)} is not ${HOST_STATE_SCHEMA} (written by another kopi version?)`);
  int(o.generation, `${where}: generation`);
  if (typeof o.image !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.image)) throw new HostStateError(`${where}: image is not base64 text`);
  if (!Array.isArray(o.tables)) throw new HostStateError(`${where}: tables is not a list`);
  o.tables.forEach((t, ti) => {
    if (!Array.isArray(t)) throw new HostStateError(`${where}: tables[${ti}] is not a list`);
    t.forEach((e, ei) => decodeEntry(e as EncodedEntry, `${where}: tables[${ti}][${ei}]`));
  });
  const offsets = o.counterOffsets as Record<string, unknown>;
  if (offsets === null || typeof offsets !== "object" || Array.isArray(offsets)) throw new HostStateError(`${where}: counterOffsets is not an object`);
  for (const [k, v] of Object.entries(offsets)) {
    if (!/^\d+$/.test(k) || !Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === "string" && /^\d+$/.test(x))) {
      throw new HostStateError(`${where}: counterOffsets[${JSON.stringify(k)}] must be [packets, bytes] as decimal strings`);
    }
  }
  if (o.policy !== undefined) {
    const p = o.policy as Record<string, unknown>;
    if (p === null || typeof p !== "object" || typeof p.file !== "string" || typeof p.text !== "string" || (p.format !== "kopi" && p.format !== "iptables-save")) {
      throw new HostStateError(`${where}: policy must have file, format (kopi or iptables-save) and text`);
    }
  }
  if (o.counters !== undefined) {
    const c = o.counters as Record<string, unknown>;
    if (c === null || typeof c !== "object" || typeof c.rules !== "object" || typeof c.policies !== "object") throw new HostStateError(`${where}: counters must have rules and policies`);
    int(c.declared, `${where}: counters.declared`);
  }
  return o as unknown as HostState;
}

export function imageBytes(state: HostState): Uint8Array {
  return new Uint8Array(Buffer.from(state.image, "base64"));
}

/** Counter offsets as bigints. */
export function offsetsOf(state: HostState | null): Map<number, { packets: bigint; bytes: bigint }> {
  const m = new Map<number, { packets: bigint; bytes: bigint }>();
  if (!state) return m;
  for (const [k, [p, b]] of Object.entries(state.counterOffsets)) m.set(Number(k), { packets: BigInt(p), bytes: BigInt(b) });
  return m;
}

export function encodeOffsets(m: Map<number, { packets: bigint; bytes: bigint }>): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const [k, v] of [...m.entries()].sort((a, b) => a[0] - b[0])) if (v.packets !== 0n || v.bytes !== 0n) out[String(k)] = [v.packets.toString(), v.bytes.toString()];
  return out;
}
