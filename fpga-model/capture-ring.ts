/**
 * The capture ring: a bounded ring of packet copies (the program's mirror bit, or the tap of a whole
 * direction). The device produces at HEAD, the host consumes by writing TAIL; a full ring drops the copy and
 * counts it, never overwriting what the host has not read.
 */
import type { CaptureRecord } from "./packets.js";

export class CaptureRing {
  private readonly slots: (CaptureRecord | undefined)[];
  head = 0;
  tail = 0;
  drops = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }

  get used(): number {
    return this.head - this.tail;
  }

  /** Add a copy; false (and counted) when the ring is full. */
  push(record: Omit<CaptureRecord, "index">): boolean {
    if (this.used >= this.capacity) {
      this.drops++;
      return false;
    }
    const index = this.head;
    this.slots[index % this.capacity] = { ...record, index };
    this.head = index + 1;
    return true;
  }

  /** Entries [from, head), at most max, that the host has not released yet. */
  read(from: number, max: number): CaptureRecord[] {
    const out: CaptureRecord[] = [];
    for (let i = Math.max(from, this.tail); i < this.head && out.length < max; i++) out.push(this.slots[i % this.capacity]!);
    return out;
  }

  /** The host has consumed everything before `index` (tail ≤ index ≤ head, checked by the caller). */
  release(index: number): void {
    for (let i = this.tail; i < index; i++) this.slots[i % this.capacity] = undefined;
    this.tail = index;
  }

  clear(): void {
    this.release(this.head);
  }
}
