/* secret: resolving credential references (see secret.h). */
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "util.h"
#include "banned.h"

int wh_secret_resolve(char **out, const char *reference, struct wh_error *err)
{
	size_t len = strlen(reference);
	char name[512];
	int error = 0;

	*out = NULL;
	if (len < 4 || reference[0] != '$' || reference[1] != '{' || reference[len - 1] != '}' ||
	    len - 3 >= sizeof(name))
		return wh_error_set(err, WH_ECONFIG, "malformed secret reference");
	memcpy(name, reference + 2, len - 3);
	name[len - 3] = '\0';

	if (strncmp(name, "env:", 4) == 0) {
		const char *value = getenv(name + 4);
		if (!value || !*value)
			return wh_error_set(err, WH_ECONFIG,
					    "environment variable %s is not set (referenced as "
					    "${env:%s})",
					    name + 4, name + 4);
		*out = strdup(value);
	} else if (strncmp(name, "file:", 5) == 0) {
		size_t size = 0;
		struct wh_error read_err = WH_ERROR_INIT;

		if (wh_read_file(out, &size, name + 5, WH_SECRET_FILE_MAX, &read_err) < 0)
			return wh_error_set(err, WH_ECONFIG, "cannot read secret file: %s",
					    read_err.message);
		while (size > 0 && ((*out)[size - 1] == '\n' || (*out)[size - 1] == '\r'))
			(*out)[--size] = '\0';
		if (strlen(*out) != size || size == 0) {
			wh_free_secret(*out);
			*out = NULL;
			return wh_error_set(err, WH_ECONFIG,
					    "secret file %s is empty or holds a NUL byte",
					    name + 5);
		}
	} else {
		return wh_error_set(err, WH_ECONFIG, "unknown secret reference '%s'", reference);
	}
	if (!*out)
		error = wh_error_set(err, WH_ENOMEM, "out of memory");
	return error;
}

int wh_secret_expand(char **out, char **masked, const char *text, struct wh_error *err)
{
	struct wh_buf value = WH_BUF_INIT(1 << 20), shown = WH_BUF_INIT(1 << 20);
	const char *p = text;
	int error = 0;

	*out = NULL;
	if (masked)
		*masked = NULL;
	for (;;) {
		const char *start = strstr(p, "${");
		const char *end = start ? strchr(start, '}') : NULL;
		char ref[600], *secret = NULL;
		size_t len;

		if (!start || !end) {
			if ((error = wh_buf_adds(&value, p)) < 0 ||
			    (error = wh_buf_adds(&shown, p)) < 0)
				goto nomem;
			break;
		}
		if ((error = wh_buf_add(&value, p, (size_t)(start - p))) < 0 ||
		    (error = wh_buf_add(&shown, p, (size_t)(start - p))) < 0)
			goto nomem;
		len = (size_t)(end - start + 1);
		if (len >= sizeof(ref)) {
			error = wh_error_set(err, WH_ECONFIG, "secret reference too long");
			goto out;
		}
		memcpy(ref, start, len);
		ref[len] = '\0';
		if ((error = wh_secret_resolve(&secret, ref, err)) < 0)
			goto out;
		if (strpbrk(secret, "\r\n")) {
			wh_free_secret(secret);
			error = wh_error_set(err, WH_ECONFIG,
					     "the value of %s contains CR or LF (header injection)",
					     ref);
			goto out;
		}
		error = wh_buf_adds(&value, secret);
		wh_free_secret(secret);
		if (error < 0 || (error = wh_buf_adds(&shown, "***")) < 0)
			goto nomem;
		p = end + 1;
	}
	*out = wh_buf_detach(&value);
	if (masked)
		*masked = wh_buf_detach(&shown);
	goto out;
nomem:
	error = wh_error_set(err, WH_ENOMEM, "out of memory expanding a header value");
out:
	if (value.ptr)
		wh_wipe(value.ptr, value.len);
	wh_buf_release(&value);
	wh_buf_release(&shown);
	return error;
}
