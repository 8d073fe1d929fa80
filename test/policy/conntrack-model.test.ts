/**
 * The flow table (runtime/assembly/conntrack.ts: hash index with tag bytes, packed entry pool, backward-shift
 * deletion, confirmation after the verdict) against a Map-based reference model (conntrack-reference.ts): random
 * packet sequences over a few addresses and ports — so flows collide, reverse, time out, fill a small table and
 * get reclaimed — must give every packet the same ct.state and leave the same flow and overflow counts, on the
 * interpreter and on the JIT tier.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, decodeVerdict, parseIPv4, parseIPv6 } from "../../overlay-isa/index.js";
import { createJitRunner, stopJitCompiler } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { CT, FlowTableModel, type CtPacket, type Tuple } from "./conntrack-reference.js";
import { ipv4Frame, ipv4Packet, ipv6Frame, type PacketSpec } from "./packets.js";
import { tcpConversationArb } from "./tcp-scenarios.js";

// ct.state into the mark; the verdict from the source MAC's last byte: accept, drop, queue, reject
const PROGRAM = assemble(`.kind policy
  ldf r1, ct.state
  stf meta.mark, r1
  ldb r2, [pkt + 11]
  and r2, r2, 3
  jeq r2, 1, D
  jeq r2, 2, Q
  jeq r2, 3, R
  exit accept
D:
  exit drop
Q:
  exit queue 3
R:
  exit reject
`).image;

const V4 = ["10.0.0.1", "10.0.0.2", "192.0.2.7"];
const V6 = ["2001:db8::1", "2001:db8::2"];
const PORTS = [53, 1000, 1001];

interface Step {
  packet: CtPacket;
  frame: Uint8Array;
  /** what the program does with it: 0 accept, 1 drop, 2 queue, 3 reject */
  action: number;
  /** µs since the previous packet */
  gapUs: number;
}

function spec(t: Tuple, action: number): PacketSpec {
  const addr = (a: bigint) => (t.fam === 4 ? V4 : V6).find((s) => address(t.fam, s) === a)!;
  return { src: addr(t.src), dst: addr(t.dst), proto: t.proto, sport: t.sport, dport: t.dport, srcMac: `02:00:00:00:00:0${action}` };
}

const tupleArb = (fam: 4 | 6, proto: number) =>
  fc.record({
    src: fc.constantFrom(...(fam === 4 ? V4 : V6)),
    dst: fc.constantFrom(...(fam === 4 ? V4 : V6)),
    sport: fc.constantFrom(...PORTS),
    dport: fc.constantFrom(...PORTS),
  }).map((r): Tuple => ({ fam, proto, src: address(fam, r.src), dst: address(fam, r.dst), sport: r.sport, dport: r.dport }));

function address(fam: 4 | 6, text: string): bigint {
  return fam === 4 ? BigInt(parseIPv4(text)!) : parseIPv6(text)!;
}

// valid combinations (some with URG, ECE, CWR) and some Linux rejects (FIN alone, SYN+FIN, none, PSH alone,
// SYN+RST, RST+URG, FIN+URG)
const TCP_FLAGS = [0x02, 0x02, 0x12, 0x12, 0x10, 0x10, 0x10, 0x04, 0x14, 0x11, 0x18, 0x19, 0x22, 0x30, 0x31, 0xd0, 0x01, 0x03, 0x00, 0x08, 0x06, 0x24, 0x21];
// sequence and ack numbers near one another (so windows are hit and missed), zero, and far away
const SEQS = [0, 1000, 1001, 1101, 1201, 5000, 66000, 70000, 0xfffffff0];
const segmentArb = fc.record({
  flags: fc.constantFrom(...TCP_FLAGS),
  seq: fc.constantFrom(...SEQS),
  ack: fc.constantFrom(...SEQS),
  win: fc.constantFrom(0, 100, 1000, 65535),
  len: fc.constantFrom(0, 0, 100, 1000),
  wscale: fc.constantFrom(undefined, undefined, 0, 2, 7, 15),
  sackPerm: fc.boolean(),
});

// Coherent TCP conversations (tcp-scenarios.ts) on a few connections.
const CONNS: Tuple[] = [0, 1, 2].map((i) => ({ fam: 4, proto: 6, src: address(4, V4[i % 2]!), dst: address(4, V4[2]!), sport: PORTS[i]!, dport: 80 }));
const conversationArb = tcpConversationArb(CONNS.length).map((segs) =>
  segs.map((c): Step => {
    const tuple = c.reply ? reverseTuple(CONNS[c.conn]!) : CONNS[c.conn]!;
    const packet: CtPacket = { kind: "tcp", tuple, flags: c.segment.flags, segment: c.segment };
    return { packet, action: c.action, gapUs: c.gapUs, frame: frameOf(packet, c.action) };
  }),
);

function reverseTuple(t: Tuple): Tuple {
  return { ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

const stepArb: fc.Arbitrary<Step> = fc
  .tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.tuple(tupleArb(4, 6), segmentArb).map(([tuple, segment]): CtPacket => ({ kind: "tcp", tuple, flags: segment.flags, segment })) },
      { weight: 3, arbitrary: tupleArb(4, 17).map((tuple): CtPacket => ({ kind: "udp", tuple, flags: 0 })) },
      { weight: 1, arbitrary: tupleArb(6, 17).map((tuple): CtPacket => ({ kind: "udp", tuple, flags: 0 })) },
      // queries (echo, timestamp), their replies, and a router advertisement (neither: INVALID)
      {
        weight: 2,
        arbitrary: fc.tuple(tupleArb(4, 1), fc.constantFrom(8, 0, 13, 14, 9), fc.constantFrom(1, 2)).map(([tuple, type, id]): CtPacket => ({ kind: "icmp", tuple, type, id })),
      },
      // destination unreachable and time exceeded, quoting a TCP or UDP packet
      {
        weight: 2,
        arbitrary: fc
          .tuple(tupleArb(4, 1), fc.constantFrom(3, 11), fc.constantFrom(6, 17), tupleArb(4, 0))
          .map(([tuple, type, proto, q]): CtPacket => ({ kind: "icmp-error", tuple, type, quoted: { ...q, proto } })),
      },
    ),
    fc.integer({ min: 0, max: 3 }),
    // mostly close together; now and then past a UDP or ICMP timeout (30 s), rarely past TCP's (120 s)
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3_000_000 }) },
      { weight: 2, arbitrary: fc.integer({ min: 25_000_000, max: 35_000_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 200_000_000 }) },
    ),
  )
  .map(([packet, action, gapUs]) => ({ packet, action, gapUs, frame: frameOf(packet, action) }));

function frameOf(p: CtPacket, action: number): Uint8Array {
  const s = spec(p.tuple, action);
  if (p.kind === "icmp") return ipv4Frame({ ...s, proto: "icmp", icmpType: p.type, icmpBody: Uint8Array.from([0, p.id, 0, 1]) });
  if (p.kind === "icmp-error") {
    const quoted = ipv4Packet({ ...spec(p.quoted, 0), proto: p.quoted.proto === 6 ? "tcp" : "udp" }).subarray(0, 28);
    return ipv4Frame({ ...s, proto: "icmp", icmpType: p.type, icmpCode: 0, icmpBody: Uint8Array.from([0, 0, 0, 0, ...quoted]) });
  }
  if (p.tuple.fam === 6) return ipv6Frame({ ...s, proto: "udp" });
  if (p.kind === "udp") return ipv4Frame({ ...s, proto: "udp" });
  const g = p.segment;
  const options = [...(g.wscale !== undefined ? [1, 3, 3, g.wscale] : []), ...(g.sackPerm ? [4, 2] : [])];
  return ipv4Frame({ ...s, proto: "tcp", flags: g.flags, seq: g.seq, ack: g.ack, window: g.win, payload: g.len, tcpOptions: options });
}

let vm: OverlayVM;
beforeAll(() => {
  vm = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

function check(steps: Step[], capacity: number, tier: "interpreter" | "jit"): void {
  vm.setFlowCapacity(capacity);
  vm.load(PROGRAM);
  vm.wasmExports.resetFlowStats();
  if (tier === "jit") createJitRunner(vm);
  const model = new FlowTableModel(capacity);
  const want: number[] = [];
  const times = new Float64Array(steps.length);
  let now = 0;
  steps.forEach((s, i) => {
    now += s.gapUs;
    times[i] = now;
    want.push(model.before(s.packet, now));
    model.after(s.action === 0 || s.action === 2);
  });
  const r = vm.run(steps.map((s) => s.frame), { timesUs: times });
  expect([...r.marks]).toEqual(want);
  steps.forEach((s, i) => expect(decodeVerdict(r.verdicts[i]!)?.kind).toBe(["accept", "drop", "queue", "reject"][s.action]));
  expect(vm.flowStats().flows).toBe(model.count);
  expect(vm.flowStats().overflows).toBe(BigInt(model.overflows));
}

describe("the flow table against a reference model", () => {
  for (const tier of ["interpreter", "jit"] as const) {
    it(`${tier}: random packet sequences give every packet the model's ct.state`, () => {
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 1, maxLength: 300 }), fc.constantFrom(1, 2, 3, 8, 16, 64), (steps, capacity) => check(steps, capacity, tier)),
        { numRuns: tier === "jit" ? 100 : 300 },
      );
    });
    it(`${tier}: TCP conversations (handshakes, data, windows, closes, resets) give the model's ct.state`, () => {
      fc.assert(
        fc.property(fc.array(conversationArb, { minLength: 1, maxLength: 4 }), (parts) => check(parts.flat(), 64, tier)),
        { numRuns: tier === "jit" ? 150 : 400 },
      );
    });
  }

  // Long probe runs (a table at half its slots), then many deletions in them: every flow that stays must still be
  // found. Flows i: UDP from 10.0.x.y to 192.0.2.7:53; the replies to even flows make them ESTABLISHED (180 s),
  // odd ones time out after 30 s.
  const flow = (i: number): Tuple => ({ fam: 4, proto: 17, src: address(4, "10.0.0.0") + BigInt(i), dst: address(4, "192.0.2.7"), sport: 1024 + (i % 7), dport: 53 });
  const udp = (t: Tuple, action: number, atUs: number): Step & { atUs: number } => ({
    packet: { kind: "udp", tuple: t, flags: 0 },
    frame: ipv4Frame({ src: ipText(t.src), dst: ipText(t.dst), proto: "udp", sport: t.sport, dport: t.dport, srcMac: `02:00:00:00:00:0${action}` }),
    action,
    gapUs: 0,
    atUs,
  });
  const replyTo = (t: Tuple): Tuple => ({ ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport });

  function replay(steps: (Step & { atUs: number })[], capacity: number): number[] {
    vm.setFlowCapacity(capacity);
    vm.load(PROGRAM);
    const model = new FlowTableModel(capacity);
    const want = steps.map((s) => {
      const st = model.before(s.packet, s.atUs);
      model.after(s.action === 0);
      return st;
    });
    const r = vm.run(steps.map((s) => s.frame), { timesUs: Float64Array.from(steps, (s) => s.atUs) });
    expect([...r.marks]).toEqual(want);
    expect(vm.flowStats().flows).toBe(model.count);
    return want;
  }

  it("deleting timed-out flows one by one keeps every other flow reachable", () => {
    const n = 1000;
    const steps = [
      ...Array.from({ length: n }, (_, i) => udp(flow(i), 0, 0)),
      ...Array.from({ length: n / 2 }, (_, k) => udp(replyTo(flow(2 * k)), 0, 1_000_000)),
      // each odd flow's next packet finds it timed out: the lookup deletes it (then the packet is dropped)
      ...Array.from({ length: n / 2 }, (_, k) => udp(flow(2 * k + 1), 1, 40_000_000)),
      ...Array.from({ length: n }, (_, i) => udp(flow(i), 1, 41_000_000)),
    ];
    const want = replay(steps, 1024);
    const last = want.slice(2 * n);
    expect(last.filter((s, i) => s === (i % 2 === 0 ? CT.established : CT.new)).length).toBe(n);
  });

  it("a full table reclaims its timed-out flows at once and keeps every other flow reachable", () => {
    const n = 1024;
    const steps = [
      ...Array.from({ length: n }, (_, i) => udp(flow(i), 0, 0)),
      ...Array.from({ length: n / 2 }, (_, k) => udp(replyTo(flow(2 * k)), 0, 1_000_000)),
      udp(flow(5000), 0, 40_000_000), // the table is full: reclaim deletes the odd flows
      ...Array.from({ length: n }, (_, i) => udp(flow(i), 1, 41_000_000)),
    ];
    const want = replay(steps, n);
    expect(want[n + n / 2]).toBe(CT.new);
    expect(want.slice(n + n / 2 + 1).filter((s, i) => s === (i % 2 === 0 ? CT.established : CT.new)).length).toBe(n);
  });
});

function ipText(a: bigint): string {
  const n = Number(a);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
