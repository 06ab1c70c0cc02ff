/*
 * whrun-kind-teams: posts a message card to a Microsoft Teams incoming
 * webhook (a plugin shipped with whrun; protocol in whrun-kind.7.md).
 *
 * Target fields: `url` (http or https; usually a reference such as
 * ${env:TEAMS_WEBHOOK_URL}, since the URL is the credential), `format`
 * (`messagecard`, the legacy connector card, the default; or `adaptive`,
 * an Adaptive Card wrapped as Teams' incoming webhooks and Workflows
 * accept it: {"type": "message", "attachments": [...]}), `title`,
 * `theme_color` (6 hex digits, messagecard only), `tls_verify`,
 * `ca_file`.
 *
 * The card names the stage, the hook, the config commit and the message
 * id, and lists the payload's top-level facts (scalars, and the `name` of
 * objects that have one), at most 12.
 *
 * Outcomes, as whrun classifies HTTP: 2xx delivered; 408, 429, 5xx and
 * transport errors retry; other statuses failed, 410 gone. No redirects,
 * no proxy, the attempt bounded by the request's deadline. Unlike whrun's
 * own HTTP deliveries, link-local addresses are not refused here.
 */
#define _GNU_SOURCE
#include <time.h>

#include <curl/curl.h>

#include "kind.h"
#include "banned.h"

#define MAX_FACTS 12
#define BODY_MAX  4096

static const char schema[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    " \"title\": \"Microsoft Teams message card (MessageCard or Adaptive Card) to an incoming "
    "webhook\","
    " \"type\": \"object\", \"required\": [\"url\"],"
    " \"properties\": {"
    "  \"url\": {\"type\": \"string\", \"pattern\": "
    "\"^(https?://[^\\\\s]+|\\\\$\\\\{(env|file):[^}]+\\\\})$\","
    "           \"description\": \"the incoming webhook URL (http or https), or a reference to "
    "it\"},"
    "  \"format\": {\"enum\": [\"messagecard\", \"adaptive\"]},"
    "  \"title\": {\"type\": \"string\", \"maxLength\": 200},"
    "  \"theme_color\": {\"type\": \"string\", \"pattern\": \"^[0-9A-Fa-f]{6}$\"},"
    "  \"tls_verify\": {\"type\": \"boolean\"},"
    "  \"ca_file\": {\"type\": \"string\", \"minLength\": 1}"
    " },"
    " \"additionalProperties\": false}\n";

struct body {
	char data[BODY_MAX];
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t total = size * nmemb, room = sizeof(b->data) - 1 - b->len;
	size_t take = total < room ? total : room;

	memcpy(b->data + b->len, data, take);
	b->len += take;
	b->data[b->len] = '\0';
	return total;
}

/* name/value facts: stage, hook, commit, message id, then the payload's */
static json_t *facts_of(const json_t *req)
{
	const json_t *message = json_object_get(req, "message");
	const json_t *data = json_object_get(message, "data");
	const char *commit = json_string_value(json_object_get(req, "config_commit"));
	json_t *facts = json_array(), *v;
	const char *key;
	char text[256];

	json_array_append_new(facts, json_pack("{s:s, s:s?}", "name", "Stage", "value",
					       json_string_value(json_object_get(req, "type"))));
	json_array_append_new(
	    facts,
	    json_pack("{s:s, s:s?}", "name", "Hook", "value",
		      json_string_value(json_object_get(json_object_get(req, "hook"), "name"))));
	snprintf(text, sizeof(text), "%.12s", commit ? commit : "");
	json_array_append_new(facts, json_pack("{s:s, s:s}", "name", "Config", "value", text));
	json_array_append_new(facts,
			      json_pack("{s:s, s:s?}", "name", "Message", "value",
					json_string_value(json_object_get(req, "message_id"))));
	json_object_foreach((json_t *)data, key, v)
	{
		if (json_array_size(facts) >= MAX_FACTS)
			break;
		if (json_is_string(v))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof(text), "%g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(text, sizeof(text), "%s", json_is_true(v) ? "true" : "false");
		else if (json_is_string(json_object_get(v, "name")))
			snprintf(text, sizeof(text), "%s",
				 json_string_value(json_object_get(v, "name")));
		else
			continue;
		json_array_append_new(facts, json_pack("{s:s, s:s}", "name", key, "value", text));
	}
	return facts;
}

static json_t *card(const json_t *req, const char *format, const char *title, const char *color)
{
	json_t *facts = facts_of(req), *af, *f;
	size_t i;

	if (format && strcmp(format, "adaptive") == 0) {
		af = json_array();
		json_array_foreach(facts, i, f) json_array_append_new(
		    af, json_pack("{s:O, s:O}", "title", json_object_get(f, "name"), "value",
				  json_object_get(f, "value")));
		json_decref(facts);
		return json_pack("{s:s, s:[{s:s, s:n, s:{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, "
				 "s:b}, {s:s, s:o}]}}]}",
				 "type", "message", "attachments", "contentType",
				 "application/vnd.microsoft.card.adaptive", "contentUrl", "content",
				 "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
				 "type", "AdaptiveCard", "version", "1.4", "body", "type",
				 "TextBlock", "size", "Medium", "weight", "Bolder", "text", title,
				 "wrap", 1, "type", "FactSet", "facts", af);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:o}]}", "@type", "MessageCard",
			 "@context", "https://schema.org/extensions", "summary", title,
			 "themeColor", color, "title", title, "sections", "activityTitle", title,
			 "facts", facts);
}

static int deliver(void)
{
	json_t *req = kind_read_request(), *body = NULL, *tv;
	const char *url, *format, *color, *ca_file;
	char title[256], *text = NULL, errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct body response = {{0}, 0};
	CURL *curl = NULL;
	CURLcode res;
	long status = 0, timeout_ms;
	double deadline;
	int rc;

	if (!req)
		return 1;
	url = kind_target_string(req, "url");
	format = kind_target_string(req, "format");
	color = kind_target_string(req, "theme_color");
	ca_file = kind_target_string(req, "ca_file");
	tv = json_object_get(json_object_get(req, "target"), "tls_verify");
	if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
		rc = kind_result("failed", 0, "the target's url must be http or https");
		goto out;
	}
	if (kind_target_string(req, "title"))
		snprintf(title, sizeof(title), "%s", kind_target_string(req, "title"));
	else
		snprintf(title, sizeof(title), "%s: %s",
			 json_string_value(json_object_get(json_object_get(req, "hook"), "name")),
			 json_string_value(json_object_get(req, "type")));
	body = card(req, format, title, color ? color : "0076D7");
	if (!body || !(text = json_dumps(body, JSON_COMPACT))) {
		rc = kind_result("failed", 0, "cannot build the card");
		goto out;
	}

	deadline = json_number_value(json_object_get(req, "deadline"));
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		timeout_ms =
		    deadline > 0
			? (long)((deadline - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9)) *
				 1000.0)
			: 10000;
		if (timeout_ms < 1)
			timeout_ms = 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(curl = curl_easy_init())) {
		rc = kind_result("retry", 0, "cannot initialise libcurl");
		goto out;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "whrun-kind-teams/" WHRUN_VERSION);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
	if (json_is_false(tv)) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK) {
		int permanent = res == CURLE_UNSUPPORTED_PROTOCOL || res == CURLE_URL_MALFORMAT ||
				res == CURLE_SSL_CACERT_BADFILE;
		/* the URL holds the webhook's key: name the error, never the URL */
		rc = kind_result(permanent ? "failed" : "retry", (long)res, "%s",
				 errbuf[0] ? errbuf : curl_easy_strerror(res));
	} else if (status >= 200 && status <= 299) {
		rc = kind_result("delivered", status, "HTTP %ld %.200s", status, response.data);
	} else if (status == 410) {
		rc = kind_result("gone", status, "HTTP 410 %.200s", response.data);
	} else if (status == 408 || status == 429 || status >= 500) {
		rc = kind_result("retry", status, "HTTP %ld %.200s", status, response.data);
	} else {
		rc = kind_result("failed", status, "HTTP %ld %.200s", status, response.data);
	}
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	free(text);
	json_decref(body);
	json_decref(req);
	return rc;
}

int main(int argc, char **argv)
{
	return kind_main(argc, argv, "whrun-kind-teams", schema, deliver);
}
