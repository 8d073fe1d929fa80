/**
 * One program slot of the NIC: instruction memory (an overlay VM instance holding the decoded program), its
 * table memories and counters, and the upload buffer the PROG_DATA window writes into. The device has two; the
 * active one judges packets while the other (the shadow) takes an upload, or keeps the previous program for
 * ROLLBACK.
 */
import { crc32, decodeImage, ImageError, verify, type ProgramImage, type VerifyResult } from "../overlay-isa/index.js";
import { JitError, JitUnsupported, selectTier, type TierRequest } from "../runtime/jit/index.js";
import { OverlayVM, ProgramRejected, VMError } from "../runtime/vm.js";
import { ERR, PROG_STATE, VERIFY_RULES } from "./registers.js";
import { resourcesOf } from "./timing.js";

export type LoadOutcome = { ok: true } | { ok: false; code: number; arg0: number; arg1: number };

export class ProgramSlot {
  state: number = PROG_STATE.EMPTY;
  /** generation this slot's program was committed as (0: never) */
  generation = 0;
  image: ProgramImage | undefined;
  verifyResult: VerifyResult | undefined;
  crc = 0;
  tableBlocks = 0;
  rejectIndex = 0xffffffff;
  rejectRule = 0;
  /** upload buffer (PROG_LENGTH bytes) and how many bytes were written */
  upload: Uint8Array | undefined;
  uploaded = 0;
  /** CNT_CTRL zeroing of one counter is kept as a base the reads subtract (the counter memory counts on) */
  private zeroPackets = new Map<number, bigint>();
  private zeroBytes = new Map<number, bigint>();
  /** the counter values latched by the last CNT_SELECT */
  snapshot: { packets: BigUint64Array; bytes: BigUint64Array } | undefined;

  /** why an "auto" tier runs this slot's program on the interpreter (undefined when it runs compiled) */
  tierFallback: string | undefined;

  constructor(
    readonly index: number,
    readonly vm: OverlayVM,
    /** engine for loaded programs: the interpreter is the reference model, "jit" the host-speed tier */
    readonly tier: TierRequest = "interpreter",
  ) {}

  get loaded(): boolean {
    return this.state === PROG_STATE.VERIFIED || this.state === PROG_STATE.PREVIOUS || this.generation > 0;
  }

  reset(): void {
    this.state = PROG_STATE.EMPTY;
    this.generation = 0;
    this.image = undefined;
    this.verifyResult = undefined;
    this.crc = 0;
    this.tableBlocks = 0;
    this.rejectIndex = 0xffffffff;
    this.rejectRule = 0;
    this.upload = undefined;
    this.uploaded = 0;
    this.snapshot = undefined;
    this.zeroPackets.clear();
    this.zeroBytes.clear();
  }

  beginUpload(length: number): void {
    this.reset();
    this.state = PROG_STATE.UPLOADING;
    this.upload = new Uint8Array(length);
  }

  /** Decode, verify, check the table memory and load the uploaded image into the VM. */
  load(budgetBlocks: number, instructionMemory: number): LoadOutcome {
    const bytes = this.upload ?? new Uint8Array(0);
    const refuse = (code: number, arg0: number, arg1 = 0): LoadOutcome => {
      this.state = PROG_STATE.REJECTED;
      return { ok: false, code, arg0, arg1 };
    };
    let image: ProgramImage;
    try {
      image = decodeImage(bytes);
    } catch (e) {
      if (e instanceof ImageError) return refuse(ERR.BAD_IMAGE, e.byteOffset);
      throw e;
    }
    const result = verify(image);
    if (!result.ok) {
      const first = result.errors[0]!;
      this.rejectIndex = first.index ?? first.table ?? 0xffffffff;
      this.rejectRule = VERIFY_RULES.indexOf(first.rule);
      return refuse(ERR.VERIFY_FAILED, this.rejectIndex, this.rejectRule);
    }
    const resources = resourcesOf(image, budgetBlocks, instructionMemory);
    if (!resources.fits) return refuse(ERR.TABLE_MEMORY, resources.tableBlocks, budgetBlocks);
    try {
      this.vm.load(image);
      this.tierFallback = selectTier(this.vm, this.tier).fallback;
    } catch (e) {
      if (e instanceof JitUnsupported || e instanceof JitError) return refuse(ERR.VM_REFUSED, 0xffffffff);
      if (e instanceof ProgramRejected) {
        const first = e.errors[0];
        this.rejectIndex = first?.index ?? 0xffffffff;
        return refuse(ERR.VM_REFUSED, this.rejectIndex);
      }
      if (e instanceof VMError) return refuse(ERR.VM_REFUSED, 0xffffffff);
      throw e;
    }
    this.image = image;
    this.verifyResult = result;
    this.crc = crc32(bytes.subarray(32));
    this.tableBlocks = resources.tableBlocks;
    this.state = PROG_STATE.VERIFIED;
    this.upload = undefined;
    this.zeroPackets.clear();
    this.zeroBytes.clear();
    return { ok: true };
  }

  get worstCaseCycles(): number {
    return this.verifyResult?.worstCaseCycles ?? 0;
  }

  get counterCount(): number {
    return this.image?.counters ?? 0;
  }

  /** Latch every counter (CNT_SELECT): reads then see one instant. */
  latchCounters(): void {
    const raw = this.vm.counters();
    for (const [i, base] of this.zeroPackets) raw.packets[i] = raw.packets[i]! - base;
    for (const [i, base] of this.zeroBytes) raw.bytes[i] = raw.bytes[i]! - base;
    this.snapshot = raw;
  }

  zeroCounter(index: number): void {
    const raw = this.vm.counters();
    this.zeroPackets.set(index, raw.packets[index] ?? 0n);
    this.zeroBytes.set(index, raw.bytes[index] ?? 0n);
    this.snapshot = undefined;
  }

  zeroAllCounters(): void {
    this.vm.resetCounters();
    this.zeroPackets.clear();
    this.zeroBytes.clear();
    this.snapshot = undefined;
  }

  /** Current counters with the per-counter zeroing applied (trace deltas, tests). */
  counters(): { packets: BigUint64Array; bytes: BigUint64Array } {
    this.latchCounters();
    return this.snapshot!;
  }
}
