/** Table semantics: each kind's matching rule, capacities, updates, deletes, keys built from several fields. */
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../overlay-isa/index.js";
import { OverlayVM, TableError, type TableEntry } from "../../runtime/vm.js";
import { ether, ipv4, ipv6, tcp, udp } from "./frames.js";

let vm: OverlayVM;
beforeAll(() => {
  vm = OverlayVM.createSync();
});

const MISS = (1n << 64n) - 1n;

/** The lookup result of the loaded program for one frame (the program adds it to byte counter c0). */
function probeLoaded(frame: Uint8Array): bigint {
  vm.resetCounters();
  const r = vm.run([frame]);
  expect(r.faults[0]).toBe(0);
  return vm.counters().bytes[0]!;
}

/** Load a one-table program that adds each packet's lookup result to byte counter c0; returns a probe. */
function tableProgram(decl: string, kind: string) {
  vm.load(assemble(`.table T ${kind} capacity ${decl}\n.counters 1\n lookup.${kind} r1, T\n count c0, r1\n exit accept`).image);
  return probeLoaded;
}

const v4 = (src: number, dport = 80, sport = 1000) => ether(0x0800, ipv4({ src, dst: 0x0a0000fe, proto: 6 }, tcp(sport, dport, 2)));
const v6 = (src: bigint, dport = 80) => ether(0x86dd, ipv6({ src, next: 17 }, udp(5000, dport)));

describe("exact", () => {
  it("matches whole keys and misses otherwise; insert of an existing key replaces its value", () => {
    const probe = tableProgram("8 key ip.src", "exact");
    vm.insertEntry(0, { kind: "exact", key: 0x0a000001n, value: 1 });
    vm.insertEntry(0, { kind: "exact", key: 0x0a000002n, value: 0xffffffff });
    expect(probe(v4(0x0a000001))).toBe(1n);
    expect(probe(v4(0x0a000002))).toBe(0xffffffffn); // the largest value is not a miss
    expect(probe(v4(0x0a000003))).toBe(MISS);
    vm.insertEntry(0, { kind: "exact", key: 0x0a000001n, value: 9 });
    expect(vm.tableSize(0)).toBe(2);
    expect(probe(v4(0x0a000001))).toBe(9n);
  });

  it("builds multi-field keys most significant field first", () => {
    const probe = tableProgram("16 key ip.src, l4.dport", "exact");
    vm.insertEntry(0, { kind: "exact", key: (0x0a000001n << 16n) | 443n, value: 5 });
    expect(probe(v4(0x0a000001, 443))).toBe(5n);
    expect(probe(v4(0x0a000001, 80))).toBe(MISS);
    const probe5 = tableProgram("16 key ip.src, ip.dst, l4.proto, l4.sport, l4.dport", "exact");
    const key = (0x0a000007n << 72n) | (0x0a0000fen << 40n) | (6n << 32n) | (1000n << 16n) | 22n;
    vm.insertEntry(0, { kind: "exact", key, value: 77 });
    expect(probe5(v4(0x0a000007, 22))).toBe(77n);
    expect(probe5(v4(0x0a000007, 23))).toBe(MISS);
  });

  it("keys 128-bit fields across words (IPv6 address + port = 144 bits)", () => {
    const probe = tableProgram("16 key ip6.src, l4.dport", "exact");
    const src = 0x20010db8_0000_0000_0000_0000_0000_00aan;
    vm.insertEntry(0, { kind: "exact", key: (src << 16n) | 53n, value: 3 });
    expect(probe(v6(src, 53))).toBe(3n);
    expect(probe(v6(src + 1n, 53))).toBe(MISS);
    expect(probe(v6(src, 54))).toBe(MISS);
  });

  it("refuses an insert into a full table with a clear error and keeps its entries", () => {
    const probe = tableProgram("3 key ip.src", "exact");
    for (let i = 1; i <= 3; i++) vm.insertEntry(0, { kind: "exact", key: BigInt(i), value: i });
    expect(() => vm.insertEntry(0, { kind: "exact", key: 4n, value: 4 })).toThrow(new TableError("table t0 (exact, capacity 3) is full"));
    vm.insertEntry(0, { kind: "exact", key: 2n, value: 20 }); // an update still fits
    expect(vm.tableSize(0)).toBe(3);
    for (let i = 1; i <= 3; i++) expect(probe(v4(i))).toBe(BigInt(i === 2 ? 20 : i));
  });

  it("deletes keep every other key reachable (no holes in probe runs)", () => {
    const probe = tableProgram("1000 key ip.src", "exact");
    for (let i = 0; i < 1000; i++) vm.insertEntry(0, { kind: "exact", key: BigInt(i * 7919), value: i });
    for (let i = 0; i < 1000; i += 2) expect(vm.deleteEntry(0, { kind: "exact", key: BigInt(i * 7919), value: 0 })).toBe(true);
    expect(vm.deleteEntry(0, { kind: "exact", key: 1n, value: 0 })).toBe(false);
    expect(vm.tableSize(0)).toBe(500);
    for (let i = 0; i < 1000; i += 37) expect(probe(v4(i * 7919))).toBe(i % 2 === 0 ? MISS : BigInt(i));
    vm.clearTable(0);
    expect(vm.tableSize(0)).toBe(0);
    expect(probe(v4(7919))).toBe(MISS);
  });
});

describe("lpm", () => {
  it("the longest matching prefix wins; deleting it falls back to the next longest", () => {
    const probe = tableProgram("16 key ip.src", "lpm");
    vm.insertEntry(0, { kind: "lpm", key: 0x0a000000n, prefixLen: 8, value: 8 });
    vm.insertEntry(0, { kind: "lpm", key: 0x0a010200n, prefixLen: 24, value: 24 });
    vm.insertEntry(0, { kind: "lpm", key: 0x0a010000n, prefixLen: 16, value: 16 });
    vm.insertEntry(0, { kind: "lpm", key: 0n, prefixLen: 0, value: 99 });
    expect(probe(v4(0x0a010203))).toBe(24n);
    expect(probe(v4(0x0a01ff03))).toBe(16n);
    expect(probe(v4(0x0aff0000))).toBe(8n);
    expect(probe(v4(0x0b000000))).toBe(99n);
    expect(vm.deleteEntry(0, { kind: "lpm", key: 0x0a0102ffn, prefixLen: 24, value: 0 })).toBe(true); // bits past the prefix ignored
    expect(probe(v4(0x0a010203))).toBe(16n);
    expect(vm.deleteEntry(0, { kind: "lpm", key: 0n, prefixLen: 0, value: 0 })).toBe(true);
    expect(probe(v4(0x0b000000))).toBe(MISS);
  });

  it("ignores key bits beyond the prefix and treats the same prefix as one entry", () => {
    const probe = tableProgram("4 key ip.src", "lpm");
    vm.insertEntry(0, { kind: "lpm", key: 0xc0a801ffn, prefixLen: 24, value: 1 });
    vm.insertEntry(0, { kind: "lpm", key: 0xc0a80100n, prefixLen: 24, value: 2 });
    expect(vm.tableSize(0)).toBe(1);
    expect(probe(v4(0xc0a80105))).toBe(2n);
  });

  it("matches IPv6 prefixes over a 128-bit key", () => {
    const probe = tableProgram("8 key ip6.src", "lpm");
    vm.insertEntry(0, { kind: "lpm", key: 0x20010db8n << 96n, prefixLen: 32, value: 32 });
    vm.insertEntry(0, { kind: "lpm", key: (0x20010db8n << 96n) | (0xaaaan << 80n), prefixLen: 48, value: 48 });
    vm.insertEntry(0, { kind: "lpm", key: (0x20010db8n << 96n) | (0xaaaan << 80n) | 1n, prefixLen: 128, value: 128 });
    vm.insertEntry(0, { kind: "lpm", key: (0x20010db8n << 96n) | (0xaaaan << 80n) | (0xbn << 60n), prefixLen: 68, value: 68 });
    expect(probe(v6((0x20010db8n << 96n) | (0xaaaan << 80n) | 1n))).toBe(128n);
    expect(probe(v6((0x20010db8n << 96n) | (0xaaaan << 80n) | (0xbn << 60n) | 5n))).toBe(68n);
    expect(probe(v6((0x20010db8n << 96n) | (0xaaaan << 80n) | 2n))).toBe(48n);
    expect(probe(v6((0x20010db8n << 96n) | 2n))).toBe(32n);
    expect(probe(v6(1n))).toBe(MISS);
  });

  it("a multi-field lpm key prefixes the most significant field first", () => {
    const probe = tableProgram("4 key ip.src, l4.dport", "lpm");
    vm.insertEntry(0, { kind: "lpm", key: 0x0a000000n << 16n, prefixLen: 8, value: 1 }); // 10/8, any port
    vm.insertEntry(0, { kind: "lpm", key: (0x0a000001n << 16n) | 22n, prefixLen: 48, value: 2 }); // 10.0.0.1 port 22
    expect(probe(v4(0x0a000001, 22))).toBe(2n);
    expect(probe(v4(0x0a000001, 23))).toBe(1n);
  });
});

describe("range", () => {
  it("matches [lo, hi] inclusive; of overlapping ranges the earliest inserted wins", () => {
    const probe = tableProgram("8 key l4.dport", "range");
    vm.insertEntry(0, { kind: "range", lo: 1000n, hi: 2000n, value: 1 });
    vm.insertEntry(0, { kind: "range", lo: 1500n, hi: 3000n, value: 2 }); // overlaps the first: loses 1500..2000
    vm.insertEntry(0, { kind: "range", lo: 0n, hi: 65535n, value: 3 }); // catch-all, inserted last
    expect(probe(v4(1, 999))).toBe(3n);
    expect(probe(v4(1, 1000))).toBe(1n);
    expect(probe(v4(1, 1700))).toBe(1n);
    expect(probe(v4(1, 2000))).toBe(1n);
    expect(probe(v4(1, 2001))).toBe(2n);
    expect(probe(v4(1, 3000))).toBe(2n);
    expect(probe(v4(1, 3001))).toBe(3n);
    // deleting the first uncovers the second; re-inserting it puts it last
    expect(vm.deleteEntry(0, { kind: "range", lo: 1000n, hi: 2000n, value: 0 })).toBe(true);
    expect(probe(v4(1, 1700))).toBe(2n);
    expect(probe(v4(1, 1200))).toBe(3n);
    vm.insertEntry(0, { kind: "range", lo: 1000n, hi: 2000n, value: 1 });
    expect(probe(v4(1, 1200))).toBe(3n);
    // an insert with the same bounds replaces the value and keeps the position
    vm.insertEntry(0, { kind: "range", lo: 1500n, hi: 3000n, value: 22 });
    expect(probe(v4(1, 2500))).toBe(22n);
    expect(vm.tableSize(0)).toBe(3);
  });

  it("handles single points, the full 64-bit span and the top value", () => {
    // key: l4.dport - 1 in a 64-bit scratch field, so a port of 0 probes the top value 2^64 - 1
    vm.load(assemble(`.table T range capacity 4 key meta.scratch0\n.counters 1\n ldf r2, l4.dport\n sub r2, r2, 1\n stf meta.scratch0, r2\n lookup.range r1, T\n count c0, r1\n exit accept`).image);
    vm.insertEntry(0, { kind: "range", lo: MISS, hi: MISS, value: 1 });
    vm.insertEntry(0, { kind: "range", lo: 0n, hi: MISS, value: 2 });
    vm.insertEntry(0, { kind: "range", lo: 5n, hi: 5n, value: 3 });
    expect(probeLoaded(v4(1, 0))).toBe(1n);
    expect(probeLoaded(v4(1, 6))).toBe(2n); // 5 is covered by the catch-all inserted before it
    expect(probeLoaded(v4(1, 1))).toBe(2n);
  });

  it("stays correct across many inserts and deletes (compared with a linear scan)", () => {
    const probe = tableProgram("200 key l4.dport", "range");
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const entries: { lo: number; hi: number; value: number }[] = [];
    for (let i = 0; i < 150; i++) {
      const lo = rand(65536);
      const hi = Math.min(65535, lo + rand(3000));
      if (entries.some((e) => e.lo === lo && e.hi === hi)) continue;
      entries.push({ lo, hi, value: i });
      vm.insertEntry(0, { kind: "range", lo: BigInt(lo), hi: BigInt(hi), value: i });
      if (i % 5 === 4) {
        const victim = entries.splice(rand(entries.length), 1)[0]!;
        expect(vm.deleteEntry(0, { kind: "range", lo: BigInt(victim.lo), hi: BigInt(victim.hi), value: 0 })).toBe(true);
      }
    }
    for (let k = 0; k < 60; k++) {
      const port = rand(65536);
      const hit = entries.find((e) => e.lo <= port && port <= e.hi);
      expect(probe(v4(1, port))).toBe(hit ? BigInt(hit.value) : MISS);
    }
  });
});

describe("ternary", () => {
  it("the lowest priority number wins; equal priorities go to the earlier insertion", () => {
    const probe = tableProgram("8 key ip.src, l4.dport", "ternary");
    const k = (ip: number, port: number) => (BigInt(ip) << 16n) | BigInt(port);
    vm.insertEntry(0, { kind: "ternary", key: k(0x0a000000, 0), mask: k(0xff000000, 0), priority: 20, value: 1 }); // 10/8 any port
    vm.insertEntry(0, { kind: "ternary", key: k(0, 22), mask: k(0, 0xffff), priority: 10, value: 2 }); // any host port 22
    vm.insertEntry(0, { kind: "ternary", key: k(0, 0), mask: 0n, priority: 20, value: 3 }); // anything, ties with the first
    expect(probe(v4(0x0a000001, 22))).toBe(2n);
    expect(probe(v4(0x0a000001, 80))).toBe(1n); // priority 20: the earlier insertion beats the catch-all
    expect(probe(v4(0x0b000001, 80))).toBe(3n);
    vm.insertEntry(0, { kind: "ternary", key: k(0x0b000001, 0), mask: k(0xffffffff, 0), priority: 0, value: 4 });
    expect(probe(v4(0x0b000001, 22))).toBe(4n);
    // same key, mask and priority: the value is replaced, the entry keeps its place
    vm.insertEntry(0, { kind: "ternary", key: k(0x0a000000, 0), mask: k(0xff000000, 0), priority: 20, value: 11 });
    expect(probe(v4(0x0a000001, 80))).toBe(11n);
    expect(vm.tableSize(0)).toBe(4);
    expect(vm.deleteEntry(0, { kind: "ternary", key: k(0x0a000000, 0), mask: k(0xff000000, 0), priority: 20, value: 0 })).toBe(true);
    expect(probe(v4(0x0a000001, 80))).toBe(3n);
    // key bits outside the mask do not matter for identity
    expect(vm.deleteEntry(0, { kind: "ternary", key: k(0x0b000001, 0xabcd), mask: k(0xffffffff, 0), priority: 0, value: 0 })).toBe(true);
    expect(probe(v4(0x0b000001, 22))).toBe(2n);
  });

  it("matches wide keys (IPv6 address) and refuses inserts when full", () => {
    const probe = tableProgram("2 key ip6.src", "ternary");
    const net = 0x20010db8n << 96n;
    vm.insertEntry(0, { kind: "ternary", key: net | 0x42n, mask: (0xffffffffn << 96n) | 0xffn, priority: 5, value: 7 });
    vm.insertEntry(0, { kind: "ternary", key: net, mask: 0xffffffffn << 96n, priority: 6, value: 8 });
    expect(probe(v6(net | 0x1234_0042n))).toBe(7n);
    expect(probe(v6(net | 0x43n))).toBe(8n);
    expect(probe(v6(0x20010db9n << 96n))).toBe(MISS);
    expect(() => vm.insertEntry(0, { kind: "ternary", key: 0n, mask: 0n, priority: 1, value: 1 })).toThrow("table t0 (ternary, capacity 2) is full");
  });
});

describe("control-plane errors", () => {
  it("names the table and the problem", () => {
    vm.load(assemble(".table A exact capacity 4 key eth.src\n.table B lpm capacity 4 key ip.src\n.table C range capacity 4 key l4.dport\n exit accept").image);
    const bad: [number, TableEntry, string][] = [
      [5, { kind: "exact", key: 1n, value: 1 }, "table t5 does not exist (the program declares 3 tables)"],
      [1, { kind: "exact", key: 1n, value: 1 }, "table t1 (lpm, capacity 4): a exact entry does not fit a lpm table"],
      [0, { kind: "exact", key: 1n << 48n, value: 1 }, "table t0 (exact, capacity 4): key 0x1000000000000 does not fit the table's 48-bit key (eth.src)"],
      [0, { kind: "exact", key: -1n, value: 1 }, "does not fit the table's 48-bit key"],
      [0, { kind: "exact", key: 1n, value: -1 }, "value -1 is not an unsigned 32-bit integer"],
      [0, { kind: "exact", key: 1n, value: 2 ** 32 }, "is not an unsigned 32-bit integer"],
      [1, { kind: "lpm", key: 1n, prefixLen: 33, value: 1 }, "prefix length 33 is outside 0..32 for its 32-bit key (ip.src)"],
      [2, { kind: "range", lo: 5n, hi: 4n, value: 1 }, "range [0x5, 0x4] is empty (lo > hi)"],
      [2, { kind: "range", lo: 0n, hi: 65536n, value: 1 }, "hi 0x10000 does not fit the table's 16-bit key (l4.dport)"],
    ];
    for (const [t, e, msg] of bad) expect(() => vm.insertEntry(t, e), msg).toThrow(msg);
    expect(() => vm.tableSize(3)).toThrow("table t3 does not exist");
    expect(vm.tableSize(0)).toBe(0);
  });

  it("a new program load empties the tables", () => {
    const src = ".table A exact capacity 4 key ip.src\n exit accept";
    vm.load(assemble(src).image);
    vm.insertEntry(0, { kind: "exact", key: 1n, value: 1 });
    vm.load(assemble(src).image);
    expect(vm.tableSize(0)).toBe(0);
  });
});

describe("scale", () => {
  it("a 100,000-entry exact table and a 10,000-prefix lpm table look up correctly", () => {
    const probe = tableProgram("100000 key ip.src", "exact");
    for (let i = 0; i < 100_000; i++) vm.insertEntry(0, { kind: "exact", key: BigInt(0x0a000000 + i * 3), value: i });
    expect(vm.tableSize(0)).toBe(100_000);
    expect(probe(v4(0x0a000000 + 3 * 54321))).toBe(54321n);
    expect(probe(v4(0x0a000000 + 3 * 54321 + 1))).toBe(MISS);
    const lpm = tableProgram("10001 key ip.src", "lpm");
    for (let i = 0; i < 10_000; i++) vm.insertEntry(0, { kind: "lpm", key: BigInt((0x0a000000 + (i << 8)) >>> 0), prefixLen: 24, value: i });
    vm.insertEntry(0, { kind: "lpm", key: 0x0a000000n, prefixLen: 8, value: 123456 });
    expect(lpm(v4(0x0a000000 + (777 << 8) + 5))).toBe(777n);
    expect(lpm(v4(0x0aff0000))).toBe(123456n);
  });
});
