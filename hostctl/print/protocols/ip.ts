/** IPv4 (tcpdump's ip_print) and the protocol demultiplexer shared with IPv6 (ip_demux_print). */
import { ipv4At, ipv6At } from "../addresses.js";
import { checksumShouldBe, internetChecksum } from "../checksum.js";
import type { Dissector, IpContext } from "../dissector.js";
import { bitNames, ipProtocolName, netdbProtocolName } from "../names.js";
import { ahPrint, espPrint } from "./ah.js";
import { greUndecoded, grePrint } from "./gre.js";
import { icmpPrint } from "./icmp.js";
import { icmp6Print } from "./icmp6.js";
import { igmpPrint } from "./igmp.js";
import { tcpPrint } from "./tcp.js";
import { udpPrint } from "./udp.js";

const IP_FRAG_BITS: ReadonlyArray<readonly [number, string]> = [
  [0x2000, "+"],
  [0x4000, "DF"],
  [0x8000, "rsvd"],
];

const IP_OPTION_NAMES = new Map<number, string>([
  [0, "EOL"],
  [1, "NOP"],
  [68, "timestamp"],
  [130, "security"],
  [7, "RR"],
  [137, "SSRR"],
  [131, "LSRR"],
  [148, "RA"],
  [82, "traceroute"],
]);

/**
 * ip_optprint. An option's type and length read past the capture abandon the packet (" [|ip]"); an option whose
 * body is cut short makes this return false, and the caller prints " [truncated-option]".
 */
function ipOptionsPrint(nd: Dissector, at: number, length: number): boolean {
  let separator = "";
  while (length > 0) {
    nd.print(separator);
    separator = ",";
    const code = nd.u8(at);
    nd.print(IP_OPTION_NAMES.get(code) ?? `unknown ${code}`);
    let optionLength: number;
    if (code === 0 || code === 1) optionLength = 1;
    else {
      optionLength = nd.u8(at + 1);
      if (optionLength < 2) {
        nd.print(` [bad length ${optionLength}]`);
        return true;
      }
    }
    if (optionLength > length) {
      nd.print(` [bad length ${optionLength}]`);
      return true;
    }
    if (!nd.has(at, optionLength)) return false;
    switch (code) {
      case 0:
        return true;
      case 68:
        if (!timestampOptionPrint(nd, at, optionLength)) return false;
        break;
      case 7:
      case 137:
      case 131:
        if (!routeOptionPrint(nd, at, optionLength)) return false;
        break;
      case 148:
        if (optionLength < 4) {
          nd.print(` [bad length ${optionLength}]`);
          break;
        }
        if (nd.be16(at + 2) !== 0) nd.print(` value ${nd.be16(at + 2)}`);
        break;
      default:
        break;
    }
    at += optionLength;
    length -= optionLength;
  }
  return true;
}

/** ip_printroute; false when an address runs past the capture (tcpdump's "[truncated-option]"). */
function routeOptionPrint(nd: Dissector, at: number, length: number): boolean {
  if (length < 3) {
    nd.print(` [bad length ${length}]`);
    return true;
  }
  if ((length + 1) & 3) nd.print(` [bad length ${length}]`);
  // u_int in tcpdump: a pointer byte of 0 makes it 0xffffffff, past every address.
  const pointer = (nd.u8(at + 2) - 1) >>> 0;
  if (pointer < 3 || (pointer + 1) & 3 || pointer > length + 1) nd.print(` [bad ptr ${nd.u8(at + 2)}]`);
  for (let len = 3; len < length; len += 4) {
    if (!nd.has(at + len, 4)) return false;
    nd.print(` ${ipv4At(nd, at + len)}`);
    if (pointer > len) nd.print(",");
  }
  return true;
}

/** ip_printts; false when a hop runs past the capture (tcpdump's "[truncated-option]"). */
function timestampOptionPrint(nd: Dissector, at: number, length: number): boolean {
  if (length < 4) {
    nd.print(`[bad length ${length}]`);
    return true;
  }
  nd.print(" TS{");
  if (!nd.has(at + 3, 1)) return false;
  const flags = nd.u8(at + 3);
  const hopLength = (flags & 0xf) !== 0 ? 8 : 4;
  if ((length - 4) & (hopLength - 1)) nd.print(`[bad length ${length}]`);
  const pointer = nd.u8(at + 2) - 1;
  let len = 0;
  if (pointer < 4 || (pointer - 4) & (hopLength - 1) || pointer > length + 1) nd.print(`[bad ptr ${nd.u8(at + 2)}]`);
  const kinds = ["TSONLY", "TS+ADDR", "PRESPEC2.0", "PRESPEC"];
  const kind = kinds[flags & 0xf];
  if (kind === undefined) nd.print(`[bad ts type ${flags & 0xf}]`);
  else {
    nd.print(kind);
    let separator = " ";
    for (len = 4; len < length; len += hopLength) {
      if (pointer === len) separator = " ^ ";
      if (!nd.has(at + len, hopLength)) return false;
      nd.print(`${separator}${nd.be32(at + len + hopLength - 4)}@${hopLength !== 8 ? "" : ipv4At(nd, at + len)}`);
      separator = " ";
    }
  }
  nd.print(pointer === len ? " ^ " : "");
  if (flags >> 4) nd.print(` [${flags >> 4} hops not recorded]} `);
  else nd.print("}");
  return true;
}

/** ip_finddst: the last hop of a source route is the destination the transport checksum covers. */
function finalDestination(nd: Dissector, at: number, headerLength: number): number {
  let cp = at + 20;
  let length = headerLength - 20;
  let destinationAt = at + 16;
  while (length > 1) {
    const code = nd.bytes[cp]!;
    if (code === 0) break;
    if (code === 1) {
      cp++;
      length--;
      continue;
    }
    const optionLength = nd.bytes[cp + 1]!;
    if (optionLength < 2 || optionLength > length) break;
    if ((code === 131 || code === 137) && optionLength >= 7) destinationAt = cp + optionLength - 4;
    cp += optionLength;
    length -= optionLength;
  }
  return destinationAt;
}

export function ipPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "ip";
  const first = nd.u8(at);
  const version = first >> 4;
  if (version !== 4) {
    if (version === 6) nd.print("IP6, wrong link-layer encapsulation");
    else nd.print(`IP${version}`);
    nd.printInvalid();
    return;
  }
  if (!nd.options.linkHeader) nd.print("IP ");
  // tcpdump checks the fixed header with ND_TCHECK (report and return), not a longjmp: -x still skips the link header.
  if (!nd.has(at, 20)) return nd.printTrunc();
  if (length < 20) {
    nd.print(`truncated-ip ${length}`);
    return;
  }
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < 20) {
    nd.print(`bad-hlen ${headerLength}`);
    return;
  }
  let totalLength = nd.be16(at + 2);
  if (length < totalLength) nd.print(`truncated-ip - ${totalLength - length} bytes missing! `);
  if (totalLength < headerLength) {
    nd.print(`bad-len ${totalLength}`);
    return;
  }
  nd.pushEnd(at, Math.min(length, totalLength));
  const payloadLength = totalLength - headerLength;
  const fragment = nd.be16(at + 6);
  const protocol = nd.u8(at + 9);
  const source = ipv4At(nd, at + 12);
  const destination = ipv4At(nd, at + 16);
  if (nd.options.verbose) {
    const tos = nd.u8(at + 1);
    nd.print(`(tos 0x${tos.toString(16)}`);
    switch (tos & 3) {
      case 1:
        nd.print(",ECT(1)");
        break;
      case 2:
        nd.print(",ECT(0)");
        break;
      case 3:
        nd.print(",CE");
        break;
    }
    const ttl = nd.u8(at + 8);
    if (ttl >= 1) nd.print(`, ttl ${ttl}`);
    nd.print(
      `, id ${nd.be16(at + 4)}, offset ${(fragment & 0x1fff) * 8}, flags [${bitNames(IP_FRAG_BITS, "none", fragment & 0xe000)}]` +
        `, proto ${ipProtocolName(protocol)} (${protocol}), length ${nd.be16(at + 2)}`,
    );
    let truncatedOption = false;
    if (headerLength > 20) {
      nd.print(", options (");
      if (!ipOptionsPrint(nd, at + 20, headerLength - 20)) {
        nd.print(" [truncated-option]");
        truncatedOption = true;
      }
      nd.print(")");
    }
    if (at + headerLength <= nd.end) {
      const sum = internetChecksum(nd.bytes, at, headerLength);
      if (sum !== 0) {
        const field = nd.be16(at + 10);
        nd.print(`, bad cksum ${field.toString(16)} (->${checksumShouldBe(field, sum).toString(16)})!`);
      }
    }
    nd.print(")\n    ");
    if (truncatedOption) {
      nd.print(`${source} > ${destination}: `);
      nd.printTrunc();
      nd.popEnd();
      return;
    }
  }
  if ((fragment & 0x1fff) === 0) {
    if (protocol !== 6 && protocol !== 17 && protocol !== 132 && protocol !== 33) {
      nd.print(`${source} > ${destination}: `);
    }
    if (!nd.has(at, headerLength)) {
      nd.print(` [remaining caplen(${nd.available(at)}) < header length(${headerLength})]`);
      nd.trunc();
    }
    ipDemux(
      nd,
      at + headerLength,
      payloadLength,
      { version: 4, at, destinationAt: finalDestination(nd, at, headerLength) },
      (fragment & 0x2000) !== 0,
      protocol,
    );
  } else {
    nd.print(`${source} > ${destination}:`);
    const name = nd.options.numeric ? undefined : netdbProtocolName(protocol);
    nd.print(name !== undefined ? ` ${name}` : ` ip-proto-${protocol}`);
  }
  nd.popEnd();
}

/** ip_demux_print: the transport (or next) protocol of an IPv4 or IPv6 datagram. */
export function ipDemux(
  nd: Dissector,
  at: number,
  length: number,
  ip: IpContext,
  fragmented: boolean,
  protocol: number,
): void {
  for (;;) {
    switch (protocol) {
      case 51: {
        // AH: print it and go on with what it protects.
        if (!nd.has(at, 1)) {
          nd.protocol = "ah";
          nd.printTrunc();
          return;
        }
        protocol = nd.u8(at);
        const advance = ahPrint(nd, at);
        if (advance <= 0) return;
        at += advance;
        length -= advance;
        continue;
      }
      case 50:
        espPrint(nd, at, length);
        return;
      case 108:
        nd.protocol = "ipcomp";
        nd.print(`IPComp(cpi=0x${nd.be16(at + 2).toString(16).padStart(4, "0")})`);
        return;
      case 6:
        tcpPrint(nd, at, length, ip, fragmented);
        return;
      case 17:
        udpPrint(nd, at, length, ip, fragmented);
        return;
      case 1:
        if (ip.version === 4) icmpPrint(nd, at, length, ip, fragmented);
        else {
          nd.print(`[${ipProtocolName(protocol)} requires IPv4]`);
          nd.printInvalid();
        }
        return;
      case 58:
        if (ip.version === 6) icmp6Print(nd, at, length, ip, fragmented);
        else {
          nd.print(`[${ipProtocolName(protocol)} requires IPv6]`);
          nd.printInvalid();
        }
        return;
      case 2:
        if (ip.version === 4) igmpPrint(nd, at, length);
        else {
          nd.print(`[${ipProtocolName(protocol)} requires IPv4]`);
          nd.printInvalid();
        }
        return;
      case 89:
        if (ip.version === 4) {
          nd.protocol = "ospf2";
          const names = ["", "Hello", "Database Description", "LS-Request", "LS-Update", "LS-Ack"];
          const type = nd.u8(at + 1);
          // A cryptographic authentication trailer (type 2) is not part of the OSPF packet proper.
          const trailer = nd.be16(at + 14) === 2 ? nd.u8(at + 19) : 0;
          nd.print(`OSPFv${nd.u8(at)}, ${names[type] || `unknown packet type (${type})`}, length ${length - trailer}`);
          return;
        }
        genericProtocol(nd, protocol, length);
        return;
      case 33:
      case 132:
        transportSummary(nd, ip, at, length, protocol === 33 ? "dccp" : "sctp");
        return;
      case 4:
        nd.decode.ip(nd, at, length);
        return;
      case 41:
        nd.decode.ip6(nd, at, length);
        return;
      case 47:
        if (greUndecoded(nd, at, length)) genericProtocol(nd, protocol, length);
        else grePrint(nd, at, length);
        return;
      case 59:
        nd.print("no next header");
        return;
      default:
        genericProtocol(nd, protocol, length);
        return;
    }
  }
}

/** A protocol kopi does not decode: tcpdump's " ip-proto-N LENGTH" (or the /etc/protocols name without -n). */
function genericProtocol(nd: Dissector, protocol: number, length: number): void {
  const name = nd.options.numeric ? undefined : netdbProtocolName(protocol);
  nd.print(name !== undefined ? ` ${name}` : ` ip-proto-${protocol}`);
  nd.print(` ${length}`);
}

/**
 * SCTP and DCCP, which kopi does not decode: tcpdump prints their addresses with the ports (ip_print leaves
 * that to them), so kopi prints "src.port > dst.port: sctp LENGTH".
 */
function transportSummary(nd: Dissector, ip: IpContext, at: number, length: number, name: string): void {
  nd.protocol = name;
  if (name === "sctp" && length < 12) {
    nd.print(`truncated-sctp - ${12 - length} bytes missing!`);
    return;
  }
  const v6 = ip.version === 6;
  const source = v6 ? ipv6At(nd, ip.at + 8) : ipv4At(nd, ip.at + 12);
  const destination = v6 ? ipv6At(nd, ip.at + 24) : ipv4At(nd, ip.at + 16);
  if (!nd.has(at, 4)) {
    nd.print(`${source} > ${destination}:`);
    nd.printTrunc();
    return;
  }
  nd.print(`${source}.${nd.be16(at)} > ${destination}.${nd.be16(at + 2)}: ${name} ${length}`);
}
