package balancer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// SubConn is one subchannel: a connection to one address, made and
// remade by the channel, with its own connectivity state.
type SubConn interface {
	// Connect starts connecting if the subchannel is IDLE, and does
	// nothing in any other state, SHUTDOWN included. It may be called
	// from any goroutine (a picker may call it), and never calls the
	// state listener before it returns.
	Connect()
	// Shutdown closes the subchannel; its state becomes SHUTDOWN. Calls
	// in progress on it finish.
	Shutdown()
}

// NewSubConnOptions are the options of ClientConn.NewSubConn.
type NewSubConnOptions struct {
	// StateListener is called with every state change of the
	// subchannel, in order, never concurrently with the balancer's other
	// methods.
	StateListener func(SubConnState)
	// HealthCheckEnabled asks for client-side health checking (gRFC
	// A17) when the service config names a healthCheckConfig: the
	// subchannel is READY only while the server's health service says
	// SERVING. pick_first leaves it off; round_robin and least_request
	// set it.
	HealthCheckEnabled bool
}

// State is what a balancer tells the channel: its aggregate connectivity
// state and the picker calls use from now on.
type State struct {
	ConnectivityState connectivity.State
	Picker            Picker
}

// ClientConn is the channel as its balancer sees it. Its methods may be
// called from any goroutine: from the balancer's methods and listeners,
// which the channel never runs concurrently, and from the balancer's own
// timers.
type ClientConn interface {
	// NewSubConn makes an IDLE subchannel for addrs (in practice one
	// address).
	NewSubConn(addrs []resolver.Address, opts NewSubConnOptions) (SubConn, error)
	// UpdateState sets the channel's state and picker.
	UpdateState(State)
	// ResolveNow asks the resolver to resolve again.
	ResolveNow(resolver.ResolveNowOptions)
	// Target returns the channel's target as the user gave it.
	Target() string
}

// BuildOptions are what a channel gives a balancer it builds.
type BuildOptions struct {
	// Authority is the channel's authority.
	Authority string
	// Target is the channel's parsed target.
	Target resolver.Target
}

// Builder makes balancers of one policy.
type Builder interface {
	// Build returns a balancer working for cc.
	Build(cc ClientConn, opts BuildOptions) Balancer
	// Name is the policy's name in service configs, such as
	// "round_robin".
	Name() string
}

// ConfigParser is implemented by builders whose policy takes a config
// (the JSON object under its name in loadBalancingConfig).
type ConfigParser interface {
	ParseConfig(json.RawMessage) (serviceconfig.LoadBalancingConfig, error)
}

// PickInfo describes the call a pick is for.
type PickInfo struct {
	// FullMethodName is "/package.Service/Method".
	FullMethodName string
	// Ctx is the call's context.
	Ctx context.Context
}

// DoneInfo is the outcome of a call, given to PickResult.Done.
type DoneInfo struct {
	// Err is the call's error, nil when it succeeded.
	Err error
	// Trailer is the call's trailer metadata.
	Trailer metadata.MD
	// BytesSent reports whether any request byte was sent.
	BytesSent bool
	// BytesReceived reports whether any response byte arrived.
	BytesReceived bool
}

// PickResult is the subchannel a call goes to.
type PickResult struct {
	// SubConn is the chosen subchannel, one the balancer made.
	SubConn SubConn
	// Done, if not nil, is called exactly once for every pick that
	// returned it, with the call's outcome, also when the call never went
	// out on SubConn (the subchannel was no longer ready, the stream
	// could not be opened, the call was cancelled).
	Done func(DoneInfo)
}

// Picker chooses a subchannel for each call. The channel calls Pick on
// every call, concurrently from many goroutines, so it must be cheap and
// must not block: it should read only what the balancer fixed when it
// made the picker.
//
// Pick returns ErrNoSubConnAvailable to make the call wait for the next
// picker; a status error (channel/status) to end the call with that
// status, wait-for-ready or not; any other error to fail fail-fast calls
// with UNAVAILABLE and make wait-for-ready calls wait for the next picker.
type Picker interface {
	Pick(info PickInfo) (PickResult, error)
}

// ErrNoSubConnAvailable is returned by a picker that has no subchannel
// ready yet: the call waits for a new picker.
var ErrNoSubConnAvailable = errors.New("no SubConn is available")

// ErrBadResolverState is returned by UpdateClientConnState for a state the
// balancer cannot use (no address, say); the channel asks the resolver to
// resolve again.
var ErrBadResolverState = errors.New("bad resolver state")

// SubConnState is the state of a subchannel.
type SubConnState struct {
	ConnectivityState connectivity.State
	// ConnectionError is why the subchannel is in TRANSIENT_FAILURE.
	ConnectionError error
}

// ClientConnState is what the channel tells its balancer: the resolver's
// state and the balancer's config.
type ClientConnState struct {
	ResolverState  resolver.State
	BalancerConfig serviceconfig.LoadBalancingConfig
}

// Balancer keeps a channel's subchannels and pickers up to date. The
// channel calls its methods one at a time, never concurrently.
type Balancer interface {
	// UpdateClientConnState gives the balancer a new resolver state.
	UpdateClientConnState(ClientConnState) error
	// ResolverError tells the balancer that resolving failed.
	ResolverError(error)
	// Close stops the balancer; it shuts down its subchannels.
	Close()
}

// ExitIdler is implemented by balancers that connect on demand: the
// channel calls ExitIdle when it is asked to connect (ClientConn.Connect)
// while the balancer may be IDLE.
type ExitIdler interface {
	ExitIdle()
}

var (
	mu       sync.RWMutex
	builders = map[string]Builder{}
)

// Register makes b the builder of its policy for every channel. It is meant
// for init functions; a later registration of a name wins. Names are
// matched without regard to case.
func Register(b Builder) {
	mu.Lock()
	defer mu.Unlock()
	builders[strings.ToLower(b.Name())] = b
}

// Get returns the registered builder of the policy name, or nil.
func Get(name string) Builder {
	mu.RLock()
	defer mu.RUnlock()
	return builders[strings.ToLower(name)]
}
