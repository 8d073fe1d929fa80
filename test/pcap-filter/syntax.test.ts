/**
 * The scanner's longest-match rules, the grammar's arithmetic precedence (yacc's, %-and-^ quirks included)
 * and libpcap's qualifier inheritance (`host a or b`).
 */
import { describe, expect, it } from "vitest";
import { scan } from "../../compiler/pcap-filter/lexer.js";
import { parseFilter } from "../../compiler/pcap-filter/parse.js";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { formatCond } from "../../compiler/pcap-filter/ir.js";
import type { Arith, Expr } from "../../compiler/pcap-filter/ast.js";

const kinds = (text: string) => scan(text).map((t) => (t.kind === "NUM" ? `NUM(${t.num})` : t.kind === "ID" ? `ID(${t.text})` : t.kind));

describe("scanner", () => {
  it("takes the longest match, keywords winning ties", () => {
    expect(kinds("tcp port 80")).toEqual(["TCP", "PORT", "NUM(80)"]);
    expect(kinds("tcpdport")).toEqual(["ID(tcpdport)"]);
    expect(kinds("tcp-syn tcp-")).toEqual(["NUM(2)", "TCP", "MINUS"]);
    expect(kinds("icmp-echoreply icmp-echo")).toEqual(["NUM(0)", "NUM(8)"]);
    expect(kinds("portrange 25-smtp")).toEqual(["PORTRANGE", "ID(25-smtp)"]);
    expect(kinds("10.1.2.3 10.1.2.3.4 10.1")).toEqual(["HID", "ID(10.1.2.3.4)", "HID"]);
    expect(kinds("0x1f 017 0")).toEqual(["NUM(31)", "NUM(15)", "NUM(0)"]);
    expect(kinds("aa:bb:cc:dd:ee:ff aabb.ccdd.eeff 1.2.3.4.5.6")).toEqual(["EID", "EID", "EID"]);
    expect(kinds("fe80::1 ::ffff:1.2.3.4 1:2:3:4:5:6:7:8")).toEqual(["HID6", "HID6", "HID6"]);
    expect(kinds("\\tcp && || ! != == >= <= << >>")).toEqual(["ID(tcp)", "AND", "OR", "BANG", "NEQ", "EQ", "GEQ", "LEQ", "LSH", "RSH"]);
    expect(kinds("not and or")).toEqual(["BANG", "AND", "OR"]);
  });

  it("reports scanner errors as libpcap does", () => {
    expect(scan("08")[0]).toMatchObject({ kind: "BAD", error: "number 08 contains non-octal digit" });
    expect(scan("0x100000000")[0]).toMatchObject({ kind: "BAD", error: "number 0x100000000 overflows 32 bits" });
    expect(scan("1:2:3")[0]).toMatchObject({ kind: "BAD", error: "bogus ethernet address 1:2:" });
    expect(scan("TCP")[0]).toMatchObject({ kind: "ID", text: "TCP" }); // keywords are case-sensitive
  });
});

function arith(text: string): string {
  const tree = parseFilter(`${text} = 0`).tree as Extract<Expr, { k: "rel" }>;
  const show = (a: Arith): string => {
    switch (a.k) {
      case "num":
        return String(a.value);
      case "len":
        return "len";
      case "load":
        return `load`;
      case "neg":
        return `-${show(a.operand)}`;
      case "bin":
        return `(${show(a.left)} ${a.op} ${show(a.right)})`;
    }
  };
  return show(tree.left);
}

describe("arithmetic precedence, as yacc resolves libpcap's grammar", () => {
  it("binds * / over + - over << >> over & over |, all left-associative", () => {
    expect(arith("1 + 2 * 3")).toBe("(1 + (2 * 3))");
    expect(arith("1 - 2 - 3")).toBe("((1 - 2) - 3)");
    expect(arith("1 | 2 & 3 << 4 + 5")).toBe("(1 | (2 & (3 << (4 + 5))))");
    expect(arith("-1 * 2")).toBe("(-1 * 2)");
  });

  it("gives % and ^ (declared without precedence) everything to their right", () => {
    expect(arith("1 % 2 + 3")).toBe("(1 % (2 + 3))");
    expect(arith("1 + 2 % 3")).toBe("(1 + (2 % 3))");
    expect(arith("1 * 2 ^ 3 | 4")).toBe("(1 * (2 ^ (3 | 4)))");
    expect(arith("-1 ^ 2")).toBe("-(1 ^ 2)");
  });
});

describe("qualifier inheritance", () => {
  const same = (a: string, b: string) => expect(formatCond(compilePcapFilter(a).cond)).toBe(formatCond(compilePcapFilter(b).cond));

  it("carries the last qualifiers to a bare address or number", () => {
    same("host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 or host 10.0.0.2");
    same("tcp port 80 or 443", "tcp port 80 or tcp port 443");
    same("src net 10.0.0.0/8 and not 10.1.0.0/16", "src net 10.0.0.0/8 and not src net 10.1.0.0/16");
    same("port 80 and (8080 or 8443)", "port 80 and (port 8080 or port 8443)");
    same("host 10.0.0.1 and (tcp) or 10.0.0.2", "host 10.0.0.1 and (tcp) or host 10.0.0.2");
  });

  it("does not carry them past a primitive without qualifiers", () => {
    expect(() => compilePcapFilter("tcp and 80")).toThrow(/syntax error in filter expression/);
    expect(() => compilePcapFilter("host 10.0.0.1 and ((10.0.0.2))")).toThrow(/^filter:1:\d+: /); // libpcap refuses it too
  });
});
