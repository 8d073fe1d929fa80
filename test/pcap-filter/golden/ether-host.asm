; expression: ether host 00:11:22:33:44:55
; kopi overlay program: filter, 10 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldw r0, [pkt + 8]
    jne r0, 0x22334455, L4
    ldh r0, [pkt + 6]
    jeq r0, 17, L9
L4:
    ldw r0, [pkt + 2]
    jne r0, 0x22334455, L8
    ldh r0, [pkt + 0]
    jeq r0, 17, L9
L8:
    exit drop
L9:
    exit accept
