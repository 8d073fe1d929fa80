/**
 * Building an ohm grammar from its source costs ~250 ms (ohm parses the grammar text with itself), which every
 * `hostctl` command that compiles a filter or policy would pay at start-up. A grammar's recipe rebuilds it in
 * ~2 ms, so recipes are cached on disk keyed by a hash of the grammar source: a stale recipe is never used, and
 * a missing or unwritable cache only costs the slow path. `npm run build` warms the cache.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ohm from "ohm-js";

/** build/grammars/ beside the package's sources (or beside dist/ when running the built code). */
const cacheDir = fileURLToPath(new URL("../build/grammars/", import.meta.url));

/** Recipes are ohm's own serialization (what its bundle generator emits); the .d.ts does not declare them. */
const recipes = ohm as unknown as { makeRecipe(recipe: unknown): ohm.Grammar };
type WithRecipe = ohm.Grammar & { toRecipe(): string };

export function cachedGrammar(name: string, source: string): ohm.Grammar {
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
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
