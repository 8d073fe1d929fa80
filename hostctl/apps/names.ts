/**
 * Names the process view needs besides numbers: the command and cgroup ids the loaded policy interned
 * (owner.cmd / owner.cgroup hold 1 + the name's index in the compiled policy's lists; 0 for a name the policy
 * never mentions), and user and group names for ids (this machine's /etc/passwd and /etc/group).
 */
import { systemAccounts } from "../../compiler/policy/host.js";
import type { PolicySource } from "../driver/host-state.js";
import { compileSource } from "../driver/policy-program.js";

export interface PolicyStrings {
  cmd: readonly string[];
  cgroup: readonly string[];
}

export const NO_STRINGS: PolicyStrings = { cmd: [], cgroup: [] };

/** The owner strings of a policy, compiled once per distinct source (the last one is kept). */
export class PolicyStringCache {
  private key: string | undefined;
  private value: PolicyStrings = NO_STRINGS;

  constructor(private readonly onError: (message: string) => void = () => {}) {}

  stringsOf(source: PolicySource | undefined): PolicyStrings {
    if (!source) return NO_STRINGS;
    const key = `${source.format}\0${source.file}\0${source.text}\0${source.host ?? ""}`;
    if (key === this.key) return this.value;
    let strings: PolicyStrings = NO_STRINGS;
    try {
      strings = compileSource(source).ir.strings;
    } catch (e) {
      // the loader compiled this very source; if it no longer compiles (a host file changed), no name matches
      this.onError(`cannot compile ${source.file} for its owner names: ${(e as Error).message}`);
    }
    this.key = key;
    this.value = strings;
    return strings;
  }
}

/** The id a policy interned for a name (0: the policy does not use it). */
export function nameId(list: readonly string[], name: string | undefined): number {
  return name === undefined ? 0 : list.indexOf(name) + 1;
}

let accounts: { users: Map<number, string>; groups: Map<number, string>; uids: Map<string, number>; gids: Map<string, number> } | undefined;

function loadAccounts() {
  if (!accounts) {
    const sys = systemAccounts();
    const invert = (m: Map<string, number>) => new Map([...m].map(([n, id]) => [id, n] as const));
    accounts = { users: invert(sys.users), groups: invert(sys.groups), uids: sys.users, gids: sys.groups };
  }
  return accounts;
}

export function userName(uid: number): string | undefined {
  return loadAccounts().users.get(uid);
}

export function groupName(gid: number): string | undefined {
  return loadAccounts().groups.get(gid);
}

export function uidOf(user: string): number | undefined {
  return loadAccounts().uids.get(user);
}

export function gidOf(group: string): number | undefined {
  return loadAccounts().gids.get(group);
}
