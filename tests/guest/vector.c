/* vector: loops gcc vectorises with AdvSIMD at -O3 (forced per function, so
 * the -O0 build stays scalar): int and float dot products, saxpy, min/max
 * reductions, byte histograms-free widening sums, conversions, a stencil,
 * and shuffles; the results are compared with scalar references computed
 * by noinline/no-vectorise functions. */
/* cflags: -ffp-contract=off */
#include "guest.h"
#include <inttypes.h>

#define N 4099
#define VEC __attribute__((noinline, optimize("O3", "tree-vectorize")))
#define SCALAR __attribute__((noinline, optimize("O1", "no-tree-vectorize")))

static int32_t ia[N], ib[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N];
static float fa[N], fb[N], fc[N], fd[N];
static double da[N], db[N];

VEC static int64_t dot_i32(const int32_t *a, const int32_t *b, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += (int64_t)a[i] * b[i]; return s; }
SCALAR static int64_t dot_i32_ref(const int32_t *a, const int32_t *b, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += (int64_t)a[i] * b[i]; return s; }
VEC static int32_t dot_i16(const int16_t *a, const int16_t *b, int n) { int32_t s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }
SCALAR static int32_t dot_i16_ref(const int16_t *a, const int16_t *b, int n) { int32_t s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }
VEC static uint32_t sad_u8(const uint8_t *a, const uint8_t *b, int n) { uint32_t s = 0; for (int i = 0; i < n; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]; return s; }
SCALAR static uint32_t sad_u8_ref(const uint8_t *a, const uint8_t *b, int n) { uint32_t s = 0; for (int i = 0; i < n; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]; return s; }
VEC static void saxpy(float *y, const float *x, float a, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
SCALAR static void saxpy_ref(float *y, const float *x, float a, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
VEC static void daxpy(double *y, const double *x, double a, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
VEC static int32_t max_i32(const int32_t *a, int n) { int32_t m = a[0]; for (int i = 1; i < n; i++) m = a[i] > m ? a[i] : m; return m; }
VEC static int32_t min_i32(const int32_t *a, int n) { int32_t m = a[0]; for (int i = 1; i < n; i++) m = a[i] < m ? a[i] : m; return m; }
VEC static void i2f(float *o, const int32_t *a, int n) { for (int i = 0; i < n; i++) o[i] = (float)a[i] * 0.5f; }
VEC static void f2i(int32_t *o, const float *a, int n) { for (int i = 0; i < n; i++) o[i] = (int32_t)(a[i] * 3.0f); }
VEC static void stencil(float *o, const float *a, int n) { for (int i = 1; i < n - 1; i++) o[i] = 0.25f * a[i - 1] + 0.5f * a[i] + 0.25f * a[i + 1]; }
SCALAR static void stencil_ref(float *o, const float *a, int n) { for (int i = 1; i < n - 1; i++) o[i] = 0.25f * a[i - 1] + 0.5f * a[i] + 0.25f * a[i + 1]; }
VEC static void bytes_ops(uint8_t *o, const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++) { unsigned s = a[i] + b[i]; o[i] = (uint8_t)((s > 255 ? 255 : s) ^ (a[i] >> 2)); }
}
SCALAR static void bytes_ops_ref(uint8_t *o, const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++) { unsigned s = a[i] + b[i]; o[i] = (uint8_t)((s > 255 ? 255 : s) ^ (a[i] >> 2)); }
}
VEC static void interleave(int16_t *o, const int16_t *a, const int16_t *b, int n) { for (int i = 0; i < n; i++) { o[2 * i] = a[i]; o[2 * i + 1] = (int16_t)(b[i] * 3); } }
VEC static void shifts(uint32_t *o, const uint32_t *a, int n) { for (int i = 0; i < n; i++) o[i] = (a[i] << 3) ^ (a[i] >> 7) ^ (uint32_t)((int32_t)a[i] >> 11); }
VEC static float sumf(const float *a, int n) { float s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; } /* strict FP: stays ordered */
VEC static uint64_t count_eq(const int32_t *a, const int32_t *b, int n) { uint64_t c = 0; for (int i = 0; i < n; i++) c += a[i] == b[i]; return c; }

int main(void)
{
    rng_seed(3);
    for (int i = 0; i < N; i++) {
        ia[i] = (int32_t)rng_next(); ib[i] = (int32_t)(rng_next() % 2001) - 1000;
        sa[i] = (int16_t)rng_next(); sb[i] = (int16_t)(rng_next() % 201 - 100);
        ua[i] = (uint8_t)rng_next(); ub[i] = (uint8_t)rng_next();
        fa[i] = (float)(int32_t)(rng_next() % 20001 - 10000) / 77.0f; fb[i] = (float)(rng_next() % 1000) / 3.0f;
        da[i] = (double)(int64_t)(rng_next() % 2000001 - 1000000) / 7.0; db[i] = (double)(rng_next() % 100000);
    }
    for (int n = N; n > 0; n = n * 2 / 3) {
        int64_t a = dot_i32(ia, ib, n), ar = dot_i32_ref(ia, ib, n);
        int32_t b = dot_i16(sa, sb, n), br = dot_i16_ref(sa, sb, n);
        uint32_t c = sad_u8(ua, ub, n), cr = sad_u8_ref(ua, ub, n);
        CHECK(a == ar); CHECK(b == br); CHECK(c == cr);
        printf("n=%4d dot32 %" PRId64 " dot16 %d sad %u max %d min %d\n", n, a, b, c, max_i32(ia, n), min_i32(ia, n));
    }
    memcpy(fc, fb, sizeof fb); memcpy(fd, fb, sizeof fb);
    saxpy(fc, fa, 1.75f, N); saxpy_ref(fd, fa, 1.75f, N);
    CHECK(memcmp(fc, fd, sizeof fc) == 0);
    daxpy(db, da, -0.3, N);
    printf("saxpy hash %016" PRIx64 " daxpy hash %016" PRIx64 "\n", fnv1a(fc, sizeof fc, FNV_INIT), fnv1a(db, sizeof db, FNV_INIT));
    stencil(fc, fa, N); stencil_ref(fd, fa, N);
    CHECK(memcmp(fc + 1, fd + 1, (N - 2) * sizeof(float)) == 0);
    i2f(fc, ia, N);
    int32_t out[N];
    f2i(out, fa, N);
    printf("i2f hash %016" PRIx64 " f2i hash %016" PRIx64 " sumf %.9g\n", fnv1a(fc, sizeof fc, FNV_INIT), fnv1a(out, sizeof out, FNV_INIT), sumf(fa, N));
    uint8_t o8[N], r8[N];
    bytes_ops(o8, ua, ub, N); bytes_ops_ref(r8, ua, ub, N);
    CHECK(memcmp(o8, r8, N) == 0);
    static int16_t il[2 * N];
    interleave(il, sa, sb, N);
    uint32_t sh[N];
    shifts(sh, (const uint32_t *)ia, N);
    printf("bytes %016" PRIx64 " interleave %016" PRIx64 " shifts %016" PRIx64 " eq %" PRIu64 "\n", fnv1a(o8, N, FNV_INIT),
           fnv1a(il, sizeof il, FNV_INIT), fnv1a(sh, sizeof sh, FNV_INIT), count_eq(ia, ia, N) + count_eq(ia, ib, N));
    return finish("vector");
}
