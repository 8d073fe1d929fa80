/**
 * Table entries as the control plane writes them: checked against the table's declaration and turned into the
 * key words the VM stores (the key fields' values concatenated at their widths, most significant first, as u64
 * words least significant first).
 */
import { fieldById, type TableDecl, type TableKind } from "../overlay-isa/index.js";
import { TableError } from "./errors.js";

export type TableEntry =
  | { kind: "exact"; key: bigint; value: number }
  | { kind: "lpm"; key: bigint; prefixLen: number; value: number } // key bits beyond the prefix ignored
  | { kind: "range"; lo: bigint; hi: bigint; value: number }
  | { kind: "ternary"; key: bigint; mask: bigint; priority: number; value: number };

/** What the VM needs for one insert or delete. */
export interface EncodedEntry {
  /** key, or range lo */
  key: bigint;
  /** ternary mask, or range hi (0 otherwise) */
  second: bigint;
  /** lpm prefix length or ternary priority (0 otherwise) */
  arg: number;
  value: number;
}

export function keyBits(decl: TableDecl): number {
  return decl.keyFields.reduce((n, id) => n + (fieldById(id)?.bits ?? 0), 0);
}

export function keyWords(decl: TableDecl): number {
  return Math.ceil(keyBits(decl) / 64);
}

/** `t3 (exact, capacity 1024)`, as messages name a table. */
export function describeTable(index: number, decl: TableDecl): string {
  return `table t${index} (${decl.kind}, capacity ${decl.capacity})`;
}

function keyDescription(decl: TableDecl): string {
  return `${keyBits(decl)}-bit key (${decl.keyFields.map((id) => fieldById(id)?.name ?? `field ${id}`).join(", ")})`;
}

function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function checkU32(what: string, v: number, where: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new TableError(`${where}: ${what} ${v} is not an unsigned 32-bit integer`);
}

function checkBigint(what: string, v: unknown, where: string): bigint {
  if (typeof v !== "bigint") throw new TableError(`${where}: ${what} must be a bigint, got ${typeof v}`);
  return v;
}

function checkFits(what: string, v: bigint, bits: number, decl: TableDecl, where: string): void {
  if (v < 0n || v >> BigInt(bits) !== 0n) throw new TableError(`${where}: ${what} ${hex(v)} does not fit the table's ${keyDescription(decl)}`);
}

/** Check an entry against its table and encode it; `forDelete` skips the value check. */
export function encodeEntry(index: number, decl: TableDecl, entry: TableEntry, forDelete = false): EncodedEntry {
  const where = describeTable(index, decl);
  const kind = (entry as { kind?: unknown }).kind;
  if (kind !== decl.kind) throw new TableError(`${where}: a ${String(kind)} entry does not fit a ${decl.kind} table`);
  if (!forDelete) checkU32("value", entry.value, where);
  const bits = keyBits(decl);
  switch (entry.kind) {
    case "exact": {
      const key = checkBigint("key", entry.key, where);
      checkFits("key", key, bits, decl, where);
      return { key, second: 0n, arg: 0, value: entry.value >>> 0 };
    }
    case "lpm": {
      const key = checkBigint("key", entry.key, where);
      checkFits("key", key, bits, decl, where);
      if (!Number.isInteger(entry.prefixLen) || entry.prefixLen < 0 || entry.prefixLen > bits) {
        throw new TableError(`${where}: prefix length ${entry.prefixLen} is outside 0..${bits} for its ${keyDescription(decl)}`);
      }
      return { key, second: 0n, arg: entry.prefixLen, value: entry.value >>> 0 };
    }
    case "range": {
      const lo = checkBigint("lo", entry.lo, where);
      const hi = checkBigint("hi", entry.hi, where);
      checkFits("lo", lo, bits, decl, where);
      checkFits("hi", hi, bits, decl, where);
      if (lo > hi) throw new TableError(`${where}: range [${hex(lo)}, ${hex(hi)}] is empty (lo > hi)`);
      return { key: lo, second: hi, arg: 0, value: entry.value >>> 0 };
    }
    case "ternary": {
      const key = checkBigint("key", entry.key, where);
      const mask = checkBigint("mask", entry.mask, where);
      checkFits("key", key, bits, decl, where);
      checkFits("mask", mask, bits, decl, where);
      checkU32("priority", entry.priority, where);
      return { key, second: mask, arg: entry.priority >>> 0, value: entry.value >>> 0 };
    }
  }
}

/** Write a non-negative bigint as `words` u64 words, least significant first. */
export function writeWords(target: BigUint64Array, value: bigint, words: number): void {
  let v = value;
  for (let w = 0; w < words; w++) {
    target[w] = v & 0xffff_ffff_ffff_ffffn;
    v >>= 64n;
  }
}

export type { TableKind };
