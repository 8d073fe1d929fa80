/**
 * Syntax tree of a pcap-filter expression, shaped like libpcap's yacc grammar so the code generator can apply
 * its rules in the same order (qualifier inheritance, offset changes made by `vlan`/`mpls`/`pppoes`/`geneve`).
 * Every node keeps the character span it came from, for positioned errors.
 */

export interface Span {
  start: number;
  end: number;
}

/** Protocol qualifiers (libpcap's Q_LINK, Q_IP, …) by their keyword token. */
export type Proto =
  | "LINK" | "IP" | "ARP" | "RARP" | "SCTP" | "TCP" | "UDP" | "ICMP" | "IGMP" | "IGRP" | "PIM" | "VRRP" | "CARP"
  | "ATALK" | "AARP" | "DECNET" | "LAT" | "SCA" | "MOPDL" | "MOPRC" | "IPV6" | "ICMPV6" | "AH" | "ESP" | "ISO"
  | "ESIS" | "ISIS" | "L1" | "L2" | "IIH" | "LSP" | "SNP" | "PSNP" | "CSNP" | "CLNP" | "STP" | "IPX" | "NETBEUI"
  | "RADIO";

export type Dir = "SRC" | "DST" | "OR" | "AND" | "ADDR1" | "ADDR2" | "ADDR3" | "ADDR4" | "RA" | "TA";
export type Addr = "HOST" | "NET" | "PORT" | "PORTRANGE" | "PROTO" | "PROTOCHAIN" | "GATEWAY";

/** A qualifier set; "default" is libpcap's Q_DEFAULT, "undef" its Q_UNDEF (no qualifier in scope at all). */
export interface Qual {
  proto: Proto | "default" | "undef";
  dir: Dir | "default" | "undef";
  addr: Addr | "default" | "undef";
}

export const QERR: Qual = { proto: "undef", dir: "undef", addr: "undef" };

/** Arithmetic operand sequence item; precedence is resolved by the code generator as yacc resolves it. */
export type ArithOp = "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";

export type Arith =
  | { k: "num"; value: number; span: Span }
  | { k: "len"; span: Span }
  | { k: "load"; proto: Proto; index: Arith; size: number; sizeSpan?: Span; span: Span }
  | { k: "neg"; operand: Arith; span: Span }
  | { k: "bin"; op: ArithOp; left: Arith; right: Arith; span: Span };

export type Relop = ">" | ">=" | "=" | "<=" | "<" | "!=";

/** Things that stand where libpcap's grammar has an `id` (they take the qualifiers in scope). */
export type Id =
  | { k: "name"; text: string; span: Span }
  | { k: "num"; value: number; span: Span }
  | { k: "hid"; text: string; span: Span }
  | { k: "hidLen"; text: string; len: number; span: Span; lenSpan: Span }
  | { k: "hidMask"; text: string; mask: string; span: Span; maskSpan: Span }
  | { k: "hid6"; text: string; span: Span }
  | { k: "hid6Len"; text: string; len: number; span: Span; lenSpan: Span }
  | { k: "eid"; text: string; span: Span }
  | { k: "aid"; text: string; span: Span }
  | { k: "notId"; operand: Id; span: Span }
  /** `( a and b … )` of ids only */
  | { k: "idList"; first: Id; rest: { op: "and" | "or"; id: Id }[]; span: Span };

export type Other =
  | { k: "broadcast"; proto: Proto | "default"; span: Span }
  | { k: "multicast"; proto: Proto | "default"; span: Span }
  | { k: "less" | "greater"; value: number; span: Span }
  | { k: "byte"; index: number; op: "&" | "|" | "<" | ">" | "="; value: number; span: Span }
  | { k: "inbound" | "outbound"; span: Span }
  | { k: "ifindex"; value: number; span: Span }
  | { k: "vlan" | "mpls" | "pppoes" | "geneve"; value?: number; valueSpan?: Span; span: Span }
  | { k: "pppoed"; span: Span }
  | { k: "llc"; sub?: string; span: Span }
  | { k: "pf"; what: string; span: Span }
  | { k: "p80211"; what: "type" | "dir"; span: Span }
  | { k: "atm"; what: string; span: Span }
  | { k: "mtp"; what: string; span: Span };

export type Expr =
  | { k: "and" | "or"; left: Expr; right: Expr | { k: "id"; id: Id }; span: Span }
  | { k: "not"; operand: Expr; span: Span }
  | { k: "head"; qual: Qual; id: Id; span: Span }
  | { k: "paren"; inner: Expr; span: Span }
  | { k: "pname"; proto: Proto; span: Span }
  | { k: "rel"; op: Relop; left: Arith; right: Arith; span: Span }
  | { k: "other"; other: Other; span: Span };
