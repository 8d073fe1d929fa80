/**
 * libpcap's own filter engine in the same run: the frames are written as a classic pcap file, the C harness
 * (bench/libpcap/filter-bench.c) is built with `cc` against the system's libpcap (Debian's libpcap-dev) and
 * times pcap_compile + pcap_offline_filter over the packets held in memory. Without a C compiler or pcap.h
 * the figures are skipped with a note, never invented.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface LibpcapFigure {
  expression: string;
  packets?: number;
  matches?: number;
  /** cBPF instructions of libpcap's optimised program */
  instructions?: number;
  nsPerPacket?: number;
  runsNs?: number[];
  error?: string;
}

export type LibpcapResult = { available: true; version: string; figures: LibpcapFigure[] } | { available: false; note: string };

const SOURCE = fileURLToPath(new URL("../../bench/libpcap/filter-bench.c", import.meta.url));

/** The harness source, from bench/ (sources) or dist/bench/ (built): both resolve to the repository's file. */
function harnessSource(): string | undefined {
  const candidates = [SOURCE, fileURLToPath(new URL("./libpcap/filter-bench.c", import.meta.url))];
  return candidates.find((p) => existsSync(p));
}

/** Write frames as a classic little-endian microsecond pcap (link type 1), 1 µs apart. */
export function writePcap(path: string, frames: readonly Uint8Array[]): void {
  const fd = openSync(path, "w");
  try {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(262144, 16);
    header.writeUInt32LE(1, 20);
    writeSync(fd, header);
    const chunk = Buffer.alloc(1 << 22);
    let used = 0;
    frames.forEach((f, i) => {
      if (used + 16 + f.length > chunk.length) {
        writeSync(fd, chunk, 0, used);
        used = 0;
      }
      chunk.writeUInt32LE(Math.floor(i / 1e6), used);
      chunk.writeUInt32LE(i % 1e6, used + 4);
      chunk.writeUInt32LE(f.length, used + 8);
      chunk.writeUInt32LE(f.length, used + 12);
      chunk.set(f, used + 16);
      used += 16 + f.length;
    });
    writeSync(fd, chunk, 0, used);
  } finally {
    closeSync(fd);
  }
}

/** Build the harness in `dir`; a note saying why when it cannot be built. */
export function buildHarness(dir: string): { ok: true; binary: string } | { ok: false; note: string } {
  const source = harnessSource();
  if (!source) return { ok: false, note: "bench/libpcap/filter-bench.c is missing" };
  const binary = join(dir, "filter-bench");
  const cc = spawnSync("cc", ["-O2", "-o", binary, source, "-lpcap"], { encoding: "utf8" });
  if (cc.error) return { ok: false, note: `no C compiler (cc): ${cc.error.message}; install build-essential and libpcap-dev` };
  if (cc.status !== 0) return { ok: false, note: `cc could not build the libpcap harness (is libpcap-dev installed?): ${cc.stderr.trim().split("\n")[0]}` };
  return { ok: true, binary };
}

export function libpcapVersion(binaryDir: string): string {
  const r = spawnSync("tcpdump", ["--version"], { encoding: "utf8", cwd: binaryDir });
  const line = `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n").find((l) => l.startsWith("libpcap"));
  return line?.trim() ?? "libpcap (version unknown)";
}

/** Time the expressions with libpcap on the pcap at `pcapPath`. */
export function runLibpcap(dir: string, pcapPath: string, expressions: readonly string[], runs: number): LibpcapResult {
  const built = buildHarness(dir);
  if (!built.ok) return { available: false, note: built.note };
  const r = spawnSync(built.binary, [pcapPath, String(runs), ...expressions], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) return { available: false, note: `the libpcap harness failed: ${(r.stderr || String(r.error)).trim()}` };
  const figures = r.stdout
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as LibpcapFigure);
  return { available: true, version: libpcapVersion(dir), figures };
}
