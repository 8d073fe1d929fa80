/**
 * The pcap-filter scanner, rule for rule as libpcap 1.10.3's flex scanner behaves: at each position every rule is
 * tried, the longest match wins, and a tie goes to the rule listed first (keywords before names). Keywords are
 * case-sensitive. Scanner errors (an octal number with an 8, a number over 32 bits, a bogus Ethernet or IPv6
 * address, a stray character) become BAD tokens carrying libpcap's message; the parser stops at them.
 */
import { parseIPv6 } from "../../overlay-isa/index.js";

export type TokenKind =
  | Keyword
  | Punct
  | "NUM" // a number or a named constant (tcpflags, icmp-echo, …)
  | "ID" // a name: host, service, protocol, network (a `\name` escape included)
  | "HID" // a dotted IPv4 address with 2 to 4 parts
  | "HID6" // an IPv6 address
  | "EID" // an Ethernet address
  | "AID" // an ARCnet address ($xx)
  | "BAD"; // scanner error; `error` holds libpcap's message

export type Punct =
  | "PLUS" | "MINUS" | "STAR" | "SLASH" | "PERCENT" | "COLON" | "LBRACK" | "RBRACK" | "BANG" | "LT" | "GT"
  | "LPAREN" | "RPAREN" | "AMP" | "PIPE" | "CARET" | "EQ" | "GEQ" | "LEQ" | "NEQ" | "LSH" | "RSH" | "AND" | "OR";

/** Keyword texts and the grammar token each stands for (several spellings share a token). */
const KEYWORD_LIST: readonly [string, string][] = [
  ["dst", "DST"], ["src", "SRC"],
  ["link", "LINK"], ["ether", "LINK"], ["ppp", "LINK"], ["slip", "LINK"], ["fddi", "LINK"], ["tr", "LINK"], ["wlan", "LINK"],
  ["arp", "ARP"], ["rarp", "RARP"], ["ip", "IP"], ["sctp", "SCTP"], ["tcp", "TCP"], ["udp", "UDP"], ["icmp", "ICMP"],
  ["igmp", "IGMP"], ["igrp", "IGRP"], ["pim", "PIM"], ["vrrp", "VRRP"], ["carp", "CARP"], ["radio", "RADIO"],
  ["ip6", "IPV6"], ["icmp6", "ICMPV6"], ["ah", "AH"], ["esp", "ESP"],
  ["atalk", "ATALK"], ["aarp", "AARP"], ["decnet", "DECNET"], ["lat", "LAT"], ["sca", "SCA"], ["moprc", "MOPRC"], ["mopdl", "MOPDL"],
  ["iso", "ISO"], ["esis", "ESIS"], ["es-is", "ESIS"], ["isis", "ISIS"], ["is-is", "ISIS"], ["l1", "L1"], ["l2", "L2"],
  ["iih", "IIH"], ["lsp", "LSP"], ["snp", "SNP"], ["csnp", "CSNP"], ["psnp", "PSNP"], ["clnp", "CLNP"],
  ["stp", "STP"], ["ipx", "IPX"], ["netbeui", "NETBEUI"],
  ["host", "HOST"], ["net", "NET"], ["mask", "NETMASK"], ["port", "PORT"], ["portrange", "PORTRANGE"], ["proto", "PROTO"],
  ["protochain", "PROTOCHAIN"], ["gateway", "GATEWAY"],
  ["type", "TYPE"], ["subtype", "SUBTYPE"], ["direction", "DIR"], ["dir", "DIR"],
  ["address1", "ADDR1"], ["addr1", "ADDR1"], ["address2", "ADDR2"], ["addr2", "ADDR2"], ["address3", "ADDR3"], ["addr3", "ADDR3"],
  ["address4", "ADDR4"], ["addr4", "ADDR4"], ["ra", "RA"], ["ta", "TA"],
  ["less", "LESS"], ["greater", "GREATER"], ["byte", "CBYTE"], ["broadcast", "BROADCAST"], ["multicast", "MULTICAST"],
  ["and", "AND"], ["&&", "AND"], ["or", "OR"], ["||", "OR"], ["not", "BANG"],
  ["len", "LEN"], ["length", "LEN"], ["inbound", "INBOUND"], ["outbound", "OUTBOUND"], ["ifindex", "IFINDEX"],
  ["vlan", "VLAN"], ["mpls", "MPLS"], ["pppoed", "PPPOED"], ["pppoes", "PPPOES"], ["geneve", "GENEVE"],
  ["lane", "LANE"], ["llc", "LLC"], ["metac", "METAC"], ["bcc", "BCC"], ["oam", "OAM"], ["oamf4", "OAMF4"],
  ["oamf4ec", "OAMF4EC"], ["oamf4sc", "OAMF4SC"], ["sc", "SC"], ["ilmic", "ILMIC"], ["vpi", "VPI"], ["vci", "VCI"],
  ["connectmsg", "CONNECTMSG"], ["metaconnect", "METACONNECT"],
  ["on", "PF_IFNAME"], ["ifname", "PF_IFNAME"], ["rset", "PF_RSET"], ["ruleset", "PF_RSET"], ["rnr", "PF_RNR"],
  ["rulenum", "PF_RNR"], ["srnr", "PF_SRNR"], ["subrulenum", "PF_SRNR"], ["reason", "PF_REASON"], ["action", "PF_ACTION"],
  ["fisu", "FISU"], ["lssu", "LSSU"], ["lsu", "LSSU"], ["msu", "MSU"], ["hfisu", "HFISU"], ["hlssu", "HLSSU"], ["hmsu", "HMSU"],
  ["sio", "SIO"], ["opc", "OPC"], ["dpc", "DPC"], ["sls", "SLS"], ["hsio", "HSIO"], ["hopc", "HOPC"], ["hdpc", "HDPC"], ["hsls", "HSLS"],
];

export type Keyword = string;
export const KEYWORDS: ReadonlyMap<string, string> = new Map(KEYWORD_LIST);

/** Named constants the scanner turns into numbers (`tcp[tcpflags] & tcp-syn`, `icmp[icmptype] = icmp-echo`). */
export const NAMED_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["icmptype", 0], ["icmpcode", 1],
  ["icmp-echoreply", 0], ["icmp-unreach", 3], ["icmp-sourcequench", 4], ["icmp-redirect", 5], ["icmp-echo", 8],
  ["icmp-routeradvert", 9], ["icmp-routersolicit", 10], ["icmp-timxceed", 11], ["icmp-paramprob", 12],
  ["icmp-tstamp", 13], ["icmp-tstampreply", 14], ["icmp-ireq", 15], ["icmp-ireqreply", 16], ["icmp-maskreq", 17],
  ["icmp-maskreply", 18],
  ["icmp6type", 0], ["icmp6code", 1],
  ["icmp6-destinationunreach", 1], ["icmp6-packettoobig", 2], ["icmp6-timeexceeded", 3], ["icmp6-parameterproblem", 4],
  ["icmp6-echo", 128], ["icmp6-echoreply", 129], ["icmp6-multicastlistenerquery", 130],
  ["icmp6-multicastlistenerreportv1", 131], ["icmp6-multicastlistenerdone", 132], ["icmp6-routersolicit", 133],
  ["icmp6-routeradvert", 134], ["icmp6-neighborsolicit", 135], ["icmp6-neighboradvert", 136], ["icmp6-redirect", 137],
  ["icmp6-routerrenum", 138], ["icmp6-nodeinformationquery", 139], ["icmp6-nodeinformationresponse", 140],
  ["icmp6-ineighbordiscoverysolicit", 141], ["icmp6-ineighbordiscoveryadvert", 142],
  ["icmp6-multicastlistenerreportv2", 143], ["icmp6-homeagentdiscoveryrequest", 144],
  ["icmp6-homeagentdiscoveryreply", 145], ["icmp6-mobileprefixsolicit", 146], ["icmp6-mobileprefixadvert", 147],
  ["icmp6-certpathsolicit", 148], ["icmp6-certpathadvert", 149], ["icmp6-multicastrouteradvert", 151],
  ["icmp6-multicastroutersolicit", 152], ["icmp6-multicastrouterterm", 153],
  ["tcpflags", 13], ["tcp-fin", 0x01], ["tcp-syn", 0x02], ["tcp-rst", 0x04], ["tcp-push", 0x08], ["tcp-ack", 0x10],
  ["tcp-urg", 0x20], ["tcp-ece", 0x40], ["tcp-cwr", 0x80],
]);

const PUNCT1: Readonly<Record<string, Punct>> = {
  "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "%": "PERCENT", ":": "COLON", "[": "LBRACK", "]": "RBRACK",
  "!": "BANG", "<": "LT", ">": "GT", "(": "LPAREN", ")": "RPAREN", "&": "AMP", "|": "PIPE", "^": "CARET", "=": "EQ",
};
const PUNCT2: Readonly<Record<string, Punct>> = { ">=": "GEQ", "<=": "LEQ", "!=": "NEQ", "==": "EQ", "<<": "LSH", ">>": "RSH" };

export interface Token {
  kind: TokenKind;
  /** the matched text (without the backslash of a `\name` escape) */
  text: string;
  /** character offsets of the match in the expression */
  start: number;
  end: number;
  /** value of a NUM token */
  num?: number;
  /** libpcap's message for a BAD token */
  error?: string;
}

// ---- the scanner's regular definitions ---------------------------------------------------------------------
const N = "(?:0[xX][0-9A-Fa-f]+|[0-9]+)";
const B = "[0-9A-Fa-f][0-9A-Fa-f]?";
const B2 = "[0-9A-Fa-f]{4}";
const W = "[0-9A-Fa-f]{1,4}";
const V4 = `${N}\\.${N}\\.${N}\\.${N}`;

function sticky(source: string): RegExp {
  return new RegExp(source, "y");
}

/** Each alternative of the scanner's V6 definition; flex takes the longest of them, so each is tried alone. */
const V6_FORMS: readonly RegExp[] = (() => {
  const groups = (n: number, sep = ":") => Array.from({ length: n }, () => W).join(sep);
  const forms: string[] = [groups(8)];
  for (let k = 7; k >= 0; k--) {
    for (let i = 0; i <= k; i++) forms.push(`${groups(i)}::${groups(k - i)}`);
  }
  forms.push(`${groups(6)}:${V4}`);
  for (let k = 5; k >= 0; k--) {
    for (let i = 0; i <= k; i++) forms.push(`${groups(i)}::${Array.from({ length: k - i }, () => `${W}:`).join("")}${V4}`);
  }
  return forms.map(sticky);
})();

/** The characters any V6 form (including a trailing dotted quad with 0x parts) can contain. */
const RE_V6_CHARS = sticky(`[0-9A-Fa-fxX.:]*`);

const MAC_FORMS: readonly RegExp[] = [
  `${B}:${B}:${B}:${B}:${B}:${B}`,
  `${B}-${B}-${B}-${B}-${B}-${B}`,
  `${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}`,
  `${B2}\\.${B2}\\.${B2}`,
  `${B2}${B2}${B2}`,
].map(sticky);

const RE_N = sticky(`0[xX][0-9A-Fa-f]+|[0-9]+`);
const RE_HID = [sticky(`${N}\\.${N}\\.${N}\\.${N}`), sticky(`${N}\\.${N}\\.${N}`), sticky(`${N}\\.${N}`)];
const RE_AID = sticky(`\\$${B}`);
const RE_BOGUS_MAC = sticky(`${B}:+(?:${B}:+)+`);
const RE_ID = sticky(`[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?`);
const RE_ESCAPE = sticky(`\\\\[^ !()\\n\\t]+`);
const RE_WORD = sticky(`[A-Za-z0-9&|][-_.A-Za-z0-9&|]*`);

function matchLength(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0].length : 0;
}

function longest(res: readonly RegExp[], text: string, at: number): number {
  let best = 0;
  for (const re of res) best = Math.max(best, matchLength(re, text, at));
  return best;
}

/** libpcap's stou(): decimal, 0x hex, or 0-prefixed octal, each limited to 32 bits. */
function scanNumber(text: string): { value: number } | { error: string } {
  let n = 0;
  if (/^0[xX]/.test(text)) {
    for (const c of text.slice(2)) {
      if (n > 0x0fffffff) return { error: `number ${text} overflows 32 bits` };
      n = n * 16 + parseInt(c, 16);
    }
  } else if (text.startsWith("0")) {
    for (const c of text.slice(1)) {
      if (c > "7") return { error: `number ${text} contains non-octal digit` };
      if (n > 0o3777777777) return { error: `number ${text} overflows 32 bits` };
      n = n * 8 + Number(c);
    }
  } else {
    for (const c of text) {
      const d = Number(c);
      if (n > Math.floor(0xffffffff / 10) || (n === Math.floor(0xffffffff / 10) && d > 0xffffffff % 10)) {
        return { error: `number ${text} overflows 32 bits` };
      }
      n = n * 10 + d;
    }
  }
  return { value: n >>> 0 };
}

interface Candidate {
  length: number;
  make: (text: string) => Omit<Token, "start" | "end">;
}

/** Split an expression into tokens the way libpcap's scanner does. Never throws: errors are BAD tokens. */
export function scan(expr: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < expr.length) {
    const c = expr[at]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      at++;
      continue;
    }
    // Candidates in the scanner's rule order; a later rule wins only with a strictly longer match.
    const candidates: Candidate[] = [];
    const word = matchLength(RE_WORD, expr, at);
    for (let len = word; len >= 2; len--) {
      const kw = KEYWORDS.get(expr.slice(at, at + len));
      if (kw) {
        candidates.push({ length: len, make: (t) => ({ kind: kw as TokenKind, text: t }) });
        break;
      }
    }
    const two = expr.slice(at, at + 2);
    if (PUNCT2[two]) candidates.push({ length: 2, make: (t) => ({ kind: PUNCT2[two]!, text: t }) });
    if (PUNCT1[c]) candidates.push({ length: 1, make: (t) => ({ kind: PUNCT1[c]!, text: t }) });
    candidates.push({ length: matchLength(RE_AID, expr, at), make: (t) => ({ kind: "AID", text: t }) });
    candidates.push({ length: longest(MAC_FORMS, expr, at), make: (t) => ({ kind: "EID", text: t }) });
    candidates.push({
      length: matchLength(RE_N, expr, at),
      make: (t) => {
        const n = scanNumber(t);
        return "error" in n ? { kind: "BAD", text: t, error: n.error } : { kind: "NUM", text: t, num: n.value };
      },
    });
    candidates.push({ length: longest(RE_HID, expr, at), make: (t) => ({ kind: "HID", text: t }) });
    // every V6 form has a ':' inside a run of address characters; only then pay for the 45 alternatives
    if (/[0-9A-Fa-f:]/.test(c) && expr.slice(at, at + matchLength(RE_V6_CHARS, expr, at)).includes(":")) {
      candidates.push({
        length: longest(V6_FORMS, expr, at),
        make: (t) => (parseIPv6(t) === undefined ? { kind: "BAD", text: t, error: `bogus IPv6 address ${t}` } : { kind: "HID6", text: t }),
      });
    }
    candidates.push({ length: matchLength(RE_BOGUS_MAC, expr, at), make: (t) => ({ kind: "BAD", text: t, error: `bogus ethernet address ${t}` }) });
    for (let len = word; len >= 2; len--) {
      const k = NAMED_CONSTANTS.get(expr.slice(at, at + len));
      if (k !== undefined) {
        candidates.push({ length: len, make: (t) => ({ kind: "NUM", text: t, num: k }) });
        break;
      }
    }
    candidates.push({ length: matchLength(RE_ID, expr, at), make: (t) => ({ kind: "ID", text: t }) });
    candidates.push({ length: matchLength(RE_ESCAPE, expr, at), make: (t) => ({ kind: "ID", text: t.slice(1) }) });

    let best: Candidate | undefined;
    for (const cand of candidates) if (cand.length > 0 && (!best || cand.length > best.length)) best = cand;
    if (!best) {
      tokens.push({ kind: "BAD", text: c, start: at, end: at + 1, error: "syntax error" });
      at++;
      continue;
    }
    const text = expr.slice(at, at + best.length);
    tokens.push({ ...best.make(text), start: at, end: at + best.length });
    at += best.length;
  }
  return tokens;
}
