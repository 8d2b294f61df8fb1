/*
 * qsort as a heapsort: O(n log n) even on hostile input, no recursion, no
 * allocation, a dozen lines to check. Not stable, as C allows.
 */
#include "libc.h"

static void swap(char *a, char *b, size_t size)
{
    while (size--) {
        char t = *a;

        *a++ = *b;
        *b++ = t;
    }
}

/* Moves element root down until the max-heap of n elements holds. */
static void sift(char *base, size_t root, size_t n, size_t size,
                 int (*cmp)(const void *, const void *))
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(base + root * size, base + child * size) >= 0)
            return;
        swap(base + root * size, base + child * size, size);
    }
}

void qsort(void *base, size_t nmemb, size_t size,
           int (*cmp)(const void *, const void *))
{
    char *b = base;

    if (nmemb < 2 || !size)
        return;
    for (size_t i = nmemb / 2; i-- > 0;)
        sift(b, i, nmemb, size, cmp);
    for (size_t end = nmemb - 1; end > 0; end--) {
        swap(b, b + end * size, size);
        sift(b, 0, end, size, cmp);
    }
}
