/*
 * vmi_init_complete's choice of driver: a name that is a file (it exists,
 * or it is a path) is a snapshot, and when the snapshot does not open,
 * that is the error reported and no hypervisor is asked about a domain of
 * that name. Only a name that is no file may be a Xen domain.
 *
 * The fake Xen (xen_fake.h) runs a domain named exactly like the file, so
 * a Xen driver that is asked opens it: the test sees that as domctls and
 * as an error about the domain's OS instead of the file's. Skips itself
 * when the Xen driver is not built (no libxen-dev).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<xenforeignmemory.h>) && __has_include(<xenstore.h>)

#include "xen_fake.h"

#include <cmocka.h>

extern const struct tvmi_driver_ops tvmi_driver_xen __attribute__((weak));

static char dir[64];

static int setup(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* A file that is no snapshot: an ELF header cut short. */
static void write_bad_elf(const char *path)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    fwrite("\177ELF\002\001\001", 1, 7, f);
    fclose(f);
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' lacks '%s'", text, part);
}

/* vmi_init_complete on name, with the fake domain called name too. */
static status_t open_named(const char *name, vmi_init_error_t *err)
{
    vmi_instance_t vmi = NULL;
    status_t rc;

    assert_true(strlen(name) < sizeof(fx->name));
    snprintf(fx->name, sizeof(fx->name), "%s", name);
    rc = vmi_init_complete(&vmi, name, VMI_INIT_DOMAINNAME, NULL,
                           TVMI_CONFIG_NONE, NULL, err);
    if (rc == VMI_SUCCESS)
        vmi_destroy(vmi);
    return rc;
}

/* The control: a plain name goes to Xen, which the fake counts. */
static void test_domain_name_goes_to_xen(void **state)
{
    vmi_init_error_t err;

    (void)state;
    assert_int_equal(open_named("target", &err), VMI_FAILURE);
    assert_true(fx->domctls > 0);
    assert_int_equal(err, VMI_INIT_ERROR_OS); /* the fake runs no Linux */
}

static void test_bad_file_by_path(void **state)
{
    char path[128];
    vmi_init_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/bad.elf", dir);
    write_bad_elf(path);
    assert_int_equal(open_named(path, &err), VMI_FAILURE);
    assert_int_equal(fx->domctls, 0);
    assert_int_equal(err, VMI_INIT_ERROR_DRIVER);
    assert_has(tvmi_init_error_message(), path);
    assert_has(tvmi_init_error_message(), "ELF core");
    remove(path);
}

/* No '/': it is a file because the snapshot driver found one. */
static void test_bad_file_by_bare_name(void **state)
{
    vmi_init_error_t err;

    (void)state;
    assert_int_equal(chdir(dir), 0);
    write_bad_elf("bad.elf");
    assert_int_equal(open_named("bad.elf", &err), VMI_FAILURE);
    assert_int_equal(fx->domctls, 0);
    assert_int_equal(err, VMI_INIT_ERROR_DRIVER);
    assert_has(tvmi_init_error_message(), "bad.elf: ELF core");
    remove("bad.elf");
}

static void test_missing_path(void **state)
{
    char path[128];
    vmi_init_error_t err;

    (void)state;
    snprintf(path, sizeof(path), "%s/none.elf", dir);
    assert_int_equal(open_named(path, &err), VMI_FAILURE);
    assert_int_equal(fx->domctls, 0);
    assert_int_equal(err, VMI_INIT_ERROR_VM_NOT_FOUND);
    assert_has(tvmi_init_error_message(), "No such file");
}

/* A bare name that is no file may be a domain: Xen is asked, and a
 * domain of that name is opened. */
static void test_missing_bare_name_may_be_a_domain(void **state)
{
    vmi_init_error_t err;

    (void)state;
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(open_named("none.elf", &err), VMI_FAILURE);
    assert_true(fx->domctls > 0);
    assert_int_equal(err, VMI_INIT_ERROR_OS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_domain_name_goes_to_xen, setup),
        cmocka_unit_test_setup(test_bad_file_by_path, setup),
        cmocka_unit_test_setup(test_bad_file_by_bare_name, setup),
        cmocka_unit_test_setup(test_missing_path, setup),
        cmocka_unit_test_setup(test_missing_bare_name_may_be_a_domain, setup),
    };
    int rc;

    (void)fake_peek; /* xen_fake.h's; nothing is read here */
    if (!&tvmi_driver_xen) {
        printf("test_init_complete: the Xen driver is not built in; skipped\n");
        return 0;
    }
    snprintf(dir, sizeof(dir), "/tmp/tvmi-icXXXXXX");
    if (!mkdtemp(dir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}

#else

int main(void)
{
    printf("test_init_complete: no Xen headers (libxen-dev); skipped\n");
    return 0;
}

#endif
