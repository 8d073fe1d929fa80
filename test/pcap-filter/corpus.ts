/**
 * Shared by the pcap-filter tests: the conformance data of ../shared/corpus/filters and the captures it names,
 * read once each through hostctl/pcap's reader.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureFileReader } from "../../hostctl/pcap/index.js";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const CORPUS = resolve(HERE, "../../../shared/corpus");
export const FILTERS = join(CORPUS, "filters");

/** Rows of a tab-separated corpus file, header line dropped. */
export function readTsv(name: string): string[][] {
  return readFileSync(join(FILTERS, name), "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => line.length > 0)
    .map((line) => line.split("\t"));
}

export interface Capture {
  /** LINKTYPE_ of the file, as its header (or first interface) gives it */
  linktype: number;
  frames: Uint8Array[];
  wireLengths: number[];
}

const captures = new Map<string, Capture>();

/** A capture named relative to the corpus directory (`pcaps/…`), read once. */
export function capture(path: string): Capture {
  let c = captures.get(path);
  if (!c) {
    const reader = CaptureFileReader.open(join(CORPUS, path));
    const frames: Uint8Array[] = [];
    const wireLengths: number[] = [];
    for (const packet of reader) {
      frames.push(Uint8Array.from(packet.data));
      wireLengths.push(packet.wireLength);
    }
    c = { linktype: reader.info.linkType, frames, wireLengths };
    reader.close();
    captures.set(path, c);
  }
  return c;
}

/** `1-3,7` → "1,2,3,7"; `-` → "". */
export function expandPackets(text: string): string {
  if (text === "-") return "";
  return text
    .split(",")
    .flatMap((part) => {
      const [a, b] = part.split("-").map(Number) as [number, number | undefined];
      return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
    })
    .join(",");
}

/** The 1-based indexes of the frames a match vector marks, as `expandPackets` writes them. */
export function matchedPackets(matches: Uint8Array): string {
  const out: number[] = [];
  matches.forEach((m, i) => {
    if (m) out.push(i + 1);
  });
  return out.join(",");
}

/** A dotted netmask as filters.tsv writes it; empty means libpcap's PCAP_NETMASK_UNKNOWN. */
export function parseNetmask(text: string | undefined): number {
  if (!text) return 0xffffffff;
  return text.split(".").reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** filters.tsv's DLT names for the link types the compiler supports. */
export const SUPPORTED_DLTS: Readonly<Record<string, number>> = {
  EN10MB: 1, RAW: 12, NULL: 0, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229,
};
