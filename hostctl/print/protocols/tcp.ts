/** TCP as tcpdump 4.99 prints it: flags, relative seq/ack, win, urg, options, length, then known payloads. */
import { ipv4At, ipv6At } from "../addresses.js";
import { checksumShouldBe, ipv4PseudoChecksum, ipv6PseudoChecksum } from "../checksum.js";
import type { Dissector, IpContext } from "../dissector.js";
import { hex2 } from "../dissector.js";
import { tcpPortName } from "../names.js";
import { domainPrint } from "./dns.js";
import { HTTP_COMMANDS, RTSP_COMMANDS, textProtocolPrint } from "./text-protocols.js";

const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;
const TH_ACK = 0x10;
const TH_URG = 0x20;

const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [0x01, "F"],
  [0x02, "S"],
  [0x04, "R"],
  [0x08, "P"],
  [0x10, "."],
  [0x20, "U"],
  [0x40, "E"],
  [0x80, "W"],
];

const OPTION_NAMES = new Map<number, string>([
  [0, "eol"],
  [1, "nop"],
  [2, "mss"],
  [3, "wscale"],
  [4, "sackOK"],
  [5, "sack"],
  [6, "echo"],
  [7, "echoreply"],
  [8, "TS"],
  [11, "cc"],
  [12, "ccnew"],
  [13, ""],
  [19, "md5"],
  [20, "scps"],
  [28, "uto"],
  [29, "tcp-ao"],
  [30, "mptcp"],
  [34, "tfo"],
  [254, "exp"],
]);

function flagText(flags: number): string {
  let text = "";
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) text += letter;
  return text === "" ? "none" : text;
}

/** Signals a malformed option: tcpdump's "goto bad". */
const BAD_OPTION = { badOption: true } as const;
/** Option data cut short (tcpdump's LENCHECK failing: "goto trunc", which closes with ">"). */
const OPTION_TRUNCATED = { optionTruncated: true } as const;

function u32(value: number): number {
  return value >>> 0;
}

/** Either port is `p`. (A module function, not a closure per packet: the bundle names every closure it makes.) */
function onPort(sport: number, dport: number, p: number): boolean {
  return sport === p || dport === p;
}

export function tcpPrint(nd: Dissector, at: number, length: number, ip: IpContext, fragmented: boolean): void {
  nd.protocol = "tcp";
  const numeric = nd.options.numeric;
  const v6 = ip.version === 6;
  if (!nd.has(at + 2, 2)) {
    nd.print(v6 ? `${ipv6At(nd, ip.at + 8)} > ${ipv6At(nd, ip.at + 24)}:` : `${ipv4At(nd, ip.at + 12)} > ${ipv4At(nd, ip.at + 16)}:`);
    nd.printTrunc();
    return;
  }
  const sport = nd.be16(at);
  const dport = nd.be16(at + 2);
  const nextHeader = v6 ? nd.u8(ip.at + 6) : nd.u8(ip.at + 9);
  if (nextHeader === 6) {
    const source = v6 ? ipv6At(nd, ip.at + 8) : ipv4At(nd, ip.at + 12);
    const destination = v6 ? ipv6At(nd, ip.at + 24) : ipv4At(nd, ip.at + 16);
    nd.print(`${source}.${tcpPortName(sport, numeric)} > ${destination}.${tcpPortName(dport, numeric)}: `);
  } else {
    nd.print(`${tcpPortName(sport, numeric)} > ${tcpPortName(dport, numeric)}: `);
  }
  if (!nd.has(at, 20)) return nd.printTrunc();
  let headerLength = (nd.u8(at + 12) >> 4) * 4;
  if (headerLength < 20) {
    nd.print(` tcp ${u32(length - headerLength)} [bad hdr length ${headerLength} - too short, < 20]`);
    return;
  }
  let seq = nd.be32(at + 4);
  let ack = nd.be32(at + 8);
  const win = nd.be16(at + 14);
  const urp = nd.be16(at + 18);
  if (nd.options.quiet) {
    nd.print(`tcp ${u32(length - headerLength)}`);
    if (headerLength > length) nd.print(` [bad hdr length ${headerLength} - too long, > ${length}]`);
    return;
  }
  const flags = nd.u8(at + 13);
  nd.print(`Flags [${flagText(flags)}]`);
  let rev = false;
  let thseq = 0;
  let thack = 0;
  if (!nd.options.absoluteSequence && flags & TH_ACK) {
    const addressLength = v6 ? 16 : 4;
    const sourceAt = v6 ? ip.at + 8 : ip.at + 12;
    const destinationAt = v6 ? ip.at + 24 : ip.at + 16;
    if (sport > dport) rev = true;
    else if (sport === dport) rev = compareBytes(nd.bytes, sourceAt, destinationAt, addressLength) > 0;
    const key = v6
      ? rev
        ? `6|${hexRange(nd.bytes, destinationAt, addressLength)}|${hexRange(nd.bytes, sourceAt, addressLength)}|${dport}|${sport}`
        : `6|${hexRange(nd.bytes, sourceAt, addressLength)}|${hexRange(nd.bytes, destinationAt, addressLength)}|${sport}|${dport}`
      : // an IPv4 address as one number: one conversion instead of four hex pairs
        rev
        ? `4|${be32At(nd.bytes, destinationAt)}|${be32At(nd.bytes, sourceAt)}|${dport}|${sport}`
        : `4|${be32At(nd.bytes, sourceAt)}|${be32At(nd.bytes, destinationAt)}|${sport}|${dport}`;
    const conversations = nd.state.tcpConversations;
    let conversation = conversations.get(key);
    if (conversation === undefined || flags & TH_SYN) {
      conversation = rev ? { ack: seq, seq: u32(ack - 1) } : { seq, ack: u32(ack - 1) };
      conversations.set(key, conversation);
    } else if (rev) {
      seq = u32(seq - conversation.ack);
      ack = u32(ack - conversation.seq);
    } else {
      seq = u32(seq - conversation.seq);
      ack = u32(ack - conversation.ack);
    }
    thseq = conversation.seq;
    thack = conversation.ack;
  }
  if (headerLength > length) {
    nd.print(` [bad hdr length ${headerLength} - too long, > ${length}]`);
    return;
  }
  if (nd.options.verbose && !fragmented && nd.has(at, length)) {
    const sum = v6
      ? ipv6PseudoChecksum(nd, ip.at, ip.destinationAt, at, length, 6)
      : ipv4PseudoChecksum(nd, ip.at, ip.destinationAt, at, length, 6);
    const field = nd.be16(at + 16);
    nd.print(`, cksum 0x${field.toString(16).padStart(4, "0")}`);
    if (sum !== 0) nd.print(` (incorrect -> 0x${checksumShouldBe(field, sum).toString(16).padStart(4, "0")})`);
    else nd.print(" (correct)");
  }
  length -= headerLength;
  if (nd.options.verbose > 1 || length > 0 || flags & (TH_SYN | TH_FIN | TH_RST)) {
    nd.print(`, seq ${seq}`);
    if (length > 0) nd.print(`:${u32(seq + length)}`);
  }
  if (flags & TH_ACK) nd.print(`, ack ${ack}`);
  nd.print(`, win ${win}`);
  if (flags & TH_URG) nd.print(`, urg ${urp}`);
  if (headerLength > 20) {
    let separator = "";
    let remaining = headerLength - 20;
    let cp = at + 20;
    nd.print(", options [");
    try {
      while (remaining > 0) {
        nd.print(separator);
        const option = nd.u8(cp);
        cp++;
        let optionLength: number;
        if (option === 0 || option === 1) optionLength = 1;
        else {
          optionLength = nd.u8(cp);
          cp++;
          if (optionLength < 2 || optionLength > remaining) throw BAD_OPTION;
          remaining--;
        }
        remaining--;
        let dataLength = 0;
        const lengthCheck = (l: number): void => {
          if (l > remaining) throw BAD_OPTION;
          if (!nd.has(cp, l)) throw OPTION_TRUNCATED;
        };
        nd.print(OPTION_NAMES.get(option) ?? `unknown-${option}`);
        switch (option) {
          case 2:
            dataLength = 2;
            lengthCheck(dataLength);
            nd.print(` ${nd.be16(cp)}`);
            break;
          case 3:
            dataLength = 1;
            lengthCheck(dataLength);
            nd.print(` ${nd.u8(cp)}`);
            break;
          case 5:
            dataLength = optionLength - 2;
            if (dataLength % 8 !== 0) nd.print(" invalid sack");
            else {
              nd.print(` ${dataLength / 8} `);
              for (let i = 0; i < dataLength; i += 8) {
                lengthCheck(i + 4);
                let s = nd.be32(cp + i);
                lengthCheck(i + 8);
                let e = nd.be32(cp + i + 4);
                if (rev) {
                  s = u32(s - thseq);
                  e = u32(e - thseq);
                } else {
                  s = u32(s - thack);
                  e = u32(e - thack);
                }
                nd.print(`{${s}:${e}}`);
              }
            }
            break;
          case 11:
          case 12:
          case 13:
          case 6:
          case 7:
            dataLength = 4;
            lengthCheck(dataLength);
            nd.print(` ${nd.be32(cp)}`);
            break;
          case 8:
            dataLength = 8;
            lengthCheck(dataLength);
            nd.print(` val ${nd.be32(cp)} ecr ${nd.be32(cp + 4)}`);
            break;
          case 19:
            dataLength = 16;
            lengthCheck(dataLength);
            nd.print(" ");
            // tcpdump built with libcrypto (as Debian's is) tries to verify the
            // signature; without -M it never can, and says why.
            if (at + headerLength + length > nd.end) nd.print("snaplen too short, ");
            else nd.print("shared secret not supplied with -M, ");
            nd.print("can't check - ");
            for (let i = 0; i < 16; i++) nd.print(hex2(nd.u8(cp + i)));
            break;
          case 20:
            dataLength = 2;
            lengthCheck(dataLength);
            nd.print(` cap ${hex2(nd.u8(cp))} id ${nd.u8(cp + 1)}`);
            break;
          case 29:
            dataLength = optionLength - 2;
            if (dataLength < 2) nd.printInvalid();
            else {
              lengthCheck(1);
              nd.print(` keyid ${nd.u8(cp)}`);
              lengthCheck(2);
              nd.print(` rnextkeyid ${nd.u8(cp + 1)}`);
              if (dataLength > 2) {
                nd.print(" mac 0x");
                for (let i = 2; i < dataLength; i++) {
                  lengthCheck(i + 1);
                  nd.print(hex2(nd.u8(cp + i)));
                }
              }
            }
            break;
          case 0:
          case 1:
          case 4:
            break;
          case 28: {
            dataLength = 2;
            lengthCheck(dataLength);
            let timeout = nd.be16(cp);
            nd.print(` 0x${timeout.toString(16)}`);
            timeout = timeout & 1 ? (timeout >> 1) * 60 : timeout >> 1;
            nd.print(` ${timeout}`);
            break;
          }
          case 30: {
            dataLength = optionLength - 2;
            lengthCheck(dataLength);
            const savedEnd = nd.end;
            nd.end = Math.min(cp - 2 + optionLength, nd.end);
            let ok: boolean;
            try {
              ok = mptcpPrint(nd, cp - 2, optionLength, flags);
            } finally {
              nd.end = savedEnd;
            }
            if (!ok) throw BAD_OPTION;
            break;
          }
          case 34:
            dataLength = optionLength - 2;
            lengthCheck(dataLength);
            nd.print(" ");
            fastOpenPrint(nd, cp, dataLength, false);
            break;
          case 254: {
            dataLength = optionLength - 2;
            lengthCheck(dataLength);
            if (dataLength < 2) throw BAD_OPTION;
            const magic = nd.be16(cp);
            nd.print("-");
            if (magic === 0xf989) fastOpenPrint(nd, cp + 2, dataLength - 2, true);
            else nd.print(magic.toString(16).padStart(4, "0"));
            break;
          }
          default:
            dataLength = optionLength - 2;
            if (dataLength) nd.print(" 0x");
            for (let i = 0; i < dataLength; i++) {
              lengthCheck(i + 1);
              nd.print(hex2(nd.u8(cp + i)));
            }
            break;
        }
        cp += dataLength;
        remaining -= dataLength;
        let specified = dataLength + 1;
        if (option !== 0 && option !== 1) specified++;
        if (specified !== optionLength) nd.print(`[len ${optionLength}]`);
        separator = ",";
        if (option === 0) break;
      }
    } catch (thrown) {
      if (thrown === BAD_OPTION) {
        nd.print("[bad opt]");
        if (separator !== "") nd.print("]");
        return;
      }
      if (thrown === OPTION_TRUNCATED) {
        nd.printTrunc();
        if (separator !== "") nd.print(">");
        return;
      }
      throw thrown;
    }
    nd.print("]");
  }
  nd.print(`, length ${length}`);
  if (length === 0) return;
  const dataOffset = (nd.u8(at + 12) >> 4) * 4;
  if (!nd.has(at, dataOffset)) {
    nd.print(` [remaining caplen(${nd.available(at)}) < header length(${dataOffset})]`);
    nd.trunc();
  }
  const payload = at + dataOffset;
  if (flags & TH_RST && nd.options.verbose) {
    rstDataPrint(nd, payload, length);
    return;
  }
  if (onPort(sport, dport, 25)) {
    nd.print(": ");
    nd.protocol = "smtp";
    textProtocolPrint(nd, payload, length, undefined, false);
  } else if (onPort(sport, dport, 22)) {
    sshPrint(nd, payload, length);
  } else if (onPort(sport, dport, 21)) {
    nd.print(": ");
    nd.protocol = "ftp";
    textProtocolPrint(nd, payload, length, undefined, false);
  } else if (onPort(sport, dport, 80) || onPort(sport, dport, 8080)) {
    nd.print(": ");
    nd.protocol = "http";
    textProtocolPrint(nd, payload, length, HTTP_COMMANDS, true);
  } else if (onPort(sport, dport, 554) || onPort(sport, dport, 8554)) {
    nd.print(": ");
    nd.protocol = "rtsp";
    textProtocolPrint(nd, payload, length, RTSP_COMMANDS, true);
  } else if (onPort(sport, dport, 53)) {
    domainPrint(nd, payload, length, true, false);
  } else if (onPort(sport, dport, 323)) {
    rpkiRtrPrint(nd, payload, length);
  }
}

function compareBytes(bytes: Uint8Array, a: number, b: number, length: number): number {
  for (let i = 0; i < length; i++) {
    const d = bytes[a + i]! - bytes[b + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function be32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function hexRange(bytes: Uint8Array, at: number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += hex2(bytes[at + i]!);
  return text;
}

function fastOpenPrint(nd: Dissector, at: number, length: number, experimental: boolean): void {
  if (experimental) nd.print("tfo");
  if (length === 0) nd.print(" cookiereq");
  else if (length % 2 !== 0 || length < 4 || length > 16) nd.printInvalid();
  else {
    nd.print(" cookie ");
    for (let i = 0; i < length; i++) nd.print(hex2(nd.u8(at + i)));
  }
}

/** print_tcp_rst_data (-v): text carried by a RST segment. */
function rstDataPrint(nd: Dissector, at: number, length: number): void {
  nd.print(nd.has(at, length) ? " [RST" : " [!RST");
  if (length > 30) {
    length = 30;
    nd.print("+");
  }
  nd.print(" ");
  for (let i = 0; i < length && at + i < nd.end; i++) {
    const c = nd.u8(at + i);
    nd.print(c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c < 0x80 ? `^${String.fromCharCode(c ^ 0x40)}` : `M-${printableMeta(c)}`);
  }
  nd.print("]");
}

function printableMeta(c: number): string {
  const low = c & 0x7f;
  return low >= 0x20 && low < 0x7f ? String.fromCharCode(low) : `^${String.fromCharCode(low ^ 0x40)}`;
}

/** ssh_print: ": SSH: SSH-2.0-…" when the segment starts with a complete identification line. */
function sshPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "ssh";
  if (nd.u8(at) !== 0x53 || nd.u8(at + 1) !== 0x53 || nd.u8(at + 2) !== 0x48 || nd.u8(at + 3) !== 0x2d) return;
  for (let idx = 4; idx < length; idx++) {
    const c = nd.u8(at + idx);
    if (c === 0x0a || (c === 0x0d && idx + 1 < length && nd.u8(at + idx + 1) === 0x0a)) {
      let line = "";
      for (let i = 0; i < idx; i++) line += String.fromCharCode(nd.bytes[at + i]!);
      nd.print(`: SSH: ${line}`);
      return;
    }
    if (c === 0x0d || c < 0x20 || c > 0x7e) return;
  }
}

const ADD_ADDR_VERSIONS = new Map<number, string>([
  [0x6, "v0-ip6"],
  [0x4, "v0-ip4"],
  [0x1, "v1-echo"],
  [0x0, "v1"],
]);

const MPTCP_SUBTYPES = ["capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"];

function be64(nd: Dissector, at: number): bigint {
  return (BigInt(nd.be32(at)) << 32n) | BigInt(nd.be32(at + 4));
}

/** mptcp_print: " <len> <subtype> …"; false when the option is malformed. */
function mptcpPrint(nd: Dissector, at: number, length: number, flags: number): boolean {
  // tcpdump leaves its protocol name at "mptcp" for the rest of the TCP header, truncation markers included.
  nd.protocol = "mptcp";
  if (length < 3) return false;
  const subtype = Math.min(nd.u8(at + 2) >> 4, 8);
  nd.print(` ${length} ${MPTCP_SUBTYPES[subtype]}`);
  switch (subtype) {
    case 0: {
      if (
        !((length === 12 || length === 4) && flags & TH_SYN) &&
        !((length === 20 || length === 22) && (flags & (TH_SYN | TH_ACK)) === TH_ACK)
      ) {
        return false;
      }
      const version = nd.u8(at + 2) & 0xf;
      if (version > 1) {
        nd.print(` Unknown Version (${version})`);
        return true;
      }
      nd.print(` v${version}`);
      if (nd.u8(at + 3) & 0x80) nd.print(" csum");
      if (length === 12 || length >= 20) {
        nd.print(` {0x${be64(nd, at + 4).toString(16)}`);
        if (length >= 20) nd.print(`,0x${be64(nd, at + 12).toString(16)}`);
        if (length === 22 && version === 1) nd.print(`,data_len=${nd.be16(at + 20)}`);
        nd.print("}");
      }
      return true;
    }
    case 1: {
      if (
        !(length === 12 && flags & TH_SYN) &&
        !(length === 16 && (flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK)) &&
        !(length === 24 && flags & TH_ACK)
      ) {
        return false;
      }
      if (length !== 24) {
        if (nd.u8(at + 2) & 1) nd.print(" backup");
        nd.print(` id ${nd.u8(at + 3)}`);
      }
      if (length === 12) nd.print(` token 0x${nd.be32(at + 4).toString(16)} nonce 0x${nd.be32(at + 8).toString(16)}`);
      else if (length === 16) nd.print(` hmac 0x${be64(nd, at + 4).toString(16)} nonce 0x${nd.be32(at + 12).toString(16)}`);
      else {
        nd.print(" hmac 0x");
        for (let i = 0; i < 20; i++) nd.print(hex2(nd.u8(at + 4 + i)));
      }
      return true;
    }
    case 2: {
      if (length < 4) return false;
      if (flags & TH_SYN) return false;
      const dssFlags = nd.u8(at + 3);
      if (dssFlags & 0x10) nd.print(" fin");
      let cp = at + 4;
      let remaining = length - 4;
      if (dssFlags & 0x01) {
        nd.print(" ack ");
        if (dssFlags & 0x02) {
          if (remaining < 8) return false;
          nd.print(be64(nd, cp).toString());
          cp += 8;
          remaining -= 8;
        } else {
          if (remaining < 4) return false;
          nd.print(String(nd.be32(cp)));
          cp += 4;
          remaining -= 4;
        }
      }
      if (dssFlags & 0x04) {
        nd.print(" seq ");
        if (dssFlags & 0x08) {
          if (remaining < 8) return false;
          nd.print(be64(nd, cp).toString());
          cp += 8;
          remaining -= 8;
        } else {
          if (remaining < 4) return false;
          nd.print(String(nd.be32(cp)));
          cp += 4;
          remaining -= 4;
        }
        if (remaining < 4) return false;
        nd.print(` subseq ${nd.be32(cp)}`);
        cp += 4;
        remaining -= 4;
        if (remaining < 2) return false;
        nd.print(` len ${nd.be16(cp)}`);
        cp += 2;
        remaining -= 2;
        if (remaining >= 2) {
          nd.print(` csum 0x${nd.be16(cp).toString(16)}`);
          remaining -= 2;
        }
      }
      return remaining === 0;
    }
    case 3: {
      if (![8, 10, 16, 18, 20, 22, 28, 30].includes(length)) return false;
      const echo = nd.u8(at + 2) & 0xf;
      nd.print(` ${ADD_ADDR_VERSIONS.get(echo) ?? "[bad version/echo]"}`);
      const v4 = length === 8 || length === 10 || length === 16 || length === 18;
      nd.print(` id ${nd.u8(at + 3)} ${v4 ? ipv4At(nd, at + 4) : ipv6At(nd, at + 4)}`);
      const addressEnd = at + (v4 ? 8 : 20);
      const hasPort = length === 10 || length === 18 || length === 22 || length === 30;
      if (hasPort) nd.print(`:${nd.be16(addressEnd)}`);
      if (length === 16 || length === 18 || length === 28 || length === 30) {
        nd.print(` hmac 0x${be64(nd, addressEnd + (hasPort ? 2 : 0)).toString(16)}`);
      }
      return true;
    }
    case 4: {
      if (length < 4) return false;
      nd.print(" id");
      for (let i = 3; i < length; i++) nd.print(` ${nd.u8(at + i)}`);
      return true;
    }
    case 5:
      if (length !== 3 && length !== 4) return false;
      nd.print(nd.u8(at + 2) & 1 ? " backup" : " non-backup");
      if (length === 4) nd.print(` id ${nd.u8(at + 3)}`);
      return true;
    case 6:
      if (length !== 12) return false;
      nd.print(` seq ${be64(nd, at + 4)}`);
      return true;
    case 7:
      if (length !== 12) return false;
      nd.print(` key 0x${be64(nd, at + 4).toString(16)}`);
      return true;
    default:
      return true;
  }
}

const RPKI_PDU_TYPES = new Map<number, string>([
  [0, "Serial Notify"],
  [1, "Serial Query"],
  [2, "Reset Query"],
  [3, "Cache Response"],
  [4, "IPV4 Prefix"],
  [6, "IPV6 Prefix"],
  [7, "End of Data"],
  [8, "Cache Reset"],
  [9, "Router Key"],
  [10, "Error Report"],
]);

/** RPKI-RTR: the protocol name, and with -v the PDU headers. */
function rpkiRtrPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "rpki_rtr";
  if (!nd.options.verbose) {
    nd.print(", RPKI-RTR");
    return;
  }
  while (length >= 8) {
    const version = nd.u8(at);
    if (version > 1) {
      nd.print(`\n\tRPKI-RTRv${version} (unknown)`);
      return;
    }
    const type = nd.u8(at + 1);
    const pduLength = nd.be32(at + 4);
    nd.print(`\n\tRPKI-RTRv${version}, ${RPKI_PDU_TYPES.get(type) ?? "Unknown"} PDU (${type}), length: ${pduLength}`);
    if (pduLength < 8 || pduLength > length) return;
    at += pduLength;
    length -= pduLength;
  }
}
