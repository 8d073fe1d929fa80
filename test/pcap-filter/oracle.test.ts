/**
 * tcpdump 4.99.3 / libpcap 1.10.3 ground truth: every row of ../shared/corpus/filters/oracle.tsv (250
 * expressions × 84 Ethernet captures) and oracle-other-linktypes.tsv (the same expressions × 15 captures of
 * RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2 and NULL) must give the same packets through compileFilter() on the
 * overlay VM. An ERROR row must be a compile error, or, for "expression rejects all packets", match nothing.
 * Each expression compiles once per link type and each capture is read once; a capture runs as one batch.
 */
import { describe, expect, it } from "vitest";
import { compileFilter, type CompiledFilter } from "../../index.js";
import { capture, expandPackets, matchedPackets, readTsv } from "./corpus.js";

function checkOracle(file: string): { rows: number; mismatches: string[] } {
  const rows = readTsv(file);
  const filters = new Map<string, CompiledFilter | Error>();
  const mismatches: string[] = [];
  for (const [pcap, expression, , count, matching] of rows as [string, string, string, string, string][]) {
    const c = capture(pcap);
    const key = `${c.linktype}\t${expression}`;
    let filter = filters.get(key);
    if (filter === undefined) {
      try {
        filter = compileFilter(expression, { linktype: c.linktype });
      } catch (e) {
        filter = e as Error;
      }
      filters.set(key, filter);
    }
    let ok: boolean;
    let got: string;
    if (filter instanceof Error) {
      got = `error: ${filter.message.split("\n")[0]}`;
      ok = count === "ERROR";
    } else {
      got = matchedPackets(filter.matchMany(c.frames, c.wireLengths));
      ok = count === "ERROR" ? matching.includes("rejects all packets") && got === "" : got === expandPackets(matching);
    }
    if (!ok) mismatches.push(`${pcap} ${JSON.stringify(expression)}: tcpdump ${count === "ERROR" ? matching : expandPackets(matching)}, kopi ${got}`);
  }
  return { rows: rows.length, mismatches };
}

describe("pcap-filter against tcpdump's oracle", () => {
  it("agrees on all 21,000 rows of oracle.tsv (Ethernet)", () => {
    const { rows, mismatches } = checkOracle("oracle.tsv");
    expect(rows).toBe(21000);
    expect(mismatches).toEqual([]);
  });

  it("agrees on every row of oracle-other-linktypes.tsv (RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, NULL)", () => {
    const { rows, mismatches } = checkOracle("oracle-other-linktypes.tsv");
    expect(rows).toBe(3750);
    expect(mismatches).toEqual([]);
  });
});
