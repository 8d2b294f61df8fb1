/*
 * tinyvmi appliance start|exec|stop: the dom0 side of the appliance.
 *
 * start creates the appliance domain (xl create -p, from a config we
 * write: PVH, 16 MiB, 1 vCPU, the command line saying target and task),
 * makes it the target's device model (XEN_DOMCTL_set_target: from then on
 * Xen lets it map that target's memory and nobody else's), unpauses it and
 * streams its results from xenstore (appliance_io.c). The appliance gets
 * no xenstore rights beyond its own home, which every domain has.
 *
 * Why xl and not libxl: xl is what a Xen host has, its config format is
 * what admins know, and libxl's API changes between releases (the same
 * reason the Xen driver avoids libxenctrl).
 */
#include "appliance.h"

#ifndef TVMI_HAVE_XEN
#include <stdio.h>

static int no_xen(const struct global *g, const struct args *a)
{
    (void)g, (void)a;
    fprintf(stderr, "tinyvmi: appliance: this tinyvmi was built without Xen's "
            "libraries (Debian: libxen-dev)\n");
    return EXIT_TARGET;
}

const struct command cmd_appliance = {
    .name = "appliance",
    .summary = "run tinyvmi in its own Xen domain (needs a Xen build)",
    .help = "usage: tinyvmi appliance start|exec|stop ...\n"
            "This tinyvmi was built without Xen's libraries (libxen-dev).\n",
    .min_pos = 0,
    .max_pos = 3,
    .run = no_xen,
};
#else

#define __XEN_TOOLS__ 1 /* domctl.h: set_target */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xencall.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/domctl.h>

#define DEFAULT_MEMORY_MIB 16
#define DEFAULT_TIMEOUT_S 300

enum { A_TARGET, A_TASK, A_IMAGE, A_MEMORY, A_NAME, A_DETACH, A_TIMEOUT, A_ASK,
       A_INTERVAL, A_COUNT };
static const struct opt appliance_opts[] = {
    [A_TARGET] = { "target", true },
    [A_TASK] = { "task", true },
    [A_IMAGE] = { "image", true },
    [A_MEMORY] = { "memory", true },
    [A_NAME] = { "name", true },
    [A_DETACH] = { "detach", false },
    [A_TIMEOUT] = { "timeout", true },
    [A_ASK] = { "ask-domid", true }, /* tests: ask for another domain */
    [A_INTERVAL] = { "interval", true },
    [A_COUNT] = { "count", true },
    { NULL, false },
};
static const char *const appliance_pos[] = { "start|exec|stop", "ID", "COMMAND" };

double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- xl ------------------------------------------------------------------- */

/* Runs xl with args, its output going to our stderr. 0 on success. */
static int run_xl(const char *const *args)
{
    const char *argv[16] = { getenv("TINYVMI_XL") ? getenv("TINYVMI_XL") : "xl" };
    pid_t pid;
    int st, i;

    for (i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "tinyvmi: appliance: running %s: %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ---- Xen facts --------------------------------------------------------------- */

static int xen_version_of(xencall_handle *xc, unsigned *major, unsigned *minor)
{
    long v = xencall2(xc, __HYPERVISOR_xen_version, XENVER_version, 0);

    if (v < 0)
        return -1;
    *major = (unsigned)(v >> 16);
    *minor = (unsigned)(v & 0xffff);
    return 0;
}

/* XEN_DOMCTL_set_target with the first interface version Xen accepts
 * (it answers EACCES to the others): 0x17 is 4.19/4.20, 0x15 is 4.17. */
static int set_target(xencall_handle *xc, uint32_t dom, uint32_t target)
{
    struct xen_domctl *d = xencall_alloc_buffer(xc, sizeof *d);
    int rc = -1;

    if (!d)
        return -1;
    for (uint32_t v = 0x17; v >= 0x15; v--) {
        memset(d, 0, sizeof *d);
        d->cmd = XEN_DOMCTL_set_target;
        d->interface_version = v;
        d->domain = (domid_t)dom;
        d->u.set_target.target = (domid_t)target;
        errno = 0;
        rc = xencall1(xc, __HYPERVISOR_domctl, (uintptr_t)d) < 0 ? -1 : 0;
        if (rc == 0 || errno != EACCES)
            break;
    }
    xencall_free_buffer(xc, d);
    return rc;
}

/* The image: --image, $TINYVMI_APPLIANCE, next to this program, or the
 * install location. */
static const char *find_image(const char *given, char *buf, size_t len)
{
    const char *env = getenv("TINYVMI_APPLIANCE");
    char self[PATH_MAX - 64];
    ssize_t n;

    if (given)
        return given;
    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        char *slash;

        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/unikernel/tinyvmi-appliance-stripped", self);
            if (access(buf, R_OK) == 0)
                return buf;
            snprintf(buf, len, "%s/tinyvmi-appliance", self);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, len, "/usr/lib/tinyvmi/tinyvmi-appliance");
    return buf;
}

/* The target's populated ranges as the dom0 driver finds them, for the
 * appliance's command line: they steer its scans past the holes. */
static void target_ranges(const char *target, char *out, size_t len)
{
    addr_t start[8], end[8];
    vmi_instance_t vmi;
    vmi_init_error_t err;
    size_t n, used = 0;

    out[0] = '\0';
    if (vmi_init(&vmi, VMI_XEN, target, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        return;
    n = tvmi_get_memory_ranges(vmi, start, end, 8);
    for (size_t i = 0; i < n && i < 8 && used + 40 < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%llx-%llx",
                                 i ? "," : "", (unsigned long long)start[i],
                                 (unsigned long long)end[i]);
    vmi_destroy(vmi);
}

static int write_config(const char *path, const char *name, const char *image,
                        unsigned mib, const char *cmdline)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "# written by tinyvmi appliance start\n"
               "name = \"%s\"\ntype = \"pvh\"\nkernel = \"%s\"\n"
               "memory = %u\nmaxmem = %u\nvcpus = 1\n"
               "cmdline = \"%s\"\n"
               "on_poweroff = \"destroy\"\non_reboot = \"destroy\"\n"
               "on_crash = \"destroy\"\n", name, image, mib, mib, cmdline);
    return fclose(f);
}

static int start(const struct global *g, const struct args *a)
{
    const char *target = a->val[A_TARGET], *task = a->val[A_TASK] ? a->val[A_TASK] : "ps";
    char imgbuf[PATH_MAX], name[64], cfg[PATH_MAX], cmdline[512], ranges[320];
    const char *image = find_image(a->val[A_IMAGE], imgbuf, sizeof imgbuf);
    unsigned long mib = DEFAULT_MEMORY_MIB, timeout = DEFAULT_TIMEOUT_S;
    unsigned long interval_ms = 2000, count = 0;
    size_t used;
    unsigned major = 0, minor = 0;
    uint32_t tdom, adom;
    xencall_handle *xc;
    double t0 = now_s(), t_created;
    bool forever;
    int rc;

    (void)g;
    if (!target)
        return usage_error("appliance", "start needs --target NAME|DOMID");
    if (strcmp(task, "ps") && strcmp(task, "modules") && strcmp(task, "info") &&
        strcmp(task, "serve") && strcmp(task, "watch"))
        return usage_error("appliance", "unknown --task '%s' (ps, modules, info, "
                           "watch, serve)", task);
    if (a->val[A_MEMORY] && (arg_ulong(a->val[A_MEMORY], &mib) || mib < 4 || mib > 4096))
        return usage_error("appliance", "--memory takes MiB, 4 to 4096");
    if (a->val[A_TIMEOUT] && (arg_ulong(a->val[A_TIMEOUT], &timeout) || !timeout))
        return usage_error("appliance", "--timeout takes seconds");
    if (a->val[A_INTERVAL] && (arg_ulong(a->val[A_INTERVAL], &interval_ms) ||
                               !interval_ms || interval_ms > 3600000))
        return usage_error("appliance", "--interval takes milliseconds (1 to 3600000)");
    if (a->val[A_COUNT] && arg_ulong(a->val[A_COUNT], &count))
        return usage_error("appliance", "--count takes a number of checks");
    if (access(image, R_OK) != 0)
        return fail_msg("no appliance image at %s: %s (build it, or give "
                        "--image / TINYVMI_APPLIANCE)", image, strerror(errno));
    xc = xencall_open(NULL, 0);
    if (!xc)
        return fail_msg("opening /dev/xen/privcmd: %s (appliance start runs as "
                        "root in dom0)", strerror(errno));
    if (xen_version_of(xc, &major, &minor) == 0 &&
        (major < 4 || (major == 4 && minor < 19)) && !getenv("TINYVMI_ANY_XEN")) {
        xencall_close(xc);
        return fail_msg("this is Xen %u.%u: the appliance needs Xen 4.19 or "
                        "newer, which lets a PVH domain map another domain's "
                        "memory (XENMAPSPACE_gmfn_foreign); use the dom0 tool "
                        "(tinyvmi --xen %s ...) here", major, minor, target);
    }
    if (xs_domid_of(target, &tdom) != 0) {
        xencall_close(xc);
        return fail_msg("no Xen domain '%s'", target);
    }
    if (tdom == 0) {
        xencall_close(xc);
        return fail_msg("dom0 cannot be an appliance's target");
    }
    snprintf(name, sizeof name, "%s", a->val[A_NAME] ? a->val[A_NAME] : "");
    if (!name[0])
        snprintf(name, sizeof name, "tinyvmi-appliance-%u", tdom);
    target_ranges(target, ranges, sizeof ranges);
    /* --ask-domid: the isolation test; rights over the target, but the
     * appliance is told to open another domain, which Xen must refuse. */
    snprintf(cmdline, sizeof cmdline, "target=%s task=%s%s%s",
             a->val[A_ASK] ? a->val[A_ASK] : "", task,
             ranges[0] && !a->val[A_ASK] ? " ranges=" : "",
             a->val[A_ASK] ? "" : ranges);
    if (!a->val[A_ASK])
        snprintf(cmdline, sizeof cmdline, "target=%u task=%s%s%s", tdom, task,
                 ranges[0] ? " ranges=" : "", ranges);
    used = strlen(cmdline);
    if (!strcmp(task, "watch"))
        snprintf(cmdline + used, sizeof cmdline - used, " interval=%lu count=%lu",
                 interval_ms, count);
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
    if (write_config(cfg, name, image, (unsigned)mib, cmdline) != 0) {
        xencall_close(xc);
        return fail_msg("writing %s: %s", cfg, strerror(errno));
    }
    if (run_xl((const char *[]){ "create", "-q", "-p", cfg, NULL }) != 0) {
        xencall_close(xc);
        return fail_msg("xl create -p %s failed (see above; an appliance named "
                        "%s may already exist: tinyvmi appliance stop %s)",
                        cfg, name, name);
    }
    t_created = now_s();
    rc = xs_domid_of(name, &adom);
    if (rc == 0 && set_target(xc, adom, tdom) != 0) {
        int e = errno;

        run_xl((const char *[]){ "destroy", name, NULL });
        xencall_close(xc);
        return fail_msg("giving domain %u rights over %u (XEN_DOMCTL_set_target): "
                        "%s", adom, tdom, strerror(e));
    }
    xencall_close(xc);
    if (rc == 0 && !a->val[A_DETACH])
        app_set_reader(adom);
    if (rc != 0 || run_xl((const char *[]){ "unpause", name, NULL }) != 0) {
        run_xl((const char *[]){ "destroy", name, NULL });
        return fail_msg("starting the appliance domain %s failed", name);
    }
    fprintf(stderr, "tinyvmi: appliance %s (domain %u) started on %s (domain %u), "
            "task %s; xl create took %.1f s\n", name, adom, target, tdom, task,
            t_created - t0);
    if (a->val[A_DETACH]) {
        const char *want = !strcmp(task, "serve") ? "ready"
                         : !strcmp(task, "watch") ? "watching" : NULL;

        if (want && app_wait_state(adom, want, timeout) != 0)
            return fail_msg("the appliance did not get to '%s' within %lu s",
                            want, timeout);
        return EXIT_OK;
    }
    forever = !strcmp(task, "serve") || !strcmp(task, "watch");
    return app_stream(adom, 1, forever, !forever, timeout, t0);
}

static int exec_cmd(const struct args *a)
{
    unsigned long timeout = DEFAULT_TIMEOUT_S;
    uint32_t adom;
    unsigned seq;

    if (a->npos < 3)
        return usage_error("appliance", "exec needs ID and COMMAND");
    if (a->val[A_TIMEOUT] && (arg_ulong(a->val[A_TIMEOUT], &timeout) || !timeout))
        return usage_error("appliance", "--timeout takes seconds");
    if (xs_domid_of(a->pos[1], &adom) != 0)
        return fail_msg("no appliance domain '%s'", a->pos[1]);
    if (app_send_command(adom, a->pos[2], &seq) != 0)
        return EXIT_TARGET;
    return app_stream(adom, seq, false, false, timeout, now_s());
}

static int stop(const struct args *a)
{
    uint32_t adom;
    unsigned seq;

    if (a->npos < 2)
        return usage_error("appliance", "stop needs ID");
    if (xs_domid_of(a->pos[1], &adom) != 0)
        return fail_msg("no appliance domain '%s'", a->pos[1]);
    /* Ask first (it gives its mappings back), then make sure. */
    if (app_send_command(adom, "stop", &seq) == 0)
        app_wait_gone(adom, 10);
    if (xs_domain_exists(adom))
        run_xl((const char *[]){ "destroy", a->pos[1], NULL });
    if (xs_domain_exists(adom))
        return fail_msg("domain %u is still there after xl destroy", adom);
    fprintf(stderr, "tinyvmi: appliance %s stopped\n", a->pos[1]);
    return EXIT_OK;
}

static int run_appliance(const struct global *g, const struct args *a)
{
    const char *sub = a->pos[0];

    if (!strcmp(sub, "start"))
        return start(g, a);
    if (!strcmp(sub, "exec"))
        return exec_cmd(a);
    if (!strcmp(sub, "stop"))
        return stop(a);
    return usage_error("appliance", "unknown subcommand '%s' (start, exec, stop)", sub);
}

const struct command cmd_appliance = {
    .name = "appliance",
    .summary = "run tinyvmi in its own small Xen domain (Xen >= 4.19)",
    .help =
        "usage: tinyvmi appliance start --target NAME|DOMID\n"
        "                 [--task ps|modules|info|watch|serve] [--image F]\n"
        "                 [--memory MIB] [--name NAME] [--detach] [--timeout S]\n"
        "                 [--interval MS] [--count N]    (watch)\n"
        "       tinyvmi appliance exec ID ps|modules|info|stats\n"
        "       tinyvmi appliance stop ID\n"
        "\n"
        "start creates the appliance domain (16 MiB, 1 vCPU) from the image,\n"
        "gives it rights over the target's memory and nothing else\n"
        "(XEN_DOMCTL_set_target) and prints its results as they come: text,\n"
        "or with --json the appliance's JSON lines as they are. ps, modules\n"
        "and info run once and the appliance powers off; serve waits for\n"
        "'exec' commands; watch reports changes (processes, modules, kernel\n"
        "text, system call table) every --interval ms (2000) until stopped\n"
        "or --count checks. With --detach, start returns once the appliance\n"
        "is ready (serve) or has its baseline (watch). ID is the\n"
        "appliance's name (tinyvmi-appliance-<target domid>) or domid.\n"
        "Runs as root in dom0, with xl on PATH (or $TINYVMI_XL).\n"
        "--ask-domid N (for isolation tests) gives the rights over the target\n"
        "but tells the appliance to open domain N, which Xen must refuse.\n",
    .opts = appliance_opts,
    .min_pos = 1,
    .max_pos = 3,
    .pos_names = appliance_pos,
    .run = run_appliance,
    .json_array = true, /* JSON lines, as the appliance wrote them */
};
#endif
