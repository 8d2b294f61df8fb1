/*
 * Opening the target with its OS layer (vmi_init_complete), with the
 * profile the global options name:
 *
 *   none                 TVMI_CONFIG_NONE: everything from memory
 *   --profile F          VMI_CONFIG_JSON_PATH (an ISF, .json or .json.xz)
 *   --sysmap/--btf F...  VMI_CONFIG_STRING, a libvmi.conf entry naming them
 *   --config F           VMI_CONFIG_GLOBAL_FILE_ENTRY: the entry --domain
 *                        names, else the one named like the target, else
 *                        the first
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinyvmi/linux.h>

#include "cli.h"

/* key = "value"; with " and \ escaped, appended to *s. */
static bool add_entry(char **s, size_t *len, const char *key, const char *v)
{
    size_t need = *len + strlen(key) + 2 * strlen(v) + 16;
    char *p = realloc(*s, need), *o;

    if (!p)
        return false;
    *s = p;
    o = p + *len;
    o += sprintf(o, " %s = \"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            *o++ = '\\';
        *o++ = *v;
    }
    o += sprintf(o, "\";");
    *len = (size_t)(o - p);
    return true;
}

/* "{ sysmap = "..."; volatility_ist = "..."; btf = "..."; }" */
static char *config_string(const struct global *g)
{
    char *s = strdup("{"), *p;
    size_t len = 1;

    if (!s || (g->sysmap && !add_entry(&s, &len, "sysmap", g->sysmap)) ||
        (g->profile && !add_entry(&s, &len, "volatility_ist", g->profile)) ||
        (g->btf && !add_entry(&s, &len, "btf", g->btf)) ||
        !(p = realloc(s, len + 3))) {
        free(s);
        return NULL;
    }
    memcpy(p + len, " }", 3);
    return p;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The domain to open and how (the same as target_open). */
static int domain_of(const struct global *g, const char *cmd,
                     const void **domain, uint64_t *flags, uint64_t *domid)
{
    *flags = g->write ? TVMI_INIT_WRITE : 0;
    if (g->file && g->xen)
        return usage_error(cmd, "--file and --xen cannot be used together");
    if (!g->file && !g->xen)
        return usage_error(cmd, "no target: give --file PATH (or --xen DOMAIN)");
    if (g->file) {
        *domain = g->file;
        *flags |= VMI_INIT_DOMAINNAME;
        return EXIT_OK;
    }
    if (g->xen[0] >= '0' && g->xen[0] <= '9' &&
        arg_u64(cmd, "domain id", g->xen, domid) == EXIT_OK) {
        *domain = domid;
        *flags |= VMI_INIT_DOMAINID;
        return EXIT_OK;
    }
    *domain = g->xen;
    *flags |= VMI_INIT_DOMAINNAME;
    return EXIT_OK;
}

int target_open_os(const struct global *g, const char *cmd, vmi_instance_t *vmi)
{
    tvmi_linux_conf_file_t conf = { 0 };
    vmi_config_t mode = TVMI_CONFIG_NONE;
    vmi_init_error_t err = VMI_INIT_ERROR_NONE;
    const void *domain = NULL;
    uint64_t flags, domid;
    void *config = NULL;
    char *str = NULL, msg[1024];
    int rc, bad;

    *vmi = NULL;
    if ((bad = domain_of(g, cmd, &domain, &flags, &domid)) != EXIT_OK)
        return bad;
    if (g->domain && !g->config)
        return usage_error(cmd, "--domain picks an entry of --config FILE");
    if (g->config && (g->profile || g->sysmap || g->btf))
        return usage_error(cmd, "--config cannot be combined with --profile, "
                                "--sysmap or --btf (name them in the file)");
    if (g->config) {
        conf.path = g->config;
        conf.entry = g->domain ? g->domain : base_name(g->file ? g->file : g->xen);
        conf.or_first = !g->domain;
        mode = VMI_CONFIG_GLOBAL_FILE_ENTRY;
        config = &conf;
    } else if (g->profile && !g->sysmap && !g->btf) {
        mode = VMI_CONFIG_JSON_PATH;
        config = (void *)g->profile;
    } else if (g->profile || g->sysmap || g->btf) {
        if (!(str = config_string(g)))
            return fail("out of memory");
        mode = VMI_CONFIG_STRING;
        config = str;
    }
    rc = hints_init_complete(g, vmi, domain, flags, mode, config, &err, msg,
                             sizeof(msg));
    free(str);
    if (rc == EXIT_OK)
        return EXIT_OK;
    *vmi = NULL;
    if (err == VMI_INIT_ERROR_OS)
        return fail("%s", msg);
    return fail("opening %s: %s", g->file ? "snapshot" : "Xen domain", msg);
}
