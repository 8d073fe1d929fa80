/** One packet as a capture source delivers it: timestamps, lengths, bytes and (pcapng) interface and direction. */

/** Packet direction as pcapng's epb_flags (bits 0-1) record it. */
export const PacketDirection = { Unknown: 0, Inbound: 1, Outbound: 2 } as const;
export type PacketDirection = (typeof PacketDirection)[keyof typeof PacketDirection];

export class CapturedPacket {
  constructor(
    /** Whole seconds since the epoch (may exceed 2^32 in pcapng files). */
    public seconds: number,
    /**
     * Fraction of the second in nanoseconds. Microsecond files give usec × 1000, so writing or printing at
     * microsecond precision (floor of ns / 1000) returns exactly what libpcap would report.
     */
    public nanoseconds: number,
    /** Length on the wire. */
    public wireLength: number,
    /** The captured bytes (caplen = data.length). A view that stays valid as long as it is referenced. */
    public data: Uint8Array,
    /** Index of the interface in the order its description appeared in the file (0 for classic pcap). */
    public interfaceIndex = 0,
    public direction: PacketDirection = PacketDirection.Unknown,
    /** pcapng opt_comment, when present. */
    public comment: string | undefined = undefined,
  ) {}

  get capturedLength(): number {
    return this.data.length;
  }

  /** The timestamp fraction in microseconds, as libpcap hands it out by default. */
  get microseconds(): number {
    return Math.floor(this.nanoseconds / 1000);
  }
}

/** Timestamp precision of a reader's consumer or a writer's output (pcap magic a1b2c3d4 vs a1b23c4d). */
export type TimestampPrecision = "micro" | "nano";
