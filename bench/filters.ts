/**
 * pcap-filter expressions on both tiers over the same capture held in VM memory: ns/packet of the interpreter
 * and of the JIT (warm-up, then the median of several runs), the JIT's compile time, and the number of matches
 * (which must agree between the tiers, and with libpcap when bench/libpcap.ts ran).
 */
import { compilePcapFilter } from "../compiler/pcap-filter/compile.js";
import { createJitRunner } from "../runtime/jit/index.js";
import { OverlayVM } from "../runtime/vm.js";
import { nsPerPacket, warmUntilSteady, stageAll, stagedVerdicts } from "./stage.js";

export interface FilterFigure {
  expression: string;
  /** overlay instructions of the compiled program */
  instructions: number;
  interpreterNs: number;
  jitNs: number;
  interpreterMatches: number;
  jitMatches: number;
  jitCompileMs: number;
  jitWasmBytes: number;
}

function countAccepts(v: Uint32Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) if ((v[i]! & 0xff) === 1) m++;
  return m;
}

export function benchFilters(frames: readonly Uint8Array[], expressions: readonly string[], runs: number): FilterFigure[] {
  const vm = OverlayVM.createSync();
  const x = vm.wasmExports;
  const n = frames.length;
  const warm = Math.min(n, 20_000);
  const out: FilterFigure[] = [];
  for (const expression of expressions) {
    const { image } = compilePcapFilter(expression);
    vm.load(image);
    stageAll(vm, frames);
    const interp = nsPerPacket(() => x.runBatch(n, 1, 0), n, runs, () => warmUntilSteady(() => x.runBatch(warm, 1, 0)));
    x.runBatch(n, 1, 0);
    const interpreterMatches = countAccepts(stagedVerdicts(vm, n));
    const jit = createJitRunner(vm);
    const jitTimes = nsPerPacket(() => jit.runStaged(n, 1, false), n, runs, () => warmUntilSteady(() => jit.runStaged(warm, 1, false)));
    jit.runStaged(n, 1, false);
    const jitMatches = countAccepts(stagedVerdicts(vm, n));
    out.push({
      expression,
      instructions: image.code.length,
      interpreterNs: interp.ns,
      jitNs: jitTimes.ns,
      interpreterMatches,
      jitMatches,
      jitCompileMs: jit.compiled.compileMs,
      jitWasmBytes: jit.compiled.wasmBytes,
    });
  }
  return out;
}
