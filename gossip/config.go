package gossip

import (
	"errors"
	"time"
)

// Config configures a Node. Start from LAN, WAN or Local and adjust.
type Config struct {
	// Name identifies the member; it must be unique in the cluster.
	Name string
	// Meta is the member's metadata, for example MetaRPCAddr and
	// MetaServices. Its encoding must fit in 1024 bytes.
	Meta map[string]string
	// Label is the cluster label: packets and streams carrying another
	// label are dropped, so two clusters on one network never merge.
	Label string
	// Keyring, when set, encrypts every packet and stream with AES-256-GCM
	// and drops whatever fails to authenticate.
	Keyring *Keyring

	// Transport carries packets and streams. Required.
	Transport Transport
	// Clock defaults to RealClock.
	Clock Clock
	// Seed seeds the node's randomness (probe order, gossip targets);
	// zero picks a random seed.
	Seed int64

	// ProbeInterval is the time between probes of successive members.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct ping may go unanswered before
	// indirect probes are sent; the indirect probes get as long again, and
	// a member still silent then is suspected.
	ProbeTimeout time.Duration
	// IndirectChecks is k, the number of members asked to probe a member
	// that did not answer a direct ping.
	IndirectChecks int
	// StreamFallback also probes an unresponsive member over a stream, so
	// a member reachable over TCP but not UDP is not declared dead.
	StreamFallback bool

	// SuspicionMult scales the minimum suspicion timeout:
	// SuspicionMult × max(1, log10(n)) × ProbeInterval.
	SuspicionMult float64
	// SuspicionMaxMult is the maximum suspicion timeout as a multiple of
	// the minimum (Lifeguard); without confirmations a suspicion lasts
	// this long.
	SuspicionMaxMult float64

	// RetransmitMult sets how often each update is retransmitted:
	// RetransmitMult × ceil(log10(n+1)) times.
	RetransmitMult int
	// GossipInterval is the time between gossip rounds, which send
	// pending updates to GossipNodes random members. Rounds with nothing
	// to send send nothing.
	GossipInterval time.Duration
	// GossipNodes is the fan-out of a gossip round.
	GossipNodes int
	// PacketSize is the largest packet payload sent, headers included.
	PacketSize int
	// MaxQueue bounds the pending membership updates kept for gossip; the
	// oldest and most retransmitted go first. Push-pull repairs what is
	// dropped.
	MaxQueue int

	// PushPullInterval is the base time between push-pulls of full state
	// with a random member; it grows with log2 of the cluster size beyond
	// 32 members, and shrinks to FastSyncInterval while exchanges keep
	// teaching something new.
	PushPullInterval time.Duration
	// FastSyncInterval is the push-pull interval while state is still
	// converging (after a join, after a partition heals).
	FastSyncInterval time.Duration
	// MaxConcurrentPushPull bounds the push-pulls answered at once (more
	// are refused) and the periodic push-pulls this node has in flight.
	MaxConcurrentPushPull int
	// StreamTimeout bounds one stream exchange.
	StreamTimeout time.Duration

	// ReconnectInterval is how often a member tries a push-pull with a
	// member it believes dead, so that a member cut off by a partition
	// rejoins by itself once the network heals.
	ReconnectInterval time.Duration
	// DeadReclaim is how long dead and departed members are remembered
	// (and retried for reconnection) before they are forgotten.
	DeadReclaim time.Duration

	// Lifeguard enables the local health multiplier, dynamic suspicion
	// timeouts confirmed by independent suspectors, and the buddy system.
	// With it off the detector is plain SWIM with a fixed suspicion
	// timeout of the minimum.
	Lifeguard bool
	// MaxHealth bounds the local health multiplier; timeouts are stretched
	// by up to this factor.
	MaxHealth int

	// OnEvent, when set, receives membership events in order. It must not
	// block for long; it may call the Node.
	OnEvent func(Event)
	// OnMessage, when set, receives application broadcasts (see
	// Node.Broadcast), each once. It is called with the node's lock held:
	// it must return quickly and must not call the Node. The slice is
	// only valid during the call.
	OnMessage func(b []byte)
}

// LAN returns defaults for members on one local network.
//
//	probe interval 1 s, ping timeout 300 ms (indirect probes get as long
//	again), 3 indirect checks, stream fallback on;
//	suspicion: min 0.8 × max(1, log10 n) × 1 s, max 4 × min, Lifeguard on,
//	health multiplier up to 8;
//	gossip every 200 ms to 3 members, 1,400-byte packets, each update sent
//	4 × ceil(log10(n+1)) times, at most 1,024 pending;
//	push-pull every 30 s (× (ceil(log2 n) − 4) beyond 32 members), every
//	1 s while views converge, at most 128 at once, 10 s stream timeout;
//	reconnection attempts every 10 s, dead members forgotten after 60 s.
func LAN() Config {
	return Config{
		ProbeInterval:         time.Second,
		ProbeTimeout:          300 * time.Millisecond,
		IndirectChecks:        3,
		StreamFallback:        true,
		SuspicionMult:         0.8,
		SuspicionMaxMult:      4,
		RetransmitMult:        4,
		GossipInterval:        200 * time.Millisecond,
		GossipNodes:           3,
		PacketSize:            1400,
		MaxQueue:              1024,
		PushPullInterval:      30 * time.Second,
		FastSyncInterval:      time.Second,
		MaxConcurrentPushPull: 128,
		StreamTimeout:         10 * time.Second,
		ReconnectInterval:     10 * time.Second,
		DeadReclaim:           60 * time.Second,
		Lifeguard:             true,
		MaxHealth:             8,
	}
}

// WAN returns defaults for members spread across wide-area links: LAN but
// with a 5 s probe interval and 2 s ping timeout, suspicion min 3 ×
// max(1, log10 n) × 5 s, gossip every 500 ms to 4 members, push-pull every
// 60 s (5 s while converging), 30 s stream timeout, reconnection every 30 s,
// dead members forgotten after 5 minutes.
func WAN() Config {
	c := LAN()
	c.ProbeInterval = 5 * time.Second
	c.ProbeTimeout = 2 * time.Second
	c.SuspicionMult = 3
	c.GossipInterval = 500 * time.Millisecond
	c.GossipNodes = 4
	c.PushPullInterval = 60 * time.Second
	c.FastSyncInterval = 5 * time.Second
	c.StreamTimeout = 30 * time.Second
	c.ReconnectInterval = 30 * time.Second
	c.DeadReclaim = 5 * time.Minute
	return c
}

// Local returns defaults for members on one machine, over loopback: LAN
// but with a 500 ms probe interval and 200 ms ping timeout, gossip every
// 100 ms, push-pull every 15 s (500 ms while converging), 5 s stream
// timeout, reconnection every 3 s, dead members forgotten after 30 s.
func Local() Config {
	c := LAN()
	c.ProbeInterval = 500 * time.Millisecond
	c.ProbeTimeout = 200 * time.Millisecond
	c.GossipInterval = 100 * time.Millisecond
	c.PushPullInterval = 15 * time.Second
	c.FastSyncInterval = 500 * time.Millisecond
	c.StreamTimeout = 5 * time.Second
	c.ReconnectInterval = 3 * time.Second
	c.DeadReclaim = 30 * time.Second
	return c
}

func (c *Config) check() error {
	switch {
	case c.Name == "" || len(c.Name) > maxNameLen:
		return errors.New("gossip: Config.Name must be 1 to 255 bytes")
	case c.Transport == nil:
		return errors.New("gossip: Config.Transport is required")
	case len(c.Label) > maxLabelLen:
		return errors.New("gossip: Config.Label must be at most 255 bytes")
	case c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 || 2*c.ProbeTimeout > c.ProbeInterval:
		return errors.New("gossip: need 0 < 2×ProbeTimeout <= ProbeInterval; start from LAN(), WAN() or Local()")
	case c.GossipInterval <= 0 || c.PushPullInterval <= 0 || c.FastSyncInterval <= 0 ||
		c.StreamTimeout <= 0 || c.ReconnectInterval <= 0 || c.DeadReclaim <= 0:
		return errors.New("gossip: intervals must be positive; start from LAN(), WAN() or Local()")
	case c.PacketSize < 512 || c.PacketSize > maxPacketLen:
		return errors.New("gossip: PacketSize must be between 512 and 65507")
	case c.SuspicionMult <= 0 || c.SuspicionMaxMult < 1:
		return errors.New("gossip: need SuspicionMult > 0 and SuspicionMaxMult >= 1")
	case c.RetransmitMult < 1 || c.GossipNodes < 1 || c.IndirectChecks < 0 || c.MaxQueue < 1 ||
		c.MaxConcurrentPushPull < 1 || c.MaxHealth < 1:
		return errors.New("gossip: counts must be positive; start from LAN(), WAN() or Local()")
	}
	if len(encodeMeta(c.Meta)) > maxMetaLen {
		return errors.New("gossip: Config.Meta encodes to more than 1024 bytes")
	}
	return nil
}
