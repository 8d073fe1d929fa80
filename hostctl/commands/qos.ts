/**
 * `hostctl qos compile POLICY` — compile a QoS policy (.qos, or a tc script with --format tc) into its classifier
 * and qdisc programs and show what the NIC gets; `hostctl qos simulate` — run applications' offered load through
 * it on a virtual-time egress link and report per-class throughput, drops and delays (and an SVG plot).
 */
import type { Command } from "commander";
import { disassemble, encodeImage } from "../../overlay-isa/index.js";
import type { CompiledQos } from "../../compiler/qos/compile.js";
import { formatHandle } from "../../compiler/qos/units.js";
import { isFifoLeaf } from "../../compiler/qos/ir.js";
import { hasQdiscLeaves, leafSlots } from "../../compiler/qos/leaves.js";
import { writeBytes } from "../files.js";
import { loadHost } from "./compile.js";
import { plotSvg } from "../qos/plot.js";
import { reportJson, reportText } from "../qos/report.js";
import { loadQos, loadSimulation, runLoaded, type LoadOptions } from "../qos/run.js";
import { parseInteger, toJson } from "./nic-session.js";

export interface QosCompileOptions {
  format?: string;
  host?: string;
  json?: boolean;
  asm?: boolean;
  output?: string;
}

export function qosSummary(c: CompiledQos): string {
  const p = c.policy.root;
  const lines: string[] = [];
  const s = c.scheduler;
  lines.push(`qdisc ${p.params.kind} ${formatHandle(p.handle)} root on ${c.policy.dev}`);
  lines.push(`  classifier: ${c.policy.filters.length} filters → ${c.classifier.image.code.length} instructions, ${c.classifier.image.tables.length} tables, worst case ${c.classifierWorstCase} cycles per packet`);
  lines.push(`  qdisc program: ${s.image.code.length} instructions, worst case ${s.verify.worstCaseCycles} cycles per event`);
  lines.push(`  queue model: ${s.layout.queues} queues, ${s.layout.packets} packet descriptors, ${s.layout.stateWords} state words`);
  const roles = c.queues.length <= 16 ? c.queues.map((q, i) => `q${i} ${q.name}`).join(", ") : hasQdiscLeaves(c.policy) ? queueRanges(c) : `${c.queues.length} per-flow queues`;
  lines.push(`  queues: ${roles}`);
  return lines.join("\n") + "\n";
}

/** Queues by class when classes end in qdiscs of their own: `q0–q1023 1:10 (fq_codel 10:), q1024 1:20, q1025 direct`. */
function queueRanges(c: CompiledQos): string {
  const slots = leafSlots(c.policy.root.params, c.policy.root.handle);
  const parts = slots.map((s) => {
    const at = s.queues === 1 ? `q${s.base}` : `q${s.base}–q${s.base + s.queues - 1}`;
    const kind = isFifoLeaf(s.leaf) ? "" : ` (${s.leaf.kind}${s.leaf.handle !== undefined ? ` ${formatHandle(s.leaf.handle)}` : ""})`;
    return `${at} ${formatHandle(s.parent)}${kind}`;
  });
  const end = slots.reduce((n, s) => n + s.queues, 0);
  if (end < c.queues.length) parts.push(`q${end} ${c.queues[end]!.name}`);
  return parts.join(", ");
}

export function runQosCompile(file: string, opts: QosCompileOptions): { stdout: string; stderr: string; compiled: CompiledQos } {
  const host = loadHost(opts.host);
  const { compiled, warnings } = loadQos(file, opts.format, host, opts.host);
  let stdout: string;
  if (opts.json) {
    stdout = toJson({
      qdisc: compiled.policy.root.params,
      dev: compiled.policy.dev,
      handle: formatHandle(compiled.policy.root.handle),
      queues: compiled.queues.map((q) => q.name),
      classifier: { instructions: compiled.classifier.image.code.length, tables: compiled.classifier.image.tables.length, worstCaseCycles: compiled.classifierWorstCase },
      scheduler: { instructions: compiled.scheduler.image.code.length, worstCaseCycles: compiled.scheduler.verify.worstCaseCycles, ...compiled.scheduler.layout },
      warnings: compiled.warnings.map((w) => `${w.file}:${w.line}:${w.column}: ${w.message}`),
    });
  } else {
    stdout = qosSummary(compiled);
    if (opts.asm) stdout += `\n; classifier\n${disassemble(compiled.classifier.image)}\n; qdisc\n${disassemble(compiled.scheduler.image)}`;
  }
  if (opts.output !== undefined) writeBytes(opts.output, encodeImage(compiled.scheduler.image));
  return { stdout, stderr: warnings, compiled };
}

export interface QosSimulateOptions extends LoadOptions {
  json?: boolean;
  plot?: string;
  bySource?: boolean;
  bins?: string;
}

export async function runQosSimulate(opts: QosSimulateOptions): Promise<{ stdout: string; stderr: string }> {
  const loaded = loadSimulation(opts);
  const bins = opts.bins === undefined ? undefined : parseInteger(opts.bins, "--bins", 2, 10000);
  const { result, wallMs } = await runLoaded(loaded, bins);
  if (opts.plot !== undefined) writeBytes(opts.plot, plotSvg(result, { bySource: opts.bySource === true || result.classes.length <= 1 }));
  const stdout = opts.json ? toJson(reportJson(result)) : reportText(result, wallMs);
  return { stdout, stderr: loaded.warnings };
}

export function registerQos(program: Command): void {
  const qos = program.command("qos").description("QoS on the NIC's egress link: queueing disciplines as overlay programs");
  qos
    .command("compile")
    .description("compile a QoS policy (.qos, or a tc script) into its classifier and qdisc programs")
    .argument("<file>", "QoS policy, or - for standard input")
    .option("--format <format>", "qos or tc (default: tc for .tc/.sh files, else qos)")
    .option("--host <HOST.json>", "host description that names users and groups")
    .option("--json", "print the result as JSON")
    .option("--asm", "also print both programs' disassembly")
    .option("-o, --output <image>", "write the qdisc program's image")
    .addHelpText("after", "\nExamples:\n  hostctl qos compile examples/qos/game-vs-database.qos\n  hostctl qos compile --format tc examples/qos/htb.tc --asm")
    .action((file: string, opts: QosCompileOptions) => {
      const r = runQosCompile(file, opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
  qos
    .command("simulate")
    .description("run offered load through a QoS policy on a virtual-time egress link")
    .requiredOption("--policy <file>", "QoS policy (.qos, or a tc script)")
    .option("--format <format>", "policy format: qos or tc (default: by extension)")
    .option("--traffic <SPEC.json>", "the applications' offered load (sources tagged with owners)")
    .option("-r, --read <IN.pcap>", "offer a capture's packets at their timestamps instead")
    .option("--link <rate>", "egress link rate in tc units (100mbit, 1gbit, 12500kbps)")
    .option("--duration <time>", "virtual time to simulate (10s, 500ms)")
    .option("--host <HOST.json>", "host description: user names, and owners of captured packets")
    .option("--json", "print the results as JSON (with tc's statistics)")
    .option("--plot <OUT.svg>", "write an SVG plot of each class's rate over time")
    .option("--by-source", "plot sources instead of classes")
    .option("--bins <n>", "time bins of the plot and rate series (default 100)")
    .addHelpText(
      "after",
      "\nExamples:\n  hostctl qos simulate --policy examples/qos/game-vs-database.qos --traffic examples/qos/game-vs-database.json --link 100mbit --duration 10s --plot game.svg\n  hostctl qos simulate --policy examples/qos/htb.tc --format tc -r capture.pcap --link 10mbit --duration 5s --json",
    )
    .action(async (opts: QosSimulateOptions) => {
      const r = await runQosSimulate(opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
}
