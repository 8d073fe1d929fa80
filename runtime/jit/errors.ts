/** Errors of the JIT tier. Messages are for the person at the terminal: what was refused, where, and what to do. */

/** A program the JIT will not translate. Nothing runs in its place unless the caller asked for tier "auto". */
export class JitUnsupported extends Error {
  constructor(
    readonly reason: string,
    /** the instruction the JIT cannot translate, when one is to blame */
    readonly index?: number,
  ) {
    super(`the JIT cannot translate this program: ${index !== undefined ? `instruction ${index}: ` : ""}${reason} (run it with tier "interpreter", or "auto" to fall back explicitly)`);
    this.name = "JitUnsupported";
  }
}

/** The JIT compiler itself failed (binaryen or the compile worker); a bug or a broken installation, not bad input. */
export class JitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JitError";
  }
}
