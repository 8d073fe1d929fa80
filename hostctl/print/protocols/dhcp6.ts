/**
 * DHCPv6 as tcpdump 4.99's print-dhcp6.c prints it: "dhcp6 solicit", and with -v the transaction ID and every
 * option in parentheses, nested options inside their parent's.
 */
import { ipv6At } from "../addresses.js";
import { hex2, type Dissector } from "../dissector.js";
import { fqdnPrint, printableChar } from "./dns.js";

const MESSAGES = new Map<number, string>([
  [1, "solicit"], [2, "advertise"], [3, "request"], [4, "confirm"], [5, "renew"], [6, "rebind"], [7, "reply"],
  [8, "release"], [9, "decline"], [10, "reconfigure"], [11, "inf-req"], [12, "relay-fwd"], [13, "relay-reply"],
  [14, "leasequery"], [15, "leasequery-reply"],
]);

const OPTIONS = new Map<number, string>([
  [1, "client-ID"], [2, "server-ID"], [3, "IA_NA"], [4, "IA_TA"], [5, "IA_ADDR"], [6, "option-request"],
  [7, "preference"], [8, "elapsed-time"], [9, "relay-message"], [11, "authentication"], [12, "server-unicast"],
  [13, "status-code"], [14, "rapid-commit"], [15, "user-class"], [16, "vendor-class"],
  [17, "vendor-specific-info"], [18, "interface-ID"], [19, "reconfigure-message"], [20, "reconfigure-accept"],
  [21, "SIP-servers-domain"], [22, "SIP-servers-address"], [23, "DNS-server"], [24, "DNS-search-list"],
  [25, "IA_PD"], [26, "IA_PD-prefix"], [31, "SNTP-servers"], [32, "lifetime"], [27, "NIS-server"],
  [28, "NIS+-server"], [29, "NIS-domain-name"], [30, "NIS+-domain-name"], [33, "BCMCS-domain-name"],
  [34, "BCMCS-server"], [36, "Geoconf-Civic"], [37, "Remote-ID"], [38, "Subscriber-ID"], [39, "Client-FQDN"],
  [40, "PANA-agent"], [41, "POSIX-timezone"], [42, "POSIX-tz-database"], [43, "Echo-request-option"],
  [44, "Lease-query"], [45, "LQ-client-data"], [46, "Clt-time"], [47, "LQ-relay-data"], [48, "LQ-client-link"],
  [56, "NTP-server"], [64, "AFTR-Name"], [112, "MUD-URL"],
]);

const STATUS_CODES = [
  "Success", "UnspecFail", "NoAddrsAvail", "NoBinding", "NotOnLink", "UseMulticast", "NoPrefixAvail",
  "UnknownQueryType", "MalformedQuery", "NotConfigured", "NotAllowed",
];

function optionName(type: number): string {
  return OPTIONS.get(type) ?? `opt_${type}`;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

/** nd_printjnp: at most n bytes of text, up to a NUL. */
function printText(nd: Dissector, at: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const c = nd.u8(at + i);
    if (c === 0) break;
    nd.print(printableChar(c));
  }
}

export function dhcp6Print(nd: Dissector, cp: number, length: number): void {
  nd.protocol = "dhcp6";
  nd.print("dhcp6");
  const ep = Math.min(nd.end, cp + length);
  nd.need(cp, 4);
  const type = nd.u8(cp);
  const name = MESSAGES.get(type) ?? `msgtype-${type}`;
  if (!nd.options.verbose) {
    nd.print(` ${name}`);
    return;
  }
  nd.print(` ${name} (`);
  if (type !== 12 && type !== 13) {
    nd.print(`xid=${(nd.be32(cp) & 0xffffff).toString(16)}`);
    optionsPrint(nd, cp + 4, ep);
  } else {
    nd.print(`linkaddr=${ipv6At(nd, cp + 2)}`);
    nd.print(` peeraddr=${ipv6At(nd, cp + 18)}`);
    optionsPrint(nd, cp + 34, ep);
  }
  nd.print(")");
}

/** dhcp6opt_print: the options from cp to ep; " [|dhcp6]" when one runs past ep. */
function optionsPrint(nd: Dissector, cp: number, ep: number): void {
  while (cp < ep) {
    if (ep < cp + 4) return nd.printTrunc();
    nd.need(cp, 4);
    const optlen = nd.be16(cp + 2);
    if (ep < cp + 4 + optlen) return nd.printTrunc();
    const type = nd.be16(cp);
    nd.print(` (${optionName(type)}`);
    nd.need(cp + 4, optlen);
    const tp = cp + 4;
    if (!optionBody(nd, type, tp, optlen)) return nd.printTrunc();
    cp += 4 + optlen;
  }
}

/** One option's value and closing parenthesis; false is tcpdump's "goto trunc". */
function optionBody(nd: Dissector, type: number, tp: number, optlen: number): boolean {
  const unknown = (): true => {
    nd.print(" ?)");
    return true;
  };
  const bytes = (from: number, to: number): void => {
    for (let i = from; i < to; i++) nd.print(hex2(nd.u8(tp + i)));
  };
  switch (type) {
    case 1:
    case 2: {
      if (optlen < 2) return unknown();
      const duid = nd.be16(tp);
      if (duid === 1) {
        if (optlen < 8) return unknown();
        nd.print(` hwaddr/time type ${nd.be16(tp + 2)} time ${nd.be32(tp + 4)} `);
        bytes(8, optlen);
      } else if (duid === 2) {
        // tcpdump 4.99 shows an enterprise DUID as 8 bytes of "vendor ID".
        if (optlen < 10) return unknown();
        nd.print(" vid ");
        bytes(2, 10);
      } else if (duid === 3) {
        if (optlen < 4) return unknown();
        nd.print(` hwaddr type ${nd.be16(tp + 2)} `);
        bytes(4, optlen);
      } else {
        nd.print(` type ${duid})`);
        return true;
      }
      nd.print(")");
      return true;
    }
    case 5:
      if (optlen < 24) return unknown();
      nd.print(` ${ipv6At(nd, tp)}`);
      nd.print(` pltime:${nd.be32(tp + 16)} vltime:${nd.be32(tp + 20)}`);
      if (optlen > 24) optionsPrint(nd, tp + 24, tp + optlen);
      nd.print(")");
      return true;
    case 6:
    case 43:
      if (optlen % 2) return unknown();
      for (let i = 0; i < optlen; i += 2) nd.print(` ${optionName(nd.be16(tp + i))}`);
      nd.print(")");
      return true;
    case 7:
      if (optlen !== 1) return unknown();
      nd.print(` ${nd.u8(tp)})`);
      return true;
    case 8:
      if (optlen !== 2) return unknown();
      nd.print(` ${nd.be16(tp)})`);
      return true;
    case 9:
      nd.print(" (");
      nd.pushEnd(tp, optlen);
      try {
        dhcp6Print(nd, tp, optlen);
      } finally {
        nd.popEnd();
      }
      nd.print(")");
      return true;
    case 11:
      return authentication(nd, tp, optlen);
    case 14:
    case 20:
      nd.print(")");
      return true;
    case 18:
    case 38:
      nd.print(" ");
      bytes(0, Math.min(optlen, 10));
      nd.print("...)");
      return true;
    case 19: {
      if (optlen !== 1) return unknown();
      const message = nd.u8(tp);
      nd.print(message === 5 ? " for renew)" : message === 11 ? " for inf-req)" : ` for ???(${hex2(message)}))`);
      return true;
    }
    case 22:
    case 23:
    case 31:
    case 27:
    case 28:
    case 34:
    case 40:
    case 48:
      if (optlen % 16) return unknown();
      for (let i = 0; i < optlen; i += 16) nd.print(` ${ipv6At(nd, tp + i)}`);
      nd.print(")");
      return true;
    case 21:
    case 24: {
      let at = tp;
      while (at < tp + optlen) {
        nd.print(" ");
        at = fqdnPrint(nd, at, tp + optlen);
        if (at === -1) return false;
      }
      nd.print(")");
      return true;
    }
    case 13: {
      if (optlen < 2) return unknown();
      const code = nd.be16(tp);
      nd.print(` ${code > 255 ? "INVALID code" : STATUS_CODES[code] ?? `code${code}`})`);
      return true;
    }
    case 3:
    case 25:
      if (optlen < 12) return unknown();
      nd.print(` IAID:${nd.be32(tp)} T1:${nd.be32(tp + 4)} T2:${nd.be32(tp + 8)}`);
      if (optlen > 12) optionsPrint(nd, tp + 12, tp + optlen);
      nd.print(")");
      return true;
    case 4:
      if (optlen < 4) return unknown();
      nd.print(` IAID:${nd.be32(tp)}`);
      if (optlen > 4) optionsPrint(nd, tp + 4, tp + optlen);
      nd.print(")");
      return true;
    case 26:
      if (optlen < 25) return unknown();
      nd.print(` ${ipv6At(nd, tp + 9)}/${nd.u8(tp + 8)}`);
      nd.print(` pltime:${nd.be32(tp)} vltime:${nd.be32(tp + 4)}`);
      if (optlen > 25) optionsPrint(nd, tp + 25, tp + optlen);
      nd.print(")");
      return true;
    case 32:
    case 46:
      if (optlen !== 4) return unknown();
      nd.print(` ${nd.be32(tp)})`);
      return true;
    case 37:
      if (optlen < 4) return unknown();
      nd.print(` ${nd.be32(tp)} `);
      bytes(4, Math.min(optlen, 14));
      nd.print("...)");
      return true;
    case 44: {
      if (optlen < 17) return unknown();
      const query = nd.u8(tp);
      nd.print(query === 1 ? " by-address" : query === 2 ? " by-clientID" : ` type_${query}`);
      nd.print(` ${ipv6At(nd, tp + 1)}`);
      if (optlen > 17) optionsPrint(nd, tp + 17, tp + optlen);
      nd.print(")");
      return true;
    }
    case 45:
      if (optlen > 0) optionsPrint(nd, tp, tp + optlen);
      nd.print(")");
      return true;
    case 47:
      if (optlen < 16) return unknown();
      nd.print(` ${ipv6At(nd, tp)} `);
      bytes(16, Math.min(optlen, 26));
      nd.print("...)");
      return true;
    case 56: {
      if (optlen < 4) return unknown();
      let at = tp;
      while (at < tp + optlen - 4) {
        const code = nd.be16(at);
        const subLength = nd.be16(at + 2);
        at += 4;
        if (at + subLength > tp + optlen) return false;
        nd.print(` subopt:${code}`);
        if (code === 1 || code === 2) {
          if (subLength !== 16) nd.print(" ?");
          else nd.print(` ${ipv6At(nd, at)}`);
        } else if (code === 3) {
          nd.print(" ");
          if (fqdnPrint(nd, at, at + subLength) === -1) return false;
        } else nd.print(" ?");
        at += subLength;
      }
      nd.print(")");
      return true;
    }
    case 64: {
      if (optlen < 3) return unknown();
      let at = tp;
      let remaining = optlen;
      nd.print(" ");
      while (remaining && nd.u8(at)) {
        const label = nd.u8(at);
        at++;
        if (label < remaining - 1) {
          printText(nd, at, label);
          at += label;
          remaining -= label + 1;
          if (nd.u8(at)) nd.print(".");
        } else {
          nd.print(" ?");
          break;
        }
      }
      nd.print(")");
      return true;
    }
    case 41:
    case 42:
    case 112:
      if (optlen < 5) return unknown();
      nd.print(" ");
      printText(nd, tp, optlen);
      nd.print(")");
      return true;
    default:
      nd.print(")");
      return true;
  }
}

/** DH6OPT_AUTH (RFC 3315 section 22.11). */
function authentication(nd: Dissector, tp: number, optlen: number): boolean {
  if (optlen < 11) {
    nd.print(" ?)");
    return true;
  }
  const protocol = nd.u8(tp);
  nd.print(protocol === 2 ? " proto: delayed" : protocol === 3 ? " proto: reconfigure" : ` proto: ${protocol}`);
  tp++;
  const algorithm = nd.u8(tp);
  nd.print(algorithm === 1 ? ", alg: HMAC-MD5" : `, alg: ${algorithm}`);
  tp++;
  const rdm = nd.u8(tp);
  nd.print(rdm === 0 ? ", RDM: mono" : `, RDM: ${rdm}`);
  tp++;
  nd.print(", RD:");
  for (let i = 0; i < 4; i++, tp += 2) nd.print(` ${nd.be16(tp).toString(16).padStart(4, "0")}`);
  const infoLength = optlen - 11;
  if (protocol === 2) {
    if (infoLength !== 0) {
      if (infoLength < 20) nd.print(" ??");
      else {
        const realmLength = infoLength - 20;
        if (realmLength > 0) nd.print(", realm: ");
        for (let i = 0; i < realmLength; i++, tp++) nd.print(hex2(nd.u8(tp)));
        nd.print(`, key ID: ${hex32(nd.be32(tp))}`);
        tp += 4;
        nd.print(", HMAC-MD5:");
        for (let i = 0; i < 4; i++, tp += 4) nd.print(` ${hex32(nd.be32(tp))}`);
      }
    }
  } else if (protocol === 3) {
    if (infoLength !== 17) nd.print(" ??");
    else {
      const kind = nd.u8(tp);
      nd.print(kind === 1 ? " reconfig-key" : kind === 2 ? " type: HMAC-MD5" : " type: ??");
      tp++;
      nd.print(" value:");
      for (let i = 0; i < 4; i++, tp += 4) nd.print(` ${hex32(nd.be32(tp))}`);
    }
  } else nd.print(" ??");
  nd.print(")");
  return true;
}
