; expression: net 10.0.0.0/8 and not port 22
; kopi overlay program: filter, 32 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 2048, L22
    ldw r3, [pkt + 26]
    and r3, r3, 0xff000000
    jeq r3, 0xa000000, L8
    ldw r3, [pkt + 30]
    and r3, r3, 0xff000000
    jne r3, 0xa000000, L30
L8:
    ldb r1, [pkt + 23]
    jeq r1, 132, L12
    jeq r1, 6, L12
    jne r1, 17, L31
L12:
    ldh r3, [pkt + 20]
    jset r3, 8191, L31
    ldb r3, [pkt + 14]
    and r3, r3, 15
    shl r2, r3, 2
    ldh r3, [pkt + r2 + 14]
    jeq r3, 22, L30
    ldh r3, [pkt + r2 + 16]
    jeq r3, 22, L30
    exit accept
L22:
    jeq r0, 2054, L24
    jne r0, 32821, L30
L24:
    ldw r3, [pkt + 28]
    and r3, r3, 0xff000000
    jeq r3, 0xa000000, L31
    ldw r3, [pkt + 38]
    and r3, r3, 0xff000000
    jeq r3, 0xa000000, L31
L30:
    exit drop
L31:
    exit accept
