/**
 * cgroup paths as Linux matches them. iptables' `-m cgroup --path P` (xt_cgroup, revisions 1 and 2) and nft's
 * `socket cgroupv2 level N "P"` both match a socket whose cgroup is P **or any cgroup below it**
 * (cgroup_is_descendant; the ancestor at P's level), and the kernel resolves P as kernfs does: the names between
 * slashes, empty ones skipped (`/a//b/` is `/a/b`, `a/b` is `/a/b`, `/` is the root cgroup).
 *
 * The NIC compares numbers, not paths: a policy interns the cgroup paths its rules name (owner.cgroup ids 1 … n)
 * and the host writes, for each application, the id of the deepest interned path at or above the application's
 * cgroup (`cgroupId`). A rule on P then accepts the ids of every interned path at or below P (`cgroupIdsUnder`):
 * the deepest interned ancestor-or-self of a cgroup C lies at or below P exactly when P is an ancestor-or-self of
 * C, because P itself is interned.
 */

/** The names of a cgroup path, as the kernel walks it. */
export function cgroupComponents(path: string): string[] {
  return path.split("/").filter((name) => name !== "");
}

/** Is `ancestor` the cgroup `path` itself or one of its ancestors? */
export function cgroupAtOrAbove(ancestor: string, path: string): boolean {
  const a = cgroupComponents(ancestor);
  const p = cgroupComponents(path);
  return a.length <= p.length && a.every((name, i) => name === p[i]);
}

/**
 * The owner.cgroup id the NIC gets for an application in cgroup `path`: 1 + the index of the interned path that
 * is `path` itself (as written) or else its deepest interned ancestor-or-self (the first on a tie of spellings);
 * 0 when no interned path is at or above it.
 */
export function cgroupId(interned: readonly string[], path: string | undefined): number {
  if (path === undefined) return 0;
  const exact = interned.indexOf(path);
  if (exact >= 0) return exact + 1;
  let best = -1;
  let depth = -1;
  interned.forEach((p, i) => {
    const d = cgroupComponents(p).length;
    if (d > depth && cgroupAtOrAbove(p, path)) {
      best = i;
      depth = d;
    }
  });
  return best + 1;
}

/**
 * The owner.cgroup ids a match on `path` accepts: the ids of every interned path at or below it, `path`'s own id
 * (`own`) first, then the others in order.
 */
export function cgroupIdsUnder(interned: readonly string[], path: string, own: number): number[] {
  const below = interned.flatMap((p, i) => (i + 1 !== own && cgroupAtOrAbove(path, p) ? [i + 1] : []));
  return [own, ...below];
}
