/**
 * libpcap's own compile/reject expectations (../shared/corpus/filters/filters.tsv), checked against what libpcap
 * 1.10.3 said on the oracle machine (column local_libpcap_1_10_3, pcap_open_dead + pcap_compile): kopi must
 * compile what it compiled and refuse what it refused. The figure is printed; the bar is 99 %.
 */
import { describe, expect, it } from "vitest";
import { compilePcapFilter } from "../../compiler/pcap-filter/compile.js";
import { parseNetmask, readTsv, SUPPORTED_DLTS } from "./corpus.js";

interface Agreement {
  agree: number;
  total: number;
  disagreements: string[];
}

function agreement(dlts: readonly string[]): Agreement {
  const result: Agreement = { agree: 0, total: 0, disagreements: [] };
  for (const [expression, dlt, , netmask, , , , local] of readTsv("filters.tsv") as string[][] as [string, string, string, string, string, string, string, string][]) {
    if (!dlts.includes(dlt)) continue;
    if (local !== "compiles" && !local.startsWith("error")) continue;
    result.total++;
    let ours: string;
    try {
      // pcap_open_dead() is not a capture file, hence savefile: false (`inbound` then compiles, as it did there)
      compilePcapFilter(expression, { linktype: SUPPORTED_DLTS[dlt], netmask: parseNetmask(netmask), savefile: false });
      ours = "compiles";
    } catch (e) {
      ours = `error: ${(e as Error).message.split("\n")[0]}`;
    }
    if ((ours === "compiles") === (local === "compiles")) result.agree++;
    else result.disagreements.push(`${dlt} ${JSON.stringify(expression)}: libpcap ${local}; kopi ${ours}`);
  }
  return result;
}

const percent = (a: Agreement) => ((100 * a.agree) / a.total).toFixed(2);

describe("filters.tsv: compiles vs error, as libpcap 1.10.3 decided", () => {
  it("agrees on at least 99 % of the EN10MB rows", () => {
    const a = agreement(["EN10MB"]);
    console.log(`filters.tsv EN10MB: kopi agrees with libpcap 1.10.3 on ${a.agree} of ${a.total} rows (${percent(a)} %)`);
    for (const d of a.disagreements) console.log(`  ${d}`);
    expect(a.total).toBe(2650);
    expect(a.agree / a.total).toBeGreaterThanOrEqual(0.99);
  });

  it("agrees on at least 99 % of the rows of the other supported link types", () => {
    const a = agreement(Object.keys(SUPPORTED_DLTS).filter((d) => d !== "EN10MB"));
    console.log(`filters.tsv RAW/NULL/LINUX_SLL/LINUX_SLL2/IPV4/IPV6: ${a.agree} of ${a.total} rows (${percent(a)} %)`);
    for (const d of a.disagreements) console.log(`  ${d}`);
    expect(a.total).toBeGreaterThan(1000);
    expect(a.agree / a.total).toBeGreaterThanOrEqual(0.99);
  });
});
