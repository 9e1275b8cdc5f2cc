/* fpmath: printf of doubles and floats in many formats, libm (sin, cos, tan,
 * exp, log, pow, sqrt, cbrt, fma, atan2, hypot, ...), rounding modes through
 * fesetround (rint/nearbyint/lrint and plain arithmetic), exception flags,
 * conversions between integers and floats (saturation, NaN), strtod/strtof
 * round trips, denormals, signed zeros, infinities and NaNs. */
#include "guest.h"
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <inttypes.h>

static volatile double vzero = 0.0, vone = 1.0;

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const double vals[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 3.141592653589793,
    2.718281828459045, 1e-300, 1e300, 123456789.125, -987654.321, 1e16, 9007199254740993.0,
    DBL_MIN, DBL_MAX, DBL_EPSILON, 4.9406564584124654e-324, 2.2250738585072009e-308,
    1.5, 2.5, -2.5, 0.49999999999999994, 1e-5, 65504.0, 1e22, 1e23, 5e-324,
};
#define NV (sizeof vals / sizeof vals[0])

static void print_formats(void)
{
    printf("-- printf double\n");
    for (unsigned i = 0; i < NV; i++) {
        double d = vals[i] * vone;
        printf("%u: %g|%.17g|%e|%.3e|%f|%.0f|%10.4f|%-12.2e|%+g|%a|%G|%.0e\n", i, d, d, d, d,
               fabs(d) < 1e20 ? d : 0.0, fabs(d) < 1e20 ? d : 0.0, d, d, d, d, d, d);
    }
    printf("special: %f %f %f %e %g %a %F\n", INFINITY, -INFINITY, NAN * vone, -INFINITY, NAN, INFINITY, INFINITY);
    printf("-- printf float\n");
    for (unsigned i = 0; i < NV; i++) {
        float f = (float)(vals[i] * vone);
        printf("%u: %g|%.9g|%e|%a|%08x\n", i, f, f, f, f, fbits(f));
    }
    printf("-- printf long double\n");
    long double ld = 1.0L / 3;
    printf("%.30Lg %La\n", ld, ld);
    ld = (long double)vals[10] * vals[11];
    printf("%.30Lg\n", ld);
    printf("%.40f\n", 0.1);
    printf("%.60f\n", DBL_MIN);
}

static void print_libm(void)
{
    printf("-- libm\n");
    uint64_t h = FNV_INIT;
    for (int i = -200; i <= 200; i++) {
        double x = i * 0.0731 * vone;
        double r[] = {
            sin(x), cos(x), tan(x), exp(x / 10), log(fabs(x) + 1e-3), log2(fabs(x) + 1),
            log10(fabs(x) + 2), pow(fabs(x), 1.37), pow(1.0001, x * 100), sqrt(fabs(x)),
            cbrt(x), atan(x), atan2(x, 0.7), asin(x / 20), acos(x / 20), sinh(x / 4), cosh(x / 4),
            tanh(x), expm1(x / 100), log1p(fabs(x)), hypot(x, 3.0), fma(x, 1.1, -0.3),
            floor(x), ceil(x), round(x), trunc(x), fmod(x, 0.77), remainder(x, 0.77),
            copysign(1.5, x), fmax(x, 0.1), fmin(x, 0.1), erf(x / 5), tgamma(fabs(x) / 3 + 0.5),
            lgamma(fabs(x) + 0.5), ldexp(x, 7), scalbn(x, -3), nextafter(x, 100.0),
        };
        h = fnv1a(r, sizeof r, h);
        float xf = (float)x;
        float rf[] = {sinf(xf), cosf(xf), expf(xf / 10), logf(fabsf(xf) + 1), sqrtf(fabsf(xf)),
                      powf(fabsf(xf), 0.7f), fmaf(xf, 3.0f, 1.0f), atan2f(xf, 1.0f), floorf(xf)};
        h = fnv1a(rf, sizeof rf, h);
        if (i % 40 == 0)
            printf("x=%.4f sin=%.17g exp=%.17g pow=%.17g sqrt=%.17g fma=%.17g sinf=%.9g\n", x, r[0],
                   r[3], r[7], r[9], r[21], rf[0]);
    }
    printf("libm hash %016" PRIx64 "\n", h);
    int e;
    double m = frexp(1234.5678 * vone, &e);
    double ip, fp = modf(-3.75 * vone, &ip);
    printf("frexp %.17g %d modf %g %g ilogb %d logb %g\n", m, e, fp, ip, ilogb(1e10 * vone), logb(1e-10 * vone));
    printf("sqrt(2)=%.17g exp(1)=%.17g log(10)=%.17g pow(2,0.5)=%.17g\n", sqrt(2.0 * vone),
           exp(vone), log(10 * vone), pow(2 * vone, 0.5));
    printf("fma exact: %a vs %a\n", fma(0x1.0000001p0 * vone, 0x1.0000001p0, -1.0), 0x1.0000001p0 * vone * 0x1.0000001p0 - 1.0);
    printf("nan: %d %d %d %d isinf %d signbit(-0) %d\n", isnan(sqrt(-vone)), isnan(vzero / vzero),
           NAN == NAN, isunordered(NAN, vone), isinf(vone / vzero), signbit(-vzero));
}

static const char *mode_name(int m)
{
    switch (m) {
    case FE_TONEAREST: return "nearest";
    case FE_UPWARD: return "upward";
    case FE_DOWNWARD: return "downward";
    case FE_TOWARDZERO: return "towardzero";
    }
    return "?";
}

static void print_rounding(void)
{
    printf("-- rounding modes\n");
    const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    const double xs[] = {2.5, -2.5, 3.5, -0.5, 1.4999, 0.7, -1.7};
    for (int m = 0; m < 4; m++) {
        if (fesetround(modes[m]) != 0) { printf("fesetround failed\n"); continue; }
        printf("%-10s get=%s:", mode_name(modes[m]), mode_name(fegetround()));
        for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            double x = xs[i] * vone;
            printf(" %g/%g/%ld", rint(x), nearbyint(x), lrint(x));
        }
        /* plain arithmetic honours the mode too */
        double third = vone / 3.0, big = 1e308 * (vone + 1);
        float ft = (float)vone / 3.0f;
        printf(" | 1/3=%a -1/3=%a 1e308*2=%g f1/3=%a (1+2^-60)=%a sqrt2=%a cvt=%a\n", third, -vone / 3.0,
               big, ft, vone + 0x1p-60, sqrt(2 * vone), (double)(float)(0.1 * vone));
    }
    fesetround(FE_TONEAREST);

    printf("-- exception flags\n");
    feclearexcept(FE_ALL_EXCEPT);
    volatile double r = vone / vzero;
    printf("div by zero: %d inexact %d\n", !!fetestexcept(FE_DIVBYZERO), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    r = vzero / vzero;
    printf("invalid: %d\n", !!fetestexcept(FE_INVALID));
    feclearexcept(FE_ALL_EXCEPT);
    r = DBL_MAX * (vone + 1);
    printf("overflow: %d inexact %d\n", !!fetestexcept(FE_OVERFLOW), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    r = DBL_MIN * (vone / 3);
    printf("underflow: %d\n", !!fetestexcept(FE_UNDERFLOW));
    feclearexcept(FE_ALL_EXCEPT);
    r = vone + 1;
    printf("exact add raises nothing: %d\n", fetestexcept(FE_ALL_EXCEPT) == 0);
    feclearexcept(FE_ALL_EXCEPT);
    r = vone / 3;
    printf("1/3 inexact: %d\n", !!fetestexcept(FE_INEXACT));
    (void)r;
    feclearexcept(FE_ALL_EXCEPT);
}

static void print_conversions(void)
{
    printf("-- conversions\n");
    const double xs[] = {0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2147483647.5, -2147483648.9, 4294967295.9,
                         9.3e18, -9.3e18, 1.8e19, 1e30, -1e30};
    for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i] * vone;
        /* In-range conversions only are defined in C; use lround-like helpers
         * for the rest and print the (defined) results. */
        long long ll = (fabs(x) < 9.2e18) ? (long long)x : 0;
        unsigned long long ull = (x >= 0 && x < 1.8e19) ? (unsigned long long)x : 0;
        int iv = (x > -2147483649.0 && x < 2147483648.0) ? (int)x : 0;
        printf("%g: ll=%lld ull=%llu int=%d llround=%lld f=%a\n", x, ll, ull, iv,
               fabs(x) < 9e18 ? llround(x) : 0, (double)(float)x);
    }
#ifdef __aarch64__
    /* AArch64 FCVTZS/FCVTZU saturate and map NaN to 0: test through asm. */
    const double sat[] = {1e30, -1e30, NAN, INFINITY, -INFINITY, 3e9, -1.0};
    for (unsigned i = 0; i < sizeof sat / sizeof sat[0]; i++) {
        double x = sat[i] * vone;
        int64_t s64; uint64_t u64; int32_t s32; uint32_t u32;
        __asm__("fcvtzs %0, %d1" : "=r"(s64) : "w"(x));
        __asm__("fcvtzu %0, %d1" : "=r"(u64) : "w"(x));
        __asm__("fcvtzs %w0, %d1" : "=r"(s32) : "w"(x));
        __asm__("fcvtzu %w0, %d1" : "=r"(u32) : "w"(x));
        printf("sat %g: %" PRId64 " %" PRIu64 " %d %u\n", x, s64, u64, s32, u32);
    }
#else
    printf("sat: aarch64 only\n");
#endif
    uint64_t h = FNV_INIT;
    rng_seed(77);
    for (int i = 0; i < 20000; i++) {
        int64_t v = (int64_t)rng_next() >> (rng_next() & 63);
        double d = (double)v; float f = (float)v; double du = (double)(uint64_t)v;
        float fu = (float)(uint64_t)v; double di = (double)(int32_t)v; float fi = (float)(uint32_t)v;
        h = fnv1a(&d, 8, h); h = fnv1a(&f, 4, h); h = fnv1a(&du, 8, h);
        h = fnv1a(&fu, 4, h); h = fnv1a(&di, 8, h); h = fnv1a(&fi, 4, h);
        double q = d / 7.0; float fq = (float)q; double back = fq;
        h = fnv1a(&q, 8, h); h = fnv1a(&back, 8, h);
    }
    printf("int<->fp hash %016" PRIx64 "\n", h);
}

static void print_strtod(void)
{
    printf("-- strtod\n");
    const char *s[] = {"0", "-0", "1e-400", "4.9e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
                       "1.8e308", "0x1.fffffffffffffp1023", "3.14159265358979323846264338327950288",
                       "  +12.5e-3xyz", "inf", "-Infinity", "nan", "1e23", "8.98846567431158e307",
                       "2.2250738585072011e-308", "123456789012345678901234567890", ".5", "5.", "0x10p-2",
                       "9007199254740993", "1.00000000000000011102230246251565404236316680908203125"};
    for (unsigned i = 0; i < sizeof s / sizeof s[0]; i++) {
        char *end;
        double d = strtod(s[i], &end);
        float f = strtof(s[i], NULL);
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", d);
        double back = strtod(buf, NULL);
        printf("\"%s\" -> %.17g [%016" PRIx64 "] f=%.9g rest=\"%s\" roundtrip=%d\n", s[i], d, dbits(d), f, end,
               dbits(back) == dbits(d) || isnan(d));
    }
    rng_seed(99);
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        uint64_t u = rng_next();
        double d;
        memcpy(&d, &u, 8);
        if (!isfinite(d)) continue;
        char buf[40];
        snprintf(buf, sizeof buf, "%.17g", d);
        if (dbits(strtod(buf, NULL)) != u) bad++;
        snprintf(buf, sizeof buf, "%a", d);
        if (dbits(strtod(buf, NULL)) != u) bad++;
    }
    printf("random round trips bad=%d\n", bad);
}

static void print_misc(void)
{
    printf("-- misc\n");
    /* denormals are not flushed */
    double dn = DBL_MIN * vone / 1024;
    printf("denormal %a %a %d\n", dn, dn * 1024, fpclassify(dn) == FP_SUBNORMAL);
    float fdn = FLT_MIN * (float)vone / 8;
    printf("float denormal %a %d\n", fdn, fpclassify(fdn) == FP_SUBNORMAL);
    printf("signed zero: %g %g %g\n", -vzero, vzero * -1, 1 / (-vzero));
    printf("nan payload quiet: %d\n", isnan(NAN * vone + 1));
    /* float accumulation (order-dependent, so the compiler must keep order) */
    double s = 0; float sf = 0;
    for (int i = 1; i <= 100000; i++) { s += 1.0 / i; sf += 1.0f / (float)i; }
    printf("harmonic %.17g %.9g\n", s, sf);
    /* compares */
    int c = 0;
    for (int i = 0; i < (int)NV; i++)
        for (int j = 0; j < (int)NV; j++)
            c = c * 3 + (vals[i] < vals[j]) + 2 * (vals[i] == vals[j]);
    printf("compare mix %d\n", c);
}

int main(void)
{
    print_formats();
    print_libm();
    print_rounding();
    print_conversions();
    print_strtod();
    print_misc();
    return finish("fpmath");
}
