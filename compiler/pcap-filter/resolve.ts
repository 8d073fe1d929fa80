/**
 * libpcap's address and name conversions (nametoaddr.c) over kopi's built-in name databases: dotted IPv4 text
 * with 1 to 4 parts, DECnet area.node, Ethernet address text, service, protocol and network names.
 */
import { parseIPv6 } from "../../overlay-isa/index.js";
import { ETHER_PROTOCOLS, HOSTS, LLC_PROTOCOLS, NETWORKS, PROTOCOLS, SERVICES } from "./names.js";

export const PROTO_UNDEF = -1;
export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;

/** __pcap_atoin: dotted IPv4 text of 1-4 parts → value and its length in bits, or undefined if a part is > 255. */
export function atoin(text: string): { value: number; bits: number } | undefined {
  let value = 0;
  let bits = 0;
  for (const part of text.split(".")) {
    let n = 0;
    for (const c of part) {
      if (n > 25) return undefined; // the result would be > 255
      n = n * 10 + (c.charCodeAt(0) - 48);
    }
    if (n > 255) return undefined;
    value = ((value << 8) | (n & 0xff)) >>> 0;
    bits += 8;
  }
  return { value, bits };
}

/** __pcap_atodn: DECnet `area.node` → 16-bit address; undefined when the text is not two numbers. */
export function atodn(text: string): number | undefined {
  const m = /^\s*([+-]?\d+)\.([+-]?\d+)/.exec(text);
  if (!m) return undefined;
  const area = Number(m[1]);
  const node = Number(m[2]);
  return (((area << 10) & 0o176000) | (node & 0o1777)) >>> 0;
}

/** pcap_ether_aton: six bytes from hex pairs, separators `:` `.` `-` skipped. */
export function etherAton(text: string): Uint8Array {
  const out: number[] = [];
  let i = 0;
  const hex = (c: string | undefined) => c !== undefined && /[0-9A-Fa-f]/.test(c);
  while (i < text.length && out.length < 6) {
    if (text[i] === ":" || text[i] === "." || text[i] === "-") i++;
    let d = parseInt(text[i++] ?? "0", 16);
    if (hex(text[i])) d = (d << 4) | parseInt(text[i++]!, 16);
    out.push(d & 0xff);
  }
  while (out.length < 6) out.push(0);
  return Uint8Array.from(out);
}

/** IPv6 text → 16 bytes (numeric only, as AI_NUMERICHOST), or undefined. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const v = parseIPv6(text);
  if (v === undefined) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number((v >> BigInt(8 * (15 - i))) & 0xffn);
  return out;
}

function servicePort(name: string, proto: "tcp" | "udp"): number | undefined {
  if (/^\d+$/.test(name)) return Number(name); // getaddrinfo takes a numeric service as is
  return SERVICES.get(name)?.[proto];
}

/** pcap_nametoport: the port of a service name and whether it is TCP, UDP or both (PROTO_UNDEF). */
export function nameToPort(name: string): { port: number; proto: number } | undefined {
  const tcp = servicePort(name, "tcp");
  const udp = servicePort(name, "udp");
  if (tcp !== undefined) return { port: tcp, proto: udp === tcp ? PROTO_UNDEF : IPPROTO.TCP };
  if (udp !== undefined) return { port: udp, proto: IPPROTO.UDP };
  return undefined;
}

/** pcap_nametoportrange: `a-b` with numbers or service names on either side. */
export function nameToPortRange(name: string): { port1: number; port2: number; proto: number } | undefined {
  const numeric = /^\s*([+-]?\d+)-([+-]?\d+)/.exec(name);
  if (numeric) return { port1: Number(numeric[1]), port2: Number(numeric[2]), proto: PROTO_UNDEF };
  const dash = name.indexOf("-");
  if (dash < 0) return undefined;
  const first = nameToPort(name.slice(0, dash));
  if (!first) return undefined;
  const second = nameToPort(name.slice(dash + 1));
  if (!second) return undefined;
  return { port1: first.port, port2: second.port, proto: first.proto === second.proto ? second.proto : PROTO_UNDEF };
}

export function nameToProto(name: string): number | undefined {
  return PROTOCOLS.get(name);
}

export function nameToEtherProto(name: string): number | undefined {
  return ETHER_PROTOCOLS.get(name);
}

export function nameToLlc(name: string): number | undefined {
  return LLC_PROTOCOLS.get(name);
}

/** pcap_nametonetaddr: a network name's number (0 when unknown, as getnetbyname gives none). */
export function nameToNetAddr(name: string): number {
  const text = NETWORKS.get(name);
  if (text === undefined) return 0;
  // inet_network(): parts fill from the low end, so "127" is 0x7f and "127.0.0.0" is 0x7f000000
  return text.split(".").reduce((acc, p) => ((acc << 8) | (Number(p) & 0xff)) >>> 0, 0);
}

/** Addresses a host name resolves to, in resolver order. */
export function nameToAddresses(name: string): readonly { family: 4 | 6; text: string }[] {
  return (HOSTS.get(name) ?? []).map((text) => ({ family: text.includes(":") ? 6 : 4, text }));
}
