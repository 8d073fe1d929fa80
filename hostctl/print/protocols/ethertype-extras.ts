/** Small EtherType payloads tcpdump summarises in one phrase: EAPOL and the Ethernet loopback protocol. */
import { macAt } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { bitNames } from "../names.js";
import { printableChar } from "./dns.js";

const EAPOL_TYPES = new Map<number, string>([
  [0, "EAP packet"],
  [1, "EAPOL start"],
  [2, "EAPOL logoff"],
  [3, "EAPOL key"],
  [4, "Encapsulated ASF alert"],
]);

export function eapolPrint(nd: Dissector, at: number, _length: number): void {
  nd.protocol = "eap";
  nd.need(at, 4);
  const type = nd.u8(at + 1);
  const length = nd.be16(at + 2);
  nd.print(`${EAPOL_TYPES.get(type) ?? "unknown"} (${type}) v${nd.u8(at)}, len ${length}`);
  if (nd.options.verbose < 1 || type !== 0) return;
  if (length === 0) return nd.printTrunc();
  nd.print(", ");
  eapPrint(nd, at + 4, length);
}

const EAP_CODES = new Map([[1, "Request"], [2, "Response"], [3, "Success"], [4, "Failure"]]);
const EAP_TYPES = new Map([
  [0, "No proposed"], [1, "Identity"], [2, "Notification"], [3, "Nak"], [4, "MD5-challenge"], [5, "OTP"],
  [6, "GTC"], [13, "TLS"], [18, "SIM"], [21, "TTLS"], [23, "AKA"], [43, "FAST"], [254, "Expanded types"],
  [255, "Experimental"],
]);
const EAP_TLS_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x80, "L bit"],
  [0x40, "More fragments bit"],
  [0x20, "Start bit"],
];
const EAP_AKA_SUBTYPES = new Map([
  [1, "Challenge"], [2, "Auth reject"], [4, "Sync failure"], [5, "Identity"], [10, "Start"], [11, "Challenge"],
  [12, "Notification"], [13, "Reauth"], [14, "Client error"],
]);

/** eap_print (print-eap.c): an EAP request or response inside EAPOL, with -v. */
function eapPrint(nd: Dissector, cp: number, length: number): void {
  const code = nd.u8(cp);
  const len = nd.be16(cp + 2);
  if (len !== length) {
    nd.print("EAP fragment?");
    return;
  }
  nd.print(`${EAP_CODES.get(code) ?? "unknown"} (${code}), id ${nd.u8(cp + 1)}, len ${len}`);
  if (len < 4) return nd.print(" (too short for EAP header)");
  nd.need(cp, len);
  if (code !== 1 && code !== 2) return;
  if (len < 5) return nd.print(" (too short for EAP request/response)");
  const subtype = nd.u8(cp + 4);
  nd.print(`\n\t\t Type ${EAP_TYPES.get(subtype) ?? "unknown"} (${subtype})`);
  const text = (): void => {
    for (let i = 0; i < len - 5; i++) {
      const c = nd.u8(cp + 5 + i);
      if (c === 0) break;
      nd.print(printableChar(c));
    }
  };
  const tlsFlags = (what: string): void => {
    const flags = nd.u8(cp + 5);
    nd.print(` flags [${bitNames(EAP_TLS_FLAGS, "none", flags)}] 0x${flags.toString(16).padStart(2, "0")}`);
    if (flags & 0x80) {
      if (len < 10) return nd.print(` (too short for EAP ${what} request/response with length)`);
      nd.print(`, len ${nd.be32(cp + 6)}`);
    }
  };
  switch (subtype) {
    case 1:
      if (len > 5) {
        nd.print(", Identity: ");
        text();
      }
      break;
    case 2:
      if (len < 6) return nd.print(" (too short for EAP Notification request/response)");
      nd.print(", Notification: ");
      text();
      break;
    case 3: {
      if (len < 6) return nd.print(" (too short for EAP Legacy NAK request/response)");
      let separator = "";
      for (let count = 5; count < len; count++) {
        const type = nd.u8(cp + count);
        nd.print(`${separator} ${EAP_TYPES.get(type) ?? "unknown"} (${type})`);
        separator = ",";
      }
      break;
    }
    case 21:
    case 13:
      if (len < 6) return nd.print(" (too short for EAP TLS/TTLS request/response)");
      if (subtype === 21) nd.print(` TTLSv${nd.u8(cp + 5) & 7}`);
      tlsFlags("TLS/TTLS");
      break;
    case 43:
      if (len < 6) return nd.print(" (too short for EAP FAST request/response)");
      nd.print(` FASTv${nd.u8(cp + 5) & 7}`);
      tlsFlags("FAST");
      break;
    case 23:
    case 18: {
      if (len < 6) return nd.print(" (too short for EAP SIM/AKA request/response)");
      const sub = nd.u8(cp + 5);
      nd.print(` subtype [${EAP_AKA_SUBTYPES.get(sub) ?? "unknown"}] 0x${sub.toString(16).padStart(2, "0")}`);
      break;
    }
  }
}

export function loopbackPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "loopback";
  nd.print("Loopback");
  const invalid = (): void => {
    nd.printInvalid();
    nd.need(at, length);
  };
  if (length < 2) return invalid();
  const skipCount = nd.le16(at);
  at += 2;
  length -= 2;
  nd.print(`, skipCount ${skipCount}`);
  if (skipCount % 8) nd.print(" (bogus)");
  if (skipCount > length) return invalid();
  at += skipCount;
  length -= skipCount;
  if (length < 2) return invalid();
  const fn = nd.le16(at);
  at += 2;
  length -= 2;
  nd.print(`, ${fn === 1 ? "Reply" : fn === 2 ? "Forward Data" : ` invalid (${fn})`}`);
  if (fn === 1) {
    if (length < 2) return invalid();
    nd.print(`, receipt number ${nd.le16(at)}`);
    at += 2;
    length -= 2;
    nd.print(`, data (${length} octets)`);
    nd.need(at, length);
  } else if (fn === 2) {
    if (length < 6) return invalid();
    nd.print(`, forwarding address ${macAt(nd, at)}`);
    at += 6;
    length -= 6;
    nd.print(`, data (${length} octets)`);
    nd.need(at, length);
  } else {
    nd.need(at, length);
  }
}
