/** Shared by the capture tests: corpus paths, the real tools, and running the printer over a file. */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureFileReader } from "../../hostctl/pcap/index.js";
import { PacketPrinter } from "../../hostctl/print/packet-printer.js";
import { DEFAULT_PRINT_OPTIONS, type PrintOptions, type TimestampStyle } from "../../hostctl/print/print-options.js";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "../..");
export const CORPUS = resolve(REPO, "../shared/corpus/pcaps");
export const GOLDEN = join(HERE, "golden");

export interface ManifestRow {
  file: string;
  path: string;
  format: string;
  linktype: string;
  packets: number;
  error: string;
}

/** ../shared/corpus/pcaps/manifest.tsv */
export function manifest(): ManifestRow[] {
  return readFileSync(join(CORPUS, "manifest.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .map((cols) => ({
      file: cols[0]!,
      path: join(CORPUS, cols[0]!.replace(/^pcaps\//, "")),
      format: cols[5]!,
      linktype: cols[6]!,
      packets: Number(cols[7]),
      error: cols[12] ?? "",
    }));
}

/** Fail loudly when a reference tool is missing: CI installs tcpdump and tshark. */
export function requireTool(tool: "tcpdump" | "tshark"): void {
  const probe = spawnSync(tool, ["--version"], { encoding: "utf8" });
  if (probe.error) throw new Error(`${tool} is needed by this test and is not installed (apt-get install ${tool})`);
}

/** tcpdump's output, stdout and stderr, for the given arguments (TZ=UTC). */
export function tcpdump(args: string[], input?: Uint8Array): { stdout: Buffer; stderr: string; status: number } {
  const result = spawnSync("tcpdump", args, {
    env: { ...process.env, TZ: "UTC" },
    input,
    maxBuffer: 1 << 28,
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr.toString("utf8"), status: result.status ?? -1 };
}

/** tshark's output; its warning about running as root (CI containers do) is not a complaint about the file. */
export function tshark(args: string[]): { stdout: string; stderr: string; status: number } {
  const result = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (result.error) throw result.error;
  const stderr = result.stderr.replace(/^Running as user "[^"]*" and group "[^"]*"\. This could be dangerous\.\n/m, "");
  return { stdout: result.stdout, stderr, status: result.status ?? -1 };
}

/** tcpdump flags → printer options (the subset the golden cases use). */
export function optionsFromFlags(flags: string[]): PrintOptions {
  const options: PrintOptions = { ...DEFAULT_PRINT_OPTIONS };
  const styles: TimestampStyle[] = ["none", "epoch", "delta", "date", "since-first"];
  for (const flag of flags) {
    if (flag === "-n" || flag === "-nn") options.numeric = true;
    else if (flag === "-e") options.linkHeader = true;
    else if (/^-v+$/.test(flag)) options.verbose = flag.length - 1;
    else if (flag === "-q") options.quiet = true;
    else if (flag === "-S") options.absoluteSequence = true;
    else if (/^-x+$/.test(flag)) options.hex = flag.length - 1;
    else if (/^-X+$/.test(flag)) options.hexAscii = flag.length - 1;
    else if (flag === "-A") options.ascii = 1;
    else if (flag === "-#") options.packetNumbers = true;
    else if (flag === "--nano") options.nanoseconds = true;
    else if (/^-t+$/.test(flag)) options.timestamps = styles[flag.length - 2]!;
    else throw new Error(`golden flag ${flag} has no printer option`);
  }
  return options;
}

/** Everything our printer writes for a capture file, as one string. */
export function printFile(path: string, options: PrintOptions): string {
  const reader = CaptureFileReader.open(path);
  try {
    const printer = new PacketPrinter(reader.info.dlt, options);
    let text = "";
    let n = 0;
    for (const packet of reader) text += printer.format(packet, ++n);
    return text;
  } finally {
    reader.close();
  }
}

export function tcpdumpVersion(): string | undefined {
  try {
    return /tcpdump version (\S+)/.exec(execFileSync("tcpdump", ["--version"], { encoding: "utf8" }))?.[1];
  } catch {
    return undefined;
  }
}
