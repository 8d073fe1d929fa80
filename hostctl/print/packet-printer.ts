/**
 * tcpdump's pretty_print_packet: packet number (-#), timestamp, the link-layer printer chosen by the DLT, the
 * truncation marker where a decoder ran out of captured bytes, then the -x/-X/-A dumps — one string per packet.
 */
import type { CapturedPacket } from "../pcap/packet.js";
import { MAXIMUM_SNAPLEN } from "../pcap/link-types.js";
import { asciiOnly, Dissector, hexAndAscii, hexOnly, TRUNCATED, type Decoders } from "./dissector.js";
import { etherPrint, ethertypePrint, nullPrint, rawPrint, sll2Print, sllPrint } from "./link-layers.js";
import type { PrintOptions } from "./print-options.js";
import { PrinterState } from "./printer-state.js";
import { ipDemux, ipPrint } from "./protocols/ip.js";
import { ip6Print } from "./protocols/ip6.js";
import { formatTimestamp } from "./timestamps.js";

const DECODERS: Decoders = {
  ether: etherPrint,
  ethertype: ethertypePrint,
  ip: ipPrint,
  ip6: ip6Print,
  ipDemux,
};

/** DLTs kopi decodes; others print tcpdump's "UNSUPPORTED" line and a hex dump. */
export function isDecodedDlt(dlt: number): boolean {
  return [0, 1, 12, 14, 108, 113, 228, 229, 276].includes(dlt);
}

export class PacketPrinter {
  readonly state = new PrinterState();

  constructor(
    readonly dlt: number,
    readonly options: PrintOptions,
  ) {}

  /** The packet as tcpdump prints it, ending with a newline. `number` is its 1-based position (for -#). */
  format(packet: CapturedPacket, number: number): string {
    const options = this.options;
    let head = options.packetNumbers ? `${String(number).padStart(5)}  ` : "";
    const caplen = packet.data.length;
    const length = packet.wireLength;
    let invalid = "";
    if (caplen === 0) invalid = "[Invalid header: caplen==0";
    if (length === 0) invalid += invalid ? ", len==0" : "[Invalid header: len==0";
    else if (length < caplen) invalid += `${invalid ? "," : "[Invalid header:"} len(${length}) < caplen(${caplen})`;
    if (caplen > MAXIMUM_SNAPLEN) invalid += `${invalid ? "," : "[Invalid header:"} caplen(${caplen}) > ${MAXIMUM_SNAPLEN}`;
    if (length > MAXIMUM_SNAPLEN) invalid += `${invalid ? "," : "[Invalid header:"} len(${length}) > ${MAXIMUM_SNAPLEN}`;
    if (invalid) return `${head}${invalid}]\n`;
    head += formatTimestamp(packet.seconds, packet.nanoseconds, options, this.state);
    const nd = new Dissector(packet.data, options, this.state, DECODERS);
    try {
      nd.linkHeaderLength = this.linkLayer(nd, length, caplen);
    } catch (thrown) {
      if (thrown !== TRUNCATED) throw thrown;
      nd.printTrunc();
      nd.linkHeaderLength = 0;
    }
    nd.end = caplen;
    const header = nd.linkHeaderLength;
    try {
      if (options.hexAscii) {
        if (options.hexAscii > 1) hexAndAscii(nd, "\n\t", 0, caplen, 0);
        else if (caplen > header) hexAndAscii(nd, "\n\t", header, caplen - header, 0);
      } else if (options.hex) {
        if (options.hex > 1) hexOnly(nd, "\n\t", 0, caplen, 0);
        else if (caplen > header) hexOnly(nd, "\n\t", header, caplen - header, 0);
      } else if (options.ascii) {
        if (options.ascii > 1) asciiOnly(nd, 0, caplen);
        else if (caplen > header) asciiOnly(nd, header, caplen - header);
      }
    } catch (thrown) {
      if (thrown !== TRUNCATED) throw thrown;
      nd.printTrunc();
    }
    return `${head}${nd.out}\n`;
  }

  private linkLayer(nd: Dissector, length: number, caplen: number): number {
    switch (this.dlt) {
      case 1:
        return etherPrint(nd, 0, length, caplen);
      case 113:
        return sllPrint(nd, 0, length, caplen);
      case 276:
        return sll2Print(nd, 0, length, caplen);
      case 0:
        return nullPrint(nd, 0, length, caplen, false);
      case 108:
        return nullPrint(nd, 0, length, caplen, true);
      case 12:
      case 14:
      case 228:
      case 229:
        return rawPrint(nd, 0, length);
      default:
        nd.print("UNSUPPORTED");
        hexAndAscii(nd, "\n\t", 0, caplen, 0);
        return 0;
    }
  }
}
