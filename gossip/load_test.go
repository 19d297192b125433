package gossip

import "testing"

func TestLoadRoundTrips(t *testing.T) {
	l := Load{InFlight: 12, QPS: 850.4, Utilization: 0.314}
	s := l.String()
	if s != "12,850,0.31" {
		t.Fatalf("String() = %q, want 12,850,0.31", s)
	}
	got, ok := ParseLoad(s)
	if !ok || got != (Load{InFlight: 12, QPS: 850, Utilization: 0.31}) {
		t.Fatalf("ParseLoad(%q) = %v, %v", s, got, ok)
	}
	for _, bad := range []string{"", "1,2", "1,2,3,4", "-1,2,0.5", "1,-2,0.5", "1,2,1.5", "1,NaN,0.5", "1,+Inf,0.5", "1,2,NaN", "x,2,0.5"} {
		if _, ok := ParseLoad(bad); ok {
			t.Errorf("ParseLoad(%q) accepted", bad)
		}
	}
	m := Member{Meta: map[string]string{MetaLoad: "3,4,0.50"}}
	if l, ok := m.Load(); !ok || l.InFlight != 3 || l.QPS != 4 || l.Utilization != 0.5 {
		t.Fatalf("Member.Load() = %v, %v", l, ok)
	}
}
