/*
 * fuzz_pb_json: what the PocketBase engine reads from a server's JSON replies (pb_resp_message,
 * pb_resp_string, pb_resp_field_code, pb_resp_describe: error descriptions, tokens, field codes),
 * and the entry-name check applied to a backup zip (pb_zip_name_unsafe).
 * Input: two bytes of HTTP status, then the reply body.
 * Properties: outputs are NUL-terminated within their buffers; a description holds only printable
 * ASCII from the server (it goes into log lines); a name judged safe has no "..", '\' or leading '/'.
 */
#include "fuzz.h"

#include "../../engines/pocketbase/pb_http.h"
#include "../../engines/pocketbase/pb_zip.h"

static void bounded(const char *out, size_t outsz, const char *what)
{
    FUZZ_CHECK(memchr(out, 0, outsz) != NULL, "%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pb_resp r; /* 64 KiB: not on the stack */
    long status = (long)fuzz_take(&data, &size, 2) % 600;
    if (size > PB_BODY_MAX)
        return 0;
    memset(&r, 0, sizeof r);
    r.status = status;
    memcpy(r.body, data, size);
    r.body[size] = '\0';
    r.len = size;
    if (!status)
        snprintf(r.curl_msg, sizeof r.curl_msg, "Couldn't connect to server");

    char small[8], out[512];
    pb_resp_message(&r, out, sizeof out);
    bounded(out, sizeof out, "message");
    pb_resp_message(&r, small, sizeof small);
    bounded(small, sizeof small, "message (small)");
    static const char *const names[] = { "token", "key", "size", "modified", "canBackup", "" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pb_resp_string(&r, names[i], out, sizeof out);
        bounded(out, sizeof out, names[i]);
        pb_resp_field_code(&r, names[i], small, sizeof small);
        bounded(small, sizeof small, "field code");
    }
    pb_resp_describe(&r, out, sizeof out);
    bounded(out, sizeof out, "description");
    if (status) /* "no reply (...)" quotes our own curl message */
        for (const char *p = out; *p; p++)
            FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                       "description holds byte 0x%02x: %s", (unsigned char)*p, out);
    pb_resp_describe(&r, small, sizeof small);
    bounded(small, sizeof small, "description (small)");

    /* entry names as a zip would list them */
    char *name = fuzz_cstr(data, size);
    if (!pb_zip_name_unsafe(name)) {
        FUZZ_CHECK(name[0] && name[0] != '/' && !strchr(name, '\\'), "'%s' judged safe", name);
        FUZZ_CHECK(strcmp(name, "..") && strncmp(name, "../", 3) && !strstr(name, "/../") &&
                       !(strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0),
                   "'%s' judged safe", name);
    }
    free(name);
    return 0;
}
