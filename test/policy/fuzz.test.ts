/**
 * Property tests: policies from a grammar-driven generator (valid pieces, plus random damage) either compile
 * to a program the verifier accepts or fail with a positioned SourceError — never any other exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { parseKopi } from "../../compiler/policy/parse.js";
import { parseHost } from "../../compiler/policy/host.js";
import { SourceError, verify } from "../../overlay-isa/index.js";

const host = parseHost(JSON.stringify({ users: { bob: 1001, charlie: 1002 }, groups: { db: 120 } }));

/** Mostly valid, now and then not: both outcomes stay common. */
function mostly<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: invalid, weight: 1 });
}
const octet = mostly(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 256, max: 300 }));
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const port = mostly(fc.oneof(fc.integer({ min: 0, max: 65535 }).map(String), fc.constantFrom("ssh", "http", "https", "domain")), fc.constantFrom("70000", "nosuch"));
const portValue = fc.oneof(
  port,
  fc.tuple(fc.integer({ min: 0, max: 30000 }), fc.integer({ min: 30000, max: 65535 })).map(([a, b]) => `${a}-${b}`),
  fc.array(port, { minLength: 1, maxLength: 12 }).map((ps) => `{ ${ps.join(", ")} }`),
  mostly(fc.constant("@ports"), fc.constant("@nope")),
);
const addrValue = fc.oneof(
  ipv4,
  fc.tuple(ipv4, mostly(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 33, max: 40 }))).map(([a, l]) => `${a}/${l}`),
  fc.tuple(ipv4, ipv4).map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`)),
  fc.array(ipv4, { minLength: 1, maxLength: 10 }).map((as) => `{ ${as.join(", ")} }`),
  mostly(fc.constant("@block"), fc.constantFrom("@block6", "@nope")),
);
const ip6Value = mostly(fc.constantFrom("2001:db8::1", "2001:db8::/32", "fe80::/10", "::1", "@block6"), fc.constantFrom("2001:db8::/200", "zz::1"));
const neg = fc.constantFrom("", "", "!= ");
const match = fc.oneof(
  fc.tuple(mostly(fc.constantFrom("tcp", "udp", "sctp"), fc.constant("ip")), fc.constantFrom("sport", "dport"), neg, portValue).map((p) => `${p[0]} ${p[1]} ${p[2]}${p[3]}`),
  fc.tuple(fc.constantFrom("saddr", "daddr"), neg, addrValue).map(([f, n, v]) => `ip ${f} ${n}${v}`),
  fc.tuple(fc.constantFrom("saddr", "daddr"), ip6Value).map(([f, v]) => `ip6 ${f} ${v}`),
  mostly(fc.constantFrom("ct state new", "ct state established,related", "ct state != invalid"), fc.constant("ct state bogus")),
  fc.constantFrom("tcp flags syn", "tcp flags syn / syn,ack", "tcp flags != rst", "tcp flags syn,fin / syn"),
  fc.constantFrom("icmp type echo-request", "icmp type { echo-request, echo-reply }", "icmpv6 type nd-neighbor-solicit", "icmp code 3"),
  fc.constantFrom("meta mark 0x10", "meta length > 1000", "meta l4proto tcp", "ip ttl < 5", "vlan id 10", "ether saddr 02:00:00:00:00:01"),
  mostly(fc.constantFrom("owner user bob", "owner not user charlie cmd mysqld", "owner uid 1002", "owner cgroup \"/a/b\" pid 7", "owner gid 120"), fc.constant("owner user nobody9")),
  mostly(fc.constantFrom("limit rate 10/second", "limit rate over 5/minute burst 3 packets", "tcp dport < 1024", "meta length >= 100"), fc.constant("limit rate 0/day")),
);
const action = fc.oneof(
  fc.constantFrom("accept", "drop", "reject", "reject with icmp type port-unreachable", "queue num 3", "counter", "log prefix \"x\"", "mark set 0x5", "mirror", "return", "comment \"c\""),
  mostly(fc.constantFrom("jump sub", "goto sub"), fc.constantFrom("jump nope", "jump ingress", "reject with tcp reset")),
);
const rule = fc.tuple(fc.array(match, { maxLength: 3 }), fc.array(action, { minLength: 1, maxLength: 1 })).map(([m, a]) => [...m, ...a].join(" "));
const chainBody = fc.array(rule, { maxLength: 8 });
const policyText = fc
  .tuple(chainBody, chainBody, chainBody, fc.constantFrom("accept", "drop"), mostly(fc.constant(true), fc.constant(false)))
  .map(
    ([ing, eg, sub, pol, withSub]) =>
      `table filter {\n  set ports { type inet_service; flags interval; elements = { 22, 8000-8080 } }\n  set block { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.0.2.1 } }\n  set block6 { type ipv6_addr; elements = { 2001:db8::1 } }\n` +
      `  chain ingress { policy ${pol};\n${ing.map((r) => `    ${r}\n`).join("")}  }\n  chain egress {\n${eg.map((r) => `    ${r}\n`).join("")}  }\n` +
      (withSub ? `  chain sub {\n${sub.map((r) => `    ${r}\n`).join("")}  }\n` : "") +
      "}\n",
  );
/** Random damage: cut, duplicate or insert characters. */
const damaged = fc.tuple(policyText, fc.nat(), fc.nat({ max: 5 }), fc.constantFrom("", "{", "}", ";", "\"", "/", "-", "@", "#", "\n", "x", "9")).map(([t, at, len, ins]) => {
  const i = at % (t.length + 1);
  return t.slice(0, i) + ins + t.slice(i + len);
});

function check(text: string): "ok" | "error" {
  try {
    const c = compilePolicy(text, "gen.kopi", { host, hostFile: "host.json" });
    expect(verify(c.image).ok).toBe(true);
    return "ok";
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    const lines = text.split("\n");
    expect(e.file).toBe("gen.kopi");
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lines.length);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeLessThanOrEqual((lines[e.line - 1] ?? "").length + 1);
    expect(e.message).toMatch(/^gen\.kopi:\d+:\d+: \S/);
    return "error";
  }
}

describe("generated policies", () => {
  it("compile to verified programs or fail with a positioned error", () => {
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(policyText, (t) => {
        seen[check(t)]++;
      }),
      { numRuns: 300 },
    );
    // the generator reaches both outcomes, so the property is not vacuous
    expect(seen.ok).toBeGreaterThan(10);
    expect(seen.error).toBeGreaterThan(10);
  });

  it("damaged policies never throw anything but a positioned error", () => {
    fc.assert(
      fc.property(damaged, (t) => {
        check(t);
      }),
      { numRuns: 300 },
    );
  });

  it("the shape cache parses every statement exactly as ohm does", () => {
    // many rules of few shapes, with numbers, addresses and words varied
    const numbered = fc.tuple(policyText, fc.array(fc.tuple(fc.nat({ max: 65535 }), ipv4, fc.integer({ min: 0, max: 32 })), { minLength: 5, maxLength: 20 })).map(([t, xs]) =>
      t.replace("  chain egress {\n", `  chain egress {\n${xs.map(([p, a, l]) => `    tcp dport ${p} ip saddr ${a}/${l} accept\n    ip daddr ${a} udp sport ${p}-${p + 1} drop\n    ip6 saddr 2001:db8::${p.toString(16)} meta mark ${p} counter\n`).join("")}`),
    );
    let compared = 0;
    fc.assert(
      fc.property(numbered, (t) => {
        let cached: unknown;
        let plain: unknown;
        let cachedError: string | undefined;
        let plainError: string | undefined;
        try {
          cached = parseKopi(t, "s.kopi");
        } catch (e) {
          if (!(e instanceof SourceError)) throw e;
          cachedError = e.message;
        }
        try {
          plain = parseKopi(t, "s.kopi", { shapeCache: false });
        } catch (e) {
          if (!(e instanceof SourceError)) throw e;
          plainError = e.message;
        }
        expect(cachedError).toBe(plainError);
        expect(cached).toEqual(plain);
        if (!plainError) compared++;
      }),
      { numRuns: 200 },
    );
    expect(compared).toBeGreaterThan(20);
  });
});
