/**
 * Compares the VM parser's vector with tshark's dissection of the same packet. tshark's `frame.protocols` says
 * which layer each field came from; a field is compared only when tshark found that layer where the NIC parser
 * looks for it (the outermost link, VLAN, network and transport headers), so headers tshark decodes inside
 * tunnels or ICMP errors are not mistaken for the outer ones.
 */
import { parseIPv4, parseIPv6, parseMAC } from "../../overlay-isa/index.js";
import { HDR, PARSE_ERR } from "../../overlay-isa/index.js";
import type { TsharkField, TsharkRow } from "./tshark.js";

export interface Mismatch {
  field: string;
  tshark: string;
  vm: bigint;
}

type Layer = "link" | "vlan" | "qinq-outer" | "qinq-inner" | "ip" | "ipv6" | "arp" | "arp-ether-ipv4" | "tcp" | "udp" | "sctp" | "icmp" | "icmpv6";

interface Check {
  tshark: TsharkField;
  vm: string;
  layer: Layer;
  parse: (text: string) => bigint | undefined;
  /** project the VM value before comparing (e.g. tcp.flags beyond the 9 flag bits) */
  project?: (vm: bigint) => bigint;
}

const dec = (t: string) => (/^\d+$/.test(t) ? BigInt(t) : undefined);
const num = (t: string) => (/^(0x[0-9a-fA-F]+|\d+)$/.test(t) ? BigInt(t) : undefined);
const mac = (t: string) => {
  const v = parseMAC(t);
  return v === undefined ? undefined : BigInt(v);
};
const ip4 = (t: string) => {
  const v = parseIPv4(t);
  return v === undefined ? undefined : BigInt(v);
};
const ip6 = (t: string) => parseIPv6(t);
const bool = (t: string) => (t === "1" || t === "True" ? 1n : t === "0" || t === "False" ? 0n : undefined);

const CHECKS: readonly Check[] = [
  { tshark: "eth.src", vm: "eth.src", layer: "link", parse: mac },
  { tshark: "eth.dst", vm: "eth.dst", layer: "link", parse: mac },
  // tshark names an 802.1Q tag vlan.* and an 802.1ad tag ieee8021ad.*; the NIC's vlan.id is the outermost tag of
  // either kind and vlan.inner_id the second (see outerLayers for which is compared with which)
  { tshark: "vlan.id", vm: "vlan.id", layer: "vlan", parse: dec },
  { tshark: "vlan.priority", vm: "vlan.pcp", layer: "vlan", parse: dec },
  { tshark: "ieee8021ad.id", vm: "vlan.id", layer: "qinq-outer", parse: dec },
  { tshark: "vlan.id", vm: "vlan.inner_id", layer: "qinq-inner", parse: dec },
  { tshark: "ip.src", vm: "ip.src", layer: "ip", parse: ip4 },
  { tshark: "ip.dst", vm: "ip.dst", layer: "ip", parse: ip4 },
  { tshark: "ip.ttl", vm: "ip.ttl", layer: "ip", parse: dec },
  { tshark: "ip.proto", vm: "ip.proto", layer: "ip", parse: dec },
  { tshark: "ip.hdr_len", vm: "ip.ihl", layer: "ip", parse: dec },
  { tshark: "ip.len", vm: "ip.len", layer: "ip", parse: dec },
  { tshark: "ip.id", vm: "ip.id", layer: "ip", parse: num },
  { tshark: "ip.flags.mf", vm: "ip.mf", layer: "ip", parse: bool },
  { tshark: "ip.frag_offset", vm: "ip.frag_off", layer: "ip", parse: dec },
  { tshark: "ip.dsfield.dscp", vm: "ip.dscp", layer: "ip", parse: dec },
  { tshark: "ipv6.src", vm: "ip6.src", layer: "ipv6", parse: ip6 },
  { tshark: "ipv6.dst", vm: "ip6.dst", layer: "ipv6", parse: ip6 },
  { tshark: "ipv6.nxt", vm: "ip6.nxt", layer: "ipv6", parse: dec },
  { tshark: "ipv6.hlim", vm: "ip6.hlim", layer: "ipv6", parse: dec },
  { tshark: "ipv6.plen", vm: "ip6.plen", layer: "ipv6", parse: dec },
  { tshark: "ipv6.flow", vm: "ip6.flow", layer: "ipv6", parse: num },
  { tshark: "tcp.srcport", vm: "l4.sport", layer: "tcp", parse: dec },
  { tshark: "tcp.dstport", vm: "l4.dport", layer: "tcp", parse: dec },
  // tshark's tcp.flags also covers the three reserved bits above AE
  { tshark: "tcp.flags", vm: "tcp.flags", layer: "tcp", parse: (t) => (num(t) === undefined ? undefined : num(t)! & 0x1ffn) },
  { tshark: "tcp.seq_raw", vm: "tcp.seq", layer: "tcp", parse: dec },
  { tshark: "tcp.ack_raw", vm: "tcp.ack", layer: "tcp", parse: dec },
  { tshark: "tcp.hdr_len", vm: "tcp.doff", layer: "tcp", parse: dec },
  { tshark: "tcp.window_size_value", vm: "tcp.win", layer: "tcp", parse: dec },
  { tshark: "udp.srcport", vm: "l4.sport", layer: "udp", parse: dec },
  { tshark: "udp.dstport", vm: "l4.dport", layer: "udp", parse: dec },
  { tshark: "udp.length", vm: "udp.len", layer: "udp", parse: dec },
  { tshark: "sctp.srcport", vm: "l4.sport", layer: "sctp", parse: dec },
  { tshark: "sctp.dstport", vm: "l4.dport", layer: "sctp", parse: dec },
  { tshark: "icmp.type", vm: "icmp.type", layer: "icmp", parse: dec },
  { tshark: "icmp.code", vm: "icmp.code", layer: "icmp", parse: dec },
  { tshark: "icmpv6.type", vm: "icmp.type", layer: "icmpv6", parse: dec },
  { tshark: "icmpv6.code", vm: "icmp.code", layer: "icmpv6", parse: dec },
  { tshark: "arp.opcode", vm: "arp.op", layer: "arp", parse: dec },
  { tshark: "arp.hw.type", vm: "arp.htype", layer: "arp", parse: dec },
  { tshark: "arp.proto.type", vm: "arp.ptype", layer: "arp", parse: num },
  { tshark: "arp.src.hw_mac", vm: "arp.sha", layer: "arp-ether-ipv4", parse: mac },
  { tshark: "arp.src.proto_ipv4", vm: "arp.spa", layer: "arp-ether-ipv4", parse: ip4 },
  { tshark: "arp.dst.hw_mac", vm: "arp.tha", layer: "arp-ether-ipv4", parse: mac },
  { tshark: "arp.dst.proto_ipv4", vm: "arp.tpa", layer: "arp-ether-ipv4", parse: ip4 },
];

const LINK_TOKENS = new Set(["eth", "sll", "null", "raw"]);
const VLAN_TOKENS = new Set(["vlan", "ieee8021ad"]);
const TRANSPORT: Record<string, Layer> = { tcp: "tcp", udp: "udp", sctp: "sctp", icmp: "icmp", icmpv6: "icmpv6" };

/** The layers tshark found at the positions the NIC parser reads. */
export function outerLayers(protocols: string): Set<Layer> {
  const tokens = protocols.split(":").filter((t) => t !== "ethertype");
  const layers = new Set<Layer>();
  let i = 0;
  if (LINK_TOKENS.has(tokens[i] ?? "")) {
    layers.add("link");
    i++;
  }
  if (tokens[i] === "vlan") layers.add("vlan");
  if (tokens[i] === "ieee8021ad") {
    layers.add("qinq-outer");
    if (tokens[i + 1] === "vlan") layers.add("qinq-inner");
  }
  while (VLAN_TOKENS.has(tokens[i] ?? "")) i++;
  const net = tokens[i++];
  if (net === "ip" || net === "ipv6" || net === "arp") layers.add(net);
  else return layers;
  if (net === "ipv6") while (tokens[i]?.startsWith("ipv6.") || tokens[i] === "ah") i++;
  const t = TRANSPORT[tokens[i] ?? ""];
  if (t !== undefined && !(t === "icmp" && net !== "ip") && !(t === "icmpv6" && net !== "ipv6")) layers.add(t);
  return layers;
}

/**
 * Fields where tshark and the VM disagree. Legitimate differences are skipped:
 * - a transport header the NIC parser does not reach: beyond its bound of 8 IPv6 extension headers
 *   (EXT_LIMIT), or after an IPv4 header it rejects (bad IHL) or cannot finish (options cut off);
 * - fields of a header the capture cut off (the NIC reads a field it cannot read whole as 0; tshark's
 *   handling of partial headers varies), so layers are compared field by field only when nothing was cut;
 * - an 802.1ad outer tag, which tshark names ieee8021ad.* (compared with vlan.id, the 802.1Q tag inside it
 *   with vlan.inner_id);
 * - ARP addresses of ARP that is not Ethernet/IPv4, an IPv4 total length of 0, and an IPv4 Ethertype
 *   carrying version 6 (see below).
 */
export function compareWithTshark(row: TsharkRow, vector: Map<string, bigint>): { mismatches: Mismatch[]; compared: number } {
  const layers = outerLayers(row["frame.protocols"]);
  const errs = vector.get("pkt.err") ?? 0n;
  const hdrs = vector.get("pkt.hdrs") ?? 0n;
  const out: Mismatch[] = [];
  let compared = 0;
  const has = (bit: number) => (hdrs & BigInt(bit)) !== 0n;
  // the VM must have found every outer layer tshark found (unless the parser legitimately stops earlier)
  const presence: [Layer, number][] = [["ip", HDR.IPV4], ["ipv6", HDR.IPV6], ["arp", HDR.ARP], ["tcp", HDR.TCP], ["udp", HDR.UDP], ["sctp", HDR.SCTP], ["icmp", HDR.ICMP], ["icmpv6", HDR.ICMP6], ["vlan", HDR.VLAN]];
  const stoppedBeforeL4 = (errs & BigInt(PARSE_ERR.EXT_LIMIT | PARSE_ERR.BAD_IHL | PARSE_ERR.TRUNC_L3 | PARSE_ERR.TRUNC_EXT)) !== 0n;
  const truncated = (errs & BigInt(PARSE_ERR.TRUNC_L3 | PARSE_ERR.TRUNC_L4 | PARSE_ERR.TRUNC_ARP | PARSE_ERR.TRUNC_EXT)) !== 0n;
  // tshark hands an Ethertype-IPv4 packet with version 6 to its IPv6 dissector; the NIC flags BAD_IP_VERSION
  if ((errs & BigInt(PARSE_ERR.BAD_IP_VERSION)) !== 0n) return { mismatches: out, compared };
  for (const [layer, bit] of presence) {
    const l4 = layer === "tcp" || layer === "udp" || layer === "sctp" || layer === "icmp" || layer === "icmpv6";
    if (!layers.has(layer) || (l4 && stoppedBeforeL4)) continue;
    compared++;
    if (!has(bit)) out.push({ field: `HDR(${layer})`, tshark: "present", vm: 0n });
  }
  // the NIC reads ARP addresses only for Ethernet/IPv4 ARP (htype 1, ptype 0x800, hlen 6, plen 4); tshark
  // follows whatever lengths the header gives
  if (layers.has("arp") && vector.get("arp.htype") === 1n && vector.get("arp.ptype") === 0x800n && vector.get("arp.hlen") === 6n && vector.get("arp.plen") === 4n) layers.add("arp-ether-ipv4");
  for (const c of CHECKS) {
    if (!layers.has(c.layer)) continue;
    // tshark substitutes a computed length for an IPv4 total length of 0 ("presumed TSO")
    if (c.vm === "ip.len" && vector.get("ip.len") === 0n) continue;
    const l4 = c.layer === "tcp" || c.layer === "udp" || c.layer === "sctp" || c.layer === "icmp" || c.layer === "icmpv6";
    if (l4 && stoppedBeforeL4) continue;
    if (truncated && c.layer !== "link" && c.layer !== "vlan") continue;
    const text = row[c.tshark];
    if (text === "") continue;
    const want = c.parse(text);
    if (want === undefined) continue; // a form we do not read (e.g. a name instead of a number)
    const got = vector.get(c.vm);
    if (got === undefined) throw new Error(`no VM field ${c.vm}`);
    const v = c.project ? c.project(got) : got;
    compared++;
    if (v !== want) out.push({ field: c.vm, tshark: text, vm: v });
  }
  return { mismatches: out, compared };
}
