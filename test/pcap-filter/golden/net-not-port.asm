; expression: net 10.0.0.0/8 and not port 22
; kopi overlay program: filter, 72 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 2048, L53
    ldw r0, [pkt + 26]
    and r0, r0, 0xff000000
    jeq r0, 0xa000000, L8
    ldw r0, [pkt + 30]
    and r0, r0, 0xff000000
    jne r0, 0xa000000, L71
L8:
    ldb r0, [pkt + 23]
    jne r0, 132, L23
    ldh r0, [pkt + 20]
    jset r0, 8191, L70
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 14]
    jeq r0, 22, L71
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 16]
    jeq r0, 22, L71
    ja L70
L23:
    ldb r0, [pkt + 23]
    jne r0, 6, L38
    ldh r0, [pkt + 20]
    jset r0, 8191, L70
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 14]
    jeq r0, 22, L71
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 16]
    jeq r0, 22, L71
    ja L70
L38:
    ldb r0, [pkt + 23]
    jne r0, 17, L70
    ldh r0, [pkt + 20]
    jset r0, 8191, L70
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 14]
    jeq r0, 22, L71
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 16]
    jeq r0, 22, L71
    ja L70
L53:
    ldh r0, [pkt + 12]
    jne r0, 2054, L62
    ldw r0, [pkt + 28]
    and r0, r0, 0xff000000
    jeq r0, 0xa000000, L70
    ldw r0, [pkt + 38]
    and r0, r0, 0xff000000
    jeq r0, 0xa000000, L70
    ja L71
L62:
    ldh r0, [pkt + 12]
    jne r0, 32821, L71
    ldw r0, [pkt + 28]
    and r0, r0, 0xff000000
    jeq r0, 0xa000000, L70
    ldw r0, [pkt + 38]
    and r0, r0, 0xff000000
    jne r0, 0xa000000, L71
L70:
    exit accept
L71:
    exit drop
