/**
 * Verdict encoding carried by `exit` (imm) and by `exit ra` (low 32 bits of the register):
 *   bits 0..7  kind      0 drop, 1 accept, 2 queue, 3 reject
 *   bits 8..31 argument  queue: queue number; reject: how (bits 8..15) and ICMP type (16..23) / code (24..31)
 * A fault (bad raw load, zero divisor, invalid register verdict) is not a verdict a program can name: the VM
 * reports it as drop with the fault flag set.
 */
import { LIMITS } from "./limits.js";

export const VERDICT_KIND = { drop: 0, accept: 1, queue: 2, reject: 3 } as const;
export type VerdictKind = keyof typeof VERDICT_KIND;

export const REJECT_HOW = { default: 0, "tcp-reset": 1, icmp: 2, icmpv6: 3 } as const;
export type RejectHow = keyof typeof REJECT_HOW;

export type Verdict =
  | { kind: "drop" }
  | { kind: "accept" }
  | { kind: "queue"; queue: number }
  | { kind: "reject"; how: RejectHow; type?: number; code?: number };

export function encodeVerdict(v: Verdict): number {
  switch (v.kind) {
    case "drop":
      return VERDICT_KIND.drop;
    case "accept":
      return VERDICT_KIND.accept;
    case "queue":
      return (VERDICT_KIND.queue | (v.queue << 8)) >>> 0;
    case "reject": {
      const how = REJECT_HOW[v.how];
      const typeCode = v.how === "icmp" || v.how === "icmpv6" ? ((v.type ?? 0) << 16) | ((v.code ?? 0) << 24) : 0;
      return (VERDICT_KIND.reject | (how << 8) | typeCode) >>> 0;
    }
  }
}

/** Decode a verdict word; undefined when it is not a valid encoding. */
export function decodeVerdict(word: number): Verdict | undefined {
  const kind = word & 0xff;
  const arg = word >>> 8;
  switch (kind) {
    case VERDICT_KIND.drop:
      return arg === 0 ? { kind: "drop" } : undefined;
    case VERDICT_KIND.accept:
      return arg === 0 ? { kind: "accept" } : undefined;
    case VERDICT_KIND.queue:
      return arg < LIMITS.queues ? { kind: "queue", queue: arg } : undefined;
    case VERDICT_KIND.reject: {
      const how = arg & 0xff;
      const type = (word >>> 16) & 0xff;
      const code = (word >>> 24) & 0xff;
      const name = (Object.keys(REJECT_HOW) as RejectHow[]).find((k) => REJECT_HOW[k] === how);
      if (name === undefined) return undefined;
      if (name === "icmp" || name === "icmpv6") return { kind: "reject", how: name, type, code };
      return type === 0 && code === 0 ? { kind: "reject", how: name } : undefined;
    }
    default:
      return undefined;
  }
}

export function isValidVerdict(word: number): boolean {
  return decodeVerdict(word) !== undefined;
}

/** Assembly text of a verdict: `accept`, `drop`, `queue 3`, `reject`, `reject tcp-reset`, `reject icmp 3 13`. */
export function formatVerdict(v: Verdict): string {
  switch (v.kind) {
    case "queue":
      return `queue ${v.queue}`;
    case "reject":
      if (v.how === "default") return "reject";
      if (v.how === "icmp" || v.how === "icmpv6") return `reject ${v.how} ${v.type ?? 0} ${v.code ?? 0}`;
      return `reject ${v.how}`;
    default:
      return v.kind;
  }
}
