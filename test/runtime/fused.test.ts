/**
 * The interpreter's load-time superinstructions (runtime/assembly/fuse.ts) and register analysis (liveness.ts)
 * never change an answer: programs built from exactly the sequences the loader fuses — a raw load or `and` or
 * `ldf` and the conditional jump on its result, chains of `jeq` on one register and target (with `ja` between
 * elements, repeated values and jumps into the middle), a masked load and a jump (`net 10.0.0.0/8`),
 * `4 * (pkt[k] & 0xf)` — run on the interpreter give the
 * verdicts, faults, cycles and metadata the JIT gives (it translates the image itself, no fused records), with
 * registers made observable through `stf`. Frames draw their bytes from the values the programs compare with, so
 * every branch is taken both ways, and many are short enough for loads to fault.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, verify } from "../../overlay-isa/index.js";
import { createJitRunner, stopJitCompiler } from "../../runtime/jit/index.js";
import { OverlayVM, type BatchResult } from "../../runtime/vm.js";

let interp: OverlayVM;
let jit: OverlayVM;

beforeAll(() => {
  interp = OverlayVM.createSync();
  jit = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

const BYTES = [0, 1, 2, 0x45, 0x80, 0xff];
const IMMS = [0, 1, 2, 0x45, 0x80, 0xff, 0x100, 0x102, 0x4500, 0x45ff, 0xffff, 0x01020045, 0xffffffff, 60, 64];
const CONDS = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jset"];
const LOADS = ["ldb", "ldh", "ldw"];
const EXITS = ["exit accept", "exit drop", "exit queue 3", "exit reject"];

/** One piece of a program; `label` marks its first instruction, targets name later pieces or the exits. */
type Piece =
  | { k: "ld"; op: string; rd: number; index?: number; off: number; cond: string; imm: number; to: number }
  | { k: "and"; rd: number; rs: number; mask: number; cond: string; imm: number; to: number }
  | { k: "ldand"; op: string; rd: number; off: number; mask: number; cond: string; imm: number; values: number[]; to: number }
  | { k: "ldf"; rd: number; field: string; cond: string; imm: number; to: number }
  | { k: "chain"; load?: { op: string; off: number; index?: number }; rd: number; values: number[]; hops: boolean[]; to: number }
  | { k: "msh"; ra: number; rb: number; rc: number; off: number; shift: number }
  | { k: "observe"; r: number; field: string }
  | { k: "exit"; verdict: string };

const reg = fc.integer({ min: 0, max: 7 });
const imm = fc.oneof(fc.constantFrom(...IMMS), fc.integer({ min: 0, max: 0xffffffff }));
const cond = fc.constantFrom(...CONDS);
const off = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xfffffff0));
const to = fc.integer({ min: 1, max: 6 }); // pieces ahead (past the end: an exit)
const index = fc.option(fc.integer({ min: 8, max: 9 }), { nil: undefined }); // r8, r9 hold small offsets

const piece: fc.Arbitrary<Piece> = fc.oneof(
  fc.record({ k: fc.constant("ld" as const), op: fc.constantFrom(...LOADS), rd: reg, index, off, cond, imm, to }),
  fc.record({ k: fc.constant("and" as const), rd: reg, rs: reg, mask: imm, cond, imm, to }),
  fc.record({
    k: fc.constant("ldand" as const),
    op: fc.constantFrom(...LOADS),
    rd: reg,
    off: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(70000)),
    mask: fc.oneof(fc.constantFrom(0xffff0000, 0xff00, 0x1fff, 0xf0, 1), imm),
    cond: fc.constantFrom("jeq", "jne", "jset", "chain", "jgt"),
    imm,
    values: fc.array(imm, { minLength: 2, maxLength: 5 }),
    to,
  }),
  fc.record({ k: fc.constant("ldf" as const), rd: reg, field: fc.constantFrom("pkt.len", "pkt.caplen", "pkt.port"), cond, imm, to }),
  fc
    .record({
      k: fc.constant("chain" as const),
      load: fc.option(fc.record({ op: fc.constantFrom(...LOADS), off, index }), { nil: undefined }),
      rd: reg,
      values: fc.array(imm, { minLength: 2, maxLength: 7 }),
      hops: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      to,
    })
    .map((c) => ({ ...c, values: c.values.map((v, i) => (i % 3 === 2 ? c.values[0]! : v)) })), // repeated values
  fc.record({ k: fc.constant("msh" as const), ra: reg, rb: reg, rc: reg, off, shift: fc.constantFrom(0, 2, 3, 31, 63) }),
  fc.record({ k: fc.constant("observe" as const), r: reg, field: fc.constantFrom("meta.mark", "meta.class", "meta.prio") }),
  fc.record({ k: fc.constant("exit" as const), verdict: fc.constantFrom(...EXITS) }),
);

function render(pieces: Piece[], inits: number[], finalExit: string): string {
  const out = [".kind filter"];
  inits.forEach((v, r) => out.push(`  mov r${r}, ${v}`));
  const target = (at: number, ahead: number) => (at + ahead < pieces.length ? `P${at + ahead}` : ["XA", "XD", "XQ"][(at + ahead) % 3]);
  const mem = (o: number, idx?: number) => (idx === undefined ? `[pkt + ${o}]` : `[pkt + r${idx} + ${o}]`);
  pieces.forEach((p, i) => {
    out.push(`P${i}:`);
    switch (p.k) {
      case "ld":
        out.push(`  ${p.op} r${p.rd}, ${mem(p.off, p.index)}`, `  ${p.cond} r${p.rd}, ${p.imm}, ${target(i, p.to)}`);
        break;
      case "and":
        out.push(`  and r${p.rd}, r${p.rs}, ${p.mask}`, `  ${p.cond} r${p.rd}, ${p.imm}, ${target(i, p.to)}`);
        break;
      case "ldand":
        out.push(`  ${p.op} r${p.rd}, ${mem(p.off)}`, `  and r${p.rd}, r${p.rd}, ${p.mask}`);
        if (p.cond === "chain") p.values.forEach((v) => out.push(`  jeq r${p.rd}, ${v}, ${target(i, p.to)}`));
        else out.push(`  ${p.cond} r${p.rd}, ${p.imm}, ${target(i, p.to)}`);
        break;
      case "ldf":
        out.push(`  ldf r${p.rd}, ${p.field}`, `  ${p.cond} r${p.rd}, ${p.imm}, ${target(i, p.to)}`);
        break;
      case "chain":
        if (p.load) out.push(`  ${p.load.op} r${p.rd}, ${mem(p.load.off, p.load.index)}`);
        p.values.forEach((v, j) => {
          out.push(`P${i}_${j}:`, `  jeq r${p.rd}, ${v}, ${target(i, p.to)}`);
          if (p.hops[j] && j + 1 < p.values.length) out.push(`  ja P${i}_${j}h`, "  exit drop", `P${i}_${j}h:`);
        });
        break;
      case "msh":
        out.push(`  ldb r${p.ra}, [pkt + ${p.off}]`, `  and r${p.rb}, r${p.ra}, 15`, `  shl r${p.rc}, r${p.rb}, ${p.shift}`);
        break;
      case "observe":
        out.push(`  stf ${p.field}, r${p.r}`);
        break;
      case "exit":
        out.push(`  ${p.verdict}`);
        break;
    }
  });
  out.push("  stf meta.mark, r0", "  stf meta.class, r1", "  stf meta.prio, r2", `  ${finalExit}`);
  out.push("XA:", "  exit accept", "XD:", "  exit drop", "XQ:", "  exit queue 7");
  return out.join("\n");
}

const program = fc
  .tuple(fc.array(piece, { minLength: 1, maxLength: 14 }), fc.array(fc.constantFrom(0, 1, 2, 0x45, 0xffff), { minLength: 10, maxLength: 10 }), fc.constantFrom(...EXITS))
  .map(([pieces, inits, exit]) => render(pieces, inits.map((v, r) => (r >= 8 ? v & 3 : v)), exit));

const frame = fc.array(fc.constantFrom(...BYTES), { minLength: 0, maxLength: 64 }).map((a) => Uint8Array.from(a));

function expectSame(a: BatchResult, b: BatchResult, what: string): void {
  expect(Array.from(a.verdicts), `${what}: verdicts`).toEqual(Array.from(b.verdicts));
  expect(Array.from(a.faults), `${what}: faults`).toEqual(Array.from(b.faults));
  expect(Array.from(a.marks), `${what}: marks`).toEqual(Array.from(b.marks));
  expect(Array.from(a.classes), `${what}: classes`).toEqual(Array.from(b.classes));
  expect(Array.from(a.prios), `${what}: prios`).toEqual(Array.from(b.prios));
  if (a.cycles) expect(Array.from(a.cycles), `${what}: cycles`).toEqual(Array.from(b.cycles!));
}

describe("fused records", () => {
  it("give the JIT's verdicts, faults, cycles and register values on programs made of fusable sequences", () => {
    fc.assert(
      fc.property(program, fc.array(frame, { minLength: 1, maxLength: 24 }), fc.integer({ min: 0, max: 0xffff }), (source, frames, port) => {
        const { image } = assemble(source);
        expect(verify(image).errors).toEqual([]);
        interp.load(image);
        jit.load(image);
        createJitRunner(jit);
        const opts = { port, wireLengths: frames.map((f, i) => f.length + (i % 3) * 7) };
        expectSame(interp.run(frames, { ...opts, cycles: true }), jit.run(frames, { ...opts, cycles: true }), source);
        expectSame(interp.run(frames, opts), jit.run(frames, opts), source);
      }),
      { numRuns: 300 },
    );
  });

  it("long chains (a perfect hash up to 256 values, probing beyond) find every value and miss the rest", () => {
    for (const n of [3, 40, 300]) {
      const values = Array.from({ length: n }, (_, i) => (i * 7919 + 13) & 0xffff);
      const source = [".kind filter", "  ldh r1, [pkt + 0]", ...values.map((v) => `  jeq r1, ${v}, A`), "  exit drop", "A:", "  exit accept"].join("\n");
      const { image } = assemble(source);
      interp.load(image);
      jit.load(image);
      createJitRunner(jit);
      const frames = Array.from({ length: 2 * n + 50 }, (_, i) => {
        const v = i < n ? values[i]! : i < 2 * n ? (values[i - n]! + 1) & 0xffff : (i * 40503) & 0xffff;
        return Uint8Array.of(v >> 8, v & 0xff);
      });
      const a = interp.run(frames, { cycles: true });
      expectSame(a, jit.run(frames, { cycles: true }), `${n} values`);
      expect(Array.from(a.verdicts.slice(0, n)), `${n} values: every value matches`).toEqual(new Array(n).fill(1));
    }
  });

  it("a chain with a value past 32 bits in its register matches none of its values", () => {
    const source = [".kind filter", "  mov r0, 1", "  shl r0, r0, 32", "  add r0, r0, 22", "  jeq r0, 22, A", "  jeq r0, 25, A", "  jeq r0, 80, A", "  exit drop", "A:", "  exit accept"].join("\n");
    interp.load(assemble(source).image);
    const r = interp.run([new Uint8Array(4)], { cycles: true });
    expect(r.verdicts[0]).toBe(0);
    expect(r.cycles![0]).toBe(7); // mov, shl, add, three jeq, exit
  });

  it("counts the cycles of the chain up to the jeq that matches, through the ja between elements", () => {
    const source = [".kind filter", "  ldb r1, [pkt + 0]", "  jeq r1, 5, A", "  ja H", "  exit drop", "H:", "  jeq r1, 6, A", "  jeq r1, 5, A", "  jeq r1, 7, A", "  exit drop", "A:", "  exit accept"].join("\n");
    interp.load(assemble(source).image);
    const r = interp.run([Uint8Array.of(5), Uint8Array.of(6), Uint8Array.of(7), Uint8Array.of(8), new Uint8Array(0)], { cycles: true });
    expect(Array.from(r.verdicts)).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(r.faults)).toEqual([0, 0, 0, 0, 1]);
    // ldb 2; jeq 5 → 3 + exit; ja + jeq 6 → 5 + exit; the repeated 5 never jumps first; jeq 7 → 7 + exit; a miss
    // runs the whole chain and the exit after it; the empty frame faults in the ldb
    expect(Array.from(r.cycles!)).toEqual([4, 6, 8, 8, 2]);
  });

  it("still starts every packet with zeroed registers when a path reads one it did not write", () => {
    // packet 1 writes r5 on one path; packet 2 takes the other path, which reads r5 unwritten: it must read 0
    const source = [".kind filter", "  ldb r0, [pkt + 0]", "  jeq r0, 1, W", "  jeq r5, 0, A", "  exit drop", "W:", "  mov r5, 9", "  exit drop", "A:", "  exit accept"].join("\n");
    const { image } = assemble(source);
    expect(verify(image).ok).toBe(false); // the verifier refuses the read; the NIC's loader takes it
    expect(interp.loadUnverified(image).ok).toBe(true);
    const r = interp.run([Uint8Array.of(1), Uint8Array.of(0), Uint8Array.of(0)]);
    expect(Array.from(r.verdicts)).toEqual([0, 1, 1]);
  });
});
