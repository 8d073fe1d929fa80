/** Rewrites fpga-model/REGISTERS.md from the register table (registers.ts). */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderRegistersMarkdown } from "./registers-doc.js";

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(fileURLToPath(new URL("./REGISTERS.md", import.meta.url)), renderRegistersMarkdown());
}
