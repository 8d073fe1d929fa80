import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { formatWarning } from "../../compiler/policy/diagnostics.js";

function warnings(rules: string[]): string[] {
  const text = `table filter {\n  chain ingress {\n${rules.map((r) => `    ${r}\n`).join("")}  }\n}\n`;
  return compilePolicy(text, "w.kopi").warnings.map((w) => `${w.line}:${w.column} ${w.kind}: ${w.message}`);
}

describe("rule analysis", () => {
  it("a narrower rule after a broader final one is shadowed, naming both positions", () => {
    expect(warnings(["ip saddr 10.0.0.0/8 drop", "ip saddr 10.1.0.0/16 tcp dport 22 accept"])).toEqual([
      "4:5 shadowed: rule is shadowed by the rule at w.kopi:3:5, which decides every packet it matches",
    ]);
  });

  it("port ranges, sets of ports and negations are compared by what they cover", () => {
    expect(warnings(["tcp dport 1000-2000 drop", "tcp dport { 1500, 1600 } accept"])).toHaveLength(1);
    expect(warnings(["tcp dport { 1500, 1600 } drop", "tcp dport 1000-2000 accept"])).toEqual([]);
    expect(warnings(["ip saddr != 10.0.0.0/8 drop", "ip saddr != 10.0.0.0/16 accept"])).toEqual([]);
    expect(warnings(["ip saddr != 10.0.0.0/16 drop", "ip saddr != 10.0.0.0/8 accept"])).toHaveLength(1);
  });

  it("non-final rules, rate limits and different protocols shadow nothing", () => {
    expect(warnings(["tcp dport 22 counter", "tcp dport 22 accept"])).toEqual([]);
    expect(warnings(["tcp dport 22 limit rate 5/second accept", "tcp dport 22 drop"])).toEqual([]);
    expect(warnings(["udp dport 53 drop", "tcp dport 53 accept"])).toEqual([]);
  });

  it("rules after an unconditional verdict are unreachable", () => {
    expect(warnings(["tcp dport 22 accept", "drop", "udp dport 53 accept"])).toEqual(["5:5 unreachable: rule is unreachable: the rule at w.kopi:4:5 ends chain 'ingress' for every packet"]);
  });

  it("duplicates are named", () => {
    expect(warnings(["tcp dport 22 counter", "tcp dport 22 counter"])).toEqual(["4:5 duplicate: rule duplicates the rule at w.kopi:3:5"]);
  });

  it("warnings print as file:line:col: warning: with a caret", () => {
    const c = compilePolicy("table filter {\n  chain ingress {\n    drop\n    accept\n  }\n}\n", "w.kopi");
    expect(formatWarning(c.warnings[0]!)).toBe("w.kopi:4:5: warning: rule is unreachable: the rule at w.kopi:3:5 ends chain 'ingress' for every packet\n      accept\n      ^");
  });
});
