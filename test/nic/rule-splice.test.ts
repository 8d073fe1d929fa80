/** Rule edits on policy text: the new rule lands where iptables -A/-I/-R/-D would put it, in either language. */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { ruleText, spliceRule, type RuleEdit } from "../../hostctl/driver/rule-edit.js";
import { iptables, kopi } from "./helpers.js";

const KOPI = `table filter {
  chain ingress { policy drop;
    tcp dport 22 accept   # ssh
    tcp dport 80 accept; tcp dport 443 accept
  }
  chain egress { type filter hook egress; policy accept; }
}
`;

const IPT = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j web
COMMIT
`;

function rules(text: string, format: "kopi" | "iptables-save", chain: string): string[] {
  return compilePolicy(text, "t", { format }).ir.chains.find((c) => c.name === chain)!.rules.map((r) => r.text);
}

describe("rule splicing", () => {
  it("kopi: append, insert, replace and delete keep the text readable and compile to the intended chain", () => {
    const src = kopi(KOPI);
    const cases: [RuleEdit, string[]][] = [
      [{ op: "append", chain: "ingress", rule: "udp dport 53 accept" }, ["tcp dport 22 accept", "tcp dport 80 accept", "tcp dport 443 accept", "udp dport 53 accept"]],
      [{ op: "insert", chain: "ingress", number: 1, rule: "tcp dport 21 drop" }, ["tcp dport 21 drop", "tcp dport 22 accept", "tcp dport 80 accept", "tcp dport 443 accept"]],
      [{ op: "insert", chain: "ingress", number: 3, rule: "tcp dport 8080 accept" }, ["tcp dport 22 accept", "tcp dport 80 accept", "tcp dport 8080 accept", "tcp dport 443 accept"]],
      [{ op: "replace", chain: "ingress", number: 3, rule: "tcp dport 8443 accept" }, ["tcp dport 22 accept", "tcp dport 80 accept", "tcp dport 8443 accept"]],
      [{ op: "delete", chain: "ingress", number: 2 }, ["tcp dport 22 accept", "tcp dport 443 accept"]],
      [{ op: "delete", chain: "ingress", number: 1 }, ["tcp dport 80 accept", "tcp dport 443 accept"]],
      [{ op: "delete-spec", chain: "ingress", rule: "tcp  dport 443   accept" }, ["tcp dport 22 accept", "tcp dport 80 accept"]],
    ];
    for (const [edit, want] of cases) {
      const out = spliceRule(src, edit);
      expect(rules(out.text, "kopi", "ingress"), JSON.stringify(edit)).toEqual(want);
      expect(out.rulesAfter).toBe(want.length);
    }
    expect(spliceRule(src, { op: "delete", chain: "ingress", number: 1 }).text).toContain("  chain ingress { policy drop;\n    tcp dport 80 accept; tcp dport 443 accept\n");
    const empty = spliceRule(src, { op: "append", chain: "egress", rule: "tcp dport 25 drop" });
    expect(rules(empty.text, "kopi", "egress")).toEqual(["tcp dport 25 drop"]);
    expect(empty.text.slice(empty.ruleStart!, empty.ruleStart! + 17)).toBe("tcp dport 25 drop");
  });

  it("iptables-save: -A lines go after the chain's last rule, -I before the numbered one; counters prefixes stay with their rule", () => {
    const src = iptables(IPT);
    const add = spliceRule(src, { op: "append", chain: "INPUT", rule: "-p udp --dport 53 -j ACCEPT" });
    expect(add.text).toContain("-A INPUT -p tcp -m tcp --dport 80 -j web\n-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT");
    expect(add.text.slice(add.ruleStart!, add.ruleStart! + 7)).toBe("-p udp ");
    expect(rules(add.text, "iptables-save", "INPUT")).toHaveLength(3);
    const ins = spliceRule(src, { op: "insert", chain: "INPUT", number: 1, rule: "-s 10.0.0.0/8 -j DROP" });
    expect(ins.text).toContain("-A INPUT -s 10.0.0.0/8 -j DROP\n[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n");
    const web = spliceRule(src, { op: "append", chain: "web", rule: "-j ACCEPT" });
    expect(rules(web.text, "iptables-save", "web")).toEqual(["-j ACCEPT"]);
    const del = spliceRule(src, { op: "delete", chain: "INPUT", number: 1 });
    expect(del.text).not.toContain("--dport 22");
    expect(rules(del.text, "iptables-save", "INPUT")).toEqual(["-p tcp -m tcp --dport 80 -j web"]);
  });

  it("command-line words become rule text, quoted where a shell split a quoted word", () => {
    expect(ruleText(["-m", "comment", "--comment", "log the rest", "-j", "LOG"])).toBe('-m comment --comment "log the rest" -j LOG');
    expect(ruleText(["tcp", "dport", "22", "accept"])).toBe("tcp dport 22 accept");
  });
});
