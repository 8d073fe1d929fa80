/**
 * A capture file libpcap would refuse, or an I/O failure while reading or writing one. The message is libpcap's
 * own wording (e.g. "truncated dump file; tried to read 24 file header bytes, only got 6"), so the command can
 * print it behind its program name exactly where tcpdump prints it.
 */
export class CaptureFileError extends Error {
  constructor(
    message: string,
    /** Raised while reading packets after the file was opened (tcpdump then says "pcap_loop: …"). */
    readonly whileReadingPackets = false,
    /** The system error behind it, when there is one ("EPIPE" when the reader of our output went away). */
    readonly code?: string,
  ) {
    super(message);
    this.name = "CaptureFileError";
  }
}
