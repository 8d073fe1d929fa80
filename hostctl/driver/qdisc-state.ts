/**
 * Checking a qdisc record (transport.ts QdiscState) that arrives from outside — a client's update over the
 * socket, or the `qdisc` of a `nic start --state FILE` — field by field, so the daemon keeps only what it can use.
 */
import { HostStateError } from "./host-state.js";
import type { QdiscState } from "./transport.js";

/** Base64 text (what QdiscState.image holds). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A checked copy of `raw`; throws HostStateError with `where` and the field (`qdisc.state.policy.format …`). */
export function checkQdiscState(raw: unknown, where: string): QdiscState {
  const bad = (m: string) => new HostStateError(`${where}${m}`);
  const st = raw as Record<string, unknown>;
  if (st === null || typeof st !== "object" || Array.isArray(st)) throw bad(" must be an object or null");
  if (st.schema !== 1) throw bad(".schema must be 1");
  const p = st.policy as Record<string, unknown>;
  if (p === null || typeof p !== "object") throw bad(".policy must be an object");
  for (const k of ["file", "text"] as const) if (typeof p[k] !== "string") throw bad(`.policy.${k} must be a string`);
  if (p.format !== "qos" && p.format !== "tc") throw bad(".policy.format must be qos or tc");
  for (const k of ["host", "hostFile"] as const) if (p[k] !== undefined && typeof p[k] !== "string") throw bad(`.policy.${k} must be a string`);
  const strings = st.strings as Record<string, unknown>;
  const list = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (strings === null || typeof strings !== "object" || !list(strings.cmd) || !list(strings.cgroup)) throw bad(".strings must be {cmd: [...], cgroup: [...]} of strings");
  if (typeof st.changedAt !== "string") throw bad(".changedAt must be a string");
  if (st.image !== undefined && (typeof st.image !== "string" || st.image.length === 0 || !BASE64.test(st.image))) throw bad(".image must be base64 text");
  return {
    schema: 1,
    generation: 0,
    policy: { file: p.file as string, format: p.format, text: p.text as string, ...(p.host !== undefined ? { host: p.host as string } : {}), ...(p.hostFile !== undefined ? { hostFile: p.hostFile as string } : {}) },
    strings: { cmd: strings.cmd as string[], cgroup: strings.cgroup as string[] },
    changedAt: st.changedAt,
    ...(st.image !== undefined ? { image: st.image as string } : {}),
  };
}
