// Verdict words (overlay-isa/verdicts.ts): bits 0..7 kind, 8..31 argument. `exit ra` faults on anything else.
import { VERDICT_DROP, VERDICT_ACCEPT, VERDICT_QUEUE, VERDICT_REJECT, REJECT_ICMP, REJECT_ICMPV6, LIMIT_QUEUES } from "./isa.generated";

export function isValidVerdict(word: u32): bool {
  const kind = word & 0xff;
  const arg = word >> 8;
  if (kind == VERDICT_DROP || kind == VERDICT_ACCEPT) return arg == 0;
  if (kind == VERDICT_QUEUE) return arg < <u32>LIMIT_QUEUES;
  if (kind == VERDICT_REJECT) {
    const how = arg & 0xff;
    if (how == REJECT_ICMP || how == REJECT_ICMPV6) return true; // any ICMP type and code
    return how < 2 && (word >> 16) == 0; // default or tcp-reset, with no type/code
  }
  return false;
}
