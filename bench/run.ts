/**
 * kopi's benchmarks (`npm run bench`, `npm run bench -- --json`):
 *  - pcap-filter expressions on the interpreter and the JIT over 1M generated 64-byte frames held in VM memory,
 *    and the same expressions through libpcap's pcap_compile + pcap_offline_filter in the same run;
 *  - policies of 10 / 1,000 / 10,000 rules on both tiers (and bench/policy.ts's compile and load figures);
 *  - the JIT data path on 1 and 2 worker threads (runs of received batches; the RX stage's cost reported beside);
 *  - `hostctl capture -r BIG -w OUT` against tcpdump (bench/capture.ts), when hostctl can run it.
 * With --json it prints one JSON object whose first figure is the interpreter's ns/packet for the 10-port TCP
 * filter; without, a table. Options: --packets N, --runs N, --no-capture.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import v8 from "node:v8";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { compilePcapFilter } from "../compiler/pcap-filter/compile.js";
import { stopJitCompiler } from "../runtime/jit/index.js";
import { benchApps, type AppsBenchFigures } from "./apps.js";
import { benchCapture, type CaptureBenchFigures } from "./capture.js";
import { benchFilters, type FilterFigure } from "./filters.js";
import { benchNic, type NicBenchResult } from "./nic.js";
import { makeFrames } from "./frames.js";
import { benchPolicyTiers, type PolicyTierRow } from "./jit-policy.js";
import { runLibpcap, writePcap, type LibpcapResult } from "./libpcap.js";
import { benchPolicy, type PolicyBenchResult } from "./policy.js";
import { benchQos, type QosBenchFigures } from "./qos.js";
import { benchWorkers, type WorkerFigures } from "./workers.js";

const TEN_PORTS = [22, 25, 53, 80, 110, 143, 443, 993, 3306, 8080];
/** The 10-port TCP filter comes first: its interpreter figure opens the JSON. */
export const EXPRESSIONS = [
  `tcp and (${TEN_PORTS.map((p) => `port ${p}`).join(" or ")})`,
  "tcp",
  "udp dst port 53",
  "host 10.0.1.2",
  "net 192.168.0.0/16 and tcp[tcpflags] & tcp-ack != 0",
  "ip[6:2] & 0x1fff = 0 and len >= 64",
];
const POLICY_SIZES = [10, 1000, 10000];

interface Options {
  json: boolean;
  packets: number;
  runs: number;
  capture: boolean;
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench -- [--json] [--packets N] [--runs N] [--no-capture]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { json: false, packets: 1_000_000, runs: 5, capture: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const number = (name: string, min: number) => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) usage(`${name} needs an integer ≥ ${min}, got ${v === undefined ? "nothing" : JSON.stringify(v)}`);
      return Number(v);
    };
    if (a === "--json") o.json = true;
    else if (a === "--packets") o.packets = number("--packets", 1000);
    else if (a === "--runs") o.runs = number("--runs", 1);
    else if (a === "--no-capture") o.capture = false;
    else usage(`unknown option ${JSON.stringify(a)}`);
  }
  return o;
}

interface Target {
  name: string;
  target: string;
  measured: number | null;
  limit: number;
  met: boolean | null;
  note?: string;
}

function ratioTarget(name: string, target: string, measured: number | undefined, limit: number, atLeast = false, note?: string): Target {
  if (measured === undefined || !Number.isFinite(measured)) return { name, target, measured: null, limit, met: null, note: note ?? "not measured" };
  return { name, target, measured, limit, met: atLeast ? measured >= limit : measured <= limit, ...(note ? { note } : {}) };
}

/**
 * The kernel's transparent-huge-page mode ("always", "madvise", "never"; "unknown" off Linux): V8 does not ask
 * for huge pages for Wasm memory, so under "madvise" the VM's batch area is mapped with 4 KiB pages, and the
 * filters that do the least work per packet pay TLB misses for it (≈ 20 % on this machine, more under nested
 * paging in a VM) — the figures depend on it.
 */
function transparentHugepages(): string {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Steady-state code from the first call: V8 otherwise runs new Wasm on its baseline compiler (Liftoff) while
 * TurboFan compiles in the background, and on a busy machine that can outlast any fixed warm-up. Process-wide,
 * so the workers' code too; set before the first module is compiled (the VM compiles lazily).
 */
const V8_FLAGS = "--no-liftoff";

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  v8.setFlagsFromString(V8_FLAGS);
  const started = performance.now();
  const progress = (what: string) => {
    if (!o.json) process.stderr.write(`… ${what}\n`);
  };
  const dir = mkdtempSync(join(tmpdir(), "kopi-bench-"));
  try {
    const { frames } = makeFrames({ count: o.packets, size: 64, seed: 42, hotPorts: TEN_PORTS, hotFraction: 0.3, udpFraction: 0.2 });

    progress(`filters on the interpreter and the JIT (${o.packets.toLocaleString("en")} frames)`);
    const filters: FilterFigure[] = benchFilters(frames, EXPRESSIONS, o.runs);

    progress("the same filters through libpcap");
    const pcapPath = join(dir, "bench.pcap");
    writePcap(pcapPath, frames);
    const libpcap: LibpcapResult = runLibpcap(dir, pcapPath, EXPRESSIONS, o.runs);
    rmSync(pcapPath, { force: true });

    progress("policies of 10 / 1,000 / 10,000 rules");
    const { frames: policyFrames } = makeFrames({ count: Math.min(o.packets, 200_000), size: 64, seed: 11, hotPorts: [53, 123, 2000, 3000], hotFraction: 0.3 });
    const policyTiers: PolicyTierRow[] = benchPolicyTiers(policyFrames, POLICY_SIZES, o.runs);
    let policyCompile: PolicyBenchResult | { error: string };
    try {
      policyCompile = await benchPolicy({ sizes: POLICY_SIZES, packets: Math.min(o.packets, 200_000), repeats: 3 });
    } catch (e) {
      policyCompile = { error: (e as Error).message };
    }

    progress("1 and 2 workers");
    const workers: WorkerFigures = await benchWorkers(compilePcapFilter(EXPRESSIONS[0]!).image, frames, [1, 2], o.runs);

    let capture: CaptureBenchFigures | { skipped: string };
    if (!o.capture) capture = { skipped: "--no-capture" };
    else {
      progress("hostctl capture against tcpdump (2M packets)");
      try {
        capture = await benchCapture({ packets: Math.max(2_000_000, o.packets), runs: 3 });
      } catch (e) {
        capture = { skipped: `hostctl capture could not run: ${(e as Error).message.split("\n")[0]}` };
      }
    }

    progress("the process view: steering into 1 / 1,000 / 100,000 connection rings, notification latency");
    let apps: AppsBenchFigures | { error: string };
    try {
      apps = await benchApps();
    } catch (e) {
      apps = { error: (e as Error).message };
    }

    progress("the NIC: commit latency and register writes for 10…10,000-rule policies, one rule add, daemon round trip, inject rate");
    let nic: NicBenchResult | { error: string };
    try {
      nic = await benchNic();
    } catch (e) {
      nic = { error: (e as Error).message };
    }

    progress("QoS: scheduler events at 10 / 1,000 / 100,000 flows, a 10-class htb simulation");
    let qos: QosBenchFigures | { error: string };
    try {
      qos = await benchQos();
    } catch (e) {
      qos = { error: (e as Error).message };
    }

    const libpcapOf = (expression: string) => (libpcap.available ? libpcap.figures.find((f) => f.expression === expression) : undefined);
    const filterRows = filters.map((f) => {
      const l = libpcapOf(f.expression);
      return {
        expression: f.expression,
        instructions: f.instructions,
        libpcapInstructions: l?.instructions ?? null,
        interpreterNs: round(f.interpreterNs),
        jitNs: round(f.jitNs),
        libpcapNs: l?.nsPerPacket !== undefined ? round(l.nsPerPacket) : null,
        jitOverLibpcap: l?.nsPerPacket ? round(f.jitNs / l.nsPerPacket, 3) : null,
        interpreterOverLibpcap: l?.nsPerPacket ? round(f.interpreterNs / l.nsPerPacket, 3) : null,
        matches: { interpreter: f.interpreterMatches, jit: f.jitMatches, libpcap: l?.matches ?? null },
        matchesAgree: f.interpreterMatches === f.jitMatches && (l?.matches === undefined || l.matches === f.jitMatches),
        jitCompileMs: round(f.jitCompileMs, 1),
        jitWasmBytes: f.jitWasmBytes,
      };
    });
    const worstJit = Math.max(...filterRows.map((r) => r.jitOverLibpcap ?? Number.NaN));
    const worstJitExpression = () => {
      const w = filterRows.reduce((a, b) => ((b.jitOverLibpcap ?? 0) > (a.jitOverLibpcap ?? 0) ? b : a));
      return `${JSON.stringify(w.expression)} (JIT ${w.jitNs} ns, libpcap ${w.libpcapNs} ns)`;
    };
    const worstInterp = Math.max(...filterRows.map((r) => r.interpreterOverLibpcap ?? Number.NaN));
    const policySlowdown = policyTiers[policyTiers.length - 1]!.jitNs / policyTiers[0]!.jitNs;
    const targets: Target[] = [
      ratioTarget("jit vs libpcap", "JIT ns/packet ≤ 0.4 × libpcap on every expression (worst ratio)", libpcap.available ? worstJit : undefined, 0.4, false, libpcap.available ? `worst: ${worstJitExpression()}; transparent huge pages: ${transparentHugepages()}` : libpcap.note),
      ratioTarget("interpreter vs libpcap", "interpreter ns/packet ≤ 1.0 × libpcap on every expression (worst ratio)", libpcap.available ? worstInterp : undefined, 1.0, false, libpcap.available ? undefined : libpcap.note),
      ratioTarget("policy scaling (JIT)", "10,000-rule policy ≤ 1.5 × the 10-rule policy per packet", policySlowdown, 1.5),
      ratioTarget("2 workers", "2 workers ≥ 1.8 × one worker's packets/s", workers.speedup, 1.8, true, `in the same run a pure arithmetic loop on 2 threads ran ${workers.computeSpeedup.toFixed(2)}× as fast as on 1 (the machine's ceiling); receiving (the NIC's RX stage: flow hash and ring placement, one thread, not in the workers' figure) took ${workers.rows.map((r) => `${r.receiveNsPerPacket.toFixed(0)} ns/packet for ${r.workers} queue(s) (${r.receiveRecycledNsPerPacket.toFixed(0)} into a recycled batch)`).join(", ")}`),
      ratioTarget("capture vs tcpdump", "hostctl capture -r BIG -w OUT ≤ 1.0 × tcpdump wall time (≥ 2M packets)", "ratio" in capture ? capture.ratio : undefined, 1.0, false, "skipped" in capture ? capture.skipped : undefined),
    ];
    const result = {
      interpreterNsPerPacket10PortTcp: filterRows[0]!.interpreterNs,
      jitNsPerPacket10PortTcp: filterRows[0]!.jitNs,
      libpcapNsPerPacket10PortTcp: filterRows[0]!.libpcapNs,
      packets: o.packets,
      frameBytes: 64,
      runs: o.runs,
      v8Flags: `${V8_FLAGS} (steady-state TurboFan code; a process that does not set it runs a new JIT module's first calls on Liftoff, about 2–4 × slower, until V8 tiers it up)`,
      machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", loadAverage: loadavg().map((v) => round(v)), transparentHugepages: transparentHugepages() },
      filters: filterRows,
      libpcap: libpcap.available ? { available: true, version: libpcap.version } : { available: false, note: libpcap.note },
      policies: {
        packets: policyFrames.length,
        tiers: policyTiers.map((r) => ({ ...r, interpreterNs: round(r.interpreterNs), jitNs: round(r.jitNs), jitCompileMs: round(r.jitCompileMs, 1) })),
        jitSlowdown10000Over10: round(policySlowdown, 3),
        compileAndLoad: policyCompile,
      },
      workers: { ...workers, speedup: round(workers.speedup, 3), computeSpeedup: round(workers.computeSpeedup, 3), rows: workers.rows.map((r) => ({ ...r, packetsPerSecond: Math.round(r.packetsPerSecond), nsPerPacket: round(r.nsPerPacket), receiveNsPerPacket: round(r.receiveNsPerPacket), receiveRecycledNsPerPacket: round(r.receiveRecycledNsPerPacket) })) },
      capture,
      nic,
      apps,
      qos,
      targets,
      elapsedSeconds: round((performance.now() - started) / 1000, 1),
    };
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else process.stdout.write(table(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stopJitCompiler();
  }
}

type Result = {
  packets: number;
  machine: { cpus: number; loadAverage: number[]; transparentHugepages: string };
  filters: { expression: string; instructions: number; libpcapInstructions: number | null; interpreterNs: number; jitNs: number; libpcapNs: number | null; matchesAgree: boolean }[];
  libpcap: { available: boolean; version?: string; note?: string };
  policies: { packets: number; tiers: PolicyTierRow[] };
  workers: { tier: string; rows: { workers: number; packetsPerSecond: number; receiveNsPerPacket: number; receiveRecycledNsPerPacket: number }[]; speedup: number; computeSpeedup: number };
  capture: CaptureBenchFigures | { skipped: string };
  nic: NicBenchResult | { error: string };
  apps: AppsBenchFigures | { error: string };
  targets: Target[];
  elapsedSeconds: number;
};

function table(r: Result): string {
  const lines: string[] = [];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  lines.push(`kopi benchmarks — ${r.packets.toLocaleString("en")} × 64-byte frames, ${r.machine.cpus} CPUs, load ${r.machine.loadAverage.join(" ")}, transparent huge pages: ${r.machine.transparentHugepages}`);
  lines.push(r.libpcap.available ? `libpcap: ${r.libpcap.version}` : `libpcap: skipped (${r.libpcap.note})`);
  lines.push("");
  lines.push(`${"expression".padEnd(58)} ${pad("insns", 6)} ${pad("bpf", 4)} ${pad("interp ns", 10)} ${pad("JIT ns", 8)} ${pad("libpcap ns", 11)}  agree`);
  for (const f of r.filters) {
    lines.push(`${f.expression.slice(0, 58).padEnd(58)} ${pad(f.instructions, 6)} ${pad(f.libpcapInstructions ?? "-", 4)} ${pad(f.interpreterNs.toFixed(1), 10)} ${pad(f.jitNs.toFixed(1), 8)} ${pad(f.libpcapNs?.toFixed(1) ?? "-", 11)}  ${f.matchesAgree ? "yes" : "NO"}`);
  }
  lines.push("");
  lines.push(`policies (${r.policies.packets.toLocaleString("en")} frames): ${"rules".padStart(6)} ${pad("insns", 6)} ${pad("entries", 8)} ${pad("interp ns", 10)} ${pad("JIT ns", 8)}`);
  for (const p of r.policies.tiers) lines.push(`${"".padEnd(29)} ${pad(p.rules, 6)} ${pad(p.instructions, 6)} ${pad(p.tableEntries, 8)} ${pad(p.interpreterNs.toFixed(1), 10)} ${pad(p.jitNs.toFixed(1), 8)}${p.agree ? "" : "  (tiers disagree!)"}`);
  lines.push("");
  lines.push(`workers (${r.workers.tier}): ${r.workers.rows.map((w) => `${w.workers} → ${(w.packetsPerSecond / 1e6).toFixed(2)} Mpps`).join(", ")}; speedup ${r.workers.speedup.toFixed(2)}× (pure compute on the same machine: ${r.workers.computeSpeedup.toFixed(2)}×; receiving onto the queues, not counted: ${r.workers.rows.map((w) => `${w.receiveNsPerPacket.toFixed(0)} ns/packet, ${w.receiveRecycledNsPerPacket.toFixed(0)} recycled`).join(" / ")})`);
  lines.push("skipped" in r.capture ? `capture: skipped (${r.capture.skipped})` : `capture: hostctl ${(r.capture as CaptureBenchFigures).hostctlSeconds.toFixed(2)} s vs tcpdump ${(r.capture as CaptureBenchFigures).tcpdumpSeconds.toFixed(2)} s (${(r.capture as CaptureBenchFigures).packets.toLocaleString("en")} packets)`);
  lines.push(
    "error" in r.nic
      ? `NIC: ${r.nic.error}`
      : `NIC: ${r.nic.loads.map((l) => `${l.rules.toLocaleString("en")} rules → ${l.registerWrites.toLocaleString("en")} writes, ${l.commitMs.toFixed(1)} ms`).join("; ")}; rule add ${r.nic.ruleAdd.registerWrites} writes; round trip ${r.nic.roundTrip.medianUs.toFixed(0)} µs median; inject ${Math.round(r.nic.inject.socketPps).toLocaleString("en")} pkt/s`,
  );
  lines.push(
    "error" in r.apps
      ? `process view: ${r.apps.error}`
      : `process view: steering ${r.apps.steering.map((s) => `${s.connections.toLocaleString("en")} conn → ${(s.packetsPerSecond / 1e6).toFixed(2)} Mpps`).join(", ")}; notification ${r.apps.notification.cycles} cycles (${r.apps.notification.cyclesNs} ns at ${r.apps.notification.clockMHz} MHz), wake-up ${r.apps.notification.wallUsMedian} µs median`,
  );
  lines.push("");
  lines.push("targets:");
  for (const t of r.targets) lines.push(`  ${t.met === null ? "n/a " : t.met ? "met " : "MISS"}  ${t.target}: ${t.measured === null ? t.note : `${t.measured.toFixed(3)}${t.note ? ` — ${t.note}` : ""}`}`);
  lines.push(`(${r.elapsedSeconds} s)`);
  return lines.join("\n") + "\n";
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
