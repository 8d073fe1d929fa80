/**
 * `hostctl inject -r FILE|-`: traffic into the NIC. Packets from a capture (or a live pipe such as
 * `tcpdump -w - | hostctl inject -r -`) enter one direction in batches, several batches in flight so the socket
 * is not the bottleneck; what comes out can be written per outcome — accepted, dropped, queued — as pcap files.
 * Prints how many packets each outcome and each policy generation got.
 */
import type { Command } from "commander";
import { dispositionOf, type Disposition } from "../../fpga-model/packets.js";
import { CliError } from "../errors.js";
import { BufferedOutput, FdSink } from "../pcap/byte-sink.js";
import type { CaptureFileInfo } from "../pcap/capture-decoder.js";
import type { CapturedPacket } from "../pcap/packet.js";
import { PcapWriter } from "../pcap/pcap-writer.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, parseInteger, toJson, withNic, type NicSession } from "./nic-session.js";
import { openCaptureInput, packetTimeUs } from "./packet-batches.js";

export interface InjectCommandOptions {
  read: string;
  direction?: string;
  port?: string;
  writeAccepted?: string;
  writeDropped?: string;
  writeQueued?: string;
  batch?: string;
  nic?: string;
  json?: boolean;
}

export interface InjectSummary {
  packets: number;
  bytes: number;
  batches: number;
  direction: "ingress" | "egress";
  accepted: number;
  dropped: number;
  queued: number;
  mirroredOnly: number;
  faulted: number;
  /** packets per generation that judged them */
  generations: Record<string, number>;
}

/** Batches in flight at once. */
const PIPELINE = 4;

export function parseDirection(text: string | undefined): 0 | 1 {
  if (text === undefined || text === "ingress" || text === "in") return 0;
  if (text === "egress" || text === "out") return 1;
  throw new CliError(`--direction must be ingress or egress, not '${text}'`);
}

/** Inject a capture through a session; the writers get each packet by outcome. */
export interface InjectSink {
  /** the capture's header is read: its link type and snapshot length */
  start?(info: CaptureFileInfo): void;
  packet?(p: CapturedPacket, outcome: Disposition, generation: number): void;
}

export async function injectCapture(s: NicSession, opts: InjectCommandOptions, sink: InjectSink = {}): Promise<InjectSummary> {
  const dir = parseDirection(opts.direction);
  const port = opts.port !== undefined ? parseInteger(opts.port, "--port", 0, 65535) : 0;
  const size = opts.batch !== undefined ? parseInteger(opts.batch, "--batch", 1, 65536) : 4096;
  const input = await openCaptureInput(opts.read, size);
  sink.start?.(input.info);
  const summary: InjectSummary = { packets: 0, bytes: 0, batches: 0, direction: dir === 0 ? "ingress" : "egress", accepted: 0, dropped: 0, queued: 0, mirroredOnly: 0, faulted: 0, generations: {} };
  const inflight: { packets: CapturedPacket[]; outcome: ReturnType<NicSession["driver"]["inject"]> }[] = [];
  const settle = async () => {
    const head = inflight.shift()!;
    const o = await head.outcome;
    head.packets.forEach((p, i) => {
      const disposition = dispositionOf(o.flags[i]!);
      summary[disposition]++;
      if ((o.flags[i]! & 1) !== 0) summary.faulted++;
      const g = String(o.generations[i]);
      summary.generations[g] = (summary.generations[g] ?? 0) + 1;
      sink.packet?.(p, disposition, o.generations[i]!);
    });
  };
  for await (const packets of input.batches) {
    summary.packets += packets.length;
    summary.batches++;
    for (const p of packets) summary.bytes += p.wireLength;
    const outcome = s.driver.inject({ frames: packets.map((p) => p.data), wireLengths: packets.map((p) => p.wireLength), timesUs: packets.map(packetTimeUs), dir, port, linktype: input.info.dlt });
    outcome.catch(() => {}); // awaited in order by settle(); keep an early failure from going unhandled
    inflight.push({ packets, outcome });
    if (inflight.length >= PIPELINE) await settle();
  }
  while (inflight.length > 0) await settle();
  return summary;
}

export async function runInject(opts: InjectCommandOptions): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const writers = new Map<Disposition, PcapWriter>();
    const paths: [string | undefined, Disposition][] = [[opts.writeAccepted, "accepted"], [opts.writeDropped, "dropped"], [opts.writeQueued, "queued"]];
    if (paths.filter(([p]) => p === "-").length > 1) throw new CliError("only one of the outputs can be standard output");
    const toStdout = paths.some(([p]) => p === "-");
    try {
      const summary = await injectCapture(s, opts, {
        start: (info) => {
          for (const [path, d] of paths) if (path !== undefined) writers.set(d, new PcapWriter(new BufferedOutput(FdSink.create(path)), { linkType: (info.linkType | info.linkTypeExtension) >>> 0, snapshotLength: info.snapshotLength }));
        },
        packet: (p, d) => writers.get(d === "mirroredOnly" ? "dropped" : d)?.write(p),
      });
      if (opts.json) return toStdout ? { stdout: "", stderr: toJson(summary) } : { stdout: toJson(summary), stderr: "" };
      const gens = Object.entries(summary.generations)
        .map(([g, n]) => `${n} by generation ${g}`)
        .join(", ");
      const text =
          `${summary.packets} packets injected (${summary.direction}): ${summary.accepted} accepted, ${summary.dropped} dropped, ${summary.queued} queued, ${summary.mirroredOnly} mirrored-only` +
          `${summary.faulted ? ` (${summary.faulted} faulted)` : ""}\n${gens ? `judged ${gens}\n` : ""}`;
      return toStdout ? { stdout: "", stderr: text } : { stdout: text, stderr: "" };
    } finally {
      for (const w of writers.values()) w.close();
    }
  });
}

export function registerInject(program: Command): void {
  addNicOption(
    program
      .command("inject")
      .description("send the packets of a capture (or a live pipe) into the NIC and report what became of them")
      .requiredOption("-r, --read <file>", "pcap or pcapng file, or - for standard input (tcpdump -w - | hostctl inject -r -)")
      .option("--direction <dir>", "ingress (wire to host, the default) or egress (host to wire)")
      .option("--port <n>", "NIC port the packets arrive on (pkt.port, default 0)")
      .option("-w, --write-accepted <file>", "write the accepted packets to a pcap file ('-' for standard output)")
      .option("--write-dropped <file>", "write the dropped and rejected packets to a pcap file")
      .option("--write-queued <file>", "write the packets queued to applications to a pcap file")
      .option("--batch <n>", "packets per batch sent to the NIC (default 4096)")
      .option("--json", "print the summary as JSON"),
  )
    .addHelpText("after", "\nExamples:\n  hostctl inject -r traffic.pcap -w passed.pcap\n  tcpdump -i eth0 -w - | hostctl inject -r -")
    .action(async (opts: InjectCommandOptions) => emit(await runInject(opts)));
}
