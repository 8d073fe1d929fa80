/**
 * What `hostctl qos simulate` and `hostctl qdisc|class|filter show` share: reading the QoS policy (and the
 * qdiscs a traffic spec changes to), the offered load (a traffic spec or a capture), and running the link.
 */
import { dirname, resolve } from "node:path";
import { compileQos, type CompiledQos, type QosFormat } from "../../compiler/qos/compile.js";
import { formatQosWarning } from "../../compiler/qos/lower.js";
import { parseRate, parseTime, UnitError } from "../../compiler/qos/units.js";
import { OwnerTable, systemAccounts, type HostDescription } from "../../compiler/policy/host.js";
import { errorAt } from "../../overlay-isa/index.js";
import { CliError } from "../errors.js";
import { readText } from "../files.js";
import { flowOf, readCapture } from "../commands/replay.js";
import { loadHost } from "../commands/compile.js";
import { simulate, type CapturePacket, type Offered, type SimResult } from "./simulate.js";
import { parseTraffic, type TrafficSpec } from "./traffic.js";

export interface PolicyOptions {
  policy: string;
  format?: string;
  host?: string;
}

export interface LoadOptions extends PolicyOptions {
  traffic?: string;
  read?: string;
  link?: string;
  duration?: string;
}

export function qosFormat(format: string | undefined, file: string): QosFormat {
  if (format === undefined) return /\.(tc|sh)$/.test(file) ? "tc" : "qos";
  if (format !== "qos" && format !== "tc") throw new CliError(`--format must be qos or tc, not '${format}'`);
  return format;
}

/** Compile a QoS policy file; warnings are returned as text for standard error. */
export function loadQos(file: string, format: string | undefined, host: HostDescription | undefined, hostFile: string | undefined): { compiled: CompiledQos; warnings: string } {
  const name = file === "-" ? "<stdin>" : file;
  const compiled = compileQos(readText(file), name, { format: qosFormat(format, file), ...(host ? { host } : {}), ...(hostFile ? { hostFile } : {}) });
  return { compiled, warnings: compiled.warnings.map((w) => formatQosWarning(w) + "\n").join("") };
}

export function linkRate(text: string | undefined): number {
  if (text === undefined) throw new CliError("--link RATE is required (the egress link's rate, such as 100mbit or 1gbit)");
  try {
    const r = parseRate(text);
    if (r <= 0) throw new CliError("--link must be above 0");
    return r;
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(`--link: ${e.message}`);
    throw e;
  }
}

export function durationNs(text: string | undefined): number {
  if (text === undefined) throw new CliError("--duration T is required (virtual time to simulate, such as 10s or 500ms)");
  try {
    const us = parseTime(text);
    if (us <= 0) throw new CliError("--duration must be above 0");
    if (us > 3600e6) throw new CliError(`--duration ${text} is longer than an hour of virtual time`);
    return us * 1000;
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(`--duration: ${e.message}`);
    throw e;
  }
}

export interface Loaded {
  compiled: CompiledQos;
  offered: Offered;
  changes: CompiledQos[];
  warnings: string;
  linkRate: number;
  durationNs: number;
}

/** Read everything a simulation needs; every problem is a positioned error or a CliError. */
export function loadSimulation(opts: LoadOptions): Loaded {
  if ((opts.traffic === undefined) === (opts.read === undefined)) throw new CliError("give the offered load: --traffic SPEC.json or -r IN.pcap (one of them)");
  const rate = linkRate(opts.link);
  const duration = durationNs(opts.duration);
  const host = loadHost(opts.host);
  const { compiled, warnings } = loadQos(opts.policy, opts.format, host, opts.host);
  let text = warnings;
  const changes: CompiledQos[] = [];
  let offered: Offered;
  if (opts.traffic !== undefined) {
    const specText = readText(opts.traffic);
    const users = host?.users ?? systemAccounts().users;
    const spec: TrafficSpec = parseTraffic(specText, opts.traffic, users);
    for (const ch of spec.changes) {
      const path = resolve(dirname(opts.traffic), ch.policy);
      let loaded;
      try {
        loaded = loadQos(path, ch.format, host, opts.host);
      } catch (e) {
        if (e instanceof CliError) throw errorAt(opts.traffic, specText, ch.at, `changes: ${e.message}`);
        throw e;
      }
      changes.push(loaded.compiled);
      text += loaded.warnings;
    }
    offered = { kind: "sources", spec };
  } else {
    const { packets, linktype } = readCapture(opts.read!);
    if (linktype !== 1) throw new CliError(`${opts.read}: link type ${linktype}: the egress link carries Ethernet frames (link type 1)`);
    const table = host ? new OwnerTable(host, compiled.classifier.strings) : undefined;
    const t0 = packets[0]?.timeMs ?? 0;
    const capture: CapturePacket[] = packets.map((p) => {
      const flow = table ? flowOf(p.data) : undefined;
      const o = flow && table ? table.ownerFields({ dir: 1, ...flow }) : undefined;
      return { frame: p.data, wireLength: p.wireLength, timeNs: Math.max(0, ((p.timeMs ?? t0) - t0) * 1e6), ...(o ? { owner: Uint32Array.from([o.app, o.uid, o.gid, o.pid, o.cmd, o.cgroup]) } : {}) };
    });
    for (let i = 1; i < capture.length; i++) if (capture[i]!.timeNs < capture[i - 1]!.timeNs) capture[i]!.timeNs = capture[i - 1]!.timeNs; // out-of-order stamps keep capture order
    offered = { kind: "capture", name: opts.read!, packets: capture };
  }
  return { compiled, offered, changes, warnings: text, linkRate: rate, durationNs: duration };
}

/** A progress line on a terminal for runs that take a while (nothing when stderr is not a terminal). */
export function progressLine(durationNs: number): { update: (simNs: number, packets: number) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  const start = performance.now();
  let shown = false;
  let last = 0;
  return {
    update(simNs, packets) {
      if (!tty) return;
      const now = performance.now();
      if (now - start < 700 || now - last < 200) return;
      last = now;
      shown = true;
      const pct = ((100 * simNs) / durationNs).toFixed(0).padStart(3);
      process.stderr.write(`\r  simulating: ${(simNs / 1e9).toFixed(2)} of ${(durationNs / 1e9).toFixed(2)} s (${pct}%), ${packets} packets, ${((now - start) / 1000).toFixed(1)} s`);
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[K");
    },
  };
}

export async function runLoaded(l: Loaded, bins?: number): Promise<{ result: SimResult; wallMs: number }> {
  const p = progressLine(l.durationNs);
  const t0 = performance.now();
  try {
    const result = await simulate(l.compiled, l.offered, { linkRate: l.linkRate, durationNs: l.durationNs, changes: l.changes, progress: p.update, ...(bins ? { bins } : {}) });
    return { result, wallMs: performance.now() - t0 };
  } finally {
    p.done();
  }
}
