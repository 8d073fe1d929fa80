; expression: ip[2:2] - ((ip[0] & 0xf) << 2) > 100
; kopi overlay program: filter, 11 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 2048, L9
    ldh r0, [pkt + 16]
    ldb r1, [pkt + 14]
    and r1, r1, 15
    shl r1, r1, 2
    sub r0, r0, r1
    and r0, r0, 0xffffffff
    jgt r0, 100, L10
L9:
    exit drop
L10:
    exit accept
