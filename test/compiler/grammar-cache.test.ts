import { readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ohm from "ohm-js";
import { expect, it } from "vitest";
import { cachedGrammar } from "../../compiler/grammar-cache.js";

const cacheDir = fileURLToPath(new URL("../../build/grammars/", import.meta.url));

it("rebuilds a grammar from its cached recipe, and from source when the recipe is stale or corrupt", () => {
  const source = `Sum${process.pid} { Exp = Exp "+" num -- plus\n | num\n num = digit+ }`;
  const name = `test-sum-${process.pid}`;
  const fresh = cachedGrammar(name, source);
  const files = readdirSync(cacheDir).filter((f) => f.startsWith(name + "."));
  expect(files).toHaveLength(1);
  const fromRecipe = cachedGrammar(name, source);
  for (const text of ["1+2+3", "1+", "12"]) expect(fromRecipe.match(text).succeeded()).toBe(fresh.match(text).succeeded());
  writeFileSync(cacheDir + files[0], "{ not a recipe");
  const rebuilt = cachedGrammar(name, source);
  expect(rebuilt.match("4+5").succeeded()).toBe(true);
  const changed = cachedGrammar(name, source.replace('"+"', '"-"')); // another source: another key, never the old recipe
  expect(changed.match("4-5").succeeded()).toBe(true);
  expect(changed.match("4+5").succeeded()).toBe(false);
  expect(ohm.grammar(source).match("1+2").succeeded()).toBe(true);
});
