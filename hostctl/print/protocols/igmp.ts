/** IGMP (tcpdump's igmp_print) for queries, v1/v2/v3 reports and leaves. */
import { ipv4At } from "../addresses.js";
import { internetChecksum } from "../checksum.js";
import type { Dissector } from "../dissector.js";

function v3QueryPrint(nd: Dissector, at: number, length: number): void {
  nd.print(" v3");
  if (length < 12 || length % 4) {
    nd.print(` [invalid len ${length}]`);
    return;
  }
  const code = nd.u8(at + 1);
  const maxResponse = code < 128 ? code : ((code & 0x0f) | 0x10) << (((code & 0x70) >> 4) + 3);
  if (code !== 100) {
    nd.print(" [max resp time ");
    if (maxResponse < 600) nd.print(`${(maxResponse * 0.1).toFixed(1)}s`);
    else nd.print(relativeTime(Math.floor(maxResponse / 10)));
    nd.print("]");
  }
  if (nd.be32(at + 4) === 0) return;
  nd.print(` [gaddr ${ipv4At(nd, at + 4)}`);
  const sources = nd.be16(at + 10);
  if (sources > 0) {
    if (length < 12 + (sources << 2)) nd.print(" [invalid number of sources]");
    else if (nd.options.verbose > 1) {
      nd.print(" {");
      for (let i = 0; i < sources; i++) nd.print(` ${ipv4At(nd, at + 12 + (i << 2))}`);
      nd.print(" }");
    } else nd.print(`, ${sources} source(s)`);
  }
  nd.print("]");
}

function relativeTime(seconds: number): string {
  if (seconds === 0) return "0s";
  const units: Array<[number, string]> = [[31536000, "y"], [604800, "w"], [86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  let text = "";
  for (const [size, unit] of units) {
    if (seconds >= size) {
      text += `${Math.floor(seconds / size)}${unit}`;
      seconds -= Math.floor(seconds / size) * size;
    }
  }
  return text;
}

const REPORT_TYPES = new Map<number, string>([
  [1, "is_in"],
  [2, "is_ex"],
  [3, "to_in"],
  [4, "to_ex"],
  [5, "allow"],
  [6, "block"],
]);

function v3ReportPrint(nd: Dissector, at: number, length: number): void {
  // A report is at least 16 bytes (header and one group record), in 4-byte units.
  if (length < 16 || length % 4) {
    nd.print(` [invalid len ${length}]`);
    return;
  }
  const groups = nd.be16(at + 6);
  nd.print(`, ${groups} group record(s)`);
  if (nd.options.verbose > 0) {
    let group = 8;
    for (let i = 0; i < groups; i++) {
      if (length < group + 8) {
        nd.print(" [invalid number of groups]");
        return;
      }
      nd.print(` [gaddr ${ipv4At(nd, at + group + 4)}`);
      const type = nd.u8(at + group);
      nd.print(` ${REPORT_TYPES.get(type) ?? ` [v3-report-#${type}]`}`);
      const sources = nd.be16(at + group + 2);
      if (length < group + 8 + (sources << 2)) {
        nd.print(` [invalid number of sources ${sources}]`);
        return;
      }
      if (nd.options.verbose === 1) nd.print(`, ${sources} source(s)`);
      else {
        nd.print(" {");
        for (let j = 0; j < sources; j++) nd.print(` ${ipv4At(nd, at + group + 8 + (j << 2))}`);
        nd.print(" }");
      }
      group += 8 + (sources << 2);
      nd.print("]");
    }
  }
}

export function igmpPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "igmp";
  if (nd.options.quiet) {
    nd.print("igmp");
    return;
  }
  const type = nd.u8(at);
  switch (type) {
    case 0x11:
      nd.print("igmp query");
      if (length >= 12) v3QueryPrint(nd, at, length);
      else {
        const code = nd.u8(at + 1);
        if (code) {
          nd.print(" v2");
          if (code !== 100) nd.print(` [max resp time ${code}]`);
        } else nd.print(" v1");
        if (nd.be32(at + 4)) nd.print(` [gaddr ${ipv4At(nd, at + 4)}]`);
        if (length !== 8) nd.print(` [len ${length}]`);
      }
      break;
    case 0x12:
      nd.print(`igmp v1 report ${ipv4At(nd, at + 4)}`);
      if (length !== 8) nd.print(` [len ${length}]`);
      break;
    case 0x16:
      nd.print(`igmp v2 report ${ipv4At(nd, at + 4)}`);
      break;
    case 0x22:
      nd.print("igmp v3 report");
      v3ReportPrint(nd, at, length);
      break;
    case 0x17:
      nd.print(`igmp leave ${ipv4At(nd, at + 4)}`);
      break;
    case 0x13:
      nd.print("igmp dvmrp");
      if (length < 8) nd.print(` [len ${length}]`);
      break;
    case 0x14:
      nd.print("igmp pimv1");
      break;
    default:
      nd.print(`igmp-${type}`);
      break;
  }
  if (nd.options.verbose && length >= 4 && nd.has(at, length)) {
    if (internetChecksum(nd.bytes, at, length) !== 0) nd.print(` bad igmp cksum ${nd.be16(at + 2).toString(16)}!`);
  }
}
