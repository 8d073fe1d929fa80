/**
 * Timing and resource model of the overlay (assumptions in fpga-model/README.md).
 *
 * Timing: a core runs one packet to completion, one instruction after another, each costing the cycles the
 * overlay-isa opcode table gives it; the hardware parser is a separate pipeline stage that keeps up with line
 * rate and costs the core nothing. A program's static worst-case cycle count (the verifier's longest path) thus
 * bounds the time a core spends per packet: packets/s per core = clock / worst-case cycles, and N cores working
 * on different packets multiply that.
 *
 * Resources: table memories are built from 36 Kib block RAMs (Xilinx RAMB36: 32K×1 … 512×72); each table takes
 * the fewest blocks any aspect ratio gives for its depth and entry width. Counters (64-bit packets + bytes) and
 * the instruction memory use blocks too, but the slot's budget (TABLE_MEM_BLOCKS) is for tables only.
 */
import { fieldById, type ProgramImage, type TableDecl } from "../overlay-isa/index.js";

export const DEFAULT_CLOCK_MHZ = 250;
export const DEFAULT_CORES = 16;
/** Table memory of one program slot, in RAMB36 blocks (see README: three quarters of an Alveo U50's 1,344). */
export const DEFAULT_TABLE_BLOCKS = 1024;

/** 100 Gb/s of minimum-size Ethernet frames: 64 B + 8 B preamble + 12 B inter-frame gap = 672 bits per frame. */
export const LINE_RATE = { label: "100GbE, 64 B", mpps: 100e9 / (84 * 8) / 1e6 } as const;

/** hXDP (OSDI 2020) as published: Sephirot VLIW core on a NetFPGA-SUME at 156.25 MHz, about 7 ns per instruction. */
export const HXDP = { clockMHz: 156.25, nsPerInstruction: 7 } as const;

export interface TimingConfig {
  clockMHz?: number;
  cores?: number;
}

export interface TimingReport {
  worstCaseCycles: number;
  clockMHz: number;
  /** time one core spends on a worst-case packet */
  nsPerPacket: number;
  mppsPerCore: number;
  cores: number;
  /** cores × mppsPerCore */
  modeledMpps: number;
  lineRateMpps: number;
  lineRateLabel: string;
  /** cores needed to sustain line rate with worst-case packets */
  coresNeeded: number;
  meetsLineRate: boolean;
}

export function timingOf(worstCaseCycles: number, config: TimingConfig = {}): TimingReport {
  const clockMHz = config.clockMHz ?? DEFAULT_CLOCK_MHZ;
  const cores = config.cores ?? DEFAULT_CORES;
  const cycles = Math.max(1, worstCaseCycles);
  const mppsPerCore = clockMHz / cycles;
  const coresNeeded = Math.ceil(LINE_RATE.mpps / mppsPerCore - 1e-9);
  return {
    worstCaseCycles,
    clockMHz,
    nsPerPacket: (cycles * 1000) / clockMHz,
    mppsPerCore,
    cores,
    modeledMpps: mppsPerCore * cores,
    lineRateMpps: LINE_RATE.mpps,
    lineRateLabel: LINE_RATE.label,
    coresNeeded,
    meetsLineRate: cores >= coresNeeded,
  };
}

function mpps(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** `worst case 18 cycles/packet → 13.9 Mpps per core at 250 MHz; 11 cores needed for 148.8 Mpps (100GbE, 64 B)` */
export function formatTiming(t: TimingReport): string {
  return (
    `worst case ${t.worstCaseCycles} cycles/packet → ${mpps(t.mppsPerCore)} Mpps per core at ${t.clockMHz} MHz; ` +
    `${t.coresNeeded} core${t.coresNeeded === 1 ? "" : "s"} needed for ${t.lineRateMpps.toFixed(1)} Mpps (${t.lineRateLabel})`
  );
}

// ---- block RAM ---------------------------------------------------------------------------------------------

/** RAMB36 aspect ratios: depth × width. */
const BRAM_SHAPES: readonly [number, number][] = [
  [32768, 1],
  [16384, 2],
  [8192, 4],
  [4096, 9],
  [2048, 18],
  [1024, 36],
  [512, 72],
];
export const BRAM_BITS = 36 * 1024;

/** Fewest RAMB36 blocks that hold `depth` words of `width` bits. */
export function bramBlocks(depth: number, width: number): number {
  if (depth <= 0 || width <= 0) return 0;
  let best = Infinity;
  for (const [d, w] of BRAM_SHAPES) best = Math.min(best, Math.ceil(depth / d) * Math.ceil(width / w));
  return best;
}

export interface TableResources {
  table: number;
  kind: TableDecl["kind"];
  capacity: number;
  keyBits: number;
  /** words of storage (hash slots, entries, intervals) */
  depth: number;
  entryBits: number;
  blocks: number;
}

function keyBitsOf(decl: TableDecl): number {
  return decl.keyFields.reduce((n, id) => n + (fieldById(id)?.bits ?? 0), 0);
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Storage of one table as the VM lays it out (runtime/LAYOUT.md): exact and lpm are open-addressed hash tables
 * of 2^k ≥ 4/3 · capacity slots (lpm entries also keep their prefix length); range keeps its entries plus the
 * sorted elementary intervals (up to 2 · capacity + 1); ternary keeps value, mask, priority and value per entry
 * (a TCAM emulated in block RAM, searched by priority).
 */
export function tableResources(table: number, decl: TableDecl): TableResources {
  const keyBits = keyBitsOf(decl);
  let depth: number;
  let entryBits: number;
  let blocks: number;
  switch (decl.kind) {
    case "exact":
      depth = nextPow2(Math.ceil((decl.capacity * 4) / 3));
      entryBits = 1 + keyBits + 32;
      blocks = bramBlocks(depth, entryBits);
      break;
    case "lpm":
      depth = nextPow2(Math.ceil((decl.capacity * 4) / 3));
      entryBits = 1 + keyBits + 8 + 32;
      blocks = bramBlocks(depth, entryBits);
      break;
    case "range":
      depth = decl.capacity;
      entryBits = 2 * keyBits + 32;
      blocks = bramBlocks(depth, entryBits) + bramBlocks(2 * decl.capacity + 1, keyBits + 32);
      break;
    case "ternary":
      depth = decl.capacity;
      entryBits = 2 * keyBits + 32 + 32;
      blocks = bramBlocks(depth, entryBits);
      break;
  }
  return { table, kind: decl.kind, capacity: decl.capacity, keyBits, depth, entryBits, blocks };
}

export interface ResourceReport {
  tables: TableResources[];
  tableBlocks: number;
  /** table memory budget of one slot */
  budgetBlocks: number;
  fits: boolean;
  counterBlocks: number;
  /** the slot's instruction memory (fixed, whatever the program's size) */
  instructionBlocks: number;
  instructions: number;
}

export function resourcesOf(image: Pick<ProgramImage, "tables" | "counters" | "code">, budgetBlocks = DEFAULT_TABLE_BLOCKS, instructionMemory = 32768): ResourceReport {
  const tables = image.tables.map((t, i) => tableResources(i, t));
  const tableBlocks = tables.reduce((n, t) => n + t.blocks, 0);
  return {
    tables,
    tableBlocks,
    budgetBlocks,
    fits: tableBlocks <= budgetBlocks,
    counterBlocks: bramBlocks(image.counters, 128),
    instructionBlocks: bramBlocks(instructionMemory, 64),
    instructions: image.code.length,
  };
}

/** The hXDP comparison the README makes: the same instruction count on Sephirot at its published speed. */
export function hxdpEquivalent(instructionsOnPath: number): { nsPerPacket: number; mpps: number } {
  const ns = instructionsOnPath * HXDP.nsPerInstruction;
  return { nsPerPacket: ns, mpps: 1000 / ns };
}
