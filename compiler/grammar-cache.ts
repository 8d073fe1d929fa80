/**
 * Building an ohm grammar from its source costs ~250 ms (ohm parses the grammar text with itself), which every
 * `hostctl` command that compiles a filter or policy would pay at start-up. A grammar's recipe rebuilds it in
 * ~2 ms, so recipes are cached on disk keyed by a hash of the grammar source: a stale recipe is never used, and
 * a missing or unwritable cache only costs the slow path. `npm run build` warms the cache.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ohm from "ohm-js";

/** build/grammars/ beside the package's sources (or beside dist/ when running the built code). */
const cacheDir = fileURLToPath(new URL("../build/grammars/", import.meta.url));

/** Recipes are ohm's own serialization (what its bundle generator emits); the .d.ts does not declare them. */
const recipes = ohm as unknown as { makeRecipe(recipe: unknown): ohm.Grammar };
type WithRecipe = ohm.Grammar & { toRecipe(): string };

/**
 * A 64-bit hash of the grammar source as 16 hex digits (two multiplicative lanes over its UTF-16 code units,
 * cyrb53's mixing): enough to tell grammar versions apart, and without node:crypto, whose loading alone costs
 * ~3 ms of every hostctl start-up.
 */
export function sourceHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
}

export function cachedGrammar(name: string, source: string): ohm.Grammar {
  const hash = sourceHash(source);
  const path = `${cacheDir}${name}.${hash}.json`;
  try {
    return recipes.makeRecipe(JSON.parse(readFileSync(path, "utf8")));
  } catch {
    // no usable recipe yet: build from source below
  }
  const grammar = ohm.grammar(source);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, (grammar as WithRecipe).toRecipe());
    renameSync(tmp, path); // atomic: a concurrent reader sees the whole recipe or none
  } catch {
    // read-only install: every process builds the grammar from source
  }
  return grammar;
}
