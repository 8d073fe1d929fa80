/**
 * The pcapng record path of `capture -r FILE.pcapng -w OUT` (hostctl/pcap/pcapng-fast-path.ts) against the
 * general path (forced by handing the command the package's own compileFilter): the same written file (pcap
 * and pcapng), stderr and exit status — over every pcapng of the corpus, generated files with several
 * interfaces and sections, odd if_tsresol/if_tsoffset, SPBs, options, big-endian sections, batches cut by
 * read-buffer boundaries, truncated and malformed files; and which invocations fall back to the general path.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { registerCapture, type CaptureDependencies, type CompileFilter } from "../../hostctl/commands/capture.js";
import { PCAPNG_FAST_PATH_BATCH_RECORDS, PCAPNG_FAST_PATH_CHUNK_BYTES, PcapngRecordCopier } from "../../hostctl/pcap/pcapng-fast-path.js";
import { compileFilter } from "../../index.js";
import { CORPUS } from "./helpers.js";

process.env.TZ = "UTC";
const scratch = mkdtempSync(join(tmpdir(), "kopi-pcapng-fast-path-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

interface Outcome {
  file: Buffer;
  stderr: string;
  status: number;
  /** whether the record path ran */
  recordPath: boolean;
}

let runs = 0;

/** Run `capture -r input -w OUT …args` in this process; `general` forces the general path. */
async function capture(input: string, args: string[], general: boolean): Promise<Outcome> {
  const out = join(scratch, `out-${runs++}`);
  const stdout = openSync(join(scratch, "stdout"), "w");
  let stderr = "";
  const program = new Command().name("hostctl").exitOverride();
  const dependencies: CaptureDependencies = { stdoutFd: stdout, writeError: (text) => (stderr += text) };
  if (general) dependencies.compileFilter = compileFilter as unknown as CompileFilter;
  registerCapture(program, dependencies);
  const copy = vi.spyOn(PcapngRecordCopier.prototype, "copy");
  process.exitCode = undefined;
  try {
    await program.parseAsync(["capture", "-r", input, "-w", out, ...args], { from: "user" });
  } finally {
    closeSync(stdout);
  }
  const status = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exitCode = undefined;
  const recordPath = copy.mock.calls.length > 0;
  copy.mockRestore();
  return { file: existsSync(out) ? readFileSync(out) : Buffer.alloc(0), stderr, status, recordPath };
}

/** The record path runs (unless the file cannot even be opened) and writes what the general path writes. */
async function expectSameAsGeneral(input: string, args: string[]): Promise<Outcome> {
  const fast = await capture(input, args, false);
  const general = await capture(input, args, true);
  expect(general.recordPath).toBe(false);
  const opened = general.stderr.startsWith("reading from file");
  expect(fast.recordPath, "the record path ran").toBe(opened);
  expect(fast.stderr).toBe(general.stderr);
  expect(fast.status).toBe(general.status);
  expect(fast.file.equals(general.file), "identical output file").toBe(true);
  return fast;
}

function pcapngFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...pcapngFiles(path));
    else if (entry.endsWith(".pcapng")) found.push(path);
  }
  return found.sort();
}

const VARIANTS: string[][] = [[], ["tcp or udp"], ["-c", "2"], ["--pcapng"], ["--pcapng", "ip6 or arp"], ["--nano"], ["--nano", "--pcapng", "-c", "3"]];

describe("the corpus's pcapng files", () => {
  const files = pcapngFiles(CORPUS);
  it("holds pcapng files to check", () => expect(files.length).toBeGreaterThanOrEqual(10));
  for (const file of files) {
    it(`${file.slice(CORPUS.length + 1)}: the same output, messages and status`, async () => {
      for (const args of VARIANTS) await expectSameAsGeneral(file, args);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Generated pcapng files

interface Block {
  type: number;
  body: Uint8Array;
}

function options(list: { code: number; value: Uint8Array }[], end: boolean, le: boolean): Uint8Array {
  const parts: number[] = [];
  const push16 = (n: number): void => {
    if (le) parts.push(n & 0xff, n >> 8);
    else parts.push(n >> 8, n & 0xff);
  };
  for (const { code, value } of list) {
    push16(code);
    push16(value.length);
    parts.push(...value);
    while (parts.length % 4) parts.push(0);
  }
  if (end && list.length > 0) parts.push(0, 0, 0, 0);
  return Uint8Array.from(parts);
}

function blockBytes({ type, body }: Block, le: boolean): Uint8Array {
  const total = 12 + body.length;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, le);
  view.setUint32(4, total, le);
  bytes.set(body, 8);
  view.setUint32(total - 4, total, le);
  return bytes;
}

function shb(le: boolean): Block {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  view.setUint32(0, 0x1a2b3c4d, le);
  view.setUint16(4, 1, le);
  view.setBigInt64(8, -1n, le);
  return { type: 0x0a0d0d0a, body };
}

interface InterfaceSpec {
  name?: string;
  tsresol?: number;
  tsoffset?: bigint;
}

function idb(spec: InterfaceSpec, snaplen: number, le: boolean): Block {
  const list: { code: number; value: Uint8Array }[] = [];
  if (spec.name !== undefined) list.push({ code: 2, value: new TextEncoder().encode(spec.name) });
  if (spec.tsresol !== undefined) list.push({ code: 9, value: Uint8Array.of(spec.tsresol) });
  if (spec.tsoffset !== undefined) {
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigInt64(0, spec.tsoffset, le);
    list.push({ code: 14, value });
  }
  const opts = options(list, true, le);
  const body = new Uint8Array(8 + opts.length);
  const view = new DataView(body.buffer);
  view.setUint16(0, 1, le);
  view.setUint32(4, snaplen, le);
  body.set(opts, 8);
  return { type: 1, body };
}

/** Ethernet/IPv4 TCP or UDP frame of `length` bytes (≥ 42) with a port from a small set. */
function frame(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00], 0);
  bytes[14] = 0x45;
  view.setUint16(16, length - 14);
  bytes[22] = 64;
  bytes[23] = seed % 3 === 0 ? 17 : 6;
  view.setUint32(26, 0x0a000000 | (seed & 0xffff));
  view.setUint32(30, 0xc0a80101);
  view.setUint16(34, 1024 + (seed % 50000));
  view.setUint16(36, [80, 53, 443, 22][seed % 4]!);
  return bytes;
}

interface PacketSpec {
  kind: "epb" | "spb" | "pb";
  iface: number;
  high: number;
  low: number;
  length: number;
  caplen: number;
  flags?: number;
  comment?: string;
  endOfOptions: boolean;
  seed: number;
}

function packetBlock(p: PacketSpec, le: boolean): Block {
  const data = frame(p.seed, p.length).subarray(0, p.caplen);
  const padded = (data.length + 3) & ~3;
  if (p.kind === "spb") {
    const body = new Uint8Array(4 + padded);
    new DataView(body.buffer).setUint32(0, p.length, le);
    body.set(data, 4);
    return { type: 3, body };
  }
  const list: { code: number; value: Uint8Array }[] = [];
  if (p.kind === "epb" && p.flags !== undefined) {
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, p.flags, le);
    list.push({ code: 2, value });
  }
  if (p.kind === "epb" && p.comment !== undefined) list.push({ code: 1, value: new TextEncoder().encode(p.comment) });
  const opts = options(list, p.endOfOptions, le);
  const body = new Uint8Array(20 + padded + opts.length);
  const view = new DataView(body.buffer);
  if (p.kind === "pb") view.setUint16(0, p.iface, le);
  else view.setUint32(0, p.iface, le);
  view.setUint32(4, p.high, le);
  view.setUint32(8, p.low, le);
  view.setUint32(12, data.length, le);
  view.setUint32(16, p.length, le);
  body.set(data, 20);
  body.set(opts, 20 + padded);
  return { type: p.kind === "epb" ? 6 : 2, body };
}

interface Section {
  interfaces: InterfaceSpec[];
  packets: PacketSpec[];
}

function pcapng(sections: Section[], snaplen: number, le: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const section of sections) {
    parts.push(blockBytes(shb(le), le));
    for (const spec of section.interfaces) parts.push(blockBytes(idb(spec, snaplen, le), le));
    // an unknown block (a Name Resolution Block) is skipped
    parts.push(blockBytes({ type: 4, body: new Uint8Array(4) }, le));
    for (const packet of section.packets) parts.push(blockBytes(packetBlock(packet, le), le));
  }
  return Buffer.concat(parts);
}

const interfaceSpec = fc.record(
  {
    name: fc.constantFrom("eth0", "wlan1", "é-port"),
    tsresol: fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0x80, max: 0x80 + 63 })),
    tsoffset: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
  },
  { requiredKeys: [] },
);

const packetSpec = (interfaces: number): fc.Arbitrary<PacketSpec> =>
  fc
    .record({
      kind: fc.constantFrom<PacketSpec["kind"]>("epb", "epb", "epb", "spb", "pb"),
      iface: fc.integer({ min: 0, max: interfaces - 1 }),
      high: fc.oneof(fc.integer({ min: 0, max: 0x180000 }), fc.nat({ max: 0xffffffff })),
      low: fc.nat({ max: 0xffffffff }),
      length: fc.integer({ min: 42, max: 300 }),
      cut: fc.nat({ max: 300 }),
      flags: fc.option(fc.nat({ max: 0xffff }), { nil: undefined }),
      comment: fc.option(fc.constantFrom("hi", "pid 42 ssh", "ünï"), { nil: undefined }),
      endOfOptions: fc.boolean(),
      seed: fc.nat(),
    })
    // an SPB's interface is always 0
    .map(({ cut, ...p }) => ({ ...p, iface: p.kind === "spb" ? 0 : p.iface, caplen: Math.min(p.length, cut + 1) }));

const section = fc
  .array(interfaceSpec, { minLength: 1, maxLength: 3 })
  .chain((interfaces) => fc.record({ interfaces: fc.constant(interfaces), packets: fc.array(packetSpec(interfaces.length), { maxLength: 12 }) }));

const ARG_CHOICES: string[][] = [[], ["--pcapng"], ["--nano"], ["--pcapng", "--nano"], ["udp"], ["--pcapng", "tcp port 80"], ["-c", "4", "tcp"]];

describe("generated pcapng files", () => {
  it("byte-identical to the general path: interfaces, sections, tsresol/tsoffset, SPB/PB, options, byte orders", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(section, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.constantFrom(...ARG_CHOICES), async (sections, le, args) => {
        const path = join(scratch, `gen-${runs++}.pcapng`);
        writeFileSync(path, pcapng(sections, 300, le));
        await expectSameAsGeneral(path, args);
      }),
      { numRuns: 60, seed: 20261121 },
    );
  });

  it("the same errors, after the same records, for files cut anywhere or with a damaged byte", async () => {
    const whole = pcapng(
      [
        { interfaces: [{ tsresol: 9 }, { name: "b" }], packets: Array.from({ length: 6 }, (_, i) => ({ kind: "epb" as const, iface: i % 2, high: 0, low: i * 1000, length: 60, caplen: 60, flags: 1, endOfOptions: true, seed: i })) },
        { interfaces: [{}], packets: [{ kind: "spb", iface: 0, high: 0, low: 0, length: 60, caplen: 60, endOfOptions: false, seed: 9 }] },
      ],
      200,
      true,
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: whole.length }), fc.option(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { nil: undefined }), fc.constantFrom<string[]>([], ["--pcapng"], ["udp"]), async (cut, damage, args) => {
        const bytes = Buffer.from(whole.subarray(0, cut));
        if (damage !== undefined) bytes[damage[0] % bytes.length] = damage[1];
        const path = join(scratch, `cut-${runs++}.pcapng`);
        writeFileSync(path, bytes);
        const fast = await capture(path, args, false);
        const general = await capture(path, args, true);
        expect(fast.stderr).toBe(general.stderr);
        expect(fast.status).toBe(general.status);
        expect(fast.file.equals(general.file)).toBe(true);
      }),
      { numRuns: 120, seed: 7 },
    );
  });

  it("keeps the error messages of malformed files", async () => {
    const good = { kind: "epb" as const, iface: 0, high: 0, low: 5, length: 60, caplen: 60, endOfOptions: true, seed: 1 };
    const cases: [string, Uint8Array][] = [
      ["no interface", pcapng([{ interfaces: [{}], packets: [{ ...good, iface: 1 }] }], 300, true)],
      ["caplen over snaplen", pcapng([{ interfaces: [{}], packets: [good, { ...good, length: 200, caplen: 200 }] }], 100, true)],
    ];
    for (const [what, bytes] of cases) {
      const path = join(scratch, `bad-${runs++}.pcapng`);
      writeFileSync(path, bytes);
      const fast = await expectSameAsGeneral(path, []);
      expect(fast.status, what).toBe(1);
      expect(fast.stderr, what).toMatch(/hostctl: pcap_loop: (a packet arrived on interface 1|invalid packet capture length 200)/);
    }
  });

  it("is byte-identical over several read buffers and filter batches", async () => {
    const count = Math.ceil((PCAPNG_FAST_PATH_CHUNK_BYTES * 2.5) / 1300) + PCAPNG_FAST_PATH_BATCH_RECORDS;
    const packets: PacketSpec[] = [];
    for (let i = 0; i < count; i++) {
      const length = i % 7 === 0 ? 1200 + (i % 300) : 60;
      packets.push({ kind: i % 11 === 0 ? "spb" : "epb", iface: i % 11 === 0 ? 0 : i % 2, high: 0, low: i * 997, length, caplen: length, flags: i % 5 === 0 ? 2 : undefined, endOfOptions: true, seed: i });
    }
    const path = join(scratch, "large.pcapng");
    writeFileSync(path, pcapng([{ interfaces: [{ tsresol: 3 }, { tsresol: 0x8a }], packets }], 2000, true));
    for (const args of [[], ["--pcapng"], ["tcp port 80 or udp port 53"], ["--pcapng", "udp"], ["-c", String(PCAPNG_FAST_PATH_BATCH_RECORDS + 5)]]) {
      await expectSameAsGeneral(path, args);
    }
  });
});

describe("what falls back to the general path", () => {
  const path = join(scratch, "fallback.pcapng");
  const packets: PacketSpec[] = [{ kind: "epb", iface: 0, high: 0, low: 1, length: 60, caplen: 60, endOfOptions: true, seed: 2 }];

  for (const args of [["--print"], ["-U"], ["--tier", "jit"], ["-P", "--pcapng"]]) {
    it(`${args.join(" ")}: the general path`, async () => {
      writeFileSync(path, pcapng([{ interfaces: [{}], packets }], 300, true));
      const outcome = await capture(path, args, false);
      expect(outcome.recordPath).toBe(false);
    });
  }

  it("a snapshot length over 262144: the general path, with the same output", async () => {
    writeFileSync(path, pcapng([{ interfaces: [{}, {}], packets: [...packets, { ...packets[0]!, iface: 1 }] }], 300_000, true));
    for (const args of [[], ["--pcapng"]]) {
      const fast = await capture(path, args, false);
      const general = await capture(path, args, true);
      expect(fast.recordPath).toBe(false);
      expect(fast.file.equals(general.file)).toBe(true);
      expect(fast.file.length).toBeGreaterThan(0);
    }
  });

  it("classic pcap input: not the pcapng record path", async () => {
    const classic = join(scratch, "classic.pcap");
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20);
    writeFileSync(classic, header);
    expect((await capture(classic, [], false)).recordPath).toBe(false);
  });
});
