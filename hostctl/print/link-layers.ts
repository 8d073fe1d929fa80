/**
 * Link-layer printers (tcpdump's *_if_print): Ethernet with VLAN tags and 802.3/LLC, Linux cooked v1/v2, BSD
 * loopback (NULL/LOOP) and raw IP. Each records the link header length for -x/-X and hands the payload on.
 */
import { macAt } from "./addresses.js";
import type { Dissector } from "./dissector.js";
import { ETHERTYPE_NAMES } from "./names.js";
import { arpPrint } from "./protocols/arp.js";
import { ip6Print } from "./protocols/ip6.js";
import { ipPrint } from "./protocols/ip.js";
import { llcPrint } from "./protocols/llc.js";
import { eapolPrint, loopbackPrint } from "./protocols/ethertype-extras.js";
import { mplsPrint } from "./protocols/udp-applications.js";
import { interfaceName } from "./interface-names.js";

const MAX_ETHERNET_LENGTH_VAL = 1500;

export function ethertypeName(type: number, unknown = "Unknown"): string {
  return ETHERTYPE_NAMES.get(type) ?? unknown;
}

function etherTypePrint(nd: Dissector, type: number): void {
  if (!nd.options.quiet) nd.print(`ethertype ${ethertypeName(type)} (0x${type.toString(16).padStart(4, "0")})`);
  else nd.print(ethertypeName(type, `Unknown Ethertype (0x${type.toString(16).padStart(4, "0")})`));
}

function tciString(tci: number): string {
  return `vlan ${tci & 0xfff}, p ${(tci >> 13) & 7}${tci & 0x1000 ? ", DEI" : ""}`;
}

/**
 * Payload after an EtherType; returns false for types tcpdump has no printer for (the caller then prints the
 * frame summary and a hex dump).
 */
export function ethertypePrint(nd: Dissector, type: number, at: number, length: number, caplen: number): boolean {
  switch (type) {
    case 0x0800:
      ipPrint(nd, at, length);
      return true;
    case 0x86dd:
      ip6Print(nd, at, length);
      return true;
    case 0x0806:
    case 0x8035:
      arpPrint(nd, at, length, caplen);
      return true;
    case 0x888e:
      eapolPrint(nd, at, length);
      return true;
    case 0x9000:
      loopbackPrint(nd, at, length);
      return true;
    case 0x8847:
    case 0x8848:
      mplsPrint(nd, at, length);
      return true;
    default:
      return false;
  }
}

/** ether_common_print for a frame starting at `at`. Returns the link header length. */
export function etherPrint(nd: Dissector, at: number, length: number, caplen: number): number {
  nd.protocol = "ether";
  if (length < caplen) {
    nd.print(`[length ${length} < caplen ${caplen}]`);
    nd.printInvalid();
    return length;
  }
  if (caplen < 14) {
    nd.printTrunc();
    return caplen;
  }
  const origLength = length;
  const source = macAt(nd, at + 6);
  const destination = macAt(nd, at);
  const e = nd.options.linkHeader;
  const start = at;
  if (e) nd.print(`${source} > ${destination}, `);
  length -= 12;
  caplen -= 12;
  at += 12;
  let printedLength = false;
  let type = nd.be16(at);
  length -= 2;
  caplen -= 2;
  at += 2;
  while (type === 0x8100 || type === 0x9100 || type === 0x9200 || type === 0x88a8) {
    if (caplen < 4 || length < 4) {
      nd.protocol = "vlan";
      nd.printTrunc();
      return at - start + Math.min(caplen, length);
    }
    if (e) {
      const tag = nd.be16(at);
      etherTypePrint(nd, type);
      if (!printedLength) {
        nd.print(`, length ${origLength}: `);
        printedLength = true;
      } else nd.print(", ");
      nd.print(`${tciString(tag)}, `);
    }
    type = nd.be16(at + 2);
    at += 4;
    length -= 4;
    caplen -= 4;
  }
  if (type <= MAX_ETHERNET_LENGTH_VAL) {
    // A length field: the payload is this long (if that is shorter than the frame), and an LLC header follows.
    if (type < length) {
      length = type;
      if (caplen > length) caplen = length;
    }
    nd.pushEnd(at, length);
    if (e) {
      nd.print("802.3");
      if (!printedLength) nd.print(`, length ${length}: `);
    }
    let llcLength = llcPrint(nd, at, length, caplen, start + 6, start);
    if (llcLength < 0) {
      nd.defaultPrint(at, caplen);
      llcLength = -llcLength;
    }
    nd.popEnd();
    return at - start + llcLength;
  }
  if (e) {
    etherTypePrint(nd, type);
    if (!printedLength) nd.print(`, length ${origLength}: `);
    else nd.print(", ");
  }
  if (!ethertypePrint(nd, type, at, length, caplen)) {
    if (!e) {
      nd.print(`${source} > ${destination}, `);
      etherTypePrint(nd, type);
      nd.print(`, length ${origLength}: `);
    }
    nd.defaultPrint(at, caplen);
  }
  return at - start;
}

const SLL_PACKET_TYPES = new Map<number, string>([
  [0, "In"],
  [1, "B"],
  [2, "M"],
  [3, "P"],
  [4, "Out"],
]);

function sllProtocolSummary(nd: Dissector, protocol: number, length: number): void {
  if (nd.options.quiet) return;
  if (protocol <= MAX_ETHERNET_LENGTH_VAL) {
    if (protocol === 1) nd.print("802.3");
    else if (protocol === 4) nd.print("802.2");
    else nd.print(`ethertype Unknown (0x${protocol.toString(16).padStart(4, "0")})`);
  } else {
    nd.print(`ethertype ${ethertypeName(protocol)} (0x${protocol.toString(16).padStart(4, "0")})`);
  }
  nd.print(`, length ${length}: `);
}

function sllHeaderPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "sll";
  nd.print(`${(SLL_PACKET_TYPES.get(nd.be16(at)) ?? "?").padStart(3)} `);
  if (nd.be16(at + 4) === 6) nd.print(`${macAt(nd, at + 6)} `);
  sllProtocolSummary(nd, nd.be16(at + 14), length);
}

/** Payload of a cooked capture after its protocol field (shared by SLL and SLL2). */
function cookedPayload(
  nd: Dissector,
  protocol: number,
  at: number,
  length: number,
  caplen: number,
  printHeaderIfUnknown: () => void,
): number {
  let headerExtra = 0;
  for (;;) {
    if (protocol <= MAX_ETHERNET_LENGTH_VAL) {
      if (protocol === 4) {
        const llcLength = llcPrint(nd, at, length, caplen, undefined, undefined);
        if (llcLength >= 0) return headerExtra + llcLength;
      }
      nd.defaultPrint(at, caplen);
      return headerExtra;
    }
    if (protocol === 0x8100) {
      if (caplen < 4) {
        nd.protocol = "vlan";
        nd.printTrunc();
        return headerExtra + caplen;
      }
      if (nd.options.linkHeader) nd.print(`${tciString(nd.be16(at))}, `);
      protocol = nd.be16(at + 2);
      if (protocol <= MAX_ETHERNET_LENGTH_VAL) protocol = 4;
      if (!nd.options.quiet) nd.print(`ethertype ${ethertypeName(protocol)}, `);
      at += 4;
      length -= 4;
      caplen -= 4;
      headerExtra += 4;
      continue;
    }
    if (!ethertypePrint(nd, protocol, at, length, caplen)) {
      if (!nd.options.linkHeader) printHeaderIfUnknown();
      nd.defaultPrint(at, caplen);
    }
    return headerExtra;
  }
}

/** DLT_LINUX_SLL: 16-byte cooked header. */
export function sllPrint(nd: Dissector, at: number, length: number, caplen: number): number {
  nd.protocol = "sll";
  nd.need(at, 16);
  if (nd.options.linkHeader) sllHeaderPrint(nd, at, length);
  const protocol = nd.be16(at + 14);
  return (
    16 +
    cookedPayload(nd, protocol, at + 16, length - 16, caplen - 16, () => sllHeaderPrint(nd, at, length))
  );
}

function sll2HeaderPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "sll2";
  nd.print(`ifindex ${nd.be32(at + 4)} `);
  if (nd.u8(at + 11) === 6) nd.print(`${macAt(nd, at + 12)} `);
  sllProtocolSummary(nd, nd.be16(at), length);
}

/** DLT_LINUX_SLL2: 20-byte cooked header with an interface index. */
export function sll2Print(nd: Dissector, at: number, length: number, caplen: number): number {
  nd.protocol = "sll2";
  nd.need(at, 20);
  nd.print(`${interfaceName(nd.be32(at + 4)).padEnd(5)} `);
  nd.print(`${(SLL_PACKET_TYPES.get(nd.u8(at + 10)) ?? "?").padEnd(3)} `);
  if (nd.options.linkHeader) sll2HeaderPrint(nd, at, length);
  const protocol = nd.be16(at);
  return (
    20 +
    cookedPayload(nd, protocol, at + 20, length - 20, caplen - 20, () => sll2HeaderPrint(nd, at, length))
  );
}

const BSD_ADDRESS_FAMILIES = new Map<number, string>([
  [2, "IPv4"],
  [7, "OSI"],
  [16, "Appletalk"],
  [23, "IPX"],
  [24, "IPv6"],
  [28, "IPv6"],
  [30, "IPv6"],
]);

function nullHeaderPrint(nd: Dissector, family: number, length: number): void {
  if (!nd.options.quiet) nd.print(`AF ${BSD_ADDRESS_FAMILIES.get(family) ?? "Unknown"} (${family})`);
  else nd.print(BSD_ADDRESS_FAMILIES.get(family) ?? `Unknown AF ${family}`);
  nd.print(`, length ${length}: `);
}

/**
 * DLT_NULL (host byte order family) and DLT_LOOP (network byte order): a 4-byte address family, then IP.
 */
export function nullPrint(nd: Dissector, at: number, length: number, caplen: number, networkOrder: boolean): number {
  if (caplen < 4) {
    nd.printTrunc();
    return caplen;
  }
  let family = networkOrder ? nd.be32(at) : nd.le32(at);
  if (!networkOrder && (family & 0xffff0000) !== 0) family = nd.be32(at);
  if (nd.options.linkHeader) nullHeaderPrint(nd, family, length);
  switch (family) {
    case 2:
      ipPrint(nd, at + 4, length - 4);
      break;
    case 24:
    case 28:
    case 30:
      ip6Print(nd, at + 4, length - 4);
      break;
    default:
      if (!nd.options.linkHeader) nullHeaderPrint(nd, family, length);
      nd.defaultPrint(at + 4, caplen - 4);
  }
  return 4;
}

/** DLT_RAW, DLT_IPV4, DLT_IPV6: the packet is an IP datagram. */
export function rawPrint(nd: Dissector, at: number, length: number): number {
  if (nd.options.linkHeader) nd.print("ip: ");
  nd.protocol = "ipn";
  if (length < 1) {
    nd.print(`truncated-ip ${length}`);
    return 0;
  }
  const version = nd.u8(at) & 0xf0;
  if (version === 0x40) ipPrint(nd, at, length);
  else if (version === 0x60) ip6Print(nd, at, length);
  else nd.print(`unknown ip ${version >> 4}`);
  return 0;
}
