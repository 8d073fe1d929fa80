/** Small UDP payloads in tcpdump 4.99's wording: TFTP, NTP (in full with -v), syslog, VXLAN, MPLS. */
import { ipv4At, macAt } from "../addresses.js";
import { hexOnly, type Dissector } from "../dissector.js";
import { printableChar } from "./dns.js";

const TFTP_OPCODES = new Map<number, string>([
  [1, "RRQ"],
  [2, "WRQ"],
  [3, "DATA"],
  [4, "ACK"],
  [5, "ERROR"],
  [6, "OACK"],
]);
const TFTP_ERRORS = new Map<number, string>([
  [0, "EUNDEF"],
  [1, "ENOTFOUND"],
  [2, "EACCESS"],
  [3, "ENOSPACE"],
  [4, "EBADOP"],
  [5, "EBADID"],
  [6, "EEXISTS"],
  [7, "ENOUSER"],
]);

/** nd_printztn: a NUL-terminated string within `length` bytes; returns the bytes used (with the NUL), 0 if none. */
function printZeroTerminated(nd: Dissector, at: number, length: number): number {
  let used = 0;
  for (;;) {
    if (used >= length || at + used >= nd.end) return 0;
    const c = nd.bytes[at + used]!;
    used++;
    if (c === 0) return used;
    nd.print(printableChar(c));
  }
}

export function tftpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "tftp";
  nd.print(`TFTP, length ${length}`);
  if (length < 2) return nd.printTrunc();
  const opcode = nd.be16(at);
  const name = TFTP_OPCODES.get(opcode);
  nd.print(`, ${name ?? `tftp-#${opcode}`}`);
  if (name === undefined) return;
  at += 2;
  length -= 2;
  let used: number;
  switch (opcode) {
    case 1:
    case 2:
      if (length === 0) return nd.printTrunc();
      nd.print(' "');
      used = printZeroTerminated(nd, at, length);
      nd.print('"');
      if (used === 0) return nd.printTrunc();
      at += used;
      length -= used;
      if (length === 0) return nd.printTrunc();
      nd.print(" ");
      used = printZeroTerminated(nd, at, length);
      if (used === 0) return nd.printTrunc();
      at += used;
      length -= used;
      while (length !== 0) {
        if (nd.u8(at) !== 0) nd.print(" ");
        used = printZeroTerminated(nd, at, length);
        if (used === 0) return nd.printTrunc();
        at += used;
        length -= used;
      }
      return;
    case 6:
      while (length !== 0) {
        if (nd.u8(at) !== 0) nd.print(" ");
        used = printZeroTerminated(nd, at, length);
        if (used === 0) return nd.printTrunc();
        at += used;
        length -= used;
      }
      return;
    case 3:
    case 4:
      if (length < 2) return nd.printTrunc();
      nd.print(` block ${nd.be16(at)}`);
      return;
    case 5: {
      if (length < 2) return nd.printTrunc();
      const code = nd.be16(at);
      nd.print(` ${TFTP_ERRORS.get(code) ?? `tftp-err-#${code} "`}`);
      at += 2;
      length -= 2;
      if (length === 0) return nd.printTrunc();
      nd.print(' "');
      used = printZeroTerminated(nd, at, length);
      nd.print('"');
      if (used === 0) return nd.printTrunc();
      return;
    }
  }
}

const NTP_MODES = [
  "unspecified",
  "symmetric active",
  "symmetric passive",
  "Client",
  "Server",
  "Broadcast",
  "Control Message",
  "Reserved",
];

export function ntpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "ntp";
  const status = nd.u8(at);
  nd.print(`NTPv${(status & 0x38) >> 3}`);
  const mode = status & 7;
  if (!nd.options.verbose) {
    nd.print(`, ${NTP_MODES[mode]}, length ${length}`);
    return;
  }
  nd.print(`, ${NTP_MODES[mode]}, length ${length}\n`);
  const leap = status & 0xc0;
  nd.print(`\tLeap indicator: ${NTP_LEAP[leap >> 6]} (${leap})`);
  if (mode <= 5) ntpTimePrint(nd, at, length);
  else if (mode === 6) ntpControlPrint(nd, at, length);
}

const NTP_LEAP = ["", "+1s", "-1s", "clock unsynchronized"];
const NTP_TIMEMSG_MINLEN = 48;
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const JAN_1970 = 2208988800;

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

/** Parts per billion of a 32-bit binary fraction, as tcpdump computes them (in doubles, truncated). */
function billionths(fraction: number): string {
  return String(Math.trunc((fraction / 4294967296) * 1e9)).padStart(9, "0");
}

/** p_ntp_time: "seconds.billionths", and the UTC date unless the time is 0. */
function ntpTime(nd: Dissector, at: number): string {
  const seconds = nd.be32(at);
  let out = `${seconds}.${billionths(nd.be32(at + 4))}`;
  if (seconds) out += ` (${new Date((seconds - JAN_1970) * 1000).toISOString().slice(0, 19)}Z)`;
  return out;
}

/** p_ntp_delta: the signed difference between two timestamps (the second alone when the first is 0). */
function ntpDelta(nd: Dissector, olderAt: number, at: number): string {
  const u = nd.be32(at);
  const ou = nd.be32(olderAt);
  const uf = nd.be32(at + 4);
  const ouf = nd.be32(olderAt + 4);
  if (ou === 0 && ouf === 0) return ntpTime(nd, at);
  let negative: boolean;
  let i: number;
  let f: number;
  if (u > ou) {
    negative = false;
    i = u - ou;
    f = (uf - ouf) >>> 0;
    if (ouf > uf) i -= 1;
  } else if (u < ou) {
    negative = true;
    i = ou - u;
    f = (ouf - uf) >>> 0;
    if (uf > ouf) i -= 1;
  } else {
    i = 0;
    negative = !(uf > ouf);
    f = negative ? ouf - uf : uf - ouf;
  }
  return `${negative ? "-" : "+"}${i}.${billionths(f)}`;
}

/** p_sfix: a 16.16 fixed-point value as "%d.%06d". */
function shortFixed(nd: Dissector, at: number): string {
  return `${nd.be16(at)}.${String(Math.trunc((nd.be16(at + 2) / 65536) * 1e6)).padStart(6, "0")}`;
}

function ntpTimePrint(nd: Dissector, at: number, length: number): void {
  if (length < NTP_TIMEMSG_MINLEN) {
    nd.printInvalid();
    nd.need(at, length);
    return;
  }
  const stratum = nd.u8(at + 1);
  const stratumName = stratum === 0 ? "unspecified" : stratum === 1 ? "primary reference" : stratum >= 2 && stratum <= 15 ? "secondary reference" : "reserved";
  nd.print(`, Stratum ${stratum} (${stratumName})`);
  const poll = (nd.u8(at + 2) << 24) >> 24;
  nd.print(`, poll ${poll}`);
  if (poll > -32 && poll < 32) nd.print(poll >= 0 ? ` (${2 ** poll}s)` : ` (1/${2 ** -poll}s)`);
  nd.print(`, precision ${(nd.u8(at + 3) << 24) >> 24}`);
  nd.need(at + 4, 4);
  nd.print(`\n\tRoot Delay: ${shortFixed(nd, at + 4)}`);
  nd.need(at + 8, 4);
  nd.print(`, Root dispersion: ${shortFixed(nd, at + 8)}`);
  nd.need(at + 12, 4);
  nd.print(", Reference-ID: ");
  switch (stratum) {
    case 0:
      nd.print("(unspec)");
      break;
    case 1:
      for (let i = 0; i < 4; i++) nd.print(printableChar(nd.u8(at + 12 + i)));
      break;
    case 62:
      nd.print(`${ipv4At(nd, at + 12)} INFO_QUERY`);
      return;
    case 63:
      nd.print(`${ipv4At(nd, at + 12)} INFO_REPLY`);
      return;
    default:
      nd.print(`0x${hex32(nd.be32(at + 12))}`);
  }
  nd.need(at + 16, 8);
  nd.print(`\n\t  Reference Timestamp:  ${ntpTime(nd, at + 16)}`);
  nd.need(at + 24, 8);
  nd.print(`\n\t  Originator Timestamp: ${ntpTime(nd, at + 24)}`);
  nd.need(at + 32, 8);
  nd.print(`\n\t  Receive Timestamp:    ${ntpTime(nd, at + 32)}`);
  nd.need(at + 40, 8);
  nd.print(`\n\t  Transmit Timestamp:   ${ntpTime(nd, at + 40)}`);
  nd.print(`\n\t    Originator - Receive Timestamp:  ${ntpDelta(nd, at + 24, at + 32)}`);
  nd.print(`\n\t    Originator - Transmit Timestamp: ${ntpDelta(nd, at + 24, at + 40)}`);
  const digest = (words: number): void => {
    nd.print(`\n\tKey id: ${nd.be32(at + 48)}`);
    nd.need(at + 52, words * 4);
    let text = "";
    for (let i = 0; i < words; i++) text += hex32(nd.be32(at + 52 + 4 * i));
    nd.print(`\n\tAuthentication: ${text}`);
  };
  if (length === NTP_TIMEMSG_MINLEN + 4) nd.print(`\n\tKey id: ${nd.be32(at + 48)}`);
  else if (length === NTP_TIMEMSG_MINLEN + 4 + 16) digest(4);
  else if (length === NTP_TIMEMSG_MINLEN + 4 + 20) digest(5);
  else if (length > NTP_TIMEMSG_MINLEN) nd.print(`\n\t(${length - NTP_TIMEMSG_MINLEN} more bytes after the header)`);
}

function ntpControlPrint(nd: Dissector, at: number, length: number): void {
  const invalid = (): void => {
    nd.printInvalid();
    nd.need(at, length);
  };
  if (length < 12) return invalid();
  const control = nd.u8(at + 1);
  nd.print(
    `, ${control & 0x80 ? "Response" : "Request"}, ${control & 0x40 ? "Error" : "OK"}, ${control & 0x20 ? "More" : "Last"}, OpCode=${control & 0x1f}\n`,
  );
  nd.print(`\tSequence=${nd.be16(at + 2)}`);
  const status = nd.be16(at + 4);
  nd.print(`, Status=${status ? `0x${status.toString(16)}` : "0"}`);
  nd.print(`, Assoc.=${nd.be16(at + 6)}`);
  nd.print(`, Offset=${nd.be16(at + 8)}`);
  const count = nd.be16(at + 10);
  nd.print(`, Count=${count}`);
  if (12 + count > length) return invalid();
  if (count !== 0) {
    nd.need(at + 12, count);
    nd.print("\n\tTO-BE-DONE: data not interpreted");
  }
}

const SYSLOG_FACILITIES = [
  "kernel", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
  "security", "console", "cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
const SYSLOG_SEVERITIES = ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"];

export function syslogPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "syslog";
  let offset = 0;
  if (nd.u8(at) !== 0x3c) return nd.printInvalid();
  offset++;
  let priority = 0;
  while (offset <= 3 && nd.u8(at + offset) >= 0x30 && nd.u8(at + offset) <= 0x39) {
    priority = priority * 10 + (nd.u8(at + offset) - 0x30);
    offset++;
  }
  if (nd.u8(at + offset) !== 0x3e) return nd.printInvalid();
  offset++;
  const facility = (priority & 0x3f8) >> 3;
  const severity = priority & 7;
  const facilityName = SYSLOG_FACILITIES[facility] ?? `unknown (${facility})`;
  if (nd.options.verbose < 1) {
    nd.print(`SYSLOG ${facilityName}.${SYSLOG_SEVERITIES[severity]}, length: ${length}`);
    return;
  }
  nd.print(
    `SYSLOG, length: ${length}\n\tFacility ${facilityName} (${facility}), Severity ${SYSLOG_SEVERITIES[severity]} (${severity})\n\tMsg: `,
  );
  for (; offset < length; offset++) nd.print(printableChar(nd.u8(at + offset)));
  if (nd.options.verbose > 1) hexOnly(nd, "\n\t", at, Math.min(length, nd.available(at)), 0);
}

/** VXLAN: the header, a line break, then the encapsulated Ethernet frame. */
export function vxlanPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "vxlan";
  nd.print("VXLAN");
  if (length < 8) return nd.printInvalid();
  const flags = nd.u8(at);
  nd.print(`, flags [${flags & 0x08 ? "I" : "."}] (0x${flags.toString(16).padStart(2, "0")}), `);
  nd.print(`vni ${nd.be24(at + 4)}\n`);
  nd.decode.ether(nd, at + 8, length - 8, nd.available(at + 8));
}

const MPLS_LABEL_NAMES = ["IPv4 explicit NULL", "router alert", "IPv6 explicit NULL", "implicit NULL"];

/** MPLS label stack, then the payload guessed from its first byte (mpls_print). */
export function mplsPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "mpls";
  nd.print("MPLS");
  let depth = 0;
  let entry: number;
  do {
    if (length < 4) {
      nd.printInvalid();
      nd.need(at, length);
      return;
    }
    entry = nd.be32(at);
    nd.print(`${depth && nd.options.verbose ? "\n\t" : " "}(label ${entry >>> 12}`);
    depth++;
    if (nd.options.verbose && entry >>> 12 < 16) nd.print(` (${MPLS_LABEL_NAMES[entry >>> 12] ?? "rsvd"})`);
    nd.print(`, tc ${(entry >> 9) & 7}`);
    if (entry & 0x100) nd.print(", [S]");
    nd.print(`, ttl ${entry & 0xff})`);
    at += 4;
    length -= 4;
  } while (!(entry & 0x100));
  const label = entry >>> 12;
  let kind: "ip" | "ip6" | "unknown" = "unknown";
  if (label === 0 || label === 3) kind = "ip";
  else if (label === 2) kind = "ip6";
  else {
    if (length < 1) return;
    const first = nd.u8(at);
    if (first >= 0x45 && first <= 0x4f) kind = "ip";
    else if (first >= 0x60 && first <= 0x6f) kind = "ip6";
  }
  if (kind === "unknown") {
    nd.defaultPrint(at, length);
    return;
  }
  nd.print(nd.options.verbose ? "\n\t" : " ");
  if (kind === "ip") nd.decode.ip(nd, at, length);
  else nd.decode.ip6(nd, at, length);
}

