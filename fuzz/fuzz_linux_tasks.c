/*
 * libFuzzer target: the process list (tasks.c, the list walks of views.c)
 * on a real snapshot with corrupted memory; see views_harness.h.
 */
#include "views_harness.h"

static size_t tasks(vmi_instance_t vmi)
{
    tvmi_linux_task_t *t;
    size_t n = 0;
    int partial = 0;
    status_t rc = tvmi_linux_tasks(vmi, &t, &n, &partial);

    must_say_why(vmi, rc, partial);
    if (rc != VMI_SUCCESS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strnlen(t[i].comm, sizeof(t[i].comm)) == sizeof(t[i].comm) ||
            t[i].pid < 0 || t[i].tgid < 0 || t[i].pid >= LX_PID_LIMIT)
            __builtin_trap();
    free(t);
    return n;
}

FUZZ_VIEW("linux_tasks", tasks)
