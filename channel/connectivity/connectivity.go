package connectivity

// State is the connectivity state of a subchannel or of a whole channel.
type State int

const (
	// Idle: no connection, and none is being made until something asks.
	Idle State = iota
	// Connecting: a connection is being made.
	Connecting
	// Ready: a connection is up and takes calls.
	Ready
	// TransientFailure: connecting failed; it is retried after a backoff.
	TransientFailure
	// Shutdown: closed for good.
	Shutdown
)

// String returns the state's name as gRPC's connectivity documents spell
// it: IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN.
func (s State) String() string {
	switch s {
	case Idle:
		return "IDLE"
	case Connecting:
		return "CONNECTING"
	case Ready:
		return "READY"
	case TransientFailure:
		return "TRANSIENT_FAILURE"
	case Shutdown:
		return "SHUTDOWN"
	}
	return "INVALID_STATE"
}
