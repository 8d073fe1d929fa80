/**
 * The streaming reader against libpcap and tshark: every corpus capture yields the manifest's packet count and
 * exactly the records libpcap hands tcpdump (checked by re-writing them and comparing with `tcpdump -r F -w -`,
 * at µs and ns precision); synthetic big-endian, nanosecond and pcapng variants agree with libpcap too; a
 * sample agrees with tshark's timestamps and lengths; streams split at any byte give the same packets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  BufferedOutput,
  CaptureFileReader,
  CaptureStreamReader,
  isKnownDlt,
  MemorySink,
  PacketDirection,
  PcapWriter,
  unknownDltMessage,
  type CapturedPacket,
  type TimestampPrecision,
} from "../../hostctl/pcap/index.js";
import { classicPcap, pcapng, type NgSection, type VariantPacket } from "./capture-variants.js";
import { CORPUS, manifest, requireTool, tcpdump, tshark } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "kopi-reader-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Our reader's packets re-encoded as libpcap's pcap_dump would write them. */
function reencode(path: string, precision: TimestampPrecision): { bytes: Uint8Array; packets: number } {
  const reader = CaptureFileReader.open(path);
  const sink = new MemorySink();
  const info = reader.info;
  const writer = new PcapWriter(new BufferedOutput(sink), {
    linkType: info.linkType | info.linkTypeExtension,
    snapshotLength: info.snapshotLength,
    precision,
  });
  let packets = 0;
  for (const packet of reader) {
    writer.write(packet);
    packets++;
  }
  writer.close();
  reader.close();
  return { bytes: sink.bytes(), packets };
}

function libpcapRecords(path: string, precision: TimestampPrecision): Buffer {
  const args = precision === "nano" ? ["--time-stamp-precision=nano", "-r", path, "-w", "-"] : ["-r", path, "-w", "-"];
  const result = tcpdump(args);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

const rows = manifest();
const readable = rows.filter((row) => row.error === "");

describe("reader over every corpus capture", () => {
  requireTool("tcpdump");

  it("covers the whole manifest", () => {
    expect(rows.length).toBe(124);
    expect(readable.length).toBeGreaterThan(110);
  });

  for (const row of readable) {
    it(`${row.file}: ${row.packets} packets, the records libpcap reads`, () => {
      const ours = reencode(row.path, "micro");
      expect(ours.packets).toBe(row.packets);
      expect(Buffer.from(ours.bytes).equals(libpcapRecords(row.path, "micro"))).toBe(true);
    });
  }

  for (const name of [
    "other-linktypes/tcpdump/tcp-handshake-nano.pcap",
    "ethernet/tcpdump/OSPFv2_Capture_FINAL.pcapng",
    "ethernet/tcpdump/time_2107.pcapng",
    "ethernet/tcpdump/isup.pcap",
  ]) {
    it(`${name}: nanosecond records agree with libpcap's`, () => {
      const path = join(CORPUS, name);
      expect(Buffer.from(reencode(path, "nano").bytes).equals(libpcapRecords(path, "nano"))).toBe(true);
    });
  }
});

describe("files libpcap refuses", () => {
  const refused = rows.filter((row) => row.error !== "");
  it("the corpus has six of them", () => expect(refused.length).toBe(6));

  for (const row of refused) {
    const expected = row.error.replace(/^tcpdump: /, "");
    it(`${row.file}: ${expected}`, () => {
      let message: string;
      try {
        const reader = CaptureFileReader.open(row.path);
        // libpcap opens this one; tcpdump then refuses the link type when it compiles its filter.
        expect(isKnownDlt(reader.info.dlt)).toBe(false);
        message = unknownDltMessage(reader.info.dlt);
        reader.close();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(expected);
    });
  }

  it("empty captures open and hold no packets", () => {
    for (const name of ["invalid-files/tcpdump/empty.pcap", "invalid-files/tcpdump/empty.pcapng"]) {
      const reader = CaptureFileReader.open(join(CORPUS, name));
      expect(reader.info.dlt).toBe(1);
      expect(reader.next()).toBeNull();
      reader.close();
    }
  });
});

describe("timestamps and lengths agree with tshark", () => {
  requireTool("tshark");
  for (const name of [
    "ethernet/packetnet/test_stream.pcap",
    "other-linktypes/tcpdump/tcp-handshake-nano.pcap",
    "ethernet/tcpdump/nhrp.pcapng",
    "ethernet/tcpdump/isup.pcap",
  ]) {
    it(name, () => {
      const path = join(CORPUS, name);
      const result = tshark(["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"]);
      expect(result.status, result.stderr).toBe(0);
      const expected = result.stdout.trim().split("\n");
      const reader = CaptureFileReader.open(path);
      const actual = [...reader].map(
        (p) => `${p.seconds}.${String(p.nanoseconds).padStart(9, "0")}\t${p.wireLength}\t${p.capturedLength}`,
      );
      reader.close();
      expect(actual).toEqual(expected);
    });
  }
});

function frame(n: number, length = 60): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (n * 7 + i) & 0xff;
  return data;
}

function variantsToCheck(): Array<{ name: string; bytes: Uint8Array }> {
  const packets: VariantPacket[] = Array.from({ length: 5 }, (_, i) => ({
    seconds: 1700000000 + i,
    fraction: 123456 + i,
    data: frame(i, 60 + i),
  }));
  const nanoPackets = packets.map((p, i) => ({ ...p, fraction: 987654321 - i }));
  const ticks = (sec: number, frac: bigint, perSecond: bigint): bigint => BigInt(sec) * perSecond + frac;
  const ng = (tsresol: number | undefined, perSecond: bigint, tsoffset?: bigint): NgSection[] => [
    {
      interfaces: [{ linkType: 1, snaplen: 65535, tsresol, tsoffset, name: "eth0" }],
      blocks: [
        { kind: "unknown", type: 0x0bad, body: Uint8Array.of(1, 2, 3) },
        { kind: "epb", interfaceId: 0, ticks: ticks(1700000000, 12345n, perSecond), data: frame(1), flags: 1, comment: "hello" },
        { kind: "pb", interfaceId: 0, ticks: ticks(1700000001, 54321n, perSecond), data: frame(2, 70), wireLength: 100 },
        { kind: "spb", data: frame(3, 80) },
        { kind: "idb", iface: { linkType: 1, snaplen: 65535, tsresol: 9 } },
        { kind: "epb", interfaceId: 1, ticks: ticks(1700000002, 999999999n, 1000000000n), data: frame(4), flags: 2 },
      ],
    },
    {
      interfaces: [{ linkType: 1, snaplen: 65535, tsresol: 0x94 }],
      blocks: [{ kind: "epb", interfaceId: 0, ticks: ticks(1700000003, 123456n, 1n << 20n), data: frame(5) }],
    },
  ];
  return [
    { name: "pcap-le-us", bytes: classicPcap(packets, { littleEndian: true, nano: false }) },
    { name: "pcap-be-us", bytes: classicPcap(packets, { littleEndian: false, nano: false }) },
    { name: "pcap-le-ns", bytes: classicPcap(nanoPackets, { littleEndian: true, nano: true }) },
    { name: "pcap-be-ns", bytes: classicPcap(nanoPackets, { littleEndian: false, nano: true }) },
    { name: "pcap-v2.2-swapped-lengths", bytes: classicPcap(packets, { littleEndian: true, nano: false, versionMinor: 2 }) },
    { name: "pcap-snaplen-cut", bytes: classicPcap(packets, { littleEndian: true, nano: false, snaplen: 50 }) },
    { name: "pcapng-le-us", bytes: pcapng(ng(undefined, 1000000n), true) },
    { name: "pcapng-be-us", bytes: pcapng(ng(undefined, 1000000n), false) },
    { name: "pcapng-le-ms-offset", bytes: pcapng(ng(3, 1000n, 3600n), true) },
    { name: "pcapng-be-ns", bytes: pcapng(ng(9, 1000000000n), false) },
  ];
}

describe("format variants agree with libpcap", () => {
  requireTool("tcpdump");
  for (const variant of variantsToCheck()) {
    it(variant.name, () => {
      const path = join(scratch, `${variant.name}.cap`);
      writeFileSync(path, variant.bytes);
      for (const precision of ["micro", "nano"] as const) {
        const ours = reencode(path, precision);
        expect(Buffer.from(ours.bytes).equals(libpcapRecords(path, precision)), precision).toBe(true);
      }
    });
  }

  it("reads pcapng interfaces, directions and comments", () => {
    const variant = variantsToCheck().find((v) => v.name === "pcapng-be-us")!;
    const path = join(scratch, "directions.pcapng");
    writeFileSync(path, variant.bytes);
    const reader = CaptureFileReader.open(path);
    const packets = [...reader];
    expect(packets.map((p) => p.interfaceIndex)).toEqual([0, 0, 0, 1, 2]);
    expect(packets.map((p) => p.direction)).toEqual([
      PacketDirection.Inbound,
      PacketDirection.Unknown,
      PacketDirection.Unknown,
      PacketDirection.Outbound,
      PacketDirection.Unknown,
    ]);
    expect(packets[0]!.comment).toBe("hello");
    expect(reader.interfaces.map((i) => i.name)).toEqual(["eth0", undefined, undefined]);
    expect(reader.interfaces.map((i) => i.ticksPerSecond)).toEqual([1e6, 1e9, 2 ** 20]);
    reader.close();
  });
});

function chunked(bytes: Uint8Array, sizes: number[]): Readable {
  const chunks: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]!);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return Readable.from(chunks);
}

function summary(p: CapturedPacket): string {
  return `${p.seconds}.${p.nanoseconds} ${p.wireLength} ${Buffer.from(p.data).toString("hex")} ${p.interfaceIndex} ${p.direction}`;
}

describe("stream reader", () => {
  const files = ["ethernet/packetnet/test_stream.pcap", "ethernet/tcpdump/nhrp.pcapng", "ethernet/tcpdump/isup.pcap"].map(
    (name) => readFileSync(join(CORPUS, name)),
  );
  const expected = files.map((bytes, i) => {
    const path = join(scratch, `stream-${i}.cap`);
    writeFileSync(path, bytes);
    const reader = CaptureFileReader.open(path, { chunkSize: 64 });
    const list = [...reader].map(summary);
    reader.close();
    return list;
  });

  it("gives the same packets however the stream is split", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        async (which, sizes) => {
          const reader = await CaptureStreamReader.open(chunked(files[which]!, sizes));
          const got: string[] = [];
          for await (const packet of reader) got.push(summary(packet));
          expect(got).toEqual(expected[which]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reports a truncated stream as libpcap does", async () => {
    const bytes = files[0]!.subarray(0, files[0]!.length - 5);
    const reader = await CaptureStreamReader.open(chunked(bytes, [100]));
    const got: string[] = [];
    await expect(async () => {
      for await (const packet of reader) got.push(summary(packet));
    }).rejects.toThrow(/^truncated dump file; tried to read \d+ captured bytes, only got \d+$/);
    expect(got.length).toBe(expected[0]!.length - 1);
  });
});
