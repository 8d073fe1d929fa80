/**
 * `hostctl trace -r FILE|-`: "why was this dropped?". The packets go through the NIC's trace port — they are
 * real traffic, counted like any other, as iptables' TRACE target traces real packets — and for each one the
 * NIC reports the counters it moved; hostctl turns those into the path through the policy:
 * hook: chain rule N (rule text) → action, …, → verdict.
 */
import type { Command } from "commander";
import { decodeVerdict, formatVerdict } from "../../overlay-isa/index.js";
import type { PacketTrace } from "../driver/policy-driver.js";
import { PacketPrinter } from "../print/packet-printer.js";
import { DEFAULT_PRINT_OPTIONS } from "../print/print-options.js";
import { emit, type CommandOutput } from "./load.js";
import { parseDirection } from "./inject.js";
import { addNicOption, parseInteger, toJson, withNic } from "./nic-session.js";
import { openCaptureInput, packetTimeUs } from "./packet-batches.js";

export interface TraceCommandOptions {
  read: string;
  direction?: string;
  count?: string;
  nic?: string;
  json?: boolean;
}

function verdictText(word: number, fault: boolean): string {
  if (fault) return "drop (the program faulted)";
  const v = decodeVerdict(word);
  return v ? formatVerdict(v) : `verdict 0x${word.toString(16)}`;
}

/** `ingress: ingress rule 2 (tcp dport 22 accept) → accept` */
export function formatTrace(t: PacketTrace): string {
  if (t.generation === 0) return "no policy loaded → accept";
  if (t.steps.length === 0) return `not seen by a hook (the policy only judges IP packets) → ${verdictText(t.verdict, t.fault)}`;
  const hook = t.steps[0]!.hook;
  const path = t.steps.map((s) => (s.rule !== undefined ? `${s.chain} rule ${s.rule} (${s.text}) → ${s.action}` : `${s.chain} ${s.text}`)).join("; ");
  return `${hook}: ${path}${t.fault ? " [faulted → drop]" : ""}`;
}

export async function runTrace(opts: TraceCommandOptions): Promise<CommandOutput> {
  const dir = parseDirection(opts.direction);
  const limit = opts.count !== undefined ? parseInteger(opts.count, "-c", 1, 1 << 20) : Infinity;
  return withNic(opts.nic, async (s) => {
    const input = await openCaptureInput(opts.read, 256);
    const printer = new PacketPrinter(input.info.dlt, { ...DEFAULT_PRINT_OPTIONS, numeric: true, timestamps: "none" });
    const lines: string[] = [];
    const json: object[] = [];
    let n = 0;
    for await (const batch of input.batches) {
      const packets = batch.slice(0, Math.max(0, limit - n));
      if (packets.length === 0) break;
      const { traces } = await s.policy.trace({ frames: packets.map((p) => p.data), wireLengths: packets.map((p) => p.wireLength), timesUs: packets.map(packetTimeUs), dir, linktype: input.info.dlt });
      packets.forEach((p, i) => {
        n++;
        const t = traces[i]!;
        if (opts.json) json.push({ packet: n, generation: t.generation, verdict: verdictText(t.verdict, t.fault), fault: t.fault, steps: t.steps });
        else lines.push(`#${n} ${printer.format(p, n).trimEnd()}\n    gen ${t.generation} ${formatTrace(t)}`);
      });
      if (n >= limit) break;
    }
    return { stdout: opts.json ? toJson({ packets: json }) : lines.map((l) => l + "\n").join(""), stderr: "" };
  });
}

export function registerTrace(program: Command): void {
  addNicOption(
    program
      .command("trace")
      .description("trace packets through the live policy: which hook, chain and rule decided each one, and the verdict")
      .requiredOption("-r, --read <file>", "pcap or pcapng file of the packets to trace, or - for standard input")
      .option("--direction <dir>", "ingress (the default) or egress")
      .option("-c, --count <n>", "trace at most this many packets")
      .option("--json", "print the paths as JSON"),
  )
    .addHelpText("after", "\nTraced packets are real traffic: they count, and may open flows, like any injected packet.")
    .action(async (opts: TraceCommandOptions) => emit(await runTrace(opts)));
}
