/**
 * One instruction word, its raw fields, and the operand values the opcode table's operand kinds give them.
 */
import { MEM_INDEXED, opcodeByCode, type OpcodeSpec, type OperandKind } from "./opcodes.js";

/** The four fields of an instruction word. */
export interface RawInsn {
  op: number; // u8
  a: number; // u4
  b: number; // u4
  off: number; // u16 as stored (jump offsets are its signed reading)
  imm: number; // u32
}

export type MemOperand = { base: number; index?: number; offset: number };
export type OperandValue = number | MemOperand | { base: number; index: number } | { index: number; prefix: number };

export function encodeWord(insn: RawInsn, view: DataView, byteOffset: number): void {
  view.setUint8(byteOffset, insn.op);
  view.setUint8(byteOffset + 1, (insn.a & 0xf) | ((insn.b & 0xf) << 4));
  view.setUint16(byteOffset + 2, insn.off & 0xffff, true);
  view.setUint32(byteOffset + 4, insn.imm >>> 0, true);
}

export function decodeWord(view: DataView, byteOffset: number): RawInsn {
  const ab = view.getUint8(byteOffset + 1);
  return {
    op: view.getUint8(byteOffset),
    a: ab & 0xf,
    b: ab >>> 4,
    off: view.getUint16(byteOffset + 2, true),
    imm: view.getUint32(byteOffset + 4, true),
  };
}

/** The signed jump offset stored in `off`. */
export function jumpOffset(insn: RawInsn): number {
  return (insn.off << 16) >> 16;
}

/** Bits of each word field an operand kind occupies; bits no operand uses must be zero. */
export const OPERAND_BITS: Record<OperandKind, { a?: number; b?: number; off?: number; imm?: number }> = {
  rd: { a: 0xf },
  ra: { a: 0xf },
  rs: { b: 0xf },
  rt: { off: 0xf },
  imm: { imm: 0xffffffff },
  target: { off: 0xffff },
  field: { off: 0xffff },
  wfield: { off: 0xffff },
  table: { off: 0xffff },
  counter: { imm: 0xffffffff },
  counterx: { imm: 0xffffffff, b: 0xf },
  const: { imm: 0xffffffff },
  kprefix: { imm: 0x00ffffff },
  mem: { off: 0x1f, b: 0xf, imm: 0xffffffff },
  verdict: { imm: 0xffffffff },
};

/** The bits a spec's operands leave unused, per word field. */
export function reservedBits(spec: OpcodeSpec): { a: number; b: number; off: number; imm: number } {
  const used = { a: 0, b: 0, off: 0, imm: 0 };
  for (const kind of spec.operands) {
    const bits = OPERAND_BITS[kind];
    used.a |= bits.a ?? 0;
    used.b |= bits.b ?? 0;
    used.off |= bits.off ?? 0;
    used.imm |= bits.imm ?? 0;
  }
  return { a: ~used.a & 0xf, b: ~used.b & 0xf, off: ~used.off & 0xffff, imm: ~used.imm >>> 0 };
}

/** Operand values of an instruction, in the order of its spec's operand list. */
export function decodeOperands(spec: OpcodeSpec, insn: RawInsn): OperandValue[] {
  return spec.operands.map((kind): OperandValue => {
    switch (kind) {
      case "rd":
      case "ra":
        return insn.a;
      case "rs":
        return insn.b;
      case "rt":
        return insn.off & 0xf;
      case "target":
        return jumpOffset(insn);
      case "field":
      case "wfield":
      case "table":
        return insn.off;
      case "imm":
      case "counter":
      case "const":
      case "verdict":
        return insn.imm >>> 0;
      case "counterx":
        return { base: insn.imm >>> 0, index: insn.b };
      case "kprefix":
        return { index: insn.imm & 0xffff, prefix: (insn.imm >>> 16) & 0xff };
      case "mem":
        return (insn.off & MEM_INDEXED) !== 0
          ? { base: insn.off & 0xf, index: insn.b, offset: insn.imm >>> 0 }
          : { base: insn.off & 0xf, offset: insn.imm >>> 0 };
    }
  });
}

/** Build an instruction from operand values in the spec's order. */
export function encodeOperands(spec: OpcodeSpec, values: readonly OperandValue[]): RawInsn {
  const insn: RawInsn = { op: spec.code, a: 0, b: 0, off: 0, imm: 0 };
  spec.operands.forEach((kind, i) => {
    const v = values[i];
    switch (kind) {
      case "rd":
      case "ra":
        insn.a = v as number;
        break;
      case "rs":
        insn.b = v as number;
        break;
      case "rt":
        insn.off = v as number;
        break;
      case "target":
        insn.off = (v as number) & 0xffff;
        break;
      case "field":
      case "wfield":
      case "table":
        insn.off = v as number;
        break;
      case "imm":
      case "counter":
      case "const":
      case "verdict":
        insn.imm = (v as number) >>> 0;
        break;
      case "counterx": {
        const c = v as { base: number; index: number };
        insn.imm = c.base >>> 0;
        insn.b = c.index;
        break;
      }
      case "kprefix": {
        const k = v as { index: number; prefix: number };
        insn.imm = (k.index | (k.prefix << 16)) >>> 0;
        break;
      }
      case "mem": {
        const m = v as MemOperand;
        insn.off = m.base | (m.index !== undefined ? MEM_INDEXED : 0);
        insn.b = m.index ?? 0;
        insn.imm = m.offset >>> 0;
        break;
      }
    }
  });
  return insn;
}

/** Registers an instruction reads and writes (for the verifier's dataflow). */
export function registerUse(spec: OpcodeSpec, insn: RawInsn): { reads: number[]; writes: number[] } {
  const reads: number[] = [];
  const writes: number[] = [];
  for (const kind of spec.operands) {
    if (kind === "rd") writes.push(insn.a);
    else if (kind === "ra") reads.push(insn.a);
    else if (kind === "rs" || kind === "counterx") reads.push(insn.b);
    else if (kind === "rt") reads.push(insn.off & 0xf);
    else if (kind === "mem" && (insn.off & MEM_INDEXED) !== 0) reads.push(insn.b);
  }
  return { reads, writes };
}

export function specOf(insn: RawInsn): OpcodeSpec | undefined {
  return opcodeByCode(insn.op);
}
