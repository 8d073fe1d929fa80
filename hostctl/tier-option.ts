/** `--tier interpreter|jit|auto` as hostctl's commands take it. */
import { TIERS, type TierRequest } from "../runtime/jit/index.js";
import { CliError } from "./errors.js";

export const TIER_HELP = `engine: interpreter (the reference, and the FPGA's cycle model), jit (compiled to Wasm; refuses a program it cannot translate) or auto (jit, falling back to the interpreter with a note)`;

export function parseTierOption(value: string | undefined, fallback: TierRequest): TierRequest {
  if (value === undefined) return fallback;
  if ((TIERS as readonly string[]).includes(value)) return value as TierRequest;
  throw new CliError(`--tier must be one of ${TIERS.join(", ")}, got '${value}'`);
}
