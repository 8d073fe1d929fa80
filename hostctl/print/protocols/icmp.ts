/** ICMP for IPv4 (tcpdump's icmp_print): one phrase per type/code, then "length N". */
import { ipv4At } from "../addresses.js";
import { checksumShouldBe, internetChecksum } from "../checksum.js";
import { hexOnly, type Dissector, type IpContext } from "../dissector.js";
import { tcpPortName, udpPortName } from "../names.js";

const SIMPLE_TYPES = new Map<number, string>([
  [0, "echo reply"],
  [4, "source quench"],
  [8, "echo request"],
  [10, "router solicitation"],
  [13, "time stamp request"],
  [14, "time stamp reply"],
  [15, "information request"],
  [16, "information reply"],
  [17, "address mask request"],
]);

const UNREACHABLE: Record<number, (dst: string) => string> = {
  0: (d) => `net ${d} unreachable`,
  1: (d) => `host ${d} unreachable`,
  5: (d) => `${d} unreachable - source route failed`,
  6: (d) => `net ${d} unreachable - unknown`,
  7: (d) => `host ${d} unreachable - unknown`,
  8: (d) => `${d} unreachable - source host isolated`,
  9: (d) => `net ${d} unreachable - admin prohibited`,
  10: (d) => `host ${d} unreachable - admin prohibited`,
  11: (d) => `net ${d} unreachable - tos prohibited`,
  12: (d) => `host ${d} unreachable - tos prohibited`,
  13: (d) => `host ${d} unreachable - admin prohibited filter`,
  14: (d) => `host ${d} unreachable - host precedence violation`,
  15: (d) => `host ${d} unreachable - precedence cutoff`,
};

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** Milliseconds since midnight UTC as HH:MM:SS.mmm. */
function timestampText(value: number): string {
  const msec = value % 1000;
  let sec = Math.floor(value / 1000);
  let min = Math.floor(sec / 60);
  sec -= min * 60;
  const hrs = Math.floor(min / 60);
  min -= hrs * 60;
  return `${two(hrs)}:${two(min)}:${two(sec)}.${String(msec).padStart(3, "0")}`;
}

function isErrorType(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** The destination of the datagram an ICMP error quotes. (A module function, not a closure per packet.) */
function innerDestination(nd: Dissector, at: number): string {
  return ipv4At(nd, at + 8 + 16);
}

export function icmpPrint(nd: Dissector, at: number, length: number, _ip: IpContext, fragmented: boolean): void {
  nd.protocol = "icmp";
  const numeric = nd.options.numeric;
  const type = nd.u8(at);
  const code = nd.u8(at + 1);
  let text: string;
  switch (type) {
    case 0:
    case 8:
      text = `echo ${type === 8 ? "request" : "reply"}, id ${nd.be16(at + 4)}, seq ${nd.be16(at + 6)}`;
      break;
    case 3:
      switch (code) {
        case 2:
          text = `${innerDestination(nd, at)} protocol ${nd.u8(at + 8 + 9)} unreachable`;
          break;
        case 3: {
          nd.need(at + 8 + 9, 1);
          const headerLength = (nd.u8(at + 8) & 0x0f) * 4;
          const dport = nd.be16(at + 8 + headerLength + 2);
          const protocol = nd.u8(at + 8 + 9);
          if (protocol === 6) text = `${innerDestination(nd, at)} tcp port ${tcpPortName(dport, numeric)} unreachable`;
          else if (protocol === 17) text = `${innerDestination(nd, at)} udp port ${udpPortName(dport, numeric)} unreachable`;
          else text = `${innerDestination(nd, at)} protocol ${protocol} port ${dport} unreachable`;
          break;
        }
        case 4: {
          const mtu = nd.be16(at + 6);
          text = mtu
            ? `${innerDestination(nd, at)} unreachable - need to frag (mtu ${mtu})`
            : `${innerDestination(nd, at)} unreachable - need to frag`;
          break;
        }
        default: {
          const phrase = UNREACHABLE[code];
          text = phrase ? phrase(innerDestination(nd, at)) : `${innerDestination(nd, at)} unreachable - #${code}`;
        }
      }
      break;
    case 5: {
      const destination = innerDestination(nd, at);
      const gateway = ipv4At(nd, at + 4);
      switch (code) {
        case 0:
          text = `redirect ${destination} to net ${gateway}`;
          break;
        case 1:
          text = `redirect ${destination} to host ${gateway}`;
          break;
        case 2:
          text = `redirect-tos ${destination} to net ${gateway}`;
          break;
        case 3:
          text = `redirect-tos ${destination} to host ${gateway}`;
          break;
        default:
          text = `redirect-#${code} ${destination} to ${gateway}`;
      }
      break;
    }
    case 9: {
      text = "router advertisement lifetime ";
      nd.need(at + 4, 4);
      const lifetime = nd.be16(at + 6);
      if (lifetime < 60) text += String(lifetime);
      else if (lifetime < 3600) text += `${Math.floor(lifetime / 60)}:${two(lifetime % 60)}`;
      else text += `${Math.floor(lifetime / 3600)}:${two(Math.floor((lifetime % 3600) / 60))}:${two(lifetime % 60)}`;
      let count = nd.u8(at + 4);
      text += ` ${count}:`;
      const size = nd.u8(at + 5);
      if (size !== 2) {
        text += ` [size ${size}]`;
        break;
      }
      let entry = at + 8;
      while (count > 0) {
        nd.need(entry, 8);
        text += ` {${ipv4At(nd, entry)} ${nd.be32(entry + 4)}}`;
        entry += 8;
        count--;
      }
      break;
    }
    case 11:
      nd.need(at + 8 + 16, 4);
      text = code === 0 ? "time exceeded in-transit" : code === 1 ? "ip reassembly time exceeded" : `time exceeded-#${code}`;
      break;
    case 12:
      text = code ? `parameter problem - code ${code}` : `parameter problem - octet ${nd.u8(at + 4)}`;
      break;
    case 18:
      text = `address mask is 0x${nd.be32(at + 8).toString(16).padStart(8, "0")}`;
      break;
    case 13:
      text = `time stamp query id ${nd.be16(at + 4)} seq ${nd.be16(at + 6)}`;
      break;
    case 14:
      nd.need(at + 16, 4);
      text =
        `time stamp reply id ${nd.be16(at + 4)} seq ${nd.be16(at + 6)}: org ${timestampText(nd.be32(at + 8))}` +
        `, recv ${timestampText(nd.be32(at + 12))}, xmit ${timestampText(nd.be32(at + 16))}`;
      break;
    default:
      text = SIMPLE_TYPES.get(type) ?? `type-#${type}`;
  }
  nd.print(`ICMP ${text}, length ${length}`);
  if (nd.options.verbose && !fragmented && nd.has(at, length)) {
    const sum = internetChecksum(nd.bytes, at, length);
    if (sum !== 0) {
      const field = nd.be16(at + 2);
      nd.print(` (wrong icmp cksum ${field.toString(16)} (->${checksumShouldBe(field, sum).toString(16)})!)`);
    }
  }
  if (nd.options.verbose >= 1 && isErrorType(type)) {
    const inner = at + 8;
    nd.print("\n\t");
    const savedEnd = nd.end;
    const innerLength = nd.be16(inner + 2);
    nd.end = Math.min(inner + innerLength, nd.end);
    try {
      nd.decode.ip(nd, inner, innerLength);
    } finally {
      nd.end = savedEnd;
    }
  }
  nd.protocol = "icmp";
  if (nd.options.verbose >= 1 && length > EXTENSION_OFFSET && (type === 3 || type === 11 || type === 12)) {
    multipartExtensionPrint(nd, at, length);
  }
}

/** RFC 4884 extensions start 136 bytes into the ICMP message (after the padded original datagram). */
const EXTENSION_OFFSET = 136;
const EXTENSION_OBJECTS = new Map<number, string>([
  [1, "MPLS Stack Entry"],
  [2, "Interface Identification"],
]);

/** -v: ICMP multi-part extensions (RFC 4884), such as the MPLS label stack of a traceroute hop. */
function multipartExtensionPrint(nd: Dissector, at: number, length: number): void {
  if (!nd.has(at, 141)) {
    nd.printTrunc();
    return;
  }
  const extension = at + EXTENSION_OFFSET;
  let headerLength = length - EXTENSION_OFFSET;
  if (nd.u8(at + 5) === 0 && nd.has(extension, headerLength)) {
    if (internetChecksum(nd.bytes, extension, headerLength) !== 0) return;
  }
  const version = (nd.bytes[extension]! & 0xf0) >> 4;
  nd.print(`\n\tICMP Multi-Part extension v${version}`);
  if (version !== 2) {
    nd.print(" packet not supported");
    return;
  }
  if (nd.has(extension, headerLength)) {
    const correct = internetChecksum(nd.bytes, extension, headerLength) === 0;
    nd.print(`, checksum 0x${nd.be16(extension + 2).toString(16).padStart(4, "0")} (${correct ? "" : "in"}correct), length ${headerLength}`);
  }
  headerLength -= 4;
  let object = extension + 4;
  while (headerLength > 4) {
    if (!nd.has(object, 4)) {
      nd.printTrunc();
      return;
    }
    let objectLength = nd.be16(object);
    const objectClass = nd.u8(object + 2);
    const classType = nd.u8(object + 3);
    object += 4;
    nd.print(
      `\n\t  ${EXTENSION_OBJECTS.get(objectClass) ?? "unknown"} Object (${objectClass}), Class-Type: ${classType}, length ${objectLength}`,
    );
    headerLength -= 4;
    if (objectClass === 0 || objectLength < 4) return;
    objectLength -= 4;
    if (objectClass === 1 && classType === 1) {
      const entry = nd.be32(object);
      nd.print(`\n\t    label ${entry >>> 12}, tc ${(entry >> 9) & 7}`);
      if (entry & 0x100) nd.print(", [S]");
      nd.print(`, ttl ${entry & 0xff}`);
    } else {
      hexOnly(nd, "\n\t    ", object, Math.min(objectLength, nd.available(object)), 0);
    }
    if (headerLength < objectLength) break;
    headerLength -= objectLength;
    object += objectLength;
  }
}
