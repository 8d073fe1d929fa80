/** Positioned compile errors for filter expressions: `filter:LINE:COL: message` with the source line and a caret. */
import { errorAt, SourceError } from "../../overlay-isa/index.js";

/** The pseudo file name filter errors carry (like tcpdump's expression argument, it has no file). */
export const FILTER_FILE = "filter";

export function filterError(expression: string, offset: number, message: string): SourceError {
  return errorAt(FILTER_FILE, expression, offset, message);
}

/** A compile error found while generating code, raised at a syntax-tree span and turned into a SourceError. */
export class GenError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = "GenError";
  }
}
