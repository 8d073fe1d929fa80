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
import type { TierRequest } from "../runtime/jit/index.js";
import { OverlayVM, TableError, type BatchResult, type TableEntry } from "../runtime/vm.js";
import { AppQueues } from "./app-queues.js";
import { AppTable } from "./apps.js";
import { EgressLink } from "./egress-link.js";
import { CaptureRing } from "./capture-ring.js";
import { ConnectionTable, KEY_WORDS, Tuple, type Connection } from "./connections.js";
import { DISPOSITION, emptyOutcome, type AppNotification, type AppRecord, type BatchOutcome, type CaptureRecord, type ConnRecord, type PacketBatch } from "./packets.js";
import { DEFAULT_RING_SLOTS, QueueMemory, SLOT_BYTES, validRingSlots } from "./rings.js";
import { ProgramSlot } from "./program-slot.js";
import {
  APP_PAGE_BASE,
  APP_PAGE_SIZE,
  APP_PAGES,
  APP_REG,
  appRegisterAt,
  APPT_CMD,
  BAR0_SIZE,
  CAP_CTRL,
  CAPS,
  CNT_CMD,
  CNT_SELECT_SHADOW,
  CONN_CMD,
  CONN_KIND,
  CONN_KIND_IPV6,
  CONN_PAGE_BASE,
  CONN_PAGE_SIZE,
  CONN_PAGES,
  CONN_REG,
  connRegisterAt,
  DEVICE_ID,
  ERR,
  FLOW_CMD,
  kernelRegisterAt,
  MAP_VERSION,
  NOTIFY_KIND,
  OS_STATS,
  type OsStatName,
  PROG_CMD,
  PROG_STATE,
  REG,
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
  /** engine that runs committed programs: "interpreter" (default, the reference), "jit" or "auto" */
  tier?: TierRequest;
  clockMHz?: number;
  cores?: number;
  /** table memory budget of a slot, RAMB36 blocks */
  tableBlocks?: number;
  captureSlots?: number;
  /** receive-ring entries of each application */
  appRingSlots?: number;
  flowCapacity?: number;
  /** connections the connection table holds (default 65536, at most CONN_PAGES − 1) */
  connections?: number;
  /** queue memory for connection rings, bytes (default 256 MiB) */
  queueMemoryBytes?: number;
  /** descriptors of a connection ring opened with 0 slots (default 64) */
  ringSlots?: number;
  /** entries of each application's notification queue (default 256) */
  notifySlots?: number;
  /** the device's clock in µs (interrupt moderation); default: wall time */
  nowUs?: () => number;
}

/** Where the NIC's interrupts go: the kernel's handler, and its moderation timer. */
export interface InterruptSink {
  /** an armed notification queue of application `app` interrupts */
  raise(app: number): void;
  /** a moderated interrupt is due at `dueUs` (device clock): call tickInterrupts then */
  schedule(dueUs: number): void;
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
  /** packets an application posted on a connection's transmit ring (refused: forged or empty, not judged) */
  tx?: { conn: number; serial: number; refused: boolean };
}

export const DEFAULT_CONNECTIONS = 65536;
export const DEFAULT_QUEUE_MEMORY = 256 << 20;
const APP_ZONE_END = APP_PAGE_BASE + APP_PAGES * APP_PAGE_SIZE;
const MAX_IRQ_USECS = 1_000_000;

export class NicDevice {
  readonly clockMHz: number;
  readonly cores: number;
  readonly tableBlocks: number;
  private readonly slots: [ProgramSlot, ProgramSlot];
  private activeIndex = 0;
  private lastGeneration = 0;
  private readonly capture: CaptureRing;
  private readonly apps: AppQueues;
  private readonly appTable = new AppTable(APP_PAGES - 1);
  private readonly conns: ConnectionTable;
  private readonly qmem: QueueMemory;
  /** the egress port: qdisc and link (egress-link.ts) */
  readonly egress: EgressLink;
  private readonly defaultRingSlots: number;
  private readonly nowUs: () => number;
  private readonly tuple = new Tuple();
  private interruptSink: InterruptSink | undefined;
  private readonly osStats = new Map<OsStatName, number>(OS_STATS.map(([n]) => [n, 0]));
  private osLatched: number[] = OS_STATS.flatMap(() => [0, 0]);
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
  // application table staging
  private apptSelect = 0;
  private apptResult = 0;
  private readonly appt = { pid: 0, uid: 0, gid: 0, cmd: 0, cgroup: 0, shadowCmd: 0, shadowCgroup: 0 };
  // connection table staging
  private connSelect = 0;
  private connResult = 0;
  private connKindReg = 0;
  private connApp = 0;
  private readonly connLaddr = new Uint32Array(4);
  private readonly connRaddr = new Uint32Array(4);
  private connPorts = 0;
  private connRxSlots = 0;
  private connTxSlots = 0;

  private constructor(vms: [OverlayVM, OverlayVM], egress: EgressLink, config: NicConfig) {
    this.egress = egress;
    this.clockMHz = config.clockMHz ?? DEFAULT_CLOCK_MHZ;
    this.cores = config.cores ?? DEFAULT_CORES;
    this.tableBlocks = config.tableBlocks ?? DEFAULT_TABLE_BLOCKS;
    this.slots = [new ProgramSlot(0, vms[0], config.tier), new ProgramSlot(1, vms[1], config.tier)];
    this.capture = new CaptureRing(config.captureSlots ?? 4096);
    this.apps = new AppQueues(APP_PAGES, config.appRingSlots ?? 1024, config.notifySlots ?? 256, (app, kind, arg) => this.notify(app, kind, arg));
    const connections = config.connections ?? DEFAULT_CONNECTIONS;
    if (!Number.isInteger(connections) || connections < 1 || connections > CONN_PAGES - 1) throw new RangeError(`connections must be 1 … ${CONN_PAGES - 1}, got ${connections}`);
    this.conns = new ConnectionTable(connections);
    this.qmem = new QueueMemory(config.queueMemoryBytes ?? DEFAULT_QUEUE_MEMORY);
    this.defaultRingSlots = config.ringSlots ?? DEFAULT_RING_SLOTS;
    if (!validRingSlots(this.defaultRingSlots)) throw new RangeError(`ringSlots must be a power of two from 2 to 4096, got ${this.defaultRingSlots}`);
    this.nowUs = config.nowUs ?? (() => Date.now() * 1000);
    this.flowCapacity = config.flowCapacity ?? 65536;
    for (const s of this.slots) s.vm.setFlowCapacity(this.flowCapacity);
  }

  static async create(config: NicConfig = {}): Promise<NicDevice> {
    return new NicDevice([await OverlayVM.create(), await OverlayVM.create()], await EgressLink.create(), config);
  }

  static createSync(config: NicConfig = {}): NicDevice {
    return new NicDevice([OverlayVM.createSync(), OverlayVM.createSync()], EgressLink.createSync(), config);
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
    if (offset >= CONN_PAGE_BASE) {
      const hit = this.connPageAt(offset);
      if (!hit) {
        this.fail(ERR.BAD_OFFSET, offset);
        return 0xffffffff;
      }
      return this.readConnRegister(hit.conn, hit.rel);
    }
    if (offset >= APP_ZONE_END) {
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
    if (offset >= CONN_PAGE_BASE) {
      const hit = this.connPageAt(offset);
      if (!hit) return this.fail(ERR.BAD_OFFSET, offset);
      if (hit.spec.access === "ro") return this.fail(ERR.READ_ONLY, offset);
      return this.writeConnRegister(hit.conn, hit.rel, value) || this.fail(ERR.BAD_VALUE, offset, value);
    }
    if (offset >= APP_ZONE_END) return this.fail(ERR.BAD_OFFSET, offset);
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

  /** The open connection whose page holds `offset`, with the register there (undefined: none). */
  private connPageAt(offset: number): { conn: number; rel: number; spec: NonNullable<ReturnType<typeof connRegisterAt>> } | undefined {
    const conn = Math.floor((offset - CONN_PAGE_BASE) / CONN_PAGE_SIZE);
    const rel = (offset - CONN_PAGE_BASE) % CONN_PAGE_SIZE;
    const spec = connRegisterAt(rel);
    if (!spec || !this.conns.get(conn)) return undefined;
    return { conn, rel, spec };
  }

  /**
   * Whether application `app` may reach `offset` at all: its own page, or the page of a connection it owns (the
   * pages the kernel maps into it). Anything else is a privilege violation.
   */
  mapsOffset(app: number, offset: number): boolean {
    if (!NicDevice.validOffset(offset)) return false;
    if (this.pageOf(offset, app) !== undefined) return true;
    if (offset < CONN_PAGE_BASE) return false;
    const c = this.conns.get(Math.floor((offset - CONN_PAGE_BASE) / CONN_PAGE_SIZE));
    return c !== undefined && c.app === app;
  }

  private appRead(offset: number, app: number): number {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) return 0xffffffff;
    if (!this.mapsOffset(app, offset)) {
      this.appViolation(app, true);
      return 0xffffffff;
    }
    const rel = this.pageOf(offset, app);
    if (rel === undefined) {
      const hit = this.connPageAt(offset);
      if (!hit) {
        this.appViolation(app, false);
        return 0xffffffff;
      }
      return this.readConnRegister(hit.conn, hit.rel);
    }
    if (!appRegisterAt(rel)) {
      this.appViolation(app, false);
      return 0xffffffff;
    }
    return this.readAppRegister(app, rel);
  }

  private appWrite(offset: number, value: number, app: number): boolean {
    if (!Number.isInteger(app) || app < 1 || app >= APP_PAGES) return false;
    if (!this.mapsOffset(app, offset)) return this.appViolation(app, true);
    const valid = Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
    const rel = this.pageOf(offset, app);
    if (rel === undefined) {
      const hit = this.connPageAt(offset);
      if (!hit || hit.spec.access === "ro" || !valid) return this.appViolation(app, false);
      return this.writeConnRegister(hit.conn, hit.rel, value) || this.appViolation(app, false);
    }
    const spec = appRegisterAt(rel);
    if (!spec || spec.access === "ro" || !valid) return this.appViolation(app, false);
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
      case APP_REG.APP_NOTIFY_DROPS:
        return a.notify.drops % U32;
      case APP_REG.APP_ATTACHED:
        return this.appTable.get(app) ? 1 : 0;
      default:
        return 0;
    }
  }

  // ---- connection pages --------------------------------------------------------------------------------

  private readConnRegister(id: number, rel: number): number {
    const c = this.conns.get(id)!;
    switch (rel) {
      case CONN_REG.CP_ID:
        return id;
      case CONN_REG.CP_APP:
        return c.app;
      case CONN_REG.CP_RX_HEAD:
        return c.rx.head % U32;
      case CONN_REG.CP_RX_TAIL:
        return c.rx.tail % U32;
      case CONN_REG.CP_RX_DROPS:
        return c.rx.drops % U32;
      case CONN_REG.CP_RX_SLOTS:
        return c.rx.capacity;
      case CONN_REG.CP_TX_HEAD:
        return c.tx.head % U32;
      case CONN_REG.CP_TX_TAIL:
        return c.tx.tail % U32;
      case CONN_REG.CP_TX_SLOTS:
        return c.tx.capacity;
      case CONN_REG.CP_TX_SENT:
        return c.tx.sent % U32;
      case CONN_REG.CP_TX_DROPPED:
        return c.tx.dropped % U32;
      case CONN_REG.CP_TX_REFUSED:
        return c.tx.refused % U32;
      case CONN_REG.CP_RX_PACKETS:
        return c.rx.packets % U32;
      default:
        return 0;
    }
  }

  private writeConnRegister(id: number, rel: number, value: number): boolean {
    const c = this.conns.get(id)!;
    if (rel === CONN_REG.CP_RX_TAIL) {
      const to = ringIndex(value, c.rx.tail, c.rx.head);
      if (to === undefined) return false;
      c.rx.release(to);
      return true;
    }
    if (rel === CONN_REG.CP_TX_TAIL) {
      const delta = (value - (c.tx.tail % U32) + U32) % U32;
      if (delta > c.tx.space) return false;
      if (delta > 0) this.txDoorbell(c, c.tx.tail + delta);
      return true;
    }
    return false;
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
        return CAPS.EXACT | CAPS.LPM | CAPS.RANGE | CAPS.TERNARY | CAPS.FLOW_TABLE | CAPS.CAPTURE_RING | CAPS.APP_PAGES | CAPS.TRACE_PORT | CAPS.ROLLBACK | CAPS.CONNECTIONS | CAPS.EGRESS_QDISC;
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
      case "APPT_SELECT":
        return this.apptSelect;
      case "APPT_PID":
        return this.appt.pid;
      case "APPT_UID":
        return this.appt.uid;
      case "APPT_GID":
        return this.appt.gid;
      case "APPT_CMD":
        return this.appt.cmd;
      case "APPT_CGROUP":
        return this.appt.cgroup;
      case "APPT_SHADOW_CMD":
        return this.appt.shadowCmd;
      case "APPT_SHADOW_CGROUP":
        return this.appt.shadowCgroup;
      case "APPT_RESULT":
        return this.apptResult;
      case "APPT_STATE":
        return this.appTable.get(this.apptSelect) ? 1 : 0;
      case "APPT_CONNS":
        return this.appTable.get(this.apptSelect)?.conns ?? 0;
      case "APPT_COUNT":
        return this.appTable.count;
      case "APPT_CAPACITY":
        return this.appTable.capacity;
      case "APPT_IRQ_USECS":
        return this.appTable.get(this.apptSelect) ? this.apps.app(this.apptSelect).notify.usecs : 0;
      case "APPT_IRQ_FRAMES":
        return this.appTable.get(this.apptSelect) ? this.apps.app(this.apptSelect).notify.frames : 0;
      case "APPT_IRQ_COUNT":
        return this.appTable.get(this.apptSelect) ? this.apps.app(this.apptSelect).notify.interrupts % U32 : 0;
      case "CONN_SELECT":
        return this.connSelect;
      case "CONN_KIND":
        return this.connKindReg;
      case "CONN_APP":
        return this.connApp;
      case "CONN_LADDR":
        return this.connLaddr[word]!;
      case "CONN_RADDR":
        return this.connRaddr[word]!;
      case "CONN_PORTS":
        return this.connPorts;
      case "CONN_RX_SLOTS":
        return this.connRxSlots;
      case "CONN_TX_SLOTS":
        return this.connTxSlots;
      case "CONN_RESULT":
        return this.connResult;
      case "CONN_STATE":
        return this.conns.get(this.connSelect) ? 1 : 0;
      case "CONN_COUNT":
        return this.conns.count;
      case "CONN_CAPACITY":
        return this.conns.capacity;
      case "QMEM_BYTES":
        return Math.min(this.qmem.total, 0xffffffff);
      case "QMEM_FREE":
        return Math.min(this.qmem.free, 0xffffffff);
      case "OS_STAT":
        return this.osLatched[word]!;
      default:
        return name.startsWith("EG_") ? this.egress.read(name) : 0;
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
        this.osLatched = OS_STATS.flatMap(([n]) => {
          const v = this.osStats.get(n)!;
          return [v % U32, Math.floor(v / U32) % U32];
        });
        return true;
      case "STATS_CLEAR":
        if (value !== 1) return badValue();
        for (const [n] of STATS) this.stats.set(n, 0);
        for (const [n] of OS_STATS) this.osStats.set(n, 0);
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
      case "APPT_SELECT":
        return this.appSelect(value) || badValue();
      case "APPT_PID":
      case "APPT_UID":
      case "APPT_GID":
        // 0xffffffff is what "no owner" reads as: no process, user or group has it
        if (value === 0xffffffff) return badValue();
        this.appt[name === "APPT_PID" ? "pid" : name === "APPT_UID" ? "uid" : "gid"] = value;
        return true;
      case "APPT_CMD":
        this.appt.cmd = value;
        return true;
      case "APPT_CGROUP":
        this.appt.cgroup = value;
        return true;
      case "APPT_SHADOW_CMD":
        this.appt.shadowCmd = value;
        return true;
      case "APPT_SHADOW_CGROUP":
        this.appt.shadowCgroup = value;
        return true;
      case "APPT_CTRL":
        return this.appCommand(value, offset);
      case "APPT_IRQ_ARM":
      case "APPT_IRQ_USECS":
      case "APPT_IRQ_FRAMES": {
        if (!this.appTable.get(this.apptSelect)) return this.fail(ERR.NO_APP, this.apptSelect);
        const q = this.apps.app(this.apptSelect).notify;
        if (name === "APPT_IRQ_USECS") {
          if (value > MAX_IRQ_USECS) return badValue();
          q.usecs = value;
        } else if (name === "APPT_IRQ_FRAMES") {
          if (value < 1 || value > 0xffff) return badValue();
          q.frames = value;
        } else if (q.arm(value, this.nowUs())) this.raise(this.apptSelect);
        return true;
      }
      case "CONN_SELECT":
        if (value > this.conns.capacity) return badValue();
        this.connSelect = value;
        this.loadConnStaging(this.conns.get(value));
        return true;
      case "CONN_KIND":
        if ((value & ~(0xffff | CONN_KIND_IPV6)) !== 0 || (value & 0xff) > CONN_KIND.RAW) return badValue();
        this.connKindReg = value;
        return true;
      case "CONN_APP":
        if (value >= APP_PAGES) return badValue();
        this.connApp = value;
        return true;
      case "CONN_LADDR":
        this.connLaddr[word] = value;
        return true;
      case "CONN_RADDR":
        this.connRaddr[word] = value;
        return true;
      case "CONN_PORTS":
        this.connPorts = value;
        return true;
      case "CONN_RX_SLOTS":
      case "CONN_TX_SLOTS":
        if (value !== 0 && !validRingSlots(value)) return badValue();
        if (name === "CONN_RX_SLOTS") this.connRxSlots = value;
        else this.connTxSlots = value;
        return true;
      case "CONN_CTRL":
        return this.connCommand(value, offset);
      default: {
        if (!name.startsWith("EG_")) return this.fail(ERR.READ_ONLY, offset);
        const r = this.egress.write(name, value);
        // BAD_VALUE and READ_ONLY name the register; the other refusals carry the egress block's details
        if (r === true) return true;
        if (r.code === ERR.BAD_VALUE || r.code === ERR.READ_ONLY) return this.fail(r.code, offset, value);
        return this.fail(r.code, r.arg0 ?? 0, r.arg1 ?? 0);
      }
    }
  }

  // ---- application table ------------------------------------------------------------------------------

  private appSelect(value: number): boolean {
    if (value > this.appTable.capacity) return false;
    this.apptSelect = value;
    const e = this.appTable.get(value);
    const a = this.activeIndex;
    this.appt.pid = e?.pid ?? 0;
    this.appt.uid = e?.uid ?? 0;
    this.appt.gid = e?.gid ?? 0;
    this.appt.cmd = e?.cmd[a] ?? 0;
    this.appt.cgroup = e?.cgroup[a] ?? 0;
    this.appt.shadowCmd = e?.cmd[1 - a] ?? 0;
    this.appt.shadowCgroup = e?.cgroup[1 - a] ?? 0;
    return true;
  }

  /** The staged names as [slot 0, slot 1] columns (APPT_CMD is the active slot's). */
  private stagedColumns(): { cmd: [number, number]; cgroup: [number, number] } {
    const st = this.appt;
    return this.activeIndex === 0
      ? { cmd: [st.cmd, st.shadowCmd], cgroup: [st.cgroup, st.shadowCgroup] }
      : { cmd: [st.shadowCmd, st.cmd], cgroup: [st.shadowCgroup, st.cgroup] };
  }

  private appCommand(cmd: number, offset: number): boolean {
    const st = this.appt;
    if (cmd === APPT_CMD.ATTACH) {
      const id = this.appTable.attach({ pid: st.pid, uid: st.uid, gid: st.gid, ...this.stagedColumns() });
      if (id === undefined) return this.fail(ERR.APP_TABLE_FULL, this.appTable.capacity);
      // a fresh page: whatever a former holder of this id left is gone
      this.apps.forget(id);
      this.apptResult = id;
      this.apptSelect = id;
      return true;
    }
    if (cmd === APPT_CMD.DETACH || cmd === APPT_CMD.UPDATE) {
      const app = this.apptSelect;
      const e = this.appTable.get(app);
      if (!e) return this.fail(ERR.NO_APP, app);
      if (cmd === APPT_CMD.UPDATE) {
        const cols = this.stagedColumns();
        e.pid = st.pid;
        e.uid = st.uid;
        e.gid = st.gid;
        e.cmd = cols.cmd;
        e.cgroup = cols.cgroup;
        return true;
      }
      this.detachApp(app);
      return true;
    }
    return this.fail(ERR.BAD_VALUE, offset, cmd);
  }

  /**
   * Detach in one step: every connection of the application (steering keys, rings, queue memory, pages), its
   * queue bindings, queue ring and notification queue, and its owner entry. Packets processed after this write
   * find none of it: its 5-tuples fall to the fallback and carry no owner.
   */
  private detachApp(app: number): void {
    for (const c of [...this.conns.all()]) if (c.app === app) this.closeConnection(c.id);
    this.apps.forget(app);
    this.appTable.detach(app);
  }

  // ---- connection table -------------------------------------------------------------------------------

  private loadConnStaging(c: Connection | undefined): void {
    if (!c) {
      this.connKindReg = this.connApp = this.connPorts = this.connRxSlots = this.connTxSlots = 0;
      this.connLaddr.fill(0);
      this.connRaddr.fill(0);
      return;
    }
    this.connKindReg = c.key[0]!;
    this.connApp = c.app;
    const v6 = c.v6;
    for (let w = 0; w < 4; w++) {
      this.connLaddr[w] = v6 ? c.key[1 + w]! : w === 0 ? c.key[4]! : 0;
      this.connRaddr[w] = v6 ? c.key[5 + w]! : w === 0 ? c.key[8]! : 0;
    }
    this.connPorts = c.key[9]!;
    this.connRxSlots = c.rx.capacity;
    this.connTxSlots = c.tx.capacity;
  }

  private connCommand(cmd: number, offset: number): boolean {
    if (cmd === CONN_CMD.CLOSE) {
      if (!this.conns.get(this.connSelect)) return this.fail(ERR.NO_CONN, this.connSelect);
      this.closeConnection(this.connSelect);
      return true;
    }
    if (cmd !== CONN_CMD.OPEN) return this.fail(ERR.BAD_VALUE, offset, cmd);
    const kind = this.connKindReg & 0xff;
    const proto = (this.connKindReg >>> 8) & 0xff;
    const v6 = (this.connKindReg & CONN_KIND_IPV6) !== 0;
    const app = this.appTable.get(this.connApp);
    if (!app) return this.fail(ERR.NO_APP, this.connApp);
    const lport = this.connPorts >>> 16;
    const rport = this.connPorts & 0xffff;
    const zero = (w: Uint32Array, from = 0) => w.subarray(from).every((x) => x === 0);
    const badField = (reg: number, v: number) => this.fail(ERR.BAD_VALUE, reg, v);
    // one meaning per staged connection: fields a kind does not use must be zero
    if (!v6 && !zero(this.connLaddr, 1)) return badField(REG.CONN_LADDR + 4, this.connLaddr[1]!);
    if (!v6 && !zero(this.connRaddr, 1)) return badField(REG.CONN_RADDR + 4, this.connRaddr[1]!);
    if (kind === CONN_KIND.RAW) {
      if (proto !== 0 || v6 || !zero(this.connLaddr) || !zero(this.connRaddr) || this.connPorts !== 0) return badField(REG.CONN_KIND, this.connKindReg);
    } else {
      if (proto !== 6 && proto !== 17 && proto !== 132) return badField(REG.CONN_KIND, this.connKindReg);
      if (lport === 0) return badField(REG.CONN_PORTS, this.connPorts);
      if (kind === CONN_KIND.EXACT && (rport === 0 || zero(this.connRaddr) || zero(this.connLaddr))) return badField(REG.CONN_PORTS, this.connPorts);
      if (kind === CONN_KIND.LISTEN && (rport !== 0 || !zero(this.connRaddr))) return badField(REG.CONN_RADDR, this.connRaddr[0]!);
    }
    const key = new Uint32Array(KEY_WORDS);
    key[0] = this.connKindReg;
    for (let w = 0; w < 4; w++) {
      key[1 + w] = v6 ? this.connLaddr[w]! : w === 3 ? this.connLaddr[0]! : 0;
      key[5 + w] = v6 ? this.connRaddr[w]! : w === 3 ? this.connRaddr[0]! : 0;
    }
    key[9] = this.connPorts;
    if (kind !== CONN_KIND.RAW) {
      const existing = this.conns.findKey(key);
      if (existing) return this.fail(ERR.CONN_EXISTS, existing);
    }
    if (this.conns.count >= this.conns.capacity) return this.fail(ERR.CONN_TABLE_FULL, this.conns.capacity);
    const rxSlots = this.connRxSlots || this.defaultRingSlots;
    const txSlots = this.connTxSlots || this.defaultRingSlots;
    const bytes = (rxSlots + txSlots) * SLOT_BYTES;
    if (!this.qmem.allocate(bytes)) return this.fail(ERR.QUEUE_MEMORY, bytes, this.qmem.free);
    const c = this.conns.open(this.connApp, key, rxSlots, txSlots)!;
    app.conns++;
    this.connResult = c.id;
    this.connSelect = c.id;
    this.loadConnStaging(c);
    return true;
  }

  /** Close a connection: its key leaves the steering table, its rings return to queue memory, its page dies. */
  private closeConnection(id: number): void {
    const c = this.conns.close(id);
    if (!c) return;
    this.qmem.release(c.ringBytes(SLOT_BYTES));
    const app = this.appTable.get(c.app);
    if (app) app.conns--;
  }

  // ---- notifications and interrupts ---------------------------------------------------------------------

  /** Connect the kernel's interrupt handler (and moderation timer). */
  setInterruptSink(sink: InterruptSink | undefined): void {
    this.interruptSink = sink;
  }

  /** Post a notification to an application's queue; raise its armed interrupt when due. */
  private notify(app: number, kind: AppNotification["kind"], arg: number): void {
    const q = this.apps.app(app).notify;
    const drops = q.drops;
    const fire = q.post(kind, arg, this.nowUs());
    this.bumpOs(q.drops !== drops ? "notify_overflows" : "notifications");
    if (fire) this.raise(app);
    else {
      const due = q.dueUs;
      if (due !== undefined) this.interruptSink?.schedule(due);
    }
  }

  private raise(app: number): void {
    this.apps.app(app).notify.fire();
    this.bumpOs("interrupts");
    this.interruptSink?.raise(app);
  }

  /** The moderation timer: raise every armed interrupt whose time has come. Returns the next due time, if any. */
  tickInterrupts(nowUs = this.nowUs()): number | undefined {
    let next: number | undefined;
    for (let app = 1; app <= this.appTable.capacity; app++) {
      if (!this.appTable.get(app)) continue;
      const due = this.apps.app(app).notify.dueUs;
      if (due === undefined) continue;
      if (due <= nowUs) this.raise(app);
      else next = next === undefined ? due : Math.min(next, due);
    }
    return next;
  }

  /** The device clock (µs). */
  now(): number {
    return this.nowUs();
  }

  private bumpOs(name: OsStatName, by = 1): void {
    this.osStats.set(name, this.osStats.get(name)! + by);
  }

  // ---- transmit rings ---------------------------------------------------------------------------------

  /**
   * The doorbell: fetch the descriptors posted up to `tail` into the receive FIFO as egress packets, latching the
   * generation now. A descriptor is refused (counted, completed in order, never judged) when it is empty or its
   * frame is not the connection's own: an exact connection may send only its 5-tuple, a listener only from its
   * port (and address), and no connection a tuple another application's connection owns.
   */
  private txDoorbell(c: Connection, tail: number): void {
    c.tx.tail = tail;
    const { frames } = c.tx.fetch();
    const refused = frames.map((f) => (f === undefined || !this.conns.mayTransmit(c, f, this.tuple) ? 1 : 0));
    const active = this.activeGeneration > 0 ? this.active : undefined;
    const now = this.nowUs();
    for (let i = 0; i < frames.length; ) {
      let j = i + 1;
      while (j < frames.length && refused[j] === refused[i]) j++;
      const run = frames.slice(i, j).map((f) => f ?? new Uint8Array(0));
      const n = run.length;
      if (refused[i]) {
        c.tx.refused += n;
        this.bumpOs("tx_refused", n);
      }
      const sub: Submission = {
        batch: { frames: run, dir: 1, port: 0, linktype: 1 },
        slot: active,
        generation: this.activeGeneration,
        timesUs: new Float64Array(n).fill(now),
        next: 0,
        outcome: emptyOutcome(n, false),
        onDone: undefined,
        tx: { conn: c.id, serial: c.serial, refused: refused[i] === 1 },
      };
      sub.outcome.generations.fill(sub.generation);
      this.fifo.push(sub);
      i = j;
    }
  }

  /** One transmitted descriptor of `tx` is finished; a drained ring notifies its application. */
  private completeTx(tx: NonNullable<Submission["tx"]>): void {
    const c = this.conns.get(tx.conn);
    if (!c || c.serial !== tx.serial) return; // closed since: nobody waits for it
    if (c.tx.complete()) this.notify(c.app, NOTIFY_KIND.CONN_TX_DRAINED, c.id);
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
      if (sub.tx?.refused) {
        this.completeTx(sub.tx);
        continue;
      }
      if (sub.tx) this.transmitted(sub.tx, false);
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

  /**
   * The process view of a chunk: each packet's owner fields (six u32, the VM's side input) and, for wire
   * traffic, the connection its tuple steers to. A transmitted packet's owner is its connection's application
   * (whatever its headers say); other packets are looked up (local end: ingress destination, egress source).
   * Undefined when no application is attached (no packet has an owner).
   */
  private processView(sub: Submission, frames: readonly Uint8Array[]): { owners: Uint32Array; conns: Uint32Array | undefined } | undefined {
    if (this.appTable.count === 0) return undefined;
    const n = frames.length;
    const owners = new Uint32Array(6 * n);
    const column = sub.slot?.index ?? this.activeIndex;
    if (sub.tx) {
      const c = this.conns.get(sub.tx.conn);
      const app = c && c.serial === sub.tx.serial ? c.app : 0;
      for (let i = 0; i < n; i++) this.appTable.owner(app, column, owners, 6 * i);
      return { owners, conns: undefined };
    }
    const conns = new Uint32Array(n);
    const dir = sub.batch.dir as 0 | 1;
    const linktype = sub.batch.linktype ?? 1;
    const t = this.tuple;
    for (let i = 0; i < n; i++) {
      t.parse(frames[i]!, linktype);
      const id = this.conns.lookup(t, dir);
      conns[i] = id;
      this.appTable.owner(id ? this.conns.get(id)!.app : 0, column, owners, 6 * i);
    }
    return { owners, conns };
  }

  private runChunk(sub: Submission, start: number, end: number): void {
    const b = sub.batch;
    const out = sub.outcome;
    if (sub.tx?.refused) {
      // refused descriptors never reach the overlay; they complete in their place in the ring
      for (let at = start; at < end; at++) this.completeTx(sub.tx);
      return;
    }
    const frames = b.frames.slice(start, end);
    const wire = b.wireLengths ? b.wireLengths.slice(start, end) : frames.map((f) => f.length);
    const times = sub.timesUs.subarray(start, end);
    const n = end - start;
    const slot = sub.slot;
    const view = this.processView(sub, frames);
    const owners = view?.owners;
    let r: Pick<BatchResult, "verdicts" | "faults" | "marks" | "mirror"> & { cycles?: Uint32Array };
    const flowBefore = slot?.vm.flowStats().overflows ?? 0n;
    if (!slot) {
      r = { verdicts: new Uint32Array(n).fill(VERDICT_KIND.accept), faults: new Uint8Array(n), marks: new Uint32Array(n), mirror: new Uint8Array(n), cycles: new Uint32Array(n) };
    } else if (b.trace) {
      r = { verdicts: new Uint32Array(n), faults: new Uint8Array(n), marks: new Uint32Array(n), mirror: new Uint8Array(n), cycles: new Uint32Array(n) };
      for (let i = 0; i < n; i++) {
        const before = slot.counters();
        const one = slot.vm.run([frames[i]!], { wireLengths: [wire[i]!], linktype: b.linktype, port: b.port, dir: b.dir, cycles: true, timesUs: times.subarray(i, i + 1), ...(owners ? { owners: owners.subarray(6 * i, 6 * i + 6) } : {}) });
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
      r = slot.vm.run(frames, { wireLengths: wire, linktype: b.linktype, port: b.port, dir: b.dir, cycles: true, timesUs: times, ...(owners ? { owners } : {}) });
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
          ...(owners && owners[6 * i] !== 0 ? { app: owners[6 * i]!, pid: owners[6 * i + 3]!, uid: owners[6 * i + 1]! } : {}),
          data: data.slice(0, Math.min(data.length, this.snaplen)),
        });
        if (ok) this.bump("mirrored");
        else this.bump("capture_dropped");
        mirrored = ok && mirrorReq && mirrorOn;
      }
      const kind = verdict & 0xff;
      let disposition: number;
      if (fault) this.bump("faulted");
      if (!fault && kind === VERDICT_KIND.accept) {
        disposition = DISPOSITION.accepted;
        if (dir === 0 && view?.conns) {
          const id = view.conns[i]!;
          if (id === 0) this.bumpOs("steer_fallback");
          else if (this.steer(id, sub.generation, r.marks[i]!, times[i]!, len, frames[i]!)) this.bumpOs("steered");
          else {
            this.bumpOs("ring_overflow");
            disposition = mirrored ? DISPOSITION.mirroredOnly : DISPOSITION.dropped;
          }
        } else if (dir === 0) this.bumpOs("steer_fallback");
      } else if (!fault && kind === VERDICT_KIND.queue) {
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
      // an accepted egress packet leaves through the egress scheduler and link (egress-link.ts)
      if (dir === 1 && disposition === DISPOSITION.accepted) this.egress.transmit(frames[i]!, len, owners?.subarray(6 * i, 6 * i + 6), r.marks[i]!, times[i]!);
      if (sub.tx) this.transmitted(sub.tx, !fault && kind === VERDICT_KIND.accept);
      out.verdicts[at] = verdict;
      out.marks[at] = r.marks[i]!;
      out.cycles[at] = cycles;
      out.flags[at] = (fault ? 1 : 0) | (mirrorReq ? 2 : 0) | (disposition << 2);
    }
  }

  /** Deliver into a connection's receive ring; a ring that was empty notifies its application. */
  private steer(id: number, generation: number, mark: number, timeUs: number, wireLength: number, frame: Uint8Array): boolean {
    const c = this.conns.get(id)!;
    const wasEmpty = c.rx.empty;
    if (!c.rx.push(id, generation, mark, timeUs, wireLength, frame)) return false;
    if (wasEmpty) this.notify(c.app, NOTIFY_KIND.CONN_RX, id);
    return true;
  }

  /** A transmitted packet was judged: count it on its connection and complete its descriptor. */
  private transmitted(tx: NonNullable<Submission["tx"]>, sent: boolean): void {
    this.bumpOs("tx_packets");
    if (sent) this.bumpOs("tx_sent");
    const c = this.conns.get(tx.conn);
    if (c && c.serial === tx.serial) {
      if (sent) c.tx.sent++;
      else c.tx.dropped++;
    }
    this.completeTx(tx);
  }

  /**
   * Host memory: receive-ring records of connection `conn` from `from`, at most `max` (what the application
   * reads from its mapped ring; the kernel's MMU decides who may — hostctl/apps checks it).
   */
  connReceive(conn: number, from: number, max: number): ConnRecord[] {
    const c = this.conns.get(conn);
    if (!c) throw new PacketPortError(`no connection ${conn} is open`);
    // `from` is a ring index as the page's registers show it (32 bits, wrapping)
    return c.rx.read(c.rx.tail + ((from - (c.rx.tail % U32) + U32) % U32), max);
  }

  /**
   * Host memory: write frames into connection `conn`'s free transmit descriptors from `index` on (then the
   * application rings the doorbell, CP_TX_TAIL). Returns how many fitted (a full ring takes fewer).
   */
  connTransmitWrite(conn: number, index: number, frames: readonly Uint8Array[]): number {
    const c = this.conns.get(conn);
    if (!c) throw new PacketPortError(`no connection ${conn} is open`);
    frames.forEach((f, i) => {
      if (!(f instanceof Uint8Array)) throw new PacketPortError(`frame ${i} is not a byte array`);
      if (f.length > SLOT_BYTES) throw new PacketPortError(`frame ${i} has ${f.length} bytes; a descriptor buffer holds ${SLOT_BYTES}`);
    });
    const at = c.tx.tail + ((index - (c.tx.tail % U32) + U32) % U32);
    let n = 0;
    while (n < frames.length && c.tx.write(at + n, frames[n]!)) n++;
    return n;
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

