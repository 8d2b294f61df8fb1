/*
 * The discovery-hint cache: after a zero-configuration discovery the
 * library's record of what it found (tvmi_linux_get_hints) is kept in
 *
 *   ${XDG_CACHE_HOME:-$HOME/.cache}/tinyvmi/hints/<key>
 *
 * where key is a hash of the target's identity (a snapshot's real path,
 * inode, size and time; a Xen domain's UUID and id), and handed to the
 * next run on that target (tvmi_linux_set_hints), which checks it against
 * memory before using any of it. The cache only ever saves time: a file
 * that is missing, unreadable, stale or garbage costs a normal discovery,
 * and failing to write one is not an error. --no-hints or
 * TINYVMI_NO_HINTS=1 leave it alone entirely.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tinyvmi/linux.h>

#include "cli.h"

#define RECORD_MAX 16384 /* the library takes no more */

bool hints_enabled(const struct global *g)
{
    const char *env = getenv("TINYVMI_NO_HINTS");

    return !g->no_hints && !(env && *env && strcmp(env, "0"));
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* The cache directory (created, 0700), or false. */
static bool cache_dir(char *dir, size_t len, bool create)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    static const char *const parts[] = { "/tinyvmi", "/hints" };
    int n;

    if (xdg && *xdg == '/')
        n = snprintf(dir, len, "%s", xdg);
    else if (home && *home == '/')
        n = snprintf(dir, len, "%s/.cache", home);
    else
        return false;
    if (n < 0 || (size_t)n >= len)
        return false;
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
        return false;
    for (size_t i = 0; i < 2; i++) {
        size_t used = strlen(dir);
        if (used + strlen(parts[i]) >= len)
            return false;
        strcpy(dir + used, parts[i]);
        if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
            return false;
    }
    return true;
}

/* The record's file for this target, or false when the target cannot say
 * who it is. */
bool hints_path(vmi_instance_t vmi, char *path, size_t len, bool create)
{
    char id[1024], dir[768];
    int n;

    if (tvmi_get_target_identity(vmi, id, sizeof(id)) != VMI_SUCCESS ||
        !cache_dir(dir, sizeof(dir), create))
        return false;
    n = snprintf(path, len, "%s/%016llx", dir, (unsigned long long)fnv64(id));
    return n > 0 && (size_t)n < len;
}

/* The file's bytes (at most RECORD_MAX), or NULL. No symlinks: the
 * directory is ours, a link in it is not. */
static char *read_record(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    ssize_t n;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size <= RECORD_MAX && (buf = malloc((size_t)st.st_size))) {
        n = read(fd, buf, (size_t)st.st_size);
        if (n != st.st_size) {
            free(buf);
            buf = NULL;
        } else {
            *len = (size_t)n;
        }
    }
    close(fd);
    return buf;
}

/* tmp + rename: a reader sees the old record or the new one, never half. */
static void write_record(const char *path, const char *rec, size_t len)
{
    char tmp[1100];
    int fd, n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    bool ok;

    if (n < 0 || (size_t)n >= sizeof(tmp) || (fd = mkstemp(tmp)) < 0)
        return;
    ok = fchmod(fd, 0600) == 0 && write(fd, rec, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
}

/* After discovery without (usable) hints: keep what it found. */
static void store(vmi_instance_t vmi)
{
    tvmi_linux_info_t info;
    char path[1024], *rec;
    size_t len;

    if (tvmi_linux_get_info(vmi, &info) != VMI_SUCCESS ||
        !strcmp(info.hints, "accepted") ||
        !hints_path(vmi, path, sizeof(path), true) ||
        !(rec = tvmi_linux_get_hints(vmi, &len)))
        return;
    write_record(path, rec, len);
    free(rec);
}

int hints_init_complete(const struct global *g, vmi_instance_t *vmi,
                        const void *domain, uint64_t flags, vmi_config_t mode,
                        void *config, vmi_init_error_t *err, char *msg,
                        size_t msglen)
{
    char path[1024], *rec = NULL;
    size_t len = 0;

    bool hinted = mode == TVMI_CONFIG_NONE && hints_enabled(g);

    *vmi = NULL;
    msg[0] = '\0';
    /* vmi_init_complete in two steps: --pause comes before the OS layer
     * reads anything, and the hint record goes in between */
    if (vmi_init(vmi, g->file ? VMI_FILE : VMI_XEN, domain, flags, NULL, err) !=
        VMI_SUCCESS) {
        *vmi = NULL;
        snprintf(msg, msglen, "%s", tvmi_init_error_message());
        return EXIT_TARGET;
    }
    if (g->pause && vmi_pause_vm(*vmi) != VMI_SUCCESS) {
        snprintf(msg, msglen, "pausing it: %s", tvmi_last_error(*vmi));
        vmi_destroy(*vmi);
        *vmi = NULL;
        return EXIT_TARGET;
    }
    if (hinted && hints_path(*vmi, path, sizeof(path), false) &&
        (rec = read_record(path, &len)))
        tvmi_linux_set_hints(*vmi, rec, len);
    free(rec);
    if (vmi_init_os(*vmi, mode, config, err) == VMI_OS_UNKNOWN) {
        snprintf(msg, msglen, "%s", tvmi_last_error(*vmi));
        *err = VMI_INIT_ERROR_OS;
        vmi_destroy(*vmi);
        *vmi = NULL;
        return EXIT_TARGET;
    }
    if (hinted)
        store(*vmi);
    return EXIT_OK;
}
