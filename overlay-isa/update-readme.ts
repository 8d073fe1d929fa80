/** Rewrites the generated reference sections of overlay-isa/README.md from the opcode and field tables. */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fieldReference, opcodeReference } from "./reference.js";

export function withReferences(readme: string): string {
  const put = (text: string, name: string, body: string) =>
    text.replace(new RegExp(`(<!-- BEGIN ${name} \\(generated\\) -->)[\\s\\S]*?(<!-- END ${name} -->)`), `$1\n${body}\n$2`);
  return put(put(readme, "OPCODES", opcodeReference()), "FIELDS", fieldReference());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = fileURLToPath(new URL("./README.md", import.meta.url));
  writeFileSync(path, withReferences(readFileSync(path, "utf8")));
}
