/** Line-oriented protocols tcpdump summarises by their first line (txtproto_print): HTTP, SIP, RTSP, FTP, SMTP. */
import type { Dissector } from "../dissector.js";

export const HTTP_COMMANDS = [
  "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL", "TRACE", "LABEL",
  "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY", "BDELETE", "CONNECT", "OPTIONS", "CHECKIN",
  "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT",
  "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL",
];
export const SIP_COMMANDS = [
  "ACK", "BYE", "CANCEL", "DO", "INFO", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS", "PRACK", "QAUTH", "REFER",
  "REGISTER", "SPRACK", "SUBSCRIBE", "UPDATE", "PUBLISH",
];
export const RTSP_COMMANDS = [
  "DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT", "SETUP",
  "SET_PARAMETER", "TEARDOWN",
];

const MAX_TOKEN = 128;

function isPrint(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

/** fetch_token: the token at idx and where the next one starts, or undefined. */
function fetchToken(nd: Dissector, at: number, idx: number, length: number): { token: string; next: number } | undefined {
  let token = "";
  for (; idx < length; idx++) {
    if (!nd.has(at + idx, 1)) return undefined;
    const c = nd.bytes[at + idx]!;
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
    if (!isPrint(c)) return undefined;
    if (token.length + 2 > MAX_TOKEN + 1) return undefined;
    token += String.fromCharCode(c);
  }
  if (token.length === 0) return undefined;
  for (; idx < length; idx++) {
    if (!nd.has(at + idx, 1)) break;
    const c = nd.bytes[at + idx]!;
    if (c === 0x0d || c === 0x0a) break;
    if (!isPrint(c)) break;
    if (c !== 0x20 && c !== 0x09) break;
  }
  return { token, next: idx };
}

/** print_txt_line: one text line after `prefix`; returns where the next line starts, or 0 to stop. */
function printTextLine(nd: Dissector, prefix: string, at: number, idx: number, length: number): number {
  const start = idx;
  let lineLength: number;
  while (idx < length) {
    const c = nd.u8(at + idx);
    if (c === 0x0a) {
      lineLength = idx - start;
      idx++;
      nd.print(prefix + latin1(nd, at + start, lineLength));
      return idx;
    }
    if (c === 0x0d) {
      if (idx + 1 >= length) return 0;
      if (nd.u8(at + idx + 1) === 0x0a) {
        lineLength = idx - start;
        idx += 2;
        nd.print(prefix + latin1(nd, at + start, lineLength));
        return idx;
      }
      return 0;
    }
    if (!isPrint(c) && c !== 0x09) return 0;
    idx++;
  }
  nd.print(prefix + latin1(nd, at + start, idx - start));
  nd.printTrunc();
  return 0;
}

function latin1(nd: Dissector, at: number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += String.fromCharCode(nd.bytes[at + i]!);
  return text;
}

/**
 * txtproto_print: "PROTO: first line" when the payload starts with one of `commands` (or a 3-digit response
 * code, first or second token), always when commands is undefined; with -v every text line.
 */
export function textProtocolPrint(
  nd: Dissector,
  at: number,
  length: number,
  commands: readonly string[] | undefined,
  responseCodeSecond: boolean,
): void {
  let printThis = false;
  if (commands !== undefined) {
    let found = fetchToken(nd, at, 0, length);
    if (found !== undefined) {
      const upper = found.token.toUpperCase();
      if (commands.includes(upper)) printThis = true;
      if (responseCodeSecond) found = fetchToken(nd, at, found.next, length);
      if (found !== undefined && /^[0-9]{3}$/.test(found.token)) printThis = true;
    }
  } else {
    printThis = true;
  }
  nd.print(nd.protocol.toUpperCase());
  if (!printThis) return;
  if (nd.options.verbose) {
    nd.print(`, length: ${length}`);
    for (let idx = 0; idx < length; ) {
      const next = printTextLine(nd, "\n\t", at, idx, length);
      if (next === 0) break;
      idx = next;
    }
  } else {
    printTextLine(nd, ": ", at, 0, length);
  }
}
