/**
 * The parsed-header vector: what the NIC's hardware parser extracts from every packet before the overlay
 * program runs. `ldf` loads one field by id. Each field occupies one 64-bit slot (128-bit fields two, high half
 * first); a field of a header the packet does not carry reads as 0 — check `pkt.hdrs` first.
 *
 * Field ids are positions in FIELD_TABLE: append new fields at the end so existing images keep their meaning.
 */

export interface FieldSpec {
  /** dotted name used by the assembler and disassembler */
  readonly name: string;
  /** width in bits of the value (≤ 64 for a one-slot field, 128 for two slots) */
  readonly bits: number;
  /** true for metadata the program may write with `stf` */
  readonly writable?: boolean;
  readonly meaning: string;
}

/** Bits of `pkt.hdrs`: which headers the parser found (complete, or as far as the capture goes). */
export const HDR = {
  ETH: 1 << 0,
  VLAN: 1 << 1, // at least one 802.1Q/802.1ad tag
  QINQ: 1 << 2, // two or more tags
  ARP: 1 << 3, // ARP or RARP (see eth.type)
  IPV4: 1 << 4,
  IPV6: 1 << 5,
  TCP: 1 << 6,
  UDP: 1 << 7,
  ICMP: 1 << 8,
  ICMP6: 1 << 9,
  SCTP: 1 << 10,
  IGMP: 1 << 11,
  FRAG: 1 << 12, // IPv4 MF/offset, or an IPv6 fragment header
  LLC: 1 << 13, // 802.3 length field instead of an Ethertype
  L4: 1 << 14, // the transport header lies in a first (or only) fragment and l4.off is valid
} as const;

/** Bits of `pkt.err`: what the parser could not read; the packet still runs, with the fields it had. */
export const PARSE_ERR = {
  TRUNC_L2: 1 << 0, // link header shorter than its minimum
  TRUNC_VLAN: 1 << 1, // a VLAN tag cut off by the capture
  TRUNC_L3: 1 << 2, // network header cut off by the capture
  BAD_IP_VERSION: 1 << 3, // version nibble disagrees with the Ethertype
  BAD_IHL: 1 << 4, // IPv4 IHL < 5
  BAD_IP_LEN: 1 << 5, // IPv4 total length < header length, or IPv6 payload beyond the frame
  TRUNC_L4: 1 << 6, // transport header cut off by the capture
  BAD_TCP_DOFF: 1 << 7, // TCP data offset < 5
  EXT_LIMIT: 1 << 8, // more IPv6 extension headers than the parser walks (8)
  TRUNC_EXT: 1 << 9, // an IPv6 extension header cut off by the capture
  TRUNC_ARP: 1 << 10, // ARP header or addresses cut off by the capture
  VLAN_LIMIT: 1 << 11, // more VLAN tags than the parser walks (4)
} as const;

/** Bits of `ip6.exts`: the IPv6 extension headers the parser walked. */
export const IP6_EXT = {
  HOPOPTS: 1 << 0,
  ROUTING: 1 << 1,
  FRAGMENT: 1 << 2,
  DSTOPTS: 1 << 3,
  AH: 1 << 4,
  ESP: 1 << 5, // ESP ends the walk: what follows is encrypted
  NONE: 1 << 6, // next header 59
} as const;

/** Values of `ct.state` (the nft numbering; a packet has exactly one). */
export const CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;

/** How many IPv6 extension headers and VLAN tags the parser walks before it gives up (a fixed bound). */
export const PARSER_LIMITS = { ip6ExtHeaders: 8, vlanTags: 4 } as const;

export const FIELD_TABLE: readonly FieldSpec[] = [
  // packet metadata
  { name: "pkt.len", bits: 32, meaning: "length of the packet on the wire" },
  { name: "pkt.caplen", bits: 32, meaning: "bytes of the packet present in memory" },
  { name: "pkt.port", bits: 16, meaning: "NIC port the packet arrived on or leaves by" },
  { name: "pkt.dir", bits: 1, meaning: "0 ingress (wire to host), 1 egress (host to wire)" },
  { name: "pkt.linktype", bits: 16, meaning: "DLT link type of the frame (1 = Ethernet)" },
  { name: "pkt.hdrs", bits: 32, meaning: "headers present (HDR bits)" },
  { name: "pkt.err", bits: 32, meaning: "parse problems (PARSE_ERR bits); 0 when the packet parsed cleanly" },
  // link layer
  { name: "l2.len", bits: 16, meaning: "bytes of link header including VLAN tags" },
  { name: "eth.dst", bits: 48, meaning: "destination MAC" },
  { name: "eth.src", bits: 48, meaning: "source MAC" },
  { name: "eth.type", bits: 16, meaning: "Ethertype after all VLAN tags (or the 802.3 length)" },
  { name: "eth.outer_type", bits: 16, meaning: "Ethertype at offset 12, before any tag is removed" },
  { name: "vlan.count", bits: 8, meaning: "number of VLAN tags walked" },
  { name: "vlan.id", bits: 12, meaning: "VLAN id of the outermost tag" },
  { name: "vlan.pcp", bits: 3, meaning: "priority of the outermost tag" },
  { name: "vlan.dei", bits: 1, meaning: "drop-eligible bit of the outermost tag" },
  { name: "vlan.tpid", bits: 16, meaning: "TPID of the outermost tag (0x8100, 0x88a8, …)" },
  { name: "vlan.inner_id", bits: 12, meaning: "VLAN id of the second tag" },
  // network layer
  { name: "l3.off", bits: 16, meaning: "offset of the network header from the frame start" },
  { name: "l3.proto", bits: 16, meaning: "Ethertype of the network header (0x0800, 0x86dd, 0x0806, …)" },
  { name: "arp.htype", bits: 16, meaning: "ARP hardware type" },
  { name: "arp.ptype", bits: 16, meaning: "ARP protocol type" },
  { name: "arp.hlen", bits: 8, meaning: "ARP hardware address length" },
  { name: "arp.plen", bits: 8, meaning: "ARP protocol address length" },
  { name: "arp.op", bits: 16, meaning: "ARP operation" },
  { name: "arp.sha", bits: 48, meaning: "ARP sender MAC (Ethernet/IPv4 ARP only)" },
  { name: "arp.spa", bits: 32, meaning: "ARP sender IPv4 address" },
  { name: "arp.tha", bits: 48, meaning: "ARP target MAC" },
  { name: "arp.tpa", bits: 32, meaning: "ARP target IPv4 address" },
  { name: "ip.ihl", bits: 8, meaning: "IPv4 header length in bytes" },
  { name: "ip.tos", bits: 8, meaning: "IPv4 type of service byte" },
  { name: "ip.dscp", bits: 6, meaning: "DSCP (IPv4 or IPv6 traffic class >> 2)" },
  { name: "ip.ecn", bits: 2, meaning: "ECN bits (IPv4 or IPv6)" },
  { name: "ip.len", bits: 16, meaning: "IPv4 total length" },
  { name: "ip.id", bits: 16, meaning: "IPv4 identification" },
  { name: "ip.df", bits: 1, meaning: "IPv4 don't-fragment flag" },
  { name: "ip.mf", bits: 1, meaning: "IPv4 more-fragments flag" },
  { name: "ip.frag_off", bits: 13, meaning: "IPv4 fragment offset in 8-byte units" },
  { name: "ip.ttl", bits: 8, meaning: "IPv4 TTL" },
  { name: "ip.proto", bits: 8, meaning: "IPv4 protocol" },
  { name: "ip.csum", bits: 16, meaning: "IPv4 header checksum as sent" },
  { name: "ip.src", bits: 32, meaning: "IPv4 source address" },
  { name: "ip.dst", bits: 32, meaning: "IPv4 destination address" },
  { name: "ip6.tc", bits: 8, meaning: "IPv6 traffic class" },
  { name: "ip6.flow", bits: 20, meaning: "IPv6 flow label" },
  { name: "ip6.plen", bits: 16, meaning: "IPv6 payload length" },
  { name: "ip6.nxt", bits: 8, meaning: "IPv6 next header of the fixed header" },
  { name: "ip6.hlim", bits: 8, meaning: "IPv6 hop limit" },
  { name: "ip6.src", bits: 128, meaning: "IPv6 source address" },
  { name: "ip6.dst", bits: 128, meaning: "IPv6 destination address" },
  { name: "ip6.exts", bits: 16, meaning: "IPv6 extension headers walked (IP6_EXT bits)" },
  { name: "ip6.frag_off", bits: 13, meaning: "IPv6 fragment offset in 8-byte units" },
  { name: "ip6.mf", bits: 1, meaning: "IPv6 more-fragments flag" },
  { name: "ip6.frag_id", bits: 32, meaning: "IPv6 fragment identification" },
  // transport layer
  { name: "l4.proto", bits: 8, meaning: "upper-layer protocol (IPv4 protocol or last IPv6 next header)" },
  { name: "l4.off", bits: 16, meaning: "offset of the transport header (valid when HDR.L4 is set)" },
  { name: "l4.sport", bits: 16, meaning: "source port (TCP, UDP, SCTP)" },
  { name: "l4.dport", bits: 16, meaning: "destination port (TCP, UDP, SCTP)" },
  { name: "tcp.seq", bits: 32, meaning: "TCP sequence number" },
  { name: "tcp.ack", bits: 32, meaning: "TCP acknowledgment number" },
  { name: "tcp.doff", bits: 8, meaning: "TCP header length in bytes" },
  { name: "tcp.flags", bits: 9, meaning: "TCP flags: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128, AE 256" },
  { name: "tcp.win", bits: 16, meaning: "TCP window" },
  { name: "tcp.csum", bits: 16, meaning: "TCP checksum as sent" },
  { name: "tcp.urp", bits: 16, meaning: "TCP urgent pointer" },
  { name: "udp.len", bits: 16, meaning: "UDP length" },
  { name: "udp.csum", bits: 16, meaning: "UDP checksum as sent" },
  { name: "icmp.type", bits: 8, meaning: "ICMP or ICMPv6 type" },
  { name: "icmp.code", bits: 8, meaning: "ICMP or ICMPv6 code" },
  { name: "payload.off", bits: 16, meaning: "offset of the transport payload" },
  { name: "payload.len", bits: 16, meaning: "bytes of transport payload on the wire" },
  // writable metadata: results the program hands to the NIC
  { name: "meta.mark", bits: 32, writable: true, meaning: "packet mark (iptables MARK, tc fw)" },
  { name: "meta.class", bits: 32, writable: true, meaning: "traffic class for the scheduler" },
  { name: "meta.prio", bits: 32, writable: true, meaning: "priority / rank hint for the scheduler" },
  { name: "meta.mirror", bits: 1, writable: true, meaning: "1 = copy the packet to the capture ring" },
  { name: "meta.scratch0", bits: 64, writable: true, meaning: "scratch value, usable as a table key part" },
  { name: "meta.scratch1", bits: 64, writable: true, meaning: "scratch value, usable as a table key part" },
  { name: "meta.scratch2", bits: 64, writable: true, meaning: "scratch value, usable as a table key part" },
  { name: "meta.scratch3", bits: 64, writable: true, meaning: "scratch value, usable as a table key part" },
  // owner of the packet's socket, filled by the NIC from its application and connection tables (both directions)
  { name: "owner.app", bits: 32, meaning: "application id of the packet's owner; 0 when the NIC knows no owner" },
  { name: "owner.uid", bits: 32, meaning: "user id of the owning process; 0xffffffff when no owner is known" },
  { name: "owner.gid", bits: 32, meaning: "group id of the owning process; 0xffffffff when no owner is known" },
  { name: "owner.pid", bits: 32, meaning: "process id of the owner; 0xffffffff when no owner is known" },
  { name: "owner.cmd", bits: 32, meaning: "command name of the owner as an id interned by the loaded policy (0 = a name the policy does not use)" },
  { name: "owner.cgroup", bits: 32, meaning: "cgroup of the owner as the id the loaded policy interned for the deepest path it names at or above that cgroup (0 = none)" },
  // connection tracking, filled by the NIC's flow table when the program reads it
  { name: "ct.state", bits: 8, meaning: "conntrack state of the packet: invalid 1, established 2, related 4, new 8, untracked 64 (CT_STATE)" },
  { name: "meta.log", bits: 32, writable: true, meaning: "log request: 0 none, else 1 + the index of the policy's log statement" },
  // scheduler events (runtime/sched/README.md): set by the queue model before a scheduler program runs
  { name: "sched.event", bits: 8, meaning: "scheduler event: 0 enqueue (a packet arrives), 1 dequeue (the link asks for a packet); 0 outside the scheduler" },
  { name: "sched.now", bits: 64, meaning: "time of the scheduler event in ns (virtual or NIC clock); 0 outside the scheduler" },
  { name: "pkt.priority", bits: 32, meaning: "the packet's priority as the host gave it (skb->priority, SO_PRIORITY), for tc's priomap; 0 when not given" },
];

export interface FieldInfo extends FieldSpec {
  readonly id: number;
  /** index of the field's first 64-bit slot in the vector */
  readonly slot: number;
  /** 1 or 2 */
  readonly slots: number;
}

export const FIELDS: readonly FieldInfo[] = (() => {
  let slot = 0;
  return FIELD_TABLE.map((spec, id) => {
    const slots = spec.bits > 64 ? 2 : 1;
    const info = { ...spec, id, slot, slots };
    slot += slots;
    return info;
  });
})();

/** Number of 64-bit slots in one parsed-header vector. */
export const VECTOR_SLOTS = FIELDS.reduce((n, f) => n + f.slots, 0);

const byName = new Map(FIELDS.map((f) => [f.name, f]));

export function fieldByName(name: string): FieldInfo | undefined {
  return byName.get(name);
}

export function fieldById(id: number): FieldInfo | undefined {
  return FIELDS[id];
}

/** The id of a field the caller knows exists (throws on a typo in our own code, never on user input). */
export function fieldId(name: string): number {
  const f = byName.get(name);
  if (!f) throw new Error(`internal: unknown field ${name}`);
  return f.id;
}
