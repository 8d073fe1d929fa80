/**
 * Random programs that recompute the same few values along many paths — what the JIT's value numbering
 * (runtime/jit/values.ts) works on: a handful of registers, loads at a few offsets, ALU operations with a few
 * immediates, forward jumps that make joins, stores to metadata (which must invalidate reads of it), and
 * counters that add register values up, so a value reused where it was not computed changes a counter.
 * Programs are assembly text (readable counterexamples).
 */
import fc from "fast-check";

const REGS = ["r0", "r1", "r2", "r3"];
// few choices, so the same value comes up again and again (60 is past the end of short frames: a fault)
const OFFSETS = [14, 23, 60];
const FIELDS = ["l4.dport", "pkt.len", "meta.scratch0", "meta.mark"];
const IMMS = [0, 2, 15];

type Piece = (label: (ahead: number) => string) => string;

const reg = fc.constantFrom(...REGS);
const imm = fc.constantFrom(...IMMS);
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

const piece: fc.Arbitrary<Piece> = fc.oneof(
  w(5, fc.record({ rd: reg, size: fc.constantFrom("ldb", "ldh"), off: fc.constantFrom(...OFFSETS) }).map((p): Piece => () => `${p.size} ${p.rd}, [pkt + ${p.off}]`)),
  w(2, fc.record({ rd: reg, ri: reg, off: fc.constantFrom(0, 14) }).map((p): Piece => () => `ldh ${p.rd}, [pkt + ${p.ri} + ${p.off}]`)),
  w(1, fc.record({ rd: reg, off: fc.constantFrom(0, 9) }).map((p): Piece => () => `ldb ${p.rd}, [l3 + ${p.off}]`)),
  w(4, fc.record({ rd: reg, f: fc.constantFrom(...FIELDS) }).map((p): Piece => () => `ldf ${p.rd}, ${p.f}`)),
  w(4, fc.record({ op: fc.constantFrom("and", "shl", "add"), rd: reg, rs: reg, k: imm }).map((p): Piece => () => `${p.op} ${p.rd}, ${p.rs}, ${p.k}`)),
  w(2, fc.record({ op: fc.constantFrom("add", "div", "mod"), rd: reg, rs: reg, rt: reg }).map((p): Piece => () => `${p.op} ${p.rd}, ${p.rs}, ${p.rt}`)),
  w(1, fc.record({ rd: reg, rs: reg }).map((p): Piece => () => `mov ${p.rd}, ${p.rs}`)),
  w(1, fc.record({ rd: reg, k: imm }).map((p): Piece => () => `mov ${p.rd}, ${p.k}`)),
  w(4, fc.record({ c: fc.constantFrom("jeq", "jne", "jgt", "jset"), ra: reg, k: imm, ahead: fc.integer({ min: 1, max: 6 }) }).map((p): Piece => (label) => `${p.c} ${p.ra}, ${p.k}, ${label(p.ahead)}`)),
  w(1, fc.record({ ahead: fc.integer({ min: 1, max: 4 }) }).map((p): Piece => (label) => `ja ${label(p.ahead)}`)),
  w(2, fc.record({ f: fc.constantFrom("meta.scratch0", "meta.mark"), rs: reg }).map((p): Piece => () => `stf ${p.f}, ${p.rs}`)),
  w(3, fc.record({ c: fc.constantFrom("c0", "c1", "c2"), ra: reg }).map((p): Piece => () => `count ${p.c}, ${p.ra}`)),
);

/** Assembly text of a program: registers initialised, a random body, every register counted at the end. */
export function arbRecomputingProgram(maxBody = 40): fc.Arbitrary<string> {
  return fc.record({ inits: fc.array(imm, { minLength: 4, maxLength: 4 }), body: fc.array(piece, { minLength: 8, maxLength: maxBody, size: "max" }) }).map(({ inits, body }) => {
    const n = body.length;
    const lines = [".kind filter", ".counters 4", ...REGS.map((r, i) => `  mov ${r}, ${inits[i]}`)];
    body.forEach((make, i) => {
      lines.push(`L${i}:`);
      lines.push(`  ${make((ahead) => `L${Math.min(i + ahead, n)}`)}`);
    });
    lines.push(`L${n}:`);
    for (const r of REGS) lines.push(`  count c3, ${r}`);
    lines.push("  stf meta.class, r0", "  exit accept");
    return lines.join("\n");
  });
}
