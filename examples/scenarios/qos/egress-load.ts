/**
 * The applications' egress load for the QoS scenario: half a second of what the database and the two games
 * send, at their timestamps, as a pcap (`npx tsx examples/scenarios/qos/egress-load.ts OUT.pcap`; run.sh writes it
 * into its run directory and injects it as egress traffic). Every packet uses a 5-tuple of a connection the
 * scenario opened, so the NIC's connection table gives it its owner — the games by cgroup, whatever their ports.
 * Frames are captured headers only; the wire length is the packet's size on the link.
 *
 *   database      tcp 10.0.0.2:5432  → 10.0.0.20:41000     1500 B every 150 µs (80 Mbit/s), the whole time
 *   bob's game    udp 10.0.0.2:51515 → 198.51.100.7:27015  1200 B every 800 µs (12 Mbit/s), first session
 *                 udp 10.0.0.2:40404 → 198.51.100.8:27777  the same rate, second session (new ports)
 *   charlie's     udp 10.0.0.2:62000 → 198.51.100.9:27016  1200 B every 800 µs (12 Mbit/s), the whole time
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ipFrame, type Flow } from "../traffic.js";

export const LOAD_SECONDS = 0.5;
/** Capture time of the first packet (s since the epoch). */
const START = 1_700_000_100;

export interface LoadPacket {
  frame: Uint8Array;
  wireLength: number;
  /** µs since the epoch */
  timeUs: number;
  source: "database" | "bob-game" | "charlie-game";
}

function stream(source: LoadPacket["source"], flow: Omit<Flow, "inbound">, size: number, everyUs: number, fromUs: number, toUs: number): LoadPacket[] {
  const frame = ipFrame({ ...flow, inbound: false });
  const out: LoadPacket[] = [];
  for (let t = fromUs; t < toUs; t += everyUs) out.push({ frame, wireLength: size, timeUs: START * 1e6 + t, source });
  return out;
}

export function egressLoad(): LoadPacket[] {
  const end = LOAD_SECONDS * 1e6;
  const all = [
    ...stream("database", { proto: "tcp", src: "10.0.0.2", sport: 5432, dst: "10.0.0.20", dport: 41000 }, 1500, 150, 0, end),
    ...stream("bob-game", { proto: "udp", src: "10.0.0.2", sport: 51515, dst: "198.51.100.7", dport: 27015 }, 1200, 800, 0, end / 2),
    ...stream("bob-game", { proto: "udp", src: "10.0.0.2", sport: 40404, dst: "198.51.100.8", dport: 27777 }, 1200, 800, end / 2, end),
    ...stream("charlie-game", { proto: "udp", src: "10.0.0.2", sport: 62000, dst: "198.51.100.9", dport: 27016 }, 1200, 800, 100, end),
  ];
  return all.sort((a, b) => a.timeUs - b.timeUs);
}

/** A classic µs pcap of the load (caplen: the headers; orig_len: the wire length). */
export function loadPcap(packets: readonly LoadPacket[]): Uint8Array {
  const total = 24 + packets.reduce((n, p) => n + 16 + p.frame.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let at = 24;
  for (const p of packets) {
    const sec = Math.floor(p.timeUs / 1e6);
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, Math.round(p.timeUs - sec * 1e6), true);
    v.setUint32(at + 8, p.frame.length, true);
    v.setUint32(at + 12, p.wireLength, true);
    out.set(p.frame, at + 16);
    at += 16 + p.frame.length;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: egress-load.ts OUT.pcap\n");
    process.exit(2);
  }
  writeFileSync(file, loadPcap(egressLoad()));
}
