package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
)

// Scenario describes one simulated run.
type Scenario struct {
	// Nodes is the cluster size.
	Nodes int
	// Loss is the packet loss probability of the network.
	Loss float64
	// Kill is how many members are killed (without leaving) once the
	// cluster has converged.
	Kill int
	// LoadEvery, when set, makes every member but the clients change its
	// metadata (an announced server's load) this often once the join is
	// over, each at its own phase, so that the traffic figures show what
	// announcing load costs.
	LoadEvery time.Duration
	// Clients is how many members only watch (as gossip:/// clients do):
	// they are never killed or slowed, and the time until each of them
	// first hears a killed member suspected or dead, when its resolver
	// stops picking it, is reported.
	Clients int
	// Slow is how many members handle every message SlowDelay late from
	// the same moment on, as if starved of CPU.
	Slow      int
	SlowDelay time.Duration
	// Lifeguard turns the Lifeguard extensions on or off.
	Lifeguard bool
	// Duration is the simulated time the run lasts, the mass join
	// included.
	Duration time.Duration
	// Seed makes the run reproducible.
	Seed int64
	// Warm starts every member with a full view instead of a mass join.
	Warm bool
	// JoinWindow spreads the mass join: every member starts at a random
	// moment in it and joins the first member.
	JoinWindow time.Duration
	// Settle is the time between convergence and the kills, for the join's
	// retransmissions to drain.
	Settle time.Duration
	// Delay and Jitter are the network's one-way latency.
	Delay, Jitter time.Duration
	// Config returns the base configuration of every member; LAN if nil.
	Config func() gossip.Config
	// Progress, if set, receives a line per simulated second during the
	// join: the smallest, median and largest view.
	Progress io.Writer
	// AfterJoin, if set, is called once the join phase is over.
	AfterJoin func()
}

// Defaults fills unset fields with the values the command line uses.
func (s *Scenario) Defaults() {
	if s.Nodes == 0 {
		s.Nodes = 256
	}
	if s.Duration == 0 {
		s.Duration = 60 * time.Second
	}
	if s.SlowDelay == 0 {
		s.SlowDelay = 2 * time.Second
	}
	if s.JoinWindow == 0 {
		s.JoinWindow = time.Second
	}
	if s.Settle == 0 {
		s.Settle = 10 * time.Second
	}
	if s.Delay == 0 {
		s.Delay = time.Millisecond
	}
	if s.Jitter == 0 {
		s.Jitter = 2 * time.Millisecond
	}
	if s.Config == nil {
		s.Config = gossip.LAN
	}
}

// Result holds the figures of one run. Durations are in simulated time,
// except Wall.
type Result struct {
	Nodes     int     `json:"nodes"`
	Loss      float64 `json:"loss"`
	Kill      int     `json:"kill"`
	Clients   int     `json:"clients,omitempty"`
	LoadEvery Seconds `json:"load_every_s,omitempty"`
	Slow      int     `json:"slow"`
	Lifeguard bool    `json:"lifeguard"`
	Seed      int64   `json:"seed"`
	Duration  Seconds `json:"duration_s"`

	// FullView is the time from the start of a mass join until every
	// member saw every member alive; -1 if it never happened (or the run
	// was warm).
	FullView Seconds `json:"full_view_s"`

	// Detection is the time from a kill until each live member declared
	// the killed member dead, over all (member, killed) pairs.
	DetectFirst  Seconds `json:"detect_first_s"`
	DetectMedian Seconds `json:"detect_median_s"`
	DetectP99    Seconds `json:"detect_p99_s"`
	DetectLast   Seconds `json:"detect_last_s"`
	Undetected   int     `json:"undetected"`
	// KillSkipped is set when the join left less than 5 s to watch the
	// kills, so none were made.
	KillSkipped bool `json:"kill_skipped,omitempty"`
	// ClientDrop is the time from a kill until each client first heard
	// the killed member suspected or dead, over all (client, killed)
	// pairs: when a gossip:/// resolver stops picking it.
	ClientDropMedian Seconds `json:"client_drop_median_s,omitempty"`
	ClientDropP99    Seconds `json:"client_drop_p99_s,omitempty"`
	ClientDropLast   Seconds `json:"client_drop_last_s,omitempty"`
	ClientUndropped  int     `json:"client_undropped,omitempty"`
	// FirstSuspect is the time from a kill to the first suspicion of the
	// killed member anywhere, averaged over kills, also in probe periods.
	FirstSuspect        Seconds `json:"first_suspect_s"`
	FirstSuspectPeriods float64 `json:"first_suspect_periods"`

	// FalseDead counts declarations (member, subject) that a live member
	// is dead; FalseDeadMembers counts the distinct live members declared
	// dead by anyone; FalseDeadHealthy counts declarations about members
	// that were neither killed nor slow.
	FalseDead        int `json:"false_dead"`
	FalseDeadMembers int `json:"false_dead_members"`
	FalseDeadHealthy int `json:"false_dead_healthy"`

	// Traffic per live member per second from the kills to the end:
	// packets and their payload bytes, and stream (push-pull and fallback
	// probe) bytes.
	Packets     float64 `json:"packets_per_member_s"`
	Bytes       float64 `json:"bytes_per_member_s"`
	StreamBytes float64 `json:"stream_bytes_per_member_s"`
	// JoinPackets, JoinBytes and JoinStream are the same figures from the
	// start of a mass join to the kills.
	JoinPackets float64 `json:"join_packets_per_member_s"`
	JoinBytes   float64 `json:"join_bytes_per_member_s"`
	JoinStream  float64 `json:"join_stream_bytes_per_member_s"`

	Events uint64  `json:"events"`
	Wall   Seconds `json:"wall_s"`
}

// Seconds is a duration printed as seconds.
type Seconds time.Duration

// MarshalJSON writes seconds as a number.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(time.Duration(s).Round(time.Millisecond)) / 1e9)
}

// String writes seconds with two decimals, or "never" for a negative
// value.
func (s Seconds) String() string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2fs", time.Duration(s).Seconds())
}

// Line is the one-line summary of a result.
func (r *Result) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes=%d loss=%g kill=%d slow=%d lifeguard=%v seed=%d sim=%v", r.Nodes, r.Loss, r.Kill, r.Slow, r.Lifeguard, r.Seed, r.Duration)
	fmt.Fprintf(&b, " full_view=%v", r.FullView)
	if r.KillSkipped {
		fmt.Fprintf(&b, " kill=skipped(no time left after the join; raise --duration)")
	}
	if r.Kill > 0 && !r.KillSkipped {
		fmt.Fprintf(&b, " detect(first/median/p99/last)=%v/%v/%v/%v undetected=%d first_suspect=%v (%.2f periods)",
			r.DetectFirst, r.DetectMedian, r.DetectP99, r.DetectLast, r.Undetected, r.FirstSuspect, r.FirstSuspectPeriods)
		if r.LoadEvery > 0 {
			fmt.Fprintf(&b, " load_every=%v", r.LoadEvery)
		}
		if r.Clients > 0 {
			fmt.Fprintf(&b, " clients=%d client_drop(median/p99/last)=%v/%v/%v undropped=%d", r.Clients, r.ClientDropMedian, r.ClientDropP99, r.ClientDropLast, r.ClientUndropped)
		}
	}
	fmt.Fprintf(&b, " false_dead=%d members=%d healthy=%d", r.FalseDead, r.FalseDeadMembers, r.FalseDeadHealthy)
	fmt.Fprintf(&b, " per_member_s: packets=%.2f bytes=%.1f stream_bytes=%.1f", r.Packets, r.Bytes, r.StreamBytes)
	if r.FullView > 0 {
		fmt.Fprintf(&b, " join_per_member_s: packets=%.1f bytes=%.0f stream_bytes=%.0f", r.JoinPackets, r.JoinBytes, r.JoinStream)
	}
	fmt.Fprintf(&b, " events=%d wall=%v", r.Events, r.Wall)
	return b.String()
}

// Print writes the result as one line, or as JSON.
func (r *Result) Print(w io.Writer, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w, r.Line())
	return err
}

// run is the state of one simulation.
type run struct {
	s      Scenario
	clock  *gossip.SimClock
	net    *gossip.MemNetwork
	rng    *rand.Rand
	nodes  []*gossip.Node
	trs    []*gossip.MemTransport
	names  []string
	index  map[string]int
	killed map[int]time.Duration // member → kill time
	slow   map[int]bool
	// detection times per killed member, per observer
	detected  map[[2]int]time.Duration
	dropped   map[[2]int]time.Duration // by a client: first suspect or dead
	suspected map[int]time.Duration
	falseDead map[[2]int]bool
	falseSubj map[int]bool
	healthyFP int
	start     time.Time
}

func (r *run) now() time.Duration { return r.clock.Now().Sub(r.start) }

// Run runs a scenario and returns its figures.
func Run(s Scenario) (*Result, error) {
	s.Defaults()
	if s.Nodes < 2 {
		return nil, fmt.Errorf("sim: need at least 2 nodes, got %d", s.Nodes)
	}
	if s.Clients < 0 || s.Kill+s.Slow+s.Clients >= s.Nodes {
		return nil, fmt.Errorf("sim: --kill %d plus --slow %d plus --clients %d must leave live healthy members among %d", s.Kill, s.Slow, s.Clients, s.Nodes)
	}
	if s.Loss < 0 || s.Loss >= 1 {
		return nil, fmt.Errorf("sim: --loss must be in [0, 1), got %g", s.Loss)
	}
	wall := time.Now()
	start := time.Unix(1_700_000_000, 0)
	clock := gossip.NewSimClock(start)
	r := &run{
		s:         s,
		clock:     clock,
		net:       gossip.NewMemNetwork(clock, uint64(s.Seed)*2+1, gossip.Conditions{Loss: s.Loss, Delay: s.Delay, Jitter: s.Jitter, Retransmit: 200 * time.Millisecond}),
		rng:       rand.New(rand.NewPCG(uint64(s.Seed), 7)),
		index:     make(map[string]int, s.Nodes),
		killed:    make(map[int]time.Duration),
		slow:      make(map[int]bool),
		detected:  make(map[[2]int]time.Duration),
		dropped:   make(map[[2]int]time.Duration),
		suspected: make(map[int]time.Duration),
		falseDead: make(map[[2]int]bool),
		falseSubj: make(map[int]bool),
		start:     start,
	}
	r.nodes = make([]*gossip.Node, s.Nodes)
	r.trs = make([]*gossip.MemTransport, s.Nodes)
	r.names = make([]string, s.Nodes)
	for i := range s.Nodes {
		r.names[i] = fmt.Sprintf("n%05d", i)
		r.index[r.names[i]] = i
		r.trs[i] = r.net.Transport(fmt.Sprintf("10.%d.%d.%d:7946", i>>16&255, i>>8&255, i&255))
	}
	res := &Result{Nodes: s.Nodes, Loss: s.Loss, Kill: s.Kill, Clients: s.Clients, LoadEvery: Seconds(s.LoadEvery), Slow: s.Slow, Lifeguard: s.Lifeguard, Seed: s.Seed, Duration: Seconds(s.Duration), FullView: -1}

	if s.Warm {
		if err := r.startWarm(); err != nil {
			return nil, err
		}
	} else {
		if err := r.startMassJoin(); err != nil {
			return nil, err
		}
	}

	// Phase 1: wait for a full view everywhere (a warm start has one).
	steady := time.Duration(0)
	if !s.Warm {
		steady = -1
		limit := s.Duration / 2
		for r.now() < limit {
			r.clock.RunFor(50 * time.Millisecond)
			if s.Progress != nil && r.now()%time.Second == 0 {
				r.progress(s.Progress)
			}
			if r.fullView() {
				steady = r.now()
				res.FullView = Seconds(steady)
				break
			}
		}
		if steady < 0 {
			steady = r.now()
		}
	}

	if s.AfterJoin != nil {
		s.AfterJoin()
	}

	// Phase 2: slow members from now on, kills after settling.
	// Clients are the last members; kills and slow members are drawn
	// from the others but the first.
	perm := r.rng.Perm(s.Nodes - 1 - s.Clients)
	for k := 0; k < s.Slow; k++ {
		i := perm[k] + 1
		r.slow[i] = true
		r.trs[i].SetSlow(s.SlowDelay)
	}
	if s.LoadEvery > 0 {
		for i := 0; i < s.Nodes-s.Clients; i++ {
			r.announceLoad(i, time.Duration(r.rng.Int64N(int64(s.LoadEvery))))
		}
	}
	killAt := steady + s.Settle
	if killAt > s.Duration {
		killAt = s.Duration
	}
	if s.Kill > 0 && s.Duration-killAt < 5*time.Second {
		// No time left to watch a detection: say so rather than report
		// every member as having missed it.
		res.KillSkipped = true
		s.Kill = 0
	}
	r.clock.Run(start.Add(killAt))
	p0, b0, sb0 := r.counters()
	if !s.Warm && killAt > 0 {
		secs := killAt.Seconds() * float64(s.Nodes)
		res.JoinPackets, res.JoinBytes, res.JoinStream = float64(p0)/secs, float64(b0)/secs, float64(sb0)/secs
	}
	for k := 0; k < s.Kill; k++ {
		i := perm[s.Slow+k] + 1
		r.killed[i] = r.now()
		r.nodes[i].Shutdown()
	}
	r.clock.Run(start.Add(s.Duration))
	p1, b1, sb1 := r.counters()
	secs := (s.Duration - killAt).Seconds() * float64(s.Nodes-len(r.killed))
	if secs > 0 {
		res.Packets = float64(p1-p0) / secs
		res.Bytes = float64(b1-b0) / secs
		res.StreamBytes = float64(sb1-sb0) / secs
	}
	r.figures(res)
	res.Events = clock.Events()
	for _, n := range r.nodes {
		if n != nil {
			n.Shutdown()
		}
	}
	res.Wall = Seconds(time.Since(wall))
	return res, nil
}

// announceLoad changes member i's metadata after d, then every
// LoadEvery, until it is shut down.
func (r *run) announceLoad(i int, d time.Duration) {
	r.clock.AfterFunc(d, func() {
		n := r.nodes[i]
		if n == nil {
			return
		}
		load := gossip.Load{InFlight: r.rng.Int64N(64), QPS: float64(r.rng.IntN(5000)), Utilization: float64(r.rng.IntN(100)) / 100}
		meta := map[string]string{gossip.MetaRPCAddr: r.trs[i].Addr(), gossip.MetaServices: "helloworld.Greeter", gossip.MetaHealth: gossip.HealthServing, gossip.MetaLoad: load.String()}
		if n.UpdateMeta(meta) == nil {
			r.announceLoad(i, r.s.LoadEvery)
		}
	})
}

func (r *run) config(i int) gossip.Config {
	c := r.s.Config()
	c.Name = r.names[i]
	c.Clock = r.clock
	c.Transport = r.trs[i]
	c.Seed = r.s.Seed*1_000_003 + int64(i) + 1
	c.Lifeguard = r.s.Lifeguard
	c.OnEvent = func(e gossip.Event) { r.event(i, e) }
	return c
}

func (r *run) startWarm() error {
	all := make([]gossip.Member, r.s.Nodes)
	for i := range all {
		all[i] = gossip.Member{Name: r.names[i], Addr: r.trs[i].Addr(), State: gossip.StateAlive}
	}
	snap := gossip.NewSnapshot(all)
	for i := range r.s.Nodes {
		n, err := gossip.New(r.config(i))
		if err != nil {
			return err
		}
		n.Restore(snap)
		r.nodes[i] = n
	}
	return nil
}

func (r *run) startMassJoin() error {
	seed := r.trs[0].Addr()
	n, err := gossip.New(r.config(0))
	if err != nil {
		return err
	}
	r.nodes[0] = n
	var firstErr error
	for i := 1; i < r.s.Nodes; i++ {
		at := time.Duration(r.rng.Int64N(int64(r.s.JoinWindow)))
		r.clock.AfterFunc(at, func() {
			n, err := gossip.New(r.config(i))
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			r.nodes[i] = n
			n.JoinAsync([]string{seed}, nil)
		})
	}
	r.clock.RunFor(0)
	return firstErr
}

// progress prints the spread of view sizes.
func (r *run) progress(w io.Writer) {
	var sizes []int
	for _, n := range r.nodes {
		if n != nil {
			sizes = append(sizes, n.NumAlive())
		}
	}
	if len(sizes) == 0 {
		return
	}
	sort.Ints(sizes)
	fmt.Fprintf(w, "t=%v members=%d view min=%d median=%d max=%d\n", r.now(), len(sizes), sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1])
}

// fullView reports whether every member sees every member alive.
func (r *run) fullView() bool {
	for _, n := range r.nodes {
		if n == nil || n.NumAlive() != r.s.Nodes {
			return false
		}
	}
	return true
}

func (r *run) counters() (p, b, sb uint64) {
	for _, t := range r.trs {
		pp, bb, _, ss := t.Counters()
		p, b, sb = p+pp, b+bb, sb+ss
	}
	return
}

// event records what observer i saw.
func (r *run) event(i int, e gossip.Event) {
	if e.Type != gossip.EventDead && e.Type != gossip.EventSuspect {
		return
	}
	subj, ok := r.index[e.Member.Name]
	if !ok {
		return
	}
	at, killed := r.killed[subj]
	if key := [2]int{i, subj}; killed && r.isClient(i) {
		if _, seen := r.dropped[key]; !seen {
			r.dropped[key] = r.now() - at
		}
	}
	if e.Type == gossip.EventSuspect {
		if _, seen := r.suspected[subj]; killed && !seen {
			r.suspected[subj] = r.now() - at
		}
		return
	}
	if killed {
		key := [2]int{i, subj}
		if _, seen := r.detected[key]; !seen {
			r.detected[key] = r.now() - at
		}
		return
	}
	key := [2]int{i, subj}
	if !r.falseDead[key] {
		r.falseDead[key] = true
		r.falseSubj[subj] = true
		if !r.slow[subj] {
			r.healthyFP++
		}
	}
}

// isClient reports whether member i is one of the scenario's clients.
func (r *run) isClient(i int) bool { return i >= r.s.Nodes-r.s.Clients }

func (r *run) figures(res *Result) {
	var drops []time.Duration
	for subj := range r.killed {
		for i := r.s.Nodes - r.s.Clients; i < r.s.Nodes; i++ {
			if d, ok := r.dropped[[2]int{i, subj}]; ok {
				drops = append(drops, d)
			} else {
				res.ClientUndropped++
			}
		}
	}
	sort.Slice(drops, func(a, b int) bool { return drops[a] < drops[b] })
	if len(drops) > 0 {
		res.ClientDropMedian = Seconds(drops[len(drops)/2])
		res.ClientDropP99 = Seconds(drops[(len(drops)*99)/100])
		res.ClientDropLast = Seconds(drops[len(drops)-1])
	}
	var times []time.Duration
	for subj := range r.killed {
		for i := range r.s.Nodes {
			if _, dead := r.killed[i]; dead || i == subj {
				continue
			}
			if d, ok := r.detected[[2]int{i, subj}]; ok {
				times = append(times, d)
			} else {
				res.Undetected++
			}
		}
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	if len(times) > 0 {
		res.DetectFirst = Seconds(times[0])
		res.DetectMedian = Seconds(times[len(times)/2])
		res.DetectP99 = Seconds(times[(len(times)*99)/100])
		res.DetectLast = Seconds(times[len(times)-1])
	}
	if len(r.suspected) > 0 {
		var sum time.Duration
		for _, d := range r.suspected {
			sum += d
		}
		avg := sum / time.Duration(len(r.suspected))
		res.FirstSuspect = Seconds(avg)
		res.FirstSuspectPeriods = avg.Seconds() / r.s.Config().ProbeInterval.Seconds()
	}
	res.FalseDead = len(r.falseDead)
	res.FalseDeadMembers = len(r.falseSubj)
	res.FalseDeadHealthy = r.healthyFP
}
