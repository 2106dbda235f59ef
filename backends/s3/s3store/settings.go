package s3store

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/plugins"
)

// Setting keys accepted by Configure.
const (
	SettingBucket          = "bucket"
	SettingPrefix          = "prefix"
	SettingRegion          = "region"
	SettingEndpoint        = "endpoint"
	SettingPathStyle       = "path_style"
	SettingAccessKeyID     = "access_key_id"
	SettingSecretAccessKey = "secret_access_key"
	SettingSessionToken    = "session_token"
)

// DefaultRegion is the region used when the settings give none.
const DefaultRegion = "us-east-1"

// maxPrefixLength leaves room in a key for the digest keys of long names.
const maxPrefixLength = 512

var knownSettings = []string{
	SettingBucket, SettingPrefix, SettingRegion, SettingEndpoint, SettingPathStyle,
	SettingAccessKeyID, SettingSecretAccessKey, SettingSessionToken,
}

// settings are Configure's settings, checked.
type settings struct {
	bucket, prefix, region, endpoint           string
	pathStyle                                  bool
	accessKeyID, secretAccessKey, sessionToken string
}

// parseSettings checks the settings map; every error wraps
// plugins.ErrSettings and names the offending key.
func parseSettings(m map[string]string) (settings, error) {
	var unknown []string
	for k := range m {
		if !slices.Contains(knownSettings, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return settings{}, fmt.Errorf("%w: unknown s3 setting %s (known: %s)",
			plugins.ErrSettings, quoteAll(unknown), strings.Join(knownSettings, ", "))
	}
	st := settings{
		bucket:          m[SettingBucket],
		prefix:          strings.Trim(m[SettingPrefix], "/"),
		region:          m[SettingRegion],
		endpoint:        m[SettingEndpoint],
		accessKeyID:     m[SettingAccessKeyID],
		secretAccessKey: m[SettingSecretAccessKey],
		sessionToken:    m[SettingSessionToken],
	}
	if st.bucket == "" {
		return settings{}, fmt.Errorf("%w: s3 setting %q is required", plugins.ErrSettings, SettingBucket)
	}
	if st.prefix != "" {
		if err := plugins.ValidName(st.prefix); err != nil {
			return settings{}, fmt.Errorf("%w: s3 setting %q: %w", plugins.ErrSettings, SettingPrefix, err)
		}
		// Digest keys (prefix/.long~/SHA256) must fit in an S3 key.
		if len(st.prefix) > maxPrefixLength {
			return settings{}, fmt.Errorf("%w: s3 setting %q is %d bytes long; the limit is %d",
				plugins.ErrSettings, SettingPrefix, len(st.prefix), maxPrefixLength)
		}
	}
	if st.region == "" {
		st.region = DefaultRegion
	}
	if st.endpoint != "" {
		u, err := url.Parse(st.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return settings{}, fmt.Errorf("%w: s3 setting %q = %q: want a URL such as http://127.0.0.1:7070 or https://s3.example.com",
				plugins.ErrSettings, SettingEndpoint, st.endpoint)
		}
	}
	if v, ok := m[SettingPathStyle]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return settings{}, fmt.Errorf("%w: s3 setting %q = %q: want true or false", plugins.ErrSettings, SettingPathStyle, v)
		}
		st.pathStyle = b
	}
	if (st.accessKeyID == "") != (st.secretAccessKey == "") {
		return settings{}, fmt.Errorf("%w: s3 settings %q and %q go together: give both or neither (neither uses the default AWS credential chain)",
			plugins.ErrSettings, SettingAccessKeyID, SettingSecretAccessKey)
	}
	if st.sessionToken != "" && st.accessKeyID == "" {
		return settings{}, fmt.Errorf("%w: s3 setting %q needs %q and %q",
			plugins.ErrSettings, SettingSessionToken, SettingAccessKeyID, SettingSecretAccessKey)
	}
	return st, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
