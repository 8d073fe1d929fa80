/**
 * Policy benchmark: realistic rule mixes (address blocks, service ports, owner-bound ports, host+port pairs)
 * of 10, 100, 1,000 and 10,000 rules. For each: parse, compile (lower, analyse, codegen), verify and load
 * (program plus table entries) times in ms, program size, and ns/packet on the VM's interpreter tier over the
 * same synthetic traffic. Targets (issue 4): 10,000 rules compile+load ≤ 1 s; ns/packet at 10,000 rules ≤ 1.5 ×
 * at 10 rules. Returns a plain object; `npm run bench` prints it.
 */
import { compilePolicy } from "../compiler/policy/compile.js";
import { parseHost } from "../compiler/policy/host.js";
import { OverlayVM } from "../runtime/vm.js";
import { loadIntoVm } from "../hostctl/commands/replay.js";
import { makeFrames, rng } from "./frames.js";

export interface PolicyBenchRow {
  rules: number;
  parseMs: number;
  compileMs: number;
  verifyMs: number;
  loadMs: number;
  compileAndLoadMs: number;
  instructions: number;
  tables: number;
  tableEntries: number;
  worstCaseCycles: number;
  nsPerPacket: number;
}

export interface PolicyBenchResult {
  packets: number;
  rows: PolicyBenchRow[];
  /** ns/packet at the largest size over ns/packet at the smallest */
  slowdown: number;
  targets: { compileAndLoadMs: number; slowdown: number; met: boolean };
}

const USERS = 50;

/** A policy of about `n` rules in the proportions a real host's rule set has, grouped as generated rules are. */
export function benchPolicyText(n: number, seed = 7): string {
  const next = rng(seed);
  const blocks = Math.max(1, Math.round(n * 0.4));
  const ports = Math.max(1, Math.round(n * 0.3));
  const owners = Math.max(1, Math.round(n * 0.2));
  const pairs = Math.max(1, n - blocks - ports - owners - 2);
  const lines: string[] = ["ct state established,related accept", "icmp type echo-request accept"];
  const seen = new Set<string>();
  const unique = (make: () => string) => {
    for (;;) {
      const r = make();
      if (!seen.has(r)) {
        seen.add(r);
        return r;
      }
    }
  };
  for (let i = 0; i < blocks; i++) lines.push(unique(() => `ip saddr ${10 + (next() % 200)}.${next() % 256}.${next() % 256}.0/24 drop`));
  for (let i = 0; i < ports; i++) lines.push(unique(() => `tcp dport ${1024 + (next() % 60000)} accept`));
  for (let i = 0; i < owners; i++) lines.push(unique(() => `tcp dport ${1024 + (next() % 60000)} owner uid ${1000 + (next() % USERS)} accept`));
  for (let i = 0; i < pairs; i++) lines.push(unique(() => `ip daddr 192.168.${next() % 256}.${next() % 256} udp dport ${next() % 2 ? 53 : 123} accept`));
  return `table filter {\n  chain ingress { policy drop;\n${lines.map((l) => `    ${l}\n`).join("")}  }\n}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchPolicy(opts: { sizes?: number[]; packets?: number; repeats?: number } = {}): Promise<PolicyBenchResult> {
  const sizes = opts.sizes ?? [10, 100, 1000, 10000];
  const packets = opts.packets ?? 200_000;
  const repeats = opts.repeats ?? 3;
  const host = parseHost(JSON.stringify({ users: {} }));
  const { frames } = makeFrames({ count: packets, size: 64, seed: 11, hotPorts: [53, 123, 2000, 3000], hotFraction: 0.3 });
  const rows: PolicyBenchRow[] = [];
  const vm = await OverlayVM.create();
  for (const n of sizes) {
    const text = benchPolicyText(n);
    const samples: { parse: number; compile: number; verify: number; load: number }[] = [];
    let compiled = compilePolicy(text, `bench-${n}.kopi`, { host });
    for (let r = 0; r < repeats; r++) {
      compiled = compilePolicy(text, `bench-${n}.kopi`, { host });
      const t0 = performance.now();
      loadIntoVm(vm, compiled);
      const load = performance.now() - t0;
      samples.push({ parse: compiled.timings.parseMs, compile: compiled.timings.compileMs, verify: compiled.timings.verifyMs, load });
    }
    // warm up (V8 tiers Wasm up after the first calls), then measure whole batches
    vm.run(frames.slice(0, 10_000));
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      vm.run(frames);
      times.push(performance.now() - t0);
    }
    const parseMs = median(samples.map((s) => s.parse));
    const compileMs = median(samples.map((s) => s.compile));
    const verifyMs = median(samples.map((s) => s.verify));
    const loadMs = median(samples.map((s) => s.load));
    rows.push({
      rules: compiled.ir.chains.reduce((k, c) => k + c.rules.length, 0),
      parseMs,
      compileMs,
      verifyMs,
      loadMs,
      compileAndLoadMs: parseMs + compileMs + verifyMs + loadMs,
      instructions: compiled.image.code.length,
      tables: compiled.tables.length,
      tableEntries: compiled.tables.reduce((k, t) => k + t.entries.length, 0),
      worstCaseCycles: compiled.verify.worstCaseCycles ?? 0,
      nsPerPacket: (median(times) * 1e6) / packets,
    });
  }
  const slowdown = rows[rows.length - 1]!.nsPerPacket / rows[0]!.nsPerPacket;
  const largest = rows[rows.length - 1]!;
  return { packets, rows, slowdown, targets: { compileAndLoadMs: largest.compileAndLoadMs, slowdown, met: largest.compileAndLoadMs <= 1000 && slowdown <= 1.5 } };
}
