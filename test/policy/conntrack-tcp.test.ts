/**
 * TCP tracking in the flow table (runtime/assembly/conntrack-tcp.ts): hand-written conversations
 * (tcp-scenarios.ts) — in-window and out-of-window data, retransmission, window scaling, RSTs in and out of
 * window, mid-stream pickup, rejected flags and transitions — give each segment the ct state Linux gives it, on
 * the interpreter and the JIT; the reference model agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, parseIPv4 } from "../../overlay-isa/index.js";
import { createJitRunner, stopJitCompiler } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { CT, FlowTableModel, type CtPacket } from "./conntrack-reference.js";
import { ipv4Frame } from "./packets.js";
import { SCENARIOS, segmentSpec, type CtName } from "./tcp-scenarios.js";

const PROGRAM = assemble(".kind policy\n  ldf r1, ct.state\n  stf meta.mark, r1\n  exit accept\n").image;
const NAMES: Record<number, CtName> = { [CT.invalid]: "invalid", [CT.established]: "established", [CT.related]: "related", [CT.new]: "new" };

let vm: OverlayVM;
beforeAll(() => {
  vm = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

describe("TCP window tracking", () => {
  for (const tier of ["interpreter", "jit"] as const) {
    SCENARIOS.forEach((sc, n) => {
      it(`${tier}: ${sc.name}`, () => {
        vm.load(PROGRAM);
        if (tier === "jit") createJitRunner(vm);
        const frames = sc.segments.map((g) => ipv4Frame(segmentSpec(n, g)));
        const r = vm.run(frames, { timesUs: Float64Array.from(frames, (_, i) => i * 1000) });
        const got = [...r.marks].map((m, i) => `${sc.segments[i]!.why}: ${NAMES[m]}`);
        expect(got).toEqual(sc.segments.map((g) => `${g.why}: ${g.want}`));
      });
    });
  }

  it("the reference model gives the same states", () => {
    SCENARIOS.forEach((sc, n) => {
      const model = new FlowTableModel(64);
      const got = sc.segments.map((g, i) => {
        const s = segmentSpec(n, g);
        const packet: CtPacket = {
          kind: "tcp",
          flags: g.flags,
          tuple: { fam: 4, proto: 6, src: BigInt(parseIPv4(s.src)!), dst: BigInt(parseIPv4(s.dst)!), sport: s.sport!, dport: s.dport! },
          segment: { flags: g.flags, seq: s.seq!, ack: s.ack!, win: s.window!, len: s.payload!, ...(g.wscale !== undefined ? { wscale: g.wscale } : {}) },
        };
        const st = model.before(packet, i * 1000);
        model.after(true);
        return `${g.why}: ${NAMES[st]}`;
      });
      expect(got, sc.name).toEqual(sc.segments.map((g) => `${g.why}: ${g.want}`));
    });
  });
});
