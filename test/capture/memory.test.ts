/**
 * Streaming keeps memory flat: 200 MB of capture go through each reader while the heap plus array buffers stay
 * within a bound far below the data size (no wall-clock assertions).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import {
  BufferedOutput,
  CapturedPacket,
  CaptureFileReader,
  CaptureStreamReader,
  FdSink,
  PcapWriter,
} from "../../hostctl/pcap/index.js";

const TOTAL_BYTES = 200 * 1024 * 1024;
const FRAME = 1000;
const RECORD = 16 + FRAME;
const PACKETS = Math.ceil(TOTAL_BYTES / RECORD);
/** Allowed growth of heap + array buffers while 200 MB stream through. */
const BOUND = 80 * 1024 * 1024;

const scratch = mkdtempSync(join(tmpdir(), "kopi-memory-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function footprint(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** A pcap produced chunk by chunk, never held whole. */
async function* syntheticCapture(): AsyncGenerator<Uint8Array> {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  yield header;
  const perChunk = 1024;
  for (let sent = 0; sent < PACKETS; sent += perChunk) {
    const count = Math.min(perChunk, PACKETS - sent);
    const chunk = Buffer.alloc(count * RECORD);
    for (let i = 0; i < count; i++) {
      const at = i * RECORD;
      chunk.writeUInt32LE(1700000000 + sent + i, at);
      chunk.writeUInt32LE(FRAME, at + 8);
      chunk.writeUInt32LE(FRAME, at + 12);
      chunk[at + 16] = (sent + i) & 0xff;
    }
    yield chunk;
  }
}

describe("memory stays flat while streaming 200 MB", () => {
  it("through the stream reader", async () => {
    const baseline = footprint();
    let peak = 0;
    let packets = 0;
    let bytes = 0;
    const reader = await CaptureStreamReader.open(Readable.from(syntheticCapture()));
    for await (const packet of reader) {
      packets++;
      bytes += 16 + packet.capturedLength;
      if (packets % 10000 === 0) peak = Math.max(peak, footprint() - baseline);
    }
    expect(packets).toBe(PACKETS);
    expect(bytes).toBeGreaterThanOrEqual(TOTAL_BYTES);
    expect(peak).toBeLessThan(BOUND);
  });

  it("through the file reader", () => {
    const path = join(scratch, "big.pcap");
    const writer = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 65535 });
    const frame = new Uint8Array(FRAME);
    const packet = new CapturedPacket(0, 0, FRAME, frame);
    for (let i = 0; i < PACKETS; i++) {
      packet.seconds = 1700000000 + i;
      writer.write(packet);
    }
    writer.close();
    expect(statSync(path).size).toBeGreaterThanOrEqual(TOTAL_BYTES);

    const baseline = footprint();
    let peak = 0;
    let packets = 0;
    const reader = CaptureFileReader.open(path);
    const batch: CapturedPacket[] = [];
    // Batches of 4096, as the capture pipeline holds them.
    while (reader.readBatch(batch, 4096) > 0) {
      packets += batch.length;
      peak = Math.max(peak, footprint() - baseline);
    }
    reader.close();
    expect(packets).toBe(PACKETS);
    expect(peak).toBeLessThan(BOUND);
  });
});
