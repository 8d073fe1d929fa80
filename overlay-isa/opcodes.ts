/**
 * THE opcode table of the kopi overlay. Everything else — encoder, decoder, assembler, disassembler, verifier,
 * worst-case cycle analysis, the AssemblyScript interpreter's constants, the JIT and the FPGA timing model — is
 * driven by or checked against these rows. Add an instruction by adding a row (and its semantics in the VM).
 *
 * Instruction word: 64 bits, little-endian.
 *   bits  0..7   op    opcode
 *   bits  8..11  a     register (written or read, see the operand kinds)
 *   bits 12..15  b     register (read)
 *   bits 16..31  off   jump offset (signed), field id, table id, second source register, or memory base
 *   bits 32..63  imm   32-bit immediate, counter id, constant reference or verdict
 */

/** How an operand is written in assembly and where it lives in the instruction word. */
export type OperandKind =
  | "rd" // register written: slot a
  | "ra" // register read: slot a
  | "rs" // register read: slot b
  | "rt" // register read: low 4 bits of off
  | "imm" // unsigned 32-bit immediate: imm
  | "target" // forward jump: off, signed, relative to the next instruction
  | "field" // readable parsed-header field: off
  | "wfield" // writable metadata field: off
  | "table" // table id: off
  | "counter" // counter id: imm
  | "counterx" // counter base (imm) indexed by a register (slot b): c3[r4]
  | "const" // constant-pool index: imm
  | "kprefix" // constant-pool index (imm bits 0..15) and prefix length (bits 16..23): k2/64
  | "mem" // raw packet address [base + rb + imm]: base in off bits 0..3, bit 4 = indexed by slot b
  | "verdict"; // verdict encoding: imm (see verdicts.ts)

export type OpClass = "alu" | "load" | "jump" | "exit" | "counter" | "meta" | "table" | "sched";

/** Table kinds, as both the image and the lookup opcodes name them. */
export const TABLE_KINDS = ["exact", "lpm", "range", "ternary"] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

/** Bases a raw load can be relative to; a base whose header is absent makes the load fault. */
export const MEM_BASES = ["pkt", "l3", "l4", "payload"] as const;
export type MemBase = (typeof MEM_BASES)[number];
export const MEM_INDEXED = 0x10;

/** Condition of a conditional jump, evaluated on unsigned 64-bit values. */
export type JumpCond = "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "set";

/** Binary ALU operation on unsigned 64-bit values, wrapping. */
export type AluOp = "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" | "shl" | "shr";

export interface OpcodeSpec {
  readonly code: number;
  readonly mnemonic: string;
  readonly operands: readonly OperandKind[];
  readonly cls: OpClass;
  /** cycles the overlay core spends on the instruction (the timing model and the static bound use it) */
  readonly cycles: number;
  readonly meaning: string;
  readonly alu?: AluOp;
  readonly cond?: JumpCond;
  readonly memBytes?: 1 | 2 | 4;
  readonly tableKind?: TableKind;
  /** true when the instruction reads the parsed-header vector (so the VM must run the parser first) */
  readonly needsHeaders?: boolean;
}

const ALU_OPS: readonly [AluOp, string, string][] = [
  ["add", "+", "sum"],
  ["sub", "-", "difference"],
  ["mul", "*", "product"],
  ["div", "/", "quotient; a zero divisor ends the packet with a fault"],
  ["mod", "%", "remainder; a zero divisor ends the packet with a fault"],
  ["and", "&", "bitwise and"],
  ["or", "|", "bitwise or"],
  ["xor", "^", "bitwise exclusive or"],
  ["shl", "<<", "left shift; amounts ≥ 64 give 0"],
  ["shr", ">>", "logical right shift; amounts ≥ 64 give 0"],
];

const JUMPS: readonly [JumpCond, string][] = [
  ["eq", "=="],
  ["ne", "!="],
  ["gt", ">"],
  ["ge", ">="],
  ["lt", "<"],
  ["le", "<="],
  ["set", "&"],
];

function buildTable(): OpcodeSpec[] {
  const t: OpcodeSpec[] = [];
  t.push({ code: 0x10, mnemonic: "mov", operands: ["rd", "imm"], cls: "alu", cycles: 1, meaning: "rd = imm (zero-extended)" });
  t.push({ code: 0x11, mnemonic: "mov", operands: ["rd", "rs"], cls: "alu", cycles: 1, meaning: "rd = rs (register copy)" });
  ALU_OPS.forEach(([op, sym, what], i) => {
    t.push({ code: 0x20 + 2 * i, mnemonic: op, operands: ["rd", "rs", "imm"], cls: "alu", cycles: op === "div" || op === "mod" ? 4 : op === "mul" ? 2 : 1, meaning: `rd = rs ${sym} imm (${what})`, alu: op });
    t.push({ code: 0x21 + 2 * i, mnemonic: op, operands: ["rd", "rs", "rt"], cls: "alu", cycles: op === "div" || op === "mod" ? 4 : op === "mul" ? 2 : 1, meaning: `rd = rs ${sym} rt (${what})`, alu: op });
  });
  t.push({ code: 0x40, mnemonic: "ldf", operands: ["rd", "field"], cls: "load", cycles: 1, meaning: "rd = parsed-header field (fields of ≤ 64 bits)", needsHeaders: true });
  t.push({ code: 0x41, mnemonic: "ldb", operands: ["rd", "mem"], cls: "load", cycles: 2, meaning: "rd = packet byte at [base + index + imm]; out of the captured bytes ends the packet with a fault", memBytes: 1, needsHeaders: true });
  t.push({ code: 0x42, mnemonic: "ldh", operands: ["rd", "mem"], cls: "load", cycles: 2, meaning: "rd = big-endian 16-bit packet word at [base + index + imm], bounds-checked", memBytes: 2, needsHeaders: true });
  t.push({ code: 0x43, mnemonic: "ldw", operands: ["rd", "mem"], cls: "load", cycles: 2, meaning: "rd = big-endian 32-bit packet word at [base + index + imm], bounds-checked", memBytes: 4, needsHeaders: true });
  t.push({ code: 0x44, mnemonic: "ldk", operands: ["rd", "const"], cls: "load", cycles: 1, meaning: "rd = low 64 bits of a constant-pool entry" });
  t.push({ code: 0x45, mnemonic: "pfx", operands: ["rd", "field", "kprefix"], cls: "load", cycles: 1, meaning: "rd = 1 if the field's top prefix bits equal the constant's, else 0 (any field width, up to 128 bits)", needsHeaders: true });
  t.push({ code: 0x50, mnemonic: "ja", operands: ["target"], cls: "jump", cycles: 1, meaning: "jump forward unconditionally" });
  JUMPS.forEach(([cond, sym], i) => {
    const what = cond === "set" ? "(ra & x) != 0" : `ra ${sym} x`;
    t.push({ code: 0x51 + 2 * i, mnemonic: `j${cond}`, operands: ["ra", "imm", "target"], cls: "jump", cycles: 1, meaning: `jump forward if ${what.replace("x", "imm")} (unsigned)`, cond });
    t.push({ code: 0x52 + 2 * i, mnemonic: `j${cond}`, operands: ["ra", "rs", "target"], cls: "jump", cycles: 1, meaning: `jump forward if ${what.replace("x", "rs")} (unsigned)`, cond });
  });
  t.push({ code: 0x60, mnemonic: "exit", operands: ["verdict"], cls: "exit", cycles: 1, meaning: "end the packet with a verdict (accept, drop, queue N, reject …)" });
  t.push({ code: 0x61, mnemonic: "exit", operands: ["ra"], cls: "exit", cycles: 1, meaning: "end the packet with the verdict encoded in ra's low 32 bits; an invalid encoding faults" });
  t.push({ code: 0x68, mnemonic: "count", operands: ["counter", "ra"], cls: "counter", cycles: 2, meaning: "counter: packets += 1, bytes += ra" });
  t.push({ code: 0x69, mnemonic: "count", operands: ["counterx", "ra"], cls: "counter", cycles: 2, meaning: "counter base+index: packets += 1, bytes += ra; an index past the declared counters faults" });
  t.push({ code: 0x70, mnemonic: "stf", operands: ["wfield", "rs"], cls: "meta", cycles: 1, meaning: "writable metadata field = rs (truncated to the field width)" });
  t.push({ code: 0x71, mnemonic: "stf", operands: ["wfield", "imm"], cls: "meta", cycles: 1, meaning: "writable metadata field = imm (truncated to the field width)" });
  const lookupCycles: Record<TableKind, number> = { exact: 4, lpm: 6, range: 5, ternary: 3 };
  TABLE_KINDS.forEach((kind, i) => {
    t.push({ code: 0x80 + i, mnemonic: `lookup.${kind}`, operands: ["rd", "table"], cls: "table", cycles: lookupCycles[kind], meaning: `rd = value of the ${kind} table's matching entry for the key its declaration builds from header fields; ${LOOKUP_MISS_TEXT} on a miss`, tableKind: kind, needsHeaders: true });
  });
  t.push({ code: 0x90, mnemonic: "limit", operands: ["rd", "const"], cls: "meta", cycles: 3, meaning: "rd = 1 if the token bucket the constant describes has a token (taking it), else 0; constant bits 0..31 burst, 32..63 tokens per interval, 64..95 interval in ms, 96..127 bucket id (each bucket keeps its own state)" });
  // scheduler side (runtime/sched/README.md): state memory, queue model, flow hash. Queue numbers past the queue
  // memory read as empty queues, state indexes past the state memory read 0 and ignore stores: no fault, so a
  // scheduler program's worst case is its static cycle count.
  t.push({ code: 0xa0, mnemonic: "sld", operands: ["rd", "rs", "imm"], cls: "sched", cycles: 2, meaning: "rd = scheduler state word [rs + imm] (64-bit words, zero after a load; past the state memory reads 0)" });
  t.push({ code: 0xa1, mnemonic: "sst", operands: ["ra", "rs", "imm"], cls: "sched", cycles: 2, meaning: "scheduler state word [ra + imm] = rs (a store past the state memory is ignored)" });
  t.push({ code: 0xa2, mnemonic: "min", operands: ["rd", "rs", "rt"], cls: "sched", cycles: 1, meaning: "rd = the smaller of rs and rt (unsigned)" });
  t.push({ code: 0xa3, mnemonic: "max", operands: ["rd", "rs", "rt"], cls: "sched", cycles: 1, meaning: "rd = the larger of rs and rt (unsigned)" });
  t.push({ code: 0xa4, mnemonic: "qlen", operands: ["rd", "rs"], cls: "sched", cycles: 2, meaning: "rd = packets in queue rs of the queue model (0 for a queue past the queue memory)" });
  t.push({ code: 0xa5, mnemonic: "qbytes", operands: ["rd", "rs"], cls: "sched", cycles: 2, meaning: "rd = bytes (wire lengths) in queue rs" });
  t.push({ code: 0xa6, mnemonic: "qhead", operands: ["rd", "rs"], cls: "sched", cycles: 2, meaning: "rd = wire length of the packet at the head of queue rs (0 when the queue is empty)" });
  t.push({ code: 0xa7, mnemonic: "qtime", operands: ["rd", "rs"], cls: "sched", cycles: 2, meaning: "rd = enqueue time in ns of the packet at the head of queue rs (0 when the queue is empty)" });
  t.push({ code: 0xa8, mnemonic: "qdrop", operands: ["ra", "imm"], cls: "sched", cycles: 3, meaning: "drop the head (imm 0) or tail (imm 1) packet of queue ra, counted as a drop of that queue; nothing when it is empty" });
  t.push({ code: 0xa9, mnemonic: "qce", operands: ["rd", "rs"], cls: "sched", cycles: 2, meaning: "rd = 1 after marking the head packet of queue rs ECN CE when it is ECN-capable (ECT or CE), else 0" });
  t.push({ code: 0xaa, mnemonic: "qmaxb", operands: ["rd", "rs", "imm"], cls: "sched", cycles: 4, meaning: "rd = the queue among rs … rs + imm − 1 holding the most bytes (the lowest on ties, rs when all are empty)" });
  t.push({ code: 0xab, mnemonic: "qmaxp", operands: ["rd", "rs", "imm"], cls: "sched", cycles: 4, meaning: "rd = the queue among rs … rs + imm − 1 holding the most packets (the lowest on ties, rs when all are empty)" });
  t.push({ code: 0xac, mnemonic: "fhash", operands: ["rd", "rs"], cls: "sched", cycles: 4, meaning: "rd = 32-bit hash of the packet's flow (IP addresses, protocol, ports; 0 for non-IP) perturbed by rs", needsHeaders: true });
  return t;
}

/** What a table lookup leaves in its destination register on a miss. */
export const LOOKUP_MISS = 0xffff_ffff_ffff_ffffn;
const LOOKUP_MISS_TEXT = "all ones";

export const OPCODES: readonly OpcodeSpec[] = buildTable();

const byCode = new Map<number, OpcodeSpec>(OPCODES.map((o) => [o.code, o]));
const byMnemonic = new Map<string, OpcodeSpec[]>();
for (const o of OPCODES) {
  const list = byMnemonic.get(o.mnemonic) ?? [];
  list.push(o);
  byMnemonic.set(o.mnemonic, list);
}

export function opcodeByCode(code: number): OpcodeSpec | undefined {
  return byCode.get(code);
}

/** All encodings that share a mnemonic (e.g. `add` with a register or an immediate). */
export function opcodesByMnemonic(mnemonic: string): readonly OpcodeSpec[] {
  return byMnemonic.get(mnemonic) ?? [];
}

export const MNEMONICS: readonly string[] = [...byMnemonic.keys()];
