/** Hand-built frames for the runtime tests: each builder returns the bytes of one header plus its payload. */

export function bytes(...parts: (number[] | Uint8Array)[]): Uint8Array {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const be16 = (v: number) => [(v >>> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const mac = (v: number) => [5, 4, 3, 2, 1, 0].map((i) => Math.floor(v / 2 ** (8 * i)) % 256);

export const MAC_A = 0x02_00_00_00_00_0a;
export const MAC_B = 0x02_00_00_00_00_0b;

export function ether(type: number, payload: Uint8Array, dst = MAC_B, src = MAC_A): Uint8Array {
  return bytes(mac(dst), mac(src), be16(type), payload);
}

/** One 802.1Q/802.1ad tag: TPID, then TCI, then the encapsulated type. */
export function tagged(tpid: number, tci: number, inner: number, payload: Uint8Array, dst = MAC_B, src = MAC_A): Uint8Array {
  return bytes(mac(dst), mac(src), be16(tpid), be16(tci), be16(inner), payload);
}

export interface IPv4Options {
  src?: number;
  dst?: number;
  proto?: number;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  options?: number[];
  ihl?: number; // override (bytes / 4)
  totalLength?: number; // override
}

export function ipv4(o: IPv4Options, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? [];
  const ihl = o.ihl ?? 5 + opts.length / 4;
  const len = o.totalLength ?? 20 + opts.length + payload.length;
  const frag = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0);
  return bytes([0x40 | ihl, o.tos ?? 0], be16(len), be16(o.id ?? 0x1234), be16(frag), [o.ttl ?? 64, o.proto ?? 6], [0xab, 0xcd], be32(o.src ?? 0x0a000001), be32(o.dst ?? 0x0a000002), opts, payload);
}

export interface IPv6Options {
  src?: bigint;
  dst?: bigint;
  next?: number;
  hopLimit?: number;
  tc?: number;
  flow?: number;
  payloadLength?: number;
}

function be128(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 15; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

export function ipv6(o: IPv6Options, payload: Uint8Array): Uint8Array {
  const tc = o.tc ?? 0;
  const flow = o.flow ?? 0;
  const w0 = (6 << 28) | (tc << 20) | flow;
  return bytes(be32(w0 >>> 0), be16(o.payloadLength ?? payload.length), [o.next ?? 6, o.hopLimit ?? 64], be128(o.src ?? 0x20010db8000000000000000000000001n), be128(o.dst ?? 0x20010db8000000000000000000000002n), payload);
}

/** An IPv6 extension header of the 8-octet-unit kind (hop-by-hop 0, routing 43, destination options 60). */
export function ext6(next: number, units = 0): Uint8Array {
  return bytes([next, units], new Array<number>(6 + units * 8).fill(0));
}

export function frag6(next: number, offsetUnits: number, more: boolean, id: number): Uint8Array {
  return bytes([next, 0], be16((offsetUnits << 3) | (more ? 1 : 0)), be32(id));
}

/** AH: payload length in 4-octet units minus 2. */
export function ah(next: number, lenField = 4): Uint8Array {
  return bytes([next, lenField], new Array<number>((lenField + 2) * 4 - 2).fill(0));
}

export function tcp(sport: number, dport: number, flags: number, payload: Uint8Array = new Uint8Array(0), dataOffsetWords = 5): Uint8Array {
  const opts = new Array<number>(Math.max(0, (dataOffsetWords - 5) * 4)).fill(1);
  return bytes(be16(sport), be16(dport), be32(1000), be32(2000), [(dataOffsetWords << 4) | ((flags >> 8) & 1), flags & 0xff], be16(512), [0, 0], be16(0), opts, payload);
}

export function udp(sport: number, dport: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return bytes(be16(sport), be16(dport), be16(8 + payload.length), [0, 0], payload);
}

export function icmp(type: number, code: number, payload: Uint8Array = new Uint8Array(4)): Uint8Array {
  return bytes([type, code, 0, 0], payload);
}

export function arp(op: number, sha: number, spa: number, tha: number, tpa: number): Uint8Array {
  return bytes(be16(1), be16(0x0800), [6, 4], be16(op), mac(sha), be32(spa), mac(tha), be32(tpa));
}

export function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

/** A TCP/IPv4 Ethernet frame, the workhorse of the interpreter tests. */
export function tcp4Frame(sport = 1234, dport = 80, flags = 0x02, payload: Uint8Array = zeros(6)): Uint8Array {
  return ether(0x0800, ipv4({ proto: 6 }, tcp(sport, dport, flags, payload)));
}
