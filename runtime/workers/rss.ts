/**
 * RSS-style steering: which worker (queue) a packet goes to, by a Toeplitz hash of its IP addresses through a
 * 128-entry indirection table, as NICs do it. Two choices keep every answer of the single-VM data path:
 *
 *  - the key is the symmetric 0x6d5a pattern (Woo & Park, "Scalable TCP session monitoring with symmetric RSS"),
 *    so both directions of a connection reach the same worker — its flow table (ct.state) sees them all;
 *  - the hash input is the address pair (RSS's 2-tuple type), not the ports, so fragments of a datagram and the
 *    packets of a connection share a worker; an ICMP error is hashed by the addresses of the packet it quotes,
 *    so it meets the flow it is RELATED to.
 *
 * Packets without an IP header go to queue 0.
 */

/** 40-byte symmetric Toeplitz key. */
const KEY = Uint8Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0x6d : 0x5a));
/** Hash input bytes: IPv6 source and destination. */
const INPUT_BYTES = 32;
export const RETA_SIZE = 128;

/** The 32 key bits starting at bit `j` (most significant bit first). */
function keyWindow(j: number): number {
  let w = 0;
  for (let b = 0; b < 32; b++) {
    const bit = j + b;
    w = (w << 1) | ((KEY[bit >> 3]! >> (7 - (bit & 7))) & 1);
  }
  return w >>> 0;
}

/** TABLE[pos * 256 + byte]: the Toeplitz contribution of `byte` at input position `pos`. */
const TABLE = (() => {
  const t = new Uint32Array(INPUT_BYTES * 256);
  for (let pos = 0; pos < INPUT_BYTES; pos++) {
    for (let v = 0; v < 256; v++) {
      let h = 0;
      for (let b = 0; b < 8; b++) if ((v >> (7 - b)) & 1) h ^= keyWindow(pos * 8 + b);
      t[pos * 256 + v] = h >>> 0;
    }
  }
  return t;
})();

/** Toeplitz hash of `len`-byte source and destination addresses at `src` and `dst` in `bytes`. */
function hashPair(bytes: Uint8Array, src: number, dst: number, len: number): number {
  let h = 0;
  for (let k = 0; k < len; k++) h ^= TABLE[k * 256 + bytes[src + k]!]! ^ TABLE[(len + k) * 256 + bytes[dst + k]!]!;
  return h >>> 0;
}

const be16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;

/** Where the network header starts and which IP version it holds, packed as offset × 8 + version (0: none). */
function networkHeader(b: Uint8Array, start: number, cap: number, linktype: number): number {
  const end = start + cap;
  let l3 = -1;
  let type = 0;
  switch (linktype) {
    case 1: {
      if (cap < 14) return 0;
      let off = start + 12;
      type = be16(b, off);
      for (let tags = 0; (type === 0x8100 || type === 0x88a8 || type === 0x9100) && tags < 4 && off + 6 <= end; tags++) {
        off += 4;
        type = be16(b, off);
      }
      l3 = off + 2;
      break;
    }
    case 113:
      if (cap < 16) return 0;
      type = be16(b, start + 14);
      l3 = start + 16;
      break;
    case 276:
      if (cap < 20) return 0;
      type = be16(b, start);
      l3 = start + 20;
      break;
    case 0:
    case 108: {
      if (cap < 4) return 0;
      const little = b[start]! | (b[start + 1]! << 8) | (b[start + 2]! << 16) | (b[start + 3]! << 24);
      const big = ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0;
      const af = linktype === 108 ? big : little === 2 || little === 24 || little === 28 || little === 30 ? little : big;
      type = af === 2 ? 0x0800 : af === 24 || af === 28 || af === 30 ? 0x86dd : 0;
      l3 = start + 4;
      break;
    }
    case 12:
    case 101:
      if (cap < 1) return 0;
      type = b[start]! >> 4 === 4 ? 0x0800 : b[start]! >> 4 === 6 ? 0x86dd : 0;
      l3 = start;
      break;
    case 228:
      type = 0x0800;
      l3 = start;
      break;
    case 229:
      type = 0x86dd;
      l3 = start;
      break;
    default:
      return 0;
  }
  const version = type === 0x0800 ? 4 : type === 0x86dd ? 6 : 0;
  if (version === 0 || l3 >= end || b[l3]! >> 4 !== version) return 0;
  return l3 * 8 + version;
}

/** ICMP types that quote the packet they are about (unreachable, source quench, redirect, time exceeded, parameter problem). */
function isIcmp4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** The flow hash of frame bytes [start, start + cap) of the given link type (0 when it has no IP header). */
export function flowHash(b: Uint8Array, start: number, cap: number, linktype: number): number {
  const net = networkHeader(b, start, cap, linktype);
  if (net === 0) return 0;
  const end = start + cap;
  const l3 = net >> 3;
  if ((net & 7) === 4) {
    if (l3 + 20 > end) return 0;
    const ihl = (b[l3]! & 0xf) * 4;
    // an ICMP error goes where the packet it quotes went
    if (b[l3 + 9] === 1 && ihl >= 20 && (be16(b, l3 + 6) & 0x1fff) === 0) {
      const inner = l3 + ihl + 8;
      if (inner + 20 <= end && isIcmp4Error(b[l3 + ihl]!) && b[inner]! >> 4 === 4) return hashPair(b, inner + 12, inner + 16, 4);
    }
    return hashPair(b, l3 + 12, l3 + 16, 4);
  }
  if (l3 + 40 > end) return 0;
  if (b[l3 + 6] === 58) {
    const inner = l3 + 48;
    const type = b[l3 + 40]!;
    if (inner + 40 <= end && type >= 1 && type <= 4 && b[inner]! >> 4 === 6) return hashPair(b, inner + 8, inner + 24, 16);
  }
  return hashPair(b, l3 + 8, l3 + 24, 16);
}

/** The indirection table for `queues` queues (entry i → queue i mod queues, as ethtool sets it by default). */
export function indirectionTable(queues: number): Uint8Array {
  return Uint8Array.from({ length: RETA_SIZE }, (_, i) => i % queues);
}
