/**
 * Application queues: `queue N` verdicts deliver packets to the application bound to queue N (QUEUE_APP, a
 * kernel register). Each application has one receive ring (all its queues) and a notification queue, both read
 * through its own page. A queue nobody is bound to, or a full ring, drops the packet and counts it.
 */
import { NotificationQueue } from "./notify.js";
import type { AppNotification, AppRecord } from "./packets.js";

class Ring<T extends { index: number }> {
  private readonly slots: (T | undefined)[];
  head = 0;
  tail = 0;
  drops = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }

  push(item: Omit<T, "index">): boolean {
    if (this.head - this.tail >= this.capacity) {
      this.drops++;
      return false;
    }
    this.slots[this.head % this.capacity] = { ...item, index: this.head } as T;
    this.head++;
    return true;
  }

  read(from: number, max: number): T[] {
    const out: T[] = [];
    for (let i = Math.max(from, this.tail); i < this.head && out.length < max; i++) out.push(this.slots[i % this.capacity]!);
    return out;
  }

  release(index: number): void {
    for (let i = this.tail; i < index; i++) this.slots[i % this.capacity] = undefined;
    this.tail = index;
  }
}

export class AppState {
  readonly rx: Ring<AppRecord>;
  readonly notify: NotificationQueue;
  violations = 0;

  constructor(readonly app: number, ringSlots: number, notifySlots: number) {
    this.rx = new Ring<AppRecord>(ringSlots);
    this.notify = new NotificationQueue(notifySlots);
  }
}

export class AppQueues {
  private readonly bindings = new Map<number, number>();
  private readonly apps = new Map<number, AppState>();

  constructor(
    readonly appCount: number,
    private readonly ringSlots = 1024,
    private readonly notifySlots = 256,
    /** how a notification is posted (the device counts it and raises the interrupt) */
    private readonly post: (app: number, kind: AppNotification["kind"], arg: number) => void = (app, kind, arg) => void this.app(app).notify.post(kind, arg, 0),
  ) {}

  /** Forget an application: its queue bindings, receive ring and notification queue (it was detached). */
  forget(app: number): void {
    for (const [queue, bound] of this.bindings) if (bound === app) this.bindings.delete(queue);
    this.apps.delete(app);
  }

  app(id: number): AppState {
    let a = this.apps.get(id);
    if (!a) {
      a = new AppState(id, this.ringSlots, this.notifySlots);
      this.apps.set(id, a);
    }
    return a;
  }

  bind(queue: number, app: number): void {
    if (app === 0) this.bindings.delete(queue);
    else this.bindings.set(queue, app);
  }

  boundApp(queue: number): number {
    return this.bindings.get(queue) ?? 0;
  }

  /** Packets of `queue` waiting in its application's ring. */
  depth(queue: number): number {
    const app = this.bindings.get(queue);
    if (app === undefined) return 0;
    const a = this.app(app);
    let n = 0;
    for (const r of a.rx.read(a.rx.tail, a.rx.capacity)) if (r.queue === queue) n++;
    return n;
  }

  /** Deliver a packet to queue N's application; false when unbound or its ring is full. */
  deliver(record: Omit<AppRecord, "index">): boolean {
    const app = this.bindings.get(record.queue);
    if (app === undefined) return false;
    const a = this.app(app);
    const wasEmpty = a.rx.head === a.rx.tail;
    if (!a.rx.push(record)) return false;
    if (wasEmpty) this.post(app, 1, record.queue);
    return true;
  }

  /** Tell every application with a bound queue that the policy generation changed. */
  generationChanged(generation: number): void {
    for (const app of new Set(this.bindings.values())) this.post(app, 2, generation);
  }
}
