/**
 * Positioned errors for any text kopi reads (assembly, policies, filters): `file:line:col: message`, then the
 * source line and a caret under the column — the shape compilers and iptables-restore users know.
 */
export class SourceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
    readonly sourceLine?: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = "SourceError";
  }

  /** The one-line message plus the source excerpt with a caret. */
  format(): string {
    if (this.sourceLine === undefined) return this.message;
    const shown = this.sourceLine.replace(/\t/g, " ");
    const caret = " ".repeat(Math.max(0, this.column - 1)) + "^";
    return `${this.message}\n  ${shown}\n  ${caret}`;
  }
}

/** Line and column (1-based) of a character offset in a text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number; sourceLine: string } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = text.indexOf("\n", lineStart);
  if (lineEnd < 0) lineEnd = text.length;
  return { line, column: offset - lineStart + 1, sourceLine: text.slice(lineStart, lineEnd).replace(/\r$/, "") };
}

/** A SourceError at a character offset of a text. */
export function errorAt(file: string, text: string, offset: number, message: string): SourceError {
  const { line, column, sourceLine } = lineAndColumn(text, offset);
  return new SourceError(file, line, column, message, sourceLine);
}
