/**
 * How the host side reaches the process view: over the daemon's socket (a SocketTransport; the daemon knows
 * the connection's role from its hello) or straight into an in-process NIC host (`--nic local`, tests). Either
 * way a request means the same thing: ops.ts serves both.
 */
import { SocketTransport } from "../daemon/client.js";
import { LocalTransport } from "../daemon/local-transport.js";
import type { NicHost } from "../daemon/nic-host.js";
import { KERNEL } from "../../fpga-model/nic-device.js";
import type { NicTransport } from "../driver/transport.js";
import { isAppsOp, serveApps } from "./ops.js";
import { AppsError, type Requester } from "./service.js";

export interface AppsReply {
  header: Record<string, unknown>;
  body: Uint8Array;
}

export interface AppsChannel {
  call(op: string, header?: Record<string, unknown>, body?: Uint8Array): Promise<AppsReply>;
}

/** A channel into an in-process host, as `who`. */
export function localChannel(host: NicHost, who: Requester): AppsChannel {
  return {
    async call(op, header = {}, body = new Uint8Array(0)) {
      if (!isAppsOp(op)) throw new AppsError("bad-request", `unknown op ${op}`);
      const [h, b] = await serveApps(host, who, op, header, body);
      return { header: h as Record<string, unknown>, body: b ?? new Uint8Array(0) };
    },
  };
}

/** The channel of a NIC session's transport (kernel role for a local NIC; the socket's hello role otherwise). */
export function channelOf(transport: NicTransport): AppsChannel {
  if (transport instanceof SocketTransport) {
    return {
      async call(op, header = {}, body) {
        const f = await transport.request({ op, ...header }, body);
        return { header: f.header, body: f.body };
      },
    };
  }
  if (transport instanceof LocalTransport) return localChannel(transport.host, { role: "kernel", app: KERNEL });
  throw new Error(`internal: no process-view channel for transport ${transport.name}`);
}
