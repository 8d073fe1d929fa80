/**
 * The whole pcap-filter oracle (../shared/corpus/filters/oracle.tsv: 250 expressions × 84 Ethernet captures,
 * and oracle-other-linktypes.tsv: the same expressions × 15 captures of other link types) on both tiers: every
 * row's matching packets are tcpdump's, and the JIT answers packet for packet what the interpreter answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERDICT_KIND } from "../../overlay-isa/index.js";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { createJitRunner, stopJitCompiler } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { byExpression, capture, readOracle, type OracleRow } from "./oracle.js";

let interp: OverlayVM;
let jit: OverlayVM;
beforeAll(() => {
  interp = OverlayVM.createSync();
  jit = OverlayVM.createSync();
});
afterAll(async () => {
  await stopJitCompiler();
});

function matches(verdicts: Uint32Array): Set<number> {
  const out = new Set<number>();
  verdicts.forEach((v, i) => {
    if ((v & 0xff) === VERDICT_KIND.accept) out.add(i + 1);
  });
  return out;
}

function show(set: Set<number>): string {
  const list = [...set].sort((a, b) => a - b);
  return list.length > 12 ? `${list.slice(0, 12).join(",")},… (${list.length})` : list.join(",") || "-";
}

/** Every mismatch of one oracle file, as readable lines (an empty list when all rows pass on both tiers). */
function checkOracle(file: string): { rows: number; jitCompiles: number; problems: string[] } {
  const problems: string[] = [];
  let rows = 0;
  let jitCompiles = 0;
  for (const [expression, list] of byExpression(readOracle(file))) {
    // a file's link type decides the program: compile once per link type
    const byLinktype = new Map<number, OracleRow[]>();
    for (const r of list) {
      const packets = capture(r.pcap);
      const linktype = packets[0]?.linktype ?? 1;
      byLinktype.set(linktype, [...(byLinktype.get(linktype) ?? []), r]);
    }
    for (const [linktype, group] of byLinktype) {
      let image;
      try {
        image = compilePcapFilter(expression, { linktype }).image;
      } catch (e) {
        for (const r of group) {
          rows++;
          if (!r.error) problems.push(`${r.pcap} «${expression}»: tcpdump compiles it, we refuse it: ${(e as Error).message.split("\n")[0]}`);
        }
        continue;
      }
      interp.load(image);
      jit.load(image);
      createJitRunner(jit);
      jitCompiles++;
      for (const r of group) {
        rows++;
        if (r.error) {
          problems.push(`${r.pcap} «${expression}»: tcpdump refuses it (${r.error}), we compile it`);
          continue;
        }
        const packets = capture(r.pcap);
        const frames = packets.map((p) => p.data);
        const opts = { wireLengths: packets.map((p) => p.wireLength), linktype };
        const a = interp.run(frames, opts);
        const b = jit.run(frames, opts);
        for (let i = 0; i < frames.length; i++) {
          if (a.verdicts[i] !== b.verdicts[i] || a.faults[i] !== b.faults[i]) {
            problems.push(`${r.pcap} «${expression}» packet ${i + 1}: interpreter ${a.verdicts[i]}/${a.faults[i]}, JIT ${b.verdicts[i]}/${b.faults[i]} (verdict/fault)`);
            break;
          }
        }
        const got = matches(b.verdicts);
        const want = r.matching!;
        if (got.size !== want.size || [...got].some((i) => !want.has(i))) problems.push(`${r.pcap} «${expression}»: JIT matches ${show(got)}, tcpdump ${show(want)}`);
      }
    }
  }
  return { rows, jitCompiles, problems };
}

describe("pcap-filter oracle on the JIT tier", () => {
  for (const file of ["oracle.tsv", "oracle-other-linktypes.tsv"]) {
    it(`${file}: every row matches tcpdump, and the JIT equals the interpreter`, () => {
      const { rows, jitCompiles, problems } = checkOracle(file);
      expect(rows).toBe(readOracle(file).length);
      expect(jitCompiles).toBeGreaterThan(200);
      expect(problems.slice(0, 25), `${problems.length} problem rows`).toEqual([]);
    });
  }
});
