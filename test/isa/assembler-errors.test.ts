import { describe, expect, it } from "vitest";
import { assemble, SourceError } from "../../overlay-isa/index.js";

function errorOf(src: string): SourceError {
  try {
    assemble(src, "prog.s");
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError);
    return e as SourceError;
  }
  throw new Error("expected an assembly error");
}

describe("assembler errors name file, line and column, with a caret", () => {
  it("unknown mnemonic", () => {
    const e = errorOf("; x\n    mov r1, 1\n    jmpz r1, out\n");
    expect(e.message).toBe("prog.s:3:5: unknown mnemonic 'jmpz'");
    expect(e.format()).toBe("prog.s:3:5: unknown mnemonic 'jmpz'\n      jmpz r1, out\n      ^");
  });
  it("bad register", () => expect(errorOf("mov r16, 1").message).toBe("prog.s:1:5: expected a register r0..r15, got 'r16'"));
  it("immediate too wide", () => expect(errorOf("mov r1, 0x1ffffffff").message).toMatch(/^prog.s:1:9: 0x1ffffffff does not fit 32 bits/));
  it("unknown field", () => expect(errorOf("ldf r1, ip.sorce").message).toBe("prog.s:1:9: unknown field 'ip.sorce'"));
  it("store to a read-only field", () => expect(errorOf("stf ip.ttl, 3").message).toMatch(/^prog.s:1:5: ip.ttl is not writable/));
  it("undefined label", () => expect(errorOf("mov r1, 1\njeq r1, 2, nowhere\nexit drop").message).toBe("prog.s:2:12: undefined label 'nowhere'"));
  it("bad verdict", () => expect(errorOf("exit maybe").message).toMatch(/^prog.s:1:6: expected a verdict/));
  it("wrong operand count", () => expect(errorOf("add r1, r2").message).toMatch(/^prog.s:1:5: add takes 3 operands/));
  it("unknown directive", () => expect(errorOf(".tabel x").message).toMatch(/^prog.s:1:1: unknown directive '.tabel'/));
  it("bad constant", () => expect(errorOf(".const a 300.1.1.1").message).toMatch(/^prog.s:1:\d+: '300.1.1.1' is not a number, IPv4, IPv6 or MAC address/));
  it("duplicate label", () => expect(errorOf("a: mov r1, 1\na: exit drop").message).toBe("prog.s:2:1: label a is defined twice"));
});
