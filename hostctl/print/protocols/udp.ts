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

/**
 * tcpdump 4.99.3's udp_print port chain, in its order (determined against the real tcpdump: it is the 4.9
 * order with later additions, not the order of tcpdump's current sources), so that a packet is decoded as
 * what tcpdump decodes it as — or left generic when kopi lacks that decoder — and never as a protocol
 * further down the chain.
 */
function udpDecoder(nd: Dissector, payload: number, sport: number, dport: number): PayloadPrinter | null {
  const port = (p: number): boolean => sport === p || dport === p;
  // NFS over UDP is checked before the chain.
  if (nd.has(payload + 4, 4)) {
    const direction = nd.be32(payload + 4);
    if ((dport === 2049 && direction === 0) || (sport === 2049 && direction === 1)) return UNDECODED;
  }
  if (port(53)) return (n, at, length) => domainPrint(n, at, length, false, false);
  if (port(5353)) return (n, at, length) => domainPrint(n, at, length, false, true);
  if (port(525)) return UNDECODED; // timed
  if (port(69)) return tftpPrint;
  if (port(68) || port(67)) return bootpPrint;
  if (port(520) || port(654) || port(500)) return UNDECODED; // RIP, AODV, ISAKMP
  if (port(4500)) return natTraversalPrint;
  if (port(7500) || port(8500) || port(161) || port(162)) return UNDECODED; // ISAKMP (user ports), SNMP
  if (port(123)) return ntpPrint;
  if (port(88) || port(750) || port(1701) || dport === 3456 || port(2103) || port(2104)) return UNDECODED;
  if ((sport >= 7000 && sport <= 7009) || (dport >= 7000 && dport <= 7009)) return UNDECODED; // AFS Rx
  if (port(521)) return UNDECODED; // RIPng
  if (port(547) || port(546)) return dhcp6Print;
  if (port(5359) || port(6696) || port(6697) || port(8231) || dport === 4567 || port(496)) return UNDECODED;
  if (port(1645) || port(1812) || port(1646) || port(1813) || port(1700) || port(3799)) return UNDECODED; // RADIUS
  if (dport === 1985 || port(921) || port(646) || port(698) || port(3503)) return UNDECODED; // HSRP … LSP ping
  if (dport === 3784 || dport === 4784 || dport === 6784 || dport === 3785) return UNDECODED; // BFD
  if (port(701) || port(1589) || port(6343) || port(12223) || port(12222)) return UNDECODED; // LMP … LWAPP
  if (sport === 49152) return UNDECODED; // Broadcom LI
  if (port(5060)) {
    return (n, at, length) => {
      n.protocol = "sip";
      textProtocolPrint(n, at, length, SIP_COMMANDS, true);
    };
  }
  if (port(514)) return syslogPrint;
  if (port(8472)) return UNDECODED; // OTV
  if (port(4789)) return vxlanPrint;
  if (port(6081) || port(4342) || port(4790) || port(17754)) return UNDECODED; // Geneve, LISP, VXLAN-GPE, ZEP
  if (port(6635)) return mplsPrint;
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
