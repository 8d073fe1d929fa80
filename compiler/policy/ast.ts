/**
 * The policy AST: what a `.kopi` file or an iptables-save file says, before any meaning is checked. Both front
 * ends build it; `lower.ts` checks it and turns it into the IR. Every node keeps the character offset where it
 * starts in its source text (line and column are computed only when a message needs them).
 */

/** A position in one source text. */
export interface Pos {
  /** offset of the first character in the source text */
  start: number;
  /** offset just past the last character */
  end: number;
}

/** One written value: a literal token, a range, a prefix, a set of these, or a reference to a named set. */
export type ValueNode =
  | { kind: "atom"; text: string; pos: Pos }
  | { kind: "range"; lo: ValueNode & { kind: "atom" }; hi: ValueNode & { kind: "atom" }; pos: Pos }
  | { kind: "prefix"; addr: ValueNode & { kind: "atom" }; len: string; lenPos: Pos; pos: Pos }
  | { kind: "list"; items: ValueNode[]; braced: boolean; pos: Pos }
  | { kind: "setref"; name: string; pos: Pos };

export type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** `SUBJECT FIELD [op] VALUE`, e.g. `ip saddr != 10.0.0.0/8`, `tcp dport { 80, 443 }`, `ct state new`. */
export interface FieldMatchNode {
  kind: "field";
  /** the protocol word: ether, ip, ip6, tcp, udp, sctp, icmp, icmpv6, meta, ct, vlan */
  subject: string;
  field: string;
  op: CmpOp;
  value: ValueNode;
  pos: Pos;
  /** position of the subject keyword (where "dport without tcp/udp"-style errors point) */
  subjectPos: Pos;
}

/** One term of an `owner` match: `user bob`, `not cmd postgres`, `uid != 1000`. */
export interface OwnerTermNode {
  key: "user" | "uid" | "group" | "gid" | "cmd" | "pid" | "cgroup";
  negate: boolean;
  value: ValueNode;
  pos: Pos;
}

export interface OwnerMatchNode {
  kind: "owner";
  terms: OwnerTermNode[];
  /**
   * A packet without a known owner never matches, negated terms or not (iptables' cgroup match: xt_cgroup is
   * false without a socket). Without it, kopi's owner semantics apply: such a packet matches only when every
   * term is negated, as xt_owner does — unless a term is a cgroup (lower.ts).
   */
  needsOwner?: boolean;
  pos: Pos;
}

export interface LimitMatchNode {
  kind: "limit";
  rate: number;
  unit: "second" | "minute" | "hour" | "day";
  burst?: number;
  /** `limit rate over …`: matches when the rate is exceeded */
  over: boolean;
  pos: Pos;
}

/** `tcp flags SYN / SYN,ACK,RST,FIN`: (flags & mask) op value; without a mask, the listed flags must be set. */
export interface TcpFlagsMatchNode {
  kind: "tcpflags";
  flags: ValueNode;
  mask?: ValueNode;
  negate: boolean;
  pos: Pos;
}

export type MatchNode = FieldMatchNode | OwnerMatchNode | LimitMatchNode | TcpFlagsMatchNode;

export type RejectWith =
  | { how: "default" }
  | { how: "tcp-reset" }
  | { how: "icmp" | "icmpv6"; type: string; typePos: Pos };

export type ActionNode =
  | { kind: "accept"; pos: Pos }
  | { kind: "drop"; pos: Pos }
  | { kind: "reject"; with: RejectWith; pos: Pos }
  | { kind: "counter"; pos: Pos }
  | { kind: "log"; prefix?: string; pos: Pos }
  | { kind: "mark"; value: ValueNode; pos: Pos }
  | { kind: "queue"; queue: ValueNode; pos: Pos }
  | { kind: "mirror"; pos: Pos }
  | { kind: "jump"; target: string; targetPos: Pos; pos: Pos }
  | { kind: "goto"; target: string; targetPos: Pos; pos: Pos }
  | { kind: "return"; pos: Pos }
  | { kind: "comment"; text: string; pos: Pos };

/** The columns `iptables -L -v -n` prints for a rule (besides counters). */
export interface ListingColumns {
  target: string;
  prot: string;
  opt: string;
  in: string;
  out: string;
  source: string;
  destination: string;
  extra: string;
}

export interface RuleNode {
  matches: MatchNode[];
  actions: ActionNode[];
  pos: Pos;
  /** the rule as written (one line), for listings; for iptables-save input, the rule spec after `-A CHAIN` */
  text: string;
  /** iptables-save input: the listing columns iptables itself would print */
  listing?: ListingColumns;
}

export type Hook = "ingress" | "egress";

export interface ChainNode {
  name: string;
  namePos: Pos;
  /** the hook this chain is attached to, if any */
  hook?: Hook;
  /** an iptables built-in chain (INPUT, OUTPUT, FORWARD): it has a policy even without a hook */
  builtin?: boolean;
  policy?: "accept" | "drop";
  policyPos?: Pos;
  rules: RuleNode[];
  pos: Pos;
}

export interface SetNode {
  name: string;
  namePos: Pos;
  type: string;
  typePos: Pos;
  interval: boolean;
  elements: ValueNode[];
  pos: Pos;
}

export interface PolicyAst {
  /** file name used in messages */
  file: string;
  /** the whole source text (offsets in every Pos refer to it) */
  source: string;
  /** which front end produced it, so listings and exports can speak its language */
  format: "kopi" | "iptables-save";
  sets: SetNode[];
  chains: ChainNode[];
}
