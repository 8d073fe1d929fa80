/**
 * Connection tracking on the NIC (runtime/assembly/conntrack.ts) as `ct state` sees it: a TCP handshake is NEW
 * then ESTABLISHED in both directions, an ICMP error about a known flow is RELATED, a dropped first packet
 * leaves no flow, and the flow table's capacity is enforced with a counted overflow (INVALID).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { compilePolicy, type CompiledPolicy } from "../../compiler/policy/compile.js";
import { parseHost } from "../../compiler/policy/host.js";
import { loadIntoVm, replayPackets, type ReplayPacket } from "../../hostctl/commands/replay.js";
import { encodeVerdict } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { ipv4Frame, ipv4Packet, TCP, type PacketSpec } from "./packets.js";

const HOST = parseHost(JSON.stringify({ addresses: ["10.0.0.2"] }));
const ACCEPT = encodeVerdict({ kind: "accept" });
const DROP = encodeVerdict({ kind: "drop" });

const POLICY = `table filter {
  chain ingress { policy drop;
    ct state established accept
    ct state new tcp dport 80 accept
    ct state new udp dport 53 accept
    ct state related accept
    ct state invalid counter drop
  }
  chain egress { policy accept;
    ct state established counter accept
    ct state new counter accept
  }
}
`;

let vm: OverlayVM;
let policy: CompiledPolicy;

function pkt(spec: PacketSpec, timeMs = 0): ReplayPacket {
  const data = ipv4Frame(spec);
  return { data, wireLength: data.length, timeMs };
}

function counts(c: CompiledPolicy, counters: { packets: bigint }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const info of c.ir.counters) out[`${info.chain}:${info.rule ?? "policy"}`] = Number(counters[info.id]!.packets);
  return out;
}

beforeEach(async () => {
  vm = await OverlayVM.create();
  policy = compilePolicy(POLICY, "ct.kopi");
});

describe("ct state", () => {
  it("a TCP handshake is NEW, then ESTABLISHED both ways; a refused SYN leaves no flow", () => {
    loadIntoVm(vm, policy);
    const c = { src: "198.51.100.7", dst: "10.0.0.2", proto: "tcp" as const, sport: 40000, dport: 80 };
    const s = { src: "10.0.0.2", dst: "198.51.100.7", proto: "tcp" as const, sport: 80, dport: 40000 };
    const r = replayPackets(vm, policy, [
      pkt({ ...c, flags: TCP.SYN }), // NEW → ingress rule 2
      pkt({ ...s, flags: TCP.SYN | TCP.ACK }), // reply → ESTABLISHED → egress rule 1
      pkt({ ...c, flags: TCP.ACK }), // ESTABLISHED → ingress rule 1
      pkt({ ...c, flags: TCP.ACK | TCP.PSH, payload: 100 }), // ESTABLISHED
      pkt({ ...c, dport: 22, flags: TCP.SYN }), // NEW, no rule: policy drop, the flow is forgotten
      pkt({ ...c, dport: 22, flags: TCP.SYN }), // NEW again (not established)
      pkt({ ...c, sport: 40001, flags: TCP.RST }), // RST of no flow: INVALID
    ], { host: HOST });
    expect([...r.directions]).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect([...r.verdicts]).toEqual([ACCEPT, ACCEPT, ACCEPT, ACCEPT, DROP, DROP, DROP]);
    expect(counts(policy, r.counters)).toEqual({
      "ingress:1": 2, "ingress:2": 1, "ingress:3": 0, "ingress:4": 0, "ingress:5": 1, "ingress:policy": 2,
      "egress:1": 1, "egress:2": 0, "egress:policy": 0,
    });
    expect(vm.flowStats().flows).toBe(1);
  });

  it("an ICMP error quoting a known flow is RELATED; one quoting an unknown flow is INVALID", () => {
    loadIntoVm(vm, policy);
    const query = { src: "10.0.0.2", dst: "192.0.2.53", proto: "udp" as const, sport: 33333, dport: 53, payload: 20 };
    const quoted = ipv4Packet(query).subarray(0, 28);
    const unknown = ipv4Packet({ ...query, sport: 44444 }).subarray(0, 28);
    const icmpError = (body: Uint8Array) => pkt({ src: "192.0.2.53", dst: "10.0.0.2", proto: "icmp", icmpType: 3, icmpCode: 3, icmpBody: Uint8Array.from([0, 0, 0, 0, ...body]) });
    const r = replayPackets(vm, policy, [pkt(query), icmpError(quoted), icmpError(unknown)], { host: HOST });
    expect([...r.directions]).toEqual([1, 0, 0]);
    expect([...r.verdicts]).toEqual([ACCEPT, ACCEPT, DROP]);
    const k = counts(policy, r.counters);
    expect([k["egress:2"], k["ingress:4"], k["ingress:5"]]).toEqual([1, 1, 1]);
  });

  it("the flow table's capacity is enforced: overflowing packets are INVALID and counted, timed-out flows make room", () => {
    vm.setFlowCapacity(4);
    loadIntoVm(vm, policy);
    const flow = (i: number, timeMs: number) => pkt({ src: `198.51.100.${i}`, dst: "10.0.0.2", proto: "udp", sport: 5000 + i, dport: 53 }, timeMs);
    const r = replayPackets(vm, policy, [1, 2, 3, 4, 5, 6].map((i) => flow(i, 0)), { host: HOST });
    expect([...r.verdicts]).toEqual([ACCEPT, ACCEPT, ACCEPT, ACCEPT, DROP, DROP]);
    expect(vm.flowStats()).toEqual({ flows: 4, capacity: 4, overflows: 2n });
    // unreplied UDP flows time out after 30 s of packet time: a new flow then finds room
    const later = replayPackets(vm, policy, [flow(7, 31_000), flow(1, 31_000)], { host: HOST });
    expect([...later.verdicts]).toEqual([ACCEPT, ACCEPT]);
    expect(vm.flowStats().flows).toBe(2);
    expect(vm.flowStats().overflows).toBe(2n);
    expect(counts(policy, later.counters)["ingress:5"]).toBe(2); // the two overflows, counted as invalid drops
  });

  it("limit rate follows the packets' timestamps", () => {
    const limited = compilePolicy("table filter {\n  chain ingress { policy drop;\n    icmp type echo-request limit rate 2/second burst 2 packets accept\n  }\n}\n", "limit.kopi");
    loadIntoVm(vm, limited);
    const ping = (timeMs: number) => pkt({ src: "198.51.100.1", dst: "10.0.0.2", proto: "icmp", icmpType: 8 }, timeMs);
    // burst of 2 at once, then one token every 500 ms
    const r = replayPackets(vm, limited, [0, 0, 0, 100, 500, 600, 1000, 1000, 2500, 2500, 2500].map(ping), { host: HOST });
    expect([...r.verdicts].map((v) => (v === ACCEPT ? 1 : 0))).toEqual([1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0]);
  });
});
