/**
 * kopi's library API (the package's main export).
 *
 *   import { compileFilter } from "kopi";
 *   const f = compileFilter("tcp port 80 and not host 10.0.0.1", { linktype: 1 });
 *   f.matches(frame);                // like libpcap's pcap_offline_filter(), on the overlay VM
 *   f.matchMany(frames, wireLengths) // a whole batch in one pass through the VM: 1 where a frame matches
 *
 * The expression is compiled with libpcap 1.10.3's meaning (compiler/pcap-filter) to an overlay program, which
 * the overlay VM (runtime/) executes — the interpreter by default, or its JIT tier on request. Compile errors
 * are SourceErrors whose message names the column: `filter:1:10: expected a port number or service name …`.
 */
import { disassemble, type ProgramImage } from "./overlay-isa/index.js";
import { compilePcapFilter, PCAP_NETMASK_UNKNOWN } from "./compiler/pcap-filter/compile.js";
import { OverlayVM } from "./runtime/vm.js";
import { parseTier, selectTier, type Tier } from "./runtime/jit/index.js";

export { SourceError } from "./overlay-isa/index.js";
export { PCAP_NETMASK_UNKNOWN };

export interface CompileFilterOptions {
  /** DLT / LINKTYPE number of the frames: 1 Ethernet (default), 0 NULL, 12 or 101 RAW, 113 LINUX_SLL, 276 LINUX_SLL2, 228 IPV4, 229 IPV6 */
  linktype?: number;
  /** which engine runs the program: "interpreter" (default) or "jit"; the JIT never hands a program back to the interpreter silently */
  tier?: "interpreter" | "jit";
  /** IPv4 netmask for `ip broadcast`: default 0 as `tcpdump -r` passes; PCAP_NETMASK_UNKNOWN makes it an error */
  netmask?: number;
  /** frames come from a capture file (default), not a live NIC capture: see compiler/pcap-filter/gencode.ts */
  savefile?: boolean;
}

export interface CompiledFilter {
  /** whether libpcap's pcap_offline_filter() would keep this frame (`wireLength` defaults to the frame's length) */
  matches(frame: Uint8Array, wireLength?: number): boolean;
  /** run every frame through the VM in one batch; 1 where a frame matches, 0 where not */
  matchMany(frames: readonly Uint8Array[], wireLengths?: readonly number[]): Uint8Array;
  /** the overlay program the expression compiled to */
  readonly program: ProgramImage;
  /** the program as overlay assembly */
  disassembly(): string;
  readonly expression: string;
  readonly linktype: number;
  readonly tier: Tier;
}

/**
 * One VM serves every filter of a tier: a filter loads its program when another one ran last (a load is cheap
 * next to a batch, and a VM per filter would cost megabytes each).
 */
const shared: Partial<Record<Tier, { vm: OverlayVM; loaded?: ProgramImage }>> = {};

function vmFor(tier: Tier, program: ProgramImage): OverlayVM {
  const slot = (shared[tier] ??= { vm: OverlayVM.createSync() });
  if (slot.loaded !== program) {
    slot.vm.load(program);
    selectTier(slot.vm, tier); // "jit" throws JitUnsupported rather than run the program on the interpreter
    slot.loaded = program;
  }
  return slot.vm;
}

export function compileFilter(expression: string, opts: CompileFilterOptions = {}): CompiledFilter {
  const tier = parseTier(opts.tier ?? "interpreter", "compileFilter's tier");
  if (tier === "auto") throw new Error('compileFilter\'s tier must be "interpreter" or "jit"');
  const compiled = compilePcapFilter(expression, { linktype: opts.linktype, netmask: opts.netmask, savefile: opts.savefile });
  const program = compiled.image;
  const linktype = compiled.linktype;
  vmFor(tier, program); // load (and for "jit", compile) now, so a refusal surfaces here rather than on first use

  const matchMany = (frames: readonly Uint8Array[], wireLengths?: readonly number[]): Uint8Array => {
    if (wireLengths !== undefined && wireLengths.length !== frames.length) {
      throw new RangeError(`matchMany: ${frames.length} frames but ${wireLengths.length} wire lengths`);
    }
    const out = new Uint8Array(frames.length);
    if (frames.length === 0) return out;
    const result = vmFor(tier, program).run(frames, { wireLengths, linktype });
    for (let i = 0; i < frames.length; i++) out[i] = result.verdicts[i] === 1 ? 1 : 0;
    return out;
  };

  return {
    matches: (frame, wireLength) => matchMany([frame], wireLength === undefined ? undefined : [wireLength])[0] === 1,
    matchMany,
    program,
    disassembly: () => disassemble(program),
    expression,
    linktype,
    tier,
  };
}
