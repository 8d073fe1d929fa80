/**
 * Rule edits on the live policy: a rule that lowers to a table entry is a table write — the next packets see
 * it, the program is not reloaded (same generation, same image), at most 16 register writes (counted here at
 * the transport, independently of the driver) — and every other rule's counters continue.
 */
import { describe, expect, it } from "vitest";
import { SourceError } from "../../overlay-isa/index.js";
import { REG } from "../../fpga-model/registers.js";
import { NicDriver } from "../../hostctl/driver/driver.js";
import { PolicyDriver } from "../../hostctl/driver/policy-driver.js";
import { decodeTransaction, OP_WRITE, type Transaction } from "../../hostctl/driver/transaction.js";
import type { NicTransport, StateUpdate, TransactResult } from "../../hostctl/driver/transport.js";
import { LocalTransport } from "../../hostctl/daemon/local-transport.js";
import { NicHost } from "../../hostctl/daemon/nic-host.js";
import { ACCEPT, DROP, frame, iptables, kopi } from "./helpers.js";

/** Counts the register writes that cross the transport, transaction by transaction. */
class CountingTransport extends LocalTransport {
  transactions: number[] = [];
  override async transact(txn: Transaction, update?: StateUpdate): Promise<TransactResult> {
    const decoded = decodeTransaction(txn.encode());
    if ("error" in decoded) throw new Error(decoded.error);
    this.transactions.push(decoded.ops.filter((o) => o.kind === OP_WRITE).length);
    return super.transact(txn, update);
  }
  /** writes of the transactions since the mark */
  since(mark: number): number[] {
    return this.transactions.slice(mark).filter((w) => w > 0);
  }
}

async function nic(): Promise<{ host: NicHost; t: CountingTransport; driver: NicDriver; policy: PolicyDriver }> {
  const host = await NicHost.create();
  const t = new CountingTransport(host);
  const driver = new NicDriver(t as NicTransport);
  return { host, t, driver, policy: new PolicyDriver(driver) };
}

const FAMILIES = `table filter {
  chain ingress { policy drop;
    tcp dport 1001 accept
    tcp dport 1002 accept
    tcp dport 1003 drop
    tcp dport 1004 accept
    tcp dport 1005 accept
    ip saddr 10.0.0.0/8 accept
    ip saddr 10.1.0.0/16 drop
    ip saddr 172.16.0.0/12 accept
    ip saddr 192.168.1.1 accept
    ip saddr 198.51.100.0/24 drop
    udp dport 53 accept
  }
}
`;

async function verdicts(driver: NicDriver, frames: Uint8Array[]): Promise<number[]> {
  return Array.from((await driver.inject({ frames })).verdicts);
}

describe("rule edits without a program reload", () => {
  it("adding and deleting a port rule of a family: table writes only, ≤ 16 register writes, next packets see it", async () => {
    const { host, t, driver, policy } = await nic();
    await policy.load(kopi(FAMILIES));
    const gen = host.device.read32(REG.ACTIVE_GEN);
    const crc = host.device.read32(REG.ACTIVE_CRC);
    const probe = [frame({ dport: 1001 }), frame({ dport: 1007, src: 0xc0000201 })];
    expect(await verdicts(driver, probe)).toEqual([ACCEPT, DROP]);

    let mark = t.transactions.length;
    const add = await policy.edit({ op: "insert", chain: "ingress", number: 3, rule: "tcp dport 1007 accept" });
    expect(add.mode).toBe("tables");
    const writes = t.since(mark);
    expect(writes.length).toBe(1); // one transaction changed the NIC
    expect(writes[0]).toBeLessThanOrEqual(16);
    expect(writes[0]).toBe(add.writes);
    expect(add).toMatchObject({ inserted: 1, deleted: 0 });
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(gen);
    expect(host.device.read32(REG.ACTIVE_CRC)).toBe(crc);
    expect(await verdicts(driver, probe)).toEqual([ACCEPT, ACCEPT]);

    mark = t.transactions.length;
    const del = await policy.edit({ op: "delete", chain: "ingress", number: 3 });
    expect(del.mode).toBe("tables");
    expect(t.since(mark)).toEqual([del.writes]);
    expect(del.writes).toBeLessThanOrEqual(16);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(gen);
    expect(await verdicts(driver, probe)).toEqual([ACCEPT, DROP]);
  });

  it("prefix rules (an LPM family), replace, and delete by rule text are table writes too", async () => {
    const { host, driver, policy } = await nic();
    await policy.load(kopi(FAMILIES));
    const gen = host.device.read32(REG.ACTIVE_GEN);
    const from = (a: number, b: number, c: number, d: number) => frame({ dport: 9, src: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 });
    expect(await verdicts(driver, [from(172, 20, 0, 1), from(10, 1, 2, 3), from(10, 2, 0, 1)])).toEqual([ACCEPT, ACCEPT, ACCEPT]);
    // rule 6 (10.0.0.0/8 accept) decides before rule 7 (10.1.0.0/16 drop): replacing it with 10.2.0.0/16 exposes rule 7
    const r = await policy.edit({ op: "replace", chain: "ingress", number: 6, rule: "ip saddr 10.2.0.0/16 accept" });
    expect(r.mode).toBe("tables");
    expect(r.writes).toBeLessThanOrEqual(16);
    expect(await verdicts(driver, [from(172, 20, 0, 1), from(10, 1, 2, 3), from(10, 2, 0, 1)])).toEqual([ACCEPT, DROP, ACCEPT]);
    const d = await policy.edit({ op: "delete-spec", chain: "ingress", rule: "ip saddr 172.16.0.0/12 accept" });
    expect(d.mode).toBe("tables");
    expect(await verdicts(driver, [from(172, 20, 0, 1)])).toEqual([DROP]);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(gen);
  });

  it("iptables-save policies: -A INPUT -p tcp --dport N -j ACCEPT joins its family as a table entry", async () => {
    const { host, driver, policy } = await nic();
    const rules = [22, 80, 443, 8080].map((p) => `-A INPUT -p tcp -m tcp --dport ${p} -j ACCEPT`).join("\n");
    await policy.load(iptables(`*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules}\nCOMMIT\n`));
    const gen = host.device.read32(REG.ACTIVE_GEN);
    expect(await verdicts(driver, [frame({ dport: 8443 })])).toEqual([DROP]);
    const r = await policy.edit({ op: "append", chain: "INPUT", rule: "-p tcp -m tcp --dport 8443 -j ACCEPT" });
    expect(r.mode).toBe("tables");
    expect(r.writes).toBeLessThanOrEqual(16);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(gen);
    expect(await verdicts(driver, [frame({ dport: 8443 })])).toEqual([ACCEPT]);
    const saved = (await policy.live()).record.state!.policy!.text;
    expect(saved).toContain("-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT\n");
  });

  it("other rules keep counting across table edits; a new rule starts at zero; listing numbers follow", async () => {
    const { driver, policy } = await nic();
    await policy.load(kopi(FAMILIES));
    await driver.inject({ frames: [frame({ dport: 1001 }), frame({ dport: 1001 }), frame({ dport: 1005 })] });
    await policy.edit({ op: "delete", chain: "ingress", number: 2 });
    await policy.edit({ op: "insert", chain: "ingress", number: 1, rule: "tcp dport 1009 accept" });
    await driver.inject({ frames: [frame({ dport: 1001 }), frame({ dport: 1009 })] });
    const { program, record } = await policy.live();
    const counters = await policy.counters(record.state!);
    const rules = program!.ir.chains[0]!.rules;
    const count = (text: string) => counters[rules.find((r) => r.text === text)!.counter]!.packets;
    expect(rules.map((r) => r.text).slice(0, 3)).toEqual(["tcp dport 1009 accept", "tcp dport 1001 accept", "tcp dport 1003 drop"]);
    expect(count("tcp dport 1001 accept")).toBe(3n);
    expect(count("tcp dport 1005 accept")).toBe(1n);
    expect(count("tcp dport 1009 accept")).toBe(1n);
  });

  it("a rule the program cannot take as data reloads atomically, carrying every count over; table edits work after it", async () => {
    const { host, driver, policy } = await nic();
    await policy.load(kopi(FAMILIES));
    await driver.inject({ frames: [frame({ dport: 1001 }), frame({ proto: "udp", dport: 53, src: 0xc0000201 })] });
    const r = await policy.edit({ op: "append", chain: "ingress", rule: "tcp dport 25 reject with tcp-reset" });
    expect(r.mode).toBe("reload");
    expect(r.generation).toBe(r.previousGeneration + 1);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(r.generation);
    await driver.inject({ frames: [frame({ dport: 1001 })] });
    const { program, record } = await policy.live();
    const counters = await policy.counters(record.state!);
    const rules = program!.ir.chains[0]!.rules;
    expect(counters[rules[0]!.counter]!.packets).toBe(2n);
    expect(counters[rules.find((x) => x.text === "udp dport 53 accept")!.counter]!.packets).toBe(1n);
    const t = await policy.edit({ op: "insert", chain: "ingress", number: 2, rule: "tcp dport 1010 accept" });
    expect(t.mode).toBe("tables");
    expect(await verdicts(driver, [frame({ dport: 1010 }), frame({ dport: 25, src: 0xc0000201 })])).toEqual([ACCEPT, 0x103]);
  });

  it("a family table that would overflow its capacity becomes a reload with a larger table, not an error", async () => {
    const { driver, policy } = await nic();
    const ports = Array.from({ length: 16 }, (_, i) => `    tcp dport ${2000 + i} accept`).join("\n");
    await policy.load(kopi(`table filter {\n  chain ingress { policy drop;\n${ports}\n  }\n}\n`));
    const r = await policy.edit({ op: "append", chain: "ingress", rule: "tcp dport 2016 accept" });
    expect(r.mode).toBe("reload");
    expect(r.program.tables[0]!.capacity).toBe(32);
    expect(await verdicts(driver, [frame({ dport: 2016 }), frame({ dport: 2017 })])).toEqual([ACCEPT, DROP]);
  });
});

describe("rule edit errors", () => {
  it("point at the rule the user typed, or name what does not exist — and change nothing", async () => {
    const { host, policy } = await nic();
    await policy.load(kopi(FAMILIES));
    const before = (await policy.live()).record;
    const bad = await policy.edit({ op: "append", chain: "ingress", rule: "tcp dport 99999 accept" }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SourceError);
    expect((bad as SourceError).format()).toBe("<rule>:1:11: port 99999 is out of range (0 to 65535)\n  tcp dport 99999 accept\n            ^");
    await expect(policy.edit({ op: "delete", chain: "egress", number: 1 })).rejects.toThrow("chain 'egress' does not exist (chains: ingress)");
    await expect(policy.edit({ op: "delete", chain: "ingress", number: 12 })).rejects.toThrow("index of deletion too big: chain ingress has 11 rules");
    await expect(policy.edit({ op: "insert", chain: "ingress", number: 13, rule: "drop" })).rejects.toThrow("index of insertion too big");
    await expect(policy.edit({ op: "delete-spec", chain: "ingress", rule: "tcp dport 1 accept" })).rejects.toThrow("no rule 'tcp dport 1 accept' in chain ingress");
    const after = (await policy.live()).record;
    expect(after.revision).toBe(before.revision);
    expect(after.state).toEqual(before.state);
    expect(host.device.read32(REG.ACTIVE_GEN)).toBe(before.state!.generation);
  });
});
