/**
 * `hostctl status`: what the NIC runs — generation, program, its worst-case cycles and modeled throughput,
 * table use against capacity and table memory, a pending `load --confirm`.
 */
import type { Command } from "commander";
import { STATUS } from "../../fpga-model/registers.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, toJson, withNic } from "./nic-session.js";

export async function runStatus(opts: { nic?: string; json?: boolean }): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const st = await s.policy.status();
    const { info, status, record, program, tables } = st;
    const pending = record.pendingConfirm;
    if (opts.json) {
      return {
        stdout: toJson({
          nic: s.transport.name,
          device: info,
          generation: status.generation,
          previousGeneration: status.previousGeneration,
          program: status.generation > 0 ? { crc: status.crc.toString(16).padStart(8, "0"), instructions: status.instructions, worstCaseCycles: status.worstCaseCycles, tables: status.tables, counters: status.counters, tableBlocks: status.tableBlocks } : null,
          policy: record.state?.policy ? { file: record.state.policy.file, format: record.state.policy.format, rules: program?.ir.chains.reduce((n, c) => n + c.rules.length, 0) ?? null, changedAt: record.state.changedAt } : null,
          timing: st.timing ?? null,
          tables: tables.map((t) => ({ ...t, purpose: program?.tables.find((x) => x.id === t.table)?.purpose ?? null })),
          flows: { count: status.flows, capacity: status.flowCapacity },
          inflight: status.inflight,
          errors: status.errorCount,
          pendingConfirm: pending ? { generation: pending.generation, deadline: new Date(pending.deadline).toISOString() } : null,
        }),
        stderr: "",
      };
    }
    const out: string[] = [];
    out.push(`NIC ${s.transport.name}: kopi register map ${info.version}, ${info.cores} overlay cores at ${info.clockMHz} MHz`);
    if (status.generation === 0) out.push("no program loaded: every packet passes");
    else {
      out.push(`generation ${status.generation}${(status.status & STATUS.PREVIOUS) !== 0 ? ` (previous program kept: generation ${status.previousGeneration})` : ""}`);
      const p = record.state?.policy;
      out.push(`policy ${p ? `${p.file} (${p.format}, ${program?.ir.chains.reduce((n, c) => n + c.rules.length, 0) ?? "?"} rules, changed ${record.state?.changedAt})` : "(not loaded by hostctl)"}`);
      out.push(`program: ${status.instructions} instructions, ${status.tables} table${status.tables === 1 ? "" : "s"}, ${status.counters} counters, CRC ${status.crc.toString(16).padStart(8, "0")}`);
      if (st.timingLine) out.push(st.timingLine);
      out.push(`table memory: ${status.tableBlocks} of ${info.tableBlocks} BRAM blocks`);
      for (const t of tables) {
        const purpose = program?.tables.find((x) => x.id === t.table)?.purpose;
        out.push(`  t${t.table} ${t.kind} (${t.keyBits}-bit key): ${t.entries} of ${t.capacity} entries${purpose ? ` — ${purpose}` : ""}`);
      }
    }
    out.push(`flows: ${status.flows} of ${status.flowCapacity}`);
    if (pending) out.push(`waiting for confirmation: generation ${pending.generation} rolls back at ${new Date(pending.deadline).toISOString()} unless \`hostctl confirm\``);
    return { stdout: out.join("\n") + "\n", stderr: "" };
  });
}

export function registerStatus(program: Command): void {
  addNicOption(
    program
      .command("status")
      .description("what the NIC runs: generation, program, worst-case cycles and modeled throughput, table use")
      .option("--json", "print it as JSON"),
  ).action(async (opts: { nic?: string; json?: boolean }) => emit(await runStatus(opts)));
}
