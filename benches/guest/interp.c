/* interp: a bytecode interpreter loop (switch dispatch over a small stack
 * machine) running a program that computes primes below N and a
 * Fibonacci-like recurrence (argument: N, default 500k); prints the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, DUP, POP, HALT, INC };

static int64_t run(const int *code, int64_t *vars)
{
    int64_t stack[64];
    int sp = 0, pc = 0;
    for (;;) {
        int op = code[pc++];
        switch (op) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = vars[code[pc++]]; break;
        case STORE: vars[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
        case JMP: pc = code[pc]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case POP: sp--; break;
        case INC: vars[code[pc++]]++; break;
        case HALT: return vars[0];
        }
    }
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 500000;
    /* vars: 0 count, 1 i, 2 j, 3 n, 4 isprime
     * for i in 2..n: isprime=1; for j=2; j*j<=i; j++: if i%j==0 {isprime=0; break}; count+=isprime */
    int code[] = {
        /* 0 */ PUSH, 2, STORE, 1,
        /* 4: outer test */ LOAD, 1, LOAD, 3, LT, JZ, 58,
        /* 11 */ PUSH, 1, STORE, 4, PUSH, 2, STORE, 2,
        /* 19: inner test j*j < i+1 */ LOAD, 2, LOAD, 2, MUL, LOAD, 1, PUSH, 1, ADD, LT, JZ, 47,
        /* 32 */ LOAD, 1, LOAD, 2, MOD, JZ, 43, INC, 2, JMP, 19,
        /* 43 */ PUSH, 0, STORE, 4,
        /* 47 */ LOAD, 0, LOAD, 4, ADD, STORE, 0, INC, 1, JMP, 4,
        /* 58 */ HALT};
    int64_t vars[8] = {0, 0, 0, n, 0};
    int64_t primes = run(code, vars);
    printf("primes below %lld: %lld\n", (long long)n, (long long)primes);
    return 0;
}
