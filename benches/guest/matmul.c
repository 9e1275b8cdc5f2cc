/* matmul: dense double matrix multiply, i-k-j loop order (vectorisable),
 * repeated (argument: size N, default 600; 3 repetitions); prints a
 * checksum of the result. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 600;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) { a[i] = (i % 17) * 0.25 - 2; b[i] = (i % 23) * 0.125 - 1.5; }
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
        a[rep] += 1.0;
    }
    double s = 0;
    for (int i = 0; i < n * n; i++) s += c[i] * ((i % 7) + 1);
    printf("%.6f\n", s);
    return 0;
}
