/**
 * The NIC's packet ports: what goes in (frames with their direction, port and time) and what the device reports
 * for each packet it judged. Traffic is the one interface besides read32/write32.
 */

/** What became of a packet; exactly one per packet (the conservation the stats check). */
export const DISPOSITION = { accepted: 0, dropped: 1, queued: 2, mirroredOnly: 3 } as const;
export type Disposition = keyof typeof DISPOSITION;
export const DISPOSITION_NAMES: readonly Disposition[] = ["accepted", "dropped", "queued", "mirroredOnly"];

/** A batch of frames entering the NIC together: one direction, port and link type. */
export interface PacketBatch {
  frames: readonly Uint8Array[];
  /** wire lengths (default: each frame's length) */
  wireLengths?: readonly number[];
  /** capture times in µs since the epoch (flow timeouts, token buckets, capture timestamps; default: now) */
  timesUs?: readonly number[];
  dir?: 0 | 1;
  port?: number;
  /** DLT of the frames (default 1, Ethernet) */
  linktype?: number;
  /** trace port: also report which counters each packet moved (iptables TRACE for the rule path) */
  trace?: boolean;
}

/** Per-packet results of a batch, index-aligned with its frames. */
export interface BatchOutcome {
  /** generation each packet latched when it entered (0: no program was active; it passed) */
  generations: Uint32Array;
  /** verdict words (overlay-isa/verdicts.ts); a fault reads as drop */
  verdicts: Uint32Array;
  marks: Uint32Array;
  /** bit 0 fault, bit 1 mirror requested, bits 2..3 disposition (DISPOSITION) */
  flags: Uint8Array;
  /** cycles the overlay core spent on each packet */
  cycles: Uint32Array;
  /** trace port only: per packet, [counter id, packets moved] pairs in counter order */
  trace?: Uint32Array[];
}

export function dispositionOf(flags: number): Disposition {
  return DISPOSITION_NAMES[(flags >> 2) & 3]!;
}

export function emptyOutcome(n: number, trace: boolean): BatchOutcome {
  return {
    generations: new Uint32Array(n),
    verdicts: new Uint32Array(n),
    marks: new Uint32Array(n),
    flags: new Uint8Array(n),
    cycles: new Uint32Array(n),
    ...(trace ? { trace: new Array<Uint32Array>(n) } : {}),
  };
}

/** One copy in the capture ring. */
export interface CaptureRecord {
  /** ring index (free-running) */
  index: number;
  generation: number;
  dir: 0 | 1;
  port: number;
  linktype: number;
  verdict: number;
  timeUs: number;
  wireLength: number;
  /** why it was copied: 1 the program's mirror bit, 2 the tap */
  reason: number;
  /** the packet's owner as the NIC's application table gave it: app id (0: none), pid and uid */
  app?: number;
  pid?: number;
  uid?: number;
  data: Uint8Array;
}

/** One packet in an application's receive ring. */
export interface AppRecord {
  index: number;
  queue: number;
  generation: number;
  dir: 0 | 1;
  mark: number;
  timeUs: number;
  wireLength: number;
  data: Uint8Array;
}

/** One packet in a connection's receive ring. */
export interface ConnRecord {
  index: number;
  conn: number;
  generation: number;
  mark: number;
  timeUs: number;
  wireLength: number;
  data: Uint8Array;
}

/** One entry of an application's notification queue. */
export interface AppNotification {
  index: number;
  /**
   * 1 packets arrived in an empty queue ring (arg: queue); 2 the policy generation changed (arg: generation);
   * 3 packets arrived in a connection's empty receive ring (arg: connection); 4 a connection's transmit ring
   * drained (arg: connection)
   */
  kind: 1 | 2 | 3 | 4;
  arg: number;
}
