/**
 * Properties of the VM over random programs and packets (test/gen/programs.ts):
 *  (a) arbitrary images never make verify() or the VM throw, trap or hang: they are refused or run safely;
 *  (b) every verified program ends within verify().worstCaseCycles on any packet, with a valid verdict or a
 *      fault;
 *  (c) a batch gives each packet the result it gets alone (no state leaks from one packet to the next).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { isValidVerdict, OPCODES, verify } from "../../overlay-isa/index.js";
import { OverlayVM, ProgramRejected, TableError } from "../../runtime/vm.js";
import { arbBatch, arbImageBytes, arbRandomImage, arbVerifiedProgram, type GeneratedProgram } from "../gen/programs.js";

let vm: OverlayVM;
/** Opcodes this VM build implements: random programs draw from these (opcodes.test.ts fails for any other). */
let implemented: number[] = [];
beforeAll(() => {
  vm = OverlayVM.createSync();
  implemented = OPCODES.map((o) => o.code).filter((c) => vm.supportsOpcode(c));
});

const LINKTYPES = [1, 1, 1, 1, 0, 101, 113, 276, 228, 229];

function insertAll(p: GeneratedProgram): void {
  for (const { table, entry } of p.entries) {
    try {
      vm.insertEntry(table, entry);
    } catch (e) {
      // random entries may outnumber a table's free slots once updates are counted; anything else is a bug
      if (!(e instanceof TableError) || !e.message.endsWith("is full")) throw e;
    }
  }
}

describe("robustness (a)", () => {
  it("random instruction words: verify and load never throw anything but ProgramRejected, and the VM refuses or runs them", () => {
    fc.assert(
      fc.property(arbRandomImage(), arbBatch(4), fc.constantFrom(...LINKTYPES), (image, frames, linktype) => {
        const verdict = verify(image);
        try {
          vm.load(image);
          expect(verdict.ok).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ProgramRejected);
          expect(verdict.ok).toBe(false);
        }
        // without the verifier: only the VM's structural check stands between the words and the interpreter
        const check = vm.loadUnverified(image);
        if (!check.ok) return;
        const r = vm.run(frames.map((f) => f.data), { wireLengths: frames.map((f) => f.wireLength), linktype, cycles: true });
        for (let i = 0; i < frames.length; i++) {
          if (r.faults[i]) expect(r.verdicts[i]).toBe(0);
          else expect(isValidVerdict(r.verdicts[i]!)).toBe(true);
          expect(r.cycles![i]).toBeLessThanOrEqual(6 * image.code.length); // forward-only: each instruction at most once
        }
      }),
      { numRuns: 400 },
    );
  });

  it("corrupted image bytes are refused or run safely", () => {
    fc.assert(
      fc.property(arbImageBytes(), arbBatch(3), (bytes, frames) => {
        const check = vm.loadUnverified(bytes);
        if (!check.ok) {
          expect(check.reason.length).toBeGreaterThan(0);
          return;
        }
        const r = vm.run(frames.map((f) => f.data), { wireLengths: frames.map((f) => f.wireLength) });
        for (let i = 0; i < frames.length; i++) expect(r.faults[i] === 1 || isValidVerdict(r.verdicts[i]!)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("a refused load leaves no program to run", () => {
    vm.load(verifiedOnce());
    expect(vm.loadUnverified(new Uint8Array([1, 2, 3])).ok).toBe(false);
    expect(() => vm.run([new Uint8Array(60)])).toThrow("no program is loaded");
  });
});

function verifiedOnce() {
  return fc.sample(arbVerifiedProgram({ opcodes: implemented }), { numRuns: 1, seed: 42 })[0]!.image;
}

describe("verified programs (b, c)", () => {
  it("the generator makes verifier-accepted programs that use every opcode class", () => {
    const seen = new Set<string>();
    for (const p of fc.sample(arbVerifiedProgram({ opcodes: implemented }), { numRuns: 200, seed: 7 })) {
      const r = verify(p.image);
      expect(r.errors).toEqual([]);
      for (const insn of p.image.code) seen.add(String(insn.op));
    }
    expect(seen.size).toBeGreaterThan(40);
  });

  it("end within the static worst-case cycles with a valid verdict or a fault", () => {
    fc.assert(
      fc.property(arbVerifiedProgram({ opcodes: implemented }), arbBatch(8), fc.constantFrom(...LINKTYPES), (p, frames, linktype) => {
        const verdict = verify(p.image);
        expect(verdict.ok).toBe(true);
        vm.load(p.image);
        insertAll(p);
        const r = vm.run(frames.map((f) => f.data), { wireLengths: frames.map((f) => f.wireLength), linktype, cycles: true });
        for (let i = 0; i < frames.length; i++) {
          expect(r.cycles![i]).toBeGreaterThan(0);
          expect(r.cycles![i]).toBeLessThanOrEqual(verdict.worstCaseCycles!);
          if (r.faults[i]) expect(r.verdicts[i]).toBe(0);
          else expect(isValidVerdict(r.verdicts[i]!)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("give each packet of a batch the result it gets alone", () => {
    fc.assert(
      fc.property(arbVerifiedProgram({ opcodes: implemented }), arbBatch(8), fc.constantFrom(...LINKTYPES), (p, frames, linktype) => {
        vm.load(p.image);
        insertAll(p);
        const opts = { wireLengths: frames.map((f) => f.wireLength), linktype, cycles: true };
        const batch = vm.run(frames.map((f) => f.data), opts);
        const batchCounters = vm.counters();
        vm.resetCounters();
        frames.forEach((f, i) => {
          const alone = vm.run([f.data], { ...opts, wireLengths: [f.wireLength] });
          const got = [batch.verdicts[i], batch.faults[i], batch.marks[i], batch.classes[i], batch.prios[i], batch.mirror[i], batch.cycles![i]];
          const want = [alone.verdicts[0], alone.faults[0], alone.marks[0], alone.classes[0], alone.prios[0], alone.mirror[0], alone.cycles![0]];
          expect(got, `packet ${i}`).toEqual(want);
        });
        const summed = vm.counters();
        expect([...summed.packets]).toEqual([...batchCounters.packets]);
        expect([...summed.bytes]).toEqual([...batchCounters.bytes]);
      }),
      { numRuns: 200 },
    );
  });
});
