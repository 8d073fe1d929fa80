/**
 * Where `hostctl capture` gets packets from. A capture file is one source; the NIC's capture ring (`-i`, the
 * NIC issue) is another: both hand out batches of packets, so the pipeline filters thousands at a time
 * whatever the source.
 */
import type { CaptureFormat, CaptureInterface } from "./capture-decoder.js";
import { CaptureFileError } from "./capture-file-error.js";
import { CaptureFileReader, type CaptureReaderOptions } from "./capture-reader.js";
import { describeDlt } from "./link-types.js";
import type { CapturedPacket, TimestampPrecision } from "./packet.js";

/** Counters a live source reports at the end, as tcpdump prints them. */
export interface SourceStatistics {
  /** Packets the source saw (tcpdump's "received by filter"). */
  received: number;
  /** Packets lost before reaching us (tcpdump's "dropped by kernel"). */
  dropped: number;
}

export interface PacketSource {
  /** The line tcpdump prints on stderr when it starts ("reading from file …" / "listening on …"). */
  readonly banner: string;
  /** DLT of the packets (for the filter compiler and the printer). */
  readonly dlt: number;
  /** LINKTYPE_ value (with any extension bits) a pcap written from this source carries. */
  readonly linkType: number;
  readonly snapshotLength: number;
  /** Precision the timestamps natively have. */
  readonly precision: TimestampPrecision;
  /** Interfaces described so far (pcapng files and live sources may have several). */
  readonly interfaces: readonly CaptureInterface[];
  /** A live source counts packets and drops; a file does not (tcpdump prints no statistics for -r). */
  readonly live: boolean;
  /**
   * The next packets, at most `max`; an empty array at the end. A source that fails after some packets returns
   * those first and throws on the following call, so the caller can print them before the error, as tcpdump does.
   */
  nextBatch(max: number): CapturedPacket[] | Promise<CapturedPacket[]>;
  statistics(): SourceStatistics;
  close(): void;
}

/** A pcap or pcapng file (or standard input for "-") read through the streaming reader. */
export class FileSource implements PacketSource {
  readonly banner: string;
  readonly dlt: number;
  readonly linkType: number;
  readonly snapshotLength: number;
  readonly precision: TimestampPrecision;
  readonly live = false;
  /** pcap or pcapng */
  readonly format: CaptureFormat;
  private readonly reader: CaptureFileReader;
  private pendingError: unknown;
  private packetsRead = 0;

  constructor(
    readonly path: string,
    options: CaptureReaderOptions = {},
  ) {
    this.reader = CaptureFileReader.open(path, options);
    const info = this.reader.info;
    this.format = info.format;
    this.dlt = info.dlt;
    this.linkType = (info.linkType | info.linkTypeExtension) >>> 0;
    this.snapshotLength = info.snapshotLength;
    this.precision = info.precision;
    this.banner = `reading from file ${path}, link-type ${describeDlt(info.dlt)}, snapshot length ${info.snapshotLength}`;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.reader.interfaces;
  }

  nextBatch(max: number): CapturedPacket[] {
    if (this.pendingError !== undefined) {
      const error = this.pendingError;
      this.pendingError = undefined;
      throw error;
    }
    const batch: CapturedPacket[] = [];
    try {
      this.reader.readBatch(batch, max);
    } catch (error) {
      if (!(error instanceof CaptureFileError) || batch.length === 0) throw error;
      this.pendingError = error;
    }
    this.packetsRead += batch.length;
    return batch;
  }

  statistics(): SourceStatistics {
    return { received: this.packetsRead, dropped: 0 };
  }

  close(): void {
    this.reader.close();
  }
}
