/**
 * Connection rings: each open connection has a receive ring and a transmit ring of descriptors in host memory,
 * carved out of the queue memory the kernel reserved for the NIC (QMEM_BYTES; 2048 bytes per descriptor — one
 * MTU-sized buffer, as a real NIC's rings use them). A connection that would not fit is refused at setup
 * (ERR.QUEUE_MEMORY), never half-made.
 *
 * Receive: the NIC produces at head (CP_RX_HEAD), the application consumes by writing CP_RX_TAIL; a full ring
 * drops the packet and counts it. Transmit: the application writes frames into the free descriptors
 * [tail, head + slots) of host memory, then rings the doorbell (CP_TX_TAIL); the NIC fetches [fetched, tail) into
 * its receive FIFO as egress packets and completes them in order (CP_TX_HEAD) once the overlay judged them.
 */
import type { ConnRecord } from "./packets.js";

/** Bytes of queue memory one descriptor takes (its buffer). */
export const SLOT_BYTES = 2048;
export const MIN_RING_SLOTS = 2;
export const MAX_RING_SLOTS = 4096;
export const DEFAULT_RING_SLOTS = 64;

export function validRingSlots(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_RING_SLOTS && n <= MAX_RING_SLOTS && (n & (n - 1)) === 0;
}

/** The host memory reserved for connection rings: a byte budget rings are allocated from and returned to. */
export class QueueMemory {
  free: number;

  constructor(readonly total: number) {
    this.free = total;
  }

  /** Take `bytes`; false (nothing taken) when they do not fit. */
  allocate(bytes: number): boolean {
    if (bytes > this.free) return false;
    this.free -= bytes;
    return true;
  }

  release(bytes: number): void {
    this.free = Math.min(this.total, this.free + bytes);
  }
}

export class RxRing {
  private readonly slots: (ConnRecord | undefined)[];
  head = 0;
  tail = 0;
  drops = 0;
  packets = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }

  get empty(): boolean {
    return this.head === this.tail;
  }

  /** Append a packet (its bytes are copied into the ring's buffer); false (and counted) when the ring is full. */
  push(conn: number, generation: number, mark: number, timeUs: number, wireLength: number, frame: Uint8Array): boolean {
    if (this.head - this.tail >= this.capacity) {
      this.drops++;
      return false;
    }
    // one shape for every record (an object literal, not a spread: this is the per-packet path)
    this.slots[this.head % this.capacity] = { index: this.head, conn, generation, mark, timeUs, wireLength, data: frame.slice() };
    this.head++;
    this.packets++;
    return true;
  }

  read(from: number, max: number): ConnRecord[] {
    const out: ConnRecord[] = [];
    for (let i = Math.max(from, this.tail); i < this.head && out.length < max; i++) out.push(this.slots[i % this.capacity]!);
    return out;
  }

  release(index: number): void {
    for (let i = this.tail; i < index; i++) this.slots[i % this.capacity] = undefined;
    this.tail = index;
  }
}

export class TxRing {
  private readonly slots: (Uint8Array | undefined)[];
  /** doorbell: descriptors the application has posted */
  tail = 0;
  /** descriptors the NIC has fetched into its FIFO */
  fetched = 0;
  /** descriptors the NIC has completed (CP_TX_HEAD) */
  head = 0;
  sent = 0;
  dropped = 0;
  refused = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }

  /** Free descriptors the application may write: [tail, head + capacity). */
  get space(): number {
    return this.head + this.capacity - this.tail;
  }

  /** Host-memory write of descriptor `index` (must be free: tail ≤ index < head + capacity). */
  write(index: number, frame: Uint8Array): boolean {
    if (!Number.isInteger(index) || index < this.tail || index >= this.head + this.capacity) return false;
    this.slots[index % this.capacity] = frame;
    return true;
  }

  /** The NIC fetches every posted descriptor it has not taken yet; each slot is emptied as it is taken. */
  fetch(): { first: number; frames: (Uint8Array | undefined)[] } {
    const first = this.fetched;
    const frames: (Uint8Array | undefined)[] = [];
    for (let i = this.fetched; i < this.tail; i++) {
      frames.push(this.slots[i % this.capacity]);
      this.slots[i % this.capacity] = undefined;
    }
    this.fetched = this.tail;
    return { first, frames };
  }

  /** One fetched descriptor is done; true when that drained the ring (nothing posted is left unfinished). */
  complete(): boolean {
    this.head++;
    return this.head === this.tail;
  }
}
