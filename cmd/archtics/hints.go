package main

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"

	"archtics/ats"
	"archtics/pipeline/txlog"
	"archtics/stages/clone"
)

// hint says what to do about an error a user can fix from outside: missing
// credentials, a wrong bucket, an endpoint that does not answer. It returns
// "" when it has nothing better than the error itself.
func hint(err error) string {
	if errors.Is(err, txlog.ErrBatchSourceChanged) {
		return "this warehouse already holds a load of that batch from other input (another dump cut at the same instant, or a demo with another --seed); commits are never rewritten: " +
			"if the load in the warehouse is the bad one, archtics restore --stream <team>/clone --to 0 empties the clone and forgets it (an audited commit), then load the dump again; " +
			"otherwise load into a new warehouse (demo: a new --dir), or find out why the input changed"
	}
	if errors.Is(err, txlog.ErrRestoreFileGone) {
		return "restore can reach back only as far as the retention: vacuum deletes a retired file once it has passed. Pick a later --to (archtics log --stream <stream>), or restore --to 0 and load the data again"
	}
	if errors.Is(err, clone.ErrCloneExists) {
		return "each team has one clone: to start over from this dump, rerun load-dump with --replace (the old clone's files are retired in the same commit, and stay readable with --as-of until vacuum); " +
			"to load again a dump the clone once held, archtics restore --stream <team>/clone --to 0 first"
	}
	if errors.Is(err, txlog.ErrWatermarkBackwards) {
		return "a stream's watermark never goes back: this input is older than what the warehouse already holds; read the past with --as-of, " +
			"or, if the stream's watermark itself is wrong (a commit at a time in the future), repair it with archtics restore --stream <stream> --to <the seq before that commit> (see archtics log)"
	}
	if errors.Is(err, txlog.ErrNotOwner) {
		return "every table partition belongs to one stream (see docs/protocol.md): commit this data on the stream that owns it"
	}
	if errors.Is(err, txlog.ErrPartitionMismatch) {
		return "an object already stored under a content-addressed name has other bytes: it was damaged after upload; run archtics verify, and restore it from the source or a backup (partitions are never overwritten)"
	}
	if errors.Is(err, clone.ErrNoTimeZone) {
		return "Archtics writes every timestamp in the client's local time: pass --timezone with the client's IANA zone (the dump's manifest names it as \"timezone\")"
	}
	if errors.Is(err, clone.ErrNoClone) {
		return "the change pulls start from the dump's cutoff: load the team's dump first (archtics load-dump --dump <folder> --team <team>)"
	}
	var atsErr *ats.Error
	if errors.As(err, &atsErr) {
		switch {
		case atsErr.Status == 401 || atsErr.Status == 403:
			return "the change API refused the token: set " + sourceTokenEnv + " to the bearer token Ticketmaster issued for this client"
		case atsErr.Status == 0 && strings.Contains(atsErr.Error(), "connection refused"):
			return "the change API does not answer: check --source (or ARCHTICS_SOURCE_URL)"
		case atsErr.Status == 410:
			return "the source no longer serves that far back: the clone fell behind the source's retention; load a new dump with load-dump --replace"
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchBucket":
			return "the bucket does not exist: check the s3:// URL (--warehouse or ARCHTICS_WAREHOUSE, --dump, --out), or create the bucket"
		case "AccessDenied", "Forbidden":
			return "S3 refused access: the credentials in use need s3:GetObject, s3:PutObject and s3:ListBucket on the bucket"
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
			return "S3 rejected the credentials: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and refresh an expired session"
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "get credentials") || strings.Contains(msg, "no EC2 IMDS role found"):
		return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance role is attached"
	case strings.Contains(msg, "connection refused") && strings.Contains(msg, "operation error S3"):
		return "the S3 endpoint does not answer: check AWS_ENDPOINT_URL (for tests, ./localstack/start starts one)"
	}
	return ""
}
