package s3store

import (
	"errors"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// httpStatus is the HTTP status of a failed S3 call, or 0 if the call got
// no response.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// apiCode is the S3 error code of a failed call ("NoSuchKey", ...).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNoSuchKey reports whether err says the key does not exist. A HEAD
// response has no body, so its 404 carries no code.
func isNoSuchKey(err error) bool {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket":
		return false
	}
	return httpStatus(err) == http.StatusNotFound
}

// isPreconditionFailed reports whether a conditional write (If-None-Match:
// *) lost: the key exists (412), or another write of it is in progress
// (409 ConditionalRequestConflict).
func isPreconditionFailed(err error) bool {
	code := apiCode(err)
	return code == "PreconditionFailed" || code == "ConditionalRequestConflict" ||
		httpStatus(err) == http.StatusPreconditionFailed
}
