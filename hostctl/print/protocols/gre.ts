/**
 * GRE (RFC 1701/2784 version 0, RFC 2637 enhanced GRE version 1) as tcpdump 4.99's print-gre.c prints it:
 * "GREv0, key=0x1, seq 7, length N: <payload>", multi-line with -v. Payloads kopi decodes (IPv4, IPv6, MPLS,
 * transparent Ethernet bridging) are printed; GRE carrying a protocol kopi does not decode (IPX, AppleTalk,
 * OSI, PPP in enhanced GRE) is left to the caller's generic " ip-proto-47 LENGTH" line rather than decoded
 * differently from tcpdump.
 */
import { ipv4At } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { bitNames, ETHERTYPE_NAMES } from "../names.js";
import { mplsPrint } from "./udp-applications.js";

const GRE_CP = 0x8000;
const GRE_RP = 0x4000;
const GRE_KP = 0x2000;
const GRE_SP = 0x1000;
const GRE_AP = 0x0080;

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [GRE_CP, "checksum present"],
  [GRE_RP, "routing present"],
  [GRE_KP, "key present"],
  [GRE_SP, "sequence# present"],
  [0x0800, "source routing present"],
  [GRE_AP, "ack present"],
];

const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_TEB = 0x6558;
/** Payloads tcpdump decodes and kopi does not. */
const UNDECODED_V0 = new Set([0x8137 /* IPX */, 0x809b /* AppleTalk */, 0x00fe /* OSI */]);
const ETHERTYPE_PPP = 0x880b;

/**
 * Would tcpdump decode this GRE packet's payload with a decoder kopi lacks? Then the caller prints the
 * generic line for the whole datagram.
 */
export function greUndecoded(nd: Dissector, at: number, length: number): boolean {
  if (length < 4 || !nd.has(at, 4)) return false;
  const flags = nd.be16(at);
  const protocol = nd.be16(at + 2);
  switch (flags & 7) {
    case 0:
      return UNDECODED_V0.has(protocol);
    case 1:
      return (flags & GRE_SP) !== 0 && protocol === ETHERTYPE_PPP;
    default:
      return false;
  }
}

export function grePrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "gre";
  if (!nd.has(at, 2) || length < 2) {
    nd.printTrunc();
    return;
  }
  const version = nd.be16(at) & 7;
  nd.print(`GREv${version}`);
  if (version === 0) greV0(nd, at, length);
  else if (version === 1) greV1(nd, at, length);
  else nd.print(" ERROR: unknown-version");
}

/** Reads a 2- or 4-byte field if both captured and within the GRE length; false is tcpdump's "goto trunc". */
function field(nd: Dissector, at: number, size: number, remaining: number): boolean {
  return nd.has(at, size) && remaining >= size;
}

function greV0(nd: Dissector, at: number, length: number): void {
  let len = length;
  const flags = nd.be16(at);
  if (nd.options.verbose) nd.print(`, Flags [${bitNames(FLAG_NAMES, "none", flags)}]`);
  len -= 2;
  at += 2;
  if (!field(nd, at, 2, len)) return nd.printTrunc();
  const protocol = nd.be16(at);
  len -= 2;
  at += 2;
  if (flags & (GRE_CP | GRE_RP)) {
    if (!field(nd, at, 2, len)) return nd.printTrunc();
    if (nd.options.verbose) nd.print(`, sum 0x${nd.be16(at).toString(16)}`);
    at += 2;
    len -= 2;
    if (!field(nd, at, 2, len)) return nd.printTrunc();
    nd.print(`, off 0x${nd.be16(at).toString(16)}`);
    at += 2;
    len -= 2;
  }
  if (flags & GRE_KP) {
    if (!field(nd, at, 4, len)) return nd.printTrunc();
    nd.print(`, key=0x${nd.be32(at).toString(16)}`);
    at += 4;
    len -= 4;
  }
  if (flags & GRE_SP) {
    if (!field(nd, at, 4, len)) return nd.printTrunc();
    nd.print(`, seq ${nd.be32(at)}`);
    at += 4;
    len -= 4;
  }
  if (flags & GRE_RP) {
    for (;;) {
      if (!field(nd, at, 4, len)) return nd.printTrunc();
      const family = nd.be16(at);
      const offset = nd.u8(at + 2);
      const sreLength = nd.u8(at + 3);
      at += 4;
      len -= 4;
      if (family === 0 && sreLength === 0) break;
      if (!sourceRouteEntry(nd, family, offset, sreLength, at, len)) return nd.printTrunc();
      if (len < sreLength) return nd.printTrunc();
      at += sreLength;
      len -= sreLength;
    }
  }
  if (nd.options.linkHeader) {
    nd.print(`, proto ${ETHERTYPE_NAMES.get(protocol) ?? "unknown"} (0x${protocol.toString(16).padStart(4, "0")})`);
  }
  nd.print(`, length ${length}`);
  nd.print(nd.options.verbose < 1 ? ": " : "\n\t");
  switch (protocol) {
    case ETHERTYPE_IP:
      nd.decode.ip(nd, at, len);
      break;
    case ETHERTYPE_IPV6:
      nd.decode.ip6(nd, at, len);
      break;
    case ETHERTYPE_MPLS:
      mplsPrint(nd, at, len);
      break;
    case ETHERTYPE_TEB:
      nd.decode.ether(nd, at, len, nd.available(at));
      break;
    default:
      nd.print(`gre-proto-0x${protocol.toString(16)}`);
  }
}

function greV1(nd: Dissector, at: number, length: number): void {
  let len = length;
  const flags = nd.be16(at);
  len -= 2;
  at += 2;
  if (nd.options.verbose) nd.print(`, Flags [${bitNames(FLAG_NAMES, "none", flags)}]`);
  if (!field(nd, at, 2, len)) return nd.printTrunc();
  const protocol = nd.be16(at);
  len -= 2;
  at += 2;
  if (flags & GRE_KP) {
    if (!field(nd, at, 4, len)) return nd.printTrunc();
    nd.print(`, call ${nd.be32(at) & 0xffff}`);
    len -= 4;
    at += 4;
  }
  if (flags & GRE_SP) {
    if (!field(nd, at, 4, len)) return nd.printTrunc();
    nd.print(`, seq ${nd.be32(at)}`);
    at += 4;
    len -= 4;
  }
  if (flags & GRE_AP) {
    if (!field(nd, at, 4, len)) return nd.printTrunc();
    nd.print(`, ack ${nd.be32(at)}`);
    at += 4;
    len -= 4;
  }
  if ((flags & GRE_SP) === 0) nd.print(", no-payload");
  if (nd.options.linkHeader) {
    nd.print(`, proto ${ETHERTYPE_NAMES.get(protocol) ?? "unknown"} (0x${protocol.toString(16).padStart(4, "0")})`);
  }
  nd.print(`, length ${length}`);
  if ((flags & GRE_SP) === 0) return;
  nd.print(nd.options.verbose < 1 ? ": " : "\n\t");
  // PPP payloads never get here (greUndecoded).
  nd.print(`gre-proto-0x${protocol.toString(16)}`);
}

/** gre_sre_print; false is tcpdump's "goto trunc". */
function sourceRouteEntry(nd: Dissector, family: number, offset: number, sreLength: number, at: number, len: number): boolean {
  let ok = true;
  if (family === 0x0800) {
    nd.print(", (rtaf=ip");
    ok = sourceRoute(nd, offset, sreLength, at, len, 4);
    nd.print(")");
  } else if (family === 0xfffe) {
    nd.print(", (rtaf=asn");
    ok = sourceRoute(nd, offset, sreLength, at, len, 2);
    nd.print(")");
  } else nd.print(`, (rtaf=0x${family.toString(16)})`);
  return ok;
}

function sourceRoute(nd: Dissector, offset: number, sreLength: number, at: number, len: number, size: 2 | 4): boolean {
  const start = at;
  if (offset & (size - 1)) {
    nd.print(`, badoffset=${offset}`);
    return true;
  }
  if (sreLength & (size - 1)) {
    nd.print(`, badlength=${sreLength}`);
    return true;
  }
  if (offset >= sreLength) {
    nd.print(`, badoff/len=${offset}/${sreLength}`);
    return true;
  }
  while (sreLength !== 0) {
    if (!nd.has(at, size) || len < size) return false;
    const mark = at - start === offset ? "*" : "";
    nd.print(size === 4 ? ` ${mark}${ipv4At(nd, at)}` : ` ${mark}${nd.be16(at).toString(16)}`);
    at += size;
    len -= size;
    sreLength -= size;
  }
  return true;
}
