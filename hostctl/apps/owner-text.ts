/**
 * The owning process of a captured packet, as `hostctl capture -P` prints it and as pcapng files record it
 * (the packet's opt_comment, which Wireshark shows as the packet comment): `pid 7777, user mallory, cmd
 * arpflood`. The NIC's capture ring carries the owner's application id, pid and uid; the names come from the
 * kernel's application table (attached now, or detached lately).
 */
import type { CaptureRecord } from "../../fpga-model/packets.js";
import type { NicTransport } from "../driver/transport.js";
import { AppControl } from "./control.js";
import { userName } from "./names.js";
import type { AppInfo } from "./service.js";

const OWNER_COMMENT = /^pid (\d+), user ([^,]+), cmd (.+)$/;
export const NO_OWNER_TEXT = "pid -, user -, cmd -";

export function ownerComment(o: { pid: number; user: string; cmd: string }): string {
  return `pid ${o.pid}, user ${o.user}, cmd ${o.cmd}`;
}

/** Whether a packet comment is an owner record this module wrote. */
export function isOwnerComment(comment: string | undefined): comment is string {
  return comment !== undefined && OWNER_COMMENT.test(comment);
}

/**
 * A printed packet with its owner: ` (pid 7777, user mallory, cmd arpflood)` at the end of its first line —
 * `(pid -, user -, cmd -)` when the packet has no owner (no connection, or not captured at the NIC).
 */
export function annotateOwner(line: string, comment: string | undefined): string {
  const owner = ` (${isOwnerComment(comment) ? comment : NO_OWNER_TEXT})`;
  const eol = line.indexOf("\n");
  return eol < 0 ? line + owner : line.slice(0, eol) + owner + line.slice(eol);
}

/** Owner names for capture records, from the kernel's listing (fetched again when a record names someone new). */
export class OwnerNames {
  private readonly known = new Map<string, AppInfo>();
  private readonly control: AppControl;

  constructor(transport: NicTransport) {
    this.control = new AppControl(transport);
  }

  private async refresh(): Promise<void> {
    const l = await this.control.list();
    for (const a of [...l.detached, ...l.apps]) this.known.set(`${a.app}/${a.pid}`, a);
  }

  /** The owner comment of each record (undefined where the NIC knew no owner). */
  async comments(records: readonly Pick<CaptureRecord, "app" | "pid" | "uid">[]): Promise<(string | undefined)[]> {
    const key = (r: Pick<CaptureRecord, "app" | "pid">) => `${r.app}/${r.pid}`;
    if (records.some((r) => r.app && !this.known.has(key(r)))) {
      try {
        await this.refresh();
      } catch {
        // the daemon is older or gone: print what the ring itself says
      }
    }
    return records.map((r) => {
      if (!r.app || r.pid === undefined) return undefined;
      const a = this.known.get(key(r));
      return ownerComment({ pid: r.pid, user: a?.user ?? userName(r.uid ?? -1) ?? String(r.uid), cmd: a?.cmd ?? "?" });
    });
  }
}
