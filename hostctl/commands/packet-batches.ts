/**
 * Packets from a capture file or a live pipe (`tcpdump -w - | hostctl inject -r -`), in batches: a batch is
 * sent when it is full, or when the input has been quiet for a moment, so a slow live stream is not held back.
 */
import { createReadStream, openSync } from "node:fs";
import { CaptureFileError } from "../pcap/capture-file-error.js";
import { CaptureStreamReader, describeSystemError } from "../pcap/capture-reader.js";
import type { CaptureFileInfo } from "../pcap/capture-decoder.js";
import type { CapturedPacket } from "../pcap/packet.js";

const QUIET = Symbol("quiet");

export interface CaptureInput {
  info: CaptureFileInfo;
  batches: AsyncGenerator<CapturedPacket[]>;
}

/** Open a pcap/pcapng file ("-": standard input); errors read like tcpdump's. */
export async function openCaptureInput(path: string, batchSize: number, quietMs = 20): Promise<CaptureInput> {
  let stream: AsyncIterable<Uint8Array>;
  if (path === "-") stream = process.stdin;
  else {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw new CaptureFileError(describeSystemError(e, path));
    }
    stream = createReadStream("", { fd });
  }
  let reader: CaptureStreamReader;
  try {
    reader = await CaptureStreamReader.open(stream);
  } catch (e) {
    if (e instanceof CaptureFileError) throw e;
    throw new CaptureFileError(describeSystemError(e, path === "-" ? "standard input" : path));
  }
  return { info: reader.info, batches: batchesOf(reader, batchSize, quietMs) };
}

async function* batchesOf(reader: CaptureStreamReader, size: number, quietMs: number): AsyncGenerator<CapturedPacket[]> {
  let batch: CapturedPacket[] = [];
  let pending: Promise<CapturedPacket | null> | undefined;
  for (;;) {
    pending ??= reader.next();
    let r: CapturedPacket | null | typeof QUIET;
    if (batch.length === 0) r = await pending;
    else {
      let timer: NodeJS.Timeout | undefined;
      r = await Promise.race([pending, new Promise<typeof QUIET>((resolve) => (timer = setTimeout(() => resolve(QUIET), quietMs)))]);
      clearTimeout(timer);
    }
    if (r === QUIET) {
      yield batch;
      batch = [];
      continue;
    }
    pending = undefined;
    if (r === null) {
      if (batch.length > 0) yield batch;
      return;
    }
    batch.push(r);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
}

/** µs since the epoch of a captured packet. */
export function packetTimeUs(p: CapturedPacket): number {
  return p.seconds * 1e6 + Math.floor(p.nanoseconds / 1000);
}
