/**
 * Runs a VM's loaded program on the JIT tier: instantiates the compiled module against that VM's memory,
 * parser and table lookup, and installs it as the VM's batch engine, so OverlayVM.run() and runPrepared() —
 * and everything built on them — execute JIT code with the interpreter's memory contract. The cycle-counting
 * variant is compiled the first time a run asks for cycles.
 */
import type { ProgramImage } from "../../overlay-isa/index.js";
import type { OverlayVM, VMExports } from "../vm.js";
import { compileJit, jitKey, type CompiledJit } from "./compiler.js";
import { JitError } from "./errors.js";
import type { VmLayout } from "./translate.js";

type RunFunction = (
  count: number, linktype: number, desc: number, frames: number, resVerdict: number, resFault: number, resCycles: number,
  resMark: number, resClass: number, resPrio: number, resMirror: number, ctrPackets: number, ctrBytes: number,
) => void;

/** The fixed addresses of a VM build the JIT compiles against. */
export function vmLayout(vm: OverlayVM): VmLayout {
  const x = vm.wasmExports;
  return { vector: x.vectorPointer() >>> 0, bases: x.basesPointer() >>> 0 };
}

export class JitRunner {
  private readonly x: VMExports;
  private readonly layout: VmLayout;
  private plainRun: RunFunction;
  private cyclesRun: RunFunction | undefined;
  /** compile figures of the plain variant */
  readonly compiled: CompiledJit;
  /** the address of the VM's table descriptors, set before each batch (a program load moves them) */
  private readonly tables = new WebAssembly.Global({ value: "i32", mutable: true }, 0);

  private constructor(
    private readonly vm: OverlayVM,
    readonly image: ProgramImage,
    compiled: CompiledJit,
  ) {
    this.x = vm.wasmExports;
    this.layout = vmLayout(vm);
    this.compiled = compiled;
    // the JIT derives the per-packet setup from the image the way the loader does; a disagreement is a bug
    const mine = compiled.plan;
    const vms = { headerLevel: this.x.headerLevel(), writesMeta: this.x.writesMetadata() !== 0, usesTime: this.x.usesTime() !== 0, tracksFlows: this.x.tracksFlows() !== 0 };
    if (mine.headerLevel !== vms.headerLevel || mine.writesMeta !== vms.writesMeta || mine.usesTime !== vms.usesTime || mine.tracksFlows !== vms.tracksFlows) {
      const show = (p: typeof vms) => `level ${p.headerLevel}, metadata ${p.writesMeta}, time ${p.usesTime}, flows ${p.tracksFlows}`;
      throw new JitError(`internal: the JIT's per-packet setup (${show(mine)}) disagrees with the VM's (${show(vms)})`);
    }
    this.plainRun = this.instantiate(compiled);
  }

  /**
   * Compile (or take from the cache) the program loaded in `vm` and make the VM run it on the JIT tier until
   * the next load. Throws JitUnsupported for a program the JIT does not translate — the VM then keeps using the
   * interpreter, and the caller decides whether that is acceptable.
   */
  static attach(vm: OverlayVM, precompiled?: CompiledJit): JitRunner {
    const image = vm.loadedProgram;
    if (!image) throw new JitError("no program is loaded: load one before attaching the JIT");
    if (precompiled && precompiled.key !== jitKey(image, vmLayout(vm), precompiled.cycles)) throw new JitError("internal: the precompiled JIT module is not the loaded program's");
    const compiled = precompiled ?? compileJit(image, vmLayout(vm));
    const runner = new JitRunner(vm, image, compiled);
    vm.useEngine((count, linktype, withCycles) => runner.runStaged(count, linktype, withCycles));
    return runner;
  }

  private instantiate(compiled: CompiledJit): RunFunction {
    const x = this.x;
    const imports: WebAssembly.Imports = { env: { memory: x.memory } };
    const vmImports: Record<string, WebAssembly.ImportValue> = {};
    if (compiled.plan.headerLevel === 2) vmImports.parseFrame = x.parseFrame as unknown as WebAssembly.ImportValue;
    if (compiled.plan.usesLookup) {
      vmImports.lookup = x.lookup as unknown as WebAssembly.ImportValue;
      vmImports.tables = this.tables; // inline lookups (emit-lookup.ts) read the table descriptors from here
    }
    if (compiled.plan.headerLevel === 2 || compiled.plan.usesTime) vmImports.packetSideInput = x.packetSideInput as unknown as WebAssembly.ImportValue;
    if (compiled.plan.tracksFlows) vmImports.packetDone = x.packetDone as unknown as WebAssembly.ImportValue;
    if (compiled.plan.usesTime) vmImports.limitAt = x.limitAt as unknown as WebAssembly.ImportValue;
    if (compiled.plan.usesSched) vmImports.schedAt = x.schedAt as unknown as WebAssembly.ImportValue;
    imports.vm = vmImports;
    const instance = new WebAssembly.Instance(compiled.module, imports);
    return instance.exports.run as unknown as RunFunction;
  }

  /** True while the VM still has this runner's program loaded. */
  get current(): boolean {
    return this.vm.loadedProgram === this.image;
  }

  /**
   * Run the batch staged in the VM (OverlayVM.run/prepare, or a caller writing the batch area itself through
   * wasmExports.prepareBatch): `count` packets from the first descriptor, results in the batch's arrays.
   * `count` must not exceed the staged batch (the caller staged it). False when the VM has another program.
   */
  runStaged(count: number, linktype: number, withCycles: boolean): boolean {
    if (!this.current) return false;
    const x = this.x;
    let run = this.plainRun;
    if (withCycles) {
      this.cyclesRun ??= this.instantiate(compileJit(this.image, this.layout, { cycles: true }));
      run = this.cyclesRun;
    }
    this.tables.value = x.tableDescriptors();
    run(count, linktype, x.batchPointer(0), x.batchPointer(8), x.batchPointer(1), x.batchPointer(6), x.batchPointer(5), x.batchPointer(2), x.batchPointer(3), x.batchPointer(4), x.batchPointer(7), x.counterPackets(), x.counterBytes());
    return true;
  }

  /** Go back to the interpreter for this VM. */
  detach(): void {
    if (this.current) this.vm.useEngine(undefined);
  }
}
