/**
 * A bounded read window over a byte stream: the unread bytes of the current buffer plus room to read more.
 *
 * Memory stays flat however long the stream is: the window holds at most one buffer of `chunkSize` bytes (or one
 * record, if a record is larger). Bytes already handed out as views are never overwritten: new data goes either
 * into the unused tail of the current buffer or into a fresh buffer, so a packet's `data` view stays valid for
 * as long as its holder keeps it — which lets the capture pipeline batch thousands of packets without copying.
 */
import { readSync } from "node:fs";

const DEFAULT_CHUNK_SIZE = 1 << 20;
const EMPTY = new Uint8Array(0);
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

export class ByteWindow {
  bytes: Uint8Array = EMPTY;
  view: DataView = new DataView(EMPTY.buffer);
  /** First unread byte. */
  start = 0;
  /** One past the last byte read. */
  end = 0;
  /** The source has no more bytes. */
  eof = false;

  constructor(readonly chunkSize = DEFAULT_CHUNK_SIZE) {}

  get available(): number {
    return this.end - this.start;
  }

  /**
   * Make room for at least `wanted` unread bytes from `start`, and return where to write and how much.
   * Reuses the current buffer's tail when the wanted record fits; otherwise moves the unread bytes to a fresh
   * buffer (never into the old one, whose bytes may be referenced).
   */
  private roomFor(wanted: number): void {
    if (this.start + wanted <= this.bytes.length && this.end < this.bytes.length) return;
    const unread = this.end - this.start;
    const capacity = Math.max(this.chunkSize, wanted);
    const fresh = new Uint8Array(capacity);
    if (unread > 0) fresh.set(this.bytes.subarray(this.start, this.end), 0);
    this.bytes = fresh;
    this.view = new DataView(fresh.buffer, fresh.byteOffset, fresh.byteLength);
    this.start = 0;
    this.end = unread;
  }

  /**
   * Read from a file descriptor until at least `wanted` unread bytes are available or the source ends.
   * Pipes that were left non-blocking (EAGAIN) are waited on briefly, so stdin works like a file.
   */
  fillFromFd(fd: number, wanted: number): void {
    while (this.end - this.start < wanted && !this.eof) {
      this.roomFor(wanted);
      let got: number;
      try {
        got = readSync(fd, this.bytes, this.end, this.bytes.length - this.end, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") {
          Atomics.wait(sleepCell, 0, 0, 2);
          continue;
        }
        throw error;
      }
      if (got === 0) this.eof = true;
      else this.end += got;
    }
  }

  /** Add a chunk that arrived from a stream. */
  appendChunk(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end === this.start) {
      // Nothing unread: adopt the chunk itself, no copy.
      this.bytes = chunk;
      this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    const unread = this.end - this.start;
    const fresh = new Uint8Array(unread + chunk.length);
    fresh.set(this.bytes.subarray(this.start, this.end), 0);
    fresh.set(chunk, unread);
    this.bytes = fresh;
    this.view = new DataView(fresh.buffer, fresh.byteOffset, fresh.byteLength);
    this.start = 0;
    this.end = fresh.length;
  }

  markEnd(): void {
    this.eof = true;
  }
}
