/**
 * The application table: what the kernel told the NIC about each attached application — pid, uid, gid, and its
 * command name and cgroup as the ids the loaded policy interned (owner.cmd / owner.cgroup). Those two ids are kept
 * per program slot: a packet judged by a slot's program sees the ids that program interned, so a commit that
 * renumbers the names never mixes two numberings, and a rollback finds the old ids still in place.
 *
 * Owner fields of a packet (six u32, the VM's side input): app id, uid, gid, pid, cmd id, cgroup id; without an
 * owner 0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0 — values no un-negated owner term can name.
 */

export interface AppEntry {
  pid: number;
  uid: number;
  gid: number;
  /** command-name id per program slot */
  cmd: [number, number];
  /** cgroup id per program slot */
  cgroup: [number, number];
  /** connections open */
  conns: number;
}

export const NO_OWNER = [0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0] as const;

export class AppTable {
  private readonly entries: (AppEntry | undefined)[];
  count = 0;

  /** `capacity` ids, 1 … capacity */
  constructor(readonly capacity: number) {
    this.entries = new Array(capacity + 1);
  }

  get(app: number): AppEntry | undefined {
    return Number.isInteger(app) && app > 0 && app <= this.capacity ? this.entries[app] : undefined;
  }

  /** Attach at the lowest free id; undefined when the table is full. */
  attach(values: Omit<AppEntry, "conns">): number | undefined {
    for (let id = 1; id <= this.capacity; id++) {
      if (this.entries[id]) continue;
      this.entries[id] = { ...values, cmd: [...values.cmd], cgroup: [...values.cgroup], conns: 0 };
      this.count++;
      return id;
    }
    return undefined;
  }

  detach(app: number): AppEntry | undefined {
    const e = this.get(app);
    if (!e) return undefined;
    this.entries[app] = undefined;
    this.count--;
    return e;
  }

  /** Write the owner fields of `app` as program slot `slot` sees them into out[at … at+5]. */
  owner(app: number, slot: number, out: Uint32Array, at: number): void {
    const e = app > 0 ? this.entries[app] : undefined;
    if (!e) {
      out[at] = 0;
      out[at + 1] = out[at + 2] = out[at + 3] = 0xffffffff;
      out[at + 4] = out[at + 5] = 0;
      return;
    }
    out[at] = app;
    out[at + 1] = e.uid;
    out[at + 2] = e.gid;
    out[at + 3] = e.pid;
    out[at + 4] = e.cmd[slot]!;
    out[at + 5] = e.cgroup[slot]!;
  }
}
