/* tinyvmi corpus guest: a process that does nothing but exist.
 *
 * Installed in the guest under several names (symlinks), so each instance
 * gets its own comm (the kernel takes comm from the executed path's basename).
 * When its name contains "threads" it also starts two extra threads, so the
 * thread group has three tasks. Other names give the truth states and owners
 * beyond "root, sleeping": "user" runs as uid/gid 4242, "stopped" stops
 * itself (T), "zombie" leaves an exited child it never reaps (Z). It never
 * exits. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define OTHER_ID 4242

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

	if (strstr(name, "user") && (setgid(OTHER_ID) != 0 || setuid(OTHER_ID) != 0))
		return 1;
	if (strstr(name, "stopped"))
		raise(SIGSTOP);
	if (strstr(name, "zombie") && fork() == 0)
		_exit(0);
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
