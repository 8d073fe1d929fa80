/** IEEE 802.2 LLC and SNAP (tcpdump's llc_print/snap_print), with spanning tree BPDUs. */
import { ipv4At, ipv6At, macAt, macRawAt } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { bitNames, ETHERTYPE_NAMES } from "../names.js";
import { hex2, hexOnly } from "../dissector.js";
import { printableChar } from "./dns.js";

const SAP_NAMES = new Map<number, string>([
  [0x00, "Null"],
  [0xff, "Global"],
  [0x02, "802.1B I"],
  [0x03, "802.1B G"],
  [0x06, "IP"],
  [0x04, "SNA"],
  [0x0e, "ProWay NM"],
  [0x42, "STP"],
  [0x4e, "RS511"],
  [0x7e, "ISO8208"],
  [0x8e, "ProWay"],
  [0xaa, "SNAP"],
  [0xe0, "IPX"],
  [0xf0, "NetBeui"],
  [0xfe, "OSI"],
]);
const U_COMMANDS = new Map<number, string>([
  [0x03, "ui"],
  [0xe3, "test"],
  [0xaf, "xid"],
  [0x63, "ua"],
  [0x43, "disc"],
  [0x0f, "dm"],
  [0x6f, "sabme"],
  [0x87, "frmr"],
]);
const FLAG_NAMES = new Map<number, string>([
  [0, "Command"],
  [1, "Response"],
  [0x10, "Poll"],
  [0x11, "Final"],
  [0x100, "Poll"],
  [0x101, "Final"],
]);
const SUPERVISORY = ["Receiver Ready", "Receiver not Ready", "Reject"];
const OUI_NAMES = new Map<number, string>([
  [0x000000, "Ethernet"],
  [0x00000c, "Cisco"],
  [0x0000f8, "Cisco bridged"],
  [0x00080f, "Appletalk"],
  [0x0080c2, "IEEE 802.1 Private"],
  [0x00906b, "RFC 2684"],
]);
const CISCO_PIDS = new Map<number, string>([
  [0x2000, "CDP"],
  [0x2004, "DTP"],
  [0x0111, "UDLD"],
  [0x2003, "VTP"],
  [0x010b, "PVST"],
  [0x010c, "VLAN Bridge"],
]);

const STP_PROTOCOLS = new Map<number, string>([
  [0, "802.1d"],
  [2, "802.1w"],
  [3, "802.1s"],
  [4, "802.1aq"],
]);
const STP_TYPES = new Map<number, string>([
  [0, "Config"],
  [0x80, "Topology Change"],
  [0x02, "Rapid STP"],
]);
const STP_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x01, "Topology change"],
  [0x02, "Proposal"],
  [0x10, "Learn"],
  [0x20, "Forward"],
  [0x40, "Agreement"],
  [0x80, "Topology change ACK"],
];

const PORT_ROLES = ["Unknown", "Alternate", "Root", "Designated"];

/** An STP timer (1/256 s units) as C's "%.2f" prints it: exact value, ties to even. */
function stpTime(units: number): string {
  let hundredths = Math.floor((units * 25) / 64);
  const rest = (units * 25) % 64;
  if (rest > 32 || (rest === 32 && hundredths % 2 === 1)) hundredths++;
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")}s`;
}

function bridgeId(nd: Dissector, at: number): string {
  return `${hex2(nd.u8(at))}${hex2(nd.u8(at + 1))}.${macRawAt(nd, at + 2)}`;
}

/** nd_printjnp: at most n bytes of text, up to a NUL. */
function printText(nd: Dissector, at: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const c = nd.u8(at + i);
    if (c === 0) break;
    nd.print(printableChar(c));
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, "0");
}

function stpTimers(nd: Dissector, at: number): string {
  return (
    `\n\tmessage-age ${stpTime(nd.be16(at + 27))}, max-age ${stpTime(nd.be16(at + 29))}` +
    `, hello-time ${stpTime(nd.be16(at + 31))}, forwarding-delay ${stpTime(nd.be16(at + 33))}`
  );
}

function stpConfig(nd: Dissector, at: number, length: number): void {
  const flags = nd.u8(at + 4);
  nd.print(`, Flags [${bitNames(STP_FLAGS, "none", flags)}]`);
  nd.print(`, bridge-id ${bridgeId(nd, at + 17)}.${nd.be16(at + 25).toString(16).padStart(4, "0")}, length ${length}`);
  if (!nd.options.verbose) return;
  nd.print(stpTimers(nd, at));
  nd.print(`\n\troot-id ${bridgeId(nd, at + 5)}, root-pathcost ${nd.be32(at + 13)}`);
  if (nd.u8(at + 2) === 2) nd.print(`, port-role ${PORT_ROLES[(flags & 0x0c) >> 2]}`);
}

function stpMstp(nd: Dissector, at: number, length: number): void {
  const flags = nd.u8(at + 4);
  nd.print(`, CIST Flags [${bitNames(STP_FLAGS, "none", flags)}], length ${length}`);
  if (!nd.options.verbose) return;
  nd.print(`\n\tport-role ${PORT_ROLES[(flags & 0x0c) >> 2]}, `);
  nd.print(`CIST root-id ${bridgeId(nd, at + 5)}, CIST ext-pathcost ${nd.be32(at + 13)}`);
  nd.print(`\n\tCIST regional-root-id ${bridgeId(nd, at + 17)}, `);
  nd.print(`CIST port-id ${nd.be16(at + 25).toString(16).padStart(4, "0")},`);
  nd.print(stpTimers(nd, at));
  nd.print(`\n\tv3len ${nd.be16(at + 36)}, `);
  nd.print("MCID Name ");
  printText(nd, at + 39, 32);
  const digest = at + 73;
  nd.print(
    `, rev ${nd.be16(at + 71)},\n\t\tdigest ${hex8(nd.be32(digest))}${hex8(nd.be32(digest + 4))}` +
      `${hex8(nd.be32(digest + 8))}${hex8(nd.be32(digest + 12))}, `,
  );
  nd.print(`CIST int-root-pathcost ${nd.be32(at + 89)},`);
  nd.print(`\n\tCIST bridge-id ${bridgeId(nd, at + 93)}, `);
  nd.print(`CIST remaining-hops ${nd.u8(at + 101)}`);
  const v3len = nd.be16(at + 36);
  if (v3len > 64) {
    let len = v3len - 64;
    let offset = at + 102;
    while (len >= 16) {
      const msti = nd.be16(offset + 1) & 0x0fff;
      const mstiFlags = nd.u8(offset);
      nd.print(
        `\n\tMSTI ${msti}, Flags [${bitNames(STP_FLAGS, "none", mstiFlags)}], port-role ${PORT_ROLES[(mstiFlags & 0x0c) >> 2]}`,
      );
      nd.print(`\n\t\tMSTI regional-root-id ${bridgeId(nd, offset + 1)}, pathcost ${nd.be32(offset + 9)}`);
      nd.print(`\n\t\tMSTI bridge-prio ${nd.u8(offset + 13) >> 4}, port-prio ${nd.u8(offset + 14) >> 4}, hops ${nd.u8(offset + 15)}`);
      len -= 16;
      offset += 16;
    }
  }
}

function stpSpb(nd: Dissector, at: number): void {
  if (!nd.options.verbose) return;
  nd.print(`\n\tv4len ${nd.be16(at)}, `);
  nd.print("AUXMCID Name ");
  printText(nd, at + 3, 32);
  const digest = at + 37;
  nd.print(
    `, Rev ${nd.be16(at + 35)},\n\t\tdigest ${hex8(nd.be32(digest))}${hex8(nd.be32(digest + 4))}` +
      `${hex8(nd.be32(digest + 8))}${hex8(nd.be32(digest + 12))}`,
  );
  const agreement = nd.u8(at + 53);
  const format = nd.u8(at + 55);
  const convention = nd.u8(at + 56);
  const edge = nd.be16(at + 57);
  const d = at + 67;
  nd.print(
    `\n\tAgreement num ${agreement >> 6}, Discarded Agreement num ${(agreement >> 4) & 3}, Agreement valid-` +
      `flag ${(agreement >> 3) & 1},\n\tRestricted role-flag: ${(agreement >> 2) & 1}, Format id ${format >> 4} cap ${format}, ` +
      `Convention id ${convention >> 4} cap ${convention},\n\tEdge count ${edge}, ` +
      `Agreement digest ${hex8(nd.be32(d))}${hex8(nd.be32(d + 4))}${hex8(nd.be32(d + 8))}${hex8(nd.be32(d + 12))}${hex8(nd.be32(d + 16))}`,
  );
}

/** stp_print (print-stp.c): 802.1d, 802.1w, 802.1s (MSTP) and 802.1aq (SPB) BPDUs. */
export function stpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "stp";
  if (length < 4) {
    nd.printInvalid();
    return;
  }
  if (nd.be16(at)) {
    nd.print(`unknown STP version, length ${length}`);
    return;
  }
  const version = nd.u8(at + 2);
  nd.print(`STP ${STP_PROTOCOLS.get(version) ?? `Unknown STP protocol (0x${hex2(version)})`}`);
  if (version !== 0 && version !== 2 && version !== 3 && version !== 4) return;
  const type = nd.u8(at + 3);
  nd.print(`, ${STP_TYPES.get(type) ?? `Unknown BPDU Type (0x${type.toString(16).padStart(2, "0")})`}`);
  if (type === 0) {
    if (length < 35) return nd.printInvalid();
    stpConfig(nd, at, length);
  } else if (type === 2) {
    if (version === 2) {
      if (length < 36) return nd.printInvalid();
      stpConfig(nd, at, length);
    } else if (version === 3 || version === 4) {
      if (length < 102) return nd.printInvalid();
      if (nd.u8(at + 35) !== 0) return nd.printInvalid();
      const mstpLength = nd.be16(at + 36) + 2;
      if (length < 36 + mstpLength) return nd.printInvalid();
      stpMstp(nd, at, length);
      if (version === 4) {
        const spbLength = nd.be16(at + 36 + mstpLength) + 2;
        if (length < 36 + mstpLength + spbLength || spbLength < 87) return nd.printInvalid();
        stpSpb(nd, at + 36 + mstpLength);
      }
    }
  }
}

/** snap_print; false for a payload nobody decoded (the caller dumps it). */
function snapPrint(nd: Dissector, at: number, length: number, caplen: number, source: number | undefined, destination: number | undefined): boolean {
  nd.protocol = "snap";
  nd.need(at, 5);
  if (caplen < 5 || length < 5) {
    nd.printTrunc();
    return true;
  }
  const oui = nd.be24(at);
  const pid = nd.be16(at + 3);
  const pidName = oui === 0 ? ETHERTYPE_NAMES.get(pid) : oui === 0x00000c ? CISCO_PIDS.get(pid) : undefined;
  if (nd.options.linkHeader) {
    nd.print(
      `oui ${OUI_NAMES.get(oui) ?? "Unknown"} (0x${oui.toString(16).padStart(6, "0")}), ${oui === 0 ? "ethertype" : "pid"} ` +
        `${pidName ?? "Unknown"} (0x${pid.toString(16).padStart(4, "0")}), length ${length - 5}: `,
    );
  }
  at += 5;
  length -= 5;
  caplen -= 5;
  if (oui === 0 || oui === 0x0000f8) {
    if (nd.decode.ethertype(nd, pid, at, length, caplen)) return true;
  } else if (oui === 0x00000c && (pid === 0x010b || pid === 0x010c)) {
    stpPrint(nd, at, length);
    return true;
  } else if (oui === 0x00000c && pid === 0x2000) {
    cdpPrint(nd, at, length);
    return true;
  } else if (oui === 0x00000c && pid === 0x2003) {
    nd.protocol = "vtp";
    const types = ["", "Summary advertisement", "Subset advertisement", "Advertisement request", "Join message"];
    const type = nd.u8(at + 1);
    nd.print(`VTPv${nd.u8(at)}, Message ${types[type] || "Unknown message type"} (0x${type.toString(16).padStart(2, "0")}), length ${length}`);
    return true;
  } else if (oui === 0x00000c && pid === 0x0111) {
    udldPrint(nd, at, length);
    return true;
  } else if (oui === 0x00000c && pid === 0x2004) {
    dtpPrint(nd, at, length);
    return true;
  }
  if (!nd.options.linkHeader) {
    if (source !== undefined && destination !== undefined) nd.print(`${macAt(nd, source)} > ${macAt(nd, destination)} `);
    if (oui === 0) {
      nd.print(`SNAP, ethertype ${ETHERTYPE_NAMES.get(pid) ?? "Unknown"} (0x${pid.toString(16).padStart(4, "0")}), length ${length}: `);
    } else {
      nd.print(
        `SNAP, oui ${OUI_NAMES.get(oui) ?? "Unknown"} (0x${oui.toString(16).padStart(6, "0")}), pid ${pidName ?? "Unknown"} (0x${pid.toString(16).padStart(4, "0")}), length ${length}: `,
      );
    }
  }
  return false;
}

const UDLD_TLVS = [
  "", "Device-ID TLV", "Port-ID TLV", "Echo TLV", "Message Interval TLV", "Timeout Interval TLV", "Device Name TLV",
  "Sequence Number TLV",
];
const UDLD_CODES = ["Reserved", "Probe message", "Echo message", "Flush message"];
const UDLD_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [1, "RT"], [2, "RSY"], [4, "MBZ-2"], [8, "MBZ-3"], [16, "MBZ-4"], [32, "MBZ-5"], [64, "MBZ-6"], [128, "MBZ-7"],
];

/** udld_print (print-udld.c): Cisco's UniDirectional Link Detection; TLVs with -v. */
function udldPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "udld";
  const remainder = (): void => nd.need(at, length);
  const invalid = (): void => {
    nd.printInvalid();
    remainder();
  };
  if (length < 4) return invalid();
  const first = nd.u8(at);
  const version = (first & 0xe0) >> 5;
  const code = first & 0x1f;
  at += 1;
  length -= 1;
  const flags = nd.u8(at);
  at += 1;
  length -= 1;
  nd.print(
    `UDLDv${version}, Code ${UDLD_CODES[code] ?? "Reserved"} (${code.toString(16)}), ` +
      `Flags [${bitNames(UDLD_FLAGS, "none", flags)}] (0x${hex2(flags)}), length ${length + 2}`,
  );
  if (nd.options.verbose < 1) return remainder();
  nd.print(`\n\tChecksum 0x${nd.be16(at).toString(16).padStart(4, "0")} (unverified)`);
  at += 2;
  length -= 2;
  while (length) {
    if (length < 4) return invalid();
    const type = nd.be16(at);
    let len = nd.be16(at + 2);
    at += 4;
    length -= 4;
    nd.print(`\n\t${UDLD_TLVS[type] || "Unknown"} (0x${type.toString(16).padStart(4, "0")}) TLV, length ${len}`);
    if (len <= 4) return invalid();
    len -= 4;
    if (length < len) return invalid();
    switch (type) {
      case 1:
      case 2:
      case 6:
        nd.print(", ");
        printText(nd, at, len);
        break;
      case 3:
        nd.print(", ");
        for (let i = 0; i < len; i++) nd.print(printableChar(nd.u8(at + i)));
        break;
      case 4:
      case 5:
        if (len !== 1) return invalid();
        nd.print(`, ${nd.u8(at)}s`);
        break;
      case 7:
        if (len !== 4) return invalid();
        nd.print(`, ${nd.be32(at)}`);
        break;
      default:
        nd.need(at, len);
    }
    at += len;
    length -= len;
  }
}

const DTP_TLVS = ["", "Domain", "Status", "DTP type", "Neighbor"];

/** dtp_print (print-dtp.c); TLVs with -v. */
function dtpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "dtp";
  const invalid = (): void => {
    nd.printInvalid();
    nd.need(at, length);
  };
  if (length < 1) {
    nd.print("[zero packet length]");
    return invalid();
  }
  nd.print(`DTPv${nd.u8(at)}, length ${length}`);
  if (nd.options.verbose < 1) return;
  at += 1;
  length -= 1;
  while (length) {
    if (length < 4) {
      nd.print(`[${length} bytes remaining]`);
      return invalid();
    }
    const type = nd.be16(at);
    const tlvLength = nd.be16(at + 2);
    if (type === 0) return;
    nd.print(`\n\t${DTP_TLVS[type] ?? "Unknown"} (0x${type.toString(16).padStart(4, "0")}) TLV, length ${tlvLength}`);
    if (tlvLength < 4 || tlvLength > length) {
      nd.print(`[invalid TLV length ${tlvLength}]`);
      return invalid();
    }
    switch (type) {
      case 1:
        nd.print(", ");
        printText(nd, at + 4, tlvLength - 4);
        break;
      case 2:
      case 3:
        if (tlvLength !== 5) return invalid();
        nd.print(`, 0x${nd.u8(at + 4).toString(16)}`);
        break;
      case 4:
        if (tlvLength !== 10) return invalid();
        nd.print(`, ${macAt(nd, at + 4)}`);
        break;
      default:
        nd.need(at, tlvLength);
    }
    at += tlvLength;
    length -= tlvLength;
  }
}

const CDP_CAPABILITIES: ReadonlyArray<readonly [number, string]> = [
  [0x01, "Router"],
  [0x02, "Transparent Bridge"],
  [0x04, "Source Route Bridge"],
  [0x08, "L2 Switch"],
  [0x10, "L3 capable"],
  [0x20, "IGMP snooping"],
  [0x40, "L1 capable"],
];

/** "%1.2f" of value / 1000 as C prints it (exact ties round to even; toFixed rounds them up). */
function thousandthsFixed2(value: number): string {
  if (value % 10 === 5 && value % 125 === 0) {
    let hundredths = (value - 5) / 10;
    if (hundredths % 2 === 1) hundredths++;
    return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")}`;
  }
  return (value / 1000).toFixed(2);
}

/** nd_printn: n bytes as untrusted text. */
function printChars(nd: Dissector, at: number, n: number): void {
  for (let i = 0; i < n; i++) nd.print(printableChar(nd.u8(at + i)));
}

function cdpString(nd: Dissector, at: number, length: number): void {
  nd.print("'");
  printChars(nd, at, length);
  nd.print("'");
}

/** cdp_print_addr: the Address and Management Addresses TLVs. */
function cdpAddresses(nd: Dissector, p: number, l: number): void {
  const invalid = (): void => nd.need(p, l);
  if (l < 4) {
    nd.print(" (not enough space for num)");
    return invalid();
  }
  let num = nd.be32(p);
  p += 4;
  l -= 4;
  while (num) {
    if (l < 2) {
      nd.print(" (not enough space for PT+PL)");
      return invalid();
    }
    const pt = nd.u8(p);
    let pl = nd.u8(p + 1);
    p += 2;
    l -= 2;
    if (l < pl + 2) {
      nd.print(" (not enough space for P+AL)");
      return invalid();
    }
    let al = nd.be16(p + pl);
    const ipv6Snap = (): boolean => {
      const prefix = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x86, 0xdd];
      for (let i = 0; i < 8; i++) if (nd.u8(p + i) !== prefix[i]) return false;
      return true;
    };
    if (pt === 1 && pl === 1 && nd.u8(p) === 0xcc && al === 4) {
      p += pl + 2;
      l -= pl + 2;
      if (l < al) {
        nd.print(" (not enough space for A)");
        return invalid();
      }
      nd.print(`IPv4 (${num}) ${ipv4At(nd, p)}`);
      p += al;
      l -= al;
    } else if (pt === 2 && pl === 8 && al === 16 && ipv6Snap()) {
      p += pl + 2;
      l -= pl + 2;
      if (l < al) {
        nd.print(" (not enough space for A)");
        return invalid();
      }
      nd.print(`IPv6 (${num}) ${ipv6At(nd, p)}`);
      p += al;
      l -= al;
    } else {
      nd.print(`pt=0x${hex2(pt)}, pl=${pl}, pb=`);
      while (pl !== 0) {
        nd.print(` ${hex2(nd.u8(p))}`);
        p++;
        l--;
        pl--;
      }
      nd.print(`, al=${al}, a=`);
      p += 2;
      l -= 2;
      if (l < al) {
        nd.print(" (not enough space for A)");
        return invalid();
      }
      while (al !== 0) {
        nd.print(` ${hex2(nd.u8(p))}`);
        p++;
        l--;
        al--;
      }
    }
    num--;
    if (num) nd.print(" ");
  }
  if (l) nd.print(` (${l} bytes of stray data)`);
}

function cdpPrefixes(nd: Dissector, p: number, l: number): void {
  if (l % 5) {
    nd.print(` [length ${l} is not a multiple of 5]`);
    nd.need(p, l);
    return;
  }
  nd.print(` IPv4 Prefixes (${l / 5}):`);
  for (; l > 0; l -= 5, p += 5) {
    nd.print(` ${nd.u8(p)}.${nd.u8(p + 1)}.${nd.u8(p + 2)}.${nd.u8(p + 3)}/${nd.u8(p + 4)}`);
  }
}

interface CdpTlv {
  name?: string;
  printer?: (nd: Dissector, at: number, length: number) => void;
  min?: number;
  max?: number;
}

const BLANK_CDP_TLV: CdpTlv = {};

const CDP_TLVS: ReadonlyArray<CdpTlv | undefined> = [
  undefined,
  { name: "Device-ID", printer: cdpString },
  { name: "Address", printer: cdpAddresses },
  { name: "Port-ID", printer: cdpString },
  {
    name: "Capability",
    printer: (nd, at) => {
      const value = nd.be32(at);
      nd.print(`(0x${value.toString(16).padStart(8, "0")}): ${bitNames(CDP_CAPABILITIES, "none", value)}`);
    },
    min: 4,
    max: 4,
  },
  {
    name: "Version String",
    printer: (nd, at, length) => {
      nd.print("\n\t  ");
      for (let i = 0; i < length; i++) {
        const c = nd.u8(at + i);
        nd.print(c === 0x0a ? "\n\t  " : printableChar(c));
      }
    },
  },
  { name: "Platform", printer: cdpString },
  { name: "Prefixes", printer: cdpPrefixes },
  { name: "Protocol-Hello option" },
  { name: "VTP Management Domain", printer: cdpString },
  { name: "Native VLAN ID", printer: (nd, at) => nd.print(`${nd.be16(at)}`), min: 2, max: 2 },
  { name: "Duplex", printer: (nd, at) => nd.print(nd.u8(at) ? "full" : "half"), min: 1, max: 1 },
  undefined,
  undefined,
  { name: "ATA-186 VoIP VLAN assignment", printer: ata186, min: 3, max: 3 },
  { name: "ATA-186 VoIP VLAN request", printer: ata186, min: 2, max: 3 },
  {
    name: "power consumption",
    printer: (nd, at, length) => {
      const value = length === 1 ? nd.u8(at) : length === 2 ? nd.be16(at) : nd.be24(at);
      nd.print(`${thousandthsFixed2(value)}W`);
    },
    min: 1,
    max: 3,
  },
  { name: "MTU", printer: (nd, at) => nd.print(`${nd.be32(at)} bytes`), min: 4, max: 4 },
  { name: "AVVID trust bitmap", printer: (nd, at) => nd.print(`0x${hex2(nd.u8(at))}`), min: 1, max: 1 },
  { name: "AVVID untrusted ports CoS", printer: (nd, at) => nd.print(`0x${hex2(nd.u8(at))}`), min: 1, max: 1 },
  { name: "System Name", printer: cdpString },
  { name: "System Object ID (not decoded)" },
  { name: "Management Addresses", printer: cdpAddresses, min: 4 },
  {
    name: "Physical Location",
    printer: (nd, at, length) => {
      nd.print(`0x${hex2(nd.u8(at))}`);
      if (length > 1) {
        nd.print("/");
        printChars(nd, at + 1, length - 1);
      }
    },
    min: 1,
  },
];

function ata186(nd: Dissector, at: number, length: number): void {
  if (length === 2) nd.print(`unknown 0x${nd.be16(at).toString(16).padStart(4, "0")}`);
  else nd.print(`app ${nd.u8(at)}, vlan ${nd.be16(at + 1)}`);
}

/** cdp_print (print-cdp.c, tcpdump 4.99): the Device-ID (other TLVs as hex) or, with -v, every TLV. */
function cdpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "cdp";
  const originalLength = length;
  const invalid = (): void => {
    nd.printInvalid();
    nd.need(at, length);
  };
  if (length < 4) {
    nd.print(` (packet length ${length} < 4)`);
    return invalid();
  }
  nd.print(`CDPv${nd.u8(at)}, ttl: ${nd.u8(at + 1)}s`);
  const checksum = nd.be16(at + 2);
  if (nd.options.verbose) nd.print(`, checksum: 0x${checksum.toString(16).padStart(4, "0")} (unverified), length ${originalLength}`);
  at += 4;
  length -= 4;
  while (length) {
    if (length < 4) {
      nd.print(` (remaining packet length ${length} < 4)`);
      return invalid();
    }
    const type = nd.be16(at);
    let tlvLength = nd.be16(at + 2);
    // Types up to 0x17 have a table entry in tcpdump, blank (no name, no printer) for the unassigned ones.
    const info = type <= 0x17 ? (CDP_TLVS[type] ?? BLANK_CDP_TLV) : undefined;
    const name = info?.name ?? "unknown field type";
    if (tlvLength < 4) {
      if (nd.options.verbose) nd.print(`\n\t${name} (0x${type.toString(16).padStart(2, "0")}), TLV length: ${tlvLength} byte${tlvLength === 1 ? "" : "s"} (too short)`);
      else nd.print(`, ${name} TLV length ${tlvLength} too short`);
      return invalid();
    }
    if (tlvLength > length) {
      nd.print(` (TLV length ${tlvLength} > ${length})`);
      return invalid();
    }
    at += 4;
    length -= 4;
    tlvLength -= 4;
    if (!nd.options.verbose && type === 1) nd.print(", Device-ID ");
    else if (nd.options.verbose) nd.print(`\n\t${name} (0x${type.toString(16).padStart(2, "0")}), value length: ${tlvLength} byte${tlvLength === 1 ? "" : "s"}: `);
    let covered = false;
    if (info) {
      if ((info.min !== undefined && tlvLength < info.min) || (info.max !== undefined && tlvLength > info.max)) {
        nd.print(" (malformed TLV)");
      } else if (nd.options.verbose || type === 1) {
        if (info.printer) info.printer(nd, at, tlvLength);
        else nd.need(at, tlvLength);
        covered = true;
      }
    }
    if (!covered) {
      nd.need(at, tlvLength);
      hexOnly(nd, "\n\t  ", at, tlvLength, 0);
    }
    at += tlvLength;
    length -= tlvLength;
  }
  if (!nd.options.verbose) nd.print(`, length ${originalLength}`);
}

/** ipx_print: addresses and the socket's protocol (tcpdump decodes SAP/RIP further; kopi names them). */
export function ipxPrint(nd: Dissector, at: number, _length: number): void {
  nd.protocol = "ipx";
  if (!nd.options.linkHeader) nd.print("IPX ");
  const address = (netAt: number): string => `${nd.be32(netAt).toString(16).padStart(8, "0")}.${macRawAt(nd, netAt + 4)}`;
  nd.print(`${address(at + 18)}.${nd.be16(at + 28).toString(16).padStart(4, "0")} > `);
  nd.print(`${address(at + 6)}.${nd.be16(at + 16).toString(16).padStart(4, "0")}: `);
  const length = nd.be16(at + 2);
  if (length < 30) {
    nd.print(`[length ${length} < 30]`);
    nd.printInvalid();
    return;
  }
  const socket = nd.be16(at + 16);
  const names = new Map<number, string>([
    [0x0451, "ipx-ncp"],
    [0x0452, "ipx-sap"],
    [0x0453, "ipx-rip"],
    [0x0455, "ipx-netbios"],
    [0x0456, "ipx-diags"],
    [0x0553, "ipx-nwlink-dgm"],
  ]);
  nd.print(`${names.get(socket) ?? `ipx-#${socket.toString(16)}`} ${length - 30}`);
}

/**
 * llc_print: returns the LLC(+SNAP) header length, negative when the payload is unknown (the caller then hex
 * dumps it). `source`/`destination` are the offsets of the frame's MAC addresses, when it has them.
 */
export function llcPrint(
  nd: Dissector,
  at: number,
  length: number,
  caplen: number,
  source: number | undefined,
  destination: number | undefined,
): number {
  nd.protocol = "llc";
  if (caplen < 3 || length < 3) {
    nd.printTrunc();
    nd.defaultPrint(at, caplen);
    return Math.min(caplen, length);
  }
  const dsapField = nd.u8(at);
  const ssapField = nd.u8(at + 1);
  let control = nd.u8(at + 2);
  let isU: boolean;
  let headerLength: number;
  if ((control & 3) === 3) {
    isU = true;
    headerLength = 3;
  } else {
    if (caplen < 4 || length < 4) {
      nd.printTrunc();
      nd.defaultPrint(at, caplen);
      return Math.min(caplen, length);
    }
    control = nd.le16(at + 2);
    isU = false;
    headerLength = 4;
  }
  if (ssapField === 0xff && dsapField === 0xff) {
    // Novell "raw" 802.3: IPX right after the length field.
    if (nd.options.linkHeader) nd.print("IPX 802.3: ");
    ipxPrint(nd, at, length);
    return 0;
  }
  const dsap = dsapField & ~1;
  const ssap = ssapField & ~1;
  if (nd.options.linkHeader) {
    nd.print(
      `LLC, dsap ${SAP_NAMES.get(dsap) ?? "Unknown"} (0x${hex2(dsap)}) ${dsapField & 1 ? "Group" : "Individual"}, ` +
        `ssap ${SAP_NAMES.get(ssap) ?? "Unknown"} (0x${hex2(ssap)}) ${FLAG_NAMES.get(ssapField & 1) ?? "Unknown"}`,
    );
    nd.print(isU ? `, ctrl 0x${hex2(control)}: ` : `, ctrl 0x${control.toString(16).padStart(4, "0")}: `);
  }
  at += headerLength;
  length -= headerLength;
  caplen -= headerLength;
  if (ssap === 0xaa && dsap === 0xaa && control === 0x03) {
    return snapPrint(nd, at, length, caplen, source, destination) ? headerLength + 5 : -(headerLength + 5);
  }
  if (ssap === 0x42 && dsap === 0x42 && control === 0x03) {
    stpPrint(nd, at, length);
    return headerLength;
  }
  if (ssap === 0x06 && dsap === 0x06 && control === 0x03) {
    nd.decode.ip(nd, at, length);
    return headerLength;
  }
  if (ssap === 0xe0 && dsap === 0xe0 && control === 0x03) {
    if (nd.options.linkHeader) nd.print("IPX 802.2: ");
    ipxPrint(nd, at, length);
    return headerLength;
  }
  if (!nd.options.linkHeader) {
    if (ssap === dsap) {
      const name = SAP_NAMES.get(dsap) ?? `Unknown DSAP 0x${hex2(dsap)}`;
      if (source === undefined || destination === undefined) nd.print(`${name} `);
      else nd.print(`${macAt(nd, source)} > ${macAt(nd, destination)} ${name} `);
    } else {
      const ssapName = SAP_NAMES.get(ssap) ?? `Unknown SSAP 0x${hex2(ssap)}`;
      const dsapName = SAP_NAMES.get(dsap) ?? `Unknown DSAP 0x${hex2(dsap)}`;
      if (source === undefined || destination === undefined) nd.print(`${ssapName} > ${dsapName} `);
      else nd.print(`${macAt(nd, source)} ${ssapName} > ${macAt(nd, destination)} ${dsapName} `);
    }
  }
  if (isU) {
    nd.print(
      `Unnumbered, ${U_COMMANDS.get(control & 0xef) ?? hex2(control & 0xef)}, Flags [${FLAG_NAMES.get((ssapField & 1) | (control & 0x10)) ?? "?"}], length ${length + headerLength}`,
    );
    if ((control & ~0x10) === 0xaf) {
      if (length === 0) return headerLength;
      if (caplen < 1) {
        nd.printTrunc();
        return headerLength;
      }
      if (nd.u8(at) === 0x81) {
        if (caplen < 3 || length < 3) {
          nd.printTrunc();
          if (caplen > 0) nd.defaultPrint(at, caplen);
        } else nd.print(`: ${hex2(nd.u8(at + 1))} ${hex2(nd.u8(at + 2))}`);
        return headerLength;
      }
    }
  } else if ((control & 1) === 1) {
    nd.print(
      `Supervisory, ${SUPERVISORY[(control >> 2) & 3] ?? "?"}, rcv seq ${(control >> 9) & 0x7f}, Flags [${FLAG_NAMES.get((ssapField & 1) | (control & 0x100)) ?? "?"}], length ${length + headerLength}`,
    );
    return headerLength;
  } else {
    nd.print(
      `Information, send seq ${(control >> 1) & 0x7f}, rcv seq ${(control >> 9) & 0x7f}, Flags [${FLAG_NAMES.get((ssapField & 1) | (control & 0x100)) ?? "?"}], length ${length + headerLength}`,
    );
  }
  return -headerLength;
}
