/**
 * `hostctl capture`: tcpdump at the NIC. Same flags, same output lines, same files, same errors (behind
 * "hostctl:" instead of "tcpdump:"). Packets come from a PacketSource (a capture file now; the NIC's capture
 * ring with -i once a live source is attached) in batches of 4096; each batch goes through the compiled
 * pcap-filter program in one matchMany() call, then to the writer (-w) or the printer.
 */
import { readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import { SourceError } from "../../overlay-isa/diagnostics.js";
import type { ProgramImage } from "../../overlay-isa/image.js";
import { BufferedOutput, FdSink } from "../pcap/byte-sink.js";
import type { CaptureInterface } from "../pcap/capture-decoder.js";
import { CaptureFileError } from "../pcap/capture-file-error.js";
import { describeSystemError } from "../pcap/capture-reader.js";
import { classicFileShape, ClassicRecordCopier } from "../pcap/classic-fast-path.js";
import { CaptureFileReader } from "../pcap/capture-reader.js";
import { PCAPNG_FAST_PATH_CHUNK_BYTES, PcapngRecordCopier } from "../pcap/pcapng-fast-path.js";
import { isKnownDlt, MAXIMUM_SNAPLEN, maxSnaplenForDlt, unknownDltMessage } from "../pcap/link-types.js";
import type { CapturedPacket, TimestampPrecision } from "../pcap/packet.js";
import { FileSource, type PacketSource } from "../pcap/packet-source.js";
import { PcapWriter } from "../pcap/pcap-writer.js";
import { PcapngWriter } from "../pcap/pcapng-writer.js";
import type { PacketPrinter } from "../print/packet-printer.js";
import { DEFAULT_PRINT_OPTIONS, type PrintOptions, type TimestampStyle } from "../print/print-options.js";

/** How many packets go through the filter program per call. */
export const CAPTURE_BATCH_SIZE = 4096;

/** A compiled pcap-filter expression, as the package root's compileFilter() returns it. */
export interface PacketFilter {
  matchMany(frames: Uint8Array[], wireLengths?: number[]): Uint8Array;
}

export type CompileFilter = (expression: string, options: { linktype: number; tier?: "interpreter" | "jit" }) => PacketFilter;

export interface LiveSourceOptions {
  snapshotLength: number;
  precision: TimestampPrecision;
}

export interface CaptureDependencies {
  /** The pcap-filter compiler; by default the package root's compileFilter, loaded when first needed. */
  compileFilter?: CompileFilter;
  /** Opens `-i DEVICE`; without it, -i reports that no live source is attached. */
  openLiveSource?: (device: string, options: LiveSourceOptions) => PacketSource | Promise<PacketSource>;
  /** Where packet lines and -w - go (default: file descriptor 1). */
  stdoutFd?: number;
  /** Diagnostics (default: process.stderr). */
  writeError?: (text: string) => void;
}

/** A failure reported as tcpdump reports it: "hostctl: <message>", exit status 1. */
class CaptureError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

interface RawOptions {
  tier?: string;
  r?: string;
  w?: string;
  pcapng?: boolean;
  c?: string;
  n: number;
  e?: boolean;
  v: number;
  q?: boolean;
  S?: boolean;
  x: number;
  X: number;
  A?: boolean;
  s?: string;
  number?: boolean;
  t: number;
  F?: string;
  l?: boolean;
  U?: boolean;
  nano?: boolean;
  timeStampPrecision?: string;
  i?: string;
  print?: boolean;
  process?: boolean;
}

const count = (_value: string, previous: number): number => previous + 1;

export function registerCapture(program: Command, dependencies: CaptureDependencies = {}): Command {
  return program
    .command("capture")
    .description("capture or read packets like tcpdump: filter them with a pcap-filter expression, print or save them")
    .argument("[expression...]", "pcap-filter expression (as for tcpdump)")
    .option("-r <file>", "read packets from a pcap or pcapng file ('-' for standard input)")
    .option("-w <file>", "write the packets to a pcap file ('-' for standard output) instead of printing them")
    .option("--pcapng", "with -w: write pcapng, with an interface description per interface and packet directions")
    .option("-i <interface>", "capture live at the NIC on this interface")
    .option("-c <count>", "exit after this many packets")
    .option("-n", "do not convert port numbers to names (-nn: the same)", count, 0)
    .option("-e", "print the link-level header")
    .option("-v", "more detail (-vv, -vvv: more still)", count, 0)
    .option("-q", "less protocol detail")
    .option("-S", "print absolute TCP sequence numbers")
    .option("-x", "print each packet in hex, without (-xx: with) its link header", count, 0)
    .option("-X", "print each packet in hex and ASCII, without (-XX: with) its link header", count, 0)
    .option("-A", "print each packet in ASCII")
    .option("-s <snaplen>", "snapshot length for live capture (files keep their own, as with tcpdump)")
    .option("-#, --number", "print a packet number at the start of each line")
    .option("-t", "timestamps: -t none, -tt epoch, -ttt delta, -tttt date, -ttttt since first", count, 0)
    .option("-F <file>", "read the filter expression from a file")
    .option("-l", "flush standard output after every packet")
    .option("-U", "with -w: flush the file after every packet")
    .option("--nano", "nanosecond timestamps (printed, and in files written with -w)")
    .option("--time-stamp-precision <precision>", "micro or nano")
    .option("--print", "with -w: print the packets as well")
    .option("--tier <tier>", "filter engine: interpreter (default; no start-up cost), jit (compiled to Wasm: faster per packet, ~1 s to start) or auto (jit, else the interpreter with a note)")
    .option("-P, --process", "print each packet's owning process (pid, user, command), as the NIC's application table knows it; pcapng files (-w --pcapng) record it as the packet comment")
    .action(async (words: string[], raw: RawOptions) => {
      const writeError = dependencies.writeError ?? ((text: string) => process.stderr.write(text));
      try {
        await runCapture(words, raw, dependencies, writeError);
      } catch (error) {
        process.exitCode = reportCaptureError(error, writeError);
      }
    });
}

/** Print a capture failure in tcpdump's one-line form (plus a caret excerpt for filter errors); returns 1. */
function reportCaptureError(error: unknown, writeError: (text: string) => void): number {
  if (error instanceof CaptureError) {
    writeError(`hostctl: ${error.message}\n${error.detail ?? ""}`);
  } else if (error instanceof CaptureFileError) {
    writeError(`hostctl: ${error.whileReadingPackets ? "pcap_loop: " : ""}${error.message}\n`);
  } else if (error instanceof SourceError) {
    const [first, ...rest] = error.format().split("\n");
    writeError(`hostctl: ${first}\n${rest.map((line) => `${line}\n`).join("")}`);
  } else if (error instanceof Error) {
    writeError(`hostctl: ${error.message}\n`);
  } else {
    writeError(`hostctl: ${String(error)}\n`);
  }
  return 1;
}

function parseCount(text: string): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) throw new CaptureError(`invalid packet count ${text}`);
  return value;
}

function parseSnaplen(text: string): number {
  const value = /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < 0 || value > MAXIMUM_SNAPLEN) {
    throw new CaptureError(`invalid snaplen ${text} (must be >= 0 and <= ${MAXIMUM_SNAPLEN})`);
  }
  return value === 0 ? MAXIMUM_SNAPLEN : value;
}

const TIMESTAMP_STYLES: TimestampStyle[] = ["time", "none", "epoch", "delta", "date", "since-first"];

function printOptions(raw: RawOptions, nano: boolean): PrintOptions {
  return {
    ...DEFAULT_PRINT_OPTIONS,
    numeric: raw.n > 0,
    linkHeader: raw.e === true,
    verbose: raw.v,
    quiet: raw.q === true,
    absoluteSequence: raw.S === true,
    hex: raw.x,
    hexAscii: raw.X,
    ascii: raw.A ? 1 : 0,
    timestamps: TIMESTAMP_STYLES[Math.min(raw.t, 5)]!,
    packetNumbers: raw.number === true,
    nanoseconds: nano,
  };
}

/** The filter text: the trailing words, or the -F file with its '#' comments blanked out (as tcpdump reads it). */
function filterExpression(words: string[], raw: RawOptions, writeError: (text: string) => void): { text: string; file?: string } {
  if (raw.F === undefined) return { text: words.join(" ") };
  if (words.length > 0) writeError("hostctl: Warning: -F option used, ignoring the expression on the command line\n");
  let text: string;
  try {
    text = readFileSync(raw.F, "latin1");
  } catch (error) {
    throw new CaptureError(describeSystemError(error, raw.F));
  }
  text = text.replace(/#[^\n]*/g, (comment) => " ".repeat(comment.length));
  return { text, file: raw.F };
}

/** Load compileFilter from the package root (index.ts beside hostctl/), once. */
async function packageFilterCompiler(): Promise<CompileFilter> {
  let loaded: { compileFilter?: CompileFilter };
  try {
    // a literal specifier: the CLI bundle (hostctl/bundle/) must carry the package root inside it
    loaded = (await import("../../index.js")) as unknown as { compileFilter?: CompileFilter };
  } catch (error) {
    throw new CaptureError(`the pcap-filter compiler could not be loaded: ${(error as Error).message}`);
  }
  if (typeof loaded.compileFilter !== "function") {
    throw new CaptureError(`the package root (${new URL("../../index.js", import.meta.url).pathname}) exports no compileFilter`);
  }
  return loaded.compileFilter;
}

/** Give a filter error the -F file's name instead of "filter". */
function relocateFilterError(error: unknown, file: string | undefined): unknown {
  if (file !== undefined && error instanceof SourceError && error.file === "filter") {
    return new SourceError(file, error.line, error.column, error.detail, error.sourceLine);
  }
  return error;
}

/** Bytes of text collected before a write (the lines are encoded into it as they come). */
const TEXT_BUFFER_BYTES = 1 << 16;

/** Text output on a file descriptor, in large writes; a closed pipe ends the capture quietly. */
class TextOutput {
  // Each line is encoded (latin1, as before) into one reused buffer: no growing string to flatten and copy.
  private readonly buffer = Buffer.allocUnsafe(TEXT_BUFFER_BYTES);
  private length = 0;
  closed = false;

  constructor(
    private readonly fd: number,
    private readonly lineBuffered: boolean,
  ) {}

  add(text: string): void {
    if (text.length > TEXT_BUFFER_BYTES - this.length) {
      this.flush();
      if (text.length > TEXT_BUFFER_BYTES) {
        this.writeOut(Buffer.from(text, "latin1"));
        return;
      }
    }
    this.length += this.buffer.write(text, this.length, "latin1");
    if (this.lineBuffered) this.flush();
  }

  flush(): void {
    if (this.length === 0) return;
    const bytes = this.buffer.subarray(0, this.length);
    this.length = 0;
    this.writeOut(bytes);
  }

  private writeOut(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      new FdSink(this.fd, false, "standard output").write(bytes);
    } catch (error) {
      if (error instanceof CaptureFileError && error.code === "EPIPE") {
        this.closed = true;
        return;
      }
      throw error;
    }
  }
}

interface PacketWriter {
  write(packet: CapturedPacket): void;
  flush(): void;
  close(): void;
}

/** What a writer needs to know about the packets' source. */
type WriterSource = Pick<PacketSource, "linkType" | "snapshotLength" | "interfaces">;

function openWriter(path: string, source: WriterSource, raw: RawOptions, precision: TimestampPrecision, stdoutFd: number): PacketWriter {
  const sink = path === "-" ? new FdSink(stdoutFd, false, "standard output") : FdSink.create(path);
  const out = new BufferedOutput(sink);
  if (!raw.pcapng) {
    return new PcapWriter(out, { linkType: source.linkType, snapshotLength: source.snapshotLength, precision });
  }
  const writer = new PcapngWriter(out, { precision });
  // pcapng interface ids follow the source's interfaces; describe each before its first packet.
  let described = 0;
  const describe = (interfaces: readonly CaptureInterface[], upTo: number): void => {
    while (described <= upTo && described < interfaces.length) {
      const iface = interfaces[described]!;
      writer.addInterface({
        linkType: iface.linkType,
        snapshotLength: iface.snapshotLength,
        name: iface.name,
        description: iface.description,
      });
      described++;
    }
  };
  return {
    write(packet) {
      if (packet.interfaceIndex >= described) describe(source.interfaces, packet.interfaceIndex);
      writer.write(packet);
    },
    flush: () => writer.flush(),
    close: () => writer.close(),
  };
}

/**
 * Whether `-r FILE -w OUT` can copy records as they stand (hostctl/pcap/classic-fast-path.ts): a little-endian
 * classic pcap file, written back as classic pcap at its own precision, with nothing printed or flushed per
 * packet and the default filter engine.
 */
function fastPathApplies(raw: RawOptions, dependencies: CaptureDependencies, precision: TimestampPrecision, source: FileSource): boolean {
  if (raw.r === undefined || raw.r === "-" || raw.w === undefined) return false;
  if (raw.pcapng || raw.print || raw.U || raw.process || dependencies.compileFilter !== undefined) return false;
  if ((raw.tier ?? "interpreter") !== "interpreter" || source.precision !== precision) return false;
  return classicFileShape(raw.r)?.precision === precision;
}

/**
 * Close the writer whatever the copy did (its first failure wins), and end quietly when the reader of our
 * output went away (`| head`), as tcpdump does.
 */
function closeAfter(failure: unknown, writer: { close(): void }): void {
  try {
    writer.close();
  } catch (error) {
    failure ??= error;
  }
  if (failure instanceof CaptureFileError && failure.code === "EPIPE") return;
  if (failure !== undefined) throw failure;
}

/** The fast path: compile the filter straight onto a VM of our own, write the header, copy the kept records. */
async function copyWithFastPath(
  path: string,
  outputPath: string,
  source: FileSource,
  expression: { text: string; file?: string },
  limit: number,
  precision: TimestampPrecision,
  stdoutFd: number,
): Promise<void> {
  const filtered = expression.text.trim() !== "";
  const [compiler, { OverlayVM }] = await Promise.all([filtered ? import("../../compiler/pcap-filter/compile.js") : undefined, import("../../runtime/vm.js")]);
  let program: { image: ProgramImage; linktype: number } | undefined;
  if (compiler !== undefined) {
    try {
      // as the package root's compileFilter does for the interpreter tier
      program = compiler.compilePcapFilter(expression.text, { linktype: source.dlt });
    } catch (error) {
      throw relocateFilterError(error, expression.file);
    }
  }
  // the VM describes and compacts the records even when there is no filter to run
  const vm = OverlayVM.createSync();
  // Open the output now that the filter compiled and the VM exists (tcpdump opens it after compiling too), and
  // meanwhile load and warm up the VM (ClassicRecordCopier): V8 optimizes its code while the output is truncated.
  const opening = outputPath === "-" ? undefined : FdSink.open(outputPath);
  let copier: ClassicRecordCopier;
  try {
    if (program !== undefined) vm.load(program.image);
    copier = new ClassicRecordCopier(vm, program?.linktype, fileSize(path));
  } catch (error) {
    (await opening?.catch(() => undefined))?.close();
    throw error;
  }
  const sink = opening === undefined ? new FdSink(stdoutFd, false, "standard output") : await opening;
  const out = new BufferedOutput(sink);
  const writer = new PcapWriter(out, { linkType: source.linkType, snapshotLength: source.snapshotLength, precision });
  let failure: unknown;
  try {
    out.flush(); // the file header, before the records go straight to the sink
    await copier.copy(path, { sink, snapshotLength: source.snapshotLength, maxCaplen: maxSnaplenForDlt(source.dlt), limit });
  } catch (error) {
    failure = error;
  }
  closeAfter(failure, writer);
}

/**
 * Whether `-r FILE -w OUT` can take the pcapng record path (hostctl/pcap/pcapng-fast-path.ts): a pcapng file
 * (not standard input) whose snapshot length is at most MAXIMUM_SNAPLEN, with nothing printed or flushed per
 * packet and the default filter engine. Anything else — classic pcap, a larger snapshot length, --print, -U,
 * -P, --tier jit/auto, an injected compiler — takes the general path.
 */
function pcapngFastPathApplies(raw: RawOptions, dependencies: CaptureDependencies, source: FileSource): boolean {
  if (raw.r === undefined || raw.r === "-" || raw.w === undefined || source.format !== "pcapng") return false;
  // the frames area holds any record of a file whose snapshot length is at most this (larger ones are rare)
  if (source.snapshotLength > MAXIMUM_SNAPLEN) return false;
  if (raw.print || raw.U || raw.process || dependencies.compileFilter !== undefined) return false;
  return (raw.tier ?? "interpreter") === "interpreter";
}

/** The pcapng record path: the filter on a VM of our own, the general path's writer, no packet objects. */
async function copyPcapngRecords(
  path: string,
  source: FileSource,
  expression: { text: string; file?: string },
  limit: number,
  raw: RawOptions,
  precision: TimestampPrecision,
  stdoutFd: number,
): Promise<void> {
  let vm: import("../../runtime/vm.js").OverlayVM | undefined;
  let linktype: number | undefined;
  if (expression.text.trim() !== "") {
    const [compiler, { OverlayVM }] = await Promise.all([import("../../compiler/pcap-filter/compile.js"), import("../../runtime/vm.js")]);
    let program: { image: ProgramImage; linktype: number };
    try {
      // as the package root's compileFilter does for the interpreter tier
      program = compiler.compilePcapFilter(expression.text, { linktype: source.dlt });
    } catch (error) {
      throw relocateFilterError(error, expression.file);
    }
    vm = OverlayVM.createSync();
    vm.load(program.image);
    linktype = program.linktype;
  }
  const copier = new PcapngRecordCopier(vm, linktype, source.snapshotLength);
  const reader = CaptureFileReader.open(path, { chunkSize: PCAPNG_FAST_PATH_CHUNK_BYTES });
  try {
    const writer = openWriter(raw.w!, { linkType: source.linkType, snapshotLength: source.snapshotLength, interfaces: reader.interfaces }, raw, precision, stdoutFd);
    let failure: unknown;
    try {
      copier.copy(reader, { writer, limit, withPacketOptions: raw.pcapng === true });
    } catch (error) {
      failure = error;
    }
    closeAfter(failure, writer);
  } finally {
    reader.close();
  }
}

/** The size of a file in bytes (0 when it cannot be found out: copying will say why). */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function runCapture(
  words: string[],
  raw: RawOptions,
  dependencies: CaptureDependencies,
  writeError: (text: string) => void,
): Promise<void> {
  const limit = raw.c === undefined ? Number.POSITIVE_INFINITY : parseCount(raw.c);
  const snapshotLength = raw.s === undefined ? MAXIMUM_SNAPLEN : parseSnaplen(raw.s);
  if (raw.timeStampPrecision !== undefined && raw.timeStampPrecision !== "micro" && raw.timeStampPrecision !== "nano") {
    throw new CaptureError(`unsupported time stamp precision ${raw.timeStampPrecision}`);
  }
  const precision: TimestampPrecision = raw.nano || raw.timeStampPrecision === "nano" ? "nano" : "micro";
  const expression = filterExpression(words, raw, writeError);
  const stdoutFd = dependencies.stdoutFd ?? 1;

  let source: PacketSource;
  if (raw.r !== undefined) {
    if (raw.i !== undefined) throw new CaptureError("-r and -i cannot be used together");
    source = new FileSource(raw.r);
  } else if (raw.i !== undefined) {
    if (!dependencies.openLiveSource) {
      throw new CaptureError(`${raw.i}: live capture needs the NIC's capture ring, and no NIC is attached to this hostctl`);
    }
    source = await dependencies.openLiveSource(raw.i, { snapshotLength, precision });
  } else {
    throw new CaptureError("no packet source: read a capture file with -r FILE (or capture live with -i INTERFACE)");
  }

  try {
    writeError(`${source.banner}\n`);
    if (!isKnownDlt(source.dlt)) throw new CaptureError(unknownDltMessage(source.dlt));

    if (source instanceof FileSource && raw.r !== undefined && fastPathApplies(raw, dependencies, precision, source)) {
      await copyWithFastPath(raw.r, raw.w!, source, expression, limit, precision, stdoutFd);
      return;
    }
    if (source instanceof FileSource && pcapngFastPathApplies(raw, dependencies, source)) {
      await copyPcapngRecords(source.path, source, expression, limit, raw, precision, stdoutFd);
      return;
    }

    let filter: PacketFilter | undefined;
    if (expression.text.trim() !== "") {
      const compile = dependencies.compileFilter ?? (await packageFilterCompiler());
      const tier = raw.tier ?? "interpreter";
      if (tier !== "interpreter" && tier !== "jit" && tier !== "auto") throw new CaptureError(`--tier must be interpreter, jit or auto, got '${tier}'`);
      try {
        filter = compile(expression.text, { linktype: source.dlt, tier: tier === "auto" ? "jit" : tier });
      } catch (error) {
        const jitRefused = error instanceof Error && /^Jit(Unsupported|Error)$/.test(error.name);
        if (tier === "auto" && jitRefused) {
          writeError(`hostctl: --tier auto runs the interpreter: ${(error as Error).message}\n`);
          filter = compile(expression.text, { linktype: source.dlt, tier: "interpreter" });
        } else if (jitRefused) {
          throw new CaptureError((error as Error).message);
        } else {
          throw relocateFilterError(error, expression.file);
        }
      }
    }

    let writer: PacketWriter | undefined;
    if (raw.w !== undefined) writer = openWriter(raw.w, source, raw, precision, stdoutFd);
    const text = new TextOutput(stdoutFd, raw.l === true);
    // loaded only when needed: the printer and the application model cost start-up time -w alone does not need
    let printer: PacketPrinter | undefined;
    if (writer === undefined || raw.print) {
      const { PacketPrinter } = await import("../print/packet-printer.js");
      printer = new PacketPrinter(source.dlt, printOptions(raw, precision === "nano"));
    }
    const annotateOwner = raw.process ? (await import("../apps/owner-text.js")).annotateOwner : undefined;

    let accepted = 0;
    let failure: unknown;
    const frames: Uint8Array[] = [];
    const wireLengths: number[] = [];
    try {
      while (accepted < limit && !text.closed) {
        const batch = await source.nextBatch(CAPTURE_BATCH_SIZE);
        if (batch.length === 0) break;
        let verdicts: Uint8Array | undefined;
        if (filter !== undefined) {
          frames.length = batch.length;
          wireLengths.length = batch.length;
          for (let i = 0; i < batch.length; i++) {
            frames[i] = batch[i]!.data;
            wireLengths[i] = batch[i]!.wireLength;
          }
          verdicts = filter.matchMany(frames, wireLengths);
        }
        for (let i = 0; i < batch.length && accepted < limit; i++) {
          if (verdicts !== undefined && verdicts[i] === 0) continue;
          const packet = batch[i]!;
          accepted++;
          if (writer !== undefined) {
            writer.write(packet);
            if (raw.U) writer.flush();
          }
          if (printer !== undefined) text.add(annotateOwner ? annotateOwner(printer.format(packet, accepted), packet.comment) : printer.format(packet, accepted));
        }
        text.flush();
      }
    } catch (error) {
      failure = error;
    }
    try {
      text.flush();
      writer?.close();
    } catch (error) {
      failure ??= error;
    }
    // Whoever read our output stopped reading (`| head`): like tcpdump on SIGPIPE, stop without a word.
    if (failure instanceof CaptureFileError && failure.code === "EPIPE") return;
    if (failure !== undefined) throw failure;
    if (source.live) {
      const stats = source.statistics();
      writeError(
        `${plural(accepted, "packet")} captured\n${plural(stats.received, "packet")} received by filter\n` +
          `${plural(stats.dropped, "packet")} dropped by kernel\n`,
      );
    }
  } finally {
    source.close();
  }
}
