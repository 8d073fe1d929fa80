/**
 * What each `SUBJECT FIELD` of the policy language means: the parsed-header field it reads, the type its values
 * have, and the headers the packet must carry. Also the symbolic names a value may use (services, protocols,
 * ICMP types, conntrack states), as nft and iptables spell them.
 */
import { HDR } from "../../overlay-isa/index.js";

export type ValueType =
  | { kind: "ipv4" }
  | { kind: "ipv6" }
  | { kind: "mac" }
  | { kind: "port" }
  | { kind: "proto" }
  | { kind: "ethertype" }
  | { kind: "icmp-type"; v6: boolean }
  | { kind: "ct-state" }
  | { kind: "int"; bits: number; what: string };

export interface FieldEntry {
  /** parsed-header field name; "$bytes" is the IP packet length iptables counts (kept in a register) */
  field: string;
  type: ValueType;
  /** HDR bits the packet must have for the field to mean anything */
  guard: number;
  /** width of the value in bits */
  bits: number;
}

const int = (bits: number, what: string): ValueType => ({ kind: "int", bits, what });

/** `subject field` → meaning. */
export const FIELD_CATALOG: Record<string, Record<string, FieldEntry>> = {
  ether: {
    saddr: { field: "eth.src", type: { kind: "mac" }, guard: HDR.ETH, bits: 48 },
    daddr: { field: "eth.dst", type: { kind: "mac" }, guard: HDR.ETH, bits: 48 },
    type: { field: "eth.type", type: { kind: "ethertype" }, guard: HDR.ETH, bits: 16 },
  },
  ip: {
    saddr: { field: "ip.src", type: { kind: "ipv4" }, guard: HDR.IPV4, bits: 32 },
    daddr: { field: "ip.dst", type: { kind: "ipv4" }, guard: HDR.IPV4, bits: 32 },
    protocol: { field: "ip.proto", type: { kind: "proto" }, guard: HDR.IPV4, bits: 8 },
    ttl: { field: "ip.ttl", type: int(8, "a TTL"), guard: HDR.IPV4, bits: 8 },
    length: { field: "ip.len", type: int(16, "a length"), guard: HDR.IPV4, bits: 16 },
    dscp: { field: "ip.dscp", type: int(6, "a DSCP value"), guard: HDR.IPV4, bits: 6 },
    id: { field: "ip.id", type: int(16, "an IP id"), guard: HDR.IPV4, bits: 16 },
  },
  ip6: {
    saddr: { field: "ip6.src", type: { kind: "ipv6" }, guard: HDR.IPV6, bits: 128 },
    daddr: { field: "ip6.dst", type: { kind: "ipv6" }, guard: HDR.IPV6, bits: 128 },
    nexthdr: { field: "l4.proto", type: { kind: "proto" }, guard: HDR.IPV6, bits: 8 },
    hoplimit: { field: "ip6.hlim", type: int(8, "a hop limit"), guard: HDR.IPV6, bits: 8 },
    length: { field: "ip6.plen", type: int(16, "a payload length"), guard: HDR.IPV6, bits: 16 },
    dscp: { field: "ip.dscp", type: int(6, "a DSCP value"), guard: HDR.IPV6, bits: 6 },
    flowlabel: { field: "ip6.flow", type: int(20, "a flow label"), guard: HDR.IPV6, bits: 20 },
  },
  tcp: {
    sport: { field: "l4.sport", type: { kind: "port" }, guard: HDR.TCP | HDR.L4, bits: 16 },
    dport: { field: "l4.dport", type: { kind: "port" }, guard: HDR.TCP | HDR.L4, bits: 16 },
  },
  udp: {
    sport: { field: "l4.sport", type: { kind: "port" }, guard: HDR.UDP | HDR.L4, bits: 16 },
    dport: { field: "l4.dport", type: { kind: "port" }, guard: HDR.UDP | HDR.L4, bits: 16 },
    length: { field: "udp.len", type: int(16, "a length"), guard: HDR.UDP | HDR.L4, bits: 16 },
  },
  sctp: {
    sport: { field: "l4.sport", type: { kind: "port" }, guard: HDR.SCTP | HDR.L4, bits: 16 },
    dport: { field: "l4.dport", type: { kind: "port" }, guard: HDR.SCTP | HDR.L4, bits: 16 },
  },
  icmp: {
    type: { field: "icmp.type", type: { kind: "icmp-type", v6: false }, guard: HDR.ICMP, bits: 8 },
    code: { field: "icmp.code", type: int(8, "an ICMP code"), guard: HDR.ICMP, bits: 8 },
  },
  icmpv6: {
    type: { field: "icmp.type", type: { kind: "icmp-type", v6: true }, guard: HDR.ICMP6, bits: 8 },
    code: { field: "icmp.code", type: int(8, "an ICMPv6 code"), guard: HDR.ICMP6, bits: 8 },
  },
  meta: {
    length: { field: "$bytes", type: int(32, "a length"), guard: 0, bits: 32 },
    mark: { field: "meta.mark", type: int(32, "a mark"), guard: 0, bits: 32 },
    l4proto: { field: "l4.proto", type: { kind: "proto" }, guard: 0, bits: 8 },
    protocol: { field: "l3.proto", type: { kind: "ethertype" }, guard: 0, bits: 16 },
    port: { field: "pkt.port", type: int(16, "a NIC port"), guard: 0, bits: 16 },
    iif: { field: "pkt.port", type: int(16, "a NIC port"), guard: 0, bits: 16 },
    oif: { field: "pkt.port", type: int(16, "a NIC port"), guard: 0, bits: 16 },
  },
  ct: {
    state: { field: "ct.state", type: { kind: "ct-state" }, guard: 0, bits: 8 },
  },
  vlan: {
    id: { field: "vlan.id", type: int(12, "a VLAN id"), guard: HDR.VLAN, bits: 12 },
    pcp: { field: "vlan.pcp", type: int(3, "a VLAN priority"), guard: HDR.VLAN, bits: 3 },
  },
};

/** Owner terms → owner fields (filled by the NIC from its connection table before the program runs). */
export const OWNER_FIELDS = {
  user: "owner.uid",
  uid: "owner.uid",
  group: "owner.gid",
  gid: "owner.gid",
  cmd: "owner.cmd",
  pid: "owner.pid",
  cgroup: "owner.cgroup",
} as const;

export { CT_STATE } from "../../overlay-isa/index.js";

export const PROTOCOLS: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, "ipv6-icmp": 58, sctp: 132, udplite: 136,
};

export const ETHERTYPES: Record<string, number> = { ip: 0x0800, arp: 0x0806, ip6: 0x86dd, vlan: 0x8100, "8021ad": 0x88a8 };

/** Service names (a subset of /etc/services) for ports. */
export const SERVICES: Record<string, number> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, dns: 53, bootps: 67, bootpc: 68, http: 80, pop3: 110,
  ntp: 123, imap: 143, snmp: 161, ldap: 389, https: 443, smtps: 465, submission: 587, ldaps: 636, imaps: 993,
  pop3s: 995, mysql: 3306, postgresql: 5432, postgres: 5432, redis: 6379, "http-alt": 8080,
};

export const ICMP_TYPES: Record<string, number> = {
  "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, redirect: 5, "echo-request": 8,
  "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
  "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
  "address-mask-request": 17, "address-mask-reply": 18,
};

export const ICMPV6_TYPES: Record<string, number> = {
  "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
  "echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131,
  "mld-listener-done": 132, "nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135,
  "nd-neighbor-advert": 136, "nd-redirect": 137,
};

/** `reject with icmp type NAME` codes (type 3, destination unreachable), as iptables' --reject-with names them. */
export const ICMP_REJECT_CODES: Record<string, number> = {
  "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
  "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13,
  "icmp-net-unreachable": 0, "icmp-host-unreachable": 1, "icmp-proto-unreachable": 2, "icmp-port-unreachable": 3,
  "icmp-net-prohibited": 9, "icmp-host-prohibited": 10, "icmp-admin-prohibited": 13,
};

export const ICMPV6_REJECT_CODES: Record<string, number> = {
  "no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
};

/** TCP flag bits as tcp.flags holds them. */
export const TCP_FLAGS: Record<string, number> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, ece: 64, cwr: 128 };

/** Set types → the value type of their elements. */
export const SET_TYPES: Record<string, ValueType> = {
  ipv4_addr: { kind: "ipv4" },
  ipv6_addr: { kind: "ipv6" },
  ether_addr: { kind: "mac" },
  inet_service: { kind: "port" },
  inet_proto: { kind: "proto" },
  mark: { kind: "int", bits: 32, what: "a mark" },
};

export function typeName(t: ValueType): string {
  switch (t.kind) {
    case "ipv4":
      return "ipv4_addr";
    case "ipv6":
      return "ipv6_addr";
    case "mac":
      return "ether_addr";
    case "port":
      return "inet_service";
    case "proto":
      return "inet_proto";
    case "int":
      return t.bits === 32 ? "mark" : `integer(${t.bits})`;
    default:
      return t.kind;
  }
}
