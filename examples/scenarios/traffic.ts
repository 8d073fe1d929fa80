/**
 * The scenarios' traffic, written as pcap files beside each scenario (`npx tsx examples/scenarios/traffic.ts`
 * rewrites them; test/scenarios checks the files are what this produces). Hosts: this machine 10.0.0.2
 * (MAC 02:00:00:00:00:02), its gateway 10.0.0.1, clients 10.0.0.9 and 10.0.0.66.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const HOST_MAC = [0x02, 0, 0, 0, 0, 0x02];
const PEER_MAC = [0x02, 0, 0, 0, 0, 0x09];
/** the MAC nobody on this network has: the flood's source */
const ROGUE_MAC = [0x02, 0x66, 0x66, 0x66, 0x66, 0x66];
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function ip4(text: string): number[] {
  return text.split(".").map(Number);
}

function checksum(bytes: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Flow {
  proto: "tcp" | "udp";
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** TCP flags (default ACK|PSH) */
  flags?: number;
  payload?: string;
  /** towards the host: peer MAC → host MAC; else the reverse */
  inbound: boolean;
}

/** An Ethernet/IPv4 TCP or UDP frame with correct IP checksum. */
export function ipFrame(f: Flow): Uint8Array {
  const payload = new TextEncoder().encode(f.payload ?? "");
  const l4 = f.proto === "tcp" ? 20 : 8;
  const ipLen = 20 + l4 + payload.length;
  const b = new Uint8Array(Math.max(60, 14 + ipLen));
  b.set(f.inbound ? HOST_MAC : PEER_MAC, 0);
  b.set(f.inbound ? PEER_MAC : HOST_MAC, 6);
  b[12] = 0x08;
  b[13] = 0x00;
  const ip = 14;
  b[ip] = 0x45;
  b[ip + 2] = ipLen >> 8;
  b[ip + 3] = ipLen & 0xff;
  b[ip + 6] = 0x40; // DF
  b[ip + 8] = 64;
  b[ip + 9] = f.proto === "tcp" ? 6 : 17;
  b.set(ip4(f.src), ip + 12);
  b.set(ip4(f.dst), ip + 16);
  const c = checksum(b, ip, ip + 20);
  b[ip + 10] = c >> 8;
  b[ip + 11] = c & 0xff;
  const t = ip + 20;
  b[t] = f.sport >> 8;
  b[t + 1] = f.sport & 0xff;
  b[t + 2] = f.dport >> 8;
  b[t + 3] = f.dport & 0xff;
  if (f.proto === "tcp") {
    b[t + 4] = 0;
    b[t + 7] = 1; // seq 1
    b[t + 11] = 1; // ack 1
    b[t + 12] = 0x50;
    b[t + 13] = f.flags ?? 0x18;
    b[t + 14] = 0xff;
    b[t + 15] = 0xff;
  } else {
    b[t + 4] = (8 + payload.length) >> 8;
    b[t + 5] = (8 + payload.length) & 0xff;
  }
  b.set(payload, t + l4);
  return b;
}

/** An ARP request "who has `target` tell `sender`" from `mac`, broadcast. */
export function arpRequest(mac: readonly number[], sender: string, target: string): Uint8Array {
  const b = new Uint8Array(60);
  b.set(BROADCAST, 0);
  b.set(mac, 6);
  b[12] = 0x08;
  b[13] = 0x06;
  b.set([0, 1, 0x08, 0x00, 6, 4, 0, 1], 14);
  b.set(mac, 22);
  b.set(ip4(sender), 28);
  b.set(ip4(target), 38);
  return b;
}

/** A classic pcap (microseconds, Ethernet) of frames one millisecond apart from `start` seconds. */
export function pcapBytes(frames: readonly Uint8Array[], start = 1_700_000_000): Uint8Array {
  const total = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 262144, true);
  v.setUint32(20, 1, true);
  let at = 24;
  frames.forEach((f, i) => {
    v.setUint32(at, start, true);
    v.setUint32(at + 4, i * 1000, true);
    v.setUint32(at + 8, f.length, true);
    v.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

/** Every scenario file this script writes: path relative to examples/scenarios → its frames. */
export function scenarioTraffic(): Record<string, Uint8Array[]> {
  const flood = Array.from({ length: 40 }, (_, i) => arpRequest(ROGUE_MAC, "10.0.0.66", `10.0.0.${1 + (i % 20)}`));
  const client = (dport: number, sport: number, src = "10.0.0.9", payload = "query") => ipFrame({ proto: "tcp", src, sport, dst: "10.0.0.2", dport, inbound: true, payload });
  const reply = (sport: number, dst: string, dport: number, payload = "rows") => ipFrame({ proto: "tcp", src: "10.0.0.2", sport, dst, dport, inbound: false, payload });
  return {
    "debugging/arp-flood.pcap": flood,
    "debugging/postgres-replies.pcap": [reply(5432, "10.0.0.9", 50000), reply(5432, "10.0.0.9", 50000)],
    "port-partitioning/clients.pcap": [
      client(5432, 50000), // a client of bob's Postgres
      client(3306, 50001), // a client of charlie's MySQL
      client(5432, 40000, "10.0.0.66"), // to mallory's process on 5432: a violation
      client(3306, 40001, "10.0.0.66"), // to mallory's process on 3306: a violation
      client(5432, 50002),
      client(3306, 50003),
    ],
    "port-partitioning/bob-5432.pcap": [reply(5432, "10.0.0.9", 50000), reply(5432, "10.0.0.9", 50002)],
    "port-partitioning/charlie-3306.pcap": [reply(3306, "10.0.0.9", 50001), reply(3306, "10.0.0.9", 50003)],
    "port-partitioning/mallory-5432.pcap": [reply(5432, "10.0.0.66", 40000)],
    "port-partitioning/mallory-3306.pcap": [reply(3306, "10.0.0.66", 40001)],
    "port-partitioning/bob-3306.pcap": [reply(3306, "10.0.0.9", 50009)],
    "port-partitioning/forged.pcap": [reply(5432, "10.0.0.9", 50000)],
    // the game picks new ports every session: only its cgroup says what it is
    "qos/bob-game-session-1.pcap": Array.from({ length: 5 }, (_, i) => ipFrame({ proto: "udp", src: "10.0.0.2", sport: 51515, dst: "198.51.100.7", dport: 27015, inbound: false, payload: `move ${i}` })),
    "qos/bob-game-session-2.pcap": Array.from({ length: 3 }, (_, i) => ipFrame({ proto: "udp", src: "10.0.0.2", sport: 40404, dst: "198.51.100.8", dport: 27777, inbound: false, payload: `move ${i}` })),
    "qos/charlie-game.pcap": Array.from({ length: 4 }, (_, i) => ipFrame({ proto: "udp", src: "10.0.0.2", sport: 62000, dst: "198.51.100.9", dport: 27016, inbound: false, payload: `move ${i}` })),
    "qos/database.pcap": Array.from({ length: 6 }, () => reply(5432, "10.0.0.20", 41000)),
    "blocking-io/request.pcap": [ipFrame({ proto: "udp", src: "10.0.0.9", sport: 5000, dst: "10.0.0.2", dport: 5555, inbound: true, payload: "ping" })],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, frames] of Object.entries(scenarioTraffic())) writeFileSync(fileURLToPath(new URL(`./${path}`, import.meta.url)), pcapBytes(frames));
}
