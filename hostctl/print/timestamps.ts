/**
 * tcpdump's timestamp column (ts_print): local time of day by default, -t none, -tt epoch seconds, -ttt delta
 * to the previous packet, -tttt local date and time, -ttttt delta to the first packet. Local time follows the
 * process time zone (TZ), as tcpdump's localtime() does.
 */
import type { PrintOptions } from "./print-options.js";
import type { PrinterState } from "./printer-state.js";

let cachedSecond = Number.NaN;
let cachedClock = "";
let cachedDate = "";

function two(value: number): string {
  return value < 10 ? "0" + value : String(value);
}

function localClock(seconds: number): void {
  if (seconds === cachedSecond) return;
  const date = new Date(seconds * 1000);
  cachedSecond = seconds;
  cachedClock = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  cachedDate = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

function fractionText(nanoseconds: number, nano: boolean): string {
  return nano ? String(nanoseconds).padStart(9, "0") : String(Math.floor(nanoseconds / 1000)).padStart(6, "0");
}

/**
 * " HH:MM:SS.frac" or "-HH:MM:SS.frac" for a difference, as ts_format prints it. Computed in the displayed unit
 * (µs unless nano), like tcpdump's timeval arithmetic, so truncation happens before subtraction.
 */
function deltaText(seconds: number, nanoseconds: number, baseSeconds: number, baseNanoseconds: number, nano: boolean): string {
  const unit = nano ? 1e9 : 1e6;
  const fraction = nano ? nanoseconds : Math.floor(nanoseconds / 1000);
  const baseFraction = nano ? baseNanoseconds : Math.floor(baseNanoseconds / 1000);
  let wholeSeconds = seconds - baseSeconds;
  let rest = fraction - baseFraction;
  // Normalise to a sign and a magnitude with 0 <= rest < unit.
  let negative = wholeSeconds < 0 || (wholeSeconds === 0 && rest < 0);
  if (negative) {
    wholeSeconds = -wholeSeconds;
    rest = -rest;
  }
  while (rest < 0) {
    rest += unit;
    wholeSeconds -= 1;
  }
  while (rest >= unit) {
    rest -= unit;
    wholeSeconds += 1;
  }
  if (wholeSeconds < 0) negative = !negative;
  // ts_format goes through gmtime(): whole days drop out of a delta.
  const hours = Math.floor(wholeSeconds / 3600) % 24;
  const minutes = Math.floor((wholeSeconds % 3600) / 60);
  const secs = wholeSeconds % 60;
  const fractionDigits = String(rest).padStart(nano ? 9 : 6, "0");
  return `${negative ? "-" : " "}${two(hours)}:${two(minutes)}:${two(secs)}.${fractionDigits}`;
}

/** The timestamp text followed by its separating space ("" for -t). */
export function formatTimestamp(
  seconds: number,
  nanoseconds: number,
  options: PrintOptions,
  state: PrinterState,
): string {
  const nano = options.nanoseconds;
  switch (options.timestamps) {
    case "none":
      return "";
    case "epoch":
      return `${seconds}.${fractionText(nanoseconds, nano)} `;
    case "date":
      localClock(seconds);
      return `${cachedDate} ${cachedClock}.${fractionText(nanoseconds, nano)} `;
    case "delta": {
      const text =
        state.previousSeconds === undefined
          ? deltaText(0, 0, 0, 0, nano)
          : deltaText(seconds, nanoseconds, state.previousSeconds, state.previousNanoseconds, nano);
      state.previousSeconds = seconds;
      state.previousNanoseconds = nanoseconds;
      return text + " ";
    }
    case "since-first": {
      if (state.firstSeconds === undefined) {
        state.firstSeconds = seconds;
        state.firstNanoseconds = nanoseconds;
      }
      return deltaText(seconds, nanoseconds, state.firstSeconds, state.firstNanoseconds, nano) + " ";
    }
    case "time":
    default:
      localClock(seconds);
      return `${cachedClock}.${fractionText(nanoseconds, nano)} `;
  }
}
