/** The timing and resource model: cycles from the opcode table → packets/s, cores for line rate, BRAM blocks. */
import { describe, expect, it } from "vitest";
import { assemble, OPCODES, verify } from "../../overlay-isa/index.js";
import { bramBlocks, formatTiming, hxdpEquivalent, LINE_RATE, resourcesOf, tableResources, timingOf } from "../../fpga-model/timing.js";
import { REG } from "../../fpga-model/registers.js";
import { freshProgram } from "../../hostctl/driver/policy-program.js";
import { frame, kopi, localNic } from "./helpers.js";

describe("timing model", () => {
  it("turns worst-case cycles into packets/s per core and cores for 100GbE line rate", () => {
    expect(LINE_RATE.mpps).toBeCloseTo(148.81, 2);
    const t = timingOf(18);
    expect(t.mppsPerCore).toBeCloseTo(250 / 18, 9);
    expect(t.nsPerPacket).toBeCloseTo(72, 9);
    expect(t.coresNeeded).toBe(11);
    expect(formatTiming(t)).toBe("worst case 18 cycles/packet → 13.9 Mpps per core at 250 MHz; 11 cores needed for 148.8 Mpps (100GbE, 64 B)");
    expect(formatTiming(timingOf(1))).toBe("worst case 1 cycles/packet → 250 Mpps per core at 250 MHz; 1 core needed for 148.8 Mpps (100GbE, 64 B)");
    const slow = timingOf(33, { clockMHz: 156, cores: 4 });
    expect(slow.mppsPerCore).toBeCloseTo(156 / 33, 9);
    expect(slow.modeledMpps).toBeCloseTo((4 * 156) / 33, 9);
    expect(slow.meetsLineRate).toBe(false);
    // hXDP at its published ~7 ns per instruction
    expect(hxdpEquivalent(20)).toEqual({ nsPerPacket: 140, mpps: 1000 / 140 });
  });

  it("a program's worst case is the verifier's longest path over the opcode table's cycles, and the NIC reports it", async () => {
    const { image } = assemble(".kind filter\n  ldf r1, pkt.len\n  jgt r1, 100, big\n  exit accept\nbig:\n  mul r2, r1, 3\n  exit drop\n");
    const cycles = (m: string) => OPCODES.find((o) => o.mnemonic === m)!.cycles;
    expect(verify(image).worstCaseCycles).toBe(cycles("ldf") + cycles("jgt") + cycles("mul") + cycles("exit"));
    const { driver, host } = await localNic();
    await driver.loadProgram(image, [], 0);
    expect(host.device.read32(REG.ACTIVE_WORST_CYCLES)).toBe(verify(image).worstCaseCycles);
    const out = await driver.inject({ frames: [frame({ size: 64 }), frame({ size: 200 })] });
    expect(Array.from(out.cycles)).toEqual([cycles("ldf") + cycles("jgt") + cycles("exit"), verify(image).worstCaseCycles]);
  });
});

describe("resource model", () => {
  it("counts RAMB36 blocks at their best aspect ratio", () => {
    expect(bramBlocks(512, 72)).toBe(1);
    expect(bramBlocks(513, 72)).toBe(2);
    expect(bramBlocks(32768, 1)).toBe(1);
    expect(bramBlocks(4096, 9)).toBe(1);
    expect(bramBlocks(4096, 65)).toBe(8);
    expect(bramBlocks(0, 10)).toBe(0);
  });

  it("sizes tables as the VM lays them out", () => {
    const exact = tableResources(0, { kind: "exact", keyFields: [57], capacity: 16 }); // l4.dport
    expect(exact).toMatchObject({ keyBits: 16, depth: 32, entryBits: 49, blocks: 1 });
    const lpm = tableResources(1, { kind: "lpm", keyFields: [41], capacity: 1024 }); // ip.src
    expect(lpm).toMatchObject({ keyBits: 32, depth: 2048, entryBits: 73 });
    expect(lpm.blocks).toBe(bramBlocks(2048, 73));
    const p = freshProgram(kopi("table filter {\n  chain ingress { policy drop;\n" + Array.from({ length: 40 }, (_, i) => `    tcp dport ${i + 1} accept`).join("\n") + "\n  }\n}\n"));
    const r = resourcesOf(p.image, 1024);
    expect(r.tables).toHaveLength(1);
    expect(r.tables[0]).toMatchObject({ kind: "exact", capacity: 64, depth: 128 });
    expect(r.fits).toBe(true);
    expect(r.instructionBlocks).toBe(bramBlocks(32768, 64));
  });
});
