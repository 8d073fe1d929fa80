/**
 * TypeScript bindings of the overlay VM (build/overlay-vm.wasm, built from runtime/assembly/). They hide the
 * VM's linear-memory layout (runtime/LAYOUT.md): programs are staged as KOPI images, frames are copied into a
 * batch area, and a whole batch runs in one Wasm call.
 *
 * The module is instantiated here with the plain WebAssembly API rather than the AssemblyScript-generated
 * bindings or @assemblyscript/loader: the VM's interface is numbers and pointers only (no strings, arrays or
 * managed objects to marshal), the generated ESM bindings instantiate at import time with top-level await —
 * which rules out a synchronous constructor, needed by the synchronous compileFilter() — and the loader is
 * deprecated. One compiled WebAssembly.Module serves every VM of the process; each VM gets its own instance
 * and memory.
 */
import { decodeImage, encodeImage, FIELDS, opcodeByCode, verify, type ProgramImage, type TableDecl, type VerifyError, type VerifyResult, type VerifyRule } from "../overlay-isa/index.js";
import { ProgramRejected, TableError, VMError } from "./errors.js";
import { describeTable, encodeEntry, keyWords, writeWords, type TableEntry } from "./table-entries.js";
import { overlayModule, overlayModuleSync } from "./wasm-module.js";

export { ProgramRejected, TableError, VMError } from "./errors.js";
export type { TableEntry } from "./table-entries.js";

export interface RunOptions {
  /** length of each packet on the wire (default: the frame's length, i.e. nothing was cut by a snaplen) */
  wireLengths?: readonly number[];
  /** DLT link type of every frame (default 1, Ethernet) */
  linktype?: number;
  /** NIC port the packets arrived on or leave by (pkt.port, default 0) */
  port?: number;
  /** 0 ingress, 1 egress (pkt.dir, default 0) */
  dir?: 0 | 1;
  /** also report each packet's cycle count (the sum of the executed instructions' cycles) */
  cycles?: boolean;
  /**
   * Owner of each packet as the NIC's connection table knows it (runtime/assembly/packet-input.ts): six u32 per
   * packet — app id, uid, gid, pid, command id, cgroup id. Without it no packet has a known owner.
   */
  owners?: Uint32Array;
  /** Timestamp of each packet in µs (token buckets, flow timeouts); without it every packet is at time 0. */
  timesUs?: Float64Array;
}

export interface BatchResult {
  /** verdict words (overlay-isa/verdicts.ts); a faulted packet's verdict is drop (0) */
  verdicts: Uint32Array;
  /** 1 where the packet faulted (bad raw load, zero divisor, invalid `exit ra` verdict, indexed counter out of range) */
  faults: Uint8Array;
  marks: Uint32Array;
  classes: Uint32Array;
  /** meta.prio of each packet */
  prios: Uint32Array;
  mirror: Uint8Array;
  cycles?: Uint32Array;
}

/** Result of loadUnverified: the VM's own structural check, without the TypeScript verifier. */
export type StructuralCheck = { ok: true } | { ok: false; reason: string; index?: number };

/** What the VM module exports (runtime/assembly/index.ts). Pointers are u32 and come back as i32. */
export interface VMExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  stagePointer(): number;
  stageCapacity(): number;
  loadProgram(length: number): number;
  loadErrorIndex(): number;
  implementsOpcode(op: number): number;
  programLoaded(): number;
  headerLevel(): number;
  writesMetadata(): number;
  prepareBatch(count: number, frameBytes: number): number;
  batchPointer(which: number): number;
  runBatch(count: number, linktype: number, withCycles: number): number;
  parseFirstFrame(caplen: number, wirelen: number, linktype: number, port: number, dir: number): number;
  counterCount(): number;
  counterPackets(): number;
  counterBytes(): number;
  resetCounters(): void;
  prepareSideInput(count: number, after: number): number;
  setFlowCapacity(n: number): number;
  flowCapacity(): number;
  flowCount(): number;
  flowOverflows(): bigint;
  resetFlowStats(): void;
  ctlKeyPointer(): number;
  ctlMaskPointer(): number;
  insertEntry(table: number, value: number, arg: number): number;
  deleteEntry(table: number, arg: number): number;
  clearTable(table: number): number;
  tableSize(table: number): number;
  lookup(table: number): bigint;
  /** address of the loaded program's table descriptors (the JIT's inline lookups read them) */
  tableDescriptors(): number;
  vectorPointer(): number;
  vectorSlots(): number;
  basesPointer(): number;
  parseFrame(frame: number, caplen: number, wirelen: number, linktype: number): void;
  packetSideInput(i: number, frame: number, cap: number, level: number): void;
  packetDone(verdict: number): void;
  limitAt(insn: number): bigint;
  /** a scheduler instruction of the loaded program on register values (runtime/assembly/index.ts; the JIT) */
  schedAt(insn: number, x: bigint, y: bigint): bigint;
  usesTime(): number;
  tracksFlows(): number;
  indexPcapRecords(at: number, end: number, snaplen: number, maxCaplen: number, maxCount: number): number;
  pcapStop(): number;
  pcapNext(): number;
  compactPcapRecords(count: number, to: number, snaplen: number, limit: number, filtered: number): number;
  pcapKept(): number;
}

/**
 * Runs a staged batch in place of the interpreter, with the interpreter's memory contract (runtime/LAYOUT.md):
 * the JIT tier installs one with useEngine(). Returns false when it cannot run (no program).
 */
export type BatchEngine = (count: number, linktype: number, withCycles: boolean) => boolean;

const BATCH = { descriptors: 0, verdicts: 1, marks: 2, classes: 3, prios: 4, cycles: 5, faults: 6, mirror: 7, frames: 8 } as const;

/** Frames per Wasm call and frame bytes per call (a larger batch is run in several calls). */
const CHUNK_PACKETS = 65536;
const CHUNK_BYTES = 64 << 20;

const LOAD_REASONS: Record<number, string> = {
  1: "not a kopi program image (magic, version or program kind)",
  2: "the image's size or declared counts are outside the overlay's limits",
  3: "bad table declaration",
  4: "unknown opcode",
  5: "jump backward or past the last instruction",
  6: "the last instruction falls through past the end",
  7: "bad field id (unknown, not writable, or too wide for ldf)",
  8: "table id not declared, or a lookup of the wrong kind",
  9: "counter id not declared",
  10: "constant index not in the pool, or prefix longer than the field",
  11: "memory base does not exist",
  12: "invalid verdict",
  13: "out of memory laying out the program's tables and counters",
  14: "the opcode is in the opcode table but this VM build gives it no semantics",
};
const LOAD_UNKNOWN_OPCODE = 4;
const LOAD_OUT_OF_MEMORY = 13;
const LOAD_UNIMPLEMENTED = 14;
/** The verifier rule closest to each VM refusal (for ProgramRejected). */
const LOAD_RULES: Record<number, VerifyRule> = {
  1: "too-large", 2: "too-large", 3: "bad-table-declaration", 4: "unknown-opcode", 5: "jump-out-of-range", 6: "falls-off-end",
  7: "bad-field", 8: "bad-table", 9: "bad-counter", 10: "bad-constant", 11: "bad-memory-base", 12: "bad-verdict", 14: "unknown-opcode",
};

function instantiate(mod: WebAssembly.Module): VMExports {
  const instance = new WebAssembly.Instance(mod, {
    env: {
      abort(): never {
        throw new VMError("the overlay VM aborted (internal error)");
      },
    },
  });
  const exports = instance.exports as unknown as VMExports;
  exports._initialize();
  return exports;
}

function checkInteger(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new VMError(`${what} must be an integer from 0 to ${max}, got ${v}`);
}

function emptyResult(n: number, withCycles: boolean): BatchResult {
  return {
    verdicts: new Uint32Array(n),
    faults: new Uint8Array(n),
    marks: new Uint32Array(n),
    classes: new Uint32Array(n),
    prios: new Uint32Array(n),
    mirror: new Uint8Array(n),
    ...(withCycles ? { cycles: new Uint32Array(n) } : {}),
  };
}

/**
 * A batch area the caller fills itself (prepareInPlace): it writes frames at `frames` and one 16-byte
 * descriptor per frame at `descriptors` (runtime/LAYOUT.md), then calls runInPlace. Addresses are byte offsets
 * into `memory`; they stay valid until the next run(), prepare(), prepareInPlace(), load() or parseHeaders().
 */
export interface InPlaceBatch {
  readonly maxCount: number;
  readonly frameBytes: number;
  readonly descriptors: number;
  readonly frames: number;
  /** u32 verdict per frame, written by runInPlace */
  readonly verdicts: number;
  readonly generation: number;
}

/** Why indexPcapRecords stopped: the next record is not all in [at, end), its captured length is over the
 *  maximum, or the batch is full (runtime/assembly/pcap-records.ts). */
export type PcapRecordStop = "need-bytes" | "bad-length" | "batch-full";
const PCAP_STOPS: readonly PcapRecordStop[] = ["need-bytes", "bad-length", "batch-full"];

export interface PcapRecordIndex {
  /** records described: descriptors [0, count) of the batch */
  count: number;
  /** frames-area offset of the first record not described */
  next: number;
  stop: PcapRecordStop;
}

/** Frames copied into the VM by prepare(), valid until the VM's batch area is reused. */
export interface PreparedBatch {
  readonly count: number;
  readonly generation: number;
}

export class OverlayVM {
  private readonly vm: VMExports;
  private program: ProgramImage | undefined;
  private tables: readonly TableDecl[] = [];
  /** bumped whenever the batch area is rewritten, so a stale PreparedBatch is refused */
  private generation = 0;
  /** runs staged batches instead of the interpreter until the next load (the JIT tier) */
  private engine: BatchEngine | undefined;

  private constructor(exports: VMExports) {
    this.vm = exports;
  }

  /** A VM with its own memory; the Wasm module is compiled once per process. */
  static async create(): Promise<OverlayVM> {
    return new OverlayVM(instantiate(await overlayModule()));
  }

  /** Same as create(), synchronously (for synchronous APIs such as compileFilter). */
  static createSync(): OverlayVM {
    return new OverlayVM(instantiate(overlayModuleSync()));
  }

  /** The VM module's raw exports, for the JIT tier and the workers (which share its memory layout). */
  get wasmExports(): VMExports {
    return this.vm;
  }

  /** Run later batches of the loaded program with `engine` (undefined: the interpreter); a load() drops it. */
  useEngine(engine: BatchEngine | undefined): void {
    this.requireProgram();
    this.engine = engine;
  }

  /** The VM's linear memory (the JIT tier imports it). Views of it detach when it grows: take them afresh. */
  get memory(): WebAssembly.Memory {
    return this.vm.memory;
  }

  /** 0: the loaded program reads no header field; 1: packet metadata only; 2: the parser runs per packet. */
  get headerLevel(): number {
    return this.vm.headerLevel();
  }

  /** Whether this VM build gives the opcode a meaning (programs using any other are refused at load time). */
  supportsOpcode(code: number): boolean {
    return Number.isInteger(code) && code >= 0 && code < 256 && this.vm.implementsOpcode(code) !== 0;
  }

  /** The loaded program, if any. */
  get loadedProgram(): ProgramImage | undefined {
    return this.program;
  }

  /**
   * Verify and load a program. Throws ProgramRejected with the verifier's errors when it is refused (the
   * previous program then stays loaded). Tables and counters of the new program start empty.
   */
  load(image: ProgramImage): VerifyResult {
    const result = verify(image);
    if (!result.ok) throw new ProgramRejected(result.errors, result);
    const check = this.loadBytes(encodeImage(image), image);
    if (!check.ok) {
      if (check.code === LOAD_OUT_OF_MEMORY) throw new VMError(check.reason);
      const error: VerifyError = { rule: LOAD_RULES[check.code] ?? "unknown-opcode", ...(check.index !== undefined ? { index: check.index } : {}), message: `the VM refused the program: ${check.reason}` };
      throw new ProgramRejected([error], result);
    }
    this.program = image;
    this.tables = image.tables.map((t) => ({ ...t, keyFields: [...t.keyFields] }));
    return result;
  }

  /**
   * Load without the TypeScript verifier: only the VM's own structural check stands between the image and the
   * interpreter (for tests and tools that probe that check). On refusal no program is loaded.
   */
  loadUnverified(image: ProgramImage | Uint8Array): StructuralCheck {
    let bytes: Uint8Array;
    let decoded: ProgramImage | undefined;
    if (image instanceof Uint8Array) {
      bytes = image;
      try {
        decoded = decodeImage(image);
      } catch {
        decoded = undefined;
      }
    } else {
      bytes = encodeImage(image);
      decoded = image;
    }
    const check = this.loadBytes(bytes, decoded);
    this.program = check.ok ? decoded : undefined;
    this.tables = check.ok && decoded ? decoded.tables.map((t) => ({ ...t, keyFields: [...t.keyFields] })) : [];
    return check.ok ? { ok: true } : { ok: false, reason: check.reason, ...(check.index !== undefined ? { index: check.index } : {}) };
  }

  private loadBytes(bytes: Uint8Array, image: ProgramImage | undefined): { ok: true } | { ok: false; code: number; reason: string; index?: number } {
    const vm = this.vm;
    this.program = undefined;
    this.tables = [];
    this.engine = undefined;
    this.generation++;
    if (bytes.length > vm.stageCapacity() >>> 0) {
      vm.loadProgram(0); // leaves no program loaded, like any refused load
      return { ok: false, code: 2, reason: LOAD_REASONS[2]! };
    }
    new Uint8Array(vm.memory.buffer, vm.stagePointer() >>> 0, bytes.length).set(bytes);
    const code = vm.loadProgram(bytes.length);
    if (code === 0) return { ok: true };
    const index = vm.loadErrorIndex();
    let reason = LOAD_REASONS[code] ?? `refused (code ${code})`;
    const insn = index >= 0 ? image?.code[index] : undefined;
    if (insn && (code === LOAD_UNKNOWN_OPCODE || code === LOAD_UNIMPLEMENTED)) {
      reason = `opcode 0x${insn.op.toString(16).padStart(2, "0")}${opcodeByCode(insn.op) ? ` (${opcodeByCode(insn.op)!.mnemonic})` : ""}: ${reason}`;
    }
    if (code === 3 && index >= 0) reason = `table t${index}: ${reason}`;
    return { ok: false, code, reason, ...(index >= 0 && code !== 3 ? { index } : {}) };
  }

  private requireProgram(): void {
    if (this.vm.programLoaded() === 0) throw new VMError("no program is loaded: call load(image) first");
  }

  // ---- tables --------------------------------------------------------------------------------------------

  private table(table: number): TableDecl {
    this.requireProgram();
    const decl = this.tables[table];
    if (!Number.isInteger(table) || decl === undefined) {
      throw new TableError(`table t${table} does not exist (the program declares ${this.tables.length} table${this.tables.length === 1 ? "" : "s"})`);
    }
    return decl;
  }

  private stage(decl: TableDecl, key: bigint, second: bigint): void {
    const words = keyWords(decl);
    const buf = this.vm.memory.buffer;
    writeWords(new BigUint64Array(buf, this.vm.ctlKeyPointer() >>> 0, 6), key, words);
    writeWords(new BigUint64Array(buf, this.vm.ctlMaskPointer() >>> 0, 6), second, words);
  }

  /** Insert an entry, or replace the value of the entry with the same identity. Throws TableError. */
  insertEntry(table: number, entry: TableEntry): void {
    const decl = this.table(table);
    const e = encodeEntry(table, decl, entry);
    this.stage(decl, e.key, e.second);
    const r = this.vm.insertEntry(table, e.value, e.arg);
    if (r === -1) throw new TableError(`${describeTable(table, decl)} is full`);
    if (r < 0) throw new TableError(`table t${table} does not exist in the VM`);
  }

  /** Delete the entry with this identity (its value is ignored); false when there is none. */
  deleteEntry(table: number, entry: TableEntry): boolean {
    const decl = this.table(table);
    const e = encodeEntry(table, decl, entry, true);
    this.stage(decl, e.key, e.second);
    const r = this.vm.deleteEntry(table, e.arg);
    if (r < 0) throw new TableError(`table t${table} does not exist in the VM`);
    return r === 1;
  }

  clearTable(table: number): void {
    this.table(table);
    this.vm.clearTable(table);
  }

  tableSize(table: number): number {
    this.table(table);
    return this.vm.tableSize(table);
  }

  // ---- counters ------------------------------------------------------------------------------------------

  counters(): { packets: BigUint64Array; bytes: BigUint64Array } {
    const n = this.vm.counterCount() >>> 0;
    const buf = this.vm.memory.buffer;
    return {
      packets: new BigUint64Array(buf, this.vm.counterPackets() >>> 0, n).slice(),
      bytes: new BigUint64Array(buf, this.vm.counterBytes() >>> 0, n).slice(),
    };
  }

  resetCounters(): void {
    this.vm.resetCounters();
  }

  // ---- running -------------------------------------------------------------------------------------------

  /** Run the loaded program over a batch of frames: one Wasm call per chunk of up to 65,536 frames. */
  run(frames: readonly Uint8Array[], opts: RunOptions = {}): BatchResult {
    this.requireProgram();
    const n = frames.length;
    const linktype = opts.linktype ?? 1;
    const port = opts.port ?? 0;
    const dir = opts.dir ?? 0;
    checkInteger("linktype", linktype, 0xffff);
    checkInteger("port", port, 0xffff);
    if (dir !== 0 && dir !== 1) throw new VMError(`dir must be 0 (ingress) or 1 (egress), got ${String(dir)}`);
    const wire = opts.wireLengths;
    if (wire !== undefined && wire.length !== n) throw new VMError(`wireLengths has ${wire.length} entries for ${n} frames`);
    const withCycles = opts.cycles === true;
    const result = emptyResult(n, withCycles);
    let start = 0;
    while (start < n) {
      let end = start;
      let bytes = 0;
      while (end < n && end - start < CHUNK_PACKETS) {
        const f = frames[end];
        if (!(f instanceof Uint8Array)) throw new VMError(`frame ${end} is not a Uint8Array`);
        if (end > start && bytes + f.length > CHUNK_BYTES) break;
        bytes += f.length;
        end++;
      }
      this.stageChunk(frames, start, end, wire, port | (dir << 16));
      if (opts.owners !== undefined || opts.timesUs !== undefined) this.stageSideInput(frames, start, end, opts);
      this.generation++;
      this.runStaged(end - start, start, linktype, withCycles, result);
      start = end;
    }
    return result;
  }

  /** Copy frames [start, end) into the batch area and write their descriptors. */
  private stageChunk(frames: readonly Uint8Array[], start: number, end: number, wire: readonly number[] | undefined, portDir: number): void {
    const vm = this.vm;
    const count = end - start;
    let total = 0;
    for (let i = start; i < end; i++) total += frames[i]!.length;
    const framesPtr = vm.prepareBatch(count, total) >>> 0;
    if (framesPtr === 0) throw new VMError(`out of memory for a batch of ${count} frames (${total} bytes)`);
    const buf = vm.memory.buffer;
    const mem = new Uint8Array(buf);
    const desc = new Uint32Array(buf, vm.batchPointer(BATCH.descriptors) >>> 0, count * 4);
    // one TypedArray.set per frame: cheaper than detecting frames that share a buffer (the .buffer getter
    // of a subarray costs more than copying a small frame)
    let at = 0;
    for (let i = 0; i < count; i++) {
      const f = frames[start + i]!;
      const len = f.length;
      const w = wire === undefined ? len : wire[start + i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffff_ffff) throw new VMError(`wire length ${w} of frame ${start + i} is not a packet length`);
      mem.set(f, framesPtr + at);
      const d = 4 * i;
      desc[d] = at;
      desc[d + 1] = len;
      desc[d + 2] = w;
      desc[d + 3] = portDir;
      at += len;
    }
  }

  /** Write the owner and time records of frames [start, end) after the staged frames. */
  private stageSideInput(frames: readonly Uint8Array[], start: number, end: number, opts: RunOptions): void {
    const vm = this.vm;
    const count = end - start;
    if (opts.owners !== undefined && opts.owners.length !== 6 * frames.length) throw new VMError(`owners has ${opts.owners.length} entries for ${frames.length} frames (6 per frame)`);
    if (opts.timesUs !== undefined && opts.timesUs.length !== frames.length) throw new VMError(`timesUs has ${opts.timesUs.length} entries for ${frames.length} frames`);
    let total = 0;
    for (let i = start; i < end; i++) total += frames[i]!.length;
    const ptr = vm.prepareSideInput(count, (vm.batchPointer(BATCH.frames) >>> 0) + total) >>> 0;
    if (ptr === 0) throw new VMError(`out of memory for the side input of ${count} frames`);
    const words = new Uint32Array(vm.memory.buffer, ptr, count * 8);
    const times = new BigUint64Array(vm.memory.buffer, ptr, count * 4);
    for (let i = 0; i < count; i++) {
      const o = opts.owners;
      if (o) words.set(o.subarray(6 * (start + i), 6 * (start + i) + 6), 8 * i);
      else words.set([0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0], 8 * i);
      times[4 * i + 3] = BigInt(Math.max(0, Math.floor(opts.timesUs?.[start + i] ?? 0)));
    }
  }

  // ---- flow table (runtime/assembly/conntrack.ts) ----------------------------------------------------------

  /** Capacity of the flow table that `ct state` uses, in flows; the table is emptied. */
  setFlowCapacity(flows: number): void {
    checkInteger("flow capacity", flows, 0x1000_0000);
    if (flows < 1) throw new VMError("the flow table needs room for at least one flow");
    if (this.vm.setFlowCapacity(flows) === 0) throw new VMError(`out of memory for a flow table of ${flows} flows`);
  }

  /** Flows tracked now, the capacity, and packets that found the table full (see conntrack.ts). */
  flowStats(): { flows: number; capacity: number; overflows: bigint } {
    return { flows: this.vm.flowCount() >>> 0, capacity: this.vm.flowCapacity() >>> 0, overflows: BigInt.asUintN(64, this.vm.flowOverflows()) };
  }

  /** Run the staged chunk and copy its results to out[start …]. */
  private runStaged(count: number, start: number, linktype: number, withCycles: boolean, out: BatchResult): void {
    const vm = this.vm;
    const ran = this.engine ? this.engine(count, linktype, withCycles) : vm.runBatch(count, linktype, withCycles ? 1 : 0) !== 0;
    if (!ran) throw new VMError("no program is loaded: call load(image) first");
    const buf = vm.memory.buffer;
    const view32 = (which: number) => new Uint32Array(buf, vm.batchPointer(which) >>> 0, count);
    const view8 = (which: number) => new Uint8Array(buf, vm.batchPointer(which) >>> 0, count);
    out.verdicts.set(view32(BATCH.verdicts), start);
    out.faults.set(view8(BATCH.faults), start);
    if (vm.writesMetadata() !== 0) {
      // otherwise the VM leaves these untouched and they stay 0 here
      out.marks.set(view32(BATCH.marks), start);
      out.classes.set(view32(BATCH.classes), start);
      out.prios.set(view32(BATCH.prios), start);
      out.mirror.set(view8(BATCH.mirror), start);
    }
    if (out.cycles) out.cycles.set(view32(BATCH.cycles), start);
  }

  /**
   * Copy a batch into the VM once to run it several times with runPrepared() (benchmarks, replays): the
   * frames stay in VM memory until the next run(), prepare(), load() or parseHeaders(). At most 65,536 frames.
   */
  prepare(frames: readonly Uint8Array[], opts: Pick<RunOptions, "wireLengths" | "port" | "dir"> = {}): PreparedBatch {
    const n = frames.length;
    if (n > CHUNK_PACKETS) throw new VMError(`prepare() takes at most ${CHUNK_PACKETS} frames, got ${n}`);
    const port = opts.port ?? 0;
    const dir = opts.dir ?? 0;
    checkInteger("port", port, 0xffff);
    if (dir !== 0 && dir !== 1) throw new VMError(`dir must be 0 (ingress) or 1 (egress), got ${String(dir)}`);
    if (opts.wireLengths !== undefined && opts.wireLengths.length !== n) throw new VMError(`wireLengths has ${opts.wireLengths.length} entries for ${n} frames`);
    for (let i = 0; i < n; i++) if (!(frames[i] instanceof Uint8Array)) throw new VMError(`frame ${i} is not a Uint8Array`);
    this.stageChunk(frames, 0, n, opts.wireLengths, port | (dir << 16));
    const batch: PreparedBatch = { count: n, generation: ++this.generation };
    return batch;
  }

  /**
   * Reserve a batch area for up to `maxCount` frames in `frameBytes` bytes that the caller writes straight into
   * VM memory (e.g. a capture file read into `frames`), so no frame is copied. Take memory views after this call.
   */
  prepareInPlace(maxCount: number, frameBytes: number): InPlaceBatch {
    checkInteger("batch size", maxCount, CHUNK_PACKETS);
    checkInteger("frame bytes", frameBytes, 0x7fff_ffff);
    const vm = this.vm;
    this.generation++;
    const frames = vm.prepareBatch(maxCount, frameBytes) >>> 0;
    if (frames === 0) throw new VMError(`out of memory for a batch of ${maxCount} frames (${frameBytes} bytes)`);
    return {
      maxCount,
      frameBytes,
      descriptors: vm.batchPointer(BATCH.descriptors) >>> 0,
      frames,
      verdicts: vm.batchPointer(BATCH.verdicts) >>> 0,
      generation: this.generation,
    };
  }

  /**
   * Run the loaded program over the first `count` descriptors the caller wrote into an InPlaceBatch; the
   * verdicts are left at `batch.verdicts` (faults and metadata are not reported). Frame offsets and lengths are
   * the caller's to get right: the VM bounds every load by the descriptor's caplen, not by the frames area.
   */
  runInPlace(batch: InPlaceBatch, count: number, linktype = 1): void {
    this.requireProgram();
    if (batch.generation !== this.generation) throw new VMError("the in-place batch was overwritten by a later run(), prepare(), load() or parseHeaders()");
    checkInteger("frame count", count, batch.maxCount);
    checkInteger("linktype", linktype, 0xffff);
    if (count === 0) return;
    const ran = this.engine ? this.engine(count, linktype, false) : this.vm.runBatch(count, linktype, 0) !== 0;
    if (!ran) throw new VMError("no program is loaded: call load(image) first");
  }

  /**
   * Describe the classic pcap records (16-byte little-endian header, then the captured bytes) that lie whole in
   * [at, end) of an in-place batch's frames area (offsets into that area), at most batch.maxCount: each gets a
   * descriptor with its captured length cut to `snapshotLength`, as libpcap reads it. Stops early at a record
   * whose captured length exceeds `maxCaplen`. runInPlace() then filters them.
   */
  indexPcapRecords(batch: InPlaceBatch, at: number, end: number, snapshotLength: number, maxCaplen: number): PcapRecordIndex {
    this.checkInPlace(batch);
    checkInteger("end", end, batch.frameBytes);
    checkInteger("start", at, end);
    checkInteger("snapshot length", snapshotLength, 0xffff_ffff);
    checkInteger("maximum captured length", maxCaplen, 0xffff_ffff);
    const count = this.vm.indexPcapRecords(at, end, snapshotLength, maxCaplen, batch.maxCount) >>> 0;
    return { count, next: this.vm.pcapNext() >>> 0, stop: PCAP_STOPS[this.vm.pcapStop()]! };
  }

  /**
   * Move the records of the first `count` descriptors (from indexPcapRecords) that are kept — verdict 1 from
   * runInPlace when `filtered`, else all — down to offset `to` in order, at most `limit` of them, cutting any
   * longer than `snapshotLength` to it (captured length rewritten). Returns the offset after them and how many.
   */
  compactPcapRecords(batch: InPlaceBatch, count: number, to: number, snapshotLength: number, limit: number, filtered: boolean): { end: number; kept: number } {
    this.checkInPlace(batch);
    checkInteger("record count", count, batch.maxCount);
    checkInteger("destination", to, batch.frameBytes);
    checkInteger("snapshot length", snapshotLength, 0xffff_ffff);
    if (!(limit >= 0) || (limit !== Number.POSITIVE_INFINITY && !Number.isInteger(limit))) throw new VMError(`limit must be a whole number ≥ 0 or Infinity, got ${limit}`);
    const end = this.vm.compactPcapRecords(count, to, snapshotLength, Math.min(limit, 0xffff_ffff), filtered ? 1 : 0) >>> 0;
    return { end, kept: this.vm.pcapKept() >>> 0 };
  }

  private checkInPlace(batch: InPlaceBatch): void {
    if (batch.generation !== this.generation) throw new VMError("the in-place batch was overwritten by a later run(), prepare(), load() or parseHeaders()");
  }

  /** Run the loaded program over a batch prepare() copied in. */
  runPrepared(batch: PreparedBatch, opts: Pick<RunOptions, "linktype" | "cycles"> = {}): BatchResult {
    this.requireProgram();
    if (batch.generation !== this.generation) throw new VMError("the prepared batch was overwritten by a later run(), prepare(), load() or parseHeaders()");
    const linktype = opts.linktype ?? 1;
    checkInteger("linktype", linktype, 0xffff);
    const result = emptyResult(batch.count, opts.cycles === true);
    if (batch.count > 0) this.runStaged(batch.count, 0, linktype, opts.cycles === true, result);
    return result;
  }

  /** The parsed-header vector of one frame, by field name (128-bit fields as one value), for tests and tools. */
  parseHeaders(frame: Uint8Array, wireLength: number = frame.length, linktype = 1): Map<string, bigint> {
    checkInteger("linktype", linktype, 0xffff);
    checkInteger("wire length", wireLength, 0xffff_ffff);
    const vm = this.vm;
    this.generation++;
    const framesPtr = vm.prepareBatch(1, frame.length) >>> 0;
    if (framesPtr === 0) throw new VMError(`out of memory for a frame of ${frame.length} bytes`);
    new Uint8Array(vm.memory.buffer).set(frame, framesPtr);
    const vec = new BigUint64Array(vm.memory.buffer, vm.parseFirstFrame(frame.length, wireLength, linktype, 0, 0) >>> 0, vm.vectorSlots());
    const out = new Map<string, bigint>();
    for (const f of FIELDS) out.set(f.name, f.slots === 2 ? (vec[f.slot]! << 64n) | vec[f.slot + 1]! : vec[f.slot]!);
    return out;
  }
}
