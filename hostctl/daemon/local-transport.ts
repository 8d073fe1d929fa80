/**
 * `--nic local`: the NIC in this process, for one-shot use and tests. Same semantics as the daemon — the
 * transactions, host state and traffic go to a NicHost — without a socket in between.
 */
import { KERNEL } from "../../fpga-model/nic-device.js";
import type { AppNotification, AppRecord, BatchOutcome, CaptureRecord, PacketBatch } from "../../fpga-model/packets.js";
import { decodeTransaction, type Transaction } from "../driver/transaction.js";
import type { HostStateRecord, NicTransport, QdiscRecord, QdiscUpdate, StateUpdate, TransactResult } from "../driver/transport.js";
import type { NicHost } from "./nic-host.js";

export class LocalTransport implements NicTransport {
  readonly name = "local";
  private readonly owner = {};

  constructor(
    readonly host: NicHost,
    private readonly requester = KERNEL,
  ) {}

  async transact(txn: Transaction, update?: StateUpdate, qdisc?: QdiscUpdate): Promise<TransactResult> {
    // through the wire encoding, so a transaction means exactly what it means over the socket
    const decoded = decodeTransaction(txn.encode());
    if ("error" in decoded) throw new Error(`internal: ${decoded.error}`);
    return this.host.transact(decoded.ops, this.requester, update, qdisc);
  }

  inject(batch: PacketBatch): Promise<BatchOutcome> {
    return this.host.inject(batch);
  }

  async captureRead(from: number, max: number): Promise<CaptureRecord[]> {
    return this.host.device.captureRead(from, max);
  }

  async appReceive(app: number, from: number, max: number): Promise<AppRecord[]> {
    return this.host.device.appReceive(app, from, max);
  }

  async appNotifications(app: number, from: number, max: number): Promise<AppNotification[]> {
    return this.host.device.appNotifications(app, from, max);
  }

  async getState(): Promise<HostStateRecord> {
    return this.host.record();
  }

  async getQdiscState(): Promise<QdiscRecord> {
    return this.host.qdiscRecord();
  }

  async confirm(decision: "keep" | "rollback" = "keep"): Promise<boolean> {
    return this.host.confirm(decision);
  }

  lock(): Promise<void> {
    return this.host.lock(this.owner);
  }

  async unlock(): Promise<void> {
    this.host.unlock(this.owner);
  }

  async close(): Promise<void> {
    this.host.unlock(this.owner);
  }
}
