/**
 * The pcap-filter front end: expression text → overlay program, with libpcap 1.10.3's meaning and errors.
 *
 *   parse.ts (scanner + ohm grammar) → gencode.ts (libpcap's code generator) → graph.ts (its block graph)
 *   → optimize.ts (what libpcap's optimizer changes) → emit.ts (overlay code) → the overlay verifier.
 *
 * Errors are SourceErrors (`filter:LINE:COL: message`); see README.md in this folder.
 */
import { verify, type ProgramImage } from "../../overlay-isa/index.js";
import { CompileLimitError } from "../program-builder.js";
import { emitFilter } from "./emit.js";
import { filterError, GenError } from "./errors.js";
import { CodeGenerator, PCAP_NETMASK_UNKNOWN } from "./gencode.js";
import { graphOf, type GraphNode } from "./graph.js";
import type { Cond } from "./ir.js";
import { DLT, layoutOf, SUPPORTED_LINKTYPES } from "./linktypes.js";
import { optimizeGraph } from "./optimize.js";
import { parseFilter } from "./parse.js";

export { PCAP_NETMASK_UNKNOWN };

export interface PcapFilterOptions {
  /** DLT / LINKTYPE number of the frames (default 1, Ethernet) */
  linktype?: number;
  /**
   * IPv4 netmask for `ip broadcast`. Default 0, which is what `tcpdump -r` passes; PCAP_NETMASK_UNKNOWN
   * (0xffffffff) makes `ip broadcast` an error, as pcap_compile() does without a netmask.
   */
  netmask?: number;
  /** compile for frames read from a capture file (default true) rather than a live NIC capture; see GenOptions */
  savefile?: boolean;
}

export interface CompiledPcapFilter {
  image: ProgramImage;
  /** the filter's intermediate form, before libpcap-equivalent optimisation */
  cond: Cond;
  /** false when libpcap would have left the program unoptimised (`protochain`, `geneve`) */
  optimized: boolean;
  linktype: number;
}

export function compilePcapFilter(expression: string, options: PcapFilterOptions = {}): CompiledPcapFilter {
  const linktype = options.linktype ?? DLT.EN10MB;
  if (!Number.isInteger(linktype) || !layoutOf(linktype)) {
    throw new Error(`link type ${linktype} is not supported by the filter compiler (supported: ${SUPPORTED_LINKTYPES.join(", ")})`);
  }
  const netmask = (options.netmask ?? 0) >>> 0;
  const { tree } = parseFilter(expression);
  try {
    const generated = new CodeGenerator({ linktype, netmask, savefile: options.savefile ?? true }).generate(tree);
    const cond = generated.cond;
    let root: GraphNode = graphOf(cond);
    if (generated.optimize && tree) {
      root = optimizeGraph(root);
      if (root === "reject") throw new GenError(0, "expression rejects all packets");
    }
    const image = emitFilter(root, generated.vars);
    const check = verify(image);
    if (!check.ok) throw new Error(`internal: the filter program fails verification: ${check.errors.map((e) => e.message).join("; ")}`);
    return { image, cond, optimized: generated.optimize, linktype };
  } catch (e) {
    if (e instanceof GenError) throw filterError(expression, e.offset, e.message);
    if (e instanceof CompileLimitError) throw filterError(expression, 0, e.message);
    throw e;
  }
}
