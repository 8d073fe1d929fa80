/**
 * The compiled program on the VM against the reference evaluator of the IR: random policies (single rules,
 * families that become tables, sets, negations, user chains with jump/goto/return) × random packets. Every
 * verdict and every counter must agree.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { loadIntoVm, replayPackets } from "../../hostctl/commands/replay.js";
import { OverlayVM } from "../../runtime/vm.js";
import { ipv4Frame, ipv6Frame, TCP } from "./packets.js";
import { evaluate } from "./reference.js";

const RUNS = Number(process.env.KOPI_FUZZ_RUNS ?? 150);
let vm: OverlayVM;
beforeAll(async () => {
  vm = await OverlayVM.create();
});

const ADDRS = ["10.0.0.1", "10.0.1.7", "10.1.2.3", "192.168.1.1", "192.168.7.9", "172.16.5.5", "203.0.113.9", "8.8.8.8"];
const PREFIXES = ["10.0.0.0/8", "10.0.0.0/16", "10.1.0.0/16", "192.168.0.0/16", "192.168.1.0/24", "172.16.0.0/12", "0.0.0.0/0", ...ADDRS];
const PORTS = [22, 53, 80, 443, 1000, 1001, 1002, 1003, 5432, 8080];
const ADDRS6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::5", "fe80::1"];

const verdict = fc.constantFrom("accept", "drop", "reject", "queue num 2", "jump sub", "goto sub", "return", "counter", "mark set 0x7");
const subVerdict = fc.constantFrom("accept", "drop", "return", "counter", "jump sub2", "reject with icmp type host-unreachable");
const neg = fc.constantFrom("", "", "", "!= ");
const match = fc.oneof(
  fc.tuple(fc.constantFrom("tcp", "udp"), fc.constantFrom("sport", "dport"), neg, fc.constantFrom(...PORTS)).map((x) => `${x[0]} ${x[1]} ${x[2]}${x[3]}`),
  fc.tuple(fc.constantFrom("tcp", "udp"), fc.subarray(PORTS, { minLength: 2, maxLength: 10 })).map(([p, ps]) => `${p} dport { ${ps.join(", ")} }`),
  fc.tuple(fc.constantFrom("dport", "sport"), fc.constantFrom("1000-1002", "0-1023", "5000-9000")).map(([f, r]) => `tcp ${f} ${r}`),
  fc.tuple(fc.constantFrom("saddr", "daddr"), neg, fc.constantFrom(...PREFIXES)).map(([f, n, v]) => `ip ${f} ${n}${v}`),
  fc.tuple(fc.constantFrom("saddr", "daddr"), fc.constantFrom("@nets", "@hosts", "!= @nets")).map(([f, s]) => `ip ${f} ${s}`),
  fc.constantFrom("tcp dport @svc", "udp dport != @svc", "ip6 saddr 2001:db8::/32", "ip6 daddr 2001:db8::1", "ip6 saddr @six"),
  fc.constantFrom("tcp flags syn / syn,ack", "tcp flags != ack", "icmp type echo-request", "icmp type { echo-request, echo-reply }", "ip ttl < 10", "meta length > 200", "meta l4proto udp", "icmpv6 type echo-request"),
);
const rule = (v: fc.Arbitrary<string>) => fc.tuple(fc.array(match, { maxLength: 3 }), v).map(([m, a]) => [...m, a].join(" "));
/** A family: several rules of one shape (one table lookup after compilation). */
const family = fc.oneof(
  fc.tuple(fc.constantFrom("tcp", "udp"), fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 4, maxLength: 8 }), fc.array(fc.constantFrom("accept", "drop", "reject"), { minLength: 8, maxLength: 8 })).map(([p, ports, vs]) =>
    ports.map((port, i) => `${p} dport ${port} ${vs[i]}`),
  ),
  fc.tuple(fc.array(fc.constantFrom(...PREFIXES), { minLength: 4, maxLength: 8 }), fc.array(fc.constantFrom("accept", "drop", "queue num 1"), { minLength: 8, maxLength: 8 })).map(([ps, vs]) =>
    ps.map((p, i) => `ip saddr ${p} ${vs[i]}`),
  ),
  fc.tuple(fc.array(fc.tuple(fc.constantFrom(...ADDRS), fc.constantFrom(...PORTS)), { minLength: 4, maxLength: 8 })).map(([xs]) => xs.map(([a, p]) => `ip daddr ${a} tcp dport ${p} accept`)),
);
const body = fc.array(fc.oneof({ arbitrary: rule(verdict).map((r) => [r]), weight: 3 }, { arbitrary: family, weight: 1 }), { maxLength: 5 }).map((xs) => xs.flat());
const policy = fc
  .tuple(body, body, fc.array(rule(subVerdict), { maxLength: 4 }), fc.array(rule(fc.constantFrom("accept", "drop", "return", "counter")), { maxLength: 3 }), fc.constantFrom("accept", "drop"), fc.constantFrom("accept", "drop"))
  .map(
    ([ing, eg, sub, sub2, p1, p2]) => `table filter {
  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/16, 192.168.1.0/24, 172.16.0.1-172.16.9.9 } }
  set hosts { type ipv4_addr; elements = { 8.8.8.8, 10.1.2.3 } }
  set svc { type inet_service; flags interval; elements = { 22, 80, 1000-1002 } }
  set six { type ipv6_addr; flags interval; elements = { 2001:db8:1::/48, fe80::1 } }
  chain ingress { policy ${p1};
${ing.map((r) => "    " + r).join("\n")}
  }
  chain egress { policy ${p2};
${eg.map((r) => "    " + r).join("\n")}
  }
  chain sub {
${sub.map((r) => "    " + r).join("\n")}
  }
  chain sub2 {
${sub2.map((r) => "    " + r).join("\n")}
  }
}
`,
  );

const packet = fc.oneof(
  fc.record({ v6: fc.constant(false), src: fc.constantFrom(...ADDRS), dst: fc.constantFrom(...ADDRS), proto: fc.constantFrom("tcp", "udp", "icmp") as fc.Arbitrary<"tcp" | "udp" | "icmp">, sport: fc.constantFrom(...PORTS, 40000), dport: fc.constantFrom(...PORTS, 9999), flags: fc.constantFrom(TCP.SYN, TCP.ACK, TCP.SYN | TCP.ACK), icmpType: fc.constantFrom(0, 8, 3), ttl: fc.constantFrom(1, 5, 64), payload: fc.constantFrom(0, 10, 300), dir: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1> }),
  fc.record({ v6: fc.constant(true), src: fc.constantFrom(...ADDRS6), dst: fc.constantFrom(...ADDRS6), proto: fc.constantFrom("tcp", "udp", "icmpv6") as fc.Arbitrary<"tcp" | "udp" | "icmpv6">, sport: fc.constantFrom(...PORTS), dport: fc.constantFrom(...PORTS), flags: fc.constant(TCP.SYN), icmpType: fc.constantFrom(128, 129), ttl: fc.constant(64), payload: fc.constantFrom(0, 300), dir: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1> }),
);

describe("compiled policies agree with the reference semantics", () => {
  it("random policies × random packets: verdicts and counters", () => {
    let compiledCount = 0;
    fc.assert(
      fc.property(policy, fc.array(packet, { minLength: 1, maxLength: 40 }), (text, pkts) => {
        const c = compilePolicy(text, "gen.kopi");
        compiledCount++;
        vm.load(c.image);
        loadIntoVm(vm, c);
        const frames = pkts.map((p) => (p.v6 ? ipv6Frame(p) : ipv4Frame(p)));
        const expectCounters = new Array<{ packets: bigint; bytes: bigint }>(c.ir.counters.length).fill({ packets: 0n, bytes: 0n }).map(() => ({ packets: 0n, bytes: 0n }));
        const verdicts: number[] = [];
        const marks: number[] = [];
        pkts.forEach((p, i) => {
          const fields = vm.parseHeaders(frames[i]!);
          const ref = evaluate(c.ir, fields, p.dir);
          verdicts.push(ref.verdict);
          marks.push(ref.mark ?? 0);
          const bytes = p.v6 ? 40n + fields.get("ip6.plen")! : fields.get("ip.len")!;
          for (const id of ref.counted) {
            expectCounters[id]!.packets++;
            expectCounters[id]!.bytes += bytes;
          }
        });
        // packets one by one with their own direction
        const got: number[] = [];
        const gotMarks: number[] = [];
        pkts.forEach((p, i) => {
          const r = replayPackets(vm, c, [{ data: frames[i]!, wireLength: frames[i]!.length }], { direction: p.dir ? "egress" : "ingress" });
          got.push(r.verdicts[0]!);
          gotMarks.push(r.marks[0]!);
        });
        expect(got).toEqual(verdicts);
        expect(gotMarks).toEqual(marks);
        const counters = vm.counters();
        for (let id = 0; id < c.ir.counters.length; id++) {
          expect({ id, packets: counters.packets[id], bytes: counters.bytes[id] }).toEqual({ id, ...expectCounters[id] });
        }
      }),
      { numRuns: RUNS },
    );
    expect(compiledCount).toBe(RUNS);
  });
});
