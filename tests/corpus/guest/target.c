/* tinyvmi corpus guest: a process that does nothing but exist.
 *
 * Installed in the guest under several names (symlinks), so each instance
 * gets its own comm (the kernel takes comm from the executed path's basename).
 * When its name contains "threads" it also starts two extra threads, so the
 * thread group has three tasks. It never exits. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define EXTRA_THREADS 2

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? argv[0] : "";

	if (strstr(name, "threads")) {
		for (int i = 0; i < EXTRA_THREADS; i++) {
			pthread_t t;
			if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
				return 1;
		}
	}
	for (;;)
		pause();
}
