/**
 * Emits overlay programs for the compiler front ends: symbolic labels resolved to forward jumps, an interned
 * constant pool, table and counter declarations, register allocation helpers. Output is a ProgramImage that the
 * verifier checks like any other. Instructions are built from the opcode table, so a front end names the
 * mnemonic and operand values and never touches encodings.
 */
import {
  encodeOperands,
  fieldId,
  opcodesByMnemonic,
  encodeVerdict,
  LIMITS,
  type OperandKind,
  type OperandValue,
  type ProgramImage,
  type ProgramKind,
  type RawInsn,
  type TableDecl,
  type Verdict,
} from "../overlay-isa/index.js";

export class Label {
  index: number | undefined;
  constructor(readonly name: string) {}
}

/** An operand as a front end writes it: numbers, registers, field names, labels. */
export type Arg = number | string | Label | { reg: number } | OperandValue;

export function reg(n: number): { reg: number } {
  return { reg: n };
}

export class CompileLimitError extends Error {}

export class ProgramBuilder {
  private readonly code: RawInsn[] = [];
  private readonly fixups: { index: number; label: Label }[] = [];
  private readonly constants: bigint[] = [];
  private readonly constIndex = new Map<bigint, number>();
  private readonly tables: TableDecl[] = [];
  private counters = 0;
  private labelCount = 0;

  constructor(readonly kind: ProgramKind = "filter") {}

  get length(): number {
    return this.code.length;
  }

  label(name = `L${this.labelCount++}`): Label {
    return new Label(name);
  }

  /** Place a label at the next instruction. */
  bind(label: Label): void {
    if (label.index !== undefined) throw new Error(`internal: label ${label.name} bound twice`);
    label.index = this.code.length;
  }

  constant(value: bigint): number {
    let i = this.constIndex.get(value);
    if (i === undefined) {
      if (this.constants.length >= LIMITS.constants) throw new CompileLimitError(`more than ${LIMITS.constants} constants`);
      i = this.constants.length;
      this.constants.push(value);
      this.constIndex.set(value, i);
    }
    return i;
  }

  table(decl: TableDecl): number {
    if (this.tables.length >= LIMITS.tables) throw new CompileLimitError(`more than ${LIMITS.tables} tables`);
    this.tables.push(decl);
    return this.tables.length - 1;
  }

  /** Reserve n consecutive counters; returns the first id. */
  counter(n = 1): number {
    const first = this.counters;
    this.counters += n;
    if (this.counters > LIMITS.counters) throw new CompileLimitError(`more than ${LIMITS.counters} counters`);
    return first;
  }

  /**
   * Emit `mnemonic args…`. The encoding is chosen by the argument shapes: `reg(n)` where the opcode takes a
   * register, a number where it takes an immediate. Field operands are names; targets are Labels.
   */
  emit(mnemonic: string, ...args: Arg[]): void {
    const candidates = opcodesByMnemonic(mnemonic);
    const isReg = (a: Arg) => typeof a === "object" && a !== null && "reg" in a;
    const spec = candidates.find(
      (s) =>
        s.operands.length === args.length &&
        s.operands.every((k, i) => {
          const regKind = k === "rd" || k === "ra" || k === "rs" || k === "rt";
          if (regKind) return isReg(args[i]!);
          if (k === "imm" || k === "verdict") return !isReg(args[i]!);
          if (k === "counterx") return typeof args[i] === "object" && args[i] !== null && "base" in (args[i] as object) && "index" in (args[i] as object);
          if (k === "counter") return typeof args[i] === "number";
          return true;
        }),
    );
    if (!spec) throw new Error(`internal: no encoding of ${mnemonic} takes (${args.map((a) => JSON.stringify(a)).join(", ")})`);
    const index = this.code.length;
    const values = spec.operands.map((k: OperandKind, i): OperandValue => {
      const a = args[i]!;
      if (isReg(a)) return (a as { reg: number }).reg;
      if (k === "target") {
        this.fixups.push({ index, label: a as Label });
        return 0;
      }
      if ((k === "field" || k === "wfield") && typeof a === "string") return fieldId(a);
      if (k === "imm") return Number(a) >>> 0;
      return a as OperandValue;
    });
    if (this.code.length >= LIMITS.instructionMemory) throw new CompileLimitError(`program exceeds the instruction memory (${LIMITS.instructionMemory} instructions)`);
    this.code.push(encodeOperands(spec, values));
  }

  exit(v: Verdict): void {
    this.emit("exit", encodeVerdict(v));
  }

  build(): ProgramImage {
    for (const { index, label } of this.fixups) {
      if (label.index === undefined) throw new Error(`internal: label ${label.name} never bound`);
      const off = label.index - (index + 1);
      if (off <= -1 || off > 32767) throw new CompileLimitError(`jump to ${label.name} out of range (${off})`);
      this.code[index]!.off = off & 0xffff;
    }
    return { kind: this.kind, tables: this.tables.map((t) => ({ ...t, keyFields: [...t.keyFields] })), counters: this.counters, constants: [...this.constants], code: this.code.map((c) => ({ ...c })) };
  }
}
