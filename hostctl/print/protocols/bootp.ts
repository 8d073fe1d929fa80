/**
 * BOOTP and DHCPv4 as tcpdump 4.99's print-bootp.c prints them: one summary line, and with -v the fixed
 * fields and every RFC 1048 option ("Vendor-rfc1048 Extensions" with one indented line per option).
 */
import { ipv4At, macAt } from "../addresses.js";
import { hex2, hexOnly, type Dissector } from "../dissector.js";
import { printableChar } from "./dns.js";

/** Option names, prefixed with the format letter tcpdump's tag2str table uses (see formatOption). */
const TAGS = new Map<number, string>([
  [0, " PAD"], [1, "iSubnet-Mask"], [2, "LTime-Zone"], [3, "iDefault-Gateway"], [4, "iTime-Server"],
  [5, "iIEN-Name-Server"], [6, "iDomain-Name-Server"], [7, "iLOG"], [8, "iCS"], [9, "iLPR-Server"], [10, "iIM"],
  [11, "iRL"], [12, "aHostname"], [13, "sBS"], [255, " END"], [14, "aDP"], [15, "aDomain-Name"], [16, "iSS"],
  [17, "aRP"], [18, "aEP"], [19, "BIPF"], [20, "BSRT"], [21, "pPF"], [22, "sRSZ"], [23, "bTTL"],
  [24, "lMTU-Timeout"], [25, "sMTU-Table"], [26, "sMTU"], [27, "BLSN"], [28, "iBR"], [29, "BMD"], [30, "BMS"],
  [31, "BRouter-Discovery"], [32, "iRSA"], [33, "pStatic-Route"], [34, "BUT"], [35, "lAT"], [36, "BIE"],
  [37, "bTT"], [38, "lKI"], [39, "BKG"], [40, "aYD"], [41, "iYS"], [42, "iNTP"], [43, "bVendor-Option"],
  [44, "iNetbios-Name-Server"], [45, "iWDD"], [46, "$Netbios-Node"], [47, "aNetbios-Scope"], [48, "iXFS"],
  [49, "iXDM"], [64, "sN+D"], [65, "iN+S"], [68, "iMH"], [69, "iSMTP"], [70, "iPOP3"], [71, "iNNTP"], [72, "iWWW"],
  [73, "iFG"], [74, "iIRC"], [75, "iSTS"], [76, "iSTDA"], [50, "iRequested-IP"], [51, "lLease-Time"], [52, "$OO"],
  [66, "aTFTP"], [67, "aBF"], [53, " DHCP-Message"], [54, "iServer-ID"], [55, "bParameter-Request"], [56, "aMSG"],
  [57, "sMSZ"], [58, "lRN"], [59, "lRB"], [60, "aVendor-Class"], [61, "$Client-ID"], [98, "aUAP"],
  [116, "BNOAUTO"], [78, "bSLP-DA"], [79, "bSLP-SCOPE"], [117, "sNSSEARCH"], [77, "$User-Class"],
  [118, "iSUBNET"], [121, "$Classless-Static-Route"], [249, "$Classless-Static-Route-Microsoft"],
  [150, "iTFTP-Server-Address"], [80, "aSLP-NA"], [81, "$FQDN"],
  [82, "$Agent-Information"], [83, "bARMT"], [88, "aTZSTR"], [89, "bFQDNS"], [90, "bAUTH"],
  [91, "LLast-Transaction-Time"], [92, "iAssociated-IP"], [93, "sARCH"], [94, "bNDI"], [97, "bGUID"],
  [95, "aLDAP"], [100, "aPOSIX-TZ"], [101, "aTZ-Name"], [112, "iNI"], [113, "aNITAG"], [114, "aURL"],
  [161, "aMUD-URL"],
]);

const OVERLOAD = new Map([[1, "file"], [2, "sname"], [3, "file+sname"]]);
const NETBIOS_NODES = new Map([[1, "b-node"], [2, "p-node"], [4, "m-node"], [8, "h-node"]]);
const HARDWARE_TYPES = new Map([[1, "ether"], [6, "ieee802"], [7, "arcnet"], [0xf, "frelay"], [0x17, "strip"], [0x18, "ieee1394"]]);
const DHCP_MESSAGES = new Map([
  [1, "Discover"], [2, "Offer"], [3, "Request"], [4, "Decline"], [5, "ACK"], [6, "NACK"], [7, "Release"],
  [8, "Inform"], [10, "LeaseQuery"], [11, "LeaseUnassigned"], [12, "LeaseUnknown"], [13, "LeaseActive"],
]);
const AGENT_SUBOPTIONS = new Map([[1, "Circuit-ID"], [2, "Remote-ID"], [6, "Subscriber-ID"]]);

/** nd_printn: n bytes as untrusted text (the option bytes are already known to be captured). */
function text(nd: Dissector, at: number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += printableChar(nd.u8(at + i));
  return out;
}

/** nd_printztn: a NUL-terminated string of at most n bytes; false when no NUL came before n or the capture end. */
function printZeroTerminated(nd: Dissector, at: number, n: number): boolean {
  for (;;) {
    if (n === 0 || at >= nd.end) return false;
    const c = nd.u8(at);
    at++;
    n--;
    if (c === 0) return true;
    nd.print(printableChar(c));
  }
}

export function bootpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "bootp";
  const op = nd.u8(at);
  nd.print(`BOOTP/DHCP, ${op === 1 ? "Request" : op === 2 ? "Reply" : `unknown (0x${hex2(op)})`}`);
  const htype = nd.u8(at + 1);
  const hlen = nd.u8(at + 2);
  if (htype === 1 && hlen === 6 && op === 1) nd.print(` from ${macAt(nd, at + 28)}`);
  nd.print(`, length ${length}`);
  if (!nd.options.verbose) return;
  nd.need(at + 8, 2);
  if (htype !== 1) nd.print(`, htype ${htype}`);
  if (htype !== 1 || hlen !== 6) nd.print(`, hlen ${hlen}`);
  const hops = nd.u8(at + 3);
  if (hops) nd.print(`, hops ${hops}`);
  const xid = nd.be32(at + 4);
  if (xid) nd.print(`, xid 0x${xid.toString(16)}`);
  const secs = nd.be16(at + 8);
  if (secs) nd.print(`, secs ${secs}`);
  const flags = nd.be16(at + 10);
  nd.print(`, Flags [${flags & 0x8000 ? "Broadcast" : "none"}]`);
  if (nd.options.verbose > 1) nd.print(` (0x${flags.toString(16).padStart(4, "0")})`);
  const address = (offset: number, label: string): void => {
    nd.need(at + offset, 4);
    if (nd.be32(at + offset)) nd.print(`\n\t  ${label} ${ipv4At(nd, at + offset)}`);
  };
  address(12, "Client-IP");
  address(16, "Your-IP");
  address(20, "Server-IP");
  address(24, "Gateway-IP");
  if (htype === 1 && hlen === 6) nd.print(`\n\t  Client-Ethernet-Address ${macAt(nd, at + 28)}`);
  for (const [offset, size, label] of [[44, 64, "sname"], [108, 128, "file"]] as const) {
    if (nd.u8(at + offset)) {
      nd.print(`\n\t  ${label} "`);
      if (!printZeroTerminated(nd, at + offset, size)) {
        nd.print('"');
        nd.printTrunc();
        return;
      }
      nd.print('"');
    }
  }
  const vendor = at + 236;
  nd.need(vendor, 4);
  const magic = nd.be32(vendor);
  if (magic === 0x63825363) rfc1048Print(nd, vendor);
  else if (magic === 0x434d5500) cmuPrint(nd, vendor);
  else if (magic !== 0) nd.print(`\n\t  Vendor-#0x${magic.toString(16)}`);
}

function rfc1048Print(nd: Dissector, bp: number): void {
  const verbose = nd.options.verbose;
  nd.print("\n\t  Vendor-rfc1048 Extensions");
  nd.print(`\n\t    Magic Cookie 0x${nd.be32(bp).toString(16).padStart(8, "0")}`);
  bp += 4;
  while (nd.has(bp, 1)) {
    const tag = nd.u8(bp);
    bp++;
    if (tag === 0 && verbose < 3) continue;
    if (tag === 255 && verbose < 3) return;
    const entry = TAGS.get(tag) ?? "?Unknown";
    let c = entry[0]!;
    const name = entry.slice(1);
    let len = 0;
    if (tag !== 0 && tag !== 255) {
      len = nd.u8(bp);
      bp++;
    }
    nd.print(`\n\t    ${name} (${tag}), length ${len}${len > 0 ? ": " : ""}`);
    if (tag === 0 && verbose > 2) {
      let count = 1;
      while (nd.has(bp, 1) && nd.u8(bp) === 0) {
        bp++;
        count++;
      }
      if (count > 1) nd.print(`, occurs ${count}`);
    }
    nd.need(bp, len);
    if (tag === 53 && len === 1) {
      const message = nd.u8(bp);
      nd.print(DHCP_MESSAGES.get(message) ?? `Unknown (${message})`);
      bp++;
      continue;
    }
    if (tag === 55) {
      for (let i = 0; len > 0; i++, bp++, len--) {
        const inner = nd.u8(bp);
        nd.print(i % 4 === 0 ? "\n\t      " : ", ");
        nd.print(`${(TAGS.get(inner) ?? "?Unknown").slice(1)} (${inner})`);
      }
      continue;
    }
    if (c === "?") c = len & 1 ? "b" : len & 2 ? "s" : "l";
    let first = true;
    switch (c) {
      case "a":
        nd.print(`"${text(nd, bp, len)}"`);
        bp += len;
        len = 0;
        break;
      case "i":
      case "l":
      case "L":
        while (len >= 4) {
          if (!first) nd.print(",");
          if (c === "i") nd.print(ipv4At(nd, bp));
          else if (c === "L") nd.print(`${nd.be32(bp) | 0}`);
          else nd.print(`${nd.be32(bp)}`);
          bp += 4;
          len -= 4;
          first = false;
        }
        break;
      case "p":
        while (len >= 8) {
          if (!first) nd.print(",");
          nd.print(`(${ipv4At(nd, bp)}:${ipv4At(nd, bp + 4)})`);
          bp += 8;
          len -= 8;
          first = false;
        }
        break;
      case "s":
        while (len >= 2) {
          if (!first) nd.print(",");
          nd.print(`${nd.be16(bp)}`);
          bp += 2;
          len -= 2;
          first = false;
        }
        break;
      case "B":
        while (len > 0) {
          if (!first) nd.print(",");
          const value = nd.u8(bp);
          nd.print(value === 0 ? "N" : value === 1 ? "Y" : `${value}?`);
          bp++;
          len--;
          first = false;
        }
        break;
      case "$":
        [bp, len] = specialOption(nd, tag, bp, len);
        break;
      default:
        while (len > 0) {
          if (!first) nd.print(c === "x" ? ":" : ".");
          const value = nd.u8(bp);
          nd.print(c === "x" ? hex2(value) : `${value}`);
          bp++;
          len--;
          first = false;
        }
    }
    if (len) {
      nd.print(`\n\t  trailing data length ${len}`);
      bp += len;
    }
  }
}

/** The '$' options tcpdump decodes with their own code; returns the new position and the length left. */
function specialOption(nd: Dissector, tag: number, bp: number, len: number): [number, number] {
  let first = true;
  switch (tag) {
    case 46:
    case 52: {
      if (len < 1) {
        nd.print("[ERROR: length < 1 bytes]");
        return [bp, len];
      }
      const value = nd.u8(bp);
      nd.print((tag === 46 ? NETBIOS_NODES : OVERLOAD).get(value) ?? `#${value}`);
      return [bp + 1, len - 1];
    }
    case 81: {
      if (len < 3) {
        nd.print("[ERROR: length < 3 bytes]");
        return [bp + len, 0];
      }
      const flags = nd.u8(bp);
      if (flags & 0xf0) nd.print(`[ERROR: MBZ nibble 0x${((flags & 0xf0) >> 4).toString(16)} != 0] `);
      if (flags & 0x0f) {
        nd.print(`[${flags & 1 ? "S" : ""}${flags & 2 ? "O" : ""}${flags & 4 ? "E" : ""}${flags & 8 ? "N" : ""}] `);
      }
      bp++;
      if (nd.u8(bp) || nd.u8(bp + 1)) nd.print(`${nd.u8(bp)}/${nd.u8(bp + 1)} `);
      bp += 2;
      nd.print(`"${text(nd, bp, len - 3)}"`);
      return [bp + len - 3, 0];
    }
    case 61: {
      if (len < 1) {
        nd.print("[ERROR: length < 1 bytes]");
        return [bp, len];
      }
      const type = nd.u8(bp);
      bp++;
      len--;
      if (type === 0) {
        nd.print(`"${text(nd, bp, len)}"`);
        return [bp + len, 0];
      }
      nd.print(`${HARDWARE_TYPES.get(type) ?? `hardware-type ${type},`} `);
      while (len > 0) {
        if (!first) nd.print(":");
        nd.print(hex2(nd.u8(bp)));
        bp++;
        len--;
        first = false;
      }
      return [bp, len];
    }
    case 82:
      while (len >= 2) {
        const sub = nd.u8(bp);
        const subLength = nd.u8(bp + 1);
        bp += 2;
        len -= 2;
        const subName = AGENT_SUBOPTIONS.get(sub) ?? "Unknown";
        if (subLength > len) {
          nd.print(`\n\t      ${subName} SubOption ${sub}, length ${subLength}: length goes past end of option`);
          return [bp + len, 0];
        }
        nd.print(`\n\t      ${subName} SubOption ${sub}, length ${subLength}: `);
        if (sub === 1 || sub === 2 || sub === 6) nd.print(text(nd, bp, subLength));
        else hexOnly(nd, "\n\t\t", bp, subLength, 0);
        len -= subLength;
        bp += subLength;
      }
      return [bp, len];
    case 121:
    case 249: {
      if (len < 5) {
        nd.print("[ERROR: length < 5 bytes]");
        return [bp + len, 0];
      }
      while (len > 0) {
        if (!first) nd.print(",");
        const width = nd.u8(bp);
        bp++;
        len--;
        if (width > 32) {
          nd.print(`[ERROR: Mask width (${width}) > 32]`);
          return [bp + len, 0];
        }
        const significant = Math.floor((width + 7) / 8);
        if (len < significant + 4) {
          nd.print(`[ERROR: Remaining length (${len}) < ${significant + 4} bytes]`);
          return [bp + len, 0];
        }
        nd.print("(");
        if (width === 0) nd.print("default");
        else {
          for (let i = 0; i < significant; i++) {
            if (i > 0) nd.print(".");
            nd.print(`${nd.u8(bp)}`);
            bp++;
          }
          for (let i = significant; i < 4; i++) nd.print(".0");
          nd.print(`/${width}`);
        }
        nd.print(`:${ipv4At(nd, bp)})`);
        bp += 4;
        len -= significant + 4;
        first = false;
      }
      return [bp, len];
    }
    case 77: {
      if (len < 2) {
        nd.print("[ERROR: length < 2 bytes]");
        return [bp + len, 0];
      }
      let instance = 1;
      while (len > 0) {
        const subLength = nd.u8(bp);
        bp++;
        len--;
        nd.print(`\n\t      instance#${instance}: `);
        if (subLength === 0) {
          nd.print("[ERROR: suboption length must be non-zero]");
          return [bp + len, 0];
        }
        if (len < subLength) {
          nd.print("[ERROR: invalid option]");
          return [bp + len, 0];
        }
        nd.print(`"${text(nd, bp, subLength)}", length ${subLength}`);
        instance++;
        len -= subLength;
        bp += subLength;
      }
      return [bp, len];
    }
    default:
      nd.print(`[unknown special tag ${tag}, size ${len}]`);
      return [bp + len, 0];
  }
}

function cmuPrint(nd: Dissector, bp: number): void {
  nd.print(" vend-cmu");
  nd.need(bp + 4, 4);
  const flags = nd.u8(bp + 4);
  if (flags & ~1) nd.print(` F:0x${flags.toString(16)}`);
  const address = (offset: number, label: string): void => {
    nd.need(bp + offset, 4);
    if (nd.be32(bp + offset)) nd.print(` ${label}:${ipv4At(nd, bp + offset)}`);
  };
  address(12, "DG");
  address(8, flags & 1 ? "SM" : "SM*");
  address(16, "NS1");
  address(20, "NS2");
  address(24, "IEN1");
  address(28, "IEN2");
  address(32, "TS1");
  address(36, "TS2");
}
