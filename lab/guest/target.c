/*
 * lab-target: the one static program of the lab's target guest.
 *
 * It decides what to do by the name it was started under (argv[0]), like
 * busybox, but it is ours so that the names are ours too:
 *
 *   lab-init       the guest's pid 1 after the shell init has set things up:
 *                  waits a moment, takes the ground truth (tasks, modules,
 *                  kallsyms, uname, the kmsg marker...), prints it to the
 *                  console between markers, then reaps children forever.
 *   lab-tasks      prints the task table (for debugging by hand).
 *   anything else  (target-alpha, target-beta, target-gamma...) a named
 *                  long-running process: holds a recognisable string in its
 *                  memory and waits forever. A name ending in "gamma" also
 *                  starts two threads, named "<name>-t1" and "<name>-t2".
 *
 * Truth format on stdout (the console, hvc0, switched to raw mode):
 *   @@TRUTH-BEGIN v1
 *   @@FILE <name> <bytes>
 *   <bytes of content, always ending with a newline>
 *   @@END <name>
 *   @@FILE64 <name> <bytes>          (binary: base64, 76 columns)
 *   <base64 lines>
 *   @@END <name>
 *   ...
 *   @@TRUTH-END <number of files>
 * kallsyms comes as kallsyms.txt.gz (made by the init script) in a FILE64.
 *
 * tasks.tsv: one line per /proc/<pid>/task/<tid>: tid, tgid, ppid, comm,
 * tab-separated. comm is parsed from stat (between the first '(' and the LAST
 * ')'); bytes outside printable ASCII and backslash/tab are written \xNN.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			perror("realloc");
			exit(1);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof tmp)
		n = sizeof tmp - 1;
	buf_add(b, tmp, (size_t)n);
}

/* Whole file into b (files of /proc have no size: read until EOF). */
static int buf_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(b, tmp, (size_t)n);
	}
	close(fd);
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* One task line; returns 0 if the task vanished meanwhile. */
static int task_line(struct buf *out, const char *pid, const char *tid)
{
	char path[600];
	struct buf st = {0};
	snprintf(path, sizeof path, "/proc/%s/task/%s/stat", pid, tid);
	if (buf_file(&st, path) < 0 || st.len == 0) {
		free(st.p);
		return 0;
	}
	char *open_paren = strchr(st.p, '(');
	char *close_paren = strrchr(st.p, ')');
	if (!open_paren || !close_paren || close_paren < open_paren) {
		free(st.p);
		return 0;
	}
	/* After ") ": state, then ppid. */
	char state;
	long ppid;
	if (sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2) {
		free(st.p);
		return 0;
	}
	buf_printf(out, "%s\t%s\t%ld\t", tid, pid, ppid);
	for (char *c = open_paren + 1; c < close_paren; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x20 || u >= 0x7f || u == '\\')
			buf_printf(out, "\\x%02x", u);
		else
			buf_add(out, (const char *)&u, 1);
	}
	buf_add(out, "\n", 1);
	free(st.p);
	return 1;
}

/* The task table, without the calling process's own tasks if skip_self. */
static void tasks(struct buf *out, int skip_self)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char self[32];
	snprintf(self, sizeof self, "%d", (int)getpid());
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!is_number(e->d_name))
			continue;
		if (skip_self && !strcmp(e->d_name, self))
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/%s/task", e->d_name);
		DIR *t = opendir(path);
		struct dirent *te;
		if (!t)
			continue;
		while ((te = readdir(t)))
			if (is_number(te->d_name))
				task_line(out, e->d_name, te->d_name);
		closedir(t);
	}
	closedir(d);
}

/* Records of /dev/kmsg whose text contains needle ("prefix;text" lines). */
static void kmsg_lines(struct buf *out, const char *needle)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char rec[8192];
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		char *nl = strchr(rec, '\n');
		if (nl)
			*nl = 0; /* drop continuation lines (KEY=value) */
		if (strstr(rec, needle)) {
			buf_add(out, rec, strlen(rec));
			buf_add(out, "\n", 1);
		}
	}
	close(fd);
}

static void emit(const char *name, struct buf *b)
{
	struct buf hdr = {0};
	if (b->len == 0 || b->p[b->len - 1] != '\n')
		buf_add(b, "\n", 1);
	buf_printf(&hdr, "@@FILE %s %zu\n", name, b->len);
	write_all(1, hdr.p, hdr.len);
	write_all(1, b->p, b->len);
	hdr.len = 0;
	buf_printf(&hdr, "@@END %s\n", name);
	write_all(1, hdr.p, hdr.len);
	free(hdr.p);
}

/* FILE64: a (binary) file as base64 lines of 76 characters. */
static void emit64(const char *name, const char *path)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf in = {0}, out = {0}, hdr = {0};
	size_t i, col = 0;
	if (buf_file(&in, path) < 0)
		return;
	for (i = 0; i < in.len; i += 3) {
		unsigned char a = (unsigned char)in.p[i];
		unsigned char b = i + 1 < in.len ? (unsigned char)in.p[i + 1] : 0;
		unsigned char c = i + 2 < in.len ? (unsigned char)in.p[i + 2] : 0;
		char q[4];
		q[0] = tab[a >> 2];
		q[1] = tab[((a & 3) << 4) | (b >> 4)];
		q[2] = i + 1 < in.len ? tab[((b & 15) << 2) | (c >> 6)] : '=';
		q[3] = i + 2 < in.len ? tab[c & 63] : '=';
		buf_add(&out, q, 4);
		col += 4;
		if (col == 76) {
			buf_add(&out, "\n", 1);
			col = 0;
		}
	}
	if (col)
		buf_add(&out, "\n", 1);
	buf_printf(&hdr, "@@FILE64 %s %zu\n", name, in.len);
	write_all(1, hdr.p, hdr.len);
	write_all(1, out.p ? out.p : "", out.len);
	hdr.len = 0;
	buf_printf(&hdr, "@@END %s\n", name);
	write_all(1, hdr.p, hdr.len);
	free(in.p);
	free(out.p);
	free(hdr.p);
}

static __attribute__((noreturn)) void run_init(void)
{
	struct buf f[10] = {{0}};
	const char *names[10];
	int n = 0;
	struct utsname u;

	/* Let the named processes and threads settle. */
	sleep(1);

	names[n] = "tasks.tsv";
	tasks(&f[n++], 0);
	names[n] = "uname.txt";
	if (uname(&u) == 0)
		buf_printf(&f[n], "%s\n", u.release);
	n++;
	names[n] = "version.txt";
	buf_file(&f[n++], "/proc/version");
	names[n] = "cmdline.txt";
	buf_file(&f[n++], "/proc/cmdline");
	names[n] = "modules.txt";
	buf_file(&f[n++], "/proc/modules");
	names[n] = "kmsg.txt";
	kmsg_lines(&f[n++], "tinyvmi-lab");
	names[n] = "iomem.txt";
	buf_file(&f[n++], "/proc/iomem");

	/* Raw console: no \n -> \r\n, and bigger writes (faster under TCG). */
	struct termios tio;
	if (tcgetattr(1, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(1, TCSANOW, &tio);
	}
	write_all(1, "\n@@TRUTH-BEGIN v1\n", 18);
	for (int i = 0; i < n; i++)
		emit(names[i], &f[i]);
	/* The init script gzips kallsyms (8 MB of text on 6.12) beforehand:
	 * the guest's console moves some tens of KB/s under TCG. */
	int files = n;
	if (access("/truth/kallsyms.txt.gz", R_OK) == 0) {
		emit64("kallsyms.txt.gz", "/truth/kallsyms.txt.gz");
		files++;
	}
	char end[64];
	snprintf(end, sizeof end, "@@TRUTH-END %d\n", files);
	write_all(1, end, strlen(end));
	for (int i = 0; i < n; i++)
		free(f[i].p);

	/* pid 1 must never exit: reap orphans forever. */
	for (;;) {
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
			pause();
	}
}

static char *marker; /* a recognisable string in each process's heap */

static void *worker(void *arg)
{
	prctl(PR_SET_NAME, (unsigned long)arg, 0, 0, 0);
	for (;;)
		pause();
	return NULL;
}

/* One line into the kernel log, where dom0 reads it with tinyvmi dmesg. */
static void kmsg(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (write(fd, line, strlen(line)) < 0)
		perror("kmsg");
	close(fd);
}

static __attribute__((noreturn)) void run_named(const char *name)
{
	size_t len = strlen(name);
	char seen[128];
	marker = malloc(128);
	if (marker) {
		snprintf(marker, 128, "tinyvmi-lab-marker:%s:%d", name, (int)getpid());
		snprintf(seen, sizeof seen, "%s", marker);
		/* where dom0 may write (tests/lab/checks.sh: the guest sees it) */
		kmsg("tinyvmi-lab: %s pid %d marker at %p", name, (int)getpid(), (void *)marker);
	}
	if (len >= 5 && !strcmp(name + len - 5, "gamma")) {
		static char n1[16], n2[16];
		pthread_t t;
		/* Thread names are at most 15 bytes. */
		snprintf(n1, sizeof n1, "%.12s-t1", name);
		snprintf(n2, sizeof n2, "%.12s-t2", name);
		pthread_create(&t, NULL, worker, n1);
		pthread_create(&t, NULL, worker, n2);
	}
	for (;;) {
		sleep(1);
		if (marker && strncmp(marker, seen, sizeof seen)) {
			snprintf(seen, sizeof seen, "%.100s", marker);
			kmsg("tinyvmi-lab: %s sees its marker changed to '%s'", name, seen);
		}
	}
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 ? argv[0] : "lab-target";
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	if (!strcmp(name, "lab-init"))
		run_init();
	if (!strcmp(name, "lab-tasks")) {
		struct buf b = {0};
		tasks(&b, 1);
		write_all(1, b.p ? b.p : "", b.len);
		return 0;
	}
	run_named(name);
}
