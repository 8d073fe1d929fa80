/**
 * Exhaustion: a full flow table is a counted fallback (the packet's ct.state is invalid, the policy decides),
 * a policy whose tables do not fit the NIC is refused before anything changes, and a rule edit that outgrows
 * its table or counter pool becomes an atomic reload — never a crash or a half-applied policy.
 */
import { describe, expect, it } from "vitest";
import { REG } from "../../fpga-model/registers.js";
import { DeviceError } from "../../hostctl/driver/driver.js";
import { ACCEPT, DROP, frame, kopi, localNic } from "./helpers.js";

const CONNTRACK = `table filter {
  chain ingress { policy drop;
    ct state invalid counter drop
    ct state established accept
    tcp dport 80 accept
  }
}
`;

describe("exhaustion", () => {
  it("a full flow table: new flows are invalid and counted, tracked ones go on, the books balance", async () => {
    const { driver, policy } = await localNic({ flowCapacity: 4 });
    await policy.load(kopi(CONNTRACK));
    const syn = (i: number) => frame({ dport: 80, sport: 30000 + i, tcpFlags: 0x02 });
    const reply = (i: number) => frame({ src: 0xc0a80001, dst: 0x0a000001, sport: 80, dport: 30000 + i, tcpFlags: 0x12 });
    const first = await driver.inject({ frames: Array.from({ length: 10 }, (_, i) => syn(i)) });
    expect(Array.from(first.verdicts)).toEqual([...Array(4).fill(ACCEPT), ...Array(6).fill(DROP)]);
    let stats = await driver.stats();
    expect(stats.flow_overflows).toBe(6n);
    expect((await driver.status()).flows).toBe(4);
    // the tracked flows still work both ways
    const replies = await driver.inject({ frames: [reply(0), reply(3)], dir: 0 });
    expect(Array.from(replies.verdicts)).toEqual([ACCEPT, ACCEPT]);
    const { program, record } = await policy.live();
    const counters = await policy.counters(record.state!);
    expect(counters[program!.ir.chains[0]!.rules[0]!.counter]!.packets).toBe(6n); // ct state invalid drop
    stats = await driver.stats();
    expect(stats.rx_packets).toBe(12n);
    expect(stats.accepted + stats.dropped + stats.queued + stats.mirrored_only).toBe(12n);
    // a bigger table (set through its register) takes the flows that did not fit
    await driver.setFlowCapacity(64);
    expect(Array.from((await driver.inject({ frames: [syn(7)] })).verdicts)).toEqual([ACCEPT]);
  });

  it("a policy whose tables do not fit the table memory is refused, naming both sizes; the old one stays", async () => {
    const { driver, policy, host } = await localNic({ tableBlocks: 4 });
    await policy.load(kopi("table filter {\n  chain ingress { policy drop;\n    tcp dport 22 accept\n  }\n}\n"));
    const elements = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).join(", ");
    const big = `table filter {\n  set blocked { type ipv4_addr; elements = { ${elements} } }\n  chain ingress { policy drop;\n    ip saddr @blocked drop\n    tcp dport 22 accept\n  }\n}\n`;
    const err = await policy.load(kopi(big)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toMatch(/^the program's tables need \d+ BRAM blocks; the NIC's table memory has 4$/);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(1);
    expect((await policy.live()).record.state!.policy!.text).toContain("tcp dport 22 accept");
    expect(Array.from((await driver.inject({ frames: [frame({ dport: 22 }), frame({ dport: 23 })] })).verdicts)).toEqual([ACCEPT, DROP]);
  });

  it("rule edits that use up the spare counters reload with a larger pool", async () => {
    const { host, driver, policy } = await localNic();
    const ports = Array.from({ length: 8 }, (_, i) => `    tcp dport ${3000 + i} accept`).join("\n");
    const r = await policy.load(kopi(`table filter {\n  chain ingress { policy drop;\n${ports}\n  }\n}\n`));
    const spare = r.program.counters.declared - 9;
    let reloads = 0;
    for (let i = 0; i < spare + 1; i++) {
      const e = await policy.edit({ op: "insert", chain: "ingress", number: 1, rule: `tcp dport ${4000 + i} accept` });
      if (e.mode === "reload") reloads++;
    }
    // one reload for the table capacities crossed (16, 32, 64) each, and one for the counter pool
    expect(reloads).toBeGreaterThan(0);
    const { program } = await policy.live();
    expect(program!.counters.declared).toBeGreaterThan(r.program.counters.declared);
    expect(host.device.read32(REG.ACTIVE_COUNTERS)).toBe(program!.counters.declared);
    const probe = [frame({ dport: 4000 }), frame({ dport: 4000 + spare }), frame({ dport: 3007 }), frame({ dport: 2999 })];
    expect(Array.from((await driver.inject({ frames: probe })).verdicts)).toEqual([ACCEPT, ACCEPT, ACCEPT, DROP]);
  });
});
