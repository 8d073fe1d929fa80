/** ICMPv6 (tcpdump's icmp6_print): neighbour discovery, MLD, echo and errors; options with -v. */
import { ipv6At, ipv6Text } from "../addresses.js";
import { checksumShouldBe, ipv6PseudoChecksum } from "../checksum.js";
import type { Dissector, IpContext } from "../dissector.js";
import { hex2, hexOnly } from "../dissector.js";
import { bitNames, tcpPortName, udpPortName } from "../names.js";
import { fqdnPrint } from "./dns.js";

const TYPE_NAMES = new Map<number, string>([
  [1, "destination unreachable"],
  [2, "packet too big"],
  [3, "time exceeded in-transit"],
  [4, "parameter problem"],
  [128, "echo request"],
  [129, "echo reply"],
  [130, "multicast listener query"],
  [131, "multicast listener report"],
  [132, "multicast listener done"],
  [133, "router solicitation"],
  [134, "router advertisement"],
  [135, "neighbor solicitation"],
  [136, "neighbor advertisement"],
  [137, "redirect"],
  [138, "router renumbering"],
  [141, "inverse neighbor solicitation"],
  [142, "inverse neighbor advertisement"],
  [143, "multicast listener report v2"],
  [144, "ha discovery request"],
  [145, "ha discovery reply"],
  [146, "mobile router solicitation"],
  [147, "mobile router advertisement"],
  [139, "node information query"],
  [140, "node information reply"],
  [200, "mtrace message"],
  [201, "mtrace response"],
  [155, "RPL"],
]);

const UNREACH_CODES = new Map<number, string>([
  [0, "unreachable route"],
  [1, " unreachable prohibited"],
  [2, "beyond scope"],
  [3, "unreachable address"],
  [4, "unreachable port"],
]);

const OPTION_NAMES = new Map<number, string>([
  [1, "source link-address"],
  [2, "destination link-address"],
  [3, "prefix info"],
  [4, "redirected header"],
  [5, "mtu"],
  [25, "rdnss"],
  [31, "dnssl"],
  [7, "advertisement interval"],
  [8, "homeagent information"],
  [24, "route info"],
]);

const RA_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x80, "managed"],
  [0x40, "other stateful"],
  [0x20, "home agent"],
  [0x02, "ipv6 only"],
];
const PREFIX_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x80, "onlink"],
  [0x40, "auto"],
  [0x20, "router"],
];
const NA_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x80000000, "router"],
  [0x40000000, "solicited"],
  [0x20000000, "override"],
];
const MLDV2_RECORD_TYPES = new Map<number, string>([
  [1, "is_in"],
  [2, "is_ex"],
  [3, "to_in"],
  [4, "to_ex"],
  [5, "allow"],
  [6, "block"],
]);

function routePreference(flags: number): string {
  return ["medium", "high", "rsv", "low"][(flags & 0x18) >> 3]!;
}

function lifetime(value: number): string {
  return value === 0xffffffff ? "infinity" : `${value}s`;
}

/** print_unknown_data: hex words of what is there (never past the capture). */
function unknownData(nd: Dissector, at: number, indent: string, length: number): void {
  if (at > nd.end) {
    nd.print(`${indent}Dissector error: print_unknown_data called with pointer past end of packet`);
    return;
  }
  hexOnly(nd, indent, at, Math.min(length, nd.available(at)), 0);
}

/** The upper-layer header of the datagram an ICMPv6 error quotes (get_upperlayer). */
function upperLayer(nd: Dissector, at: number): { at: number; protocol: number } | undefined {
  if (!nd.has(at + 6, 1)) return undefined;
  let next = nd.bytes[at + 6]!;
  let headerLength = 40;
  let cp = at;
  while (cp < nd.end) {
    cp += headerLength;
    switch (next) {
      case 6:
      case 17:
        return nd.has(cp + 2, 2) ? { at: cp, protocol: next } : undefined;
      case 0:
      case 60:
      case 43:
        if (!nd.has(cp + 1, 1)) return undefined;
        next = nd.bytes[cp]!;
        headerLength = (nd.bytes[cp + 1]! + 1) << 3;
        break;
      case 44:
        if (!nd.has(cp + 2, 2)) return undefined;
        if (nd.be16(cp + 2) & 0xfff8) return undefined;
        next = nd.bytes[cp]!;
        headerLength = 8;
        break;
      case 51:
        if (!nd.has(cp + 1, 1)) return undefined;
        next = nd.bytes[cp]!;
        headerLength = (nd.bytes[cp + 1]! + 2) << 2;
        break;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** icmp6_opt_print (-v); false when an option runs past the capture. */
function optionsPrint(nd: Dissector, bp: number, residual: number): boolean {
  let cp = bp;
  while (cp < nd.end) {
    nd.need(cp + 1, 1);
    if (residual <= 0) return true;
    const type = nd.u8(cp);
    const length = nd.u8(cp + 1);
    if (length === 0) return false;
    if (cp + (length << 3) > nd.end) return false;
    nd.print(`\n\t  ${OPTION_NAMES.get(type) ?? "unknown"} option (${type}), length ${length << 3} (${length}): `);
    switch (type) {
      case 1:
      case 2: {
        const bytes: string[] = [];
        for (let i = 0; i < (length << 3) - 2; i++) bytes.push(hex2(nd.u8(cp + 2 + i)));
        nd.print(bytes.join(":"));
        break;
      }
      case 3:
        nd.print(
          `${ipv6At(nd, cp + 16)}/${nd.u8(cp + 2)}${length !== 4 ? "badlen" : ""}, Flags [${bitNames(PREFIX_FLAGS, "none", nd.u8(cp + 3))}], valid time ${lifetime(nd.be32(cp + 4))}`,
        );
        nd.print(`, pref. time ${lifetime(nd.be32(cp + 8))}`);
        break;
      case 4:
        unknownData(nd, bp, "\n\t    ", length << 3);
        break;
      case 5:
        nd.print(` ${nd.be32(cp + 4)}${length !== 1 ? "bad option length" : ""}`);
        break;
      case 25: {
        nd.print(` lifetime ${nd.be32(cp + 4)}s,`);
        const count = Math.floor((length - 1) / 2);
        for (let i = 0; i < count; i++) nd.print(` addr: ${ipv6At(nd, cp + 8 + 16 * i)}`);
        break;
      }
      case 31: {
        nd.print(` lifetime ${nd.be32(cp + 4)}s, domain(s):`);
        let domain = cp + 8;
        while (domain < cp + (length << 3) && nd.u8(domain) !== 0) {
          nd.print(" ");
          domain = fqdnPrint(nd, domain, bp);
          if (domain === -1) return false;
        }
        break;
      }
      case 7:
        nd.print(` ${nd.be32(cp + 4)}ms`);
        break;
      case 8:
        nd.print(` preference ${nd.be16(cp + 4)}, lifetime ${nd.be16(cp + 6)}`);
        break;
      case 24: {
        nd.need(cp + 4, 4);
        const prefix = new Uint8Array(16);
        if (length === 2) prefix.set(nd.bytes.subarray(cp + 8, cp + 16), 0);
        else if (length === 3) prefix.set(nd.bytes.subarray(cp + 8, cp + 24), 0);
        else if (length !== 1) return false;
        nd.print(` ${ipv6Text(prefix, 0)}/${nd.u8(cp + 2)}`);
        nd.print(`, pref=${routePreference(nd.u8(cp + 3))}`);
        nd.print(`, lifetime=${lifetime(nd.be32(cp + 4))}`);
        break;
      }
      default:
        if (nd.options.verbose <= 1) {
          unknownData(nd, cp + 2, "\n\t  ", (length << 3) - 2);
          return true;
        }
        break;
    }
    if (nd.options.verbose > 1) unknownData(nd, cp + 2, "\n\t    ", (length << 3) - 2);
    cp += length << 3;
    residual -= length << 3;
  }
  return true;
}

function mldPrint(nd: Dissector, at: number): void {
  if (at + 24 > nd.end) return;
  nd.print(`max resp delay: ${nd.be16(at + 4)} `);
  nd.print(`addr: ${ipv6At(nd, at + 8)}`);
}

function mldv2ReportPrint(nd: Dissector, at: number, length: number): void {
  if (length < 8) {
    nd.print(` [invalid len ${length}]`);
    return;
  }
  const groups = nd.be16(at + 6);
  nd.print(`, ${groups} group record(s)`);
  if (nd.options.verbose > 0) {
    let group = 8;
    for (let i = 0; i < groups; i++) {
      if (length < group + 20) {
        nd.print(" [invalid number of groups]");
        return;
      }
      nd.print(` [gaddr ${ipv6At(nd, at + group + 4)}`);
      const recordType = nd.u8(at + group);
      nd.print(` ${MLDV2_RECORD_TYPES.get(recordType) ?? ` [v2-report-#${recordType}]`}`);
      const sources = nd.be16(at + group + 2);
      if (length < group + 20 + sources * 16) {
        nd.print(` [invalid number of sources ${sources}]`);
        return;
      }
      if (nd.options.verbose === 1) nd.print(`, ${sources} source(s)`);
      else {
        nd.print(" {");
        for (let j = 0; j < sources; j++) nd.print(` ${ipv6At(nd, at + group + 20 + j * 16)}`);
        nd.print(" }");
      }
      group += 20 + sources * 16;
      nd.print("]");
    }
  }
}

function mldv2QueryPrint(nd: Dissector, at: number, length: number): void {
  if (length < 28) {
    nd.print(` [invalid len ${length}]`);
    return;
  }
  const code = nd.be16(at + 4);
  const maxResponse = code < 32768 ? code : ((code & 0x0fff) | 0x1000) << (((code & 0x7000) >> 12) + 3);
  if (nd.options.verbose) nd.print(` [max resp delay=${maxResponse}]`);
  nd.print(` [gaddr ${ipv6At(nd, at + 8)}`);
  if (nd.options.verbose) {
    if (nd.u8(at + 24) & 0x08) nd.print(" sflag");
    if (nd.u8(at + 24) & 0x07) nd.print(` robustness=${nd.u8(at + 24) & 0x07}`);
    const q = nd.u8(at + 25);
    const qqi = q < 128 ? q : ((q & 0x0f) | 0x10) << (((q & 0x70) >> 4) + 3);
    nd.print(` qqi=${qqi}`);
  }
  const sources = nd.be16(at + 26);
  if (sources > 0) {
    if (length < 28 + sources * 16) nd.print(" [invalid number of sources]");
    else if (nd.options.verbose > 1) {
      nd.print(" {");
      for (let i = 0; i < sources; i++) nd.print(` ${ipv6At(nd, at + 28 + i * 16)}`);
      nd.print(" }");
    } else nd.print(`, ${sources} source(s)`);
  }
  nd.print("]");
}

export function icmp6Print(nd: Dissector, at: number, length: number, ip: IpContext, fragmented: boolean): void {
  nd.protocol = "icmp6";
  const numeric = nd.options.numeric;
  const verbose = nd.options.verbose;
  const quoted = at + 8;
  if (length === 0) {
    nd.print("ICMP6, length 0");
    nd.printInvalid();
    return;
  }
  if (verbose && !fragmented && nd.has(at, length)) {
    const field = nd.be16(at + 2);
    const sum = ipv6PseudoChecksum(nd, ip.at, ip.destinationAt, at, length, 58);
    if (sum !== 0) {
      nd.print(
        `[bad icmp6 cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${checksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] `,
      );
    } else nd.print("[icmp6 sum ok] ");
  }
  const type = nd.u8(at);
  nd.print(`ICMP6, ${TYPE_NAMES.get(type) ?? `unknown icmp6 type (${type})`}`);
  if (verbose && (type === 133 || type === 134 || type === 136 || type === 135 || type === 137 || type === 145 || type === 147)) {
    nd.print(`, length ${length}`);
  }
  const code = nd.u8(at + 1);
  const trunc = (): void => nd.printTrunc();
  switch (type) {
    case 1:
      nd.print(`, ${UNREACH_CODES.get(code) ?? `unknown unreach code (${code})`}`);
      switch (code) {
        case 0:
        case 1:
        case 3:
          nd.print(` ${ipv6At(nd, quoted + 24)}`);
          break;
        case 2:
          nd.print(` ${ipv6At(nd, quoted + 24)}, source address ${ipv6At(nd, quoted + 8)}`);
          break;
        case 4: {
          const upper = upperLayer(nd, quoted);
          if (upper === undefined) return trunc();
          const dport = nd.be16(upper.at + 2);
          if (upper.protocol === 6) nd.print(`, ${ipv6At(nd, quoted + 24)} tcp port ${tcpPortName(dport, numeric)}`);
          else nd.print(`, ${ipv6At(nd, quoted + 24)} udp port ${udpPortName(dport, numeric)}`);
          break;
        }
        default:
          if (verbose <= 1) {
            unknownData(nd, at, "\n\t", length);
            return;
          }
      }
      break;
    case 2:
      nd.print(`, mtu ${nd.be32(at + 4)}`);
      break;
    case 3:
      if (code === 0) nd.print(` for ${ipv6At(nd, quoted + 24)}`);
      else if (code === 1) nd.print(" (reassembly)");
      else nd.print(`, unknown code (${code})`);
      break;
    case 4: {
      nd.need(quoted + 24, 16);
      const pointer = nd.be32(at + 4);
      const phrases = ["erroneous", "next header", "option", "incomplete header chain"];
      nd.print(code < 4 ? `, ${phrases[code]} - octet ${pointer}` : `, code-#${code}`);
      break;
    }
    case 128:
    case 129:
      nd.print(`, id ${nd.be16(at + 4)}, seq ${nd.be16(at + 6)}`);
      break;
    case 130:
      if (length === 24) mldPrint(nd, at);
      else if (length >= 28) {
        nd.print(" v2");
        mldv2QueryPrint(nd, at, length);
      } else nd.print(` unknown-version (len ${length}) `);
      break;
    case 131:
    case 132:
      mldPrint(nd, at);
      break;
    case 133:
      if (verbose && !optionsPrint(nd, at + 8, length - 8)) return trunc();
      break;
    case 134:
      if (verbose) {
        const flags = nd.u8(at + 5);
        nd.print(
          `\n\thop limit ${nd.u8(at + 4)}, Flags [${bitNames(RA_FLAGS, "none", flags)}], pref ${routePreference(flags)}` +
            `, router lifetime ${nd.be16(at + 6)}s, reachable time ${nd.be32(at + 8)}ms, retrans timer ${nd.be32(at + 12)}ms`,
        );
        if (!optionsPrint(nd, at + 16, length - 16)) return trunc();
      }
      break;
    case 135:
      nd.print(`, who has ${ipv6At(nd, at + 8)}`);
      if (verbose && !optionsPrint(nd, at + 24, length - 24)) return trunc();
      break;
    case 136:
      nd.print(`, tgt is ${ipv6At(nd, at + 8)}`);
      if (verbose) {
        nd.print(`, Flags [${bitNames(NA_FLAGS, "none", nd.be32(at + 4))}]`);
        if (!optionsPrint(nd, at + 24, length - 24)) return trunc();
      }
      break;
    case 137:
      nd.print(`, ${ipv6At(nd, at + 8)}`);
      nd.print(` to ${ipv6At(nd, at + 24)}`);
      if (verbose && !optionsPrint(nd, at + 40, length - 40)) return trunc();
      break;
    case 141:
    case 142:
      break;
    case 143:
      mldv2ReportPrint(nd, at, length);
      break;
    case 146:
    case 144:
      nd.print(`, id 0x${nd.be16(at + 4).toString(16).padStart(4, "0")}`);
      break;
    case 145:
      if (verbose) {
        nd.print(`, id 0x${nd.be16(at + 4).toString(16).padStart(4, "0")}`);
        const end = at + Math.min(length, nd.available(at));
        for (let p = at + 8; p < end; p += 16) nd.print(`, ${ipv6At(nd, p)}`);
      }
      break;
    case 147:
      if (verbose) {
        nd.print(`, id 0x${nd.be16(at + 4).toString(16).padStart(4, "0")}`);
        const flags = nd.be16(at + 6);
        if (flags & 0xc000) nd.print(" ");
        if (flags & 0x8000) nd.print("M");
        if (flags & 0x4000) nd.print("O");
        if (!optionsPrint(nd, at + 8, length - 8)) return trunc();
      }
      break;
    case 138:
    case 139:
    case 140:
    case 155:
      // Router renumbering, node information and RPL details are not decoded: the type name stands alone.
      break;
    default:
      nd.print(`, length ${length}`);
      if (verbose <= 1) unknownData(nd, at, "\n\t", length);
      return;
  }
  if (!verbose) nd.print(`, length ${length}`);
}
