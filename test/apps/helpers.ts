/** Shared helpers of the process-view tests: an in-process NIC with the kernel's app control, and frames. */
import type { NicConfig } from "../../fpga-model/nic-device.js";
import { AppControl } from "../../hostctl/apps/control.js";
import { LibOS } from "../../hostctl/apps/libos.js";
import { AppService } from "../../hostctl/apps/service.js";
import { LocalTransport } from "../../hostctl/daemon/local-transport.js";
import { NicHost } from "../../hostctl/daemon/nic-host.js";
import { NicDriver } from "../../hostctl/driver/driver.js";
import { PolicyDriver } from "../../hostctl/driver/policy-driver.js";
import { ipFrame, type Flow } from "../../examples/scenarios/traffic.js";

export { ipFrame };

export interface TestNic {
  host: NicHost;
  transport: LocalTransport;
  driver: NicDriver;
  policy: PolicyDriver;
  ctl: AppControl;
  service: AppService;
  app(app: number): LibOS;
  load(text: string, host?: string): Promise<unknown>;
}

export async function testNic(config: NicConfig = {}, pumpSlice?: number): Promise<TestNic> {
  const host = await NicHost.create({ config, ...(pumpSlice !== undefined ? { pumpSlice } : {}) });
  const transport = new LocalTransport(host);
  const driver = new NicDriver(transport);
  const policy = new PolicyDriver(driver);
  return {
    host,
    transport,
    driver,
    policy,
    ctl: new AppControl(transport),
    service: AppService.for(host),
    app: (app) => LibOS.local(host, app),
    load: (text, hostJson) => policy.load({ file: "test.kopi", format: "kopi", text, ...(hostJson !== undefined ? { host: hostJson, hostFile: "host.json" } : {}) }),
  };
}

/** A frame from a remote peer to this host (10.0.0.2). */
export function inbound(proto: Flow["proto"], src: string, sport: number, dport: number, payload = ""): Uint8Array {
  return ipFrame({ proto, src, sport, dst: "10.0.0.2", dport, inbound: true, payload });
}

/** A frame from this host (10.0.0.2) to a remote peer. */
export function outbound(proto: Flow["proto"], sport: number, dst: string, dport: number, payload = ""): Uint8Array {
  return ipFrame({ proto, src: "10.0.0.2", sport, dst, dport, inbound: false, payload });
}

/** The payload text of a frame built by ipFrame (TCP or UDP over IPv4). */
export function payloadOf(frame: Uint8Array): string {
  const ipLen = (frame[16]! << 8) | frame[17]!;
  const l4 = frame[23] === 6 ? 20 : 8;
  return new TextDecoder().decode(frame.subarray(14 + 20 + l4, 14 + ipLen));
}

/** Let the receive pump and the interrupt bottom halves run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export const HOST_JSON = JSON.stringify({ users: { bob: 1001, charlie: 1002, mallory: 1003 }, groups: { db: 120 } });
