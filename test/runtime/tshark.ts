/**
 * An independent reading of packets by tshark, for cross-checking the VM's parser: packets are written to one
 * temporary classic pcap per link type and dissected in a single tshark run.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Fields asked of tshark (first occurrence of each: the outermost header). */
export const TSHARK_FIELDS = [
  "frame.protocols", "eth.src", "eth.dst", "eth.type", "vlan.id", "vlan.priority", "ieee8021ad.id",
  "ip.src", "ip.dst", "ip.ttl", "ip.proto", "ip.hdr_len", "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.dsfield.dscp",
  "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim", "ipv6.plen", "ipv6.flow",
  "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.window_size_value",
  "udp.srcport", "udp.dstport", "udp.length",
  "sctp.srcport", "sctp.dstport",
  "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
  "arp.opcode", "arp.hw.type", "arp.proto.type", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
] as const;
export type TsharkField = (typeof TSHARK_FIELDS)[number];
export type TsharkRow = Record<TsharkField, string>;

export function tsharkAvailable(): boolean {
  try {
    execFileSync("tshark", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function pcapFile(linktype: number, packets: readonly { data: Uint8Array; wireLength: number }[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 262144, true);
  v.setUint32(20, linktype, true);
  let at = 24;
  packets.forEach((p, i) => {
    v.setUint32(at, i, true);
    v.setUint32(at + 8, p.data.length, true);
    v.setUint32(at + 12, p.wireLength, true);
    out.set(p.data, at + 16);
    at += 16 + p.data.length;
  });
  return out;
}

/** Dissect packets of one link type; one row per packet, in order. Reassembly is off so each frame stands alone. */
export function tsharkDissect(linktype: number, packets: readonly { data: Uint8Array; wireLength: number }[]): TsharkRow[] {
  const dir = mkdtempSync(join(tmpdir(), "kopi-tshark-"));
  try {
    const file = join(dir, "sample.pcap");
    writeFileSync(file, pcapFile(linktype, packets));
    const args = ["-r", file, "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"];
    for (const f of TSHARK_FIELDS) args.push("-e", f);
    const text = execFileSync("tshark", args, { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] });
    const rows = text.split("\n").filter((l) => l !== "");
    return rows.map((line) => {
      const cols = line.split("\t");
      const row = {} as TsharkRow;
      TSHARK_FIELDS.forEach((f, i) => (row[f] = cols[i] ?? ""));
      return row;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
