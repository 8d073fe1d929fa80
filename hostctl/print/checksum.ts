/** Internet checksums as tcpdump verifies them with -v (in_cksum, nextproto4_cksum, nextproto6_cksum). */
import type { Dissector } from "./dissector.js";

/** One's-complement sum of bytes [at, at+length) added to `initial`, not folded or inverted. */
function sum16(bytes: Uint8Array, at: number, length: number, initial: number): number {
  let sum = initial;
  const end = at + (length & ~1);
  for (let i = at; i < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (length & 1) sum += bytes[at + length - 1]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** in_cksum over a byte range: 0 when the embedded checksum is right. */
export function internetChecksum(bytes: Uint8Array, at: number, length: number, initial = 0): number {
  return ~fold(sum16(bytes, at, length, initial)) & 0xffff;
}

/** in_cksum_shouldbe: the checksum the field should have held. */
export function checksumShouldBe(sum: number, computed: number): number {
  let shouldBe = ~sum & 0xffff;
  shouldBe += ~computed & 0xffff;
  shouldBe = (shouldBe & 0xffff) + (shouldBe >> 16);
  shouldBe = (shouldBe & 0xffff) + (shouldBe >> 16);
  return ~shouldBe & 0xffff;
}

/** Checksum of an upper-layer segment over IPv4 with the pseudo-header (source, destination, protocol, length). */
export function ipv4PseudoChecksum(
  nd: Dissector,
  ipAt: number,
  destinationAt: number,
  dataAt: number,
  length: number,
  protocol: number,
): number {
  const b = nd.bytes;
  let sum = sum16(b, ipAt + 12, 4, 0);
  sum = sum16(b, destinationAt, 4, sum);
  sum += protocol + length;
  return internetChecksum(b, dataAt, length, sum);
}

/** The same over IPv6 (RFC 8200 pseudo-header with 32-bit length). */
export function ipv6PseudoChecksum(
  nd: Dissector,
  ipAt: number,
  destinationAt: number,
  dataAt: number,
  length: number,
  protocol: number,
): number {
  const b = nd.bytes;
  let sum = sum16(b, ipAt + 8, 16, 0);
  sum = sum16(b, destinationAt, 16, sum);
  sum += Math.floor(length / 0x10000) + (length & 0xffff) + protocol;
  return internetChecksum(b, dataAt, length, sum);
}
