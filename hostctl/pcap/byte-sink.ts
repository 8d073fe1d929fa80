/**
 * Where capture writers put their bytes: a buffered output (appends go into one 1 MiB buffer, written out with
 * one system call when full) over a sink — a file descriptor, or memory for tests and library callers.
 */
import { closeSync, open, openSync, write, writeSync } from "node:fs";
import { CaptureFileError } from "./capture-file-error.js";
import { describeSystemError, systemErrorText } from "./capture-reader.js";

export interface ByteSink {
  /** Take these bytes now (the caller reuses the array afterwards). */
  write(bytes: Uint8Array): void;
  /** Take these bytes, which the caller leaves untouched until the promise settles (optional). */
  writeAsync?(bytes: Uint8Array): Promise<void>;
  close(): void;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** A file descriptor written with blocking semantics (a non-blocking pipe on stdout is waited on). */
export class FdSink implements ByteSink {
  constructor(
    private readonly fd: number,
    private readonly ownsFd: boolean,
    private readonly name: string,
  ) {}

  /** Create or truncate a file; "-" is standard output. Errors read like tcpdump's ("out.pcap: Permission denied"). */
  static create(path: string): FdSink {
    if (path === "-") return new FdSink(1, false, "standard output");
    try {
      return new FdSink(openSync(path, "w"), true, path);
    } catch (error) {
      throw new CaptureFileError(describeSystemError(error, path));
    }
  }

  /**
   * create(), with the open on libuv's threads: truncating a large file can take tens of milliseconds (the
   * kernel waits for its pages still being written back), which the caller can spend on other work.
   */
  static async open(path: string): Promise<FdSink> {
    if (path === "-") return new FdSink(1, false, "standard output");
    try {
      const fd = await new Promise<number>((resolve, reject) => open(path, "w", (error, opened) => (error ? reject(error) : resolve(opened))));
      return new FdSink(fd, true, path);
    } catch (error) {
      throw new CaptureFileError(describeSystemError(error, path));
    }
  }

  write(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Atomics.wait(sleepCell, 0, 0, 2);
          continue;
        }
        throw new CaptureFileError(`${this.name}: ${systemErrorText(code) ?? (error as Error).message}`, true, code);
      }
    }
  }

  /** As write(), on libuv's threads, so the caller can go on working while the bytes are written. */
  async writeAsync(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += await new Promise<number>((resolve, reject) => {
          write(this.fd, bytes, offset, bytes.length - offset, null, (error, written) => (error ? reject(error) : resolve(written)));
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          await new Promise((resolve) => setTimeout(resolve, 2));
          continue;
        }
        throw new CaptureFileError(`${this.name}: ${systemErrorText(code) ?? (error as Error).message}`, true, code);
      }
    }
  }

  close(): void {
    if (this.ownsFd) closeSync(this.fd);
  }
}

/** Collects everything written, for tests and in-memory conversions. */
export class MemorySink implements ByteSink {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.size += bytes.length;
  }

  close(): void {}

  bytes(): Uint8Array {
    const all = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  }
}

/** Append-only output buffer over a sink. Writers reserve room, fill `bytes`/`view` at the offset, and go on. */
export class BufferedOutput {
  bytes: Uint8Array;
  view: DataView;
  length = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly capacity = 1 << 20,
  ) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Room for `size` more bytes; returns the offset to write them at (the caller then adds `size` to length). */
  reserve(size: number): number {
    if (this.length + size > this.bytes.length) {
      this.flush();
      if (size > this.bytes.length) {
        // One record larger than the buffer: grow for it, shrink back after the next flush.
        this.bytes = new Uint8Array(size);
        this.view = new DataView(this.bytes.buffer);
      }
    }
    return this.length;
  }

  flush(): void {
    if (this.length === 0) return;
    this.sink.write(this.bytes.subarray(0, this.length));
    this.length = 0;
    if (this.bytes.length !== this.capacity) {
      this.bytes = new Uint8Array(this.capacity);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  close(): void {
    this.flush();
    this.sink.close();
  }
}
