/** Markdown reference tables of the opcode and field tables, for README.md (a test keeps the README in sync). */
import { FIELDS } from "./fields.js";
import { OPCODES } from "./opcodes.js";

export function opcodeReference(): string {
  const rows = OPCODES.map((o) => `| 0x${o.code.toString(16).padStart(2, "0")} | \`${o.mnemonic}${o.operands.length ? " " + o.operands.join(", ") : ""}\` | ${o.cls} | ${o.cycles} | ${o.meaning.replace(/\|/g, "\\|")} |`);
  return ["| code | form | class | cycles | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

export function fieldReference(): string {
  const rows = FIELDS.map((f) => `| ${f.id} | \`${f.name}\` | ${f.bits} | ${f.slot}${f.slots > 1 ? "–" + (f.slot + 1) : ""} | ${f.writable ? "yes" : ""} | ${f.meaning.replace(/\|/g, "\\|")} |`);
  return ["| id | field | bits | slot | writable | meaning |", "|---|---|---|---|---|---|", ...rows].join("\n");
}
