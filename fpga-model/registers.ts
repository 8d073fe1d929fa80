/**
 * THE BAR0 register map of the kopi NIC: one table, from which the TypeScript constants (REG, APP_REG), the
 * device's decoder and fpga-model/REGISTERS.md (`npx tsx fpga-model/gen-registers-md.ts`; a test fails when the
 * Markdown is stale) are derived. Every register is 32 bits wide, little-endian, at a 4-byte-aligned offset.
 *
 * The map has two privilege zones: the kernel zone (everything below APP_PAGE_BASE), which only the host kernel
 * (requester 0) may touch, and one 4 KiB page per application (APP_PAGE_BASE + app × APP_PAGE_SIZE) that the
 * kernel may hand to application `app` to map. An application reaching outside its own page is refused and
 * counted, whatever the offset.
 */

export type Access = "ro" | "rw" | "wo";

export interface RegisterSpec {
  readonly name: string;
  /** byte offset in BAR0 (kernel zone) or in an application page (app zone) */
  readonly offset: number;
  readonly access: Access;
  /** a window of `count` consecutive registers (KEY0…KEY9); name is then the window's name */
  readonly count?: number;
  /** value after reset, when it is a constant */
  readonly reset?: number;
  readonly block: string;
  readonly meaning: string;
}

/** Identification value of register ID: "KOPI" read as a little-endian u32. */
export const DEVICE_ID = 0x49504f4b;
/** Register-map version: major in bits 16..31, minor in 0..15. A driver refuses a major it does not know. */
export const MAP_VERSION_MAJOR = 1;
export const MAP_VERSION_MINOR = 1; // 1.1: the egress scheduler block (CAPS bit 10)
export const MAP_VERSION = (MAP_VERSION_MAJOR << 16) | MAP_VERSION_MINOR;

export const APP_PAGE_BASE = 0x10000;
export const APP_PAGE_SIZE = 0x1000;
/** Application pages; app ids 1…APP_PAGES-1 have one each (id 0 means "no application"). */
export const APP_PAGES = 64;
/**
 * Connection pages (CAPS.CONNECTIONS): one 4 KiB page per connection id 1…CONN_PAGES−1, holding that connection's ring
 * head/tail registers (the Norman/Arrakis model: an application maps the pages of its own connections only).
 */
export const CONN_PAGE_BASE = 0x100000;
export const CONN_PAGE_SIZE = 0x1000;
export const CONN_PAGES = 131072;
export const BAR0_SIZE = CONN_PAGE_BASE + CONN_PAGES * CONN_PAGE_SIZE;

/** Words of the table staging key and mask windows: 10 × 32 = 320 bits, the widest key the ISA allows. */
export const TABLE_KEY_WORDS = 10;

/** Bits of CAPS. */
export const CAPS = {
  EXACT: 1 << 0,
  LPM: 1 << 1,
  RANGE: 1 << 2,
  TERNARY: 1 << 3,
  FLOW_TABLE: 1 << 4,
  CAPTURE_RING: 1 << 5,
  APP_PAGES: 1 << 6,
  TRACE_PORT: 1 << 7,
  ROLLBACK: 1 << 8,
  /** application and connection tables, connection pages, steering, interrupts */
  CONNECTIONS: 1 << 9,
  /** the egress scheduler: a loadable qdisc in front of a modeled egress link (EG_ registers) */
  EGRESS_QDISC: 1 << 10,
} as const;

/** Bits of STATUS. */
export const STATUS = {
  ACTIVE: 1 << 0, // a committed program runs
  SHADOW_LOADED: 1 << 1, // the shadow slot holds an uploaded, verified, uncommitted program
  PREVIOUS: 1 << 2, // the shadow slot holds the previously active program (ROLLBACK possible)
  ERROR: 1 << 3, // ERROR_CODE is not NONE
  INFLIGHT: 1 << 4, // packets latched to the shadow slot's generation are still being processed
} as const;

/** PROG_CTRL commands. */
export const PROG_CMD = { RESET: 1, LOAD: 2 } as const;
/** PROG_STATE values. */
export const PROG_STATE = { EMPTY: 0, UPLOADING: 1, VERIFIED: 2, REJECTED: 3, PREVIOUS: 4 } as const;
/** TBL_CTRL commands; every command clears the staging registers (key, mask, arg, value) afterwards. */
export const TBL_CMD = { INSERT: 1, DELETE: 2, CLEAR: 3 } as const;
/** TBL_RESULT values. */
export const TBL_RESULT = { OK: 0, NOT_FOUND: 1, REFUSED: 2, REPLACED: 3 } as const;
/** TBL_SELECT bit that targets the shadow slot (a program being loaded) instead of the active one. */
export const TBL_SELECT_SHADOW = 1 << 8;
/** CNT_SELECT bit that reads the shadow slot's counters (the previous program's, final after a commit). */
export const CNT_SELECT_SHADOW = 1 << 31;
/** CNT_CTRL commands. */
export const CNT_CMD = { ZERO_ONE: 1, ZERO_ALL: 2 } as const;
/** CAP_CTRL bits. */
export const CAP_CTRL = { MIRROR: 1 << 0, TAP_INGRESS: 1 << 1, TAP_EGRESS: 1 << 2 } as const;
/** FLOW_CTRL commands. */
export const FLOW_CMD = { FLUSH: 1 } as const;
/** APPT_CTRL commands (the application table). */
export const APPT_CMD = { ATTACH: 1, DETACH: 2, UPDATE: 3 } as const;
/** CONN_CTRL commands (the connection table). */
export const CONN_CMD = { OPEN: 1, CLOSE: 2 } as const;
/** Connection kinds (CONN_KIND bits 0..7). */
export const CONN_KIND = { EXACT: 0, LISTEN: 1, RAW: 2 } as const;
/** CONN_KIND bit 16: the addresses are IPv6 (else IPv4 in word 0). */
export const CONN_KIND_IPV6 = 1 << 16;
/** EG_CTRL commands (the egress scheduler's shadow qdisc slot); NONE stages "no qdisc", whose commit removes the active one. */
export const EG_CMD = { RESET: 1, LOAD: 2, NONE: 3 } as const;
/** EG_STATE beyond PROG_STATE's values: the shadow slot holds "no qdisc" (EG_CTRL NONE), ready to commit. */
export const EG_STATE_NONE = 5;
/** EG_NAME_SELECT bit that addresses the shadow qdisc's owner names instead of the active one's. */
export const EG_NAME_SHADOW = 1 << 8;
/** Link rate after reset, kbit/s (100 Gbit/s). */
export const EG_DEFAULT_LINK_KBIT = 100_000_000;
/**
 * The egress snapshot EG_LATCH takes (u64 values, read from EG_SNAP_SELECT on): these head fields, then per queue
 * EG_QUEUE_FIELDS, then the qdisc program's counters (packets), the classifier's counters (packets) and the
 * scheduler's state words. Conservation: enqueued = sent_packets + dropped_packets + backlog_packets.
 */
export const EG_SNAP_HEAD = [
  ["generation", "active qdisc generation (0: none; packets pass unscheduled)"],
  ["now_ns", "egress link clock, ns since its first packet"],
  ["enqueued", "packets handed to the qdisc (egress packets the policy accepted while a qdisc was committed)"],
  ["sent_packets", "packets the qdisc handed to the link"],
  ["sent_bytes", "their wire bytes"],
  ["dropped_packets", "packets the qdisc refused, dropped from a queue, or could not carry over at a swap"],
  ["dropped_bytes", "their wire bytes"],
  ["backlog_packets", "packets queued now"],
  ["backlog_bytes", "their wire bytes"],
  ["passed_packets", "packets sent with no qdisc committed"],
  ["passed_bytes", "their wire bytes"],
  ["migrated", "queued packets swaps carried over into the new qdisc"],
  ["migration_drops", "queued packets swaps could not carry over, and those a qdisc's removal dropped (of dropped_packets)"],
  ["offered", "active qdisc: enqueue events"],
  ["refused", "active qdisc: enqueues the program refused"],
  ["overflow", "active qdisc: enqueues refused for want of a descriptor"],
  ["faults", "active qdisc: program faults"],
  ["overruns", "active qdisc: dequeues that ran again more than 65,536 times"],
  ["empty_pops", "active qdisc: dequeues with nothing to send"],
  ["dequeue_runs", "active qdisc: dequeue program runs"],
  ["queue_drops", "active qdisc: packets the program dropped out of queues"],
  ["queues", "queues of the active qdisc (records that follow)"],
  ["counters", "qdisc program counters that follow"],
  ["filters", "classifier counters that follow"],
  ["state_words", "scheduler state words that follow"],
] as const;
/** Per-queue values of the egress snapshot, in order (runtime/sched QueueCounters). */
export const EG_QUEUE_FIELDS = ["packets", "bytes", "enqueuedPackets", "enqueuedBytes", "sentPackets", "sentBytes", "droppedPackets", "droppedBytes", "ecnMarks"] as const;

/** Notification kinds in an application's notification queue. */
export const NOTIFY_KIND = { QUEUE_RX: 1, GENERATION: 2, CONN_RX: 3, CONN_TX_DRAINED: 4 } as const;

/** Device error codes (ERROR_CODE); ERROR_ARG0/ARG1 carry the details named here. */
export const ERR = {
  NONE: 0,
  BAD_OFFSET: 1, // arg0 offset — no register there, or a misaligned offset
  READ_ONLY: 2, // arg0 offset — write to a read-only register
  WRITE_ONLY: 3, // arg0 offset — read of a write-only register (reads 0)
  BAD_VALUE: 4, // arg0 offset, arg1 value — value out of the register's range
  BAD_IMAGE: 5, // arg0 byte offset in the image — the uploaded bytes are not a valid image
  VERIFY_FAILED: 6, // arg0 instruction (or table) index, arg1 verifier rule number (VERIFY_RULES)
  NOT_VERIFIED: 7, // commit with no verified program in the shadow slot
  GEN_MISMATCH: 8, // arg0 active generation, arg1 the generation the write expected
  NO_PREVIOUS: 9, // rollback with no previous program kept
  TABLE_FULL: 10, // arg0 table, arg1 capacity
  NO_TABLE: 11, // arg0 table, arg1 tables the program declares
  BAD_ENTRY: 12, // arg0 table — key wider than the table's key, prefix too long, empty range, …
  NO_PROGRAM: 13, // arg0 slot (0 active, 1 shadow) — table or counter access to a slot without that program
  TABLE_MEMORY: 14, // arg0 BRAM blocks the tables need, arg1 the budget
  PRIVILEGE: 15, // arg0 offset, arg1 application — an application page reached outside itself
  BAD_COUNTER: 16, // arg0 index, arg1 counters declared
  UPLOAD_OVERFLOW: 17, // arg0 byte address, arg1 PROG_LENGTH — program data past the announced length
  VM_REFUSED: 18, // arg0 instruction index — the overlay core refused the program (an opcode it cannot run)
  SLOT_BUSY: 19, // the shadow slot is being loaded and must be reset first
  APP_TABLE_FULL: 20, // arg0 capacity — every application id is attached
  NO_APP: 21, // arg0 application — APPT_SELECT (or CONN_APP) names no attached application
  CONN_TABLE_FULL: 22, // arg0 capacity — the connection table holds CONN_CAPACITY connections
  QUEUE_MEMORY: 23, // arg0 bytes the rings need, arg1 bytes free — queue memory exhausted
  CONN_EXISTS: 24, // arg0 connection — a connection with the same key (5-tuple, or listening address) is open
  NO_CONN: 25, // arg0 connection — CONN_SELECT names no open connection
} as const;
export type ErrorCode = (typeof ERR)[keyof typeof ERR];

export const ERROR_TEXT: Record<number, string> = {
  [ERR.NONE]: "no error",
  [ERR.BAD_OFFSET]: "no register at this offset",
  [ERR.READ_ONLY]: "write to a read-only register",
  [ERR.WRITE_ONLY]: "read of a write-only register",
  [ERR.BAD_VALUE]: "value out of range for the register",
  [ERR.BAD_IMAGE]: "the uploaded program image is malformed",
  [ERR.VERIFY_FAILED]: "the uploaded program failed verification",
  [ERR.NOT_VERIFIED]: "commit without a verified program in the shadow slot",
  [ERR.GEN_MISMATCH]: "the active generation is not the one the write expected",
  [ERR.NO_PREVIOUS]: "no previous program to roll back to",
  [ERR.TABLE_FULL]: "table full",
  [ERR.NO_TABLE]: "the program declares no such table",
  [ERR.BAD_ENTRY]: "the staged entry does not fit the table",
  [ERR.NO_PROGRAM]: "no program in the addressed slot",
  [ERR.TABLE_MEMORY]: "the program's tables do not fit the table memory",
  [ERR.PRIVILEGE]: "an application page cannot reach this register",
  [ERR.BAD_COUNTER]: "no such counter",
  [ERR.UPLOAD_OVERFLOW]: "program data past the announced image length",
  [ERR.VM_REFUSED]: "the overlay core cannot run this program",
  [ERR.SLOT_BUSY]: "the shadow slot is busy",
  [ERR.APP_TABLE_FULL]: "the application table is full",
  [ERR.NO_APP]: "no such application is attached",
  [ERR.CONN_TABLE_FULL]: "the connection table is full",
  [ERR.QUEUE_MEMORY]: "not enough queue memory for the connection's rings",
  [ERR.CONN_EXISTS]: "a connection with this key is already open",
  [ERR.NO_CONN]: "no such connection is open",
};

/** Verifier rules by number (ERROR_ARG1 of VERIFY_FAILED, PROG_REJECT_RULE). */
export const VERIFY_RULES = [
  "empty-program",
  "too-large",
  "unknown-opcode",
  "reserved-bits",
  "backward-jump",
  "jump-out-of-range",
  "falls-off-end",
  "uninitialized-register",
  "bad-field",
  "bad-table",
  "bad-counter",
  "bad-constant",
  "bad-memory-base",
  "bad-verdict",
  "bad-table-declaration",
] as const;

/**
 * NIC statistics, 64 bits each, read as STAT_BASE + 8·i (low word) and + 4 (high word) after a write to
 * STATS_LATCH copies them all at one instant. Conservation: rx = accepted + dropped + queued + mirrored_only.
 */
export const STATS = [
  ["rx_packets", "packets the overlay judged (every one latched a generation)"],
  ["rx_bytes", "their bytes on the wire"],
  ["accepted", "verdict accept: delivered to the host (ingress) or sent to the wire (egress)"],
  ["dropped", "verdict drop or reject, faults, and queued packets no application could take — not copied to the capture ring"],
  ["queued", "verdict queue N, delivered to the application bound to queue N"],
  ["mirrored_only", "not delivered, but copied to the capture ring (a dropped packet with the mirror bit)"],
  ["rejected", "of dropped and mirrored_only: verdict reject"],
  ["faulted", "of dropped and mirrored_only: the program faulted (bad raw load, zero divisor, …)"],
  ["queue_overflow", "of dropped and mirrored_only: queue N unbound, or its application ring full"],
  ["mirrored", "copies written to the capture ring (mirror bit or tap)"],
  ["capture_dropped", "copies lost because the capture ring was full"],
  ["flow_overflows", "packets that found the flow table full (ct.state invalid)"],
  ["traced", "packets that came in through the trace port"],
  ["privilege_violations", "application accesses refused because they reached outside their page"],
  ["core_cycles", "cycles the overlay cores spent on packets (sum of each packet's executed instructions' cycles)"],
] as const;
export type StatName = (typeof STATS)[number][0];

/**
 * Statistics of the process view (CAPS.CONNECTIONS), 64 bits each at OS_STAT_BASE + 8·i, latched with the others by
 * STATS_LATCH. They break down packets the STATS above count (steered and steer_fallback are accepted ingress
 * packets; ring_overflow is in dropped) or count what never reaches the overlay (tx_refused).
 */
export const OS_STATS = [
  ["steered", "accepted ingress packets the connection table steered into a connection's receive ring"],
  ["steer_fallback", "accepted ingress packets no connection matched: delivered to the kernel's own stack (the fallback)"],
  ["ring_overflow", "of dropped: packets for a connection whose receive ring was full"],
  ["tx_packets", "packets applications posted on transmit rings that entered the overlay (egress policy)"],
  ["tx_sent", "of those, sent to the wire (the egress policy accepted them)"],
  ["tx_refused", "transmit descriptors refused before the overlay: empty, or addresses/ports that are not the connection's own (forged)"],
  ["notifications", "entries written to applications' notification queues"],
  ["notify_overflows", "notifications lost because an application's queue was full (its waiters are still woken)"],
  ["interrupts", "interrupts raised to the kernel for armed notification queues"],
] as const;
export type OsStatName = (typeof OS_STATS)[number][0];

const R = <N extends string>(name: N, offset: number, access: Access, block: string, meaning: string, extra: Pick<RegisterSpec, "count" | "reset"> = {}): RegisterSpec & { readonly name: N } => ({ ...extra, name, offset, access, block, meaning });

/** Offset of the first statistic (see STATS). */
export const STAT_BASE = 0x0780;
/** Offset of the first process-view statistic (see OS_STATS). */
export const OS_STAT_BASE = 0x0d80;

export const KERNEL_REGISTERS = [
  // identification
  R("ID", 0x000, "ro", "identification", `0x${DEVICE_ID.toString(16)} ("KOPI")`, { reset: DEVICE_ID }),
  R("VERSION", 0x004, "ro", "identification", "register-map version: major in bits 16..31, minor in 0..15", { reset: MAP_VERSION }),
  R("CAPS", 0x008, "ro", "identification", "capability bits: 0 exact, 1 lpm, 2 range, 3 ternary tables, 4 flow table, 5 capture ring, 6 application pages, 7 trace port, 8 rollback, 9 application and connection tables (connection pages, steering, interrupts), 10 egress scheduler (EG_ registers)"),
  R("CLOCK_MHZ", 0x00c, "ro", "identification", "overlay clock the timing model assumes, MHz"),
  R("CORES", 0x010, "ro", "identification", "overlay cores working in parallel on the packet stream"),
  R("INSN_MEM_WORDS", 0x014, "ro", "identification", "instruction memory of one program slot, in 64-bit words"),
  R("MAX_TABLES", 0x018, "ro", "identification", "tables one program may declare"),
  R("MAX_COUNTERS", 0x01c, "ro", "identification", "counters one program may declare"),
  R("TABLE_MEM_BLOCKS", 0x020, "ro", "identification", "table memory budget in 36 Kib BRAM blocks (shared by a slot's tables)"),
  R("IMAGE_MAX_BYTES", 0x024, "ro", "identification", "largest program image PROG_LENGTH accepts"),
  R("APP_PAGES", 0x028, "ro", "identification", "application pages (ids 1…n−1)"),
  R("QUEUES", 0x02c, "ro", "identification", "application queues a queue verdict may name"),
  R("CAPTURE_SLOTS", 0x030, "ro", "identification", "entries of the capture ring"),
  R("SCRATCH", 0x03c, "rw", "identification", "free for the driver (liveness checks, round-trip timing)", { reset: 0 }),
  // status and errors
  R("STATUS", 0x040, "ro", "status", "bit 0 a program is active, 1 the shadow slot holds a verified program, 2 it holds the previous program, 3 an error is pending, 4 packets of the shadow slot's generation are in flight"),
  R("ERROR_CODE", 0x044, "ro", "status", "error of the last refused access (ERR codes), until ERROR_CLEAR", { reset: 0 }),
  R("ERROR_ARG0", 0x048, "ro", "status", "detail of that error (offset, table, instruction index …; see the error codes)", { reset: 0 }),
  R("ERROR_ARG1", 0x04c, "ro", "status", "second detail (capacity, value, verifier rule …)", { reset: 0 }),
  R("ERROR_COUNT", 0x050, "ro", "status", "refused accesses since reset (wraps)", { reset: 0 }),
  R("ERROR_CLEAR", 0x054, "wo", "status", "write 1: clear ERROR_CODE and its arguments"),
  // generations and commit
  R("ACTIVE_GEN", 0x100, "ro", "commit", "generation of the active program (0: none loaded; every packet latches this when it enters)", { reset: 0 }),
  R("ACTIVE_SLOT", 0x104, "ro", "commit", "slot (0 or 1) of the active program"),
  R("PREVIOUS_GEN", 0x108, "ro", "commit", "generation the shadow slot's previous program ran as (0: none kept)", { reset: 0 }),
  R("COMMIT", 0x10c, "wo", "commit", "doorbell: write the active generation you expect; the shadow slot's verified program becomes active as a new generation (one more than any before), the old one is kept for ROLLBACK"),
  R("ROLLBACK", 0x110, "wo", "commit", "doorbell: write the active generation you expect; the previous program becomes active again, as a new generation"),
  R("INFLIGHT", 0x114, "ro", "commit", "packets latched to a generation other than the active one that are not processed yet"),
  // program upload into the shadow slot
  R("PROG_CTRL", 0x200, "wo", "program", "1 RESET: empty the shadow slot (waits for its in-flight packets; forgets the previous program); 2 LOAD: decode, verify and load the uploaded bytes"),
  R("PROG_LENGTH", 0x204, "rw", "program", "length in bytes of the image about to be uploaded (1 … IMAGE_MAX_BYTES)", { reset: 0 }),
  R("PROG_ADDR", 0x208, "rw", "program", "byte address (multiple of 4) of the next PROG_DATA word; increments by 4 on each", { reset: 0 }),
  R("PROG_DATA", 0x20c, "wo", "program", "next 4 image bytes, little-endian"),
  R("PROG_STATE", 0x210, "ro", "program", "shadow slot: 0 empty, 1 uploading, 2 verified, 3 rejected, 4 previous program", { reset: 0 }),
  R("PROG_CRC", 0x214, "ro", "program", "CRC-32 of the shadow slot's image (as in its header)"),
  R("PROG_WORST_CYCLES", 0x218, "ro", "program", "static worst-case cycles per packet of the shadow slot's program"),
  R("PROG_REJECT_INDEX", 0x21c, "ro", "program", "instruction or table index of the first verifier error (0xffffffff: none)"),
  R("PROG_REJECT_RULE", 0x220, "ro", "program", "verifier rule number of that error (VERIFY_RULES)"),
  R("ACTIVE_CRC", 0x240, "ro", "program", "CRC-32 of the active program's image"),
  R("ACTIVE_WORST_CYCLES", 0x244, "ro", "program", "static worst-case cycles per packet of the active program"),
  R("ACTIVE_INSNS", 0x248, "ro", "program", "instructions of the active program"),
  R("ACTIVE_TABLES", 0x24c, "ro", "program", "tables the active program declares"),
  R("ACTIVE_COUNTERS", 0x250, "ro", "program", "counters the active program declares"),
  R("ACTIVE_TABLE_BLOCKS", 0x254, "ro", "program", "BRAM blocks the active program's tables occupy"),
  // table entry staging
  R("TBL_SELECT", 0x400, "rw", "table", "bits 0..5 table id; bit 8 targets the shadow slot's tables (a program being loaded) instead of the active ones", { reset: 0 }),
  R("TBL_ARG", 0x404, "rw", "table", "lpm prefix length, or ternary priority (lowest wins)", { reset: 0 }),
  R("TBL_VALUE", 0x408, "rw", "table", "value the lookup returns for the entry", { reset: 0 }),
  R("TBL_CTRL", 0x40c, "wo", "table", "1 INSERT (or replace the value of the entry with the same identity), 2 DELETE, 3 CLEAR the table; a command consumes the staged entry, done or refused: the staging registers (not TBL_SELECT) are zeroed after it (an unknown command changes nothing)"),
  R("TBL_RESULT", 0x410, "ro", "table", "last command: 0 done, 1 delete found nothing, 2 refused (see ERROR_CODE), 3 insert replaced a value", { reset: 0 }),
  R("TBL_COUNT", 0x414, "ro", "table", "entries in the selected table"),
  R("TBL_CAPACITY", 0x418, "ro", "table", "capacity of the selected table"),
  R("TBL_KIND", 0x41c, "ro", "table", "selected table: kind (0 exact, 1 lpm, 2 range, 3 ternary) in bits 0..7, key width in bits 8..23"),
  R("TBL_KEY", 0x440, "rw", "table", "key (range: low bound), least significant word first", { count: TABLE_KEY_WORDS, reset: 0 }),
  R("TBL_MASK", 0x480, "rw", "table", "ternary mask (range: high bound), least significant word first", { count: TABLE_KEY_WORDS, reset: 0 }),
  // counters
  R("CNT_SELECT", 0x600, "rw", "counter", "counter index (bit 31: the shadow slot's program); the write copies that counter into the CNT_ registers below", { reset: 0 }),
  R("CNT_PACKETS_LO", 0x604, "ro", "counter", "packets of the selected counter, low word"),
  R("CNT_PACKETS_HI", 0x608, "ro", "counter", "packets, high word"),
  R("CNT_BYTES_LO", 0x60c, "ro", "counter", "bytes, low word"),
  R("CNT_BYTES_HI", 0x610, "ro", "counter", "bytes, high word; reading it selects the next counter (a whole table reads as one select then 4 reads per counter)"),
  R("CNT_CTRL", 0x614, "wo", "counter", "1 zero the selected counter; 2 zero every counter of the active program"),
  R("CNT_DECLARED", 0x618, "ro", "counter", "counters the selected slot's program declares"),
  // statistics
  R("STATS_LATCH", 0x700, "wo", "stats", "write 1: copy every statistic at one instant into the STAT registers"),
  R("STATS_CLEAR", 0x704, "wo", "stats", "write 1: zero every statistic"),
  R("STAT", STAT_BASE, "ro", "stats", "latched statistics, 64 bits each: low word at STAT + 8·i, high word at + 4 (order in STATS)", { count: 2 * STATS.length }),
  // flow table
  R("FLOW_CAPACITY", 0x800, "rw", "flow", "flows the connection-tracking table holds (writing it empties the table)", { reset: 65536 }),
  R("FLOW_COUNT", 0x804, "ro", "flow", "flows tracked now"),
  R("FLOW_CTRL", 0x808, "wo", "flow", "1 FLUSH: forget every flow"),
  // capture ring
  R("CAP_CTRL", 0x900, "rw", "capture", "bit 0 copy packets whose program set meta.mirror; bit 1 copy every ingress packet; bit 2 every egress packet", { reset: CAP_CTRL.MIRROR }),
  R("CAP_SNAPLEN", 0x904, "rw", "capture", "bytes of each packet the ring keeps (1 … 262144)", { reset: 262144 }),
  R("CAP_HEAD", 0x908, "ro", "capture", "producer index (free-running): entries written so far", { reset: 0 }),
  R("CAP_TAIL", 0x90c, "rw", "capture", "consumer index: the host writes how far it has read (tail ≤ value ≤ head)", { reset: 0 }),
  R("CAP_DROPS", 0x910, "ro", "capture", "copies lost because the ring was full", { reset: 0 }),
  // application queues (kernel side)
  R("QUEUE_SELECT", 0xa00, "rw", "queue", "queue number the QUEUE_ registers address", { reset: 0 }),
  R("QUEUE_APP", 0xa04, "rw", "queue", "application bound to the selected queue (0: none — its packets are dropped and counted)", { reset: 0 }),
  R("QUEUE_DEPTH", 0xa08, "ro", "queue", "packets of the selected queue waiting in its application's ring"),
  // application table (the process view: owner.* of every packet comes from here)
  R("APPT_SELECT", 0xb00, "rw", "application table", "application id (1…APP_PAGES−1) the APPT_ registers address; a write copies its entry into PID … SHADOW_CGROUP", { reset: 0 }),
  R("APPT_PID", 0xb04, "rw", "application table", "process id (staged for ATTACH / UPDATE)", { reset: 0 }),
  R("APPT_UID", 0xb08, "rw", "application table", "user id (0 … 0xfffffffe)", { reset: 0 }),
  R("APPT_GID", 0xb0c, "rw", "application table", "group id (0 … 0xfffffffe)", { reset: 0 }),
  R("APPT_CMD", 0xb10, "rw", "application table", "command name as the id the active program interned (owner.cmd; 0: a name the program does not use)", { reset: 0 }),
  R("APPT_CGROUP", 0xb14, "rw", "application table", "cgroup path as the id the active program interned (owner.cgroup)", { reset: 0 }),
  R("APPT_SHADOW_CMD", 0xb18, "rw", "application table", "command id for the program in the shadow slot (its packets in flight, or a rollback)", { reset: 0 }),
  R("APPT_SHADOW_CGROUP", 0xb1c, "rw", "application table", "cgroup id for the program in the shadow slot", { reset: 0 }),
  R("APPT_CTRL", 0xb20, "wo", "application table", "1 ATTACH: a new entry from the staged values at the lowest free id (APPT_RESULT, APPT_SELECT); 2 DETACH the selected application — its connections, rings, queue bindings, notifications and owner entries go in this one write; 3 UPDATE the selected entry from the staged values"),
  R("APPT_RESULT", 0xb24, "ro", "application table", "application id the last ATTACH gave", { reset: 0 }),
  R("APPT_STATE", 0xb28, "ro", "application table", "selected application: 1 attached, 0 free"),
  R("APPT_CONNS", 0xb2c, "ro", "application table", "connections the selected application has open"),
  R("APPT_COUNT", 0xb30, "ro", "application table", "applications attached"),
  R("APPT_CAPACITY", 0xb34, "ro", "application table", "applications the table holds (APP_PAGES − 1)"),
  R("APPT_IRQ_ARM", 0xb38, "wo", "application table", "write the notification index the kernel has seen: arms one interrupt for the selected application (fires at once when APP_NOTIFY_HEAD differs; disarms when it fires)"),
  R("APPT_IRQ_USECS", 0xb3c, "rw", "application table", "interrupt moderation of the selected application: µs an interrupt may wait after the first notification (0: at once; ≤ 1000000)"),
  R("APPT_IRQ_FRAMES", 0xb40, "rw", "application table", "interrupt moderation: notifications that fire the interrupt before APPT_IRQ_USECS passes (1 … 65535)"),
  R("APPT_IRQ_COUNT", 0xb44, "ro", "application table", "interrupts raised for the selected application"),
  // connection table (steering: exact match on the 5-tuple)
  R("CONN_SELECT", 0xc00, "rw", "connection table", "connection id (1…CONN_CAPACITY) the CONN_ registers address; a write copies its fields into KIND … TX_SLOTS", { reset: 0 }),
  R("CONN_KIND", 0xc04, "rw", "connection table", "bits 0..7 kind (0 exact 5-tuple, 1 listening: remote any, 2 raw: no steering, any frame on transmit), 8..15 IP protocol, bit 16 IPv6 addresses", { reset: 0 }),
  R("CONN_APP", 0xc08, "rw", "connection table", "application that owns the connection", { reset: 0 }),
  R("CONN_LADDR", 0xc10, "rw", "connection table", "local address: IPv4 in word 0, IPv6 most significant word first (listening: 0 for any address)", { count: 4, reset: 0 }),
  R("CONN_RADDR", 0xc20, "rw", "connection table", "remote address (exact connections)", { count: 4, reset: 0 }),
  R("CONN_PORTS", 0xc30, "rw", "connection table", "local port in bits 16..31, remote port in bits 0..15", { reset: 0 }),
  R("CONN_RX_SLOTS", 0xc34, "rw", "connection table", "receive-ring descriptors (a power of two, 2 … 4096; 0: the default)", { reset: 0 }),
  R("CONN_TX_SLOTS", 0xc38, "rw", "connection table", "transmit-ring descriptors (a power of two, 2 … 4096; 0: the default)", { reset: 0 }),
  R("CONN_CTRL", 0xc3c, "wo", "connection table", "1 OPEN a connection from the staged fields: its key enters the steering table, its rings come out of queue memory, its page becomes live (id in CONN_RESULT and CONN_SELECT); 2 CLOSE the selected connection"),
  R("CONN_RESULT", 0xc40, "ro", "connection table", "connection id the last OPEN gave", { reset: 0 }),
  R("CONN_STATE", 0xc44, "ro", "connection table", "selected connection: 1 open, 0 free"),
  R("CONN_COUNT", 0xc48, "ro", "connection table", "connections open"),
  R("CONN_CAPACITY", 0xc4c, "ro", "connection table", "connections the table holds"),
  R("QMEM_BYTES", 0xc50, "ro", "connection table", "queue memory: host memory reserved for connection rings, bytes (2048 per descriptor)"),
  R("QMEM_FREE", 0xc54, "ro", "connection table", "queue memory not given to a ring"),
  R("OS_STAT", OS_STAT_BASE, "ro", "connection table", "latched process-view statistics, 64 bits each: low word at OS_STAT + 8·i, high word at + 4 (order in OS_STATS)", { count: 2 * OS_STATS.length }),
  // egress scheduler (CAPS bit 10): the qdisc in front of the egress link, a function change like a program
  R("EG_CTRL", 0x1000, "wo", "egress scheduler", "1 RESET: empty the shadow qdisc slot (forgets the previous qdisc); 2 LOAD: decode the uploaded qdisc image, verify both programs, lay out the queue model and load it into the shadow slot; 3 NONE: stage \"no qdisc\" in the shadow slot (it must be empty or rejected), so that EG_COMMIT removes the active qdisc"),
  R("EG_LENGTH", 0x1004, "rw", "egress scheduler", "length in bytes of the qdisc image about to be uploaded (1 … EG_IMAGE_MAX); starts an upload (the shadow slot must be empty or rejected)", { reset: 0 }),
  R("EG_ADDR", 0x1008, "rw", "egress scheduler", "byte address (multiple of 4) of the next EG_DATA word; increments by 4 on each", { reset: 0 }),
  R("EG_DATA", 0x100c, "wo", "egress scheduler", "next 4 qdisc-image bytes, little-endian (fpga-model/egress-image.ts)"),
  R("EG_STATE", 0x1010, "ro", "egress scheduler", "shadow qdisc slot: 0 empty, 1 uploading, 2 verified, 3 rejected, 4 previous qdisc, 5 no qdisc (EG_CTRL NONE: a commit removes the active qdisc)", { reset: 0 }),
  R("EG_COMMIT", 0x1014, "wo", "egress scheduler", "doorbell: write the active qdisc generation you expect; the shadow slot's qdisc becomes active as a new generation at the link's current time; queued packets are carried over into it (refused ones dropped and counted). With \"no qdisc\" staged (EG_STATE 5) it removes the active qdisc instead: EG_GEN reads 0, egress packets pass unscheduled, the queued packets are dropped and counted in migration_drops (NO_PROGRAM when no qdisc is active); the removed qdisc is kept for EG_ROLLBACK"),
  R("EG_ROLLBACK", 0x1018, "wo", "egress scheduler", "doorbell: write the active qdisc generation you expect; the previous qdisc becomes active again as a new generation (queued packets carried over the same way)"),
  R("EG_GEN", 0x101c, "ro", "egress scheduler", "generation of the active qdisc (0: none; egress packets pass unscheduled)", { reset: 0 }),
  R("EG_PREVIOUS_GEN", 0x1020, "ro", "egress scheduler", "generation the previous qdisc ran as (0: none kept)", { reset: 0 }),
  R("EG_CRC", 0x1024, "ro", "egress scheduler", "CRC-32 of the active qdisc's image (0: none)", { reset: 0 }),
  R("EG_IMAGE_MAX", 0x1028, "ro", "egress scheduler", "largest qdisc image EG_LENGTH accepts"),
  R("EG_LINK_KBIT", 0x102c, "rw", "egress scheduler", "egress link rate in kbit/s (1 … 0xffffffff); a packet occupies the link for wire bytes × 8 / rate", { reset: EG_DEFAULT_LINK_KBIT }),
  R("EG_ADVANCE_US", 0x1030, "wo", "egress scheduler", "move the egress link's clock on by this many µs (1 … 0xffffffff): the link sends what it sends in that time (the clock also moves with every packet's timestamp)"),
  R("EG_NAME_SELECT", 0x1034, "rw", "egress scheduler", "application id (1…APP_PAGES−1) whose owner names EG_NAME_CMD/CGROUP address; bit 8: the shadow qdisc's (a qdisc being loaded)", { reset: 0 }),
  R("EG_NAME_CMD", 0x1038, "rw", "egress scheduler", "the selected application's command name as the id the qdisc's classifier interned (its owner.cmd; 0: a name the filters do not use)", { reset: 0 }),
  R("EG_NAME_CGROUP", 0x103c, "rw", "egress scheduler", "the selected application's cgroup as the id the classifier interned (its owner.cgroup)", { reset: 0 }),
  R("EG_LATCH", 0x1040, "wo", "egress scheduler", "write 1: copy every egress statistic at one instant into the snapshot (EG_SNAP_HEAD fields, then per queue EG_QUEUE_FIELDS, program counters, classifier counters, state words)"),
  R("EG_SNAP_WORDS", 0x1044, "ro", "egress scheduler", "u64 values in the latched snapshot", { reset: 0 }),
  R("EG_SNAP_SELECT", 0x1048, "rw", "egress scheduler", "index of the snapshot value EG_SNAP_LO/HI read", { reset: 0 }),
  R("EG_SNAP_LO", 0x104c, "ro", "egress scheduler", "selected snapshot value, low word"),
  R("EG_SNAP_HI", 0x1050, "ro", "egress scheduler", "selected snapshot value, high word; reading it selects the next value (a snapshot reads as one select, then 2 reads per value)"),
] as const;
export type KernelRegisterName = (typeof KERNEL_REGISTERS)[number]["name"];

/** Registers of one application page, at APP_PAGE_BASE + app × APP_PAGE_SIZE + offset. */
export const APP_REGISTERS = [
  R("APP_ID", 0x000, "ro", "application page", "the application id this page belongs to"),
  R("APP_RX_HEAD", 0x004, "ro", "application page", "producer index of the application's receive ring (packets its queues delivered)"),
  R("APP_RX_TAIL", 0x008, "rw", "application page", "consumer index: how far the application has read (tail ≤ value ≤ head)"),
  R("APP_RX_DROPS", 0x00c, "ro", "application page", "packets for this application lost because its ring was full"),
  R("APP_NOTIFY_HEAD", 0x010, "ro", "application page", "producer index of the notification queue (packets arrived, policy generation changed)"),
  R("APP_NOTIFY_TAIL", 0x014, "rw", "application page", "consumer index of the notification queue"),
  R("APP_VIOLATIONS", 0x018, "ro", "application page", "accesses by this application refused because they reached outside this page"),
  R("APP_ACTIVE_GEN", 0x01c, "ro", "application page", "generation of the active policy (read-only view)"),
  R("APP_NOTIFY_DROPS", 0x020, "ro", "application page", "notifications lost because the queue was full (a change wakes waiters like a new entry)"),
  R("APP_ATTACHED", 0x024, "ro", "application page", "1 while the application table holds this application"),
] as const;
export type AppRegisterName = (typeof APP_REGISTERS)[number]["name"];

/** Registers of one connection page, at CONN_PAGE_BASE + conn × CONN_PAGE_SIZE + offset. */
export const CONN_REGISTERS = [
  R("CP_ID", 0x000, "ro", "connection page", "the connection id this page belongs to"),
  R("CP_APP", 0x004, "ro", "connection page", "the application that owns it"),
  R("CP_RX_HEAD", 0x008, "ro", "connection page", "producer index of the receive ring: packets the NIC steered here"),
  R("CP_RX_TAIL", 0x00c, "rw", "connection page", "consumer index: how far the application has read (tail ≤ value ≤ head)"),
  R("CP_RX_DROPS", 0x010, "ro", "connection page", "packets for this connection lost because its receive ring was full"),
  R("CP_RX_SLOTS", 0x014, "ro", "connection page", "receive-ring descriptors"),
  R("CP_TX_HEAD", 0x018, "ro", "connection page", "transmit completions: descriptors the NIC has finished (sent, dropped by policy, or refused)"),
  R("CP_TX_TAIL", 0x01c, "rw", "connection page", "doorbell: the application writes the index past its last posted descriptor (tail ≤ value ≤ head + slots); the NIC fetches them"),
  R("CP_TX_SLOTS", 0x020, "ro", "connection page", "transmit-ring descriptors"),
  R("CP_TX_SENT", 0x024, "ro", "connection page", "transmitted packets the egress policy accepted"),
  R("CP_TX_DROPPED", 0x028, "ro", "connection page", "transmitted packets the egress policy dropped or rejected"),
  R("CP_TX_REFUSED", 0x02c, "ro", "connection page", "descriptors refused before the policy: empty, or a frame whose addresses and ports are not this connection's"),
  R("CP_RX_PACKETS", 0x030, "ro", "connection page", "packets steered into the receive ring"),
] as const;
export type ConnRegisterName = (typeof CONN_REGISTERS)[number]["name"];

function constants(list: readonly RegisterSpec[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of list) out[r.name] = r.offset;
  return out;
}

/** Kernel-zone register offsets by name: REG.COMMIT, REG.TBL_KEY (first word of the window) … */
export const REG = constants(KERNEL_REGISTERS) as Readonly<Record<KernelRegisterName, number>>;

/** Application-page register offsets (relative to the page) by name. */
export const APP_REG = constants(APP_REGISTERS) as Readonly<Record<AppRegisterName, number>>;

/** Connection-page register offsets (relative to the page) by name. */
export const CONN_REG = constants(CONN_REGISTERS) as Readonly<Record<ConnRegisterName, number>>;

/** BAR0 offset of an application page. */
export function appPageOffset(app: number): number {
  return APP_PAGE_BASE + app * APP_PAGE_SIZE;
}

/** BAR0 offset of a connection page. */
export function connPageOffset(conn: number): number {
  return CONN_PAGE_BASE + conn * CONN_PAGE_SIZE;
}

/** Offset of process-view statistic `name`'s low word. */
export function osStatOffset(name: OsStatName): number {
  return OS_STAT_BASE + 8 * OS_STATS.findIndex(([n]) => n === name);
}

/** Offset of statistic `name`'s low word (its high word is 4 bytes on). */
export function statOffset(name: StatName): number {
  return STAT_BASE + 8 * STATS.findIndex(([n]) => n === name);
}

/** The register (and word within a window) at a kernel-zone offset, or undefined. */
export function kernelRegisterAt(offset: number): { spec: RegisterSpec; word: number } | undefined {
  return KERNEL_BY_OFFSET.get(offset);
}

export function appRegisterAt(offset: number): RegisterSpec | undefined {
  return APP_BY_OFFSET.get(offset);
}

export function connRegisterAt(offset: number): RegisterSpec | undefined {
  return CONN_BY_OFFSET.get(offset);
}

const KERNEL_BY_OFFSET = new Map<number, { spec: RegisterSpec; word: number }>();
for (const spec of KERNEL_REGISTERS) {
  for (let w = 0; w < (spec.count ?? 1); w++) {
    const at = spec.offset + 4 * w;
    if (KERNEL_BY_OFFSET.has(at)) throw new Error(`internal: registers overlap at 0x${at.toString(16)}`);
    KERNEL_BY_OFFSET.set(at, { spec, word: w });
  }
}
const APP_BY_OFFSET = new Map<number, RegisterSpec>(APP_REGISTERS.map((r) => [r.offset, r] as const));
const CONN_BY_OFFSET = new Map<number, RegisterSpec>(CONN_REGISTERS.map((r) => [r.offset, r] as const));

/** Register name for messages: `TBL_KEY[3]`, `COMMIT`, `app 5 APP_RX_TAIL`, `conn 9 CP_TX_TAIL`. */
export function registerName(offset: number): string {
  if (offset >= CONN_PAGE_BASE && offset < BAR0_SIZE) {
    const conn = Math.floor((offset - CONN_PAGE_BASE) / CONN_PAGE_SIZE);
    const rel = (offset - CONN_PAGE_BASE) % CONN_PAGE_SIZE;
    const r = CONN_BY_OFFSET.get(rel);
    return `conn ${conn} ${r ? r.name : `+0x${rel.toString(16)}`}`;
  }
  if (offset >= APP_PAGE_BASE && offset < APP_PAGE_BASE + APP_PAGES * APP_PAGE_SIZE) {
    const app = Math.floor((offset - APP_PAGE_BASE) / APP_PAGE_SIZE);
    const r = APP_BY_OFFSET.get((offset - APP_PAGE_BASE) % APP_PAGE_SIZE);
    return `app ${app} ${r ? r.name : `+0x${((offset - APP_PAGE_BASE) % APP_PAGE_SIZE).toString(16)}`}`;
  }
  const hit = KERNEL_BY_OFFSET.get(offset);
  if (!hit) return `0x${offset.toString(16).padStart(4, "0")}`;
  return hit.spec.count ? `${hit.spec.name}[${hit.word}]` : hit.spec.name;
}
