/* strmem: glibc's string and memory functions (their AdvSIMD paths) on
 * many sizes (0..300, then powers of two up to 64 KiB) and every source and
 * destination alignment 0..15: memcpy, memmove (both overlaps), memset,
 * memcmp, memchr, memrchr, strlen, strnlen, strchr, strrchr, strcmp,
 * strncmp, strcpy, stpcpy, strcat, strstr, strspn/strcspn, rawmemchr,
 * checked against simple byte loops; the result is a hash and a failure
 * count, and a few spot values. */
#define _GNU_SOURCE
#include "guest.h"

static unsigned char *A, *B, *C;
#define CAP (70 * 1024)
static uint64_t h;
static void mixl(long v) { h = fnv1a(&v, sizeof v, h); }
static long sgn(long v) { return v < 0 ? -1 : v > 0; }

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) { seed = seed * 1103515245 + 12345; p[i] = (unsigned char)(seed >> 16) | 1; }
}

static long ref_cmp(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

static void test_size(size_t n)
{
    for (int sa = 0; sa < 16; sa += (n > 1024 ? 3 : 1))
        for (int da = 0; da < 16; da += (n > 4096 ? 5 : 1)) {
            unsigned char *s = A + 64 + sa, *d = B + 64 + da;
            fill(s, n, (unsigned)(n * 31 + sa));
            memset(B, 0xEE, n + 256);
            memcpy(d, s, n);
            CHECK(ref_cmp(d, s, n) == 0 && d[-1] == 0xEE && d[n] == 0xEE);
            CHECK(memcmp(d, s, n) == 0);
            if (n) {
                size_t k = (n * 7 + sa) % n;
                d[k] ^= 0x40;
                long r = memcmp(d, s, n);
                CHECK(sgn(r) == ref_cmp(d, s, n));
                mixl(sgn(r));
                void *c = memchr(s, s[k], n);
                size_t first = 0;
                while (s[first] != s[k]) first++;
                CHECK(c == s + first);
                CHECK(memchr(s, 0, n) == NULL);
                void *rc = memrchr(s, s[first], n);
                size_t last = n - 1;
                while (s[last] != s[first]) last--;
                CHECK(rc == s + last);
                mixl((long)first); mixl((long)last);
            }
            /* memset */
            memset(d, (int)(n & 0xff) | 1, n);
            int ok = d[-1] == 0xEE && d[n] == 0xEE;
            for (size_t i = 0; i < n; i++) ok &= d[i] == ((n & 0xff) | 1);
            CHECK(ok);
            /* memmove both directions inside one buffer */
            if (n <= 4096) {
                memcpy(C, s, n + 32);
                int shift = (sa % 7) + 1;
                memmove(C + shift, C, n);
                CHECK(ref_cmp(C + shift, s, n) == 0);
                memcpy(C, s, n + 32);
                memmove(C, C + shift, n);
                CHECK(ref_cmp(C, s + shift, n) == 0);
            }
            /* strings: s as NUL-terminated of length n */
            unsigned char save = s[n];
            s[n] = 0;
            CHECK(strlen((char *)s) == n);
            CHECK(strnlen((char *)s, n / 2) == n / 2);
            char *e = stpcpy((char *)d, (char *)s);
            CHECK(e == (char *)d + n && strcmp((char *)d, (char *)s) == 0);
            if (n) {
                unsigned char ch = s[n / 2];
                char *f = strchr((char *)s, ch), *l = strrchr((char *)s, ch);
                size_t fi = 0, li = n - 1;
                while (s[fi] != ch) fi++;
                while (s[li] != ch) li--;
                CHECK(f == (char *)s + fi && l == (char *)s + li);
                CHECK(rawmemchr(s, ch) == s + fi);
                CHECK(strchr((char *)s, 0) == (char *)s + n);
                d[n - 1] = (unsigned char)(d[n - 1] == 0xff ? 0xfe : d[n - 1] + 1);
                long r = strcmp((char *)s, (char *)d);
                CHECK(sgn(r) == ref_cmp(s, d, n));
                CHECK(strncmp((char *)s, (char *)d, n - 1) == 0);
                mixl(sgn(r));
                mixl(strspn((char *)s, "\x01\x03\x05\x07\x09\x0b\x41\x43"));
                mixl(strcspn((char *)s, "\x81\x83"));
            }
            s[n] = save;
        }
}

int main(void)
{
    A = malloc(CAP + 256);
    B = malloc(CAP + 256);
    C = malloc(CAP + 256);
    h = FNV_INIT;
    for (size_t n = 0; n <= 300; n++) test_size(n);
    for (size_t n = 512; n <= 64 * 1024; n *= 2) { test_size(n - 1); test_size(n); test_size(n + 3); }
    printf("hash %016llx\n", (unsigned long long)h);

    char buf[128];
    strcpy(buf, "hello");
    strcat(buf, ", ");
    strncat(buf, "world!!!" + (strlen(buf) - 7), 6);
    printf("%s len=%zu\n", buf, strlen(buf));
    printf("strstr: %s | %s\n", strstr("the haystack with needles", "needle"), strstr("aaaaab", "aab"));
    printf("strstr long: %ld\n", (long)(strstr("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz-abcabcabcd", "abcabcd") -
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz-abcabcabcd"));
    printf("strcasecmp %d strncasecmp %d\n", (int)sgn(strcasecmp("Hello", "hELLO")), (int)sgn(strncasecmp("abcX", "ABCy", 4)));
    printf("strtok:");
    char t[] = "a,b,,c;d";
    for (char *tok = strtok(t, ",;"); tok; tok = strtok(NULL, ",;")) printf(" [%s]", tok);
    printf("\nstrtol %ld %lu %lld\n", strtol("-0x7fff", NULL, 16), strtoul("777", NULL, 8), strtoll("9223372036854775807", NULL, 10));
    char out[64];
    snprintf(out, sizeof out, "%08.3f|%-5s|%5.2s|%x|%o|%c|%%|%lld", 3.14159, "ab", "xyz", 255u, 8u, 'Q', -1LL);
    printf("snprintf %s\n", out);
    return finish("strmem");
}
