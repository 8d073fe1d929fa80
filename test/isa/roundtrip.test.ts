import { describe, expect, it } from "vitest";
import {
  OPCODES,
  FIELDS,
  assemble,
  decodeImage,
  disassemble,
  encodeImage,
  encodeOperands,
  encodeVerdict,
  type OperandKind,
  type OperandValue,
  type OpcodeSpec,
  type ProgramImage,
} from "../../overlay-isa/index.js";

/** A representative operand value of each kind, valid against the image built in `imageFor`. */
function sampleOperand(kind: OperandKind, spec: OpcodeSpec): OperandValue {
  switch (kind) {
    case "rd":
      return 3;
    case "ra":
      return 4;
    case "rs":
      return 5;
    case "rt":
      return 6;
    case "imm":
      return 0xdeadbeef;
    case "target":
      return 1;
    case "field":
      return spec.mnemonic === "pfx" ? FIELDS.find((f) => f.name === "ip6.src")!.id : FIELDS.find((f) => f.name === "ip.ttl")!.id;
    case "wfield":
      return FIELDS.find((f) => f.name === "meta.mark")!.id;
    case "table":
      return ["exact", "lpm", "range", "ternary"].indexOf(spec.tableKind ?? "exact");
    case "counter":
      return 2;
    case "counterx":
      return { base: 1, index: 7 };
    case "const":
      return 1;
    case "kprefix":
      return { index: 0, prefix: 64 };
    case "mem":
      return { base: 2, index: 8, offset: 13 };
    case "verdict":
      return encodeVerdict({ kind: "reject", how: "icmp", type: 3, code: 13 });
  }
}

function imageFor(spec: OpcodeSpec): ProgramImage {
  const insn = encodeOperands(spec, spec.operands.map((k) => sampleOperand(k, spec)));
  return {
    kind: "policy",
    tables: [
      { kind: "exact", keyFields: [FIELDS.find((f) => f.name === "ip.src")!.id, FIELDS.find((f) => f.name === "l4.dport")!.id], capacity: 100 },
      { kind: "lpm", keyFields: [FIELDS.find((f) => f.name === "ip6.dst")!.id], capacity: 10 },
      { kind: "range", keyFields: [FIELDS.find((f) => f.name === "l4.dport")!.id], capacity: 10 },
      { kind: "ternary", keyFields: [FIELDS.find((f) => f.name === "tcp.flags")!.id], capacity: 10 },
    ],
    counters: 8,
    constants: [0x20010db8000000000000000000000001n, 0xaabbccddeeffn],
    code: [insn, { op: 0x60, a: 0, b: 0, off: 0, imm: 1 }, { op: 0x60, a: 0, b: 0, off: 0, imm: 0 }],
  };
}

describe("every opcode in the table round-trips", () => {
  for (const spec of OPCODES) {
    it(`${spec.mnemonic} ${spec.operands.join(", ")} (0x${spec.code.toString(16)})`, () => {
      const image = imageFor(spec);
      const bytes = encodeImage(image);
      const decoded = decodeImage(bytes);
      expect(decoded.code[0]).toEqual(image.code[0]);
      const text = disassemble(decoded);
      expect(text).toContain(spec.mnemonic);
      expect(text).not.toContain(".word"); // a faithful text form, not a raw word
      const again = encodeImage(assemble(text, "roundtrip.s").image);
      expect(Buffer.from(again)).toEqual(Buffer.from(bytes));
    });
  }
});

describe("opcode table", () => {
  it("has unique opcode numbers and no opcode 0 (zeroed memory is not code)", () => {
    const codes = OPCODES.map((o) => o.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(0);
    for (const c of codes) expect(c).toBeLessThan(256);
  });

  it("gives every instruction a positive cycle cost and a meaning", () => {
    for (const o of OPCODES) {
      expect(o.cycles, o.mnemonic).toBeGreaterThan(0);
      expect(o.meaning.length, o.mnemonic).toBeGreaterThan(10);
    }
  });

  it("never puts two operands in the same bits of the word", () => {
    const slot: Record<OperandKind, string[]> = {
      rd: ["a"], ra: ["a"], rs: ["b"], rt: ["off"], imm: ["imm"], target: ["off"], field: ["off"], wfield: ["off"], table: ["off"],
      counter: ["imm"], counterx: ["imm", "b"], const: ["imm"], kprefix: ["imm"], mem: ["off", "b", "imm"], verdict: ["imm"],
    };
    for (const o of OPCODES) {
      const used = o.operands.flatMap((k) => slot[k]);
      expect(new Set(used).size, `${o.mnemonic} ${o.operands.join(",")}`).toBe(used.length);
    }
  });

  it("distinguishes encodings that share a mnemonic by operand shape", () => {
    const byMnemonic = new Map<string, string[]>();
    for (const o of OPCODES) byMnemonic.set(o.mnemonic, [...(byMnemonic.get(o.mnemonic) ?? []), o.operands.join(",")]);
    for (const [m, shapes] of byMnemonic) expect(new Set(shapes).size, m).toBe(shapes.length);
  });
});

describe("assembly text", () => {
  it("round-trips a program with labels, tables, constants and every verdict form", () => {
    const src = `
.kind policy
.counters 3
.table ports range capacity 16 key l4.dport
.const net 2001:db8::
.const mac aa:bb:cc:00:11:22
    ldf r1, pkt.hdrs
    jset r1, 64, tcp
    ldf r2, l4.proto
    jeq r2, 17, udp
    exit drop
tcp: ldf r3, l4.dport
    lookup.range r4, ports
    jne r4, 0xffffffff, hit
    pfx r5, ip6.src, net/32
    jeq r5, 1, v6
    exit reject tcp-reset
v6: exit reject icmpv6 1 4
hit: count c0, r3
    exit queue 7
udp: ldk r6, mac
    stf meta.mark, 16
    exit reject icmp 3 13
`;
    const first = assemble(src, "p.s").image;
    const text = disassemble(first);
    const second = assemble(text, "p.s").image;
    expect(Buffer.from(encodeImage(second))).toEqual(Buffer.from(encodeImage(first)));
    expect(text).toContain("exit reject icmpv6 1 4");
    expect(text).toContain("exit queue 7");
  });

  it("prints unknown opcodes as .word and assembles them back bit for bit", () => {
    const image: ProgramImage = { kind: "filter", tables: [], counters: 0, constants: [], code: [{ op: 0xee, a: 1, b: 2, off: 0x1234, imm: 0x55667788 }] };
    const text = disassemble(image);
    expect(text).toContain(".word 0x556677881234" + "21ee");
    expect(assemble(text).image.code).toEqual(image.code);
  });
});
