/**
 * fast-check arbitraries for overlay programs and packets, shared by the runtime property tests and (later) the
 * JIT's differential tests:
 *
 *  - arbVerifiedProgram: random verifier-accepted programs — straight-line code with forward jumps (a DAG),
 *    random tables (with entries to insert), counters and constants, every register written before it is read
 *    (a prologue writes the registers the body may read);
 *  - arbRandomImage / arbImageBytes: arbitrary images made of random 64-bit words (mostly nonsense), for
 *    robustness properties;
 *  - arbFrame / arbBatch: random packets — raw random bytes, or well-formed Ethernet/IPv4/IPv6/ARP frames with
 *    random fields, cut at random lengths.
 */
import fc from "fast-check";
import {
  encodeImage,
  encodeOperands,
  encodeVerdict,
  FIELDS,
  fieldByName,
  LIMITS,
  OPCODES,
  TABLE_KINDS,
  type OpcodeSpec,
  type OperandValue,
  type ProgramImage,
  type RawInsn,
  type TableDecl,
  type TableKind,
  type Verdict,
} from "../../overlay-isa/index.js";
import type { TableEntry } from "../../runtime/vm.js";
import { keyBits } from "../../runtime/table-entries.js";

// ---- programs ------------------------------------------------------------------------------------------

/** A program plus the entries to insert into its tables before running it. */
export interface GeneratedProgram {
  image: ProgramImage;
  entries: { table: number; entry: TableEntry }[];
}

const READABLE_64 = FIELDS.filter((f) => f.bits <= 64);
const WRITABLE = FIELDS.filter((f) => f.writable);
const KEYABLE = FIELDS.filter((f) => f.bits <= 64 || f.bits === 128);
const LINK_FIELDS = ["ip.src", "ip.dst", "l4.sport", "l4.dport", "l4.proto", "eth.src", "ip6.src", "vlan.id", "meta.scratch0", "pkt.len"].map((n) => fieldByName(n)!);

/** The verdicts a generated `exit` may name. */
const arbVerdict: fc.Arbitrary<Verdict> = fc.oneof(
  fc.constant<Verdict>({ kind: "accept" }),
  fc.constant<Verdict>({ kind: "drop" }),
  fc.integer({ min: 0, max: LIMITS.queues - 1 }).map((queue): Verdict => ({ kind: "queue", queue })),
  fc.constantFrom<Verdict>({ kind: "reject", how: "default" }, { kind: "reject", how: "tcp-reset" }),
  fc.record({ type: fc.integer({ min: 0, max: 255 }), code: fc.integer({ min: 0, max: 255 }) }).map((tc): Verdict => ({ kind: "reject", how: "icmp", ...tc })),
);

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Immediates: small numbers most of the time (ports, lengths, flags), any u32 sometimes. */
const arbImm = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 100 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 6, 17, 80, 443, 0x800, 0x86dd, 64, 0xffff) }, { weight: 1, arbitrary: u32 });

function arbTable(): fc.Arbitrary<TableDecl> {
  return fc.constantFrom<TableKind>(...TABLE_KINDS).chain((kind): fc.Arbitrary<TableDecl> => {
    const capacity = fc.integer({ min: 1, max: 12 });
    if (kind === "range") {
      return fc.record({ f: fc.constantFrom(...READABLE_64), capacity }).map(({ f, capacity }): TableDecl => ({ kind, keyFields: [f.id], capacity }));
    }
    const pool = kind === "lpm" ? KEYABLE.filter((f) => f.bits <= 128) : KEYABLE;
    const maxBits = kind === "lpm" ? LIMITS.lpmKeyBits : LIMITS.keyBits;
    return fc
      .record({
        fields: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...LINK_FIELDS) }, { weight: 1, arbitrary: fc.constantFrom(...pool) }), { minLength: 1, maxLength: 3 }),
        capacity,
      })
      .map(({ fields, capacity }): TableDecl => {
        const keep: number[] = [];
        let bits = 0;
        for (const f of fields) {
          if (bits + f.bits > maxBits) continue;
          keep.push(f.id);
          bits += f.bits;
        }
        if (keep.length === 0) keep.push(fieldByName("ip.src")!.id);
        return { kind, keyFields: keep, capacity };
      });
  });
}

/** Random entries for a table: keys near the values packets carry, so lookups sometimes hit. */
function arbEntries(table: number, decl: TableDecl): fc.Arbitrary<{ table: number; entry: TableEntry }[]> {
  const bits = keyBits(decl);
  const top = (1n << BigInt(bits)) - 1n;
  const key = fc.oneof(fc.bigInt({ min: 0n, max: top }), fc.bigInt({ min: 0n, max: top < 0xffffn ? top : 0xffffn }));
  const value = u32;
  const one: fc.Arbitrary<TableEntry> = (() => {
    switch (decl.kind) {
      case "exact":
        return fc.record({ key, value }).map(({ key, value }): TableEntry => ({ kind: "exact", key, value }));
      case "lpm":
        return fc.record({ key, prefixLen: fc.integer({ min: 0, max: bits }), value }).map((e): TableEntry => ({ kind: "lpm", ...e }));
      case "range":
        return fc.record({ a: key, b: key, value }).map(({ a, b, value }): TableEntry => ({ kind: "range", lo: a < b ? a : b, hi: a < b ? b : a, value }));
      case "ternary":
        return fc.record({ key, mask: fc.oneof(fc.constant(0n), fc.constant(top), fc.bigInt({ min: 0n, max: top })), priority: fc.integer({ min: 0, max: 5 }), value }).map((e): TableEntry => ({ kind: "ternary", ...e }));
    }
  })();
  return fc.array(one, { maxLength: decl.capacity }).map((list) => list.map((entry) => ({ table, entry })));
}

/** One body instruction, before operands are bound to the program's registers, tables and jump room. */
interface Choice {
  spec: OpcodeSpec;
  r: [number, number, number, number];
  imm: number;
  pick: number; // chooses among fields, tables, counters, constants, bases
  jump: number; // chooses the jump distance
  wide: boolean; // a far-out memory offset / immediate
}

const BODY_SPECS = OPCODES.filter((o) => o.cls !== "exit" || o.operands[0] !== "verdict"); // the final exit is added separately
/** Opcodes the generator knows how to give operands to (all of them today; a new operand shape is skipped). */
const KNOWN_OPERANDS = new Set(["rd", "ra", "rs", "rt", "imm", "target", "field", "wfield", "table", "counter", "counterx", "const", "kprefix", "mem", "verdict"]);

const GENERATABLE = BODY_SPECS.filter((s) => s.operands.every((k) => KNOWN_OPERANDS.has(k)));
const arbChoice: fc.Arbitrary<Choice> = fc.record({
  // `exit ra` ends the packet (usually with a fault: random registers are rarely verdicts), so it is rarer
  spec: fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...GENERATABLE.filter((s) => s.cls !== "exit")) }, { weight: 1, arbitrary: fc.constantFrom(...GENERATABLE.filter((s) => s.cls === "exit")) }),
  r: fc.tuple(fc.nat(15), fc.nat(15), fc.nat(15), fc.nat(15)),
  imm: arbImm,
  pick: fc.nat(),
  jump: fc.nat(),
  wide: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export interface ProgramShape {
  maxInstructions?: number;
  /** opcodes the generated body may use (default: every opcode of the table except unknown operand shapes) */
  opcodes?: readonly number[];
}

/** Random verifier-accepted programs (see the module comment). */
export function arbVerifiedProgram(shape: ProgramShape = {}): fc.Arbitrary<GeneratedProgram> {
  const max = shape.maxInstructions ?? 40;
  const allowed = shape.opcodes ? new Set(shape.opcodes) : undefined;
  const choices = fc.array(arbChoice.filter((c) => !allowed || allowed.has(c.spec.code)), { maxLength: max, size: "max" });
  return fc
    .record({
      tables: fc.array(arbTable(), { maxLength: 4 }),
      counters: fc.integer({ min: 0, max: 6 }),
      constants: fc.array(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: 0xffff_ffffn })), { maxLength: 4 }),
      readable: fc.uniqueArray(fc.nat(15), { minLength: 1, maxLength: 6 }),
      inits: fc.array(arbImm, { minLength: 6, maxLength: 6 }),
      body: choices,
      exit: arbVerdict,
    })
    .chain((p) => fc.tuple(fc.constant(p), ...p.tables.map((t, i) => arbEntries(i, t))))
    .map(([p, ...entryLists]) => ({ image: buildProgram(p), entries: entryLists.flat() }));
}

function buildProgram(p: { tables: TableDecl[]; counters: number; constants: bigint[]; readable: number[]; inits: number[]; body: Choice[]; exit: Verdict }): ProgramImage {
  const code: RawInsn[] = [];
  const movImm = OPCODES.find((o) => o.mnemonic === "mov" && o.operands[1] === "imm")!;
  // prologue: the registers the body may read
  p.readable.forEach((r, i) => code.push(encodeOperands(movImm, [r, p.inits[i % p.inits.length]!])));
  const usable = p.body.filter((c) => usableChoice(c, p));
  const n = code.length + usable.length + 1; // + final exit
  const rd = (c: Choice) => c.r[0];
  const rr = (c: Choice, k: number) => p.readable[c.r[k]! % p.readable.length]!;
  usable.forEach((c) => {
    const i = code.length;
    const values = c.spec.operands.map((kind, k): OperandValue => {
      switch (kind) {
        case "rd":
          return rd(c);
        case "ra":
        case "rs":
        case "rt":
          return rr(c, k + 1);
        case "imm":
          return c.imm;
        case "target":
          return c.jump % (n - 1 - i); // lands in (i, n - 1]
        case "field": {
          const pool = c.spec.mnemonic === "pfx" ? FIELDS : READABLE_64;
          return pool[c.pick % pool.length]!.id;
        }
        case "wfield":
          return WRITABLE[c.pick % WRITABLE.length]!.id;
        case "table": {
          const ofKind = p.tables.map((t, ti) => [t, ti] as const).filter(([t]) => t.kind === c.spec.tableKind);
          return ofKind[c.pick % ofKind.length]![1];
        }
        case "counter":
          return c.pick % p.counters;
        case "counterx":
          return { base: c.pick % p.counters, index: rr(c, 2) };
        case "const":
          return c.pick % p.constants.length;
        case "kprefix": {
          const f = FIELDS[c.pick % FIELDS.length]!;
          return { index: c.pick % p.constants.length, prefix: c.imm % (f.bits + 1) };
        }
        case "mem": {
          // mostly frame-relative, mostly unindexed, mostly near the headers: loads that usually succeed
          const offset = c.wide ? c.imm : c.imm % 40;
          const base = [0, 0, 0, 0, 1, 1, 2, 3][c.pick % 8]!;
          return c.r[3] % 4 !== 0 ? { base, offset } : { base, index: rr(c, 2), offset };
        }
        case "verdict":
          return encodeVerdict({ kind: "accept" });
      }
    });
    code.push(encodeOperands(c.spec, values));
  });
  code.push(encodeOperands(OPCODES.find((o) => o.mnemonic === "exit" && o.operands[0] === "verdict")!, [encodeVerdict(p.exit)]));
  return { kind: "filter", tables: p.tables, counters: p.counters, constants: p.constants, code };
}

/** A choice needs the program to have what it names (a table of its kind, a counter, a constant). */
function usableChoice(c: Choice, p: { tables: TableDecl[]; counters: number; constants: bigint[] }): boolean {
  for (const kind of c.spec.operands) {
    if (kind === "table" && !p.tables.some((t) => t.kind === c.spec.tableKind)) return false;
    if ((kind === "counter" || kind === "counterx") && p.counters === 0) return false;
    if ((kind === "const" || kind === "kprefix") && p.constants.length === 0) return false;
  }
  return true; // (pfx's prefix fits its field: both come from the same pick)
}

// ---- arbitrary images ----------------------------------------------------------------------------------

const VALID_CODES = OPCODES.map((o) => o.code);

/** A random 64-bit instruction word: fully random, or a real opcode with random operand bits. */
const arbWord: fc.Arbitrary<RawInsn> = fc
  .record({
    op: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...VALID_CODES), fc.constantFrom(...VALID_CODES)),
    a: fc.nat(15),
    b: fc.nat(15),
    off: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0xfff0, max: 0xffff })),
    imm: fc.oneof(u32, fc.integer({ min: 0, max: 16 })),
  })
  .map((w) => w);

/** Images of random words with random (possibly invalid) declarations. */
export function arbRandomImage(): fc.Arbitrary<ProgramImage> {
  return fc.record({
    kind: fc.constant("filter" as const),
    tables: fc.array(
      fc.record({
        kind: fc.constantFrom<TableKind>(...TABLE_KINDS),
        keyFields: fc.array(fc.oneof(fc.nat(FIELDS.length + 3), fc.constant(0)), { minLength: 0, maxLength: 8 }),
        capacity: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constant(LIMITS.tableEntries + 1)),
      }),
      { maxLength: 3 },
    ),
    counters: fc.integer({ min: 0, max: 4 }),
    constants: fc.array(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), { maxLength: 3 }),
    code: fc.array(arbWord, { minLength: 0, maxLength: 24 }),
  });
}

/** Encoded images with random bytes flipped (header fields, declarations, code). */
export function arbImageBytes(): fc.Arbitrary<Uint8Array> {
  return fc.record({ image: arbRandomImage(), flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }), cut: fc.option(fc.nat()) }).map(({ image, flips, cut }) => {
    const bytes = encodeImage(image);
    for (const f of flips) bytes[f.at % bytes.length] = f.value;
    return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });
}

// ---- packets -------------------------------------------------------------------------------------------

export interface GeneratedFrame {
  data: Uint8Array;
  wireLength: number;
}

function be(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) % 256);
  return out;
}

const arbL4 = fc.oneof(
  fc.record({ sport: fc.constantFrom(22, 53, 80, 443, 1234), dport: fc.integer({ min: 0, max: 65535 }), flags: fc.integer({ min: 0, max: 511 }), doff: fc.integer({ min: 3, max: 15 }), payload: fc.uint8Array({ maxLength: 24 }) }).map((t) => ({
    proto: 6,
    bytes: [...be(t.sport, 2), ...be(t.dport, 2), ...be(1, 4), ...be(2, 4), (t.doff << 4) | (t.flags >> 8), t.flags & 0xff, 0, 64, 0, 0, 0, 0, ...new Array<number>(Math.max(0, t.doff - 5) * 4).fill(1), ...t.payload],
  })),
  fc.record({ sport: fc.integer({ min: 0, max: 65535 }), dport: fc.constantFrom(53, 67, 123, 5353, 4789), payload: fc.uint8Array({ maxLength: 24 }) }).map((u) => ({ proto: 17, bytes: [...be(u.sport, 2), ...be(u.dport, 2), ...be(8 + u.payload.length, 2), 0, 0, ...u.payload] })),
  fc.record({ type: fc.integer({ min: 0, max: 255 }), code: fc.integer({ min: 0, max: 255 }) }).map((i) => ({ proto: 1, bytes: [i.type, i.code, 0, 0, 0, 0, 0, 0] })),
  fc.record({ type: fc.integer({ min: 0, max: 255 }) }).map((i) => ({ proto: 58, bytes: [i.type, 0, 0, 0, 0, 0, 0, 0] })),
  fc.record({ proto: fc.constantFrom(2, 47, 50, 51, 132, 0, 43, 44, 60, 59), body: fc.uint8Array({ minLength: 0, maxLength: 24 }) }).map((x) => ({ proto: x.proto, bytes: [...x.body] })),
);

/** The usual value most of the time, anything from `other` sometimes. */
function mostly<T>(usual: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });
}

const arbNetwork = fc.oneof(
  { weight: 4, arbitrary: fc.record({ l4: arbL4, src: u32, dst: u32, ihl: mostly(5, fc.integer({ min: 0, max: 15 })), frag: mostly(0, fc.integer({ min: 0, max: 0xffff })), tos: fc.integer({ min: 0, max: 255 }), lenDelta: mostly(0, fc.integer({ min: -40, max: 40 })) }).map((n) => {
    const opts = new Array<number>(Math.max(0, n.ihl - 5) * 4).fill(1);
    const len = Math.max(0, 20 + opts.length + n.l4.bytes.length + n.lenDelta);
    return { type: 0x0800, bytes: [0x40 | n.ihl, n.tos, ...be(len, 2), 0, 1, ...be(n.frag, 2), 64, n.l4.proto, 0, 0, ...be(n.src, 4), ...be(n.dst, 4), ...opts, ...n.l4.bytes] };
  }) },
  { weight: 3, arbitrary: fc.record({ l4: arbL4, src: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), exts: mostly<number[]>([], fc.array(fc.constantFrom(0, 43, 60, 44, 51), { maxLength: 10 })), plenDelta: mostly(0, fc.integer({ min: -20, max: 20 })) }).map((n) => {
    let body = n.l4.bytes;
    let next = n.l4.proto;
    for (const e of n.exts) {
      const hdr = e === 44 ? [next, 0, 0, 0, 0, 0, 0, 7] : e === 51 ? [next, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] : [next, 0, 0, 0, 0, 0, 0, 0];
      body = [...hdr, ...body];
      next = e;
    }
    const src: number[] = [];
    for (let i = 15; i >= 0; i--) src.push(Number((n.src >> BigInt(8 * i)) & 0xffn));
    return { type: 0x86dd, bytes: [0x60, 0, 0, 1, ...be(Math.max(0, body.length + n.plenDelta), 2), next, 64, ...src, ...new Array<number>(15).fill(0), 1, ...body] };
  }) },
  { weight: 1, arbitrary: fc.record({ op: fc.integer({ min: 0, max: 4 }), htype: fc.constantFrom(1, 1, 6), hlen: fc.constantFrom(6, 6, 8) }).map((a) => ({ type: 0x0806, bytes: [...be(a.htype, 2), 8, 0, a.hlen, 4, ...be(a.op, 2), ...new Array<number>(20).fill(0xaa)] })) },
  { weight: 1, arbitrary: fc.record({ type: fc.integer({ min: 0, max: 0xffff }), body: fc.uint8Array({ maxLength: 40 }) }).map((x) => ({ type: x.type, bytes: [...x.body] })) },
);

const arbEthernet = fc
  .record({ net: arbNetwork, tags: mostly<{ tpid: number; tci: number }[]>([], fc.array(fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100), tci: fc.integer({ min: 0, max: 0xffff }) }), { minLength: 1, maxLength: 5 })), dst: fc.constantFrom([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0, 0x1b, 0x21, 1, 2, 3], [1, 0, 0x5e, 0, 0, 1]) })
  .map(({ net, tags, dst }) => {
    const tagBytes: number[] = [];
    tags.forEach((t, i) => tagBytes.push(...(i === 0 ? [] : be(t.tpid, 2)), ...be(t.tci, 2)));
    const first = tags.length > 0 ? be(tags[0]!.tpid, 2) : be(net.type, 2);
    const rest = tags.length > 0 ? [...tagBytes, ...be(net.type, 2)] : [];
    return [...dst, 2, 0, 0, 0, 0, 1, ...first, ...rest, ...net.bytes];
  });

/** A random frame: well-formed-ish headers with random fields (cut at a random length), or random bytes. */
export function arbFrame(): fc.Arbitrary<GeneratedFrame> {
  const structured = fc.record({ bytes: arbEthernet, cut: mostly<number | null>(null, fc.nat()), extraWire: fc.integer({ min: 0, max: 100 }) }).map(({ bytes, cut, extraWire }) => {
    const data = Uint8Array.from(cut === null ? bytes : bytes.slice(0, cut % (bytes.length + 1)));
    return { data, wireLength: Math.max(bytes.length, data.length) + (cut === null ? 0 : extraWire) };
  });
  const random = fc.uint8Array({ maxLength: 96 }).map((data) => ({ data, wireLength: data.length }));
  return fc.oneof({ weight: 4, arbitrary: structured }, { weight: 1, arbitrary: random });
}

export function arbBatch(maxLength = 12): fc.Arbitrary<GeneratedFrame[]> {
  return fc.array(arbFrame(), { minLength: 1, maxLength });
}
