/**
 * Emits a planned overlay program as one WebAssembly function with binaryen.js. The function imports the VM's
 * memory (zero copy), runs a whole batch per call with the interpreter's descriptors and result arrays
 * (runtime/LAYOUT.md), and reproduces the interpreter packet for packet: verdict, fault flag, metadata results,
 * counters and, in the cycle-counting variant, cycles.
 *
 * Code shape: overlay registers are i64 locals; the forward-only DAG becomes nested blocks, one per jump target,
 * all opened at the top so that a jump to instruction t is `br $Lt` to the end of the block that ends right
 * before t; exits set the verdict and `br $done`; faults `br $fault`. No binaryen optimisation pass runs: the
 * code is emitted in the shape V8 compiles well (toolchain note: optimize() cost seconds and bought nothing).
 *
 * This module loads binaryen (15 MB, ~0.7 s), so only the compile worker imports it.
 */
import binaryen from "binaryen";
import { FIELDS, LIMITS, REJECT_HOW, VERDICT_KIND, type JumpCond } from "../../overlay-isa/index.js";
import { inlinesLookup, LookupEmitter, type LookupLocals } from "./emit-lookup.js";
import type { JitPlan, PlannedInsn, PlannedOp } from "./plan.js";

/** Fixed addresses of the VM build the code is emitted for (runtime/assembly/memory-map.ts). */
export interface VmLayout {
  /** parsed-header vector */
  vector: number;
  /** raw-load bases (u64 per base) */
  bases: number;
}

export interface TranslateOptions {
  /** count cycles (a separate variant: the common case pays nothing for it) */
  cycles: boolean;
}

/** The batch function's parameters, in order (the runner passes them positionally). */
export const RUN_PARAMS = ["count", "linktype", "desc", "frames", "resVerdict", "resFault", "resCycles", "resMark", "resClass", "resPrio", "resMirror", "ctrPackets", "ctrBytes"] as const;

const P = Object.fromEntries(RUN_PARAMS.map((name, i) => [name, i])) as Record<(typeof RUN_PARAMS)[number], number>;
// locals after the parameters
const L_I = RUN_PARAMS.length;
const L_D = L_I + 1;
const L_FRAME = L_I + 2;
const L_CAP = L_I + 3;
const L_VERDICT = L_I + 4;
const L_FAULT = L_I + 5;
const L_CYC = L_I + 6;
const L_WIRE = L_I + 7;
const L_T32 = L_I + 8;
const L_T64 = L_I + 9;
const L_REG0 = L_I + 10;
const L_VAL0 = L_REG0 + LIMITS.registers; // value locals (values.ts), after the registers
const I32_LOCALS = 9; // i … t32
const I64_LOCALS = 1 + LIMITS.registers; // t64, r0..r15

const ALL_ONES = (1n << 64n) - 1n;

function slotOf(name: string): number {
  return FIELDS.find((f) => f.name === name)!.slot;
}

const WRITABLE_SLOTS = FIELDS.filter((f) => f.writable).map((f) => f.slot);
const META_RESULTS = { mark: slotOf("meta.mark"), class: slotOf("meta.class"), prio: slotOf("meta.prio"), mirror: slotOf("meta.mirror") };
const PKT_SLOTS = { len: slotOf("pkt.len"), caplen: slotOf("pkt.caplen"), port: slotOf("pkt.port"), dir: slotOf("pkt.dir"), linktype: slotOf("pkt.linktype") };

/** Inline lookups' locals (emit-lookup.ts), after the value locals: the descriptors' address and 8 more i32,
 *  then 6 × i64. */
const LOOKUP_I32_LOCALS = 9;
const LOOKUP_I64_LOCALS = 6;
function lookupLocals(first: number): LookupLocals & { descriptors: number } {
  const i64 = first + LOOKUP_I32_LOCALS;
  return {
    descriptors: first, index: first + 1, base: first + 2, mask: first + 3, prints: first + 4, slot: first + 5, aux: first + 6, ordinal: first + 7, length: first + 8,
    key: i64, masked: i64 + 1, hash: i64 + 2, printBytes: i64 + 3, group: i64 + 4, candidates: i64 + 5,
  };
}

class Emitter {
  readonly m = new binaryen.Module();
  private pending = 0;
  private readonly lookups: LookupEmitter;
  private readonly lookupLocals: ReturnType<typeof lookupLocals>;
  /** the program has a lookup the JIT does inline (the module then imports the descriptors' address) */
  private readonly inlineLookups: boolean;
  /**
   * pkt.len … pkt.linktype are read from the descriptor instead of the vector: for a program that reads only
   * them (level 1) and calls nothing that reads the vector (no lookup, no side input), the slot stores the
   * interpreter makes per packet are unobservable, so they are skipped.
   */
  private readonly pktInLocals: boolean;

  constructor(
    private readonly plan: JitPlan,
    private readonly layout: VmLayout,
    private readonly withCycles: boolean,
  ) {
    this.pktInLocals = plan.headerLevel === 1 && !plan.usesLookup && !plan.usesTime;
    this.lookupLocals = lookupLocals(L_VAL0 + plan.valueLocals);
    this.lookups = new LookupEmitter(this.m, this.lookupLocals, (slot) => this.slotAddress(slot), () => this.local(this.lookupLocals.descriptors));
    this.inlineLookups = plan.insns.some((p) => p.reachable && p.op.k === "lookup" && inlinesLookup(plan.tables[p.op.table]!));
  }

  private get i32() {
    return this.m.i32;
  }
  private get i64() {
    return this.m.i64;
  }
  private local(i: number, type: number = binaryen.i32): number {
    return this.m.local.get(i, type);
  }
  private reg(r: number): number {
    return this.m.local.get(L_REG0 + r, binaryen.i64);
  }
  private setReg(r: number, value: number): number {
    return this.m.local.set(L_REG0 + r, value);
  }
  /** The instruction being emitted (for its value local). */
  private current: PlannedInsn | undefined;
  /** rd = a computed value, also kept in a value local when a later instruction reuses it. */
  private setValue(r: number, value: number): number {
    const keep = this.current?.keep;
    return this.setReg(r, keep === undefined ? value : this.m.local.tee(L_VAL0 + keep, value, binaryen.i64));
  }
  private k64(v: bigint): number {
    return this.i64.const(BigInt.asIntN(64, v));
  }
  private slotAddress(slot: number): number {
    return this.layout.vector + slot * 8;
  }
  private loadSlot(slot: number): number {
    return this.i64.load(this.slotAddress(slot), 8, this.i32.const(0));
  }
  /** The value of a vector slot a program reads (ldf, pfx). */
  private readSlot(slot: number): number {
    if (this.pktInLocals) {
      const { i64 } = this;
      switch (slot) {
        case PKT_SLOTS.len:
          return i64.extend_u(this.local(L_WIRE));
        case PKT_SLOTS.caplen:
          return i64.extend_u(this.local(L_CAP));
        case PKT_SLOTS.port:
          return i64.load16_u(12, 2, this.local(L_D));
        case PKT_SLOTS.dir:
          return i64.load8_u(14, 1, this.local(L_D));
        case PKT_SLOTS.linktype:
          return i64.extend_u(this.local(P.linktype));
      }
    }
    return this.loadSlot(slot);
  }
  private storeSlot(slot: number, value: number): number {
    return this.i64.store(this.slotAddress(slot), 8, this.i32.const(0), value);
  }

  /** Add the cycles counted since the last flush, plus `extra`, to the packet's cycle count. */
  private flush(out: number[], extra: number): void {
    const total = this.pending + extra;
    this.pending = 0;
    if (this.withCycles && total > 0) out.push(this.m.local.set(L_CYC, this.i32.add(this.local(L_CYC), this.i32.const(total))));
  }

  private fault(condition?: number): number {
    return this.m.br("fault", condition);
  }

  private compare(cond: JumpCond, a: number, b: number): number {
    const i64 = this.i64;
    switch (cond) {
      case "eq":
        return i64.eq(a, b);
      case "ne":
        return i64.ne(a, b);
      case "gt":
        return i64.gt_u(a, b);
      case "ge":
        return i64.ge_u(a, b);
      case "lt":
        return i64.lt_u(a, b);
      case "le":
        return i64.le_u(a, b);
      case "set":
        return i64.ne(i64.and(a, b), this.k64(0n));
    }
  }

  /** Big-endian value of `size` bytes at ptr + offset, as i64. */
  private loadBigEndian(size: 1 | 2 | 4, offset: number, ptr: number): number {
    const i32 = this.i32;
    if (size === 1) return this.i64.load8_u(offset, 1, ptr);
    if (size === 2) {
      const x = this.m.local.tee(L_T32, i32.load16_u(offset, 1, ptr), binaryen.i32);
      return this.i64.extend_u(i32.and(i32.or(i32.shl(x, i32.const(8)), i32.shr_u(this.local(L_T32), i32.const(8))), i32.const(0xffff)));
    }
    const x = this.m.local.tee(L_T32, i32.load(offset, 1, ptr), binaryen.i32);
    const swapped = i32.or(i32.rotl(i32.and(x, i32.const(0xff00ff00 | 0)), i32.const(8)), i32.rotr(i32.and(this.local(L_T32), i32.const(0x00ff00ff)), i32.const(8)));
    return this.i64.extend_u(swapped);
  }

  private emitLoad(op: Extract<PlannedOp, { k: "ld" }>, cycles: number, out: number[]): void {
    const { i32, i64 } = this;
    const cap64 = () => i64.extend_u(this.local(L_CAP));
    const end = op.offset + op.size;
    if (op.base === 0 && op.index === undefined) {
      if (op.check) {
        this.flush(out, cycles);
        if (end > 0xffffffff) {
          out.push(this.fault());
          return;
        }
        out.push(this.fault(i32.lt_u(this.local(L_CAP), i32.const(end | 0))));
      } else {
        this.pending += cycles;
      }
      out.push(this.setValue(op.rd, this.loadBigEndian(op.size, op.offset, this.local(L_FRAME))));
      return;
    }
    this.flush(out, cycles);
    if (op.base === 0) {
      // [pkt + rI + offset]: an index ≥ 2^32 faults whatever the rest (and keeps the sum from wrapping)
      const idx = () => this.reg(op.index!);
      out.push(this.fault(i32.or(i64.gt_u(idx(), this.k64(0xffffffffn)), i64.gt_u(i64.add(idx(), this.k64(BigInt(end))), cap64()))));
      out.push(this.setValue(op.rd, this.loadBigEndian(op.size, op.offset, i32.add(this.local(L_FRAME), i32.wrap(idx())))));
      return;
    }
    // [l3/l4/payload + rI + offset]: the base is the parser's (2^40 when the header is absent, which faults)
    let address = i64.add(i64.load(this.layout.bases + op.base * 8, 8, i32.const(0)), this.k64(BigInt(op.offset)));
    if (op.index !== undefined) address = i64.add(address, this.reg(op.index));
    let bad = i64.gt_u(i64.add(this.m.local.tee(L_T64, address, binaryen.i64), this.k64(BigInt(op.size))), cap64());
    if (op.index !== undefined) bad = i32.or(i64.gt_u(this.reg(op.index), this.k64(0xffffffffn)), bad);
    out.push(this.fault(bad));
    out.push(this.setValue(op.rd, this.loadBigEndian(op.size, 0, i32.add(this.local(L_FRAME), i32.wrap(this.local(L_T64, binaryen.i64))))));
  }

  private emitAlu(op: Extract<PlannedOp, { k: "alu" }>, cycles: number, out: number[]): void {
    const i64 = this.i64;
    const a = this.reg(op.rs);
    const b = () => (op.rt !== undefined ? this.reg(op.rt) : this.k64(op.imm!));
    switch (op.op) {
      case "add":
        out.push(this.setValue(op.rd, i64.add(a, b())));
        break;
      case "sub":
        out.push(this.setValue(op.rd, i64.sub(a, b())));
        break;
      case "mul":
        out.push(this.setValue(op.rd, i64.mul(a, b())));
        break;
      case "and":
        out.push(this.setValue(op.rd, i64.and(a, b())));
        break;
      case "or":
        out.push(this.setValue(op.rd, i64.or(a, b())));
        break;
      case "xor":
        out.push(this.setValue(op.rd, i64.xor(a, b())));
        break;
      case "div":
      case "mod": {
        const apply = (x: number, y: number) => (op.op === "div" ? i64.div_u(x, y) : i64.rem_u(x, y));
        if (op.rt === undefined) {
          if (op.imm === 0n) {
            this.flush(out, cycles);
            out.push(this.fault());
            return;
          }
          out.push(this.setValue(op.rd, apply(a, b())));
          break;
        }
        this.flush(out, cycles);
        out.push(this.fault(i64.eqz(this.reg(op.rt))));
        out.push(this.setValue(op.rd, apply(a, b())));
        return;
      }
      case "shl":
      case "shr": {
        const shift = (x: number, y: number) => (op.op === "shl" ? i64.shl(x, y) : i64.shr_u(x, y));
        if (op.rt === undefined) out.push(this.setValue(op.rd, op.imm! >= 64n ? this.k64(0n) : shift(a, b())));
        else out.push(this.setValue(op.rd, this.m.select(i64.ge_u(this.reg(op.rt), this.k64(64n)), this.k64(0n), shift(a, b()))));
        break;
      }
    }
    this.pending += cycles;
  }

  private emitCount(op: Extract<PlannedOp, { k: "count" }>, cycles: number, out: number[]): void {
    const { i32, i64 } = this;
    const offset = op.counter * 8;
    if (op.index === undefined) {
      this.pending += cycles;
    } else {
      this.flush(out, cycles);
      out.push(this.fault(i64.ge_u(this.reg(op.index), this.k64(BigInt(op.limit)))));
      out.push(this.m.local.set(L_T32, i32.shl(i32.wrap(this.reg(op.index)), i32.const(3))));
    }
    // packets[c] += 1, bytes[c] += ra; an indexed counter adds index × 8 to both array bases
    const base = (array: number) => (op.index === undefined ? this.local(array) : i32.add(this.local(array), this.local(L_T32)));
    out.push(i64.store(offset, 8, base(P.ctrPackets), i64.add(i64.load(offset, 8, base(P.ctrPackets)), this.k64(1n))));
    out.push(i64.store(offset, 8, base(P.ctrBytes), i64.add(i64.load(offset, 8, base(P.ctrBytes)), this.reg(op.ra))));
  }

  private emitInsn(p: PlannedInsn, out: number[]): void {
    const { i32, i64, m } = this;
    const op = p.op;
    this.current = p;
    if (p.reuse !== undefined && "rd" in op) {
      // a value every path here already computed (values.ts): no load, no check, no fault
      out.push(this.setReg(op.rd, m.local.get(L_VAL0 + p.reuse, binaryen.i64)));
      this.pending += p.cycles;
      return;
    }
    switch (op.k) {
      case "movi":
        out.push(this.setReg(op.rd, this.k64(op.value)));
        break;
      case "movr":
        out.push(this.setReg(op.rd, this.reg(op.rs)));
        break;
      case "alu":
        this.emitAlu(op, p.cycles, out);
        return;
      case "ldf":
        out.push(this.setValue(op.rd, this.readSlot(op.slot)));
        break;
      case "minmax": {
        const a = this.reg(op.rs);
        const b = this.reg(op.rt);
        const aWins = op.op === "min" ? i64.le_u(this.reg(op.rs), this.reg(op.rt)) : i64.ge_u(this.reg(op.rs), this.reg(op.rt));
        out.push(this.setValue(op.rd, m.select(aWins, a, b)));
        break;
      }
      case "pfx": {
        let hit = i64.eq(i64.and(this.readSlot(op.loSlot), this.k64(op.maskLo)), this.k64(op.valueLo));
        if (op.hiSlot !== undefined) hit = i32.and(i64.eq(i64.and(this.readSlot(op.hiSlot), this.k64(op.maskHi)), this.k64(op.valueHi)), hit);
        out.push(this.setValue(op.rd, i64.extend_u(hit)));
        break;
      }
      case "ld":
        this.emitLoad(op, p.cycles, out);
        return;
      case "ja":
        this.flush(out, p.cycles);
        if (op.target !== p.index + 1) out.push(m.br(`L${op.target}`));
        return;
      case "jcc": {
        const holds = () => this.compare(op.cond, this.reg(op.ra), op.rs !== undefined ? this.reg(op.rs) : this.k64(op.imm!));
        // a jump between two exits (the last test of most filters) picks the verdict with a select: no branch
        // on the packet's data for the processor to mispredict
        const taken = this.plan.insns[op.target]!.op;
        const next = this.plan.insns[p.index + 1]?.op;
        if (taken.k === "exit" && next?.k === "exit" && this.plan.insns[op.target]!.cycles === this.plan.insns[p.index + 1]!.cycles) {
          this.flush(out, p.cycles + this.plan.insns[op.target]!.cycles);
          out.push(m.local.set(L_VERDICT, m.select(holds(), i32.const(taken.verdict | 0), i32.const(next.verdict | 0))), m.br("done"));
          return;
        }
        this.flush(out, p.cycles);
        if (op.target !== p.index + 1) out.push(m.br(`L${op.target}`, holds()));
        return;
      }
      case "exit":
        this.flush(out, p.cycles);
        out.push(m.local.set(L_VERDICT, i32.const(op.verdict | 0)), m.br("done"));
        return;
      case "exitr":
        this.flush(out, p.cycles);
        out.push(m.local.set(L_VERDICT, i32.wrap(this.reg(op.ra))));
        out.push(this.fault(i32.eqz(m.call("validVerdict", [this.local(L_VERDICT)], binaryen.i32))));
        out.push(m.br("done"));
        return;
      case "count":
        this.emitCount(op, p.cycles, out);
        return;
      case "stf":
        out.push(this.storeSlot(op.slot, op.rs !== undefined ? i64.and(this.reg(op.rs), this.k64(op.mask)) : this.k64(op.value)));
        break;
      case "lookup": {
        const table = this.plan.tables[op.table]!;
        if (inlinesLookup(table)) out.push(this.lookups.emit(table, op.table, String(p.index), (v) => this.setReg(op.rd, v)));
        else out.push(this.setReg(op.rd, m.call("lookup", [i32.const(op.table)], binaryen.i64)));
        break;
      }
      case "limit":
        out.push(this.setReg(op.rd, m.call("limitAt", [i32.const(op.insn)], binaryen.i64)));
        break;
      case "sched":
      case "schedx": {
        const value = m.call("schedAt", [i32.const(op.insn), op.x !== undefined ? this.reg(op.x) : this.k64(0n), op.y !== undefined ? this.reg(op.y) : this.k64(0n)], binaryen.i64);
        out.push(op.k === "sched" ? this.setReg(op.rd, value) : m.drop(value));
        break;
      }
    }
    this.pending += p.cycles;
  }

  /** The program body: nested blocks, one per jump target, innermost first. */
  private body(): number {
    const { m } = this;
    const plan = this.plan;
    const bounds = [...plan.targets, plan.insns.length];
    let current: number[] = [];
    let start = 0;
    let block: number | undefined;
    for (const end of bounds) {
      const segment: number[] = block === undefined ? [] : [block];
      for (let i = start; i < end; i++) {
        const p = plan.insns[i]!;
        if (p.reachable) this.emitInsn(p, segment);
      }
      // a block boundary: everything counted so far belongs to the paths that fall through into it
      this.flush(segment, 0);
      if (end === plan.insns.length) current = segment;
      else block = m.block(`L${end}`, segment, binaryen.none);
      start = end;
    }
    return m.block(null, current, binaryen.none);
  }

  /** `exit ra`'s check: the word is a valid verdict encoding (overlay-isa/verdicts.ts, runtime/assembly/verdict.ts). */
  private addVerdictCheck(): void {
    const { m, i32 } = this;
    const w = () => m.local.get(0, binaryen.i32);
    const kind = () => i32.and(w(), i32.const(0xff));
    const arg = () => i32.shr_u(w(), i32.const(8));
    const how = () => i32.and(arg(), i32.const(0xff));
    const body = m.block(null, [
      m.if(i32.or(i32.eq(kind(), i32.const(VERDICT_KIND.drop)), i32.eq(kind(), i32.const(VERDICT_KIND.accept))), m.return(i32.eqz(arg()))),
      m.if(i32.eq(kind(), i32.const(VERDICT_KIND.queue)), m.return(i32.lt_u(arg(), i32.const(LIMITS.queues)))),
      m.if(
        i32.eq(kind(), i32.const(VERDICT_KIND.reject)),
        m.block(null, [
          m.if(i32.or(i32.eq(how(), i32.const(REJECT_HOW.icmp)), i32.eq(how(), i32.const(REJECT_HOW.icmpv6))), m.return(i32.const(1))),
          m.return(i32.and(i32.lt_u(how(), i32.const(2)), i32.eqz(i32.shr_u(w(), i32.const(16))))),
        ]),
      ),
      m.return(i32.const(0)),
    ]);
    m.addFunction("validVerdict", binaryen.i32, binaryen.i32, [], body);
  }

  /** Per-packet setup, program, and result stores, in a loop over the batch. */
  build(): Uint8Array {
    const { m, i32, i64 } = this;
    const plan = this.plan;
    m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt);
    m.setMemory(1, -1, null, [], false, false, "mem");
    m.addMemoryImport("mem", "env", "memory");
    if (plan.headerLevel === 2) m.addFunctionImport("parseFrame", "vm", "parseFrame", binaryen.createType([binaryen.i32, binaryen.i32, binaryen.i32, binaryen.i32]), binaryen.none);
    if (plan.usesLookup) m.addFunctionImport("lookup", "vm", "lookup", binaryen.i32, binaryen.i64);
    // the descriptors' address, which the runner sets before each batch (it moves when a program is loaded)
    if (this.inlineLookups) m.addGlobalImport("tables", "vm", "tables", binaryen.i32, true);
    const sideInput = plan.headerLevel === 2 || plan.usesTime;
    if (sideInput) m.addFunctionImport("packetSideInput", "vm", "packetSideInput", binaryen.createType([binaryen.i32, binaryen.i32, binaryen.i32, binaryen.i32]), binaryen.none);
    if (plan.tracksFlows) m.addFunctionImport("packetDone", "vm", "packetDone", binaryen.i32, binaryen.none);
    if (plan.usesTime) m.addFunctionImport("limitAt", "vm", "limitAt", binaryen.i32, binaryen.i64);
    if (plan.usesSched) m.addFunctionImport("schedAt", "vm", "schedAt", binaryen.createType([binaryen.i32, binaryen.i64, binaryen.i64]), binaryen.i64);
    if (plan.insns.some((p) => p.reachable && p.op.k === "exitr")) this.addVerdictCheck();

    const setup: number[] = [];
    const get = (i: number) => this.local(i);
    setup.push(m.local.set(L_D, i32.add(get(P.desc), i32.shl(get(L_I), i32.const(4)))));
    setup.push(m.local.set(L_FRAME, i32.add(get(P.frames), i32.load(0, 4, get(L_D)))));
    setup.push(m.local.set(L_CAP, i32.load(4, 4, get(L_D))));
    setup.push(m.local.set(L_FAULT, i32.const(0)));
    if (this.withCycles) setup.push(m.local.set(L_CYC, i32.const(0)));
    for (const r of plan.zeroRegisters) setup.push(this.setReg(r, this.k64(0n)));
    if (plan.writesMeta) for (const s of WRITABLE_SLOTS) setup.push(this.storeSlot(s, this.k64(0n)));
    if (plan.headerLevel >= 1) setup.push(m.local.set(L_WIRE, i32.load(8, 4, get(L_D))));
    if (plan.headerLevel >= 1 && !this.pktInLocals) {
      setup.push(this.storeSlot(PKT_SLOTS.len, i64.extend_u(get(L_WIRE))));
      setup.push(this.storeSlot(PKT_SLOTS.caplen, i64.extend_u(get(L_CAP))));
      setup.push(this.storeSlot(PKT_SLOTS.port, i64.load16_u(12, 2, get(L_D))));
      setup.push(this.storeSlot(PKT_SLOTS.dir, i64.load8_u(14, 1, get(L_D))));
      setup.push(this.storeSlot(PKT_SLOTS.linktype, i64.extend_u(get(P.linktype))));
    }
    if (plan.headerLevel === 2) setup.push(m.call("parseFrame", [get(L_FRAME), get(L_CAP), get(L_WIRE), get(P.linktype)], binaryen.none));
    // time, owner.* and ct.state from the VM's side input and flow table
    if (sideInput) setup.push(m.call("packetSideInput", [get(L_I), get(L_FRAME), get(L_CAP), i32.const(plan.headerLevel)], binaryen.none));

    const program = this.body();
    const faultBlock = m.block("fault", [...setup, program], binaryen.none);
    const doneBlock = m.block("done", [faultBlock, m.local.set(L_VERDICT, i32.const(0)), m.local.set(L_FAULT, i32.const(1))], binaryen.none);

    const o = () => i32.shl(get(L_I), i32.const(2));
    const results: number[] = [];
    if (plan.tracksFlows) results.push(m.call("packetDone", [get(L_VERDICT)], binaryen.none));
    results.push(
      i32.store(0, 4, i32.add(get(P.resVerdict), o()), get(L_VERDICT)),
      i32.store8(0, 1, i32.add(get(P.resFault), get(L_I)), get(L_FAULT)),
    );
    if (this.withCycles) results.push(i32.store(0, 4, i32.add(get(P.resCycles), o()), get(L_CYC)));
    if (plan.writesMeta) {
      results.push(i32.store(0, 4, i32.add(get(P.resMark), o()), i32.wrap(this.loadSlot(META_RESULTS.mark))));
      results.push(i32.store(0, 4, i32.add(get(P.resClass), o()), i32.wrap(this.loadSlot(META_RESULTS.class))));
      results.push(i32.store(0, 4, i32.add(get(P.resPrio), o()), i32.wrap(this.loadSlot(META_RESULTS.prio))));
      results.push(i32.store8(0, 1, i32.add(get(P.resMirror), get(L_I)), i32.wrap(this.loadSlot(META_RESULTS.mirror))));
    }
    const step = m.local.set(L_I, i32.add(get(L_I), i32.const(1)));
    const loop = m.loop("next", m.block(null, [doneBlock, ...results, step, m.br("next", i32.lt_u(get(L_I), get(P.count)))]));
    const start = this.inlineLookups ? [m.local.set(this.lookupLocals.descriptors, m.global.get("tables", binaryen.i32))] : [];
    const fn = m.block(null, [m.if(i32.eqz(get(P.count)), m.return()), m.local.set(L_I, i32.const(0)), ...start, loop]);

    const params = binaryen.createType(RUN_PARAMS.map(() => binaryen.i32));
    const vars = [
      ...new Array<number>(I32_LOCALS).fill(binaryen.i32),
      ...new Array<number>(I64_LOCALS + plan.valueLocals).fill(binaryen.i64),
      ...new Array<number>(LOOKUP_I32_LOCALS).fill(binaryen.i32),
      ...new Array<number>(LOOKUP_I64_LOCALS).fill(binaryen.i64),
    ];
    m.addFunction("run", params, binaryen.none, vars, fn);
    m.addFunctionExport("run", "run");
    if (!m.validate()) throw new Error("internal: the JIT emitted an invalid module");
    return new Uint8Array(m.emitBinary());
  }

  dispose(): void {
    this.m.dispose();
  }
}

/** Translate a planned program to the bytes of a Wasm module exporting `run(…RUN_PARAMS)`. */
export function translate(plan: JitPlan, layout: VmLayout, options: TranslateOptions): Uint8Array {
  const e = new Emitter(plan, layout, options.cycles);
  try {
    return e.build();
  } finally {
    e.dispose();
  }
}
