/**
 * libpcap's per-packet filter expectations (../shared/corpus/filters/apply.tsv, its filter_apply tests on
 * savefiles): on the captures of a supported link type, wherever libpcap 1.10.3 itself reproduces them, kopi
 * must match exactly the same packets.
 */
import { describe, expect, it } from "vitest";
import { compileFilter } from "../../index.js";
import { SUPPORTED_LINKTYPES } from "../../compiler/pcap-filter/linktypes.js";
import { capture, matchedPackets, parseNetmask, readTsv } from "./corpus.js";

describe("apply.tsv: libpcap's own per-packet filter tests", () => {
  it("matches the same packets wherever libpcap 1.10.3 agrees with the expectation", () => {
    let checked = 0;
    const mismatches: string[] = [];
    for (const [savefile, expression, netmask, , matching, , local] of readTsv("apply.tsv") as [string, string, string, string, string, string, string][]) {
      const c = capture(savefile);
      if (local !== "agrees" || !SUPPORTED_LINKTYPES.includes(c.linktype)) continue;
      checked++;
      const want = matching === "-" ? "" : matching;
      let got: string;
      try {
        got = matchedPackets(compileFilter(expression, { linktype: c.linktype, netmask: parseNetmask(netmask) }).matchMany(c.frames, c.wireLengths));
      } catch (e) {
        got = `error: ${(e as Error).message.split("\n")[0]}`;
      }
      if (got !== want) mismatches.push(`${savefile} ${JSON.stringify(expression)}: libpcap ${want}, kopi ${got}`);
    }
    expect(checked).toBeGreaterThan(80);
    expect(mismatches).toEqual([]);
  });
});
