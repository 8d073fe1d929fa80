/**
 * `hostctl app …`: the kernel's process view on the NIC. attach / detach applications (pid, user, group,
 * command, cgroup — or every application of a HOST.json), connect / close their connections (each with its own
 * rings and page), coalesce (interrupt moderation), list (applications, connections, rings, wake-ups,
 * capacities). `app send` and `app recv` act as an application: see ./app-io.ts.
 */
import type { Command } from "commander";
import { HostError, readHost } from "../../compiler/policy/host.js";
import { AppControl, type AttachRequest, type OpenRequest } from "../apps/control.js";
import { gidOf, uidOf } from "../apps/names.js";
import type { AppInfo, AppListing, ConnInfo } from "../apps/service.js";
import { CliError } from "../errors.js";
import { registerAppIo } from "./app-io.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, parseInteger, toJson } from "./nic-session.js";
import { withApps } from "./app-session.js";

export interface AttachOptions {
  pid?: string;
  uid?: string;
  user?: string;
  gid?: string;
  group?: string;
  cmd?: string;
  cgroup?: string;
  from?: string;
  nic?: string;
  json?: boolean;
}

function appLine(a: AppInfo): string {
  return `app ${a.app}: pid ${a.pid} cmd ${a.cmd} user ${a.user} (${a.uid}) group ${a.group} (${a.gid})${a.cgroup ? ` cgroup ${a.cgroup}` : ""}`;
}

function connLine(c: ConnInfo): string {
  const what = c.kind === "raw" ? "raw (any frame out, none steered in)" : c.kind === "listen" ? `${c.proto} ${c.local} listening (remote any)` : `${c.proto} ${c.local} ↔ ${c.remote}`;
  return `conn ${c.conn} (app ${c.app}): ${what}; rings ${c.rxSlots} rx / ${c.txSlots} tx descriptors; page 0x${c.page.toString(16)}`;
}

/** What `app attach` attaches: the options, with user and group names resolved through /etc/passwd and /etc/group. */
export function attachRequest(opts: AttachOptions): AttachRequest {
  if (opts.pid === undefined) throw new CliError("app attach needs --pid (or --from HOST.json)");
  if (opts.cmd === undefined || opts.cmd === "") throw new CliError("app attach needs --cmd, the command name");
  const pid = parseInteger(opts.pid, "--pid", 1, 0xfffffffe);
  let uid = opts.uid !== undefined ? parseInteger(opts.uid, "--uid", 0, 0xfffffffe) : undefined;
  if (opts.user !== undefined && uid === undefined) {
    uid = uidOf(opts.user);
    if (uid === undefined) throw new CliError(`unknown user '${opts.user}' (not in /etc/passwd): give its --uid too`);
  }
  if (uid === undefined) throw new CliError("app attach needs --user or --uid");
  let gid = opts.gid !== undefined ? parseInteger(opts.gid, "--gid", 0, 0xfffffffe) : undefined;
  if (opts.group !== undefined && gid === undefined) {
    gid = gidOf(opts.group);
    if (gid === undefined) throw new CliError(`unknown group '${opts.group}' (not in /etc/group): give its --gid too`);
  }
  if (opts.cgroup !== undefined && !opts.cgroup.startsWith("/")) throw new CliError(`--cgroup must be a path starting with / (like /system.slice/postgresql.service), not '${opts.cgroup}'`);
  return {
    pid,
    uid,
    cmd: opts.cmd,
    ...(gid !== undefined ? { gid } : {}),
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.group !== undefined ? { group: opts.group } : {}),
    ...(opts.cgroup !== undefined ? { cgroup: opts.cgroup } : {}),
  };
}

export async function runAppAttach(opts: AttachOptions): Promise<CommandOutput> {
  return withApps(opts.nic, async (s) => {
    const ctl = new AppControl(s.transport);
    if (opts.from !== undefined) {
      if (opts.pid !== undefined || opts.cmd !== undefined) throw new CliError("--from HOST.json describes the applications; leave out --pid and --cmd");
      let host;
      try {
        host = readHost(opts.from);
      } catch (e) {
        if (e instanceof HostError) throw new CliError(e.message);
        throw e;
      }
      const done = await ctl.attachHost(host);
      if (opts.json) return { stdout: toJson(done), stderr: "" };
      return { stdout: done.map((d) => [appLine(d.app), ...d.conns.map((c) => `  ${connLine(c)}`)].join("\n") + "\n").join(""), stderr: "" };
    }
    const info = await ctl.attach(attachRequest(opts));
    return { stdout: opts.json ? toJson(info) : `attached ${appLine(info)}\n`, stderr: "" };
  });
}

export async function runAppDetach(app: string, opts: { nic?: string; json?: boolean }): Promise<CommandOutput> {
  const id = parseInteger(app, "application", 1, 0xffff);
  return withApps(opts.nic, async (s) => {
    const r = await new AppControl(s.transport).detach(id);
    return { stdout: opts.json ? toJson(r) : `detached app ${id} (${r.app.cmd}, pid ${r.app.pid}): ${r.connections} connection${r.connections === 1 ? "" : "s"} closed, its rings and owner entry gone\n`, stderr: "" };
  });
}

export interface ConnectOptions {
  app: string;
  proto?: string;
  local?: string;
  remote?: string;
  raw?: boolean;
  rxSlots?: string;
  txSlots?: string;
  nic?: string;
  json?: boolean;
}

export async function runAppConnect(opts: ConnectOptions): Promise<CommandOutput> {
  const req: OpenRequest = { app: parseInteger(opts.app, "--app", 1, 0xffff) };
  if (opts.raw) {
    if (opts.local !== undefined || opts.remote !== undefined || opts.proto !== undefined) throw new CliError("--raw takes no --proto, --local or --remote");
    req.kind = "raw";
  } else {
    if (opts.local === undefined) throw new CliError("app connect needs --local ADDRESS:PORT (with --remote for a connection; without, a listening socket)");
    req.kind = opts.remote === undefined ? "listen" : "connection";
    req.proto = opts.proto ?? "tcp";
    req.local = opts.local;
    if (opts.remote !== undefined) req.remote = opts.remote;
  }
  if (opts.rxSlots !== undefined) req.rxSlots = parseInteger(opts.rxSlots, "--rx-slots", 2, 4096);
  if (opts.txSlots !== undefined) req.txSlots = parseInteger(opts.txSlots, "--tx-slots", 2, 4096);
  return withApps(opts.nic, async (s) => {
    const c = await new AppControl(s.transport).open(req);
    return { stdout: opts.json ? toJson(c) : `opened ${connLine(c)}\n`, stderr: "" };
  });
}

export async function runAppClose(conn: string, opts: { nic?: string }): Promise<CommandOutput> {
  const id = parseInteger(conn, "connection", 1, 0xffffffff);
  return withApps(opts.nic, async (s) => {
    const c = await new AppControl(s.transport).close(id);
    return { stdout: `closed conn ${c.conn} (app ${c.app}): its key left the steering table, its rings returned to queue memory\n`, stderr: "" };
  });
}

export async function runAppCoalesce(app: string, opts: { usecs?: string; frames?: string; nic?: string }): Promise<CommandOutput> {
  const id = parseInteger(app, "application", 1, 0xffff);
  const usecs = parseInteger(opts.usecs ?? "0", "--usecs", 0, 1_000_000);
  const frames = parseInteger(opts.frames ?? "1", "--frames", 1, 65535);
  return withApps(opts.nic, async (s) => {
    await new AppControl(s.transport).coalesce(id, usecs, frames);
    return { stdout: `app ${id}: an armed interrupt fires ${usecs === 0 ? "at the first notification" : `after ${frames} notification${frames === 1 ? "" : "s"} or ${usecs} µs, whichever comes first`}\n`, stderr: "" };
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n").join("");
}

export function formatListing(l: AppListing): string {
  let out = "";
  const cap = l.capacity;
  out += `applications ${cap.appsUsed} of ${cap.apps}; connections ${cap.connectionsUsed} of ${cap.connections}; queue memory ${((cap.queueMemory - cap.queueMemoryFree) / 1048576).toFixed(1)} of ${(cap.queueMemory / 1048576).toFixed(1)} MiB in use\n`;
  if (l.apps.length > 0) {
    out += "\n";
    out += table([
      ["APP", "PID", "USER", "GROUP", "COMMAND", "CGROUP", "CONNS", "NOTIFY", "LOST", "IRQS", "MODERATION", "VIOLATIONS"],
      ...l.apps.map((a) => [String(a.app), String(a.pid), a.user, a.group, a.cmd, a.cgroup ?? "-", String(a.connections), `${a.notify.head - a.notify.tail} pending`, String(a.notify.drops), String(a.irq.count), a.irq.usecs === 0 ? "none" : `${a.irq.usecs}us/${a.irq.frames}`, String(a.violations)]),
    ]);
  }
  if (l.connections.length > 0) {
    out += "\n";
    out += table([
      ["CONN", "APP", "KIND", "PROTO", "LOCAL", "REMOTE", "RX", "RX-QUEUED", "RX-DROPS", "TX-SENT", "TX-DROPPED", "TX-REFUSED"],
      ...l.connections.map((c) => [String(c.conn), String(c.app), c.kind, c.proto ?? "-", c.local ?? "-", c.remote ?? (c.kind === "listen" ? "*" : "-"), String(c.rx.packets), String((c.rx.head - c.rx.tail) >>> 0), String(c.rx.drops), String(c.tx.sent), String(c.tx.dropped), String(c.tx.refused)]),
    ]);
  }
  const st = l.stats;
  out += `\nsteering: ${st.steered} steered into rings, ${st.steer_fallback} to the kernel stack (no connection), ${st.ring_overflow} lost to full rings\n`;
  out += `transmit: ${st.tx_packets} judged by the egress policy (${st.tx_sent} sent), ${st.tx_refused} refused before it (empty or forged)\n`;
  out += `notifications: ${st.notifications} posted, ${st.notify_overflows} lost to full queues; ${st.interrupts} interrupts; sleepers woken: ${l.wakeups.interrupt} by interrupt, ${l.wakeups.ready} found ready, ${l.wakeups.timeout} timed out, ${l.wakeups.detached} detached\n`;
  return out;
}

export async function runAppList(opts: { nic?: string; json?: boolean }): Promise<CommandOutput> {
  return withApps(opts.nic, async (s) => {
    const l = await new AppControl(s.transport).list();
    return { stdout: opts.json ? toJson(l) : formatListing(l), stderr: "" };
  });
}

export function registerApp(program: Command): void {
  const app = program.command("app").description("the process view: attach applications, give them connections with their own rings, and act as one");
  addNicOption(
    app
      .command("attach")
      .description("attach an application (the NIC then knows every packet of its connections by pid, user, group, command and cgroup)")
      .option("--pid <pid>", "process id")
      .option("--cmd <name>", "command name (what `owner cmd NAME` matches)")
      .option("--user <name>", "user name (its uid from /etc/passwd unless --uid is given)")
      .option("--uid <uid>", "user id")
      .option("--group <name>", "group name (its gid from /etc/group unless --gid is given)")
      .option("--gid <gid>", "group id (default 0)")
      .option("--cgroup <path>", "cgroup path (what `owner cgroup PATH` matches)")
      .option("--from <HOST.json>", "attach every application of a host description, with its listening sockets and connections")
      .option("--json", "print what was attached as JSON"),
  ).action(async (opts: AttachOptions) => emit(await runAppAttach(opts)));
  addNicOption(app.command("detach").description("detach an application: its connections, rings, notifications and owner entry go in one step").argument("<app>", "application id").option("--json", "print as JSON")).action(
    async (id: string, opts: { nic?: string; json?: boolean }) => emit(await runAppDetach(id, opts)),
  );
  addNicOption(
    app
      .command("connect")
      .description("open a connection for an application: a 5-tuple (or a listening socket, or a raw socket) with its own receive and transmit rings and page")
      .requiredOption("--app <id>", "the application that owns it")
      .option("--proto <proto>", "tcp (default), udp or sctp")
      .option("--local <addr:port>", "local end (`*:PORT` for a listener on every address)")
      .option("--remote <addr:port>", "remote end; without it, a listening socket")
      .option("--raw", "a raw socket: any frame out (the egress policy still judges it), nothing steered in")
      .option("--rx-slots <n>", "receive-ring descriptors (a power of two, 2 … 4096; default 64)")
      .option("--tx-slots <n>", "transmit-ring descriptors (default 64)")
      .option("--json", "print as JSON"),
  ).action(async (opts: ConnectOptions) => emit(await runAppConnect(opts)));
  addNicOption(app.command("close").description("close a connection").argument("<conn>", "connection id")).action(async (id: string, opts: { nic?: string }) => emit(await runAppClose(id, opts)));
  addNicOption(
    app
      .command("coalesce")
      .description("interrupt moderation of an application's notification queue (like ethtool -C rx-usecs / rx-frames)")
      .argument("<app>", "application id")
      .option("--usecs <n>", "µs an interrupt may wait after the first notification (0: at once)")
      .option("--frames <n>", "notifications that fire it before --usecs pass (default 1)"),
  ).action(async (id: string, opts: { usecs?: string; frames?: string; nic?: string }) => emit(await runAppCoalesce(id, opts)));
  addNicOption(app.command("list").description("applications, connections, rings, wake-ups and capacities").option("--json", "print as JSON")).action(async (opts: { nic?: string; json?: boolean }) => emit(await runAppList(opts)));
  registerAppIo(app);
}
