/**
 * The parser and interpreter over all 124 captures of ../shared/corpus/pcaps: nothing traps, and for every
 * capture's first 20 packets (link types the parser knows) the vector agrees with tshark's dissection.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { findPackageRoot } from "../../runtime/wasm-module.js";
import { CaptureFormatError, readCapture, type CapturedPacket } from "./capture-reader.js";
import { compareWithTshark } from "./tshark-compare.js";
import { tsharkAvailable, tsharkDissect } from "./tshark.js";

const CORPUS = join(findPackageRoot(), "..", "shared", "corpus", "pcaps");
const PARSED_LINKTYPES = new Set([0, 1, 12, 101, 108, 113, 228, 229, 276]);
const SAMPLE = 20;

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.pcap(ng)?$/.test(e)) out.push(p);
  }
  return out;
}

interface Capture {
  name: string;
  packets: CapturedPacket[];
}

const files = captureFiles(CORPUS);
const captures: Capture[] = [];
const unreadable: string[] = [];
let vm: OverlayVM;

beforeAll(() => {
  vm = OverlayVM.createSync();
  for (const f of files) {
    const name = relative(CORPUS, f);
    try {
      captures.push({ name, packets: readCapture(f) });
    } catch (e) {
      if (!(e instanceof CaptureFormatError)) throw e;
      unreadable.push(name);
    }
  }
});

// reads every header field it can name and loads relative to every base, so the parser and all load paths run
const EVERYTHING = assemble(`
.counters 4
  ldf r1, pkt.hdrs
  ldf r2, l4.dport
  ldf r3, payload.len
  count c0, r3
  ldb r4, [l3 + 0]
  count c1, r4
  ldh r5, [l4 + 2]
  count c2, r5
  ldb r6, [payload + 0]
  count c3, r6
  exit accept
`).image;

describe("the corpus", () => {
  it("has all 124 captures, and only files meant to be invalid are unreadable", () => {
    expect(files.length).toBe(124);
    expect(unreadable.every((n) => n.startsWith("invalid-files/")), unreadable.join(", ")).toBe(true);
    expect(captures.reduce((n, c) => n + c.packets.length, 0)).toBeGreaterThan(4500);
  });

  it("every packet of every capture runs through the parser and the interpreter without a trap", () => {
    vm.load(EVERYTHING);
    let packets = 0;
    let faults = 0;
    for (const c of captures) {
      const byLink = new Map<number, CapturedPacket[]>();
      for (const p of c.packets) byLink.set(p.linktype, [...(byLink.get(p.linktype) ?? []), p]);
      for (const [linktype, list] of byLink) {
        const r = vm.run(
          list.map((p) => p.data),
          { wireLengths: list.map((p) => p.wireLength), linktype },
        );
        packets += list.length;
        for (let i = 0; i < list.length; i++) {
          // only a raw load past the captured bytes or relative to an absent header may fault this program
          if (r.faults[i]) faults++;
          else expect(r.verdicts[i]).toBe(1);
        }
        for (const p of list) vm.parseHeaders(p.data, p.wireLength, linktype);
      }
    }
    expect(packets).toBeGreaterThan(4500);
    expect(faults).toBeLessThan(packets);
  });

  it("agrees with tshark on the first 20 packets of each capture", () => {
    if (!tsharkAvailable()) throw new Error("tshark is not installed: install it (apt-get install tshark) to run the parser cross-check");
    const byLink = new Map<number, { name: string; index: number; packet: CapturedPacket }[]>();
    for (const c of captures) {
      c.packets.slice(0, SAMPLE).forEach((packet, index) => {
        if (!PARSED_LINKTYPES.has(packet.linktype)) return;
        byLink.set(packet.linktype, [...(byLink.get(packet.linktype) ?? []), { name: c.name, index, packet }]);
      });
    }
    let compared = 0;
    let checkedPackets = 0;
    const problems: string[] = [];
    for (const [linktype, list] of byLink) {
      const rows = tsharkDissect(linktype, list.map((x) => x.packet));
      expect(rows.length, `tshark rows for link type ${linktype}`).toBe(list.length);
      list.forEach((x, i) => {
        const vector = vm.parseHeaders(x.packet.data, x.packet.wireLength, linktype);
        const r = compareWithTshark(rows[i]!, vector);
        compared += r.compared;
        checkedPackets++;
        for (const m of r.mismatches) problems.push(`${x.name} #${x.index + 1} (${rows[i]!["frame.protocols"]}): ${m.field} tshark ${m.tshark}, VM ${m.vm}`);
      });
    }
    expect(problems).toEqual([]);
    // the comparison must have had something to compare: Ethernet alone gives over 600 packets
    expect(byLink.get(1)!.length).toBeGreaterThan(600);
    expect([...byLink.keys()].sort((a, b) => a - b)).toEqual([0, 1, 101, 113, 228, 229, 276]);
    expect(compared).toBeGreaterThan(8000);
    expect(checkedPackets).toBeGreaterThan(650);
  });

  it("a cut packet parses the same whatever bytes lie past its captured length", () => {
    let cuts = 0;
    for (const c of captures) {
      for (const p of c.packets.slice(0, SAMPLE)) {
        if (!PARSED_LINKTYPES.has(p.linktype)) continue;
        const junk = new Uint8Array(p.data.length).fill(0xff);
        for (let k = 0; k < Math.min(p.data.length, 140); k += 3) {
          const cut = p.data.subarray(0, k);
          vm.parseHeaders(p.data, p.wireLength, p.linktype); // leaves the whole packet in VM memory past the cut …
          const afterReal = vm.parseHeaders(cut, p.wireLength, p.linktype);
          vm.parseHeaders(junk, p.wireLength, p.linktype); // … or 0xff bytes
          const afterJunk = vm.parseHeaders(cut, p.wireLength, p.linktype);
          for (const [field, value] of afterReal) {
            if (afterJunk.get(field) !== value) expect([...afterJunk], `${c.name}: cut at ${k}, field ${field}`).toEqual([...afterReal]);
          }
          cuts++;
        }
      }
    }
    expect(cuts).toBeGreaterThan(10000);
  });
});
