# s3_smoke.r2rules.awk: check what a client sent to RGW against Cloudflare R2's rules, which RGW
# itself does not enforce (shared/research/s3-r2.md sections 3 and 5).
#
#   tests/servers/rgw.sh record DIR on        # radosgw logs every request's headers (debug_rgw 20)
#   ... run the client ...
#   awk -v from=LINE -f s3_smoke.r2rules.awk DIR/log/client.rgw.snapkeep.log
#
# Reads the request environment radosgw dumps at debug level 20 (one "KEY=value" line per header,
# grouped by thread, closed by "starting new request"), from line `from` on (default 1).
# Checks, for every request:
#   - x-amz-content-sha256 present, and never a STREAMING-* (aws-chunked) value;
#   - no Expect header with a value (R2 does not answer 100-continue);
#   - at most one x-amz-checksum-* header; no chunked Transfer-Encoding;
#   - Content-MD5 on every UploadPart and DeleteObjects;
# and, per multipart upload id: all parts but the last have the same size, the last is not larger.
# Prints "requests=N parts=N uploads=N deletes=N lists=N continued=N" and one "violation: ..." line
# per problem; exits 1 when there is one.
BEGIN { if (from == "") from = 1; bad = 0 }
NR < from { next }
{
    tid = $2
    if ($0 ~ / starting new request /) {
        if (tid in method) emit(tid)
        next
    }
    if ($3 != "20") next
    if ($4 !~ /^[A-Z][A-Z0-9_]*=/) next
    eq = index($4, "=")
    k = substr($4, 1, eq - 1)
    # the value is the rest of the line after "KEY=" (it may contain spaces)
    v = substr($0, index($0, $4) + eq)
    if (k == "REQUEST_METHOD") method[tid] = v
    else if (k == "REQUEST_URI") uri[tid] = v
    else if (k == "QUERY_STRING") query[tid] = v
    else if (k == "CONTENT_LENGTH") clen[tid] = v
    else if (k == "HTTP_X_AMZ_CONTENT_SHA256") sha[tid] = v
    else if (k == "HTTP_EXPECT") expect[tid] = v "."
    else if (k == "HTTP_CONTENT_MD5") md5[tid] = v
    else if (k == "HTTP_TRANSFER_ENCODING") te[tid] = v
    else if (k ~ /^HTTP_X_AMZ_CHECKSUM_/ && k != "HTTP_X_AMZ_CHECKSUM_ALGORITHM") nsum[tid]++
}
function violation(msg) { print "violation: " msg; bad++ }
function emit(t,    q, id, n, what) {
    requests++
    what = method[t] " " uri[t]
    if (!(t in sha)) violation(what ": no x-amz-content-sha256")
    else if (sha[t] ~ /^STREAMING-/) violation(what ": x-amz-content-sha256 " sha[t])
    if ((t in expect) && expect[t] != ".") violation(what ": Expect: " substr(expect[t], 1, length(expect[t]) - 1))
    if (nsum[t] > 1) violation(what ": " nsum[t] " x-amz-checksum-* headers")
    if ((t in te) && te[t] ~ /chunked/) violation(what ": Transfer-Encoding " te[t])
    q = query[t]
    if (method[t] == "PUT" && q ~ /(^|&)partNumber=/ && q ~ /(^|&)uploadId=/) {
        parts++
        n = q; sub(/.*(^|&)partNumber=/, "", n); sub(/&.*/, "", n)
        id = q; sub(/.*(^|&)uploadId=/, "", id); sub(/&.*/, "", id)
        if (!(id in seen)) { seen[id] = 1; uploads++ }
        size[id, n + 0] = clen[t] + 0
        if (n + 0 > last[id]) last[id] = n + 0
        if (!(t in md5)) violation(what ": UploadPart without Content-MD5")
    }
    if (method[t] == "POST" && q ~ /(^|&)delete=?(&|$)/) {
        deletes++
        if (!(t in md5)) violation(what ": DeleteObjects without Content-MD5")
    }
    if (method[t] == "GET" && q ~ /(^|&)list-type=2(&|$)/) {
        lists++
        if (q ~ /(^|&)continuation-token=/) continued++
    }
    delete method[t]; delete uri[t]; delete query[t]; delete clen[t]; delete sha[t]
    delete expect[t]; delete md5[t]; delete te[t]; delete nsum[t]
}
END {
    for (id in seen) {
        ref = -1
        for (i = 1; i < last[id]; i++) {
            if (!((id, i) in size)) { violation("upload " id ": part " i " missing"); continue }
            if (ref < 0) ref = size[id, i]
            else if (size[id, i] != ref) violation("upload " id ": part " i " has " size[id, i] " bytes, part 1 has " ref)
        }
        if (ref >= 0 && size[id, last[id]] > ref)
            violation("upload " id ": last part " last[id] " (" size[id, last[id]] " bytes) is larger than the others (" ref ")")
    }
    printf "requests=%d parts=%d uploads=%d deletes=%d lists=%d continued=%d\n", requests, parts, uploads, deletes, lists, continued
    exit bad ? 1 : 0
}
