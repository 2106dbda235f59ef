package s3test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"
)

// TestMain checks that servers are reaped and nothing keeps running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesS3(t *testing.T) {
	srv := Start(t)
	srv.CreateBucket(t, "snapshots")
	if fi, err := os.Stat(filepath.Join(srv.Dir, "snapshots")); err != nil || !fi.IsDir() {
		t.Fatalf("bucket directory: %v", err)
	}

	ctx := context.Background()
	c := srv.Client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("snapshots"), Key: aws.String("a/b"),
		Body: bytes.NewReader([]byte("hello")),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(srv.Dir, "snapshots", "a", "b"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("object file = %q, %v; want hello", got, err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("snapshots"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || string(body) != "hello" {
		t.Fatalf("GetObject = %q, %v", body, err)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	srv := Start(t)
	srv.CreateBucket(t, "bucket")
	bad := *srv
	bad.SecretKey = "not-the-secret"
	_, err := bad.Client().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("bucket")})
	if err == nil {
		t.Fatal("HeadBucket with a wrong secret succeeded")
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint == b.Endpoint || a.Dir == b.Dir || a.SecretKey == b.SecretKey {
		t.Fatalf("servers share an endpoint, directory or secret: %+v %+v", a, b)
	}
}

func TestKill(t *testing.T) {
	srv := Start(t)
	srv.Kill(t)
	srv.Kill(t) // idempotent
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(srv.Endpoint + healthPath); err == nil {
		resp.Body.Close()
		t.Fatalf("server answers after Kill: %s", resp.Status)
	}
	if srv.proc.cmd.ProcessState == nil {
		t.Fatal("killed server was not reaped")
	}
}

// TestCleanupRemovesDir checks a finished test leaves no process and no
// directory behind.
func TestCleanupRemovesDir(t *testing.T) {
	var srv *Server
	t.Run("inner", func(t *testing.T) {
		srv = Start(t)
		srv.CreateBucket(t, "bucket")
	})
	if _, err := os.Stat(srv.Dir); !os.IsNotExist(err) {
		t.Fatalf("posix directory %s survives the test: %v", srv.Dir, err)
	}
	if srv.proc.cmd.ProcessState == nil {
		t.Fatal("server was not reaped at the end of its test")
	}
}

func TestMissingBinarySaysMakeTools(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "versitygw"))
	msg := fatalMessage(t, func(tb testing.TB) { Start(tb) })
	if !strings.Contains(msg, "make tools") || !strings.Contains(msg, "not found") {
		t.Fatalf("message %q does not say the binary is missing and to run make tools", msg)
	}
}

// fatalTB records the message of a Fatalf and stops its goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalMessage runs fn and returns the message it failed the test with.
func fatalMessage(t *testing.T, fn func(testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	if f.msg == "" {
		t.Fatal("expected the test to be failed")
	}
	return f.msg
}
