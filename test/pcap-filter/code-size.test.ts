/**
 * What the emitter's optimisations (emit.ts, reuse.ts) leave in the code: no raw load of the frame is repeated
 * where every path to it already made the same load, and the benchmark expressions stay within libpcap's size
 * (counts measured when the optimisations went in; a change that makes them larger shows up here). Whether the
 * code still keeps the right packets is the oracle's and the libpcap differential test's job.
 */
import { describe, expect, it } from "vitest";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { assemble, decodeOperands, jumpOffset, opcodeByCode, type ProgramImage } from "../../overlay-isa/index.js";
import { makeGen, rng } from "./generate.js";

/**
 * Instructions that load `[pkt + k]` (no index register) when every path reaching them has already loaded the
 * same bytes: a forward pass over the DAG intersecting, per instruction, the loads made on all paths to it.
 */
function repeatedLoads(p: ProgramImage): string[] {
  const before: (Set<string> | undefined)[] = new Array(p.code.length);
  before[0] = new Set();
  const repeated: string[] = [];
  p.code.forEach((insn, i) => {
    const seen = before[i];
    if (!seen) return; // unreachable
    const spec = opcodeByCode(insn.op)!;
    const after = new Set(seen);
    if (spec.memBytes !== undefined) {
      const mem = decodeOperands(spec, insn)[1] as { base: number; index?: number; offset: number };
      if (mem.base === 0 && mem.index === undefined) {
        const key = `${spec.mnemonic} [pkt + ${mem.offset}]`;
        if (seen.has(key)) repeated.push(`${i}: ${key}`);
        after.add(key);
      }
    }
    const successors: number[] = [];
    if (spec.operands.includes("target")) successors.push(i + 1 + jumpOffset(insn));
    if (spec.cls !== "exit" && spec.mnemonic !== "ja") successors.push(i + 1);
    for (const s of successors) {
      const cur = before[s];
      if (!cur) before[s] = new Set(after);
      else for (const k of [...cur]) if (!after.has(k)) cur.delete(k);
    }
  });
  return repeated;
}

const TEN_PORTS = "tcp and (port 22 or port 25 or port 53 or port 80 or port 110 or port 143 or port 443 or port 993 or port 3306 or port 8080)";

describe("emitted code size", () => {
  it("finds a repeated load (the check itself)", () => {
    const source = [".kind filter", "  ldh r0, [pkt + 12]", "  jeq r0, 1, A", "  ldb r1, [pkt + 23]", "A:", "  ldh r2, [pkt + 12]", "  ldb r3, [pkt + 23]", "  exit accept"].join("\n");
    // [pkt + 12] was loaded on both paths into A; [pkt + 23] only on one
    expect(repeatedLoads(assemble(source).image)).toEqual(["3: ldh [pkt + 12]"]);
  });

  it("loads each frame offset once per path on the benchmark expressions, within libpcap's instruction count", () => {
    // [expression, overlay instructions now, libpcap 1.10.3's cBPF instructions]
    const rows: [string, number, number][] = [
      [TEN_PORTS, 50, 47],
      ["tcp", 13, 12],
      ["udp dst port 53", 19, 16],
      ["host 10.0.1.2", 15, 14],
      ["net 192.168.0.0/16 and tcp[tcpflags] & tcp-ack != 0", 19, 17],
      ["ip[6:2] & 0x1fff = 0 and len >= 64", 8, 8],
      ["net 10.0.0.0/8 and not port 22", 32, 35],
    ];
    for (const [expression, size, libpcap] of rows) {
      const { image } = compilePcapFilter(expression);
      expect(repeatedLoads(image), expression).toEqual([]);
      expect(image.code.length, expression).toBeLessThanOrEqual(size);
      expect(image.code.length, expression).toBeLessThanOrEqual(libpcap + 3); // ldb/and/shl where cBPF has ldxb
    }
  });

  it("repeats no frame load on any path of random expressions", () => {
    const gen = makeGen(rng(7007));
    let checked = 0;
    for (let n = 0; n < 400; n++) {
      const expression = gen();
      let image: ProgramImage;
      try {
        image = compilePcapFilter(expression).image;
      } catch {
        continue; // refused, as libpcap refuses it (errors.test.ts, filters-tsv.test.ts)
      }
      checked++;
      expect(repeatedLoads(image), expression).toEqual([]);
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("shares the port comparisons of the IPv4 and IPv6 paths, as libpcap's optimizer does", () => {
    const { image } = compilePcapFilter(TEN_PORTS);
    const compares = image.code.filter((i) => opcodeByCode(i.op)!.cond === "eq" || opcodeByCode(i.op)!.cond === "ne").length;
    // IPv4 source and destination, IPv6 source: 10 each; IPv6's destination chain after its first jeq is IPv4's
    expect(compares).toBeLessThan(40);
  });
});
