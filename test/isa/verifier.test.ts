import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPCODES, assemble, decodeImage, encodeImage, verify, ImageError, LIMITS, type ProgramImage, type VerifyRule } from "../../overlay-isa/index.js";

function rejects(src: string, rule: VerifyRule, index: number | undefined, text: RegExp): void {
  const image = assemble(src, "bad.s").image;
  const result = verify(image);
  expect(result.ok).toBe(false);
  const err = result.errors.find((e) => e.rule === rule);
  expect(err, JSON.stringify(result.errors)).toBeDefined();
  expect(err!.index).toBe(index);
  expect(err!.message).toMatch(text);
}

describe("the verifier rejects each class of bad program with its reason and index", () => {
  it("backward jump", () => rejects("top: mov r1, 1\n jeq r1, 1, top\n exit drop", "backward-jump", 1, /backward/));
  it("jump to itself", () => rejects("mov r1, 1\n ja -1\n exit drop", "backward-jump", 1, /backward/));
  it("jump past the end", () => rejects("mov r1, 1\n jeq r1, 1, +5\n exit drop", "jump-out-of-range", 1, /past the last instruction/));
  it("unknown opcode", () => rejects("mov r1, 1\n .word 0xff\n exit drop", "unknown-opcode", 1, /unknown opcode 0xff/));
  it("reserved bits set", () => rejects("mov r1, 1\n .word 0x0000000100000160\n exit drop", "reserved-bits", 1, /must be zero/));
  it("register read before written on some path", () =>
    rejects("ldf r1, pkt.len\n jeq r1, 60, skip\n mov r2, 1\nskip: add r3, r2, 1\n exit accept", "uninitialized-register", 3, /r2 may be read before it is written/));
  it("undeclared table", () => rejects(".table t exact capacity 4 key ip.src\n lookup.exact r1, t1\n exit drop", "bad-table", 0, /t1 is not declared/));
  it("lookup of the wrong table kind", () => rejects(".table t exact capacity 4 key ip.src\n lookup.lpm r1, t\n exit drop", "bad-table", 0, /exact table/));
  it("undeclared counter", () => rejects(".counters 2\n mov r1, 0\n count c2, r1\n exit drop", "bad-counter", 1, /c2 is not declared/));
  it("undeclared constant", () => rejects("ldk r1, k0\n exit drop", "bad-constant", 0, /k0 is not in the pool/));
  it("prefix longer than the field", () => rejects(".const a 10.0.0.0\n pfx r1, ip.src, a/33\n exit drop", "bad-constant", 0, /longer than ip.src/));
  it("ldf of a 128-bit field", () => rejects("ldf r1, ip6.src\n exit drop", "bad-field", 0, /at most 64 bits/));
  it("memory base that does not exist", () => rejects("mov r1, 1\n .word 0x0000000000050042\n exit drop", "bad-memory-base", 1, /base 5/));
  it("a path that falls off the end", () => rejects("ldf r1, pkt.len\n jeq r1, 1, end\n exit drop\nend: mov r2, 1", "falls-off-end", 3, /every path must end in an exit/));
  it("an invalid verdict", () => rejects("mov r1, 1\n .word 0x0000000900000060\n", "bad-verdict", 1, /not a valid verdict/));
  it("a program larger than the instruction memory", () => {
    const n = LIMITS.instructionMemory + 1;
    const image: ProgramImage = { kind: "filter", tables: [], counters: 0, constants: [], code: Array.from({ length: n }, () => ({ op: 0x60, a: 0, b: 0, off: 0, imm: 1 })) };
    const r = verify(image);
    expect(r.errors.map((e) => e.rule)).toEqual(["too-large"]);
    expect(r.errors[0]!.message).toMatch(/32769 instructions do not fit/);
  });
  it("an empty program", () => {
    expect(verify({ kind: "filter", tables: [], counters: 0, constants: [], code: [] }).errors[0]!.rule).toBe("empty-program");
  });
  it("a bad table declaration", () => {
    const r = verify(assemble(".table t range capacity 4 key ip.src, l4.dport\n exit drop").image);
    expect(r.errors[0]).toMatchObject({ rule: "bad-table-declaration", table: 0 });
  });
});

describe("static worst-case cycles", () => {
  it("is the costliest path, by the table's cycles", () => {
    // path A: ldf(1) jeq(1) exit(1) = 3; path B: ldf(1) jeq(1) div(4) mul(2) exit(1) = 9
    const r = verify(assemble("ldf r1, pkt.len\n jeq r1, 0, out\n div r2, r1, 3\n mul r2, r2, 2\n exit accept\nout: exit drop").image);
    expect(r.ok).toBe(true);
    expect(r.worstCaseCycles).toBe(9);
  });
  it("accepts a well-formed program and reports whether it needs the parser", () => {
    const raw = verify(assemble("ldh r1, [pkt + 12]\n jeq r1, 0x800, yes\n exit drop\nyes: exit accept").image);
    expect(raw).toMatchObject({ ok: true, worstCaseCycles: 4 });
    const parsed = verify(assemble("ldf r1, eth.type\n exit r1").image);
    expect(parsed.needsHeaders).toBe(true);
  });
});

describe("images", () => {
  const good = encodeImage(assemble(".counters 1\n mov r1, 1\n count c0, r1\n exit accept").image);
  it("refuses a truncated image with the offset", () => {
    expect(() => decodeImage(good.subarray(0, 10))).toThrow(/truncated image: the header needs 32 bytes, the file has 10/);
    expect(() => decodeImage(good.subarray(0, good.length - 3))).toThrow(ImageError);
  });
  it("refuses bad magic, version and a corrupted body", () => {
    const bad = good.slice();
    bad[0] = 0x4e;
    expect(() => decodeImage(bad)).toThrow(/not a kopi program image/);
    const v = good.slice();
    v[4] = 9;
    expect(() => decodeImage(v)).toThrow(/unsupported image version 9/);
    const c = good.slice();
    c[c.length - 1] ^= 0xff;
    expect(() => decodeImage(c)).toThrow(/checksum mismatch/);
  });
});

describe("properties", () => {
  it("random instruction words never make the decoder, verifier or disassembler throw", () => {
    const word = fc.record({ op: fc.oneof(fc.constantFrom(...OPCODES.map((o) => o.code)), fc.integer({ min: 0, max: 255 })), a: fc.integer({ min: 0, max: 15 }), b: fc.integer({ min: 0, max: 15 }), off: fc.integer({ min: 0, max: 0xffff }), imm: fc.integer({ min: 0, max: 0xffffffff }) });
    fc.assert(
      fc.property(fc.array(word, { minLength: 0, maxLength: 40 }), fc.integer({ min: 0, max: 4 }), (code, counters) => {
        const image: ProgramImage = { kind: "filter", tables: [{ kind: "exact", keyFields: [0], capacity: 4 }], counters, constants: [1n], code };
        const r = verify(image);
        expect(typeof r.ok).toBe("boolean");
        if (r.ok) expect(r.worstCaseCycles).toBeGreaterThan(0);
        const bytes = encodeImage(image);
        expect(decodeImage(bytes).code).toEqual(code);
      }),
      { numRuns: 2000 },
    );
  });
});
