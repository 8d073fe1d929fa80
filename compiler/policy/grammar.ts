/**
 * The ohm grammar of one `.kopi` statement. The file's outline (tables, sets, chains, braces) is split by
 * `outline.ts`; each statement is then matched on its own, which keeps a 10,000-rule file fast and small.
 * Rule descriptions in parentheses are what syntax errors say ("expected a port, address or set").
 */
import * as ohm from "ohm-js";
import { cachedGrammar } from "../grammar-cache.js";

export const KOPI_GRAMMAR_SOURCE = String.raw`
Kopi {
  ChainStatement = PolicyStmt | HookStmt | Rule
  SetStatement = SetType | SetFlags | SetElements

  PolicyStmt = kwPolicy Verdict0
  Verdict0 (accept or drop) = kwAccept | kwDrop
  HookStmt = kwType name kwHook name HookPriority?
  HookPriority = kwPriority numberToken

  SetType (a set type) = kwType name
  SetFlags (set flags) = kwFlags NonemptyListOf<name, ",">
  SetElements (set elements) = kwElements "=" "{" ListOf<Element, ","> ","? "}"

  Rule = RuleItem+
  RuleItem = Match | Action

  Match = TcpFlags | Owner | Limit | FieldMatch | BarePort
  BarePort = portWord Expr
  portWord = ("dport" | "sport") ~identPart
  FieldMatch = subject fieldName Expr
  subject (a protocol: ether, ip, ip6, tcp, udp, sctp, icmp, icmpv6, meta, ct or vlan)
    = kwEther | kwIp6 | kwIp | kwTcp | kwUdp | kwSctp | kwIcmpv6 | kwIcmp | kwMeta | kwCt | kwVlan
  fieldName (a header field such as saddr, dport or type) = ~keyword ~subject name

  TcpFlags = kwTcp kwFlags FlagsNeg? FlagsValue FlagsMask?
  FlagsNeg = "!="
  FlagsValue (TCP flags such as syn or syn,ack) = Value
  FlagsMask = "/" Value

  Owner = kwOwner OwnerTerm+
  OwnerTerm = OwnerNot? ownerKey Expr
  OwnerNot = kwNot
  ownerKey (an owner term: user, uid, group, gid, cmd, pid or cgroup) = kwUser | kwUid | kwGroup | kwGid | kwCmd | kwPid | kwCgroup

  Limit = kwLimit kwRate LimitOver? rateNumber "/" timeUnit LimitBurst?
  LimitOver = kwOver
  rateNumber (a rate) = digit+
  timeUnit (a time unit: second, minute, hour or day) = kwSecond | kwMinute | kwHour | kwDay
  LimitBurst = kwBurst numberToken kwPackets?

  Expr = CmpOp? Value
  CmpOp (a comparison) = "!=" | "==" | "<=" | ">=" | "<" | ">"

  Value (a value: a number, an address, a name, a range or a set)
    = SetRef | BracedList | BareList
  SetRef = "@" name
  BracedList = "{" ListOf<Element, ","> ","? "}"
  BareList = NonemptyListOf<Element, ",">
  Element = range | prefix | scalar

  Action
    = kwAccept -- accept
    | kwDrop -- drop
    | Reject
    | Counter
    | Log
    | MarkSet
    | Queue
    | kwMirror -- mirror
    | Jump
    | Goto
    | kwReturn -- return
    | Comment

  Reject = kwReject RejectWith?
  RejectWith (reject details: with tcp reset or with icmp type NAME) = kwWith RejectHow
  RejectHow = kwTcpReset -- tcpreset
    | kwTcp kwReset -- tcpreset2
    | kwIcmpv6 kwType? IcmpName -- icmp6
    | kwIcmp kwType? IcmpName -- icmp
  IcmpName (an ICMP type name or number) = name | numberToken

  Counter = kwCounter CounterInit?
  CounterInit = kwPackets numberToken kwBytes numberToken
  Log = kwLog LogPrefix?
  LogPrefix = kwPrefix string
  MarkSet = kwMeta? kwMark kwSet Element
  Queue = kwQueue kwNum? Element
  Jump = kwJump chainName
  Goto = kwGoto chainName
  chainName (a chain name) = ~keyword name
  Comment = kwComment string

  range (a range such as 1024-65535) = scalar "-" scalar
  prefix (a prefix such as 10.0.0.0/8) = scalar "/" prefixLen
  prefixLen (a prefix length) = digit+
  scalar (a number, an address or a name) = colonAddr | numeric | valueName | string
  colonAddr = (hexDigit | ".")* ":" (hexDigit | ":" | ".")*
  numeric = digit (alnum | ".")*
  valueName = ~keyword name
  numberToken (a number) = digit (alnum)*
  string (a quoted string) = "\"" (~"\"" ~"\n" any)* "\""
  name (a name) = (letter | "_") identPart*
  identPart = alnum | "_" | "-" | "."

  space += comment
  comment = "#" (~"\n" any)*

  keyword = kwAccept | kwDrop | kwReject | kwCounter | kwLog | kwQueue | kwMirror | kwJump | kwGoto
    | kwReturn | kwComment | kwOwner | kwLimit | kwSet | kwWith | kwPolicy | kwNot | kwTcpReset
  // protocol words may be values (meta l4proto udp, ether type ip), so only keywords above end a value

  kwAccept = "accept" ~identPart
  kwDrop = "drop" ~identPart
  kwReject = "reject" ~identPart
  kwCounter = "counter" ~identPart
  kwLog = "log" ~identPart
  kwMark = "mark" ~identPart
  kwQueue = "queue" ~identPart
  kwMirror = "mirror" ~identPart
  kwJump = "jump" ~identPart
  kwGoto = "goto" ~identPart
  kwReturn = "return" ~identPart
  kwComment = "comment" ~identPart
  kwMeta = "meta" ~identPart
  kwOwner = "owner" ~identPart
  kwLimit = "limit" ~identPart
  kwEther = "ether" ~identPart
  kwIp = "ip" ~identPart
  kwIp6 = "ip6" ~identPart
  kwTcp = "tcp" ~identPart
  kwUdp = "udp" ~identPart
  kwSctp = "sctp" ~identPart
  kwIcmp = "icmp" ~identPart
  kwIcmpv6 = "icmpv6" ~identPart
  kwCt = "ct" ~identPart
  kwVlan = "vlan" ~identPart
  kwSet = "set" ~identPart
  kwWith = "with" ~identPart
  kwPolicy = "policy" ~identPart
  kwNot = "not" ~identPart
  kwTcpReset = "tcp-reset" ~identPart
  kwReset = "reset" ~identPart
  kwFlags = "flags" ~identPart
  kwType = "type" ~identPart
  kwHook = "hook" ~identPart
  kwPriority = "priority" ~identPart
  kwElements = "elements" ~identPart
  kwUser = "user" ~identPart
  kwUid = "uid" ~identPart
  kwGroup = "group" ~identPart
  kwGid = "gid" ~identPart
  kwCmd = "cmd" ~identPart
  kwPid = "pid" ~identPart
  kwCgroup = "cgroup" ~identPart
  kwRate = "rate" ~identPart
  kwOver = "over" ~identPart
  kwBurst = "burst" ~identPart
  kwPackets = "packets" ~identPart
  kwBytes = "bytes" ~identPart
  kwSecond = "second" ~identPart
  kwMinute = "minute" ~identPart
  kwHour = "hour" ~identPart
  kwDay = "day" ~identPart
  kwPrefix = "prefix" ~identPart
  kwNum = "num" ~identPart
}
`;

let cached: ohm.Grammar | undefined;

/** The compiled grammar (built once per process). */
export function kopiGrammar(): ohm.Grammar {
  cached ??= cachedGrammar("kopi-policy", KOPI_GRAMMAR_SOURCE);
  return cached;
}
