/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "key-file.h"

int gm_cli_read_key(const char *cmd, const char *path, uint8_t key[GM_SNAPSHOT_KEY_SIZE])
{
	uint8_t buf[GM_SNAPSHOT_KEY_SIZE + 1];
	size_t len = 0;
	ssize_t n = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		gm_cli_error(cmd, "cannot read the key file '%s': %s", path, strerror(errno));
		return GM_STATUS_USAGE;
	}
	/* One byte more than a key: a longer file is not a key either. */
	while (len < sizeof(buf) && n > 0) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	if (n < 0 || len != GM_SNAPSHOT_KEY_SIZE) {
		explicit_bzero(buf, sizeof(buf));
		if (n < 0)
			gm_cli_error(cmd, "cannot read the key file '%s': %s", path, strerror(errno));
		else if (len > GM_SNAPSHOT_KEY_SIZE)
			gm_cli_error(cmd, "the key file '%s' holds more than %d bytes: a key is "
				     "exactly %d", path, GM_SNAPSHOT_KEY_SIZE, GM_SNAPSHOT_KEY_SIZE);
		else
			gm_cli_error(cmd, "the key file '%s' holds %zu bytes: a key is exactly %d",
				     path, len, GM_SNAPSHOT_KEY_SIZE);
		return GM_STATUS_USAGE;
	}
	memcpy(key, buf, GM_SNAPSHOT_KEY_SIZE);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
