/**
 * The qdisc image: what the host uploads through the EG_DATA window to load a qdisc into the egress scheduler's
 * shadow slot — the classifier program (the qdisc's filters), its table entries, the scheduler program and the
 * sizes of its queue-model memories, in one container so that one LOAD checks and installs all of it.
 *
 *   offset  size  field (little-endian)
 *        0     4  magic "KQD1"
 *        4     4  state words of the scheduler's state memory
 *        8     4  queues
 *       12     4  packet descriptors
 *       16     4  C: bytes of the classifier image (a KOPI program image, overlay-isa/image.ts)
 *       20     4  S: bytes of the scheduler image
 *       24     4  E: classifier table entries
 *       28     4  L: bytes of the label (UTF-8, for listings)
 *       32     C  classifier image, then S scheduler image
 *              E × 92  entries: u8 table, u8 kind (0 exact, 1 lpm, 2 range, 3 ternary), u16 0, u32 arg (lpm prefix
 *                      length, ternary priority), u32 value, 40 bytes key (range: lo), 40 bytes mask (range: hi),
 *                      320-bit numbers least significant byte first
 *              L  label
 * Nothing may follow. Every structural problem is an EgressImageError naming the byte offset.
 */
import { crc32 } from "../overlay-isa/index.js";
import type { TableEntry } from "../runtime/vm.js";
import type { QdiscBundle } from "./scheduler.js";

export const QDISC_IMAGE_MAGIC = 0x3144514b; // "KQD1" little-endian
export const QDISC_IMAGE_HEAD = 32;
export const QDISC_ENTRY_BYTES = 92;
const WIDE = 40;
const KINDS = ["exact", "lpm", "range", "ternary"] as const;

export class EgressImageError extends Error {
  constructor(
    readonly byteOffset: number,
    readonly detail: string,
  ) {
    super(`offset ${byteOffset}: ${detail}`);
    this.name = "EgressImageError";
  }
}

/** The qdisc image as bytes; its program images are given already encoded. */
export interface QdiscImageParts {
  classifier: Uint8Array;
  scheduler: Uint8Array;
  entries: readonly { table: number; entry: TableEntry }[];
  sizes: QdiscBundle["sizes"];
  label?: string;
}

function putWide(bytes: Uint8Array, at: number, v: bigint): void {
  for (let i = 0; i < WIDE; i++) bytes[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function getWide(bytes: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = WIDE - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
  return v;
}

export function encodeQdiscImage(p: QdiscImageParts): Uint8Array {
  const label = new TextEncoder().encode(p.label ?? "");
  const total = QDISC_IMAGE_HEAD + p.classifier.length + p.scheduler.length + p.entries.length * QDISC_ENTRY_BYTES + label.length;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, QDISC_IMAGE_MAGIC, true);
  view.setUint32(4, p.sizes.stateWords, true);
  view.setUint32(8, p.sizes.queues, true);
  view.setUint32(12, p.sizes.packets, true);
  view.setUint32(16, p.classifier.length, true);
  view.setUint32(20, p.scheduler.length, true);
  view.setUint32(24, p.entries.length, true);
  view.setUint32(28, label.length, true);
  let at = QDISC_IMAGE_HEAD;
  bytes.set(p.classifier, at);
  at += p.classifier.length;
  bytes.set(p.scheduler, at);
  at += p.scheduler.length;
  for (const { table, entry } of p.entries) {
    view.setUint8(at, table);
    view.setUint8(at + 1, KINDS.indexOf(entry.kind));
    switch (entry.kind) {
      case "exact":
        putWide(bytes, at + 12, entry.key);
        break;
      case "lpm":
        view.setUint32(at + 4, entry.prefixLen, true);
        putWide(bytes, at + 12, entry.key);
        break;
      case "range":
        putWide(bytes, at + 12, entry.lo);
        putWide(bytes, at + 12 + WIDE, entry.hi);
        break;
      case "ternary":
        view.setUint32(at + 4, entry.priority, true);
        putWide(bytes, at + 12, entry.key);
        putWide(bytes, at + 12 + WIDE, entry.mask);
        break;
    }
    view.setUint32(at + 8, entry.value >>> 0, true);
    at += QDISC_ENTRY_BYTES;
  }
  bytes.set(label, at);
  return bytes;
}

export interface DecodedQdiscImage {
  classifier: Uint8Array;
  scheduler: Uint8Array;
  /** byte offsets of the two program images in the container (for error positions) */
  classifierAt: number;
  schedulerAt: number;
  entries: { table: number; entry: TableEntry }[];
  sizes: QdiscBundle["sizes"];
  label: string;
  crc: number;
}

export function decodeQdiscImage(bytes: Uint8Array): DecodedQdiscImage {
  if (bytes.length < QDISC_IMAGE_HEAD) throw new EgressImageError(bytes.length, `truncated qdisc image: the header needs ${QDISC_IMAGE_HEAD} bytes, there are ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== QDISC_IMAGE_MAGIC) throw new EgressImageError(0, 'not a qdisc image (magic "KQD1" expected)');
  const sizes = { stateWords: view.getUint32(4, true), queues: view.getUint32(8, true), packets: view.getUint32(12, true) };
  const c = view.getUint32(16, true);
  const s = view.getUint32(20, true);
  const e = view.getUint32(24, true);
  const l = view.getUint32(28, true);
  const expected = QDISC_IMAGE_HEAD + c + s + e * QDISC_ENTRY_BYTES + l;
  if (expected !== bytes.length) throw new EgressImageError(16, `the header announces ${expected} bytes, the image has ${bytes.length}`);
  let at = QDISC_IMAGE_HEAD;
  const classifierAt = at;
  const classifier = bytes.slice(at, at + c);
  at += c;
  const schedulerAt = at;
  const scheduler = bytes.slice(at, at + s);
  at += s;
  const entries: { table: number; entry: TableEntry }[] = [];
  for (let i = 0; i < e; i++, at += QDISC_ENTRY_BYTES) {
    const table = view.getUint8(at);
    const kind = KINDS[view.getUint8(at + 1)];
    if (kind === undefined) throw new EgressImageError(at + 1, `entry ${i}: table kind ${view.getUint8(at + 1)} is not 0 … 3`);
    if (view.getUint16(at + 2, true) !== 0) throw new EgressImageError(at + 2, `entry ${i}: reserved bytes must be 0`);
    const arg = view.getUint32(at + 4, true);
    const value = view.getUint32(at + 8, true);
    const first = getWide(bytes, at + 12);
    const second = getWide(bytes, at + 12 + WIDE);
    if ((kind === "exact" || kind === "range") && arg !== 0) throw new EgressImageError(at + 4, `entry ${i}: an ${kind} entry has no argument; it must be 0`);
    if ((kind === "exact" || kind === "lpm") && second !== 0n) throw new EgressImageError(at + 12 + WIDE, `entry ${i}: an ${kind} entry has no mask; it must be 0`);
    const entry: TableEntry =
      kind === "exact"
        ? { kind, key: first, value }
        : kind === "lpm"
          ? { kind, key: first, prefixLen: arg, value }
          : kind === "range"
            ? { kind, lo: first, hi: second, value }
            : { kind, key: first, mask: second, priority: arg, value };
    entries.push({ table, entry });
  }
  let label: string;
  try {
    label = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at, at + l));
  } catch {
    throw new EgressImageError(at, "the label is not UTF-8");
  }
  return { classifier, scheduler, classifierAt, schedulerAt, entries, sizes, label, crc: crc32(bytes) };
}
