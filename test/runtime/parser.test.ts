/** The NIC parser on hand-built frames: every link type, header kind and PARSE_ERR bit. */
import { beforeAll, describe, expect, it } from "vitest";
import { HDR, IP6_EXT, PARSE_ERR, PARSER_LIMITS } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { MAC_A, MAC_B, ah, arp, bytes, ether, ext6, frag6, icmp, ipv4, ipv6, tagged, tcp, udp, zeros } from "./frames.js";

let vm: OverlayVM;
beforeAll(() => {
  vm = OverlayVM.createSync();
});

function parse(frame: Uint8Array, wire = frame.length, linktype = 1): Map<string, bigint> {
  return vm.parseHeaders(frame, wire, linktype);
}

/** Expect these fields (by name); numbers are converted to bigint. */
function expectFields(v: Map<string, bigint>, want: Record<string, number | bigint>): void {
  const got: Record<string, bigint> = {};
  const exp: Record<string, bigint> = {};
  for (const [k, x] of Object.entries(want)) {
    got[k] = v.get(k)!;
    exp[k] = BigInt(x);
  }
  expect(got).toEqual(exp);
}

const hdrs = (v: Map<string, bigint>) => Number(v.get("pkt.hdrs"));
const errs = (v: Map<string, bigint>) => Number(v.get("pkt.err"));

describe("Ethernet, IPv4, TCP", () => {
  it("extracts every field of a clean packet", () => {
    const payload = bytes([1, 2, 3, 4, 5]);
    const f = ether(0x0800, ipv4({ src: 0xc0a80001, dst: 0xc0a80002, proto: 6, ttl: 33, tos: 0xb9, id: 0x4242, df: true }, tcp(40000, 443, 0x1c2, payload)));
    const v = parse(f, 100);
    expectFields(v, {
      "pkt.len": 100, "pkt.caplen": f.length, "pkt.linktype": 1,
      "pkt.hdrs": HDR.ETH | HDR.IPV4 | HDR.TCP | HDR.L4, "pkt.err": 0,
      "l2.len": 14, "eth.dst": MAC_B, "eth.src": MAC_A, "eth.type": 0x0800, "eth.outer_type": 0x0800, "vlan.count": 0,
      "l3.off": 14, "l3.proto": 0x0800,
      "ip.ihl": 20, "ip.tos": 0xb9, "ip.dscp": 0xb9 >> 2, "ip.ecn": 1, "ip.len": 45, "ip.id": 0x4242, "ip.df": 1, "ip.mf": 0,
      "ip.frag_off": 0, "ip.ttl": 33, "ip.proto": 6, "ip.csum": 0xabcd, "ip.src": 0xc0a80001, "ip.dst": 0xc0a80002,
      "l4.proto": 6, "l4.off": 34, "l4.sport": 40000, "l4.dport": 443, "tcp.seq": 1000, "tcp.ack": 2000, "tcp.doff": 20,
      "tcp.flags": 0x1c2, "tcp.win": 512, "tcp.csum": 0, "tcp.urp": 0,
      "payload.off": 54, "payload.len": 5,
      "ip6.src": 0, "udp.len": 0, "icmp.type": 0, "arp.op": 0,
    });
  });

  it("follows IPv4 options and TCP options to the payload", () => {
    const f = ether(0x0800, ipv4({ proto: 6, options: [0x94, 4, 0, 0] }, tcp(1, 2, 0x10, zeros(3), 8)));
    expectFields(parse(f), { "ip.ihl": 24, "l4.off": 38, "tcp.doff": 32, "payload.off": 70, "payload.len": 3, "pkt.err": 0 });
  });

  it("measures the payload by the IP length, not the Ethernet padding", () => {
    const f = bytes(ether(0x0800, ipv4({ proto: 17 }, udp(1, 2, zeros(2)))), zeros(16));
    expectFields(parse(f), { "ip.len": 30, "payload.off": 42, "payload.len": 2 });
  });

  it("marks fragments; only a first fragment has a transport header", () => {
    const first = parse(ether(0x0800, ipv4({ proto: 6, mf: true }, tcp(5, 6, 2))));
    expect(hdrs(first)).toBe(HDR.ETH | HDR.IPV4 | HDR.FRAG | HDR.TCP | HDR.L4);
    expectFields(first, { "ip.mf": 1, "l4.dport": 6 });
    const later = parse(ether(0x0800, ipv4({ proto: 6, fragOffset: 185 }, zeros(40))));
    expect(hdrs(later)).toBe(HDR.ETH | HDR.IPV4 | HDR.FRAG);
    expectFields(later, { "ip.frag_off": 185, "l4.proto": 6, "l4.off": 0, "l4.dport": 0, "payload.off": 0 });
  });
});

describe("VLAN and 802.3", () => {
  it("reads one 802.1Q tag", () => {
    const v = parse(tagged(0x8100, (5 << 13) | (1 << 12) | 100, 0x0800, ipv4({ proto: 17 }, udp(1, 2))));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.VLAN | HDR.IPV4 | HDR.UDP | HDR.L4);
    expectFields(v, { "vlan.count": 1, "vlan.id": 100, "vlan.pcp": 5, "vlan.dei": 1, "vlan.tpid": 0x8100, "vlan.inner_id": 0, "eth.type": 0x0800, "eth.outer_type": 0x8100, "l2.len": 18, "l3.off": 18, "l4.dport": 2 });
  });

  it("reads QinQ (802.1ad outside 802.1Q)", () => {
    const inner = bytes([0, 200, 0x08, 0x06], arp(1, 1, 2, 3, 4));
    const v = parse(tagged(0x88a8, 30, 0x8100, inner));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.VLAN | HDR.QINQ | HDR.ARP);
    expectFields(v, { "vlan.count": 2, "vlan.id": 30, "vlan.tpid": 0x88a8, "vlan.inner_id": 200, "eth.type": 0x0806, "l3.off": 22, "arp.op": 1 });
  });

  it("stops after the tag limit and reports it", () => {
    // tags are prepended, so the outermost carries id vlanTags + 1
    let f = bytes([0x08, 0x00], ipv4({}, tcp(1, 2, 2)));
    for (let i = 0; i < PARSER_LIMITS.vlanTags + 1; i++) f = bytes([0x81, 0x00, 0, i + 1], f);
    f = bytes(zeros(12), f);
    const v = parse(f);
    expect(errs(v)).toBe(PARSE_ERR.VLAN_LIMIT);
    expectFields(v, { "vlan.count": PARSER_LIMITS.vlanTags, "vlan.id": PARSER_LIMITS.vlanTags + 1, "vlan.inner_id": PARSER_LIMITS.vlanTags, "eth.type": 0x8100, "l3.proto": 0x8100, "l3.off": 14 + 4 * PARSER_LIMITS.vlanTags });
    expect(hdrs(v) & HDR.IPV4).toBe(0);
  });

  it("reports a tag cut by the capture and has no network header", () => {
    const v = parse(tagged(0x8100, 7, 0x0800, zeros(0)).subarray(0, 16));
    expect(errs(v)).toBe(PARSE_ERR.TRUNC_VLAN);
    expectFields(v, { "vlan.count": 0, "l3.off": 0, "l3.proto": 0, "eth.type": 0x8100 });
  });

  it("recognises 802.3 length fields as LLC", () => {
    const v = parse(ether(0x0026, bytes([0x42, 0x42, 0x03], zeros(35))));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.LLC);
    expectFields(v, { "eth.type": 0x26, "l3.off": 14, "l3.proto": 0 });
  });

  it("reports a cut Ethernet header", () => {
    const v = parse(zeros(13));
    expect(hdrs(v)).toBe(0);
    expect(errs(v)).toBe(PARSE_ERR.TRUNC_L2);
    expectFields(v, { "eth.dst": 0, "l2.len": 0, "l3.off": 0 });
  });
});

describe("ARP", () => {
  it("reads Ethernet/IPv4 ARP and RARP", () => {
    const v = parse(ether(0x0806, arp(2, 0x001122334455, 0x0a000001, 0x66778899aabb, 0x0a000002)));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.ARP);
    expectFields(v, { "arp.htype": 1, "arp.ptype": 0x800, "arp.hlen": 6, "arp.plen": 4, "arp.op": 2, "arp.sha": 0x001122334455, "arp.spa": 0x0a000001, "arp.tha": 0x66778899aabb, "arp.tpa": 0x0a000002, "pkt.err": 0 });
    const r = parse(ether(0x8035, arp(3, 1, 0, 1, 0)));
    expect(hdrs(r)).toBe(HDR.ETH | HDR.ARP);
    expectFields(r, { "arp.op": 3, "l3.proto": 0x8035 });
  });

  it("reads only the fixed fields of other ARP kinds", () => {
    const f = ether(0x0806, arp(1, 0x001122334455, 0x0a000001, 0, 0x0a000002));
    f[15] = 6; // htype 6 (IEEE 802)
    expectFields(parse(f), { "arp.htype": 6, "arp.op": 1, "arp.sha": 0, "arp.spa": 0, "arp.tpa": 0 });
  });

  it("reports ARP cut by the capture and keeps only whole fields", () => {
    const f = ether(0x0806, arp(1, 0x001122334455, 0x0a000001, 0, 0x0a000002));
    const v = parse(f.subarray(0, 14 + 17)); // sha whole, spa cut after 3 bytes
    expect(errs(v)).toBe(PARSE_ERR.TRUNC_ARP);
    expectFields(v, { "arp.op": 1, "arp.sha": 0x001122334455, "arp.spa": 0, "arp.tpa": 0 });
    expect(errs(parse(f.subarray(0, 18)))).toBe(PARSE_ERR.TRUNC_ARP);
  });
});

describe("IPv6", () => {
  const src = 0x20010db8_0000_0000_0000_0000_0000_0001n;
  const dst = 0xfe80_0000_0000_0000_0211_22ff_fe33_4455n;

  it("reads the fixed header and the upper layer", () => {
    const v = parse(ether(0x86dd, ipv6({ src, dst, next: 17, tc: 0xb8, flow: 0xabcde, hopLimit: 3 }, udp(546, 547, zeros(4)))));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.IPV6 | HDR.UDP | HDR.L4);
    expectFields(v, { "ip6.src": src, "ip6.dst": dst, "ip6.tc": 0xb8, "ip.dscp": 0x2e, "ip.ecn": 0, "ip6.flow": 0xabcde, "ip6.plen": 12, "ip6.nxt": 17, "ip6.hlim": 3, "ip6.exts": 0, "l4.proto": 17, "l4.off": 54, "l4.dport": 547, "udp.len": 12, "payload.off": 62, "payload.len": 4, "ip.src": 0 });
  });

  it("walks hop-by-hop, routing, destination options, fragment and AH headers", () => {
    const chain = bytes(ext6(43), ext6(60, 1), ext6(44), frag6(51, 0, true, 0xdeadbeef), ah(6), tcp(7, 8, 2));
    const v = parse(ether(0x86dd, ipv6({ next: 0 }, chain)));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.IPV6 | HDR.FRAG | HDR.TCP | HDR.L4);
    expectFields(v, { "ip6.exts": IP6_EXT.HOPOPTS | IP6_EXT.ROUTING | IP6_EXT.DSTOPTS | IP6_EXT.FRAGMENT | IP6_EXT.AH, "ip6.mf": 1, "ip6.frag_off": 0, "ip6.frag_id": 0xdeadbeef, "ip6.nxt": 0, "l4.proto": 6, "l4.off": 14 + 40 + 8 + 16 + 8 + 8 + 24, "l4.dport": 8 });
  });

  it("stops at a later fragment, at ESP, and at no-next-header", () => {
    const later = parse(ether(0x86dd, ipv6({ next: 44 }, bytes(frag6(17, 100, false, 1), zeros(16)))));
    expect(hdrs(later)).toBe(HDR.ETH | HDR.IPV6 | HDR.FRAG);
    expectFields(later, { "ip6.frag_off": 100, "l4.proto": 17, "l4.off": 0 });
    const esp = parse(ether(0x86dd, ipv6({ next: 60 }, bytes(ext6(50), zeros(16)))));
    expect(hdrs(esp)).toBe(HDR.ETH | HDR.IPV6 | HDR.L4);
    expectFields(esp, { "ip6.exts": IP6_EXT.DSTOPTS | IP6_EXT.ESP, "l4.proto": 50, "l4.off": 62, "payload.off": 62 });
    const none = parse(ether(0x86dd, ipv6({ next: 59 }, zeros(0))));
    expect(hdrs(none)).toBe(HDR.ETH | HDR.IPV6);
    expectFields(none, { "ip6.exts": IP6_EXT.NONE, "l4.proto": 59 });
  });

  it("gives up after the extension-header limit", () => {
    let chain = tcp(1, 2, 2);
    let next = 6;
    for (let i = 0; i <= PARSER_LIMITS.ip6ExtHeaders; i++) {
      chain = bytes(ext6(next), chain);
      next = 60;
    }
    const v = parse(ether(0x86dd, ipv6({ next: 60 }, chain)));
    expect(errs(v)).toBe(PARSE_ERR.EXT_LIMIT);
    expect(hdrs(v) & HDR.L4).toBe(0);
    expectFields(v, { "l4.proto": 60, "l4.off": 0 });
  });

  it("reports an extension header cut by the capture", () => {
    const f = ether(0x86dd, ipv6({ next: 0 }, bytes(ext6(44), frag6(6, 0, false, 1))));
    expect(errs(parse(f.subarray(0, 14 + 40 + 8 + 5), f.length))).toBe(PARSE_ERR.TRUNC_EXT);
    expect(errs(parse(f.subarray(0, 14 + 40 + 1), f.length))).toBe(PARSE_ERR.TRUNC_EXT);
  });

  it("reads ICMPv6, and a payload length beyond the frame is an error", () => {
    const v = parse(ether(0x86dd, ipv6({ next: 58 }, icmp(135, 0, zeros(20)))));
    expect(hdrs(v)).toBe(HDR.ETH | HDR.IPV6 | HDR.ICMP6 | HDR.L4);
    expectFields(v, { "icmp.type": 135, "icmp.code": 0, "payload.off": 58 });
    const long = parse(ether(0x86dd, ipv6({ next: 17, payloadLength: 100 }, udp(1, 2))));
    expect(errs(long)).toBe(PARSE_ERR.BAD_IP_LEN);
  });
});

describe("other transports", () => {
  it("ICMP, IGMP, SCTP and unknown protocols", () => {
    const ic = parse(ether(0x0800, ipv4({ proto: 1 }, icmp(3, 13))));
    expect(hdrs(ic)).toBe(HDR.ETH | HDR.IPV4 | HDR.ICMP | HDR.L4);
    expectFields(ic, { "icmp.type": 3, "icmp.code": 13, "payload.off": 42 });
    const ig = parse(ether(0x0800, ipv4({ proto: 2 }, zeros(8))));
    expect(hdrs(ig)).toBe(HDR.ETH | HDR.IPV4 | HDR.IGMP | HDR.L4);
    const sc = parse(ether(0x0800, ipv4({ proto: 132 }, bytes([0x0b, 0x59, 0x0e, 0x10], zeros(8)))));
    expect(hdrs(sc)).toBe(HDR.ETH | HDR.IPV4 | HDR.SCTP | HDR.L4);
    expectFields(sc, { "l4.sport": 2905, "l4.dport": 3600, "payload.off": 46 });
    const gre = parse(ether(0x0800, ipv4({ proto: 47 }, zeros(12))));
    expect(hdrs(gre)).toBe(HDR.ETH | HDR.IPV4 | HDR.L4);
    expectFields(gre, { "l4.proto": 47, "l4.off": 34, "payload.off": 34, "payload.len": 12 });
  });
});

describe("malformed and truncated packets", () => {
  it("flags a version nibble that disagrees with the Ethertype", () => {
    const f = ether(0x0800, ipv6({}, tcp(1, 2, 2)));
    const v = parse(f);
    expect(errs(v)).toBe(PARSE_ERR.BAD_IP_VERSION);
    expect(hdrs(v)).toBe(HDR.ETH);
  });

  it("flags a bad IHL and stops at the network layer", () => {
    const v = parse(ether(0x0800, ipv4({ ihl: 4, proto: 6 }, tcp(1, 2, 2))));
    expect(errs(v)).toBe(PARSE_ERR.BAD_IHL);
    expect(hdrs(v)).toBe(HDR.ETH | HDR.IPV4);
    expectFields(v, { "ip.ihl": 16, "l4.proto": 0 });
  });

  it("flags a total length below the header length but keeps parsing", () => {
    const v = parse(ether(0x0800, ipv4({ proto: 17, totalLength: 12 }, udp(1, 2))));
    expect(errs(v)).toBe(PARSE_ERR.BAD_IP_LEN);
    expectFields(v, { "l4.dport": 2, "payload.len": 0 });
  });

  it("flags a TCP data offset below 5 words", () => {
    const v = parse(ether(0x0800, ipv4({ proto: 6 }, tcp(1, 2, 2, zeros(4), 4))));
    expect(errs(v)).toBe(PARSE_ERR.BAD_TCP_DOFF);
    expectFields(v, { "tcp.doff": 16, "payload.off": 0, "l4.dport": 2 });
  });

  it("reads a cut header field by field: whole fields only", () => {
    const f = ether(0x0800, ipv4({ src: 0x01020304, dst: 0x05060708, proto: 6, ttl: 9 }, tcp(0x1111, 0x2222, 2)));
    const l3 = parse(f.subarray(0, 14 + 17)); // src (bytes 12..15) whole, dst cut
    expect(errs(l3)).toBe(PARSE_ERR.TRUNC_L3);
    expect(hdrs(l3)).toBe(HDR.ETH | HDR.IPV4);
    expectFields(l3, { "ip.ttl": 9, "ip.src": 0x01020304, "ip.dst": 0, "l4.proto": 0 });
    const l4 = parse(f.subarray(0, 34 + 3), 100); // sport whole, dport cut
    expect(errs(l4)).toBe(PARSE_ERR.TRUNC_L4);
    expect(hdrs(l4)).toBe(HDR.ETH | HDR.IPV4 | HDR.TCP | HDR.L4);
    expectFields(l4, { "l4.sport": 0x1111, "l4.dport": 0, "tcp.flags": 0, "payload.off": 0 });
    const whole6 = ether(0x86dd, ipv6({ src: 5n }, zeros(8)));
    const v6 = parse(whole6.subarray(0, 14 + 30), whole6.length);
    expect(errs(v6)).toBe(PARSE_ERR.TRUNC_L3);
    expectFields(v6, { "ip6.src": 5, "ip6.dst": 0 });
    expect(errs(parse(ether(0x0800, zeros(0))))).toBe(PARSE_ERR.TRUNC_L3);
  });

  it("flags IPv4 options cut by the capture", () => {
    const f = ether(0x0800, ipv4({ proto: 6, options: [1, 1, 1, 1, 1, 1, 1, 0] }, tcp(1, 2, 2)));
    const v = parse(f.subarray(0, 14 + 22));
    expect(errs(v)).toBe(PARSE_ERR.TRUNC_L3);
    expect(hdrs(v) & HDR.L4).toBe(0);
  });
});

describe("link types", () => {
  const ip4 = ipv4({ src: 0x7f000001, proto: 17 }, udp(1, 53));
  const ip6 = ipv6({ next: 17 }, udp(1, 53));
  const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
  const be32 = (v: number) => [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

  const cases: [string, number, Uint8Array, number, number][] = [
    // name, linktype, frame, l3.off, l3.proto
    ["NULL, little-endian AF_INET", 0, bytes(le32(2), ip4), 4, 0x0800],
    ["NULL, big-endian AF_INET", 0, bytes(be32(2), ip4), 4, 0x0800],
    ["NULL, AF_INET6 (BSD 24)", 0, bytes(le32(24), ip6), 4, 0x86dd],
    ["NULL, AF_INET6 (FreeBSD 28)", 0, bytes(le32(28), ip6), 4, 0x86dd],
    ["NULL, AF_INET6 (macOS 30)", 0, bytes(le32(30), ip6), 4, 0x86dd],
    ["LOOP, network order", 108, bytes(be32(2), ip4), 4, 0x0800],
    ["RAW (12), IPv4", 12, ip4, 0, 0x0800],
    ["RAW (101), IPv6", 101, ip6, 0, 0x86dd],
    ["IPV4", 228, ip4, 0, 0x0800],
    ["IPV6", 229, ip6, 0, 0x86dd],
    ["LINUX_SLL", 113, bytes([0, 0, 0, 1, 0, 6], zeros(8), [0x08, 0x00], ip4), 16, 0x0800],
    ["LINUX_SLL2", 276, bytes([0x86, 0xdd, 0, 0], zeros(16), ip6), 20, 0x86dd],
  ];
  for (const [name, lt, frame, off, proto] of cases) {
    it(`${name} reaches the network header`, () => {
      const v = parse(frame, frame.length, lt);
      expectFields(v, { "pkt.linktype": lt, "l2.len": off, "l3.off": off, "l3.proto": proto, "l4.dport": 53, "pkt.err": 0, "eth.type": 0 });
      expect(hdrs(v)).toBe((proto === 0x0800 ? HDR.IPV4 : HDR.IPV6) | HDR.UDP | HDR.L4);
      if (proto === 0x0800) expect(v.get("ip.src")).toBe(0x7f000001n);
    });
  }

  it("an unknown address family or link type gives no network protocol", () => {
    expectFields(parse(bytes(le32(7), ip4), 24, 0), { "l3.off": 4, "l3.proto": 0, "pkt.hdrs": 0 });
    expectFields(parse(ip4, ip4.length, 105), { "l3.off": 0, "l3.proto": 0, "pkt.hdrs": 0, "pkt.err": 0, "l2.len": 0 });
  });

  it("RAW with another version, and cut link headers", () => {
    expect(errs(parse(bytes([0x50], zeros(20)), 21, 101))).toBe(PARSE_ERR.BAD_IP_VERSION);
    expect(errs(parse(zeros(0), 0, 101))).toBe(PARSE_ERR.TRUNC_L3);
    expect(errs(parse(zeros(3), 3, 0))).toBe(PARSE_ERR.TRUNC_L2);
    expect(errs(parse(zeros(15), 15, 113))).toBe(PARSE_ERR.TRUNC_L2);
    expect(errs(parse(zeros(19), 19, 276))).toBe(PARSE_ERR.TRUNC_L2);
    expect(errs(parse(bytes([0x60], zeros(10)), 11, 228))).toBe(PARSE_ERR.BAD_IP_VERSION);
  });
});

describe("a packet's vector never depends on the packet before it", () => {
  it("parsing in sequence equals parsing each packet in a fresh VM", async () => {
    const frames: [Uint8Array, number][] = [
      [ether(0x0800, ipv4({ proto: 6, mf: true }, tcp(1, 2, 0x1ff, zeros(9)))), 1],
      [tagged(0x88a8, 5, 0x8100, bytes([0, 6, 0x86, 0xdd], ipv6({ next: 0 }, bytes(ext6(44), frag6(58, 0, true, 9), icmp(128, 0))))), 1],
      [ether(0x0806, arp(1, 1, 2, 3, 4)), 1],
      [ether(0x0800, ipv4({ proto: 17 }, udp(3, 4, zeros(3)))), 1],
      [ether(0x0026, zeros(40)), 1],
      [ether(0x0800, ipv4({ proto: 132 }, zeros(12))), 1],
      [ipv6({ next: 6 }, tcp(9, 9, 2)), 101],
      [ether(0x0800, ipv4({ proto: 6 }, tcp(1, 2, 2))).subarray(0, 40), 1],
      [ether(0x0800, ipv4({ proto: 1 }, icmp(8, 0))), 1],
      [zeros(5), 1],
    ];
    const fresh = await Promise.all(frames.map(async ([f, lt]) => (await OverlayVM.create()).parseHeaders(f, f.length, lt)));
    const seq = await OverlayVM.create();
    for (const order of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 1, 1, 6, 0]]) {
      for (const i of order) {
        const [f, lt] = frames[i]!;
        expect(seq.parseHeaders(f, f.length, lt), `frame ${i}`).toEqual(fresh[i]);
      }
    }
  });
});
