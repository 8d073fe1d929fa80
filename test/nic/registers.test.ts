/** The register map: one source (registers.ts), REGISTERS.md generated from it, and every access checked. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NicDevice } from "../../fpga-model/nic-device.js";
import { renderRegistersMarkdown } from "../../fpga-model/registers-doc.js";
import { APP_PAGE_BASE, APP_REGISTERS, BAR0_SIZE, DEVICE_ID, ERR, KERNEL_REGISTERS, MAP_VERSION, REG, STAT_BASE, STATS } from "../../fpga-model/registers.js";

describe("register map", () => {
  it("REGISTERS.md is generated from registers.ts and up to date", () => {
    const md = readFileSync(fileURLToPath(new URL("../../fpga-model/REGISTERS.md", import.meta.url)), "utf8");
    expect(md).toBe(renderRegistersMarkdown());
    for (const r of KERNEL_REGISTERS) expect(md).toContain(`\`${r.count ? `${r.name}[0..${r.count - 1}]` : r.name}\``);
  });

  it("registers are aligned, inside their zone, and do not overlap", () => {
    const seen = new Set<number>();
    for (const r of KERNEL_REGISTERS) {
      for (let w = 0; w < (r.count ?? 1); w++) {
        const at = r.offset + 4 * w;
        expect(at % 4).toBe(0);
        expect(at).toBeLessThan(APP_PAGE_BASE);
        expect(seen.has(at)).toBe(false);
        seen.add(at);
      }
    }
    for (const r of APP_REGISTERS) expect(r.offset % 4).toBe(0);
    expect(STAT_BASE + 8 * STATS.length).toBeLessThanOrEqual(REG.FLOW_CAPACITY);
  });

  it("identifies itself", () => {
    const d = NicDevice.createSync();
    expect(d.read32(REG.ID)).toBe(DEVICE_ID);
    expect(d.read32(REG.VERSION)).toBe(MAP_VERSION);
    expect(d.read32(REG.ERROR_COUNT)).toBe(0);
  });

  it("refuses writes to read-only registers, reads of write-only ones, and unmapped offsets, changing nothing", () => {
    const d = NicDevice.createSync();
    const snapshot = () => KERNEL_REGISTERS.filter((r) => r.access !== "wo" && !["ERROR_CODE", "ERROR_ARG0", "ERROR_ARG1", "ERROR_COUNT", "STATUS"].includes(r.name)).map((r) => d.read32(r.offset));
    const before = snapshot();
    let errors = 0;
    for (const r of KERNEL_REGISTERS.filter((x) => x.access === "ro")) {
      expect(d.write32(r.offset, 1)).toBe(false);
      expect(d.read32(REG.ERROR_CODE)).toBe(ERR.READ_ONLY);
      expect(d.read32(REG.ERROR_ARG0)).toBe(r.offset);
      errors++;
    }
    for (const r of KERNEL_REGISTERS.filter((x) => x.access === "wo")) {
      expect(d.read32(r.offset)).toBe(0);
      expect(d.read32(REG.ERROR_CODE)).toBe(ERR.WRITE_ONLY);
      errors++;
    }
    for (const off of [0x3fc, 0x2, 0x1001, BAR0_SIZE, APP_PAGE_BASE, APP_PAGE_BASE + 0x800]) {
      expect(d.write32(off, 5)).toBe(false);
      expect(d.read32(REG.ERROR_CODE)).toBe(ERR.BAD_OFFSET);
      errors++;
    }
    expect(d.read32(REG.ERROR_COUNT)).toBe(errors);
    expect(snapshot()).toEqual(before);
    expect(d.write32(REG.ERROR_CLEAR, 1)).toBe(true);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.NONE);
  });

  it("random writes that the device refuses never change its state (property)", () => {
    const d = NicDevice.createSync();
    const readable = KERNEL_REGISTERS.filter((r) => r.access !== "wo" && !["ERROR_CODE", "ERROR_ARG0", "ERROR_ARG1", "ERROR_COUNT", "STATUS", "TBL_RESULT"].includes(r.name));
    const snapshot = () => readable.flatMap((r) => Array.from({ length: r.count ?? 1 }, (_, w) => d.read32(r.offset + 4 * w)));
    const staging: number[] = [];
    const verdictOf: Record<string, number[]> = { PROG: [], EG: [] };
    let at = 0;
    for (const r of readable) {
      for (let w = 0; w < (r.count ?? 1); w++, at++) {
        if (["TBL_ARG", "TBL_VALUE", "TBL_KEY", "TBL_MASK"].includes(r.name)) staging.push(at);
        // a LOAD the verifier refuses is refused and leaves the shadow slot REJECTED with the reason (REGISTERS.md)
        if (/^PROG_(STATE|REJECT_)/.test(r.name)) verdictOf.PROG!.push(at);
        if (/^EG_(STATE|REJECT_)/.test(r.name)) verdictOf.EG!.push(at);
      }
    }
    const mapped = [...KERNEL_REGISTERS.map((r) => r.offset), ...APP_REGISTERS.map((r) => APP_PAGE_BASE + 0x1000 * 3 + r.offset)];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...mapped), fc.integer({ min: 0, max: BAR0_SIZE + 64 })), fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(-1, 2 ** 32, 1.5, Number.NaN)), (offset, value) => {
        const before = snapshot();
        const count = d.read32(REG.ERROR_COUNT);
        const ok = d.write32(offset, value);
        if (!ok) {
          expect(d.read32(REG.ERROR_COUNT)).toBe((count + 1) >>> 0);
          const after = snapshot();
          // a valid table command consumes the staged entry even when refused (REGISTERS.md); nothing else moves
          if (offset === REG.TBL_CTRL) for (const i of staging) after[i] = before[i]!;
          for (const [unit, ctrl] of [["PROG", REG.PROG_CTRL], ["EG", REG.EG_CTRL]] as const) {
            if (offset === ctrl && after[verdictOf[unit]![0]!] === 3) for (const i of verdictOf[unit]!) after[i] = before[i]!;
          }
          expect(after).toEqual(before);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
