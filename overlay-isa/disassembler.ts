/**
 * Disassembler: image → assembly text that the assembler turns back into the same image. Jump targets get
 * labels `L<index>`; an unknown opcode prints as `.word` so even a broken image round-trips.
 */
import { fieldById } from "./fields.js";
import type { ProgramImage } from "./image.js";
import { decodeOperands, jumpOffset, type MemOperand, type RawInsn } from "./instruction.js";
import { MEM_BASES, opcodeByCode, type OpcodeSpec } from "./opcodes.js";
import { decodeVerdict, formatVerdict } from "./verdicts.js";

function num(v: number): string {
  return v < 65536 ? String(v) : "0x" + v.toString(16);
}

function rawWord(insn: RawInsn): string {
  const w = (BigInt(insn.imm >>> 0) << 32n) | (BigInt(insn.off & 0xffff) << 16n) | (BigInt(insn.b & 0xf) << 12n) | (BigInt(insn.a & 0xf) << 8n) | BigInt(insn.op & 0xff);
  return "0x" + w.toString(16).padStart(16, "0");
}

function fieldName(id: number): string | undefined {
  return fieldById(id)?.name;
}

/** Text of one instruction; `label` names a jump target. Undefined when the word has no faithful text form. */
export function formatInstruction(insn: RawInsn, index: number, label: (target: number) => string): string | undefined {
  const spec: OpcodeSpec | undefined = opcodeByCode(insn.op);
  if (!spec) return undefined;
  const values = decodeOperands(spec, insn);
  const parts: string[] = [];
  for (let k = 0; k < spec.operands.length; k++) {
    const kind = spec.operands[k]!;
    const v = values[k]!;
    switch (kind) {
      case "rd":
      case "ra":
      case "rs":
      case "rt":
        parts.push(`r${v as number}`);
        break;
      case "imm":
        parts.push(num(v as number));
        break;
      case "target":
        parts.push(label(index + 1 + jumpOffset(insn)));
        break;
      case "field":
      case "wfield": {
        const name = fieldName(v as number);
        if (!name) return undefined;
        parts.push(name);
        break;
      }
      case "table":
        parts.push(`t${v as number}`);
        break;
      case "counter":
        parts.push(`c${v as number}`);
        break;
      case "counterx": {
        const c = v as { base: number; index: number };
        parts.push(`c${c.base}[r${c.index}]`);
        break;
      }
      case "const":
        parts.push(`k${v as number}`);
        break;
      case "kprefix": {
        const kp = v as { index: number; prefix: number };
        parts.push(`k${kp.index}/${kp.prefix}`);
        break;
      }
      case "mem": {
        const m = v as MemOperand;
        const base = MEM_BASES[m.base];
        if (!base) return undefined;
        if (m.index === undefined && insn.b !== 0) return undefined; // reserved bits set: keep the word raw
        parts.push(`[${base}${m.index !== undefined ? ` + r${m.index}` : ""} + ${num(m.offset)}]`);
        break;
      }
      case "verdict": {
        const d = decodeVerdict(v as number);
        if (!d) return undefined;
        parts.push(formatVerdict(d));
        break;
      }
    }
  }
  return parts.length ? `${spec.mnemonic} ${parts.join(", ")}` : spec.mnemonic;
}

/** Whether re-encoding the text form would lose bits (reserved bits set): such words print as `.word`. */
function losesBits(insn: RawInsn, text: string | undefined, spec: OpcodeSpec | undefined): boolean {
  if (text === undefined || !spec) return true;
  let a = 0, b = 0, off = 0, imm = 0;
  for (const kind of spec.operands) {
    if (kind === "rd" || kind === "ra") a = 0xf;
    if (kind === "rs") b = 0xf;
    if (kind === "counterx") { b = 0xf; imm = 0xffffffff; }
    if (kind === "rt") off |= 0xf;
    if (kind === "target" || kind === "field" || kind === "wfield" || kind === "table") off = 0xffff;
    if (kind === "imm" || kind === "counter" || kind === "const" || kind === "verdict") imm = 0xffffffff;
    if (kind === "kprefix") imm = 0x00ffffff;
    if (kind === "mem") { off |= 0x1f; b = 0xf; imm = 0xffffffff; }
  }
  return (insn.a & ~a) !== 0 || (insn.b & ~b) !== 0 || (insn.off & ~off & 0xffff) !== 0 || ((insn.imm & ~imm) >>> 0) !== 0;
}

export function disassemble(p: ProgramImage): string {
  const out: string[] = [];
  out.push(`; kopi overlay program: ${p.kind}, ${p.code.length} instructions, ${p.tables.length} tables, ${p.counters} counters, ${p.constants.length} constants`);
  out.push(`.kind ${p.kind}`);
  if (p.counters) out.push(`.counters ${p.counters}`);
  p.tables.forEach((t, i) => {
    out.push(`.table t${i} ${t.kind} capacity ${t.capacity} key ${t.keyFields.map((f) => fieldName(f) ?? `?${f}`).join(", ")}`);
  });
  p.constants.forEach((k, i) => out.push(`.const k${i} 0x${k.toString(16)}`));

  const targets = new Set<number>();
  const texts = p.code.map((insn, i) => {
    const spec = opcodeByCode(insn.op);
    const text = formatInstruction(insn, i, (t) => {
      if (t >= 0 && t < p.code.length) {
        targets.add(t);
        return `L${t}`;
      }
      const rel = t - (i + 1);
      return rel >= 0 ? `+${rel}` : `${rel}`;
    });
    return losesBits(insn, text, spec) ? `.word ${rawWord(insn)}` : text!;
  });
  texts.forEach((text, i) => {
    if (targets.has(i)) out.push(`L${i}:`);
    out.push(`    ${text}`);
  });
  return out.join("\n") + "\n";
}
