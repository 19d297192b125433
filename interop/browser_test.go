//go:build browser

// The browser test needs headless Chromium and the npm packages of
// tools/web; `make browser` installs both and runs it.

package interop_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// webToolsEnv names the folder where tools/web's npm packages are
// installed (make browser sets it).
const webToolsEnv = "H2RPC_WEB_TOOLS"

// detailsService is the interop service, except that a UnaryCall whose
// response_status says "with details" ends with that status and an
// EchoStatus detail, so the page can check error details.
type detailsService struct{ pb.TestServiceServer }

func (s detailsService) UnaryCall(ctx context.Context, req *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	if rs := req.GetResponseStatus(); rs.GetMessage() == "with details" {
		st, err := status.New(codes.Code(rs.GetCode()), rs.GetMessage()).WithDetails(&pb.EchoStatus{Code: 7, Message: "detail"})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return s.TestServiceServer.UnaryCall(ctx, req)
}

// descriptorSet is the base64 FileDescriptorSet of grpc.testing, its
// dependencies first, for the page's protobuf registry.
func descriptorSet(t *testing.T) string {
	var set descriptorpb.FileDescriptorSet
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(pb.File_interop_grpc_testing_test_proto)
	b, err := proto.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// bundle builds the page's script with esbuild from tools/web.
func bundle(t *testing.T) []byte {
	tools := os.Getenv(webToolsEnv)
	if tools == "" {
		t.Fatalf("%s is not set: run the browser test with make browser, which installs its npm packages", webToolsEnv)
	}
	tools, _ = filepath.Abs(tools)
	out := filepath.Join(t.TempDir(), "bundle.js")
	cmd := exec.Command(filepath.Join(tools, "node_modules", ".bin", "esbuild"), "testdata/browser/page.js",
		"--bundle", "--format=iife", "--target=es2020", "--log-level=warning", "--outfile="+out)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(tools, "node_modules"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>h2rpc gRPC-Web browser test</title></head>
<body><h1>h2rpc gRPC-Web browser test</h1>
<script id="config" type="application/json">{{.}}</script>
<script src="/bundle.js"></script>
</body></html>
`))

// pageHandler is the fallback handler of the server under test: the page,
// its script, and /report, whose body it sends on reports.
func pageHandler(t *testing.T, js []byte, config map[string]string, reports chan<- []byte) http.Handler {
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		pageTemplate.Execute(w, template.JS(cfg)) // JSON from json.Marshal, which escapes <, > and &
	})
	mux.HandleFunc("GET /bundle.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(js)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case reports <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux
}

// browserReport is what the page posts.
type browserReport struct {
	Connect map[string]string `json:"connect"`
	GRPCWeb map[string]string `json:"grpcweb"`
	Fatal   string            `json:"fatal"`
}

// TestBrowser loads a page from the fallback handler of a server in
// headless Chromium; the page calls the same server with gRPC-Web through
// connect-web (binary) and grpc-web's runtime (text): unary, server
// streaming, an error with details, metadata both ways, a deadline. Over
// h2c the browser speaks HTTP/1.1; over TLS, HTTP/2.
func TestBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium is needed (make browser installs Debian's chromium): %v", err)
	}
	js := bundle(t)
	descriptors := descriptorSet(t)
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "http (HTTP/1.1)", true: "https (HTTP/2)"}[useTLS]
		t.Run(name, func(t *testing.T) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + lis.Addr().String()
			opts := []stub.ServerOption{}
			if useTLS {
				base = "https://" + lis.Addr().String()
				cert := interop.TestServerCertificate()
				opts = append(opts, stub.Creds(credentials.NewServerTLSFromCert(&cert)))
			}
			reports := make(chan []byte, 1)
			var mu sync.Mutex
			agents := map[string]bool{} // x-user-agent of the unary calls: which clients came
			opts = append(opts,
				stub.UnaryInterceptor(func(ctx context.Context, req any, _ *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
					md, _ := metadata.FromIncomingContext(ctx)
					for _, a := range md.Get("x-user-agent") {
						mu.Lock()
						agents[strings.Fields(a)[0]] = true
						mu.Unlock()
					}
					return h(ctx, req)
				}),
				stub.WithGRPCWeb(stub.WebOptions{}),
				stub.WithHTTPHandler(pageHandler(t, js, map[string]string{"baseUrl": base, "descriptors": descriptors}, reports)))
			srv := stub.NewServer(opts...)
			pb.RegisterTestServiceServer(srv, detailsService{interop.NewTestServer()})
			served := make(chan error, 1)
			go func() { served <- srv.Serve(lis) }()
			defer func() {
				srv.Stop()
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
			}()

			got := runChromium(t, chromium, base+"/", useTLS, reports)
			checkReport(t, got)
			mu.Lock()
			defer mu.Unlock()
			if len(agents) != 2 || !agents["grpc-web-javascript/0.1"] || !hasPrefixKey(agents, "connect-es/") {
				t.Errorf("the unary calls came from %v; want connect-es and grpc-web-javascript", agents)
			}
		})
	}
}

// reportTimeout bounds the wait for the page's report.
const reportTimeout = 30 * time.Second

// runChromium opens url in headless Chromium and returns what the page
// reports, failing after reportTimeout without a report.
func runChromium(t *testing.T, chromium, url string, insecureTLS bool, reports <-chan []byte) browserReport {
	args := []string{"--headless", "--no-sandbox", "--enable-logging=stderr", "--v=0", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + t.TempDir()}
	if insecureTLS {
		args = append(args, "--ignore-certificate-errors")
	}
	cmd := exec.Command(chromium, append(args, url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log, err := os.Create(filepath.Join(t.TempDir(), "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // Chromium and its helpers
		<-exited
	}()
	var raw []byte
	select {
	case raw = <-reports:
	case err := <-exited:
		exited <- err
		t.Fatalf("chromium exited before the page reported: %v\n%s", err, consoleLines(log.Name()))
	case <-time.After(reportTimeout):
		t.Fatalf("the page did not report within %v; chromium's console:\n%s", reportTimeout, consoleLines(log.Name()))
	}
	var r browserReport
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("report %q: %v", raw, err)
	}
	return r
}

// consoleLines returns the lines of Chromium's log that come from the
// page's console, or the end of the log when there are none.
func consoleLines(name string) string {
	b, _ := os.ReadFile(name)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "CONSOLE") {
			out = append(out, line)
		}
	}
	if len(out) == 0 && len(b) > 2000 {
		return string(b[len(b)-2000:])
	}
	if len(out) == 0 {
		return string(b)
	}
	return strings.Join(out, "\n")
}

// checkReport compares what the page saw with what the server sent.
func checkReport(t *testing.T, r browserReport) {
	t.Helper()
	if r.Fatal != "" {
		t.Fatalf("the page failed: %s (so far: connect %v, grpc-web %v)", r.Fatal, r.Connect, r.GRPCWeb)
	}
	const invalidArgument, deadlineExceeded = "3", "4"
	common := map[string]string{
		"unary":    "5",         // the payload asked for
		"header":   "hello-web", // echoed x-grpc-test-echo-initial
		"trailer":  "AQID",      // echoed x-grpc-test-echo-trailing-bin
		"stream":   "1,2,3",     // one message per ResponseParameters
		"deadline": deadlineExceeded,
	}
	wantConnect := map[string]string{"error": invalidArgument + " with details [7:detail]"}
	wantGRPCWeb := map[string]string{"error": invalidArgument + " with details"}
	for k, v := range common {
		wantConnect[k], wantGRPCWeb[k] = v, v
	}
	details := r.GRPCWeb["errorDetails"]
	delete(r.GRPCWeb, "errorDetails")
	if !reflect.DeepEqual(r.Connect, wantConnect) {
		t.Errorf("connect-web (binary) saw %v\nwant %v", r.Connect, wantConnect)
	}
	if !reflect.DeepEqual(r.GRPCWeb, wantGRPCWeb) {
		t.Errorf("grpc-web (text) saw %v\nwant %v", r.GRPCWeb, wantGRPCWeb)
	}
	// grpc-web's runtime hands the details over undecoded.
	b, err := base64.RawStdEncoding.DecodeString(trimPadding(details))
	if err != nil {
		t.Fatalf("grpc-web: grpc-status-details-bin %q: %v", details, err)
	}
	st, err := status.UnmarshalProto(b)
	if err != nil {
		t.Fatalf("grpc-web: grpc-status-details-bin: %v", err)
	}
	d := st.Details()
	if st.Code() != codes.InvalidArgument || st.Message() != "with details" || len(d) != 1 {
		t.Fatalf("grpc-web: grpc-status-details-bin holds %v %q %v", st.Code(), st.Message(), d)
	}
	if m, ok := d[0].(proto.Message); !ok || !proto.Equal(m, &pb.EchoStatus{Code: 7, Message: "detail"}) {
		t.Errorf("grpc-web: detail = %v", d[0])
	}
}

func hasPrefixKey(m map[string]bool, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}
