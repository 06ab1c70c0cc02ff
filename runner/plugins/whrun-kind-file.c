/*
 * whrun-kind-file: appends each message as one JSON line to a file, for
 * audit trails and tests (a plugin shipped with whrun; protocol in
 * whrun-kind.7.md).
 *
 * The target names the file with `path: /abs/file` or `url:
 * file:///abs/file` (no host, no query). The line is the message's
 * envelope, compact, then "\n", written with O_APPEND under an exclusive
 * flock, so parallel whrun processes never interleave lines, and synced
 * (fdatasync) before `delivered` is printed. The file is created with
 * mode 0600 (or `mode`, octal), its directory must exist.
 *
 * Outcomes: delivered; failed when the file cannot be opened for a reason
 * another try will not fix (permissions, missing directory, a directory,
 * read-only file system); retry for the rest (no space, I/O errors).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>

#include <sys/file.h>
#include <sys/stat.h>

#include "kind.h"
#include "banned.h"

static const char schema[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    " \"title\": \"Appends each message as one JSON line to a file (flock'ed)\","
    " \"type\": \"object\","
    " \"properties\": {"
    "  \"path\": {\"type\": \"string\", \"pattern\": \"^/\", \"description\": \"absolute path of "
    "the file\"},"
    "  \"url\": {\"type\": \"string\", \"pattern\": \"^file:///[^?#]*$\", \"description\": "
    "\"file:///abs/path, the same as path\"},"
    "  \"mode\": {\"type\": \"string\", \"pattern\": \"^0?[0-7]{3}$\", \"description\": \"octal "
    "mode when the file is created (default 0600)\"}"
    " },"
    " \"oneOf\": [{\"required\": [\"path\"]}, {\"required\": [\"url\"]}],"
    " \"additionalProperties\": false}\n";

static int permanent(int e)
{
	return e == EACCES || e == EPERM || e == ENOENT || e == ENOTDIR || e == EISDIR ||
	       e == EROFS || e == ELOOP || e == ENAMETOOLONG;
}

static int deliver(void)
{
	json_t *req = kind_read_request(), *message;
	const char *path, *url, *mode_text;
	char *line = NULL;
	size_t len, done = 0;
	mode_t mode = 0600;
	int fd = -1, rc;

	if (!req)
		return 1;
	path = kind_target_string(req, "path");
	url = kind_target_string(req, "url");
	mode_text = kind_target_string(req, "mode");
	if (!path && url && strncmp(url, "file://", 7) == 0)
		path = url + 7;
	if (!path || path[0] != '/') {
		rc = kind_result("failed", 0,
				 "the target names no absolute path (path: or url: file:///...)");
		goto out;
	}
	if (mode_text)
		mode = (mode_t)strtol(mode_text, NULL, 8);
	message = json_object_get(req, "message");
	if (!message || !(line = json_dumps(message, JSON_COMPACT | JSON_ENCODE_ANY))) {
		rc = kind_result("failed", 0, "the request holds no message");
		goto out;
	}
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps' NUL becomes the newline; nothing reads past len */

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		rc = kind_result(permanent(errno) ? "failed" : "retry", errno, "open %s: %s", path,
				 strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = kind_result("retry", errno, "flock %s: %s", path, strerror(errno));
			goto out;
		}
	}
	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kind_result("retry", errno, "write %s: %s (after %zu of %zu bytes)",
					 path, strerror(errno), done, len);
			goto out;
		}
		done += (size_t)n;
	}
	if (fdatasync(fd) < 0) {
		rc = kind_result("retry", errno, "fdatasync %s: %s", path, strerror(errno));
		goto out;
	}
	rc = kind_result("delivered", 0, "appended %zu bytes to %s", len, path);
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	free(line);
	json_decref(req);
	return rc;
}

int main(int argc, char **argv)
{
	return kind_main(argc, argv, "whrun-kind-file", schema, deliver);
}
