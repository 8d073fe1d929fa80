/**
 * A parse cache keyed by a statement's shape: its tokens with the numbers and addresses abstracted to their
 * lexical class (digits; digits and letters; dotted; with colons), every word, string and punctuation mark kept
 * as written, and where blanks separate tokens. No grammar rule looks at a number's value, so two statements
 * of one shape parse to the same tree: the cached tree is copied with the new tokens' text and offsets. A
 * generated 10,000-rule policy then costs a few ohm matches instead of 10,000. Statements the tokenizer does
 * not fully understand, and `limit` (its rate is a number, not a token node), are never cached.
 */

interface Token {
  start: number;
  end: number;
  text: string;
  /** "" for a token kept as written, else its class letter */
  cls: string;
}

const TOKEN = /(\s+)|("[^"\n]*")|([0-9A-Fa-f.]*:[0-9A-Fa-f.:]*)|([A-Za-z_][A-Za-z0-9_.-]*)|(\d+(?![0-9A-Za-z.]))|(\d[0-9A-Za-z]*(?![0-9A-Za-z.]))|(\d[0-9A-Za-z.]*)|(!=|==|<=|>=|[{}(),/@<>=!;-])/y;

/** Tokens and shape key of a statement, or undefined when it must not be cached. */
function shapeOf(text: string): { tokens: Token[]; key: string } | undefined {
  const tokens: Token[] = [];
  const key: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) return undefined;
    if (m[1] !== undefined) {
      key.push(" ");
      continue;
    }
    const cls = m[3] !== undefined ? "C" : m[5] !== undefined ? "D" : m[6] !== undefined ? "H" : m[7] !== undefined ? "P" : "";
    if (m[4] === "limit") return undefined;
    tokens.push({ start: at, end: TOKEN.lastIndex, text: m[0], cls });
    key.push(cls ? `\u0001${cls}` : `\u0002${m[0]}`);
  }
  return { tokens, key: key.join("") };
}

interface Template {
  tree: unknown;
  /** template offset (relative to its statement) → index into boundary list (2i token start, 2i+1 token end) */
  boundary: Map<number, number>;
  /** template offset of each token's start → token index */
  starts: Map<number, number>;
  base: number;
}

export class ShapeCache {
  private readonly templates = new Map<string, Template>();

  /** The tree for a statement at `start` in the file, from the cache or from `parse` (which then fills it). */
  parse(text: string, start: number, parse: () => unknown): unknown {
    const shape = shapeOf(text);
    if (!shape) return parse();
    const t = this.templates.get(shape.key);
    if (!t) {
      const tree = parse();
      const boundary = new Map<number, number>();
      const starts = new Map<number, number>();
      shape.tokens.forEach((tok, i) => {
        starts.set(tok.start, i);
        if (!boundary.has(tok.start)) boundary.set(tok.start, 2 * i);
        if (!boundary.has(tok.end)) boundary.set(tok.end, 2 * i + 1);
      });
      this.templates.set(shape.key, { tree, boundary, starts, base: start });
      return copyTree(tree, (v) => v, undefined);
    }
    const toks = shape.tokens;
    const offset = (abs: number): number => {
      const b = t.boundary.get(abs - t.base);
      if (b === undefined) throw new Error(`internal: shape cache offset ${abs - t.base} is no token boundary`);
      const tok = toks[b >> 1]!;
      return start + (b & 1 ? tok.end : tok.start);
    };
    const tokenText = (abs: number): string => {
      const i = t.starts.get(abs - t.base);
      if (i === undefined) throw new Error(`internal: shape cache offset ${abs - t.base} starts no token`);
      return toks[i]!.text;
    };
    return copyTree(t.tree, offset, tokenText);
  }
}

/** Deep copy; positions are remapped, and the text of atoms and prefix lengths is taken from the new tokens. */
function copyTree(node: unknown, offset: (abs: number) => number, tokenText: ((abs: number) => string) | undefined): unknown {
  if (Array.isArray(node)) return node.map((n) => copyTree(n, offset, tokenText));
  if (node === null || typeof node !== "object") return node;
  const o = node as Record<string, unknown>;
  if (typeof o.start === "number" && typeof o.end === "number" && Object.keys(o).length === 2) return { start: offset(o.start), end: offset(o.end) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = copyTree(v, offset, tokenText);
  if (tokenText && o.kind === "atom") out.text = tokenText((o.pos as { start: number }).start);
  if (tokenText && o.kind === "prefix") out.len = tokenText((o.lenPos as { start: number }).start);
  return out;
}
