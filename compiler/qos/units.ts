/**
 * tc's units, exactly as iproute2's tc/tc_util.c reads and prints them, and tc's class ids.
 *
 *  rates  `bit` or a bare number: bits per second; `kbit` `mbit` `gbit` `tbit` ×1000ⁿ bits; `kibit` … ×1024ⁿ bits;
 *         `bps` BYTES per second, `kbps` `mbps` `gbps` `tbps` ×1000ⁿ bytes, `kibps` … ×1024ⁿ bytes (any case)
 *  sizes  a bare number or `b`: bytes; `k`/`kb` 1024 bytes, `m`/`mb` 1024², `g`/`gb` 1024³;
 *         `kbit` 1024/8 bytes, `mbit` 1024²/8, `gbit` 1024³/8
 *  times  a bare number: microseconds; `s` `sec` `secs`, `ms` `msec` `msecs`, `us` `usec` `usecs`
 *  ids    `MAJOR:MINOR` in hex (`1:10` is minor 16), `MAJOR:` for a qdisc handle, `root`, `none`
 */

/** A value tc could not read, with the reason in tc's own terms. */
export class UnitError extends Error {}

const RATE_SUFFIXES: readonly [string, number][] = [
  ["bit", 1],
  ["kibit", 1024],
  ["kbit", 1000],
  ["mibit", 1024 ** 2],
  ["mbit", 1e6],
  ["gibit", 1024 ** 3],
  ["gbit", 1e9],
  ["tibit", 1024 ** 4],
  ["tbit", 1e12],
  ["bps", 8],
  ["kibps", 8 * 1024],
  ["kbps", 8000],
  ["mibps", 8 * 1024 ** 2],
  ["mbps", 8e6],
  ["gibps", 8 * 1024 ** 3],
  ["gbps", 8e9],
  ["tibps", 8 * 1024 ** 4],
  ["tbps", 8e12],
];

/** strtod's prefix of `text`: the number and the rest, or undefined when there is no number. */
function leadingNumber(text: string): { value: number; rest: string } | undefined {
  const m = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text);
  if (!m) return undefined;
  return { value: Number(m[0]), rest: text.slice(m[0].length) };
}

/** A rate in bytes per second (tc keeps rates in bytes per second; `get_rate`). */
export function parseRate(text: string): number {
  const n = leadingNumber(text);
  if (!n) throw new UnitError(`'${text}' is not a rate (such as 10mbit, 1gbit or 500kbps)`);
  let bits = n.value;
  if (n.rest !== "") {
    const s = RATE_SUFFIXES.find(([name]) => name === n.rest.toLowerCase());
    if (!s) throw new UnitError(`'${text}': unknown rate unit '${n.rest}' (bit, kbit, mbit, gbit, tbit are bits per second; bps, kbps, mbps, gbps are bytes per second)`);
    bits *= s[1];
  }
  const bytes = Math.floor(bits / 8);
  if (!Number.isFinite(bytes) || bytes > 2 ** 53) throw new UnitError(`'${text}' is too large a rate`);
  return bytes;
}

/** A size in bytes (`get_size`). */
export function parseSize(text: string): number {
  const n = leadingNumber(text);
  if (!n) throw new UnitError(`'${text}' is not a size (such as 1514, 32kb or 64kbit)`);
  const scale: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, kbit: 1024 / 8, mbit: 1024 ** 2 / 8, gbit: 1024 ** 3 / 8 };
  const f = scale[n.rest.toLowerCase()];
  if (f === undefined) throw new UnitError(`'${text}': unknown size unit '${n.rest}' (b, kb, mb, gb are bytes ×1024; kbit, mbit, gbit are bits ×1024)`);
  const v = Math.floor(n.value * f);
  if (v > 0xffffffff) throw new UnitError(`'${text}' is larger than tc's 32-bit sizes`);
  return v;
}

/** A time in microseconds (`get_time`). */
export function parseTime(text: string): number {
  const n = leadingNumber(text);
  if (!n) throw new UnitError(`'${text}' is not a time (such as 5ms, 100ms or 1s)`);
  const scale: Record<string, number> = { "": 1, s: 1e6, sec: 1e6, secs: 1e6, ms: 1000, msec: 1000, msecs: 1000, us: 1, usec: 1, usecs: 1 };
  const f = scale[n.rest.toLowerCase()];
  if (f === undefined) throw new UnitError(`'${text}': unknown time unit '${n.rest}' (s, ms, us; a bare number is microseconds)`);
  return Math.floor(n.value * f);
}

/** A plain unsigned integer (decimal, or 0x hex as tc's strtoul accepts). */
export function parseCount(text: string, what: string, max = 0xffffffff): number {
  if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(text)) throw new UnitError(`'${text}' is not ${what} (a whole number)`);
  const v = Number(text);
  if (v > max) throw new UnitError(`${what} ${text} is over ${max}`);
  return v;
}

/** A tc handle: major in bits 16..31, minor in 0..15. */
export type Handle = number;
export const ROOT_HANDLE = 0xffffffff;

export function handle(major: number, minor: number): Handle {
  return ((major << 16) | minor) >>> 0;
}
export function majorOf(h: Handle): number {
  return h >>> 16;
}
export function minorOf(h: Handle): number {
  return h & 0xffff;
}

/** `1:10` (minor 0x10), `1:` or `1` (a qdisc handle, minor 0), as tc's get_tc_classid reads them. */
export function parseHandle(text: string, what = "class id"): Handle {
  if (text === "root") return ROOT_HANDLE;
  const m = /^([0-9a-fA-F]{1,4})?:([0-9a-fA-F]{0,4})$/.exec(text) ?? /^([0-9a-fA-F]{1,4})$/.exec(text);
  if (!m) throw new UnitError(`'${text}' is not a ${what} (MAJOR:MINOR in hex, such as 1:10; or MAJOR: for a qdisc)`);
  const major = m[1] === undefined ? 0 : parseInt(m[1], 16);
  const minor = m[2] ? parseInt(m[2], 16) : 0;
  return handle(major, minor);
}

/** tc's spelling of a handle: `1:10`, `1:` for minor 0, `root`. */
export function formatHandle(h: Handle): string {
  if (h === ROOT_HANDLE) return "root";
  const minor = minorOf(h);
  return `${majorOf(h).toString(16)}:${minor ? minor.toString(16) : ""}`;
}

/** tc's print_rate: bits per second, 1000-based, dividing only while exact (or ≥ 1000 of the next unit). */
export function formatRate(bytesPerSecond: number): string {
  let rate = bytesPerSecond * 8;
  const units = ["", "K", "M", "G", "T"];
  let i = 0;
  for (; i < units.length - 1; i++) {
    if (rate < 1000) break;
    if (rate % 1000 !== 0 && rate < 1000 * 1000) break;
    rate /= 1000;
  }
  return `${Math.round(rate)}${units[i]}bit`;
}

/** tc's print_size: `1514b`, `10Kb`, `32Mb`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && Math.abs(1024 * 1024 * Math.round(bytes / (1024 * 1024)) - bytes) < 1024) return `${Math.round(bytes / (1024 * 1024))}Mb`;
  if (bytes >= 1024 && Math.abs(1024 * Math.round(bytes / 1024) - bytes) < 16) return `${Math.round(bytes / 1024)}Kb`;
  return `${bytes}b`;
}

/** A time in microseconds as tc prints it: `5ms`, `100ms`, `1s`, `250us`, `1.5ms`. */
export function formatTime(us: number): string {
  const g = (v: number) => String(Number(v.toPrecision(3)));
  if (us >= 1e6) return `${g(us / 1e6)}s`;
  if (us >= 1000) return `${g(us / 1000)}ms`;
  return `${Math.round(us)}us`;
}
