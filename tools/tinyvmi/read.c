/*
 * tinyvmi read: bytes of physical or virtual memory as a hexdump, raw, or
 * a JSON hex string. Memory is read and printed in chunks, so a long read
 * into a closed pipe stops early and a read that breaks off halfway still
 * shows everything before the break.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "output.h"

#define READ_MAX (64ull << 20)
#define CHUNK (1u << 20) /* a multiple of 16: hexdump lines stay aligned */

enum { R_VA, R_PID, R_DTB, R_MODE, R_RAW };
static const struct opt read_opts[] = {
    [R_VA] = { "va", false },
    [R_PID] = { "pid", true },
    [R_DTB] = { "dtb", true },
    [R_MODE] = { "mode", true },
    [R_RAW] = { "raw", false },
    { NULL, false },
};
static const char *const read_pos[] = { "ADDR", "LEN" };

struct request {
    addr_t addr;
    uint64_t len;
    bool virtual, by_pid, raw;
    vmi_pid_t pid;
    struct paging paging;
};

static int parse_request(const struct args *a, struct request *r)
{
    int rc;

    if ((rc = arg_u64("read", "address", a->pos[0], &r->addr)) ||
        (rc = arg_u64("read", "length", a->pos[1], &r->len)))
        return rc;
    if (r->len == 0 || r->len > READ_MAX)
        return usage_error("read", "bad length '%s': must be 1 to %llu "
                                   "(64 MiB)", a->pos[1], READ_MAX);
    if (r->len - 1 > UINT64_MAX - r->addr)
        return usage_error("read", "address %s + length %s goes past the end "
                                   "of the 64-bit address space",
                           a->pos[0], a->pos[1]);
    if (a->val[R_PID] && a->val[R_DTB])
        return usage_error("read", "--pid and --dtb cannot be used together");
    if (a->val[R_PID] && (rc = arg_pid("read", a->val[R_PID], &r->pid)))
        return rc;
    if ((rc = paging_args("read", a->val[R_DTB], a->val[R_MODE], &r->paging)))
        return rc;
    r->by_pid = a->val[R_PID] != NULL;
    r->virtual = a->val[R_VA] || r->by_pid || r->paging.have_dtb ||
                 r->paging.have_mode;
    r->raw = a->val[R_RAW] != NULL;
    if (r->raw && out_json)
        return usage_error("read", "--raw and --json cannot be used together");
    return EXIT_OK;
}

/* Chooses the address space: a pid, or page tables from --dtb/--mode
 * (defaulting to the kernel's); --mode makes them the instance's own. */
static int prepare_virtual(vmi_instance_t vmi, struct request *r)
{
    struct paging *p = &r->paging;
    int rc = paging_resolve(vmi, "read", p);

    if (rc != EXIT_OK)
        return rc;
    if (p->have_mode && tvmi_set_kernel_dtb(vmi, p->dtb, p->pm) != VMI_SUCCESS)
        return fail("read: using page-table root 0x%llx (%s): %s",
                    (unsigned long long)p->dtb, page_mode_name(p->pm),
                    tvmi_last_error(vmi));
    return EXIT_OK;
}

static status_t read_chunk(vmi_instance_t vmi, const struct request *r,
                           addr_t at, size_t n, void *buf, size_t *got)
{
    if (!r->virtual)
        return vmi_read_pa(vmi, at, n, buf, got);
    if (r->by_pid)
        return vmi_read_va(vmi, at, r->pid, n, buf, got);
    return tvmi_read_dtb(vmi, at, r->paging.dtb, n, buf, got);
}

static void emit(const struct request *r, addr_t at, const unsigned char *p,
                 size_t n)
{
    uint64_t last = r->addr + r->len - 1;

    if (out_json)
        json_hexbytes_more(p, n);
    else if (r->raw)
        out_write(p, n);
    else
        hexdump(at, p, n, last > 0xffffffffu ? 16 : 8);
}

static void json_header(const struct request *r)
{
    json_string("space", r->virtual ? "virtual" : "physical");
    json_hex("address", r->addr);
    json_u64("length", r->len);
    if (r->virtual && r->by_pid)
        json_u64("pid", (uint64_t)r->pid);
    else if (r->virtual) {
        json_hex("dtb", r->paging.dtb);
        json_string("page_mode", page_mode_name(r->paging.pm));
    }
    json_hexbytes_begin("data");
}

/* Reads and prints everything, or what there is up to the first failure. */
static int read_and_print(vmi_instance_t vmi, const struct request *r)
{
    unsigned char *buf = malloc(r->len < CHUNK ? r->len : CHUNK);
    uint64_t done = 0;
    char why[512] = "";

    if (!buf)
        return fail("read: out of memory for a buffer of %llu bytes",
                    (unsigned long long)(r->len < CHUNK ? r->len : CHUNK));
    if (out_json)
        json_header(r);
    while (done < r->len && !out_broken()) {
        size_t want = r->len - done < CHUNK ? r->len - done : CHUNK, got = 0;
        status_t st = read_chunk(vmi, r, r->addr + done, want, buf, &got);

        if (got > want)
            got = want;
        emit(r, r->addr + done, buf, got);
        done += got;
        if (st != VMI_SUCCESS || got < want) {
            snprintf(why, sizeof(why), "%s", st != VMI_SUCCESS
                     ? tvmi_last_error(vmi) : "short read without an error");
            break;
        }
    }
    free(buf);
    if (out_json) {
        json_hexbytes_end();
        json_u64("bytes_read", done);
    }
    if (!why[0])
        return EXIT_OK;
    /* the library's reason names the address and page tables itself */
    if (done)
        return fail("read: stopped after %llu of %llu bytes: %s",
                    (unsigned long long)done, (unsigned long long)r->len, why);
    return fail("read: %s", why);
}

static int run_read(const struct global *g, const struct args *a)
{
    struct request r = { 0 };
    vmi_instance_t vmi;
    int rc = parse_request(a, &r);

    if (rc != EXIT_OK)
        return rc;
    /* A pid other than 0 means a process's page tables: the OS layer finds
     * them. */
    rc = r.by_pid && r.pid != 0 ? target_open_os(g, "read", &vmi)
                                : target_open(g, "read", &vmi);
    if (rc != EXIT_OK)
        return rc;
    if (r.virtual)
        rc = prepare_virtual(vmi, &r);
    if (rc == EXIT_OK)
        rc = read_and_print(vmi, &r);
    vmi_destroy(vmi);
    return rc;
}

const struct command cmd_read = {
    .name = "read",
    .summary = "hexdump memory at a physical or virtual address",
    .help =
        "usage: tinyvmi --file PATH read ADDR LEN [--va]\n"
        "           [--pid N | --dtb ROOT] [--mode MODE] [--raw] [--json]\n"
        "\n"
        "Reads LEN bytes (1 to 64 MiB) at physical address ADDR and prints\n"
        "a hexdump: address, 16 bytes in hex, the same bytes as ASCII.\n"
        "\n"
        "  --va         ADDR is virtual, in the kernel's address space\n"
        "  --pid N      ADDR is virtual, in process N (needs an OS layer;\n"
        "               0 = the kernel)\n"
        "  --dtb ROOT   ADDR is virtual, under page-table root ROOT\n"
        "  --mode MODE  paging mode: none, legacy, pae, ia32e, la57; with\n"
        "               --dtb, needed for targets without registers\n"
        "  --raw        write the bytes to stdout as they are\n"
        "\n"
        "If the read breaks off (a hole, the end of memory, an unmapped\n"
        "page) the bytes before the break are printed, then the error;\n"
        "exit status 1.\n"
        "JSON keys: space (physical|virtual), address, length, pid or dtb\n"
        "and page_mode, data (hex string of the bytes read), bytes_read,\n"
        "error.\n",
    .opts = read_opts,
    .min_pos = 2,
    .max_pos = 2,
    .pos_names = read_pos,
    .run = run_read,
};
