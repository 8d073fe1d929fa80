/**
 * Compile errors are SourceErrors: `filter:LINE:COL: message`, with the column of the offending token and the
 * source line with a caret; libpcap's wording where libpcap refuses the expression, never a stack trace.
 */
import { describe, expect, it } from "vitest";
import { compileFilter, PCAP_NETMASK_UNKNOWN, SourceError } from "../../index.js";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";

function errorOf(expression: string, opts: Parameters<typeof compilePcapFilter>[1] = {}): SourceError {
  try {
    compilePcapFilter(expression, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError);
    return e as SourceError;
  }
  throw new Error(`${JSON.stringify(expression)} compiled`);
}

describe("positioned compile errors", () => {
  const cases: [string, number, string][] = [
    ["port 99999", 6, "illegal port number 99999 > 65535"],
    ["tcp port", 9, "expected a port number or service name after 'port', found the end of the expression"],
    ["tcp port and 22", 10, "expected a port number or service name after 'port', found 'and'"],
    ["ip proto tcp", 10, "expected a protocol number or name (escape keywords: \\tcp) after 'proto', found 'tcp'"],
    ["tcp and udp", 1, "expression rejects all packets"],
    ["ip and vlan", 1, "expression rejects all packets"],
    ["ip6 and tcp[13] = 2", 1, "expression rejects all packets"],
    ["mpls and vlan", 10, "no VLAN match after MPLS"],
    ["inbound", 1, "inbound/outbound not supported on Ethernet when reading savefiles"],
    ["host 1:2:3", 6, "bogus ethernet address 1:2:"],
    ["08 = 8", 1, "number 08 contains non-octal digit"],
    ["len < 4294967296", 7, "number 4294967296 overflows 32 bits"],
    ["ether host 00:11:22:33:44:55 and vlan 5000", 39, "VLAN tag 5000 greater than maximum 4095"],
    ["udp port smtp", 10, "port 'smtp' is tcp"],
    ["tcp[0:3] = 1", 7, "data size must be 1, 2, or 4"],
    ["len / 0 = 1", 7, "division by zero"],
    ["len / (1 - 1) = 1", 1, "division by zero"],
    ["tcp port 80 #", 13, "unexpected character '#'"],
    ["net 10.0.0.1/8", 5, 'non-network bits set in "10.0.0.1/8"'],
    ["host 10.0.0.1 and (tcp or", 26, "expected an expression after 'or', found the end of the expression"],
    ["ether proto \\foo", 13, "unknown ether proto 'foo'"],
    ["host 300.1.1.1", 6, "invalid IPv4 address '300.1.1.1'"],
    ["host nosuch.example", 6, "unknown host 'nosuch.example'"],
  ];
  for (const [expression, column, message] of cases) {
    it(`${expression} → column ${column}: ${message}`, () => {
      const e = errorOf(expression);
      expect(e.message).toBe(`filter:1:${column}: ${message}`);
      expect(e.column).toBe(column);
      expect(e.format()).toBe(`filter:1:${column}: ${message}\n  ${expression}\n  ${" ".repeat(column - 1)}^`);
    });
  }

  it("a qualifier inherited from nothing is libpcap's syntax error, at the bare address", () => {
    const e = errorOf("(host 1.2.3.4) or 5.6.7.8");
    expect(e.column).toBe(19);
    expect(e.message).toMatch(/^filter:1:19: syntax error in filter expression/);
  });

  it("ip broadcast needs a netmask, as pcap_compile() without one refuses it", () => {
    expect(errorOf("ip broadcast", { netmask: PCAP_NETMASK_UNKNOWN }).message).toBe("filter:1:1: netmask not known, so 'ip broadcast' not supported");
    expect(() => compilePcapFilter("ip broadcast", { netmask: 0xffffff00 })).not.toThrow();
  });

  it("errors on later lines of a multi-line expression name their line", () => {
    const e = errorOf("tcp\nand port 70000");
    expect(e.line).toBe(2);
    expect(e.column).toBe(10);
  });

  it("compileFilter throws the same errors", () => {
    expect(() => compileFilter("tcp port")).toThrow(/^filter:1:9: expected a port number/);
  });
});
