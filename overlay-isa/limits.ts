/** Sizes of the overlay core's memories; the verifier and the NIC model enforce them. */
export const LIMITS = {
  /** general registers r0..r15, 64 bits each */
  registers: 16,
  /** instruction memory, in instruction words */
  instructionMemory: 32768,
  /** tables one program may declare */
  tables: 64,
  /** counters one program may declare */
  counters: 65536,
  /** constant-pool entries (128 bits each) */
  constants: 4096,
  /** key fields one table may combine */
  keyFields: 8,
  /** total key width of one table, in bits */
  keyBits: 320,
  /** key width of an LPM table, in bits */
  lpmKeyBits: 128,
  /** entries one table may hold */
  tableEntries: 1 << 20,
  /** application queues a `queue N` verdict may name */
  queues: 65536,
  /** scheduler state memory (`sld`/`sst`), in 64-bit words, at most; the NIC configures the size it lays out */
  schedStateWords: 1 << 21,
  /** queues of the scheduler's queue model (`qlen` … `qdrop`), at most: what a `queue N` verdict can name */
  schedQueues: 65536,
} as const;
