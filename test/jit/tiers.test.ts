/**
 * Tier selection and the JIT's refusals: "jit" refuses what it cannot translate (never a silent fallback),
 * "auto" falls back to the interpreter and says why, a new program drops the JIT, compiled modules are cached
 * by program hash, and the largest program the overlay takes compiles and agrees with the interpreter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, encodeOperands, LIMITS, OPCODES, type OperandValue, type ProgramImage } from "../../overlay-isa/index.js";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { compileJit, createJitRunner, jitCacheSize, jitTranslates, JitUnsupported, parseTier, planProgram, selectTier, stopJitCompiler, vmLayout } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { tcp4Frame } from "../runtime/frames.js";

let vm: OverlayVM;
beforeAll(() => {
  vm = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

/** Reads r3 before anything writes it: the VM's structural check takes it, the verifier does not. */
const UNVERIFIED = assemble(".kind filter\n.counters 1\n  count c0, r3\n  exit accept").image;

describe("tier selection", () => {
  it("jit runs the program on compiled code with the interpreter's answers", () => {
    const { image } = compilePcapFilter("tcp dst port 80");
    vm.load(image);
    const frames = [tcp4Frame(1234, 80), tcp4Frame(1234, 81), new Uint8Array(10)];
    const want = vm.run(frames, { cycles: true });
    const choice = selectTier(vm, "jit");
    expect(choice.tier).toBe("jit");
    expect(choice.fallback).toBeUndefined();
    expect(choice.runner?.current).toBe(true);
    const got = vm.run(frames, { cycles: true });
    expect(Array.from(got.verdicts)).toEqual(Array.from(want.verdicts));
    expect(Array.from(got.verdicts)).toEqual([1, 0, 0]);
    expect(Array.from(got.faults)).toEqual(Array.from(want.faults));
    expect(Array.from(got.cycles!)).toEqual(Array.from(want.cycles!));
  });

  it("jit refuses a program it cannot translate, naming the instruction, and the VM keeps the interpreter", () => {
    expect(vm.loadUnverified(UNVERIFIED).ok).toBe(true);
    let error: unknown;
    try {
      selectTier(vm, "jit");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JitUnsupported);
    const message = (error as Error).message;
    expect(message).toMatch(/^the JIT cannot translate this program: instruction 0: it fails verification \(r3 may be read before it is written\); the JIT translates verified programs only/);
    expect(message).toContain('tier "interpreter"');
    expect((error as JitUnsupported).index).toBe(0);
    // the interpreter still runs it (r3 reads 0 there)
    const r = vm.run([new Uint8Array(60)]);
    expect(r.verdicts[0]).toBe(1);
    expect(vm.counters().packets[0]).toBe(1n);
  });

  it("auto falls back to the interpreter explicitly, with the reason", () => {
    vm.loadUnverified(UNVERIFIED);
    const choice = selectTier(vm, "auto");
    expect(choice.requested).toBe("auto");
    expect(choice.tier).toBe("interpreter");
    expect(choice.fallback).toMatch(/the JIT cannot translate this program: instruction 0/);
    expect(vm.run([new Uint8Array(60)]).verdicts[0]).toBe(1);
    // and takes the JIT when it can
    vm.load(compilePcapFilter("udp").image);
    const ok = selectTier(vm, "auto");
    expect(ok.tier).toBe("jit");
    expect(ok.fallback).toBeUndefined();
  });

  it("interpreter detaches the JIT", () => {
    vm.load(compilePcapFilter("arp").image);
    const jit = selectTier(vm, "jit").runner!;
    selectTier(vm, "interpreter");
    expect(jit.current).toBe(true); // same program, but the VM no longer calls it
    expect(vm.run([tcp4Frame()]).verdicts[0]).toBe(0);
  });

  it("a new program drops the JIT of the old one", () => {
    vm.load(compilePcapFilter("tcp").image);
    const jit = createJitRunner(vm);
    vm.load(compilePcapFilter("udp").image);
    expect(jit.current).toBe(false);
    expect(jit.runStaged(1, 1, false)).toBe(false);
    expect(vm.run([tcp4Frame()]).verdicts[0]).toBe(0); // the interpreter runs "udp"
  });

  it("tier names are checked with a clear message", () => {
    expect(parseTier("jit")).toBe("jit");
    expect(parseTier("auto")).toBe("auto");
    expect(() => parseTier("fast")).toThrow('tier must be one of "interpreter", "jit", "auto", got "fast"');
    expect(() => parseTier(3, "--tier")).toThrow("--tier must be one of");
  });
});

describe("refusals and the cache", () => {
  it("an instruction the interpreter runs but the JIT does not translate is refused by name; auto falls back", () => {
    // programs of register operands only: mov r1, 0; <op> r0, r1, … ; exit accept
    const simple = new Set(["rd", "ra", "rs", "rt", "imm"]);
    const untranslated = OPCODES.filter((o) => !jitTranslates(o) && vm.supportsOpcode(o.code) && o.operands.every((k) => simple.has(k)));
    for (const spec of untranslated) {
      const values = spec.operands.map((k): OperandValue => (k === "rd" ? 0 : k === "imm" ? 0 : 1));
      const mov = OPCODES.find((o) => o.mnemonic === "mov" && o.operands[1] === "imm")!;
      const exit = OPCODES.find((o) => o.mnemonic === "exit" && o.operands[0] === "verdict")!;
      const image: ProgramImage = { kind: "filter", tables: [], counters: 0, constants: [], code: [encodeOperands(mov, [1, 0]), encodeOperands(spec, values), encodeOperands(exit, [1])] };
      vm.load(image);
      expect(() => selectTier(vm, "jit"), spec.mnemonic).toThrow(new RegExp(`instruction 1: ${spec.mnemonic.replace(".", "\\.")} \\(opcode 0x[0-9a-f]{2}\\) is not translated by the JIT`));
      const auto = selectTier(vm, "auto");
      expect(auto.tier).toBe("interpreter");
      expect(auto.fallback).toContain(spec.mnemonic);
      expect(vm.run([tcp4Frame()]).faults[0], spec.mnemonic).toBe(0);
    }
    // and everything else the interpreter runs, the JIT translates
    for (const o of OPCODES) if (vm.supportsOpcode(o.code) && !untranslated.includes(o)) expect(jitTranslates(o) || !o.operands.every((k) => simple.has(k)), o.mnemonic).toBe(true);
  });

  it("an opcode with no JIT semantics is refused before any compile", () => {
    const image: ProgramImage = { kind: "filter", tables: [], counters: 0, constants: [], code: [{ op: 0xee, a: 0, b: 0, off: 0, imm: 0 }, { op: 0x60, a: 0, b: 0, off: 0, imm: 1 }] };
    expect(() => planProgram(image)).toThrow(JitUnsupported);
    expect(() => planProgram(image)).toThrow(/instruction 0: .*unknown opcode 0xee/);
  });

  it("compiles a program once per VM build: the same image is served from the cache", () => {
    const { image } = compilePcapFilter("ip and tcp[13] & 2 != 0");
    const layout = vmLayout(vm);
    const before = jitCacheSize();
    const first = compileJit(image, layout);
    const second = compileJit(structuredClone(image), layout);
    expect(second.cached).toBe(true);
    expect(second.module).toBe(first.module);
    expect(jitCacheSize()).toBe(before + (first.cached ? 0 : 1));
    const cycles = compileJit(image, layout, { cycles: true });
    expect(cycles.key).not.toBe(first.key);
    // a second VM of the same build takes the cached module
    const other = OverlayVM.createSync();
    other.load(image);
    expect(createJitRunner(other).compiled.cached).toBe(true);
  });

  it("the largest program the overlay takes compiles and agrees with the interpreter", () => {
    const lines = [".kind filter", ".counters 2"];
    const checks = (LIMITS.instructionMemory - 20) / 2;
    for (let i = 0; i < checks; i++) lines.push("  ldh r1, [pkt + 36]", `  jeq r1, ${1000 + i}, hit${i % 5}`);
    lines.push("  count c0, r1", "  exit drop");
    for (let k = 0; k < 5; k++) lines.push(`hit${k}:`, "  count c1, r1", `  jeq r1, ${k}, out`);
    lines.push("out:", "  exit accept");
    const { image } = assemble(lines.join("\n"));
    expect(image.code.length).toBeLessThanOrEqual(LIMITS.instructionMemory);
    vm.load(image);
    const frames = [1000, 1001 + checks / 2, 999 + checks, 999 + checks + 1, 5].map((dport) => tcp4Frame(1234, dport));
    const want = vm.run(frames, { cycles: true });
    const wantCounters = vm.counters();
    vm.resetCounters();
    createJitRunner(vm);
    const got = vm.run(frames, { cycles: true });
    expect(Array.from(got.verdicts)).toEqual(Array.from(want.verdicts));
    expect(Array.from(got.verdicts)).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(got.cycles!)).toEqual(Array.from(want.cycles!));
    expect(vm.counters()).toEqual(wantCounters);
  });
});
