/*
 * 4 KiB physical reads through vmi_read_pa on a snapshot, next to plain
 * memcpy of 4 KiB from the same file mmap'd by us: the driver's overhead
 * per read is the gap between the two.
 *
 * Usage: bench_read [SNAPSHOT]   (default: a 512 MiB raw file in /tmp)
 * Prints medians of 5 runs, one "name value unit" line each.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "private.h"

#define RUNS 5
#define DEFAULT_SIZE (512ull << 20)
#define READS (1u << 19) /* per run: 2 GiB, long enough to time */

struct job {
    vmi_instance_t vmi;
    const unsigned char *map; /* our own mapping of the file */
    addr_t *pa;               /* backed frames, in the order to read them */
    uint64_t *off;            /* file offsets for memcpy, same count */
    size_t n;
};

static unsigned char dst[4096] __attribute__((aligned(64)));

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_read: %s: %s\n", what, why);
    exit(1);
}

/* A file of pseudo-random bytes, so nothing is a zero page. */
static void make_file(const char *path, uint64_t size)
{
    static uint64_t buf[1 << 17];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0)
        die(path, "cannot create");
    for (uint64_t done = 0; done < size; done += sizeof buf) {
        for (size_t i = 0; i < sizeof buf / 8; i++)
            buf[i] = bench_xorshift(&seed);
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            die(path, "short write");
    }
    close(fd);
}

static double run_vmi(const struct job *j)
{
    double t = bench_now();
    for (size_t i = 0; i < j->n; i++) {
        if (vmi_read_pa(j->vmi, j->pa[i], 4096, dst, NULL) != VMI_SUCCESS)
            die("vmi_read_pa", tvmi_last_error(j->vmi));
        bench_sink += dst[i & 4095];
    }
    return bench_now() - t;
}

/* A length the compiler cannot see, so that this is the C library's
 * memcpy, as in vmi_read_pa, not an inlined rep movs. */
static volatile size_t page_len = 4096;

static double run_memcpy(const struct job *j)
{
    size_t len = page_len;
    double t = bench_now();
    for (size_t i = 0; i < j->n; i++) {
        memcpy(dst, j->map + j->off[i], len);
        bench_sink += dst[i & 4095];
    }
    return bench_now() - t;
}

/* The two are interleaved so that drift on a busy host hits both. */
static void report(const char *name, const struct job *j)
{
    double tv[RUNS], tm[RUNS], bytes = (double)j->n * 4096;

    for (int r = 0; r < RUNS; r++) {
        tv[r] = run_vmi(j);
        tm[r] = run_memcpy(j);
    }
    double v = bench_median(tv, RUNS), m = bench_median(tm, RUNS);
    printf("%s_vmi_read_pa %.0f reads/s\n", name, j->n / v);
    printf("%s_vmi_read_pa %.2f GB/s\n", name, bytes / v / 1e9);
    printf("%s_memcpy %.0f reads/s\n", name, j->n / m);
    printf("%s_memcpy %.2f GB/s\n", name, bytes / m / 1e9);
    printf("%s_ratio %.2f vmi/memcpy\n", name, m / v);
}

/* All backed frames of the snapshot, ascending. */
static size_t backed_frames(vmi_instance_t vmi, addr_t **out)
{
    struct tvmi_mem_range *r;
    size_t nr = vmi->drv->get_ranges(vmi, NULL, 0), n = 0;

    r = calloc(nr ? nr : 1, sizeof *r);
    *out = malloc((vmi->memsize / 4096 + 1) * sizeof **out);
    if (!r || !*out)
        die("bench_read", "out of memory");
    vmi->drv->get_ranges(vmi, r, nr);
    for (size_t i = 0; i < nr; i++)
        for (addr_t pa = r[i].start; pa < r[i].end; pa += 4096)
            (*out)[n++] = pa;
    free(r);
    return n;
}

int main(int argc, char **argv)
{
    char tmp[64] = "";
    const char *path = argc > 1 ? argv[1] : NULL;
    vmi_instance_t vmi;
    vmi_init_error_t err;
    struct stat st;
    addr_t *frames;
    size_t nframes, n;
    uint64_t seed = 42, fsize;
    struct job seq, rnd;
    int fd;

    if (!path) {
        snprintf(tmp, sizeof tmp, "/tmp/tvmi-bench-%ld.raw", (long)getpid());
        make_file(tmp, DEFAULT_SIZE);
        path = tmp;
    }
    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        die(path, tvmi_init_error_message());
    if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
        die(path, "cannot open");
    fsize = (uint64_t)st.st_size & ~4095ull;
    seq.map = rnd.map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (seq.map == MAP_FAILED || fsize == 0)
        die(path, "cannot map");
    seq.vmi = rnd.vmi = vmi;

    nframes = backed_frames(vmi, &frames);
    n = READS;
    seq.n = rnd.n = n;
    seq.pa = malloc(n * sizeof *seq.pa);
    rnd.pa = malloc(n * sizeof *rnd.pa);
    seq.off = malloc(n * sizeof *seq.off);
    rnd.off = malloc(n * sizeof *rnd.off);
    if (!seq.pa || !rnd.pa || !seq.off || !rnd.off)
        die("bench_read", "out of memory");
    /* memcpy visits the same sequence of frame indices (for a raw file
     * the very same pages; elsewhere the same pattern). */
    for (size_t i = 0; i < n; i++) {
        size_t k = bench_xorshift(&seed) % nframes;
        rnd.pa[i] = frames[k];
        rnd.off[i] = (uint64_t)k * 4096 % fsize;
        seq.pa[i] = frames[i % nframes];
        seq.off[i] = (uint64_t)(i % nframes) * 4096 % fsize;
    }

    /* Touch every page of both mappings once: page faults are not what
     * we measure. */
    struct job all = { vmi, seq.map, frames, NULL, nframes };
    run_vmi(&all);
    for (uint64_t o = 0; o < fsize; o += 4096)
        bench_sink += seq.map[o];

    fprintf(stderr, "bench_read: %s (%s)\n", path, tvmi_get_driver_name(vmi));
    printf("reads_per_run %zu reads\n", n);
    report("read4k_random", &rnd);
    report("read4k_sequential", &seq);

    vmi_destroy(vmi);
    munmap((void *)seq.map, (size_t)st.st_size);
    close(fd);
    if (tmp[0])
        unlink(tmp);
    free(frames);
    free(seq.pa);
    free(rnd.pa);
    free(seq.off);
    free(rnd.off);
    return 0;
}
