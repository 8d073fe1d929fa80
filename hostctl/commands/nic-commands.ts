/**
 * Every NIC command in one call, for hostctl/main.ts: nic start|stop, load, confirm, rule, list, zero, stats,
 * save, restore, trace, status, inject. (`hostctl capture -i nic0` is the capture command with
 * `openLiveSource: nicLiveSource()` from ./capture-nic.js.)
 */
import type { Command } from "commander";
import { registerInject } from "./inject.js";
import { registerList } from "./list.js";
import { registerLoad } from "./load.js";
import { registerNic } from "./nic.js";
import { registerRule } from "./rule.js";
import { registerSave } from "./save.js";
import { registerStats } from "./stats.js";
import { registerStatus } from "./status.js";
import { registerTrace } from "./trace.js";

export function registerNicCommands(program: Command): void {
  registerNic(program);
  registerLoad(program);
  registerRule(program);
  registerList(program);
  registerStats(program);
  registerSave(program);
  registerTrace(program);
  registerStatus(program);
  registerInject(program);
}
