/**
 * Policies of 10, 1,000 and 10,000 rules (bench/policy.ts's realistic mixes) on both tiers: ns/packet over the
 * same synthetic traffic held in VM memory. The rules live in tables, so the per-packet cost should barely grow
 * with the rule count (target: 10,000 rules ≤ 1.5 × 10 rules on the JIT).
 */
import { compilePolicy } from "../compiler/policy/compile.js";
import { parseHost } from "../compiler/policy/host.js";
import { loadIntoVm } from "../hostctl/commands/replay.js";
import { createJitRunner } from "../runtime/jit/index.js";
import { OverlayVM } from "../runtime/vm.js";
import { benchPolicyText } from "./policy.js";
import { nsPerPacket, warmUntilSteady, stageAll } from "./stage.js";

export interface PolicyTierRow {
  rules: number;
  instructions: number;
  tableEntries: number;
  interpreterNs: number;
  jitNs: number;
  jitCompileMs: number;
  /** the tiers gave every packet the same verdict */
  agree: boolean;
}

export function benchPolicyTiers(frames: readonly Uint8Array[], sizes: readonly number[], runs: number): PolicyTierRow[] {
  const host = parseHost(JSON.stringify({ users: {} }));
  const n = frames.length;
  const warm = Math.min(n, 20_000);
  const rows: PolicyTierRow[] = [];
  for (const size of sizes) {
    const compiled = compilePolicy(benchPolicyText(size), `bench-${size}.kopi`, { host });
    const vm = OverlayVM.createSync();
    const x = vm.wasmExports;
    // each tier starts from a freshly loaded policy: same tables, empty flow table
    loadIntoVm(vm, compiled);
    stageAll(vm, frames);
    const interp = nsPerPacket(() => x.runBatch(n, 1, 0), n, runs, () => warmUntilSteady(() => x.runBatch(warm, 1, 0)));
    loadIntoVm(vm, compiled);
    stageAll(vm, frames);
    x.runBatch(n, 1, 0);
    const want = new Uint32Array(x.memory.buffer, x.batchPointer(1) >>> 0, n).slice();
    loadIntoVm(vm, compiled);
    stageAll(vm, frames);
    const jit = createJitRunner(vm);
    jit.runStaged(n, 1, false);
    const got = new Uint32Array(x.memory.buffer, x.batchPointer(1) >>> 0, n);
    let agree = true;
    for (let i = 0; i < n && agree; i++) agree = got[i] === want[i];
    const jitTimes = nsPerPacket(() => jit.runStaged(n, 1, false), n, runs, () => warmUntilSteady(() => jit.runStaged(warm, 1, false)));
    rows.push({
      rules: compiled.ir.chains.reduce((k, c) => k + c.rules.length, 0),
      instructions: compiled.image.code.length,
      tableEntries: compiled.tables.reduce((k, t) => k + t.entries.length, 0),
      interpreterNs: interp.ns,
      jitNs: jitTimes.ns,
      jitCompileMs: jit.compiled.compileMs,
      agree,
    });
  }
  return rows;
}
