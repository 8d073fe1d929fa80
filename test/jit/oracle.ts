/**
 * The pcap-filter oracles of ../shared/corpus/filters (tcpdump 4.99.3 / libpcap 1.10.3 ground truth): rows,
 * the captures they name (read once), and the expected matching packets.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readCapture, type CapturedPacket } from "../runtime/capture-reader.js";

export const CORPUS = join(import.meta.dirname, "..", "..", "..", "shared", "corpus");
export const FILTERS = join(CORPUS, "filters");

export interface OracleRow {
  pcap: string;
  expression: string;
  total: number;
  /** 1-based indexes of the matching packets; undefined when tcpdump refused the expression */
  matching?: Set<number>;
  error?: string;
}

/** `1-3,7` → {1, 2, 3, 7}; `-` → {}. */
export function parseRanges(text: string): Set<number> {
  const out = new Set<number>();
  if (text === "-") return out;
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.add(i);
  }
  return out;
}

export function readOracle(file: string): OracleRow[] {
  const lines = readFileSync(join(FILTERS, file), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  return lines.map((line) => {
    const [pcap, expression, total, count, matching] = line.split("\t") as [string, string, string, string, string];
    return count === "ERROR" ? { pcap, expression, total: Number(total), error: matching } : { pcap, expression, total: Number(total), matching: parseRanges(matching) };
  });
}

const captures = new Map<string, CapturedPacket[]>();

/** The packets of a corpus capture (path relative to the corpus directory), read once. */
export function capture(pcap: string): CapturedPacket[] {
  let packets = captures.get(pcap);
  if (!packets) {
    packets = readCapture(join(CORPUS, pcap));
    captures.set(pcap, packets);
  }
  return packets;
}

/** Rows grouped by expression, in file order (each expression compiles once per tier). */
export function byExpression(rows: readonly OracleRow[]): Map<string, OracleRow[]> {
  const out = new Map<string, OracleRow[]>();
  for (const r of rows) {
    const list = out.get(r.expression) ?? [];
    list.push(r);
    out.set(r.expression, list);
  }
  return out;
}
