/** UDP (tcpdump's udp_print) and the port-selected payload summaries kopi knows. */
import { ipv4At, ipv6At } from "../addresses.js";
import { checksumShouldBe, ipv4PseudoChecksum, ipv6PseudoChecksum } from "../checksum.js";
import type { Dissector, IpContext } from "../dissector.js";
import { udpPortName } from "../names.js";
import { domainPrint } from "./dns.js";
import { SIP_COMMANDS, textProtocolPrint } from "./text-protocols.js";
import { espPrint } from "./ah.js";
import { bootpPrint } from "./bootp.js";
import { dhcp6Print } from "./dhcp6.js";
import { mplsPrint, ntpPrint, syslogPrint, tftpPrint, vxlanPrint } from "./udp-applications.js";

function addressesPrint(nd: Dissector, ip: IpContext, sport: number, dport: number): void {
  const v6 = ip.version === 6;
  const numeric = nd.options.numeric;
  const nextHeader = v6 ? nd.u8(ip.at + 6) : nd.u8(ip.at + 9);
  if (nextHeader === 17) {
    const source = v6 ? ipv6At(nd, ip.at + 8) : ipv4At(nd, ip.at + 12);
    const destination = v6 ? ipv6At(nd, ip.at + 24) : ipv4At(nd, ip.at + 16);
    if (sport === -1) nd.print(`${source} > ${destination}: `);
    else nd.print(`${source}.${udpPortName(sport, numeric)} > ${destination}.${udpPortName(dport, numeric)}: `);
  } else if (sport !== -1) {
    nd.print(`${udpPortName(sport, numeric)} > ${udpPortName(dport, numeric)}: `);
  }
}

export function udpPrint(nd: Dissector, at: number, length: number, ip: IpContext, fragmented: boolean): void {
  nd.protocol = "udp";
  if (!nd.has(at + 2, 2)) {
    addressesPrint(nd, ip, -1, -1);
    nd.printTrunc();
    return;
  }
  const sport = nd.be16(at);
  const dport = nd.be16(at + 2);
  if (length < 8) {
    addressesPrint(nd, ip, sport, dport);
    nd.print(`truncated-udp ${length}`);
    return;
  }
  if (!nd.has(at + 4, 2)) {
    addressesPrint(nd, ip, sport, dport);
    nd.printTrunc();
    return;
  }
  let udpLength = nd.be16(at + 4);
  if (udpLength === 0 && length > 65535) udpLength = length;
  if (udpLength < 8) {
    addressesPrint(nd, ip, sport, dport);
    nd.print(`truncated-udplength ${udpLength}`);
    return;
  }
  udpLength -= 8;
  length -= 8;
  if (udpLength < length) length = udpLength;
  const payload = at + 8;
  if (payload > nd.end) {
    addressesPrint(nd, ip, sport, dport);
    nd.printTrunc();
    return;
  }
  addressesPrint(nd, ip, sport, dport);
  if (nd.options.verbose && !fragmented) {
    if (ip.version === 4 && nd.options.verbose > 1) {
      const field = nd.be16(at + 6);
      if (field === 0) nd.print("[no cksum] ");
      else if (nd.has(payload, length)) {
        const sum = ipv4PseudoChecksum(nd, ip.at, ip.destinationAt, at, length + 8, 17);
        if (sum !== 0) {
          nd.print(
            `[bad udp cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${checksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] `,
          );
        } else nd.print("[udp sum ok] ");
      }
    } else if (ip.version === 6 && nd.has(payload, length)) {
      const sum = ipv6PseudoChecksum(nd, ip.at, ip.destinationAt, at, length + 8, 17);
      const field = nd.be16(at + 6);
      if (sum !== 0) {
        nd.print(
          `[bad udp cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${checksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] `,
        );
      } else nd.print("[udp sum ok] ");
    }
  }
  if (!nd.options.quiet) {
    const decoder = udpDecoder(nd, payload, sport, dport);
    if (decoder) return decoder(nd, payload, length);
  }
  if (udpLength > length && !fragmented) nd.print(`UDP, bad length ${udpLength} > ${length}`);
  else nd.print(`UDP, length ${udpLength}`);
}

type PayloadPrinter = (nd: Dissector, at: number, length: number) => void;

/** Marks a protocol tcpdump decodes and kopi does not: the packet gets the generic "UDP, length N". */
const UNDECODED = null;

/** Either port is `p`. (A module function, not a closure per packet: the bundle names every closure it makes.) */
function onPort(sport: number, dport: number, p: number): boolean {
  return sport === p || dport === p;
}

/**
 * tcpdump 4.99.3's udp_print port chain, in its order (determined against the real tcpdump: it is the 4.9
 * order with later additions, not the order of tcpdump's current sources), so that a packet is decoded as
 * what tcpdump decodes it as — or left generic when kopi lacks that decoder — and never as a protocol
 * further down the chain.
 */
function udpDecoder(nd: Dissector, payload: number, sport: number, dport: number): PayloadPrinter | null {
  // NFS over UDP is checked before the chain.
  if (nd.has(payload + 4, 4)) {
    const direction = nd.be32(payload + 4);
    if ((dport === 2049 && direction === 0) || (sport === 2049 && direction === 1)) return UNDECODED;
  }
  if (onPort(sport, dport, 53)) return (n, at, length) => domainPrint(n, at, length, false, false);
  if (onPort(sport, dport, 5353)) return (n, at, length) => domainPrint(n, at, length, false, true);
  if (onPort(sport, dport, 525)) return UNDECODED; // timed
  if (onPort(sport, dport, 69)) return tftpPrint;
  if (onPort(sport, dport, 68) || onPort(sport, dport, 67)) return bootpPrint;
  if (onPort(sport, dport, 520) || onPort(sport, dport, 654) || onPort(sport, dport, 500)) return UNDECODED; // RIP, AODV, ISAKMP
  if (onPort(sport, dport, 4500)) return natTraversalPrint;
  if (onPort(sport, dport, 7500) || onPort(sport, dport, 8500) || onPort(sport, dport, 161) || onPort(sport, dport, 162)) return UNDECODED; // ISAKMP (user ports), SNMP
  if (onPort(sport, dport, 123)) return ntpPrint;
  if (onPort(sport, dport, 88) || onPort(sport, dport, 750) || onPort(sport, dport, 1701) || dport === 3456 || onPort(sport, dport, 2103) || onPort(sport, dport, 2104)) return UNDECODED;
  if ((sport >= 7000 && sport <= 7009) || (dport >= 7000 && dport <= 7009)) return UNDECODED; // AFS Rx
  if (onPort(sport, dport, 521)) return UNDECODED; // RIPng
  if (onPort(sport, dport, 547) || onPort(sport, dport, 546)) return dhcp6Print;
  if (onPort(sport, dport, 5359) || onPort(sport, dport, 6696) || onPort(sport, dport, 6697) || onPort(sport, dport, 8231) || dport === 4567 || onPort(sport, dport, 496)) return UNDECODED;
  if (onPort(sport, dport, 1645) || onPort(sport, dport, 1812) || onPort(sport, dport, 1646) || onPort(sport, dport, 1813) || onPort(sport, dport, 1700) || onPort(sport, dport, 3799)) return UNDECODED; // RADIUS
  if (dport === 1985 || onPort(sport, dport, 921) || onPort(sport, dport, 646) || onPort(sport, dport, 698) || onPort(sport, dport, 3503)) return UNDECODED; // HSRP … LSP ping
  if (dport === 3784 || dport === 4784 || dport === 6784 || dport === 3785) return UNDECODED; // BFD
  if (onPort(sport, dport, 701) || onPort(sport, dport, 1589) || onPort(sport, dport, 6343) || onPort(sport, dport, 12223) || onPort(sport, dport, 12222)) return UNDECODED; // LMP … LWAPP
  if (sport === 49152) return UNDECODED; // Broadcom LI
  if (onPort(sport, dport, 5060)) {
    return (n, at, length) => {
      n.protocol = "sip";
      textProtocolPrint(n, at, length, SIP_COMMANDS, true);
    };
  }
  if (onPort(sport, dport, 514)) return syslogPrint;
  if (onPort(sport, dport, 8472)) return UNDECODED; // OTV
  if (onPort(sport, dport, 4789)) return vxlanPrint;
  if (onPort(sport, dport, 6081) || onPort(sport, dport, 4342) || onPort(sport, dport, 4790) || onPort(sport, dport, 17754)) return UNDECODED; // Geneve, LISP, VXLAN-GPE, ZEP
  if (onPort(sport, dport, 6635)) return mplsPrint;
  // AppleTalk (kip), SOME/IP, PTP and the rest come after every decoder kopi has.
  return null;
}

/** UDP port 4500 (RFC 3948): NAT keep-alives, IKE behind a zero marker, or ESP. */
function natTraversalPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "isakmp_rfc3948";
  if (length === 1 && nd.u8(at) === 0xff) {
    nd.print("isakmp-nat-keep-alive");
    return;
  }
  if (length < 4) {
    nd.printTrunc();
    return;
  }
  if (nd.be32(at) === 0) {
    nd.print("NONESP-encap: isakmp");
    return;
  }
  nd.print("UDP-encap: ");
  espPrint(nd, at, length);
}
