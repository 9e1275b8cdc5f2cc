/* atomic128: 16-byte atomics under contention: a 128-bit compare-and-swap loop in
 * four threads (gcc emits LDAXP/STLXP inline, and libgcc's outline helpers use CASPAL
 * when AT_HWCAP advertises LSE), then LDAXP/STLXP and LDXP/STXP (W pair) loops in
 * inline assembly. Totals are fixed, so the output is deterministic. */
/* cflags-powerpc64: -mcpu=power8 */
#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#ifdef __SIZEOF_INT128__
static __int128 v __attribute__((aligned(16)));
static void *work(void *a) {
  (void)a;
  for (int i = 0; i < 100000; i++) {
    __int128 old = v, n;
    do { n = old + (((__int128)1 << 64) | 1); } while (!__sync_bool_compare_and_swap(&v, old, n) && ((old = v), 1));
  }
  return 0;
}
static uint64_t w64 __attribute__((aligned(16)));
int main(void) {
  pthread_t t[4]; for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, work, 0); for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
  printf("hi %llu lo %llu\n", (unsigned long long)(v >> 64), (unsigned long long)v);
  /* inline exclusive pairs (other architectures do the same updates in C) */
#ifdef __aarch64__
  uint64_t lo, hi;
  unsigned st;
  __asm__ volatile("1: ldaxp %0, %1, [%3]\n add %0, %0, #1\n add %1, %1, #2\n stlxp %w2, %0, %1, [%3]\n cbnz %w2, 1b"
                   : "=&r"(lo), "=&r"(hi), "=&r"(st) : "r"(&v) : "memory");
  uint32_t a, b;
  __asm__ volatile("1: ldxp %w0, %w1, [%3]\n add %w0, %w0, #5\n stxp %w2, %w0, %w1, [%3]\n cbnz %w2, 1b"
                   : "=&r"(a), "=&r"(b), "=&r"(st) : "r"(&w64) : "memory");
#else
  v += ((__int128)2 << 64) | 1;
  w64 += 5;
#endif
  printf("after ldxp/stxp: hi %llu lo %llu\n", (unsigned long long)(v >> 64), (unsigned long long)v);
  printf("w pair %llx\n", (unsigned long long)w64);
  return 0;
}
#else
/* 32-bit targets have no __int128. */
int main(void) {
  printf("atomic128: no __int128\n");
  return 0;
}
#endif
