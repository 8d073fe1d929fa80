/**
 * Table images: the entries the driver writes into each table a compiled policy declares (data, not code, so
 * adding a set element is an MMIO write, not a reload). Keys are the declared key fields' values concatenated
 * at their widths, most significant first, as overlay-isa's TableDecl defines.
 */
import { fieldByName, type TableKind } from "../../overlay-isa/index.js";
import type { IrSetElement } from "./ir.js";

export type TableEntry =
  | { key: bigint; value: bigint } // exact
  | { key: bigint; prefixLen: number; value: bigint } // lpm: the top prefixLen bits of key
  | { lo: bigint; hi: bigint; value: bigint } // range: lo ≤ key ≤ hi, ranges do not overlap
  | { key: bigint; mask: bigint; value: bigint }; // ternary: first entry whose masked key matches

export interface TableImage {
  id: number;
  kind: TableKind;
  keyFields: string[];
  /** key width in bits */
  keyBits: number;
  capacity: number;
  /** what the table is for, in words (listings) */
  purpose: string;
  entries: TableEntry[];
}

export function keyWidth(fields: readonly string[]): number {
  return fields.reduce((n, f) => n + (fieldByName(f)?.bits ?? 0), 0);
}

/** Room for the entries plus growth, so data changes fit without a new program. */
export function capacityFor(entries: number): number {
  let c = 16;
  while (c < entries) c *= 2;
  return c;
}

/** Split an inclusive interval of `bits`-wide values into the fewest aligned prefixes. */
export function intervalToPrefixes(lo: bigint, hi: bigint, bits: number): { value: bigint; len: number }[] {
  const out: { value: bigint; len: number }[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    // grow the block while it stays aligned and inside the interval
    while (size < bits && (cur & ((1n << BigInt(size + 1)) - 1n)) === 0n && cur + (1n << BigInt(size + 1)) - 1n <= hi) size++;
    out.push({ value: cur, len: bits - size });
    cur += 1n << BigInt(size);
  }
  return out;
}

/** Entries of a set-membership table (hit value 0) in the kind the set's shape calls for. */
export function setEntries(kind: TableKind, elements: IrSetElement[], bits: number): TableEntry[] {
  switch (kind) {
    case "exact":
      return elements.map((e) => ({ key: e.lo, value: 0n }));
    case "range":
      return elements.map((e) => ({ lo: e.lo, hi: e.hi, value: 0n }));
    case "lpm":
      return elements.flatMap((e) => intervalToPrefixes(e.lo, e.hi, bits).map((p) => ({ key: p.value, prefixLen: p.len, value: 0n })));
    case "ternary":
      return elements.flatMap((e) =>
        intervalToPrefixes(e.lo, e.hi, bits).map((p) => ({ key: p.value, mask: p.len === 0 ? 0n : ((1n << BigInt(p.len)) - 1n) << BigInt(bits - p.len), value: 0n })),
      );
  }
}

/** The table kind a set of intervals needs: exact for single values, range for ≤ 64-bit fields, else lpm. */
export function setTableKind(elements: IrSetElement[], bits: number): TableKind {
  if (elements.every((e) => e.lo === e.hi)) return "exact";
  return bits <= 64 ? "range" : "lpm";
}
