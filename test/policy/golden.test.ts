/**
 * Golden disassembly: each example policy compiles to exactly the program and tables in test/policy/golden/.
 * After an intended codegen change, regenerate with `UPDATE_GOLDEN=1 npx vitest run test/policy/golden.test.ts`
 * and review the diff.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { policySummary } from "../../compiler/policy/summary.js";
import { assemble, encodeImage, verify } from "../../overlay-isa/index.js";
import { compileExample, EXAMPLES, ROOT } from "./helpers.js";

const GOLDEN = `${ROOT}test/policy/golden/`;
const examples = readdirSync(EXAMPLES).filter((f) => /\.(kopi|rules)$/.test(f)).sort();

describe("golden disassembly of the example policies", () => {
  it("has examples", () => expect(examples.length).toBeGreaterThanOrEqual(6));
  for (const name of examples) {
    it(name, () => {
      const compiled = compileExample(name);
      const text = policySummary(compiled, { entries: 64 });
      const goldenFile = `${GOLDEN}${name}.txt`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenFile, text);
      expect(existsSync(goldenFile), `${goldenFile} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(text).toBe(readFileSync(goldenFile, "utf8"));
      // the printed text is assembly: it assembles back into the very same image
      const again = assemble(text, goldenFile).image;
      expect(encodeImage(again)).toEqual(encodeImage(compiled.image));
      expect(verify(compiled.image).ok).toBe(true);
    });
  }
});
