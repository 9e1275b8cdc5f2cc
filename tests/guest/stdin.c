/* stdin: reads all of standard input (read(2) in odd-sized chunks, then
 * stdio on a dup), counts bytes, lines, words, prints a hash, echoes the
 * first line reversed to stdout and a summary to stderr.  With no input
 * (stdin is /dev/null) it prints zeros.  Exit status: lines % 256. */
#include "guest.h"
#include <unistd.h>
#include <ctype.h>

int main(void)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 777 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(0, buf + n, 777);
        if (r < 0) { perror("read"); return 2; }
        if (r == 0) break;
        n += (size_t)r;
    }
    size_t lines = 0, words = 0;
    int inword = 0;
    for (size_t i = 0; i < n; i++) {
        lines += buf[i] == '\n';
        if (isspace((unsigned char)buf[i])) inword = 0;
        else if (!inword) { inword = 1; words++; }
    }
    printf("bytes=%zu lines=%zu words=%zu hash=%016llx\n", n, lines, words, (unsigned long long)fnv1a(buf, n, FNV_INIT));
    size_t first = 0;
    while (first < n && buf[first] != '\n') first++;
    printf("first line reversed: \"");
    for (size_t i = first; i > 0; i--) putchar(buf[i - 1]);
    printf("\"\n");
    fprintf(stderr, "stdin: %zu lines read\n", lines);
    return (int)(lines % 256);
}
