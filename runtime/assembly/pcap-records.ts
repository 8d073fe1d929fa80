// Classic pcap records read straight into the frames area (hostctl's capture fast path): build the batch
// descriptors from the 16-byte record headers, and after the program ran, move the kept records together. Done
// here rather than in JavaScript because it touches every record: one pass in Wasm instead of a cold JS loop.
// Offsets are relative to the frames area of the prepared batch (interp.framesBase); record header fields are
// little-endian u32: seconds, fraction, captured length, wire length.
import { descBase, framesBase, resVerdict } from "./interp";

const RECORD_HEADER: u32 = 16;

/** Why indexPcapRecords stopped: the next record is not all there yet, its captured length is over the
 *  maximum (the file is bad), or the batch is full. */
export const STOP_NEED_BYTES: u32 = 0;
export const STOP_BAD_LENGTH: u32 = 1;
export const STOP_BATCH_FULL: u32 = 2;

let stopReason: u32 = STOP_NEED_BYTES;
let nextRecord: u32 = 0;
let keptRecords: u32 = 0;

/**
 * Describe the complete records in [at, end) of the frames area, up to `maxCount`: descriptor i gets the
 * record's data offset, its captured length cut to `snaplen` (as libpcap reads it), its wire length, port and
 * direction 0. Returns how many; pcapStop() says why it stopped and pcapNext() where.
 */
export function indexPcapRecords(at: u32, end: u32, snaplen: u32, maxCaplen: u32, maxCount: u32): u32 {
  let n: u32 = 0;
  let stop = STOP_BATCH_FULL;
  while (n < maxCount) {
    if (end - at < RECORD_HEADER) {
      stop = STOP_NEED_BYTES;
      break;
    }
    const record = framesBase + <usize>at;
    const caplen = load<u32>(record, 8);
    if (caplen > maxCaplen) {
      stop = STOP_BAD_LENGTH;
      break;
    }
    if (end - at - RECORD_HEADER < caplen) {
      stop = STOP_NEED_BYTES;
      break;
    }
    const d = descBase + (<usize>n << 4);
    store<u32>(d, at + RECORD_HEADER);
    store<u32>(d, caplen > snaplen ? snaplen : caplen, 4);
    store<u32>(d, load<u32>(record, 12), 8);
    store<u32>(d, 0, 12);
    at += RECORD_HEADER + caplen;
    n++;
  }
  stopReason = stop;
  nextRecord = at;
  return n;
}

/** Why the last indexPcapRecords stopped (STOP_*). */
export function pcapStop(): u32 {
  return stopReason;
}

/** Offset of the first record the last indexPcapRecords did not describe. */
export function pcapNext(): u32 {
  return nextRecord;
}

/**
 * Move the records of descriptors [0, count) that are kept — verdict 1 when `filtered`, else all — down to
 * offset `to`, in order, at most `limit` of them; a record longer than `snaplen` is cut to it (its captured
 * length rewritten), as libpcap hands it on. Returns the offset after the last one moved; pcapKept() says how
 * many were kept.
 */
export function compactPcapRecords(count: u32, to: u32, snaplen: u32, limit: u32, filtered: bool): u32 {
  let kept: u32 = 0;
  // a run of adjacent kept records moves in one copy
  let runStart: u32 = 0;
  let runEnd: u32 = 0;
  for (let i: u32 = 0; i < count && kept < limit; i++) {
    // a pcap filter keeps a packet when its verdict is 1; a fault is a drop
    if (filtered && load<u32>(resVerdict + (<usize>i << 2)) != 1) continue;
    kept++;
    const at = load<u32>(descBase + (<usize>i << 4)) - RECORD_HEADER;
    const caplen = load<u32>(framesBase + <usize>at, 8);
    if (caplen <= snaplen) {
      if (at != runEnd) {
        to = moveRun(to, runStart, runEnd);
        runStart = at;
      }
      runEnd = at + RECORD_HEADER + caplen;
      continue;
    }
    to = moveRun(to, runStart, runEnd);
    runStart = runEnd = 0;
    const size = RECORD_HEADER + snaplen;
    memory.copy(framesBase + <usize>to, framesBase + <usize>at, size);
    store<u32>(framesBase + <usize>to, snaplen, 8);
    to += size;
  }
  keptRecords = kept;
  return moveRun(to, runStart, runEnd);
}

/** How many records the last compactPcapRecords kept. */
export function pcapKept(): u32 {
  return keptRecords;
}

// @ts-ignore: decorator
@inline function moveRun(to: u32, start: u32, end: u32): u32 {
  const length = end - start;
  if (length != 0 && start != to) memory.copy(framesBase + <usize>to, framesBase + <usize>start, length);
  return to + length;
}
