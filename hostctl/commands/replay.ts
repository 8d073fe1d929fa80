/**
 * `hostctl replay --policy FILE -r IN.pcap`: compile a policy, load it into the overlay VM with its table
 * images, run the capture through it and print every rule's counters as `iptables -L -v -n -x --line-numbers`
 * (or `iptables-save -c` with --save-counters, or --json). The direction of each packet is --direction, or,
 * when a host description lists the host's addresses, decided per packet: to the host is ingress, from it egress.
 * The host description also gives each packet its owner (owner.* fields), in both directions, as the NIC's
 * connection table would.
 *
 * With --kernel-log [FILE], every packet that hits a `log` statement (iptables' LOG target) also gets the line the
 * kernel's LOG target would write (hostctl/print/kernel-log.ts), in capture order, to standard error or FILE —
 * where an iptables admin looks for them: beside the counters, not in them. Finding which log statements a
 * packet hit takes one VM run per packet (the counters it moved give its path through the policy, as `hostctl
 * trace` reads it); without --kernel-log, or with no log statement in the policy, the capture runs in batches.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { compilePolicy, type CompiledPolicy, type PolicyFormat } from "../../compiler/policy/compile.js";
import { OwnerTable, type FlowKey, type HostDescription, type OwnerFields } from "../../compiler/policy/host.js";
import { countersJson, formatListing, formatSaveCounters, type Counter } from "../../compiler/policy/listing.js";
import { JitError, JitUnsupported, selectTier, type TierChoice } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { runtimeEntries } from "../driver/policy-program.js";
import { parseTierOption, TIER_HELP } from "../tier-option.js";
import { CaptureFileError, CaptureFileReader } from "../pcap/index.js";
import { CliError, describeFsError } from "../errors.js";
import { readText } from "../files.js";
import { walkPath } from "../driver/trace-path.js";
import { kernelLogLine } from "../print/kernel-log.js";
import { loadHost, policyFormat } from "./compile.js";

export interface ReplayPacket {
  data: Uint8Array;
  wireLength: number;
  /** capture time in milliseconds (drives `limit rate` token buckets) */
  timeMs?: number;
}

export interface ReplayOptions {
  /** every packet's direction; without it, decided per packet from the host's addresses (default ingress) */
  direction?: "ingress" | "egress";
  host?: HostDescription;
  linktype?: number;
  /** find the log statements every packet hits (ReplayResult.logHits): the packets then run one at a time */
  logHits?: boolean;
}

/** A packet hit a log statement: with the statement's prefix and the packet's mark at that point. */
export interface LogHit {
  /** index of the packet in the capture */
  packet: number;
  prefix: string;
  mark: number;
}

export interface ReplayResult {
  counters: Counter[];
  /** verdict word of every packet, in capture order */
  verdicts: Uint32Array;
  /** 0 ingress, 1 egress, per packet */
  directions: Uint8Array;
  /** meta.mark and the mirror bit each packet left with */
  marks: Uint32Array;
  mirror: Uint8Array;
  /** with `logHits`: every log statement hit, in capture order and, per packet, in the order the rules ran */
  logHits?: LogHit[];
}

/** Load a compiled policy and its table images into a VM (what the driver does through MMIO). */
export function loadIntoVm(vm: OverlayVM, compiled: CompiledPolicy): void {
  vm.load(compiled.image);
  for (const t of compiled.tables) for (const e of runtimeEntries(t)) vm.insertEntry(t.id, e);
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Addresses, protocol and ports of an Ethernet frame (VLAN tags skipped), for direction and owner lookups. */
export function flowOf(frame: Uint8Array, linktype = 1): Omit<FlowKey, "dir"> | undefined {
  if (linktype !== 1 || frame.length < 14) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off = 12;
  let type = view.getUint16(off);
  while ((type === 0x8100 || type === 0x88a8) && off + 6 <= frame.length) {
    off += 4;
    type = view.getUint16(off);
  }
  off += 2;
  let proto: number;
  let src: bigint;
  let dst: bigint;
  let l4: number;
  if (type === ETH_IPV4 && off + 20 <= frame.length) {
    const ihl = (frame[off]! & 0xf) * 4;
    proto = frame[off + 9]!;
    src = BigInt(view.getUint32(off + 12));
    dst = BigInt(view.getUint32(off + 16));
    const fragOff = view.getUint16(off + 6) & 0x1fff;
    l4 = fragOff === 0 ? off + ihl : -1;
  } else if (type === ETH_IPV6 && off + 40 <= frame.length) {
    proto = frame[off + 6]!;
    src = (view.getBigUint64(off + 8) << 64n) | view.getBigUint64(off + 16);
    dst = (view.getBigUint64(off + 24) << 64n) | view.getBigUint64(off + 32);
    l4 = off + 40;
  } else return undefined;
  let sport = 0;
  let dport = 0;
  if ((proto === 6 || proto === 17 || proto === 132) && l4 >= 0 && l4 + 4 <= frame.length) {
    sport = view.getUint16(l4);
    dport = view.getUint16(l4 + 2);
  }
  return { proto, src, dst, sport, dport };
}

/** Run packets through a loaded policy; counters accumulate in the VM. */
export function replayPackets(vm: OverlayVM, compiled: CompiledPolicy, packets: readonly ReplayPacket[], opts: ReplayOptions = {}): ReplayResult {
  const n = packets.length;
  const linktype = opts.linktype ?? 1;
  const directions = new Uint8Array(n);
  const owners: OwnerFields[] = [];
  const hostAddrs = new Set(opts.host?.addresses ?? []);
  const ownerTable = opts.host ? new OwnerTable(opts.host, compiled.ir.strings) : undefined;
  for (let i = 0; i < n; i++) {
    const flow = flowOf(packets[i]!.data, linktype);
    let dir: 0 | 1 = opts.direction === "egress" ? 1 : 0;
    if (!opts.direction && flow && hostAddrs.size > 0) dir = hostAddrs.has(flow.src) && !hostAddrs.has(flow.dst) ? 1 : 0;
    directions[i] = dir;
    owners.push(ownerTable && flow ? ownerTable.ownerFields({ dir, ...flow }) : NO_OWNER_FIELDS);
  }
  const verdicts = new Uint32Array(n);
  const marks = new Uint32Array(n);
  const mirror = new Uint8Array(n);
  const logHits: LogHit[] | undefined = opts.logHits ? [] : undefined;
  // a policy without log statements has no hits to find: it runs in batches all the same
  const oneByOne = logHits !== undefined && compiled.ir.logPrefixes.length > 0;
  // one VM call per run of packets that share a direction, in capture order (flow state stays in order)
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && directions[end] === directions[start]) end++;
    const dir = directions[start] as 0 | 1;
    for (let at = start; at < end; ) {
      const to = oneByOne ? at + 1 : end;
      const slice = packets.slice(at, to);
      const before = oneByOne ? vm.counters().packets : undefined;
      const r = vm.run(
        slice.map((p) => p.data),
        { wireLengths: slice.map((p) => p.wireLength), linktype, dir, ...runExtras(slice, owners.slice(at, to)) },
      );
      verdicts.set(r.verdicts, at);
      marks.set(r.marks, at);
      mirror.set(r.mirror, at);
      if (before) logHits!.push(...hitsOf(compiled, dir, before, vm.counters().packets, at));
      at = to;
    }
    start = end;
  }
  const raw = vm.counters();
  const counters: Counter[] = [];
  for (let i = 0; i < compiled.ir.counters.length; i++) counters.push({ packets: raw.packets[i] ?? 0n, bytes: raw.bytes[i] ?? 0n });
  return { counters, verdicts, directions, marks, mirror, ...(logHits ? { logHits } : {}) };
}

/**
 * The log statements one packet hit: its path through the policy from the counters it moved (the way `hostctl
 * trace` explains a packet), then each matched rule's statements in order — a `mark set` before a `log` is the
 * mark that log line shows.
 */
function hitsOf(compiled: CompiledPolicy, dir: 0 | 1, before: BigUint64Array, after: BigUint64Array, packet: number): LogHit[] {
  const moved = new Map<number, number>();
  for (let c = 0; c < after.length; c++) {
    const d = after[c]! - (before[c] ?? 0n);
    if (d !== 0n) moved.set(c, Number(d));
  }
  const hits: LogHit[] = [];
  let mark = 0;
  for (const { rule } of walkPath(compiled.ir, dir, moved)) {
    for (const e of rule?.effects ?? []) {
      if (e.kind === "mark") mark = e.value;
      else if (e.kind === "log") hits.push({ packet, prefix: compiled.ir.logPrefixes[e.index] ?? "", mark });
    }
  }
  return hits;
}

const NO_OWNER_FIELDS: OwnerFields = { app: 0, uid: 0xffffffff, gid: 0xffffffff, pid: 0xffffffff, cmd: 0, cgroup: 0 };

/** The side input of a run: each packet's owner fields (as the NIC's connection table gives them) and time. */
function runExtras(packets: readonly ReplayPacket[], owners: OwnerFields[]): { owners: Uint32Array; timesUs: Float64Array } {
  const o = new Uint32Array(6 * packets.length);
  const t = new Float64Array(packets.length);
  owners.forEach((w, i) => {
    o.set([w.app, w.uid, w.gid, w.pid, w.cmd, w.cgroup], 6 * i);
    t[i] = (packets[i]!.timeMs ?? 0) * 1000;
  });
  return { owners: o, timesUs: t };
}

export interface ReplayCommandOptions {
  policy: string;
  format?: string;
  read: string;
  direction?: string;
  host?: string;
  json?: boolean;
  saveCounters?: boolean;
  tier?: string;
  /** the kernel's LOG lines: true for standard error, or a file name */
  kernelLog?: string | boolean;
  /** the interface name the LOG lines give the NIC's port (IN= or OUT=) */
  logDev?: string;
}

/** What --log-dev may name: a Linux interface name (1 … 15 characters, no whitespace, '/' or ':'). */
const IFNAME = /^[^\s/:]{1,15}$/;

export function readCapture(path: string): { packets: ReplayPacket[]; linktype: number } {
  let reader: CaptureFileReader;
  try {
    reader = CaptureFileReader.open(path);
  } catch (e) {
    if (e instanceof CaptureFileError) throw new CliError(e.message);
    throw e;
  }
  try {
    const packets: ReplayPacket[] = [];
    for (const p of reader) packets.push({ data: p.data, wireLength: p.wireLength, timeMs: p.seconds * 1000 + p.nanoseconds / 1e6 });
    return { packets, linktype: reader.info.dlt };
  } catch (e) {
    if (e instanceof CaptureFileError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  } finally {
    reader.close();
  }
}

/** The whole `hostctl replay`: returns what it prints (`kernelLog`: the LOG lines, with --kernel-log). */
export async function runReplay(opts: ReplayCommandOptions): Promise<{ stdout: string; kernelLog?: string; compiled: CompiledPolicy; result: ReplayResult }> {
  if (opts.direction !== undefined && opts.direction !== "ingress" && opts.direction !== "egress") throw new CliError(`--direction must be ingress or egress, not '${opts.direction}'`);
  if (opts.logDev !== undefined && !opts.kernelLog) throw new CliError("--log-dev names the device in the kernel log lines: give --kernel-log too");
  if (opts.logDev !== undefined && (!IFNAME.test(opts.logDev) || opts.logDev === "." || opts.logDev === "..")) throw new CliError(`--log-dev '${opts.logDev}' is not an interface name (1 to 15 characters, no spaces, '/' or ':')`);
  if (opts.kernelLog === "") throw new CliError("--kernel-log: the file name is empty");
  const tier = parseTierOption(opts.tier, "interpreter");
  const format: PolicyFormat = policyFormat(opts.format, opts.policy);
  const host = loadHost(opts.host);
  const name = opts.policy === "-" ? "<stdin>" : opts.policy;
  const compiled = compilePolicy(readText(opts.policy), name, { format, host, hostFile: opts.host });
  const { packets, linktype } = readCapture(opts.read);
  const vm = await OverlayVM.create();
  loadIntoVm(vm, compiled);
  let choice: TierChoice;
  try {
    choice = selectTier(vm, tier);
  } catch (e) {
    if (e instanceof JitUnsupported || e instanceof JitError) throw new CliError(e.message);
    throw e;
  }
  if (choice.fallback) process.stderr.write(`hostctl: --tier auto runs the interpreter: ${choice.fallback}\n`);
  const result = replayPackets(vm, compiled, packets, { direction: opts.direction as "ingress" | "egress" | undefined, host, linktype, logHits: Boolean(opts.kernelLog) });
  const dev = opts.logDev ?? "nic0";
  const kernelLog = result.logHits?.map((h) => {
    const ingress = result.directions[h.packet] === 0;
    return kernelLogLine(packets[h.packet]!.data, linktype, { prefix: h.prefix, inDev: ingress ? dev : "", outDev: ingress ? "" : dev, mark: h.mark }) + "\n";
  }).join("");
  let stdout: string;
  if (opts.json) stdout = JSON.stringify({ policy: name, capture: opts.read, packets: packets.length, ...countersJson(compiled.ir, result.counters) }, null, 2) + "\n";
  else if (opts.saveCounters) stdout = formatSaveCounters(compiled.ir, result.counters);
  else stdout = formatListing(compiled.ir, result.counters);
  return { stdout, ...(kernelLog !== undefined ? { kernelLog } : {}), compiled, result };
}

export function registerReplay(program: Command): void {
  program
    .command("replay")
    .description("run a capture through a compiled policy on the VM and print per-rule counters")
    .requiredOption("--policy <file>", "policy file (.kopi or iptables-save)")
    .option("--format <format>", "policy format: kopi or iptables-save (default: by extension)")
    .requiredOption("-r, --read <pcap>", "capture file to replay (pcap or pcapng)")
    .option("--direction <dir>", "ingress or egress for every packet (default: from the host's addresses, else ingress)")
    .option("--host <HOST.json>", "host description: addresses, users, applications and the ports they own")
    .option("--json", "print the counters as JSON")
    .option("--save-counters", "print the counters as iptables-save -c does")
    .option("--tier <tier>", `${TIER_HELP} (default interpreter)`)
    .option("--kernel-log [file]", "write the kernel's LOG line for every packet a log rule hits (iptables' LOG format) to standard error, or to FILE")
    .option("--log-dev <name>", "with --kernel-log: the interface name of the NIC's port in those lines (IN= for ingress, OUT= for egress; default nic0)")
    .addHelpText(
      "after",
      "\nLOG lines are what `dmesg -t` (or journalctl -k -o cat) shows for iptables' LOG target with its default flags:\n  kopi-ssh: IN=nic0 OUT= MAC=… SRC=10.0.0.9 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0\none per packet and log rule hit, in capture order; the counters still go to standard output.\n\nExample:\n  hostctl replay --policy examples/policies/port-partition.kopi --host examples/policies/port-partition.host.json -r traffic.pcap\n  hostctl replay --policy rules.v4 -r traffic.pcap --kernel-log --log-dev eth0",
    )
    .action(async (opts: ReplayCommandOptions) => {
      const { stdout, kernelLog } = await runReplay(opts);
      if (kernelLog !== undefined) {
        if (typeof opts.kernelLog === "string") {
          try {
            writeFileSync(opts.kernelLog, kernelLog);
          } catch (e) {
            throw describeFsError(opts.kernelLog, e);
          }
        } else process.stderr.write(kernelLog);
      }
      process.stdout.write(stdout);
    });
}
