/**
 * Streaming readers for pcap and pcapng files.
 *
 * Two front ends share one decoder:
 * - `CaptureFileReader` is synchronous and reads a file descriptor (a file, or stdin for "-") in 1 MiB chunks.
 *   It is the fast path `hostctl capture` uses: no promise per packet, no stream machinery, memory bounded by
 *   the chunk size whatever the file size.
 * - `CaptureStreamReader` is asynchronous and reads any `AsyncIterable<Uint8Array>` (a Node Readable), for
 *   callers that already hold a stream.
 * Both hand out packets whose `data` are views into the read buffers (never copied, never overwritten).
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { ByteWindow } from "./byte-window.js";
import { CaptureDecoder, NEED_MORE, type CaptureFileInfo, type CaptureInterface } from "./capture-decoder.js";
import { CaptureFileError } from "./capture-file-error.js";
import type { CapturedPacket } from "./packet.js";

export interface CaptureReaderOptions {
  /** Read-buffer size in bytes (default 1 MiB). */
  chunkSize?: number;
}

/** Turn an OS error into tcpdump's wording ("x.pcap: No such file or directory"). */
export function describeSystemError(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = systemErrorText(code) ?? (error as Error).message;
  return `${path}: ${reason}`;
}

/** strerror() texts for the errors a capture command meets. */
export function systemErrorText(code: string | undefined): string | undefined {
  switch (code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    case "EISDIR":
      return "Is a directory";
    case "ENOTDIR":
      return "Not a directory";
    case "EROFS":
      return "Read-only file system";
    case "ENOSPC":
      return "No space left on device";
    case "EPIPE":
      return "Broken pipe";
    case "EIO":
      return "Input/output error";
    case "EMFILE":
      return "Too many open files";
    case "ELOOP":
      return "Too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "File name too long";
    default:
      return undefined;
  }
}

export class CaptureFileReader implements Iterable<CapturedPacket> {
  readonly info: CaptureFileInfo;
  private readonly window: ByteWindow;
  private readonly decoder: CaptureDecoder;
  private closed = false;

  /** Open a capture file by path; "-" reads standard input. Throws CaptureFileError with tcpdump's message. */
  static open(path: string, options: CaptureReaderOptions = {}): CaptureFileReader {
    if (path === "-") return new CaptureFileReader(0, false, options);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      throw new CaptureFileError(describeSystemError(error, path));
    }
    try {
      if (fstatSync(fd).isDirectory()) throw new CaptureFileError("error reading dump file: Is a directory");
      return new CaptureFileReader(fd, true, options);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Read a capture from an already open descriptor; the header is read (and checked) right away. */
  constructor(
    private readonly fd: number,
    private readonly ownsFd: boolean,
    options: CaptureReaderOptions = {},
  ) {
    this.window = new ByteWindow(options.chunkSize);
    this.decoder = new CaptureDecoder(this.window);
    for (;;) {
      const opened = this.decoder.open();
      if (opened !== NEED_MORE) {
        this.info = opened;
        break;
      }
      this.fill();
    }
  }

  /** Interfaces described so far (pcapng files may add more while they are read). */
  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  /** The next packet, or null at the end of the file. Throws CaptureFileError as libpcap's pcap_next_ex fails. */
  next(): CapturedPacket | null {
    for (;;) {
      const packet = this.decoder.next();
      if (packet !== NEED_MORE) return packet;
      this.fill();
    }
  }

  /**
   * pcapng only: advance to the next packet record without making a packet object; false at the end of the
   * file. The record is described by `decoder`'s record* fields, its bytes are in `bytes` (which, like a
   * packet's data, are never overwritten while referenced). Throws CaptureFileError as next() does.
   */
  nextPcapngRecord(): boolean {
    for (;;) {
      const found = this.decoder.nextPcapngRecord();
      if (found !== NEED_MORE) return found === true;
      this.fill();
    }
  }

  /** The decoder, for the record* fields nextPcapngRecord() sets. */
  get recordDecoder(): CaptureDecoder {
    return this.decoder;
  }

  /** The buffer the last record's bytes are in. */
  get bytes(): Uint8Array {
    return this.window.bytes;
  }

  /** Fill `into` with up to `max` packets; returns how many (0 at the end of the file). */
  readBatch(into: CapturedPacket[], max: number): number {
    let count = 0;
    while (count < max) {
      const packet = this.decoder.next();
      if (packet === NEED_MORE) {
        this.fill();
        continue;
      }
      if (packet === null) break;
      into[count++] = packet;
    }
    into.length = count;
    return count;
  }

  *[Symbol.iterator](): Iterator<CapturedPacket> {
    for (let packet = this.next(); packet !== null; packet = this.next()) yield packet;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.fd);
  }

  private fill(): void {
    try {
      this.window.fillFromFd(this.fd, this.decoder.needed);
    } catch (error) {
      throw new CaptureFileError(
        `error reading dump file: ${systemErrorText((error as NodeJS.ErrnoException).code) ?? (error as Error).message}`,
        this.decoder.info !== undefined,
      );
    }
  }
}

/** Asynchronous reader over any byte stream (e.g. a Node Readable). Use `await CaptureStreamReader.open(stream)`. */
export class CaptureStreamReader implements AsyncIterable<CapturedPacket> {
  private readonly window: ByteWindow;
  private readonly decoder: CaptureDecoder;
  private readonly chunks: AsyncIterator<Uint8Array>;
  private infoValue: CaptureFileInfo | undefined;

  private constructor(stream: AsyncIterable<Uint8Array>) {
    this.window = new ByteWindow();
    this.decoder = new CaptureDecoder(this.window);
    this.chunks = stream[Symbol.asyncIterator]();
  }

  static async open(stream: AsyncIterable<Uint8Array>): Promise<CaptureStreamReader> {
    const reader = new CaptureStreamReader(stream);
    for (;;) {
      const opened = reader.decoder.open();
      if (opened !== NEED_MORE) {
        reader.infoValue = opened;
        return reader;
      }
      await reader.fill();
    }
  }

  get info(): CaptureFileInfo {
    return this.infoValue!;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  async next(): Promise<CapturedPacket | null> {
    for (;;) {
      const packet = this.decoder.next();
      if (packet !== NEED_MORE) return packet;
      await this.fill();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CapturedPacket> {
    for (let packet = await this.next(); packet !== null; packet = await this.next()) yield packet;
  }

  private async fill(): Promise<void> {
    while (this.window.available < this.decoder.needed && !this.window.eof) {
      const step = await this.chunks.next();
      if (step.done) this.window.markEnd();
      else this.window.appendChunk(step.value);
    }
  }
}
