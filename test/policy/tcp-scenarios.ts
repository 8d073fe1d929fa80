/**
 * Hand-written TCP conversations with the ct state Linux gives each segment (nf_conntrack_proto_tcp.c, defaults):
 * used by conntrack-tcp.test.ts (kopi, both tiers) and conntrack-kernel.test.ts (the real kernel).
 * Client 198.51.100.20 → server 203.0.113.9:80.
 */
import fc from "fast-check";
import type { TcpSegment } from "./conntrack-tcp-reference.js";
import { TCP, type PacketSpec } from "./packets.js";

export type CtName = "new" | "established" | "related" | "invalid";

export interface Segment {
  /** from the server (the reply direction) */
  reply?: boolean;
  flags: number;
  seq: number;
  ack?: number;
  len?: number;
  win?: number;
  wscale?: number;
  want: CtName;
  why: string;
}

export interface Scenario {
  name: string;
  segments: Segment[];
}

const { SYN, ACK, FIN, RST, PSH } = TCP;
const C = 1000; // client ISN
const S = 500_000; // server ISN

const handshake = (opts: { cWin?: number; sWin?: number; cScale?: number; sScale?: number } = {}): Segment[] => [
  { flags: SYN, seq: C, win: opts.cWin, wscale: opts.cScale, want: "new", why: "SYN opens" },
  { reply: true, flags: SYN | ACK, seq: S, ack: C + 1, win: opts.sWin, wscale: opts.sScale, want: "established", why: "SYN/ACK answers" },
  { flags: ACK, seq: C + 1, ack: S + 1, win: opts.cWin, want: "established", why: "handshake done" },
];

export const SCENARIOS: Scenario[] = [
  {
    name: "in-window data, retransmission, out-of-window data and ack, close",
    segments: [
      ...handshake(),
      { flags: ACK | PSH, seq: C + 1, ack: S + 1, len: 100, want: "established", why: "in-window data" },
      { reply: true, flags: ACK, seq: S + 1, ack: C + 101, want: "established", why: "acks it" },
      { flags: ACK | PSH, seq: C + 1, ack: S + 1, len: 100, want: "established", why: "retransmission" },
      { flags: ACK | PSH, seq: C + 101 + 200_000, ack: S + 1, len: 100, want: "invalid", why: "seq past the receiver's window" },
      { reply: true, flags: ACK, seq: S + 1, ack: C + 101 + 500_000, want: "invalid", why: "acks data never sent" },
      { flags: ACK | PSH, seq: C + 101 - 100_000, ack: S + 1, len: 10, want: "established", why: "long-acked data: ignored, not invalid" },
      { flags: FIN | ACK, seq: C + 101, ack: S + 1, want: "established", why: "client closes" },
      { reply: true, flags: FIN | ACK, seq: S + 1, ack: C + 102, want: "established", why: "server closes" },
      { flags: ACK, seq: C + 102, ack: S + 2, want: "established", why: "last ACK" },
    ],
  },
  {
    name: "window scaling from the SYN options widens the window",
    segments: [
      ...handshake({ cWin: 100, sWin: 100, cScale: 7, sScale: 7 }),
      { reply: true, flags: ACK, seq: S + 1, ack: C + 1, win: 100, want: "established", why: "window 100 << 7" },
      { flags: ACK | PSH, seq: C + 1 + 5000, ack: S + 1, win: 100, len: 100, want: "established", why: "inside 12,800 bytes" },
    ],
  },
  {
    name: "without scaling on both sides the same segment is out of window",
    segments: [
      ...handshake({ cWin: 100, sWin: 100, cScale: 7 }),
      { reply: true, flags: ACK, seq: S + 1, ack: C + 1, win: 100, want: "established", why: "window 100, unscaled" },
      { flags: ACK | PSH, seq: C + 1 + 5000, ack: S + 1, win: 100, len: 100, want: "invalid", why: "past 100 bytes" },
    ],
  },
  {
    name: "RST out of window, then in window",
    segments: [
      ...handshake(),
      { reply: true, flags: ACK, seq: S + 1, ack: C + 1, want: "established", why: "assured" },
      { reply: true, flags: RST, seq: S + 1 - 100_000, want: "invalid", why: "RST below what the client acked" },
      { reply: true, flags: RST, seq: S + 1 + 300_000, want: "invalid", why: "RST past the window" },
      { reply: true, flags: RST, seq: S + 1, want: "established", why: "exact RST closes" },
      { flags: ACK, seq: C + 1, ack: S + 1, want: "established", why: "a closed flow's ACK" },
    ],
  },
  {
    name: "mid-stream pickup is tracked liberally",
    segments: [
      { flags: ACK | PSH, seq: 777_777, ack: 123_456, len: 50, want: "new", why: "loose pickup" },
      { reply: true, flags: ACK, seq: 123_456, ack: 777_827, want: "established", why: "reply" },
      { flags: ACK | PSH, seq: 5_000_000, ack: 9, len: 50, want: "established", why: "no window check when picked up" },
    ],
  },
  {
    name: "flags and transitions Linux rejects",
    segments: [
      { flags: SYN | ACK, seq: C, ack: 5, want: "invalid", why: "SYN/ACK of no flow" },
      { flags: FIN | ACK, seq: C, ack: 5, want: "invalid", why: "FIN of no flow" },
      { flags: SYN | FIN, seq: C, want: "invalid", why: "SYN+FIN" },
      { flags: FIN, seq: C, want: "invalid", why: "FIN without ACK" },
      { flags: 0, seq: C, want: "invalid", why: "no flags" },
      { flags: RST, seq: C, want: "invalid", why: "RST of no flow" },
      { flags: SYN, seq: C, want: "new", why: "SYN opens" },
      { flags: ACK, seq: C + 1, ack: S + 1, want: "invalid", why: "client ACK before the SYN/ACK" },
      { flags: SYN | ACK, seq: C, ack: S, want: "invalid", why: "client sends SYN/ACK" },
      { reply: true, flags: SYN | ACK, seq: S, ack: C + 1, want: "established", why: "server answers" },
    ],
  },
];

export const CLIENT = "198.51.100.20";
export const SERVER = "203.0.113.9";

/** The packet of a segment of scenario number n (each scenario its own client port). */
export function segmentSpec(n: number, g: Segment): PacketSpec {
  const client = 40000 + n;
  const options = g.wscale !== undefined ? [1, 3, 3, g.wscale] : [];
  return {
    src: g.reply ? SERVER : CLIENT,
    dst: g.reply ? CLIENT : SERVER,
    proto: "tcp",
    sport: g.reply ? 80 : client,
    dport: g.reply ? client : 80,
    flags: g.flags,
    seq: g.seq >>> 0,
    ack: (g.ack ?? 0) >>> 0,
    window: g.win ?? 65535,
    payload: g.len ?? 0,
    tcpOptions: options,
  };
}

// ---- random conversations -------------------------------------------------------------------------------------

/** A segment of a generated conversation on connection `conn`. */
export interface ConversationSegment {
  conn: number;
  reply: boolean;
  segment: TcpSegment;
  /** what a test's program does with it: 0 accept, 1 drop, 2 queue */
  action: number;
  gapUs: number;
}

const DELTAS = [0, 0, 0, 0, 0, 0, 1, -1, 100, -100, 1000, 5000, -70000, 70000, 0x80000000];
const KINDS = { syn: SYN, synack: SYN | ACK, ack: ACK, data: ACK | PSH, fin: FIN | ACK, rst: RST, rstack: RST | ACK } as const;

/**
 * Conversations on `conns` connections: each segment's seq and ack are the sender's and the peer's next sequence
 * numbers plus a perturbation (mostly none), so handshakes, data, window scaling, closes and resets happen and
 * are sometimes just out of window.
 */
export function tcpConversationArb(conns: number, maxLength = 60, minLength = 0): fc.Arbitrary<ConversationSegment[]> {
  const raw = fc.record({
    conn: fc.integer({ min: 0, max: conns - 1 }),
    reply: fc.boolean(),
    kind: fc.constantFrom(...(Object.keys(KINDS) as (keyof typeof KINDS)[]), "ack", "data", "data"),
    seqDelta: fc.constantFrom(...DELTAS),
    ackDelta: fc.constantFrom(...DELTAS),
    len: fc.constantFrom(0, 10, 1000, 1400), // within a 1500-byte MTU (the kernel differential test sends them)
    win: fc.constantFrom(0, 20, 100, 65535),
    wscale: fc.constantFrom(undefined, 0, 7, 7),
    action: fc.constantFrom(0, 0, 0, 1, 2),
    gapUs: fc.integer({ min: 0, max: 1_000_000 }),
  });
  return fc.array(raw, { minLength, maxLength }).map((raws) => {
    const next = Array.from({ length: conns }, (_, i) => [1000 * (i + 1), 500_000 + i]);
    return raws.map((r) => {
      const dir = r.reply ? 1 : 0;
      const flags = KINDS[r.kind];
      const seq = (next[r.conn]![dir]! + r.seqDelta) >>> 0;
      const ack = (flags & ACK ? next[r.conn]![dir ^ 1]! + r.ackDelta : 0) >>> 0;
      const len = r.kind === "data" ? r.len : 0;
      const syn = (flags & SYN) !== 0;
      if (r.seqDelta === 0) next[r.conn]![dir] = (seq + len + (flags & FIN) + (syn ? 1 : 0)) >>> 0;
      const segment: TcpSegment = { flags, seq, ack, win: r.win, len, ...(syn && r.wscale !== undefined ? { wscale: r.wscale } : {}), sackPerm: syn };
      return { conn: r.conn, reply: r.reply, segment, action: r.action, gapUs: r.gapUs };
    });
  });
}

/** The packet of a generated segment between CLIENT (port 41000 + conn) and SERVER:80. */
export function conversationSpec(c: ConversationSegment): PacketSpec {
  const client = 41000 + c.conn;
  const g = c.segment;
  const options = [...(g.wscale !== undefined ? [1, 3, 3, g.wscale] : []), ...(g.sackPerm ? [4, 2] : [])];
  return {
    src: c.reply ? SERVER : CLIENT,
    dst: c.reply ? CLIENT : SERVER,
    proto: "tcp",
    sport: c.reply ? 80 : client,
    dport: c.reply ? client : 80,
    flags: g.flags,
    seq: g.seq,
    ack: g.ack,
    window: g.win,
    payload: g.len,
    tcpOptions: options,
  };
}
