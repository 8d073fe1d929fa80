// TCP state and window tracking for the flow table (conntrack.ts), after Linux's nf_conntrack_proto_tcp.c with its
// defaults (nf_conntrack_tcp_be_liberal = 0, nf_conntrack_tcp_loose = 1). It decides which TCP packets are
// INVALID: invalid flag combinations, truncated headers, transitions the TCP state table rejects, and segments
// outside the sequence/ack window (td_end, td_maxend, td_maxwin, window scaling from the SYN options). What is
// modelled and what is not: see compiler/policy/README.md ("TCP tracking").
//
// A flow's TCP record (REC bytes, one per flow entry): per direction d (0 original, 1 reply) at d × 24:
// u32 td_end, u32 td_maxend, u32 td_maxwin, u32 td_maxack, u8 td_scale, u8 flags; then u8 state @48,
// u8 last_index @49, u8 last_dir @50, u8 misc @51 (SIMULTANEOUS_OPEN, ASSURED), u32 last_end @52.
import {
  F_TCP_SEQ, F_TCP_ACK, F_TCP_DOFF, F_TCP_FLAGS, F_TCP_WIN, F_L3_OFF, F_L4_OFF, F_IP_LEN, F_IP6_PLEN,
} from "./isa.generated";
import { slotAddr } from "./memory-map";

export const REC: usize = 64;

// states (tcp_conntrack), with IV (invalid) and IG (ignore) as in the kernel's table
const NO: u8 = 0, SS: u8 = 1, SR: u8 = 2, ES: u8 = 3, FW: u8 = 4, CW: u8 = 5, LA: u8 = 6, TW: u8 = 7, CL: u8 = 8, S2: u8 = 9;
const IV: u8 = 10, IG: u8 = 11;
// packet kinds (get_conntrack_index)
const I_SYN: u8 = 0, I_SYNACK: u8 = 1, I_FIN: u8 = 2, I_ACK: u8 = 3, I_RST: u8 = 4, I_NONE: u8 = 5;
// per-direction flags
const F_WSCALE: u8 = 1, F_SACK_PERM: u8 = 2, F_CLOSE_INIT: u8 = 4, F_LIBERAL: u8 = 8, F_MAXACK_SET: u8 = 16;
// misc
const M_SIMOPEN: u8 = 1, M_ASSURED: u8 = 2;

/** What a packet of a known flow does (tcpTrack's answer). */
export const TCP_ACCEPT = 0; // in window: the record moved on
export const TCP_IGNORE = 1; // let through unchanged (kernel: NF_ACCEPT without a state change); not INVALID
export const TCP_INVALID = 2;
export const TCP_REOPEN = 3; // a SYN reopening a closed flow: delete the entry and track the packet as new
export const TCP_KILL = 4; // accepted, and the entry goes (an RST before any reply)

// tcp_conntracks[dir][index][state], 6 × 10 per direction
const TABLE: StaticArray<u8> = [
  // ORIGINAL   sNO sSS sSR sES sFW sCW sLA sTW sCL sS2
  /* syn    */ SS, SS, IG, IG, IG, IG, IG, SS, SS, S2,
  /* synack */ IV, IV, SR, IV, IV, IV, IV, IV, IV, SR,
  /* fin    */ IV, IV, FW, FW, LA, LA, LA, TW, CL, IV,
  /* ack    */ ES, IV, ES, ES, CW, CW, TW, TW, CL, IV,
  /* rst    */ IV, CL, CL, CL, CL, CL, CL, CL, CL, CL,
  /* none   */ IV, IV, IV, IV, IV, IV, IV, IV, IV, IV,
  // REPLY
  /* syn    */ IV, S2, IV, IV, IV, IV, IV, SS, IV, S2,
  /* synack */ IV, SR, IG, IG, IG, IG, IG, IG, IG, SR,
  /* fin    */ IV, IV, FW, FW, LA, LA, LA, TW, CL, IV,
  /* ack    */ IV, IG, SR, ES, CW, CW, TW, TW, CL, IG,
  /* rst    */ IV, CL, CL, CL, CL, CL, CL, CL, CL, CL,
  /* none   */ IV, IV, IV, IV, IV, IV, IV, IV, IV, IV,
];

// the packet, as tcpReadPacket read it
let pSeq: u32 = 0;
let pAck: u32 = 0;
let pWin: u32 = 0;
let pFlags: u32 = 0;
let pEnd: u32 = 0; // seq + payload length + SYN + FIN
let pIndex: u8 = I_NONE;
let pOptScale: u8 = 0; // from the SYN options
let pOptFlags: u8 = 0; // F_WSCALE | F_SACK_PERM
let pFrame: usize = 0;
let pCap: u32 = 0;
let pL4: u32 = 0;
let pDoff: u32 = 0;
let pPayload: u32 = 0;

// @ts-ignore: decorator
@inline function slot(f: i32): u64 {
  return load<u64>(slotAddr(f));
}
// @ts-ignore: decorator
@inline function before(a: u32, b: u32): bool {
  return <i32>(a - b) < 0;
}
// @ts-ignore: decorator
@inline function after(a: u32, b: u32): bool {
  return <i32>(b - a) < 0;
}

/** tcp_valid_flags: the combinations Linux accepts (ECE, CWR and PSH aside). */
// @ts-ignore: decorator
@inline function validFlags(f: u32): bool {
  // bit i set: FIN SYN RST ACK URG = i is valid (SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG)
  const VALID: u64 = (<u64>1 << 0x02) | (<u64>1 << 0x22) | (<u64>1 << 0x12) | (<u64>1 << 0x04) | (<u64>1 << 0x14) |
    (<u64>1 << 0x11) | (<u64>1 << 0x31) | (<u64>1 << 0x10) | (<u64>1 << 0x30);
  return ((VALID >> <u64>(f & 0x37)) & 1) != 0;
}

/**
 * Read the parsed TCP packet (tcp_error's checks): false when Linux finds it INVALID before any lookup — a header
 * cut short by the IP length or the capture, a data offset under 20 bytes, an invalid flag combination.
 */
export function tcpReadPacket(frame: usize, cap: u32, v6: bool): bool {
  const l4 = <u32>slot(F_L4_OFF);
  const l3 = <u32>slot(F_L3_OFF);
  const ipEnd = v6 ? l3 + 40 + <u32>slot(F_IP6_PLEN) : l3 + <u32>slot(F_IP_LEN);
  const doff = <u32>slot(F_TCP_DOFF);
  if (l4 + 20 > cap || doff < 20 || l4 + doff > ipEnd) return false;
  pFlags = <u32>slot(F_TCP_FLAGS) & 0xff;
  if (!validFlags(pFlags)) return false;
  pIndex = (pFlags & 4) != 0 ? I_RST : (pFlags & 2) != 0 ? ((pFlags & 0x10) != 0 ? I_SYNACK : I_SYN)
    : (pFlags & 1) != 0 ? I_FIN : (pFlags & 0x10) != 0 ? I_ACK : I_NONE;
  pFrame = frame;
  pCap = cap;
  pL4 = l4;
  pDoff = doff;
  pPayload = ipEnd - l4 - doff;
  return true;
}

/** The rest of the segment, read only when a flow is tracked (most packets of no flow are dropped first). */
function readSegment(): void {
  pSeq = <u32>slot(F_TCP_SEQ);
  pAck = <u32>slot(F_TCP_ACK);
  pWin = <u32>slot(F_TCP_WIN);
  pEnd = pSeq + pPayload + (pFlags & 1) + ((pFlags >> 1) & 1);
  pOptScale = 0;
  pOptFlags = 0;
  if ((pFlags & 2) != 0) readSynOptions(pFrame, pL4 + 20, min(pL4 + pDoff, pCap));
}

/** tcp_options: window scale (capped at 14) and SACK-permitted from a SYN's options (as far as captured). */
function readSynOptions(frame: usize, at: u32, end: u32): void {
  while (at < end) {
    const kind = load<u8>(frame + at);
    if (kind == 0) return;
    if (kind == 1) {
      at++;
      continue;
    }
    if (at + 2 > end) return;
    const size = <u32>load<u8>(frame + at + 1);
    if (size < 2 || at + size > end) return;
    if (kind == 4 && size == 2) pOptFlags |= F_SACK_PERM;
    else if (kind == 3 && size == 3) {
      const s = load<u8>(frame + at + 2);
      pOptScale = s > 14 ? 14 : s;
      pOptFlags |= F_WSCALE;
    }
    at += size;
  }
}

/** Whether the packet may open a flow (tcp_new: a SYN, or — loose pickup — an ACK-only segment). */
export function tcpMayOpen(): bool {
  return pIndex == I_SYN || pIndex == I_ACK;
}

let segmentRead = false; // tcpInitNew has read the segment for the tcpTrack that follows

/** tcp_new: the record of the flow the packet opens (tcpMayOpen holds); tcpTrack then runs on it as on any. */
export function tcpInitNew(r: usize): void {
  readSegment();
  memory.fill(r, 0, REC);
  if (pIndex == I_SYN) {
    store<u32>(r, pEnd);
    store<u32>(r, pEnd, 4);
    store<u32>(r, pWin == 0 ? 1 : pWin, 8);
    store<u8>(r, pOptScale, 16);
    store<u8>(r, pOptFlags, 17);
  } else {
    // mid-stream pickup: history lost, so both directions are checked liberally (never INVALID by window)
    store<u32>(r, pEnd);
    const w = pWin == 0 ? 1 : pWin;
    store<u32>(r, w, 8);
    store<u32>(r, pEnd + w, 4);
    store<u8>(r, F_SACK_PERM | F_LIBERAL, 17);
    store<u8>(r, F_SACK_PERM | F_LIBERAL, 24 + 17);
  }
  store<u8>(r, I_NONE, 49);
  segmentRead = true;
}

/** tcp_init_sender: (re)start a direction's window from its SYN or SYN/ACK. */
function initSender(s: usize, rc: usize): void {
  store<u32>(s, pEnd);
  store<u32>(s, pEnd, 4);
  store<u32>(s, pWin == 0 ? 1 : pWin, 8);
  store<u8>(s, pOptScale, 16);
  store<u8>(s, (load<u8>(s, 17) & F_LIBERAL) | pOptFlags, 17);
  // RFC 1323: scaling only when both sides offered it
  if ((pOptFlags & F_WSCALE) == 0 || (load<u8>(rc, 17) & F_WSCALE) == 0) {
    store<u8>(s, 0, 16);
    store<u8>(rc, 0, 16);
  }
}

// @ts-ignore: decorator
@inline function maxAckWindow(s: usize): u32 {
  const w = load<u32>(s, 8);
  return w > 66000 ? w : 66000;
}

/** An out-of-window verdict, unless the sender is tracked liberally (nf_tcp_log_invalid). */
// @ts-ignore: decorator
@inline function unlessLiberal(s: usize, res: i32): i32 {
  return (load<u8>(s, 17) & F_LIBERAL) != 0 ? TCP_ACCEPT : res;
}

/** tcp_in_window for the sender at s (direction dir), receiver at rc; `state` the flow's TCP state. */
function inWindow(r: usize, s: usize, rc: usize, dir: u8, state: u8): i32 {
  let seq = pSeq;
  let end = pEnd;
  let ack = pAck;
  let win = pWin;
  const syn = (pFlags & 2) != 0;
  const hasAck = (pFlags & 0x10) != 0;
  if (load<u32>(s, 8) == 0) {
    if (syn) {
      initSender(s, rc);
      if (!hasAck) return TCP_ACCEPT; // simultaneous open
    } else {
      store<u32>(s, end);
      const sw = win << load<u8>(s, 16);
      const mw = sw == 0 ? 1 : sw;
      store<u32>(s, mw, 8);
      store<u32>(s, end + mw, 4);
      if (load<u32>(rc, 8) == 0) {
        store<u32>(rc, ack);
        store<u32>(rc, ack, 4);
      } else if (ack == load<u32>(rc) + 1) {
        store<u32>(rc, load<u32>(rc) + 1);
      }
    }
  } else if (syn && after(end, load<u32>(s)) && (state == SS || state == SR)) {
    initSender(s, rc);
    if (dir == 1 && !hasAck) return TCP_ACCEPT;
  }
  if (!hasAck || ((pFlags & 4) != 0 && ack == 0)) ack = load<u32>(rc);
  if ((pFlags & 4) != 0 && seq == 0 && state == SS) {
    seq = load<u32>(s);
    end = seq;
  }
  const sEnd = load<u32>(s);
  const sMaxEnd = load<u32>(s, 4);
  const rEnd = load<u32>(rc);
  const rMaxWin = load<u32>(rc, 8);
  if (!before(seq, sMaxEnd + 1)) {
    const overshot = end - sMaxEnd + 1;
    const ackOk = after(ack, rEnd - maxAckWindow(s) - 1);
    const inRecv = rMaxWin != 0 && after(end, sEnd - rMaxWin - 1);
    if (inRecv && ackOk && overshot <= rMaxWin && before(ack, rEnd + 1)) {
      // more than the receive window allowed: remember the end, let it through (not INVALID)
      store<u32>(s, end);
      return unlessLiberal(s, TCP_IGNORE);
    }
    return unlessLiberal(s, TCP_INVALID); // SEQ over the upper bound
  }
  if (!before(ack, rEnd + 1)) return unlessLiberal(s, TCP_INVALID); // ACK of data not seen yet
  if (!(rMaxWin == 0 || after(end, sEnd - rMaxWin - 1))) return unlessLiberal(s, TCP_IGNORE); // old data again
  if (!after(ack, rEnd - maxAckWindow(s) - 1)) return unlessLiberal(s, TCP_IGNORE); // overly delayed ACK
  if (!syn) win <<= load<u8>(s, 16);
  // the sender's side
  if (load<u32>(s, 8) < win) store<u32>(s, win, 8);
  if (after(end, sEnd)) store<u32>(s, end);
  if (hasAck) {
    const f = load<u8>(s, 17);
    if ((f & F_MAXACK_SET) == 0) {
      store<u32>(s, ack, 12);
      store<u8>(s, f | F_MAXACK_SET, 17);
    } else if (after(ack, load<u32>(s, 12))) store<u32>(s, ack, 12);
  }
  // the receiver's side
  if (rMaxWin != 0 && after(end, sMaxEnd)) store<u32>(rc, rMaxWin + (end - sMaxEnd), 8);
  if (after(ack + win, load<u32>(rc, 4) - 1)) store<u32>(rc, win == 0 ? ack + 1 : ack + win, 4);
  if (pIndex == I_ACK) {
    store<u8>(r, dir, 50);
    store<u32>(r, end, 52);
  }
  return TCP_ACCEPT;
}

/**
 * nf_conntrack_tcp_packet for a packet of the flow whose record is r, in direction dir (1 reply); `replied`
 * whether the flow had seen a reply before this packet. Returns a TCP_* answer.
 */
export function tcpTrack(r: usize, dir: u8, replied: bool): i32 {
  if (!segmentRead) readSegment();
  segmentRead = false;
  const old = load<u8>(r, 48);
  let next = TABLE[<i32>dir * 60 + <i32>pIndex * 10 + <i32>old];
  const s = r + <usize>dir * 24;
  const rc = r + <usize>(dir ^ 1) * 24;
  let checkWindow = true;
  if (next == SS && old >= TW) {
    // a SYN after a close: reopen when the close was ours (FIN seen) or an RST came from this direction
    if (((load<u8>(s, 17) | load<u8>(rc, 17)) & F_CLOSE_INIT) != 0 || (load<u8>(r, 50) == dir && load<u8>(r, 49) == I_RST)) {
      return TCP_REOPEN;
    }
    next = IG;
  }
  if (next == IG) {
    // maybe out of sync with the endpoints: remember the packet and let it pass unchanged
    store<u8>(r, pIndex, 49);
    store<u8>(r, dir, 50);
    store<u32>(r, pEnd, 52);
    return TCP_IGNORE;
  }
  if (next == IV) return TCP_INVALID;
  if (next == S2) store<u8>(r, load<u8>(r, 51) | M_SIMOPEN, 51);
  else if (next == SR) {
    if (dir == 1 && pIndex == I_ACK && (load<u8>(r, 51) & M_SIMOPEN) != 0) next = ES;
  } else if (next == CL && pIndex == I_RST) {
    if (old >= FW && old <= CL) {
      // closing already (tcp_can_early_drop): the tuple may be reused, so no checks
      checkWindow = false;
    } else {
      const lastIndex = load<u8>(r, 49);
      let exact = true; // kernel: `break` out of the RST checks unless the RST is in window but not exact
      if ((load<u8>(rc, 17) & F_MAXACK_SET) != 0 && lastIndex != I_SYN) {
        const established = old == ES && (load<u8>(r, 51) & M_ASSURED) != 0;
        if (!(pSeq == 0 && !established)) {
          const maxAck = load<u32>(rc, 12);
          if (before(pSeq, maxAck)) return TCP_INVALID; // RST below what the peer has acknowledged
          if (established && pSeq != maxAck && !(lastIndex == I_ACK && load<u8>(r, 50) == dir && pSeq == load<u32>(r, 52))) {
            next = old; // in window but not exact: keep the state for a challenge ACK
            exact = false;
          }
        }
      } else exact = false;
      // an RST answering a SYN or ACK we let through: no window check
      if (!exact && ((replied && lastIndex == I_SYN) || ((load<u8>(r, 51) & M_ASSURED) == 0 && lastIndex == I_ACK)) && pAck == load<u32>(r, 52)) {
        checkWindow = false;
      }
    }
  }
  if (checkWindow) {
    const res = inWindow(r, s, rc, dir, old);
    if (res != TCP_ACCEPT) return res;
  }
  store<u8>(r, pIndex, 49);
  store<u8>(r, dir, 50);
  store<u8>(r, next, 48);
  if (old != next && next == FW) store<u8>(s, load<u8>(s, 17) | F_CLOSE_INIT, 17);
  if (!replied) {
    if ((pFlags & 4) != 0) return TCP_KILL;
  } else if ((old == SR || old == ES) && next == ES) {
    store<u8>(r, load<u8>(r, 51) | M_ASSURED, 51);
  }
  return TCP_ACCEPT;
}
