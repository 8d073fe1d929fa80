/**
 * Exact and lpm tables (runtime/assembly/tables.ts: linear probing, tag bytes tested eight at a time, the tags'
 * wrap-around copy, backward-shift deletion) against a Map-based model: random inserts, updates, deletes and
 * lookups on small, nearly full tables — long probe runs that cross tag groups and wrap around the end — must
 * answer as the model does, on the interpreter and on the JIT (which probes one-word tables inline,
 * runtime/jit/emit-lookup.ts). Keys of one, two and five words exercise each comparison path.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, type ProgramImage } from "../../overlay-isa/index.js";
import { createJitRunner, stopJitCompiler } from "../../runtime/jit/index.js";
import { OverlayVM, TableError } from "../../runtime/vm.js";
import { ether, ipv4, ipv6, tcp } from "./frames.js";

const MISS = (1n << 64n) - 1n;

interface Layout {
  kind: "exact" | "lpm";
  fields: { name: "ip.src" | "ip.dst" | "ip6.src" | "ip6.dst" | "l4.dport"; bits: number }[];
}

const LAYOUTS: Layout[] = [
  { kind: "exact", fields: [{ name: "ip.src", bits: 32 }] },
  { kind: "exact", fields: [{ name: "ip.src", bits: 32 }, { name: "l4.dport", bits: 16 }] },
  { kind: "lpm", fields: [{ name: "ip.src", bits: 32 }] },
  { kind: "lpm", fields: [{ name: "ip.src", bits: 32 }, { name: "l4.dport", bits: 16 }] },
  { kind: "exact", fields: [{ name: "ip6.src", bits: 128 }] },
  { kind: "lpm", fields: [{ name: "ip6.src", bits: 128 }] },
  { kind: "exact", fields: [{ name: "ip6.src", bits: 128 }, { name: "ip6.dst", bits: 128 }, { name: "l4.dport", bits: 16 }] },
];

const keyBits = (l: Layout) => l.fields.reduce((n, f) => n + f.bits, 0);

function program(l: Layout, capacity: number): ProgramImage {
  const src = [
    `.table T ${l.kind} capacity ${capacity} key ${l.fields.map((f) => f.name).join(", ")}`,
    ` lookup.${l.kind} r1, T`,
    " stf meta.mark, r1",
    " shr r2, r1, 32",
    " stf meta.class, r2",
    " exit accept",
  ].join("\n");
  return assemble(src).image;
}

/** A frame whose key fields, concatenated, are `key`. */
function frameFor(l: Layout, key: bigint): Uint8Array {
  const v: Record<string, bigint> = {};
  let pos = keyBits(l);
  for (const f of l.fields) {
    pos -= f.bits;
    v[f.name] = (key >> BigInt(pos)) & ((1n << BigInt(f.bits)) - 1n);
  }
  const port = Number(v["l4.dport"] ?? 80n);
  if (l.fields.some((f) => f.name.startsWith("ip6"))) return ether(0x86dd, ipv6({ src: v["ip6.src"] ?? 1n, dst: v["ip6.dst"] ?? 2n, next: 6 }, tcp(1000, port, 2)));
  return ether(0x0800, ipv4({ src: Number(v["ip.src"] ?? 0x0a000001n), dst: 0x0a000002, proto: 6 }, tcp(1000, port, 2)));
}

/** The model: identity → value, with the VM's capacity rule and lpm's longest match. */
class TableModel {
  private readonly entries = new Map<string, number>();
  constructor(
    private readonly bits: number,
    private readonly capacity: number,
  ) {}
  private prefix(key: bigint, len: number): bigint {
    return len === 0 ? 0n : (key >> BigInt(this.bits - len)) << BigInt(this.bits - len);
  }
  private id(key: bigint, len: number): string {
    return `${len}/${this.prefix(key, len)}`;
  }
  /** false when the table is full */
  insert(key: bigint, len: number, value: number): boolean {
    const id = this.id(key, len);
    if (!this.entries.has(id) && this.entries.size >= this.capacity) return false;
    this.entries.set(id, value);
    return true;
  }
  delete(key: bigint, len: number): boolean {
    return this.entries.delete(this.id(key, len));
  }
  lookup(key: bigint, lpm: boolean): bigint {
    for (let len = this.bits; len >= (lpm ? 0 : this.bits); len--) {
      const v = this.entries.get(this.id(key, len));
      if (v !== undefined) return BigInt(v);
    }
    return MISS;
  }
  get size(): number {
    return this.entries.size;
  }
}

type Op = { op: "insert"; key: number; len: number; value: number } | { op: "delete"; key: number; len: number } | { op: "probe" };

/** Random keys of the layout's width; ops refer to them by index, so keys repeat (updates, deletes that hit). */
const scenarioArb = fc.record({
  layout: fc.integer({ min: 0, max: LAYOUTS.length - 1 }),
  // capacities whose slots the table can fill to 3/4: 8, 16, 32, 64 and 128 slots
  capacity: fc.constantFrom(5, 11, 23, 47, 95),
  keys: fc.array(fc.bigInt({ min: 0n, max: (1n << 272n) - 1n }), { minLength: 4, maxLength: 120 }),
  ops: fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ op: fc.constant("insert" as const), key: fc.nat(), len: fc.nat(), value: fc.nat({ max: 0x7fffffff }) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("delete" as const), key: fc.nat(), len: fc.nat() }) },
      { weight: 1, arbitrary: fc.constant({ op: "probe" as const }) },
    ),
    { minLength: 1, maxLength: 400 },
  ),
});

let interp: OverlayVM;
let jit: OverlayVM;
beforeAll(() => {
  interp = OverlayVM.createSync();
  jit = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

describe("exact and lpm tables against a model", () => {
  it("random inserts, updates and deletes: every lookup answers as the model does, on both tiers", () => {
    fc.assert(
      fc.property(scenarioArb, ({ layout: li, capacity, keys: rawKeys, ops }) => {
        const l = LAYOUTS[li]!;
        const bits = keyBits(l);
        const lpm = l.kind === "lpm";
        const keys = rawKeys.map((k) => k & ((1n << BigInt(bits)) - 1n));
        // lpm lengths from a few values, so prefixes nest and several lengths are present at once
        const lengths = [0, 1, Math.floor(bits / 2), bits - 8, bits - 1, bits];
        const image = program(l, capacity);
        interp.load(image);
        jit.load(image);
        createJitRunner(jit);
        const model = new TableModel(bits, capacity);
        const probe = () => {
          const probes = [...keys, ...keys.map((k) => k ^ 1n), ...keys.map((k) => k ^ (1n << BigInt(bits - 1)))];
          const frames = probes.map((k) => frameFor(l, k));
          const want = probes.map((k) => model.lookup(k, lpm));
          for (const vm of [interp, jit]) {
            const r = vm.run(frames);
            const got = probes.map((_, i) => (r.classes[i] === 0 ? BigInt(r.marks[i]!) : r.classes[i] === 0xffffffff && r.marks[i] === 0xffffffff ? MISS : -1n));
            expect(got).toEqual(want);
          }
        };
        for (const o of ops) {
          if (o.op === "probe") {
            probe();
            continue;
          }
          const key = keys[o.key % keys.length]!;
          const len = lpm ? lengths[o.len % lengths.length]! : bits;
          const entry = lpm ? { kind: "lpm" as const, key, prefixLen: len } : { kind: "exact" as const, key };
          if (o.op === "insert") {
            const fits = model.insert(key, len, o.value);
            for (const vm of [interp, jit]) {
              if (fits) vm.insertEntry(0, { ...entry, value: o.value });
              else expect(() => vm.insertEntry(0, { ...entry, value: o.value })).toThrow(TableError);
            }
          } else {
            const existed = model.delete(key, len);
            for (const vm of [interp, jit]) expect(vm.deleteEntry(0, { ...entry, value: 0 })).toBe(existed);
          }
          expect(interp.tableSize(0)).toBe(model.size);
          expect(jit.tableSize(0)).toBe(model.size);
        }
        probe();
      }),
      { numRuns: 150 },
    );
  });

  it("a large table at 3/4 of its slots: long runs across tag groups and around the end, after many deletes", () => {
    // 3,000 entries in 4,096 slots
    const l = LAYOUTS[1]!;
    const bits = keyBits(l);
    let seed = 99;
    const rand = () => {
      // xorshift32
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return BigInt(seed >>> 0);
    };
    const unique = new Set<bigint>();
    while (unique.size < 4000) unique.add(((rand() << 16n) ^ rand()) & ((1n << BigInt(bits)) - 1n));
    const keys = [...unique];
    const image = program(l, 3000);
    const model = new TableModel(bits, 3000);
    interp.load(image);
    jit.load(image);
    createJitRunner(jit);
    const apply = (f: (vm: OverlayVM) => void) => [interp, jit].forEach(f);
    keys.slice(0, 3000).forEach((k, i) => {
      model.insert(k, bits, i);
      apply((vm) => vm.insertEntry(0, { kind: "exact", key: k, value: i }));
    });
    keys.slice(0, 3000).forEach((k, i) => {
      if (i % 3 !== 0) return;
      model.delete(k, bits);
      apply((vm) => expect(vm.deleteEntry(0, { kind: "exact", key: k, value: 0 })).toBe(true));
    });
    keys.slice(3000, 4000).forEach((k, i) => {
      model.insert(k, bits, 5000 + i);
      apply((vm) => vm.insertEntry(0, { kind: "exact", key: k, value: 5000 + i }));
    });
    const frames = keys.map((k) => frameFor(l, k));
    const want = keys.map((k) => model.lookup(k, false));
    for (const vm of [interp, jit]) {
      const r = vm.run(frames);
      expect(keys.map((_, i) => (r.classes[i] === 0 ? BigInt(r.marks[i]!) : MISS))).toEqual(want);
    }
    expect(want.filter((v) => v === MISS).length).toBe(1000);
  });
});
