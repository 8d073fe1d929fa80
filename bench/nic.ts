/**
 * NIC control-plane benchmark (issue 5): for policies of 10 … 10,000 rules, the commit latency (the one
 * register transaction that uploads the program, writes its tables and commits) and its register writes, in
 * process and through the daemon's socket; single-rule add latency and its register writes (a table write, no
 * reload); the daemon's round trip per transaction; injected packets/s through the daemon, batched and
 * pipelined so the socket is not the bottleneck. Returns a plain object; bench/run.ts prints it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REG } from "../fpga-model/registers.js";
import { NicDriver } from "../hostctl/driver/driver.js";
import { PolicyDriver } from "../hostctl/driver/policy-driver.js";
import { freshProgram } from "../hostctl/driver/policy-program.js";
import { Transaction } from "../hostctl/driver/transaction.js";
import { SocketTransport } from "../hostctl/daemon/client.js";
import { LocalTransport } from "../hostctl/daemon/local-transport.js";
import { NicHost } from "../hostctl/daemon/nic-host.js";
import { startNic } from "../hostctl/commands/nic.js";
import { makeFrames } from "./frames.js";
import { benchPolicyText } from "./policy.js";

export interface NicLoadRow {
  rules: number;
  instructions: number;
  tableEntries: number;
  compileMs: number;
  /** upload + tables + commit, one transaction, in process */
  commitMs: number;
  /** the same through the daemon's socket */
  commitMsSocket: number;
  registerWrites: number;
  worstCaseCycles: number;
}

export interface NicBenchResult {
  loads: NicLoadRow[];
  ruleAdd: {
    policyRules: number;
    mode: string;
    registerWrites: number;
    /** whole `rule add`: recompiling the edited policy, diffing, the transaction */
    totalMs: number;
    /** the register transaction alone */
    transactionMs: number;
  };
  roundTrip: { transactions: number; medianUs: number; p99Us: number };
  inject: { packets: number; frameBytes: number; batch: number; inFlight: number; socketPps: number; localPps: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

async function injectRate(driver: NicDriver, frames: Uint8Array[], batch: number, inFlight: number): Promise<number> {
  // warm up: the VM's code tiers up after the first calls
  await driver.inject({ frames: frames.slice(0, batch) });
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let at = 0; at < frames.length; at += batch) {
    pending.push(driver.inject({ frames: frames.slice(at, at + batch) }));
    if (pending.length >= inFlight) await pending.shift();
  }
  await Promise.all(pending);
  return frames.length / ((performance.now() - t0) / 1000);
}

export async function benchNic(opts: { sizes?: number[]; packets?: number; roundTrips?: number; repeats?: number } = {}): Promise<NicBenchResult> {
  const sizes = opts.sizes ?? [10, 100, 1000, 10000];
  const repeats = opts.repeats ?? 3;
  const packets = opts.packets ?? 200_000;
  const roundTrips = opts.roundTrips ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), "kopi-bench-nic-"));
  const nic = await startNic({ socket: join(dir, "nic0.sock") });
  try {
    const local = new NicDriver(new LocalTransport(await NicHost.create()));
    const socket = await SocketTransport.connect(nic.socketPath);
    const remote = new NicDriver(socket);
    const loads: NicLoadRow[] = [];
    for (const n of sizes) {
      const source = { file: `bench-${n}.kopi`, format: "kopi" as const, text: benchPolicyText(n) };
      const t0 = performance.now();
      const program = freshProgram(source);
      const compileMs = performance.now() - t0;
      // median of a few commits (the first ones of a process pay for V8's warm-up)
      const time = async (driver: NicDriver) => {
        const ms: number[] = [];
        let writes = 0;
        for (let r = 0; r < repeats; r++) {
          const gen = await driver.activeGeneration();
          const s = performance.now();
          writes = (await driver.loadProgram(program.image, program.entries, gen)).writes;
          ms.push(performance.now() - s);
        }
        return { ms: median(ms), writes };
      };
      const l = await time(local);
      const s = await time(remote);
      loads.push({
        rules: program.ir.chains.reduce((k, c) => k + c.rules.length, 0),
        instructions: program.image.code.length,
        tableEntries: program.entries.reduce((k, t) => k + t.length, 0),
        compileMs,
        commitMs: l.ms,
        commitMsSocket: s.ms,
        registerWrites: l.writes,
        worstCaseCycles: program.verify.worstCaseCycles ?? 0,
      });
    }

    // one rule added to the largest policy: a table write
    const largest = sizes[sizes.length - 1]!;
    const policy = new PolicyDriver(remote);
    await policy.load({ file: `bench-${largest}.kopi`, format: "kopi", text: benchPolicyText(largest) });
    const t0 = performance.now();
    const add = await policy.edit({ op: "append", chain: "ingress", rule: "ip daddr 192.168.250.250 udp dport 53 accept" });
    const totalMs = performance.now() - t0;
    // the same kind of write on its own: re-insert (replace) one entry of the first non-empty table
    const table = add.program.entries.findIndex((t) => t.length > 0);
    const tx = new Transaction();
    if (table >= 0) NicDriver.addTableOp(tx, "insert", table, add.program.entries[table]![0]!, {});
    const t1 = performance.now();
    await remote.run(tx);
    const transactionMs = performance.now() - t1;

    // daemon round trip: one register read per transaction
    const rtts: number[] = [];
    for (let i = 0; i < roundTrips; i++) {
      const t = new Transaction();
      t.read(REG.SCRATCH);
      const s = performance.now();
      await remote.run(t);
      rtts.push((performance.now() - s) * 1000);
    }

    const { frames } = makeFrames({ count: packets, size: 64, seed: 5, hotPorts: [53, 123], hotFraction: 0.3 });
    const batch = 4096;
    const inFlight = 4;
    await local.loadProgram(freshProgram({ file: "bench-100.kopi", format: "kopi", text: benchPolicyText(100) }).image, [], await local.activeGeneration());
    const socketPps = await injectRate(remote, frames, batch, inFlight);
    const localPps = await injectRate(local, frames, batch, inFlight);
    await socket.close();
    return {
      loads,
      ruleAdd: { policyRules: largest, mode: add.mode, registerWrites: add.writes, totalMs, transactionMs },
      roundTrip: { transactions: roundTrips, medianUs: median(rtts), p99Us: percentile(rtts, 99) },
      inject: { packets, frameBytes: 64, batch, inFlight, socketPps, localPps },
    };
  } finally {
    await nic.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
