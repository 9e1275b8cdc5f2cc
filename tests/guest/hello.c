/* hello: argv, a fixed environment variable, envp walking, the auxiliary
 * vector through getauxval, stdout and stderr, exit status = argc. */
#include "guest.h"
#include <sys/auxv.h>
#include <unistd.h>
#include <link.h>

extern char **environ;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv, char **envp)
{
    printf("hello, world\n");
    printf("argc=%d argv0=%s\n", argc, base_name(argv[0]));
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=\"%s\" len=%zu\n", i, argv[i], strlen(argv[i]));
    CHECK(argv[argc] == NULL);

    const char *v = getenv("MIMIC_TEST_VAR");
    printf("MIMIC_TEST_VAR=%s\n", v ? v : "(unset)");
    /* envp and environ agree; print only our fixed-prefix variables, sorted:
     * qemu-user hands the guest its environment in reverse order, Linux in
     * the original order, and both are fine for a program. */
    const char *mine[64];
    int n = 0;
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "MIMIC_TEST_", 11) == 0 && n < 64)
            mine[n++] = *e;
    qsort(mine, n, sizeof mine[0], cmp_str);
    for (int i = 0; i < n; i++)
        printf("env: %s\n", mine[i]);
    CHECK(envp == environ);
    printf("MIMIC_TEST_* variables: %d\n", n);

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    CHECK(getauxval(AT_PAGESZ) == (unsigned long)sysconf(_SC_PAGESIZE));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_UID==getuid: %d\n", getauxval(AT_UID) == (unsigned long)getuid());
    printf("AT_EUID==geteuid: %d\n", getauxval(AT_EUID) == (unsigned long)geteuid());
    printf("AT_GID==getgid: %d\n", getauxval(AT_GID) == (unsigned long)getgid());
    printf("AT_EGID==getegid: %d\n", getauxval(AT_EGID) == (unsigned long)getegid());
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM>0: %d\n", getauxval(AT_PHNUM) > 0);
    printf("AT_PHDR!=0: %d\n", getauxval(AT_PHDR) != 0);
    printf("AT_ENTRY!=0: %d\n", getauxval(AT_ENTRY) != 0);
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    printf("AT_RANDOM!=0: %d\n", rnd != NULL);
    if (rnd) {
        volatile unsigned x = 0; /* readable, 16 bytes */
        for (int i = 0; i < 16; i++) x += rnd[i];
        (void)x;
    }
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM=%s\n", plat ? plat : "(none)");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN=%s\n", execfn ? base_name(execfn) : "(none)");
    /* The program headers that AT_PHDR points at describe this executable. */
    if (getauxval(AT_PHDR)) {
        const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
        int loads = 0;
        for (unsigned long i = 0; i < getauxval(AT_PHNUM); i++)
            loads += ph[i].p_type == PT_LOAD;
        printf("PT_LOAD segments>0: %d\n", loads > 0);
    }

    fprintf(stderr, "hello on stderr\n");
    fflush(stdout);
    finish("hello");
    return g_failures ? 100 : argc;
}
