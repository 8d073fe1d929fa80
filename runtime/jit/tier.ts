/**
 * Tier selection: which engine runs a VM's loaded program. "interpreter" is the reference (and the FPGA's cycle
 * model); "jit" runs compiled code and refuses, with JitUnsupported, a program it cannot translate — it never
 * silently answers with another engine; "auto" tries the JIT and falls back to the interpreter, saying why.
 */
import type { OverlayVM } from "../vm.js";
import { JitError, JitUnsupported } from "./errors.js";
import { JitRunner } from "./runner.js";

export const TIERS = ["interpreter", "jit", "auto"] as const;
export type TierRequest = (typeof TIERS)[number];
export type Tier = Exclude<TierRequest, "auto">;

export interface TierChoice {
  readonly requested: TierRequest;
  /** the engine that runs the program */
  readonly tier: Tier;
  /** why "auto" fell back to the interpreter (absent when it did not) */
  readonly fallback?: string;
  readonly runner?: JitRunner;
}

/** Check a tier name from an option or a command line; a clear error for anything else. */
export function parseTier(value: unknown, what = "tier"): TierRequest {
  if (typeof value === "string" && (TIERS as readonly string[]).includes(value)) return value as TierRequest;
  throw new Error(`${what} must be one of ${TIERS.map((t) => `"${t}"`).join(", ")}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
}

/** Make `vm` run its loaded program on the requested tier. */
export function selectTier(vm: OverlayVM, requested: TierRequest): TierChoice {
  switch (requested) {
    case "interpreter":
      vm.useEngine(undefined);
      return { requested, tier: "interpreter" };
    case "jit":
      return { requested, tier: "jit", runner: JitRunner.attach(vm) };
    case "auto":
      try {
        return { requested, tier: "jit", runner: JitRunner.attach(vm) };
      } catch (e) {
        if (!(e instanceof JitUnsupported) && !(e instanceof JitError)) throw e;
        vm.useEngine(undefined);
        return { requested, tier: "interpreter", fallback: e.message };
      }
  }
}
