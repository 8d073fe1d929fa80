/**
 * Connection endpoints as users write them — `10.0.0.2:5432`, `[2001:db8::1]:443`, `*:5432` or `:5432` (any
 * local address) — and as the NIC's connection table holds them (protocol, four address words, ports).
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../overlay-isa/index.js";
import { PROTOCOLS } from "../../compiler/policy/catalog.js";

export interface Endpoint {
  /** undefined: any address (a listener bound to every local address) */
  address?: { v6: boolean; words: [number, number, number, number] };
  port: number;
}

export const PROTO_NAMES: Record<number, string> = { 6: "tcp", 17: "udp", 132: "sctp" };

/** A protocol name or number that a connection can have (tcp, udp, sctp). */
export function parseProtocol(text: string): number | undefined {
  const n = /^\d+$/.test(text) ? Number(text) : PROTOCOLS[text.toLowerCase()];
  return n === 6 || n === 17 || n === 132 ? n : undefined;
}

function addressWords(text: string): Endpoint["address"] | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { v6: false, words: [v4 >>> 0, 0, 0, 0] };
  const v6 = parseIPv6(text);
  if (v6 === undefined) return undefined;
  const w = (i: number) => Number((v6 >> BigInt(96 - 32 * i)) & 0xffffffffn);
  return { v6: true, words: [w(0), w(1), w(2), w(3)] };
}

/** Parse `ADDRESS:PORT`; `*:PORT` and `:PORT` mean any address when `anyAllowed`. Returns an error text otherwise. */
export function parseEndpoint(text: string, anyAllowed: boolean): Endpoint | string {
  const t = text.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:[\]]*):(\d+)$/.exec(t);
  if (!m) return `'${text}' is not ADDRESS:PORT (IPv6 in brackets: [2001:db8::1]:443)`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} in '${text}' is not 1 … 65535`;
  if (host === "" || host === "*") {
    if (!anyAllowed) return `'${text}' needs an address (only a listening socket may bind any address)`;
    return { port };
  }
  const address = addressWords(host);
  if (!address) return `'${host}' in '${text}' is not an IPv4 or IPv6 address`;
  if (!address.words.some((w) => w !== 0)) {
    if (!anyAllowed) return `'${text}' needs a concrete address`;
    return { port };
  }
  return { address, port };
}

export function formatEndpoint(e: Endpoint | undefined): string {
  if (!e) return "*";
  if (!e.address) return `*:${e.port}`;
  if (!e.address.v6) return `${formatIPv4(e.address.words[0])}:${e.port}`;
  const [a, b, c, d] = e.address.words;
  const v = (BigInt(a) << 96n) | (BigInt(b) << 64n) | (BigInt(c) << 32n) | BigInt(d);
  return `[${formatIPv6(v)}]:${e.port}`;
}
