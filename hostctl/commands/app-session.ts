/**
 * What the `hostctl app` commands share: a NIC session whose process-view refusals come out in the user's
 * words (exit 1 when the NIC or the kernel said no, 2 for bad input), and, for `app send` / `app recv`, a
 * second connection to the daemon as the application itself.
 */
import { DaemonError } from "../daemon/client.js";
import { DetachedError, LibOS, QueueError, WaitTimeout } from "../apps/libos.js";
import { AppsError } from "../apps/service.js";
import { CliError } from "../errors.js";
import { defaultNicPath, withNic, type NicSession } from "./nic-session.js";

const REFUSALS = new Set(["refused", "not-allowed", "not-found"]);

/** A process-view error as hostctl reports it. */
export function appsCliError(e: unknown): unknown {
  if (e instanceof AppsError) return new CliError(e.message, REFUSALS.has(e.code) ? 1 : 2);
  if (e instanceof DaemonError && REFUSALS.has(e.code)) return new CliError(e.message, 1);
  if (e instanceof DetachedError || e instanceof QueueError) return new CliError(e.message, 1);
  if (e instanceof WaitTimeout) return new CliError(`timed out: ${e.message}`, 1);
  return e;
}

export async function withApps<T>(nic: string | undefined, fn: (s: NicSession) => Promise<T>): Promise<T> {
  return withNic(nic, async (s) => {
    try {
      return await fn(s);
    } catch (e) {
      throw appsCliError(e);
    }
  });
}

/** Connect to the daemon as application `app` (an application needs the daemon: its rings live there). */
export async function connectAsApp(nic: string | undefined, app: number): Promise<LibOS> {
  if (nic === "local") throw new CliError("an application needs the NIC daemon (--nic local has no rings that outlive this command)");
  return LibOS.connect(nic ?? defaultNicPath(), app);
}
