/**
 * The zero-copy path of `capture -r FILE -w OUT EXPR` (hostctl/pcap/classic-fast-path.ts) against the general
 * path (forced by handing the command the package's own compileFilter) and against tcpdump: the same written
 * file, stderr and exit status — over captures of more chunks than the copier holds at once (records
 * straddling chunk boundaries, chunks holding more records than one filter call takes), records longer than
 * the snapshot length, truncated last records and headers, -c, no filter, nanosecond files, and an output
 * file that cannot be created.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCapture, type CaptureDependencies, type CompileFilter } from "../../hostctl/commands/capture.js";
import { classicFileShape, FAST_PATH_BATCH_RECORDS, FAST_PATH_CHUNK_BYTES } from "../../hostctl/pcap/classic-fast-path.js";
import { compileFilter } from "../../index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { requireTool, tcpdump } from "./helpers.js";

process.env.TZ = "UTC";
const scratch = mkdtempSync(join(tmpdir(), "kopi-fast-path-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  file: Buffer;
  stderr: string;
  status: number;
}

let runs = 0;

/** Run `capture -r input -w OUT …args` in this process; `general` forces the general path. */
async function capture(input: string, args: string[], general: boolean): Promise<Outcome> {
  const out = join(scratch, `out-${runs++}.pcap`);
  const stdout = openSync(join(scratch, "stdout"), "w");
  let stderr = "";
  const program = new Command().name("hostctl").exitOverride();
  const dependencies: CaptureDependencies = { stdoutFd: stdout, writeError: (text) => (stderr += text) };
  // an injected compiler turns the fast path off (it needs a VM of its own)
  if (general) dependencies.compileFilter = compileFilter as unknown as CompileFilter;
  registerCapture(program, dependencies);
  process.exitCode = undefined;
  try {
    await program.parseAsync(["capture", "-r", input, "-w", out, ...args], { from: "user" });
  } finally {
    closeSync(stdout);
  }
  const status = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exitCode = undefined;
  return { file: existsSync(out) ? readFileSync(out) : Buffer.alloc(0), stderr, status };
}

function viaTcpdump(input: string, args: string[]): Outcome {
  const out = join(scratch, `tcpdump-${runs++}.pcap`);
  const result = tcpdump(["-r", input, "-w", out, ...args]);
  return { file: readFileSync(out), stderr: result.stderr.replace(/^tcpdump: /gm, "hostctl: "), status: result.status };
}

/** Deterministic pseudo-random numbers (a 32-bit LCG). */
function numbers(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
}

/** Ethernet / IPv4 / TCP or UDP frame to one of a few ports, `length` bytes (at least 54). */
function frame(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00], 0);
  const udp = random() % 3 === 0;
  bytes[14] = 0x45;
  view.setUint16(16, length - 14);
  bytes[22] = 64;
  bytes[23] = udp ? 17 : 6;
  view.setUint32(26, 0x0a000000 | (random() & 0xffff));
  view.setUint32(30, 0xc0a80101);
  const ports = [80, 53, 443, 22, 8080];
  view.setUint16(34, 1024 + (random() % 60000));
  view.setUint16(36, ports[random() % ports.length]!);
  if (!udp) bytes[46] = 0x50;
  else view.setUint16(38, length - 34);
  return bytes;
}

interface Layout {
  bytes: Uint8Array;
  /** file offset where each record starts (and the end of the file) */
  recordStarts: number[];
}

/**
 * A little-endian classic pcap file: mostly 60-byte frames (so one read chunk holds more records than one
 * filter call takes) and runs of large ones, some longer than `snaplen`, until `size` bytes.
 */
function pcapFile(size: number, options: { snaplen: number; nano?: boolean; seed: number }): Layout {
  const random = numbers(options.seed);
  const bytes = new Uint8Array(size + 70_000);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, options.nano ? 0xa1b23c4d : 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, options.snaplen, true);
  view.setUint32(20, 1, true);
  let at = 24;
  const recordStarts: number[] = [];
  let index = 0;
  while (at < size) {
    const large = index % 1000 >= 980;
    const wire = large ? 60 + (random() % 3000) : 60;
    const caplen = Math.min(wire, large && random() % 4 === 0 ? wire : 2000);
    recordStarts.push(at);
    view.setUint32(at, 1_700_000_000 + (index >> 10), true);
    view.setUint32(at + 4, options.nano ? (index * 7919) % 1e9 : (index * 7919) % 1e6, true);
    view.setUint32(at + 8, caplen, true);
    view.setUint32(at + 12, wire, true);
    bytes.set(frame(random, wire).subarray(0, caplen), at + 16);
    at += 16 + caplen;
    index++;
  }
  recordStarts.push(at);
  return { bytes: bytes.slice(0, at), recordStarts };
}

const EXPRESSION = "tcp port 80 or udp port 53";
let big: Layout;
let bigPath: string;

beforeAll(() => {
  requireTool("tcpdump");
  // snaplen 1800: records of up to 2000 captured bytes are longer than it and get cut, as libpcap cuts them
  // five chunks: the copier's three chunk slots are each used again
  big = pcapFile(4 * FAST_PATH_CHUNK_BYTES + 1_500_000, { snaplen: 1800, seed: 7 });
  bigPath = join(scratch, "big.pcap");
  writeFileSync(bigPath, big.bytes);
});

/** The fast path, the general path and tcpdump agree on this input and these arguments. */
async function expectAllAgree(input: string, args: string[]): Promise<Outcome> {
  expect(classicFileShape(input), "the input takes the fast path").toBeDefined();
  const fast = await capture(input, args, false);
  const general = await capture(input, args, true);
  const theirs = viaTcpdump(input, args);
  expect(fast.stderr).toBe(general.stderr);
  expect(fast.status).toBe(general.status);
  expect(fast.file.equals(general.file), "fast and general paths wrote different files").toBe(true);
  expect(fast.stderr).toBe(theirs.stderr);
  expect(fast.status).toBe(theirs.status);
  // tcpdump writes its own snapshot length into the header; the records must be the same bytes
  expect(fast.file.subarray(24).equals(theirs.file.subarray(24)), "records differ from tcpdump's").toBe(true);
  return fast;
}

describe("capture -r -w fast path", () => {
  it("copies the kept records of a file of five chunks, records straddling the chunk boundaries", async () => {
    // the first read ends at 24 + FAST_PATH_CHUNK_BYTES: some record must start before it and end after it
    const boundary = 24 + FAST_PATH_CHUNK_BYTES;
    expect(big.recordStarts.some((start, i) => start < boundary && big.recordStarts[i + 1]! > boundary)).toBe(true);
    // and the first chunk holds more records than one filter call takes
    expect(big.recordStarts.filter((start) => start < boundary).length).toBeGreaterThan(FAST_PATH_BATCH_RECORDS);
    const kept = await expectAllAgree(bigPath, [EXPRESSION]);
    expect(kept.status).toBe(0);
    expect(kept.file.length).toBeGreaterThan(24 + 100_000);
    expect(kept.file.length).toBeLessThan(big.bytes.length / 2);
  });

  it("copies every record when there is no filter", async () => {
    await expectAllAgree(bigPath, []);
  });

  it("stops after -c packets, including inside the first filter call", async () => {
    await expectAllAgree(bigPath, ["-c", "5", EXPRESSION]);
    await expectAllAgree(bigPath, ["-c", "15000", EXPRESSION]);
  });

  it("writes the records before a truncated last record, then reports it", async () => {
    const last = big.recordStarts.at(-2)!;
    for (const cut of [last + 16 + 3, last + 7]) {
      const path = join(scratch, `truncated-${cut}.pcap`);
      writeFileSync(path, big.bytes.subarray(0, cut));
      const outcome = await expectAllAgree(path, [EXPRESSION]);
      expect(outcome.status).toBe(1);
      expect(outcome.stderr).toMatch(/truncated dump file/);
    }
  });

  it("reports a truncated record cut at a chunk boundary", async () => {
    const boundary = 24 + FAST_PATH_CHUNK_BYTES;
    const straddling = big.recordStarts.findIndex((start, i) => start < boundary && big.recordStarts[i + 1]! > boundary);
    const path = join(scratch, "truncated-at-boundary.pcap");
    writeFileSync(path, big.bytes.subarray(0, big.recordStarts[straddling + 1]! - 1));
    expect((await expectAllAgree(path, [])).status).toBe(1);
  });

  it("reports an impossible capture length after the records before it", async () => {
    const bad = Buffer.from(big.bytes.subarray(0, big.recordStarts[20_000]! + 16));
    bad.writeUInt32LE(300_000, big.recordStarts[20_000]! + 8);
    const path = join(scratch, "bad-caplen.pcap");
    writeFileSync(path, bad);
    const outcome = await expectAllAgree(path, [EXPRESSION]);
    expect(outcome.stderr).toMatch(/invalid packet capture length 300000/);
  });

  it("copies nanosecond files with --nano", async () => {
    const nano = pcapFile(300_000, { snaplen: 262144, nano: true, seed: 11 });
    const path = join(scratch, "nano.pcap");
    writeFileSync(path, nano.bytes);
    const outcome = await expectAllAgree(path, ["--nano", EXPRESSION]);
    expect(outcome.file.readUInt32LE(0)).toBe(0xa1b23c4d);
  });

  it("reports an output file it cannot create", async () => {
    const out = join(scratch, "no-such-dir", "out.pcap");
    const stderr: string[] = [];
    for (const general of [false, true]) {
      const program = new Command().name("hostctl").exitOverride();
      let text = "";
      const dependencies: CaptureDependencies = { writeError: (t) => (text += t) };
      if (general) dependencies.compileFilter = compileFilter as unknown as CompileFilter;
      registerCapture(program, dependencies);
      process.exitCode = undefined;
      await program.parseAsync(["capture", "-r", bigPath, "-w", out, EXPRESSION], { from: "user" });
      expect(process.exitCode).toBe(1);
      process.exitCode = undefined;
      stderr.push(text);
    }
    expect(stderr[0]).toMatch(/no-such-dir\/out\.pcap: No such file or directory/);
    expect(stderr[0]).toBe(stderr[1]);
    const viaTool = tcpdump(["-r", bigPath, "-w", out, EXPRESSION]);
    expect(stderr[0]).toBe(viaTool.stderr.replace(/^tcpdump: /gm, "hostctl: "));
  });

  it("reports filter errors as the general path does", async () => {
    const fast = await capture(bigPath, ["tcp port"], false);
    const general = await capture(bigPath, ["tcp port"], true);
    expect(fast.stderr).toBe(general.stderr);
    expect(fast.status).toBe(1);
  });
});

describe("OverlayVM.runInPlace", () => {
  it("gives run()'s verdicts for frames written straight into VM memory, and refuses a stale area", () => {
    const filter = compileFilter(EXPRESSION, { linktype: 1 });
    const vm = OverlayVM.createSync();
    vm.load(filter.program);
    const random = numbers(3);
    const frames = Array.from({ length: 200 }, (_, i) => frame(random, 60 + (i % 7) * 50));
    const area = vm.prepareInPlace(frames.length, 64 * 1024);
    const memory = new Uint8Array(vm.memory.buffer);
    const descriptors = new Uint32Array(vm.memory.buffer, area.descriptors, 4 * frames.length);
    let at = 0;
    frames.forEach((f, i) => {
      memory.set(f, area.frames + at);
      descriptors.set([at, f.length, f.length, 0], 4 * i);
      at += f.length + 3; // frames need not be adjacent
    });
    vm.runInPlace(area, frames.length, 1);
    const inPlace = new Uint32Array(vm.memory.buffer, area.verdicts, frames.length).slice();
    const expected = vm.run(frames).verdicts;
    expect([...inPlace]).toEqual([...expected]);
    expect(inPlace.some((v) => v === 1) && inPlace.some((v) => v === 0)).toBe(true);
    expect(() => vm.runInPlace(area, frames.length, 1)).toThrow(/overwritten/);
  });
});
