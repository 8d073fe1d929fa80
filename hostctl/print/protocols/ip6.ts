/** IPv6 with its extension headers (tcpdump's ip6_print, hbhopt/dstopt/frag6/rt6 printers). */
import { ipv6At } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { ipProtocolName } from "../names.js";

/** Thrown by the option walker where tcpdump's ip6_opt_process returns -1. */
const OPTIONS_INVALID = { optionsInvalid: true } as const;

/**
 * ip6_opt_process: walks hop-by-hop or destination options (printing them with -v) and refuses malformed
 * ones. Returns the Jumbo Payload length when a valid one is found in a hop-by-hop header.
 */
function optionsProcess(nd: Dissector, at: number, length: number, hopByHop: boolean, payloadLength: number): number | undefined {
  const verbose = nd.options.verbose > 0;
  const say = (text: string): void => {
    if (verbose) nd.print(text);
  };
  let jumbo: number | undefined;
  let optionLength = 0;
  for (let i = 0; i < length; i += optionLength) {
    const type = nd.u8(at + i);
    if (type === 0) optionLength = 1;
    else if (i + 1 < length) optionLength = nd.u8(at + i + 1) + 2;
    else throw OPTIONS_INVALID;
    if (i + optionLength > length) throw OPTIONS_INVALID;
    switch (type) {
      case 0:
        say("(pad1)");
        break;
      case 1:
        if (length - i < 2) {
          say("(padn: trunc)");
          throw OPTIONS_INVALID;
        }
        say("(padn)");
        break;
      case 5:
        if (length - i < 4) {
          say("(rtalert: trunc)");
          throw OPTIONS_INVALID;
        }
        if (nd.u8(at + i + 1) !== 2) {
          say(`(rtalert: invalid len ${nd.u8(at + i + 1)})`);
          throw OPTIONS_INVALID;
        }
        say(`(rtalert: 0x${nd.be16(at + i + 2).toString(16).padStart(4, "0")}) `);
        break;
      case 0xc2: {
        if (length - i < 6) {
          say("(jumbo: trunc)");
          throw OPTIONS_INVALID;
        }
        if (nd.u8(at + i + 1) !== 4) {
          say(`(jumbo: invalid len ${nd.u8(at + i + 1)})`);
          throw OPTIONS_INVALID;
        }
        const value = nd.be32(at + i + 2);
        if (!hopByHop) say(`(jumbo: ${value} - invalid in this context) `);
        else if (jumbo !== undefined) say(`(jumbo: ${value} - already seen) `);
        else if (payloadLength !== 0) {
          jumbo = -1;
          say(`(jumbo: ${value} - payload len != 0) `);
        } else {
          jumbo = value;
          say(`(jumbo: ${value}) `);
        }
        break;
      }
      default:
        if (length - i < 2) {
          say(`(type ${type}: trunc)`);
          throw OPTIONS_INVALID;
        }
        say(`(opt_type 0x${type.toString(16).padStart(2, "0")}: len=${nd.u8(at + i + 1)})`);
        break;
    }
  }
  say(" ");
  return jumbo !== undefined && jumbo >= 0 ? jumbo : undefined;
}

/** Hop-by-hop and destination options headers; returns their length (-1: malformed) and any jumbo length. */
function optionsHeaderPrint(
  nd: Dissector,
  at: number,
  name: "HBH" | "DSTOPT",
  payloadLength: number,
): { length: number; jumbo?: number } {
  nd.protocol = name === "HBH" ? "hbhopt" : "dstopt";
  const headerLength = (nd.u8(at + 1) + 1) << 3;
  if (!nd.has(at, headerLength)) {
    nd.printTrunc();
    return { length: -1 };
  }
  nd.print(`${name} `);
  // tcpdump always walks hop-by-hop options (for a Jumbo Payload) but destination options only with -v.
  if (name === "DSTOPT" && !nd.options.verbose) return { length: headerLength };
  try {
    const jumbo = optionsProcess(nd, at + 2, headerLength - 2, name === "HBH", payloadLength);
    return { length: headerLength, jumbo };
  } catch (thrown) {
    if (thrown !== OPTIONS_INVALID) throw thrown;
    nd.printTrunc();
    return { length: -1 };
  }
}

/** Fragment header; returns its length, or -1 for a later fragment (nothing more to decode). */
function fragmentPrint(nd: Dissector, at: number, ipAt: number): number {
  nd.protocol = "frag6";
  const offsetAndFlags = nd.be16(at + 2);
  // size_t arithmetic in tcpdump: a bogus payload length wraps around 2^64.
  const remaining = 40 + nd.be16(ipAt + 4) - (at - ipAt) - 8;
  const remainingText = remaining >= 0 ? String(remaining) : (2n ** 64n + BigInt(remaining)).toString();
  if (nd.options.verbose) {
    nd.print(`frag (0x${nd.be32(at + 4).toString(16).padStart(8, "0")}:${offsetAndFlags & 0xfff8}|${remainingText})`);
  } else {
    nd.print(`frag (${offsetAndFlags & 0xfff8}|${remainingText})`);
  }
  if ((offsetAndFlags & 0xfff8) !== 0) return -1;
  nd.print(" ");
  return 8;
}

/** Routing header (types 0, 2 and 4); returns its length or -1 when invalid. */
function routingPrint(nd: Dissector, at: number): number {
  nd.protocol = "rt6";
  nd.print("RT6");
  let length = nd.u8(at + 1);
  nd.print(` (len=${length}`);
  const type = nd.u8(at + 2);
  nd.print(`, type=${type}`);
  if (type === 0) nd.print(" [Deprecated]");
  nd.print(`, segleft=${nd.u8(at + 3)}`);
  let addressesAt: number;
  switch (type) {
    case 0:
    case 2: {
      const reserved = nd.be32(at + 4);
      if (reserved || nd.options.verbose) nd.print(`, rsv=0x${reserved.toString(16)}`);
      addressesAt = at + 8;
      break;
    }
    case 4: {
      nd.print(`, last-entry=${nd.u8(at + 4)}`);
      const flags = nd.u8(at + 5);
      if (flags || nd.options.verbose) nd.print(`, flags=0x${flags.toString(16)}`);
      nd.print(`, tag=${nd.be16(at + 6).toString(16)}`);
      addressesAt = at + 8;
      break;
    }
    default:
      nd.print(" (unknown type)");
      nd.printInvalid();
      return -1;
  }
  if (length % 2 === 1) {
    nd.print(` (invalid length ${length})`);
    nd.printInvalid();
    return -1;
  }
  length >>= 1;
  for (let i = 0; i < length; i++) nd.print(`, [${i}]${ipv6At(nd, addressesAt + 16 * i)}`);
  nd.print(") ");
  return (nd.u8(at + 1) + 1) << 3;
}

/** The destination a transport checksum uses: the last address of a type 0 route, or segment 0 of an SRH. */
function routingFinalDestination(nd: Dissector, at: number, current: number): number {
  const type = nd.bytes[at + 2];
  const length = nd.bytes[at + 1]! >> 1;
  if (length === 0 || !nd.has(at + 8, 16 * length)) return current;
  if (type === 0 || type === 2) return at + 8 + 16 * (length - 1);
  if (type === 4) return at + 8;
  return current;
}

export function ip6Print(nd: Dissector, at: number, length: number): void {
  nd.protocol = "ip6";
  if (!nd.has(at, 40)) return nd.printTrunc();
  if (length < 40) {
    nd.print(`truncated-ip6 ${length}`);
    return;
  }
  if (!nd.options.linkHeader) nd.print("IP6 ");
  const version = nd.u8(at) >> 4;
  if (version !== 6) {
    nd.print(`version error: ${version} != 6`);
    return;
  }
  const payloadLength = nd.be16(at + 4);
  // A zero payload length (jumbogram or bogus) leaves the capture uncut; the payload is still declared empty.
  let len: number;
  if (payloadLength !== 0) {
    len = payloadLength + 40;
    if (length < len) nd.print(`truncated-ip6 - ${len - length} bytes missing!`);
  } else len = length + 40;
  let nextHeader = nd.u8(at + 6);
  if (nd.options.verbose) {
    const flow = nd.be32(at);
    nd.print("(");
    if (flow & 0x0ff00000) nd.print(`class 0x${((flow & 0x0ff00000) >>> 20).toString(16).padStart(2, "0")}, `);
    if (flow & 0x000fffff) nd.print(`flowlabel 0x${(flow & 0x000fffff).toString(16).padStart(5, "0")}, `);
    nd.print(
      `hlim ${nd.u8(at + 7)}, next-header ${ipProtocolName(nextHeader)} (${nextHeader}) payload length: ${payloadLength}) `,
    );
  }
  nd.pushEnd(at, len);
  try {
    let cp = at;
    let advance = 40;
    let fragmented = false;
    let foundHopByHop = false;
    let jumbo: number | undefined;
    let previousHeader = 255;
    let destinationAt = at + 24;
    while (cp < nd.end && advance > 0) {
      if (len < advance) {
        nd.printTrunc();
        return;
      }
      cp += advance;
      len -= advance;
      if (cp === at + 40 && nextHeader !== 6 && nextHeader !== 17 && nextHeader !== 33 && nextHeader !== 132) {
        nd.print(`${ipv6At(nd, at + 8)} > ${ipv6At(nd, at + 24)}: `);
      }
      switch (nextHeader) {
        case 0: {
          if (foundHopByHop) {
            nd.print("[The Hop-by-Hop Options header was already found]");
            nd.printInvalid();
            return;
          }
          if (previousHeader !== 255) {
            nd.print("[The Hop-by-Hop Options header don't follow the IPv6 header]");
            nd.printInvalid();
            return;
          }
          const header = optionsHeaderPrint(nd, cp, "HBH", payloadLength);
          if (header.length < 0) return;
          advance = header.length;
          if (header.jumbo !== undefined) jumbo = header.jumbo;
          foundHopByHop = true;
          nextHeader = nd.u8(cp);
          break;
        }
        case 60: {
          const header = optionsHeaderPrint(nd, cp, "DSTOPT", payloadLength);
          if (header.length < 0) return;
          advance = header.length;
          nextHeader = nd.u8(cp);
          break;
        }
        case 44:
          advance = fragmentPrint(nd, cp, at);
          if (advance < 0 || nd.end <= cp + advance) return;
          nextHeader = nd.u8(cp);
          fragmented = true;
          break;
        case 43:
          nd.need(cp, 1);
          advance = routingPrint(nd, cp);
          if (advance < 0) return;
          destinationAt = routingFinalDestination(nd, cp, destinationAt);
          nextHeader = nd.u8(cp);
          break;
        default:
          if (jumbo !== undefined) {
            // A valid Jumbo Payload option gives the real payload length.
            len = jumbo + 40;
            if (len < cp - at) {
              nd.printTrunc();
              return;
            }
            if (length < len) nd.print(`truncated-ip6 - ${len - length} bytes missing!`);
            nd.end = Math.min(at + len, nd.bytes.length);
            len -= cp - at;
          } else len = (payloadLength + 40 - (cp - at)) >>> 0;
          nd.decode.ipDemux(nd, cp, len, { version: 6, at, destinationAt }, fragmented, nextHeader);
          return;
      }
      previousHeader = nextHeader;
      nd.protocol = "ip6";
    }
  } finally {
    nd.popEnd();
  }
}
