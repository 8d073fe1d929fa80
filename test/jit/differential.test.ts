/**
 * The JIT never changes an answer: random verified programs (test/gen/programs.ts) × random batches give the
 * same verdicts, faults, marks, classes, prios, mirror flags, cycle counts and counters on both tiers.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, OPCODES, verify, type ProgramImage } from "../../overlay-isa/index.js";
import { stopJitCompiler, createJitRunner, jitTranslates } from "../../runtime/jit/index.js";
import { OverlayVM, TableError, type BatchResult } from "../../runtime/vm.js";
import { arbBatch, arbVerifiedProgram, type GeneratedFrame, type GeneratedProgram } from "../gen/programs.js";
import { arbRecomputingProgram } from "./gen-recompute.js";

let interp: OverlayVM;
let jit: OverlayVM;
let implemented: number[] = [];

beforeAll(() => {
  interp = OverlayVM.createSync();
  jit = OverlayVM.createSync();
  // what both tiers run (tiers.test.ts checks that the JIT refuses the rest clearly)
  implemented = OPCODES.filter((o) => interp.supportsOpcode(o.code) && jitTranslates(o)).map((o) => o.code);
});
afterAll(async () => {
  await stopJitCompiler();
});

const LINKTYPES = [1, 1, 1, 1, 0, 12, 101, 108, 113, 276, 228, 229];

/** Load the program and its entries into a VM; false when its random entries overfill a table. */
function setUp(vm: OverlayVM, p: GeneratedProgram): void {
  vm.load(p.image);
  for (const { table, entry } of p.entries) {
    try {
      vm.insertEntry(table, entry);
    } catch (e) {
      // random entries may outnumber a table's free slots once replacements are counted; both VMs see the same
      if (!(e instanceof TableError) || !e.message.endsWith("is full")) throw e;
    }
  }
}

function expectSame(a: BatchResult, b: BatchResult, what: string): void {
  expect(Array.from(b.verdicts), `${what}: verdicts`).toEqual(Array.from(a.verdicts));
  expect(Array.from(b.faults), `${what}: faults`).toEqual(Array.from(a.faults));
  expect(Array.from(b.marks), `${what}: marks`).toEqual(Array.from(a.marks));
  expect(Array.from(b.classes), `${what}: classes`).toEqual(Array.from(a.classes));
  expect(Array.from(b.prios), `${what}: prios`).toEqual(Array.from(a.prios));
  expect(Array.from(b.mirror), `${what}: mirror`).toEqual(Array.from(a.mirror));
  if (a.cycles) expect(Array.from(b.cycles!), `${what}: cycles`).toEqual(Array.from(a.cycles));
}

function expectSameCounters(what: string): void {
  const a = interp.counters();
  const b = jit.counters();
  expect(Array.from(b.packets), `${what}: packet counters`).toEqual(Array.from(a.packets));
  expect(Array.from(b.bytes), `${what}: byte counters`).toEqual(Array.from(a.bytes));
}

/** Side input: owners and timestamps (token buckets, flow timeouts), or none. */
interface Side {
  owners?: Uint32Array;
  timesUs?: Float64Array;
}

function arbSide(n: number): fc.Arbitrary<Side> {
  const owners = fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 6 * n, maxLength: 6 * n }).map((a) => Uint32Array.from(a));
  // increasing times, sometimes far apart (bucket refills, flow timeouts)
  const times = fc.array(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 200_000_000 })), { minLength: n, maxLength: n }).map((steps) => {
    let t = 0;
    return Float64Array.from(steps, (s) => (t += s));
  });
  return fc.record({ owners: fc.option(owners, { nil: undefined }), timesUs: fc.option(times, { nil: undefined }) }).map((s) => ({
    ...(s.owners ? { owners: s.owners } : {}),
    ...(s.timesUs ? { timesUs: s.timesUs } : {}),
  }));
}

function runBoth(p: GeneratedProgram, frames: GeneratedFrame[], linktype: number, port: number, dir: 0 | 1, side: Side = {}): void {
  setUp(interp, p);
  setUp(jit, p);
  createJitRunner(jit);
  const data = frames.map((f) => f.data);
  const opts = { wireLengths: frames.map((f) => f.wireLength), linktype, port, dir, ...side };
  // with cycles (the counting variant) and without (the fast variant); counters accumulate over both runs
  expectSame(interp.run(data, { ...opts, cycles: true }), jit.run(data, { ...opts, cycles: true }), "with cycles");
  expectSame(interp.run(data, opts), jit.run(data, opts), "without cycles");
  expectSameCounters("after both runs");
}

/** The program with its body (everything before the final exit) repeated: jumps keep their relative targets. */
function repeatBody(image: ProgramImage): ProgramImage {
  const body = image.code.slice(0, -1);
  return { ...image, code: [...body, ...body, image.code[image.code.length - 1]!] };
}

describe("JIT ≡ interpreter on random programs", () => {
  it("verdicts, faults, metadata, cycles and counters agree", () => {
    fc.assert(
      fc.property(
        arbVerifiedProgram({ maxInstructions: 40, opcodes: implemented }),
        arbBatch(10),
        fc.constantFrom(...LINKTYPES),
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom<0 | 1>(0, 1),
        (p, frames, linktype, port, dir) => runBoth(p, frames, linktype, port, dir),
      ),
      { numRuns: 150 },
    );
  });

  it("with owners and timestamps as side input (owner.*, ct.state, limit) they agree", () => {
    fc.assert(
      fc.property(
        arbVerifiedProgram({ maxInstructions: 40, opcodes: implemented }),
        arbBatch(16).chain((frames) => fc.tuple(fc.constant(frames), arbSide(frames.length))),
        fc.constantFrom(...LINKTYPES),
        (p, [frames, side], linktype) => runBoth(p, frames, linktype, 0, 0, side),
      ),
      { numRuns: 100 },
    );
  });

  it("longer programs over longer batches agree", () => {
    fc.assert(
      fc.property(arbVerifiedProgram({ maxInstructions: 160, opcodes: implemented }), arbBatch(40), fc.constantFrom(...LINKTYPES), (p, frames, linktype) => runBoth(p, frames, linktype, 0, 0)),
      { numRuns: 30 },
    );
  });

  it("programs that recompute values (the body twice: the JIT reuses what every path computed) agree", () => {
    fc.assert(
      fc.property(arbVerifiedProgram({ maxInstructions: 30, opcodes: implemented }), arbBatch(12), fc.constantFrom(...LINKTYPES), (p, frames, linktype) => {
        const twice = repeatBody(p.image);
        fc.pre(verify(twice).ok);
        runBoth({ ...p, image: twice }, frames, linktype, 0, 0);
      }),
      { numRuns: 80 },
    );
  });

  it("programs recomputing a few values across joins, stores and faults agree (value reuse)", () => {
    fc.assert(
      fc.property(arbRecomputingProgram(40), arbBatch(16), (source, frames) => {
        const { image } = assemble(source);
        fc.pre(verify(image).ok);
        runBoth({ image, entries: [] }, frames, 1, 0, 0);
      }),
      { numRuns: 600 },
    );
  });

  it("a register that differs on the paths into a join is not taken for the value it has on one of them", () => {
    // r2 is r1 on one path and 0 on the other, so [pkt + r2] after the join is not the [pkt + r0] load before it
    const source = [
      ".kind filter", ".counters 4",
      "  mov r0, 0", "  mov r1, 0", "  mov r2, 0", "  mov r3, 0",
      "  ldh r1, [pkt + r0 + 0]", "  jset r0, 0, join", "  count c0, r0", "  mov r2, r1",
      "join:", "  ldh r0, [pkt + r2 + 0]", "  count c3, r0", "  count c3, r1", "  count c3, r2", "  exit accept",
    ].join("\n");
    const frame = Uint8Array.from([0x12, 0x34, 0x56, 0x78, ...new Array<number>(0x1234).fill(7)]);
    runBoth({ image: assemble(source).image, entries: [] }, [{ data: frame, wireLength: frame.length }], 1, 0, 0);
  });

  it("a program that only loads raw bytes (no parser) agrees, including faults past the captured bytes", () => {
    const raw = OPCODES.filter((o) => implemented.includes(o.code) && o.cls !== "table" && !o.operands.includes("field") && !o.operands.includes("wfield")).map((o) => o.code);
    fc.assert(
      fc.property(arbVerifiedProgram({ maxInstructions: 60, opcodes: raw }), arbBatch(20), (p, frames) => runBoth(p, frames, 1, 0, 0)),
      { numRuns: 60 },
    );
  });
});
