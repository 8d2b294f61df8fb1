/* tinyvmi corpus guest: plant a known string in heap memory and report where.
 *
 * Writes "TINYVMI-MARKER-<16 hex>" into a malloc'd buffer, looks up the
 * physical address backing it in /proc/self/pagemap (needs root), writes
 *   marker <pid> <user VA hex> <physical address hex> <string>
 * to the file named by argv[1] (atomically: temp file + rename), then sleeps
 * forever so the page stays mapped for the memory snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PREFIX "TINYVMI-MARKER-"
#define MARKER_LEN (sizeof(PREFIX) - 1 + 16)

static int die(const char *what)
{
	fprintf(stderr, "marker: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "/marker.txt";
	long page = sysconf(_SC_PAGESIZE);
	unsigned char rnd[8];
	char *buf, *s;
	uintptr_t va, off;
	uint64_t entry, pa;
	char tmp[256], line[256];
	int fd;

	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
		return die("/dev/urandom");
	close(fd);

	buf = malloc(8192);
	if (!buf)
		return die("malloc");
	memset(buf, 0, 8192);

	/* Keep the string inside one page so it is contiguous physically. */
	s = buf + 64;
	off = (uintptr_t)s % (uintptr_t)page;
	if (off + MARKER_LEN + 1 > (uintptr_t)page)
		s += page - off + 64;

	memcpy(s, PREFIX, sizeof(PREFIX) - 1);
	for (int i = 0; i < 8; i++)
		sprintf(s + sizeof(PREFIX) - 1 + 2 * i, "%02x", rnd[i]);
	s[MARKER_LEN] = '\0';
	mlockall(MCL_CURRENT | MCL_FUTURE); /* best effort: no swap anyway */

	va = (uintptr_t)s;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return die("/proc/self/pagemap");
	if (pread(fd, &entry, sizeof(entry), (off_t)(va / page) * 8) != sizeof(entry))
		return die("pagemap read");
	close(fd);
	if (!(entry & (1ULL << 63))) {
		fprintf(stderr, "marker: page not present\n");
		return 1;
	}
	if ((entry & ((1ULL << 55) - 1)) == 0) {
		fprintf(stderr, "marker: PFN hidden (not root?)\n");
		return 1;
	}
	pa = (entry & ((1ULL << 55) - 1)) * (uint64_t)page + va % page;

	snprintf(line, sizeof(line), "marker %d %lx %llx %s\n", (int)getpid(),
		 (unsigned long)va, (unsigned long long)pa, s);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		return die(tmp);
	close(fd);
	if (rename(tmp, out) != 0)
		return die("rename");
	memset(line, 0, sizeof(line)); /* fewer stray copies of the string */

	for (;;)
		pause();
}
