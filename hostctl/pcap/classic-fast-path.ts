/**
 * The zero-copy path of `hostctl capture -r FILE -w OUT [EXPR]` for a little-endian classic pcap file (version
 * 2.4, 16-byte records) written back at its own timestamp precision: then every kept record is byte for byte the
 * record the general path (CaptureFileReader → PcapWriter) writes, so it can be copied as it stands.
 *
 * The file is read in large chunks straight into the overlay VM's batch area. The VM turns the record headers
 * into batch descriptors in place (no packet objects, no frame copies, no per-record JavaScript), runs the filter
 * over up to FAST_PATH_BATCH_RECORDS of them per call, and compacts the kept records to the front of the chunk,
 * which is written with one system call. A record cut by a chunk boundary moves to the front of the next chunk.
 * Errors are libpcap's, raised after the records before them were written, as the general path does.
 */
import { closeSync, openSync, read, readSync } from "node:fs";
import type { InPlaceBatch, OverlayVM } from "../../runtime/vm.js";
import type { ByteSink } from "./byte-sink.js";
import { CaptureFileError } from "./capture-file-error.js";
import { describeSystemError } from "./capture-reader.js";

const RECORD_HEADER_BYTES = 16;
const MICRO_MAGIC = 0xa1b2c3d4;
const NANO_MAGIC = 0xa1b23c4d;

/** Bytes read per chunk (2 MiB took less time and CPU than 1 or 4 MiB on 2M packets). */
export const FAST_PATH_CHUNK_BYTES = 2 << 20;
/**
 * Room before each chunk for the part of a record the previous chunk ended in: the largest record the path
 * accepts (MAXIMUM_SNAPLEN captured bytes and the record header), rounded up.
 */
const CARRY_BYTES = (256 << 10) + 64;
/** Chunks in the VM's memory: one being read, one filtered, one written, all at once. */
const SLOTS = 3;
const SLOT_BYTES = CARRY_BYTES + FAST_PATH_CHUNK_BYTES;
/** Records per filter call (a chunk of small records is filtered in several calls). */
export const FAST_PATH_BATCH_RECORDS = 16384;

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

/** How records are read, and how many are kept at most. */
interface RecordRules {
  /** The file's snapshot length after libpcap's adjustment: longer records are cut to it. */
  snapshotLength: number;
  /** The largest capture length libpcap accepts for the file's link type. */
  maxCaplen: number;
  /** Stop after this many kept records. */
  limit: number;
}

export interface ClassicCopyOptions extends RecordRules {
  /** Where kept records go, after the caller wrote the output file header. */
  sink: ByteSink;
}

/** Records the warm-up runs through the VM (see ClassicRecordCopier). */
const WARM_UP_RECORDS = 1024;
/**
 * Files smaller than this are not worth a warm-up: V8's optimizing compile of the VM's interpreter loop costs
 * ~25 ms of CPU, which a small file does not win back (and which a process waits for before it exits).
 */
const WARM_UP_MIN_FILE_BYTES = 2 * FAST_PATH_CHUNK_BYTES;

/**
 * Copies the records of a classic pcap file that a filter keeps, through one VM: the chunks are read into its
 * memory, and it describes, filters and compacts their records. Three chunks are in flight: while the VM works
 * on one, the next is being read and the kept records of the one before are being written, on libuv's threads.
 *
 * Make it before opening the output file. For a large file, the constructor runs the VM's record functions and
 * the filter once over a few synthetic records: V8 compiles Wasm functions at their first call and optimizes
 * them in the background after some use, and this way that happens while the output file is being created,
 * instead of the first megabytes of the capture running in V8's baseline code (the interpreter loop there is
 * about 4 times slower).
 */
export class ClassicRecordCopier {
  private readonly area: InPlaceBatch;
  /** the VM's frames area: SLOTS chunks, each after CARRY_BYTES of room */
  private readonly bytes: Uint8Array;
  private readonly words: DataView;
  private kept = 0;

  /**
   * `filterLinktype`: the DLT of the filter program loaded on `vm` (undefined: no filter, keep every record);
   * `fileBytes`: the size of the file to copy, which decides the warm-up.
   */
  constructor(
    private readonly vm: OverlayVM,
    private readonly filterLinktype: number | undefined,
    fileBytes: number,
  ) {
    this.area = vm.prepareInPlace(FAST_PATH_BATCH_RECORDS, SLOTS * SLOT_BYTES);
    this.bytes = new Uint8Array(vm.memory.buffer, this.area.frames, SLOTS * SLOT_BYTES);
    this.words = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    if (fileBytes >= WARM_UP_MIN_FILE_BYTES) this.warmUp();
  }

  /** Copy the kept records of the capture file `path` to `options.sink`; returns how many were kept. */
  async copy(path: string, options: ClassicCopyOptions): Promise<number> {
    if (options.maxCaplen + RECORD_HEADER_BYTES > CARRY_BYTES) throw new RangeError("a record may not fit the fast path's carry area");
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      throw new CaptureFileError(describeSystemError(error, path));
    }
    this.kept = 0;
    try {
      return await this.copyChunks(fd, options);
    } finally {
      closeSync(fd);
    }
  }

  /** Describe, filter and compact WARM_UP_RECORDS copies of a TCP segment to port 80 (the results are dropped). */
  private warmUp(): void {
    const frame = [
      0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00, // Ethernet, IPv4
      0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 192, 168, 1, 1, // IPv4, TCP
      0x9c, 0x40, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    const recordBytes = RECORD_HEADER_BYTES + frame.length;
    for (let i = 0; i < WARM_UP_RECORDS; i++) {
      const at = i * recordBytes;
      this.words.setUint32(at + 8, frame.length, true);
      this.words.setUint32(at + 12, frame.length, true);
      this.bytes.set(frame, at + RECORD_HEADER_BYTES);
    }
    this.filterChunk({ snapshotLength: frame.length, maxCaplen: frame.length, limit: Number.POSITIVE_INFINITY }, 0, WARM_UP_RECORDS * recordBytes, true);
  }

  /**
   * Read, filter and write chunk after chunk. Chunk i is read into slot i % SLOTS after its CARRY_BYTES, from
   * file offset 24 + i × FAST_PATH_CHUNK_BYTES; the part of a record the previous chunk ended in is copied in
   * front of it. Reading chunk i + 1 starts before chunk i is filtered; its slot was last written out two
   * chunks ago, and writes are waited for in order.
   */
  private async copyChunks(fd: number, options: ClassicCopyOptions): Promise<number> {
    const { sink, limit } = options;
    const bytes = this.bytes;
    let reading: Promise<number> | undefined = readFully(fd, bytes, CARRY_BYTES, FAST_PATH_CHUNK_BYTES, 24);
    let writing: Promise<void> | undefined;
    let carryStart = 0;
    let carryEnd = 0;
    try {
      for (let chunk = 0; ; chunk++) {
        const read = await reading!;
        reading = undefined;
        const eof = read === 0;
        if (!eof) {
          const slot = ((chunk + 1) % SLOTS) * SLOT_BYTES;
          reading = readFully(fd, bytes, slot + CARRY_BYTES, FAST_PATH_CHUNK_BYTES, 24 + (chunk + 1) * FAST_PATH_CHUNK_BYTES);
        }
        const dataStart = (chunk % SLOTS) * SLOT_BYTES + CARRY_BYTES;
        const start = dataStart - (carryEnd - carryStart);
        bytes.copyWithin(start, carryStart, carryEnd);
        const end = dataStart + read;
        const { next, keptEnd, failure } = this.filterChunk(options, start, end, eof);
        // Writes stay in file order.
        if (writing) await writing;
        writing = undefined;
        if (keptEnd > start) writing = writeChunk(sink, bytes.subarray(start, keptEnd));
        if (this.kept >= limit || failure || eof) {
          if (writing) await writing;
          writing = undefined;
          if (failure && this.kept < limit) throw failure;
          return this.kept;
        }
        // The part of a record this chunk ends in goes in front of the next one.
        if (end - next > CARRY_BYTES) throw new RangeError("a partial record longer than the fast path's carry area");
        carryStart = next;
        carryEnd = end;
      }
    } finally {
      // nothing may still be reading into or writing from the area, or reading from the file, once we return
      if (writing) await writing.catch(() => undefined);
      if (reading) await reading.catch(() => undefined);
    }
  }

  /**
   * Describe, filter and compact the whole records in [start, end), one VM batch at a time, until the limit:
   * the kept ones end up at [start, keptEnd). `next` is the first record not taken; `failure` what is wrong
   * with it, if anything (a bad length, or at the end of the file a truncated header or record).
   */
  private filterChunk(rules: RecordRules, start: number, end: number, eof: boolean): { next: number; keptEnd: number; failure?: CaptureFileError } {
    const { vm, area, filterLinktype } = this;
    const { snapshotLength, maxCaplen, limit } = rules;
    let at = start;
    let keptEnd = start;
    while (this.kept < limit) {
      const batch = vm.indexPcapRecords(area, at, end, snapshotLength, maxCaplen);
      if (batch.count > 0) {
        if (filterLinktype !== undefined) vm.runInPlace(area, batch.count, filterLinktype);
        const compacted = vm.compactPcapRecords(area, batch.count, keptEnd, snapshotLength, limit - this.kept, filterLinktype !== undefined);
        keptEnd = compacted.end;
        this.kept += compacted.kept;
      }
      at = batch.next;
      if (batch.stop === "batch-full") continue;
      if (batch.stop === "bad-length") return { next: at, keptEnd, failure: badLength(this.words.getUint32(at + 8, true), rules) };
      return { next: at, keptEnd, failure: eof ? this.truncation(at, end - at, snapshotLength) : undefined };
    }
    return { next: at, keptEnd };
  }

  /** What is wrong with the last `available` bytes of the file, from `at` on (nothing when there are none). */
  private truncation(at: number, available: number, snapshotLength: number): CaptureFileError | undefined {
    if (available === 0) return undefined;
    if (available < RECORD_HEADER_BYTES) {
      return new CaptureFileError(`truncated dump file; tried to read ${RECORD_HEADER_BYTES} header bytes, only got ${available}`, true);
    }
    const caplen = this.words.getUint32(at + 8, true);
    const got = available - RECORD_HEADER_BYTES;
    // libpcap first reads min(caplen, snapshot) bytes, then discards the rest of an over-long record.
    const tried = caplen > snapshotLength && got < snapshotLength ? snapshotLength : caplen;
    return new CaptureFileError(`truncated dump file; tried to read ${tried} captured bytes, only got ${got}`, true);
  }
}

/** libpcap's complaint about a record whose captured length is over the maximum for the file. */
function badLength(caplen: number, { snapshotLength, maxCaplen }: RecordRules): CaptureFileError {
  return new CaptureFileError(
    caplen > snapshotLength
      ? `invalid packet capture length ${caplen}, bigger than snaplen of ${snapshotLength}`
      : `invalid packet capture length ${caplen}, bigger than maximum of ${maxCaplen}`,
    true,
  );
}

/** Read `length` bytes at file `position` into `bytes` at `offset` (fewer only at the end of the file), on libuv's threads. */
async function readFully(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  let total = 0;
  while (total < length) {
    const got = await new Promise<number>((resolve, reject) => {
      read(fd, bytes, offset + total, length - total, position + total, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
    });
    if (got === 0) break;
    total += got;
  }
  return total;
}

/** Hand kept records to the sink: asynchronously (a write on libuv's threads) when it can, else now. */
function writeChunk(sink: ByteSink, bytes: Uint8Array): Promise<void> | undefined {
  if (sink.writeAsync) return sink.writeAsync(bytes);
  sink.write(bytes);
  return undefined;
}
