/**
 * The state one packet is printed with — tcpdump's netdissect_options in TypeScript: the packet bytes, the
 * captured end (reading past it is "truncated"), the line being built, the name of the protocol being decoded
 * (for " [|proto]"), and the flags. Bounds-checked readers throw TRUNCATED, which the top-level printer turns
 * into tcpdump's truncation marker, exactly where tcpdump's longjmp would land.
 */
import type { PrintOptions } from "./print-options.js";
import type { PrinterState } from "./printer-state.js";

/** Where an upper-layer header sits inside an IP datagram (for checksums and conversation keys). */
export interface IpContext {
  version: 4 | 6;
  /** Offset of the IP header. */
  at: number;
  /** Offset of the address the checksum pseudo-header uses as destination (differs with source routing). */
  destinationAt: number;
}

/**
 * The decoders protocols hand payloads to. Encapsulation is recursive (IP in IP, Ethernet in VXLAN, IP in
 * MPLS in UDP), so decoders reach each other through this table instead of importing each other: the printer
 * assembles it once, and no module imports a module that imports it back.
 */
export interface Decoders {
  ether(nd: Dissector, at: number, length: number, caplen: number): number;
  /** Payload after an EtherType; false when no decoder knows the type. */
  ethertype(nd: Dissector, type: number, at: number, length: number, caplen: number): boolean;
  ip(nd: Dissector, at: number, length: number): void;
  ip6(nd: Dissector, at: number, length: number): void;
  ipDemux(nd: Dissector, at: number, length: number, ip: IpContext, fragmented: boolean, protocol: number): void;
}

/** Thrown (never an Error: no stack to build) when a decoder reads past the captured bytes. */
export const TRUNCATED = { truncated: true } as const;

export class Dissector {
  /** The line being printed (without timestamp, without the final newline). */
  out = "";
  /** Protocol being decoded, for " [|proto]". */
  protocol = "";
  /** Length of the link-layer header, so -x/-X can skip it. */
  linkHeaderLength = 0;
  /** One past the last byte that may be read (tcpdump's snapend; printers narrow it to a payload). */
  end: number;
  private readonly savedEnds: number[] = [];

  constructor(
    readonly bytes: Uint8Array,
    readonly options: PrintOptions,
    readonly state: PrinterState,
    readonly decode: Decoders,
  ) {
    this.end = bytes.length;
  }

  print(text: string): void {
    this.out += text;
  }

  /** Abandon the packet: it is truncated here. */
  trunc(): never {
    throw TRUNCATED;
  }

  /** " [|proto]" */
  printTrunc(): void {
    this.out += ` [|${this.protocol}]`;
  }

  /** " (invalid)" */
  printInvalid(): void {
    this.out += " (invalid)";
  }

  /** Are `length` bytes at `at` captured? (ND_TTEST_LEN) */
  has(at: number, length: number): boolean {
    return at >= 0 && length >= 0 && at + length <= this.end;
  }

  /** Throw TRUNCATED unless `length` bytes at `at` are captured. (ND_TCHECK_LEN) */
  need(at: number, length: number): void {
    if (!(at >= 0 && at + length <= this.end)) throw TRUNCATED;
  }

  /** Captured bytes from `at` to the end (ND_BYTES_AVAILABLE_AFTER). */
  available(at: number): number {
    return at < this.end ? this.end - at : 0;
  }

  u8(at: number): number {
    if (at >= this.end || at < 0) throw TRUNCATED;
    return this.bytes[at]!;
  }

  be16(at: number): number {
    if (at + 2 > this.end || at < 0) throw TRUNCATED;
    const b = this.bytes;
    return (b[at]! << 8) | b[at + 1]!;
  }

  be24(at: number): number {
    if (at + 3 > this.end || at < 0) throw TRUNCATED;
    const b = this.bytes;
    return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  }

  be32(at: number): number {
    if (at + 4 > this.end || at < 0) throw TRUNCATED;
    const b = this.bytes;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  le16(at: number): number {
    if (at + 2 > this.end || at < 0) throw TRUNCATED;
    const b = this.bytes;
    return b[at]! | (b[at + 1]! << 8);
  }

  le32(at: number): number {
    if (at + 4 > this.end || at < 0) throw TRUNCATED;
    const b = this.bytes;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }

  /** Narrow the readable end to at + length (nd_push_snaplen); undo with popEnd. */
  pushEnd(at: number, length: number): void {
    this.savedEnds.push(this.end);
    if (at + length < this.end) this.end = at + length;
  }

  popEnd(): void {
    const saved = this.savedEnds.pop();
    if (saved !== undefined) this.end = saved;
  }

  /** Print bytes as tcpdump's hex_and_ascii_print does for unknown payloads (ND_DEFAULTPRINT). */
  defaultPrint(at: number, length: number): void {
    if (this.options.hex || this.options.hexAscii || this.options.ascii) return;
    hexAndAscii(this, "\n\t", at, length, 0);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function isGraph(c: number): boolean {
  return c > 0x20 && c < 0x7f;
}

/** tcpdump's hex_and_ascii_print_with_offset: 16 bytes per line, hex words then the printable characters. */
export function hexAndAscii(nd: Dissector, indent: string, at: number, length: number, offset: number): void {
  const captured = nd.available(at);
  const truncated = length > captured;
  if (truncated) length = captured;
  const b = nd.bytes;
  let out = "";
  for (let line = 0; line < length; line += 16) {
    const n = Math.min(16, length - line);
    let hex = "";
    let ascii = "";
    for (let i = 0; i < n; i += 2) {
      const c1 = b[at + line + i]!;
      if (i + 1 < n) {
        const c2 = b[at + line + i + 1]!;
        hex += " " + HEX[c1] + HEX[c2];
        ascii += (isGraph(c1) ? String.fromCharCode(c1) : ".") + (isGraph(c2) ? String.fromCharCode(c2) : ".");
      } else {
        hex += " " + HEX[c1];
        ascii += isGraph(c1) ? String.fromCharCode(c1) : ".";
      }
    }
    out += `${indent}0x${(offset + line).toString(16).padStart(4, "0")}: ${hex.padEnd(40)}  ${ascii}`;
  }
  nd.out += out;
  if (truncated) throw TRUNCATED;
}

/** tcpdump's hex_print_with_offset (-x): 16 bytes per line, hex words only. */
export function hexOnly(nd: Dissector, indent: string, at: number, length: number, offset: number): void {
  const captured = nd.available(at);
  const truncated = length > captured;
  if (truncated) length = captured;
  const b = nd.bytes;
  let out = "";
  for (let i = 0; i < length; i += 2) {
    if (i % 16 === 0) out += `${indent}0x${(offset + i).toString(16).padStart(4, "0")}: `;
    out += i + 1 < length ? " " + HEX[b[at + i]!] + HEX[b[at + i + 1]!] : " " + HEX[b[at + i]!];
  }
  nd.out += out;
  if (truncated) throw TRUNCATED;
}

/** tcpdump's ascii_print (-A): printable characters, tabs, spaces and newlines as they are, CRs dropped. */
export function asciiOnly(nd: Dissector, at: number, length: number): void {
  const captured = nd.available(at);
  const truncated = length > captured;
  if (truncated) length = captured;
  const b = nd.bytes;
  let out = "\n";
  for (let i = 0; i < length; i++) {
    const c = b[at + i]!;
    const remaining = length - i - 1;
    if (c === 0x0d) {
      if (remaining > 1 && b[at + i + 1] !== 0x0a) out += ".";
    } else if (!isGraph(c) && c !== 0x09 && c !== 0x20 && c !== 0x0a) {
      out += ".";
    } else {
      out += String.fromCharCode(c);
    }
  }
  nd.out += out;
  if (truncated) throw TRUNCATED;
}

export function hex2(value: number): string {
  return HEX[value & 0xff]!;
}
