/** if_indextoname for Linux cooked v2 captures: the local interface with that index, or "?" (as tcpdump). */
import { readdirSync, readFileSync } from "node:fs";

let names: Map<number, string> | undefined;

export function interfaceName(index: number): string {
  if (!names) {
    names = new Map();
    try {
      for (const name of readdirSync("/sys/class/net")) {
        try {
          names.set(Number(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8").trim()), name);
        } catch {
          // An interface that vanished while listing: skip it.
        }
      }
    } catch {
      // No sysfs (not Linux): every index is unknown.
    }
  }
  return names.get(index) ?? "?";
}
