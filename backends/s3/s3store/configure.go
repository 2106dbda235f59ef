package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/plugins"
)

// Configure points the store at a bucket: it checks the settings (see the
// package documentation of command s3 for the keys; any other key is an
// error naming it), builds a client, and checks with HeadBucket that the
// bucket exists and the credentials may use it. Every error wraps
// plugins.ErrSettings and says what to fix.
func (s *Store) Configure(ctx context.Context, m map[string]string) error {
	st, err := parseSettings(m)
	if err != nil {
		return err
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(st.region),
		// Get verifies the sha256 of every object itself. Uploads need no
		// extra CRC per part either: over HTTPS, TLS protects them; over
		// plain HTTP the SDK signs each part's sha256, which the server
		// checks. (The CRCs cost a third of the throughput.)
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
	}
	if st.accessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(st.accessKeyID, st.secretAccessKey, st.sessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("%w: s3: loading the AWS configuration: %w", plugins.ErrSettings, err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w: s3: no usable AWS credentials: set the %q and %q settings, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials profile or an instance role: %w",
			plugins.ErrSettings, SettingAccessKeyID, SettingSecretAccessKey, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if st.endpoint != "" {
			o.BaseEndpoint = aws.String(st.endpoint)
		}
		o.UsePathStyle = st.pathStyle
	})
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(st.bucket)}); err != nil {
		return explainHeadBucket(st, err, errorCode(ctx, client, st.bucket))
	}
	s.target.Store(&target{client: client, bucket: st.bucket, prefix: st.prefix, endpoint: where(st)})
	return nil
}

// where names the server of the settings, for messages.
func where(st settings) string {
	if st.endpoint != "" {
		return st.endpoint
	}
	return "AWS S3 (" + st.region + ")"
}

// errorCode asks the server why the bucket is not usable. A HEAD response
// has no body, hence no S3 error code, and servers differ in the status
// they give (versitygw answers 404 to an unknown access key); a GET
// (ListObjectsV2 of one key) gets the code. It returns "" if it learns
// nothing.
func errorCode(ctx context.Context, client *s3.Client, bucket string) string {
	_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	return apiCode(err)
}

// explainHeadBucket turns a failed HeadBucket into a message that says
// what is wrong and what to do; code is the S3 error code of the same
// request made with a GET, if known.
func explainHeadBucket(st settings, err error, code string) error {
	at := where(st)
	var sendErr *smithyhttp.RequestSendError
	switch status := httpStatus(err); {
	case code == "InvalidAccessKeyId" || code == "XAdminUserNotFound": // the latter from versitygw
		return fmt.Errorf("%w: s3: %s does not know the access key id: check the %q setting (or AWS_ACCESS_KEY_ID and the AWS credential chain): %w",
			plugins.ErrSettings, at, SettingAccessKeyID, err)
	case code == "SignatureDoesNotMatch":
		return fmt.Errorf("%w: s3: %s rejects the request signature: the secret access key does not match the access key id; check the %q setting (or AWS_SECRET_ACCESS_KEY and the AWS credential chain): %w",
			plugins.ErrSettings, at, SettingSecretAccessKey, err)
	case code == "NoSuchBucket" || code == "" && status == http.StatusNotFound:
		return fmt.Errorf("%w: s3: bucket %q does not exist at %s: create it, or fix the %q setting: %w",
			plugins.ErrSettings, st.bucket, at, SettingBucket, err)
	case status == http.StatusForbidden:
		return fmt.Errorf("%w: s3: access to bucket %q at %s denied: check the credentials (%q/%q or the AWS credential chain) and that they may use the bucket: %w",
			plugins.ErrSettings, st.bucket, at, SettingAccessKeyID, SettingSecretAccessKey, err)
	case status == http.StatusMovedPermanently || status == http.StatusBadRequest && apiCode(err) == "AuthorizationHeaderMalformed":
		region := "another region"
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.Response != nil && re.Response.Header.Get("X-Amz-Bucket-Region") != "" {
			region = "region " + re.Response.Header.Get("X-Amz-Bucket-Region")
		}
		return fmt.Errorf("%w: s3: bucket %q is in %s, not %s: fix the %q setting: %w",
			plugins.ErrSettings, st.bucket, region, st.region, SettingRegion, err)
	case status != 0:
		return fmt.Errorf("%w: s3: checking bucket %q at %s: %w", plugins.ErrSettings, st.bucket, at, err)
	case errors.As(err, &sendErr):
		hint := "check the endpoint setting and that the server is running"
		if st.endpoint != "" && !st.pathStyle {
			hint += fmt.Sprintf(" (with a custom endpoint you may need %s=true)", SettingPathStyle)
		}
		return fmt.Errorf("%w: s3: cannot reach %s: %s: %w", plugins.ErrSettings, at, hint, err)
	default:
		return fmt.Errorf("%w: s3: checking bucket %q at %s: %w", plugins.ErrSettings, st.bucket, at, err)
	}
}
