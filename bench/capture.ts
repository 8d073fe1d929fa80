/**
 * Capture pipeline benchmark: `hostctl capture -r BIG -w OUT EXPR` beside `tcpdump -r BIG -w OUT EXPR` on the
 * same generated capture (≥ 1M packets by default), wall time of each process, and whether both kept the same
 * packet records. The lead's bench runner calls benchCapture() and prints the figures as JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BufferedOutput, FdSink } from "../hostctl/pcap/byte-sink.js";
import { CapturedPacket } from "../hostctl/pcap/packet.js";
import { PcapWriter } from "../hostctl/pcap/pcap-writer.js";

export interface CaptureBenchOptions {
  /** Packets in the generated capture (default 1,000,000). */
  packets?: number;
  /** pcap-filter expression both tools apply (default "tcp port 80 or udp port 53"). */
  expression?: string;
  /** Timed runs of each tool; the fastest counts (default 3). */
  runs?: number;
  /** How to run hostctl: the command and leading arguments (default: this build's hostctl CLI under node). */
  hostctl?: string[];
}

export interface CaptureBenchFigures {
  packets: number;
  fileBytes: number;
  expression: string;
  runs: number;
  tcpdumpSeconds: number;
  hostctlSeconds: number;
  /** hostctl time / tcpdump time (goal for issue 3: ≤ 2). */
  ratio: number;
  /** hostctl's fixed cost: the same command on a one-packet capture (process start, imports, filter compile). */
  hostctlStartupSeconds: number;
  /** tcpdump's fixed cost, measured the same way. */
  tcpdumpStartupSeconds: number;
  /** Packets tcpdump kept. */
  matchedPackets: number;
  /** Both outputs hold the same records (the 24-byte file headers aside). */
  identicalRecords: boolean;
}

/** A small deterministic traffic mix: TCP (several ports), UDP/DNS, ICMP, ARP, IPv6 and VLAN-tagged frames. */
function frameFor(index: number): Uint8Array {
  const kind = index % 10;
  const dst = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
  const src = [0x66, 0x77, 0x88, 0x99, 0xaa, (index >> 8) & 0xff];
  const ipv4 = (protocol: number, payload: number[]): number[] => {
    const total = 20 + payload.length;
    return [
      0x45, 0, total >> 8, total & 0xff, (index >> 8) & 0xff, index & 0xff, 0x40, 0, 64, protocol, 0, 0,
      10, 0, (index >> 8) & 0xff, index & 0xff, 192, 168, 1, (index % 250) + 1, ...payload,
    ];
  };
  const tcp = (sport: number, dport: number, data: number): number[] => [
    sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, (index >> 8) & 0xff, index & 0xff, 0, 0, 0, 1,
    0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, ...new Array<number>(data).fill(0x61),
  ];
  const udp = (sport: number, dport: number, data: number): number[] => [
    sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8 + data, 0, 0, ...new Array<number>(data).fill(0x62),
  ];
  let body: number[];
  switch (kind) {
    case 0:
    case 1:
    case 2:
      body = [0x08, 0x00, ...ipv4(6, tcp(40000 + (index % 1000), 80, 40 + (index % 60)))];
      break;
    case 3:
      body = [0x08, 0x00, ...ipv4(6, tcp(443, 50000 + (index % 1000), 100))];
      break;
    case 4:
      body = [0x08, 0x00, ...ipv4(17, udp(30000 + (index % 1000), 53, 30))];
      break;
    case 5:
      body = [0x08, 0x00, ...ipv4(17, udp(5000, 5001, 200))];
      break;
    case 6:
      body = [0x08, 0x00, ...ipv4(1, [8, 0, 0, 0, 0, 1, index >> 8 & 0xff, index & 0xff, ...new Array<number>(32).fill(0x63)])];
      break;
    case 7:
      body = [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, ...src, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, (index % 250) + 2];
      break;
    case 8: {
      const payload = tcp(40000, 22, 60);
      body = [
        0x86, 0xdd, 0x60, 0, 0, 0, 0, payload.length, 6, 64,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (index >> 8) & 0xff, index & 0xff, ...payload,
      ];
      break;
    }
    default:
      body = [0x81, 0x00, 0x00, 0x64, 0x08, 0x00, ...ipv4(6, tcp(40001, 80, 20))];
      break;
  }
  const frame = [...dst, ...src, ...body];
  while (frame.length < 60) frame.push(0);
  return Uint8Array.from(frame);
}

/** Write the benchmark capture (classic pcap, µs, Ethernet) and return its size in bytes. */
export function generateBenchCapture(path: string, packets: number): number {
  const writer = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 262144 });
  const distinctFrames = 4096;
  const frames = Array.from({ length: distinctFrames }, (_, i) => frameFor(i));
  const packet = new CapturedPacket(1700000000, 0, 0, frames[0]!);
  for (let i = 0; i < packets; i++) {
    const frame = frames[i % distinctFrames]!;
    packet.seconds = 1700000000 + Math.floor(i / 1000);
    packet.nanoseconds = (i % 1000) * 1000_000 + (i % 997) * 1000;
    packet.data = frame;
    packet.wireLength = frame.length;
    writer.write(packet);
  }
  writer.close();
  return statSync(path).size;
}

function defaultHostctl(): string[] {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    return [process.execPath, "--import", "tsx", fileURLToPath(new URL("../hostctl/cli.ts", here))];
  }
  return [process.execPath, fileURLToPath(new URL("../hostctl/cli.js", here))];
}

function timeRun(command: string[], what: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command[0]!, command.slice(1), { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} exited with ${result.status}: ${result.stderr.trim()}`);
  return seconds;
}

/** Count the records of a classic pcap written by either tool. */
function countRecords(bytes: Buffer): number {
  let count = 0;
  for (let at = 24; at + 16 <= bytes.length; count++) at += 16 + bytes.readUInt32LE(at + 8);
  return count;
}

export async function benchCapture(options: CaptureBenchOptions = {}): Promise<CaptureBenchFigures> {
  const packets = options.packets ?? 1_000_000;
  const expression = options.expression ?? "tcp port 80 or udp port 53";
  const runs = options.runs ?? 3;
  const hostctl = options.hostctl ?? defaultHostctl();
  const dir = mkdtempSync(join(tmpdir(), "kopi-capture-bench-"));
  try {
    const input = join(dir, "big.pcap");
    const fileBytes = generateBenchCapture(input, packets);
    const tcpdumpOut = join(dir, "tcpdump.pcap");
    const hostctlOut = join(dir, "hostctl.pcap");
    const tiny = join(dir, "tiny.pcap");
    generateBenchCapture(tiny, 1);
    let tcpdumpSeconds = Number.POSITIVE_INFINITY;
    let hostctlSeconds = Number.POSITIVE_INFINITY;
    let tcpdumpStartupSeconds = Number.POSITIVE_INFINITY;
    let hostctlStartupSeconds = Number.POSITIVE_INFINITY;
    for (let run = 0; run < runs; run++) {
      tcpdumpSeconds = Math.min(
        tcpdumpSeconds,
        timeRun(["tcpdump", "-r", input, "-w", tcpdumpOut, "--", expression], "tcpdump"),
      );
      hostctlSeconds = Math.min(
        hostctlSeconds,
        timeRun([...hostctl, "capture", "-r", input, "-w", hostctlOut, "--", expression], "hostctl capture"),
      );
      tcpdumpStartupSeconds = Math.min(
        tcpdumpStartupSeconds,
        timeRun(["tcpdump", "-r", tiny, "-w", join(dir, "tiny-tcpdump.pcap"), "--", expression], "tcpdump"),
      );
      hostctlStartupSeconds = Math.min(
        hostctlStartupSeconds,
        timeRun([...hostctl, "capture", "-r", tiny, "-w", join(dir, "tiny-hostctl.pcap"), "--", expression], "hostctl capture"),
      );
    }
    const expected = readFileSync(tcpdumpOut);
    const actual = readFileSync(hostctlOut);
    return {
      packets,
      fileBytes,
      expression,
      runs,
      tcpdumpSeconds,
      hostctlSeconds,
      ratio: hostctlSeconds / tcpdumpSeconds,
      hostctlStartupSeconds,
      tcpdumpStartupSeconds,
      matchedPackets: countRecords(expected),
      identicalRecords: expected.subarray(24).equals(actual.subarray(24)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
