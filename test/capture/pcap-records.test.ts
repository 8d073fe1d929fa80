/**
 * The VM's classic-pcap record functions (runtime/assembly/pcap-records.ts, OverlayVM.indexPcapRecords and
 * compactPcapRecords) that the capture fast path runs on every chunk, against a plain reading of the records:
 * descriptors, where and why indexing stops, and the kept records moved together and cut to the snapshot length.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFilter } from "../../index.js";
import { OverlayVM, type InPlaceBatch } from "../../runtime/vm.js";

interface Rec {
  caplen: number;
  wire: number;
  /** the frame's bytes: a TCP or UDP segment to `port` */
  data: Uint8Array;
}

function frame(caplen: number, udp: boolean, port: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(caplen, 60));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + salt) & 0xff;
  const view = new DataView(bytes.buffer);
  view.setUint16(12, 0x0800);
  bytes[14] = 0x45;
  view.setUint16(20, 0); // not a fragment
  bytes[23] = udp ? 17 : 6;
  view.setUint16(36, port);
  return bytes.subarray(0, caplen);
}

const record = fc
  .record({ caplen: fc.integer({ min: 0, max: 300 }), extra: fc.integer({ min: 0, max: 40 }), udp: fc.boolean(), port: fc.constantFrom(53, 80, 443), salt: fc.nat(255) })
  .map(({ caplen, extra, udp, port, salt }): Rec => ({ caplen, wire: caplen + extra, data: frame(caplen, udp, port, salt) }));

/** The records laid out as in a file, from `at` in the batch's frames area; returns the end offset. */
function layOut(vm: OverlayVM, area: InPlaceBatch, records: readonly Rec[], at: number): number {
  const bytes = new Uint8Array(vm.memory.buffer, area.frames, area.frameBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  records.forEach((r, i) => {
    view.setUint32(at, 1_700_000_000 + i, true);
    view.setUint32(at + 4, i * 1000, true);
    view.setUint32(at + 8, r.caplen, true);
    view.setUint32(at + 12, r.wire, true);
    bytes.set(r.data, at + 16);
    at += 16 + r.caplen;
  });
  return at;
}

/** What compaction must produce: the kept records (at most `limit`), each cut to `snaplen`, back to back. */
function expectedBytes(records: readonly Rec[], keep: (r: Rec) => boolean, snaplen: number, limit: number): number[] {
  const out: number[] = [];
  let kept = 0;
  records.forEach((r, i) => {
    if (kept >= limit || !keep(r)) return;
    kept++;
    const caplen = Math.min(r.caplen, snaplen);
    const header = new DataView(new ArrayBuffer(16));
    header.setUint32(0, 1_700_000_000 + i, true);
    header.setUint32(4, i * 1000, true);
    header.setUint32(8, caplen, true);
    header.setUint32(12, r.wire, true);
    out.push(...new Uint8Array(header.buffer), ...r.data.subarray(0, caplen));
  });
  return out;
}

const FILTER = "tcp port 80 or udp port 53";

describe("OverlayVM.indexPcapRecords and compactPcapRecords", () => {
  it("describe whole records, filter them and move the kept ones together, cut to the snapshot length", () => {
    const filter = compileFilter(FILTER, { linktype: 1 });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 1, max: 320 }),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 200 }),
        (records, snaplen, limit, filtered, start) => {
          const vm = OverlayVM.createSync();
          vm.load(filter.program);
          const area = vm.prepareInPlace(64, 64 * 1024);
          const end = layOut(vm, area, records, start);
          const index = vm.indexPcapRecords(area, start, end, snaplen, 400);
          expect(index).toEqual({ count: records.length, next: end, stop: "need-bytes" });
          const descriptors = new Uint32Array(vm.memory.buffer, area.descriptors, 4 * records.length);
          let at = start;
          records.forEach((r, i) => {
            expect([...descriptors.subarray(4 * i, 4 * i + 4)]).toEqual([at + 16, Math.min(r.caplen, snaplen), r.wire, 0]);
            at += 16 + r.caplen;
          });
          if (filtered && records.length > 0) vm.runInPlace(area, records.length, 1);
          const to = start >> 1; // kept records move down, over the space before them and over dropped ones
          const keep = (r: Rec) => !filtered || filter.matches(r.data.subarray(0, Math.min(r.caplen, snaplen)), r.wire);
          const expected = expectedBytes(records, keep, snaplen, limit);
          const moved = vm.compactPcapRecords(area, records.length, to, snaplen, limit, filtered);
          expect(moved.end - to).toBe(expected.length);
          expect(moved.kept).toBe(Math.min(limit, records.filter(keep).length));
          expect([...new Uint8Array(vm.memory.buffer, area.frames + to, expected.length)]).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("stops at a record that is not all there, at a bad captured length, and when the batch is full", () => {
    const vm = OverlayVM.createSync();
    const area = vm.prepareInPlace(4, 64 * 1024);
    const records = Array.from({ length: 6 }, (_, i): Rec => ({ caplen: 60 + i, wire: 60 + i, data: frame(60 + i, false, 80, i) }));
    const end = layOut(vm, area, records, 0);
    const starts = records.map((_, i) => records.slice(0, i).reduce((sum, r) => sum + 16 + r.caplen, 0));
    expect(vm.indexPcapRecords(area, 0, end, 262144, 262144)).toEqual({ count: 4, next: starts[4], stop: "batch-full" });
    expect(vm.indexPcapRecords(area, starts[4]!, end, 262144, 262144)).toEqual({ count: 2, next: end, stop: "need-bytes" });
    // the last record's header, or its data, cut off
    expect(vm.indexPcapRecords(area, starts[4]!, starts[5]! + 15, 262144, 262144)).toEqual({ count: 1, next: starts[5], stop: "need-bytes" });
    expect(vm.indexPcapRecords(area, starts[4]!, end - 1, 262144, 262144)).toEqual({ count: 1, next: starts[5], stop: "need-bytes" });
    // a captured length over the maximum stops before the record, even when its bytes are not all there
    expect(vm.indexPcapRecords(area, 0, end, 262144, 62)).toEqual({ count: 3, next: starts[3], stop: "bad-length" });
    expect(vm.indexPcapRecords(area, starts[3]!, starts[3]! + 16, 262144, 62)).toEqual({ count: 0, next: starts[3], stop: "bad-length" });
    expect(vm.indexPcapRecords(area, end, end, 262144, 262144)).toEqual({ count: 0, next: end, stop: "need-bytes" });
  });

  it("refuse a stale area and offsets outside it", () => {
    const vm = OverlayVM.createSync();
    const area = vm.prepareInPlace(4, 1024);
    expect(() => vm.indexPcapRecords(area, 0, 2048, 100, 100)).toThrow(/end must be/);
    expect(() => vm.indexPcapRecords(area, 100, 50, 100, 100)).toThrow(/start must be/);
    expect(() => vm.compactPcapRecords(area, 5, 0, 100, 1, false)).toThrow(/record count/);
    expect(() => vm.compactPcapRecords(area, 0, 0, 100, -1, false)).toThrow(/limit/);
    vm.prepareInPlace(4, 1024);
    expect(() => vm.indexPcapRecords(area, 0, 0, 100, 100)).toThrow(/overwritten/);
  });
});
