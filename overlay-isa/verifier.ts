/**
 * The overlay verifier: a program the NIC accepts is finite (forward-only jumps make it a DAG), in range,
 * never reads a register it has not written, names only declared tables, counters and constants, fits the
 * instruction memory, and ends every path in an exit. It also computes the static worst-case cycle count:
 * the longest path through the DAG, weighting each instruction by its opcode's cycles.
 */
import { fieldById } from "./fields.js";
import type { ProgramImage } from "./image.js";
import { decodeOperands, jumpOffset, registerUse, reservedBits, type RawInsn } from "./instruction.js";
import { LIMITS } from "./limits.js";
import { MEM_BASES, MEM_INDEXED, opcodeByCode, type OpcodeSpec } from "./opcodes.js";
import { isValidVerdict } from "./verdicts.js";

export type VerifyRule =
  | "empty-program"
  | "too-large"
  | "unknown-opcode"
  | "reserved-bits"
  | "backward-jump"
  | "jump-out-of-range"
  | "falls-off-end"
  | "uninitialized-register"
  | "bad-field"
  | "bad-table"
  | "bad-counter"
  | "bad-constant"
  | "bad-memory-base"
  | "bad-verdict"
  | "bad-table-declaration";

export interface VerifyError {
  rule: VerifyRule;
  /** instruction index, when the problem is an instruction */
  index?: number;
  /** table index, when the problem is a table declaration */
  table?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  errors: VerifyError[];
  /** longest path in cycles; undefined when the control flow itself is invalid */
  worstCaseCycles?: number;
  instructions: number;
  /** the program reads the parsed-header vector, so the parser must run before it */
  needsHeaders: boolean;
}

function checkTables(p: ProgramImage, errors: VerifyError[]): void {
  p.tables.forEach((t, ti) => {
    const bad = (message: string) => errors.push({ rule: "bad-table-declaration", table: ti, message: `table t${ti}: ${message}` });
    if (t.keyFields.length === 0) bad("declares no key field");
    let bits = 0;
    for (const id of t.keyFields) {
      const f = fieldById(id);
      if (!f) {
        bad(`key field id ${id} does not exist`);
        continue;
      }
      bits += f.bits;
    }
    if (bits > LIMITS.keyBits) bad(`key is ${bits} bits, at most ${LIMITS.keyBits}`);
    if (t.kind === "lpm" && bits > LIMITS.lpmKeyBits) bad(`lpm key is ${bits} bits, at most ${LIMITS.lpmKeyBits}`);
    if (t.kind === "range" && (t.keyFields.length !== 1 || bits > 64)) bad("a range table is keyed by exactly one field of at most 64 bits");
    if (t.capacity < 1 || t.capacity > LIMITS.tableEntries) bad(`capacity ${t.capacity} outside 1..${LIMITS.tableEntries}`);
  });
}

/** Per-instruction checks that need no control-flow knowledge. */
function checkInstruction(p: ProgramImage, i: number, insn: RawInsn, spec: OpcodeSpec, errors: VerifyError[]): void {
  const err = (rule: VerifyRule, message: string) => errors.push({ rule, index: i, message });
  const reserved = reservedBits(spec);
  if ((insn.a & reserved.a) | (insn.b & reserved.b) | (insn.off & reserved.off) | (insn.imm & reserved.imm)) {
    err("reserved-bits", `${spec.mnemonic}: bits its operands do not use must be zero`);
  }
  const values = decodeOperands(spec, insn);
  spec.operands.forEach((kind, k) => {
    const v = values[k];
    switch (kind) {
      case "field":
      case "wfield": {
        const f = fieldById(v as number);
        if (!f) err("bad-field", `field id ${v as number} does not exist`);
        else if (kind === "wfield" && !f.writable) err("bad-field", `${f.name} is not writable (only meta.* fields are)`);
        else if (spec.mnemonic === "ldf" && f.bits > 64) err("bad-field", `${f.name} is ${f.bits} bits; ldf loads fields of at most 64 bits (compare wider ones with pfx or a table)`);
        break;
      }
      case "table": {
        const t = p.tables[v as number];
        if (!t) err("bad-table", `table t${v as number} is not declared (the program declares ${p.tables.length})`);
        else if (spec.tableKind && t.kind !== spec.tableKind) err("bad-table", `${spec.mnemonic} on t${v as number}, which is a ${t.kind} table`);
        break;
      }
      case "counter":
        if ((v as number) >= p.counters) err("bad-counter", `counter c${v as number} is not declared (the program declares ${p.counters})`);
        break;
      case "counterx": {
        const c = v as { base: number };
        if (c.base >= p.counters) err("bad-counter", `counter base c${c.base} is not declared (the program declares ${p.counters})`);
        break;
      }
      case "const":
        if ((v as number) >= p.constants.length) err("bad-constant", `constant k${v as number} is not in the pool (${p.constants.length} entries)`);
        break;
      case "kprefix": {
        const k = v as { index: number; prefix: number };
        if (k.index >= p.constants.length) err("bad-constant", `constant k${k.index} is not in the pool (${p.constants.length} entries)`);
        const fieldOperand = values[spec.operands.indexOf("field")];
        const f = fieldById(fieldOperand as number);
        if (f && k.prefix > f.bits) err("bad-constant", `prefix /${k.prefix} is longer than ${f.name} (${f.bits} bits)`);
        break;
      }
      case "mem":
        if ((insn.off & 0xf) >= MEM_BASES.length) err("bad-memory-base", `memory base ${insn.off & 0xf} does not exist (bases: ${MEM_BASES.join(", ")})`);
        if ((insn.off & MEM_INDEXED) === 0 && insn.b !== 0) err("reserved-bits", `${spec.mnemonic}: index register set on a load that is not indexed`);
        break;
      case "verdict":
        if (!isValidVerdict(v as number)) err("bad-verdict", `0x${(v as number).toString(16)} is not a valid verdict`);
        break;
      default:
        break;
    }
  });
}

export function verify(p: ProgramImage): VerifyResult {
  const errors: VerifyError[] = [];
  const n = p.code.length;
  let needsHeaders = false;
  if (n === 0) errors.push({ rule: "empty-program", message: "the program has no instructions; it must end every path in an exit" });
  if (n > LIMITS.instructionMemory) errors.push({ rule: "too-large", message: `${n} instructions do not fit the instruction memory of ${LIMITS.instructionMemory}` });
  if (p.counters > LIMITS.counters) errors.push({ rule: "bad-counter", message: `${p.counters} counters declared, at most ${LIMITS.counters}` });
  checkTables(p, errors);

  const specs: (OpcodeSpec | undefined)[] = p.code.map((insn) => opcodeByCode(insn.op));
  let flowOk = n > 0;
  for (let i = 0; i < n; i++) {
    const insn = p.code[i]!;
    const spec = specs[i];
    if (!spec) {
      errors.push({ rule: "unknown-opcode", index: i, message: `unknown opcode 0x${insn.op.toString(16).padStart(2, "0")}` });
      flowOk = false;
      continue;
    }
    if (spec.needsHeaders) needsHeaders = true;
    checkInstruction(p, i, insn, spec, errors);
    if (spec.operands.includes("target")) {
      const target = i + 1 + jumpOffset(insn);
      if (target <= i) {
        errors.push({ rule: "backward-jump", index: i, message: `jump to ${target} goes backward; overlay control flow is forward-only` });
        flowOk = false;
      } else if (target >= n) {
        errors.push({ rule: "jump-out-of-range", index: i, message: `jump to ${target} is past the last instruction (${n - 1})` });
        flowOk = false;
      }
    }
    const fallsThrough = spec.cls !== "exit" && spec.mnemonic !== "ja";
    if (fallsThrough && i === n - 1) {
      errors.push({ rule: "falls-off-end", index: i, message: "the last instruction falls through past the end; every path must end in an exit" });
      flowOk = false;
    }
  }

  let worstCaseCycles: number | undefined;
  if (flowOk) {
    checkRegisters(p, specs as OpcodeSpec[], errors);
    worstCaseCycles = longestPath(p, specs as OpcodeSpec[]);
  }
  errors.sort((x, y) => (x.index ?? -1) - (y.index ?? -1));
  return { ok: errors.length === 0, errors, worstCaseCycles, instructions: n, needsHeaders };
}

function successors(spec: OpcodeSpec, insn: RawInsn, i: number): number[] {
  if (spec.cls === "exit") return [];
  if (spec.mnemonic === "ja") return [i + 1 + jumpOffset(insn)];
  if (spec.cls === "jump") return [i + 1, i + 1 + jumpOffset(insn)];
  return [i + 1];
}

/** Registers definitely written on every path to an instruction (bitmask); a read of any other is an error. */
function checkRegisters(p: ProgramImage, specs: OpcodeSpec[], errors: VerifyError[]): void {
  const n = p.code.length;
  const ALL = (1 << LIMITS.registers) - 1;
  const written = new Int32Array(n).fill(-1); // -1: not reached yet
  written[0] = 0;
  for (let i = 0; i < n; i++) {
    if (written[i] === -1) continue; // unreachable: nothing runs it
    const insn = p.code[i]!;
    const spec = specs[i]!;
    const { reads, writes } = registerUse(spec, insn);
    const have = written[i]!;
    for (const r of new Set(reads)) {
      if ((have & (1 << r)) === 0) errors.push({ rule: "uninitialized-register", index: i, message: `r${r} may be read before it is written` });
    }
    let out = have;
    for (const r of writes) out |= 1 << r;
    out &= ALL;
    for (const s of successors(spec, insn, i)) written[s] = written[s] === -1 ? out : written[s]! & out;
  }
}

/** Static worst-case cycles: the costliest path from the entry to an exit. */
function longestPath(p: ProgramImage, specs: OpcodeSpec[]): number {
  const n = p.code.length;
  const best = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let tail = 0;
    for (const s of successors(specs[i]!, p.code[i]!, i)) tail = Math.max(tail, best[s]!);
    best[i] = specs[i]!.cycles + tail;
  }
  return best[0]!;
}
