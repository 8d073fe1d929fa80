// Match tables in linear memory. Keys are the declared key fields concatenated at their widths, most
// significant first, held as up to five u64 words, least significant word first.
//
//  exact    open addressing, linear probing, backward-shift deletion (no tombstones); beside the slots, a
//           fingerprint byte per slot (0 empty, else 0x80 | seven hash bits) lets a lookup test eight slots at a
//           time with word arithmetic and read a slot only where its fingerprint matches: a miss reads one word
//           of fingerprints, not a cache line of slots per probe, and its one branch is predictable however
//           long the run
//  lpm      the same hash table keyed by (prefix length, masked key), probed longest present length first
//  range    entries kept in insertion order; a sorted list of elementary intervals with the winning (earliest
//           inserted) entry's value is rebuilt lazily on the first lookup after a change: O(log n) lookups
//  ternary  entries sorted by (priority, insertion order); the first entry whose masked key matches wins
//
// An insert whose identity (exact: key; lpm: key and prefix length; range: lo and hi; ternary: key, mask and
// priority) is already present replaces that entry's value in place and keeps its position.
import { TABLE_EXACT, TABLE_LPM, TABLE_RANGE, TABLE_TERNARY } from "./isa.generated";
import { CTL_KEY, CTL_MASK, LOOKUP_KEY, VEC } from "./memory-map";

export const LOOKUP_MISS: u64 = 0xffff_ffff_ffff_ffff;

// descriptor (TD_BYTES per table)
export const TD_BYTES: usize = 128;
const TD_KIND = 0;
const TD_CAPACITY = 4;
const TD_COUNT = 8;
const TD_KEY_BITS = 12;
const TD_KEY_WORDS = 16;
const TD_NFIELDS = 20;
const TD_STORAGE = 24;
const TD_SLOT_MASK = 28; // hash tables: slots - 1
const TD_ENTRY_BYTES = 32; // hash slot, range or ternary entry size
const TD_AUX = 36; // lpm: length bookkeeping; range: interval starts
const TD_AUX2 = 40; // range: interval values
const TD_AUX3 = 44; // range: union-find scratch
const TD_SEQ = 48; // insertions so far (insertion order)
const TD_DIRTY = 52; // range: intervals need rebuilding
const TD_NAUX = 56; // lpm: distinct prefix lengths present; range: intervals
const TD_PRINTS = 60; // hash tables: the fingerprint bytes (slots + GROUP: the first GROUP repeated at the end)
const TD_FIELDS = 64; // 8 × { u16 slot, u16 bits, u16 pos (bit of the field's LSB in the key), u16 pad }

// hash tables: fingerprints are tested GROUP at a time; the array repeats its first GROUP bytes after the last
// slot, so a group starting near the end reads the wrapped-around slots' fingerprints without a second load
const GROUP: u32 = 8;
const BYTES_HI: u64 = 0x8080_8080_8080_8080;
const BYTES_LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const BYTES_ONE: u64 = 0x0101_0101_0101_0101;

// lpm bookkeeping (TD_AUX)
const LPM_COUNTS: usize = 0; // u32[129]: entries per prefix length
const LPM_MASKS: usize = 528; // 129 × { u64 lo, u64 hi }: key mask of each prefix length
const LPM_ORDER: usize = 2592; // u8[129]: present lengths, longest first
const LPM_AUX_BYTES: usize = 2752;

// insert / delete results
export const T_INSERTED: i32 = 0;
export const T_UPDATED: i32 = 1;
export const T_FULL: i32 = -1;

// @ts-ignore: decorator
@inline function lowMask(bits: u32): u64 {
  return bits >= 64 ? <u64>-1 : (<u64>1 << bits) - 1;
}

/** Mask of bits [from, to) within one 64-bit word (from, to in 0..64). */
function wordMask(from: i32, to: i32): u64 {
  if (to <= from) return 0;
  return lowMask(<u32>(to - from)) << <u64>from;
}

// ---- layout ------------------------------------------------------------------------------------------------

/** Slots of a hash table of `capacity` entries: a power of two, at most 3/4 full. */
function hashSlots(capacity: u32): u32 {
  const want = capacity + capacity / 3 + 1;
  let n: u32 = 8;
  while (n < want) n <<= 1;
  return n;
}

function hashSlotBytes(keyWords: u32): u32 {
  return 8 + keyWords * 8; // u32 state (0 empty, else 1 + prefix length), u32 value, key words
}

function ternaryEntryBytes(keyWords: u32): u32 {
  return 16 + keyWords * 16; // u32 priority, u32 seq, u32 value, u32 pad, key words (pre-masked), mask words
}

/** Bytes of a hash table's slots and fingerprints (a multiple of 8: slots is a power of two ≥ 8). */
function hashBytes(capacity: u32, keyWords: u32): u64 {
  const slots = <u64>hashSlots(capacity);
  return slots * hashSlotBytes(keyWords) + slots + GROUP;
}

/** Bytes of storage a table needs besides its descriptor. */
export function tableStorageBytes(kind: u32, capacity: u32, keyWords: u32): u64 {
  if (kind == TABLE_EXACT) return hashBytes(capacity, keyWords);
  if (kind == TABLE_LPM) return hashBytes(capacity, keyWords) + LPM_AUX_BYTES;
  if (kind == TABLE_RANGE) {
    const points = <u64>capacity * 2 + 1;
    return <u64>capacity * 24 + points * 8 + points * 8 + (points + 1) * 4;
  }
  return <u64>capacity * ternaryEntryBytes(keyWords);
}

/** Fill in a descriptor whose kind, capacity, key layout and storage pointer the loader has set. */
export function tableInit(td: usize): void {
  const kind = load<u32>(td, TD_KIND);
  const capacity = load<u32>(td, TD_CAPACITY);
  const kw = load<u32>(td, TD_KEY_WORDS);
  const storage = load<u32>(td, TD_STORAGE);
  store<u32>(td, 0, TD_COUNT);
  store<u32>(td, 0, TD_SEQ);
  store<u32>(td, 0, TD_NAUX);
  store<u32>(td, 0, TD_DIRTY);
  if (kind == TABLE_EXACT || kind == TABLE_LPM) {
    const slots = hashSlots(capacity);
    store<u32>(td, slots - 1, TD_SLOT_MASK);
    store<u32>(td, hashSlotBytes(kw), TD_ENTRY_BYTES);
    store<u32>(td, storage + slots * hashSlotBytes(kw), TD_PRINTS);
    if (kind == TABLE_LPM) {
      const aux = <usize>storage + <usize>hashBytes(capacity, kw);
      store<u32>(td, <u32>aux, TD_AUX);
      const K = <i32>load<u32>(td, TD_KEY_BITS);
      for (let L = 0; L <= 128; L++) {
        // top L bits of the K-bit key
        const from = K - L < 0 ? 0 : K - L;
        store<u64>(aux + LPM_MASKS + <usize>L * 16, L > K ? 0 : wordMask(from < 64 ? from : 64, K < 64 ? K : 64));
        store<u64>(aux + LPM_MASKS + <usize>L * 16 + 8, L > K ? 0 : wordMask(from > 64 ? from - 64 : 0, K > 64 ? K - 64 : 0));
      }
    }
  } else if (kind == TABLE_RANGE) {
    store<u32>(td, 24, TD_ENTRY_BYTES);
    const points = capacity * 2 + 1;
    const starts = storage + capacity * 24;
    store<u32>(td, starts, TD_AUX);
    store<u32>(td, starts + points * 8, TD_AUX2);
    store<u32>(td, starts + points * 16, TD_AUX3);
    store<u32>(td, 1, TD_DIRTY);
  } else {
    store<u32>(td, ternaryEntryBytes(kw), TD_ENTRY_BYTES);
  }
}

/** Empty a table (the storage is zeroed; the layout stays). */
export function tableClear(td: usize): void {
  const kind = load<u32>(td, TD_KIND);
  const capacity = load<u32>(td, TD_CAPACITY);
  const kw = load<u32>(td, TD_KEY_WORDS);
  memory.fill(load<u32>(td, TD_STORAGE), 0, <usize>tableStorageBytes(kind, capacity, kw));
  tableInit(td);
}

export function tableCount(td: usize): u32 {
  return load<u32>(td, TD_COUNT);
}

// ---- hashing -----------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function fmix(h: u64): u64 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

// @ts-ignore: decorator
@inline function hashKey(key: usize, kw: u32, tag: u32): u64 {
  let h = fmix(load<u64>(key) ^ (<u64>tag * 0x9e3779b97f4a7c15));
  for (let w: u32 = 1; w < kw; w++) h = fmix(h ^ load<u64>(key + (<usize>w << 3)));
  return h;
}

// @ts-ignore: decorator
@inline function keysEqual(a: usize, b: usize, kw: u32): bool {
  for (let w: u32 = 0; w < kw; w++) {
    if (load<u64>(a + (<usize>w << 3)) != load<u64>(b + (<usize>w << 3))) return false;
  }
  return true;
}

// @ts-ignore: decorator
@inline function fingerprint(h: u64): u8 {
  return <u8>(h >> 57) | 0x80;
}

/** Set slot i's fingerprint (and its copy past the last slot). */
function setPrint(td: usize, i: u32, f: u8): void {
  const prints = <usize>load<u32>(td, TD_PRINTS);
  store<u8>(prints + <usize>i, f);
  if (i < GROUP) store<u8>(prints + <usize>load<u32>(td, TD_SLOT_MASK) + 1 + <usize>i, f);
}

let findHash: u64 = 0; // hashFind's hash of the key it looked for

/** Index of the slot holding (tag, key), or of the empty slot where it would go. state = 1 + tag marks a full slot. */
function hashFind(td: usize, key: usize, tag: u32): u32 {
  const kw = load<u32>(td, TD_KEY_WORDS);
  const mask = load<u32>(td, TD_SLOT_MASK);
  const sb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  findHash = hashKey(key, kw, tag);
  let i = <u32>findHash & mask;
  for (;;) {
    const s = base + <usize>i * sb;
    const state = load<u32>(s);
    if (state == 0) return i;
    if (state == tag + 1 && keysEqual(s + 8, key, kw)) return i;
    i = (i + 1) & mask;
  }
  return 0; // not reached: the table always has an empty slot (at most 3/4 full)
}

function hashInsert(td: usize, key: usize, tag: u32, value: u32): i32 {
  const i = hashFind(td, key, tag);
  const s = <usize>load<u32>(td, TD_STORAGE) + <usize>i * <usize>load<u32>(td, TD_ENTRY_BYTES);
  if (load<u32>(s) != 0) {
    store<u32>(s, value, 4);
    return T_UPDATED;
  }
  const count = load<u32>(td, TD_COUNT);
  if (count >= load<u32>(td, TD_CAPACITY)) return T_FULL;
  store<u32>(s, tag + 1);
  store<u32>(s, value, 4);
  memory.copy(s + 8, key, <usize>load<u32>(td, TD_KEY_WORDS) << 3);
  setPrint(td, i, fingerprint(findHash));
  store<u32>(td, count + 1, TD_COUNT);
  return T_INSERTED;
}

/** Remove (tag, key); backward-shift the probe run (slots and fingerprints) so lookups never meet a hole. */
function hashDelete(td: usize, key: usize, tag: u32): bool {
  let i = hashFind(td, key, tag);
  const kw = load<u32>(td, TD_KEY_WORDS);
  const mask = load<u32>(td, TD_SLOT_MASK);
  const sb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  const prints = <usize>load<u32>(td, TD_PRINTS);
  if (load<u32>(base + <usize>i * sb) == 0) return false;
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const s = base + <usize>j * sb;
    const state = load<u32>(s);
    if (state == 0) break;
    const home = <u32>hashKey(s + 8, kw, state - 1) & mask;
    // the entry at j may move to the hole at i unless its home lies cyclically in (i, j]
    const stays = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!stays) {
      memory.copy(base + <usize>i * sb, s, sb);
      setPrint(td, i, load<u8>(prints + <usize>j));
      i = j;
    }
  }
  memory.fill(base + <usize>i * sb, 0, sb);
  setPrint(td, i, 0);
  store<u32>(td, load<u32>(td, TD_COUNT) - 1, TD_COUNT);
  return true;
}

/**
 * Bit 7 of byte b is set where byte b of `group` equals fingerprint `f` (bit 7 set) and no empty slot (bit 7
 * clear) comes before it. The byte test is exact (no borrow between bytes), so only true equals are read.
 */
// @ts-ignore: decorator
@inline function groupCandidates(group: u64, f: u8): u64 {
  const x = group ^ (<u64>f * BYTES_ONE);
  const equal = ~(((x & BYTES_LO7) + BYTES_LO7) | x) & BYTES_HI;
  const empty = ~group & BYTES_HI;
  return equal & (empty ^ (empty - 1)); // all bytes when there is no empty one
}

/**
 * The data path's probe: value of the slot with state `state` whose key words equal `k0`, `k1` (kw ≤ 2) or
 * LOOKUP_KEY (kw > 2), from the home slot of hash `h`; LOOKUP_MISS at the first empty slot.
 */
// @ts-ignore: decorator
@inline function hashProbe(td: usize, kw: u32, h: u64, state: u32, k0: u64, k1: u64): u64 {
  const mask = load<u32>(td, TD_SLOT_MASK);
  const sb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  const prints = <usize>load<u32>(td, TD_PRINTS);
  const f = fingerprint(h);
  let i = <u32>h & mask;
  for (;;) {
    const g = load<u64>(prints + <usize>i);
    let m = groupCandidates(g, f);
    while (m != 0) {
      const s = base + <usize>((i + <u32>(ctz(m) >> 3)) & mask) * sb;
      const rest = kw == 1 || (kw == 2 ? load<u64>(s, 16) == k1 : keysEqual(s + 8, LOOKUP_KEY, kw));
      if (load<u32>(s) == state && load<u64>(s, 8) == k0 && rest) return <u64>load<u32>(s, 4);
      m &= m - 1;
    }
    if ((~g & BYTES_HI) != 0) return LOOKUP_MISS;
    i = (i + GROUP) & mask;
  }
  return LOOKUP_MISS; // not reached: the table always has an empty slot
}

// ---- lpm bookkeeping ---------------------------------------------------------------------------------------

/** Mask CTL_KEY to its top `plen` bits. */
function lpmMaskKey(td: usize, plen: u32): void {
  const m = <usize>load<u32>(td, TD_AUX) + LPM_MASKS + <usize>plen * 16;
  store<u64>(CTL_KEY, load<u64>(CTL_KEY) & load<u64>(m));
  store<u64>(CTL_KEY + 8, load<u64>(CTL_KEY + 8) & load<u64>(m + 8));
}

function lpmRebuildOrder(td: usize): void {
  const aux = <usize>load<u32>(td, TD_AUX);
  let n: u32 = 0;
  for (let L = 128; L >= 0; L--) {
    if (load<u32>(aux + LPM_COUNTS + (<usize>L << 2)) != 0) {
      store<u8>(aux + LPM_ORDER + n, <u8>L);
      n++;
    }
  }
  store<u32>(td, n, TD_NAUX);
}

// ---- range ---------------------------------------------------------------------------------------------

/** Heapsort of n u64 values (in place, no extra memory, O(n log n)). */
function sortU64(a: usize, n: u32): void {
  if (n < 2) return;
  for (let start = <i32>(n / 2) - 1; start >= 0; start--) siftDown(a, <u32>start, n);
  for (let end = n - 1; end > 0; end--) {
    const t = load<u64>(a);
    store<u64>(a, load<u64>(a + (<usize>end << 3)));
    store<u64>(a + (<usize>end << 3), t);
    siftDown(a, 0, end);
  }
}

function siftDown(a: usize, root: u32, n: u32): void {
  for (;;) {
    let child = root * 2 + 1;
    if (child >= n) return;
    if (child + 1 < n && load<u64>(a + (<usize>(child + 1) << 3)) > load<u64>(a + (<usize>child << 3))) child++;
    const r = load<u64>(a + (<usize>root << 3));
    const c = load<u64>(a + (<usize>child << 3));
    if (r >= c) return;
    store<u64>(a + (<usize>root << 3), c);
    store<u64>(a + (<usize>child << 3), r);
    root = child;
  }
}

/** Index of the last interval start ≤ key (starts[0] is 0, so one always exists). */
// @ts-ignore: decorator
@inline function intervalOf(starts: usize, n: u32, key: u64): u32 {
  let lo: u32 = 0;
  let hi: u32 = n; // answer in [lo, hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (load<u64>(starts + (<usize>mid << 3)) <= key) lo = mid;
    else hi = mid;
  }
  return lo;
}

function ufFind(uf: usize, k: u32): u32 {
  let r = k;
  while (load<u32>(uf + (<usize>r << 2)) != r) r = load<u32>(uf + (<usize>r << 2));
  while (load<u32>(uf + (<usize>k << 2)) != r) {
    const next = load<u32>(uf + (<usize>k << 2));
    store<u32>(uf + (<usize>k << 2), r);
    k = next;
  }
  return r;
}

/** Rebuild the elementary intervals: each gets the value of the earliest inserted entry covering it. */
function rangeRebuild(td: usize): void {
  const entries = <usize>load<u32>(td, TD_STORAGE);
  const count = load<u32>(td, TD_COUNT);
  const starts = <usize>load<u32>(td, TD_AUX);
  const values = <usize>load<u32>(td, TD_AUX2);
  const uf = <usize>load<u32>(td, TD_AUX3);
  let n: u32 = 0;
  store<u64>(starts, 0);
  n++;
  for (let e: u32 = 0; e < count; e++) {
    const p = entries + <usize>e * 24;
    store<u64>(starts + (<usize>n << 3), load<u64>(p));
    n++;
    const hi = load<u64>(p, 8);
    if (hi != <u64>-1) {
      store<u64>(starts + (<usize>n << 3), hi + 1);
      n++;
    }
  }
  sortU64(starts, n);
  let m: u32 = 1;
  for (let i: u32 = 1; i < n; i++) {
    const v = load<u64>(starts + (<usize>i << 3));
    if (v != load<u64>(starts + (<usize>(m - 1) << 3))) {
      store<u64>(starts + (<usize>m << 3), v);
      m++;
    }
  }
  for (let k: u32 = 0; k <= m; k++) {
    store<u32>(uf + (<usize>k << 2), k);
    if (k < m) store<u64>(values + (<usize>k << 3), LOOKUP_MISS);
  }
  // paint in insertion order; union-find skips intervals an earlier entry already owns
  for (let e: u32 = 0; e < count; e++) {
    const p = entries + <usize>e * 24;
    const lo = load<u64>(p);
    const hi = load<u64>(p, 8);
    const value = <u64>load<u32>(p, 16);
    const a = intervalOf(starts, m, lo);
    const b = hi == <u64>-1 ? m : intervalOf(starts, m, hi + 1);
    let k = ufFind(uf, a);
    while (k < b) {
      store<u64>(values + (<usize>k << 3), value);
      store<u32>(uf + (<usize>k << 2), k + 1);
      k = ufFind(uf, k + 1);
    }
  }
  store<u32>(td, m, TD_NAUX);
  store<u32>(td, 0, TD_DIRTY);
}

function rangeFindEntry(td: usize, lo: u64, hi: u64): i32 {
  const entries = <usize>load<u32>(td, TD_STORAGE);
  const count = load<u32>(td, TD_COUNT);
  for (let e: u32 = 0; e < count; e++) {
    const p = entries + <usize>e * 24;
    if (load<u64>(p) == lo && load<u64>(p, 8) == hi) return <i32>e;
  }
  return -1;
}

// ---- ternary -------------------------------------------------------------------------------------------

function ternaryFindEntry(td: usize, priority: u32): i32 {
  const kw = load<u32>(td, TD_KEY_WORDS);
  const eb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  const count = load<u32>(td, TD_COUNT);
  for (let e: u32 = 0; e < count; e++) {
    const p = base + <usize>e * eb;
    if (load<u32>(p) == priority && keysEqual(p + 16, CTL_KEY, kw) && keysEqual(p + 16 + (<usize>kw << 3), CTL_MASK, kw)) return <i32>e;
  }
  return -1;
}

// ---- control plane entry points ------------------------------------------------------------------------
// The key (exact, lpm, ternary) or lo (range) is in CTL_KEY; the ternary mask or range hi in CTL_MASK.

/** Insert or update; `arg` is the lpm prefix length or the ternary priority. */
export function tableInsert(td: usize, value: u32, arg: u32): i32 {
  const kind = load<u32>(td, TD_KIND);
  if (kind == TABLE_EXACT) return hashInsert(td, CTL_KEY, 0, value);
  if (kind == TABLE_LPM) {
    lpmMaskKey(td, arg);
    const r = hashInsert(td, CTL_KEY, arg, value);
    if (r == T_INSERTED) {
      const c = <usize>load<u32>(td, TD_AUX) + LPM_COUNTS + (<usize>arg << 2);
      store<u32>(c, load<u32>(c) + 1);
      lpmRebuildOrder(td);
    }
    return r;
  }
  if (kind == TABLE_RANGE) {
    const lo = load<u64>(CTL_KEY);
    const hi = load<u64>(CTL_MASK);
    const e = rangeFindEntry(td, lo, hi);
    const entries = <usize>load<u32>(td, TD_STORAGE);
    store<u32>(td, 1, TD_DIRTY);
    if (e >= 0) {
      store<u32>(entries + <usize>e * 24, value, 16);
      return T_UPDATED;
    }
    const count = load<u32>(td, TD_COUNT);
    if (count >= load<u32>(td, TD_CAPACITY)) return T_FULL;
    const p = entries + <usize>count * 24;
    store<u64>(p, lo);
    store<u64>(p, hi, 8);
    store<u32>(p, value, 16);
    store<u32>(td, count + 1, TD_COUNT);
    return T_INSERTED;
  }
  // ternary
  const kw = load<u32>(td, TD_KEY_WORDS);
  for (let w: u32 = 0; w < kw; w++) {
    const o = <usize>w << 3;
    store<u64>(CTL_KEY + o, load<u64>(CTL_KEY + o) & load<u64>(CTL_MASK + o));
  }
  const found = ternaryFindEntry(td, arg);
  const eb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  if (found >= 0) {
    store<u32>(base + <usize>found * eb, value, 8);
    return T_UPDATED;
  }
  const count = load<u32>(td, TD_COUNT);
  if (count >= load<u32>(td, TD_CAPACITY)) return T_FULL;
  // after every entry of the same or better (lower) priority: ties keep insertion order
  let lo: u32 = 0;
  let hi: u32 = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (load<u32>(base + <usize>mid * eb) <= arg) lo = mid + 1;
    else hi = mid;
  }
  const at = base + <usize>lo * eb;
  memory.copy(at + eb, at, <usize>(count - lo) * eb);
  const seq = load<u32>(td, TD_SEQ);
  store<u32>(at, arg);
  store<u32>(at, seq, 4);
  store<u32>(at, value, 8);
  store<u32>(at, 0, 12);
  memory.copy(at + 16, CTL_KEY, <usize>kw << 3);
  memory.copy(at + 16 + (<usize>kw << 3), CTL_MASK, <usize>kw << 3);
  store<u32>(td, seq + 1, TD_SEQ);
  store<u32>(td, count + 1, TD_COUNT);
  return T_INSERTED;
}

/** Delete the entry with this identity; false when there is none. */
export function tableDelete(td: usize, arg: u32): bool {
  const kind = load<u32>(td, TD_KIND);
  if (kind == TABLE_EXACT) return hashDelete(td, CTL_KEY, 0);
  if (kind == TABLE_LPM) {
    lpmMaskKey(td, arg);
    if (!hashDelete(td, CTL_KEY, arg)) return false;
    const c = <usize>load<u32>(td, TD_AUX) + LPM_COUNTS + (<usize>arg << 2);
    store<u32>(c, load<u32>(c) - 1);
    lpmRebuildOrder(td);
    return true;
  }
  if (kind == TABLE_RANGE) {
    const e = rangeFindEntry(td, load<u64>(CTL_KEY), load<u64>(CTL_MASK));
    if (e < 0) return false;
    const entries = <usize>load<u32>(td, TD_STORAGE);
    const count = load<u32>(td, TD_COUNT);
    const at = entries + <usize>e * 24;
    memory.copy(at, at + 24, <usize>(count - 1 - <u32>e) * 24);
    store<u32>(td, count - 1, TD_COUNT);
    store<u32>(td, 1, TD_DIRTY);
    return true;
  }
  const kw = load<u32>(td, TD_KEY_WORDS);
  for (let w: u32 = 0; w < kw; w++) {
    const o = <usize>w << 3;
    store<u64>(CTL_KEY + o, load<u64>(CTL_KEY + o) & load<u64>(CTL_MASK + o));
  }
  const e = ternaryFindEntry(td, arg);
  if (e < 0) return false;
  const eb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  const count = load<u32>(td, TD_COUNT);
  const at = base + <usize>e * eb;
  memory.copy(at, at + eb, <usize>(count - 1 - <u32>e) * eb);
  store<u32>(td, count - 1, TD_COUNT);
  return true;
}

// ---- data path -----------------------------------------------------------------------------------------

/** Build the lookup key from the parsed-header vector into LOOKUP_KEY. */
// @ts-ignore: decorator
@inline function buildKey(td: usize, kw: u32): void {
  const nf = load<u32>(td, TD_NFIELDS);
  if (kw == 1) {
    let k: u64 = 0;
    for (let f: u32 = 0; f < nf; f++) {
      const fr = td + TD_FIELDS + (<usize>f << 3);
      const v = load<u64>(VEC + (<usize>load<u16>(fr) << 3)) & lowMask(<u32>load<u16>(fr, 2));
      k |= v << <u64>load<u16>(fr, 4);
    }
    store<u64>(LOOKUP_KEY, k);
    return;
  }
  for (let w: u32 = 0; w < kw; w++) store<u64>(LOOKUP_KEY + (<usize>w << 3), 0);
  for (let f: u32 = 0; f < nf; f++) {
    const fr = td + TD_FIELDS + (<usize>f << 3);
    const slot = VEC + (<usize>load<u16>(fr) << 3);
    const bits = <u32>load<u16>(fr, 2);
    const pos = <u32>load<u16>(fr, 4);
    if (bits > 64) {
      placeBits(load<u64>(slot, 8), pos, 64); // low half
      placeBits(load<u64>(slot), pos + 64, bits - 64); // high half
    } else {
      placeBits(load<u64>(slot) & lowMask(bits), pos, bits);
    }
  }
}

/** OR a value of `bits` bits into the key at bit position `pos`. */
// @ts-ignore: decorator
@inline function placeBits(v: u64, pos: u32, bits: u32): void {
  const w = LOOKUP_KEY + (<usize>(pos >> 6) << 3);
  const s = pos & 63;
  store<u64>(w, load<u64>(w) | (v << <u64>s));
  if (s != 0 && s + bits > 64) store<u64>(w + 8, load<u64>(w + 8) | (v >> <u64>(64 - s)));
}

/** The value of the entry matching the key the table's declaration builds, or LOOKUP_MISS. */
export function tableLookup(td: usize): u64 {
  const kind = load<u32>(td, TD_KIND);
  const kw = load<u32>(td, TD_KEY_WORDS);
  buildKey(td, kw);
  if (load<u32>(td, TD_COUNT) == 0) return LOOKUP_MISS;
  if (kind == TABLE_EXACT) {
    const k0 = load<u64>(LOOKUP_KEY);
    return hashProbe(td, kw, hashKey(LOOKUP_KEY, kw, 0), 1, k0, kw > 1 ? load<u64>(LOOKUP_KEY + 8) : 0);
  }
  if (kind == TABLE_LPM) return lpmLookup(td, kw);
  if (kind == TABLE_RANGE) {
    if (load<u32>(td, TD_DIRTY) != 0) rangeRebuild(td);
    const k = intervalOf(<usize>load<u32>(td, TD_AUX), load<u32>(td, TD_NAUX), load<u64>(LOOKUP_KEY));
    return load<u64>(<usize>load<u32>(td, TD_AUX2) + (<usize>k << 3));
  }
  return ternaryLookup(td, kw);
}

function lpmLookup(td: usize, kw: u32): u64 {
  const aux = <usize>load<u32>(td, TD_AUX);
  const n = load<u32>(td, TD_NAUX);
  const k0 = load<u64>(LOOKUP_KEY);
  const k1 = kw > 1 ? load<u64>(LOOKUP_KEY + 8) : 0;
  for (let i: u32 = 0; i < n; i++) {
    const L = <u32>load<u8>(aux + LPM_ORDER + i);
    const m = aux + LPM_MASKS + (<usize>L << 4);
    const m0 = k0 & load<u64>(m);
    const m1 = k1 & load<u64>(m + 8);
    let h = fmix(m0 ^ (<u64>L * 0x9e3779b97f4a7c15));
    if (kw > 1) h = fmix(h ^ m1);
    const v = hashProbe(td, kw, h, L + 1, m0, m1);
    if (v != LOOKUP_MISS) return v;
  }
  return LOOKUP_MISS;
}

function ternaryLookup(td: usize, kw: u32): u64 {
  const eb = <usize>load<u32>(td, TD_ENTRY_BYTES);
  const base = <usize>load<u32>(td, TD_STORAGE);
  const count = load<u32>(td, TD_COUNT);
  if (kw == 1) {
    const k = load<u64>(LOOKUP_KEY);
    for (let e: u32 = 0; e < count; e++) {
      const p = base + <usize>e * eb;
      if ((k & load<u64>(p, 24)) == load<u64>(p, 16)) return <u64>load<u32>(p, 8);
    }
    return LOOKUP_MISS;
  }
  const mo = <usize>kw << 3;
  for (let e: u32 = 0; e < count; e++) {
    const p = base + <usize>e * eb;
    let hit = true;
    for (let w: u32 = 0; w < kw; w++) {
      const o = <usize>w << 3;
      if ((load<u64>(LOOKUP_KEY + o) & load<u64>(p + 16 + mo + o)) != load<u64>(p + 16 + o)) {
        hit = false;
        break;
      }
    }
    if (hit) return <u64>load<u32>(p, 8);
  }
  return LOOKUP_MISS;
}

// descriptor field offsets the loader writes
export const TDO_KIND: usize = TD_KIND;
export const TDO_CAPACITY: usize = TD_CAPACITY;
export const TDO_KEY_BITS: usize = TD_KEY_BITS;
export const TDO_KEY_WORDS: usize = TD_KEY_WORDS;
export const TDO_NFIELDS: usize = TD_NFIELDS;
export const TDO_STORAGE: usize = TD_STORAGE;
export const TDO_FIELDS: usize = TD_FIELDS;
