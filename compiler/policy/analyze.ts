/**
 * Rule analysis: warnings for rules that can never take effect.
 * - unreachable: a rule after an unconditional final verdict (accept, drop, reject, queue, goto, return) in the
 *   same chain;
 * - duplicate: a rule with the same conditions, effects and verdict as an earlier one;
 * - shadowed: every packet a rule matches is already decided by an earlier rule with a final verdict.
 * Shadowing compares rules pairwise; chains longer than SHADOW_PAIRWISE_LIMIT are checked for duplicates only
 * (hashing), which keeps 10,000-rule policies fast.
 */
import type { Pos } from "./ast.js";
import { formatWarning, warningAt, where, type PolicyWarning } from "./diagnostics.js";
import type { Cond, FieldTest, IrPolicy, IrRule } from "./ir.js";

const SHADOW_PAIRWISE_LIMIT = 2000;

const FINAL = new Set(["accept", "drop", "reject", "queue", "goto", "return"]);

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

function signature(r: IrRule): string {
  return JSON.stringify([r.conds, r.effects, r.verdict ?? null], bigintJson);
}

/** The inclusive interval a test covers, when it is one. */
function interval(t: FieldTest, bits: number): [bigint, bigint] | undefined {
  const max = (1n << BigInt(bits)) - 1n;
  switch (t.kind) {
    case "eq":
      return [t.value, t.value];
    case "range":
      return [t.lo, t.hi];
    case "prefix":
      return [t.value, t.value | ((1n << BigInt(bits - t.len)) - 1n)];
    case "cmp":
      return t.op === "lt" ? [0n, t.value - 1n] : t.op === "le" ? [0n, t.value] : t.op === "gt" ? [t.value + 1n, max] : [t.value, max];
    default:
      return undefined;
  }
}

/** Every value the inner test accepts, the outer test accepts too. */
function testImplies(inner: FieldTest, outer: FieldTest, bits: number): boolean {
  if (inner.kind === "any") return inner.items.every((i) => testImplies(i, outer, bits));
  if (outer.kind === "any") return outer.items.some((o) => testImplies(inner, o, bits));
  if (inner.kind === "mask" || outer.kind === "mask") {
    return inner.kind === "mask" && outer.kind === "mask" && (outer.mask & ~inner.mask) === 0n && (inner.value & outer.mask) === outer.value;
  }
  const a = interval(inner, bits);
  const b = interval(outer, bits);
  return !!a && !!b && a[0] >= b[0] && a[1] <= b[1];
}

/** Does condition `c` of the earlier rule hold for every packet the later rule's conditions accept? */
function covered(c: Cond, later: Cond[]): boolean {
  switch (c.kind) {
    case "hdrs":
      return later.some((l) => l.kind === "hdrs" && (l.bits & c.bits) === c.bits);
    case "field":
      return later.some((l) => {
        if (l.kind !== "field" || l.field !== c.field || l.negate !== c.negate) return false;
        // negated: the later rule excludes at least what the earlier excludes
        return c.negate ? testImplies(c.test, l.test, c.bits) : testImplies(l.test, c.test, c.bits);
      });
    case "set":
      return later.some((l) => l.kind === "set" && l.set === c.set && l.field === c.field && l.negate === c.negate);
    case "owner":
      return later.some((l) => l.kind === "owner" && (!c.needsOwner || l.needsOwner === true) && JSON.stringify(l.terms, bigintJson) === JSON.stringify(c.terms, bigintJson));
    case "limit":
      return false; // a rate limit does not always match
  }
}

function shadows(earlier: IrRule, later: IrRule): boolean {
  if (!earlier.verdict || !FINAL.has(earlier.verdict.kind)) return false;
  return earlier.conds.every((c) => covered(c, later.conds));
}

export function analyzePolicy(p: IrPolicy): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  const at = (r: IrRule): string => where(p.file, p.source, r.pos.start);
  const warn = (kind: PolicyWarning["kind"], pos: Pos, message: string) => out.push(warningAt(kind, p.file, p.source, pos, message));
  for (const chain of p.chains) {
    const seen = new Map<string, IrRule>();
    let finalRule: IrRule | undefined;
    chain.rules.forEach((r, i) => {
      if (finalRule) {
        warn("unreachable", r.pos, `rule is unreachable: the rule at ${at(finalRule)} ends chain '${chain.name}' for every packet`);
        return;
      }
      const sig = signature(r);
      const dup = seen.get(sig);
      if (dup) warn("duplicate", r.pos, `rule duplicates the rule at ${at(dup)}`);
      else {
        seen.set(sig, r);
        if (chain.rules.length <= SHADOW_PAIRWISE_LIMIT) {
          for (let j = 0; j < i; j++) {
            const e = chain.rules[j]!;
            if (shadows(e, r)) {
              warn("shadowed", r.pos, `rule is shadowed by the rule at ${at(e)}, which decides every packet it matches`);
              break;
            }
          }
        }
      }
      if (r.conds.length === 0 && r.verdict && FINAL.has(r.verdict.kind)) finalRule = r;
    });
  }
  return out;
}

export { formatWarning };
