/*
 * tinyvmi write: put bytes into the target's memory, at a virtual address,
 * a kernel symbol (+offset) or, with --pa, a physical address. It needs
 * --write (snapshots are opened read-only otherwise) and prints what was
 * there before, so a change can be undone with the same command.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinyvmi/linux.h>

#include "cli.h"
#include "output.h"

#define WRITE_MAX 4096

enum { W_PA, W_PID };
static const struct opt write_opts[] = {
    [W_PA] = { "pa", false },
    [W_PID] = { "pid", true },
    { NULL, false },
};
static const char *const write_pos[] = { "ADDR|SYMBOL[+OFF]", "HEXBYTES" };

static int parse_hex(const char *s, unsigned char *out, size_t *n)
{
    size_t len = strlen(s);

    if (!len || len % 2 || len / 2 > WRITE_MAX)
        return usage_error("write", "bytes must be an even number of hex digits "
                           "(at most %d bytes): '%s'", WRITE_MAX, s);
    for (size_t i = 0; i < len; i += 2) {
        char pair[3] = { s[i], s[i + 1], 0 };

        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
            return usage_error("write", "'%s' is not hex", pair);
        out[i / 2] = (unsigned char)strtoul(pair, NULL, 16);
    }
    *n = len / 2;
    return EXIT_OK;
}

/* "0x..." / decimal, or SYMBOL[+OFF] resolved through the Linux layer. */
static int resolve(vmi_instance_t vmi, const char *s, addr_t *va)
{
    char name[256];
    const char *plus = strchr(s, '+');
    uint64_t off = 0;
    size_t n = plus ? (size_t)(plus - s) : strlen(s);

    if (isdigit((unsigned char)s[0]))
        return arg_u64("write", "address", s, va);
    if (n >= sizeof name)
        return usage_error("write", "symbol name too long");
    memcpy(name, s, n);
    name[n] = '\0';
    if (plus && arg_u64("write", "offset", plus + 1, &off) != EXIT_OK)
        return EXIT_USAGE;
    if (vmi_translate_ksym2v(vmi, name, va) != VMI_SUCCESS) {
        fprintf(stderr, "tinyvmi: write: %s\n", tvmi_last_error(vmi));
        return EXIT_TARGET;
    }
    *va += off;
    return EXIT_OK;
}

static void print_bytes(const char *label, const unsigned char *b, size_t n)
{
    out_printf("%s", label);
    for (size_t i = 0; i < n; i++)
        out_printf("%02x", b[i]);
    out_printf("\n");
}

static int run_write(const struct global *g, const struct args *a)
{
    static unsigned char bytes[WRITE_MAX], before[WRITE_MAX];
    bool pa = a->val[W_PA] != NULL, sym = !isdigit((unsigned char)a->pos[0][0]);
    vmi_pid_t pid = 0;
    vmi_instance_t vmi;
    access_context_t ctx = { 0 };
    addr_t addr;
    size_t n = 0, got = 0;
    int rc;

    if ((rc = parse_hex(a->pos[1], bytes, &n)) != EXIT_OK)
        return rc;
    if (a->val[W_PID] && (rc = arg_pid("write", a->val[W_PID], &pid)) != EXIT_OK)
        return rc;
    if (pa && sym)
        return usage_error("write", "--pa takes a number, not a symbol");
    if (!g->write)
        return usage_error("write", "give --write: the target is opened "
                           "read-only without it");
    rc = sym || pid ? target_open_os(g, "write", &vmi) : target_open(g, "write", &vmi);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = resolve(vmi, a->pos[0], &addr)) != EXIT_OK)
        goto out;
    ctx.translate_mechanism = pa ? VMI_TM_NONE : VMI_TM_PROCESS_PID;
    ctx.addr = addr;
    ctx.pid = pid;
    if (vmi_read(vmi, &ctx, n, before, &got) != VMI_SUCCESS || got != n) {
        fprintf(stderr, "tinyvmi: write: reading %zu bytes at %#llx first: %s\n",
                n, (unsigned long long)addr, tvmi_last_error(vmi));
        rc = EXIT_TARGET;
        goto out;
    }
    if (vmi_write(vmi, &ctx, n, bytes, &got) != VMI_SUCCESS || got != n) {
        fprintf(stderr, "tinyvmi: write: writing %zu bytes at %#llx: %s\n", n,
                (unsigned long long)addr, tvmi_last_error(vmi));
        rc = EXIT_TARGET;
        goto out;
    }
    if (out_json) {
        json_begin_object(NULL);
        json_hex("address", addr);
        json_u64("bytes", n);
        json_hexbytes_begin("before");
        json_hexbytes_more(before, n);
        json_hexbytes_end();
        json_end_object();
    } else {
        out_printf("wrote %zu bytes at %#llx%s\n", n, (unsigned long long)addr,
                   pa ? " (physical)" : "");
        print_bytes("before: ", before, n);
    }
out:
    vmi_destroy(vmi);
    return rc;
}

const struct command cmd_write = {
    .name = "write",
    .summary = "write bytes at an address or kernel symbol (needs --write)",
    .help =
        "usage: tinyvmi --xen DOMAIN --write write ADDR|SYMBOL[+OFF] HEXBYTES\n"
        "                                [--pa] [--pid PID] [--json]\n"
        "\n"
        "Writes HEXBYTES (e.g. cc or 90909090) at a kernel virtual address,\n"
        "a kernel symbol plus an offset (found as 'sym' finds it), a user\n"
        "address of process PID (--pid), or a physical address (--pa).\n"
        "Prints the bytes that were there, so the same command with them\n"
        "undoes the change. Snapshots opened with --write are changed in\n"
        "place.\n",
    .opts = write_opts,
    .min_pos = 2,
    .max_pos = 2,
    .pos_names = write_pos,
    .run = run_write,
};
