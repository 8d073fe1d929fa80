/** What tcpdump remembers between packets: TCP initial sequence numbers (for relative seq/ack) and timestamps. */

export interface TcpConversation {
  seq: number;
  ack: number;
}

export class PrinterState {
  /** Keyed by the conversation's addresses and ports in tcpdump's collating order. */
  readonly tcpConversations = new Map<string, TcpConversation>();
  /** Timestamp of the previous packet (-ttt) and of the first one (-ttttt), in nanoseconds as [sec, ns]. */
  previousSeconds: number | undefined;
  previousNanoseconds = 0;
  firstSeconds: number | undefined;
  firstNanoseconds = 0;
  packetsPrinted = 0;
}
