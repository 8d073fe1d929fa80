/**
 * pcapng writer: one Section Header Block, an Interface Description Block per interface (written when the
 * interface is added, before any packet refers to it), and an Enhanced Packet Block per packet carrying
 * epb_flags for the direction and, when the packet has one, an opt_comment (a later issue records the owning
 * process there). Little-endian, version 1.0, as Wireshark and libpcap read it.
 */
import type { BufferedOutput } from "./byte-sink.js";
import { PacketDirection, type CapturedPacket, type TimestampPrecision } from "./packet.js";

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_EPB = 6;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

export interface PcapngWriterOptions {
  /** Timestamp resolution of every interface: if_tsresol 6 ("micro", default) or 9 ("nano"). */
  precision?: TimestampPrecision;
  /** shb_userappl: the application that wrote the file. */
  application?: string;
}

export interface PcapngInterfaceOptions {
  /** LINKTYPE_ value (16 bits in pcapng). */
  linkType: number;
  snapshotLength: number;
  name?: string;
  description?: string;
}

const utf8 = new TextEncoder();

function padded(length: number): number {
  return (length + 3) & ~3;
}

export class PcapngWriter {
  private readonly nano: boolean;
  private interfaceCount = 0;
  private closed = false;

  constructor(
    private readonly out: BufferedOutput,
    options: PcapngWriterOptions = {},
  ) {
    this.nano = options.precision === "nano";
    const application = utf8.encode(options.application ?? "kopi hostctl");
    const optionsLength = 4 + padded(application.length) + 4;
    const total = 28 + optionsLength;
    const at = out.reserve(total);
    const v = out.view;
    v.setUint32(at, BT_SHB, true);
    v.setUint32(at + 4, total, true);
    v.setUint32(at + 8, 0x1a2b3c4d, true);
    v.setUint16(at + 12, 1, true);
    v.setUint16(at + 14, 0, true);
    // Section length unknown (-1): the file is streamed.
    v.setUint32(at + 16, 0xffffffff, true);
    v.setUint32(at + 20, 0xffffffff, true);
    let o = this.writeOption(at + 24, SHB_USERAPPL, application);
    o = this.writeEnd(o);
    v.setUint32(o, total, true);
    out.length = o + 4;
  }

  /** Describe an interface; returns the interface id packets must carry. */
  addInterface(options: PcapngInterfaceOptions): number {
    const name = options.name === undefined ? undefined : utf8.encode(options.name);
    const description = options.description === undefined ? undefined : utf8.encode(options.description);
    let optionsLength = 4 + 4 + 4; // if_tsresol + end of options
    if (name) optionsLength += 4 + padded(name.length);
    if (description) optionsLength += 4 + padded(description.length);
    const total = 16 + optionsLength + 4;
    const out = this.out;
    const at = out.reserve(total);
    const v = out.view;
    v.setUint32(at, BT_IDB, true);
    v.setUint32(at + 4, total, true);
    v.setUint16(at + 8, options.linkType & 0xffff, true);
    v.setUint16(at + 10, 0, true);
    v.setUint32(at + 12, options.snapshotLength >>> 0, true);
    let o = at + 16;
    if (name) o = this.writeOption(o, IF_NAME, name);
    if (description) o = this.writeOption(o, IF_DESCRIPTION, description);
    o = this.writeOption(o, IF_TSRESOL, Uint8Array.of(this.nano ? 9 : 6));
    o = this.writeEnd(o);
    v.setUint32(o, total, true);
    out.length = o + 4;
    return this.interfaceCount++;
  }

  /** Write a packet on an interface added before (default: the packet's own interfaceIndex). */
  write(packet: CapturedPacket, interfaceId = packet.interfaceIndex): void {
    if (interfaceId >= this.interfaceCount) {
      throw new RangeError(`pcapng writer: interface ${interfaceId} has not been added`);
    }
    const data = packet.data;
    const caplen = data.length;
    const comment = packet.comment === undefined ? undefined : utf8.encode(packet.comment);
    const hasFlags = packet.direction !== PacketDirection.Unknown;
    let optionsLength = 0;
    if (hasFlags) optionsLength += 8;
    if (comment) optionsLength += 4 + padded(comment.length);
    if (optionsLength > 0) optionsLength += 4;
    const total = 28 + padded(caplen) + optionsLength + 4;
    const out = this.out;
    const at = out.reserve(total);
    const v = out.view;
    v.setUint32(at, BT_EPB, true);
    v.setUint32(at + 4, total, true);
    v.setUint32(at + 8, interfaceId, true);
    // The 64-bit timestamp is stored as two 32-bit words, high word first.
    const microTicks = packet.seconds * 1e6 + Math.floor(packet.nanoseconds / 1000);
    if (!this.nano && microTicks <= Number.MAX_SAFE_INTEGER) {
      v.setUint32(at + 12, Math.floor(microTicks / 4294967296), true);
      v.setUint32(at + 16, microTicks % 4294967296, true);
    } else {
      const fraction = this.nano ? packet.nanoseconds : Math.floor(packet.nanoseconds / 1000);
      const ticks = BigInt(packet.seconds) * (this.nano ? 1_000_000_000n : 1_000_000n) + BigInt(fraction);
      v.setUint32(at + 12, Number((ticks >> 32n) & 0xffffffffn), true);
      v.setUint32(at + 16, Number(ticks & 0xffffffffn), true);
    }
    v.setUint32(at + 20, caplen, true);
    v.setUint32(at + 24, packet.wireLength >>> 0, true);
    out.bytes.set(data, at + 28);
    let o = at + 28 + caplen;
    while (o & 3) out.bytes[o++] = 0;
    if (hasFlags) {
      v.setUint16(o, EPB_FLAGS, true);
      v.setUint16(o + 2, 4, true);
      v.setUint32(o + 4, packet.direction, true);
      o += 8;
    }
    if (comment) o = this.writeOption(o, OPT_COMMENT, comment);
    if (optionsLength > 0) o = this.writeEnd(o);
    v.setUint32(o, total, true);
    out.length = o + 4;
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.close();
  }

  private writeOption(at: number, code: number, value: Uint8Array): number {
    const v = this.out.view;
    v.setUint16(at, code, true);
    v.setUint16(at + 2, value.length, true);
    this.out.bytes.set(value, at + 4);
    let o = at + 4 + value.length;
    while (o & 3) this.out.bytes[o++] = 0;
    return o;
  }

  private writeEnd(at: number): number {
    this.out.view.setUint32(at, OPT_ENDOFOPT, true);
    return at + 4;
  }
}
