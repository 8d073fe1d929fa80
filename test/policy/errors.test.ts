import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { compileError, oneRule, TEST_HOST } from "./helpers.js";

/** [rule text, expected column, message fragment] — every error names file:line:col and shows a caret. */
const RULE_ERRORS: [string, number, RegExp][] = [
  ["tcp dport accept", 15, /expected a value/],
  ["tcp dport 22 acept", 18, /expected a match .* or an action/],
  ["ip saddr 10.0.0.0/33 drop", 22, /\/33 is not a prefix length for IPv4 \(0 to 32\)/],
  ["ip saddr 10.0.300.1 drop", 19, /octet 300 is over 255/],
  ["tcp dport 99999 drop", 15, /port 99999 is out of range \(0 to 65535\)/],
  ["dport 80 drop", 5, /'dport' needs a transport protocol/],
  ["ip dport 80 drop", 5, /'dport' needs a transport protocol/],
  ["udp dport 53 reject with tcp-reset", 18, /needs a rule that matches only TCP/],
  ["reject with tcp reset", 5, /needs a rule that matches only TCP/],
  ["jump nowhere", 10, /unknown chain 'nowhere'/],
  ["ip saddr @nothing drop", 14, /unknown set '@nothing'/],
  ["tcp dport 5432 owner user zed accept", 31, /unknown user 'zed' \(not in test-host.json\)/],
  ["owner group nogroup accept", 17, /unknown group 'nogroup'/],
  ["ip saddr 1.2.3.4 drop drop", 27, /nothing can follow the verdict 'drop'/],
  ["icmp type echo-requst accept", 15, /unknown ICMP type 'echo-requst'/],
  ["limit rate 5/fortnight accept", 18, /expected a time unit/],
  ["ip daddr 1.2.3.4-1.2.3.1 accept", 14, /empty range/],
  ["ip6 saddr 2001:db8::/129 drop", 25, /\/129 is not a prefix length for IPv6/],
  ["ether saddr 02:00:00:00:00 drop", 17, /not a MAC address/],
  ["tcp dport smtpx drop", 15, /unknown service 'smtpx'/],
  ["ct state fresh accept", 14, /unknown conntrack state 'fresh'/],
  ["jump ingress", 10, /cannot jump to 'ingress': it is the ingress hook's chain/],
  ["tcp flags syn,bogus accept", 19, /unknown TCP flag 'bogus'/],
  ["meta mark set 0x1ffffffff", 19, /mark 0x1ffffffff is out of range/],
  ["owner uid 4294967295 accept", 15, /uid 4294967295 is out of range/],
];

describe("policy errors are positioned", () => {
  for (const [rule, col, message] of RULE_ERRORS) {
    it(`${rule}`, () => {
      const e = compileError(oneRule(rule));
      expect(e.message).toMatch(message);
      expect(`${e.file}:${e.line}:${e.column}`).toBe(`t.kopi:3:${col}`);
      const shown = e.format().split("\n");
      expect(shown[0]).toBe(e.message);
      expect(shown[1]).toBe(`      ${rule}`);
      expect(shown[2]).toBe(" ".repeat(2 + col - 1) + "^");
    });
  }

  it("jump cycles name the loop at the jump that closes it", () => {
    const e = compileError("table filter {\n  chain ingress { jump a }\n  chain a { jump b }\n  chain b { tcp dport 1 jump a }\n}\n");
    expect(e.message).toBe("t.kopi:4:25: jump to 'a' makes a loop: a → b → a");
  });

  it("a brace never closed points at the brace", () => {
    const e = compileError("table filter {\n  chain ingress { policy drop\n");
    expect(e.message).toBe("t.kopi:2:17: this '{' is never closed (expected '}')");
  });

  it("a bad policy verdict says what is expected", () => {
    expect(compileError("table filter {\n  chain ingress { policy maybe; }\n}\n").message).toBe("t.kopi:2:26: expected accept or drop");
  });

  it("a policy on a user chain is refused", () => {
    expect(compileError("table filter {\n  chain web { policy drop; }\n}\n").message).toMatch(/^t.kopi:2:22: only a hook chain/);
  });

  it("sets: unknown type, missing interval flag, type mismatch", () => {
    expect(compileError("table filter {\n  set s { type ip_addr; }\n}\n").message).toMatch(/^t.kopi:2:16: unknown set type 'ip_addr'/);
    expect(compileError("table filter {\n  set s { type ipv4_addr; elements = { 10.0.0.0/8 } }\n}\n").message).toMatch(/^t.kopi:2:40: set 's' holds a prefix; declare it with 'flags interval'/);
    expect(compileError("table filter {\n  set s { type inet_service; elements = { 22 } }\n  chain ingress { ip saddr @s drop }\n}\n").message).toMatch(/^t.kopi:3:28: set '@s' holds inet_service; ip saddr is ipv4_addr/);
  });

  it("an unknown table and garbage at the top level", () => {
    expect(compileError("table nat { }\n").message).toMatch(/^t.kopi:1:7: unknown table 'nat'/);
    expect(compileError("chain x { }\n").message).toMatch(/^t.kopi:1:1: expected 'table NAME/);
    expect(compileError("").message).toMatch(/^t.kopi:1:1: the policy is empty/);
  });

  it("owner names resolve through the host description", () => {
    const ok = compilePolicy(oneRule("owner user bob accept"), "t.kopi", { host: TEST_HOST });
    expect(ok.ir.chains[0]!.rules[0]!.conds).toEqual([{ kind: "field", field: "owner.uid", bits: 32, test: { kind: "eq", value: 1001n }, negate: false }]);
  });
});
