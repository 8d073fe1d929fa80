/**
 * One small program per opcode class, checking the interpreter's semantics (overlay-isa/opcodes.ts meaning
 * column), plus a check that enumerates OPCODES: an opcode the VM gives no semantics to — or that no test here
 * runs — fails the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, encodeOperands, encodeVerdict, OPCODES, verify, type OperandKind, type OperandValue, type ProgramImage, type TableDecl, fieldId, TABLE_KINDS } from "../../overlay-isa/index.js";
import { OverlayVM, ProgramRejected, type RunOptions } from "../../runtime/vm.js";
import { arp, ether, ipv4, tcp, tcp4Frame, udp, zeros, bytes } from "./frames.js";

let vm: OverlayVM;
const exercised = new Set<number>();

beforeAll(async () => {
  vm = await OverlayVM.create();
});

function load(src: string): ProgramImage {
  const { image } = assemble(src);
  vm.load(image);
  for (const insn of image.code) exercised.add(insn.op);
  return image;
}

function run(src: string, frames: Uint8Array[] = [tcp4Frame()], opts: RunOptions = {}) {
  load(src);
  return vm.run(frames, opts);
}

/** Value of r0 after `body`, read through a byte counter (counters add the full 64-bit register). */
function evalR0(body: string, frame: Uint8Array = tcp4Frame(), opts: RunOptions = {}): bigint {
  const r = run(`.counters 1\n${body}\n count c0, r0\n exit accept`, [frame], opts);
  expect(r.faults[0], "the program faulted").toBe(0);
  return vm.counters().bytes[0]!;
}

/** Did the packet fault? */
function faults(src: string, frame: Uint8Array = tcp4Frame(), opts: RunOptions = {}): boolean {
  const r = run(src, [frame], opts);
  if (r.faults[0]) expect(r.verdicts[0]).toBe(0); // a fault is a drop
  return r.faults[0] === 1;
}

const M64 = (1n << 64n) - 1n;

describe("ALU", () => {
  it("moves immediates zero-extended and registers", () => {
    expect(evalR0("mov r0, 0xffffffff")).toBe(0xffffffffn);
    expect(evalR0("mov r1, 7\n mov r0, r1")).toBe(7n);
  });

  it("loads the low 64 bits of a 128-bit constant with ldk", () => {
    expect(evalR0(".const K 0x0102030405060708090a0b0c0d0e0f10\n ldk r0, K")).toBe(0x090a0b0c0d0e0f10n);
  });

  const cases: [string, bigint, bigint, bigint][] = [
    ["add", 5n, 7n, 12n],
    ["sub", 5n, 7n, (5n - 7n) & M64], // wraps below zero
    ["mul", 0x1_0000_0001n, 0xffff_ffffn, (0x1_0000_0001n * 0xffff_ffffn) & M64],
    ["div", 100n, 7n, 14n],
    ["mod", 100n, 7n, 2n],
    ["and", 0xf0f0n, 0xff00n, 0xf000n],
    ["or", 0xf0f0n, 0x0f00n, 0xfff0n],
    ["xor", 0xf0f0n, 0xff00n, 0x0ff0n],
    ["shl", 3n, 4n, 48n],
    ["shr", 0x80n, 3n, 0x10n],
  ];
  for (const [op, a, b, want] of cases) {
    it(`${op} with an immediate and with a register`, () => {
      const setA = a > 0xffffffffn ? `mov r1, ${a >> 32n}\n shl r1, r1, 32\n or r1, r1, ${a & 0xffffffffn}` : `mov r1, ${a}`;
      expect(evalR0(`${setA}\n ${op} r0, r1, ${b}`)).toBe(want);
      expect(evalR0(`${setA}\n mov r2, ${b}\n ${op} r0, r1, r2`)).toBe(want);
    });
  }

  it("wraps at 64 bits", () => {
    // all ones + 1 = 0; all ones * 2 = all ones - 1
    expect(evalR0("mov r1, 0\n sub r1, r1, 1\n add r0, r1, 1")).toBe(0n);
    expect(evalR0("mov r1, 0\n sub r1, r1, 1\n mul r0, r1, 2")).toBe(M64 - 1n);
  });

  it("shifts by 64 or more give 0, and shr is logical", () => {
    expect(evalR0("mov r1, 1\n shl r0, r1, 63")).toBe(1n << 63n);
    expect(evalR0("mov r1, 1\n shl r0, r1, 64")).toBe(0n);
    expect(evalR0("mov r1, 1\n shl r0, r1, 1000")).toBe(0n);
    expect(evalR0("mov r1, 0\n sub r1, r1, 1\n shr r0, r1, 64")).toBe(0n);
    expect(evalR0("mov r1, 0\n sub r1, r1, 1\n shr r0, r1, 63")).toBe(1n);
    expect(evalR0("mov r1, 1\n mov r2, 64\n shl r0, r1, r2")).toBe(0n);
    // a register amount of 2^32 + 1 is ≥ 64, not 1
    expect(evalR0("mov r1, 1\n mov r2, 1\n shl r2, r2, 32\n add r2, r2, 1\n shl r0, r1, r2")).toBe(0n);
    expect(evalR0("mov r1, 0x80\n mov r2, 65\n shr r0, r1, r2")).toBe(0n);
  });

  it("faults on a zero divisor, immediate or register", () => {
    expect(faults("mov r1, 5\n div r0, r1, 0\n exit accept")).toBe(true);
    expect(faults("mov r1, 5\n mod r0, r1, 0\n exit accept")).toBe(true);
    expect(faults("mov r1, 5\n mov r2, 0\n div r0, r1, r2\n exit accept")).toBe(true);
    expect(faults("mov r1, 5\n mov r2, 0\n mod r0, r1, r2\n exit accept")).toBe(true);
    expect(faults("mov r1, 5\n mov r2, 2\n div r0, r1, r2\n exit accept")).toBe(false);
  });
});

describe("jumps", () => {
  // [condition, a, b, taken]
  const conds: [string, bigint, bigint, boolean][] = [
    ["jeq", 5n, 5n, true],
    ["jeq", 5n, 6n, false],
    ["jne", 5n, 6n, true],
    ["jne", 5n, 5n, false],
    ["jgt", 6n, 5n, true],
    ["jgt", 5n, 5n, false],
    ["jge", 5n, 5n, true],
    ["jge", 4n, 5n, false],
    ["jlt", 4n, 5n, true],
    ["jlt", 5n, 5n, false],
    ["jle", 5n, 5n, true],
    ["jle", 6n, 5n, false],
    ["jset", 6n, 2n, true],
    ["jset", 6n, 1n, false],
  ];
  for (const [j, a, b, taken] of conds) {
    it(`${j} ${a}, ${b} is ${taken ? "taken" : "not taken"} (immediate and register forms)`, () => {
      const imm = run(`mov r1, ${a}\n ${j} r1, ${b}, yes\n exit drop\nyes: exit accept`);
      expect(imm.verdicts[0]).toBe(taken ? 1 : 0);
      const reg = run(`mov r1, ${a}\n mov r2, ${b}\n ${j} r1, r2, yes\n exit drop\nyes: exit accept`);
      expect(reg.verdicts[0]).toBe(taken ? 1 : 0);
    });
  }

  it("compares unsigned 64-bit values", () => {
    // 2^63 is greater than 1 (it would be negative if signed)
    const big = "mov r1, 1\n shl r1, r1, 63\n";
    expect(run(`${big} jgt r1, 1, yes\n exit drop\nyes: exit accept`).verdicts[0]).toBe(1);
    expect(run(`${big} mov r2, 1\n jlt r1, r2, yes\n exit drop\nyes: exit accept`).verdicts[0]).toBe(0);
    // the immediate is zero-extended: 0xffffffff is not all ones
    expect(run(`mov r1, 0\n sub r1, r1, 1\n jeq r1, 0xffffffff, yes\n exit drop\nyes: exit accept`).verdicts[0]).toBe(0);
  });

  it("ja jumps forward unconditionally", () => {
    expect(run("ja over\n exit drop\nover: exit accept").verdicts[0]).toBe(1);
  });
});

describe("raw loads", () => {
  // Ethernet(14) + IPv4(20) + TCP(20) + 6 payload bytes = 60
  const frame = tcp4Frame(0x1234, 0x0050, 0x12, bytes([0xde, 0xad, 0xbe, 0xef, 0x55, 0x66]));

  it("reads big-endian bytes, halfwords and words relative to each base", () => {
    expect(evalR0("ldh r0, [pkt + 12]", frame)).toBe(0x0800n);
    expect(evalR0("ldb r0, [pkt + 14]", frame)).toBe(0x45n);
    expect(evalR0("ldb r0, [l3 + 9]", frame)).toBe(6n);
    expect(evalR0("ldw r0, [l3 + 12]", frame)).toBe(0x0a000001n);
    expect(evalR0("ldh r0, [l4 + 0]", frame)).toBe(0x1234n);
    expect(evalR0("ldh r0, [l4 + 2]", frame)).toBe(0x0050n);
    expect(evalR0("ldw r0, [payload + 0]", frame)).toBe(0xdeadbeefn);
    expect(evalR0("ldb r0, [payload + 5]", frame)).toBe(0x66n);
  });

  it("adds an index register", () => {
    expect(evalR0("mov r1, 2\n ldh r0, [l4 + r1 + 0]", frame)).toBe(0x0050n);
    expect(evalR0("ldb r1, [pkt + 14]\n and r1, r1, 15\n shl r1, r1, 2\n ldh r0, [pkt + r1 + 16]", frame)).toBe(0x0050n);
  });

  it("faults when the load reaches past the captured bytes, for every base and size", () => {
    expect(faults("ldb r0, [pkt + 59]\n exit accept", frame)).toBe(false);
    expect(faults("ldb r0, [pkt + 60]\n exit accept", frame)).toBe(true);
    expect(faults("ldh r0, [pkt + 58]\n exit accept", frame)).toBe(false);
    expect(faults("ldh r0, [pkt + 59]\n exit accept", frame)).toBe(true);
    expect(faults("ldw r0, [pkt + 56]\n exit accept", frame)).toBe(false);
    expect(faults("ldw r0, [pkt + 57]\n exit accept", frame)).toBe(true);
    expect(faults("ldb r0, [l3 + 45]\n exit accept", frame)).toBe(false);
    expect(faults("ldb r0, [l3 + 46]\n exit accept", frame)).toBe(true);
    expect(faults("ldw r0, [l4 + 23]\n exit accept", frame)).toBe(true);
    expect(faults("ldh r0, [payload + 4]\n exit accept", frame)).toBe(false);
    expect(faults("ldh r0, [payload + 5]\n exit accept", frame)).toBe(true);
    expect(faults("mov r1, 57\n ldw r0, [pkt + r1 + 0]\n exit accept", frame)).toBe(true);
    expect(faults("ldb r0, [pkt + 0xffffffff]\n exit accept", frame)).toBe(true);
  });

  it("bounds loads by the captured length, not the wire length", () => {
    const cut = frame.subarray(0, 40);
    expect(faults("ldb r0, [pkt + 39]\n exit accept", cut, { wireLengths: [60] })).toBe(false);
    expect(faults("ldb r0, [pkt + 40]\n exit accept", cut, { wireLengths: [60] })).toBe(true);
  });

  it("computes the address in 64 bits: a huge index never wraps around into the frame", () => {
    // index 2^64 - 1 plus offset 1 would be 0 in wrapping arithmetic
    expect(faults("mov r1, 0\n sub r1, r1, 1\n ldb r0, [pkt + r1 + 1]\n exit accept", frame)).toBe(true);
    expect(faults("mov r1, 1\n shl r1, r1, 32\n ldb r0, [pkt + r1 + 0]\n exit accept", frame)).toBe(true);
    expect(faults("mov r1, 0\n sub r1, r1, 1\n ldb r0, [l3 + r1 + 1]\n exit accept", frame)).toBe(true);
  });

  it("faults on a base whose header is absent", () => {
    const arpFrame = ether(0x0806, arp(1, 0x020000000001, 0x0a000001, 0, 0x0a000002));
    expect(evalR0("ldh r0, [l3 + 6]", arpFrame)).toBe(1n); // ARP has a network header …
    expect(faults("ldb r0, [l4 + 0]\n exit accept", arpFrame)).toBe(true); // … but no transport header
    expect(faults("ldb r0, [payload + 0]\n exit accept", arpFrame)).toBe(true);
    expect(faults("ldb r0, [l3 + 0]\n exit accept", zeros(10))).toBe(true); // link header cut off: no l3
    // a later IPv4 fragment has no transport header
    const later = ether(0x0800, ipv4({ proto: 17, fragOffset: 100 }, zeros(30)));
    expect(faults("ldb r0, [l4 + 0]\n exit accept", later)).toBe(true);
    expect(faults("ldb r0, [l3 + 0]\n exit accept", later)).toBe(false);
    // a TCP header with a bad data offset has no known payload
    const badDoff = ether(0x0800, ipv4({ proto: 6 }, tcp(1, 2, 0, zeros(8), 3)));
    expect(faults("ldb r0, [l4 + 0]\n exit accept", badDoff)).toBe(false);
    expect(faults("ldb r0, [payload + 0]\n exit accept", badDoff)).toBe(true);
  });
});

describe("header fields", () => {
  it("ldf reads the parsed vector and packet metadata", () => {
    const f = tcp4Frame(4321, 443, 0x18);
    expect(evalR0("ldf r0, l4.dport", f)).toBe(443n);
    expect(evalR0("ldf r0, tcp.flags", f)).toBe(0x18n);
    expect(evalR0("ldf r0, pkt.len", f, { wireLengths: [1500] })).toBe(1500n);
    expect(evalR0("ldf r0, pkt.caplen", f, { wireLengths: [1500] })).toBe(BigInt(f.length));
    expect(evalR0("ldf r0, pkt.port", f, { port: 7 })).toBe(7n);
    expect(evalR0("ldf r0, pkt.dir", f, { dir: 1 })).toBe(1n);
    expect(evalR0("ldf r0, pkt.linktype", f)).toBe(1n);
  });

  it("runs the parser only for programs that need it", () => {
    load("ldb r0, [pkt + 12]\n mov r1, r0\n exit accept");
    expect(vm.headerLevel).toBe(0);
    load("ldf r0, pkt.len\n exit accept");
    expect(vm.headerLevel).toBe(1);
    load("ldf r0, ip.src\n exit accept");
    expect(vm.headerLevel).toBe(2);
    load("ldb r0, [l4 + 0]\n exit accept");
    expect(vm.headerLevel).toBe(2);
  });

  describe("pfx", () => {
    const v4 = ether(0x0800, ipv4({ src: 0xc0a80105, dst: 0x08080808, proto: 17 }, udp(53, 5353)));
    it("matches IPv4 prefixes", () => {
      expect(evalR0(".const N 192.168.1.0\n pfx r0, ip.src, N/24", v4)).toBe(1n);
      expect(evalR0(".const N 192.168.2.0\n pfx r0, ip.src, N/24", v4)).toBe(0n);
      expect(evalR0(".const N 192.168.2.0\n pfx r0, ip.src, N/22", v4)).toBe(1n);
      expect(evalR0(".const N 192.168.1.5\n pfx r0, ip.src, N/32", v4)).toBe(1n);
      expect(evalR0(".const N 192.168.1.4\n pfx r0, ip.src, N/32", v4)).toBe(0n);
      expect(evalR0(".const N 1.2.3.4\n pfx r0, ip.src, N/0", v4)).toBe(1n);
    });
    it("compares only the constant's low field-width bits", () => {
      // bits above the field's 32 bits are ignored
      expect(evalR0(".const N 0xffffffffc0a80100\n pfx r0, ip.src, N/24", v4)).toBe(1n);
    });
    it("matches IPv6 prefixes (128-bit fields, two slots)", () => {
      const v6 = ether(0x86dd, ipv4ToNothing());
      function ipv4ToNothing() {
        return bytes([0x60, 0, 0, 0, 0, 8, 17, 64], [0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42], new Array<number>(16).fill(0), udp(1, 2));
      }
      expect(evalR0(".const N 2001:db8::\n pfx r0, ip6.src, N/32", v6)).toBe(1n);
      expect(evalR0(".const N 2001:db8:aabb::\n pfx r0, ip6.src, N/48", v6)).toBe(1n);
      expect(evalR0(".const N 2001:db8:aabc::\n pfx r0, ip6.src, N/48", v6)).toBe(0n);
      expect(evalR0(".const N 2001:db8:aabb::\n pfx r0, ip6.src, N/64", v6)).toBe(1n);
      expect(evalR0(".const N 2001:db8:aabb::42\n pfx r0, ip6.src, N/128", v6)).toBe(1n);
      expect(evalR0(".const N 2001:db8:aabb::43\n pfx r0, ip6.src, N/128", v6)).toBe(0n);
      expect(evalR0(".const N 2001:db8:aabb::43\n pfx r0, ip6.src, N/127", v6)).toBe(1n);
      expect(evalR0(".const N ::\n pfx r0, ip6.src, N/0", v6)).toBe(1n);
    });
    it("matches MAC prefixes (48-bit fields)", () => {
      const f = ether(0x0800, ipv4({}, tcp(1, 2, 2)), 0x001b21_aabbcc, 0x02_00_00_00_00_0a);
      expect(evalR0(".const OUI 00:1b:21:00:00:00\n pfx r0, eth.dst, OUI/24", f)).toBe(1n);
      expect(evalR0(".const OUI 00:1b:22:00:00:00\n pfx r0, eth.dst, OUI/24", f)).toBe(0n);
      expect(evalR0(".const M 00:1b:21:aa:bb:cc\n pfx r0, eth.dst, M", f)).toBe(1n); // full width by default
    });
  });
});

describe("counters", () => {
  it("count adds one packet and the register to the bytes", () => {
    load(".counters 2\n ldf r1, pkt.len\n count c1, r1\n exit accept");
    vm.run([tcp4Frame(), tcp4Frame()], { wireLengths: [100, 200] });
    vm.run([tcp4Frame()], { wireLengths: [50] });
    const c = vm.counters();
    expect([...c.packets]).toEqual([0n, 3n]);
    expect([...c.bytes]).toEqual([0n, 350n]);
    vm.resetCounters();
    expect([...vm.counters().packets]).toEqual([0n, 0n]);
  });

  it("indexed counters count base + index, and an index past the declared counters faults", () => {
    const src = ".counters 4\n ldf r2, l4.dport\n mov r3, 10\n count c1[r2], r3\n exit accept";
    load(src);
    const r = vm.run([tcp4Frame(1, 0), tcp4Frame(1, 2), tcp4Frame(1, 3), tcp4Frame(1, 2)]);
    expect([...r.faults]).toEqual([0, 0, 1, 0]); // c1 + 3 = c4 is not declared
    expect([...vm.counters().packets]).toEqual([0n, 1n, 0n, 2n]);
    expect([...vm.counters().bytes]).toEqual([0n, 10n, 0n, 20n]);
  });

  it("a new program starts with zeroed counters; effects before a fault stay", () => {
    load(".counters 1\n mov r1, 1\n count c0, r1\n div r2, r1, 0\n exit accept");
    const r = vm.run([tcp4Frame()]);
    expect(r.faults[0]).toBe(1);
    expect(vm.counters().packets[0]).toBe(1n);
    load(".counters 1\n exit accept");
    expect(vm.counters().packets[0]).toBe(0n);
  });
});

describe("metadata stores", () => {
  it("stf truncates to the field width and the results carry mark, class, prio, mirror", () => {
    const r = run("mov r1, 1\n shl r1, r1, 40\n or r1, r1, 0x1234\n stf meta.mark, r1\n stf meta.class, 7\n stf meta.prio, 0xffffffff\n stf meta.mirror, 3\n exit accept");
    expect(r.marks[0]).toBe(0x1234);
    expect(r.classes[0]).toBe(7);
    expect(r.prios[0]).toBe(0xffffffff);
    expect(r.mirror[0]).toBe(1); // 3 truncated to 1 bit
    expect(evalR0("stf meta.mirror, 2\n ldf r0, meta.mirror")).toBe(0n);
    expect(evalR0("mov r1, 0\n sub r1, r1, 1\n stf meta.scratch0, r1\n ldf r0, meta.scratch0")).toBe(M64);
  });

  it("metadata is zeroed before each packet", () => {
    const r = run("ldf r1, l4.dport\n jne r1, 80, skip\n stf meta.mark, 5\nskip: ldf r2, meta.mark\n stf meta.class, r2\n exit accept", [tcp4Frame(1, 80), tcp4Frame(1, 81)]);
    expect([...r.marks]).toEqual([5, 0]);
    expect([...r.classes]).toEqual([5, 0]);
  });

  it("results of a program that writes no metadata are 0", () => {
    run("stf meta.mark, 9\n exit accept");
    const r = run("exit accept");
    expect(r.marks[0]).toBe(0);
    expect(r.mirror[0]).toBe(0);
  });
});

describe("verdicts", () => {
  it("exit carries each verdict kind", () => {
    expect(run("exit accept").verdicts[0]).toBe(encodeVerdict({ kind: "accept" }));
    expect(run("exit drop").verdicts[0]).toBe(encodeVerdict({ kind: "drop" }));
    expect(run("exit queue 7").verdicts[0]).toBe(encodeVerdict({ kind: "queue", queue: 7 }));
    expect(run("exit reject tcp-reset").verdicts[0]).toBe(encodeVerdict({ kind: "reject", how: "tcp-reset" }));
    expect(run("exit reject icmp 3 13").verdicts[0]).toBe(encodeVerdict({ kind: "reject", how: "icmp", type: 3, code: 13 }));
  });

  it("exit ra takes the register's low 32 bits when they are a valid verdict, and faults otherwise", () => {
    const q = encodeVerdict({ kind: "queue", queue: 300 });
    const ok = run(`mov r1, 1\n shl r1, r1, 40\n or r1, r1, ${q}\n exit r1`);
    expect(ok.faults[0]).toBe(0);
    expect(ok.verdicts[0]).toBe(q);
    expect(faults("mov r1, 0x101\n exit r1")).toBe(true); // accept with an argument
    expect(faults("mov r1, 9\n exit r1")).toBe(true); // unknown kind
    expect(faults(`mov r1, ${encodeVerdict({ kind: "reject", how: "tcp-reset" }) | (1 << 16)}\n exit r1`)).toBe(true); // tcp-reset with a type
    expect(faults(`mov r1, ${(2 | (65536 << 8)) >>> 0}\n exit r1`)).toBe(true); // queue past the last
  });

  it("registers start at zero for every packet", () => {
    // unverified: reads r5 before writing it, then writes it; the second packet must read 0 again
    const { image } = assemble(".counters 1\n count c0, r5\n mov r5, 100\n exit accept");
    for (const insn of image.code) exercised.add(insn.op);
    expect(verify(image).ok).toBe(false);
    expect(vm.loadUnverified(image).ok).toBe(true);
    vm.run([tcp4Frame(), tcp4Frame(), tcp4Frame()]);
    expect(vm.counters().bytes[0]).toBe(0n);
    expect(vm.counters().packets[0]).toBe(3n);
  });
});

describe("table lookups (one per kind; tables.test.ts has the details)", () => {
  const frame = ether(0x0800, ipv4({ src: 0x0a010203, proto: 6 }, tcp(1, 8080, 2)));
  it("lookup.exact, lookup.lpm, lookup.range and lookup.ternary leave the entry's value or all ones", () => {
    load(".table T exact capacity 4 key ip.src\n lookup.exact r0, T\n exit accept");
    expect(evalR0(".table T exact capacity 4 key ip.src\n lookup.exact r0, T", frame)).toBe(M64);
    vm.insertEntry(0, { kind: "exact", key: 0x0a010203n, value: 11 });
    vm.run([frame]); // the table survives runs …
    expect(vm.tableSize(0)).toBe(1);
    const prog = (kind: string, key: string) => `.table T ${kind} capacity 4 key ${key}\n.counters 1\n lookup.${kind} r0, T\n count c0, r0\n exit accept`;
    const check = (kind: string, key: string, entry: Parameters<OverlayVM["insertEntry"]>[1], want: bigint) => {
      load(prog(kind, key));
      vm.run([frame]);
      expect(vm.counters().bytes[0], `${kind} miss`).toBe(M64);
      vm.resetCounters();
      vm.insertEntry(0, entry);
      vm.run([frame]);
      expect(vm.counters().bytes[0], `${kind} hit`).toBe(want);
    };
    check("exact", "ip.src", { kind: "exact", key: 0x0a010203n, value: 11 }, 11n);
    check("lpm", "ip.src", { kind: "lpm", key: 0x0a000000n, prefixLen: 8, value: 12 }, 12n);
    check("range", "l4.dport", { kind: "range", lo: 8000n, hi: 8999n, value: 13 }, 13n);
    check("ternary", "ip.src", { kind: "ternary", key: 0x0a000003n, mask: 0xff0000ffn, priority: 1, value: 14 }, 14n);
  });
});

describe("limit (token buckets, runtime/assembly/ratelimit.ts)", () => {
  it("passes the burst, then one packet per refill interval, by packet timestamps", () => {
    // constant: bits 0..31 burst 2, 32..63 one token per interval, 64..95 interval 1000 ms, 96..127 bucket id 0
    const k = (1000n << 64n) | (1n << 32n) | 2n;
    const r = run(`.const K ${k}\n limit r1, K\n stf meta.mark, r1\n exit accept`, [tcp4Frame(), tcp4Frame(), tcp4Frame(), tcp4Frame(), tcp4Frame()], {
      timesUs: Float64Array.from([0, 0, 0, 1_000_000, 1_200_000]),
    });
    expect([...r.marks]).toEqual([1, 1, 0, 1, 0]);
  });
});

describe("scheduler instructions (runtime/sched/README.md; test/qos has them at work)", () => {
  it("sst and sld keep 64-bit words across packets; past the state memory a load reads 0 and a store is ignored", () => {
    const src = ".counters 2\n mov r1, 5\n sld r2, r1, 3\n add r2, r2, 1\n sst r1, r2, 3\n count c0, r2\n mov r3, 0\n sub r3, r3, 1\n sst r3, r2, 0\n sld r4, r3, 0\n count c1, r4\n exit accept";
    run(src, [tcp4Frame(), tcp4Frame(), tcp4Frame()]);
    expect(vm.counters().bytes[0]).toBe(1n + 2n + 3n); // word 8 counts 1, 2, 3
    expect(vm.counters().bytes[1]).toBe(0n);
  });

  it("min and max compare unsigned", () => {
    expect(evalR0("mov r1, 7\n mov r2, 0\n sub r2, r2, 1\n min r0, r1, r2")).toBe(7n);
    expect(evalR0("mov r1, 7\n mov r2, 0\n sub r2, r2, 1\n max r0, r1, r2")).toBe(M64);
  });

  it("queue reads see an empty queue model outside the scheduler; qdrop and qce change nothing there", () => {
    for (const op of ["qlen", "qbytes", "qhead", "qtime", "qce"]) expect(evalR0(`mov r1, 3\n ${op} r0, r1`), op).toBe(0n);
    expect(evalR0("mov r1, 3\n qmaxb r0, r1, 8")).toBe(3n); // all empty: the first
    expect(evalR0("mov r1, 3\n qmaxp r0, r1, 8")).toBe(3n);
    expect(evalR0("mov r1, 0\n qdrop r1, 0\n qdrop r1, 1\n qlen r0, r1")).toBe(0n);
  });

  it("fhash is a 32-bit flow hash: equal for a flow's packets, different across ports and seeds, 0 without IP", () => {
    const h = (frame: Uint8Array, seed = 1) => evalR0(`mov r1, ${seed}\n fhash r0, r1`, frame);
    expect(h(tcp4Frame(1000, 80))).toBe(h(tcp4Frame(1000, 80)));
    expect(h(tcp4Frame(1000, 80))).not.toBe(h(tcp4Frame(1001, 80)));
    expect(h(tcp4Frame(1000, 80), 1)).not.toBe(h(tcp4Frame(1000, 80), 2));
    expect(h(tcp4Frame(1000, 80)) < 1n << 32n).toBe(true);
    expect(h(ether(0x0806, arp(1, 1, 2, 3, 4)))).toBe(0n);
  });
});

describe("cycles", () => {
  it("sum the cycles of the instructions executed, including the exit or the faulting one", () => {
    const src = "ldf r1, l4.dport\n jeq r1, 80, web\n div r2, r1, 3\n exit drop\nweb: lookup.exact r3, T\n exit accept";
    const r = run(`.table T exact capacity 4 key ip.src\n ${src}`, [tcp4Frame(1, 80), tcp4Frame(1, 81)], { cycles: true });
    // ldf 1 + jeq 1 + lookup.exact 4 + exit 1; ldf 1 + jeq 1 + div 4 + exit 1
    expect([...r.cycles!]).toEqual([7, 7]);
    const f = run("ldb r1, [pkt + 9999]\n exit accept", [tcp4Frame()], { cycles: true });
    expect(f.faults[0]).toBe(1);
    expect(f.cycles![0]).toBe(2);
    expect(run("exit accept", [tcp4Frame()]).cycles).toBeUndefined();
  });
});

describe("every opcode of the opcode table", () => {
  // A minimal verifier-accepted program for an opcode: operands filled by kind, r0 written first.
  function programFor(code: number): ProgramImage {
    const spec = OPCODES.find((o) => o.code === code)!;
    const tables: TableDecl[] = TABLE_KINDS.map((kind) => ({ kind, keyFields: [fieldId("ip.src")], capacity: 4 }));
    const values = spec.operands.map((k: OperandKind): OperandValue => {
      switch (k) {
        case "rd":
          return 1;
        case "ra":
        case "rs":
        case "rt":
          return 0;
        case "imm":
          return 1;
        case "target":
          return 0;
        case "field":
          return fieldId("ip.src");
        case "wfield":
          return fieldId("meta.mark");
        case "table":
          return TABLE_KINDS.indexOf(spec.tableKind ?? "exact");
        case "counter":
          return 0;
        case "counterx":
          return { base: 0, index: 0 };
        case "const":
          return 0;
        case "kprefix":
          return { index: 0, prefix: 8 };
        case "mem":
          return { base: 0, offset: 0 };
        case "verdict":
          return encodeVerdict({ kind: "accept" });
      }
    });
    const mov0 = encodeOperands(OPCODES.find((o) => o.mnemonic === "mov" && o.operands[1] === "imm")!, [0, 1]);
    const exit = encodeOperands(OPCODES.find((o) => o.mnemonic === "exit" && o.operands[0] === "verdict")!, [encodeVerdict({ kind: "accept" })]);
    return { kind: "filter", tables, counters: 1, constants: [0x0a000000n], code: [mov0, encodeOperands(spec, values), exit] };
  }

  for (const spec of OPCODES) {
    it(`0x${spec.code.toString(16)} ${spec.mnemonic} (${spec.operands.join(", ")}) has VM semantics`, () => {
      const image = programFor(spec.code);
      const verdict = verify(image);
      expect(verdict.errors, "the test's program for this opcode should verify").toEqual([]);
      let rejected: ProgramRejected | undefined;
      try {
        vm.load(image);
      } catch (e) {
        if (!(e instanceof ProgramRejected)) throw e;
        rejected = e;
      }
      expect(rejected?.message, `the VM refuses ${spec.mnemonic}: give it semantics in runtime/assembly/interp.ts`).toBeUndefined();
      const r = vm.run([tcp4Frame()], { cycles: true });
      expect(r.cycles![0]).toBeLessThanOrEqual(verdict.worstCaseCycles!);
    });
  }

  afterAll(() => {
    // runs after the semantic tests above (vitest runs a file's tests in order)
    const missing = OPCODES.filter((o) => !exercised.has(o.code)).map((o) => `0x${o.code.toString(16)} ${o.mnemonic}`);
    expect(missing, "opcodes no semantic test in this file runs").toEqual([]);
  });
});
