/** Name tables tcpdump prints from: EtherTypes, IP protocols, and the local services database for port names. */
import { readFileSync } from "node:fs";

export const ETHERTYPE_NAMES = new Map<number, string>([
  [0x0800, "IPv4"],
  [0x8847, "MPLS unicast"],
  [0x8848, "MPLS multicast"],
  [0x86dd, "IPv6"],
  [0x8100, "802.1Q"],
  [0x9100, "802.1Q-9100"],
  [0x88a8, "802.1Q-QinQ"],
  [0x9200, "802.1Q-9200"],
  [0x88e5, "802.1AE MACsec"],
  [0x8181, "VMAN"],
  [0x0200, "PUP"],
  [0x0806, "ARP"],
  [0x8035, "Reverse ARP"],
  [0x0600, "NS"],
  [0x0500, "Sprite"],
  [0x1000, "Trail"],
  [0x6001, "MOP DL"],
  [0x6002, "MOP RC"],
  [0x6003, "DN"],
  [0x6004, "LAT"],
  [0x6007, "SCA"],
  [0x6558, "TEB"],
  [0x8038, "Lanbridge"],
  [0x803c, "DEC DNS"],
  [0x803e, "DEC DTS"],
  [0x805b, "VEXP"],
  [0x805c, "VPROD"],
  [0x809b, "Appletalk"],
  [0x80f3, "Appletalk ARP"],
  [0x8137, "IPX"],
  [0x880b, "PPP"],
  [0x8808, "MPCP"],
  [0x8809, "Slow Protocols"],
  [0x8863, "PPPoE D"],
  [0x8864, "PPPoE S"],
  [0x888e, "EAPOL"],
  [0x8899, "Realtek protocols"],
  [0x886f, "MS NLB heartbeat"],
  [0x8870, "Jumbo"],
  [0x894f, "NSH"],
  [0x9000, "Loopback"],
  [0xfefe, "OSI"],
  [0x00fe, "GRE-OSI"],
  [0xabcd, "CFM (old)"],
  [0x8902, "CFM"],
  [0x893a, "IEEE1905.1"],
  [0x88cc, "LLDP"],
  [0x88ca, "TIPC"],
  [0x0707, "GeoNet (old)"],
  [0x8947, "GeoNet"],
  [0x1111, "CALM FAST"],
  [0x88a2, "AoE"],
  [0x88f7, "PTP"],
  [0xd28b, "Arista Vendor Specific Protocol"],
]);

/** tcpdump 4.99.3's ipproto_values (the "proto TCP (6)" names of -v), checked against it number by number. */
export const IP_PROTOCOL_NAMES = new Map<number, string>([
  [0, "Options"],
  [1, "ICMP"],
  [2, "IGMP"],
  [4, "IPIP"],
  [6, "TCP"],
  [8, "EGP"],
  [9, "IGRP"],
  [17, "UDP"],
  [33, "DCCP"],
  [41, "IPv6"],
  [43, "Routing"],
  [44, "Fragment"],
  [46, "RSVP"],
  [47, "GRE"],
  [50, "ESP"],
  [51, "AH"],
  [55, "Mobile IP"],
  [58, "ICMPv6"],
  [62, "Mobile IP (old)"],
  [88, "EIGRP"],
  [89, "OSPF"],
  [103, "PIM"],
  [108, "Compressed IP"],
  [112, "VRRP"],
  [113, "PGM"],
  [132, "SCTP"],
  [135, "Mobility"],
  [143, "Ethernet"],
]);

/** tcpdump's tok2str(ipproto_values, "unknown", n). */
export function ipProtocolName(protocol: number): string {
  return IP_PROTOCOL_NAMES.get(protocol) ?? "unknown";
}

interface ServiceTables {
  tcp: Map<number, string>;
  udp: Map<number, string>;
}

let tables: ServiceTables | undefined;

/** /etc/services, read once (as tcpdump reads it through getservent). */
function loadTables(): ServiceTables {
  if (tables) return tables;
  const tcp = new Map<number, string>();
  const udp = new Map<number, string>();
  for (const line of readLines("/etc/services")) {
    const match = /^([^\s#]+)\s+(\d+)\/(tcp|udp)/.exec(line);
    if (!match) continue;
    const table = match[3] === "tcp" ? tcp : udp;
    const port = Number(match[2]);
    if (!table.has(port)) table.set(port, match[1]!);
  }
  tables = { tcp, udp };
  return tables;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n");
  } catch {
    return [];
  }
}

/** tcpdump's built-in protocol names (ipproto.c netdb_protocol_names, /etc/protocols spellings), by number. */
const NETDB_PROTOCOL_NAMES: ReadonlyArray<string | undefined> = [
  "hopopt", "icmp", "igmp", "ggp", "ipencap", "st", "tcp", "cbt", "egp", "igp", "bbn-rcc-mon", "nvp-ii", "pup",
  "argus", "emcon", "xnet", "chaos", "udp", "mux", "dcn-meas", "hmp", "prm", "xns-idp", "trunk-1", "trunk-2",
  "leaf-1", "leaf-2", "rdp", "irtp", "iso-tp4", "netblt", "mfe-nsp", "merit-inp", "dccp", "3pc", "idpr", "xtp",
  "ddp", "idpr-cmtp", "tp++", "il", "ipv6", "sdrp", "ipv6-route", "ipv6-frag", "idrp", "rsvp", "gre", "dsr",
  "bna", "esp", "ah", "i-nlsp", "swipe", "narp", "mobile", "tlsp", "skip", "ipv6-icmp", "ipv6-nonxt",
  "ipv6-opts", undefined, "cftp", undefined, "sat-expak", "kryptolan", "rvd", "ippc", undefined, "sat-mon",
  "visa", "ipcv", "cpnx", "rspf", "wsn", "pvp", "br-sat-mon", "sun-nd", "wb-mon", "wb-expak", "iso-ip", "vmtp",
  "secure-vmtp", "vines", "ttp", "nsfnet-igp", "dgp", "tcf", "eigrp", "ospf", "sprite-rpc", "larp", "mtp",
  "ax.25", "ipip", "micp", "scc-sp", "etherip", "encap", undefined, "gmtp", "ifmp", "pnni", "pim", "aris",
  "scps", "qnx", "a/n", "ipcomp", "snp", "compaq-peer", "ipx-in-ip", "vrrp", "pgm", undefined, "l2tp", "ddx",
  "iatp", "stp", "srp", "uti", "smp", "sm", "ptp", "isis", "fire", "crtp", "crudp", "sscopmce", "iplt", "sps",
  "pipe", "sctp", "fc", "rsvp-e2e-ignore", "mobility-header", "udplite", "mpls-in-ip", "manet", "hip", "shim6",
  "wesp", "rohc",
];

export function tcpPortName(port: number, numeric: boolean): string {
  return numeric ? String(port) : (loadTables().tcp.get(port) ?? String(port));
}

export function udpPortName(port: number, numeric: boolean): string {
  return numeric ? String(port) : (loadTables().udp.get(port) ?? String(port));
}

/** The name tcpdump prints without -n for a protocol it cannot decode ("ip-proto-N" with -n). */
export function netdbProtocolName(protocol: number): string | undefined {
  if (protocol === 253 || protocol === 254) return `exptest-${protocol}`;
  if (protocol === 255) return "reserved";
  return NETDB_PROTOCOL_NAMES[protocol];
}

/** tcpdump's bittok2str with a separator: names of the set bits, in table order, or `none`. */
export function bitNames(table: ReadonlyArray<readonly [number, string]>, none: string, value: number, separator = ", "): string {
  const names: string[] = [];
  for (const [bit, name] of table) if (bit !== 0 && (value & bit) >>> 0 === bit) names.push(name);
  return names.length === 0 ? none : names.join(separator);
}
