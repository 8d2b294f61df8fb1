/*
 * Profiles: System.map, ISF JSON, BTF files and libvmi.conf.
 *
 * First the parsers on small inline inputs, good and malformed (every
 * prefix of a good document, deep nesting, huge numbers, missing fields,
 * bad lines): each must give the right tables or a clear error, never a
 * crash.
 *
 * Then every corpus snapshot: profiles are built at test time from the
 * guest's own truth (a System.map from truth/kallsyms.txt made link-time,
 * the .BTF section of its vmlinux, an ISF made from those two by an
 * independent python script, a libvmi.conf with pahole's offsets) and
 * each must give the same answers as zero-config. Profiles of the other
 * kernel, and a conf with a wrong offset or slide, must fail with a
 * "disagrees" error naming both values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <tinyvmi/linux.h>
#include "corpus.h"
#include "os/linux/json.h"
#include "os/linux/profile.h"

static char err[512];

/* ---- System.map ------------------------------------------------------------------ */

static void sysmap_good(void **state)
{
    static const char map[] =
        "0000000000000000 A fixed_percpu_data\n"
        "ffffffff81000000 T _text\r\n"
        "\n"
        "   \t\n"
        "ffffffff82161900 D linux_banner\n"
        "ffffffffc0000000 t dummy_init\t[dummy]\n"
        "ffffffff83000000 B _end"; /* no final newline */
    struct lx_psyms s;
    uint64_t a;

    (void)state;
    assert_int_equal(lx_sysmap_parse(map, strlen(map), &s, err, sizeof(err)),
                     VMI_SUCCESS);
    assert_int_equal(s.n, 4); /* the module line is skipped */
    assert_true(lx_psyms_find(&s, "linux_banner", &a));
    assert_int_equal(a, 0xffffffff82161900ull);
    assert_true(lx_psyms_find(&s, "_end", &a));
    assert_int_equal(a, 0xffffffff83000000ull);
    assert_string_equal(lx_pool_str(&s.pool, s.name[1]), "T_text");
    assert_false(lx_psyms_find(&s, "dummy_init", &a));
    lx_psyms_free(&s);
}

static void sysmap_expect_error(const char *text, size_t len, const char *want)
{
    struct lx_psyms s;

    err[0] = '\0';
    assert_int_equal(lx_sysmap_parse(text, len, &s, err, sizeof(err)),
                     VMI_FAILURE);
    if (!strstr(err, want))
        fail_msg("System.map error \"%s\" does not say \"%s\"", err, want);
    assert_int_equal(s.n, 0);
    assert_null(s.addr);
}

#define SYSMAP_BAD(text, want) sysmap_expect_error(text, strlen(text), want)

static void sysmap_bad(void **state)
{
    static const char nul[] = "ffffffff81000000 T _text\nffff\0ffff T x\n";
    char longname[1200];

    (void)state;
    SYSMAP_BAD("", "no symbols");
    SYSMAP_BAD("\n\n", "no symbols");
    SYSMAP_BAD("ffffffff81000000 T _text\nxyz T foo\n",
               "line 2: expected a hex address");
    SYSMAP_BAD("ffffffff81000000 _text\n", "line 1: expected a one-letter "
               "symbol type");
    SYSMAP_BAD("ffffffff81000000 T\n", "line 1: expected a symbol name");
    SYSMAP_BAD("ffffffff81000000 T a b\n", "unexpected text after");
    SYSMAP_BAD("1ffffffff81000000 T a\n", "hex address");
    sysmap_expect_error(nul, sizeof(nul) - 1, "line 2: NUL byte");
    SYSMAP_BAD("0000000000000000 T a\n0000000000000000 t b\n",
               "every address is 0");
    SYSMAP_BAD("{\"symbols\": {}}", "line 1");
    memset(longname, 'x', sizeof(longname));
    memcpy(longname, "ffffffff81000000 T ", 19);
    sysmap_expect_error(longname, sizeof(longname), "expected a symbol name");
}

/* ---- JSON ------------------------------------------------------------------------- */

static void json_strings(void **state)
{
    static const char doc[] = "{\"a\\u00e9\\n\\ud83d\\ude00\\\"\": [1, -2.5e3, true, null]}";
    struct lx_json j;
    struct lx_json_str k;
    char out[32];

    (void)state;
    lx_json_init(&j, doc, strlen(doc));
    assert_true(lx_json_object(&j));
    assert_true(lx_json_key(&j, &k));
    assert_true(k.escaped);
    assert_true(lx_json_str_copy(&k, out, sizeof(out)));
    assert_string_equal(out, "a\xc3\xa9\n\xf0\x9f\x98\x80\"");
    assert_false(lx_json_str_copy(&k, out, 4)); /* too small */
    assert_true(lx_json_skip(&j));
    assert_false(lx_json_key(&j, &k));
    assert_false(j.failed);
    assert_true(lx_json_at_end(&j));
}

/* ---- ISF -------------------------------------------------------------------------- */

/* "Linux version 6.1.0-test (x)\n\0" in base64 */
#define BANNER64 "TGludXggdmVyc2lvbiA2LjEuMC10ZXN0ICh4KQoA"

static const char isf_doc[] =
    "{\n"
    "  \"metadata\": {\"format\": \"6.2.0\", \"producer\": {\"name\": \"t\"}},\n"
    "  \"base_types\": {\"int\": {\"size\": 4, \"signed\": true, \"kind\": \"int\","
    "      \"endian\": \"little\"},\n"
    "    \"pointer\": {\"size\": 8, \"signed\": false, \"kind\": \"int\","
    "      \"endian\": \"little\"}},\n"
    "  \"enums\": {\"e\": {\"size\": 4, \"base\": \"int\", \"constants\": {\"A\": -1}}},\n"
    "  \"user_types\": {\n"
    "    \"task_struct\": {\"kind\": \"struct\", \"fields\": {\n"
    "      \"pid\": {\"offset\": 2416, \"type\": {\"kind\": \"base\", \"name\": \"int\"}},\n"
    "      \"flags\": {\"offset\": 44, \"type\": {\"kind\": \"bitfield\", \"bit_position\": 3,"
    "        \"bit_length\": 1, \"type\": {\"kind\": \"base\", \"name\": \"int\"}}},\n"
    "      \"unnamed_field_0\": {\"offset\": 8, \"anonymous\": true,"
    "        \"type\": {\"kind\": \"union\", \"name\": \"unnamed_7\"}}},\n"
    "      \"size\": 9792},\n"
    "    \"unnamed_7\": {\"size\": 16, \"kind\": \"union\", \"fields\": {\n"
    "      \"tasks\": {\"offset\": 0, \"type\": {\"kind\": \"struct\", \"name\": \"list_head\"}},\n"
    "      \"unnamed_field_1\": {\"offset\": 4, \"type\": {\"kind\": \"struct\","
    "        \"name\": \"unnamed_8\"}}}},\n"
    "    \"unnamed_8\": {\"size\": 4, \"kind\": \"struct\", \"fields\": {"
    "      \"deep\": {\"offset\": 2, \"type\": {\"kind\": \"pointer\","
    "        \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}}}}\n"
    "  },\n"
    "  \"symbols\": {\n"
    "    \"_text\": {\"address\": 18446744071578845184},\n"
    "    \"linux_banner\": {\"address\": 18446744071597070592, \"constant_data\": \""
    BANNER64 "\", \"type\": {\"kind\": \"array\", \"count\": 30, \"subtype\": {\"kind\": "
    "\"base\", \"name\": \"char\"}}},\n"
    "    \"start_kernel\": {\"type\": {\"kind\": \"function\"}, \"address\": 18446744071578845300}\n"
    "  }\n"
    "}\n";

static void isf_good(void **state)
{
    struct lx_isf isf;
    const struct lx_ptype *t;
    uint64_t v;

    (void)state;
    assert_int_equal(lx_isf_parse(isf_doc, strlen(isf_doc), &isf, err, sizeof(err)),
                     VMI_SUCCESS);
    assert_string_equal(isf.format, "6.2.0");
    assert_int_equal(isf.nbase_types, 2);
    assert_int_equal(isf.nenums, 1);
    assert_int_equal(isf.pointer_size, 8);
    assert_string_equal(isf.banner, "Linux version 6.1.0-test (x)");
    assert_int_equal(isf.syms.n, 3);
    assert_true(lx_psyms_find(&isf.syms, "_text", &v));
    assert_int_equal(v, 0xffffffff81000000ull);
    assert_string_equal(lx_pool_str(&isf.syms.pool, isf.syms.name[2]), "Tstart_kernel");
    assert_string_equal(lx_pool_str(&isf.syms.pool, isf.syms.name[1]), "Dlinux_banner");
    assert_non_null(t = lx_ptypes_find(&isf.types, "task_struct"));
    assert_int_equal(t->size, 9792);
    assert_null(lx_ptypes_find(&isf.types, "nothing"));
    assert_int_equal(lx_ptypes_offset(&isf.types, "task_struct", "pid", &v), 1);
    assert_int_equal(v, 2416);
    /* through anonymous members */
    assert_int_equal(lx_ptypes_offset(&isf.types, "task_struct", "tasks", &v), 1);
    assert_int_equal(v, 8);
    assert_int_equal(lx_ptypes_offset(&isf.types, "task_struct", "deep", &v), 1);
    assert_int_equal(v, 8 + 4 + 2);
    assert_int_equal(lx_ptypes_offset(&isf.types, "task_struct", "flags", &v), -1);
    assert_int_equal(lx_ptypes_offset(&isf.types, "task_struct", "nope", &v), 0);
    lx_isf_free(&isf);
}

static void isf_error2(const char *doc, const char *want, const char *want2)
{
    struct lx_isf isf;

    err[0] = '\0';
    assert_int_equal(lx_isf_parse(doc, strlen(doc), &isf, err, sizeof(err)),
                     VMI_FAILURE);
    if (!strstr(err, want) || (want2 && !strstr(err, want2)))
        fail_msg("ISF error \"%s\" does not say \"%s\" and \"%s\"", err, want,
                 want2 ? want2 : "");
    assert_int_equal(isf.syms.n, 0);
    assert_int_equal(isf.types.ntypes, 0);
}

static void isf_expect_error(const char *doc, const char *want)
{
    isf_error2(doc, want, NULL);
}

/* Every proper prefix of a good document is an error, never a crash. */
static void isf_truncated(void **state)
{
    size_t len = strlen(isf_doc);
    char *buf = malloc(len);

    (void)state;
    assert_non_null(buf);
    for (size_t n = 0; n + 1 < len; n++) {
        struct lx_isf isf;
        memcpy(buf, isf_doc, n); /* no NUL: the parser must stop at len */
        if (lx_isf_parse(buf, n, &isf, err, sizeof(err)) == VMI_SUCCESS)
            fail_msg("prefix of %zu bytes parsed", n);
        assert_true(err[0] != '\0');
    }
    free(buf);
}

static void isf_bad(void **state)
{
    char deep[400];
    size_t n = 0;

    (void)state;
    isf_expect_error("", "expected an object");
    isf_expect_error("[]", "expected an object");
    isf_expect_error("{}", "neither symbols nor user_types");
    isf_expect_error("{\"symbols\": {}} x", "text after the end");
    isf_error2("{\"symbols\": {\"a\": {\"address\": 18446744073709551616}}}",
                     "symbols.a: at byte ", "number does not fit in 64 bits");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": 99999999999999999999999}}}",
                     "does not fit");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": -1}}}", "negative");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": 1.5}}}", "integer");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": 01}}}", "leading zero");
    isf_error2("{\"symbols\": {\"a\": {\"type\": {}}}}",
                     "symbols.a: at byte ", "the symbol has no address");
    isf_expect_error("{\"symbols\": {\"\": {\"address\": 1}}}", "empty");
    isf_error2("{\"user_types\": {\"t\": {\"fields\": {}}}}",
                     "user_types.t: at byte ", "the type has no size");
    isf_error2("{\"user_types\": {\"t\": {\"size\": 8, \"fields\": {\"f\": "
                     "{\"type\": {}}}}}}", "user_types.t.f: ", "no offset");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": 1,}}}", "expected a member name");
    isf_expect_error("{\"symbols\": {\"a\": {\"address\": 1 \"x\": 2}}}",
                     "expected ',' or '}'");
    isf_expect_error("{\"symbols\" {}}", "expected ':'");
    isf_expect_error("{\"symbols\": {\"a\\q\": {}}}", "bad escape");
    isf_expect_error("{\"symbols\": {\"a\\u12\": {}}}", "bad \\u escape");
    isf_expect_error("{\"symbols\": {\"a\n\": {}}}", "control character");
    isf_expect_error("{\"metadata\": {\"x\": tru}}", "unexpected character");
    isf_expect_error("{\"metadata\": {\"x\": [1, 2,]}}", "expected a value");
    isf_expect_error("{\"symbols\": {\"linux_banner\": {\"address\": 1, "
                     "\"constant_data\": \"!!\"}}}", "not base64");
    isf_expect_error("{\"base_types\": {\"pointer\": {\"size\": \"8\"}}}",
                     "expected a number");
    /* deep nesting inside a member that is skipped */
    n += (size_t)snprintf(deep, sizeof(deep), "{\"metadata\": {\"x\": ");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    memcpy(deep + n, "}}", 3);
    isf_expect_error(deep, "nested deeper than 64 levels");
}

/* Anonymous types naming each other must not make lookups explode. */
static void isf_anonymous_loop(void **state)
{
    static const char doc[] =
        "{\"user_types\": {"
        "\"a\": {\"size\": 8, \"fields\": {"
        "  \"unnamed_field_0\": {\"offset\": 0, \"anonymous\": true, \"type\": {\"kind\": \"struct\", \"name\": \"a\"}},"
        "  \"unnamed_field_1\": {\"offset\": 1, \"anonymous\": true, \"type\": {\"kind\": \"struct\", \"name\": \"a\"}},"
        "  \"unnamed_field_2\": {\"offset\": 2, \"anonymous\": true, \"type\": {\"kind\": \"struct\", \"name\": \"a\"}},"
        "  \"unnamed_field_3\": {\"offset\": 3, \"anonymous\": true, \"type\": {\"kind\": \"struct\", \"name\": \"a\"}}"
        "}}}}";
    struct lx_isf isf;
    uint64_t v;

    (void)state;
    assert_int_equal(lx_isf_parse(doc, strlen(doc), &isf, err, sizeof(err)),
                     VMI_SUCCESS);
    assert_int_equal(lx_ptypes_offset(&isf.types, "a", "missing", &v), 0);
    assert_int_equal(lx_ptypes_offset(&isf.types, "a", "unnamed_field_3", &v), 1);
    assert_int_equal(v, 3);
    lx_isf_free(&isf);
}

/* ---- libvmi.conf ------------------------------------------------------------------ */

static const char conf_file[] =
    "# LibVMI configuration\n"
    "first-vm {\n"
    "    ostype = \"Linux\";\n"
    "    sysmap = \"/boot/System.map-6.1\";\n"
    "    linux_tasks = 0x890;   // task_struct.tasks\n"
    "    linux_pid = 2416;\n"
    "}\n"
    "/* a block comment\n"
    "   over lines */\n"
    "\"second vm\" {\n"
    "    ostype = Linux\n"
    "    volatility_ist = \"/p/a \\\"b\\\".json\";\n"
    "    btf = \"/sys/kernel/btf/vmlinux\";\n"
    "    linux_name = 0xBA0, linux_pgd = 72;\n"
    "    linux_kaslr = -0x200000;\n"
    "    win_tasks = 0x188;\n"
    "    rekall_profile = \"/x.json\";\n"
    "};\n";

static void conf_good(void **state)
{
    struct lx_conf c;

    (void)state;
    assert_int_equal(lx_conf_parse(conf_file, strlen(conf_file), NULL, false, &c,
                                   err, sizeof(err)), VMI_SUCCESS);
    assert_string_equal(c.entry, "first-vm");
    assert_string_equal(c.ostype, "Linux");
    assert_string_equal(c.sysmap, "/boot/System.map-6.1");
    assert_int_equal(c.has_offset, 1u << 0 | 1u << 2);
    assert_int_equal(c.offset[0], 0x890);
    assert_int_equal(c.offset[2], 2416);
    assert_false(c.has_kaslr);
    assert_string_equal(c.notes, "");

    assert_int_equal(lx_conf_parse(conf_file, strlen(conf_file), "second vm", false,
                                   &c, err, sizeof(err)), VMI_SUCCESS);
    assert_string_equal(c.entry, "second vm");
    assert_string_equal(c.ostype, "Linux");
    assert_string_equal(c.isf, "/p/a \"b\".json");
    assert_string_equal(c.btf, "/sys/kernel/btf/vmlinux");
    assert_string_equal(c.sysmap, "");
    assert_int_equal(c.offset[3], 0xba0);
    assert_int_equal(c.offset[4], 72);
    assert_true(c.has_kaslr);
    assert_int_equal(c.kaslr, -0x200000);
    assert_non_null(strstr(c.notes, "unknown key 'win_tasks' ignored"));
    assert_non_null(strstr(c.notes, "rekall_profile is not supported"));

    /* a name no entry has: an error listing them, or the first */
    assert_int_equal(lx_conf_parse(conf_file, strlen(conf_file), "third", false,
                                   &c, err, sizeof(err)), VMI_FAILURE);
    assert_non_null(strstr(err, "no entry 'third' (entries: first-vm, second vm)"));
    assert_int_equal(lx_conf_parse(conf_file, strlen(conf_file), "third", true,
                                   &c, err, sizeof(err)), VMI_SUCCESS);
    assert_string_equal(c.entry, "first-vm");
}

static void conf_string(void **state)
{
    static const char s[] = "{ ostype = \"Linux\"; sysmap = \"/a b\"; "
                            "linux_mm = 2272; linux_kaslr = 0x1f200000; }";
    static const char bare[] = "sysmap = \"/m\"\nlinux_pgd = 0x48\n";
    struct lx_conf c;

    (void)state;
    assert_int_equal(lx_conf_parse(s, strlen(s), "whatever", false, &c, err,
                                   sizeof(err)), VMI_SUCCESS);
    assert_string_equal(c.entry, "");
    assert_string_equal(c.sysmap, "/a b");
    assert_int_equal(c.offset[1], 2272);
    assert_int_equal(c.kaslr, 0x1f200000);
    assert_int_equal(lx_conf_parse(bare, strlen(bare), NULL, false, &c, err,
                                   sizeof(err)), VMI_SUCCESS);
    assert_string_equal(c.sysmap, "/m");
    assert_int_equal(c.offset[4], 0x48);
}

static void conf_expect_error(const char *text, const char *want)
{
    struct lx_conf c;

    err[0] = '\0';
    assert_int_equal(lx_conf_parse(text, strlen(text), NULL, false, &c, err,
                                   sizeof(err)), VMI_FAILURE);
    if (!strstr(err, want))
        fail_msg("libvmi.conf error \"%s\" does not say \"%s\"", err, want);
}

static void conf_bad(void **state)
{
    char big[1400];

    (void)state;
    conf_expect_error("", "no entries");
    conf_expect_error("# only a comment\n", "no entries");
    conf_expect_error("vm {\n ostype \"Linux\";\n}", "line 2: expected '=' after 'ostype'");
    conf_expect_error("vm {\n sysmap = \"/x;\n}", "line 2: unterminated string");
    conf_expect_error("vm { sysmap = \"/x\"; ", "missing '}'");
    conf_expect_error("vm { /* x ", "unterminated comment");
    conf_expect_error("vm { linux_tasks = 0xzz; }", "linux_tasks = 0xzz: expected a number");
    conf_expect_error("vm { linux_tasks = 0x10000000000000000; }", "expected a number");
    conf_expect_error("vm { linux_kaslr = \"x\"; }", "linux_kaslr");
    conf_expect_error("vm sysmap = 1", "expected '{' after 'vm'");
    conf_expect_error("vm { = 1; }", "expected a key");
    conf_expect_error("vm { a = ; }", "expected a value");
    conf_expect_error("vm { a = 1 } }", "expected an entry name");
    conf_expect_error("{ a = 1; } x", "text after the entry");
    conf_expect_error("vm { a = 1; } @", "unexpected character '@'");
    memset(big, 'a', sizeof(big));
    memcpy(big, "vm { sysmap = \"", 15);
    memcpy(big + sizeof(big) - 5, "\"; }", 5);
    conf_expect_error(big, "string longer than");
    conf_expect_error("vm { x = 1;\0 }", "missing '}'"); /* strlen stops at the NUL */
}

/* ---- BTF from a buffer ------------------------------------------------------------ */

struct blob {
    uint8_t b[512];
    size_t n;
};

static void put32(struct blob *x, uint32_t v)
{
    memcpy(x->b + x->n, &v, 4);
    x->n += 4;
}

/* int (id 1); struct s { int a; union { int b; int c; }; } (id 2); the
 * anonymous union (id 3). Strings: "\0int\0s\0a\0b\0c\0". */
static size_t make_btf(uint8_t *out)
{
    static const char str[] = "\0int\0s\0a\0b\0c";
    struct blob t = { .n = 0 };
    uint32_t hdr[6];

    put32(&t, 1), put32(&t, 1u << 24), put32(&t, 4), put32(&t, 32);     /* int */
    put32(&t, 5), put32(&t, 4u << 24 | 2), put32(&t, 8);                /* struct s */
    put32(&t, 7), put32(&t, 1), put32(&t, 0);                           /*   a @0 */
    put32(&t, 0), put32(&t, 3), put32(&t, 32);                          /*   union @4 */
    put32(&t, 0), put32(&t, 5u << 24 | 2), put32(&t, 4);                /* union */
    put32(&t, 9), put32(&t, 1), put32(&t, 0);                           /*   b */
    put32(&t, 11), put32(&t, 1), put32(&t, 0);                          /*   c */
    hdr[0] = 0xeb9f | 1u << 16; /* magic, version 1, flags 0 */
    hdr[1] = 24;
    hdr[2] = 0;
    hdr[3] = (uint32_t)t.n;
    hdr[4] = (uint32_t)t.n;
    hdr[5] = sizeof(str);
    memcpy(out, hdr, 24);
    memcpy(out + 24, t.b, t.n);
    memcpy(out + 24 + t.n, str, sizeof(str));
    return 24 + t.n + sizeof(str);
}

static void btf_buffer(void **state)
{
    uint8_t buf[600];
    size_t n = make_btf(buf), off;
    struct lx_btf *b = NULL;

    (void)state;
    assert_int_equal(lx_btf_from_buffer(NULL, buf, n, &b), VMI_SUCCESS);
    assert_int_equal(lx_btf_type_count(NULL, b), 3);
    assert_int_equal(lx_btf_member_offset(NULL, b, "s", "a", &off), VMI_SUCCESS);
    assert_int_equal(off, 0);
    assert_int_equal(lx_btf_member_offset(NULL, b, "s", "c", &off), VMI_SUCCESS);
    assert_int_equal(off, 4);
    assert_int_equal(lx_btf_struct_size(NULL, b, "s", &off), VMI_SUCCESS);
    assert_int_equal(off, 8);
    assert_int_equal(lx_btf_member_offset(NULL, b, "s", "z", &off), VMI_FAILURE);
    lx_btf_free(b);

    /* short, wrong magic, sections outside, a truncated type section */
    assert_int_equal(lx_btf_from_buffer(NULL, buf, 10, &b), VMI_FAILURE);
    assert_non_null(strstr(tvmi_init_error_message(), "is no BTF blob"));
    buf[0] ^= 1;
    assert_int_equal(lx_btf_from_buffer(NULL, buf, n, &b), VMI_FAILURE);
    assert_non_null(strstr(tvmi_init_error_message(), "BTF: bad header"));
    buf[0] ^= 1;
    assert_int_equal(lx_btf_from_buffer(NULL, buf, n - 3, &b), VMI_FAILURE);
    assert_non_null(strstr(tvmi_init_error_message(), "sections outside"));
    buf[24 + 4 + 3] = 30; /* kind 30: unknown */
    assert_int_equal(lx_btf_from_buffer(NULL, buf, n, &b), VMI_FAILURE);
    assert_non_null(strstr(tvmi_init_error_message(), "malformed type section"));
}

/* ---- the corpus ------------------------------------------------------------------- */

static char work[256];

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

static const char *src_dir(void)
{
    const char *s = getenv("TVMI_SOURCE_DIR");
    return s ? s : ".";
}

static void meta(const struct corpus_snap *s, const char *key, char *out, size_t n)
{
    char line[1024];
    FILE *f = fopen(corpus_path(s, "meta.env"), "r");
    size_t k = strlen(key);

    out[0] = '\0';
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, k) && line[k] == '=') {
            char *v = line + k + 1;
            v += strspn(v, "'\"");
            v[strcspn(v, "'\"\r\n")] = '\0';
            snprintf(out, n, "%s", v);
        }
    fclose(f);
}

/* pahole's offset of member: "tasks;  (slash-star) 2192 16". */
static long pahole_offset(const char *vmlinux, const char *st, const char *member)
{
    char cmd[1024], line[512], key[128];
    long off = -1;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "pahole -C %s '%s' 2>/dev/null", st, vmlinux);
    assert_non_null(p = popen(cmd, "r"));
    while (fgets(line, sizeof(line), p)) {
        char *at;
        snprintf(key, sizeof(key), " %s;", member);
        if (!(at = strstr(line, key))) {
            snprintf(key, sizeof(key), " %s[", member);
            at = strstr(line, key);
        }
        if (at && off < 0 && (at = strstr(at, "/*")))
            off = strtol(at + 2, NULL, 10);
    }
    pclose(p);
    return off;
}

/* Per kernel: the BTF section, the ISF (from the first snapshot's map),
 * pahole's offsets; per snapshot: its own System.map. */
struct kernel {
    char kver[128];
    char btf[512], isf[512], isfxz[512], map[512];
    long tasks, mm, pid, name, pgd;
};

static void make_kernel_profiles(const struct corpus_snap *s, struct kernel *k)
{
    char vmlinux[512], text[64], uname[1024] = "";
    FILE *f;

    meta(s, "VMLINUX", vmlinux, sizeof(vmlinux));
    meta(s, "TEXT", text, sizeof(text));
    snprintf(k->kver, sizeof(k->kver), "%s", s->kver);
    snprintf(k->btf, sizeof(k->btf), "%s/%s.btf", work, s->kver);
    snprintf(k->map, sizeof(k->map), "%s/%s.map", work, s->kver);
    snprintf(k->isf, sizeof(k->isf), "%s/%s.json", work, s->kver);
    snprintf(k->isfxz, sizeof(k->isfxz), "%s/%s.json.xz", work, s->kver);
    run("objcopy -O binary --only-section=.BTF '%s' '%s'", vmlinux, k->btf);
    run("python3 '%s/tests/tools/make-sysmap.py' '%s' %s '%s'", src_dir(),
        corpus_path(s, "truth/kallsyms.txt"), text, k->map);
    f = fopen(corpus_path(s, "truth/uname.txt"), "r");
    assert_non_null(f);
    assert_non_null(fgets(uname, sizeof(uname), f)); /* uname -r */
    assert_non_null(fgets(uname, sizeof(uname), f)); /* /proc/version */
    fclose(f);
    uname[strcspn(uname, "\n")] = '\0';
    run("python3 '%s/tests/tools/make-isf.py' --btf '%s' --sysmap '%s' "
        "--banner '%s' -o '%s'", src_dir(), k->btf, k->map, uname, k->isf);
    run("xz -1 -k -c '%s' > '%s'", k->isf, k->isfxz);
    k->tasks = pahole_offset(vmlinux, "task_struct", "tasks");
    k->mm = pahole_offset(vmlinux, "task_struct", "mm");
    k->pid = pahole_offset(vmlinux, "task_struct", "pid");
    k->name = pahole_offset(vmlinux, "task_struct", "comm");
    k->pgd = pahole_offset(vmlinux, "mm_struct", "pgd");
    assert_true(k->tasks > 0 && k->mm > 0 && k->pid > 0 && k->name > 0 && k->pgd > 0);
}

/* What every configuration must agree on. */
#define NSAMPLE 256
struct answers {
    char *names[NSAMPLE];
    addr_t addrs[NSAMPLE];
    size_t n;
    addr_t offsets[8];
    size_t task_size, mm_size;
    char *banner;
};

static const char *const offset_names[8] = {
    "linux_tasks", "linux_mm", "linux_pid", "linux_name", "linux_pgd",
    "linux_tgid", "linux_real_parent", "linux_active_mm",
};

/* Names sampled from the guest's own kallsyms, unique there (an ISF
 * holds one address a name). */
static void sample_names(const struct corpus_snap *s, struct answers *a)
{
    static const char *const core[] = { "_text", "_etext", "init_task",
        "linux_banner", "init_top_pgt", "start_kernel", "jiffies", "_end" };
    char line[1024], name[512], prev[512] = "";
    size_t lines = 0, step;
    FILE *f = fopen(corpus_path(s, "truth/kallsyms.txt"), "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        lines++;
    step = lines / (NSAMPLE - 16) + 1;
    rewind(f);
    for (size_t i = 0; i < 8; i++)
        a->names[a->n++] = strdup(core[i]);
    for (size_t i = 0; fgets(line, sizeof(line), f) && a->n < NSAMPLE; i++) {
        unsigned long long addr;
        char type, mod[64];
        if (sscanf(line, "%llx %c %511s %63s", &addr, &type, name, mod) != 3)
            continue;
        if (i % step == 0 && strcmp(name, prev) && addr >= 0xffffffff80000000ull)
            a->names[a->n++] = strdup(name);
        snprintf(prev, sizeof(prev), "%s", name);
    }
    fclose(f);
}

static void collect(vmi_instance_t vmi, struct answers *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (vmi_translate_ksym2v(vmi, a->names[i], &a->addrs[i]) != VMI_SUCCESS)
            a->addrs[i] = 0;
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(vmi_get_offset(vmi, offset_names[i], &a->offsets[i]),
                         VMI_SUCCESS);
    assert_int_equal(tvmi_linux_struct_size(vmi, "task_struct", &a->task_size),
                     VMI_SUCCESS);
    assert_int_equal(tvmi_linux_struct_size(vmi, "mm_struct", &a->mm_size),
                     VMI_SUCCESS);
    a->banner = vmi_read_str_ksym(vmi, "linux_banner");
    assert_non_null(a->banner);
}

static void same_answers(vmi_instance_t vmi, const struct answers *want,
                         const char *what)
{
    struct answers got = { .n = want->n };
    size_t dup = 0;

    memcpy(got.names, want->names, sizeof(got.names));
    collect(vmi, &got);
    for (size_t i = 0; i < want->n; i++) {
        if (got.addrs[i] == want->addrs[i])
            continue;
        fail_msg("%s: %s at 0x%llx, zero-config says 0x%llx", what,
                 want->names[i], (unsigned long long)got.addrs[i],
                 (unsigned long long)want->addrs[i]);
    }
    for (size_t i = 0; i < 8; i++)
        if (got.offsets[i] != want->offsets[i])
            fail_msg("%s: %s = %llu, zero-config says %llu", what, offset_names[i],
                     (unsigned long long)got.offsets[i],
                     (unsigned long long)want->offsets[i]);
    assert_int_equal(got.task_size, want->task_size);
    assert_int_equal(got.mm_size, want->mm_size);
    assert_string_equal(got.banner, want->banner);
    /* v2ksym of the sampled addresses lands on a symbol at that address */
    for (size_t i = 0; i < want->n; i++) {
        addr_t off = 1;
        const char *name = tvmi_linux_v2ksym(vmi, want->addrs[i], &off);
        if (!name || off)
            dup++;
    }
    assert_true(dup <= 8); /* _end and friends sit past the last text symbol */
    free(got.banner);
}

static vmi_instance_t open_with(const struct corpus_snap *s, const char *file,
                                vmi_config_t mode, void *config)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t e;

    if (vmi_init_complete(&vmi, corpus_path(s, file), VMI_INIT_DOMAINNAME, NULL,
                          mode, config, &e) != VMI_SUCCESS)
        return NULL;
    return vmi;
}

static void expect_ok(const struct corpus_snap *s, const struct answers *want,
                      vmi_config_t mode, void *config, const char *what,
                      const char *sym_src, const char *type_src)
{
    vmi_instance_t vmi = open_with(s, "mem.raw", mode, config);
    tvmi_linux_info_t info;

    if (!vmi)
        fail_msg("%s %s: %s", s->kver, what, tvmi_init_error_message());
    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    if (sym_src && !strstr(info.sym_source, sym_src))
        fail_msg("%s: symbols from \"%s\", want \"%s\"", what, info.sym_source, sym_src);
    if (type_src && !strstr(info.type_source, type_src))
        fail_msg("%s: types from \"%s\", want \"%s\"", what, info.type_source, type_src);
    assert_int_not_equal(info.profile_banner_check, TVMI_CHECK_MISMATCH);
    if (sym_src) {
        assert_int_equal(info.profile_symbol_check, TVMI_CHECK_OK);
        assert_true(info.profile_symbols_checked > 1000);
    }
    if (type_src)
        assert_int_equal(info.profile_type_check, TVMI_CHECK_OK);
    if (sym_src || type_src)
        assert_int_equal(info.profile_slide, info.virt_slide);
    same_answers(vmi, want, what);
    vmi_destroy(vmi);
}

static void expect_disagree(const struct corpus_snap *s, vmi_config_t mode,
                            void *config, const char *what, const char *w1,
                            const char *w2)
{
    vmi_instance_t vmi = open_with(s, "mem.raw", mode, config);
    const char *msg = tvmi_init_error_message();

    if (vmi)
        fail_msg("%s %s: a wrong profile was accepted", s->kver, what);
    if (!strstr(msg, w1) || (w2 && !strstr(msg, w2)))
        fail_msg("%s %s: error \"%s\" does not say \"%s\" and \"%s\"", s->kver,
                 what, msg, w1, w2 ? w2 : "");
}

static void write_conf(const char *path, const char *entry, const struct kernel *k,
                       long tasks, const char *extra)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f, "# made by test_profiles\nother { ostype = \"Windows\"; }\n"
            "%s {\n  ostype = \"Linux\";\n  sysmap = \"%s\";\n"
            "  linux_tasks = 0x%lx;\n  linux_mm = 0x%lx;\n  linux_pid = %ld;\n"
            "  linux_name = 0x%lx;\n  linux_pgd = %ld;\n%s}\n", entry, k->map,
            tasks, k->mm, k->pid, k->name, k->pgd, extra);
    fclose(f);
}

static void one_snapshot(const struct corpus_snap *s, const struct kernel *k,
                         const struct kernel *other)
{
    char map[600], conf[600], str[2048], text[64], wrong[64];
    struct answers want = { 0 };
    vmi_instance_t vmi;
    tvmi_linux_conf_file_t cf = { conf, "guest", 0 };

    /* this snapshot's own System.map: link-time whatever its slide */
    meta(s, "TEXT", text, sizeof(text));
    snprintf(map, sizeof(map), "%s/%s-%s.map", work, s->kver, s->variant);
    run("python3 '%s/tests/tools/make-sysmap.py' '%s' %s '%s'", src_dir(),
        corpus_path(s, "truth/kallsyms.txt"), text, map);
    run("cmp -s '%s' '%s'", map, k->map);

    sample_names(s, &want);
    vmi = open_with(s, "mem.raw", TVMI_CONFIG_NONE, NULL);
    if (!vmi)
        fail_msg("%s: %s", s->dir, tvmi_init_error_message());
    collect(vmi, &want);
    vmi_destroy(vmi);
    assert_int_equal(want.offsets[0], k->tasks);
    assert_int_equal(want.offsets[4], k->pgd);

    snprintf(str, sizeof(str), "{ sysmap = \"%s\"; }", map);
    expect_ok(s, &want, VMI_CONFIG_STRING, str, "System.map", "System.map", NULL);
    expect_ok(s, &want, VMI_CONFIG_JSON_PATH, (void *)k->isf, "ISF", "ISF", "ISF");
    expect_ok(s, &want, VMI_CONFIG_JSON_PATH, (void *)k->isfxz, "ISF .xz", "ISF",
              "ISF");
    snprintf(str, sizeof(str), "{ btf = \"%s\"; }", k->btf);
    expect_ok(s, &want, VMI_CONFIG_STRING, str, "BTF file", NULL, "BTF file");
    snprintf(conf, sizeof(conf), "%s/libvmi-%s-%s.conf", work, s->kver, s->variant);
    write_conf(conf, "guest", k, k->tasks, "");
    expect_ok(s, &want, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "libvmi.conf",
              "System.map", "libvmi.conf");
    /* LibVMI's usual call: no file, zero-config */
    expect_ok(s, &want, VMI_CONFIG_GLOBAL_FILE_ENTRY, NULL, "no conf", NULL, NULL);

    /* wrong profiles: another kernel's, a wrong offset, a wrong slide */
    snprintf(str, sizeof(str), "{ sysmap = \"%s\"; }", other->map);
    expect_disagree(s, VMI_CONFIG_STRING, str, "other System.map", "disagrees",
                    "linux_banner");
    expect_disagree(s, VMI_CONFIG_JSON_PATH, (void *)other->isf, "other ISF",
                    "disagrees", other->kver);
    snprintf(str, sizeof(str), "{ btf = \"%s\"; }", other->btf);
    expect_disagree(s, VMI_CONFIG_STRING, str, "other BTF", "disagrees", "task_struct");
    write_conf(conf, "guest", k, k->tasks + 8, "");
    snprintf(wrong, sizeof(wrong), "is %ld (0x%lx) in libvmi.conf", k->tasks + 8,
             k->tasks + 8);
    expect_disagree(s, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "linux_tasks + 8",
                    "disagrees", wrong);
    snprintf(wrong, sizeof(wrong), "but %ld (0x%lx) in BTF in memory", k->tasks,
             k->tasks);
    expect_disagree(s, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "linux_tasks + 8",
                    "task_struct.tasks", wrong);
    write_conf(conf, "guest", k, k->tasks, "  linux_kaslr = 0x1000000;\n");
    expect_disagree(s, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "linux_kaslr",
                    "disagrees", "slide 0x1000000");
    cf.entry = "other";
    expect_disagree(s, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "ostype Windows",
                    "ostype = \"Windows\"", NULL);
    cf.entry = "missing";
    expect_disagree(s, VMI_CONFIG_GLOBAL_FILE_ENTRY, &cf, "missing entry",
                    "no entry 'missing' (entries: other, guest)", NULL);
    cf.entry = "guest";
    snprintf(str, sizeof(str), "{ sysmap = \"%s/nonexistent.map\"; }", work);
    expect_disagree(s, VMI_CONFIG_STRING, str, "no file", "System.map",
                    "No such file or directory");
    expect_disagree(s, VMI_CONFIG_JSON_PATH, (void *)k->map, "map as ISF",
                    "ISF", "expected an object");
    expect_disagree(s, VMI_CONFIG_GHASHTABLE, (void *)"x", "ghashtable",
                    "not supported", NULL);
    print_message("  %s-%s: System.map, ISF (.json, .json.xz), BTF file, "
                  "libvmi.conf agree with zero-config; wrong profiles refused\n",
                  s->kver, s->variant);
    for (size_t i = 0; i < want.n; i++)
        free(want.names[i]);
    free(want.banner);
}

static void corpus_profiles(void **state)
{
    struct corpus_snap *v;
    size_t n = corpus_require(&v);
    struct kernel k[8];
    size_t nk = 0;

    (void)state;
    snprintf(work, sizeof(work), "/tmp/tvmi-profiles-XXXXXX");
    assert_non_null(mkdtemp(work));
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nk && strcmp(k[j].kver, v[i].kver))
            j++;
        if (j == nk && nk < 8)
            make_kernel_profiles(&v[i], &k[nk++]);
    }
    if (nk < 2)
        fail_msg("the corpus has one kernel: wrong-kernel profiles need two");
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (strcmp(k[j].kver, v[i].kver))
            j++;
        one_snapshot(&v[i], &k[j], &k[j == 0 ? 1 : 0]);
    }
    run("rm -rf '%s'", work);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sysmap_good),
        cmocka_unit_test(sysmap_bad),
        cmocka_unit_test(json_strings),
        cmocka_unit_test(isf_good),
        cmocka_unit_test(isf_truncated),
        cmocka_unit_test(isf_bad),
        cmocka_unit_test(isf_anonymous_loop),
        cmocka_unit_test(conf_good),
        cmocka_unit_test(conf_string),
        cmocka_unit_test(conf_bad),
        cmocka_unit_test(btf_buffer),
        cmocka_unit_test(corpus_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
