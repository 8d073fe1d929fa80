/**
 * A reference model of the flow table's TCP tracking (runtime/assembly/conntrack-tcp.ts), written from Linux's
 * nf_conntrack_proto_tcp.c (be_liberal 0, loose 1) with plain objects: the state table, tcp_new, tcp_in_window
 * with window scaling, the RST checks, reopening after a close. conntrack-reference.ts uses it per TCP flow.
 */

/** What TCP tracking reads from a segment. */
export interface TcpSegment {
  flags: number;
  seq: number;
  ack: number;
  win: number;
  /** payload bytes */
  len: number;
  /** window-scale option (SYNs), if sent */
  wscale?: number;
  sackPerm?: boolean;
}

const [NO, SS, SR, ES, FW, CW, LA, TW, CL, S2, IV, IG] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] as const;
const [I_SYN, I_SYNACK, I_FIN, I_ACK, I_RST, I_NONE] = [0, 1, 2, 3, 4, 5] as const;

// tcp_conntracks[dir][index][state]
const TABLE = [
  [
    [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
    [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
    [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
    [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
    [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
  [
    [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
    [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
    [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
    [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
    [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
];

interface Side {
  end: number;
  maxend: number;
  maxwin: number;
  maxack: number;
  scale: number;
  wscale: boolean;
  sackPerm: boolean;
  closeInit: boolean;
  liberal: boolean;
  maxackSet: boolean;
}

export type TcpAnswer = "accept" | "ignore" | "invalid" | "reopen" | "kill";

const u32 = (x: number) => x >>> 0;
const before = (a: number, b: number) => ((a - b) | 0) < 0;
const after = (a: number, b: number) => before(b, a);

/** tcp_valid_flags (ECE, CWR, PSH aside). */
export function validTcpFlags(flags: number): boolean {
  return [0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30].includes(flags & 0x37);
}

function indexOf(f: number): number {
  if (f & 4) return I_RST;
  if (f & 2) return f & 0x10 ? I_SYNACK : I_SYN;
  if (f & 1) return I_FIN;
  return f & 0x10 ? I_ACK : I_NONE;
}

const emptySide = (): Side => ({ end: 0, maxend: 0, maxwin: 0, maxack: 0, scale: 0, wscale: false, sackPerm: false, closeInit: false, liberal: false, maxackSet: false });

/** One flow's TCP state. */
export class TcpFlow {
  private readonly seen: [Side, Side] = [emptySide(), emptySide()];
  private state: number = NO;
  private lastIndex: number = I_NONE;
  private lastDir = 0;
  private lastEnd = 0;
  private simultaneousOpen = false;
  private assured = false;

  /** Whether a segment of no flow may open one (tcp_new: a SYN or, picked up mid-stream, an ACK). */
  static mayOpen(s: TcpSegment): boolean {
    const i = indexOf(s.flags);
    return i === I_SYN || i === I_ACK;
  }

  /** tcp_new (mayOpen holds). */
  constructor(s: TcpSegment) {
    const end = endOf(s);
    const o = this.seen[0];
    if (indexOf(s.flags) === I_SYN) {
      Object.assign(o, { end, maxend: end, maxwin: s.win || 1, scale: s.wscale !== undefined ? Math.min(s.wscale, 14) : 0, wscale: s.wscale !== undefined, sackPerm: !!s.sackPerm });
    } else {
      const w = s.win || 1;
      Object.assign(o, { end, maxwin: w, maxend: u32(end + w), sackPerm: true, liberal: true });
      Object.assign(this.seen[1], { sackPerm: true, liberal: true });
    }
  }

  private initSender(snd: Side, rcv: Side, s: TcpSegment): void {
    const end = endOf(s);
    snd.end = snd.maxend = end;
    snd.maxwin = s.win || 1;
    snd.scale = s.wscale !== undefined ? Math.min(s.wscale, 14) : 0;
    snd.wscale = s.wscale !== undefined;
    snd.sackPerm = !!s.sackPerm;
    if (!(snd.wscale && rcv.wscale)) snd.scale = rcv.scale = 0;
  }

  private inWindow(dir: number, index: number, s: TcpSegment, state: number): TcpAnswer {
    const snd = this.seen[dir]!;
    const rcv = this.seen[dir ^ 1]!;
    const syn = (s.flags & 2) !== 0;
    const hasAck = (s.flags & 0x10) !== 0;
    let seq = s.seq;
    let end = endOf(s);
    let ack = s.ack;
    let win = s.win;
    const unlessLiberal = (a: TcpAnswer): TcpAnswer => (snd.liberal ? "accept" : a);
    if (snd.maxwin === 0) {
      if (syn) {
        this.initSender(snd, rcv, s);
        if (!hasAck) return "accept";
      } else {
        snd.end = end;
        const sw = u32(win * 2 ** snd.scale);
        snd.maxwin = sw || 1;
        snd.maxend = u32(end + snd.maxwin);
        if (rcv.maxwin === 0) rcv.end = rcv.maxend = ack;
        else if (ack === u32(rcv.end + 1)) rcv.end = u32(rcv.end + 1);
      }
    } else if (syn && after(end, snd.end) && (state === SS || state === SR)) {
      this.initSender(snd, rcv, s);
      if (dir === 1 && !hasAck) return "accept";
    }
    if (!hasAck || ((s.flags & 4) !== 0 && ack === 0)) ack = rcv.end;
    if ((s.flags & 4) !== 0 && seq === 0 && state === SS) seq = end = snd.end;
    const maxAckWin = Math.max(snd.maxwin, 66000);
    if (!before(seq, u32(snd.maxend + 1))) {
      const overshot = u32(end - snd.maxend + 1);
      const ackOk = after(ack, u32(rcv.end - maxAckWin - 1));
      const inRecv = rcv.maxwin !== 0 && after(end, u32(snd.end - rcv.maxwin - 1));
      if (inRecv && ackOk && overshot <= rcv.maxwin && before(ack, u32(rcv.end + 1))) {
        snd.end = end;
        return unlessLiberal("ignore");
      }
      return unlessLiberal("invalid");
    }
    if (!before(ack, u32(rcv.end + 1))) return unlessLiberal("invalid");
    if (!(rcv.maxwin === 0 || after(end, u32(snd.end - rcv.maxwin - 1)))) return unlessLiberal("ignore");
    if (!after(ack, u32(rcv.end - maxAckWin - 1))) return unlessLiberal("ignore");
    if (!syn) win = u32(win * 2 ** snd.scale);
    const sMaxEnd = snd.maxend;
    if (snd.maxwin < win) snd.maxwin = win;
    if (after(end, snd.end)) snd.end = end;
    if (hasAck) {
      if (!snd.maxackSet) {
        snd.maxack = ack;
        snd.maxackSet = true;
      } else if (after(ack, snd.maxack)) snd.maxack = ack;
    }
    if (rcv.maxwin !== 0 && after(end, sMaxEnd)) rcv.maxwin = u32(rcv.maxwin + u32(end - sMaxEnd));
    if (after(u32(ack + win), u32(rcv.maxend - 1))) rcv.maxend = u32(ack + win + (win === 0 ? 1 : 0));
    if (index === I_ACK) {
      this.lastDir = dir;
      this.lastEnd = end;
    }
    return "accept";
  }

  /** nf_conntrack_tcp_packet: `dir` 1 for the reply direction, `replied` whether a reply was seen before. */
  track(s: TcpSegment, dir: number, replied: boolean): TcpAnswer {
    const index = indexOf(s.flags);
    const old = this.state;
    let next: number = TABLE[dir]![index]![old]!;
    const snd = this.seen[dir]!;
    const rcv = this.seen[dir ^ 1]!;
    let checkWindow = true;
    if (next === SS && old >= TW) {
      if (snd.closeInit || rcv.closeInit || (this.lastDir === dir && this.lastIndex === I_RST)) return "reopen";
      next = IG;
    }
    if (next === IG) {
      this.lastIndex = index;
      this.lastDir = dir;
      this.lastEnd = endOf(s);
      return "ignore";
    }
    if (next === IV) return "invalid";
    if (next === S2) this.simultaneousOpen = true;
    else if (next === SR) {
      if (dir === 1 && index === I_ACK && this.simultaneousOpen) next = ES;
    } else if (next === CL && index === I_RST) {
      if (old >= FW && old <= CL) checkWindow = false;
      else {
        let exact = true;
        if (rcv.maxackSet && this.lastIndex !== I_SYN) {
          const established = old === ES && this.assured;
          if (!(s.seq === 0 && !established)) {
            if (before(s.seq, rcv.maxack)) return "invalid";
            if (established && s.seq !== rcv.maxack && !(this.lastIndex === I_ACK && this.lastDir === dir && s.seq === this.lastEnd)) {
              next = old;
              exact = false;
            }
          }
        } else exact = false;
        if (!exact && ((replied && this.lastIndex === I_SYN) || (!this.assured && this.lastIndex === I_ACK)) && s.ack === this.lastEnd) checkWindow = false;
      }
    }
    if (checkWindow) {
      const a = this.inWindow(dir, index, s, old);
      if (a !== "accept") return a;
    }
    this.lastIndex = index;
    this.lastDir = dir;
    this.state = next;
    if (old !== next && next === FW) snd.closeInit = true;
    if (!replied) {
      if (s.flags & 4) return "kill";
    } else if ((old === SR || old === ES) && next === ES) this.assured = true;
    return "accept";
  }
}

function endOf(s: TcpSegment): number {
  return u32(s.seq + s.len + (s.flags & 1) + ((s.flags >> 1) & 1));
}
