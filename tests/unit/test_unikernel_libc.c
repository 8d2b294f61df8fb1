/*
 * The unikernel's own libc (src/platform/unikernel/libc), tested on the host
 * against glibc.
 *
 * How it builds next to glibc: this one translation unit includes glibc's
 * headers first, then renames every libc function to uk_<name> with macros
 * and #includes the unikernel's libc sources, so their definitions become
 * uk_memcpy, uk_snprintf... and never clash with (or silently become)
 * glibc's. The appliance compiles the very same files with their real
 * names. The heap's two platform hooks (morecore, panic) are provided here.
 */
#include <limits.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* GCC could turn our byte loops into calls to glibc's memset/memcpy, which
 * would test glibc instead of us; the appliance build forbids it too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#undef memcpy
#undef memmove
#undef memset
#undef strdup
#undef strndup
#define memcpy uk_memcpy
#define memmove uk_memmove
#define memset uk_memset
#define memcmp uk_memcmp
#define memchr uk_memchr
#define strlen uk_strlen
#define strnlen uk_strnlen
#define strcmp uk_strcmp
#define strncmp uk_strncmp
#define strchr uk_strchr
#define strrchr uk_strrchr
#define strdup uk_strdup
#define strndup uk_strndup
#define strstr uk_strstr
#define strtoull uk_strtoull
#define strtoll uk_strtoll
#define snprintf uk_snprintf
#define vsnprintf uk_vsnprintf
#define malloc uk_malloc
#define calloc uk_calloc
#define realloc uk_realloc
#define free uk_free
#define qsort uk_qsort
#include "platform/unikernel/libc/string.c"
#include "platform/unikernel/libc/strtol.c"
#include "platform/unikernel/libc/printf.c"
#include "platform/unikernel/libc/qsort.c"
#include "platform/unikernel/libc/malloc.c"
/* From here on, plain names are glibc's. */
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef memchr
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strrchr
#undef strdup
#undef strndup
#undef strstr
#undef strtoull
#undef strtoll
#undef snprintf
#undef vsnprintf
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef qsort

/* ---- the heap's platform hooks ------------------------------------------------ */

#define ARENA (8u << 20)
static _Alignas(4096) unsigned char arena[ARENA];
static size_t arena_used, arena_limit = ARENA;
static jmp_buf panic_jmp;
static int panic_armed;
static char panic_msg[256];

void *uk_heap_morecore(size_t bytes)
{
    void *p;

    if (bytes % 4096 || bytes > arena_limit - arena_used)
        return NULL;
    p = arena + arena_used;
    arena_used += bytes;
    return p;
}

_Noreturn void uk_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
    va_end(ap);
    if (panic_armed)
        longjmp(panic_jmp, 1);
    fail_msg("unexpected uk_panic: %s", panic_msg);
    abort();
}

/* Starts the heap afresh (the statics are in this translation unit). */
static void heap_reset(size_t limit)
{
    free_list = NULL;
    arena_bytes = used_units = 0;
    arena_used = 0;
    arena_limit = limit;
}

/* ---- snprintf against glibc ------------------------------------------------------ */

static int mismatches;

/* Compares ours and glibc's for every buffer size from 0 to the full
 * length + 2: same return value, same bytes, nothing written past n. */
static void compare_v(const char *fmt, ...)
{
    char full[512];
    va_list ap, aq;
    int want;

    va_start(ap, fmt);
    va_copy(aq, ap);
    want = vsnprintf(full, sizeof(full), fmt, aq);
    va_end(aq);
    assert_true(want >= 0 && want < (int)sizeof(full) - 8);
    for (size_t n = 0; n <= (size_t)want + 2; n++) {
        char ours[512], theirs[512];
        int got;

        memset(ours, 'X', sizeof(ours));
        memset(theirs, 'X', sizeof(theirs));
        va_copy(aq, ap);
        got = uk_vsnprintf(n ? ours : NULL, n, fmt, aq);
        va_end(aq);
        va_copy(aq, ap);
        vsnprintf(n ? theirs : NULL, n, fmt, aq);
        va_end(aq);
        if (got != want || memcmp(ours, theirs, sizeof(ours))) {
            if (mismatches++ < 20)
                print_error("format \"%s\" n=%zu: ours %d \"%.*s\", glibc %d \"%s\"\n",
                            fmt, n, got, (int)(n ? n : 1), n ? ours : "", want,
                            full);
            break;
        }
    }
    va_end(ap);
}

static const char *const int_formats[] = {
    "%d", "%i", "%u", "%x", "%X", "%o", "%5d", "%-5d|", "%05d", "%+d", "% d",
    "%+5d", "%-+5d|", "%.3d", "%8.3d", "%-8.3d|", "%08.3d", "%.0d", "%5.0d",
    "%#x", "%#X", "%#o", "%#.0o", "%#08x", "%#8x", "%-#8x|", "%#.5x", "%.0x",
    "%hhd", "%hhu", "%hhx", "%hd", "%hu", "%hx", "[%3u]", "%+.0d", "% 05d",
    "%010u", "%1d", "%2x",
};
static const int int_values[] = {
    0, 1, -1, 7, 8, 9, 42, -42, 99, 100, 127, 128, 255, 256, -128, -129,
    32767, 32768, 65535, 65536, 123456789, -123456789, INT_MAX, INT_MIN,
};

static void test_snprintf_int(void **state)
{
    for (size_t f = 0; f < sizeof(int_formats) / sizeof(*int_formats); f++)
        for (size_t v = 0; v < sizeof(int_values) / sizeof(*int_values); v++)
            compare_v(int_formats[f], int_values[v]);
    assert_int_equal(mismatches, 0);
}

static const char *const ll_formats[] = {
    "%lld", "%llu", "%llx", "%llX", "%llo", "%#llx", "%020llx", "%-20lld|",
    "%+lld", "%.20llu", "%25.20lld", "%#.0llx", "%lli", "0x%016llx",
};
static const unsigned long long ll_values[] = {
    0, 1, 0xffffffffull, 0x100000000ull, 0xdeadbeefcafef00dull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
    1000000000000ull, 0xffffffff82000000ull,
};

static void test_snprintf_long(void **state)
{
    for (size_t f = 0; f < sizeof(ll_formats) / sizeof(*ll_formats); f++)
        for (size_t v = 0; v < sizeof(ll_values) / sizeof(*ll_values); v++)
            compare_v(ll_formats[f], ll_values[v]);
    for (size_t v = 0; v < sizeof(ll_values) / sizeof(*ll_values); v++) {
        compare_v("%lu %ld %lx %#lo", (unsigned long)ll_values[v],
                  (long)ll_values[v], (unsigned long)ll_values[v],
                  (unsigned long)ll_values[v]);
        compare_v("%zu %zx %zd %5zu", (size_t)ll_values[v], (size_t)ll_values[v],
                  (ptrdiff_t)ll_values[v], (size_t)ll_values[v]);
        compare_v("%jd %ju %td %tx", (intmax_t)ll_values[v],
                  (uintmax_t)ll_values[v], (ptrdiff_t)ll_values[v],
                  (ptrdiff_t)ll_values[v]);
    }
    assert_int_equal(mismatches, 0);
}

static void test_snprintf_str_char_ptr(void **state)
{
    const char *volatile null = NULL; /* hides NULL from -Wformat */
    static const char *const strs[] = { "", "a", "hello", "hello, world",
                                        "a somewhat longer string of 40 chars.." };
    int x;

    for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
        compare_v("%s|%10s|%-10s|%.3s|%.0s|%5.2s|%-5.2s|", strs[i], strs[i],
                  strs[i], strs[i], strs[i], strs[i], strs[i]);
        compare_v("%.64s", strs[i]);
        for (int p = -1; p < 8; p++)
            compare_v("[%.*s] [%*s] [%-*s]", p, strs[i], p, strs[i], p, strs[i]);
    }
    compare_v("%s and %10s", null, null);
    compare_v("%c%c%c|%3c|%-3c|", 'a', 'b', 0x7f, 'x', 'y');
    compare_v("100%% %5d%%", 42);
    compare_v("%p %20p %-20p|", (void *)&x, (void *)&x, (void *)&x);
    compare_v("%p %10p %-10p|", (void *)0, (void *)0, (void *)0);
    compare_v("%p", (void *)(uintptr_t)0xffffffff82000000ull);
    for (int w = -6; w <= 6; w += 3)
        compare_v("[%*d] [%.*d] [%*.*x]", w, 42, w, 42, w, w, 0xab);
    compare_v("plain text, no conversions");
    compare_v("%s=%llx (%u) %.*s %c", "cr3", 0x1aa000ull, 7u, 4, "abcdefgh", 'Z');
    assert_int_equal(mismatches, 0);
}

static void test_snprintf_contract(void **state)
{
    char buf[8];
    char big[300];

    /* Returns the would-be length, writes nothing with n = 0. */
    assert_int_equal(uk_snprintf(NULL, 0, "%d-%s", 12345, "abc"), 9);
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(uk_snprintf(buf, 1, "abc"), 3);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');
    assert_int_equal(uk_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
    assert_string_equal(buf, "0123456");
    /* A huge width is counted, not written. */
    assert_int_equal(uk_snprintf(buf, sizeof(buf), "%100000d", 1), 100000);
    assert_string_equal(buf, "       ");
    assert_int_equal(uk_snprintf(big, sizeof(big), "%*d", 250, 1), 250);
    assert_int_equal(strlen(big), 250);
}

/* ---- strtoull / strtoll against glibc ---------------------------------------------- */

static void test_strtoull(void **state)
{
    static const char *const in[] = {
        "0", "123", "  42", "\t\n\v\f\r 42x", "+7", "-1", "-0", "0x1f", "0X1F",
        "0x", "0xg", "0x 1", "077", "08", "09", "0", "00x1", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999", "-18446744073709551615",
        "-18446744073709551616", "z", "Z", "", "   ", "+", "-", "+-1", "--1",
        "0x8000000000000000", "1e3", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "ffffffff82000000",
        "0xffffffff82000000 rest", "777777777777777777777", "1777777777777777777777",
        "2000000000000000000000", "zzzzzzzzzzzzz", "1010101", " -0x10",
    };
    static const int bases[] = { 0, 2, 8, 10, 16, 36, 1, 37, -1 };

    for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++)
        for (size_t b = 0; b < sizeof(bases) / sizeof(*bases); b++) {
            bool bad_base = bases[b] == 1 || bases[b] > 36 || bases[b] < 0;
            char *eu1, *eu2 = (char *)in[i], *es1, *es2 = (char *)in[i];
            unsigned long long u1 = uk_strtoull(in[i], &eu1, bases[b]);
            unsigned long long u2 = strtoull(in[i], &eu2, bases[b]);
            long long s1 = uk_strtoll(in[i], &es1, bases[b]);
            long long s2 = strtoll(in[i], &es2, bases[b]);

            /* A bad base is undefined: glibc leaves *end alone (ASan's
             * interceptor even changes it); ours points it at the input,
             * as for "no digits". Compare ends for valid bases only. */
            if (bad_base) {
                assert_true(u1 == 0 && s1 == 0 && u2 == 0 && s2 == 0);
                assert_true(eu1 == in[i] && es1 == in[i]);
                continue;
            }
            if (u1 != u2 || s1 != s2 || eu1 != eu2 || es1 != es2)
                print_error("\"%s\" base %d: ours %llu/%lld end +%td/+%td, "
                            "glibc %llu/%lld end +%td/+%td\n", in[i], bases[b],
                            u1, s1, eu1 - in[i], es1 - in[i], u2, s2,
                            eu2 - in[i], es2 - in[i]);
            assert_true(u1 == u2 && s1 == s2 && eu1 == eu2 && es1 == es2);
        }
    assert_int_equal(uk_strtoull("12", NULL, 10), 12); /* end may be NULL */
}

/* ---- string functions against glibc ------------------------------------------------ */

static int sign(int v) { return (v > 0) - (v < 0); }

static void test_strings(void **state)
{
    static const char *const s[] = { "", "a", "ab", "abc", "abd", "b", "\xff",
                                     "hello world", "hello", "hellp", "lo w" };
    size_t n = sizeof(s) / sizeof(*s);
    char buf[64], ref[64];

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(uk_strlen(s[i]), strlen(s[i]));
        for (size_t m = 0; m < 6; m++)
            assert_int_equal(uk_strnlen(s[i], m), strnlen(s[i], m));
        for (int c = 0; c < 256; c += 17) {
            assert_ptr_equal(uk_strchr(s[i], c), strchr(s[i], c));
            assert_ptr_equal(uk_strrchr(s[i], c), strrchr(s[i], c));
            assert_ptr_equal(uk_memchr(s[i], c, strlen(s[i]) + 1),
                             memchr(s[i], c, strlen(s[i]) + 1));
        }
        assert_ptr_equal(uk_strchr(s[i], 'l'), strchr(s[i], 'l'));
        assert_ptr_equal(uk_strrchr(s[i], 'l'), strrchr(s[i], 'l'));
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(sign(uk_strcmp(s[i], s[j])), sign(strcmp(s[i], s[j])));
            for (size_t m = 0; m < 6; m++)
                assert_int_equal(sign(uk_strncmp(s[i], s[j], m)),
                                 sign(strncmp(s[i], s[j], m)));
            assert_int_equal(sign(uk_memcmp(s[i], s[j], 1)),
                             sign(memcmp(s[i], s[j], 1)));
            assert_ptr_equal(uk_strstr(s[i], s[j]), strstr(s[i], s[j]));
        }
    }
    /* memmove both ways over an overlap, against glibc on a copy. */
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 40; len += 7) {
            for (size_t k = 0; k < sizeof(buf); k++)
                buf[k] = ref[k] = (char)k;
            uk_memmove(buf + off, buf + 4, len);
            memmove(ref + off, ref + 4, len);
            assert_memory_equal(buf, ref, sizeof(buf));
        }
    for (size_t k = 0; k < sizeof(buf); k++)
        buf[k] = (char)k;
    assert_ptr_equal(uk_memset(buf, 0xab, 10), buf);
    assert_int_equal((unsigned char)buf[9], 0xab);
    assert_int_equal(buf[10], 10);
}

static void test_strdup(void **state)
{
    char *a, *b;

    heap_reset(ARENA);
    a = uk_strdup("tinyvmi");
    b = uk_strndup("tinyvmi", 4);
    assert_string_equal(a, "tinyvmi");
    assert_string_equal(b, "tiny");
    uk_free(a);
    uk_free(b);
    b = uk_strndup("ab", 100);
    assert_string_equal(b, "ab");
    uk_free(b);
    assert_true(uk_heap_check());
}

/* ---- qsort against glibc ------------------------------------------------------------ */

struct rec { uint32_t key; uint32_t tag; char pad[5]; }; /* odd size: 16 */
struct odd { char b[3]; };                               /* size 3 */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->tag > y->tag) - (x->tag < y->tag);
}

static int cmp_odd(const void *a, const void *b) { return memcmp(a, b, 3); }

static void test_qsort(void **state)
{
    static int a[2000], b[2000];
    static struct rec r1[700], r2[700];
    static struct odd o1[333], o2[333];
    unsigned seed = 1;

    for (size_t n = 0; n <= 2000; n = n < 20 ? n + 1 : n * 2 + 1) {
        for (int shape = 0; shape < 4; shape++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245 + 12345;
                a[i] = shape == 0 ? (int)(seed >> 8)            /* random */
                     : shape == 1 ? (int)(seed >> 8) % 5        /* duplicates */
                     : shape == 2 ? (int)i                      /* sorted */
                                  : (int)(n - i);               /* reversed */
            }
            memcpy(b, a, n * sizeof(*a));
            uk_qsort(a, n, sizeof(*a), cmp_int);
            qsort(b, n, sizeof(*b), cmp_int);
            assert_memory_equal(a, b, n * sizeof(*a) + (n == 0));
        }
    }
    for (size_t i = 0; i < 700; i++) {
        seed = seed * 1103515245 + 12345;
        r1[i] = (struct rec){ .key = seed % 50, .tag = (uint32_t)i };
    }
    memcpy(r2, r1, sizeof(r1));
    uk_qsort(r1, 700, sizeof(*r1), cmp_rec);
    qsort(r2, 700, sizeof(*r2), cmp_rec);
    assert_memory_equal(r1, r2, sizeof(r1));
    for (size_t i = 0; i < 333; i++)
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245 + 12345;
            o1[i].b[k] = (char)(seed >> 16);
        }
    memcpy(o2, o1, sizeof(o1));
    uk_qsort(o1, 333, 3, cmp_odd);
    qsort(o2, 333, 3, cmp_odd);
    assert_memory_equal(o1, o2, sizeof(o1));
}

/* ---- the heap ------------------------------------------------------------------------ */

struct slot { unsigned char *p; size_t n; unsigned char tag; };

static int slot_ok(const struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] != (unsigned char)(s->tag + i * 7))
            return 0;
    return 1;
}

static void slot_fill(struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->p[i] = (unsigned char)(s->tag + i * 7);
}

static void test_malloc_stress(void **state)
{
    static struct slot s[256];
    uint64_t x = 88172645463325252ull;

    heap_reset(ARENA);
    for (int op = 0; op < 200000; op++) {
        struct slot *t;
        size_t n;

        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t = &s[x % 256];
        n = (x >> 20) % ((x >> 40) % 16 ? 300 : 40000);
        if (t->p)
            assert_true(slot_ok(t));
        if (!t->p) {
            t->p = uk_malloc(n);
        } else if ((x >> 8) % 3 == 0) {
            uk_free(t->p);
            t->p = NULL;
            continue;
        } else {
            unsigned char *q = uk_realloc(t->p, n + 1);

            assert_non_null(q);
            for (size_t i = 0; i < (n + 1 < t->n ? n + 1 : t->n); i++)
                assert_int_equal(q[i], (unsigned char)(t->tag + i * 7));
            t->p = q;
            n++;
        }
        assert_non_null(t->p);
        assert_int_equal((uintptr_t)t->p % 16, 0);
        t->n = n;
        t->tag = (unsigned char)(x >> 32);
        slot_fill(t);
        if (op % 10000 == 0)
            assert_true(uk_heap_check());
    }
    for (int i = 0; i < 256; i++) {
        if (s[i].p)
            assert_true(slot_ok(&s[i]));
        uk_free(s[i].p);
        s[i].p = NULL;
    }
    assert_true(uk_heap_check());
    assert_int_equal(used_units, 0);
    /* Everything merged back: the arena is a handful of blocks. */
    assert_true(free_list != NULL);
}

static void test_malloc_edges(void **state)
{
    void *p, *q;

    heap_reset(1 << 20);
    assert_null(uk_malloc(SIZE_MAX));
    assert_null(uk_malloc(SIZE_MAX / 2 + 1));
    assert_null(uk_calloc(SIZE_MAX / 8, 16)); /* nmemb * n overflows */
    assert_null(uk_calloc(1, 2 << 20));       /* bigger than the arena */
    p = uk_malloc(0);
    q = uk_malloc(0);
    assert_non_null(p);
    assert_ptr_not_equal(p, q);
    uk_free(p);
    uk_free(q);
    uk_free(NULL);
    p = uk_calloc(100, 10);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(((unsigned char *)p)[i], 0);
    q = uk_realloc(p, 10);           /* shrink: same block */
    assert_ptr_equal(p, q);
    assert_null(uk_realloc(q, 0));   /* realloc(p, 0) frees */
    p = uk_realloc(NULL, 33);        /* realloc(NULL, n) allocates */
    assert_non_null(p);
    assert_null(uk_realloc(p, 4 << 20)); /* too big: NULL, p untouched */
    memset(p, 1, 33);
    uk_free(p);
    assert_true(uk_heap_check());
}

static void test_malloc_exhaustion(void **state)
{
    void *list = NULL, *p;
    size_t count = 0, again = 0;

    heap_reset(4 << 20);
    while ((p = uk_malloc(100000)) != NULL) {
        *(void **)p = list;
        list = p;
        count++;
        assert_true(count < 100);
    }
    assert_true(count >= 35); /* 4 MiB / ~100 KB, less headers and rounding */
    while (list) {
        p = *(void **)list;
        uk_free(list);
        list = p;
    }
    assert_true(uk_heap_check());
    while ((p = uk_malloc(100000)) != NULL) { /* all of it comes back */
        *(void **)p = list;
        list = p;
        again++;
    }
    assert_int_equal(again, count);
}

static void test_malloc_bad_free(void **state)
{
    char *p;

    heap_reset(ARENA);
    p = uk_malloc(64);
    panic_armed = 1;
    if (!setjmp(panic_jmp)) {
        uk_free(p + 16); /* not a block's start */
        fail_msg("free of an interior pointer went unnoticed");
    }
    assert_non_null(strstr(panic_msg, "not an allocated block"));
    uk_free(p);
    if (!setjmp(panic_jmp)) {
        uk_free(p); /* double free */
        fail_msg("double free went unnoticed");
    }
    panic_armed = 0;
    assert_true(uk_heap_check());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snprintf_int),
        cmocka_unit_test(test_snprintf_long),
        cmocka_unit_test(test_snprintf_str_char_ptr),
        cmocka_unit_test(test_snprintf_contract),
        cmocka_unit_test(test_strtoull),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_qsort),
        cmocka_unit_test(test_malloc_stress),
        cmocka_unit_test(test_malloc_edges),
        cmocka_unit_test(test_malloc_exhaustion),
        cmocka_unit_test(test_malloc_bad_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
