/*
 * ISF user_types as the views read them (lx_isf_field): each member's
 * offset, size, element count and bitfield position, from the kinds of
 * type Volatility 3 writes (base, pointer, array, nested array, struct,
 * union, enum, bitfield), through anonymous members; and a clear refusal
 * of what has no size or is out of range. Known answers, worked by hand
 * from the document below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "os/linux/profile.h"

#define BASE(n) "{\"kind\": \"base\", \"name\": \"" n "\"}"

static const char doc[] =
    "{\"user_types\": {"
    "  \"task\": {\"size\": 64, \"kind\": \"struct\", \"fields\": {"
    "    \"pid\": {\"offset\": 4, \"type\": " BASE("int") "},"
    "    \"comm\": {\"offset\": 8, \"type\": {\"kind\": \"array\", \"count\": 16,"
    "      \"subtype\": " BASE("char") "}},"
    "    \"grid\": {\"offset\": 24, \"type\": {\"kind\": \"array\", \"count\": 2,"
    "      \"subtype\": {\"kind\": \"array\", \"count\": 3, \"subtype\": " BASE("short") "}}},"
    "    \"mm\": {\"offset\": 40, \"type\": {\"kind\": \"pointer\", \"subtype\":"
    "      {\"kind\": \"array\", \"count\": 9, \"subtype\": {\"kind\": \"struct\", \"name\": \"task\"}}}},"
    "    \"state\": {\"offset\": 48, \"type\": {\"kind\": \"enum\", \"name\": \"st\"}},"
    "    \"level\": {\"offset\": 52, \"type\": {\"kind\": \"bitfield\", \"bit_position\": 13,"
    "      \"bit_length\": 3, \"type\": " BASE("unsigned int") "}},"
    "    \"unnamed_field_0\": {\"offset\": 56, \"anonymous\": true,"
    "      \"type\": {\"kind\": \"union\", \"name\": \"unnamed_1\"}},"
    "    \"fn\": {\"offset\": 0, \"type\": {\"kind\": \"function\"}},"
    "    \"odd\": {\"offset\": 0, \"type\": " BASE("nosuch") "},"
    "    \"far\": {\"offset\": 99999999, \"type\": " BASE("int") "},"
    "    \"huge\": {\"offset\": 0, \"type\": {\"kind\": \"array\", \"count\": 4294967296,"
    "      \"subtype\": {\"kind\": \"array\", \"count\": 4294967296, \"subtype\": " BASE("int") "}}}"
    "  }},"
    "  \"unnamed_1\": {\"size\": 8, \"kind\": \"union\", \"fields\": {"
    "    \"list\": {\"offset\": 0, \"type\": {\"kind\": \"struct\", \"name\": \"pair\"}}}},"
    "  \"pair\": {\"size\": 16, \"kind\": \"struct\", \"fields\": {}}"
    "},"
    "\"base_types\": {\"int\": {\"size\": 4}, \"char\": {\"size\": 1}, \"short\": {\"size\": 2},"
    "  \"unsigned int\": {\"size\": 4}, \"pointer\": {\"size\": 8}},"
    "\"enums\": {\"st\": {\"size\": 4, \"base\": \"int\", \"constants\": {}}}}";

static struct lx_isf isf;
static char why[200];

static int setup(void **state)
{
    char err[200];

    (void)state;
    if (lx_isf_parse(doc, strlen(doc), &isf, err, sizeof(err)) != VMI_SUCCESS) {
        fprintf(stderr, "parse: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_isf_free(&isf);
    return 0;
}

static struct lx_field get(const char *st, const char *member)
{
    struct lx_field f;

    if (!lx_isf_field(&isf, st, member, &f, why, sizeof(why)))
        fail_msg("%s.%s: %s", st, member, why);
    return f;
}

static void refused(const char *st, const char *member, const char *want)
{
    struct lx_field f;

    why[0] = '\0';
    assert_false(lx_isf_field(&isf, st, member, &f, why, sizeof(why)));
    if (!strstr(why, want))
        fail_msg("%s.%s: '%s' does not say '%s'", st, member, why, want);
}

static void test_kinds(void **state)
{
    struct lx_field f;
    size_t size;

    (void)state;
    f = get("task", "pid");
    assert_true(f.off == 4 && f.size == 4 && f.nelems == 0 && f.width == 0);
    f = get("task", "comm");
    assert_true(f.off == 8 && f.size == 16 && f.nelems == 16);
    f = get("task", "grid"); /* short[2][3]: two elements of 6 bytes */
    assert_true(f.off == 24 && f.size == 12 && f.nelems == 2);
    f = get("task", "mm"); /* a pointer, whatever it points to */
    assert_true(f.off == 40 && f.size == 8 && f.nelems == 0);
    f = get("task", "state");
    assert_true(f.off == 48 && f.size == 4);
    f = get("task", "level"); /* bits 13..15 of the u32 at 52 */
    assert_true(f.off == 53 && f.bit == 5 && f.width == 3 && f.size == 1);
    f = get("task", "list"); /* inside the anonymous union */
    assert_true(f.off == 56 && f.size == 16);
    assert_true(lx_isf_struct_size(&isf, "task", &size) && size == 64);
    assert_false(lx_isf_struct_size(&isf, "nothing", &size));
}

static void test_refusals(void **state)
{
    (void)state;
    refused("nothing", "pid", "no struct or union 'nothing'");
    refused("task", "nope", "'task' has no member 'nope'");
    refused("task", "fn", "no known size");
    refused("task", "odd", "no known size");
    refused("task", "far", "at offset 99999999");
    refused("task", "huge", "elements of 4 bytes");
}

/* Bitfields the parser cannot hold are refused with the reason. */
static void test_bad_bitfield(void **state)
{
    static const char bad[] =
        "{\"user_types\": {\"t\": {\"size\": 8, \"fields\": {\"b\": {\"offset\": 0,"
        " \"type\": {\"kind\": \"bitfield\", \"bit_position\": 3, \"bit_length\": 65,"
        " \"type\": " BASE("int") "}}}}}}";
    struct lx_isf x;
    char err[200];

    (void)state;
    assert_int_equal(lx_isf_parse(bad, strlen(bad), &x, err, sizeof(err)),
                     VMI_FAILURE);
    if (!strstr(err, "user_types.t.b: ") || !strstr(err, "out of range"))
        fail_msg("'%s'", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_bitfield),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
