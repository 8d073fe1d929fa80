/**
 * Printed lines equal tcpdump 4.99.3's, byte for byte, for the captures and flags in golden/cases.tsv. The
 * golden files were made by running the real tcpdump (golden/make-golden.sh); where that exact tcpdump is
 * installed, the test also checks the golden files still say what it prints.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CORPUS, GOLDEN, optionsFromFlags, printFile, tcpdump, tcpdumpVersion } from "./helpers.js";

process.env.TZ = "UTC";

const cases = readFileSync(join(GOLDEN, "cases.tsv"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const [name, flags, capture] = line.split("\t");
    return { name: name!, flags: flags!.split(" "), capture: capture! };
  });

describe("tcpdump-style printer against golden tcpdump output", () => {
  it("has a golden file for every case", () => {
    expect(cases.length).toBeGreaterThan(50);
    for (const c of cases) expect(() => readFileSync(join(GOLDEN, `${c.name}.txt`))).not.toThrow();
  });

  for (const c of cases) {
    it(`${c.name}: tcpdump ${c.flags.join(" ")} -r ${c.capture}`, () => {
      const expected = readFileSync(join(GOLDEN, `${c.name}.txt`), "latin1");
      const actual = printFile(join(CORPUS, c.capture), optionsFromFlags(c.flags));
      expect(actual.split("\n")).toEqual(expected.split("\n"));
    });
  }

  it.runIf(tcpdumpVersion() === "4.99.3")("golden files are what the installed tcpdump 4.99.3 prints", () => {
    for (const c of cases) {
      const now = tcpdump([...c.flags, "-r", join(CORPUS, c.capture)]).stdout.toString("latin1");
      expect(now, c.name).toBe(readFileSync(join(GOLDEN, `${c.name}.txt`), "latin1"));
    }
  });
});
