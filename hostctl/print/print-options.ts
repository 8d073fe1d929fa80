/** The tcpdump flags that shape printed packet lines. */

/** -t (none) … -ttttt, as tcpdump numbers them: 0 = default "HH:MM:SS.frac". */
export type TimestampStyle =
  | "time" // default: local time of day
  | "none" // -t
  | "epoch" // -tt: seconds since the epoch
  | "delta" // -ttt: since the previous packet
  | "date" // -tttt: local date and time
  | "since-first"; // -ttttt: since the first packet

export interface PrintOptions {
  /** No -n: port names from /etc/services (kopi never resolves host names). -n or -nn: numbers only. */
  numeric: boolean;
  /** -e: print the link-level header. */
  linkHeader: boolean;
  /** -v, -vv, -vvv. */
  verbose: number;
  /** -q: less protocol detail. */
  quiet: boolean;
  /** -S: absolute TCP sequence numbers. */
  absoluteSequence: boolean;
  /** -x (1) / -xx (2): hex dump without / with the link header. */
  hex: number;
  /** -X (1) / -XX (2): hex and ASCII dump without / with the link header. */
  hexAscii: number;
  /** -A (1): ASCII dump of the packet after the link header. */
  ascii: number;
  timestamps: TimestampStyle;
  /** -#: packet numbers. */
  packetNumbers: boolean;
  /** Print timestamps with nanosecond digits (--nano / --time-stamp-precision=nano). */
  nanoseconds: boolean;
}

export const DEFAULT_PRINT_OPTIONS: PrintOptions = {
  numeric: false,
  linkHeader: false,
  verbose: 0,
  quiet: false,
  absoluteSequence: false,
  hex: 0,
  hexAscii: 0,
  ascii: 0,
  timestamps: "time",
  packetNumbers: false,
  nanoseconds: false,
};
