// The NIC's header parser: fills the parsed-header vector (overlay-isa/fields.ts) and the raw-load bases for
// one frame. It never traps and never reads at or past caplen: every header is read either straight (when the
// whole fixed part is captured) or through bounds-checked reads that give 0 for bytes not captured — one
// source, two inlined specialisations. Loops (VLAN tags, IPv6 extension headers) have fixed bounds.
//
// To avoid clearing the whole vector per packet, slots are grouped; the parser writes every slot of each group
// it touches, remembers which groups it wrote, and clears only groups the previous packet wrote and this one
// did not.
import {
  F_PKT_HDRS, F_PKT_ERR, F_L2_LEN, F_ETH_DST, F_ETH_SRC, F_ETH_TYPE, F_ETH_OUTER_TYPE, F_VLAN_COUNT, F_VLAN_ID,
  F_VLAN_PCP, F_VLAN_DEI, F_VLAN_TPID, F_VLAN_INNER_ID, F_L3_OFF, F_L3_PROTO, F_ARP_HTYPE, F_ARP_PTYPE, F_ARP_HLEN,
  F_ARP_PLEN, F_ARP_OP, F_ARP_SHA, F_ARP_SPA, F_ARP_THA, F_ARP_TPA, F_IP_IHL, F_IP_TOS, F_IP_DSCP, F_IP_ECN,
  F_IP_LEN, F_IP_ID, F_IP_DF, F_IP_MF, F_IP_FRAG_OFF, F_IP_TTL, F_IP_PROTO, F_IP_CSUM, F_IP_SRC, F_IP_DST,
  F_IP6_TC, F_IP6_FLOW, F_IP6_PLEN, F_IP6_NXT, F_IP6_HLIM, F_IP6_SRC, F_IP6_DST, F_IP6_EXTS, F_IP6_FRAG_OFF,
  F_IP6_MF, F_IP6_FRAG_ID, F_L4_PROTO, F_L4_OFF, F_L4_SPORT, F_L4_DPORT, F_TCP_SEQ, F_TCP_ACK, F_TCP_DOFF,
  F_TCP_FLAGS, F_TCP_WIN, F_TCP_CSUM, F_TCP_URP, F_UDP_LEN, F_UDP_CSUM, F_ICMP_TYPE, F_ICMP_CODE, F_PAYLOAD_OFF,
  F_PAYLOAD_LEN, F_META_MARK, F_PKT_LEN, F_PKT_CAPLEN, F_PKT_PORT, F_PKT_DIR, F_PKT_LINKTYPE,
  HDR_ETH, HDR_VLAN, HDR_QINQ, HDR_ARP, HDR_IPV4, HDR_IPV6, HDR_TCP, HDR_UDP, HDR_ICMP, HDR_ICMP6, HDR_SCTP,
  HDR_IGMP, HDR_FRAG, HDR_LLC, HDR_L4,
  ERR_TRUNC_L2, ERR_TRUNC_VLAN, ERR_TRUNC_L3, ERR_BAD_IP_VERSION, ERR_BAD_IHL, ERR_BAD_IP_LEN, ERR_TRUNC_L4,
  ERR_BAD_TCP_DOFF, ERR_EXT_LIMIT, ERR_TRUNC_EXT, ERR_TRUNC_ARP, ERR_VLAN_LIMIT,
  IP6_EXT_HOPOPTS, IP6_EXT_ROUTING, IP6_EXT_FRAGMENT, IP6_EXT_DSTOPTS, IP6_EXT_AH, IP6_EXT_ESP, IP6_EXT_NONE,
  PARSER_MAX_IP6_EXT, PARSER_MAX_VLAN,
} from "./isa.generated";
import { BASES, BASE_ABSENT, slotAddr } from "./memory-map";

// ---- slot groups -------------------------------------------------------------------------------------------
const G_ETH: u32 = 1 << 0;
const G_VLAN: u32 = 1 << 1;
const G_ARP: u32 = 1 << 2;
const G_IP4A: u32 = 1 << 3; // ip.ihl, ip.tos
const G_TOS: u32 = 1 << 4; // ip.dscp, ip.ecn (IPv4 and IPv6)
const G_IP4B: u32 = 1 << 5; // ip.len … ip.dst
const G_IP6: u32 = 1 << 6; // ip6.tc … ip6.exts
const G_IP6F: u32 = 1 << 7; // ip6.frag_off, ip6.mf, ip6.frag_id
const G_L4: u32 = 1 << 8; // l4.proto, l4.off
const G_PORTS: u32 = 1 << 9;
const G_TCP: u32 = 1 << 10;
const G_UDP: u32 = 1 << 11;
const G_ICMP: u32 = 1 << 12;
const G_PAY: u32 = 1 << 13;
const G_IP4: u32 = G_IP4A | G_TOS | G_IP4B;

// first slot and slot count of each group, by bit number
const GROUP_FIRST: StaticArray<i32> = [F_ETH_DST, F_VLAN_COUNT, F_ARP_HTYPE, F_IP_IHL, F_IP_DSCP, F_IP_LEN, F_IP6_TC, F_IP6_FRAG_OFF, F_L4_PROTO, F_L4_SPORT, F_TCP_SEQ, F_UDP_LEN, F_ICMP_TYPE, F_PAYLOAD_OFF];
const GROUP_END: StaticArray<i32> = [F_VLAN_COUNT, F_L3_OFF, F_IP_IHL, F_IP_DSCP, F_IP_LEN, F_IP6_TC, F_IP6_FRAG_OFF, F_L4_PROTO, F_L4_SPORT, F_TCP_SEQ, F_UDP_LEN, F_ICMP_TYPE, F_PAYLOAD_OFF, F_META_MARK];

// The groups plus the always-written slots must tile pkt.hdrs … payload.len; a field inserted in the middle of
// fields.ts (instead of appended) breaks the build here rather than leaking stale values at run time.
if (F_PKT_ERR != F_PKT_HDRS + 1 || F_L2_LEN != F_PKT_ERR + 1 || F_ETH_DST != F_L2_LEN + 1) ERROR("fields.ts order changed: update parser.ts groups");
if (F_VLAN_COUNT != F_ETH_OUTER_TYPE + 1 || F_L3_OFF != F_VLAN_INNER_ID + 1 || F_L3_PROTO != F_L3_OFF + 1 || F_ARP_HTYPE != F_L3_PROTO + 1) ERROR("fields.ts order changed: update parser.ts groups");
if (F_IP_IHL != F_ARP_TPA + 1 || F_IP_DSCP != F_IP_TOS + 1 || F_IP_LEN != F_IP_ECN + 1 || F_IP6_TC != F_IP_DST + 1) ERROR("fields.ts order changed: update parser.ts groups");
if (F_IP6_FRAG_OFF != F_IP6_EXTS + 1 || F_L4_PROTO != F_IP6_FRAG_ID + 1 || F_L4_SPORT != F_L4_OFF + 1 || F_TCP_SEQ != F_L4_DPORT + 1) ERROR("fields.ts order changed: update parser.ts groups");
if (F_UDP_LEN != F_TCP_URP + 1 || F_ICMP_TYPE != F_UDP_CSUM + 1 || F_PAYLOAD_OFF != F_ICMP_CODE + 1 || F_META_MARK != F_PAYLOAD_LEN + 1) ERROR("fields.ts order changed: update parser.ts groups");

// ---- per-packet parser state -------------------------------------------------------------------------------
let P: usize = 0; // frame start
let CAP: u32 = 0; // captured bytes
let WIRE: u32 = 0; // length on the wire
let hdrs: u32 = 0;
let errs: u32 = 0;
let written: u32 = 0; // groups written for this packet
let dirty: u32 = 0; // groups written for the previous packet

// @ts-ignore: decorator
@inline function put(slot: i32, v: u64): void {
  store<u64>(slotAddr(slot), v);
}

// Big-endian reads at p + o. With `checked`, a read whose bytes are not all below `lim` gives 0 (a field the
// capture cut off reads as 0, never as a mix of real and missing bytes).
// @ts-ignore: decorator
@inline function rd8(p: usize, o: u32, lim: u32, checked: bool): u64 {
  if (checked && o + 1 > lim) return 0;
  return <u64>load<u8>(p + <usize>o);
}
// @ts-ignore: decorator
@inline function rd16(p: usize, o: u32, lim: u32, checked: bool): u64 {
  if (checked && o + 2 > lim) return 0;
  return <u64>bswap<u16>(load<u16>(p + <usize>o));
}
// @ts-ignore: decorator
@inline function rd32(p: usize, o: u32, lim: u32, checked: bool): u64 {
  if (checked && o + 4 > lim) return 0;
  return <u64>bswap<u32>(load<u32>(p + <usize>o));
}
// @ts-ignore: decorator
@inline function rd48(p: usize, o: u32, lim: u32, checked: bool): u64 {
  if (checked && o + 6 > lim) return 0;
  return (<u64>bswap<u32>(load<u32>(p + <usize>o)) << 16) | <u64>bswap<u16>(load<u16>(p + <usize>o + 4));
}
// @ts-ignore: decorator
@inline function rd64(p: usize, o: u32, lim: u32, checked: bool): u64 {
  if (checked && o + 8 > lim) return 0;
  return bswap<u64>(load<u64>(p + <usize>o));
}

// @ts-ignore: decorator
@inline function minU32(a: u32, b: u32): u32 {
  return a < b ? a : b;
}

/** Packet metadata slots (pkt.len … pkt.linktype): written for every packet of a program that reads them. */
export function writeMetadata(caplen: u32, wirelen: u32, port: u32, dir: u32, linktype: u32): void {
  put(F_PKT_LEN, <u64>wirelen);
  put(F_PKT_CAPLEN, <u64>caplen);
  put(F_PKT_PORT, <u64>port);
  put(F_PKT_DIR, <u64>dir);
  put(F_PKT_LINKTYPE, <u64>linktype);
}

/** Zero every parser-written slot and forget what the previous packet wrote (after a program load). */
export function resetParser(): void {
  for (let s = F_PKT_HDRS; s < F_META_MARK; s++) put(s, 0);
  dirty = 0;
  store<u64>(BASES, 0);
  store<u64>(BASES, BASE_ABSENT, 8);
  store<u64>(BASES, BASE_ABSENT, 16);
  store<u64>(BASES, BASE_ABSENT, 24);
}

/** Parse one frame into the vector (pkt.hdrs onwards) and the raw-load bases. */
export function parsePacket(frame: usize, caplen: u32, wirelen: u32, linktype: u32): void {
  P = frame;
  CAP = caplen;
  WIRE = wirelen;
  hdrs = 0;
  errs = 0;
  written = 0;
  store<u64>(BASES, BASE_ABSENT, 8);
  store<u64>(BASES, BASE_ABSENT, 16);
  store<u64>(BASES, BASE_ABSENT, 24);
  let l2len: u32 = 0;
  let l3off: u32 = 0;
  let l3proto: u32 = 0;
  let l3present = false;

  switch (linktype) {
    case 1: {
      // EN10MB
      l2len = ethernet();
      if (linkComplete) {
        l3present = true;
        l3off = l2len;
        l3proto = (hdrs & HDR_LLC) != 0 ? 0 : ethType;
      }
      break;
    }
    case 0: // NULL: address family in the capturing host's byte order
    case 108: {
      // LOOP: address family in network order
      if (CAP < 4) {
        errs |= ERR_TRUNC_L2;
        break;
      }
      let af = load<u32>(P);
      if (linktype == 108) af = bswap<u32>(af);
      else if ((af & 0xffff0000) != 0) af = bswap<u32>(af);
      l2len = 4;
      l3off = 4;
      l3present = true;
      l3proto = af == 2 ? 0x0800 : af == 24 || af == 28 || af == 30 ? 0x86dd : 0;
      break;
    }
    case 12:
    case 101: {
      // RAW: the version nibble says which IP
      l3present = true;
      if (CAP < 1) {
        errs |= ERR_TRUNC_L3;
        break;
      }
      const v = load<u8>(P) >> 4;
      if (v == 4) l3proto = 0x0800;
      else if (v == 6) l3proto = 0x86dd;
      else errs |= ERR_BAD_IP_VERSION;
      break;
    }
    case 228:
      l3present = true;
      l3proto = 0x0800;
      break;
    case 229:
      l3present = true;
      l3proto = 0x86dd;
      break;
    case 113: {
      // LINUX_SLL: 16-byte cooked header, protocol at 14
      if (CAP < 16) {
        errs |= ERR_TRUNC_L2;
        break;
      }
      l2len = 16;
      l3off = 16;
      l3present = true;
      l3proto = <u32>bswap<u16>(load<u16>(P + 14));
      break;
    }
    case 276: {
      // LINUX_SLL2: 20-byte cooked header, protocol at 0
      if (CAP < 20) {
        errs |= ERR_TRUNC_L2;
        break;
      }
      l2len = 20;
      l3off = 20;
      l3present = true;
      l3proto = <u32>bswap<u16>(load<u16>(P));
      break;
    }
    default:
      break; // a link type the parser does not know: no headers
  }

  put(F_L2_LEN, <u64>l2len);
  if (l3present) {
    store<u64>(BASES, <u64>l3off, 8);
    put(F_L3_OFF, <u64>l3off);
    put(F_L3_PROTO, <u64>l3proto);
    if (l3proto == 0x0800) ipv4(l3off);
    else if (l3proto == 0x86dd) ipv6(l3off);
    else if (l3proto == 0x0806 || l3proto == 0x8035) arp(l3off);
  } else {
    put(F_L3_OFF, 0);
    put(F_L3_PROTO, 0);
  }
  put(F_PKT_HDRS, <u64>hdrs);
  put(F_PKT_ERR, <u64>errs);

  // clear groups the previous packet wrote and this one did not
  let stale = dirty & ~written;
  while (stale != 0) {
    const g = <i32>ctz<u32>(stale);
    const end = unchecked(GROUP_END[g]);
    for (let s = unchecked(GROUP_FIRST[g]); s < end; s++) put(s, 0);
    stale &= stale - 1;
  }
  dirty = written;
}

// ---- link layer --------------------------------------------------------------------------------------------

let ethType: u32 = 0; // Ethertype (or 802.3 length) after the tags
let linkComplete = false; // the whole link header, tags included, was captured

/** Ethernet II / 802.3 with up to PARSER_MAX_VLAN tags. Returns the bytes of link header walked. */
function ethernet(): u32 {
  linkComplete = false;
  if (CAP < 14) {
    errs |= ERR_TRUNC_L2;
    return 0;
  }
  hdrs |= HDR_ETH;
  written |= G_ETH;
  put(F_ETH_DST, rd48(P, 0, 0, false));
  put(F_ETH_SRC, rd48(P, 6, 0, false));
  const outer = <u32>bswap<u16>(load<u16>(P + 12));
  put(F_ETH_OUTER_TYPE, <u64>outer);
  let type = outer;
  let off: u32 = 14;
  let count: u32 = 0;
  let complete = true;
  while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
    if (count == <u32>PARSER_MAX_VLAN) {
      errs |= ERR_VLAN_LIMIT;
      break;
    }
    if (off + 4 > CAP) {
      errs |= ERR_TRUNC_VLAN;
      complete = false;
      break;
    }
    const tci = <u32>bswap<u16>(load<u16>(P + off));
    if (count == 0) {
      written |= G_VLAN;
      put(F_VLAN_ID, <u64>(tci & 0xfff));
      put(F_VLAN_PCP, <u64>(tci >> 13));
      put(F_VLAN_DEI, <u64>((tci >> 12) & 1));
      put(F_VLAN_TPID, <u64>type);
      put(F_VLAN_INNER_ID, 0);
    } else if (count == 1) {
      put(F_VLAN_INNER_ID, <u64>(tci & 0xfff));
    }
    type = <u32>bswap<u16>(load<u16>(P + off + 2));
    off += 4;
    count++;
  }
  if (count != 0) {
    put(F_VLAN_COUNT, <u64>count);
    hdrs |= HDR_VLAN;
    if (count >= 2) hdrs |= HDR_QINQ;
  }
  put(F_ETH_TYPE, <u64>type);
  ethType = type;
  linkComplete = complete;
  if (complete && type < 0x600) hdrs |= HDR_LLC;
  return off;
}

// ---- network layer -----------------------------------------------------------------------------------------

function arp(off: u32): void {
  hdrs |= HDR_ARP;
  written |= G_ARP;
  const lim = CAP - off;
  if (lim >= 28) arpFields(P + off, lim, false);
  else arpFields(P + off, lim, true);
}

// @ts-ignore: decorator
@inline function arpFields(p: usize, lim: u32, checked: bool): void {
  if (checked && lim < 8) errs |= ERR_TRUNC_ARP;
  const htype = rd16(p, 0, lim, checked);
  const ptype = rd16(p, 2, lim, checked);
  const hlen = rd8(p, 4, lim, checked);
  const plen = rd8(p, 5, lim, checked);
  put(F_ARP_HTYPE, htype);
  put(F_ARP_PTYPE, ptype);
  put(F_ARP_HLEN, hlen);
  put(F_ARP_PLEN, plen);
  put(F_ARP_OP, rd16(p, 6, lim, checked));
  if (htype == 1 && ptype == 0x0800 && hlen == 6 && plen == 4) {
    if (checked && lim >= 8) errs |= ERR_TRUNC_ARP;
    put(F_ARP_SHA, rd48(p, 8, lim, checked));
    put(F_ARP_SPA, rd32(p, 14, lim, checked));
    put(F_ARP_THA, rd48(p, 18, lim, checked));
    put(F_ARP_TPA, rd32(p, 24, lim, checked));
  } else {
    put(F_ARP_SHA, 0);
    put(F_ARP_SPA, 0);
    put(F_ARP_THA, 0);
    put(F_ARP_TPA, 0);
  }
}

function ipv4(off: u32): void {
  if (off >= CAP) {
    errs |= ERR_TRUNC_L3;
    return;
  }
  if ((load<u8>(P + off) >> 4) != 4) {
    errs |= ERR_BAD_IP_VERSION;
    return;
  }
  hdrs |= HDR_IPV4;
  written |= G_IP4;
  const lim = CAP - off;
  if (lim >= 20) ipv4Fields(off, lim, false);
  else ipv4Fields(off, lim, true);
}

// @ts-ignore: decorator
@inline function ipv4Fields(off: u32, lim: u32, checked: bool): void {
  const p = P + off;
  const b0 = <u32>load<u8>(p);
  const ihl = (b0 & 15) << 2;
  const tos = rd8(p, 1, lim, checked);
  const len = <u32>rd16(p, 2, lim, checked);
  const frag = <u32>rd16(p, 6, lim, checked);
  const proto = <u32>rd8(p, 9, lim, checked);
  put(F_IP_IHL, <u64>ihl);
  put(F_IP_TOS, tos);
  put(F_IP_DSCP, tos >> 2);
  put(F_IP_ECN, tos & 3);
  put(F_IP_LEN, <u64>len);
  put(F_IP_ID, rd16(p, 4, lim, checked));
  put(F_IP_DF, <u64>((frag >> 14) & 1));
  put(F_IP_MF, <u64>((frag >> 13) & 1));
  put(F_IP_FRAG_OFF, <u64>(frag & 0x1fff));
  put(F_IP_TTL, rd8(p, 8, lim, checked));
  put(F_IP_PROTO, <u64>proto);
  put(F_IP_CSUM, rd16(p, 10, lim, checked));
  put(F_IP_SRC, rd32(p, 12, lim, checked));
  put(F_IP_DST, rd32(p, 16, lim, checked));
  if ((frag & 0x3fff) != 0) hdrs |= HDR_FRAG;
  if (checked) {
    errs |= ERR_TRUNC_L3;
    return;
  }
  if (ihl < 20) {
    errs |= ERR_BAD_IHL;
    return;
  }
  if (len < ihl) errs |= ERR_BAD_IP_LEN;
  if (ihl > lim) {
    errs |= ERR_TRUNC_L3; // options cut off by the capture
    return;
  }
  written |= G_L4;
  put(F_L4_PROTO, <u64>proto);
  if ((frag & 0x1fff) != 0) {
    put(F_L4_OFF, 0); // a later fragment: no transport header here
    return;
  }
  const end = len >= ihl ? minU32(off + len, WIRE) : WIRE;
  transport(off + ihl, proto, end, false);
}

function ipv6(off: u32): void {
  if (off >= CAP) {
    errs |= ERR_TRUNC_L3;
    return;
  }
  if ((load<u8>(P + off) >> 4) != 6) {
    errs |= ERR_BAD_IP_VERSION;
    return;
  }
  hdrs |= HDR_IPV6;
  written |= G_IP6 | G_TOS;
  const lim = CAP - off;
  if (lim >= 40) ipv6Fields(off, lim, false);
  else ipv6Fields(off, lim, true);
}

// @ts-ignore: decorator
@inline function ipv6Fields(off: u32, lim: u32, checked: bool): void {
  const p = P + off;
  const w0 = <u32>rd32(p, 0, lim, checked);
  const tc = (w0 >> 20) & 0xff;
  const plen = <u32>rd16(p, 4, lim, checked);
  const nxt = <u32>rd8(p, 6, lim, checked);
  put(F_IP6_TC, <u64>tc);
  put(F_IP_DSCP, <u64>(tc >> 2));
  put(F_IP_ECN, <u64>(tc & 3));
  put(F_IP6_FLOW, <u64>(w0 & 0xfffff));
  put(F_IP6_PLEN, <u64>plen);
  put(F_IP6_NXT, <u64>nxt);
  put(F_IP6_HLIM, rd8(p, 7, lim, checked));
  // 128-bit addresses: two slots each, high half first; a half the capture cut reads 0
  put(F_IP6_SRC, rd64(p, 8, lim, checked));
  put(F_IP6_SRC + 1, rd64(p, 16, lim, checked));
  put(F_IP6_DST, rd64(p, 24, lim, checked));
  put(F_IP6_DST + 1, rd64(p, 32, lim, checked));
  if (plen != 0 && <u64>off + 40 + <u64>plen > <u64>WIRE) errs |= ERR_BAD_IP_LEN;
  if (checked) {
    put(F_IP6_EXTS, 0);
    errs |= ERR_TRUNC_L3;
    return;
  }
  const end = plen != 0 ? minU32(off + 40 + plen, WIRE) : WIRE;
  ip6Extensions(off + 40, nxt, end);
}

/** Walk at most PARSER_MAX_IP6_EXT extension headers, then parse the upper layer. */
function ip6Extensions(start: u32, first: u32, end: u32): void {
  let nh = first;
  let pos = start;
  let exts: u32 = 0;
  let walked: i32 = 0;
  let upper = true; // false: no transport header to parse (no next header, a later fragment, a cut-off walk)
  written |= G_L4;
  for (;;) {
    if (nh == 59) {
      exts |= IP6_EXT_NONE;
      upper = false;
      break;
    }
    if (nh == 50) {
      exts |= IP6_EXT_ESP; // what follows is encrypted: ESP is the last header we can see
      break;
    }
    const isExt = nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
    if (!isExt) break;
    if (walked == PARSER_MAX_IP6_EXT) {
      errs |= ERR_EXT_LIMIT;
      upper = false;
      break;
    }
    walked++;
    if (nh == 44) {
      if (<u64>pos + 8 > <u64>CAP) {
        errs |= ERR_TRUNC_EXT;
        upper = false;
        break;
      }
      const fo = <u32>bswap<u16>(load<u16>(P + pos + 2));
      exts |= IP6_EXT_FRAGMENT;
      hdrs |= HDR_FRAG;
      written |= G_IP6F;
      put(F_IP6_FRAG_OFF, <u64>(fo >> 3));
      put(F_IP6_MF, <u64>(fo & 1));
      put(F_IP6_FRAG_ID, <u64>bswap<u32>(load<u32>(P + pos + 4)));
      nh = <u32>load<u8>(P + pos);
      pos += 8;
      if ((fo >> 3) != 0) {
        upper = false; // a later fragment carries no transport header
        break;
      }
      continue;
    }
    if (<u64>pos + 2 > <u64>CAP) {
      errs |= ERR_TRUNC_EXT;
      upper = false;
      break;
    }
    const len = <u32>load<u8>(P + pos + 1);
    exts |= nh == 0 ? IP6_EXT_HOPOPTS : nh == 43 ? IP6_EXT_ROUTING : nh == 60 ? IP6_EXT_DSTOPTS : IP6_EXT_AH;
    const hl = nh == 51 ? (len + 2) << 2 : (len + 1) << 3;
    nh = <u32>load<u8>(P + pos);
    pos += hl;
  }
  put(F_IP6_EXTS, <u64>exts);
  put(F_L4_PROTO, <u64>nh);
  if (upper) transport(pos, nh, end, true);
  else put(F_L4_OFF, 0);
}

// ---- transport layer ---------------------------------------------------------------------------------------

/** The upper-layer header of a first (or only) fragment at `off`; `end` is where the IP payload ends on the wire. */
function transport(off: u32, proto: u32, end: u32, v6: bool): void {
  hdrs |= HDR_L4;
  store<u64>(BASES, <u64>off, 16);
  put(F_L4_OFF, <u64>off);
  const lim: u32 = off < CAP ? CAP - off : 0;
  const p = P + off;
  let hlen: u32 = 0; // header length, 0 when unknown
  if (proto == 6) {
    hdrs |= HDR_TCP;
    written |= G_PORTS | G_TCP;
    hlen = lim >= 20 ? tcpFields(p, lim, false) : tcpFields(p, lim, true);
  } else if (proto == 17) {
    hdrs |= HDR_UDP;
    written |= G_PORTS | G_UDP;
    if (lim >= 8) udpFields(p, lim, false);
    else udpFields(p, lim, true);
    hlen = 8;
  } else if (proto == 132) {
    hdrs |= HDR_SCTP;
    written |= G_PORTS;
    if (lim < 12) errs |= ERR_TRUNC_L4;
    put(F_L4_SPORT, rd16(p, 0, lim, true));
    put(F_L4_DPORT, rd16(p, 2, lim, true));
    hlen = 12;
  } else if (proto == 1 && !v6) {
    hdrs |= HDR_ICMP;
    written |= G_ICMP;
    if (lim < 8) errs |= ERR_TRUNC_L4;
    put(F_ICMP_TYPE, rd8(p, 0, lim, true));
    put(F_ICMP_CODE, rd8(p, 1, lim, true));
    hlen = 8;
  } else if (proto == 58 && v6) {
    hdrs |= HDR_ICMP6;
    written |= G_ICMP;
    if (lim < 4) errs |= ERR_TRUNC_L4;
    put(F_ICMP_TYPE, rd8(p, 0, lim, true));
    put(F_ICMP_CODE, rd8(p, 1, lim, true));
    hlen = 4;
  } else if (proto == 2 && !v6) {
    hdrs |= HDR_IGMP;
    if (lim < 8) errs |= ERR_TRUNC_L4;
    hlen = 8;
  } else {
    // any other protocol (GRE, ESP, OSPF, …): the payload starts at the upper-layer header
    written |= G_PAY;
    store<u64>(BASES, <u64>off, 24);
    put(F_PAYLOAD_OFF, <u64>off);
    put(F_PAYLOAD_LEN, <u64>(end > off ? end - off : 0));
    return;
  }
  if (hlen != 0) {
    const poff = off + hlen;
    written |= G_PAY;
    store<u64>(BASES, <u64>poff, 24);
    put(F_PAYLOAD_OFF, <u64>poff);
    put(F_PAYLOAD_LEN, <u64>(end > poff ? end - poff : 0));
  }
}

// Returns the TCP header length in bytes, or 0 when the data offset is unknown (not captured) or invalid.
// @ts-ignore: decorator
@inline function tcpFields(p: usize, lim: u32, checked: bool): u32 {
  if (checked) errs |= ERR_TRUNC_L4;
  put(F_L4_SPORT, rd16(p, 0, lim, checked));
  put(F_L4_DPORT, rd16(p, 2, lim, checked));
  put(F_TCP_SEQ, rd32(p, 4, lim, checked));
  put(F_TCP_ACK, rd32(p, 8, lim, checked));
  const b12 = <u32>rd8(p, 12, lim, checked);
  const b13 = <u32>rd8(p, 13, lim, checked);
  const doff = (b12 >> 4) << 2;
  put(F_TCP_DOFF, <u64>doff);
  put(F_TCP_FLAGS, <u64>(((b12 & 1) << 8) | b13));
  put(F_TCP_WIN, rd16(p, 14, lim, checked));
  put(F_TCP_CSUM, rd16(p, 16, lim, checked));
  put(F_TCP_URP, rd16(p, 18, lim, checked));
  if (checked && lim < 13) return 0; // data offset not captured
  if (doff < 20) {
    errs |= ERR_BAD_TCP_DOFF;
    return 0;
  }
  return doff;
}

// @ts-ignore: decorator
@inline function udpFields(p: usize, lim: u32, checked: bool): void {
  if (checked) errs |= ERR_TRUNC_L4;
  put(F_L4_SPORT, rd16(p, 0, lim, checked));
  put(F_L4_DPORT, rd16(p, 2, lim, checked));
  put(F_UDP_LEN, rd16(p, 4, lim, checked));
  put(F_UDP_CSUM, rd16(p, 6, lim, checked));
}
