/**
 * `hostctl qdisc add|replace|show`, `hostctl class show`, `hostctl filter show` — tc's commands for the NIC's
 * egress scheduler.
 *
 * Against the NIC (`--nic PATH` or `--nic local`, as the other NIC commands): `qdisc add|replace --policy FILE`
 * compiles a QoS policy and loads it as a function change (upload into the shadow slot, commit; queued packets
 * carried over), `qdisc del` removes it the same way (tc's `qdisc del dev DEV root`: the queued packets are
 * dropped and egress packets leave unscheduled again, the NIC's default), and `show -s` prints the live counters
 * the NIC latched, in tc's shape (`--json` as `tc -j`).
 *
 *   hostctl qdisc replace dev nic0 --policy game.qos --link 100mbit
 *   hostctl qdisc show dev nic0 -s
 *   hostctl class show dev nic0 -s --json
 *   hostctl qdisc del dev nic0 root
 *
 * Without a NIC, `show --policy FILE` lists a policy's qdisc, classes and filters; with `--traffic SPEC.json` or
 * `-r IN.pcap` their statistics after that offered load on the virtual-time link (`hostctl qos simulate`'s).
 */
import type { Command } from "commander";
import { compileQos, type CompiledQos } from "../../compiler/qos/compile.js";
import { HostError, parseHost } from "../../compiler/policy/host.js";
import { formatHandle, minorOf, parseHandle, parseRate, UnitError, type Handle } from "../../compiler/qos/units.js";
import { QDISC_KINDS } from "../../compiler/qos/ir.js";
import { crc32 } from "../../overlay-isa/index.js";
import { CliError } from "../errors.js";
import { readText } from "../files.js";
import { loadHost } from "./compile.js";
import { addNicOption, toJson, withNic, type NicSession } from "./nic-session.js";
import { statsSource } from "../qos/report.js";
import { bundleOf } from "../qos/bundle.js";
import { loadQos, loadSimulation, qosFormat, runLoaded, type LoadOptions } from "../qos/run.js";
import { classEntries, entriesJson, filterEntries, formatEntries, qdiscEntries, type StatsEntry, type StatsSource } from "../qos/tc-stats.js";
import { channelOf } from "../apps/channel.js";
import { nameId } from "../apps/names.js";
import { cgroupId } from "../../compiler/policy/cgroup.js";
import type { AppListing } from "../apps/service.js";
import { qdiscImageOf, QdiscDriver, schedulerSnapshotOf, type QdiscNames } from "../driver/qdisc-driver.js";
import type { QdiscRecord, QdiscState } from "../driver/transport.js";
import { CAPS, REG } from "../../fpga-model/registers.js";

export interface ShowOptions extends Omit<LoadOptions, "policy"> {
  /** a policy to show without a NIC (else the NIC's qdisc) */
  policy?: string;
  stats?: boolean;
  json?: boolean;
  nic?: string;
}

export interface AddOptions {
  policy: string;
  format?: string;
  host?: string;
  link?: string;
  nic?: string;
}

type What = "qdisc" | "class" | "filter";

const LISTS: Record<What, (c: CompiledQos, s: StatsSource | undefined) => StatsEntry[]> = { qdisc: qdiscEntries, class: classEntries, filter: filterEntries };

/** tc's trailing words: `dev NAME` or just `NAME` (and `root` where the policy's qdisc is meant: it is the root). */
function deviceWord(what: string, words: readonly string[], rootAllowed = false): string | undefined {
  let dev: string | undefined;
  let root = false;
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "dev" && words[i + 1] !== undefined) dev = words[++i];
    else if (rootAllowed && words[i] === "root" && !root) root = true;
    else if (i === words.length - 1 && words[i] !== "dev" && dev === undefined) dev = words[i];
    else throw new CliError(`unexpected '${words[i]}' (${what} takes [dev NAME]${rootAllowed ? " [root]" : ""})`);
  }
  return dev;
}

/** What `qdisc del` names: tc's `[dev NAME] [root] [handle H] [KIND]` (the NIC has one qdisc: root is implied). */
export interface DelWords {
  dev?: string;
  handle?: Handle;
  kind?: string;
}

export function delWords(words: readonly string[]): DelWords {
  const out: DelWords = {};
  let root = false;
  const usage = "qdisc del takes [dev NAME] [root] [handle H] [KIND]";
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "dev") {
      if (words[i + 1] === undefined) throw new CliError(`dev needs a device name (${usage})`);
      if (out.dev !== undefined) throw new CliError(`duplicate "dev": the device is ${out.dev}`);
      out.dev = words[++i]!;
    } else if (w === "root") {
      if (root) throw new CliError('"root" is duplicate parent ID');
      root = true;
    } else if (w === "parent") {
      throw new CliError("only the root qdisc can be deleted: the NIC's qdisc is one function change (load one without that child with hostctl qdisc replace --policy FILE)");
    } else if (w === "handle") {
      const text = words[i + 1];
      if (text === undefined) throw new CliError("handle needs a qdisc handle (such as 1:)");
      i++;
      let h: Handle;
      try {
        h = parseHandle(text, "qdisc handle");
      } catch (e) {
        if (e instanceof UnitError) throw new CliError(`handle: ${e.message}`);
        throw e;
      }
      if (text === "root" || minorOf(h) !== 0) throw new CliError(`handle: '${text}' is not a qdisc handle (MAJOR: in hex, such as 1:)`);
      out.handle = h;
    } else if ((QDISC_KINDS as readonly string[]).includes(w)) {
      if (out.kind !== undefined) throw new CliError(`unexpected '${w}' (${usage})`);
      out.kind = w;
    } else if (i === words.length - 1 && out.dev === undefined) {
      out.dev = w; // as the other qdisc commands: a lone last word is the device
    } else {
      throw new CliError(`unexpected '${w}' (${usage})`);
    }
  }
  return out;
}

/** The whole command: returns what it prints. `words` are tc's trailing words (`dev nic0`). */
export async function runShow(what: What, words: string[], opts: ShowOptions): Promise<{ stdout: string; stderr: string }> {
  const dev = deviceWord(`${what} show`, words);
  if (opts.policy === undefined) {
    for (const [flag, v] of [["--traffic", opts.traffic], ["-r", opts.read], ["--link", opts.link], ["--duration", opts.duration], ["--format", opts.format], ["--host", opts.host]] as const) {
      if (v !== undefined) throw new CliError(`${flag} goes with --policy FILE (a policy shown without a NIC); the NIC's ${what}s come from the qdisc it runs`);
    }
    return withNic(opts.nic, (s) => showLive(s, what, dev, opts));
  }
  if (opts.nic !== undefined) throw new CliError("give either --nic (the qdisc the NIC runs) or --policy FILE (a policy, without a NIC)");
  return showPolicy(what, dev, { ...opts, policy: opts.policy });
}

async function showPolicy(what: What, dev: string | undefined, opts: ShowOptions & LoadOptions): Promise<{ stdout: string; stderr: string }> {
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

/** Compile the policy a qdisc record was loaded from (the same text, host description and format). */
export function compileRecord(state: QdiscState): CompiledQos {
  const p = state.policy;
  let host;
  try {
    host = p.host !== undefined ? parseHost(p.host, p.hostFile ?? "<host>") : undefined;
  } catch (e) {
    if (e instanceof HostError) throw new CliError(`the qdisc's host description no longer parses: ${e.message}`);
    throw e;
  }
  return compileQos(p.text, p.file, { format: p.format, ...(host ? { host } : {}), ...(p.hostFile !== undefined ? { hostFile: p.hostFile } : {}) });
}

export async function showLive(s: NicSession, what: What, dev: string | undefined, opts: ShowOptions): Promise<{ stdout: string; stderr: string }> {
  const record = await s.transport.getQdiscState();
  const qd = new QdiscDriver(s.driver);
  const status = await qd.status();
  if (!record.state || status.generation === 0) {
    if (dev !== undefined && dev !== "nic0") throw new CliError(`Cannot find device "${dev}"`);
    return { stdout: opts.json ? toJson([]) : "", stderr: `no qdisc on the NIC's egress link: packets leave unscheduled (hostctl qdisc add --policy FILE loads one)\n` };
  }
  const compiled = compileRecord(record.state);
  if (dev !== undefined && dev !== compiled.policy.dev) throw new CliError(`Cannot find device "${dev}" (the NIC's egress link is ${compiled.policy.dev})`);
  let stderr = "";
  // a rollback made the record's qdisc inactive, or another tool changed it: say so rather than misname counters
  if (record.state.generation !== status.generation) stderr += `the NIC runs qdisc generation ${status.generation}; the listing is of generation ${record.state.generation} (${record.state.policy.file})\n`;
  else if (status.crc !== 0 && crcOf(compiled) !== status.crc) stderr += `the qdisc the NIC runs differs from ${record.state.policy.file} compiled now (the compiler changed since it was loaded)\n`;
  const snap = await qd.snapshot();
  const entries = LISTS[what](compiled, schedulerSnapshotOf(snap));
  const stdout = opts.json ? toJson(entriesJson(entries)) : formatEntries(entries, opts.stats === true);
  return { stdout, stderr };
}

/** What EG_CRC reads for this policy's qdisc: the CRC-32 of its image (fpga-model/egress-image.ts). */
function crcOf(c: CompiledQos): number {
  return crc32(qdiscImageOf(bundleOf(c)));
}

/** tc's rate units for --link, as kbit/s for EG_LINK_KBIT. */
function linkKbit(text: string): number {
  let bytesPerSec: number;
  try {
    bytesPerSec = parseRate(text);
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(`--link: ${e.message}`);
    throw e;
  }
  const kbit = Math.round((bytesPerSec * 8) / 1000);
  if (kbit < 1 || kbit > 0xffffffff) throw new CliError(`--link ${text}: the NIC's link runs at 1 kbit/s … 4294 Gbit/s`);
  return kbit;
}

/** `qdisc add|replace`: compile, upload, commit. */
export async function runQdiscAdd(verb: "add" | "replace", words: string[], opts: AddOptions): Promise<{ stdout: string; stderr: string }> {
  const dev = deviceWord(`qdisc ${verb}`, words, true);
  const host = loadHost(opts.host);
  const format = qosFormat(opts.format, opts.policy);
  const { compiled, warnings } = loadQos(opts.policy, format, host, opts.host);
  if (dev !== undefined && dev !== compiled.policy.dev) throw new CliError(`Cannot find device "${dev}" (the policy configures ${compiled.policy.dev})`);
  const kbit = opts.link !== undefined ? linkKbit(opts.link) : undefined;
  const text = readText(opts.policy);
  const hostText = opts.host !== undefined ? readText(opts.host) : undefined;
  const source: QdiscState["policy"] = { file: opts.policy, format, text, ...(hostText !== undefined ? { host: hostText, hostFile: opts.host! } : {}) };
  return withNic(opts.nic, async (s) => ({ stdout: await loadQdisc(s, verb, compiled, source, kbit), stderr: warnings }));
}

/**
 * Load a compiled qdisc onto the NIC of a session (`add` refuses when one runs), with the owner-name ids of the
 * attached applications and the qdisc record; returns the line hostctl prints.
 */
export async function loadQdisc(s: NicSession, verb: "add" | "replace", compiled: CompiledQos, source: QdiscState["policy"], linkKbitValue?: number): Promise<string> {
  return underQdiscLock(s, async ({ record, qd, generation }) => {
    if (verb === "add" && generation !== 0) throw new CliError(`Exclusivity flag on, cannot modify: the NIC's egress link runs a qdisc already (generation ${generation}); use qdisc replace`);
    const strings = compiled.classifier.strings;
    const names = await applicationNames(s, strings);
    const image = qdiscImageOf(bundleOf(compiled));
    const state: QdiscState = { schema: 1, generation: 0, policy: source, strings: { cmd: [...strings.cmd], cgroup: [...strings.cgroup] }, changedAt: new Date().toISOString(), image: Buffer.from(image).toString("base64") };
    const r = await qd.load(image, names, generation, { ...(linkKbitValue !== undefined ? { linkKbit: linkKbitValue } : {}), update: { expectRevision: record.revision, state } });
    const snap = await qd.snapshot();
    const carried = generation === 0 ? "" : `; ${snap.head.migrated} queued packets carried over, ${snap.head.migration_drops} dropped`;
    const label = `${compiled.policy.root.params.kind} ${formatHandle(compiled.policy.root.handle)}`;
    return `${verb === "add" ? "added" : "replaced"} the egress qdisc: ${label} root (${compiled.queues.length} queues) as qdisc generation ${r.generation}, ${r.writes} register writes${carried}\n`;
  });
}

/**
 * `qdisc del`: remove the NIC's egress qdisc through the same function-change path add and replace take (stage
 * "no qdisc" in the shadow slot, commit against the generation read under the configuration lock). As tc's
 * `qdisc del dev DEV root`: the removed qdisc's queued packets are dropped (and counted), and the device falls
 * back to its default — for the NIC, no scheduler: egress packets go straight to the link. With no qdisc to
 * remove it fails as tc does ("Cannot delete qdisc with handle of zero"), changing nothing.
 */
export async function runQdiscDel(words: string[], opts: { nic?: string }): Promise<{ stdout: string; stderr: string }> {
  const want = delWords(words);
  return withNic(opts.nic, async (s) => ({ stdout: await deleteQdisc(s, want), stderr: "" }));
}

/** Remove the qdisc of a session's NIC if it is the one `want` names; returns the line hostctl prints. */
export async function deleteQdisc(s: NicSession, want: DelWords = {}): Promise<string> {
  return underQdiscLock(s, async ({ record, qd, generation }) => {
    // what the host knows of the running qdisc: the record, when it describes the active generation
    let running: { dev: string; kind: string; handle: Handle; file: string } | undefined;
    if (generation !== 0 && record.state && record.state.generation === generation) {
      try {
        const policy = compileRecord(record.state).policy;
        running = { dev: policy.dev, kind: policy.root.params.kind, handle: policy.root.handle, file: record.state.policy.file };
      } catch {
        running = undefined; // the record no longer compiles: remove the qdisc all the same, unnamed
      }
    }
    const dev = running?.dev ?? "nic0";
    if (want.dev !== undefined && want.dev !== dev) throw new CliError(`Cannot find device "${want.dev}" (the NIC's egress link is ${dev})`);
    if (generation === 0) {
      if (want.handle !== undefined) throw new CliError(`Invalid handle: the NIC's egress link runs no qdisc, none has handle ${formatHandle(want.handle)}`);
      throw new CliError("Cannot delete qdisc with handle of zero: the NIC's egress link runs no qdisc (egress packets leave unscheduled)");
    }
    if ((want.handle !== undefined || want.kind !== undefined) && !running) {
      throw new CliError(`the host keeps no record of the qdisc the NIC runs (generation ${generation}), so its handle and kind cannot be checked: run qdisc del without them`);
    }
    if (want.handle !== undefined && want.handle !== running!.handle) throw new CliError(`Invalid handle: the NIC's qdisc is ${formatHandle(running!.handle)}, not ${formatHandle(want.handle)}`);
    if (want.kind !== undefined && want.kind !== running!.kind) throw new CliError(`Invalid qdisc name: must match existing qdisc (the NIC runs ${running!.kind}, not ${want.kind})`);
    const r = await qd.remove(generation, { expectRevision: record.revision, state: null });
    const label = running ? `${running.kind} ${formatHandle(running.handle)} root (${running.file})` : `qdisc generation ${generation}`;
    return `deleted the egress qdisc: ${label}; ${r.droppedPackets} queued packets (${r.droppedBytes} bytes) dropped; egress packets leave unscheduled\n`;
  });
}

/**
 * Run a qdisc change on a NIC that has an egress scheduler, under the configuration lock, with the host's qdisc
 * record and the active qdisc generation read under that lock.
 */
async function underQdiscLock<T>(s: NicSession, change: (at: { record: QdiscRecord; qd: QdiscDriver; generation: number }) => Promise<T>): Promise<T> {
  const caps = (await s.driver.readRegisters([REG.CAPS]))[0]!;
  if ((caps & CAPS.EGRESS_QDISC) === 0) throw new CliError("this NIC has no egress scheduler (CAPS bit 10)");
  await s.transport.lock();
  try {
    const qd = new QdiscDriver(s.driver);
    const record = await s.transport.getQdiscState();
    return await change({ record, qd, generation: await qd.generation() });
  } finally {
    await s.transport.unlock();
  }
}

/** The owner-name ids the classifier interned, for every attached application. */
async function applicationNames(s: NicSession, strings: { cmd: readonly string[]; cgroup: readonly string[] }): Promise<QdiscNames[]> {
  if (strings.cmd.length === 0 && strings.cgroup.length === 0) return [];
  const listing = (await channelOf(s.transport).call("app.list")).header as unknown as AppListing;
  return listing.apps.map((a) => ({ app: a.app, cmd: nameId(strings.cmd, a.cmd), cgroup: cgroupId(strings.cgroup, a.cgroup) }));
}

function register(program: Command, what: What, about: string): Command {
  const top = program.command(what).description(about);
  const show = top
    .command("show")
    .description(`list the ${what === "class" ? "classes" : what + "s"} as tc does (-s: with statistics)`)
    .argument("[words...]", "dev NAME, as tc takes it")
    .option("--policy <file>", "a QoS policy (.qos, or a tc script) to show without a NIC")
    .option("--format <format>", "policy format: qos or tc (default: by extension)")
    .option("-s, --stats", "print statistics (tc -s)")
    .option("--json", "print JSON as tc -j does")
    .option("--traffic <SPEC.json>", "with --policy: run this offered load first (statistics after it)")
    .option("-r, --read <IN.pcap>", "with --policy: run this capture first")
    .option("--link <rate>", "with --policy: egress link rate for the run (100mbit)")
    .option("--duration <time>", "with --policy: virtual time of the run (10s)")
    .option("--host <HOST.json>", "host description");
  addNicOption(show).action(async (words: string[], opts: ShowOptions) => {
    const r = await runShow(what, words, opts);
    if (r.stderr) process.stderr.write(r.stderr);
    process.stdout.write(r.stdout);
  });
  return top;
}

export function registerQdisc(program: Command): void {
  const qdisc = register(program, "qdisc", "queueing disciplines of the NIC's egress link (tc qdisc)");
  for (const verb of ["add", "replace"] as const) {
    const cmd = qdisc
      .command(verb)
      .description(verb === "add" ? "load a qdisc onto the NIC's egress link (refused when one runs)" : "load a qdisc, replacing the one that runs (queued packets carried over)")
      .argument("[words...]", "dev NAME [root], as tc takes them (the policy's qdisc is the root)")
      .requiredOption("--policy <file>", "QoS policy (.qos, or a tc script)")
      .option("--format <format>", "policy format: qos or tc (default: by extension)")
      .option("--host <HOST.json>", "host description that names users and groups")
      .option("--link <rate>", "set the egress link's rate too (tc units: 100mbit, 1gbit)");
    addNicOption(cmd).action(async (words: string[], opts: AddOptions) => {
      const r = await runQdiscAdd(verb, words, opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
  }
  addNicOption(
    qdisc
      .command("del")
      .alias("delete")
      .description("remove the NIC's egress qdisc (tc qdisc del dev DEV root): its queued packets are dropped, egress packets leave unscheduled")
      .argument("[words...]", "dev NAME, root, handle H, KIND — as tc takes them (the NIC has one qdisc: root is implied)"),
  )
    .addHelpText("after", "\nAs tc: the deleted qdisc's queued packets are dropped (the count is printed); with no qdisc to delete it fails\n(exit 2) and changes nothing. The NIC's default is no scheduler: packets go straight to the link.\n\nExample:\n  hostctl qdisc del dev nic0 root")
    .action(async (words: string[], opts: { nic?: string }) => {
      const r = await runQdiscDel(words, opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
  register(program, "class", "classes of the egress qdisc (tc class)");
  register(program, "filter", "filters of the egress qdisc (tc filter)");
}

