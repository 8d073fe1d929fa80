/**
 * An application's notification queue and its interrupt. The NIC appends an entry when one of the application's
 * rings receives data into an empty ring, when a transmit ring drains, when a `queue N` verdict delivers to it,
 * and when the policy generation changes. The application reads entries through its page (APP_NOTIFY_HEAD/TAIL);
 * a full queue loses the entry but counts it (APP_NOTIFY_DROPS), and a change of that count is an event too, so a
 * waiter comparing (head, drops) against what it saw never sleeps through an arrival.
 *
 * The interrupt is one-shot (MSI-X style, as a NAPI driver uses it): the kernel arms it with the notification
 * index it has seen (APPT_IRQ_ARM) when a waiter goes to sleep on a quiet queue; it fires at once if the queue
 * has moved past that index, else at the next notification, and disarms when it fires. A busy queue therefore
 * never interrupts; only sleepers cost an interrupt. Moderation (ethtool's rx-usecs / rx-frames): with
 * `usecs` 0 an armed interrupt fires at the first notification; otherwise it waits until `frames` notifications
 * have arrived since the first one, or `usecs` µs have passed since it, whichever comes first — the host's
 * moderation timer (NicDevice.tickInterrupts) fires the late ones.
 */
import type { AppNotification } from "./packets.js";

const U32 = 0x1_0000_0000;

export class NotificationQueue {
  private readonly slots: (AppNotification | undefined)[];
  head = 0;
  tail = 0;
  drops = 0;
  /** interrupt state */
  armed = false;
  usecs = 0;
  frames = 1;
  /** notifications since the armed interrupt's first pending one, and when that one came (µs) */
  private pending = 0;
  private firstPendingUs = 0;
  interrupts = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }

  /** µs at which a moderated interrupt is due, if one is waiting. */
  get dueUs(): number | undefined {
    return this.armed && this.pending > 0 ? this.firstPendingUs + this.usecs : undefined;
  }

  /**
   * Append an entry (or count its loss). Returns true when the armed interrupt must fire now; the caller raises
   * it (fire()).
   */
  post(kind: AppNotification["kind"], arg: number, nowUs: number): boolean {
    if (this.head - this.tail >= this.capacity) this.drops++;
    else {
      this.slots[this.head % this.capacity] = { index: this.head, kind, arg };
      this.head++;
    }
    if (!this.armed) return false;
    if (this.pending === 0) this.firstPendingUs = nowUs;
    this.pending++;
    return this.usecs === 0 || this.pending >= this.frames || nowUs - this.firstPendingUs >= this.usecs;
  }

  /** Arm the one-shot interrupt; true when it must fire at once (the queue moved past `seen`). */
  arm(seen: number, nowUs: number): boolean {
    this.armed = true;
    this.pending = 0;
    if ((this.head % U32) !== (seen >>> 0)) {
      this.firstPendingUs = nowUs;
      this.pending = 1;
      return true;
    }
    return false;
  }

  /** The interrupt fired: count it and disarm. */
  fire(): void {
    this.armed = false;
    this.pending = 0;
    this.interrupts++;
  }

  read(from: number, max: number): AppNotification[] {
    const out: AppNotification[] = [];
    for (let i = Math.max(from, this.tail); i < this.head && out.length < max; i++) out.push(this.slots[i % this.capacity]!);
    return out;
  }

  release(index: number): void {
    for (let i = this.tail; i < index; i++) this.slots[i % this.capacity] = undefined;
    this.tail = index;
  }

  /** Forget everything (the application was detached). */
  reset(): void {
    this.slots.fill(undefined);
    this.head = this.tail = this.drops = 0;
    this.armed = false;
    this.pending = 0;
    this.usecs = 0;
    this.frames = 1;
    this.interrupts = 0;
  }
}
