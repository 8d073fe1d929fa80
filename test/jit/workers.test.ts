/**
 * The data path on worker threads (runtime/workers): a pool of 2 workers gives every packet the verdict,
 * fault, metadata and cycle count one VM gives it — ct.state included, so both directions of a conversation and
 * the ICMP errors about it must meet on one worker — and its merged counters equal the single VM's.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../overlay-isa/index.js";
import { stopJitCompiler } from "../../runtime/jit/index.js";
import { DataPathPool, flowHash, SharedBatch } from "../../runtime/workers/pool.js";
import { OverlayVM } from "../../runtime/vm.js";
import { ether, ipv4, ipv6, tcp, udp, bytes } from "../runtime/frames.js";
import { arbConversation } from "./flows.js";

/** Flow state, ports and lengths into marks, classes and indexed counters; drops some new flows. */
const PROGRAM = assemble(`
.kind policy
.counters 80
    ldf r1, ct.state
    ldf r2, pkt.len
    ldf r3, l4.dport
    ldf r4, pkt.hdrs
    count c0[r1], r2
    stf meta.mark, r1
    stf meta.class, r3
    jset r4, 0x8, arp            ; HDR.ARP
    jne r1, 8, pass              ; not NEW
    jeq r3, 5000, refuse         ; new flows to port 5000 are refused (and forgotten)
pass:
    count c70, r3
    exit accept
refuse:
    exit drop
arp:
    count c71, r2
    exit queue 3
`).image;

let single: OverlayVM;
let jitPool: DataPathPool;
let interpPool: DataPathPool;

beforeAll(async () => {
  single = OverlayVM.createSync();
  [jitPool, interpPool] = await Promise.all([DataPathPool.create({ workers: 2, image: PROGRAM, tier: "jit" }), DataPathPool.create({ workers: 2, image: PROGRAM, tier: "interpreter" })]);
});
afterAll(async () => {
  await Promise.all([jitPool?.close(), interpPool?.close()]);
  await stopJitCompiler();
});

describe("multi-core data path", () => {
  for (const which of ["jit", "interpreter"] as const) {
    it(`2 workers (${which}) answer every packet as one VM does, and their counters sum to its counters`, async () => {
      const pool = which === "jit" ? jitPool : interpPool;
      await fc.assert(
        fc.asyncProperty(arbConversation(80), async ({ frames, timesUs }) => {
          // fresh flow tables and counters on both sides
          single.load(PROGRAM);
          await pool.reload();
          const want = single.run(frames, { timesUs, cycles: true });
          const batch = pool.receive({ frames, timesUs });
          const got = await pool.run(batch, { cycles: true });
          // the RX stage put every packet on the queue its flow hashes to, and that worker ran it
          for (let i = 0; i < frames.length; i++) expect(got.queues[i]).toBe(pool.reta[flowHash(frames[i]!, 0, frames[i]!.length, 1) & 127]);
          expect(got.perWorker).toEqual([0, 1].map((q) => got.queues.filter((x) => x === q).length));
          expect(Array.from(got.verdicts)).toEqual(Array.from(want.verdicts));
          expect(Array.from(got.faults)).toEqual(Array.from(want.faults));
          expect(Array.from(got.marks)).toEqual(Array.from(want.marks));
          expect(Array.from(got.classes)).toEqual(Array.from(want.classes));
          expect(Array.from(got.cycles!)).toEqual(Array.from(want.cycles!));
          const counters = single.counters();
          expect(got.counters).toEqual(counters);
          expect(await pool.counters()).toEqual(counters);
          expect(got.perWorker.reduce((a, b) => a + b, 0)).toBe(frames.length);
        }),
        { numRuns: 25 },
      );
    });
  }

  it("spreads many flows over both workers", async () => {
    const frames = Array.from({ length: 2000 }, (_, i) => ether(0x0800, ipv4({ src: 0x0a000000 + i, dst: 0xc0a80001, proto: 17 }, udp(1000 + i, 53))));
    const r = await jitPool.run(jitPool.receive({ frames }));
    expect(r.perWorker.length).toBe(2);
    for (const n of r.perWorker) expect(n).toBeGreaterThan(700);
  });

  it("runs owner side input and wire lengths from the rings as one VM does", async () => {
    const image = assemble(`
.kind policy
.counters 4
    ldf r1, owner.uid
    ldf r2, pkt.len
    stf meta.mark, r1
    stf meta.class, r2
    count c0, r2
    exit accept
`).image;
    const frames = Array.from({ length: 300 }, (_, i) => ether(0x0800, ipv4({ src: 0x0a000000 + (i % 37), dst: 0xc0a80001, proto: 17 }, udp(1000 + i, 53))));
    const wireLengths = frames.map((f, i) => f.length + i);
    const owners = new Uint32Array(6 * frames.length).map((_, k) => (k % 6 === 1 ? 1000 + Math.floor(k / 6) : 0));
    const vm = OverlayVM.createSync();
    vm.load(image);
    const want = vm.run(frames, { wireLengths, owners });
    const pool = await DataPathPool.create({ workers: 2, image, tier: "jit" });
    try {
      const got = await pool.run(pool.receive({ frames, wireLengths, owners }));
      expect(new Set(got.queues).size).toBe(2);
      expect(Array.from(got.marks)).toEqual(Array.from(want.marks));
      expect(Array.from(got.classes)).toEqual(Array.from(want.classes));
      expect(got.counters).toEqual(vm.counters());
    } finally {
      await pool.close();
    }
  });

  it("keeps each queue's frames in arrival order, back to back", () => {
    const frames = Array.from({ length: 500 }, (_, i) => ether(0x0800, ipv4({ src: 0x0a000000 + (i % 11), dst: 0xc0a80001 + (i % 3), proto: 6 }, tcp(1000 + i, 80, 2, new Uint8Array(i % 29)))));
    const batch = jitPool.receive({ frames });
    const { ringStart, index, bytes, queueOf } = batch.data;
    const slots = new Uint32Array(index);
    const mem = new Uint8Array(bytes);
    const queues = new Uint8Array(queueOf);
    expect(ringStart).toEqual([0, queues.filter((q) => q === 0).length, frames.length]);
    for (let q = 0; q < 2; q++) {
      let last = -1;
      let at = slots[4 * ringStart[q]!]!;
      for (let s = ringStart[q]!; s < ringStart[q + 1]!; s++) {
        const arrival = slots[4 * s + 3]!;
        expect(arrival).toBeGreaterThan(last);
        expect(queues[arrival]).toBe(q);
        expect(slots[4 * s]).toBe(at);
        expect(Array.from(mem.subarray(at, at + slots[4 * s + 1]!))).toEqual(Array.from(frames[arrival]!));
        at += (frames[arrival]!.length + 7) & ~7;
        last = arrival;
      }
    }
  });

  it("a batch received into a recycled one's memory answers as a fresh one, with no results left over", async () => {
    const conversation = (k: number, count: number) => Array.from({ length: count }, (_, i) => ether(0x0800, ipv4({ src: 0x0a000000 + ((i * 7 + k) % 23), dst: 0xc0a80001, proto: 17 }, udp(1000 + i, 5000 + k))));
    const first = jitPool.receive({ frames: conversation(1, 400) });
    await jitPool.run(first);
    const frames = conversation(2, 250);
    await jitPool.reload();
    const fresh = await jitPool.run(jitPool.receive({ frames }));
    const want = { verdicts: Array.from(fresh.verdicts), marks: Array.from(fresh.marks), classes: Array.from(fresh.classes), counters: fresh.counters };
    await jitPool.reload();
    const recycled = jitPool.receive({ frames }, first);
    expect(recycled.data.bytes).toBe(first.data.bytes);
    expect(recycled.data.results.marks).toBe(first.data.results.marks);
    const got = await jitPool.run(recycled);
    expect(got.verdicts.length).toBe(250);
    expect({ verdicts: Array.from(got.verdicts), marks: Array.from(got.marks), classes: Array.from(got.classes), counters: got.counters }).toEqual(want);

    // a program that writes no metadata must not see the marks the last use left
    const plain = await DataPathPool.create({ workers: 2, image: assemble(".kind filter\n    exit accept").image, tier: "jit" });
    try {
      const again = await plain.run(plain.receive({ frames: frames.slice(0, 100) }, recycled));
      expect(Array.from(again.marks).every((m) => m === 0)).toBe(true);
      expect(Array.from(again.classes).every((c) => c === 0)).toBe(true);
    } finally {
      await plain.close();
    }
  });

  it("refuses a batch received for another number of queues", async () => {
    await expect(jitPool.run(SharedBatch.from({ frames: [ether(0x0800, ipv4({ src: 1, dst: 2, proto: 17 }, udp(1, 2)))] }))).rejects.toThrow("the batch was received onto 1 queue(s) but the pool has 2 workers");
  });
});

describe("flow steering", () => {
  const hash = (f: Uint8Array, linktype = 1) => flowHash(f, 0, f.length, linktype);

  it("both directions of a conversation hash alike (IPv4 and IPv6)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (a, b, a6, b6) => {
        expect(hash(ether(0x0800, ipv4({ src: a, dst: b }, tcp(1, 2, 2))))).toBe(hash(ether(0x0800, ipv4({ src: b, dst: a }, tcp(2, 1, 0x12)))));
        expect(hash(ether(0x86dd, ipv6({ src: a6, dst: b6 }, udp(1, 2))))).toBe(hash(ether(0x86dd, ipv6({ src: b6, dst: a6 }, udp(2, 1)))));
      }),
    );
  });

  it("an ICMP error hashes like the packet it quotes", () => {
    const quoted = ipv4({ src: 0x0a000001, dst: 0x08080808, proto: 17 }, udp(5000, 53));
    const error = ether(0x0800, ipv4({ src: 0xc0a80001, dst: 0x0a000001, proto: 1 }, bytes([3, 3, 0, 0, 0, 0, 0, 0], quoted)));
    expect(hash(error)).toBe(hash(ether(0x0800, quoted)));
    expect(hash(error)).not.toBe(hash(ether(0x0800, ipv4({ src: 0xc0a80001, dst: 0x0a000001, proto: 17 }, udp(1, 2)))));
  });

  it("finds the IP header behind VLAN tags and on other link types", () => {
    const ip = ipv4({ src: 0x01020304, dst: 0x05060708, proto: 6 }, tcp(1, 2, 2));
    const plain = hash(ether(0x0800, ip));
    expect(plain).not.toBe(0);
    expect(hash(bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0, 5, 0x08, 0x00], ip))).toBe(plain);
    expect(hash(ip, 101)).toBe(plain);
    expect(hash(ip, 228)).toBe(plain);
    expect(hash(bytes([2, 0, 0, 0], ip), 0)).toBe(plain);
    expect(hash(new Uint8Array(60))).toBe(0); // no IP header: queue 0
  });
});

describe("refusals", () => {
  it("a program with token buckets is refused on more than one worker, with the reason", async () => {
    const image = assemble(".kind policy\n.const B 0x0000000100000064000000010000000a\n    limit r1, B\n    jeq r1, 0, out\n    exit accept\nout:\n    exit drop").image;
    await expect(DataPathPool.create({ workers: 2, image })).rejects.toThrow("the program uses `limit` (token buckets): a bucket cannot be split over workers");
  });

  it("worker counts are checked", async () => {
    await expect(DataPathPool.create({ workers: 0, image: PROGRAM })).rejects.toThrow("workers must be an integer from 1 to 64, got 0");
  });
});
