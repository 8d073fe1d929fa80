/**
 * The device through its registers: upload, verify, commit, rollback; refused writes change nothing; tables
 * full with a clear error; application pages that cannot reach policy registers.
 */
import { describe, expect, it } from "vitest";
import { assemble, encodeImage, type ProgramImage } from "../../overlay-isa/index.js";
import { NicDevice } from "../../fpga-model/nic-device.js";
import { APP_REG, appPageOffset, ERR, PROG_CMD, PROG_STATE, REG, TBL_CMD } from "../../fpga-model/registers.js";
import { DeviceError, NicDriver } from "../../hostctl/driver/driver.js";
import { Transaction } from "../../hostctl/driver/transaction.js";
import { ACCEPT, DROP, frame, localNic } from "./helpers.js";

/** Accept TCP packets whose destination port is in table t0 (exact, capacity 16), count them; drop the rest. */
function portFilter(capacity = 16, mark?: number): ProgramImage {
  const src = `
.kind policy
.counters 2
.table ports exact capacity ${capacity} key l4.dport
  ldf r1, pkt.len
  lookup.exact r2, ports
  jge r2, 0xffffffff, miss
  count c0, r1
  ${mark !== undefined ? `stf meta.mark, ${mark}` : ""}
  exit accept
miss:
  count c1, r1
  exit drop
`;
  const r = assemble(src);
  return r.image;
}

describe("program slots and commit", () => {
  it("uploads to the shadow slot, commits atomically, keeps the old program for rollback", async () => {
    const { driver, host } = await localNic();
    const a = await driver.loadProgram(portFilter(16, 1), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    expect(a.generation).toBe(1);
    let out = await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 80 })] });
    expect(Array.from(out.verdicts)).toEqual([ACCEPT, DROP]);
    expect(Array.from(out.marks)).toEqual([1, 0]);
    const b = await driver.loadProgram(portFilter(16, 2), [[{ kind: "exact", key: 80n, value: 0 }]], 1);
    expect(b.generation).toBe(2);
    out = await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 80 })] });
    expect(Array.from(out.verdicts)).toEqual([DROP, ACCEPT]);
    expect(Array.from(out.generations)).toEqual([2, 2]);
    expect(host.device.read32(REG.PREVIOUS_GEN)).toBe(1);
    // the previous program comes back with its tables, as a new generation
    expect(await driver.rollback(2)).toBe(3);
    out = await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 80 })] });
    expect(Array.from(out.verdicts)).toEqual([ACCEPT, DROP]);
    expect(Array.from(out.marks)).toEqual([1, 0]);
  });

  it("a packet keeps the generation it latched on entry, whatever commits before it is processed", async () => {
    const { driver, host } = await localNic();
    await driver.loadProgram(portFilter(16, 1), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    const early = driver.inject({ frames: Array.from({ length: 10 }, () => frame({ dport: 22 })) });
    // committed while those packets wait in the receive FIFO
    expect(host.device.pending).toBe(10);
    const t = new Transaction();
    NicDriver.addUpload(t, portFilter(16, 2));
    t.write(REG.COMMIT, 1);
    await driver.run(t);
    expect(host.device.read32(REG.INFLIGHT)).toBe(10);
    const late = driver.inject({ frames: [frame({ dport: 22 })] });
    const [e, l] = await Promise.all([early, late]);
    expect(Array.from(e.generations)).toEqual(Array(10).fill(1));
    expect(Array.from(e.verdicts)).toEqual(Array(10).fill(ACCEPT));
    expect(Array.from(e.marks)).toEqual(Array(10).fill(1));
    expect(Array.from(l.generations)).toEqual([2]);
    expect(Array.from(l.verdicts)).toEqual([DROP]); // generation 2 has an empty table
  });

  it("refuses a commit without a verified program, a stale generation, and a corrupt or unverifiable image — the active program unchanged", async () => {
    const { driver, host } = await localNic();
    const d = host.device;
    await driver.loadProgram(portFilter(), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    const crc = d.read32(REG.ACTIVE_CRC);
    const check = async () => {
      expect(d.read32(REG.ACTIVE_GEN)).toBe(1);
      expect(d.read32(REG.ACTIVE_CRC)).toBe(crc);
      const out = await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 23 })] });
      expect(Array.from(out.verdicts)).toEqual([ACCEPT, DROP]);
    };
    expect(d.write32(REG.COMMIT, 1)).toBe(false);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.NOT_VERIFIED);
    await check();
    // a corrupt image: one flipped byte breaks its CRC
    const bytes = encodeImage(portFilter());
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x40;
    const t = new Transaction();
    NicDriver.addUpload(t, bytes);
    await expect(driver.run(t)).rejects.toThrow(/malformed at byte 24/);
    expect(d.read32(REG.PROG_STATE)).toBe(PROG_STATE.REJECTED);
    expect(d.write32(REG.COMMIT, 1)).toBe(false);
    await check();
    // an image that decodes but fails verification (a backward jump)
    const bad = portFilter();
    bad.code[2] = { ...bad.code[2]!, off: 0xfffe };
    const t2 = new Transaction();
    NicDriver.addUpload(t2, bad);
    await expect(driver.run(t2)).rejects.toThrow(/verifier refused the program: rule backward-jump at index 2/);
    await check();
    // a stale generation: the host thinks 0 is active
    const t3 = new Transaction();
    NicDriver.addUpload(t3, portFilter());
    t3.write(REG.COMMIT, 0);
    await expect(driver.run(t3)).rejects.toThrow(/active generation is 1, not 0/);
    await check();
    // writes into the program window without an upload in progress
    expect(d.write32(REG.PROG_CTRL, PROG_CMD.RESET)).toBe(true);
    expect(d.write32(REG.PROG_DATA, 7)).toBe(false);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.SLOT_BUSY);
    expect(d.write32(REG.PROG_LENGTH, 8)).toBe(true);
    expect(d.write32(REG.PROG_DATA, 1)).toBe(true);
    expect(d.write32(REG.PROG_DATA, 2)).toBe(true);
    expect(d.write32(REG.PROG_DATA, 3)).toBe(false);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.UPLOAD_OVERFLOW);
    expect(d.write32(REG.PROG_CTRL, 9)).toBe(false);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.BAD_VALUE);
    await check();
  });

  it("reports worst-case cycles, and each packet's measured cycles stay within them", async () => {
    const { driver, host } = await localNic();
    await driver.loadProgram(portFilter(), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    const worst = host.device.read32(REG.ACTIVE_WORST_CYCLES);
    expect(worst).toBeGreaterThan(0);
    const out = await driver.inject({ frames: Array.from({ length: 50 }, (_, i) => frame({ dport: 20 + i })) });
    for (const c of out.cycles) {
      expect(c).toBeGreaterThan(0);
      expect(c).toBeLessThanOrEqual(worst);
    }
  });
});

describe("tables", () => {
  it("an entry is live for the next packet, with 4 register writes for a port", async () => {
    const { driver } = await localNic();
    const image = portFilter();
    await driver.loadProgram(image, [[]], 0);
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 443 })] })).verdicts)).toEqual([DROP]);
    await driver.updateTables([{ op: "insert", table: 0, entry: { kind: "exact", key: 443n, value: 0 } }], image.tables);
    expect(driver.last.writes).toBe(3); // value 0 needs no TBL_VALUE write
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 443 })] })).verdicts)).toEqual([ACCEPT]);
    await driver.updateTables([{ op: "delete", table: 0, entry: { kind: "exact", key: 443n, value: 0 } }], image.tables);
    expect(driver.last.writes).toBe(3);
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 443 })] })).verdicts)).toEqual([DROP]);
  });

  it("a full table refuses the next entry, naming the table and its capacity; what it holds is intact", async () => {
    const { driver, host } = await localNic();
    const image = portFilter(4);
    await driver.loadProgram(image, [[1n, 2n, 3n, 4n].map((key) => ({ kind: "exact" as const, key, value: 0 }))], 0);
    const err = await driver.updateTables([{ op: "insert", table: 0, entry: { kind: "exact", key: 5n, value: 0 } }], image.tables).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).message).toBe("table t0 (exact) is full: its capacity is 4 entries");
    expect((err as DeviceError).error).toMatchObject({ code: ERR.TABLE_FULL, arg0: 0, arg1: 4 });
    // replacing an existing entry's value still works in a full table
    await driver.updateTables([{ op: "insert", table: 0, entry: { kind: "exact", key: 4n, value: 9 } }], image.tables);
    const out = await driver.inject({ frames: [1, 2, 3, 4, 5].map((dport) => frame({ dport })) });
    expect(Array.from(out.verdicts)).toEqual([ACCEPT, ACCEPT, ACCEPT, ACCEPT, DROP]);
    expect((await driver.tableUse(1))[0]).toMatchObject({ entries: 4, capacity: 4, kind: "exact", keyBits: 16 });
    // entries that do not fit the table's key, and tables that do not exist
    const d = host.device;
    d.write32(REG.TBL_SELECT, 0);
    d.write32(REG.TBL_KEY, 0x10000); // 17 bits for a 16-bit key
    expect(d.write32(REG.TBL_CTRL, TBL_CMD.INSERT)).toBe(false);
    expect(d.read32(REG.ERROR_CODE)).toBe(ERR.BAD_ENTRY);
    d.write32(REG.TBL_SELECT, 7);
    expect(d.write32(REG.TBL_CTRL, TBL_CMD.INSERT)).toBe(false);
    expect([d.read32(REG.ERROR_CODE), d.read32(REG.ERROR_ARG0), d.read32(REG.ERROR_ARG1)]).toEqual([ERR.NO_TABLE, 7, 1]);
    expect((await driver.tableUse(1))[0]!.entries).toBe(4);
  });

  it("refuses a program whose tables exceed the table memory, keeping the active one", async () => {
    const { driver, host } = await localNic({ tableBlocks: 8 });
    await driver.loadProgram(portFilter(16), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    const err = await driver.loadProgram(portFilter(1 << 16), [[]], 1).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/the program's tables need \d+ BRAM blocks; the NIC's table memory has 8/);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(1);
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 })] })).verdicts)).toEqual([ACCEPT]);
  });
});

describe("application pages", () => {
  it("an application reaches its own page and nothing else: refused and counted", async () => {
    const { driver, host } = await localNic();
    const d: NicDevice = host.device;
    await driver.loadProgram(portFilter(), [[{ kind: "exact", key: 22n, value: 0 }]], 0);
    const app = 5;
    const page = appPageOffset(app);
    expect(d.read32(page + APP_REG.APP_ID, app)).toBe(app);
    expect(d.read32(page + APP_REG.APP_ACTIVE_GEN, app)).toBe(1);
    const errorsBefore = d.read32(REG.ERROR_COUNT);
    // policy registers: commit, rollback, table staging, program upload, the error register itself
    for (const [off, v] of [[REG.COMMIT, 1], [REG.ROLLBACK, 1], [REG.TBL_SELECT, 0], [REG.TBL_CTRL, TBL_CMD.CLEAR], [REG.PROG_CTRL, PROG_CMD.RESET], [REG.QUEUE_APP, app], [REG.ERROR_CLEAR, 1]] as const) {
      expect(d.write32(off, v, app)).toBe(false);
    }
    expect(d.read32(REG.ACTIVE_CRC, app)).toBe(0xffffffff);
    // another application's page
    expect(d.write32(appPageOffset(6) + APP_REG.APP_RX_TAIL, 0, app)).toBe(false);
    expect(d.read32(page + APP_REG.APP_VIOLATIONS, app)).toBe(9);
    expect((await driver.stats()).privilege_violations).toBe(9n);
    // none of it reached the policy, nor the kernel's error registers
    expect(d.read32(REG.ACTIVE_GEN)).toBe(1);
    expect((await driver.tableUse(1))[0]!.entries).toBe(1);
    expect(d.read32(REG.ERROR_COUNT)).toBe(errorsBefore);
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 })] })).verdicts)).toEqual([ACCEPT]);
  });
});
