/**
 * The record path of `hostctl capture -r FILE.pcapng -w OUT [EXPR]`: packet records (EPB, SPB, PB) of any
 * number of interfaces and sections are read by the same decoder as the general path (CaptureDecoder, so every
 * refusal and error message is the general path's), but without a packet object per record and without a frame
 * array per batch. A batch is a run of records in one read buffer: the span of the buffer holding their data is
 * copied into the overlay VM's frames area with one copy, the descriptors point into it, one VM call filters them
 * all, and the kept records go to the writer the general path uses (PcapWriter or PcapngWriter, through one
 * reused packet object), so every output byte is the general path's by construction.
 *
 * What it does not cover stays on the general path (capture.ts, pcapngFastPathApplies): classic pcap input
 * (classic-fast-path.ts), standard input, a snapshot length over MAXIMUM_SNAPLEN (the frames area is sized for
 * the largest record), printing (--print), -U, -P, a non-default filter tier or an injected filter compiler.
 */
import type { InPlaceBatch, OverlayVM } from "../../runtime/vm.js";
import { setTimestamp, type CaptureInterface } from "./capture-decoder.js";
import { CaptureFileError } from "./capture-file-error.js";
import type { CaptureFileReader } from "./capture-reader.js";
import { CapturedPacket, PacketDirection } from "./packet.js";

/** Read-buffer size of the reader the record path is given (the general path reads 1 MiB at a time). */
export const PCAPNG_FAST_PATH_CHUNK_BYTES = 2 << 20;
/** Records per filter call. */
export const PCAPNG_FAST_PATH_BATCH_RECORDS = 8192;

/** Where kept records go: the general path's writer for -w (pcap or pcapng). */
export interface RecordWriter {
  write(packet: CapturedPacket): void;
}

export interface PcapngCopyOptions {
  writer: RecordWriter;
  /** Stop after this many kept records. */
  limit: number;
  /** Read epb_flags and opt_comment (only pcapng output keeps them). */
  withPacketOptions: boolean;
}

/**
 * Filters the packet records of a pcapng file through one VM and hands the kept ones to a writer. The frames
 * area holds one read buffer plus the largest record (a record may be bigger than the buffer).
 */
export class PcapngRecordCopier {
  private readonly area: InPlaceBatch | undefined;
  private readonly frames: Uint8Array | undefined;
  private readonly descriptors: DataView | undefined;
  private readonly verdicts: Uint32Array | undefined;
  private readonly frameBytes: number;
  // The batch: record i is buffer[dataAt[i], + captured[i]).
  private readonly dataAt = new Uint32Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly captured = new Uint32Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly wireLength = new Float64Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly ticksHigh = new Uint32Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly ticksLow = new Uint32Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly direction = new Uint8Array(PCAPNG_FAST_PATH_BATCH_RECORDS);
  private readonly interfaces: (CaptureInterface | undefined)[] = new Array(PCAPNG_FAST_PATH_BATCH_RECORDS).fill(undefined);
  private readonly comments: (string | undefined)[] = new Array(PCAPNG_FAST_PATH_BATCH_RECORDS).fill(undefined);
  private count = 0;
  private buffer: Uint8Array | undefined;
  private spanStart = 0;
  private kept = 0;
  /** The one packet object the writer is handed, refilled per kept record. */
  private readonly packet = new CapturedPacket(0, 0, 0, new Uint8Array(0));
  private readonly optionsScratch = new CapturedPacket(0, 0, 0, new Uint8Array(0));

  /**
   * `vm` with the filter program loaded and `filterLinktype` its DLT, or both undefined (no filter: keep every
   * record). `maxCaplen`: the largest captured length the file may hold (its snapshot length, which the
   * caller keeps small: the frames area is one read buffer plus that much).
   */
  constructor(
    private readonly vm: OverlayVM | undefined,
    private readonly filterLinktype: number | undefined,
    maxCaplen: number,
  ) {
    this.frameBytes = PCAPNG_FAST_PATH_CHUNK_BYTES + maxCaplen;
    if (vm !== undefined && filterLinktype !== undefined) {
      this.area = vm.prepareInPlace(PCAPNG_FAST_PATH_BATCH_RECORDS, this.frameBytes);
      const memory = vm.memory.buffer;
      this.frames = new Uint8Array(memory, this.area.frames, this.frameBytes);
      this.descriptors = new DataView(memory, this.area.descriptors, PCAPNG_FAST_PATH_BATCH_RECORDS * 16);
      this.verdicts = new Uint32Array(memory, this.area.verdicts, PCAPNG_FAST_PATH_BATCH_RECORDS);
    }
  }

  /**
   * Copy the kept records of `reader` (opened on a pcapng file) to `options.writer`; returns how many. A read
   * error is thrown after the records before it were written, as the general path does.
   */
  copy(reader: CaptureFileReader, options: PcapngCopyOptions): number {
    const decoder = reader.recordDecoder;
    const { limit, withPacketOptions } = options;
    this.kept = 0;
    this.count = 0;
    this.buffer = undefined;
    let failure: unknown;
    while (this.kept < limit) {
      let found: boolean;
      try {
        found = reader.nextPcapngRecord();
      } catch (error) {
        if (!(error instanceof CaptureFileError)) throw error;
        failure = error;
        break;
      }
      if (!found) break;
      const bytes = reader.bytes;
      const dataAt = decoder.recordDataAt;
      const captured = decoder.recordCaptured;
      // A batch is a run of records in one buffer whose span fits the frames area, of at most BATCH records.
      if (
        this.count > 0 &&
        (bytes !== this.buffer || dataAt + captured - this.spanStart > this.frameBytes || this.count === PCAPNG_FAST_PATH_BATCH_RECORDS)
      ) {
        this.flushBatch(options);
        if (this.kept >= limit) break;
      }
      if (this.count === 0) {
        this.buffer = bytes;
        this.spanStart = dataAt;
      }
      const i = this.count++;
      this.dataAt[i] = dataAt;
      this.captured[i] = captured;
      this.wireLength[i] = decoder.recordWireLength;
      this.ticksHigh[i] = decoder.recordTicksHigh;
      this.ticksLow[i] = decoder.recordTicksLow;
      this.interfaces[i] = decoder.recordInterface;
      if (withPacketOptions && decoder.recordHasOptions()) {
        const scratch = this.optionsScratch;
        scratch.direction = PacketDirection.Unknown;
        scratch.comment = undefined;
        decoder.readPacketOptions(scratch);
        this.direction[i] = scratch.direction;
        this.comments[i] = scratch.comment;
      } else {
        this.direction[i] = PacketDirection.Unknown;
        this.comments[i] = undefined;
      }
    }
    if (this.count > 0 && this.kept < limit) this.flushBatch(options);
    this.count = 0;
    this.buffer = undefined;
    this.interfaces.fill(undefined);
    this.comments.fill(undefined);
    if (failure !== undefined && this.kept < limit) throw failure;
    return this.kept;
  }

  /** Filter the batch and write its kept records (up to the limit). */
  private flushBatch({ writer, limit }: PcapngCopyOptions): void {
    const count = this.count;
    const buffer = this.buffer!;
    const verdicts = this.filter(count, buffer);
    const packet = this.packet;
    for (let i = 0; i < count && this.kept < limit; i++) {
      if (verdicts !== undefined && verdicts[i] !== 1) continue;
      const iface = this.interfaces[i]!;
      const dataAt = this.dataAt[i]!;
      packet.data = buffer.subarray(dataAt, dataAt + this.captured[i]!);
      packet.wireLength = this.wireLength[i]!;
      packet.interfaceIndex = iface.index;
      packet.direction = this.direction[i] as PacketDirection;
      packet.comment = this.comments[i];
      setTimestamp(packet, this.ticksHigh[i]!, this.ticksLow[i]!, iface);
      this.kept++;
      writer.write(packet);
    }
    packet.data = new Uint8Array(0);
    this.count = 0;
  }

  /** Run the filter over the batch: one copy of the buffer span into the frames area, one VM call. */
  private filter(count: number, buffer: Uint8Array): Uint32Array | undefined {
    const { vm, area, frames, descriptors, filterLinktype } = this;
    if (vm === undefined || area === undefined || frames === undefined || descriptors === undefined) return undefined;
    const spanStart = this.spanStart;
    const last = count - 1;
    frames.set(buffer.subarray(spanStart, this.dataAt[last]! + this.captured[last]!), 0);
    for (let i = 0; i < count; i++) {
      const d = i << 4;
      descriptors.setUint32(d, this.dataAt[i]! - spanStart, true);
      descriptors.setUint32(d + 4, this.captured[i]!, true);
      descriptors.setUint32(d + 8, this.wireLength[i]! >>> 0, true);
      descriptors.setUint32(d + 12, 0, true);
    }
    vm.runInPlace(area, count, filterLinktype);
    return this.verdicts;
  }
}
