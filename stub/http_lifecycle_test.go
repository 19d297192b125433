package stub_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/internal/lifecycle"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// TestLifecycleServeHTTP is TestLifecycle with the server mounted in
// net/http (ServeHTTP, h2c): the same calls over the net/http transport
// of the call seam, with the faults of a call and a client close (the
// server's stops are net/http's there).
func TestLifecycleServeHTTP(t *testing.T) {
	lifecycle.Run(t, lifecycle.Lifecycle, lifecycle.Layer{
		Start:       startLifecycleServeHTTP,
		CallFaults:  []lifecycle.Fault{lifecycle.Cancel, lifecycle.Deadline, lifecycle.Abort, lifecycle.FinishEarly},
		RoundFaults: []lifecycle.Fault{lifecycle.CloseClient},

		OneResponseWithStatus: true,
	})
}

// httpLifecycleEnv is a lifecycleEnv whose server is mounted in net/http.
type httpLifecycleEnv struct {
	*lifecycleEnv
	stop func() // stops the net/http server
}

func (e httpLifecycleEnv) Close() {
	e.lifecycleEnv.Close()
	e.stop()
}

func startLifecycleServeHTTP(t testing.TB, l *lifecycle.Ledger) lifecycle.Env {
	e := &lifecycleEnv{srv: stub.NewServer(), served: make(chan error, 1), t: t}
	pb.RegisterEchoServer(e.srv, &lifecycleEcho{l: l})
	addr, stop := serveH2C(t, e.srv)
	e.served <- nil // Close waits for Serve, which a mounted server has none of
	var err error
	e.cc, err = stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	e.client = pb.NewEchoClient(e.cc)
	return httpLifecycleEnv{e, stop}
}
