/** DNS as tcpdump 4.99 summarises it (print-domain.c): id, flags, question or answer counts and records. */
import { ipv6At, ipv6Text } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { hex2 } from "../dissector.js";

const OPCODES = [
  "", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA",
  " updateM", " updateMA", " zoneInit", " zoneRef",
];
const RCODES = [
  "", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet", " NotAuth",
  " NotZone", " Resp11", " Resp12", " Resp13", " Resp14", " NoChange", " BadVers", "Resp17", " Resp18", " Resp19",
  " Resp20", "Resp21", " Resp22", " BadCookie",
];

/** The record types tcpdump 4.99.3 names (checked against it type by type); others print as TypeN. */
const TYPES = new Map<number, string>([
  [1, "A"], [2, "NS"], [3, "MD"], [4, "MF"], [5, "CNAME"], [6, "SOA"], [7, "MB"], [8, "MG"], [9, "MR"], [10, "NULL"],
  [11, "WKS"], [12, "PTR"], [13, "HINFO"], [14, "MINFO"], [15, "MX"], [16, "TXT"], [17, "RP"], [18, "AFSDB"],
  [19, "X25"], [20, "ISDN"], [21, "RT"], [22, "NSAP"], [23, "NSAP_PTR"], [24, "SIG"], [25, "KEY"], [26, "PX"],
  [27, "GPOS"], [28, "AAAA"], [29, "LOC"], [30, "NXT"], [31, "EID"], [32, "NIMLOC"], [33, "SRV"], [34, "ATMA"],
  [35, "NAPTR"], [36, "KX"], [37, "CERT"], [38, "A6"], [39, "DNAME"], [40, "SINK"], [41, "OPT"], [42, "APL"],
  [43, "DS"], [44, "SSHFP"], [45, "IPSECKEY"], [46, "RRSIG"], [47, "NSEC"], [48, "DNSKEY"], [99, "SPF"],
  [100, "UINFO"], [101, "UID"], [102, "GID"], [103, "UNSPEC"], [104, "UNSPECA"], [249, "TKEY"], [250, "TSIG"],
  [251, "IXFR"], [252, "AXFR"], [253, "MAILB"], [254, "MAILA"], [255, "ANY"], [256, "URI"],
]);
const CLASSES = new Map<number, string>([
  [1, "IN"], [3, "CHAOS"], [4, "HS"], [255, "ANY"],
]);
const EDNS_OPTIONS = new Map<number, string>([
  [1, "LLQ"], [2, "UL"], [3, "NSID"], [5, "DAU"], [6, "DHU"], [7, "N3U"], [8, "ECS"], [9, "EXPIRE"],
  [10, "COOKIE"], [11, "KEEPALIVE"], [12, "PADDING"], [13, "CHAIN"], [14, "KEY-TAG"], [16, "CLIENT-TAG"],
  [17, "SERVER-TAG"],
]);

const DNSSEC_ALGORITHMS = new Map<number, string>([
  [0, "DELETE"], [1, "RSAMD5"], [2, "DH"], [3, "DS"], [5, "RSASHA1"], [6, "DSA-NSEC3-SHA1"],
  [7, "RSASHA1-NSEC3-SHA1"], [8, "RSASHA256"], [10, "RSASHA512"], [12, "ECC-GOST"], [13, "ECDSAP256SHA256"],
  [14, "ECDSAP384SHA384"], [15, "ED25519"], [16, "ED448"], [252, "INDIRECT"], [253, "PRIVATEDNS"],
  [254, "PRIVATEOID"],
]);
const DS_DIGESTS = new Map<number, string>([[1, "SHA-1"], [2, "SHA-256"], [3, "GOST_R_34.11-94"], [4, "SHA-384"]]);
const NSEC3_HASHES = new Map<number, string>([[1, "SHA-1"]]);

const T_OPT = 41;
const MAXCDNAME = 255;

function typeName(type: number): string {
  return TYPES.get(type) ?? `Type${type}`;
}

/** fn_print_char: a byte as tcpdump shows untrusted text. */
export function printableChar(c: number): string {
  let prefix = "";
  if (c >= 0x80) {
    prefix = "M-";
    c &= 0x7f;
  }
  if (c < 0x20 || c === 0x7f) return `${prefix}^${String.fromCharCode(c ^ 0x40)}`;
  return prefix + String.fromCharCode(c);
}

/** nd_printn: print n bytes as text; true when they run past the captured end. */
function printN(nd: Dissector, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    if (at + i >= nd.end) return true;
    nd.print(printableChar(nd.bytes[at + i]!));
  }
  return false;
}

/** ns_nskip: offset after a name, or -1. */
function skipName(nd: Dissector, cp: number): number {
  if (!nd.has(cp, 1)) return -1;
  let i = nd.bytes[cp++]!;
  while (i) {
    switch (i & 0xc0) {
      case 0xc0:
        return cp + 1;
      case 0x40: {
        if ((i & ~0xc0) !== 0x01) return -1;
        if (!nd.has(cp, 1)) return -1;
        let bitLength = nd.bytes[cp]!;
        if (bitLength === 0) bitLength = 256;
        cp++;
        cp += Math.floor((bitLength + 7) / 8);
        break;
      }
      case 0x80:
        return -1;
      default:
        cp += i;
        break;
    }
    if (!nd.has(cp, 1)) return -1;
    i = nd.bytes[cp++]!;
  }
  return cp;
}

/** labellen */
function labelLength(nd: Dissector, cp: number): number {
  if (!nd.has(cp, 1)) return -1;
  const i = nd.bytes[cp]!;
  switch (i & 0xc0) {
    case 0x40: {
      const elt = i & ~0xc0;
      if (elt !== 0x01) {
        nd.print(`<ELT ${elt}>`);
        return -1;
      }
      if (!nd.has(cp + 1, 1)) return -1;
      let bitLength = nd.bytes[cp + 1]!;
      if (bitLength === 0) bitLength = 256;
      return Math.floor((bitLength + 7) / 8) + 1;
    }
    case 0xc0:
    case 0:
      return i;
    default:
      nd.print("<BAD LABEL TYPE>");
      return -1;
  }
}

/** blabel_print: an EDNS0 bit-string label. */
function bitLabelPrint(nd: Dissector, cp: number): number {
  if (!nd.has(cp, 1)) return -1;
  let bitLength = nd.bytes[cp]!;
  if (bitLength === 0) bitLength = 256;
  const stringLength = Math.floor((bitLength + 3) / 4);
  const limit = cp + 1 + stringLength;
  nd.print("\\[x");
  let bitp = cp + 1;
  let b = bitLength;
  for (; bitp < limit && b > 7; b -= 8, bitp++) nd.print(hex2(nd.u8(bitp)));
  if (b > 4) {
    const tc = nd.u8(bitp);
    nd.print(hex2(tc & (0xff << (8 - b))));
  } else if (b > 0) {
    const tc = nd.u8(bitp);
    nd.print((((tc >> 4) & 0x0f) & (0x0f << (4 - b))).toString(16));
  }
  nd.print(`/${bitLength}]`);
  return limit;
}

/** fqdn_print: print a possibly compressed name; returns the offset after it in the record, or -1. */
export function fqdnPrint(nd: Dissector, cp: number, bp: number): number {
  let l = labelLength(nd, cp);
  if (l === -1) return -1;
  if (!nd.has(cp, 1)) return -1;
  // Unsigned in tcpdump: a base after the name (EDNS CHAIN) allows any pointer.
  let maxOffset = (cp - bp) >>> 0;
  let i = nd.bytes[cp++]!;
  let rp = -1;
  let compress = false;
  if ((i & 0xc0) !== 0xc0) rp = cp + l;
  let nameChars = 0;
  if (i !== 0) {
    while (i && cp < nd.end) {
      switch (i & 0xc0) {
        case 0xc0: {
          if (!compress) {
            rp = cp + 1;
            compress = true;
          }
          if (!nd.has(cp, 1)) return -1;
          const offset = ((i << 8) | nd.bytes[cp]!) & 0x3fff;
          if (offset >= maxOffset) {
            nd.print("<BAD PTR>");
            return -1;
          }
          maxOffset = offset;
          cp = bp + offset;
          if (!nd.has(cp, 1)) return -1;
          i = nd.bytes[cp]!;
          l = labelLength(nd, cp);
          if (l === -1) return -1;
          cp++;
          continue;
        }
        case 0x40: {
          const elt = i & ~0xc0;
          if (elt === 0x01) {
            if (bitLabelPrint(nd, cp) === -1) return -1;
          } else {
            nd.print(`<ELT ${elt}>`);
            return -1;
          }
          break;
        }
        case 0x80:
          nd.print("<BAD LABEL TYPE>");
          return -1;
        default:
          if (nameChars + l <= MAXCDNAME) {
            if (printN(nd, cp, l)) return -1;
          } else if (nameChars < MAXCDNAME) {
            if (printN(nd, cp, MAXCDNAME - nameChars)) return -1;
          }
          nameChars += l;
          break;
      }
      cp += l;
      if (nameChars <= MAXCDNAME) nd.print(".");
      nameChars++;
      if (!nd.has(cp, 1)) return -1;
      i = nd.bytes[cp]!;
      l = labelLength(nd, cp);
      if (l === -1) return -1;
      cp++;
      if (!compress) rp += l + 1;
    }
    if (nameChars > MAXCDNAME) nd.print("<DOMAIN NAME TOO LONG>");
  } else {
    nd.print(".");
  }
  return rp;
}

/** ns_cprint: a <character-string>. */
function characterStringPrint(nd: Dissector, cp: number): number {
  if (!nd.has(cp, 1)) return -1;
  const length = nd.bytes[cp++]!;
  if (printN(nd, cp, length)) return -1;
  return cp + length;
}

function qprint(nd: Dissector, cp: number, bp: number, mdns: boolean): number {
  const name = cp;
  cp = skipName(nd, cp);
  if (cp === -1 || !nd.has(cp, 4)) return -1;
  nd.print(` ${typeName(nd.be16(cp))}`);
  const rawClass = nd.be16(cp + 2);
  const klass = mdns ? rawClass & ~0x8000 : rawClass;
  if (klass !== 1) nd.print(` ${CLASSES.get(klass) ?? `(Class ${klass})`}`);
  if (mdns) nd.print(rawClass & 0x8000 ? " (QU)" : " (QM)");
  nd.print("? ");
  const end = fqdnPrint(nd, name, bp);
  return end === -1 ? -1 : end + 4;
}

function relativeTime(seconds: number): string {
  if (seconds === 0) return "0s";
  const units: Array<[number, string]> = [[31536000, "y"], [604800, "w"], [86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  let text = "";
  for (const [size, unit] of units) {
    if (seconds >= size) {
      text += `${Math.floor(seconds / size)}${unit}`;
      seconds -= Math.floor(seconds / size) * size;
    }
  }
  return text;
}

/** EDNS client subnet: address/source-prefix/scope-prefix. */
function clientSubnetPrint(nd: Dissector, cp: number, length: number): void {
  if (length < 4) return nd.printInvalid();
  const family = nd.be16(cp);
  const sourceLength = nd.u8(cp + 2);
  const scopeLength = nd.u8(cp + 3);
  const bits = family === 1 ? 32 : family === 2 ? 128 : 0;
  if (bits === 0 || length - 4 > bits / 8) return nd.printInvalid();
  if (sourceLength > bits || scopeLength > bits || Math.floor((sourceLength + 7) / 8) !== length - 4) {
    return nd.printInvalid();
  }
  const padded = new Uint8Array(16);
  for (let i = 0; i < length - 4; i++) padded[i] = nd.u8(cp + 4 + i);
  const address = family === 1 ? `${padded[0]}.${padded[1]}.${padded[2]}.${padded[3]}` : ipv6Text(padded, 0);
  nd.print(`${address}/${sourceLength}/${scopeLength}`);
}

function ednsOptionPrint(nd: Dissector, cp: number): number {
  if (!nd.has(cp, 2)) return -1;
  const option = nd.be16(cp);
  cp += 2;
  nd.print(EDNS_OPTIONS.get(option) ?? `Opt${option}`);
  if (!nd.has(cp, 2)) return -1;
  const length = nd.be16(cp);
  cp += 2;
  if (!nd.has(cp, length)) return -1;
  if (length > 0) {
    nd.print(" ");
    const algorithms = (names: Map<number, string>): void => {
      for (let i = 0; i < length; i++) nd.print(`${i > 0 ? " " : ""}${names.get(nd.u8(cp + i)) ?? `Alg_${nd.u8(cp + i)}`}`);
    };
    switch (option) {
      case 8:
        clientSubnetPrint(nd, cp, length);
        break;
      case 5:
        algorithms(DNSSEC_ALGORITHMS);
        break;
      case 6:
        algorithms(DS_DIGESTS);
        break;
      case 7:
        algorithms(NSEC3_HASHES);
        break;
      case 13:
        fqdnPrint(nd, cp, cp + length);
        break;
      case 10:
        if (length < 8 || (length > 8 && length < 16) || length > 40) nd.printInvalid();
        else {
          for (let i = 0; i < length; i++) {
            if (i === 8) nd.print(" ");
            nd.print(hex2(nd.u8(cp + i)));
          }
        }
        break;
      case 11:
        if (length !== 2) nd.printInvalid();
        else nd.print(`${(nd.be16(cp) / 10).toFixed(1)} sec`);
        break;
      case 9:
        if (length !== 4) nd.printInvalid();
        else nd.print(`${nd.be32(cp)} sec`);
        break;
      case 12:
        nd.print(`(${length})`);
        break;
      case 14:
        if (length % 2 !== 0) nd.printInvalid();
        else for (let i = 0; i < length; i += 2) nd.print(`${i > 0 ? " " : ""}${nd.be16(cp + i)}`);
        break;
      default:
        for (let i = 0; i < length; i++) nd.print(hex2(nd.u8(cp + i)));
        break;
    }
  }
  return cp + length;
}

/** ns_rprint: one resource record; returns the offset after it, or -1. */
function rprint(nd: Dissector, cp: number, bp: number, mdns: boolean): number {
  if (nd.options.verbose) {
    nd.print(" ");
    cp = fqdnPrint(nd, cp, bp);
    if (cp === -1) return -1;
  } else {
    cp = skipName(nd, cp);
  }
  if (cp === -1 || !nd.has(cp, 10)) return nd.end;
  const type = nd.be16(cp);
  const rawClass = nd.be16(cp + 2);
  const klass = mdns ? rawClass & ~0x8000 : rawClass;
  if (klass !== 1 && type !== T_OPT) nd.print(` ${CLASSES.get(klass) ?? `(Class ${klass})`}`);
  if (mdns && rawClass & 0x8000) nd.print(" (Cache flush)");
  let optFlags = 0;
  if (type === T_OPT) optFlags = nd.be16(cp + 6);
  else if (nd.options.verbose > 2) nd.print(` [${relativeTime(nd.be32(cp + 4))}]`);
  const length = nd.be16(cp + 8);
  cp += 10;
  const rp = cp + length;
  nd.print(` ${typeName(type)}`);
  if (rp > nd.end) return -1;
  switch (type) {
    case 1:
      if (!nd.has(cp, 4)) return -1;
      nd.print(` ${nd.bytes[cp]}.${nd.bytes[cp + 1]}.${nd.bytes[cp + 2]}.${nd.bytes[cp + 3]}`);
      break;
    case 2:
    case 5:
    case 12:
    case 39:
      nd.print(" ");
      if (fqdnPrint(nd, cp, bp) === -1) return -1;
      break;
    case 6:
      if (!nd.options.verbose) break;
      nd.print(" ");
      cp = fqdnPrint(nd, cp, bp);
      if (cp === -1) return -1;
      nd.print(" ");
      cp = fqdnPrint(nd, cp, bp);
      if (cp === -1) return -1;
      if (!nd.has(cp, 20)) return -1;
      for (let i = 0; i < 5; i++) nd.print(` ${nd.be32(cp + 4 * i)}`);
      break;
    case 15:
      nd.print(" ");
      if (!nd.has(cp, 2)) return -1;
      if (fqdnPrint(nd, cp + 2, bp) === -1) return -1;
      nd.print(` ${nd.be16(cp)}`);
      break;
    case 16:
      while (cp < rp) {
        nd.print(' "');
        cp = characterStringPrint(nd, cp);
        if (cp === -1) return -1;
        nd.print('"');
      }
      break;
    case 33:
      nd.print(" ");
      if (!nd.has(cp, 6)) return -1;
      if (fqdnPrint(nd, cp + 6, bp) === -1) return -1;
      nd.print(`:${nd.be16(cp + 4)} ${nd.be16(cp)} ${nd.be16(cp + 2)}`);
      break;
    case 28:
      if (!nd.has(cp, 16)) return -1;
      nd.print(` ${ipv6At(nd, cp)}`);
      break;
    case 38: {
      if (!nd.has(cp, 1)) return -1;
      const prefixBits = nd.u8(cp);
      const prefixByte = (prefixBits & ~7) / 8;
      if (prefixBits > 128) {
        nd.print(` ${prefixBits}(bad plen)`);
        break;
      } else if (prefixBits < 128) {
        nd.need(cp + 1, 16 - prefixByte);
        const address = new Uint8Array(16);
        address.set(nd.bytes.subarray(cp + 1, cp + 1 + 16 - prefixByte), prefixByte);
        nd.print(` ${prefixBits} ${ipv6Text(address, 0)}`);
      }
      if (prefixBits > 0) {
        nd.print(" ");
        if (fqdnPrint(nd, cp + 1 + 16 - prefixByte, bp) === -1) return -1;
      }
      break;
    }
    case 250: {
      if (!nd.options.verbose) break;
      nd.print(" ");
      let at = fqdnPrint(nd, cp, bp);
      if (at === -1) return -1;
      at += 6;
      const field = (label: string): boolean => {
        if (!nd.has(at, 2)) return false;
        nd.print(` ${label}=${nd.be16(at)}`);
        return true;
      };
      if (!field("fudge")) return -1;
      at += 2;
      if (!field("maclen")) return -1;
      at += 2 + nd.be16(at);
      if (!field("origid")) return -1;
      at += 2;
      if (!field("error")) return -1;
      at += 2;
      if (!field("otherlen")) return -1;
      break;
    }
    case 41:
      nd.print(` UDPsize=${klass}`);
      if (optFlags & 0x8000) nd.print(" DO");
      if (cp < rp) {
        nd.print(" [");
        while (cp < rp) {
          cp = ednsOptionPrint(nd, cp);
          if (cp === -1) return -1;
          if (cp < rp) nd.print(",");
        }
        nd.print("]");
      }
      break;
    case 256:
      if (!nd.has(cp, length)) return -1;
      nd.print(` ${nd.be16(cp)} ${nd.be16(cp + 2)} `);
      // (u_int) length - 4: a record shorter than 4 bytes prints on to the capture's end.
      if (printN(nd, cp + 4, (length - 4) >>> 0)) return -1;
      break;
    default:
      break;
  }
  return rp;
}

/**
 * `count` resource records from `cp`, comma-separated: where they end, and how many were left unprinted (-1 when
 * one was cut short). (A module function, not a closure per packet: the bundle names every closure it makes.)
 */
function printRecords(nd: Dissector, bp: number, mdns: boolean, count: number, cp: number): { cp: number; left: number } {
  if (count === 0) return { cp, left: 0 };
  cp = rprint(nd, cp, bp, mdns);
  if (cp === -1) return { cp, left: -1 };
  count--;
  while (cp < nd.end && count) {
    nd.print(",");
    cp = rprint(nd, cp, bp, mdns);
    if (cp === -1) return { cp, left: -1 };
    count--;
  }
  return { cp, left: count };
}

export function domainPrint(nd: Dissector, at: number, length: number, overTcp: boolean, mdns: boolean): void {
  nd.protocol = "domain";
  if (overTcp) {
    if (length < 2) {
      nd.print(` [DNS over TCP: length ${length} < 2]`);
      nd.printInvalid();
      return;
    }
    length -= 2;
    const prefix = nd.be16(at);
    if (prefix !== length) {
      nd.print(` [prefix length(${prefix}) != length(${length})]`);
      nd.printInvalid();
      return;
    }
    at += 2;
    nd.print(" ");
  }
  const bp = at;
  if (length < 12) {
    nd.print(`domain [length ${length} < 12]`);
    nd.printInvalid();
    return;
  }
  nd.need(at, 12);
  const flags = nd.be16(at + 2);
  let qdcount = nd.be16(at + 4);
  let ancount = nd.be16(at + 6);
  let nscount = nd.be16(at + 8);
  let arcount = nd.be16(at + 10);
  let rcode = flags & 0xf;
  // The extended RCODE lives in the OPT record of the additional section.
  findOpt: {
    let cp = at + 12;
    for (let i = 0; i < qdcount; i++) {
      cp = skipName(nd, cp);
      if (cp === -1) break findOpt;
      cp += 4;
      if (cp >= nd.end) break findOpt;
    }
    for (let i = 0; i < ancount + nscount; i++) {
      cp = skipName(nd, cp);
      if (cp === -1) break findOpt;
      cp += 8;
      if (cp + 2 > nd.end) break findOpt;
      cp += 2 + nd.be16(cp);
      if (cp >= nd.end) break findOpt;
    }
    for (let i = 0; i < arcount; i++) {
      cp = skipName(nd, cp);
      if (cp === -1) break findOpt;
      if (cp + 2 > nd.end) break findOpt;
      const type = nd.be16(cp);
      cp += 4;
      if (cp + 1 > nd.end) break findOpt;
      if (type === T_OPT) {
        rcode |= nd.u8(cp) << 4;
        break findOpt;
      }
      cp += 4;
      if (cp + 2 > nd.end) break findOpt;
      cp += 2 + nd.be16(cp);
      if (cp >= nd.end) break findOpt;
    }
  }
  const opcode = (flags >> 11) & 0xf;
  let cp = at + 12;
  if (flags & 0x8000) {
    const rcodeText = rcode < RCODES.length ? RCODES[rcode]! : ` Resp${rcode & 0xfff}`;
    nd.print(
      `${nd.be16(at)}${OPCODES[opcode]}${rcodeText}${flags & 0x0400 ? "*" : ""}${flags & 0x0080 ? "" : "-"}` +
        `${flags & 0x0200 ? "|" : ""}${flags & 0x0020 ? "$" : ""}`,
    );
    if (qdcount !== 1) nd.print(` [${qdcount}q]`);
    for (let i = 0; i < qdcount; i++) {
      if (i !== 0) nd.print(",");
      if (nd.options.verbose > 1) {
        nd.print(" q:");
        cp = qprint(nd, cp, bp, mdns);
        if (cp === -1) return nd.printTrunc();
      } else {
        cp = skipName(nd, cp);
        if (cp === -1) return nd.printTrunc();
        cp += 4;
      }
    }
    nd.print(` ${ancount}/${nscount}/${arcount}`);
    let step = printRecords(nd, bp, mdns, ancount, cp);
    if (step.left !== 0) return nd.printTrunc();
    cp = step.cp;
    if (nd.options.verbose > 1) {
      if (cp < nd.end && nscount) {
        nd.print(" ns:");
        step = printRecords(nd, bp, mdns, nscount, cp);
        if (step.left === -1) return nd.printTrunc();
        nscount = step.left;
        cp = step.cp;
      }
      if (nscount) return nd.printTrunc();
      if (cp < nd.end && arcount) {
        nd.print(" ar:");
        step = printRecords(nd, bp, mdns, arcount, cp);
        if (step.left === -1) return nd.printTrunc();
        arcount = step.left;
        cp = step.cp;
      }
      if (arcount) return nd.printTrunc();
    }
  } else {
    nd.print(`${nd.be16(at)}${OPCODES[opcode]}${flags & 0x0100 ? "+" : ""}${flags & 0x0010 ? "%" : ""}`);
    const b2 = nd.be16(at + 2);
    if (b2 & 0x6cf) nd.print(` [b2&3=0x${b2.toString(16)}]`);
    if (opcode === 1) {
      if (qdcount) nd.print(` [${qdcount}q]`);
      if (ancount !== 1) nd.print(` [${ancount}a]`);
    } else {
      if (ancount) nd.print(` [${ancount}a]`);
      if (qdcount !== 1) nd.print(` [${qdcount}q]`);
    }
    if (nscount) nd.print(` [${nscount}n]`);
    if (arcount) nd.print(` [${arcount}au]`);
    if (qdcount) {
      cp = qprint(nd, cp, bp, mdns);
      if (cp === -1) return nd.printTrunc();
      qdcount--;
      while (cp < nd.end && qdcount) {
        cp = qprint(nd, cp, bp, mdns);
        if (cp === -1) return nd.printTrunc();
        qdcount--;
      }
    }
    if (qdcount) return nd.printTrunc();
    if (nd.options.verbose > 1) {
      let step = printRecords(nd, bp, mdns, ancount, cp);
      if (step.left !== 0) return nd.printTrunc();
      cp = step.cp;
      if (cp < nd.end && nscount) {
        nd.print(" ns:");
        step = printRecords(nd, bp, mdns, nscount, cp);
        if (step.left === -1) return nd.printTrunc();
        nscount = step.left;
        cp = step.cp;
      }
      if (nscount > 0) return nd.printTrunc();
      if (cp < nd.end && arcount) {
        nd.print(" ar:");
        step = printRecords(nd, bp, mdns, arcount, cp);
        if (step.left === -1) return nd.printTrunc();
        arcount = step.left;
        cp = step.cp;
      }
      if (arcount) return nd.printTrunc();
    }
  }
  nd.print(` (${length})`);
}
