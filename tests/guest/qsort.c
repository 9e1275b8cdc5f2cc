/* qsort: qsort with callbacks over ints, doubles, strings and structs
 * (stable-by-key comparison with a tie breaker), bsearch, lsearch-free
 * checks of order, and a callback counting its calls is NOT printed
 * (glibc's algorithm choice is the same binary either way, but keep the
 * output to results). */
#include "guest.h"

struct rec { int key; int seq; char name[12]; };

static int cmp_int(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static int cmp_dbl_desc(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x < y) - (x > y); }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->seq - y->seq;
}

int main(void)
{
    enum { N = 200000 };
    int *v = malloc(N * sizeof *v);
    rng_seed(1);
    for (int i = 0; i < N; i++) v[i] = (int)(rng_next() % 1000000) - 500000;
    qsort(v, N, sizeof *v, cmp_int);
    int sorted = 1;
    for (int i = 1; i < N; i++) sorted &= v[i - 1] <= v[i];
    printf("ints sorted %d min %d median %d max %d hash %016llx\n", sorted, v[0], v[N / 2], v[N - 1],
           (unsigned long long)fnv1a(v, N * sizeof *v, FNV_INIT));
    int hits = 0;
    for (int k = -500000; k < 500000; k += 997) hits += bsearch(&k, v, N, sizeof *v, cmp_int) != NULL;
    printf("bsearch hits %d\n", hits);

    double *d = malloc(50000 * sizeof *d);
    for (int i = 0; i < 50000; i++) d[i] = (double)(rng_next() >> 11) / 9007199254740992.0 - 0.5;
    qsort(d, 50000, sizeof *d, cmp_dbl_desc);
    printf("doubles desc first %.17g last %.17g hash %016llx\n", d[0], d[49999],
           (unsigned long long)fnv1a(d, 50000 * sizeof *d, FNV_INIT));

    char **s = malloc(20000 * sizeof *s);
    for (int i = 0; i < 20000; i++) {
        s[i] = malloc(16);
        int len = 1 + (int)(rng_next() % 12);
        for (int j = 0; j < len; j++) s[i][j] = (char)('a' + rng_next() % 26);
        s[i][len] = 0;
    }
    qsort(s, 20000, sizeof *s, cmp_str);
    uint64_t h = FNV_INIT;
    for (int i = 0; i < 20000; i++) h = fnv1a(s[i], strlen(s[i]) + 1, h);
    printf("strings first %s last %s hash %016llx\n", s[0], s[19999], (unsigned long long)h);

    struct rec *r = calloc(30000, sizeof *r); /* names are hashed whole */
    for (int i = 0; i < 30000; i++) {
        r[i].key = (int)(rng_next() % 100);
        r[i].seq = i;
        snprintf(r[i].name, sizeof r[i].name, "r%d", i);
    }
    qsort(r, 30000, sizeof *r, cmp_rec);
    printf("records first %s/%d last %s/%d hash %016llx\n", r[0].name, r[0].key, r[29999].name, r[29999].key,
           (unsigned long long)fnv1a(r, 30000 * sizeof *r, FNV_INIT));
    return finish("qsort");
}
