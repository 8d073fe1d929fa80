/**
 * Damaged packets print as tcpdump prints them: frames of the protocols kopi decodes, with random bytes
 * overwritten and random truncation, go through tcpdump and through our printer. Every line must be equal,
 * except where tcpdump decoded a protocol kopi leaves generic — and then kopi's line must be that generic form
 * ("UDP, length N", " ip-proto-N LEN", "sctp LEN"), never a wrong decode. Deterministic (fixed seeds).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BufferedOutput, CapturedPacket, CaptureFileReader, FdSink, PcapWriter } from "../../hostctl/pcap/index.js";
import { PacketPrinter } from "../../hostctl/print/packet-printer.js";
import { CORPUS, optionsFromFlags, requireTool, tcpdump } from "./helpers.js";

process.env.TZ = "UTC";
const scratch = mkdtempSync(join(tmpdir(), "kopi-printer-fuzz-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sources = [
  "ethernet/packetnet/test_stream.pcap",
  "ethernet/tcpdump/dns_tcp.pcap",
  "ethernet/tcpdump/dns_udp.pcap",
  "ethernet/tcpdump/edns-opts.pcap",
  "ethernet/packetnet/ipv6_ndp.pcap",
  "ethernet/tcpdump/icmpv6.pcap",
  "ethernet/tcpdump/print-flags.pcap",
  "ethernet/tcpdump/mptcp-v0.pcap",
  "ethernet/packetnet/ICMPv4.pcap",
  "ethernet/packetnet/arp_request_response.pcap",
  "ethernet/tcpdump/IGMP_V2.pcap",
  "libpcap-filter/ipv6_ext_headers.pcap",
  "ethernet/tcpdump/various_gre.pcap",
  "ethernet/packetnet/gre_all_options.pcap",
  "ethernet/tcpdump/ntp.pcap",
  "ethernet/tcpdump/eapon1.pcap",
  "ethernet/tcpdump/dhcpv4v6-rfc5970-rfc8572.pcap",
  "libpcap-filter/dhcp-rfc3004.pcap",
];

const frames: Uint8Array[] = [];
for (const name of sources) {
  const reader = CaptureFileReader.open(join(CORPUS, name));
  for (const packet of reader) frames.push(packet.data.slice());
  reader.close();
}

const GENERIC = /(UDP, length \d+|UDP, bad length \d+ > \d+| ip-proto-\d+ \d+| [a-z0-9-]+ \d+|: (sctp|dccp) \d+|: igmp (pimv1|dvmrp))$/;

const damage = fc.record({
  frame: fc.integer({ min: 0, max: frames.length - 1 }),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

for (const [seed, flags] of [
  [7, ["-nn"]],
  [8, ["-nn", "-v"]],
  [9, ["-nn", "-vvv", "-e"]],
] as Array<[number, string[]]>) {
  describe(`damaged frames, tcpdump ${flags.join(" ")}`, () => {
    requireTool("tcpdump");
    it(`print as tcpdump prints them (seed ${seed})`, () => {
      const cases = fc.sample(damage, { seed, numRuns: 2000 });
      const packets = cases.map((c, i) => {
        const bytes = Uint8Array.from(frames[c.frame]!);
        // Keep the Ethernet header: damage starts at the network layer.
        for (const [at, value] of c.edits) bytes[14 + (at % (bytes.length - 14))] = value;
        const kept = c.cut === undefined ? bytes : bytes.subarray(0, 1 + (c.cut % bytes.length));
        return new CapturedPacket(1700000000 + i, 0, bytes.length, kept);
      });
      const path = join(scratch, `damaged-${seed}.pcap`);
      const writer = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 262144 });
      for (const packet of packets) writer.write(packet);
      writer.close();

      const expected = tcpdump([...flags, "-r", path]).stdout.toString("latin1").split("\n");
      const printer = new PacketPrinter(1, optionsFromFlags(flags));
      const actual = packets.map((packet, i) => printer.format(packet, i + 1)).join("").split("\n");
      expect(actual.length).toBe(expected.length);
      let generic = 0;
      for (let i = 0; i < expected.length; i++) {
        if (actual[i] === expected[i]) continue;
        expect(actual[i], `line ${i + 1}: tcpdump says\n${expected[i]}`).toMatch(GENERIC);
        generic++;
      }
      // Nearly every damaged packet is one kopi decodes in full.
      expect(generic).toBeLessThan(expected.length / 50);
    });
  });
}
