/**
 * Classic pcap writer, byte for byte what libpcap's pcap_dump_open/pcap_dump produce on a little-endian host:
 * header magic a1b2c3d4 (µs) or a1b23c4d (ns), version 2.4, thiszone and sigfigs 0, then 16-byte records.
 */
import type { BufferedOutput } from "./byte-sink.js";
import type { CapturedPacket, TimestampPrecision } from "./packet.js";

export interface PcapWriterOptions {
  /** LINKTYPE_ value for the header (with any LT_LINKTYPE_EXT bits the source file carried). */
  linkType: number;
  snapshotLength: number;
  /** "micro" (the default, as tcpdump writes) or "nano". */
  precision?: TimestampPrecision;
}

export class PcapWriter {
  private readonly nano: boolean;
  private closed = false;

  constructor(
    private readonly out: BufferedOutput,
    options: PcapWriterOptions,
  ) {
    this.nano = options.precision === "nano";
    const at = out.reserve(24);
    const v = out.view;
    v.setUint32(at, this.nano ? 0xa1b23c4d : 0xa1b2c3d4, true);
    v.setUint16(at + 4, 2, true);
    v.setUint16(at + 6, 4, true);
    v.setUint32(at + 8, 0, true);
    v.setUint32(at + 12, 0, true);
    v.setUint32(at + 16, options.snapshotLength >>> 0, true);
    v.setUint32(at + 20, options.linkType >>> 0, true);
    out.length = at + 24;
  }

  write(packet: CapturedPacket): void {
    const data = packet.data;
    const caplen = data.length;
    const out = this.out;
    const at = out.reserve(16 + caplen);
    const v = out.view;
    // libpcap stores tv_sec as a 32-bit value: later dates wrap, as they do in its files.
    v.setUint32(at, packet.seconds >>> 0, true);
    v.setUint32(at + 4, (this.nano ? packet.nanoseconds : Math.floor(packet.nanoseconds / 1000)) >>> 0, true);
    v.setUint32(at + 8, caplen, true);
    v.setUint32(at + 12, packet.wireLength >>> 0, true);
    out.bytes.set(data, at + 16);
    out.length = at + 16 + caplen;
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.close();
  }
}
