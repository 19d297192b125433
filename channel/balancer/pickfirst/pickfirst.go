package pickfirst

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Name is the name of the policy in service configs.
const Name = "pick_first"

// connectionDelay is how long an attempt may stay CONNECTING before the
// next address is tried beside it (gRFC A61's Connection Attempt Delay).
const connectionDelay = 250 * time.Millisecond

// shuffle orders the endpoints when the config asks for it; tests replace
// it.
var shuffle = rand.Shuffle

func init() {
	balancer.Register(builder{})
}

type builder struct{}

// Build returns a pick_first balancer for cc.
func (builder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	return &pickFirst{cc: cc, state: connectivity.Connecting}
}

// Name returns "pick_first".
func (builder) Name() string { return Name }

// config is the policy's config: {"shuffleAddressList": true} shuffles the
// resolver's endpoints before they are tried (gRFC A62).
type config struct {
	serviceconfig.LoadBalancingConfig `json:"-"`
	ShuffleAddressList                bool `json:"shuffleAddressList"`
}

// ParseConfig parses {"shuffleAddressList": bool}; other fields are
// ignored.
func (builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	var cfg config
	if err := json.Unmarshal(js, &cfg); err != nil {
		return nil, fmt.Errorf("%s: bad config %s: %v", Name, js, err)
	}
	return cfg, nil
}

// pickFirst is the balancer. The channel calls its methods and listeners
// one at a time; the Happy Eyeballs timer runs beside them, so mu guards
// everything below it. The timer only ever calls SubConn.Connect, which
// may be called from any goroutine: everything that needs the ClientConn
// (making subchannels, publishing pickers) happens in the methods and
// listeners. Pickers never take mu.
type pickFirst struct {
	cc balancer.ClientConn

	mu sync.Mutex
	// state is the state last published; CONNECTING before the first.
	state connectivity.State
	// addrs is the address list in the order it is tried; idx is the
	// address being tried (len(addrs) once all have been) or, when READY,
	// the connected one.
	addrs []resolver.Address
	idx   int
	subs  base.AddrMap[*subConn]
	// firstPass is set while the addresses are tried in turn; once all
	// have failed, every subchannel is kept reconnecting on its own
	// (gRFC A62) and numTF counts failures, to report TRANSIENT_FAILURE
	// once per round of them.
	firstPass bool
	numTF     int
	// timer starts the next address; timerSeq tells a stopped timer's
	// late callback that it is stale.
	timer    *time.Timer
	timerSeq uint64
	closed   bool
}

// subConn is one subchannel and what the balancer knows of it.
type subConn struct {
	addr resolver.Address
	sc   balancer.SubConn
	// state is the subchannel's own last state.
	state   connectivity.State
	lastErr error
	// failed is set when it failed during the current first pass.
	failed bool
}

// UpdateClientConnState takes a new address list. A READY subchannel
// whose address is still listed is kept; otherwise the addresses are tried
// again from the first. An empty list shuts everything down, reports
// TRANSIENT_FAILURE and returns balancer.ErrBadResolverState.
func (b *pickFirst) UpdateClientConnState(s balancer.ClientConnState) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.stopTimer()
	cfg, ok := s.BalancerConfig.(config)
	if s.BalancerConfig != nil && !ok {
		return fmt.Errorf("%s: the balancer config is a %T, not its own: %w", Name, s.BalancerConfig, balancer.ErrBadResolverState)
	}
	eps, addrs := s.ResolverState.Endpoints, s.ResolverState.Addresses
	if cfg.ShuffleAddressList {
		// Endpoints are shuffled, the addresses within each are not
		// (gRFC A61).
		if len(eps) > 0 {
			eps = slices.Clone(eps)
			shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		} else {
			addrs = slices.Clone(addrs)
			shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
		}
	}
	list := interleave(base.Dedupe(base.FlattenEndpoints(eps, addrs)))
	if len(list) == 0 {
		b.shutdownAll()
		b.addrs, b.idx = nil, 0
		b.resolverError(errors.New("the resolver produced no address"))
		return balancer.ErrBadResolverState
	}

	prev, wasReady := b.readySubConn()
	hadAddrs := len(b.addrs) > 0
	b.addrs, b.idx = list, 0
	if wasReady && b.seekTo(prev.addr) {
		return nil // keep the connection
	}
	b.reconcile()
	switch {
	case wasReady || b.state == connectivity.Connecting || !hadAddrs:
		// Sticky TRANSIENT_FAILURE is for connection failures only: after
		// an empty list or a resolver error, a new list starts CONNECTING.
		b.publish(connectivity.Connecting, base.NewErrPicker(balancer.ErrNoSubConnAvailable))
		b.startFirstPass()
	case b.state == connectivity.TransientFailure:
		b.startFirstPass()
	default: // IDLE: wait for a call, on the new first address.
		b.goIdle()
	}
	return nil
}

// readySubConn returns the subchannel at the current address if it is
// READY.
func (b *pickFirst) readySubConn() (*subConn, bool) {
	if b.idx >= len(b.addrs) {
		return nil, false
	}
	sd, ok := b.subs.Get(b.addrs[b.idx])
	return sd, ok && sd.state == connectivity.Ready
}

// seekTo makes a the current address, if it is listed.
func (b *pickFirst) seekTo(a resolver.Address) bool {
	i := slices.IndexFunc(b.addrs, a.Equal)
	if i < 0 {
		return false
	}
	b.idx = i
	return true
}

// reconcile shuts down the subchannels of addresses no longer listed.
func (b *pickFirst) reconcile() {
	var listed base.AddrMap[bool]
	for _, a := range b.addrs {
		listed.Set(a, true)
	}
	var gone []*subConn
	b.subs.All(func(a resolver.Address, sd *subConn) bool {
		if _, ok := listed.Get(a); !ok {
			gone = append(gone, sd)
		}
		return true
	})
	for _, sd := range gone {
		sd.sc.Shutdown()
		b.subs.Delete(sd.addr)
	}
}

// shutdownAll shuts every subchannel down.
func (b *pickFirst) shutdownAll() {
	b.shutdownAllBut(nil)
}

// shutdownAllBut shuts down every subchannel but keep (which may be nil)
// and stops the timer.
func (b *pickFirst) shutdownAllBut(keep *subConn) {
	b.stopTimer()
	b.subs.All(func(_ resolver.Address, sd *subConn) bool {
		if sd != keep {
			sd.sc.Shutdown()
		}
		return true
	})
	b.subs = base.AddrMap[*subConn]{}
	if keep != nil {
		b.subs.Set(keep.addr, keep)
	}
}

// subConnFor returns the subchannel of a, making it if there is none.
func (b *pickFirst) subConnFor(a resolver.Address) (*subConn, error) {
	if sd, ok := b.subs.Get(a); ok {
		return sd, nil
	}
	sd := &subConn{addr: a, state: connectivity.Idle}
	sc, err := b.cc.NewSubConn([]resolver.Address{a}, balancer.NewSubConnOptions{
		StateListener: func(st balancer.SubConnState) { b.updateSubConnState(sd, st) },
	})
	if err != nil {
		return nil, err
	}
	sd.sc = sc
	b.subs.Set(a, sd)
	return sd, nil
}

// startFirstPass tries the addresses from the first. It makes the
// subchannels of all of them first, so that the timer, which may not use
// the ClientConn, finds them made.
func (b *pickFirst) startFirstPass() {
	for _, a := range b.addrs {
		if _, err := b.subConnFor(a); err != nil {
			b.publish(connectivity.TransientFailure, base.NewErrPicker(base.FailureError(Name+": no subchannel could be made", err)))
			return
		}
	}
	b.firstPass, b.numTF, b.idx = true, 0, 0
	b.subs.All(func(_ resolver.Address, sd *subConn) bool {
		sd.failed = false
		return true
	})
	b.requestConnection(false)
}

// requestConnection connects the current address, or waits for it if it
// is connecting, starting the timer for the next one; addresses whose
// subchannels are still failing (in their backoff) are passed over. If
// none is left and the call is not the timer's, it ends the first pass if
// every address has failed.
func (b *pickFirst) requestConnection(byTimer bool) {
	var lastErr error
	for ; b.idx < len(b.addrs); b.idx++ {
		sd, ok := b.subs.Get(b.addrs[b.idx])
		if !ok {
			return // cannot happen: a first pass makes every subchannel
		}
		switch sd.state {
		case connectivity.Idle:
			sd.sc.Connect()
			b.startTimer()
			return
		case connectivity.Connecting:
			b.startTimer()
			return
		case connectivity.TransientFailure:
			sd.failed = true
			lastErr = sd.lastErr
		default:
			return
		}
	}
	// When the timer runs out of addresses, the attempt it waited for has
	// not failed yet: its failure, in a listener, ends the pass.
	if !byTimer {
		b.endFirstPass(lastErr)
	}
}

// startTimer starts the next address after connectionDelay, unless the
// current one is the last.
func (b *pickFirst) startTimer() {
	b.stopTimer()
	if b.idx+1 >= len(b.addrs) {
		return
	}
	seq := b.timerSeq
	b.timer = time.AfterFunc(connectionDelay, func() { b.timerFired(seq) })
}

func (b *pickFirst) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.timerSeq++
}

// timerFired moves on to the next address while the current one is still
// connecting.
func (b *pickFirst) timerFired(seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || seq != b.timerSeq {
		return // stopped after it fired
	}
	b.timer = nil
	if b.idx < len(b.addrs) {
		b.idx++
		b.requestConnection(true)
	}
}

// endFirstPass reports TRANSIENT_FAILURE with lastErr once every address
// has been tried and has failed, and from then on keeps every subchannel
// reconnecting after its backoff.
func (b *pickFirst) endFirstPass(lastErr error) {
	if b.idx < len(b.addrs) {
		return
	}
	allFailed := true
	b.subs.All(func(_ resolver.Address, sd *subConn) bool {
		allFailed = sd.failed
		return allFailed
	})
	if !allFailed {
		return
	}
	b.firstPass = false
	b.publish(connectivity.TransientFailure, base.NewErrPicker(failure(lastErr)))
	b.subs.All(func(_ resolver.Address, sd *subConn) bool {
		if sd.state == connectivity.Idle {
			sd.sc.Connect()
		}
		return true
	})
}

// failure is the error of the TRANSIENT_FAILURE picker: never a status
// error, so fail-fast calls fail UNAVAILABLE and wait-for-ready calls wait.
func failure(lastErr error) error {
	return base.FailureError(Name+": every address failed, the last with", lastErr)
}

// updateSubConnState is the listener of sd's subchannel.
func (b *pickFirst) updateSubConnState(sd *subConn, st balancer.SubConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, now := sd.state, st.ConnectivityState
	sd.state = now
	if b.closed {
		return
	}
	if cur, ok := b.subs.Get(sd.addr); !ok || cur != sd {
		return // shut down by the balancer: its updates no longer count
	}
	switch {
	case now == connectivity.Shutdown:
		return
	case now == connectivity.Ready:
		b.shutdownAllBut(sd)
		b.seekTo(sd.addr)
		b.publish(connectivity.Ready, &readyPicker{result: balancer.PickResult{SubConn: sd.sc}})
		return
	case old == connectivity.Ready || (old == connectivity.Connecting && now == connectivity.Idle):
		// The connection is lost (or was made and lost before it was
		// READY, which counts the same): go IDLE, and start from the first
		// address on the next call.
		b.shutdownAllBut(sd)
		b.idx = 0
		b.goIdle()
		return
	case b.state == connectivity.Idle && now == connectivity.Connecting:
		// The IDLE picker asked this subchannel to connect.
		b.exitIdle()
		return
	}
	if now == connectivity.TransientFailure {
		sd.failed = true
		sd.lastErr = st.ConnectionError
	}
	if b.firstPass {
		switch now {
		case connectivity.Connecting:
			if b.state != connectivity.Connecting && b.state != connectivity.TransientFailure {
				b.publish(connectivity.Connecting, base.NewErrPicker(balancer.ErrNoSubConnAvailable))
			}
		case connectivity.TransientFailure:
			if b.idx < len(b.addrs) && b.addrs[b.idx].Equal(sd.addr) {
				// The attempt being waited for failed: try the next
				// address at once.
				b.stopTimer()
				b.idx++
				if b.idx < len(b.addrs) {
					b.requestConnection(false)
					return
				}
			}
			b.endFirstPass(st.ConnectionError)
		}
		return
	}
	// After the first pass: stay in TRANSIENT_FAILURE until one
	// subchannel is READY, reconnect each after its backoff, and refresh
	// the error once per round of failures.
	switch now {
	case connectivity.TransientFailure:
		b.numTF = (b.numTF + 1) % b.subs.Len()
		if b.numTF == 0 {
			b.publish(connectivity.TransientFailure, base.NewErrPicker(failure(st.ConnectionError)))
		}
	case connectivity.Idle:
		sd.sc.Connect()
	}
}

// goIdle publishes IDLE with a picker that connects the first address on
// the first pick.
func (b *pickFirst) goIdle() {
	sd, err := b.subConnFor(b.addrs[0])
	if err != nil {
		b.publish(connectivity.TransientFailure, base.NewErrPicker(base.FailureError(Name+": no subchannel could be made", err)))
		return
	}
	b.publish(connectivity.Idle, &idlePicker{sc: sd.sc})
}

// ExitIdle starts connecting if the balancer is IDLE.
func (b *pickFirst) ExitIdle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.exitIdle()
	}
}

func (b *pickFirst) exitIdle() {
	if b.state != connectivity.Idle {
		return
	}
	b.publish(connectivity.Connecting, base.NewErrPicker(balancer.ErrNoSubConnAvailable))
	b.startFirstPass()
}

// ResolverError reports TRANSIENT_FAILURE with err unless the balancer
// has a good address list and is not failing.
func (b *pickFirst) ResolverError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.resolverError(err)
	}
}

func (b *pickFirst) resolverError(err error) {
	if b.state != connectivity.TransientFailure && len(b.addrs) > 0 {
		return
	}
	b.publish(connectivity.TransientFailure, base.NewErrPicker(base.FailureError(Name+": name resolver error", err)))
}

// Close shuts every subchannel down and stops the timer.
func (b *pickFirst) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shutdownAll()
	b.closed = true
	b.state = connectivity.Shutdown
}

func (b *pickFirst) publish(s connectivity.State, p balancer.Picker) {
	b.state = s
	b.cc.UpdateState(balancer.State{ConnectivityState: s, Picker: p})
}

// readyPicker sends every call to the connected subchannel.
type readyPicker struct {
	result balancer.PickResult
}

// Pick returns the connected subchannel.
func (p *readyPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return p.result, nil
}

// idlePicker makes calls wait, and asks sc to connect on the first pick;
// the subchannel's CONNECTING update then takes the balancer out of IDLE.
// SubConn.Connect may be called from any goroutine, and a second call, or
// one on a subchannel shut down since, does nothing.
type idlePicker struct {
	sc     balancer.SubConn
	kicked atomic.Bool
}

// Pick returns ErrNoSubConnAvailable, connecting on the first call.
func (p *idlePicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	if !p.kicked.Load() && p.kicked.CompareAndSwap(false, true) {
		p.sc.Connect()
	}
	return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
}
