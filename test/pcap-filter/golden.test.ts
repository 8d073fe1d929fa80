/**
 * Golden disassemblies: what a few expressions compile to, as overlay assembly (test/pcap-filter/golden/*.asm,
 * first line `; expression: …`). A change in code generation shows up here as a readable diff; regenerate with
 * KOPI_UPDATE_GOLDEN=1 after checking the oracle tests still pass.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { assemble, disassemble, encodeImage } from "../../overlay-isa/index.js";
import { HERE } from "./corpus.js";

const GOLDEN = join(HERE, "golden");
const HEADER = "; expression: ";

describe("golden disassemblies", () => {
  const files = readdirSync(GOLDEN).filter((f) => f.endsWith(".asm")).sort();
  it("has golden files", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });
  for (const file of files) {
    it(file, () => {
      const text = readFileSync(join(GOLDEN, file), "utf8");
      const first = text.split("\n")[0]!;
      expect(first.startsWith(HEADER)).toBe(true);
      const expression = first.slice(HEADER.length);
      const image = compilePcapFilter(expression).image;
      const actual = `${first}\n${disassemble(image)}`;
      if (process.env.KOPI_UPDATE_GOLDEN) writeFileSync(join(GOLDEN, file), actual);
      expect(actual).toBe(text);
      // the golden text is real assembly: it assembles back to the same image
      expect(encodeImage(assemble(text).image)).toEqual(encodeImage(image));
    });
  }
});
