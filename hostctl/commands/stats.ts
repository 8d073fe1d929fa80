/**
 * `hostctl stats`: the NIC's own counters (as `ethtool -S` lists a driver's), latched at one instant, with the
 * conservation check rx = accepted + dropped + queued + mirrored_only; the flow table and capture ring fill.
 */
import type { Command } from "commander";
import { STATS } from "../../fpga-model/registers.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, toJson, withNic } from "./nic-session.js";

export async function runStats(opts: { nic?: string; json?: boolean; clear?: boolean }): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const stats = await s.driver.stats();
    const status = await s.driver.status();
    const cap = await s.driver.captureState();
    const accounted = stats.accepted + stats.dropped + stats.queued + stats.mirrored_only;
    const balanced = accounted === stats.rx_packets;
    if (opts.clear) await s.driver.clearStats();
    if (opts.json) {
      return {
        stdout: toJson({ stats, conservation: { rx: stats.rx_packets, accounted, balanced }, generation: status.generation, flows: { count: status.flows, capacity: status.flowCapacity }, capture: { used: (cap.head - cap.tail) >>> 0, drops: cap.drops } }),
        stderr: "",
      };
    }
    const width = Math.max(...STATS.map(([n]) => n.length));
    const lines = ["NIC statistics:"];
    for (const [name] of STATS) lines.push(`     ${(name + ":").padEnd(width + 1)} ${stats[name]}`);
    lines.push(`conservation: rx ${stats.rx_packets} = accepted ${stats.accepted} + dropped ${stats.dropped} + queued ${stats.queued} + mirrored-only ${stats.mirrored_only}: ${balanced ? "balanced" : `OFF BY ${stats.rx_packets - accounted}`}`);
    lines.push(`generation ${status.generation}; flows ${status.flows} of ${status.flowCapacity}; capture ring ${(cap.head - cap.tail) >>> 0} waiting, ${cap.drops} dropped`);
    return { stdout: lines.join("\n") + "\n", stderr: "" };
  });
}

export function registerStats(program: Command): void {
  addNicOption(
    program
      .command("stats")
      .description("the NIC's statistics (packets judged, accepted, dropped, queued, mirrored …) and their conservation")
      .option("--clear", "zero the statistics after printing them")
      .option("--json", "print them as JSON"),
  ).action(async (opts: { nic?: string; json?: boolean; clear?: boolean }) => emit(await runStats(opts)));
}
