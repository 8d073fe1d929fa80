/**
 * The kopi NIC: a device whose only host interface is 32-bit register access to BAR0 (read32/write32, decoded
 * per fpga-model/REGISTERS.md) plus its packet ports (receive traffic, read the capture ring, read an
 * application's receive ring). Everything the host configures — programs, tables, queues, the capture ring —
 * goes through registers; an invalid access is refused with an error code and changes nothing.
 *
 * Two program slots with generations: an upload goes to the shadow slot, COMMIT makes it active atomically.
 * Every packet latches the active generation (and slot) when it enters the receive FIFO and is judged wholly by
 * that program, however many commits happen before it is processed; the shadow slot is only reused (RESET)
 * after its in-flight packets are done.
 */
import { CONSTANT_BYTES, HEADER_BYTES, LIMITS, TABLE_DECL_BYTES, TABLE_KINDS, VERDICT_KIND, WORD_BYTES } from "../overlay-isa/index.js";
import { OverlayVM, TableError, type BatchResult, type TableEntry } from "../runtime/vm.js";
import { AppQueues } from "./app-queues.js";
import { CaptureRing } from "./capture-ring.js";
import { DISPOSITION, emptyOutcome, type AppNotification, type AppRecord, type BatchOutcome, type CaptureRecord, type PacketBatch } from "./packets.js";
import { ProgramSlot } from "./program-slot.js";
import {
  APP_PAGE_BASE,
  APP_PAGE_SIZE,
  APP_PAGES,
  APP_REG,
  appRegisterAt,
  BAR0_SIZE,
  CAP_CTRL,
  CAPS,
  CNT_CMD,
  CNT_SELECT_SHADOW,
  DEVICE_ID,
  ERR,
  FLOW_CMD,
  kernelRegisterAt,
  MAP_VERSION,
  PROG_CMD,
  PROG_STATE,
  STATS,
  STATUS,
  TABLE_KEY_WORDS,
  TBL_CMD,
  TBL_RESULT,
  TBL_SELECT_SHADOW,
  type StatName,
} from "./registers.js";
import { DEFAULT_CLOCK_MHZ, DEFAULT_CORES, DEFAULT_TABLE_BLOCKS } from "./timing.js";
import { encodeEntry, keyBits } from "../runtime/table-entries.js";

/** The host kernel's requester id; applications use their app id (1 … APP_PAGES-1). */
export const KERNEL = 0;

export interface NicConfig {
  clockMHz?: number;
  cores?: number;
  /** table memory budget of a slot, RAMB36 blocks */
  tableBlocks?: number;
  captureSlots?: number;
  /** receive-ring entries of each application */
  appRingSlots?: number;
  flowCapacity?: number;
}

/** Bad traffic handed to a packet port (not a register error: the port refuses the whole batch). */
export class PacketPortError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PacketPortError";
  }
}

const IMAGE_MAX_BYTES = HEADER_BYTES + LIMITS.tables * TABLE_DECL_BYTES + LIMITS.constants * CONSTANT_BYTES + LIMITS.instructionMemory * WORD_BYTES;
const MAX_SNAPLEN = 262144;
const MAX_FLOW_CAPACITY = 1 << 24;
const CHUNK = 4096;
const U32 = 0x1_0000_0000;

interface Submission {
  batch: PacketBatch;
  /** slot latched at entry (undefined: no program was active — packets pass) */
  slot: ProgramSlot | undefined;
  generation: number;
  timesUs: Float64Array;
  next: number;
  outcome: BatchOutcome;
  onDone: ((outcome: BatchOutcome) => void) | undefined;
}

export class NicDevice {
  readonly clockMHz: number;
  readonly cores: number;
  readonly tableBlocks: number;
  private readonly slots: [ProgramSlot, ProgramSlot];
  private activeIndex = 0;
  private lastGeneration = 0;
  private readonly capture: CaptureRing;
  private readonly apps: AppQueues;
  private readonly fifo: Submission[] = [];
  private readonly stats = new Map<StatName, number>(STATS.map(([n]) => [n, 0]));
  private readonly internalErrors: unknown[] = [];
  private latched: number[] = STATS.map(() => 0);
  private flowCapacity: number;

  // registers with plain storage
  private scratch = 0;
  private errorCode = 0;
  private errorArg0 = 0;
  private errorArg1 = 0;
  private errorCount = 0;
  private progLength = 0;
  private progAddr = 0;
  private written: Uint8Array | undefined;
  private tblSelect = 0;
  private tblArg = 0;
  private tblValue = 0;
  private tblResult = 0;
  private readonly tblKey = new Uint32Array(TABLE_KEY_WORDS);
  private readonly tblMask = new Uint32Array(TABLE_KEY_WORDS);
  private cntSelect = 0;
  private cntCursor = 0;
  private capCtrl: number = CAP_CTRL.MIRROR;
  private snaplen = MAX_SNAPLEN;
  private queueSelect = 0;

  private constructor(vms: [OverlayVM, OverlayVM], config: NicConfig) {
    this.clockMHz = config.clockMHz ?? DEFAULT_CLOCK_MHZ;
    this.cores = config.cores ?? DEFAULT_CORES;
    this.tableBlocks = config.tableBlocks ?? DEFAULT_TABLE_BLOCKS;
    this.slots = [new ProgramSlot(0, vms[0]), new ProgramSlot(1, vms[1])];
    this.capture = new CaptureRing(config.captureSlots ?? 4096);
    this.apps = new AppQueues(APP_PAGES, config.appRingSlots ?? 1024);
    this.flowCapacity = config.flowCapacity ?? 65536;
    for (const s of this.slots) s.vm.setFlowCapacity(this.flowCapacity);
  }

  static async create(config: NicConfig = {}): Promise<NicDevice> {
    return new NicDevice([await OverlayVM.create(), await OverlayVM.create()], config);
  }

  static createSync(config: NicConfig = {}): NicDevice {
    return new NicDevice([OverlayVM.createSync(), OverlayVM.createSync()], config);
  }

  private get active(): ProgramSlot {
    return this.slots[this.activeIndex]!;
  }

  private get shadow(): ProgramSlot {
    return this.slots[1 - this.activeIndex]!;
  }

  private get activeGeneration(): number {
    return this.active.generation;
  }

  // ================================================================== MMIO

  /** Record a refused access: the last error's code and details, and the count. Returns false. */
  private fail(code: number, arg0 = 0, arg1 = 0): false {
    this.errorCode = code;
    this.errorArg0 = arg0 >>> 0;
    this.errorArg1 = arg1 >>> 0;
    this.errorCount = (this.errorCount + 1) >>> 0;
    return false;
  }

  /** An application's refused access: counted in its page, and as a privilege violation when it left the page. */
  private appViolation(app: number, privilege: boolean): false {
    this.apps.app(app).violations++;
    if (privilege) this.bump("privilege_violations");
    return false;
  }

  private static validOffset(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < BAR0_SIZE && (offset & 3) === 0;
  }

  read32(offset: number, requester = KERNEL): number {
    if (requester !== KERNEL) return this.appRead(offset, requester);
    if (!NicDevice.validOffset(offset)) {
      this.fail(ERR.BAD_OFFSET, offset);
      return 0xffffffff;
    }
    if (offset >= APP_PAGE_BASE) {
      const app = Math.floor((offset - APP_PAGE_BASE) / APP_PAGE_SIZE);
      const rel = (offset - APP_PAGE_BASE) % APP_PAGE_SIZE;
      const spec = appRegisterAt(rel);
      if (app === 0 || !spec) {
        this.fail(ERR.BAD_OFFSET, offset);
        return 0xffffffff;
      }
      return this.readAppRegister(app, rel);
    }
    const hit = kernelRegisterAt(offset);
    if (!hit) {
      this.fail(ERR.BAD_OFFSET, offset);
      return 0xffffffff;
    }
    if (hit.spec.access === "wo") {
      this.fail(ERR.WRITE_ONLY, offset);
      return 0;
    }
    return this.readKernel(hit.spec.name, hit.word) >>> 0;
  }

  /** Write a register; false when the device refused it (the error registers say why). */
  write32(offset: number, value: number, requester = KERNEL): boolean {
    if (requester !== KERNEL) return this.appWrite(offset, value, requester);
    if (!NicDevice.validOffset(offset)) return this.fail(ERR.BAD_OFFSET, offset);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) return this.fail(ERR.BAD_VALUE, offset, value | 0);
    if (offset >= APP_PAGE_BASE) {
      const app = Math.floor((offset - APP_PAGE_BASE) / APP_PAGE_SIZE);
      const rel = (offset - APP_PAGE_BASE) % APP_PAGE_SIZE;
      const spec = appRegisterAt(rel);
      if (app === 0 || !spec) return this.fail(ERR.BAD_OFFSET, offset);
      if (spec.access === "ro") return this.fail(ERR.READ_ONLY, offset);
      return this.writeAppRegister(app, rel, value) || this.fail(ERR.BAD_VALUE, offset, value);
    }
    const hit = kernelRegisterAt(offset);
    if (!hit) return this.fail(ERR.BAD_OFFSET, offset);
    if (hit.spec.access === "ro") return this.fail(ERR.READ_ONLY, offset);
    return this.writeKernel(hit.spec.name, hit.word, offset, value);
  }

  // ---- application requesters ------------------------------------------------------------------------

  private pageOf(offset: number, app: number): number | undefined {
    if (!NicDevice.validOffset(offset)) return undefined;
    const base = APP_PAGE_BASE + app * APP_PAGE_SIZE;
    return offset >= base && offset < base + APP_PAGE_SIZE ? offset - base : undefined;
  }

  private appRead(offset: number, app: number): number {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) return 0xffffffff;
    const rel = this.pageOf(offset, app);
    if (rel === undefined) {
      this.appViolation(app, true);
      return 0xffffffff;
    }
    if (!appRegisterAt(rel)) {
      this.appViolation(app, false);
      return 0xffffffff;
    }
    return this.readAppRegister(app, rel);
  }

  private appWrite(offset: number, value: number, app: number): boolean {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) return false;
    const rel = this.pageOf(offset, app);
    if (rel === undefined) return this.appViolation(app, true);
    const spec = appRegisterAt(rel);
    if (!spec || spec.access === "ro" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) return this.appViolation(app, false);
    return this.writeAppRegister(app, rel, value) || this.appViolation(app, false);
  }

  private readAppRegister(app: number, rel: number): number {
    const a = this.apps.app(app);
    switch (rel) {
      case APP_REG.APP_ID:
        return app;
      case APP_REG.APP_RX_HEAD:
        return a.rx.head % U32;
      case APP_REG.APP_RX_TAIL:
        return a.rx.tail % U32;
      case APP_REG.APP_RX_DROPS:
        return a.rx.drops % U32;
      case APP_REG.APP_NOTIFY_HEAD:
        return a.notify.head % U32;
      case APP_REG.APP_NOTIFY_TAIL:
        return a.notify.tail % U32;
      case APP_REG.APP_VIOLATIONS:
        return a.violations % U32;
      case APP_REG.APP_ACTIVE_GEN:
        return this.activeGeneration;
      default:
        return 0;
    }
  }

  private writeAppRegister(app: number, rel: number, value: number): boolean {
    const a = this.apps.app(app);
    const ring = rel === APP_REG.APP_RX_TAIL ? a.rx : rel === APP_REG.APP_NOTIFY_TAIL ? a.notify : undefined;
    if (!ring) return false;
    const to = ringIndex(value, ring.tail, ring.head);
    if (to === undefined) return false;
    ring.release(to);
    return true;
  }

  // ---- kernel registers --------------------------------------------------------------------------------

  private readKernel(name: string, word: number): number {
    const sel = this.selectedTable();
    switch (name) {
      case "ID":
        return DEVICE_ID;
      case "VERSION":
        return MAP_VERSION;
      case "CAPS":
        return CAPS.EXACT | CAPS.LPM | CAPS.RANGE | CAPS.TERNARY | CAPS.FLOW_TABLE | CAPS.CAPTURE_RING | CAPS.APP_PAGES | CAPS.TRACE_PORT | CAPS.ROLLBACK;
      case "CLOCK_MHZ":
        return this.clockMHz;
      case "CORES":
        return this.cores;
      case "INSN_MEM_WORDS":
        return LIMITS.instructionMemory;
      case "MAX_TABLES":
        return LIMITS.tables;
      case "MAX_COUNTERS":
        return LIMITS.counters;
      case "TABLE_MEM_BLOCKS":
        return this.tableBlocks;
      case "IMAGE_MAX_BYTES":
        return IMAGE_MAX_BYTES;
      case "APP_PAGES":
        return APP_PAGES;
      case "QUEUES":
        return LIMITS.queues;
      case "CAPTURE_SLOTS":
        return this.capture.capacity;
      case "SCRATCH":
        return this.scratch;
      case "STATUS": {
        let s = 0;
        if (this.activeGeneration > 0) s |= STATUS.ACTIVE;
        if (this.shadow.state === PROG_STATE.VERIFIED) s |= STATUS.SHADOW_LOADED;
        if (this.shadow.state === PROG_STATE.PREVIOUS) s |= STATUS.PREVIOUS;
        if (this.errorCode !== ERR.NONE) s |= STATUS.ERROR;
        if (this.inflight() > 0) s |= STATUS.INFLIGHT;
        return s;
      }
      case "ERROR_CODE":
        return this.errorCode;
      case "ERROR_ARG0":
        return this.errorArg0;
      case "ERROR_ARG1":
        return this.errorArg1;
      case "ERROR_COUNT":
        return this.errorCount;
      case "ACTIVE_GEN":
        return this.activeGeneration;
      case "ACTIVE_SLOT":
        return this.activeIndex;
      case "PREVIOUS_GEN":
        return this.shadow.state === PROG_STATE.PREVIOUS ? this.shadow.generation : 0;
      case "INFLIGHT":
        return this.inflight();
      case "PROG_LENGTH":
        return this.progLength;
      case "PROG_ADDR":
        return this.progAddr;
      case "PROG_STATE":
        return this.shadow.state;
      case "PROG_CRC":
        return this.shadow.crc;
      case "PROG_WORST_CYCLES":
        return this.shadow.worstCaseCycles;
      case "PROG_REJECT_INDEX":
        return this.shadow.rejectIndex;
      case "PROG_REJECT_RULE":
        return this.shadow.rejectRule;
      case "ACTIVE_CRC":
        return this.activeGeneration > 0 ? this.active.crc : 0;
      case "ACTIVE_WORST_CYCLES":
        return this.activeGeneration > 0 ? this.active.worstCaseCycles : 0;
      case "ACTIVE_INSNS":
        return this.active.image?.code.length ?? 0;
      case "ACTIVE_TABLES":
        return this.active.image?.tables.length ?? 0;
      case "ACTIVE_COUNTERS":
        return this.active.image?.counters ?? 0;
      case "ACTIVE_TABLE_BLOCKS":
        return this.activeGeneration > 0 ? this.active.tableBlocks : 0;
      case "TBL_SELECT":
        return this.tblSelect;
      case "TBL_ARG":
        return this.tblArg;
      case "TBL_VALUE":
        return this.tblValue;
      case "TBL_RESULT":
        return this.tblResult;
      case "TBL_COUNT":
        return sel ? sel.slot.vm.tableSize(sel.table) : 0;
      case "TBL_CAPACITY":
        return sel ? sel.slot.image!.tables[sel.table]!.capacity : 0;
      case "TBL_KIND":
        return sel ? TABLE_KINDS.indexOf(sel.slot.image!.tables[sel.table]!.kind) | (keyBits(sel.slot.image!.tables[sel.table]!) << 8) : 0;
      case "TBL_KEY":
        return this.tblKey[word]!;
      case "TBL_MASK":
        return this.tblMask[word]!;
      case "CNT_SELECT":
        return this.cntSelect;
      case "CNT_PACKETS_LO":
      case "CNT_PACKETS_HI":
      case "CNT_BYTES_LO":
      case "CNT_BYTES_HI":
        return this.readCounterWord(name);
      case "CNT_DECLARED":
        return this.counterSlot()?.counterCount ?? 0;
      case "STAT":
        return this.latched[word]!;
      case "FLOW_CAPACITY":
        return this.flowCapacity;
      case "FLOW_COUNT":
        return this.activeGeneration > 0 ? this.active.vm.flowStats().flows : 0;
      case "CAP_CTRL":
        return this.capCtrl;
      case "CAP_SNAPLEN":
        return this.snaplen;
      case "CAP_HEAD":
        return this.capture.head % U32;
      case "CAP_TAIL":
        return this.capture.tail % U32;
      case "CAP_DROPS":
        return this.capture.drops % U32;
      case "QUEUE_SELECT":
        return this.queueSelect;
      case "QUEUE_APP":
        return this.apps.boundApp(this.queueSelect);
      case "QUEUE_DEPTH":
        return this.apps.depth(this.queueSelect);
      default:
        return 0;
    }
  }

  private writeKernel(name: string, word: number, offset: number, value: number): boolean {
    const badValue = () => this.fail(ERR.BAD_VALUE, offset, value);
    switch (name) {
      case "SCRATCH":
        this.scratch = value;
        return true;
      case "ERROR_CLEAR":
        if (value !== 1) return badValue();
        this.errorCode = ERR.NONE;
        this.errorArg0 = 0;
        this.errorArg1 = 0;
        return true;
      case "COMMIT":
        return this.commit(value);
      case "ROLLBACK":
        return this.rollback(value);
      case "PROG_CTRL":
        return this.progCtrl(value, offset);
      case "PROG_LENGTH": {
        if (value < 1 || value > IMAGE_MAX_BYTES) return badValue();
        const st = this.shadow.state;
        if (st === PROG_STATE.VERIFIED || st === PROG_STATE.PREVIOUS) return this.fail(ERR.SLOT_BUSY, this.shadow.index);
        this.shadow.beginUpload(value);
        this.progLength = value;
        this.progAddr = 0;
        this.written = new Uint8Array(Math.ceil(value / 4));
        return true;
      }
      case "PROG_ADDR":
        if (this.shadow.state !== PROG_STATE.UPLOADING) return this.fail(ERR.SLOT_BUSY, this.shadow.index);
        if ((value & 3) !== 0 || value >= this.progLength) return badValue();
        this.progAddr = value;
        return true;
      case "PROG_DATA":
        return this.progData(value);
      case "TBL_SELECT":
        if ((value & ~(0x3f | TBL_SELECT_SHADOW)) !== 0) return badValue();
        this.tblSelect = value;
        return true;
      case "TBL_ARG":
        this.tblArg = value;
        return true;
      case "TBL_VALUE":
        this.tblValue = value;
        return true;
      case "TBL_KEY":
        this.tblKey[word] = value;
        return true;
      case "TBL_MASK":
        this.tblMask[word] = value;
        return true;
      case "TBL_CTRL": {
        if (value !== TBL_CMD.INSERT && value !== TBL_CMD.DELETE && value !== TBL_CMD.CLEAR) return badValue();
        // a command consumes the staged entry, done or refused, so the next one starts from zeros
        const ok = this.tableCommand(value, offset);
        this.tblKey.fill(0);
        this.tblMask.fill(0);
        this.tblArg = 0;
        this.tblValue = 0;
        return ok;
      }
      case "CNT_SELECT":
        return this.counterSelect(value);
      case "CNT_CTRL":
        return this.counterCommand(value, offset);
      case "STATS_LATCH":
        if (value !== 1) return badValue();
        this.latched = STATS.flatMap(([n]) => {
          const v = this.stats.get(n)!;
          return [v % U32, Math.floor(v / U32) % U32];
        });
        return true;
      case "STATS_CLEAR":
        if (value !== 1) return badValue();
        for (const [n] of STATS) this.stats.set(n, 0);
        return true;
      case "FLOW_CAPACITY":
        if (value < 1 || value > MAX_FLOW_CAPACITY) return badValue();
        for (const s of this.slots) s.vm.setFlowCapacity(value);
        this.flowCapacity = value;
        return true;
      case "FLOW_CTRL":
        if (value !== FLOW_CMD.FLUSH) return badValue();
        for (const s of this.slots) s.vm.setFlowCapacity(this.flowCapacity);
        return true;
      case "CAP_CTRL":
        if ((value & ~(CAP_CTRL.MIRROR | CAP_CTRL.TAP_INGRESS | CAP_CTRL.TAP_EGRESS)) !== 0) return badValue();
        this.capCtrl = value;
        return true;
      case "CAP_SNAPLEN":
        if (value < 1 || value > MAX_SNAPLEN) return badValue();
        this.snaplen = value;
        return true;
      case "CAP_TAIL": {
        const to = ringIndex(value, this.capture.tail, this.capture.head);
        if (to === undefined) return badValue();
        this.capture.release(to);
        return true;
      }
      case "QUEUE_SELECT":
        if (value >= LIMITS.queues) return badValue();
        this.queueSelect = value;
        return true;
      case "QUEUE_APP":
        if (value >= APP_PAGES) return badValue();
        this.apps.bind(this.queueSelect, value);
        return true;
      default:
        return this.fail(ERR.READ_ONLY, offset);
    }
  }

  // ---- program upload and commit -----------------------------------------------------------------------

  private progCtrl(value: number, offset: number): boolean {
    if (value === PROG_CMD.RESET) {
      this.drainSlot(this.shadow);
      this.shadow.reset();
      this.progLength = 0;
      this.progAddr = 0;
      this.written = undefined;
      return true;
    }
    if (value === PROG_CMD.LOAD) {
      const slot = this.shadow;
      if (slot.state !== PROG_STATE.UPLOADING || !this.written) return this.fail(ERR.SLOT_BUSY, slot.index);
      const missing = this.written.indexOf(0);
      if (missing >= 0) {
        slot.state = PROG_STATE.REJECTED;
        return this.fail(ERR.BAD_IMAGE, missing * 4);
      }
      const r = slot.load(this.tableBlocks, LIMITS.instructionMemory);
      this.written = undefined;
      return r.ok ? true : this.fail(r.code, r.arg0, r.arg1);
    }
    return this.fail(ERR.BAD_VALUE, offset, value);
  }

  private progData(value: number): boolean {
    const slot = this.shadow;
    if (slot.state !== PROG_STATE.UPLOADING || !slot.upload || !this.written) return this.fail(ERR.SLOT_BUSY, slot.index);
    const at = this.progAddr;
    if (at >= this.progLength) return this.fail(ERR.UPLOAD_OVERFLOW, at, this.progLength);
    const bytes = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
    for (let i = 0; i < 4; i++) {
      if (at + i < this.progLength) slot.upload[at + i] = bytes[i]!;
      else if (bytes[i] !== 0) return this.fail(ERR.UPLOAD_OVERFLOW, at + i, this.progLength);
    }
    this.written[at >> 2] = 1;
    this.progAddr = at + 4;
    return true;
  }

  private nextGeneration(): number {
    this.lastGeneration = (this.lastGeneration + 1) >>> 0 || 1;
    return this.lastGeneration;
  }

  private commit(expected: number): boolean {
    if (expected !== this.activeGeneration) return this.fail(ERR.GEN_MISMATCH, this.activeGeneration, expected);
    const next = this.shadow;
    if (next.state !== PROG_STATE.VERIFIED) return this.fail(ERR.NOT_VERIFIED, next.state);
    const old = this.active;
    if (old.generation > 0) old.state = PROG_STATE.PREVIOUS;
    next.generation = this.nextGeneration();
    next.state = PROG_STATE.VERIFIED;
    this.activeIndex = next.index;
    this.apps.generationChanged(next.generation);
    return true;
  }

  private rollback(expected: number): boolean {
    if (expected !== this.activeGeneration) return this.fail(ERR.GEN_MISMATCH, this.activeGeneration, expected);
    const prev = this.shadow;
    if (prev.state !== PROG_STATE.PREVIOUS) return this.fail(ERR.NO_PREVIOUS);
    const cur = this.active;
    cur.state = PROG_STATE.PREVIOUS;
    prev.generation = this.nextGeneration();
    prev.state = PROG_STATE.VERIFIED;
    this.activeIndex = prev.index;
    this.apps.generationChanged(prev.generation);
    return true;
  }

  // ---- tables ------------------------------------------------------------------------------------------

  private selectedTable(): { slot: ProgramSlot; table: number } | undefined {
    const slot = (this.tblSelect & TBL_SELECT_SHADOW) !== 0 ? this.shadow : this.active;
    const table = this.tblSelect & 0x3f;
    const usable = slot === this.active ? this.activeGeneration > 0 : slot.state === PROG_STATE.VERIFIED;
    if (!usable || !slot.image || table >= slot.image.tables.length) return undefined;
    return { slot, table };
  }

  private stagedWords(words: Uint32Array): bigint {
    let v = 0n;
    for (let w = TABLE_KEY_WORDS - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[w]!);
    return v;
  }

  private tableCommand(cmd: number, offset: number): boolean {
    this.tblResult = TBL_RESULT.REFUSED;
    if (cmd !== TBL_CMD.INSERT && cmd !== TBL_CMD.DELETE && cmd !== TBL_CMD.CLEAR) return this.fail(ERR.BAD_VALUE, offset, cmd);
    const shadowTarget = (this.tblSelect & TBL_SELECT_SHADOW) !== 0;
    const slot = shadowTarget ? this.shadow : this.active;
    const usable = shadowTarget ? slot.state === PROG_STATE.VERIFIED : this.activeGeneration > 0;
    if (!usable || !slot.image) return this.fail(ERR.NO_PROGRAM, shadowTarget ? 1 : 0);
    const table = this.tblSelect & 0x3f;
    const decl = slot.image.tables[table];
    if (!decl) return this.fail(ERR.NO_TABLE, table, slot.image.tables.length);
    if (cmd === TBL_CMD.CLEAR) {
      slot.vm.clearTable(table);
      this.tblResult = TBL_RESULT.OK;
      return true;
    }
    const key = this.stagedWords(this.tblKey);
    const second = this.stagedWords(this.tblMask);
    let entry: TableEntry;
    switch (decl.kind) {
      case "exact":
        entry = { kind: "exact", key, value: this.tblValue };
        break;
      case "lpm":
        entry = { kind: "lpm", key, prefixLen: this.tblArg, value: this.tblValue };
        break;
      case "range":
        entry = { kind: "range", lo: key, hi: second, value: this.tblValue };
        break;
      case "ternary":
        entry = { kind: "ternary", key, mask: second, priority: this.tblArg, value: this.tblValue };
        break;
    }
    // staging bits the kind does not use must be zero, so every staged entry has one meaning
    if ((decl.kind === "exact" || decl.kind === "lpm") && second !== 0n) return this.fail(ERR.BAD_ENTRY, table);
    if ((decl.kind === "exact" || decl.kind === "range") && this.tblArg !== 0) return this.fail(ERR.BAD_ENTRY, table);
    try {
      encodeEntry(table, decl, entry, cmd === TBL_CMD.DELETE);
    } catch (e) {
      if (e instanceof TableError) return this.fail(ERR.BAD_ENTRY, table);
      throw e;
    }
    if (cmd === TBL_CMD.DELETE) {
      try {
        const found = slot.vm.deleteEntry(table, entry);
        this.tblResult = found ? TBL_RESULT.OK : TBL_RESULT.NOT_FOUND;
        return true;
      } catch (e) {
        if (e instanceof TableError) return this.fail(ERR.BAD_ENTRY, table);
        throw e;
      }
    }
    const before = slot.vm.tableSize(table);
    try {
      slot.vm.insertEntry(table, entry);
    } catch (e) {
      if (!(e instanceof TableError)) throw e;
      return this.fail(before >= decl.capacity ? ERR.TABLE_FULL : ERR.BAD_ENTRY, table, before >= decl.capacity ? decl.capacity : 0);
    }
    this.tblResult = slot.vm.tableSize(table) === before ? TBL_RESULT.REPLACED : TBL_RESULT.OK;
    return true;
  }

  // ---- counters ----------------------------------------------------------------------------------------

  private counterSlot(): ProgramSlot | undefined {
    if ((this.cntSelect & CNT_SELECT_SHADOW) !== 0) {
      const s = this.shadow;
      return s.state === PROG_STATE.PREVIOUS || s.state === PROG_STATE.VERIFIED ? s : undefined;
    }
    return this.activeGeneration > 0 ? this.active : undefined;
  }

  private counterSelect(value: number): boolean {
    const shadowSel = (value & CNT_SELECT_SHADOW) !== 0;
    const index = value & 0x7fffffff;
    const slot = shadowSel ? this.shadow : this.active;
    const usable = shadowSel ? slot.state === PROG_STATE.PREVIOUS || slot.state === PROG_STATE.VERIFIED : this.activeGeneration > 0;
    if (!usable) return this.fail(ERR.NO_PROGRAM, shadowSel ? 1 : 0);
    if (index >= slot.counterCount) return this.fail(ERR.BAD_COUNTER, index, slot.counterCount);
    // the previous program's counters are final only when its in-flight packets are done
    if (shadowSel) this.drainSlot(slot);
    this.cntSelect = value;
    this.cntCursor = index;
    slot.latchCounters();
    return true;
  }

  private readCounterWord(name: string): number {
    const slot = this.counterSlot();
    const snap = slot?.snapshot;
    if (!slot || !snap || this.cntCursor >= snap.packets.length) return 0;
    const i = this.cntCursor;
    const v = name.startsWith("CNT_PACKETS") ? snap.packets[i]! : snap.bytes[i]!;
    const w = name.endsWith("_HI") ? Number((v >> 32n) & 0xffffffffn) : Number(v & 0xffffffffn);
    if (name === "CNT_BYTES_HI" && i + 1 < snap.packets.length) this.cntCursor = i + 1;
    return w;
  }

  private counterCommand(cmd: number, offset: number): boolean {
    if (cmd === CNT_CMD.ZERO_ALL) {
      if (this.activeGeneration === 0) return this.fail(ERR.NO_PROGRAM, 0);
      this.active.zeroAllCounters();
      return true;
    }
    if (cmd === CNT_CMD.ZERO_ONE) {
      const slot = this.counterSlot();
      if (!slot) return this.fail(ERR.NO_PROGRAM, (this.cntSelect & CNT_SELECT_SHADOW) !== 0 ? 1 : 0);
      slot.zeroCounter(this.cntCursor);
      slot.latchCounters();
      return true;
    }
    return this.fail(ERR.BAD_VALUE, offset, cmd);
  }

  // ================================================================== packet ports

  /** Packets waiting in the receive FIFO. */
  get pending(): number {
    let n = 0;
    for (const s of this.fifo) n += s.batch.frames.length - s.next;
    return n;
  }

  private inflight(): number {
    let n = 0;
    for (const s of this.fifo) if (s.generation !== this.activeGeneration) n += s.batch.frames.length - s.next;
    return n;
  }

  /**
   * Traffic in: the batch enters the receive FIFO and every packet latches the active generation now. Its
   * outcome is complete when process() has worked through it (`onDone` is called then). Throws PacketPortError
   * for a malformed batch, which then does not enter at all.
   */
  receive(batch: PacketBatch, onDone?: (outcome: BatchOutcome) => void): BatchOutcome {
    const n = batch.frames.length;
    const dir = batch.dir ?? 0;
    const port = batch.port ?? 0;
    const linktype = batch.linktype ?? 1;
    if (dir !== 0 && dir !== 1) throw new PacketPortError(`direction must be 0 (ingress) or 1 (egress), got ${String(dir)}`);
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new PacketPortError(`port must be 0 … 65535, got ${port}`);
    if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff) throw new PacketPortError(`link type must be 0 … 65535, got ${linktype}`);
    if (batch.wireLengths && batch.wireLengths.length !== n) throw new PacketPortError(`${batch.wireLengths.length} wire lengths for ${n} frames`);
    if (batch.timesUs && batch.timesUs.length !== n) throw new PacketPortError(`${batch.timesUs.length} timestamps for ${n} frames`);
    for (let i = 0; i < n; i++) {
      const f = batch.frames[i];
      if (!(f instanceof Uint8Array)) throw new PacketPortError(`frame ${i} is not a byte array`);
      if (f.length > MAX_SNAPLEN) throw new PacketPortError(`frame ${i} has ${f.length} bytes, more than ${MAX_SNAPLEN}`);
      const w = batch.wireLengths?.[i];
      if (w !== undefined && (!Number.isInteger(w) || w < f.length || w > 0xffffffff)) throw new PacketPortError(`frame ${i}: wire length ${w} is shorter than its ${f.length} captured bytes`);
    }
    const now = Date.now() * 1000;
    const timesUs = new Float64Array(n);
    for (let i = 0; i < n; i++) timesUs[i] = batch.timesUs?.[i] ?? now;
    const active = this.activeGeneration > 0 ? this.active : undefined;
    const sub: Submission = { batch: { ...batch, dir, port, linktype }, slot: active, generation: this.activeGeneration, timesUs, next: 0, outcome: emptyOutcome(n, batch.trace === true), onDone };
    sub.outcome.generations.fill(sub.generation);
    if (n === 0) {
      onDone?.(sub.outcome);
      return sub.outcome;
    }
    this.fifo.push(sub);
    return sub.outcome;
  }

  /** Work through up to `max` packets of the receive FIFO; returns how many were processed. */
  process(max = Infinity): number {
    let done = 0;
    while (done < max && this.fifo.length > 0) {
      const sub = this.fifo[0]!;
      const n = sub.batch.frames.length;
      const end = Math.min(n, sub.next + Math.min(CHUNK, max - done));
      try {
        this.runChunk(sub, sub.next, end);
      } catch (e) {
        // a fault of the model itself: the packets are dropped as faulted (and counted), the device goes on
        this.internalErrors.push(e);
        this.faultChunk(sub, sub.next, end);
      }
      done += end - sub.next;
      sub.next = end;
      if (sub.next >= n) {
        this.fifo.shift();
        sub.onDone?.(sub.outcome);
      }
    }
    return done;
  }

  /** Errors of the model itself since the last call (the daemon logs them); the packets concerned were dropped. */
  takeInternalErrors(): unknown[] {
    return this.internalErrors.splice(0);
  }

  private faultChunk(sub: Submission, start: number, end: number): void {
    for (let at = start; at < end; at++) {
      if ((sub.outcome.flags[at]! >> 2) !== 0 || sub.outcome.verdicts[at] !== 0) continue; // judged before the error
      this.bump("rx_packets");
      this.bump("rx_bytes", sub.batch.wireLengths?.[at] ?? sub.batch.frames[at]!.length);
      this.bump("faulted");
      this.bump("dropped");
      sub.outcome.flags[at] = 1 | (DISPOSITION.dropped << 2);
    }
  }

  /** Process everything in the FIFO. */
  drain(): void {
    this.process();
  }

  /** Process the FIFO until no packet latched to `slot` is left (before the slot is reused or read). */
  private drainSlot(slot: ProgramSlot): void {
    let last = -1;
    this.fifo.forEach((s, i) => {
      if (s.slot === slot) last = i;
    });
    if (last < 0) return;
    let packets = 0;
    for (let i = 0; i <= last; i++) packets += this.fifo[i]!.batch.frames.length - this.fifo[i]!.next;
    this.process(packets);
  }

  private bump(name: StatName, by = 1): void {
    this.stats.set(name, this.stats.get(name)! + by);
  }

  private runChunk(sub: Submission, start: number, end: number): void {
    const b = sub.batch;
    const out = sub.outcome;
    const frames = b.frames.slice(start, end);
    const wire = b.wireLengths ? b.wireLengths.slice(start, end) : frames.map((f) => f.length);
    const times = sub.timesUs.subarray(start, end);
    const n = end - start;
    const slot = sub.slot;
    let r: Pick<BatchResult, "verdicts" | "faults" | "marks" | "mirror"> & { cycles?: Uint32Array };
    const flowBefore = slot?.vm.flowStats().overflows ?? 0n;
    if (!slot) {
      r = { verdicts: new Uint32Array(n).fill(VERDICT_KIND.accept), faults: new Uint8Array(n), marks: new Uint32Array(n), mirror: new Uint8Array(n), cycles: new Uint32Array(n) };
    } else if (b.trace) {
      r = { verdicts: new Uint32Array(n), faults: new Uint8Array(n), marks: new Uint32Array(n), mirror: new Uint8Array(n), cycles: new Uint32Array(n) };
      for (let i = 0; i < n; i++) {
        const before = slot.counters();
        const one = slot.vm.run([frames[i]!], { wireLengths: [wire[i]!], linktype: b.linktype, port: b.port, dir: b.dir, cycles: true, timesUs: times.subarray(i, i + 1) });
        const after = slot.counters();
        const moved: number[] = [];
        for (let c = 0; c < after.packets.length; c++) {
          const d = after.packets[c]! - (before.packets[c] ?? 0n);
          if (d !== 0n) moved.push(c, Number(d));
        }
        out.trace![start + i] = Uint32Array.from(moved);
        r.verdicts[i] = one.verdicts[0]!;
        r.faults[i] = one.faults[0]!;
        r.marks[i] = one.marks[0]!;
        r.mirror[i] = one.mirror[0]!;
        r.cycles![i] = one.cycles?.[0] ?? 0;
      }
      this.bump("traced", n);
    } else {
      r = slot.vm.run(frames, { wireLengths: wire, linktype: b.linktype, port: b.port, dir: b.dir, cycles: true, timesUs: times });
    }
    if (slot) this.bump("flow_overflows", Number(slot.vm.flowStats().overflows - flowBefore));
    const dir = b.dir as 0 | 1;
    const tap = (this.capCtrl & (dir === 0 ? CAP_CTRL.TAP_INGRESS : CAP_CTRL.TAP_EGRESS)) !== 0;
    const mirrorOn = (this.capCtrl & CAP_CTRL.MIRROR) !== 0;
    for (let i = 0; i < n; i++) {
      const at = start + i;
      const verdict = r.verdicts[i]!;
      const fault = r.faults[i]! !== 0;
      const mirrorReq = r.mirror[i]! !== 0;
      const len = wire[i]!;
      const cycles = r.cycles?.[i] ?? 0;
      this.bump("rx_packets");
      this.bump("rx_bytes", len);
      this.bump("core_cycles", cycles);
      let mirrored = false;
      if ((mirrorReq && mirrorOn) || tap) {
        const data = frames[i]!;
        const ok = this.capture.push({
          generation: sub.generation,
          dir,
          port: b.port!,
          linktype: b.linktype!,
          verdict,
          timeUs: times[i]!,
          wireLength: len,
          reason: mirrorReq && mirrorOn ? 1 : 2,
          data: data.slice(0, Math.min(data.length, this.snaplen)),
        });
        if (ok) this.bump("mirrored");
        else this.bump("capture_dropped");
        mirrored = ok && mirrorReq && mirrorOn;
      }
      const kind = verdict & 0xff;
      let disposition: number;
      if (fault) this.bump("faulted");
      if (!fault && kind === VERDICT_KIND.accept) disposition = DISPOSITION.accepted;
      else if (!fault && kind === VERDICT_KIND.queue) {
        const delivered = this.apps.deliver({ queue: verdict >>> 8, generation: sub.generation, dir, mark: r.marks[i]!, timeUs: times[i]!, wireLength: len, data: frames[i]!.slice() });
        if (delivered) disposition = DISPOSITION.queued;
        else {
          this.bump("queue_overflow");
          disposition = mirrored ? DISPOSITION.mirroredOnly : DISPOSITION.dropped;
        }
      } else {
        if (!fault && kind === VERDICT_KIND.reject) this.bump("rejected");
        disposition = mirrored ? DISPOSITION.mirroredOnly : DISPOSITION.dropped;
      }
      this.bump(disposition === DISPOSITION.accepted ? "accepted" : disposition === DISPOSITION.queued ? "queued" : disposition === DISPOSITION.mirroredOnly ? "mirrored_only" : "dropped");
      out.verdicts[at] = verdict;
      out.marks[at] = r.marks[i]!;
      out.cycles[at] = cycles;
      out.flags[at] = (fault ? 1 : 0) | (mirrorReq ? 2 : 0) | (disposition << 2);
    }
  }

  /** Capture ring entries from `from` (a ring index ≥ CAP_TAIL), at most `max`. */
  captureRead(from: number, max: number): CaptureRecord[] {
    return this.capture.read(from, max);
  }

  /** Receive-ring entries of application `app` from `from`, at most `max` (the requester must be that app or the kernel). */
  appReceive(app: number, from: number, max: number): AppRecord[] {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) throw new PacketPortError(`no application ${app} (ids 1 … ${APP_PAGES - 1})`);
    return this.apps.app(app).rx.read(from, max);
  }

  appNotifications(app: number, from: number, max: number): AppNotification[] {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) throw new PacketPortError(`no application ${app} (ids 1 … ${APP_PAGES - 1})`);
    return this.apps.app(app).notify.read(from, max);
  }
}

/** A consumer index written to a ring's TAIL register: tail ≤ value ≤ head, in the 32-bit wrapped space. */
function ringIndex(value: number, tail: number, head: number): number | undefined {
  const delta = (value - (tail % U32) + U32) % U32;
  return delta <= head - tail ? tail + delta : undefined;
}

