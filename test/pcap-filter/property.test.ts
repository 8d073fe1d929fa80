/**
 * Property: any expression — well-formed or not — either compiles to a program the overlay verifier accepts
 * and the VM runs, or is refused with a positioned SourceError; never another exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { SourceError, verify } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";

const pick = <T,>(...xs: T[]) => fc.constantFrom(...xs);
const num = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), pick("0", "0x10", "0xffffffff", "4294967295", "4294967296", "017", "08", "13", "tcpflags", "icmptype", "tcp-syn", "icmp6-echo"));
const ipv4 = fc.oneof(fc.ipV4(), pick("10", "10.1", "10.1.2", "300.1.1.1", "1.2.3.4.5"));
const ipv6 = pick("::1", "fe80::1", "ff02::16", "2001:db8::", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8");
const mac = pick("ff:ff:ff:ff:ff:ff", "00:1f:29:da:2d:79", "0:1:2:3:4:5", "aabb.ccdd.eeff", "1:2:3");
const proto = pick("ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "sctp", "ether", "link", "vrrp", "carp", "pim", "ah", "esp", "iso", "isis", "stp", "ipx", "decnet", "atalk", "radio", "l1", "snp");
const dir = pick("", "src ", "dst ", "src or dst ", "src and dst ", "addr1 ", "ra ");
const addr = pick("host ", "net ", "port ", "portrange ", "proto ", "protochain ", "gateway ", "");
const value = fc.oneof(num, ipv4, ipv6, mac, pick("http", "domain", "1-1023", "smtp-25", "\\tcp", "nosuch", "localhost", "loopback"), fc.tuple(ipv4, fc.integer({ min: 0, max: 40 })).map(([a, n]) => `${a}/${n}`));
const relop = pick("=", "!=", "<", "<=", ">", ">=", "==");
const binop = pick("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>");

const { expr } = fc.letrec((tie) => ({
  arith: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    num,
    pick("len"),
    fc.tuple(proto, tie("arith"), pick("", ":1", ":2", ":4", ":3")).map(([p, i, s]) => `${p}[${i}${s}]`),
    fc.tuple(tie("arith"), binop, tie("arith")).map(([a, o, b]) => `${a} ${o} ${b}`),
    tie("arith").map((a) => `-${a}`),
    tie("arith").map((a) => `(${a})`),
  ),
  primitive: fc.oneof(
    fc.tuple(fc.option(proto, { nil: "" }), dir, addr, value).map(([p, d, a, v]) => `${p} ${d}${a}${v}`.trim()),
    proto,
    fc.tuple(tie("arith"), relop, tie("arith")).map(([a, r, b]) => `${a} ${r} ${b}`),
    fc.tuple(pick("vlan", "mpls", "pppoes", "geneve", "less", "greater", "ifindex"), fc.option(num, { nil: "" })).map(([k, n]) => `${k} ${n}`.trim()),
    pick("broadcast", "multicast", "ip broadcast", "ip6 multicast", "inbound", "pppoed", "llc", "llc u", "llc rnr", "byte 12 & 8", "ether proto \\ip6", "tcp[tcpflags] & tcp-syn != 0"),
    fc.tuple(pick("ether ", "ether src ", "ether dst host "), mac).map(([a, b]) => a + b),
  ),
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("primitive"),
    fc.tuple(tie("expr"), pick(" and ", " or ", " && ", " || "), fc.oneof(tie("expr"), value)).map(([a, op, b]) => `${a}${op}${b}`),
    tie("expr").map((e) => `not ${e}`),
    tie("expr").map((e) => `(${e})`),
    fc.tuple(tie("expr"), fc.string({ maxLength: 3 })).map(([e, junk]) => `${e}${junk}`),
  ),
})) as { expr: fc.Arbitrary<string> };

const vm = OverlayVM.createSync();
const frames = [new Uint8Array(0), new Uint8Array(14).fill(0xff), Uint8Array.from({ length: 80 }, (_, i) => (i * 37) & 0xff), Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 0, 64, ...new Array<number>(40).fill(1)])];

describe("random expressions", () => {
  it("compile to verified, runnable programs or fail with a positioned SourceError", () => {
    fc.assert(
      fc.property(expr, pick(1, 0, 12, 113, 276), (expression, linktype) => {
        let image;
        try {
          image = compilePcapFilter(expression, { linktype }).image;
        } catch (e) {
          expect(e).toBeInstanceOf(SourceError);
          const err = e as SourceError;
          expect(err.message).toMatch(/^filter:\d+:\d+: \S/);
          expect(err.line).toBeGreaterThanOrEqual(1);
          expect(err.column).toBeGreaterThanOrEqual(1);
          expect(err.column).toBeLessThanOrEqual(expression.length + 1);
          return;
        }
        expect(verify(image).errors).toEqual([]);
        vm.load(image);
        const result = vm.run(frames, { linktype });
        expect(result.verdicts.every((v) => v === 0 || v === 1)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
