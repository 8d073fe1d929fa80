/**
 * The writers: pcap and pcapng round trips through our reader, and files that tcpdump and tshark read without
 * complaint — with pcapng interfaces, packet directions and comments visible to tshark.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  BufferedOutput,
  CapturedPacket,
  CaptureFileReader,
  FdSink,
  MemorySink,
  PacketDirection,
  PcapngWriter,
  PcapWriter,
  type TimestampPrecision,
} from "../../hostctl/pcap/index.js";
import { CORPUS, requireTool, tcpdump, tshark } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "kopi-writer-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function readAll(path: string): CapturedPacket[] {
  const reader = CaptureFileReader.open(path);
  const packets = [...reader];
  reader.close();
  return packets;
}

function key(p: CapturedPacket, precision: TimestampPrecision): string {
  const fraction = precision === "nano" ? p.nanoseconds : Math.floor(p.nanoseconds / 1000);
  return `${p.seconds}.${fraction} ${p.wireLength} ${Buffer.from(p.data).toString("hex")}`;
}

const packetArbitrary = fc.record({
  seconds: fc.integer({ min: 0, max: 0xffffffff }),
  nanoseconds: fc.integer({ min: 0, max: 999_999_999 }),
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  extra: fc.integer({ min: 0, max: 2000 }),
  direction: fc.constantFrom(PacketDirection.Unknown, PacketDirection.Inbound, PacketDirection.Outbound),
  interfaceIndex: fc.integer({ min: 0, max: 2 }),
  comment: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
});

function toPacket(p: fc.infer<typeof packetArbitrary>): CapturedPacket {
  return new CapturedPacket(p.seconds, p.nanoseconds, p.data.length + p.extra, p.data, p.interfaceIndex, p.direction, p.comment);
}

describe("pcap writer", () => {
  it("round-trips packets through the reader at µs and ns precision", () => {
    fc.assert(
      fc.property(fc.array(packetArbitrary, { maxLength: 30 }), fc.constantFrom<TimestampPrecision>("micro", "nano"), (list, precision) => {
        const packets = list.map(toPacket);
        const path = join(scratch, "roundtrip.pcap");
        const writer = new PcapWriter(new BufferedOutput(FdSink.create(path), 256), { linkType: 1, snapshotLength: 262144, precision });
        for (const p of packets) writer.write(p);
        writer.close();
        expect(readAll(path).map((p) => key(p, precision))).toEqual(packets.map((p) => key(p, precision)));
      }),
      { numRuns: 40 },
    );
  });

  it("writes a corpus capture exactly as tcpdump -w does", () => {
    requireTool("tcpdump");
    const input = join(CORPUS, "ethernet/tcpdump/mptcp-v0.pcap");
    const reader = CaptureFileReader.open(input);
    const sink = new MemorySink();
    const writer = new PcapWriter(new BufferedOutput(sink, 1000), { linkType: 1, snapshotLength: reader.info.snapshotLength });
    for (const p of reader) writer.write(p);
    writer.close();
    reader.close();
    expect(Buffer.from(sink.bytes()).equals(tcpdump(["-r", input, "-w", "-"]).stdout)).toBe(true);
  });

  it("is read by tcpdump and tshark without complaint", () => {
    requireTool("tcpdump");
    requireTool("tshark");
    const packets = readAll(join(CORPUS, "ethernet/packetnet/test_stream.pcap"));
    const path = join(scratch, "ours.pcap");
    const writer = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 65535, precision: "nano" });
    for (const p of packets) writer.write(p);
    writer.close();
    const fromTcpdump = tcpdump(["-nn", "-r", path]);
    expect(fromTcpdump.status).toBe(0);
    expect(fromTcpdump.stderr).toBe(`reading from file ${path}, link-type EN10MB (Ethernet), snapshot length 65535\n`);
    expect(fromTcpdump.stdout.toString().trim().split("\n")).toHaveLength(packets.length);
    const fromTshark = tshark(["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"]);
    expect(fromTshark.status).toBe(0);
    expect(fromTshark.stderr).toBe("");
    expect(fromTshark.stdout.trim().split("\n")).toEqual(
      packets.map((p) => `${p.seconds}.${String(p.nanoseconds).padStart(9, "0")}\t${p.wireLength}`),
    );
  });
});

function writePcapng(path: string, packets: CapturedPacket[], precision: TimestampPrecision): void {
  const writer = new PcapngWriter(new BufferedOutput(FdSink.create(path), 512), { precision });
  for (let i = 0; i < 3; i++) writer.addInterface({ linkType: 1, snapshotLength: 262144, name: `kopi${i}`, description: `port ${i}` });
  for (const p of packets) writer.write(p);
  writer.close();
}

describe("pcapng writer", () => {
  it("round-trips timestamps, interfaces, directions and comments", () => {
    fc.assert(
      fc.property(fc.array(packetArbitrary, { maxLength: 30 }), fc.constantFrom<TimestampPrecision>("micro", "nano"), (list, precision) => {
        const packets = list.map(toPacket);
        const path = join(scratch, "roundtrip.pcapng");
        writePcapng(path, packets, precision);
        const back = readAll(path);
        const full = (p: CapturedPacket): string => `${key(p, precision)} ${p.interfaceIndex} ${p.direction} ${p.comment ?? "-"}`;
        expect(back.map(full)).toEqual(packets.map(full));
      }),
      { numRuns: 40 },
    );
  });

  it("is read by tcpdump and by tshark, which sees interfaces, directions and comments", () => {
    requireTool("tcpdump");
    requireTool("tshark");
    const source = readAll(join(CORPUS, "ethernet/tcpdump/dns_tcp.pcap"));
    const packets = source.map(
      (p, i) =>
        new CapturedPacket(p.seconds, p.nanoseconds, p.wireLength, p.data, i % 3, i % 2 ? PacketDirection.Outbound : PacketDirection.Inbound, i === 3 ? "pid 42 (dig)" : undefined),
    );
    const path = join(scratch, "ours.pcapng");
    writePcapng(path, packets, "micro");
    const fromTcpdump = tcpdump(["-nn", "-r", path]);
    expect(fromTcpdump.status).toBe(0);
    expect(fromTcpdump.stderr).toBe(`reading from file ${path}, link-type EN10MB (Ethernet), snapshot length 262144\n`);
    expect(fromTcpdump.stdout.toString().trim().split("\n")).toHaveLength(packets.length);
    const fields = tshark([
      "-r", path, "-T", "fields", "-E", "separator=|",
      "-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.comment", "-e", "frame.len",
    ]);
    expect(fields.status).toBe(0);
    expect(fields.stderr).toBe("");
    expect(fields.stdout.trim().split("\n")).toEqual(
      packets.map((p, i) => `kopi${i % 3}|${i % 2 ? "0x00000002" : "0x00000001"}|${i === 3 ? "pid 42 (dig)" : ""}|${p.wireLength}`),
    );
  });

  it("refuses a packet on an interface it was not told about", () => {
    const writer = new PcapngWriter(new BufferedOutput(new MemorySink()));
    writer.addInterface({ linkType: 1, snapshotLength: 100 });
    expect(() => writer.write(new CapturedPacket(0, 0, 1, Uint8Array.of(1), 1))).toThrow(/interface 1 has not been added/);
  });

  it("writes files that round-trip a corpus pcapng's packets", () => {
    const input = join(CORPUS, "ethernet/tcpdump/of13_ericsson.pcapng");
    const packets = readAll(input);
    const path = join(scratch, "copy.pcapng");
    writePcapng(path, packets, "micro");
    writeFileSync(join(scratch, "copy-check.bin"), readFileSync(path));
    expect(readAll(path).map((p) => key(p, "micro"))).toEqual(packets.map((p) => key(p, "micro")));
  });
});
