/**
 * `hostctl capture -i nic0 …`: a live packet source for the capture command that reads the NIC's capture ring.
 * Interfaces: `nic0` taps both directions, `nic0:ingress` / `nic0:egress` one, `nic0:mirror` only the packets
 * the policy mirrors (meta.mirror). The source turns the tap on while it runs and restores the ring's settings
 * when it closes; Ctrl-C ends the capture (and tcpdump's statistics follow). One capture reader at a time: the
 * ring has one consumer index.
 *
 * Wiring (hostctl/main.ts): registerCapture(program, { openLiveSource: nicLiveSource() }).
 */
import type { CaptureInterface } from "../pcap/capture-decoder.js";
import { CaptureFileError } from "../pcap/capture-file-error.js";
import { CapturedPacket, PacketDirection, type TimestampPrecision } from "../pcap/packet.js";
import type { PacketSource, SourceStatistics } from "../pcap/packet-source.js";
import { CAP_CTRL } from "../../fpga-model/registers.js";
import { openNic, toCliError, type NicSession } from "./nic-session.js";
import { OwnerNames } from "../apps/owner-text.js";

const DEVICES: Record<string, number> = {
  nic0: CAP_CTRL.MIRROR | CAP_CTRL.TAP_INGRESS | CAP_CTRL.TAP_EGRESS,
  "nic0:ingress": CAP_CTRL.MIRROR | CAP_CTRL.TAP_INGRESS,
  "nic0:egress": CAP_CTRL.MIRROR | CAP_CTRL.TAP_EGRESS,
  "nic0:mirror": CAP_CTRL.MIRROR,
};
const POLL_MS = 10;
const DLT_EN10MB = 1;

class NicCaptureSource implements PacketSource {
  readonly banner: string;
  readonly dlt = DLT_EN10MB;
  readonly linkType = DLT_EN10MB;
  readonly live = true;
  readonly interfaces: readonly CaptureInterface[];
  private tail: number;
  private received = 0;
  private skipped = 0;
  private stopped = false;
  /** the owning process of each packet, recorded as its comment (capture -P, pcapng) */
  private readonly owners: OwnerNames;
  private readonly onSignal = () => {
    this.stopped = true;
  };

  constructor(
    private readonly session: NicSession,
    readonly device: string,
    readonly snapshotLength: number,
    readonly precision: TimestampPrecision,
    private readonly saved: { ctrl: number; snaplen: number },
    startTail: number,
    private readonly startDrops: number,
  ) {
    this.tail = startTail;
    this.owners = new OwnerNames(session.transport);
    this.banner = `listening on ${device}, link-type EN10MB (Ethernet), snapshot length ${snapshotLength} bytes`;
    this.interfaces = [{ index: 0, linkType: DLT_EN10MB, dlt: DLT_EN10MB, snapshotLength, name: device, description: "kopi NIC capture ring", ticksPerSecond: precision === "nano" ? 1e9 : 1e6, secondsOffset: 0 }];
    process.on("SIGINT", this.onSignal);
  }

  /** Copies the ring lost since the capture started (tcpdump's "dropped by kernel"). */
  private async finish(): Promise<CapturedPacket[]> {
    try {
      const cap = await this.session.driver.captureState();
      this.ringDrops = (cap.drops - this.startDrops) >>> 0;
    } catch {
      // the daemon went away: report what we know
    }
    return [];
  }

  async nextBatch(max: number): Promise<CapturedPacket[]> {
    for (;;) {
      if (this.stopped) return this.finish();
      let records;
      try {
        records = await this.session.transport.captureRead(this.tail, max);
      } catch (e) {
        if (this.stopped) return this.finish();
        throw new CaptureFileError(`${this.device}: ${(toCliError(e) as Error).message}`, true);
      }
      if (records.length > 0) {
        const out: CapturedPacket[] = [];
        const comments = await this.owners.comments(records);
        for (const [i, r] of records.entries()) {
          // the ring also holds frames of other link types; this source speaks Ethernet
          if (r.linktype !== DLT_EN10MB) {
            this.skipped++;
            continue;
          }
          const seconds = Math.floor(r.timeUs / 1e6);
          const nanoseconds = Math.round((r.timeUs - seconds * 1e6) * 1000);
          out.push(new CapturedPacket(seconds, nanoseconds, r.wireLength, r.data, 0, r.dir === 0 ? PacketDirection.Inbound : PacketDirection.Outbound, comments[i]));
        }
        this.tail = records[records.length - 1]!.index + 1;
        await this.session.driver.releaseCapture(this.tail);
        this.received += records.length;
        if (out.length > 0) return out;
        continue;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  statistics(): SourceStatistics {
    return { received: this.received, dropped: this.skipped + this.ringDrops };
  }

  private ringDrops = 0;

  close(): void {
    process.off("SIGINT", this.onSignal);
    const s = this.session;
    void (async () => {
      try {
        await s.driver.setCapture(this.saved.ctrl, this.saved.snaplen);
      } catch {
        // the daemon went away: nothing to restore
      } finally {
        await s.close().catch(() => {});
      }
    })();
  }
}

/** The capture command's openLiveSource for the NIC behind `--nic` (default: $KOPI_NIC or the well-known socket). */
export function nicLiveSource(opts: { nic?: string } = {}) {
  return async (device: string, options: { snapshotLength: number; precision: TimestampPrecision }): Promise<PacketSource> => {
    const ctrl = DEVICES[device];
    if (ctrl === undefined) throw new CaptureFileError(`${device}: No such device exists (the NIC's interfaces: ${Object.keys(DEVICES).join(", ")})`);
    if (opts.nic === "local") throw new CaptureFileError(`${device}: live capture needs the NIC daemon (an in-process NIC sees no traffic)`);
    let session: NicSession;
    try {
      session = await openNic(opts.nic);
    } catch (e) {
      throw new CaptureFileError(`${device}: ${(toCliError(e) as Error).message}`);
    }
    try {
      const saved = await session.driver.captureState();
      const snaplen = options.snapshotLength > 0 ? Math.min(options.snapshotLength, 262144) : 262144;
      await session.driver.setCapture(ctrl, snaplen);
      // start from what arrives now: release anything older
      const now = await session.driver.captureState();
      await session.driver.releaseCapture(now.head);
      return new NicCaptureSource(session, device, snaplen, options.precision, { ctrl: saved.ctrl, snaplen: saved.snaplen }, now.head, now.drops);
    } catch (e) {
      await session.close().catch(() => {});
      throw new CaptureFileError(`${device}: ${(toCliError(e) as Error).message}`);
    }
  };
}
