/**
 * The zero-copy path of `hostctl capture -r FILE -w OUT [EXPR]` for a little-endian classic pcap file (version
 * 2.4, 16-byte records) written back at its own timestamp precision: then every kept record is byte for byte the
 * record the general path (CaptureFileReader → PcapWriter) writes, so it can be copied as it stands.
 *
 * The file is read in large chunks straight into the overlay VM's batch area; the record headers become batch
 * descriptors in place (no packet objects, no frame copies); the filter runs over a whole chunk per call; the
 * kept records are compacted to the front of the chunk and written with one system call per chunk. A record
 * cut by a chunk boundary moves to the front of the next chunk. Errors are libpcap's, raised after the records
 * before them were written, as the general path does.
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { InPlaceBatch, OverlayVM } from "../../runtime/vm.js";
import type { ByteSink } from "./byte-sink.js";
import { CaptureFileError } from "./capture-file-error.js";
import { describeSystemError } from "./capture-reader.js";

const RECORD_HEADER_BYTES = 16;
const MICRO_MAGIC = 0xa1b2c3d4;
const NANO_MAGIC = 0xa1b23c4d;

/** Bytes read per chunk (also the largest record the path accepts, header included). */
export const FAST_PATH_CHUNK_BYTES = 4 << 20;
/** Records per filter call (a chunk of small records is filtered in several calls). */
export const FAST_PATH_BATCH_RECORDS = 32768;

export interface ClassicFileShape {
  precision: "micro" | "nano";
}

/**
 * Whether `path` starts with a header the fast path can copy records from: little-endian µs or ns magic,
 * version 2.4. Returns undefined (use the general path) for anything else, or when the file cannot be read.
 */
export function classicFileShape(path: string): ClassicFileShape | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const header = new Uint8Array(24);
    if (readSync(fd, header, 0, 24, 0) !== 24) return undefined;
    const view = new DataView(header.buffer);
    const magic = view.getUint32(0, true);
    if (magic !== MICRO_MAGIC && magic !== NANO_MAGIC) return undefined;
    if (view.getUint16(4, true) !== 2 || view.getUint16(6, true) !== 4) return undefined;
    return { precision: magic === NANO_MAGIC ? "nano" : "micro" };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export interface ClassicCopyOptions {
  /** The capture file (its 24-byte header is skipped: the caller has checked it with classicFileShape). */
  path: string;
  /** Where kept records go, after the caller wrote the output file header. */
  sink: ByteSink;
  /** The file's snapshot length after libpcap's adjustment: longer records are cut to it. */
  snapshotLength: number;
  /** The largest capture length libpcap accepts for the file's link type. */
  maxCaplen: number;
  /** Stop after this many kept records. */
  limit: number;
  /** The VM with the filter program loaded, and the DLT it was compiled for; undefined: keep every record. */
  filter?: { vm: OverlayVM; linktype: number };
}

/** Copy the records of a classic pcap file that the filter keeps; returns how many were kept. */
export async function copyClassicRecords(options: ClassicCopyOptions): Promise<number> {
  const { sink, snapshotLength, maxCaplen, limit, filter } = options;
  if (maxCaplen + RECORD_HEADER_BYTES > FAST_PATH_CHUNK_BYTES) throw new RangeError("a record may not fit one fast-path chunk");
  let fd: number;
  try {
    fd = openSync(options.path, "r");
  } catch (error) {
    throw new CaptureFileError(describeSystemError(error, options.path));
  }
  try {
    const area = filter ? filter.vm.prepareInPlace(FAST_PATH_BATCH_RECORDS, 2 * FAST_PATH_CHUNK_BYTES) : undefined;
    const copier = new RecordCopier(area, filter, snapshotLength, limit);
    return await copier.copy(fd, sink, maxCaplen);
  } finally {
    closeSync(fd);
  }
}

class RecordCopier {
  /** the chunk: the VM's frames area, or a plain buffer when there is no filter */
  private readonly bytes: Uint8Array;
  private readonly words: DataView;
  private readonly descriptors: Uint32Array | undefined;
  private readonly verdicts: Uint32Array | undefined;
  /** where each record of the current filter batch starts in the chunk */
  private readonly recordStarts = new Uint32Array(FAST_PATH_BATCH_RECORDS);
  private batchCount = 0;
  /** end of the kept records compacted at the front of the chunk */
  private keptEnd = 0;
  /** the run of kept records not moved yet: [runStart, runEnd) of the chunk (empty: both -1) */
  private runStart = -1;
  private runEnd = -1;
  kept = 0;

  constructor(
    private readonly area: InPlaceBatch | undefined,
    private readonly filter: { vm: OverlayVM; linktype: number } | undefined,
    private readonly snapshotLength: number,
    private readonly limit: number,
  ) {
    if (area && filter) {
      const buffer = filter.vm.memory.buffer;
      this.bytes = new Uint8Array(buffer, area.frames, 2 * FAST_PATH_CHUNK_BYTES);
      this.descriptors = new Uint32Array(buffer, area.descriptors, 4 * FAST_PATH_BATCH_RECORDS);
      this.verdicts = new Uint32Array(buffer, area.verdicts, FAST_PATH_BATCH_RECORDS);
    } else {
      this.bytes = new Uint8Array(2 * FAST_PATH_CHUNK_BYTES);
    }
    this.words = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /**
   * Read, filter and write chunk after chunk. The area holds two chunks: while the kept records of one are
   * being written (off the main thread when the sink can), the next is read and filtered in the other.
   */
  async copy(fd: number, sink: ByteSink, maxCaplen: number): Promise<number> {
    const bytes = this.bytes;
    const view = this.words;
    let base = 0;
    let filled = 0;
    let position = 24;
    let writing: Promise<void> | undefined;
    try {
      for (;;) {
        const read = readSync(fd, bytes, base + filled, FAST_PATH_CHUNK_BYTES - filled, position);
        position += read;
        const end = base + filled + read;
        const eof = read === 0;
        let at = base;
        this.keptEnd = base;
        let failure: CaptureFileError | undefined;
        while (this.kept < this.limit) {
          const available = end - at;
          if (available < RECORD_HEADER_BYTES) {
            if (eof && available > 0) {
              failure = new CaptureFileError(`truncated dump file; tried to read ${RECORD_HEADER_BYTES} header bytes, only got ${available}`, true);
            }
            break;
          }
          const caplen = view.getUint32(at + 8, true);
          if (caplen > maxCaplen) {
            failure = new CaptureFileError(
              caplen > this.snapshotLength
                ? `invalid packet capture length ${caplen}, bigger than snaplen of ${this.snapshotLength}`
                : `invalid packet capture length ${caplen}, bigger than maximum of ${maxCaplen}`,
              true,
            );
            break;
          }
          if (available < RECORD_HEADER_BYTES + caplen) {
            if (eof) {
              const got = available - RECORD_HEADER_BYTES;
              // libpcap first reads min(caplen, snapshot) bytes, then discards the rest of an over-long record.
              const tried = caplen > this.snapshotLength && got < this.snapshotLength ? this.snapshotLength : caplen;
              failure = new CaptureFileError(`truncated dump file; tried to read ${tried} captured bytes, only got ${got}`, true);
            }
            break;
          }
          this.add(at, caplen);
          at += RECORD_HEADER_BYTES + caplen;
        }
        this.finishBatch();
        this.flushRun();
        // Writes stay in file order; the other chunk is free once its write is done.
        if (writing) await writing;
        writing = undefined;
        if (this.keptEnd > base) writing = writeChunk(sink, bytes.subarray(base, this.keptEnd));
        if (this.kept >= this.limit || failure || eof) {
          if (writing) await writing;
          writing = undefined;
          if (failure && this.kept < this.limit) throw failure;
          return this.kept;
        }
        // The partial record at the end starts the next chunk, in the other half.
        const other = base === 0 ? FAST_PATH_CHUNK_BYTES : 0;
        bytes.copyWithin(other, at, end);
        filled = end - at;
        base = other;
      }
    } finally {
      // an error thrown above must not leave a write still reading the area
      if (writing) await writing.catch(() => undefined);
    }
  }

  /** A complete record at `at`: filter it with its batch, or keep it at once when there is no filter. */
  private add(at: number, caplen: number): void {
    if (this.descriptors === undefined) {
      this.keep(at, caplen);
      return;
    }
    const d = 4 * this.batchCount;
    this.descriptors[d] = at + RECORD_HEADER_BYTES;
    this.descriptors[d + 1] = caplen > this.snapshotLength ? this.snapshotLength : caplen;
    this.descriptors[d + 2] = this.words.getUint32(at + 12, true);
    this.descriptors[d + 3] = 0;
    this.recordStarts[this.batchCount] = at;
    if (++this.batchCount === FAST_PATH_BATCH_RECORDS) this.finishBatch();
  }

  /** Run the filter over the records gathered so far and keep the matching ones (up to the limit). */
  private finishBatch(): void {
    const count = this.batchCount;
    if (count === 0 || this.filter === undefined) return;
    this.batchCount = 0;
    this.filter.vm.runInPlace(this.area!, count, this.filter.linktype);
    const verdicts = this.verdicts!;
    const starts = this.recordStarts;
    const view = this.words;
    for (let i = 0; i < count && this.kept < this.limit; i++) {
      // a pcap filter keeps a packet when its verdict is 1 (index.ts matchMany); faults are drops
      if (verdicts[i] !== 1) continue;
      const at = starts[i]!;
      this.keep(at, view.getUint32(at + 8, true));
    }
  }

  /**
   * Keep the record at `at`: it joins the run of kept records that ends where it starts, or starts a new run
   * (runs move in one copy each). A record longer than the snapshot length is cut to it, as libpcap reads it.
   */
  private keep(at: number, caplen: number): void {
    if (this.kept >= this.limit) return;
    this.kept++;
    if (caplen <= this.snapshotLength) {
      if (at !== this.runEnd) {
        this.flushRun();
        this.runStart = at;
      }
      this.runEnd = at + RECORD_HEADER_BYTES + caplen;
      return;
    }
    this.flushRun();
    const size = RECORD_HEADER_BYTES + this.snapshotLength;
    this.bytes.copyWithin(this.keptEnd, at, at + size);
    this.words.setUint32(this.keptEnd + 8, this.snapshotLength, true);
    this.keptEnd += size;
  }

  /** Move the pending run of kept records down to the end of the kept ones (never overlapping what is ahead). */
  private flushRun(): void {
    const length = this.runEnd - this.runStart;
    if (length > 0 && this.runStart !== this.keptEnd) this.bytes.copyWithin(this.keptEnd, this.runStart, this.runEnd);
    this.keptEnd += length;
    this.runStart = this.runEnd = -1;
  }
}

/** Hand kept records to the sink: asynchronously (a write on libuv's threads) when it can, else now. */
function writeChunk(sink: ByteSink, bytes: Uint8Array): Promise<void> | undefined {
  if (sink.writeAsync) return sink.writeAsync(bytes);
  sink.write(bytes);
  return undefined;
}
