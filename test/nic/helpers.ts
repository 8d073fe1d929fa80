/** Shared helpers of the NIC tests: frames, in-process NICs and daemons on temporary sockets. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NicConfig } from "../../fpga-model/nic-device.js";
import { NicDriver } from "../../hostctl/driver/driver.js";
import { PolicyDriver } from "../../hostctl/driver/policy-driver.js";
import type { PolicySource } from "../../hostctl/driver/host-state.js";
import { SocketTransport } from "../../hostctl/daemon/client.js";
import { LocalTransport } from "../../hostctl/daemon/local-transport.js";
import { NicHost } from "../../hostctl/daemon/nic-host.js";
import { startNic, type RunningNic } from "../../hostctl/commands/nic.js";

export interface FrameSpec {
  proto?: "tcp" | "udp";
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  size?: number;
}

/** An Ethernet/IPv4/TCP-or-UDP frame. */
export function frame(spec: FrameSpec = {}): Uint8Array {
  const size = spec.size ?? 64;
  const f = new Uint8Array(size);
  const v = new DataView(f.buffer);
  v.setUint32(0, 0x02000000);
  v.setUint16(4, 1);
  v.setUint32(6, 0x02000000);
  v.setUint16(10, 2);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, size - 14);
  v.setUint8(22, 64);
  const udp = spec.proto === "udp";
  v.setUint8(23, udp ? 17 : 6);
  v.setUint32(26, spec.src ?? 0x0a000001);
  v.setUint32(30, spec.dst ?? 0xc0a80001);
  v.setUint16(34, spec.sport ?? 40000);
  v.setUint16(36, spec.dport ?? 80);
  if (udp) v.setUint16(38, size - 34);
  else {
    v.setUint8(46, 0x50);
    v.setUint8(47, spec.tcpFlags ?? 0x10);
  }
  return f;
}

export function kopi(text: string, file = "test.kopi"): PolicySource {
  return { file, format: "kopi", text };
}

export function iptables(text: string, file = "test.rules"): PolicySource {
  return { file, format: "iptables-save", text };
}

/** An in-process NIC with a driver and a policy driver on top. */
export async function localNic(config: NicConfig = {}, pumpSlice?: number): Promise<{ host: NicHost; driver: NicDriver; policy: PolicyDriver; transport: LocalTransport }> {
  const host = await NicHost.create({ config, ...(pumpSlice !== undefined ? { pumpSlice } : {}) });
  const transport = new LocalTransport(host);
  const driver = new NicDriver(transport);
  return { host, driver, policy: new PolicyDriver(driver), transport };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "kopi-nic-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A daemon in this process on a temporary socket; stop() shuts it down and removes the directory. */
export async function daemon(opts: { state?: string; config?: Record<string, string>; pumpSlice?: number } = {}): Promise<RunningNic & { dir: string; connect: () => Promise<{ transport: SocketTransport; driver: NicDriver; policy: PolicyDriver }>; stopAll: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const running = await startNic({ socket: join(dir, "nic0.sock"), ...(opts.state !== undefined ? { state: opts.state } : {}), ...(opts.config ?? {}) }, () => {}, opts.pumpSlice !== undefined ? { pumpSlice: opts.pumpSlice } : {});
  const transports: SocketTransport[] = [];
  return {
    ...running,
    stop: running.stop,
    dir,
    connect: async () => {
      const transport = await SocketTransport.connect(running.socketPath);
      transports.push(transport);
      const driver = new NicDriver(transport);
      return { transport, driver, policy: new PolicyDriver(driver) };
    },
    stopAll: async () => {
      for (const t of transports) await t.close().catch(() => {});
      await running.stop();
      cleanup();
    },
  };
}

export const ACCEPT = 1;
export const DROP = 0;
