/**
 * Human and JSON summaries of a compiled policy: the disassembly followed by the tables and counters as
 * assembly comments (so the text still assembles), or one JSON object for scripts.
 */
import { disassemble, encodeImage, fieldByName } from "../../overlay-isa/index.js";
import type { CompiledPolicy } from "./compile.js";
import { formatWarning } from "./diagnostics.js";
import type { TableEntry } from "./tables.js";

function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

export function entryText(e: TableEntry): string {
  if ("lo" in e) return `${hex(e.lo)}-${hex(e.hi)} → ${e.value}`;
  if ("prefixLen" in e) return `${hex(e.key)}/${e.prefixLen} → ${e.value}`;
  if ("mask" in e) return `${hex(e.key)}&${hex(e.mask)} → ${e.value}`;
  return `${hex(e.key)} → ${e.value}`;
}

/** Label of a counter: `ingress rule 3` or `ingress policy`. */
export function counterLabel(c: CompiledPolicy, id: number): string {
  const info = c.ir.counters[id]!;
  return info.rule === undefined ? `${info.chain} policy` : `${info.chain} rule ${info.rule}`;
}

export function policySummary(c: CompiledPolicy, opts: { entries?: number } = {}): string {
  const out: string[] = [];
  const ir = c.ir;
  const rules = ir.chains.reduce((n, ch) => n + ch.rules.length, 0);
  out.push(`; policy ${ir.file} (${ir.format}): ${ir.chains.length} chains, ${rules} rules; worst case ${c.verify.worstCaseCycles} cycles/packet`);
  out.push(disassemble(c.image).trimEnd());
  out.push(";");
  out.push(`; tables (${c.tables.length})`);
  const shown = opts.entries ?? 8;
  for (const t of c.tables) {
    out.push(`;   t${t.id} ${t.kind} key ${t.keyFields.join(", ")} (${t.keyBits} bits): ${t.purpose}; ${t.entries.length} entries, capacity ${t.capacity}`);
    for (const e of t.entries.slice(0, shown)) out.push(`;     ${entryText(e)}`);
    if (t.entries.length > shown) out.push(`;     … ${t.entries.length - shown} more`);
  }
  out.push(`; counters (${ir.counters.length})`);
  const rulesById = new Map(ir.chains.flatMap((ch) => ch.rules.map((r) => [r.counter, r] as const)));
  for (const info of ir.counters) {
    const r = rulesById.get(info.id);
    out.push(`;   c${info.id} ${counterLabel(c, info.id)}${r ? `: ${r.text}` : `: ${ir.chains.find((ch) => ch.name === info.chain)!.policy}`}`);
  }
  if (ir.strings.cmd.length || ir.strings.cgroup.length) {
    out.push("; owner strings (owner.cmd / owner.cgroup ids)");
    ir.strings.cmd.forEach((s, i) => out.push(`;   cmd ${i + 1} = ${JSON.stringify(s)}`));
    ir.strings.cgroup.forEach((s, i) => out.push(`;   cgroup ${i + 1} = ${JSON.stringify(s)}`));
  }
  return out.join("\n") + "\n";
}

export function policyJson(c: CompiledPolicy): object {
  const ir = c.ir;
  const str = (v: bigint) => v.toString();
  return {
    file: ir.file,
    format: ir.format,
    instructions: c.image.code.length,
    worstCaseCycles: c.verify.worstCaseCycles,
    image: Buffer.from(encodeImage(c.image)).toString("base64"),
    disassembly: disassemble(c.image),
    chains: ir.chains.map((ch) => ({ name: ch.name, hook: ch.hook ?? null, policy: ch.hook ? ch.policy : null, policyCounter: ch.policyCounter ?? null, rules: ch.rules.map((r) => ({ number: r.number, counter: r.counter, text: r.text })) })),
    tables: c.tables.map((t) => ({
      id: t.id,
      kind: t.kind,
      keyFields: t.keyFields,
      keyFieldIds: t.keyFields.map((f) => fieldByName(f)!.id),
      keyBits: t.keyBits,
      capacity: t.capacity,
      purpose: t.purpose,
      entries: t.entries.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === "bigint" ? str(v) : v]))),
    })),
    counters: ir.counters.length,
    strings: ir.strings,
    warnings: c.warnings.map((w) => ({ kind: w.kind, file: w.file, line: w.line, column: w.column, message: w.message })),
    timings: c.timings,
  };
}

export function warningsText(c: CompiledPolicy): string {
  return c.warnings.map((w) => formatWarning(w) + "\n").join("");
}
