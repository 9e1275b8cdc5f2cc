// A freestanding AArch64 Linux program (no libc): finds the start value below
// 1,000,000 with the longest Collatz sequence and prints it with its length.
// Built with: aarch64-linux-gnu-as -o c.o collatz-aarch64.S && aarch64-linux-gnu-ld -static -o collatz-aarch64 c.o
// Expected output: "collatz: 837799 takes 524 steps"
    .text
    .global _start
_start:
    mov     x19, #1                 // n
    mov     x20, #0                 // best n
    mov     x21, #0                 // best steps
    movz    x22, #0x4240
    movk    x22, #0xf, lsl #16      // limit = 1000000
1:  mov     x0, x19
    mov     x1, #0                  // steps
2:  cmp     x0, #1
    b.eq    4f
    tbnz    x0, #0, 3f
    lsr     x0, x0, #1
    add     x1, x1, #1
    b       2b
3:  add     x0, x0, x0, lsl #1
    add     x0, x0, #1
    add     x1, x1, #1
    b       2b
4:  cmp     x1, x21
    csel    x21, x1, x21, gt
    csel    x20, x19, x20, gt
    add     x19, x19, #1
    cmp     x19, x22
    b.lo    1b
    // print "collatz: <n> takes <steps> steps\n"
    adr     x0, msg1
    mov     x1, #9
    bl      write
    mov     x0, x20
    bl      putnum
    adr     x0, msg2
    mov     x1, #7
    bl      write
    mov     x0, x21
    bl      putnum
    adr     x0, msg3
    mov     x1, #7
    bl      write
    mov     x0, #0
    mov     x8, #94                 // exit_group
    svc     #0

write:                              // x0 = buf, x1 = len
    mov     x2, x1
    mov     x1, x0
    mov     x0, #1
    mov     x8, #64                 // write
    svc     #0
    ret

putnum:                             // x0 = value (decimal)
    stp     x29, x30, [sp, #-48]!
    add     x9, sp, #47
    mov     x10, #10
    mov     x11, #0
5:  udiv    x12, x0, x10
    msub    x13, x12, x10, x0
    add     x13, x13, #'0'
    strb    w13, [x9, #-1]!
    add     x11, x11, #1
    mov     x0, x12
    cbnz    x0, 5b
    mov     x0, x9
    mov     x1, x11
    bl      write
    ldp     x29, x30, [sp], #48
    ret

msg1: .ascii "collatz: "
msg2: .ascii " takes "
msg3: .ascii " steps\n"
