/**
 * Inline table lookups for the JIT: exact and lpm tables whose key fits one 64-bit word are probed by emitted
 * code instead of a call into the VM. The code reads the VM's hash tables where the VM keeps them, so it must
 * follow runtime/assembly/tables.ts exactly (runtime/LAYOUT.md "Tables"): the descriptor fields it reads, the
 * slot layout {u32 state, u32 value, u64 key}, the fingerprint bytes tested eight at a time (hashProbe),
 * murmur3's fmix64, and the lpm bookkeeping (present lengths, longest first, and each length's key mask).
 * Other tables (range, ternary, wider keys) keep the VM call; test/runtime/hash-tables.test.ts holds the two
 * tiers to the same answers.
 *
 * The descriptors' address changes with every program load, so the module imports it (`vm.tables`) rather
 * than baking it in; storage, slot mask and lpm bookkeeping are read from the descriptor on each lookup.
 * The VM's lookup also writes the key it builds to LOOKUP_KEY: nothing reads that scratch word, so inline code
 * keeps the key in a local.
 */
import binaryen from "binaryen";
import type { PlannedTable } from "./plan.js";

// runtime/assembly/tables.ts: descriptor size and field offsets, lpm bookkeeping offsets
const TD_BYTES = 128;
const TD_STORAGE = 24;
const TD_SLOT_MASK = 28;
const TD_AUX = 36;
const TD_NAUX = 56;
const TD_PRINTS = 60;
const GROUP = 8;
const LPM_MASKS = 528;
const LPM_ORDER = 2592;
/** slot bytes of a one-word key: u32 state (0 empty, else 1 + tag), u32 value, u64 key */
const SLOT_BYTES_LOG2 = 4;
const LENGTH_MULTIPLIER = BigInt.asIntN(64, 0x9e3779b97f4a7c15n);
const FMIX_1 = BigInt.asIntN(64, 0xff51afd7ed558ccdn);
const FMIX_2 = BigInt.asIntN(64, 0xc4ceb9fe1a85ec53n);
const MISS = -1n;
const BYTES_HI = BigInt.asIntN(64, 0x8080_8080_8080_8080n);
const BYTES_LO7 = 0x7f7f_7f7f_7f7f_7f7fn;
const BYTES_ONE = 0x0101_0101_0101_0101n;

/** Whether the JIT probes this table itself. */
export function inlinesLookup(t: PlannedTable): boolean {
  return (t.kind === "exact" || t.kind === "lpm") && t.keyBits <= 64;
}

/** Locals an inline lookup uses (indices into the emitted function's locals). */
export interface LookupLocals {
  /** i64: the key */
  key: number;
  /** i64: the key masked to the current prefix length (lpm) */
  masked: number;
  /** i64: scratch of the hash */
  hash: number;
  /** i64: the fingerprint repeated in every byte, a group of eight fingerprints, the group's candidate bytes */
  printBytes: number;
  group: number;
  candidates: number;
  /** i32: group index, storage base, slot mask, fingerprints, slot address, lpm aux, lpm ordinal, lpm length */
  index: number;
  base: number;
  mask: number;
  prints: number;
  slot: number;
  aux: number;
  ordinal: number;
  length: number;
}

export class LookupEmitter {
  constructor(
    private readonly m: binaryen.Module,
    private readonly locals: LookupLocals,
    /** byte address of a vector slot */
    private readonly slotAddress: (slot: number) => number,
    /** the expression giving the address of the VM's table descriptors */
    private readonly descriptors: () => number,
  ) {}

  private get32(i: number): number {
    return this.m.local.get(i, binaryen.i32);
  }
  private get64(i: number): number {
    return this.m.local.get(i, binaryen.i64);
  }

  /** murmur3's fmix64 (tables.ts fmix). */
  private fmix(h: number): number {
    const { i64 } = this.m;
    const t = this.locals.hash;
    const x = () => this.get64(t);
    const step = (mul: bigint) => [this.m.local.set(t, i64.xor(x(), i64.shr_u(x(), i64.const(33n)))), this.m.local.set(t, i64.mul(x(), i64.const(mul)))];
    return this.m.block(null, [this.m.local.set(t, h), ...step(FMIX_1), ...step(FMIX_2), i64.xor(x(), i64.shr_u(x(), i64.const(33n)))], binaryen.i64);
  }

  /** The key the table's declaration builds from the vector (tables.ts buildKey, one word). */
  private buildKey(t: PlannedTable): number {
    const { i64 } = this.m;
    let key: number | undefined;
    for (const f of t.fields) {
      let v = i64.load(this.slotAddress(f.slot), 8, this.m.i32.const(0));
      if (f.bits < 64) v = i64.and(v, i64.const((1n << BigInt(f.bits)) - 1n));
      if (f.pos > 0) v = i64.shl(v, i64.const(BigInt(f.pos)));
      key = key === undefined ? v : i64.or(key, v);
    }
    return key ?? i64.const(0n);
  }

  /**
   * tables.ts hashProbe: from the home slot of `hash`, test the fingerprints eight at a time; read a slot only
   * where the fingerprint matches before the group's first empty slot. A slot whose state is `state` and key
   * equals `key` sets rd to its value (br `doneLabel`); a group with an empty slot and no such slot ends the run
   * (br `missLabel`).
   */
  private probe(id: string, hash: number, state: () => number, key: () => number, setResult: (v: number) => number, doneLabel: string, missLabel: string): number {
    const { m } = this;
    const { i32, i64 } = m;
    const L = this.locals;
    const k = (v: bigint) => i64.const(v);
    const group = () => this.get64(L.group);
    const cands = () => this.get64(L.candidates);
    const empty = () => i64.and(i64.xor(group(), k(-1n)), k(BYTES_HI));
    const x = () => i64.xor(group(), this.get64(L.printBytes));
    const equal = i64.and(i64.xor(i64.or(i64.add(i64.and(x(), k(BYTES_LO7)), k(BYTES_LO7)), x()), k(-1n)), k(BYTES_HI));
    const groups = `lkg${id}`;
    const next = `lkc${id}`;
    const candidate = `lkk${id}`;
    return m.block(null, [
      m.local.set(L.hash, hash),
      m.local.set(L.index, i32.and(i32.wrap(this.get64(L.hash)), this.get32(L.mask))),
      m.local.set(L.printBytes, i64.mul(i64.or(i64.shr_u(this.get64(L.hash), k(57n)), k(0x80n)), k(BYTES_ONE))),
      m.loop(
        groups,
        m.block(null, [
          m.local.set(L.group, i64.load(0, 1, i32.add(this.get32(L.prints), this.get32(L.index)))),
          // candidates: equal fingerprints up to the first empty slot (all eight when none is empty)
          m.local.set(L.candidates, i64.and(equal, i64.xor(empty(), i64.sub(empty(), k(1n))))),
          m.block(next, [
            m.loop(
              candidate,
              m.block(null, [
                m.br(next, i64.eqz(cands())),
                m.local.set(
                  L.slot,
                  i32.add(
                    this.get32(L.base),
                    i32.shl(i32.and(i32.add(this.get32(L.index), i32.wrap(i64.shr_u(i64.ctz(cands()), k(3n)))), this.get32(L.mask)), i32.const(SLOT_BYTES_LOG2)),
                  ),
                ),
                m.if(
                  i32.and(i32.eq(i32.load(0, 4, this.get32(L.slot)), state()), i64.eq(i64.load(8, 8, this.get32(L.slot)), key())),
                  m.block(null, [setResult(i64.extend_u(i32.load(4, 4, this.get32(L.slot)))), m.br(doneLabel)]),
                ),
                m.local.set(L.candidates, i64.and(cands(), i64.sub(cands(), k(1n)))),
                m.br(candidate),
              ]),
            ),
          ]),
          m.br(missLabel, i64.ne(empty(), k(0n))),
          m.local.set(L.index, i32.and(i32.add(this.get32(L.index), i32.const(GROUP)), this.get32(L.mask))),
          m.br(groups),
        ]),
      ),
    ]);
  }

  /** rd = the value of the entry matching the packet's key, or all ones (tables.ts tableLookup). */
  emit(t: PlannedTable, table: number, id: string, setResult: (v: number) => number): number {
    const { m } = this;
    const { i32, i64 } = m;
    const L = this.locals;
    const td = table * TD_BYTES;
    const done = `lk${id}`;
    const setup = [
      setResult(i64.const(MISS)),
      m.local.set(L.key, this.buildKey(t)),
      m.local.set(L.base, i32.load(td + TD_STORAGE, 4, this.descriptors())),
      m.local.set(L.mask, i32.load(td + TD_SLOT_MASK, 4, this.descriptors())),
      m.local.set(L.prints, i32.load(td + TD_PRINTS, 4, this.descriptors())),
    ];
    if (t.kind === "exact") {
      // exact entries carry tag 0: state 1, hash fmix64(key ^ 0)
      return m.block(done, [...setup, this.probe(id, this.fmix(this.get64(L.key)), () => i32.const(1), () => this.get64(L.key), setResult, done, done)]);
    }
    // lpm: each present prefix length, longest first; the first hit wins
    const next = `lkn${id}`;
    const lengths = `lkl${id}`;
    const maskedKey = () => this.get64(L.masked);
    return m.block(done, [
      ...setup,
      m.local.set(L.aux, i32.load(td + TD_AUX, 4, this.descriptors())),
      m.local.set(L.ordinal, i32.const(0)),
      m.loop(
        lengths,
        m.block(null, [
          m.br(done, i32.ge_u(this.get32(L.ordinal), i32.load(td + TD_NAUX, 4, this.descriptors()))),
          m.local.set(L.length, i32.load8_u(LPM_ORDER, 1, i32.add(this.get32(L.aux), this.get32(L.ordinal)))),
          m.local.set(L.masked, i64.and(this.get64(L.key), i64.load(LPM_MASKS, 8, i32.add(this.get32(L.aux), i32.shl(this.get32(L.length), i32.const(4)))))),
          m.block(next, [
            this.probe(
              id,
              this.fmix(i64.xor(maskedKey(), i64.mul(i64.extend_u(this.get32(L.length)), i64.const(LENGTH_MULTIPLIER)))),
              () => i32.add(this.get32(L.length), i32.const(1)),
              maskedKey,
              setResult,
              done,
              next,
            ),
          ]),
          m.local.set(L.ordinal, i32.add(this.get32(L.ordinal), i32.const(1))),
          m.br(lengths),
        ]),
      ),
    ]);
  }
}
