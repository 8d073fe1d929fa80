/** Errors the runtime throws. Each message is meant for the person at the terminal, not for a stack trace. */
import type { VerifyError, VerifyResult } from "../overlay-isa/index.js";

/** A program the verifier (or the VM's own structural check) refused; nothing was loaded. */
export class ProgramRejected extends Error {
  constructor(
    readonly errors: readonly VerifyError[],
    readonly result?: VerifyResult,
  ) {
    const lines = errors.map((e) => `  ${e.index !== undefined ? `instruction ${e.index}: ` : ""}${e.message}`);
    super(`program rejected (${errors.length} error${errors.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "ProgramRejected";
  }
}

/** A table write the control plane cannot make (full table, wrong kind, key wider than the table's key, …). */
export class TableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TableError";
  }
}

/** The VM cannot do what was asked (no program loaded, out of memory, bad run options, missing build). */
export class VMError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VMError";
  }
}
