; expression: tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn
; kopi overlay program: filter, 14 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 2048, L12
    ldb r0, [pkt + 23]
    jne r0, 6, L12
    ldh r0, [pkt + 20]
    jset r0, 8191, L12
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldb r0, [pkt + r0 + 27]
    and r0, r0, 18
    jeq r0, 2, L13
L12:
    exit drop
L13:
    exit accept
