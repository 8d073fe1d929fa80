// Bump allocation of the dynamic region above the compiler's static data. The stub runtime never frees, so the
// VM lays out its own memory: a fixed staging area for program images, then (rebuilt on every program load)
// the decoded program, tables, counters, and finally the batch area, which grows with the batch. Memory grows
// on demand and never shrinks.

/** Largest image the staging area takes: header, 64 table declarations, 4096 constants, 32768 words. */
export const STAGE_CAPACITY: usize = 32 + 64 * 24 + 4096 * 16 + 32768 * 8;

// @ts-ignore: decorator
@inline export function alignUp(p: usize, a: usize): usize {
  return (p + a - 1) & ~(a - 1);
}

export const STAGE: usize = alignUp(__heap_base, 64);
/** Start of the region rebuilt on each program load. */
export const DYN_START: usize = alignUp(STAGE + STAGE_CAPACITY, 64);

let top: usize = DYN_START;

/** Make sure [0, end) is addressable; false when memory cannot grow that far. */
export function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >> 16);
  return memory.grow(pages) >= 0;
}

/** Forget every dynamic allocation (a new program is being laid out). */
export function resetHeap(): void {
  top = DYN_START;
}

/** Reserve `bytes` (64-byte aligned, zeroed); 0 when memory is exhausted. */
export function allocate(bytes: usize): usize {
  const at = top;
  const end = alignUp(at + bytes, 64);
  if (end < at || end > 0xffff0000) return 0; // wraps or beyond 4 GiB
  if (!ensureMemory(end)) return 0;
  memory.fill(at, 0, end - at);
  top = end;
  return at;
}

/** First byte after the last allocation: the batch area starts here. */
export function heapTop(): usize {
  return top;
}
