/** ARP and RARP (tcpdump's arp_print), including its handling of odd hardware and protocol lengths. */
import { ipv4At, linkAddressAt } from "../addresses.js";
import type { Dissector } from "../dissector.js";
import { ETHERTYPE_NAMES } from "../names.js";

const OPERATIONS = new Map<number, string>([
  [1, "Request"],
  [2, "Reply"],
  [3, "Reverse Request"],
  [4, "Reverse Reply"],
  [8, "Inverse Request"],
  [9, "Inverse Reply"],
  [10, "NACK Reply"],
]);
const HARDWARE = new Map<number, string>([
  [1, "Ethernet"],
  [6, "TokenRing"],
  [7, "ArcNet"],
  [15, "FrameRelay"],
  [23, "Strip"],
  [24, "IEEE 1394"],
  [19, "ATM"],
  [32, "InfiniBand"],
]);

const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_TRAIL = 0x1000;

function operationName(op: number): string {
  return OPERATIONS.get(op) ?? `Unknown (${op})`;
}

function isNonZero(nd: Dissector, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (nd.u8(at + i) !== 0) return true;
  return false;
}

/** ATM ARP (RFC 2225), which arp_print hands hardware type 19 to. */
function atmArpPrint(nd: Dissector, at: number, length: number, caplen: number): void {
  nd.need(at, 12);
  const hardware = nd.be16(at);
  const protocol = nd.be16(at + 2);
  const op = nd.be16(at + 6);
  const shl = nd.u8(at + 4) & 0x3f;
  const ssl = nd.u8(at + 5) & 0x3f;
  const spl = nd.u8(at + 8);
  const thl = nd.u8(at + 9) & 0x3f;
  const tsl = nd.u8(at + 10) & 0x3f;
  const tpl = nd.u8(at + 11);
  const sha = at + 12;
  const ssa = sha + shl;
  const spa = ssa + ssl;
  const tha = spa + spl;
  const tsa = tha + thl;
  const tpa = tsa + tsl;
  nd.need(tpa, tpl);
  if (!nd.options.linkHeader) nd.print("ARP, ");
  const isIp = protocol === ETHERTYPE_IP || protocol === ETHERTYPE_TRAIL;
  const verbose = nd.options.verbose;
  if (!isIp || spl !== 4 || tpl !== 4 || verbose) {
    nd.print(
      `${HARDWARE.get(hardware) ?? `Unknown Hardware (${hardware})`}, ${ETHERTYPE_NAMES.get(protocol) ?? `Unknown Protocol (0x${protocol.toString(16).padStart(4, "0")})`} (len ${spl}/${tpl})`,
    );
    if (!verbose) {
      nd.print(`, length ${length}`);
      return;
    }
  }
  const address = (ha: number, haLength: number, sa: number, saLength: number): string => {
    if (haLength === 0) return "<No address>";
    let text = linkAddressAt(nd, ha, haLength);
    if (saLength !== 0) text += `,${linkAddressAt(nd, sa, saLength)}`;
    return text;
  };
  const target = (): string => (!isIp ? "<wrong proto type>" : tpl !== 4 ? "<wrong tplen>" : ipv4At(nd, tpa));
  const sender = (): string => (!isIp ? "<wrong proto type>" : spl !== 4 ? "<wrong splen>" : ipv4At(nd, spa));
  nd.print(`${verbose ? ", " : ""}${operationName(op)} `);
  switch (op) {
    case 1:
      nd.print(`who-has ${target()}`);
      if (thl !== 0) nd.print(` (${address(tha, thl, tsa, tsl)})`);
      nd.print(` tell ${sender()}`);
      break;
    case 2:
      nd.print(`${sender()} is-at ${address(sha, shl, ssa, ssl)}`);
      break;
    case 8:
      nd.print(`who-is ${address(tha, thl, tsa, tsl)} tell ${address(sha, shl, ssa, ssl)}`);
      break;
    case 9:
      nd.print(`${address(sha, shl, ssa, ssl)}at ${sender()}`);
      break;
    case 10:
      nd.print(`for ${sender()}`);
      break;
    default:
      nd.defaultPrint(at, caplen);
      return;
  }
  nd.print(`, length ${length}`);
}

/** An ARP protocol address, or why it is not an IPv4 one. (A module function, not a closure per packet.) */
function protocolAddress(nd: Dissector, isIp: boolean, pln: number, addressAt: number): string {
  return !isIp ? "<wrong proto type>" : pln !== 4 ? "<wrong len>" : ipv4At(nd, addressAt);
}

export function arpPrint(nd: Dissector, at: number, length: number, caplen: number): void {
  nd.protocol = "arp";
  nd.need(at, 8);
  const hardware = nd.be16(at);
  const protocol = nd.be16(at + 2);
  const op = nd.be16(at + 6);
  if (hardware === 19) {
    atmArpPrint(nd, at, length, caplen);
    return;
  }
  const hln = nd.u8(at + 4);
  const pln = nd.u8(at + 5);
  const sha = at + 8;
  const spa = sha + hln;
  const tha = spa + pln;
  const tpa = tha + hln;
  nd.need(tpa, pln);
  if (!nd.options.linkHeader) nd.print("ARP, ");
  const isIp = protocol === ETHERTYPE_IP || protocol === ETHERTYPE_TRAIL;
  const verbose = nd.options.verbose;
  if (!isIp || pln !== 4 || hln === 0 || verbose) {
    nd.print(
      `${HARDWARE.get(hardware) ?? `Unknown Hardware (${hardware})`} (len ${hln}), ` +
        `${ETHERTYPE_NAMES.get(protocol) ?? `Unknown Protocol (0x${protocol.toString(16).padStart(4, "0")})`} (len ${pln})`,
    );
    if (!verbose) {
      nd.print(`, length ${length}`);
      return;
    }
  }
  nd.print(`${verbose ? ", " : ""}${operationName(op)} `);
  switch (op) {
    case 1:
      nd.print(`who-has ${protocolAddress(nd, isIp, pln, tpa)}`);
      if (isNonZero(nd, tha, hln)) nd.print(` (${linkAddressAt(nd, tha, hln)})`);
      nd.print(` tell ${protocolAddress(nd, isIp, pln, spa)}`);
      break;
    case 2:
      nd.print(`${protocolAddress(nd, isIp, pln, spa)} is-at ${linkAddressAt(nd, sha, hln)}`);
      break;
    case 3:
      nd.print(`who-is ${linkAddressAt(nd, tha, hln)}`);
      nd.print(` tell ${linkAddressAt(nd, sha, hln)}`);
      break;
    case 4:
      nd.print(`${linkAddressAt(nd, tha, hln)} at `);
      nd.print(protocolAddress(nd, isIp, pln, tpa));
      break;
    case 8:
      nd.print(`who-is ${linkAddressAt(nd, tha, hln)}`);
      nd.print(` tell ${linkAddressAt(nd, sha, hln)}`);
      break;
    case 9:
      nd.print(`${linkAddressAt(nd, sha, hln)} at `);
      nd.print(protocolAddress(nd, isIp, pln, spa));
      break;
    default:
      nd.defaultPrint(at, caplen);
      return;
  }
  nd.print(`, length ${length}`);
}
