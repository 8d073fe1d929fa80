// Token buckets for `limit rd, kN` (overlay-isa/opcodes.ts 0x90). The constant describes the bucket: bits 0..31
// burst, 32..63 tokens per interval, 64..95 interval in ms, 96..127 bucket id. Buckets live per constant-pool
// entry (the compiler interns one constant per limit statement, so a statement inlined twice shares one bucket)
// and are laid out when the program loads: a load starts every bucket full. Time is the packet's timestamp from
// the side input (packet-input.ts); packets without one all arrive at time 0, so only the burst passes.
//
// Bucket record (32 bytes): f64 tokens, f64 burst, f64 µs per token, u64 time of the last refill (µs).
import { allocate } from "./heap";

let bucketsBase: usize = 0;
let bucketsCount: u32 = 0;

/** Time of the packet being run, in µs (set per packet by packet-input.ts). */
export let nowUs: u64 = 0;

export function setNow(us: u64): void {
  nowUs = us;
}

/** Forget the buckets of the previous program (its memory is being reused by the load). */
export function beginLoad(): void {
  bucketsBase = 0;
  bucketsCount = 0;
}

/** The bucket of constant `index` (allocating this program's buckets on first use); 0 when out of memory. */
export function limitBucket(constBase: usize, index: u32, nConst: u32): usize {
  if (bucketsBase == 0) {
    bucketsBase = allocate(<usize>nConst * 32);
    if (bucketsBase == 0) return 0;
    bucketsCount = nConst;
  }
  const b = bucketsBase + (<usize>index << 5);
  if (load<f64>(b, 16) == 0) {
    // constants are 128-bit big-endian: bytes 12..15 burst, 8..11 rate, 4..7 interval (ms), 0..3 bucket id
    const c = constBase + <usize>index * 16;
    const burst = <f64>bswap<u32>(load<u32>(c, 12));
    const rate = <f64>bswap<u32>(load<u32>(c, 8));
    const intervalMs = <f64>bswap<u32>(load<u32>(c, 4));
    const perToken = rate > 0 ? (intervalMs * 1000) / rate : Infinity;
    store<f64>(b, burst < 1 ? 1 : burst);
    store<f64>(b, burst < 1 ? 1 : burst, 8);
    store<f64>(b, perToken > 0 ? perToken : 1e-9, 16);
    store<u64>(b, 0, 24);
  }
  return b;
}

/** Take a token from the bucket at `b`: 1 when there was one, else 0. */
export function limitTake(b: usize): u64 {
  let tokens = load<f64>(b);
  const last = load<u64>(b, 24);
  if (nowUs > last) {
    tokens += <f64>(nowUs - last) / load<f64>(b, 16);
    const cap = load<f64>(b, 8);
    if (tokens > cap) tokens = cap;
    store<u64>(b, nowUs, 24);
  }
  if (tokens >= 1) {
    store<f64>(b, tokens - 1);
    return 1;
  }
  store<f64>(b, tokens);
  return 0;
}
