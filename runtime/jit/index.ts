/**
 * The JIT tier: overlay programs compiled to WebAssembly with binaryen.js, run over the interpreter's batch
 * memory and answering exactly as the interpreter does. binaryen itself is loaded lazily in a worker thread,
 * so importing this module costs nothing until a program is compiled.
 *
 *   const vm = OverlayVM.createSync(); vm.load(image);
 *   const jit = createJitRunner(vm);     // or selectTier(vm, "jit" | "auto" | "interpreter")
 *   vm.run(frames);                      // now runs JIT code
 */
import type { OverlayVM } from "../vm.js";
import { JitRunner } from "./runner.js";

export { JitError, JitUnsupported } from "./errors.js";
export { compileJit, adoptCompiled, jitCacheSize, stopJitCompiler, type CompiledJit } from "./compiler.js";
export { jitTranslates, planProgram, type JitPlan } from "./plan.js";
export { JitRunner, vmLayout } from "./runner.js";
export { parseTier, selectTier, TIERS, type Tier, type TierChoice, type TierRequest } from "./tier.js";

/** Compile the program loaded in `vm` and run it on the JIT tier from now on (until the next load). */
export function createJitRunner(vm: OverlayVM): JitRunner {
  return JitRunner.attach(vm);
}
