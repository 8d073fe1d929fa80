/** The queue model's ordering and bounds (runtime/sched/README.md), driven by a small hand-written program. */
import { describe, expect, it } from "vitest";
import { assemble } from "../../overlay-isa/index.js";
import { ENQUEUE_OVERFLOW, ENQUEUE_REFUSED, SchedulerVM } from "../../runtime/sched/scheduler-vm.js";
import { frame } from "./harness.js";

// enqueue: rank = the skb priority, queue = the mark, refuse a mark of 9 (accounted to queue 1);
// dequeue: the first non-empty of queues 0 and 1
const PROGRAM = `
.kind scheduler
    ldf r0, sched.event
    jne r0, 0, deq
    ldf r1, pkt.priority
    stf meta.prio, r1
    ldf r2, meta.mark
    jeq r2, 9, refuse
    shl r3, r2, 8
    or r3, r3, 2
    exit r3
refuse:
    stf meta.class, 2
    exit drop
deq:
    mov r4, 0
    qlen r5, r4
    jne r5, 0, q0
    mov r4, 1
    qlen r5, r4
    jne r5, 0, q1
    stf meta.scratch0, 777
    exit drop
q0: exit queue 0
q1: exit queue 1
`;

function vm(packets = 16): SchedulerVM {
  const v = SchedulerVM.createSync();
  v.load(assemble(PROGRAM).image, { stateWords: 1, queues: 2, packets });
  return v;
}

describe("queue model", () => {
  const f = frame();
  it("orders each queue by rank, first in first out among equal ranks (a PIFO)", () => {
    const v = vm();
    [5, 3, 5, 1, 3].forEach((rank, h) => expect(v.enqueue(h, f, 100, h, 0, 0, rank)).toBe(0));
    const order: number[] = [];
    for (let d = v.dequeue(10); d; d = v.dequeue(10)) order.push(d.handle);
    expect(order).toEqual([3, 1, 4, 0, 2]);
    expect(v.wakeAt()).toBe(777);
  });

  it("reports what it sends: queue, length, enqueue time", () => {
    const v = vm();
    v.enqueue(42, f, 1234, 5000, 0, 1);
    expect(v.dequeue(9000)).toEqual({ handle: 42, queue: 1, length: 1234, enqueuedAt: 5000, ce: false });
  });

  it("is bounded: with every descriptor in use an arrival is refused and counted, never queued", () => {
    const v = vm(4);
    for (let h = 0; h < 4; h++) expect(v.enqueue(h, f, 100, 0, 0)).toBe(0);
    expect(v.enqueue(4, f, 100, 0, 0)).toBe(ENQUEUE_OVERFLOW);
    expect(v.events().overflow).toBe(1);
    expect(Array.from(v.takeDrops())).toEqual([4]);
    expect(v.backlogPackets).toBe(4);
    v.dequeue(1);
    expect(v.enqueue(5, f, 100, 0, 0)).toBe(0); // a freed descriptor is used again
  });

  it("accounts a refused packet to the queue its program names, and keeps offered = sent + dropped + backlog", () => {
    const v = vm();
    expect(v.enqueue(1, f, 300, 0, 0, 9)).toBe(ENQUEUE_REFUSED);
    expect(v.lastRefusedQueue()).toBe(1);
    expect(v.queue(1).droppedBytes).toBe(300);
    v.enqueue(2, f, 100, 0, 0, 0);
    v.enqueue(3, f, 100, 0, 0, 1);
    v.dequeue(1);
    const e = v.events();
    const sent = v.queues().reduce((n, q) => n + q.sentPackets, 0);
    expect(e.offered).toBe(3);
    expect(sent + e.refused + e.overflow + e.queueDrops + v.backlogPackets).toBe(e.offered);
  });

  it("refuses a program of another kind, and memory sizes past the limits", () => {
    const v = SchedulerVM.createSync();
    expect(() => v.load(assemble(".kind filter\n exit accept").image, { stateWords: 1, queues: 1, packets: 1 })).toThrow(/not a scheduler program/);
    expect(() => v.load(assemble(PROGRAM).image, { stateWords: 1, queues: 70000, packets: 1 })).toThrow(/out of range/);
  });
});
