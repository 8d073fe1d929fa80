/**
 * The kernel log line of iptables' LOG target (and nft's `log`), as Linux's nf_log_syslog.c writes it with the
 * default flags (no --log-tcp-sequence, --log-tcp-options, --log-ip-options, --log-uid, --log-macdecode):
 *
 *   PREFIX IN=eth0 OUT= MAC=dd:dd:dd:dd:dd:dd:ss:ss:ss:ss:ss:ss:08:00 SRC=… DST=… LEN=60 TOS=0x00 PREC=0x00
 *   TTL=64 ID=54321 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0
 *
 * Field order, spelling and the trailing space are the kernel's (dump_ipv4_packet, dump_ipv6_packet,
 * dump_mac_header, nf_log_dump_tcp_header, nf_log_dump_udp_header): `MAC=` only for a packet that came in, the
 * Ethernet header as the device's 14 header bytes (empty for a capture without one), TCP flags in the order
 * AE CWR ECE URG ACK PSH RST SYN FIN, `MARK=0x…` when the packet's mark is not 0, ICMP errors with the quoted
 * packet in brackets. The bytes are the capture's: where a capture cut a packet short the line says INCOMPLETE
 * or TRUNCATED, as the kernel does for a packet that short.
 */
import { DLT_EN10MB, DLT_IPV4, DLT_IPV6, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_RAW } from "../pcap/link-types.js";

export interface KernelLogContext {
  /** the rule's --log-prefix (printed as given, directly before IN=) */
  prefix: string;
  /** the device the packet came in on (ingress), else "" */
  inDev: string;
  /** the device it leaves by (egress), else "" */
  outDev: string;
  /** the packet's mark when the rule ran */
  mark: number;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

/** Where the network header starts and what it is; the Ethernet header when the capture has one. */
function linkLayer(frame: Uint8Array, linktype: number): { l3: number; proto: number; mac?: Uint8Array } | undefined {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ipByVersion = (at: number) => {
    const v = frame.length > at ? frame[at]! >> 4 : 0;
    return v === 4 ? ETH_P_IP : v === 6 ? ETH_P_IPV6 : 0;
  };
  switch (linktype) {
    case DLT_EN10MB: {
      if (frame.length < 14) return undefined;
      let at = 12;
      let type = view.getUint16(at);
      // a tag the capture kept in the frame: the IP header follows it (Linux strips it before netfilter)
      while ((type === 0x8100 || type === 0x88a8) && at + 6 <= frame.length) {
        at += 4;
        type = view.getUint16(at);
      }
      return { l3: at + 2, proto: type, mac: frame.subarray(0, 14) };
    }
    case DLT_NULL:
    case 108: {
      if (frame.length < 4) return undefined;
      return { l3: 4, proto: ipByVersion(4) };
    }
    case DLT_RAW:
    case 101:
      return { l3: 0, proto: ipByVersion(0) };
    case DLT_IPV4:
      return { l3: 0, proto: ETH_P_IP };
    case DLT_IPV6:
      return { l3: 0, proto: ETH_P_IPV6 };
    case DLT_LINUX_SLL:
      return frame.length < 16 ? undefined : { l3: 16, proto: view.getUint16(14) };
    case DLT_LINUX_SLL2:
      return frame.length < 20 ? undefined : { l3: 20, proto: view.getUint16(0) };
    default:
      return undefined;
  }
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

/** The log line of one packet (no newline; it ends in a space, as the kernel's does). */
export function kernelLogLine(frame: Uint8Array, linktype: number, ctx: KernelLogContext): string {
  const out: string[] = [`${ctx.prefix}IN=${ctx.inDev} OUT=${ctx.outDev} `];
  const link = linkLayer(frame, linktype);
  if (ctx.inDev !== "") out.push(`MAC=${link?.mac ? Array.from(link.mac, hex2).join(":") : ""} `);
  if (!link) return out.join("");
  const l3 = frame.subarray(link.l3);
  const view = new DataView(l3.buffer, l3.byteOffset, l3.byteLength);
  // the skb as netfilter sees it: from the IP header, trimmed to the IP length (ip_rcv and ip6_rcv cut the rest)
  if (link.proto === ETH_P_IP) new Ipv4Dump(new Bytes(l3.length >= 20 ? l3.subarray(0, Math.max(20, view.getUint16(2))) : l3), out, ctx.mark).packet(0);
  else if (link.proto === ETH_P_IPV6) new Ipv6Dump(new Bytes(l3.length >= 40 ? l3.subarray(0, 40 + view.getUint16(4)) : l3), out, ctx.mark).packet(0, true);
  return out.join("");
}

/** The network-layer bytes as the kernel's skb holds them (what skb_header_pointer can read). */
class Bytes {
  readonly view: DataView;
  constructor(readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get len(): number {
    return this.b.length;
  }
  has(at: number, n: number): boolean {
    return at + n <= this.b.length;
  }
  u8(at: number): number {
    return this.b[at]!;
  }
  u16(at: number): number {
    return this.view.getUint16(at);
  }
  u32(at: number): number {
    return this.view.getUint32(at);
  }
}

/** TCP and UDP headers: shared by both IP versions (nf_log_dump_tcp_header, nf_log_dump_udp_header). */
function transport(p: Bytes, out: string[], proto: number, fragment: boolean, at: number): "done" | "stop" | "other" {
  if (proto === 6) {
    out.push("PROTO=TCP ");
    if (fragment) return "done";
    if (!p.has(at, 20)) {
      out.push(`INCOMPLETE [${p.len - at} bytes] `);
      return "stop";
    }
    out.push(`SPT=${p.u16(at)} DPT=${p.u16(at + 2)} `);
    out.push(`WINDOW=${p.u16(at + 14)} `);
    const flagWord = p.u32(at + 12);
    out.push(`RES=0x${hex2(((flagWord & 0x0e000000) >>> 22) & 0xff)} `);
    const flags = p.u8(at + 13);
    if (flagWord & 0x01000000) out.push("AE ");
    for (const [bit, name] of [[0x80, "CWR"], [0x40, "ECE"], [0x20, "URG"], [0x10, "ACK"], [0x08, "PSH"], [0x04, "RST"], [0x02, "SYN"], [0x01, "FIN"]] as const) if (flags & bit) out.push(`${name} `);
    out.push(`URGP=${p.u16(at + 18)} `);
    return "done";
  }
  if (proto === 17 || proto === 136) {
    out.push(proto === 17 ? "PROTO=UDP " : "PROTO=UDPLITE ");
    if (fragment) return "done";
    if (!p.has(at, 8)) {
      out.push(`INCOMPLETE [${p.len - at} bytes] `);
      return "stop";
    }
    out.push(`SPT=${p.u16(at)} DPT=${p.u16(at + 2)} LEN=${p.u16(at + 4)} `);
    return "done";
  }
  return "other";
}

/** ICMP types whose header the kernel needs in full before it reads past TYPE/CODE (nf_log_syslog.c required_len). */
const ICMP_REQUIRED: Record<number, number> = { 0: 4, 3: 28, 4: 28, 5: 28, 8: 4, 11: 28, 12: 28, 13: 20, 14: 20, 17: 12, 18: 12 };

class Ipv4Dump {
  constructor(
    private readonly p: Bytes,
    private readonly out: string[],
    private readonly mark: number,
  ) {}

  /** dump_ipv4_packet at byte `iphoff` of the network-layer bytes (0: the packet; else an ICMP error's quote). */
  packet(iphoff: number): void {
    const out = this.out;
    const p = this.p;
    if (!p.has(iphoff, 20)) {
      out.push("TRUNCATED");
      return;
    }
    const totLen = p.u16(iphoff + 2);
    const ihl = (p.u8(iphoff) & 0x0f) * 4;
    const tos = p.u8(iphoff + 1);
    const fragOff = p.u16(iphoff + 6);
    const proto = p.u8(iphoff + 9);
    out.push(`SRC=${ipv4(p, iphoff + 12)} DST=${ipv4(p, iphoff + 16)} `);
    out.push(`LEN=${totLen} TOS=0x${hex2(tos & 0x1e).toUpperCase()} PREC=0x${hex2(tos & 0xe0).toUpperCase()} TTL=${p.u8(iphoff + 8)} ID=${p.u16(iphoff + 4)} `);
    if (fragOff & 0x8000) out.push("CE ");
    if (fragOff & 0x4000) out.push("DF ");
    if (fragOff & 0x2000) out.push("MF ");
    const offset = fragOff & 0x1fff;
    if (offset) out.push(`FRAG:${offset} `);
    const l4 = iphoff + ihl;
    const t = transport(p, out, proto, offset !== 0, l4);
    if (t === "stop") return;
    if (t === "other") {
      switch (proto) {
        case 1:
          this.icmp(p, iphoff, l4, offset !== 0);
          break;
        case 51: // AH
          if (offset) break;
          out.push("PROTO=AH ");
          if (!p.has(l4, 12)) out.push(`INCOMPLETE [${p.len - l4} bytes] `);
          else out.push(`SPI=0x${p.u32(l4 + 4).toString(16)} `);
          break;
        case 50: // ESP
          out.push("PROTO=ESP ");
          if (offset) break;
          if (!p.has(l4, 8)) out.push(`INCOMPLETE [${p.len - l4} bytes] `);
          else out.push(`SPI=0x${p.u32(l4).toString(16)} `);
          break;
        default:
          out.push(`PROTO=${proto} `);
      }
    }
    if (iphoff === 0 && this.mark !== 0) out.push(`MARK=0x${(this.mark >>> 0).toString(16)} `);
  }

  private icmp(p: Bytes, iphoff: number, l4: number, fragment: boolean): void {
    const out = this.out;
    out.push("PROTO=ICMP ");
    if (fragment) return;
    if (!p.has(l4, 8)) {
      out.push(`INCOMPLETE [${p.len - l4} bytes] `);
      return;
    }
    const type = p.u8(l4);
    const code = p.u8(l4 + 1);
    out.push(`TYPE=${type} CODE=${code} `);
    const required = ICMP_REQUIRED[type];
    if (required !== undefined && p.len - l4 < required) {
      out.push(`INCOMPLETE [${p.len - l4} bytes] `);
      return;
    }
    switch (type) {
      case 0:
      case 8:
        out.push(`ID=${p.u16(l4 + 4)} SEQ=${p.u16(l4 + 6)} `);
        break;
      case 12:
        out.push(`PARAMETER=${p.u8(l4 + 4)} `);
        break;
      case 5:
        out.push(`GATEWAY=${ipv4(p, l4 + 4)} `);
      // falls through: a redirect quotes the packet too
      case 3:
      case 4:
      case 11:
        if (iphoff === 0) {
          out.push("[");
          this.packet(l4 + 8);
          out.push("] ");
        }
        if (type === 3 && code === 4) out.push(`MTU=${p.u16(l4 + 6)} `);
    }
  }
}

class Ipv6Dump {
  constructor(
    private readonly p: Bytes,
    private readonly out: string[],
    private readonly mark: number,
  ) {}

  /** dump_ipv6_packet at byte `ip6hoff` (`recurse`: the packet itself, not an ICMPv6 error's quote). */
  packet(ip6hoff: number, recurse: boolean): void {
    const out = this.out;
    const p = this.p;
    if (!p.has(ip6hoff, 40)) {
      out.push("TRUNCATED");
      return;
    }
    const payload = p.u16(ip6hoff + 4);
    const first = p.u32(ip6hoff);
    out.push(`SRC=${ipv6(p, ip6hoff + 8)} DST=${ipv6(p, ip6hoff + 24)} `);
    out.push(`LEN=${payload + 40} TC=${(first & 0x0ff00000) >>> 20} HOPLIMIT=${p.u8(ip6hoff + 7)} FLOWLBL=${first & 0x000fffff} `);
    let fragment = false;
    let ptr = ip6hoff + 40;
    let hdr = p.u8(ip6hoff + 6);
    // extension headers (nf_ip6_ext_hdr): hop-by-hop, routing, fragment, ESP, AH, destination options
    while (hdr !== 59 && [0, 43, 44, 50, 51, 60].includes(hdr)) {
      if (!p.has(ptr, 2)) {
        out.push("TRUNCATED");
        return;
      }
      let len: number;
      switch (hdr) {
        case 44: {
          out.push("FRAG:");
          if (!p.has(ptr, 8)) {
            out.push("TRUNCATED ");
            return;
          }
          const fragOff = p.u16(ptr + 2);
          out.push(`${fragOff & 0xfff8} `);
          if (fragOff & 0x0001) out.push("INCOMPLETE ");
          out.push(`ID:${p.u32(ptr + 4).toString(16).padStart(8, "0")} `);
          if (fragOff & 0xfff8) fragment = true;
          len = 8;
          break;
        }
        case 0:
        case 43:
        case 60:
          if (fragment) return;
          len = (p.u8(ptr + 1) + 1) * 8;
          break;
        case 51:
          len = (p.u8(ptr + 1) + 2) * 4;
          break;
        default: // ESP: nothing readable follows
          return;
      }
      hdr = p.u8(ptr);
      ptr += len;
    }
    const t = transport(p, out, hdr, fragment, ptr);
    if (t === "stop") return;
    if (t === "other") {
      if (hdr === 58) {
        out.push("PROTO=ICMPv6 ");
        if (!fragment) {
          if (!p.has(ptr, 8)) {
            out.push(`INCOMPLETE [${p.len - ptr} bytes] `);
            return;
          }
          const type = p.u8(ptr);
          out.push(`TYPE=${type} CODE=${p.u8(ptr + 1)} `);
          switch (type) {
            case 128:
            case 129:
              out.push(`ID=${p.u16(ptr + 4)} SEQ=${p.u16(ptr + 6)} `);
              break;
            case 4:
              out.push(`POINTER=${p.u32(ptr + 4).toString(16).padStart(8, "0")} `);
            // falls through: a parameter problem quotes the packet too
            case 1:
            case 2:
            case 3:
              if (recurse) {
                out.push("[");
                this.packet(ptr + 8, false);
                out.push("] ");
              }
              if (type === 2) out.push(`MTU=${p.u32(ptr + 4)} `);
          }
        }
      } else out.push(`PROTO=${hdr} `);
    }
    if (recurse && this.mark !== 0) out.push(`MARK=0x${(this.mark >>> 0).toString(16)} `);
  }
}

function ipv4(p: Bytes, at: number): string {
  return `${p.u8(at)}.${p.u8(at + 1)}.${p.u8(at + 2)}.${p.u8(at + 3)}`;
}

/** %pI6: eight groups of four hex digits, nothing compressed. */
function ipv6(p: Bytes, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(p.u16(at + 2 * i).toString(16).padStart(4, "0"));
  return groups.join(":");
}
