/**
 * What the JIT needs to know about a program before emitting code, computed without binaryen (so a refusal is
 * cheap and happens on the caller's thread): each instruction as a typed operation with the values the VM's
 * loader would predecode (pfx masks, stf masks, ldk constants, indexed-counter limits), which instructions are
 * reachable, which are jump targets (they become the ends of Wasm blocks), which raw loads still need their
 * bounds check, and the per-packet setup the interpreter would do (runtime/LAYOUT.md "Per-packet semantics").
 *
 * Driven by the opcode table's operand kinds and classes, never by opcode numbers: an opcode the JIT gives no
 * meaning to is refused with JitUnsupported naming the instruction.
 */
import { fieldById, FIELDS, jumpOffset, MEM_INDEXED, verify, type AluOp, type JumpCond, type OpcodeSpec, type ProgramImage, type RawInsn, type TableDecl, type TableKind, opcodeByCode, LIMITS } from "../../overlay-isa/index.js";
import { JitUnsupported } from "./errors.js";
import { numberValues } from "./values.js";

const ALL_ONES = (1n << 64n) - 1n;

export type PlannedOp =
  | { k: "movi"; rd: number; value: bigint }
  | { k: "movr"; rd: number; rs: number }
  | { k: "alu"; op: AluOp; rd: number; rs: number; rt?: number; imm?: bigint }
  | { k: "minmax"; op: "min" | "max"; rd: number; rs: number; rt: number }
  | { k: "ldf"; rd: number; slot: number }
  | { k: "pfx"; rd: number; hiSlot?: number; loSlot: number; maskHi: bigint; maskLo: bigint; valueHi: bigint; valueLo: bigint }
  /** raw load: [base + index + offset]; `check` false when every path here already proved the bytes captured */
  | { k: "ld"; rd: number; size: 1 | 2 | 4; base: number; index?: number; offset: number; check: boolean }
  | { k: "ja"; target: number }
  | { k: "jcc"; cond: JumpCond; ra: number; rs?: number; imm?: bigint; target: number }
  | { k: "exit"; verdict: number }
  | { k: "exitr"; ra: number }
  /** counter id (+ index register, valid while index < limit); bytes += ra */
  | { k: "count"; counter: number; ra: number; index?: number; limit: number }
  /** metadata slot = rs & mask, or = value */
  | { k: "stf"; slot: number; rs?: number; mask: bigint; value: bigint }
  | { k: "lookup"; rd: number; table: number }
  /** token bucket of instruction `insn` (the VM keeps the buckets: limitAt) */
  | { k: "limit"; rd: number; insn: number }
  /** scheduler instruction `insn` (state memory, queue model, flow hash: the VM keeps them, schedAt) on the
   *  values of registers x and y; rd gets the result */
  | { k: "sched"; insn: number; rd: number; x?: number; y?: number }
  /** a scheduler instruction with no result (sst, qdrop) */
  | { k: "schedx"; insn: number; x?: number; y?: number };

export interface PlannedInsn {
  readonly index: number;
  readonly op: PlannedOp;
  readonly cycles: number;
  /** false for code no path from the entry reaches (it is not emitted) */
  readonly reachable: boolean;
  /** true when the instruction can end the packet with a fault */
  readonly mayFault: boolean;
  /** read the result from this value local instead of computing it (values.ts) */
  readonly reuse?: number;
  /** also store the result in this value local: a later instruction reuses it */
  readonly keep?: number;
}

/** A table's key layout as the VM's loader lays it out (runtime/assembly/loader.ts): what inline lookups need. */
export interface PlannedTable {
  readonly kind: TableKind;
  readonly keyBits: number;
  /** key fields, most significant first: vector slot, width, bit position of the field's least significant bit */
  readonly fields: readonly { readonly slot: number; readonly bits: number; readonly pos: number }[];
}

export interface JitPlan {
  readonly insns: readonly PlannedInsn[];
  readonly tables: readonly PlannedTable[];
  /** instructions some reachable jump lands on (other than the next one), ascending */
  readonly targets: readonly number[];
  /** 0 no header field read, 1 packet metadata slots, 2 the parser runs per packet (the loader's rule) */
  readonly headerLevel: 0 | 1 | 2;
  /** the program writes meta.* fields: they are cleared per packet and the mark/class/prio/mirror results written */
  readonly writesMeta: boolean;
  readonly usesLookup: boolean;
  /** the program uses `limit`: every packet's time goes through the VM's side input (the loader's usesTime) */
  readonly usesTime: boolean;
  /** the program reads ct.state: the VM's flow table runs per packet (the loader's tracking) */
  readonly tracksFlows: boolean;
  /** the program uses scheduler instructions (the VM runs them: schedAt) */
  readonly usesSched: boolean;
  /** registers some path reads before writing (they start at 0 each packet, as in the interpreter) */
  readonly zeroRegisters: readonly number[];
  readonly counters: number;
  /** Wasm locals holding values that later instructions reuse */
  readonly valueLocals: number;
}

/** Bits [from, to) of a 64-bit word as a mask (the loader's bitRange). */
function bitRange(from: number, to: number): bigint {
  if (to <= from) return 0n;
  const w = to - from;
  return ((w >= 64 ? ALL_ONES : (1n << BigInt(w)) - 1n) << BigInt(from)) & ALL_ONES;
}

/** The key layout of a declared table: the last key field holds the least significant bits (the loader's rule). */
function planTable(t: TableDecl): PlannedTable {
  const keyBits = t.keyFields.reduce((n, f) => n + fieldById(f)!.bits, 0);
  let pos = keyBits;
  const fields = t.keyFields.map((id) => {
    const f = fieldById(id)!;
    pos -= f.bits;
    return { slot: f.slot, bits: f.bits, pos };
  });
  return { kind: t.kind, keyBits, fields };
}

/** The slot level reading field `id` requires (the loader's fieldLevel). */
function fieldLevel(id: number): 0 | 1 | 2 {
  const f = FIELDS[id]!;
  if (f.writable) return 0;
  return f.slot < fieldSlot("pkt.hdrs") ? 1 : 2;
}

function fieldSlot(name: string): number {
  const f = FIELDS.find((x) => x.name === name);
  if (!f) throw new Error(`internal: no field ${name}`);
  return f.slot;
}

function describe(spec: OpcodeSpec | undefined, insn: RawInsn): string {
  return spec ? `${spec.mnemonic} (opcode 0x${insn.op.toString(16).padStart(2, "0")})` : `opcode 0x${insn.op.toString(16).padStart(2, "0")}`;
}

/**
 * Whether the JIT translates an opcode. Scheduler-side instructions other than min/max (state memory, queue
 * model, flow hash) are not translated yet: a program using one is refused with JitUnsupported.
 */
export function jitTranslates(spec: OpcodeSpec): boolean {
  switch (spec.cls) {
    case "alu":
      return spec.mnemonic === "mov" || spec.alu !== undefined;
    case "load":
      return spec.memBytes !== undefined || spec.mnemonic === "ldf" || spec.mnemonic === "ldk" || spec.mnemonic === "pfx";
    case "jump":
      return spec.mnemonic === "ja" || spec.cond !== undefined;
    case "exit":
    case "counter":
      return true;
    case "meta":
      return spec.mnemonic === "stf" || spec.mnemonic === "limit";
    case "table":
      return spec.tableKind !== undefined;
    default:
      return spec.mnemonic === "min" || spec.mnemonic === "max";
  }
}

function planOp(image: ProgramImage, i: number, insn: RawInsn, spec: OpcodeSpec): PlannedOp {
  const ops = spec.operands;
  const has = (k: string) => ops.includes(k as never);
  const unsupported = (): never => {
    throw new JitUnsupported(`${describe(spec, insn)} is not translated by the JIT (${spec.cls} instructions other than those the data path uses)`, i);
  };
  if (!jitTranslates(spec)) unsupported();
  const target = () => i + 1 + jumpOffset(insn);
  switch (spec.cls) {
    case "alu":
      if (spec.mnemonic === "mov") return has("imm") ? { k: "movi", rd: insn.a, value: BigInt(insn.imm >>> 0) } : { k: "movr", rd: insn.a, rs: insn.b };
      if (!spec.alu) return unsupported();
      return has("rt") ? { k: "alu", op: spec.alu, rd: insn.a, rs: insn.b, rt: insn.off & 0xf } : { k: "alu", op: spec.alu, rd: insn.a, rs: insn.b, imm: BigInt(insn.imm >>> 0) };
    case "load": {
      if (spec.memBytes) {
        const indexed = (insn.off & MEM_INDEXED) !== 0;
        return { k: "ld", rd: insn.a, size: spec.memBytes, base: insn.off & 0xf, ...(indexed ? { index: insn.b } : {}), offset: insn.imm >>> 0, check: true };
      }
      if (spec.mnemonic === "ldf") return { k: "ldf", rd: insn.a, slot: fieldById(insn.off)!.slot };
      if (spec.mnemonic === "ldk") return { k: "movi", rd: insn.a, value: image.constants[insn.imm >>> 0]! & ALL_ONES };
      if (spec.mnemonic === "pfx") {
        const f = fieldById(insn.off)!;
        const prefix = (insn.imm >>> 16) & 0xff;
        const constant = image.constants[insn.imm & 0xffff]!;
        const from = f.bits - prefix;
        const maskLo = bitRange(Math.min(from, 64), Math.min(f.bits, 64));
        const maskHi = bitRange(from > 64 ? from - 64 : 0, f.bits > 64 ? f.bits - 64 : 0);
        const cHi = (constant >> 64n) & ALL_ONES;
        const cLo = constant & ALL_ONES;
        return {
          k: "pfx",
          rd: insn.a,
          ...(f.bits > 64 ? { hiSlot: f.slot } : {}),
          loSlot: f.bits > 64 ? f.slot + 1 : f.slot,
          maskHi,
          maskLo,
          valueHi: cHi & maskHi,
          valueLo: cLo & maskLo,
        };
      }
      return unsupported();
    }
    case "jump":
      if (spec.mnemonic === "ja") return { k: "ja", target: target() };
      if (!spec.cond) return unsupported();
      return has("rs") ? { k: "jcc", cond: spec.cond, ra: insn.a, rs: insn.b, target: target() } : { k: "jcc", cond: spec.cond, ra: insn.a, imm: BigInt(insn.imm >>> 0), target: target() };
    case "exit":
      return has("verdict") ? { k: "exit", verdict: insn.imm >>> 0 } : { k: "exitr", ra: insn.a };
    case "counter": {
      const base = insn.imm >>> 0;
      return has("counterx") ? { k: "count", counter: base, ra: insn.a, index: insn.b, limit: image.counters - base } : { k: "count", counter: base, ra: insn.a, limit: image.counters - base };
    }
    case "meta": {
      if (spec.mnemonic === "limit") return { k: "limit", rd: insn.a, insn: i };
      if (spec.mnemonic !== "stf") return unsupported();
      const f = fieldById(insn.off)!;
      const mask = f.bits >= 64 ? ALL_ONES : (1n << BigInt(f.bits)) - 1n;
      return has("rs") ? { k: "stf", slot: f.slot, rs: insn.b, mask, value: 0n } : { k: "stf", slot: f.slot, mask, value: BigInt(insn.imm >>> 0) & mask };
    }
    case "table":
      if (!spec.tableKind) return unsupported();
      return { k: "lookup", rd: insn.a, table: insn.off };
    case "sched": {
      // the VM runs the instruction (schedAt) on the source registers' values, in operand order
      const reads: number[] = [];
      ops.forEach((kind) => {
        if (kind === "ra") reads.push(insn.a);
        else if (kind === "rs") reads.push(insn.b);
        else if (kind === "rt") reads.push(insn.off & 0xf);
      });
      const sources = { ...(reads[0] !== undefined ? { x: reads[0] } : {}), ...(reads[1] !== undefined ? { y: reads[1] } : {}) };
      return has("rd") ? { k: "sched", insn: i, rd: insn.a, ...sources } : { k: "schedx", insn: i, ...sources };
    }
    default:
      if (spec.mnemonic === "min" || spec.mnemonic === "max") return { k: "minmax", op: spec.mnemonic, rd: insn.a, rs: insn.b, rt: insn.off & 0xf };
      return unsupported();
  }
}

function successors(op: PlannedOp, i: number): number[] {
  switch (op.k) {
    case "exit":
    case "exitr":
      return [];
    case "ja":
      return [op.target];
    case "jcc":
      return [i + 1, op.target];
    default:
      return [i + 1];
  }
}

function readsOf(op: PlannedOp): number[] {
  switch (op.k) {
    case "movr":
      return [op.rs];
    case "alu":
      return op.rt !== undefined ? [op.rs, op.rt] : [op.rs];
    case "minmax":
      return [op.rs, op.rt];
    case "ld":
      return op.index !== undefined ? [op.index] : [];
    case "jcc":
      return op.rs !== undefined ? [op.ra, op.rs] : [op.ra];
    case "exitr":
      return [op.ra];
    case "count":
      return op.index !== undefined ? [op.ra, op.index] : [op.ra];
    case "stf":
      return op.rs !== undefined ? [op.rs] : [];
    case "sched":
    case "schedx":
      return [op.x, op.y].filter((r): r is number => r !== undefined);
    default:
      return [];
  }
}

function writeOf(op: PlannedOp): number | undefined {
  return "rd" in op ? op.rd : undefined;
}

function mayFault(op: PlannedOp): boolean {
  switch (op.k) {
    case "alu":
      return (op.op === "div" || op.op === "mod") && (op.rt !== undefined || op.imm === 0n);
    case "ld":
      return op.check;
    case "exitr":
      return true;
    case "count":
      return op.index !== undefined;
    default:
      return false;
  }
}

/**
 * Plan the translation of a verified program. Throws JitUnsupported for a program that fails verification (the
 * JIT translates only what the verifier accepts) or uses an opcode the JIT gives no meaning to.
 */
export function planProgram(image: ProgramImage): JitPlan {
  const check = verify(image);
  if (!check.ok) {
    const first = check.errors[0]!;
    throw new JitUnsupported(`it fails verification (${first.message}${check.errors.length > 1 ? `, and ${check.errors.length - 1} more` : ""}); the JIT translates verified programs only`, first.index);
  }
  const n = image.code.length;
  const ops: PlannedOp[] = [];
  const specs: OpcodeSpec[] = [];
  let level: 0 | 1 | 2 = 0;
  let writesMeta = false;
  let usesLookup = false;
  let usesTime = false;
  let tracksFlows = false;
  let usesSched = false;
  const ctState = fieldSlot("ct.state");
  for (let i = 0; i < n; i++) {
    const insn = image.code[i]!;
    const spec = opcodeByCode(insn.op);
    if (!spec) throw new JitUnsupported(`${describe(spec, insn)} is not in the opcode table`, i);
    const op = planOp(image, i, insn, spec);
    ops.push(op);
    specs.push(spec);
    // the per-packet setup follows the loader, which looks at every instruction, reachable or not
    if (spec.operands.includes("wfield")) writesMeta = true;
    else if (spec.operands.includes("field")) {
      level = Math.max(level, fieldLevel(insn.off)) as 0 | 1 | 2;
      if (fieldById(insn.off)!.slot === ctState) tracksFlows = true;
    }
    if (op.k === "limit") usesTime = true;
    if (op.k === "sched" || op.k === "schedx") {
      usesSched = true;
      if (spec.needsHeaders) level = 2; // fhash reads the parsed flow (the loader's rule for header opcodes)
    }
    if (op.k === "lookup") {
      usesLookup = true;
      for (const f of image.tables[op.table]!.keyFields) level = Math.max(level, fieldLevel(f)) as 0 | 1 | 2;
    }
    if (op.k === "ld" && op.base !== 0) level = 2;
  }

  // reachability, definitely-written registers, and the captured length every path has proved
  const reachable = new Uint8Array(n);
  const written = new Int32Array(n).fill(-1);
  const proven = new Float64Array(n).fill(-1);
  reachable[0] = 1;
  written[0] = 0;
  proven[0] = 0;
  const zero = new Set<number>();
  const targetSet = new Set<number>();
  const planned: PlannedInsn[] = [];
  for (let i = 0; i < n; i++) {
    let op = ops[i]!;
    if (!reachable[i]) {
      planned.push({ index: i, op, cycles: specs[i]!.cycles, reachable: false, mayFault: false });
      continue;
    }
    const have = written[i]!;
    for (const r of readsOf(op)) if ((have & (1 << r)) === 0) zero.add(r);
    const w = writeOf(op);
    const out = w === undefined ? have : have | (1 << w);
    let provenOut = proven[i]!;
    if (op.k === "ld") {
      // a load that succeeds proves offset + size ≤ caplen whatever its base and index (they only add)
      const end = op.offset + op.size;
      const needed = op.base !== 0 || op.index !== undefined || end > provenOut;
      op = { ...op, check: needed };
      provenOut = Math.max(provenOut, end);
    }
    for (const s of successors(op, i)) {
      if (s !== i + 1) targetSet.add(s);
      reachable[s] = 1;
      written[s] = written[s] === -1 ? out : written[s]! & out;
      proven[s] = proven[s] === -1 ? provenOut : Math.min(proven[s]!, provenOut);
    }
    planned.push({ index: i, op, cycles: specs[i]!.cycles, reachable: true, mayFault: mayFault(op) });
  }
  const storedSlots = new Set(planned.flatMap((p) => (p.op.k === "stf" ? [p.op.slot] : [])));
  const values = numberValues(planned.map((p) => p.op), reachable, (i) => successors(planned[i]!.op, i), (slot) => !storedSlots.has(slot), LIMITS.registers);
  const insns = planned.map((p, i): PlannedInsn => {
    const reuse = values.reuse[i];
    const keep = values.keep[i];
    if (reuse !== undefined) return { ...p, reuse, mayFault: false };
    return keep !== undefined ? { ...p, keep } : p;
  });
  return {
    insns,
    tables: image.tables.map(planTable),
    targets: [...targetSet].sort((a, b) => a - b),
    headerLevel: level,
    writesMeta,
    usesLookup,
    usesTime,
    tracksFlows,
    usesSched,
    zeroRegisters: [...zero].sort((a, b) => a - b),
    counters: image.counters,
    valueLocals: values.locals,
  };
}

/** Registers the overlay has (locals of the emitted function). */
export const REGISTER_COUNT = LIMITS.registers;
