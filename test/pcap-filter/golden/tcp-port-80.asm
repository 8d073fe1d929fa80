; expression: tcp port 80
; kopi overlay program: filter, 23 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 34525, L9
    ldb r1, [pkt + 20]
    jne r1, 6, L21
    ldh r1, [pkt + 54]
    jeq r1, 80, L22
    ldh r1, [pkt + 56]
    jeq r1, 80, L22
    exit drop
L9:
    jne r0, 2048, L21
    ldb r1, [pkt + 23]
    jne r1, 6, L21
    ldh r1, [pkt + 20]
    jset r1, 8191, L21
    ldb r1, [pkt + 14]
    and r1, r1, 15
    shl r0, r1, 2
    ldh r1, [pkt + r0 + 14]
    jeq r1, 80, L22
    ldh r1, [pkt + r0 + 16]
    jeq r1, 80, L22
L21:
    exit drop
L22:
    exit accept
