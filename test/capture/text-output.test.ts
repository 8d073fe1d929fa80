/**
 * How `hostctl capture` writes printed lines (TextOutput in hostctl/commands/capture.ts): lines encoded into one
 * reused buffer, flushed when it is full, after each batch, after every line with -l, and written straight out
 * when one packet's text is larger than the buffer (a -X dump of a 60 KB frame) — always the bytes tcpdump
 * prints; and a reader that stops reading (`| head`) ends the capture quietly.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCapture } from "../../hostctl/commands/capture.js";
import { BufferedOutput, FdSink } from "../../hostctl/pcap/byte-sink.js";
import { CapturedPacket } from "../../hostctl/pcap/packet.js";
import { PcapWriter } from "../../hostctl/pcap/pcap-writer.js";
import { HERE, REPO, requireTool, tcpdump } from "./helpers.js";

process.env.TZ = "UTC";
const scratch = mkdtempSync(join(tmpdir(), "kopi-text-output-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Ethernet/IPv4/UDP to port 5001 (no decoder: a plain "UDP, length N" line), `length` bytes. */
function udpFrame(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00], 0);
  bytes[14] = 0x45;
  view.setUint16(16, Math.min(length - 14, 0xffff));
  bytes[22] = 64;
  bytes[23] = 17;
  view.setUint32(26, 0x0a000001 + (seed & 0xff));
  view.setUint32(30, 0xc0a80101);
  view.setUint16(34, 40000 + (seed % 1000));
  view.setUint16(36, 5001);
  view.setUint16(38, Math.min(length - 34, 0xffff));
  for (let i = 42; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function writeCapture(path: string, frames: Uint8Array[]): void {
  const writer = new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: 1, snapshotLength: 262144 });
  frames.forEach((frame, i) => writer.write(new CapturedPacket(1_700_000_000 + i, i * 1000, frame.length, frame)));
  writer.close();
}

async function printed(args: string[]): Promise<Buffer> {
  const outPath = join(scratch, "stdout");
  const fd = openSync(outPath, "w");
  const program = new Command().name("hostctl").exitOverride();
  registerCapture(program, { stdoutFd: fd, writeError: () => undefined });
  try {
    await program.parseAsync(["capture", ...args], { from: "user" });
  } finally {
    closeSync(fd);
  }
  expect(process.exitCode ?? 0).toBe(0);
  return readFileSync(outPath);
}

let mixed: string;
let many: string;

beforeAll(() => {
  requireTool("tcpdump");
  mixed = join(scratch, "mixed.pcap");
  // small lines around one frame whose -X dump (≈ 250 KB of text) is larger than the output buffer
  writeCapture(mixed, [udpFrame(60, 1), udpFrame(60_000, 2), udpFrame(300, 3), udpFrame(20_000, 4), udpFrame(60, 5)]);
  many = join(scratch, "many.pcap");
  writeCapture(many, Array.from({ length: 30_000 }, (_, i) => udpFrame(60 + (i % 40), i)));
});

describe("printed output", () => {
  for (const flags of [["-nn"], ["-nn", "-X"], ["-nn", "-x", "-l"], ["-nn", "-X", "-l"]]) {
    it(`${flags.join(" ")}: tcpdump's bytes, lines larger than the buffer included`, async () => {
      const ours = await printed([...flags, "-r", mixed]);
      if (flags.includes("-X")) expect(ours.length).toBeGreaterThan(1 << 18);
      expect(ours.equals(tcpdump([...flags, "-r", mixed]).stdout)).toBe(true);
    });
  }

  it("many lines over many buffer flushes: tcpdump's bytes", async () => {
    const ours = await printed(["-nn", "-r", many]);
    expect(ours.length).toBeGreaterThan(8 << 16);
    expect(ours.equals(tcpdump(["-nn", "-r", many]).stdout)).toBe(true);
  });

  it("a reader that stops reading ends the capture quietly", () => {
    const driver = join(HERE, "run-capture.ts");
    const result = spawnSync("sh", ["-c", `"${process.execPath}" --import tsx "${driver}" -nn -r "${many}" | head -n 2`], {
      cwd: REPO,
      env: { ...process.env, TZ: "UTC" },
      encoding: "utf8",
    });
    expect(result.stdout.split("\n")).toHaveLength(3);
    expect(result.stderr).toBe(`reading from file ${many}, link-type EN10MB (Ethernet), snapshot length 262144\n`);
  });
});
