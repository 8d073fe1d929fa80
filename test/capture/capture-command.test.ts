/**
 * `hostctl capture` against tcpdump: the same stderr lines (banner and one-line errors, "hostctl:" for
 * "tcpdump:"), exit status, printed lines and written files — for good captures, for every invalid corpus file,
 * for truncations at many offsets and for random header corruption, and through standard input.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { registerCapture, type CaptureDependencies, type PacketFilter } from "../../hostctl/commands/capture.js";
import { SourceError } from "../../overlay-isa/diagnostics.js";
import { CORPUS, HERE, manifest, REPO, requireTool, tcpdump } from "./helpers.js";

process.env.TZ = "UTC";
const scratch = mkdtempSync(join(tmpdir(), "kopi-capture-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  stdout: Buffer;
  stderr: string;
  status: number;
}

let runs = 0;

/** Run the command in this process, its standard output going to a file. */
async function capture(args: string[], dependencies: CaptureDependencies = {}): Promise<Outcome> {
  const outPath = join(scratch, `stdout-${runs++}`);
  const fd = openSync(outPath, "w");
  let stderr = "";
  const program = new Command().name("hostctl").exitOverride();
  program.configureOutput({ writeErr: (text) => (stderr += text), writeOut: (text) => (stderr += text) });
  registerCapture(program, { stdoutFd: fd, writeError: (text) => (stderr += text), ...dependencies });
  process.exitCode = undefined;
  let status: number;
  try {
    await program.parseAsync(["capture", ...args], { from: "user" });
    status = typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    status = 2;
  } finally {
    process.exitCode = undefined;
    closeSync(fd);
  }
  return { stdout: readFileSync(outPath), stderr, status };
}

/** tcpdump's result in hostctl's words. */
function asHostctl(outcome: Outcome): Outcome {
  return { ...outcome, stderr: outcome.stderr.replace(/^tcpdump: /gm, "hostctl: ") };
}

function expectSame(ours: Outcome, theirs: Outcome): void {
  expect(ours.stderr).toBe(theirs.stderr);
  expect(ours.status).toBe(theirs.status);
  expect(ours.stdout.equals(theirs.stdout), "standard output differs").toBe(true);
}

describe("reading and printing like tcpdump", () => {
  requireTool("tcpdump");

  for (const [name, flags] of [
    ["ethernet/packetnet/test_stream.pcap", ["-nn"]],
    ["ethernet/tcpdump/dns_tcp.pcap", ["-nn", "-#", "-c", "5"]],
    ["libpcap-filter/rarp_req_reply.pcapng", ["-nn", "-e"]],
    ["other-linktypes/tcpdump/tcp-handshake-nano.pcap", ["-nn", "--nano", "-tttt"]],
    ["ethernet/packetnet/ICMPv4.pcap", ["-nn", "-X", "-c", "2"]],
  ] as Array<[string, string[]]>) {
    it(`${flags.join(" ")} -r ${name}`, async () => {
      const path = join(CORPUS, name);
      expectSame(await capture([...flags, "-r", path]), asHostctl(tcpdump([...flags, "-r", path])));
    });
  }

  it("writes with -w exactly what tcpdump -w writes, µs and ns", async () => {
    for (const name of ["ethernet/tcpdump/mptcp-v0.pcap", "ethernet/tcpdump/of13_ericsson.pcapng", "other-linktypes/tcpdump/tcp-handshake-nano.pcap"]) {
      const path = join(CORPUS, name);
      expectSame(await capture(["-r", path, "-w", "-"]), asHostctl(tcpdump(["-r", path, "-w", "-"])));
      expectSame(await capture(["--nano", "-r", path, "-w", "-"]), asHostctl(tcpdump(["--nano", "-r", path, "-w", "-"])));
      expectSame(await capture(["-c", "7", "-r", path, "-w", "-"]), asHostctl(tcpdump(["-c", "7", "-r", path, "-w", "-"])));
    }
  });

  it("refuses every invalid corpus file as tcpdump does", async () => {
    const invalid = manifest().filter((row) => row.file.includes("invalid-files/"));
    expect(invalid.length).toBe(8);
    for (const row of invalid) {
      expectSame(await capture(["-nn", "-r", row.path]), asHostctl(tcpdump(["-nn", "-r", row.path])));
    }
  });

  it("reports bad arguments and unusable files as tcpdump does", async () => {
    const path = join(CORPUS, "ethernet/packetnet/ICMPv4.pcap");
    for (const args of [
      ["-r", join(scratch, "no-such-file.pcap")],
      ["-r", scratch],
      ["-r", path, "-w", join(scratch, "no-such-dir", "out.pcap")],
      ["-r", path, "-c", "abc"],
      ["-r", path, "-c", "0"],
      ["-r", path, "-s", "300000"],
      ["-r", path, "-s", "many"],
    ]) {
      expectSame(await capture(args), asHostctl(tcpdump(args)));
    }
  });

  it("prints the packets before a truncated record, then the error", async () => {
    const original = readFileSync(join(CORPUS, "ethernet/packetnet/ICMPv4.pcap"));
    const path = join(scratch, "cut.pcap");
    writeFileSync(path, original.subarray(0, original.length - 10));
    const ours = await capture(["-nn", "-r", path]);
    expectSame(ours, asHostctl(tcpdump(["-nn", "-r", path])));
    expect(ours.stdout.toString().trim().split("\n")).toHaveLength(5);
    expect(ours.stderr).toMatch(/hostctl: pcap_loop: truncated dump file; tried to read 74 captured bytes, only got 64\n$/);
  });
});

describe("damaged files: same records kept, same error as tcpdump", () => {
  requireTool("tcpdump");
  const pcapFile = readFileSync(join(CORPUS, "ethernet/packetnet/test_stream.pcap"));
  const pcapngFile = readFileSync(join(CORPUS, "libpcap-filter/rarp_req_reply.pcapng"));

  async function compare(bytes: Uint8Array, label: string): Promise<void> {
    const path = join(scratch, `damaged-${label}`);
    writeFileSync(path, bytes);
    const ours = await capture(["-r", path, "-w", "-"]);
    const theirs = asHostctl(tcpdump(["-r", path, "-w", "-"]));
    expect(ours.stderr, label).toBe(theirs.stderr.split(path).join(path));
    expect(ours.status, label).toBe(theirs.status);
    expect(ours.stdout.equals(theirs.stdout), `${label}: records differ`).toBe(true);
  }

  it("truncated at many offsets (pcap and pcapng)", async () => {
    for (let cut = 0; cut < pcapFile.length; cut += 23) await compare(pcapFile.subarray(0, cut), `pcap-cut-${cut}`);
    for (let cut = 0; cut < pcapngFile.length; cut += 7) await compare(pcapngFile.subarray(0, cut), `pcapng-cut-${cut}`);
  });

  it("with random bytes overwritten in the headers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 79 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        async (ng, edits) => {
          const bytes = Uint8Array.from(ng ? pcapngFile : pcapFile);
          for (const [at, value] of edits) bytes[at] = value;
          await compare(bytes, `${ng ? "pcapng" : "pcap"}-${edits.map(([a, v]) => `${a}=${v}`).join(",")}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("filters", () => {
  requireTool("tcpdump");
  /** Keeps frames of even wire length — what `len & 1 = 0` means to tcpdump. */
  const evenLength: PacketFilter = {
    matchMany(frames, wireLengths) {
      return Uint8Array.from(frames, (_, i) => ((wireLengths![i]! & 1) === 0 ? 1 : 0));
    },
  };

  it("-w keeps exactly the records tcpdump keeps for the same filter", async () => {
    let compiled: { expression: string; linktype: number } | undefined;
    const dependencies: CaptureDependencies = {
      compileFilter: (expression, options) => {
        compiled = { expression, ...options };
        return evenLength;
      },
    };
    for (const name of ["ethernet/tcpdump/mptcp-v0.pcap", "ethernet/tcpdump/arp-oobr.pcap", "other-linktypes/tcpdump/babel.pcap"]) {
      const path = join(CORPUS, name);
      const ours = await capture(["-r", path, "-w", "-", "len", "&", "1", "=", "0"], dependencies);
      expectSame(ours, asHostctl(tcpdump(["-r", path, "-w", "-", "len & 1 = 0"])));
      expect(compiled).toEqual({ expression: "len & 1 = 0", linktype: name.includes("babel") ? 113 : 1, tier: "interpreter" });
    }
  });

  it("-c counts packets that pass the filter, and -# numbers them", async () => {
    const path = join(CORPUS, "ethernet/tcpdump/mptcp-v0.pcap");
    const ours = await capture(["-nn", "-#", "-c", "9", "-r", path, "len & 1 = 0"], { compileFilter: () => evenLength });
    expectSame(ours, asHostctl(tcpdump(["-nn", "-#", "-c", "9", "-r", path, "len & 1 = 0"])));
  });

  it("reads -F files with tcpdump's comment rule, and names the file in errors", async () => {
    const rules = join(scratch, "rules.txt");
    writeFileSync(rules, "# web traffic\ntcp port 80 # and only that\n");
    let seen = "";
    await capture(["-r", join(CORPUS, "ethernet/packetnet/ICMPv4.pcap"), "-F", rules], {
      compileFilter: (expression) => {
        seen = expression;
        return evenLength;
      },
    });
    expect(seen).toBe(`${" ".repeat(13)}\ntcp port 80 ${" ".repeat(15)}\n`);
    const failed = await capture(["-r", join(CORPUS, "ethernet/packetnet/ICMPv4.pcap"), "-F", rules], {
      compileFilter: () => {
        throw new SourceError("filter", 2, 10, "expected a port number", "tcp port 80");
      },
    });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`hostctl: ${rules}:2:10: expected a port number\n  tcp port 80\n           ^\n`);
  });

  it("without a filter compiler attached reports it in one line", async () => {
    const outcome = await capture(["-r", join(CORPUS, "ethernet/packetnet/ICMPv4.pcap"), "tcp"], {
      compileFilter: () => {
        throw new Error("link type 1 is not supported by the filter compiler");
      },
    });
    expect(outcome.status).toBe(1);
    expect(outcome.stderr.split("\n")[1]).toBe("hostctl: link type 1 is not supported by the filter compiler");
  });
});

describe("live sources", () => {
  it("-i without a NIC attached says so", async () => {
    const outcome = await capture(["-i", "eth0"]);
    expect(outcome.status).toBe(1);
    expect(outcome.stderr).toBe("hostctl: eth0: live capture needs the NIC's capture ring, and no NIC is attached to this hostctl\n");
  });

  it("a live source gets tcpdump's closing statistics", async () => {
    const packets = await capture(["-r", join(CORPUS, "ethernet/packetnet/ICMPv4.pcap"), "-w", join(scratch, "six.pcap")]);
    expect(packets.status).toBe(0);
    const { FileSource } = await import("../../hostctl/pcap/packet-source.js");
    const outcome = await capture(["-nn", "-i", "kopi0", "-c", "4"], {
      openLiveSource: (device, options) => {
        expect(device).toBe("kopi0");
        expect(options.snapshotLength).toBe(262144);
        const file = new FileSource(join(scratch, "six.pcap"));
        return Object.assign(Object.create(file) as typeof file, {
          banner: `listening on ${device}, link-type EN10MB (Ethernet), snapshot length ${options.snapshotLength} bytes`,
          live: true,
          statistics: () => ({ received: 6, dropped: 1 }),
        });
      },
    });
    expect(outcome.status).toBe(0);
    expect(outcome.stdout.toString().trim().split("\n")).toHaveLength(4);
    expect(outcome.stderr).toBe(
      "listening on kopi0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n" +
        "4 packets captured\n6 packets received by filter\n1 packet dropped by kernel\n",
    );
  });
});

describe("as a process", () => {
  requireTool("tcpdump");
  const driver = join(HERE, "run-capture.ts");
  const run = (args: string[], input?: Uint8Array): Outcome => {
    const result = spawnSync(process.execPath, ["--import", "tsx", driver, ...args], {
      cwd: REPO,
      input,
      env: { ...process.env, TZ: "UTC" },
      maxBuffer: 1 << 26,
    });
    return { stdout: result.stdout, stderr: result.stderr.toString(), status: result.status ?? -1 };
  };

  it("reads standard input with -r -", () => {
    const pcap = readFileSync(join(CORPUS, "ethernet/tcpdump/dns_tcp.pcap"));
    expectSame(run(["-nn", "-e", "-r", "-"], pcap), asHostctl(tcpdump(["-nn", "-e", "-r", "-"], pcap)));
    const ng = readFileSync(join(CORPUS, "ethernet/tcpdump/OSPFv2_Capture_FINAL.pcapng"));
    expectSame(run(["-nn", "-r", "-"], ng), asHostctl(tcpdump(["-nn", "-r", "-"], ng)));
    expectSame(run(["-r", "-", "-w", "-"], ng), asHostctl(tcpdump(["-r", "-", "-w", "-"], ng)));
  });

  it("exits 1 with one line for an unreadable file, and 0 for an empty capture", () => {
    expectSame(run(["-r", "/nonexistent.pcap"]), asHostctl(tcpdump(["-r", "/nonexistent.pcap"])));
    const empty = join(CORPUS, "invalid-files/tcpdump/empty.pcapng");
    expectSame(run(["-r", empty]), asHostctl(tcpdump(["-r", empty])));
  });
});
