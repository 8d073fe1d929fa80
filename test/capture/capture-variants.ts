/**
 * Builds capture files in the forms the corpus lacks — big-endian and nanosecond classic pcap, big-endian
 * pcapng, several sections, Simple and obsolete Packet Blocks, unknown blocks, odd if_tsresol and if_tsoffset —
 * written independently of the writers under test, so the reader can be checked against libpcap on them.
 */

export interface VariantPacket {
  seconds: number;
  /** Fraction in the file's own unit (µs, ns, or if_tsresol ticks for pcapng). */
  fraction: number;
  data: Uint8Array;
  wireLength?: number;
}

class Bytes {
  private readonly parts: number[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.littleEndian ? this.u8(v).u8(v >> 8) : this.u8(v >> 8).u8(v);
  }
  u32(v: number): this {
    v >>>= 0;
    return this.littleEndian ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff);
  }
  u64(v: bigint): this {
    const high = Number((v >> 32n) & 0xffffffffn);
    const low = Number(v & 0xffffffffn);
    return this.littleEndian ? this.u32(low).u32(high) : this.u32(high).u32(low);
  }
  bytes(data: Uint8Array): this {
    for (const b of data) this.parts.push(b);
    return this;
  }
  pad(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  toUint8Array(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface ClassicOptions {
  littleEndian: boolean;
  nano: boolean;
  linkType?: number;
  snaplen?: number;
  versionMinor?: number;
}

export function classicPcap(packets: VariantPacket[], options: ClassicOptions): Uint8Array {
  const b = new Bytes(options.littleEndian);
  b.u32(options.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(options.versionMinor ?? 4)
    .u32(0)
    .u32(0)
    .u32(options.snaplen ?? 65535)
    .u32(options.linkType ?? 1);
  for (const p of packets) {
    b.u32(p.seconds).u32(p.fraction).u32(p.data.length).u32(p.wireLength ?? p.data.length).bytes(p.data);
  }
  return b.toUint8Array();
}

export interface NgInterface {
  linkType: number;
  snaplen: number;
  /** if_tsresol option byte, omitted when undefined (µs). */
  tsresol?: number;
  tsoffset?: bigint;
  name?: string;
}

export type NgBlock =
  | { kind: "epb"; interfaceId: number; ticks: bigint; data: Uint8Array; wireLength?: number; flags?: number; comment?: string }
  | { kind: "pb"; interfaceId: number; ticks: bigint; data: Uint8Array; wireLength?: number }
  | { kind: "spb"; data: Uint8Array; wireLength?: number }
  | { kind: "unknown"; type: number; body: Uint8Array }
  | { kind: "idb"; iface: NgInterface };

export interface NgSection {
  interfaces: NgInterface[];
  blocks: NgBlock[];
}

function block(littleEndian: boolean, type: number, body: (b: Bytes) => void): Uint8Array {
  const inner = new Bytes(littleEndian);
  body(inner);
  inner.pad();
  const total = inner.length + 12;
  const b = new Bytes(littleEndian).u32(type).u32(total).bytes(inner.toUint8Array()).u32(total);
  return b.toUint8Array();
}

function option(b: Bytes, code: number, value: Uint8Array): void {
  b.u16(code).u16(value.length).bytes(value).pad();
}

function idb(littleEndian: boolean, iface: NgInterface): Uint8Array {
  return block(littleEndian, 1, (b) => {
    b.u16(iface.linkType).u16(0).u32(iface.snaplen);
    if (iface.name !== undefined) option(b, 2, new TextEncoder().encode(iface.name));
    if (iface.tsresol !== undefined) option(b, 9, Uint8Array.of(iface.tsresol));
    if (iface.tsoffset !== undefined) {
      const value = new Bytes(littleEndian).u64(iface.tsoffset).toUint8Array();
      option(b, 14, value);
    }
    if (iface.name !== undefined || iface.tsresol !== undefined || iface.tsoffset !== undefined) b.u32(0);
  });
}

export function pcapng(sections: NgSection[], littleEndian: boolean): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const section of sections) {
    chunks.push(
      block(littleEndian, 0x0a0d0d0a, (b) => {
        b.u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn);
      }),
    );
    for (const iface of section.interfaces) chunks.push(idb(littleEndian, iface));
    for (const item of section.blocks) {
      switch (item.kind) {
        case "idb":
          chunks.push(idb(littleEndian, item.iface));
          break;
        case "epb":
          chunks.push(
            block(littleEndian, 6, (b) => {
              b.u32(item.interfaceId).u32(Number(item.ticks >> 32n)).u32(Number(item.ticks & 0xffffffffn));
              b.u32(item.data.length).u32(item.wireLength ?? item.data.length).bytes(item.data).pad();
              if (item.flags !== undefined || item.comment !== undefined) {
                if (item.flags !== undefined) b.u16(2).u16(4).u32(item.flags);
                if (item.comment !== undefined) option(b, 1, new TextEncoder().encode(item.comment));
                b.u32(0);
              }
            }),
          );
          break;
        case "pb":
          chunks.push(
            block(littleEndian, 2, (b) => {
              b.u16(item.interfaceId).u16(0).u32(Number(item.ticks >> 32n)).u32(Number(item.ticks & 0xffffffffn));
              b.u32(item.data.length).u32(item.wireLength ?? item.data.length).bytes(item.data);
            }),
          );
          break;
        case "spb":
          chunks.push(
            block(littleEndian, 3, (b) => {
              b.u32(item.wireLength ?? item.data.length).bytes(item.data);
            }),
          );
          break;
        case "unknown":
          chunks.push(block(littleEndian, item.type, (b) => b.bytes(item.body)));
          break;
      }
    }
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}
