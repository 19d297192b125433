package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// Client-side health checking (gRFC A17). When the service config has a
// healthCheckConfig and the balancer asked for it (round_robin and
// least_request do, pick_first does not), a subchannel whose connection is
// made stays CONNECTING and opens one grpc.health.v1.Health/Watch stream
// on that connection for healthCheckConfig.serviceName. It becomes READY
// when the server says SERVING and TRANSIENT_FAILURE when it says anything
// else; a server without the health service (UNIMPLEMENTED) counts as
// healthy. A stream that fails otherwise is opened again: at once if it
// had brought a status, else after the channel's connection backoff. The
// watch ends with its connection.
//
// The two messages are built and read here with protowire: the channel
// layer knows no generated types. HealthCheckRequest is {string service =
// 1}; HealthCheckResponse is {ServingStatus status = 1} with SERVING = 1.

// healthWatchMethod is the method the health watch calls.
const healthWatchMethod = "/grpc.health.v1.Health/Watch"

// healthServing is HealthCheckResponse.ServingStatus SERVING.
const healthServing = 1

// parseHealthCheckConfig returns healthCheckConfig.serviceName of a
// service config in JSON: nil when there is no healthCheckConfig, "" when
// it names no service (the whole server).
func parseHealthCheckConfig(js string) (*string, error) {
	var raw struct {
		HealthCheckConfig *struct {
			ServiceName *string `json:"serviceName"`
		} `json:"healthCheckConfig"`
	}
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, fmt.Errorf("service config: healthCheckConfig: %v", err)
	}
	if raw.HealthCheckConfig == nil {
		return nil, nil
	}
	name := ""
	if n := raw.HealthCheckConfig.ServiceName; n != nil {
		name = *n
	}
	return &name, nil
}

// setHealthService records the health check service of sc (nil: none)
// for the connections made from now on; on the serializer.
func (cc *ClientConn) setHealthService(sc *ServiceConfig) {
	if sc == nil {
		cc.healthService.Store(nil)
		return
	}
	cc.healthService.Store(sc.healthService)
}

// startHealthCheckLocked starts the health watch of c, a connection just
// made, if it applies, and reports whether it did; sc.mu is held.
func (sc *subConn) startHealthCheckLocked(c *stream.Conn) bool {
	if !sc.healthCheck {
		return false
	}
	name := sc.cc.healthService.Load()
	if name == nil {
		return false
	}
	ctx, cancel := context.WithCancel(sc.cc.closingCtx)
	sc.cc.wg.Add(2)
	go func() {
		defer sc.cc.wg.Done()
		select {
		case <-c.Draining():
		case <-c.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer sc.cc.wg.Done()
		defer cancel()
		sc.healthCheckLoop(ctx, c, *name)
	}()
	return true
}

// healthCheckLoop watches the health of the server on c until ctx ends.
func (sc *subConn) healthCheckLoop(ctx context.Context, c *stream.Conn, service string) {
	failures := 0
	for {
		got, err := sc.healthWatch(ctx, c, service)
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.Unimplemented {
			// The server has no health service: healthy, and no more
			// checks on this connection.
			sc.setHealth(c, true, nil)
			return
		}
		sc.setHealth(c, false, fmt.Errorf("health check of service %q: %w", service, err))
		if got {
			failures = 0
			continue
		}
		failures++
		t := time.NewTimer(backoffFor(sc.cc.opts.backoff, failures))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// healthWatch runs one Watch stream on c, reporting each status it brings,
// until it fails or ctx ends. It reports whether any status came.
func (sc *subConn) healthWatch(ctx context.Context, c *stream.Conn, service string) (got bool, err error) {
	cs := new(ClientStream)
	if err := cs.init(sc.cc, ctx, healthWatchMethod, nil); err != nil {
		return false, err
	}
	if err := cs.open(c, false, false); err != nil {
		return false, cs.streamError(err)
	}
	req := make([]byte, MsgHeaderLen, MsgHeaderLen+2+len(service))
	if service != "" {
		req = protowire.AppendTag(req, 1, protowire.BytesType)
		req = protowire.AppendString(req, service)
	}
	if err := cs.send(req, true); err != nil && err != io.EOF {
		return false, cs.end(err)
	}
	var buf []byte
	for {
		msg, err := cs.RecvMsg(buf)
		if err == io.EOF {
			return got, status.Error(codes.Unavailable, "the health service ended the watch")
		}
		if err != nil {
			return got, err
		}
		st, err := servingStatus(msg)
		if err != nil {
			return got, cs.end(status.Errorf(codes.Internal, "health check: %v", err))
		}
		got = true
		sc.setHealth(c, st == healthServing, fmt.Errorf("health check of service %q: serving status %d", service, st))
		buf = msg
	}
}

// servingStatus reads the status of a HealthCheckResponse.
func servingStatus(b []byte) (uint64, error) {
	var st uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			st, b = v, b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return st, nil
}

// setHealth makes the subchannel READY (healthy) or TRANSIENT_FAILURE
// with err, while c is still its connection.
func (sc *subConn) setHealth(c *stream.Conn, healthy bool, err error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.conn != c || sc.state == connectivity.Shutdown {
		return
	}
	if healthy {
		sc.ready.Store(c)
		sc.setStateLocked(connectivity.Ready, nil)
		return
	}
	sc.ready.Store(nil)
	sc.setStateLocked(connectivity.TransientFailure, err)
}
