package grpcgo

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/h2rpc/h2rpc/bench"
	h2codes "github.com/h2rpc/h2rpc/channel/codes"
	h2status "github.com/h2rpc/h2rpc/channel/status"
)

// BenchTransport drives a target with grpc-go's client for package
// bench's generator: one grpc.ClientConn (one HTTP/2 connection) per
// connection of the run, messages passed as encoded bytes.
type BenchTransport struct {
	ccs []*grpc.ClientConn
	md  metadata.MD
}

// rawCodec passes encoded messages through; named "proto" so requests
// carry application/grpc+proto, which every server takes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// NewBenchTransport returns a transport for target with n connections;
// tlsCfg nil means h2c.
func NewBenchTransport(target string, n int, tlsCfg *tls.Config, md [][2]string) (*BenchTransport, error) {
	t := &BenchTransport{}
	if len(md) > 0 {
		t.md = metadata.MD{}
		for _, kv := range md {
			t.md.Append(kv[0], kv[1])
		}
	}
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	for range n {
		cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			t.Close()
			return nil, err
		}
		t.ccs = append(t.ccs, cc)
	}
	return t, nil
}

// Connect connects connection i and waits until it is ready.
func (t *BenchTransport) Connect(ctx context.Context, i int) error {
	cc := t.ccs[i]
	cc.Connect()
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return fmt.Errorf("cannot connect to %s: the connection is in state %v", cc.Target(), s)
		}
		if !cc.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// Gone reports whether connection i failed.
func (t *BenchTransport) Gone(i int) bool {
	return t.ccs[i].GetState() == connectivity.TransientFailure
}

// Close closes every connection.
func (t *BenchTransport) Close() error {
	for _, cc := range t.ccs {
		cc.Close()
	}
	return nil
}

// Worker returns a worker calling over connection i.
func (t *BenchTransport) Worker(i int) bench.Worker { return &benchWorker{cc: t.ccs[i], md: t.md} }

type benchWorker struct {
	cc    *grpc.ClientConn
	md    metadata.MD
	reply []byte
}

func (w *benchWorker) ctx(ctx context.Context) context.Context {
	if w.md == nil {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, w.md)
}

// h2Err turns grpc-go's status error into h2rpc's, which bench counts.
func h2Err(err error) error {
	if err == nil {
		return nil
	}
	s := status.Convert(err)
	if s.Code() == codes.OK {
		return err
	}
	return h2status.Error(h2codes.Code(s.Code()), s.Message())
}

func (w *benchWorker) Unary(ctx context.Context, method string, msg []byte) error {
	return h2Err(w.cc.Invoke(w.ctx(ctx), method, &msg, &w.reply))
}

var benchStreamDesc = grpc.StreamDesc{ClientStreams: true, ServerStreams: true}

func (w *benchWorker) NewStream(ctx context.Context, method string) (bench.Stream, error) {
	cs, err := w.cc.NewStream(w.ctx(ctx), &benchStreamDesc, method)
	if err != nil {
		return nil, h2Err(err)
	}
	return &benchStream{cs: cs}, nil
}

type benchStream struct {
	cs grpc.ClientStream
	in []byte
}

func (s *benchStream) Send(msg []byte) error { return h2Err(s.cs.SendMsg(&msg)) }

func (s *benchStream) CloseSend() error { return h2Err(s.cs.CloseSend()) }

func (s *benchStream) Recv() error {
	err := s.cs.RecvMsg(&s.in)
	if err == io.EOF {
		return err
	}
	return h2Err(err)
}
