import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exportIptablesSave } from "../../compiler/iptables/export-save.js";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { formatListing } from "../../compiler/policy/listing.js";
import { SourceError } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { EXAMPLES, ROOT } from "./helpers.js";
import { ipv4Frame, TCP } from "./packets.js";
import { evaluate } from "./reference.js";

function importError(lines: string[]): string {
  const text = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":web - [0:0]", ...lines, "COMMIT", ""].join("\n");
  try {
    compilePolicy(text, "saved.rules", { format: "iptables-save" });
  } catch (e) {
    if (e instanceof SourceError) return e.message;
    throw e;
  }
  throw new Error("expected an error");
}

describe("iptables-save import", () => {
  it("accepts -p tcp --dport without -m tcp, as iptables does", () => {
    expect(() => compilePolicy("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", "x.rules", { format: "iptables-save" })).not.toThrow();
  });

  it("reads the common matches and targets", () => {
    const c = compilePolicy(readFileSync(`${EXAMPLES}basic.rules`, "utf8"), "basic.rules", { format: "iptables-save" });
    expect(c.ir.chains.map((ch) => [ch.name, ch.hook ?? "-", ch.rules.length])).toEqual([
      ["INPUT", "ingress", 8],
      ["FORWARD", "-", 0],
      ["OUTPUT", "egress", 3],
      ["ssh-in", "-", 3],
    ]);
    expect(c.ir.ipv4Only).toBe(true);
  });

  it("lists a ruleset exactly as iptables -L -v -n -x --line-numbers prints it", () => {
    const c = compilePolicy(readFileSync(`${EXAMPLES}basic.rules`, "utf8"), "basic.rules", { format: "iptables-save" });
    // captured from iptables v1.8.9 (nf_tables) after iptables-restore of the same file
    expect(formatListing(c.ir, [])).toBe(readFileSync(`${ROOT}test/policy/fixtures/basic.rules.list.txt`, "utf8"));
  });

  const bad: [string, RegExp][] = [
    ["-A INPUT --dport 22 -j ACCEPT", /^saved.rules:6:10: --dport needs -p tcp/],
    ["-A INPUT -s 10.0.0.0/33 -j DROP", /^saved.rules:6:21: \/33 is not a prefix length/],
    ["-A INPUT -s 10.0.0.256 -j DROP", /^saved.rules:6:20: '10.0.0.256' is not an IPv4 address: octet 256/],
    ["-A INPUT -p tcp -m tcp --dport 99999 -j DROP", /^saved.rules:6:32: port 99999 is out of range/],
    ["-A INPUT -j nowhere", /^saved.rules:6:13: unknown target or chain 'nowhere'/],
    ["-A NOCHAIN -j DROP", /^saved.rules:6:4: chain 'NOCHAIN' does not exist/],
    ["-A INPUT -m owner --uid-owner 1000 -j DROP", /^saved.rules:6:19: the owner match is only valid in OUTPUT/],
    ["-A INPUT -p tcp -j REJECT --reject-with tcp-reset -p udp", /^saved.rules:6:51: multiple -p flags not allowed/],
    ["-A INPUT -p udp -j REJECT --reject-with tcp-reset", /^saved.rules:6:17: 'reject with tcp reset' needs a rule that matches only TCP/],
    ["-A INPUT -m frobnicate -j DROP", /^saved.rules:6:13: unsupported match module 'frobnicate'/],
    ["-A INPUT -p tcp -m tcp --dport 22 -j SNAT", /^saved.rules:6:38: unsupported target 'SNAT'/],
    ["-A INPUT -x", /^saved.rules:6:10: unknown or unsupported option '-x'/],
    ["-A web -j INPUT", /^saved.rules:6:11: unknown target or chain 'INPUT'|cannot jump to 'INPUT'/],
  ];
  for (const [line, message] of bad) {
    it(`one bad line stops everything: ${line}`, () => expect(importError([line])).toMatch(message));
  }

  it("owner matches reachable from INPUT through a user chain are refused too", () => {
    expect(importError(["-A INPUT -j web", "-A web -m owner --uid-owner 0 -j ACCEPT"])).toMatch(/^saved.rules:7:17: the owner match is only valid in OUTPUT \(chain 'web' is reached from INPUT/);
  });

  it("structure errors name the line", () => {
    expect(() => compilePolicy("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", "x.rules", { format: "iptables-save" })).toThrow(/x.rules:4:1: the table has no COMMIT line/);
    expect(() => compilePolicy("*nat\nCOMMIT\n", "x.rules", { format: "iptables-save" })).toThrow(/x.rules:1:1: kopi enforces the filter table; \*nat cannot be applied/);
    expect(() => compilePolicy("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", "x.rules", { format: "iptables-save" })).toThrow(/x.rules:2:8: policy of built-in chain INPUT must be ACCEPT or DROP/);
  });
});

describe("iptables-save export", () => {
  it("writes what iptables can say and marks the rest", () => {
    const c = compilePolicy(readFileSync(`${EXAMPLES}web-server.kopi`, "utf8"), "web-server.kopi");
    const out = exportIptablesSave(c.ir);
    expect(out.text).toContain(":INPUT DROP [0:0]");
    expect(out.text).toContain("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
    expect(out.text).toContain("-A INPUT -p tcp -s 192.168.10.0/24 -m tcp --dport 22 -m comment --comment \"admin network\" -j ACCEPT");
    expect(out.skipped.map((s) => s.reason)).toEqual(["VLAN and ICMPv6 matches have no iptables form", "iptables has one target per rule (split the statements into rules)"]);
    expect(out.text).toMatch(/^# kopi: rule 6 of ingress not exported \(VLAN and ICMPv6 matches have no iptables form\): icmpv6 type/m);
  });

  it("an exported ruleset imports back and decides every packet the same way", async () => {
    const vm = await OverlayVM.create();
    const original = compilePolicy(readFileSync(`${EXAMPLES}basic.rules`, "utf8"), "basic.rules", { format: "iptables-save" });
    const exported = exportIptablesSave(original.ir);
    expect(exported.skipped).toEqual([]);
    const again = compilePolicy(exported.text, "exported.rules", { format: "iptables-save" });
    expect(again.ir.chains.map((c) => c.rules.length)).toEqual(original.ir.chains.map((c) => c.rules.length));
    const specs = [];
    for (const src of ["10.0.0.1", "192.0.2.15", "198.51.100.3", "8.8.8.8"])
      for (const [proto, dport] of [["tcp", 22], ["tcp", 80], ["tcp", 8085], ["udp", 53], ["tcp", 23], ["icmp", 0]] as const)
        for (const dir of [0, 1] as const) specs.push({ src, dst: "10.0.0.2", proto, dport, flags: TCP.SYN, payload: dir ? 1500 : 0, ttl: dir ? 3 : 64, dir });
    for (const s of specs) {
      const fields = vm.parseHeaders(ipv4Frame(s));
      const a = evaluate(original.ir, fields, s.dir);
      const b = evaluate(again.ir, fields, s.dir);
      expect(b.verdict).toBe(a.verdict);
      expect(b.counted.map((id) => again.ir.counters[id]!.rule)).toEqual(a.counted.map((id) => original.ir.counters[id]!.rule));
    }
  });
});
