import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { withReferences } from "../../overlay-isa/update-readme.js";

it("overlay-isa/README.md lists every opcode and field of the tables (run `npx tsx overlay-isa/update-readme.ts`)", () => {
  const readme = readFileSync(new URL("../../overlay-isa/README.md", import.meta.url), "utf8");
  expect(readme).toBe(withReferences(readme));
});
