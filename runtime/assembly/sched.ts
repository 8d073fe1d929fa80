// Scheduler events (runtime/sched/README.md): the loaded program runs once per packet arrival (enqueue) and
// whenever the link can take a packet (dequeue), with `sched.event` and `sched.now` set, against the queue
// model of sched-queues.ts. The program's verdict is the decision:
//
//   enqueue  `queue N`  put the packet into queue N at rank meta.prio
//            `drop`     refuse it (accounted to queue meta.class − 1 when meta.class names one)
//   dequeue  `queue N`  send the packet at the head of queue N
//            `accept`   run again at the same instant (the program changed state: a deficit round, a drop)
//            `drop`     nothing to send now; meta.scratch0 is when to ask again (0: at the next arrival)
//
// A fault counts and acts as `drop`. A dequeue that runs again more than AGAIN_LIMIT times in a row counts an
// overrun and reports "ask again now", so no program can stall the link model forever.
import {
  F_META_CLASS, F_META_MARK, F_META_PRIO, F_META_SCRATCH0, F_PKT_PRIORITY, F_SCHED_EVENT, F_SCHED_NOW, F_PKT_HDRS,
  F_IP_ECN, HDR_IPV4, HDR_IPV6, VERDICT_QUEUE, VERDICT_ACCEPT,
} from "./isa.generated";
import { slotAddr } from "./memory-map";
import { loaded } from "./loader";
import { clearMetadata, runOnce, framesBase } from "./interp";
import { parsePacket, writeMetadata } from "./parser";
import { setNow } from "./ratelimit";
import { countRefused, enqueuePacket, popHead, queueBase, lastHandle, droppedFromQueues } from "./sched-queues";

export const AGAIN_LIMIT: u32 = 65536;

// event statistics (host reads them with schedStat)
let offered: u64 = 0;
let refused: u64 = 0; // the program said drop
let overflow: u64 = 0; // queue N past the queue memory, or no descriptor left
let faults: u64 = 0;
let overruns: u64 = 0;
let emptyPops: u64 = 0; // dequeue named an empty queue
let dequeueRuns: u64 = 0;
/** when the last idle dequeue asked to be called again, ns (0: at the next arrival) */
let wake: u64 = 0;
/** the queue the last refused arrival was accounted to (0xffffffff: none) */
let refusedQueue: u32 = 0xffffffff;

export function resetSchedStats(): void {
  offered = 0;
  refused = 0;
  overflow = 0;
  faults = 0;
  overruns = 0;
  emptyPops = 0;
  dequeueRuns = 0;
  wake = 0;
}

export function schedStat(which: i32): u64 {
  switch (which) {
    case 0: return offered;
    case 1: return refused;
    case 2: return overflow;
    case 3: return faults;
    case 4: return overruns;
    case 5: return emptyPops;
    case 6: return dequeueRuns;
    case 7: return wake;
    case 8: return <u64>refusedQueue;
    case 9: return droppedFromQueues;
    default: return 0;
  }
}

// @ts-ignore: decorator
@inline function put(slot: i32, v: u64): void {
  store<u64>(slotAddr(slot), v);
}

// @ts-ignore: decorator
@inline function get(slot: i32): u64 {
  return load<u64>(slotAddr(slot));
}

function endEvent(): void {
  put(F_SCHED_EVENT, 0);
  put(F_SCHED_NOW, 0);
  put(F_PKT_PRIORITY, 0);
}

/**
 * A packet arrives: the frame (caplen bytes) is at the batch's frames area. `klass` is the classifier's result
 * (preset in meta.class), `mark` the packet's mark, `priority` its skb priority. Returns the queue the packet
 * went into, -1 when the program refused it, -2 when the queue model could not take it, -3 with no program.
 */
export function schedEnqueue(handle: u32, caplen: u32, wirelen: u32, linktype: u32, now: u64, klass: u32, mark: u32, priority: u32): i32 {
  if (!loaded || queueBase == 0) return -3;
  offered++;
  const frame = framesBase;
  writeMetadata(caplen, wirelen, 0, 1, linktype);
  parsePacket(frame, caplen, wirelen, linktype);
  clearMetadata();
  put(F_META_CLASS, <u64>klass);
  put(F_META_MARK, <u64>mark);
  put(F_PKT_PRIORITY, <u64>priority);
  put(F_SCHED_EVENT, 0);
  put(F_SCHED_NOW, now);
  setNow(now / 1000);
  const r = runOnce(frame, <u64>caplen);
  endEvent();
  const verdict = <u32>r;
  if (((r >> 32) & 1) != 0) {
    faults++;
    refusedQueue = 0xffffffff;
    countRefused(0xffffffff, handle, wirelen);
    return -1;
  }
  if ((verdict & 0xff) == VERDICT_QUEUE) {
    const q = verdict >> 8;
    const hdrs = get(F_PKT_HDRS);
    const isIp = (hdrs & <u64>(HDR_IPV4 | HDR_IPV6)) != 0;
    if (enqueuePacket(q, handle, wirelen, now, <u32>get(F_META_PRIO), <u32>get(F_IP_ECN), isIp)) return <i32>q;
    overflow++;
    refusedQueue = q;
    countRefused(q, handle, wirelen);
    return -2;
  }
  refused++;
  refusedQueue = <u32>get(F_META_CLASS) - 1;
  countRefused(refusedQueue, handle, wirelen);
  return -1;
}

/**
 * The link can take a packet at `now`: returns the handle of the packet it sends (its queue, length, enqueue
 * time and CE mark in the sched-queues last* values), or -1 when there is none now (schedStat(7): when to ask
 * again).
 */
export function schedDequeue(now: u64, linktype: u32): i64 {
  if (!loaded || queueBase == 0) return -1;
  const frame = framesBase;
  for (let n: u32 = 0; n < AGAIN_LIMIT; n++) {
    dequeueRuns++;
    writeMetadata(0, 0, 0, 1, linktype);
    parsePacket(frame, 0, 0, linktype); // no packet: every parsed field reads 0
    clearMetadata();
    put(F_SCHED_EVENT, 1);
    put(F_SCHED_NOW, now);
    setNow(now / 1000);
    const r = runOnce(frame, 0);
    const scratch = get(F_META_SCRATCH0);
    endEvent();
    const verdict = <u32>r;
    if (((r >> 32) & 1) != 0) {
      faults++;
      wake = 0;
      return -1;
    }
    if ((verdict & 0xff) == VERDICT_QUEUE) {
      if (popHead(verdict >> 8)) return <i64>lastHandle;
      emptyPops++;
      wake = 0;
      return -1;
    }
    if (verdict == VERDICT_ACCEPT) continue;
    wake = scratch;
    return -1;
  }
  overruns++;
  wake = now;
  return -1;
}
