/**
 * Owner names for the egress scheduler's classifier. A qdisc's filters match `owner cmd` / `owner cgroup` by
 * the ids its classifier interned, which are not the policy program's: the NIC keeps them per application in
 * the egress block (EG_NAME_*). The loader writes them for the applications attached at the load; this keeps
 * them in step afterwards — applications attached or detached later — before the daemon processes packets.
 */
import { APP_PAGES, REG } from "../../fpga-model/registers.js";
import { AppService } from "../apps/service.js";
import { nameId } from "../apps/names.js";
import { cgroupId } from "../../compiler/policy/cgroup.js";
import { executeTransaction, OP_WRITE } from "../driver/transaction.js";
import type { NicHost } from "./nic-host.js";

const synced = new WeakMap<NicHost, string>();

export function syncQdiscNames(host: NicHost): void {
  const q = host.qdiscState;
  if (!q || (q.strings.cmd.length === 0 && q.strings.cgroup.length === 0)) return;
  const generation = host.device.read32(REG.EG_GEN);
  // the record describes another qdisc than the active one (a rollback): its ids do not apply
  if (generation !== q.generation) return;
  if (host.device.read32(REG.APPT_COUNT) === 0 && synced.get(host) === undefined) return;
  const service = AppService.for(host);
  const ids: [number, number][] = [];
  for (let app = 1; app < APP_PAGES; app++) {
    const a = service.application(app);
    ids.push(a && a.detachedAt === undefined ? [nameId(q.strings.cmd, a.cmd), cgroupId(q.strings.cgroup, a.cgroup)] : [0, 0]);
  }
  const key = `${generation}:${ids.map(([c, g]) => `${c},${g}`).join(";")}`;
  if (synced.get(host) === key) return;
  const ops = ids.flatMap(([cmd, cgroup], i) => [
    { kind: OP_WRITE, offset: REG.EG_NAME_SELECT, value: i + 1 },
    { kind: OP_WRITE, offset: REG.EG_NAME_CMD, value: cmd },
    { kind: OP_WRITE, offset: REG.EG_NAME_CGROUP, value: cgroup },
  ]);
  const r = executeTransaction(host.device, ops);
  if (r.error) host.options.log?.(`qdisc owner names: the NIC refused an update (error ${r.error.code})`);
  else synced.set(host, key);
}
