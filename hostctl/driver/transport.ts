/**
 * How the host reaches a NIC: register transactions, traffic, and the kernel's own record of what it configured
 * (the host state, kept beside the NIC so every hostctl invocation sees the same policy). Two implementations:
 * the in-process NIC (`--nic local`, hostctl/daemon/local-transport.ts) and the daemon's Unix socket
 * (hostctl/daemon/client.ts).
 */
import type { AppNotification, AppRecord, BatchOutcome, CaptureRecord, PacketBatch } from "../../fpga-model/packets.js";
import type { HostState } from "./host-state.js";
import type { Transaction, TransactionResult } from "./transaction.js";

export interface StateUpdate {
  /** the host-state revision the change was planned against; a different current revision refuses it */
  expectRevision: number;
  /** the new host state; its `generation` is filled in with the generation active after the transaction */
  state: HostState | null;
  /**
   * Roll the committed program back unless confirmed within this many ms (`load --confirm`): the NIC side then
   * writes ROLLBACK and restores the host state this update replaced.
   */
  confirmWithinMs?: number;
  /**
   * After a commit that replaced the program: add the replaced program's final counts of these counter ids to
   * the new state's counterOffsets (a rule keeps its counter id across reloads, so its totals continue).
   */
  carryCounters?: readonly number[];
}

/** The host's record of the qdisc it committed to the egress scheduler (the daemon keeps it beside the NIC). */
export interface QdiscState {
  schema: 1;
  /** qdisc generation the NIC committed it as */
  generation: number;
  /** the QoS policy it was compiled from */
  policy: { file: string; format: "qos" | "tc"; text: string; host?: string; hostFile?: string };
  /** owner names its classifier interned: owner.cmd / owner.cgroup hold 1 + the index */
  strings: { cmd: string[]; cgroup: string[] };
  /** ISO time of the change */
  changedAt: string;
  /**
   * The qdisc image as committed (fpga-model/egress-image.ts), base64: what `nic start --state FILE` uploads again
   * at a restart, so the NIC comes back with the very qdisc it ran, whatever the compiler does since.
   */
  image?: string;
}

export interface QdiscUpdate {
  /** the qdisc-record revision the change was planned against; another one refuses it (nothing runs) */
  expectRevision: number;
  state: QdiscState | null;
}

export interface QdiscRecord {
  revision: number;
  state: QdiscState | null;
}

export interface TransactResult extends TransactionResult {
  /** host-state revision after the transaction (advanced when an update was applied) */
  revision: number;
  /** the update was refused because the host state changed since it was read (nothing was executed) */
  conflict?: boolean;
}

export interface HostStateRecord {
  revision: number;
  state: HostState | null;
  /** a committed load waiting for confirmation: when it rolls back (ms since the epoch) */
  pendingConfirm?: { deadline: number; generation: number };
}

export interface NicTransport {
  /** "local" or the socket path */
  readonly name: string;
  /** Run a transaction (and, when all its accesses succeed, apply the host-state update) as one unit. */
  transact(txn: Transaction, update?: StateUpdate, qdisc?: QdiscUpdate): Promise<TransactResult>;
  /** Traffic in; resolves when the NIC has judged every packet. */
  inject(batch: PacketBatch): Promise<BatchOutcome>;
  captureRead(from: number, max: number): Promise<CaptureRecord[]>;
  appReceive(app: number, from: number, max: number): Promise<AppRecord[]>;
  appNotifications(app: number, from: number, max: number): Promise<AppNotification[]>;
  getState(): Promise<HostStateRecord>;
  /** The qdisc record (protocol 2). */
  getQdiscState(): Promise<QdiscRecord>;
  /** Settle a pending `load --confirm`: keep the new program, or roll back now; false when nothing was pending. */
  confirm(decision?: "keep" | "rollback"): Promise<boolean>;
  /** Hold the configuration lock (waits for other holders); released by unlock() or when the connection ends. */
  lock(): Promise<void>;
  unlock(): Promise<void>;
  close(): Promise<void>;
}

/** A transport could not reach or keep the NIC (daemon not running, protocol error). */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}
