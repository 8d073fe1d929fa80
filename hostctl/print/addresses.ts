/** Address formatting as tcpdump prints it (numeric: kopi never resolves names). */
import type { Dissector } from "./dissector.js";
import { hex2 } from "./dissector.js";

export function ipv4At(nd: Dissector, at: number): string {
  nd.need(at, 4);
  const b = nd.bytes;
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** The colon-separated hex of 6 bytes, nothing added (what printers that format MACs themselves print). */
export function macRawAt(nd: Dissector, at: number): string {
  nd.need(at, 6);
  const b = nd.bytes;
  return `${hex2(b[at]!)}:${hex2(b[at + 1]!)}:${hex2(b[at + 2]!)}:${hex2(b[at + 3]!)}:${hex2(b[at + 4]!)}:${hex2(b[at + 5]!)}`;
}

/** tcpdump's OUI names (oui.c), which etheraddr_string appends without -n. */
const OUI_NAMES = new Map<number, string>([
  [0x000000, "Ethernet"],
  [0x00000c, "Cisco"],
  [0x00005e, "IANA"],
  [0x000081, "Nortel Networks SONMP"],
  [0x0000f8, "Cisco bridged"],
  [0x0080c2, "Ethernet bridged"],
  [0x00a03e, "ATM Forum"],
  [0x00e02f, "DOCSIS Spanning Tree"],
  [0x080007, "Appletalk"],
  [0x009069, "Juniper"],
  [0x080009, "Hewlett-Packard"],
  [0x00120f, "IEEE 802.3 Private"],
  [0x0012bb, "ANSI/TIA"],
  [0x001b21, "DCBX"],
  [0x002320, "Nicira Networks"],
  [0x5c16c7, "Big Switch Networks"],
  [0xb0d2f5, "Vello Systems"],
  [0x002481, "HP"],
  [0x0004ea, "HP Labs"],
  [0x748771, "Infoblox Inc"],
  [0xa42305, "Open Networking Lab"],
  [0x00049f, "Freescale"],
  [0x0015ad, "Netronome"],
  [0x001018, "Broadcom"],
  [0x00e004, "PMC-Sierra"],
  [0xd0f0db, "Ericsson"],
]);

/**
 * tcpdump's etheraddr_string: the MAC, and without -n its OUI's name in parentheses (kopi reads no /etc/ethers,
 * so no MAC is ever replaced by a host name).
 */
export function macAt(nd: Dissector, at: number): string {
  const text = macRawAt(nd, at);
  if (nd.options.numeric) return text;
  const b = nd.bytes;
  // tcpdump's built-in /etc/ethers entry.
  if (text === "ff:ff:ff:ff:ff:ff") return "Broadcast";
  return `${text} (oui ${OUI_NAMES.get((b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!) ?? "Unknown"})`;
}

/** IPv6 text form as inet_ntop/addrtostr6 write it: longest zero run compressed, embedded IPv4 for ::a.b.c.d and ::ffff:a.b.c.d. */
export function ipv6At(nd: Dissector, at: number): string {
  nd.need(at, 16);
  return ipv6Text(nd.bytes, at);
}

/** The text form of the 16 bytes at `at` (no bounds check: the caller has them). */
export function ipv6Text(b: Uint8Array, at: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  let bestBase = -1;
  let bestLength = 0;
  let currentBase = -1;
  let currentLength = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (currentBase === -1) {
        currentBase = i;
        currentLength = 1;
      } else currentLength++;
    } else if (currentBase !== -1) {
      if (bestBase === -1 || currentLength > bestLength) {
        bestBase = currentBase;
        bestLength = currentLength;
      }
      currentBase = -1;
    }
  }
  if (currentBase !== -1 && (bestBase === -1 || currentLength > bestLength)) {
    bestBase = currentBase;
    bestLength = currentLength;
  }
  if (bestBase !== -1 && bestLength < 2) bestBase = -1;
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLength) {
      if (i === bestBase) text += ":";
      continue;
    }
    if (i !== 0) text += ":";
    if (i === 6 && bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
      text += `${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
      return text;
    }
    text += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLength === 8) text += ":";
  return text;
}

/** tcpdump's linkaddr_string for hardware addresses of any length: colon-separated hex bytes. */
export function linkAddressAt(nd: Dissector, at: number, length: number): string {
  if (length === 0) return "<empty>";
  nd.need(at, length);
  if (length === 6) return macAt(nd, at);
  const parts: string[] = [];
  for (let i = 0; i < length; i++) parts.push(hex2(nd.bytes[at + i]!));
  return parts.join(":");
}
