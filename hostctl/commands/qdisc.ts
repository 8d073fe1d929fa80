/**
 * `hostctl qdisc show`, `hostctl class show`, `hostctl filter show` — tc's listings of a QoS policy's qdiscs,
 * classes and filters, with `-s` statistics in tc's shape and `--json` as `tc -j` prints it. The statistics are
 * those of the NIC's egress scheduler after running the given offered load on the virtual-time link (without
 * one: a freshly loaded qdisc, all zero).
 *
 *   hostctl qdisc show -s --policy game.qos --traffic load.json --link 100mbit --duration 10s
 *   hostctl class show dev nic0 -s --policy htb.tc --format tc -r capture.pcap --link 10mbit --duration 5s
 */
import type { Command } from "commander";
import { CliError } from "../errors.js";
import { loadHost } from "./compile.js";
import { toJson } from "./nic-session.js";
import { statsSource } from "../qos/report.js";
import { loadQos, loadSimulation, runLoaded, type LoadOptions } from "../qos/run.js";
import { classEntries, entriesJson, filterEntries, formatEntries, qdiscEntries, type StatsEntry, type StatsSource } from "../qos/tc-stats.js";
import type { CompiledQos } from "../../compiler/qos/compile.js";

export interface ShowOptions extends LoadOptions {
  stats?: boolean;
  json?: boolean;
}

type What = "qdisc" | "class" | "filter";

const LISTS: Record<What, (c: CompiledQos, s: StatsSource | undefined) => StatsEntry[]> = { qdisc: qdiscEntries, class: classEntries, filter: filterEntries };

/** The whole command: returns what it prints. `words` are tc's trailing words (`dev nic0`). */
export async function runShow(what: What, words: string[], opts: ShowOptions): Promise<{ stdout: string; stderr: string }> {
  let dev: string | undefined;
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "dev" && words[i + 1] !== undefined) dev = words[++i];
    else if (i === words.length - 1 && words[i] !== "dev" && dev === undefined) dev = words[i];
    else throw new CliError(`unexpected '${words[i]}' (${what} show takes [dev NAME])`);
  }
  let compiled: CompiledQos;
  let source: StatsSource | undefined;
  let stderr: string;
  if (opts.traffic !== undefined || opts.read !== undefined) {
    const loaded = loadSimulation(opts);
    const { result } = await runLoaded(loaded);
    compiled = result.compiled;
    source = statsSource(result);
    stderr = loaded.warnings;
  } else {
    if (opts.link !== undefined || opts.duration !== undefined) throw new CliError("--link and --duration run offered load: give --traffic SPEC.json or -r IN.pcap too");
    const host = loadHost(opts.host);
    const loaded = loadQos(opts.policy, opts.format, host, opts.host);
    compiled = loaded.compiled;
    stderr = loaded.warnings;
  }
  if (dev !== undefined && dev !== compiled.policy.dev) throw new CliError(`Cannot find device "${dev}" (the policy configures ${compiled.policy.dev})`);
  const entries = LISTS[what](compiled, source);
  const stdout = opts.json ? toJson(entriesJson(entries)) : formatEntries(entries, opts.stats === true);
  return { stdout, stderr };
}

function register(program: Command, what: What, about: string): void {
  const cmd = program.command(what).description(about);
  cmd
    .command("show")
    .description(`list the ${what === "class" ? "classes" : what + "s"} as tc does (-s: with statistics)`)
    .argument("[words...]", "dev NAME, as tc takes it")
    .requiredOption("--policy <file>", "QoS policy (.qos, or a tc script)")
    .option("--format <format>", "policy format: qos or tc (default: by extension)")
    .option("-s, --stats", "print statistics (tc -s)")
    .option("--json", "print JSON as tc -j does")
    .option("--traffic <SPEC.json>", "run this offered load first (statistics after it)")
    .option("-r, --read <IN.pcap>", "run this capture first")
    .option("--link <rate>", "egress link rate for the run (100mbit)")
    .option("--duration <time>", "virtual time of the run (10s)")
    .option("--host <HOST.json>", "host description")
    .action(async (words: string[], opts: ShowOptions) => {
      const r = await runShow(what, words, opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
}

export function registerQdisc(program: Command): void {
  register(program, "qdisc", "queueing disciplines of the NIC's egress link (tc qdisc)");
  register(program, "class", "classes of the egress qdisc (tc class)");
  register(program, "filter", "filters of the egress qdisc (tc filter)");
}
