// The NIC's flow table: connection tracking for `ct state` (the ct.state field), as Linux's nf_conntrack
// decides it for the common cases. Runs only for programs that read ct.state, after the parser.
//
//  - A packet of a known flow is ESTABLISHED once the flow has seen a packet in the reply direction (that reply
//    included), else NEW. A packet of no known flow that may open one (TCP without RST and not SYN+ACK — Linux's
//    loose pickup —, UDP, other protocols, ICMP queries such as echo-request) is NEW and gets a tentative entry;
//    anything else (an ICMP reply, a non-first fragment) is INVALID.
//  - TCP: the state machine and window tracking of Linux's nf_conntrack_proto_tcp.c (conntrack-tcp.ts) decide
//    which segments open a flow (a SYN, or an ACK picked up mid-stream) and which are INVALID (bad flags, a
//    transition the state table rejects, out of window); each entry has a TCP record in a parallel array, so
//    other protocols' entries stay one cache line. An RST before any reply deletes the flow; a SYN after a close
//    reopens it as NEW.
//  - An ICMP error (destination unreachable, source quench, redirect, time exceeded, parameter problem; their
//    ICMPv6 kin) whose quoted packet belongs to a known flow is RELATED, else INVALID.
//  - The entry a NEW packet creates is confirmed only when the program's verdict lets the packet through
//    (accept or queue): a dropped or rejected first packet leaves no flow behind, as in Linux. As in Linux the
//    entry is written only then (the tuple waits in this module's state while the program runs), so dropped
//    first packets cost no write; the capacity is checked before the program, so the state it sees holds.
//  - Capacity: the table holds `capacity` flows (setFlowCapacity, default 65,536). When it is full and no entry
//    has timed out, a packet that would open a flow is not tracked: its state is INVALID and the overflow counter
//    (flowOverflows) counts it — Linux drops such packets ("nf_conntrack: table full, dropping packet"); here the
//    policy decides, typically with `ct state invalid drop`.
//  - Timeouts follow the packets' timestamps (side input): TCP 120 s until the reply, 5 days after, 10 s after
//    an RST; UDP 30 s / 180 s; ICMP 30 s; others 600 s. A program load empties the table.
//
// Layout: the entries are packed at the start of a pool of `capacity` entries (a deletion moves the last entry
// and its TCP record into the gap), and found through a hash index: open addressing with linear probing in `slots` ≥ 2 × capacity
// slots, two parallel arrays — `prints`, a fingerprint byte per slot (0 empty, else 0x80 | seven bits of the
// flow's hash), and `refs`, the u32 pool index of the slot's entry. The hash is the same for both directions of
// a flow, so one probe run answers "this tuple or its reply"; a miss reads only fingerprints (a byte a slot),
// and the live entries sit together in as many cache lines as there are flows, wherever their slots are.
// Deletion shifts the rest of a probe run back (no tombstones), so a miss stops at the first empty slot however
// many flows have come and gone.
//
// Entry (64 bytes): u64 src hi, src lo, dst hi, dst lo (IPv4 in the low word), u16 sport, u16 dport, u8 proto,
// u8 family (4, 6), u8 flags (1 seen reply), u8 pad, u64 last seen (µs), u64 timeout (µs), u32 slot (whose ref
// names this entry), u32 hash (low half: the home slot).
import {
  F_PKT_HDRS, F_L4_PROTO, F_L4_OFF, F_L4_SPORT, F_L4_DPORT, F_IP_SRC, F_IP_DST, F_IP6_SRC, F_IP6_DST, F_ICMP_TYPE,
  F_TCP_FLAGS, F_CT_STATE, HDR_IPV4, HDR_IPV6, HDR_TCP, HDR_ICMP, HDR_ICMP6, HDR_L4, VERDICT_DROP, VERDICT_REJECT,
  CT_INVALID, CT_ESTABLISHED, CT_RELATED, CT_NEW,
} from "./isa.generated";
import { allocate } from "./heap";
import { slotAddr } from "./memory-map";
import { nowUs } from "./ratelimit";
import { REC, TCP_IGNORE, TCP_INVALID, TCP_KILL, TCP_REOPEN, tcpInitNew, tcpMayOpen, tcpReadPacket, tcpTrack } from "./conntrack-tcp";

const ENTRY: usize = 64;
const SEC: u64 = 1_000_000;
const E_SLOT = 56;
const E_HASH = 60;

/** Whether the loaded program reads ct.state (set by the loader). */
export let tracking = false;
let wanted: u32 = 65536;
let capacity: u32 = 0;
let slots: u32 = 0; // power of two ≥ 2 × capacity
let prints: usize = 0; // u8 per slot
let refs: usize = 0; // u32 per slot
let pool: usize = 0; // capacity entries; [0, live) in use
let tcpPool: usize = 0; // capacity TCP records (conntrack-tcp.ts), parallel to the pool
let live: u32 = 0;
let overflows: u64 = 0;
let pending = false; // the current packet is NEW and opens a flow if the verdict lets it through
let pendingTimeout: u64 = 0;
let lastReclaim: u64 = <u64>-1;

// the packet's tuple, as read by conntrackBefore
let kFam: u8 = 0;
let kProto: u8 = 0;
let kSrcHi: u64 = 0;
let kSrcLo: u64 = 0;
let kDstHi: u64 = 0;
let kDstLo: u64 = 0;
let kSport: u16 = 0;
let kDport: u16 = 0;
let kHash: u64 = 0; // its hash (lookupBoth computes it, insert reuses it)

// @ts-ignore: decorator
@inline function slot(f: i32): u64 {
  return load<u64>(slotAddr(f));
}

/** The loader found a read of ct.state (or a new program is loading: `false`). */
export function setTracking(on: bool): void {
  tracking = on;
}

/** A new program is loading: its memory replaces the table. */
export function beginLoad(): void {
  tracking = false;
  pool = 0;
  prints = 0;
  refs = 0;
  capacity = 0;
  slots = 0;
  live = 0;
  pending = false;
  lastReclaim = <u64>-1;
}

/** Lay out an empty table of the wanted capacity (after a load that tracks, or when the capacity changes). */
export function allocateTable(): bool {
  let s: u32 = 16;
  while (s < wanted * 2 && s < 0x40000000) s <<= 1;
  const bytes = <u64>wanted * (ENTRY + REC) + <u64>s * 5;
  const t = bytes < 0xffff0000 ? allocate(<usize>bytes) : 0;
  if (t == 0) return false;
  pool = t;
  tcpPool = t + <usize>wanted * ENTRY;
  refs = tcpPool + <usize>wanted * REC;
  prints = refs + (<usize>s << 2);
  slots = s;
  capacity = wanted;
  live = 0;
  pending = false;
  return true;
}

/** Set the table's capacity in flows; an existing table is emptied and laid out anew. False on no memory. */
export function setFlowCapacity(n: u32): bool {
  wanted = n < 1 ? 1 : n;
  return pool == 0 ? true : allocateTable();
}

export function flowCapacity(): u32 {
  return wanted;
}
export function flowCount(): u32 {
  return live;
}
export function flowOverflows(): u64 {
  return overflows;
}
export function resetFlowStats(): void {
  overflows = 0;
}

// ---- the table (see "Layout" above) ------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function endpointHash(hi: u64, lo: u64, port: u16): u64 {
  const x = ((lo ^ (<u64>port << 48)) * 0x9e3779b97f4a7c15) ^ (hi * 0xc2b2ae3d27d4eb4f);
  return x ^ (x >> 29);
}

/** The hash of a tuple, symmetric in (source, sport) and (destination, dport): low bits the home slot, top bits
 *  the fingerprint. */
function flowHash(fam: u8, proto: u8, sHi: u64, sLo: u64, dHi: u64, dLo: u64, sp: u16, dp: u16): u64 {
  let h = endpointHash(sHi, sLo, sp) + endpointHash(dHi, dLo, dp);
  h ^= ((<u64>fam << 8) | <u64>proto) * 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

// @ts-ignore: decorator
@inline function fingerprint(h: u64): u8 {
  return <u8>(h >> 57) | 0x80;
}

// @ts-ignore: decorator
@inline function printAt(i: u32): u8 {
  return load<u8>(prints + <usize>i);
}

// @ts-ignore: decorator
@inline function refAt(i: u32): u32 {
  return load<u32>(refs + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function entry(k: u32): usize {
  return pool + <usize>k * ENTRY;
}

// @ts-ignore: decorator
@inline function tcpRecord(k: u32): usize {
  return tcpPool + <usize>k * REC;
}

// @ts-ignore: decorator
@inline function matches(e: usize, sHi: u64, sLo: u64, dHi: u64, dLo: u64, sp: u16, dp: u16): bool {
  return load<u16>(e, 32) == sp && load<u16>(e, 34) == dp &&
    load<u64>(e, 8) == sLo && load<u64>(e, 24) == dLo && load<u64>(e) == sHi && load<u64>(e, 16) == dHi;
}

// @ts-ignore: decorator
@inline function expired(e: usize): bool {
  return nowUs > load<u64>(e, 40) + load<u64>(e, 48);
}

/**
 * The live entry of the current tuple in either direction (`reply` says which); 0 when absent. A timed-out
 * entry is deleted on the way. A flow has one entry (a packet inserts only after both directions missed), so
 * the first entry matching either way is the only one.
 */
let reply = false;
function lookupBoth(): usize {
  reply = false;
  const h = flowHash(kFam, kProto, kSrcHi, kSrcLo, kDstHi, kDstLo, kSport, kDport);
  kHash = h;
  const f = fingerprint(h);
  const mask = slots - 1;
  let i = <u32>h & mask;
  for (let n: u32 = 0; n < slots; n++) {
    const p = printAt(i);
    if (p == 0) return 0;
    if (p == f) {
      const e = entry(refAt(i));
      if (load<u8>(e, 37) == kFam && load<u8>(e, 36) == kProto) {
        let hit = matches(e, kSrcHi, kSrcLo, kDstHi, kDstLo, kSport, kDport);
        if (!hit && matches(e, kDstHi, kDstLo, kSrcHi, kSrcLo, kDport, kSport)) {
          hit = true;
          reply = true;
        }
        if (hit) {
          if (expired(e)) {
            removeAt(i);
            reply = false;
            return 0;
          }
          return e;
        }
      }
    }
    i = (i + 1) & mask;
  }
  return 0;
}

/** Delete every timed-out entry (when the table is full; at most once per second of packet time). */
function reclaim(): void {
  if (lastReclaim != <u64>-1 && nowUs < lastReclaim + SEC) return;
  lastReclaim = nowUs;
  let k: u32 = 0;
  while (k < live) {
    const e = entry(k);
    // removeAt moves the last entry into k: look at k again
    if (expired(e)) removeAt(load<u32>(e, E_SLOT));
    else k++;
  }
}

/** Delete the entry of slot `i`: backward-shift the rest of its probe run, then fill its pool gap. */
function removeAt(i: u32): void {
  const mask = slots - 1;
  const k = refAt(i);
  let hole = i;
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const p = printAt(j);
    if (p == 0) break;
    const r = refAt(j);
    const home = load<u32>(entry(r), E_HASH) & mask;
    // the entry at j may move back to the hole unless its home lies cyclically in (hole, j]
    const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!stays) {
      store<u8>(prints + <usize>hole, p);
      store<u32>(refs + (<usize>hole << 2), r);
      store<u32>(entry(r), hole, E_SLOT);
      hole = j;
    }
  }
  store<u8>(prints + <usize>hole, 0);
  live--;
  if (k != live) {
    // the last entry takes the gap; its slot follows it
    memory.copy(entry(k), entry(live), ENTRY);
    memory.copy(tcpRecord(k), tcpRecord(live), REC);
    store<u32>(refs + (<usize>load<u32>(entry(k), E_SLOT) << 2), k);
  }
}

/** Insert the current tuple (lookupBoth missed it; the caller made sure live < capacity). */
function insert(timeout: u64): void {
  const mask = slots - 1;
  let i = <u32>kHash & mask;
  // live < capacity ≤ slots / 2, so a free slot is always found
  while (printAt(i) != 0) i = (i + 1) & mask;
  const e = entry(live);
  store<u8>(prints + <usize>i, fingerprint(kHash));
  store<u32>(refs + (<usize>i << 2), live);
  store<u64>(e, kSrcHi);
  store<u64>(e, kSrcLo, 8);
  store<u64>(e, kDstHi, 16);
  store<u64>(e, kDstLo, 24);
  store<u16>(e, kSport, 32);
  store<u16>(e, kDport, 34);
  store<u8>(e, kProto, 36);
  store<u8>(e, kFam, 37);
  store<u8>(e, 0, 38);
  store<u64>(e, nowUs, 40);
  store<u64>(e, timeout, 48);
  store<u32>(e, i, E_SLOT);
  store<u32>(e, <u32>kHash, E_HASH);
  if (kProto == 6) {
    // the packet's TCP fields are still conntrack-tcp.ts's; a flow's first segment is never out of window (a
    // SYN opens its own window, a picked-up flow is liberal), so this could wait until the flow is confirmed
    const r = tcpRecord(live);
    tcpInitNew(r);
    tcpTrack(r, 0, false);
  }
  live++;
}

function isIcmpError(v6: bool, type: u32): bool {
  return v6 ? type >= 1 && type <= 4 : type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/** ICMP query types that open a flow, and the reply type that answers each. */
function icmpQueryReply(v6: bool, type: u32): i32 {
  if (v6) return type == 128 ? 129 : -1;
  if (type == 8) return 0;
  if (type == 13 || type == 15 || type == 17) return <i32>type + 1;
  return -1;
}
function icmpIsReply(v6: bool, type: u32): bool {
  return v6 ? type == 129 : type == 0 || type == 14 || type == 16 || type == 18;
}

/** Read the tuple quoted in an ICMP error (at `at` in the frame, `end` the captured end). False if cut off. */
function quotedTuple(frame: usize, at: usize, end: usize, v6: bool): bool {
  if (!v6) {
    if (at + 20 > end || (load<u8>(frame + at) >> 4) != 4) return false;
    const ihl = <usize>(load<u8>(frame + at) & 15) << 2;
    kFam = 4;
    kProto = load<u8>(frame + at + 9);
    kSrcHi = 0;
    kSrcLo = <u64>bswap<u32>(load<u32>(frame + at + 12));
    kDstHi = 0;
    kDstLo = <u64>bswap<u32>(load<u32>(frame + at + 16));
    at += ihl;
  } else {
    if (at + 40 > end || (load<u8>(frame + at) >> 4) != 6) return false;
    kFam = 6;
    kProto = load<u8>(frame + at + 6);
    kSrcHi = bswap<u64>(load<u64>(frame + at + 8));
    kSrcLo = bswap<u64>(load<u64>(frame + at + 16));
    kDstHi = bswap<u64>(load<u64>(frame + at + 24));
    kDstLo = bswap<u64>(load<u64>(frame + at + 32));
    at += 40;
  }
  kSport = 0;
  kDport = 0;
  if (kProto == 6 || kProto == 17 || kProto == 132) {
    if (at + 4 > end) return false;
    kSport = bswap<u16>(load<u16>(frame + at));
    kDport = bswap<u16>(load<u16>(frame + at + 2));
  } else if (kProto == 1 || kProto == 58) {
    if (at + 8 > end) return false;
    kSport = bswap<u16>(load<u16>(frame + at + 4)); // the query's id
  }
  return true;
}

function timeoutFor(proto: u8, replied: bool): u64 {
  if (proto == 6) return replied ? 432000 * SEC : 120 * SEC;
  if (proto == 17) return replied ? 180 * SEC : 30 * SEC;
  if (proto == 1 || proto == 58) return 30 * SEC;
  return 600 * SEC;
}

function decide(frame: usize, cap: u32): u64 {
  pending = false;
  const hdrs = <u32>slot(F_PKT_HDRS);
  const v6 = (hdrs & HDR_IPV6) != 0;
  if ((hdrs & (HDR_IPV4 | HDR_IPV6)) == 0) return 0;
  if ((hdrs & HDR_L4) == 0) return CT_INVALID; // a fragment after the first: Linux reassembles first, we cannot
  kFam = v6 ? 6 : 4;
  kProto = <u8>slot(F_L4_PROTO);
  if (v6) {
    kSrcHi = load<u64>(slotAddr(F_IP6_SRC));
    kSrcLo = load<u64>(slotAddr(F_IP6_SRC + 1));
    kDstHi = load<u64>(slotAddr(F_IP6_DST));
    kDstLo = load<u64>(slotAddr(F_IP6_DST + 1));
  } else {
    kSrcHi = 0;
    kSrcLo = slot(F_IP_SRC);
    kDstHi = 0;
    kDstLo = slot(F_IP_DST);
  }
  kSport = <u16>slot(F_L4_SPORT);
  kDport = <u16>slot(F_L4_DPORT);
  const l4 = <usize>slot(F_L4_OFF);
  const end = <usize>cap;
  let mayOpen = true;
  if ((hdrs & (HDR_ICMP | HDR_ICMP6)) != 0) {
    const type = <u32>slot(F_ICMP_TYPE);
    if (isIcmpError(v6, type)) {
      if (!quotedTuple(frame, l4 + 8, end, v6)) return CT_INVALID;
      return lookupBoth() != 0 ? CT_RELATED : CT_INVALID;
    }
    if (l4 + 8 > end) return CT_INVALID;
    kSport = bswap<u16>(load<u16>(frame + l4 + 4)); // the query's id; replies carry the same
    kDport = 0;
    if (icmpQueryReply(v6, type) < 0) {
      if (!icmpIsReply(v6, type)) return CT_INVALID;
      mayOpen = false;
    }
  } else if (kProto == 6) {
    if ((hdrs & HDR_TCP) == 0 || !tcpReadPacket(frame, cap, v6)) return CT_INVALID;
    mayOpen = tcpMayOpen();
  }
  let e = lookupBoth();
  let tcpKill = false;
  if (e != 0 && kProto == 6) {
    const k = <u32>((e - pool) / ENTRY);
    const t = tcpTrack(tcpRecord(k), reply ? 1 : 0, (load<u8>(e, 38) & 1) != 0);
    if (t == TCP_INVALID) return CT_INVALID;
    if (t == TCP_REOPEN) {
      // Linux deletes the closed flow and looks the SYN up again: it opens a new one
      removeAt(load<u32>(e, E_SLOT));
      e = 0;
      reply = false;
    } else if (t == TCP_IGNORE) {
      // let through without refreshing the flow; a reply still counts as seen (Linux sets IPS_SEEN_REPLY)
      if (reply) {
        store<u8>(e, load<u8>(e, 38) | 1, 38);
        return CT_ESTABLISHED;
      }
      return (load<u8>(e, 38) & 1) != 0 ? CT_ESTABLISHED : CT_NEW;
    } else tcpKill = t == TCP_KILL;
  }
  if (e != 0) {
    store<u64>(e, nowUs, 40);
    if (kProto == 6 && (<u32>slot(F_TCP_FLAGS) & 4) != 0) store<u64>(e, 10 * SEC, 48);
    if (tcpKill) {
      // an RST before any reply: Linux deletes the flow at once
      removeAt(load<u32>(e, E_SLOT));
      return reply ? CT_ESTABLISHED : CT_NEW;
    }
    if (reply) {
      if ((load<u8>(e, 38) & 1) == 0) {
        store<u8>(e, load<u8>(e, 38) | 1, 38);
        if (load<u64>(e, 48) != 10 * SEC) store<u64>(e, timeoutFor(kProto, true), 48);
      }
      return CT_ESTABLISHED;
    }
    return (load<u8>(e, 38) & 1) != 0 ? CT_ESTABLISHED : CT_NEW;
  }
  if (!mayOpen) return CT_INVALID;
  if (live >= capacity) reclaim();
  if (live >= capacity) {
    overflows++;
    return CT_INVALID;
  }
  pending = true;
  pendingTimeout = timeoutFor(kProto, false);
  return CT_NEW;
}

/** Track the parsed packet and write its ct.state. */
export function conntrackBefore(frame: usize, cap: u32): void {
  if (pool == 0) {
    // no memory for the table at load time: nothing can be tracked
    overflows++;
    store<u64>(slotAddr(F_CT_STATE), CT_INVALID);
    return;
  }
  store<u64>(slotAddr(F_CT_STATE), decide(frame, cap));
}

/** After the program: the flow a NEW packet opens is confirmed unless the program dropped or rejected it. */
export function conntrackAfter(verdict: u32): void {
  if (!pending) return;
  pending = false;
  const kind = verdict & 0xff;
  if (kind != VERDICT_DROP && kind != VERDICT_REJECT) insert(pendingTimeout);
}
