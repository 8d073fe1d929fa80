/** Builds real Ethernet frames (IPv4/IPv6, TCP/UDP/ICMP, correct checksums) and pcap files for policy tests. */
import { writeFileSync } from "node:fs";
import { parseIPv4, parseIPv6, parseMAC } from "../../overlay-isa/index.js";

export interface PacketSpec {
  src: string;
  dst: string;
  proto: "tcp" | "udp" | "icmp" | "icmpv6" | number;
  sport?: number;
  dport?: number;
  /** TCP flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16) */
  flags?: number;
  seq?: number;
  ack?: number;
  /** TCP window (default 65535) */
  window?: number;
  /** TCP option bytes (zero-padded: end of options) */
  tcpOptions?: readonly number[];
  icmpType?: number;
  icmpCode?: number;
  /** bytes after the ICMP header (e.g. the quoted packet of an ICMP error) */
  icmpBody?: Uint8Array;
  ttl?: number;
  /** payload bytes after the transport header */
  payload?: number;
  srcMac?: string;
  dstMac?: string;
  vlan?: number;
  tos?: number;
  id?: number;
}

export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function protoNumber(p: PacketSpec["proto"]): number {
  return typeof p === "number" ? p : { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[p];
}

/** The transport header and payload (checksum left 0, filled by the caller with the pseudo-header). */
function transport(spec: PacketSpec): Uint8Array {
  const payload = new Uint8Array(spec.payload ?? 0).map((_, i) => (i * 7 + 3) & 0xff);
  const proto = protoNumber(spec.proto);
  if (proto === 6) {
    const opts = spec.tcpOptions ?? [];
    const hlen = 20 + Math.ceil(opts.length / 4) * 4;
    const t = new Uint8Array(hlen + payload.length);
    const v = new DataView(t.buffer);
    v.setUint16(0, spec.sport ?? 40000);
    v.setUint16(2, spec.dport ?? 80);
    v.setUint32(4, spec.seq ?? 1000);
    v.setUint32(8, spec.ack ?? 0);
    t[12] = (hlen / 4) << 4;
    t[13] = spec.flags ?? TCP.ACK;
    v.setUint16(14, spec.window ?? 65535);
    t.set(opts, 20);
    t.set(payload, hlen);
    return t;
  }
  if (proto === 17) {
    const t = new Uint8Array(8 + payload.length);
    const v = new DataView(t.buffer);
    v.setUint16(0, spec.sport ?? 40000);
    v.setUint16(2, spec.dport ?? 53);
    v.setUint16(4, t.length);
    t.set(payload, 8);
    return t;
  }
  if (proto === 1 || proto === 58) {
    const body = spec.icmpBody ?? new Uint8Array(4 + payload.length);
    const t = new Uint8Array(4 + body.length);
    t[0] = spec.icmpType ?? (proto === 1 ? 8 : 128);
    t[1] = spec.icmpCode ?? 0;
    t.set(body, 4);
    return t;
  }
  return payload;
}

function ethernet(spec: PacketSpec, ethertype: number, l3: Uint8Array): Uint8Array {
  const tag = spec.vlan !== undefined ? 4 : 0;
  const f = new Uint8Array(14 + tag + l3.length);
  const v = new DataView(f.buffer);
  const dst = parseMAC(spec.dstMac ?? "02:00:00:00:00:02")!;
  const src = parseMAC(spec.srcMac ?? "02:00:00:00:00:01")!;
  for (let i = 0; i < 6; i++) {
    f[i] = Math.floor(dst / 2 ** (8 * (5 - i))) & 0xff;
    f[6 + i] = Math.floor(src / 2 ** (8 * (5 - i))) & 0xff;
  }
  if (tag) {
    v.setUint16(12, 0x8100);
    v.setUint16(14, spec.vlan!);
  }
  v.setUint16(12 + tag, ethertype);
  f.set(l3, 14 + tag);
  return f;
}

/** The IPv4 packet (header + transport) of a spec, checksums filled in. */
export function ipv4Packet(spec: PacketSpec): Uint8Array {
  const l4 = transport(spec);
  const proto = protoNumber(spec.proto);
  const p = new Uint8Array(20 + l4.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  p[1] = spec.tos ?? 0;
  v.setUint16(2, p.length);
  v.setUint16(4, spec.id ?? 1);
  v.setUint16(6, 0x4000);
  p[8] = spec.ttl ?? 64;
  p[9] = proto;
  v.setUint32(12, parseIPv4(spec.src)!);
  v.setUint32(16, parseIPv4(spec.dst)!);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  const pseudo = new Uint8Array(12);
  pseudo.set(p.subarray(12, 20), 0);
  pseudo[9] = proto;
  new DataView(pseudo.buffer).setUint16(10, l4.length);
  const init = (~checksum(pseudo) & 0xffff);
  if (proto === 6) new DataView(l4.buffer).setUint16(16, checksum(l4, init));
  else if (proto === 17) new DataView(l4.buffer).setUint16(6, checksum(l4, init) || 0xffff);
  else if (proto === 1) new DataView(l4.buffer).setUint16(2, checksum(l4));
  p.set(l4, 20);
  return p;
}

export function ipv4Frame(spec: PacketSpec): Uint8Array {
  return ethernet(spec, 0x0800, ipv4Packet(spec));
}

export function ipv6Frame(spec: PacketSpec): Uint8Array {
  const l4 = transport(spec);
  const proto = protoNumber(spec.proto);
  const p = new Uint8Array(40 + l4.length);
  const v = new DataView(p.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, l4.length);
  p[6] = proto;
  p[7] = spec.ttl ?? 64;
  const put = (at: number, a: bigint) => {
    for (let i = 0; i < 16; i++) p[at + i] = Number((a >> BigInt(8 * (15 - i))) & 0xffn);
  };
  put(8, parseIPv6(spec.src)!);
  put(24, parseIPv6(spec.dst)!);
  p.set(l4, 40);
  return ethernet(spec, 0x86dd, p);
}

/** Write frames as a classic pcap file (µs timestamps, one packet per `stepMs`). */
export function writePcap(path: string, frames: readonly Uint8Array[], stepMs = 1, startSec = 1_700_000_000): void {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 262144, true);
  v.setUint32(20, 1, true);
  let at = 24;
  frames.forEach((f, i) => {
    const us = Math.round(i * stepMs * 1000);
    v.setUint32(at, startSec + Math.floor(us / 1e6), true);
    v.setUint32(at + 4, us % 1e6, true);
    v.setUint32(at + 8, f.length, true);
    v.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  writeFileSync(path, out);
}
