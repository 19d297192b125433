package connectivity

import "testing"

// TestStateNames: the names gRPC's connectivity document gives the states.
func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{
		Idle: "IDLE", Connecting: "CONNECTING", Ready: "READY",
		TransientFailure: "TRANSIENT_FAILURE", Shutdown: "SHUTDOWN", State(42): "INVALID_STATE",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d) = %q, want %q", int(s), got, want)
		}
	}
}
