#include "s3_xml.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

/* One pass over a document with expat: a stack of local element names and the text of the
 * element being read; each parser is an `end` callback (plus an optional `start`). */
typedef struct walk walk;
struct walk {
    XML_Parser p;
    const char *what;   /* "S3 ListObjectsV2 reply", for messages */
    sk_err *err;
    sk_rc rc;           /* the first failure; stops the parser */
    char *names[SK_S3_XML_MAX_DEPTH];
    int depth;
    char *text;
    size_t tlen, tcap;
    const char *want_root[2]; /* refuse any other root element (NULL: any) */
    sk_rc (*start)(walk *w, const char *name);
    sk_rc (*end)(walk *w, const char *name, const char *text);
    void *out;
};

static void walk_stop(walk *w, sk_rc rc)
{
    if (w->rc == SK_OK)
        w->rc = rc;
    XML_StopParser(w->p, XML_FALSE);
}

static sk_rc walk_oom(walk *w)
{
    sk_rc rc = sk_fail(w->err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    walk_stop(w, rc);
    return rc;
}

/* With namespace processing on, expat names are "uri|local": match on the local part. */
static const char *local_name(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

/* Name of the element `up` levels above the current one (0: the current), or "". */
static const char *walk_name(const walk *w, int up)
{
    int i = w->depth - 1 - up;
    return i >= 0 ? w->names[i] : "";
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    walk *w = ud;
    if (w->rc != SK_OK)
        return;
    const char *ln = local_name(name);
    if (w->depth >= SK_S3_XML_MAX_DEPTH) {
        walk_stop(w, sk_fail(w->err, SK_ERR_DEST, 0, "%s: elements nested deeper than %d levels", w->what,
                             SK_S3_XML_MAX_DEPTH));
        return;
    }
    if (w->depth == 0 && w->want_root[0] && strcmp(ln, w->want_root[0]) != 0 &&
        !(w->want_root[1] && strcmp(ln, w->want_root[1]) == 0)) {
        walk_stop(w, sk_fail(w->err, SK_ERR_DEST, 0, "%s: the root element is <%.100s>, not <%s>%s%s%s", w->what,
                             ln, w->want_root[0], w->want_root[1] ? " or <" : "",
                             w->want_root[1] ? w->want_root[1] : "", w->want_root[1] ? ">" : ""));
        return;
    }
    if (!(w->names[w->depth] = strdup(ln))) {
        walk_oom(w);
        return;
    }
    w->depth++;
    w->tlen = 0;
    sk_rc rc = w->start ? w->start(w, ln) : SK_OK;
    if (rc != SK_OK)
        walk_stop(w, rc);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    walk *w = ud;
    if (w->rc != SK_OK || w->depth == 0)
        return;
    if (w->text)
        w->text[w->tlen] = '\0';
    sk_rc rc = w->end ? w->end(w, walk_name(w, 0), w->text ? w->text : "") : SK_OK;
    w->depth--;
    free(w->names[w->depth]);
    w->names[w->depth] = NULL;
    w->tlen = 0;
    if (rc != SK_OK)
        walk_stop(w, rc);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    walk *w = ud;
    if (w->rc != SK_OK || len <= 0)
        return;
    size_t n = (size_t)len;
    if (w->tlen + n > SK_S3_XML_MAX_TEXT) {
        walk_stop(w, sk_fail(w->err, SK_ERR_DEST, 0, "%s: the text of <%s> is longer than %u bytes", w->what,
                             walk_name(w, 0), SK_S3_XML_MAX_TEXT));
        return;
    }
    if (w->tlen + n + 1 > w->tcap) {
        size_t nc = w->tcap ? w->tcap : 256;
        while (nc < w->tlen + n + 1)
            nc *= 2;
        char *t = realloc(w->text, nc);
        if (!t) {
            walk_oom(w);
            return;
        }
        w->text = t;
        w->tcap = nc;
    }
    memcpy(w->text + w->tlen, s, n);
    w->tlen += n;
}

/* S3 replies never carry a DTD; refusing one rules out entity expansion of any kind. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    walk *w = ud;
    if (w->rc == SK_OK)
        walk_stop(w, sk_fail(w->err, SK_ERR_DEST, 0, "%s: a DOCTYPE declaration (refused: S3 replies have none)",
                             w->what));
}

static sk_rc walk_run(walk *w, const char *buf, size_t len)
{
    w->p = XML_ParserCreateNS(NULL, '|');
    if (!w->p)
        return sk_fail(w->err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    XML_SetUserData(w->p, w);
    XML_SetElementHandler(w->p, on_start, on_end);
    XML_SetCharacterDataHandler(w->p, on_text);
    XML_SetStartDoctypeDeclHandler(w->p, on_doctype);
    if (!buf)
        len = 0;
    enum XML_Status st = XML_STATUS_OK;
    size_t off = 0;
    do { /* XML_Parse takes an int length */
        size_t n = len - off > (size_t)INT_MAX ? (size_t)INT_MAX : len - off;
        st = XML_Parse(w->p, buf ? buf + off : "", (int)n, off + n == len);
        off += n;
    } while (st == XML_STATUS_OK && off < len);
    sk_rc rc = w->rc;
    if (rc == SK_OK && st != XML_STATUS_OK) {
        enum XML_Error code = XML_GetErrorCode(w->p);
        if (code == XML_ERROR_NO_MEMORY)
            rc = sk_fail(w->err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        else
            rc = sk_fail(w->err, SK_ERR_DEST, 0, "%s is not well-formed XML (%zu bytes): %s at line %lu, column %lu",
                         w->what, len, XML_ErrorString(code), (unsigned long)XML_GetCurrentLineNumber(w->p),
                         (unsigned long)XML_GetCurrentColumnNumber(w->p));
    }
    for (int i = 0; i < w->depth; i++)
        free(w->names[i]);
    w->depth = 0;
    free(w->text);
    w->text = NULL;
    XML_ParserFree(w->p);
    w->p = NULL;
    return rc;
}

/* Replace *dst with a copy of text. */
static sk_rc set_str(walk *w, char **dst, const char *text)
{
    char *c = strdup(text);
    if (!c)
        return walk_oom(w);
    free(*dst);
    *dst = c;
    return SK_OK;
}

/* ---- Error ---------------------------------------------------------------------------------- */

static sk_rc error_end(walk *w, const char *name, const char *text)
{
    sk_s3_error_doc *d = w->out;
    if (w->depth != 2 || strcmp(walk_name(w, 1), "Error") != 0)
        return SK_OK;
    if (strcmp(name, "Code") == 0)
        return set_str(w, &d->code, text);
    if (strcmp(name, "Message") == 0)
        return set_str(w, &d->message, text);
    return SK_OK;
}

static sk_rc error_start(walk *w, const char *name)
{
    if (w->depth == 1 && strcmp(name, "Error") == 0)
        ((sk_s3_error_doc *)w->out)->is_error = 1;
    return SK_OK;
}

void sk_s3_error_doc_free(sk_s3_error_doc *doc)
{
    if (!doc)
        return;
    free(doc->code);
    free(doc->message);
    *doc = (sk_s3_error_doc){ 0 };
}

static sk_rc error_like(const char *buf, size_t len, sk_s3_error_doc *out, const char *what, const char *root2,
                        sk_err *err)
{
    *out = (sk_s3_error_doc){ 0 };
    walk w = { .what = what, .err = err, .start = error_start, .end = error_end, .out = out };
    if (root2) {
        w.want_root[0] = "Error";
        w.want_root[1] = root2;
    }
    sk_rc rc = walk_run(&w, buf, len);
    if (rc != SK_OK)
        sk_s3_error_doc_free(out);
    return rc;
}

sk_rc sk_s3_xml_error(const char *buf, size_t len, sk_s3_error_doc *out, sk_err *err)
{
    return error_like(buf, len, out, "the S3 error reply", NULL, err);
}

sk_rc sk_s3_xml_complete(const char *buf, size_t len, sk_s3_error_doc *out, sk_err *err)
{
    return error_like(buf, len, out, "the S3 CompleteMultipartUpload reply", "CompleteMultipartUploadResult", err);
}

/* ---- InitiateMultipartUploadResult ---------------------------------------------------------- */

static sk_rc initiate_end(walk *w, const char *name, const char *text)
{
    if (w->depth == 2 && strcmp(name, "UploadId") == 0)
        return set_str(w, (char **)w->out, text);
    return SK_OK;
}

sk_rc sk_s3_xml_initiate(const char *buf, size_t len, char **upload_id, sk_err *err)
{
    *upload_id = NULL;
    walk w = { .what = "the S3 CreateMultipartUpload reply", .err = err,
               .want_root = { "InitiateMultipartUploadResult", NULL }, .end = initiate_end, .out = upload_id };
    sk_rc rc = walk_run(&w, buf, len);
    if (rc == SK_OK && (!*upload_id || !**upload_id))
        rc = sk_fail(err, SK_ERR_DEST, 0, "%s has no UploadId", w.what);
    if (rc != SK_OK) {
        free(*upload_id);
        *upload_id = NULL;
    }
    return rc;
}

/* ---- ListBucketResult ----------------------------------------------------------------------- */

typedef struct list_ctx {
    sk_s3_list_page *page;
    size_t cap;
    sk_s3_list_entry cur;
    int in_contents;
} list_ctx;

int64_t sk_s3_parse_iso8601(const char *s)
{
    struct tm tm = { 0 };
    int y, mo, da, h, mi, se;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &da, &h, &mi, &se) != 6)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = da;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return (int64_t)timegm(&tm);
}

static uint64_t parse_u64(const char *s)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno || *end ? 0 : (uint64_t)v;
}

static sk_rc list_start(walk *w, const char *name)
{
    list_ctx *c = w->out;
    if (w->depth == 2 && strcmp(name, "Contents") == 0) {
        free(c->cur.key);
        c->cur = (sk_s3_list_entry){ 0 };
        c->in_contents = 1;
    }
    return SK_OK;
}

static sk_rc list_end(walk *w, const char *name, const char *text)
{
    list_ctx *c = w->out;
    sk_s3_list_page *pg = c->page;
    if (w->depth == 2) {
        if (strcmp(name, "IsTruncated") == 0)
            pg->truncated = strcmp(text, "true") == 0;
        else if (strcmp(name, "NextContinuationToken") == 0)
            return set_str(w, &pg->next_token, text);
        else if (strcmp(name, "Contents") == 0 && c->in_contents) {
            c->in_contents = 0;
            if (!c->cur.key) /* an entry without a key names nothing */
                return SK_OK;
            if (pg->n == c->cap) {
                size_t nc = c->cap ? c->cap * 2 : 64;
                sk_s3_list_entry *e = realloc(pg->entries, nc * sizeof *e);
                if (!e)
                    return walk_oom(w);
                pg->entries = e;
                c->cap = nc;
            }
            pg->entries[pg->n++] = c->cur;
            c->cur = (sk_s3_list_entry){ 0 };
        }
        return SK_OK;
    }
    if (w->depth == 3 && c->in_contents) {
        if (strcmp(name, "Key") == 0)
            return set_str(w, &c->cur.key, text);
        if (strcmp(name, "Size") == 0)
            c->cur.size = parse_u64(text);
        else if (strcmp(name, "LastModified") == 0)
            c->cur.mtime = sk_s3_parse_iso8601(text);
    }
    return SK_OK;
}

void sk_s3_list_page_free(sk_s3_list_page *page)
{
    if (!page)
        return;
    for (size_t i = 0; i < page->n; i++)
        free(page->entries[i].key);
    free(page->entries);
    free(page->next_token);
    *page = (sk_s3_list_page){ 0 };
}

sk_rc sk_s3_xml_list(const char *buf, size_t len, sk_s3_list_page *out, sk_err *err)
{
    *out = (sk_s3_list_page){ 0 };
    list_ctx c = { .page = out };
    walk w = { .what = "the S3 ListObjectsV2 reply", .err = err, .want_root = { "ListBucketResult", NULL },
               .start = list_start, .end = list_end, .out = &c };
    sk_rc rc = walk_run(&w, buf, len);
    free(c.cur.key);
    if (rc != SK_OK)
        sk_s3_list_page_free(out);
    return rc;
}

/* ---- DeleteResult --------------------------------------------------------------------------- */

typedef struct delete_ctx {
    sk_s3_delete_result *res;
    size_t cap;
} delete_ctx;

static sk_rc delete_start(walk *w, const char *name)
{
    delete_ctx *c = w->out;
    sk_s3_delete_result *r = c->res;
    if (w->depth != 2 || strcmp(name, "Error") != 0)
        return SK_OK;
    if (r->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        sk_s3_delete_error *e = realloc(r->errors, nc * sizeof *e);
        if (!e)
            return walk_oom(w);
        r->errors = e;
        c->cap = nc;
    }
    r->errors[r->n++] = (sk_s3_delete_error){ 0 };
    return SK_OK;
}

static sk_rc delete_end(walk *w, const char *name, const char *text)
{
    delete_ctx *c = w->out;
    if (w->depth != 3 || strcmp(walk_name(w, 1), "Error") != 0 || c->res->n == 0)
        return SK_OK;
    sk_s3_delete_error *e = &c->res->errors[c->res->n - 1];
    if (strcmp(name, "Key") == 0)
        return set_str(w, &e->key, text);
    if (strcmp(name, "Code") == 0)
        return set_str(w, &e->code, text);
    if (strcmp(name, "Message") == 0)
        return set_str(w, &e->message, text);
    return SK_OK;
}

void sk_s3_delete_result_free(sk_s3_delete_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++) {
        free(res->errors[i].key);
        free(res->errors[i].code);
        free(res->errors[i].message);
    }
    free(res->errors);
    *res = (sk_s3_delete_result){ 0 };
}

sk_rc sk_s3_xml_delete(const char *buf, size_t len, sk_s3_delete_result *out, sk_err *err)
{
    *out = (sk_s3_delete_result){ 0 };
    delete_ctx c = { .res = out };
    walk w = { .what = "the S3 DeleteObjects reply", .err = err, .want_root = { "DeleteResult", NULL },
               .start = delete_start, .end = delete_end, .out = &c };
    sk_rc rc = walk_run(&w, buf, len);
    if (rc != SK_OK)
        sk_s3_delete_result_free(out);
    return rc;
}
