/**
 * JSON with positions: a small strict JSON parser whose values remember where they were written, so that a bad
 * traffic spec gets `spec.json:7:15: sources[1].rate: …` with the line and a caret, like every other input.
 */
import { errorAt, type SourceError } from "../../overlay-isa/index.js";

export type JsonNode =
  | { kind: "object"; entries: Map<string, JsonNode>; keys: Map<string, number>; at: number }
  | { kind: "array"; items: JsonNode[]; at: number }
  | { kind: "string"; value: string; at: number }
  | { kind: "number"; value: number; at: number }
  | { kind: "bool"; value: boolean; at: number }
  | { kind: "null"; at: number };

export class JsonSource {
  private i = 0;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  fail(at: number, message: string): never {
    throw errorAt(this.file, this.text, at, message) as SourceError;
  }

  parse(): JsonNode {
    const v = this.value();
    this.ws();
    if (this.i < this.text.length) this.fail(this.i, "unexpected text after the JSON value");
    return v;
  }

  private ws(): void {
    while (this.i < this.text.length && /[ \t\r\n]/.test(this.text[this.i]!)) this.i++;
  }

  private value(): JsonNode {
    this.ws();
    const at = this.i;
    const c = this.text[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return { kind: "string", value: this.string(), at };
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
      const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
      m.lastIndex = this.i;
      const r = m.exec(this.text);
      if (!r) this.fail(at, "expected a number");
      this.i += r[0].length;
      return { kind: "number", value: Number(r[0]), at };
    }
    for (const [word, node] of [["true", { kind: "bool", value: true, at }], ["false", { kind: "bool", value: false, at }], ["null", { kind: "null", at }]] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return node as JsonNode;
      }
    }
    if (c === undefined) this.fail(at, "unexpected end of the file: expected a JSON value");
    this.fail(at, `unexpected '${c}': expected a JSON value (object, array, string, number, true, false or null)`);
  }

  private string(): string {
    const start = this.i;
    this.i++;
    let out = "";
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined || c === "\n") this.fail(start, "unterminated string");
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === "\\") {
        const e = this.text[this.i + 1];
        const map: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) {
          out += String.fromCharCode(parseInt(this.text.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          this.i += 2;
        } else this.fail(this.i, "bad escape in a string");
      } else {
        out += c;
        this.i++;
      }
    }
  }

  private object(): JsonNode {
    const at = this.i++;
    const entries = new Map<string, JsonNode>();
    const keys = new Map<string, number>();
    this.ws();
    if (this.text[this.i] === "}") {
      this.i++;
      return { kind: "object", entries, keys, at };
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail(this.i, "expected a quoted key");
      const keyAt = this.i;
      const key = this.string();
      if (entries.has(key)) this.fail(keyAt, `key "${key}" appears twice`);
      this.ws();
      if (this.text[this.i] !== ":") this.fail(this.i, "expected ':' after the key");
      this.i++;
      entries.set(key, this.value());
      keys.set(key, keyAt);
      this.ws();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "}") {
        this.i++;
        return { kind: "object", entries, keys, at };
      }
      this.fail(this.i, "expected ',' or '}' in the object");
    }
  }

  private array(): JsonNode {
    const at = this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return { kind: "array", items, at };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "]") {
        this.i++;
        return { kind: "array", items, at };
      }
      this.fail(this.i, "expected ',' or ']' in the array");
    }
  }
}

/** Typed access to one object of the document, with errors naming the path and pointing at the value. */
export class JsonObject {
  constructor(
    readonly src: JsonSource,
    readonly node: JsonNode & { kind: "object" },
    readonly path: string,
  ) {}

  static of(src: JsonSource, node: JsonNode, path: string): JsonObject {
    if (node.kind !== "object") src.fail(node.at, `${path || "the document"}: expected an object`);
    return new JsonObject(src, node, path);
  }

  fail(key: string | undefined, message: string): never {
    const node = key === undefined ? this.node : this.node.entries.get(key);
    this.src.fail(node?.at ?? this.node.at, `${this.where(key)}: ${message}`);
  }

  where(key?: string): string {
    return key === undefined ? this.path || "the document" : this.path ? `${this.path}.${key}` : key;
  }

  /** Refuse keys outside `allowed` (a typo should not be ignored silently). */
  only(allowed: readonly string[]): void {
    for (const [k, at] of this.node.keys) if (!allowed.includes(k)) this.src.fail(at, `${this.where(k)}: unknown key (known: ${allowed.join(", ")})`);
  }

  has(key: string): boolean {
    return this.node.entries.has(key);
  }

  raw(key: string): JsonNode | undefined {
    return this.node.entries.get(key);
  }

  string(key: string): string | undefined {
    const n = this.node.entries.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== "string") this.fail(key, "expected a string");
    return n.value;
  }

  number(key: string, min = -Infinity, max = Infinity, integer = false): number | undefined {
    const n = this.node.entries.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== "number") this.fail(key, "expected a number");
    if (integer && !Number.isInteger(n.value)) this.fail(key, `expected a whole number, got ${n.value}`);
    if (n.value < min || n.value > max) this.fail(key, `${n.value} is outside ${min} … ${max}`);
    return n.value;
  }

  object(key: string): JsonObject | undefined {
    const n = this.node.entries.get(key);
    return n === undefined ? undefined : JsonObject.of(this.src, n, this.where(key));
  }

  array(key: string): JsonNode[] | undefined {
    const n = this.node.entries.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== "array") this.fail(key, "expected an array");
    return n.items;
  }

  /** A value given as a string with units (parsed by `parse`) or as a plain number of `numberUnit`s. */
  quantity<T>(key: string, parse: (text: string) => T, fromNumber: (n: number) => T): T | undefined {
    const n = this.node.entries.get(key);
    if (n === undefined) return undefined;
    if (n.kind === "number") return fromNumber(n.value);
    if (n.kind !== "string") this.fail(key, "expected a string with units or a number");
    try {
      return parse(n.value);
    } catch (e) {
      this.fail(key, (e as Error).message);
    }
  }
}
