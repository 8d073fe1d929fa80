/** The OverlayVM bindings: construction, loading, batches, errors, and the VM's own structural check. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble, encodeImage, encodeOperands, fieldId, OPCODES, type ProgramImage, type RawInsn } from "../../overlay-isa/index.js";
import { OverlayVM, ProgramRejected, VMError } from "../../runtime/vm.js";
import { findPackageRoot, wasmPath } from "../../runtime/wasm-module.js";
import { tcp4Frame } from "./frames.js";

const PORT_FILTER = assemble(`
  ldh r1, [pkt + 12]
  jne r1, 0x800, no
  ldb r2, [pkt + 14]
  and r2, r2, 15
  shl r2, r2, 2
  ldh r1, [pkt + r2 + 16]
  jeq r1, 80, yes
no: exit drop
yes: exit accept
`).image;

describe("construction", () => {
  it("finds the package root and the built module", () => {
    expect(existsSync(join(findPackageRoot(), "package.json"))).toBe(true);
    expect(wasmPath()).toBe(join(findPackageRoot(), "build", "overlay-vm.wasm"));
  });

  it("create() and createSync() give independent VMs", async () => {
    const a = await OverlayVM.create();
    const b = OverlayVM.createSync();
    expect(a.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(a.memory).not.toBe(b.memory);
    a.load(PORT_FILTER);
    expect(() => b.run([tcp4Frame()])).toThrow(VMError);
    expect(a.run([tcp4Frame(1, 80)]).verdicts[0]).toBe(1);
  });
});

describe("load", () => {
  it("returns the verifier's result", () => {
    const vm = OverlayVM.createSync();
    const r = vm.load(PORT_FILTER);
    expect(r.ok).toBe(true);
    expect(r.worstCaseCycles).toBe(11); // ldh 2, jne 1, ldb 2, and 1, shl 1, ldh 2, jeq 1, exit 1
    expect(vm.loadedProgram).toBe(PORT_FILTER);
  });

  it("throws ProgramRejected with the verifier's errors and keeps the previous program", () => {
    const vm = OverlayVM.createSync();
    vm.load(PORT_FILTER);
    const bad = assemble("mov r1, r2\n ldf r3, nonsense.field\n exit accept".replace(" ldf r3, nonsense.field\n", "")).image;
    let error: unknown;
    try {
      vm.load(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProgramRejected);
    const rejected = error as ProgramRejected;
    expect(rejected.errors[0]!.rule).toBe("uninitialized-register");
    expect(rejected.message).toBe("program rejected (1 error):\n  instruction 0: r2 may be read before it is written");
    expect(vm.run([tcp4Frame(1, 80)]).verdicts[0]).toBe(1);
  });
});

describe("run", () => {
  const vm = OverlayVM.createSync();
  vm.load(PORT_FILTER);

  it("runs an empty batch", () => {
    const r = vm.run([]);
    expect(r.verdicts.length).toBe(0);
  });

  it("checks its options", () => {
    expect(() => vm.run([tcp4Frame()], { wireLengths: [] })).toThrow("wireLengths has 0 entries for 1 frames");
    expect(() => vm.run([tcp4Frame()], { linktype: -1 })).toThrow("linktype must be an integer from 0 to 65535, got -1");
    expect(() => vm.run([tcp4Frame()], { dir: 2 as 0 })).toThrow("dir must be 0 (ingress) or 1 (egress), got 2");
    expect(() => vm.run([tcp4Frame()], { wireLengths: [1.5] })).toThrow("wire length 1.5 of frame 0 is not a packet length");
    expect(() => vm.run(["x" as unknown as Uint8Array])).toThrow("frame 0 is not a Uint8Array");
  });

  it("splits batches larger than one call can take and keeps the results in order", () => {
    const n = 150_000;
    const web = tcp4Frame(1, 80);
    const other = tcp4Frame(1, 81);
    const frames = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? web : other));
    const r = vm.run(frames);
    expect(r.verdicts.length).toBe(n);
    for (let i = 0; i < n; i += 997) expect(r.verdicts[i]).toBe(i % 3 === 0 ? 1 : 0);
    expect(r.verdicts.reduce((a, v) => a + v, 0)).toBe(n / 3);
  });

  it("splits batches by bytes too, and takes frames of any size", () => {
    const big = new Uint8Array(24 << 20);
    big.set(tcp4Frame(1, 80));
    const r = vm.run([big, tcp4Frame(1, 81), big, big]);
    expect([...r.verdicts]).toEqual([1, 0, 1, 1]);
  });

  it("accepts subarrays of shared buffers and Node Buffers", () => {
    const all = new Uint8Array(200);
    all.set(tcp4Frame(1, 80), 3);
    all.set(tcp4Frame(1, 81), 100);
    const r = vm.run([all.subarray(3, 63), all.subarray(100, 160), Buffer.from(tcp4Frame(1, 80))]);
    expect([...r.verdicts]).toEqual([1, 0, 1]);
  });

  it("runs a prepared batch repeatedly without copying it again", () => {
    const frames = [tcp4Frame(1, 80), tcp4Frame(1, 22)];
    const batch = vm.prepare(frames);
    expect([...vm.runPrepared(batch).verdicts]).toEqual([1, 0]);
    expect([...vm.runPrepared(batch, { cycles: true }).cycles!]).toEqual([11, 11]);
    vm.run(frames);
    expect(() => vm.runPrepared(batch)).toThrow("the prepared batch was overwritten");
  });
});

describe("the VM's own structural check (loadUnverified)", () => {
  const op = (mnemonic: string, first: string) => OPCODES.find((o) => o.mnemonic === mnemonic && o.operands[0] === first)!;
  const exit: RawInsn = encodeOperands(op("exit", "verdict"), [1]);
  const image = (code: RawInsn[], extra: Partial<ProgramImage> = {}): ProgramImage => ({ kind: "filter", tables: [], counters: 0, constants: [], code, ...extra });
  const vm = OverlayVM.createSync();
  const refused = (img: ProgramImage | Uint8Array) => {
    const r = vm.loadUnverified(img);
    return r.ok ? "accepted" : `${r.reason}${r.index !== undefined ? ` @${r.index}` : ""}`;
  };

  it("accepts a well-formed program", () => {
    expect(refused(image([exit]))).toBe("accepted");
  });

  it("refuses each kind of structural problem, naming the instruction", () => {
    const ja = (off: number): RawInsn => ({ op: 0x50, a: 0, b: 0, off: off & 0xffff, imm: 0 });
    expect(refused(image([]))).toMatch(/size/);
    expect(refused(image([{ op: 0xee, a: 0, b: 0, off: 0, imm: 0 }, exit]))).toBe("opcode 0xee: unknown opcode @0");
    expect(refused(image([exit, ja(-2), exit]))).toBe("jump backward or past the last instruction @1");
    expect(refused(image([ja(-1), exit]))).toBe("jump backward or past the last instruction @0");
    expect(refused(image([ja(5), exit]))).toBe("jump backward or past the last instruction @0");
    expect(refused(image([encodeOperands(op("mov", "rd"), [1, 2])]))).toBe("the last instruction falls through past the end @0");
    expect(refused(image([{ op: 0x40, a: 1, b: 0, off: 999, imm: 0 }, exit]))).toMatch(/bad field id.*@0/);
    expect(refused(image([{ op: 0x40, a: 1, b: 0, off: fieldId("ip6.src"), imm: 0 }, exit]))).toMatch(/too wide for ldf\) @0/);
    expect(refused(image([{ op: 0x71, a: 0, b: 0, off: fieldId("ip.src"), imm: 0 }, exit]))).toMatch(/not writable/);
    expect(refused(image([{ op: 0x80, a: 1, b: 0, off: 0, imm: 0 }, exit]))).toMatch(/table id not declared.*@0/);
    expect(refused(image([{ op: 0x81, a: 1, b: 0, off: 0, imm: 0 }, exit], { tables: [{ kind: "exact", keyFields: [fieldId("ip.src")], capacity: 4 }] }))).toMatch(/wrong kind/);
    expect(refused(image([{ op: 0x68, a: 0, b: 0, off: 0, imm: 3 }, exit], { counters: 3 }))).toMatch(/counter id not declared/);
    expect(refused(image([{ op: 0x44, a: 1, b: 0, off: 0, imm: 1 }, exit], { constants: [5n] }))).toMatch(/constant index/);
    expect(refused(image([{ op: 0x45, a: 1, b: 0, off: fieldId("ip.src"), imm: (33 << 16) | 0 }, exit], { constants: [5n] }))).toMatch(/prefix longer/);
    expect(refused(image([{ op: 0x41, a: 1, b: 0, off: 7, imm: 0 }, exit]))).toMatch(/memory base/);
    expect(refused(image([{ op: 0x60, a: 0, b: 0, off: 0, imm: 0x105 }]))).toMatch(/invalid verdict @0/);
    expect(refused(image([exit], { tables: [{ kind: "range", keyFields: [fieldId("ip.src"), fieldId("ip.dst")], capacity: 4 }] }))).toMatch(/^table t0: bad table declaration/);
    expect(refused(image([exit], { tables: [{ kind: "exact", keyFields: [fieldId("ip.src")], capacity: 0 }] }))).toMatch(/bad table declaration/);
    expect(refused(image([exit], { tables: [{ kind: "lpm", keyFields: [fieldId("ip6.src"), fieldId("l4.dport")], capacity: 4 }] }))).toMatch(/bad table declaration/);
  });

  it("refuses images that are not well-formed", () => {
    const bytes = encodeImage(image([exit]));
    expect(refused(bytes.subarray(0, 20))).toMatch(/size/);
    expect(refused(bytes.subarray(0, bytes.length - 1))).toMatch(/size/);
    const magic = bytes.slice();
    magic[0] = 0x58;
    expect(refused(magic)).toMatch(/not a kopi program image/);
    const version = bytes.slice();
    version[4] = 2;
    expect(refused(version)).toMatch(/not a kopi program image/);
    expect(refused(new Uint8Array(1 << 20))).toMatch(/size/);
    expect(() => vm.run([tcp4Frame()])).toThrow("no program is loaded");
  });
});

describe("the built module", () => {
  it("dispatches opcodes through a br_table (a sparse case range makes binaryen fall back to an if-chain)", () => {
    const wat = join(findPackageRoot(), "build", "overlay-vm.wat");
    if (!existsSync(wat)) throw new Error(`${wat} is missing: asconfig.json's textFile should write it on \`npm run build:wasm\``);
    const text = readFileSync(wat, "utf8");
    for (const loop of ["runLoop<u32>", "runLoop<u64>"]) {
      const start = text.indexOf(`(func $runtime/assembly/interp/${loop}`);
      expect(start, `${loop} in the module`).toBeGreaterThan(0);
      const end = text.indexOf("\n (func ", start + 1);
      expect(text.slice(start, end < 0 ? undefined : end), `${loop} has a br_table`).toContain("br_table");
    }
  });

  it("has no imports the bindings would have to provide beyond env.abort", () => {
    const mod = new WebAssembly.Module(readFileSync(wasmPath()));
    const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
    expect(imports.filter((i) => i !== "env.abort")).toEqual([]);
  });
});

describe("parseHeaders", () => {
  it("returns every field of the vector by name", () => {
    const vm = OverlayVM.createSync();
    const v = vm.parseHeaders(tcp4Frame(5, 6));
    expect(v.get("l4.dport")).toBe(6n);
    expect(v.get("meta.mark")).toBe(0n);
    expect(v.size).toBeGreaterThan(80);
  });
});
