/**
 * The NIC driver: turns the host's intents (load this program with these tables, insert this entry, read the
 * counters) into register transactions, and counts every register access it makes. It knows the register map
 * (fpga-model/registers.ts) and nothing of policies; hostctl/driver/policy-driver.ts sits on top.
 *
 * Costs, in register writes:
 *   - a table entry: TBL_SELECT (when the previous access in the transaction selected another table), one per
 *     non-zero key/mask word, TBL_ARG and TBL_VALUE when non-zero, TBL_CTRL — 4 for a port, 5 for an IPv4
 *     prefix, 8 for an IPv6 prefix; at most 25 (ternary on a 320-bit key).
 *   - a program: PROG_CTRL, PROG_LENGTH, one PROG_DATA per 4 image bytes, PROG_CTRL; then COMMIT.
 */
import { encodeImage, TABLE_KINDS, type ProgramImage, type TableDecl } from "../../overlay-isa/index.js";
import type { BatchOutcome, PacketBatch } from "../../fpga-model/packets.js";
import {
  CNT_CMD,
  CNT_SELECT_SHADOW,
  DEVICE_ID,
  ERR,
  ERROR_TEXT,
  FLOW_CMD,
  MAP_VERSION_MAJOR,
  PROG_CMD,
  PROG_STATE,
  REG,
  registerName,
  STAT_BASE,
  STATS,
  STATUS,
  TABLE_KEY_WORDS,
  TBL_CMD,
  TBL_SELECT_SHADOW,
  VERIFY_RULES,
  type StatName,
} from "../../fpga-model/registers.js";
import type { TableEntry } from "../../runtime/vm.js";
import { Transaction, type RegisterError } from "./transaction.js";
import type { NicTransport, QdiscUpdate, StateUpdate, TransactResult } from "./transport.js";

/** A register access the NIC refused, in the user's words. */
export class DeviceError extends Error {
  constructor(
    message: string,
    readonly error: RegisterError,
  ) {
    super(message);
    this.name = "DeviceError";
  }
}

/** The host state changed between planning and committing (another hostctl got there first). */
export class StateConflict extends Error {
  constructor() {
    super("the NIC's configuration changed while this change was being prepared; run the command again");
    this.name = "StateConflict";
  }
}

/** What a refused access means, with the device's details. */
export function describeDeviceError(e: RegisterError, context?: { tables?: readonly TableDecl[] }): string {
  const at = registerName(e.offset);
  const table = (t: number) => {
    const d = context?.tables?.[t];
    return d ? `table t${t} (${d.kind})` : `table t${t}`;
  };
  // the egress scheduler's block: the same codes speak of the qdisc
  if (e.offset >= REG.EG_CTRL && e.offset <= REG.EG_SNAP_HI) {
    switch (e.code) {
      case ERR.BAD_IMAGE:
        return `the NIC refused the qdisc image: malformed at byte ${e.arg0}`;
      case ERR.VERIFY_FAILED:
        return `the NIC's verifier refused the qdisc: rule ${VERIFY_RULES[e.arg1] ?? e.arg1} at index ${e.arg0}`;
      case ERR.VM_REFUSED:
        return "the NIC's scheduler cores cannot run the qdisc (its memories are out of range, or an opcode they do not implement)";
      case ERR.BAD_ENTRY:
        return "the qdisc's filter tables cannot take its entries";
      case ERR.GEN_MISMATCH:
        return `the NIC's active qdisc generation is ${e.arg0}, not ${e.arg1}: another host changed the qdisc in between; run the command again`;
      case ERR.NOT_VERIFIED:
        return "commit without a verified qdisc in the shadow slot";
      case ERR.NO_PREVIOUS:
        return "the NIC keeps no previous qdisc to roll back to";
      case ERR.SLOT_BUSY:
        return "the egress scheduler's shadow slot is busy (reset it first)";
      case ERR.NO_PROGRAM:
        return "no qdisc is active on the NIC's egress link: there is none to remove";
      default:
        break;
    }
  }
  switch (e.code) {
    case ERR.TABLE_FULL:
      return `${table(e.arg0)} is full: its capacity is ${e.arg1} entries`;
    case ERR.NO_TABLE:
      return `table t${e.arg0} does not exist (the program declares ${e.arg1})`;
    case ERR.BAD_ENTRY:
      return `the entry does not fit ${table(e.arg0)} (key wider than the table's key, prefix too long, or an empty range)`;
    case ERR.TABLE_MEMORY:
      return `the program's tables need ${e.arg0} BRAM blocks; the NIC's table memory has ${e.arg1}`;
    case ERR.VERIFY_FAILED:
      return `the NIC's verifier refused the program: rule ${VERIFY_RULES[e.arg1] ?? e.arg1} at index ${e.arg0}`;
    case ERR.VM_REFUSED:
      return `the NIC's overlay core cannot run the program${e.arg0 !== 0xffffffff ? ` (instruction ${e.arg0} uses an opcode this core does not implement)` : ""}`;
    case ERR.BAD_IMAGE:
      return `the NIC refused the program image: malformed at byte ${e.arg0}`;
    case ERR.GEN_MISMATCH:
      return `the NIC's active generation is ${e.arg0}, not ${e.arg1}: another host committed in between; run the command again`;
    case ERR.NOT_VERIFIED:
      return "commit without a verified program in the shadow slot";
    case ERR.NO_PREVIOUS:
      return "the NIC keeps no previous program to roll back to";
    case ERR.NO_PROGRAM:
      return e.arg0 === 0 ? "no program is active on the NIC: load a policy first" : "the shadow slot holds no program";
    case ERR.BAD_COUNTER:
      return `counter ${e.arg0} does not exist (the program declares ${e.arg1})`;
    case ERR.PRIVILEGE:
      return `access to ${at} refused: an application page cannot reach it`;
    case ERR.BAD_VALUE:
      return `${at}: value ${e.arg1} out of range`;
    default:
      return `${at}: ${ERROR_TEXT[e.code] ?? `error ${e.code}`}`;
  }
}

export interface DeviceInfo {
  version: string;
  caps: number;
  clockMHz: number;
  cores: number;
  instructionMemory: number;
  maxTables: number;
  maxCounters: number;
  tableBlocks: number;
  imageMaxBytes: number;
  appPages: number;
  queues: number;
  captureSlots: number;
}

export interface DeviceStatus {
  generation: number;
  slot: number;
  status: number;
  previousGeneration: number;
  crc: number;
  worstCaseCycles: number;
  instructions: number;
  tables: number;
  counters: number;
  tableBlocks: number;
  inflight: number;
  flows: number;
  flowCapacity: number;
  errorCount: number;
}

export interface TableUse {
  table: number;
  kind: string;
  keyBits: number;
  entries: number;
  capacity: number;
}

export interface CounterValues {
  packets: BigUint64Array;
  bytes: BigUint64Array;
}

export type NicStats = Record<StatName, bigint>;

/** MMIO accounting of a driver: every access it made, and the last transaction's share. */
export interface AccessCounts {
  transactions: number;
  reads: number;
  writes: number;
}

export class NicDriver {
  readonly total: AccessCounts = { transactions: 0, reads: 0, writes: 0 };
  last: AccessCounts = { transactions: 0, reads: 0, writes: 0 };

  constructor(readonly transport: NicTransport) {}

  /** Run a transaction; throws DeviceError for a refused access and StateConflict for a stale update. */
  async run(txn: Transaction, update?: StateUpdate, context?: { tables?: readonly TableDecl[] }, qdisc?: QdiscUpdate): Promise<TransactResult> {
    const r = await (qdisc ? this.transport.transact(txn, update, qdisc) : this.transport.transact(txn, update));
    if (r.conflict) throw new StateConflict();
    this.last = { transactions: 1, reads: r.executed - r.writes, writes: r.writes };
    this.total.transactions++;
    this.total.reads += this.last.reads;
    this.total.writes += this.last.writes;
    if (r.error) throw new DeviceError(describeDeviceError(r.error, context), r.error);
    return r;
  }

  /** Read registers in one transaction. */
  async readRegisters(offsets: readonly number[]): Promise<number[]> {
    const t = new Transaction();
    for (const o of offsets) t.read(o);
    return (await this.run(t)).reads;
  }

  async identify(): Promise<DeviceInfo> {
    const [id, version, caps, clock, cores, insn, tables, counters, blocks, imageMax, apps, queues, capture] = await this.readRegisters([
      REG.ID, REG.VERSION, REG.CAPS, REG.CLOCK_MHZ, REG.CORES, REG.INSN_MEM_WORDS, REG.MAX_TABLES, REG.MAX_COUNTERS, REG.TABLE_MEM_BLOCKS, REG.IMAGE_MAX_BYTES, REG.APP_PAGES, REG.QUEUES, REG.CAPTURE_SLOTS,
    ]);
    if (id !== DEVICE_ID) throw new DeviceError(`not a kopi NIC (ID register reads 0x${(id ?? 0).toString(16)})`, { index: 0, offset: REG.ID, code: 0, arg0: 0, arg1: 0 });
    if (version! >>> 16 !== MAP_VERSION_MAJOR) {
      throw new DeviceError(`the NIC's register map is version ${version! >>> 16}.${version! & 0xffff}; this hostctl drives version ${MAP_VERSION_MAJOR}`, { index: 1, offset: REG.VERSION, code: 0, arg0: 0, arg1: 0 });
    }
    return {
      version: `${version! >>> 16}.${version! & 0xffff}`,
      caps: caps!,
      clockMHz: clock!,
      cores: cores!,
      instructionMemory: insn!,
      maxTables: tables!,
      maxCounters: counters!,
      tableBlocks: blocks!,
      imageMaxBytes: imageMax!,
      appPages: apps!,
      queues: queues!,
      captureSlots: capture!,
    };
  }

  async status(): Promise<DeviceStatus> {
    const v = await this.readRegisters([
      REG.ACTIVE_GEN, REG.ACTIVE_SLOT, REG.STATUS, REG.PREVIOUS_GEN, REG.ACTIVE_CRC, REG.ACTIVE_WORST_CYCLES, REG.ACTIVE_INSNS, REG.ACTIVE_TABLES, REG.ACTIVE_COUNTERS, REG.ACTIVE_TABLE_BLOCKS, REG.INFLIGHT, REG.FLOW_COUNT, REG.FLOW_CAPACITY, REG.ERROR_COUNT,
    ]);
    const [generation, slot, status, previousGeneration, crc, worstCaseCycles, instructions, tables, counters, tableBlocks, inflight, flows, flowCapacity, errorCount] = v as number[] as [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
    return { generation, slot, status, previousGeneration, crc, worstCaseCycles, instructions, tables, counters, tableBlocks, inflight, flows, flowCapacity, errorCount };
  }

  async activeGeneration(): Promise<number> {
    return (await this.readRegisters([REG.ACTIVE_GEN]))[0]!;
  }

  /** Entries and capacity of each of the active program's tables. */
  async tableUse(count: number): Promise<TableUse[]> {
    const t = new Transaction();
    for (let i = 0; i < count; i++) {
      t.write(REG.TBL_SELECT, i);
      t.read(REG.TBL_COUNT);
      t.read(REG.TBL_CAPACITY);
      t.read(REG.TBL_KIND);
    }
    const r = (await this.run(t)).reads;
    const out: TableUse[] = [];
    for (let i = 0; i < count; i++) {
      const kind = r[3 * i + 2]!;
      out.push({ table: i, entries: r[3 * i]!, capacity: r[3 * i + 1]!, kind: TABLE_KINDS[kind & 0xff] ?? String(kind & 0xff), keyBits: kind >>> 8 });
    }
    return out;
  }

  // ---- building transactions -------------------------------------------------------------------------

  /** Append the upload of an image to the shadow slot (RESET, LENGTH, DATA…, LOAD). */
  static addUpload(t: Transaction, image: ProgramImage | Uint8Array): Uint8Array {
    const bytes = image instanceof Uint8Array ? image : encodeImage(image);
    t.write(REG.PROG_CTRL, PROG_CMD.RESET);
    t.write(REG.PROG_LENGTH, bytes.length);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += 4) {
      let word = 0;
      if (at + 4 <= bytes.length) word = view.getUint32(at, true);
      else for (let i = 0; at + i < bytes.length; i++) word |= bytes[at + i]! << (8 * i);
      t.write(REG.PROG_DATA, word >>> 0);
    }
    t.write(REG.PROG_CTRL, PROG_CMD.LOAD);
    return bytes;
  }

  /** Append one table command; `selected` is the TBL_SELECT value the transaction last wrote (skip a rewrite). */
  static addTableOp(t: Transaction, op: "insert" | "delete", table: number, entry: TableEntry, opts: { shadow?: boolean; selected?: number } = {}): number {
    const select = table | (opts.shadow ? TBL_SELECT_SHADOW : 0);
    if (opts.selected !== select) t.write(REG.TBL_SELECT, select);
    let key: bigint;
    let second = 0n;
    let arg = 0;
    switch (entry.kind) {
      case "exact":
        key = entry.key;
        break;
      case "lpm":
        key = entry.key;
        arg = entry.prefixLen;
        break;
      case "range":
        key = entry.lo;
        second = entry.hi;
        break;
      case "ternary":
        key = entry.key;
        second = entry.mask;
        arg = entry.priority;
        break;
    }
    // the staging registers are zero after every command: write only the non-zero words
    for (let w = 0; w < TABLE_KEY_WORDS; w++) {
      const kw = Number((key >> BigInt(32 * w)) & 0xffffffffn);
      if (kw !== 0) t.write(REG.TBL_KEY + 4 * w, kw);
    }
    for (let w = 0; w < TABLE_KEY_WORDS; w++) {
      const mw = Number((second >> BigInt(32 * w)) & 0xffffffffn);
      if (mw !== 0) t.write(REG.TBL_MASK + 4 * w, mw);
    }
    if (arg !== 0) t.write(REG.TBL_ARG, arg);
    if (op === "insert" && entry.value !== 0) t.write(REG.TBL_VALUE, entry.value);
    t.write(REG.TBL_CTRL, op === "insert" ? TBL_CMD.INSERT : TBL_CMD.DELETE);
    return select;
  }

  /**
   * Load a program atomically: upload it to the shadow slot, write its tables there, and commit against the
   * generation the host believes active — all in one transaction, so nothing of it is live unless the commit
   * happens. Returns the new generation.
   */
  async loadProgram(image: ProgramImage, tables: readonly (readonly TableEntry[])[], expectedGeneration: number, update?: StateUpdate): Promise<{ generation: number; inflight: number; writes: number; result: TransactResult }> {
    const t = new Transaction();
    NicDriver.addUpload(t, image);
    let selected: number | undefined;
    tables.forEach((entries, table) => {
      for (const e of entries) selected = NicDriver.addTableOp(t, "insert", table, e, { shadow: true, selected });
    });
    t.write(REG.COMMIT, expectedGeneration);
    const genRead = t.read(REG.ACTIVE_GEN);
    const inflightRead = t.read(REG.INFLIGHT);
    const r = await this.run(t, update, { tables: image.tables });
    return { generation: r.reads[t.readSlot(genRead)]!, inflight: r.reads[t.readSlot(inflightRead)]!, writes: t.writes, result: r };
  }

  /** Insert and delete entries of the active program's tables in one transaction. */
  async updateTables(ops: readonly { op: "insert" | "delete"; table: number; entry: TableEntry }[], tables: readonly TableDecl[], extra?: (t: Transaction) => void, update?: StateUpdate): Promise<TransactResult> {
    const t = new Transaction();
    let selected: number | undefined;
    for (const o of ops) selected = NicDriver.addTableOp(t, o.op, o.table, o.entry, { selected });
    extra?.(t);
    return this.run(t, update, { tables });
  }

  async rollback(expectedGeneration: number, update?: StateUpdate): Promise<number> {
    const t = new Transaction();
    t.write(REG.ROLLBACK, expectedGeneration);
    const g = t.read(REG.ACTIVE_GEN);
    const r = await this.run(t, update);
    return r.reads[t.readSlot(g)]!;
  }

  // ---- counters and statistics -------------------------------------------------------------------------

  /** Every counter of the active program (or, with shadow, of the previous one) as of one instant. */
  async readCounters(count: number, opts: { shadow?: boolean } = {}): Promise<CounterValues> {
    const packets = new BigUint64Array(count);
    const bytes = new BigUint64Array(count);
    if (count === 0) return { packets, bytes };
    const t = new Transaction();
    t.write(REG.CNT_SELECT, opts.shadow ? CNT_SELECT_SHADOW : 0);
    for (let i = 0; i < count; i++) {
      t.read(REG.CNT_PACKETS_LO);
      t.read(REG.CNT_PACKETS_HI);
      t.read(REG.CNT_BYTES_LO);
      t.read(REG.CNT_BYTES_HI);
    }
    const r = (await this.run(t)).reads;
    for (let i = 0; i < count; i++) {
      packets[i] = BigInt(r[4 * i]!) | (BigInt(r[4 * i + 1]!) << 32n);
      bytes[i] = BigInt(r[4 * i + 2]!) | (BigInt(r[4 * i + 3]!) << 32n);
    }
    return { packets, bytes };
  }

  static addZeroCounter(t: Transaction, index: number): void {
    t.write(REG.CNT_SELECT, index);
    t.write(REG.CNT_CTRL, CNT_CMD.ZERO_ONE);
  }

  async zeroAllCounters(update?: StateUpdate): Promise<void> {
    const t = new Transaction();
    t.write(REG.CNT_CTRL, CNT_CMD.ZERO_ALL);
    await this.run(t, update);
  }

  async stats(): Promise<NicStats> {
    const t = new Transaction();
    t.write(REG.STATS_LATCH, 1);
    for (let i = 0; i < STATS.length; i++) {
      t.read(STAT_BASE + 8 * i);
      t.read(STAT_BASE + 8 * i + 4);
    }
    const r = (await this.run(t)).reads;
    const out = {} as NicStats;
    STATS.forEach(([name], i) => {
      out[name] = BigInt(r[2 * i]!) | (BigInt(r[2 * i + 1]!) << 32n);
    });
    return out;
  }

  async clearStats(): Promise<void> {
    const t = new Transaction();
    t.write(REG.STATS_CLEAR, 1);
    await this.run(t);
  }

  async flushFlows(): Promise<void> {
    const t = new Transaction();
    t.write(REG.FLOW_CTRL, FLOW_CMD.FLUSH);
    await this.run(t);
  }

  async setFlowCapacity(flows: number): Promise<void> {
    const t = new Transaction();
    t.write(REG.FLOW_CAPACITY, flows);
    await this.run(t);
  }

  // ---- capture ring and queues -------------------------------------------------------------------------

  async setCapture(ctrl: number, snaplen?: number): Promise<void> {
    const t = new Transaction();
    t.write(REG.CAP_CTRL, ctrl);
    if (snaplen !== undefined) t.write(REG.CAP_SNAPLEN, snaplen);
    await this.run(t);
  }

  async captureState(): Promise<{ ctrl: number; snaplen: number; head: number; tail: number; drops: number }> {
    const [ctrl, snaplen, head, tail, drops] = (await this.readRegisters([REG.CAP_CTRL, REG.CAP_SNAPLEN, REG.CAP_HEAD, REG.CAP_TAIL, REG.CAP_DROPS])) as [number, number, number, number, number];
    return { ctrl, snaplen, head, tail, drops };
  }

  async releaseCapture(tail: number): Promise<void> {
    const t = new Transaction();
    t.write(REG.CAP_TAIL, tail >>> 0);
    await this.run(t);
  }

  async bindQueue(queue: number, app: number): Promise<void> {
    const t = new Transaction();
    t.write(REG.QUEUE_SELECT, queue);
    t.write(REG.QUEUE_APP, app);
    await this.run(t);
  }

  // ---- traffic -----------------------------------------------------------------------------------------

  inject(batch: PacketBatch): Promise<BatchOutcome> {
    return this.transport.inject(batch);
  }
}

export { PROG_STATE, STATUS };
