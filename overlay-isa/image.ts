/**
 * The binary program image a NIC loads (format documented in overlay-isa/README.md):
 *
 *   header (32 bytes, little-endian)
 *     0  "KOPI" magic        4  u16 version (1)     6  u16 program kind
 *     8  u32 instructions   12  u16 tables         14  u16 reserved (0)
 *    16  u32 counters       20  u16 constants      22  u16 reserved (0)
 *    24  u32 CRC-32 of every byte after the header 28  u32 reserved (0)
 *   table declarations, 24 bytes each
 *     u8 kind, u8 key-field count, u16 reserved, u32 capacity, u16 key field ids × 8 (unused ones 0)
 *   constants, 16 bytes each: 128-bit values, big-endian (network order)
 *   instruction words, 8 bytes each (see opcodes.ts)
 */
import { decodeWord, encodeWord, type RawInsn } from "./instruction.js";
import { LIMITS } from "./limits.js";
import { TABLE_KINDS, type TableKind } from "./opcodes.js";

export const IMAGE_MAGIC = "KOPI";
export const IMAGE_VERSION = 1;
export const HEADER_BYTES = 32;
export const TABLE_DECL_BYTES = 24;
export const CONSTANT_BYTES = 16;
export const WORD_BYTES = 8;

export const PROGRAM_KINDS = ["filter", "policy", "scheduler"] as const;
export type ProgramKind = (typeof PROGRAM_KINDS)[number];

export interface TableDecl {
  kind: TableKind;
  /** field ids whose values, concatenated at their widths (most significant first), form the key */
  keyFields: number[];
  /** entries the table must hold */
  capacity: number;
}

export interface ProgramImage {
  kind: ProgramKind;
  tables: TableDecl[];
  counters: number;
  /** 128-bit constants */
  constants: bigint[];
  code: RawInsn[];
}

export class ImageError extends Error {
  constructor(
    readonly byteOffset: number,
    readonly detail: string,
  ) {
    super(`offset ${byteOffset}: ${detail}`);
    this.name = "ImageError";
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), as zlib computes it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function imageSize(p: Pick<ProgramImage, "tables" | "constants" | "code">): number {
  return HEADER_BYTES + p.tables.length * TABLE_DECL_BYTES + p.constants.length * CONSTANT_BYTES + p.code.length * WORD_BYTES;
}

export function encodeImage(p: ProgramImage): Uint8Array {
  const bytes = new Uint8Array(imageSize(p));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = IMAGE_MAGIC.charCodeAt(i);
  view.setUint16(4, IMAGE_VERSION, true);
  view.setUint16(6, PROGRAM_KINDS.indexOf(p.kind), true);
  view.setUint32(8, p.code.length, true);
  view.setUint16(12, p.tables.length, true);
  view.setUint32(16, p.counters, true);
  view.setUint16(20, p.constants.length, true);
  let at = HEADER_BYTES;
  for (const t of p.tables) {
    view.setUint8(at, TABLE_KINDS.indexOf(t.kind));
    view.setUint8(at + 1, t.keyFields.length);
    view.setUint32(at + 4, t.capacity, true);
    t.keyFields.forEach((f, i) => view.setUint16(at + 8 + 2 * i, f, true));
    at += TABLE_DECL_BYTES;
  }
  for (const k of p.constants) {
    for (let i = 0; i < 16; i++) bytes[at + i] = Number((k >> BigInt(8 * (15 - i))) & 0xffn);
    at += CONSTANT_BYTES;
  }
  for (const insn of p.code) {
    encodeWord(insn, view, at);
    at += WORD_BYTES;
  }
  view.setUint32(24, crc32(bytes.subarray(HEADER_BYTES)), true);
  return bytes;
}

/** Parse an image; every structural problem is an ImageError naming the byte offset. */
export function decodeImage(bytes: Uint8Array): ProgramImage {
  if (bytes.length < HEADER_BYTES) throw new ImageError(bytes.length, `truncated image: the header needs ${HEADER_BYTES} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== IMAGE_MAGIC) throw new ImageError(0, `not a kopi program image (magic ${JSON.stringify(magic)}, expected "KOPI")`);
  const version = view.getUint16(4, true);
  if (version !== IMAGE_VERSION) throw new ImageError(4, `unsupported image version ${version} (this kopi reads version ${IMAGE_VERSION})`);
  const kindIndex = view.getUint16(6, true);
  const kind = PROGRAM_KINDS[kindIndex];
  if (kind === undefined) throw new ImageError(6, `unknown program kind ${kindIndex}`);
  const nCode = view.getUint32(8, true);
  const nTables = view.getUint16(12, true);
  const nCounters = view.getUint32(16, true);
  const nConst = view.getUint16(20, true);
  for (const [off, width] of [[14, 2], [22, 2], [28, 4]] as const) {
    const v = width === 2 ? view.getUint16(off, true) : view.getUint32(off, true);
    if (v !== 0) throw new ImageError(off, `reserved header field is ${v}, must be 0`);
  }
  if (nTables > LIMITS.tables) throw new ImageError(12, `${nTables} tables declared, the overlay has ${LIMITS.tables}`);
  if (nCounters > LIMITS.counters) throw new ImageError(16, `${nCounters} counters declared, the overlay has ${LIMITS.counters}`);
  if (nConst > LIMITS.constants) throw new ImageError(20, `${nConst} constants declared, the overlay has ${LIMITS.constants}`);
  const expected = HEADER_BYTES + nTables * TABLE_DECL_BYTES + nConst * CONSTANT_BYTES + nCode * WORD_BYTES;
  if (bytes.length < expected) throw new ImageError(bytes.length, `truncated image: the header announces ${expected} bytes (${nCode} instructions), the file has ${bytes.length}`);
  if (bytes.length > expected) throw new ImageError(expected, `${bytes.length - expected} trailing bytes after the last instruction`);
  const crc = crc32(bytes.subarray(HEADER_BYTES));
  if (crc !== view.getUint32(24, true)) throw new ImageError(24, `checksum mismatch: the image is corrupt (CRC-32 ${crc.toString(16)}, header says ${view.getUint32(24, true).toString(16)})`);
  let at = HEADER_BYTES;
  const tables: TableDecl[] = [];
  for (let t = 0; t < nTables; t++, at += TABLE_DECL_BYTES) {
    const kindCode = view.getUint8(at);
    const tk = TABLE_KINDS[kindCode];
    if (tk === undefined) throw new ImageError(at, `table ${t}: unknown table kind ${kindCode}`);
    const nKeys = view.getUint8(at + 1);
    if (nKeys > LIMITS.keyFields) throw new ImageError(at + 1, `table ${t}: ${nKeys} key fields, at most ${LIMITS.keyFields}`);
    if (view.getUint16(at + 2, true) !== 0) throw new ImageError(at + 2, `table ${t}: reserved field must be 0`);
    const keyFields: number[] = [];
    for (let i = 0; i < LIMITS.keyFields; i++) {
      const f = view.getUint16(at + 8 + 2 * i, true);
      if (i < nKeys) keyFields.push(f);
      else if (f !== 0) throw new ImageError(at + 8 + 2 * i, `table ${t}: unused key slot ${i} must be 0`);
    }
    tables.push({ kind: tk, keyFields, capacity: view.getUint32(at + 4, true) });
  }
  const constants: bigint[] = [];
  for (let k = 0; k < nConst; k++, at += CONSTANT_BYTES) {
    let v = 0n;
    for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(bytes[at + i]!);
    constants.push(v);
  }
  const code: RawInsn[] = [];
  for (let i = 0; i < nCode; i++, at += WORD_BYTES) code.push(decodeWord(view, at));
  return { kind, tables, counters: nCounters, constants, code };
}
