/**
 * The outline scanner shared by the `.kopi` and `.qos` parsers: both files are braces around statements that
 * end at `;` or a line end, with `#` comments and double-quoted strings. The scanner cuts bodies into statement
 * spans; each parser hands the spans to its own grammar.
 */
import { errorAt } from "../../overlay-isa/index.js";

export class BlockScanner {
  i = 0;
  constructor(
    readonly file: string,
    readonly src: string,
  ) {}

  fail(at: number, message: string): never {
    throw errorAt(this.file, this.src, at, message);
  }

  /** Skip blanks, line ends and comments. */
  skip(): void {
    const s = this.src;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else if (c === 35) {
        while (this.i < s.length && s.charCodeAt(this.i) !== 10) this.i++;
      } else return;
    }
  }

  /**
   * Cut a body at statement ends (`;` or a line end outside braces and strings) up to its closing brace.
   * Returns [start, end) spans of non-empty statements and leaves `i` after the closing brace.
   */
  statements(open: number): [number, number][] {
    const s = this.src;
    const out: [number, number][] = [];
    let depth = 0;
    let start = this.i;
    const push = (end: number) => {
      const text = s.slice(start, end);
      if (/\S/.test(text.replace(/#[^\n]*/g, ""))) out.push([start + (text.length - text.trimStart().length), end]);
    };
    const braces: number[] = [];
    for (; this.i < s.length; this.i++) {
      const c = s[this.i];
      if (c === '"') {
        const close = s.indexOf('"', this.i + 1);
        const nl = s.indexOf("\n", this.i + 1);
        if (close < 0 || (nl >= 0 && nl < close)) this.fail(this.i, 'unterminated string (a string ends with " on the same line)');
        this.i = close;
      } else if (c === "#") {
        while (this.i < s.length && s[this.i] !== "\n") this.i++;
        this.i--;
      } else if (c === "{") {
        depth++;
        braces.push(this.i);
      } else if (c === "}") {
        if (depth === 0) {
          push(this.i);
          this.i++;
          return out;
        }
        depth--;
        braces.pop();
      } else if ((c === ";" || c === "\n") && depth === 0) {
        push(this.i);
        start = this.i + 1;
      }
    }
    this.fail(braces.length ? braces[braces.length - 1]! : open, "this '{' is never closed (expected '}')");
  }
}
