package dns

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/internal/resolvertest"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// configCC is a ClientConn whose ParseServiceConfig records the JSON it is
// given and returns it as the config.
type configCC struct {
	*resolvertest.ClientConn

	mu     sync.Mutex
	parsed []string
}

// parsedConfig is the config configCC's ParseServiceConfig returns: the
// JSON it was given.
type parsedConfig struct {
	serviceconfig.Config
	json string
}

func (c *configCC) ParseServiceConfig(js string) *serviceconfig.ParseResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parsed = append(c.parsed, js)
	return &serviceconfig.ParseResult{Config: parsedConfig{json: js}}
}

// Parsed returns and forgets the JSON ParseServiceConfig was given so far.
func (c *configCC) Parsed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parsed
	c.parsed = nil
	return p
}

// buildConfig builds the dns resolver of name.test:1 at s, with opts.
func buildConfig(t *testing.T, s *dnsServer, opts resolver.BuildOptions) (resolver.Resolver, *configCC) {
	t.Helper()
	cc := &configCC{ClientConn: resolvertest.NewClientConn()}
	r, err := NewBuilder().Build(resolvertest.Target(t, "dns://"+s.Addr()+"/name.test:1"), cc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, cc
}

// config checks that e is a state with the addresses of name.test and
// returns the JSON of its service config: "" for none.
func config(t *testing.T, e resolvertest.Event, what string) string {
	t.Helper()
	if e.Err != nil {
		t.Fatalf("%s: error %v, want a state", what, e.Err)
	}
	if got := resolvertest.Addrs(e.State); !slices.Equal(got, []string{"10.0.0.1:1"}) {
		t.Fatalf("%s: addresses %q, want [10.0.0.1:1]", what, got)
	}
	sc := e.State.ServiceConfig
	if sc == nil {
		return ""
	}
	if sc.Err != nil {
		t.Fatalf("%s: service config error %v, want a config", what, sc.Err)
	}
	return sc.Config.(parsedConfig).json
}

const txtName = configPrefix + "name.test"

// resolveConfig serves name.test with the given TXT records and returns
// the service config JSON of the state its resolver pushes, and the JSON
// it had parsed.
func resolveConfig(t *testing.T, records ...[]string) (string, []string) {
	t.Helper()
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	s.SetTXT(txtName, records...)
	var got string
	var parsed []string
	synctest.Test(t, func(t *testing.T) {
		r, cc := buildConfig(t, s, resolver.BuildOptions{})
		defer r.Close()
		got = config(t, take(t, cc.ClientConn, "Build"), "Build")
		parsed = cc.Parsed()
	})
	if n := s.Queries(txtName); n != 1 {
		t.Fatalf("%d TXT queries, want 1", n)
	}
	return got, parsed
}

// TestTXTServiceConfig: the chosen serviceConfig object, as the record
// has it, is what the channel parses and the state carries.
func TestTXTServiceConfig(t *testing.T) {
	const sc = `{"loadBalancingConfig":[{"round_robin":{}}]}`
	got, parsed := resolveConfig(t, []string{`grpc_config=[{"clientLanguage":["java"],"serviceConfig":{"n":1}},{"serviceConfig":` + sc + `}]`})
	if got != sc || !slices.Equal(parsed, []string{sc}) {
		t.Fatalf("state's config %#q, parsed %#q; want %#q", got, parsed, sc)
	}
}

// TestTXTStringsJoined: a record's strings are joined before its text is
// read, even where they split the attribute name (RFC 4408 §3.1.3).
func TestTXTStringsJoined(t *testing.T) {
	long := strings.Repeat("x", 250)
	want := `{"name":"` + long + `"}`
	got, _ := resolveConfig(t, []string{"grpc_", `config=[{"serviceConfig":{"name":"`, long, `"}}]`})
	if got != want {
		t.Fatalf("config %#q, want %#q", got, want)
	}
}

// TestOtherTXTRecordsIgnored: records that do not begin with grpc_config=
// are not read, and of two that do, the first is.
func TestOtherTXTRecordsIgnored(t *testing.T) {
	others := [][]string{
		{"v=spf1 -all"},
		{`[{"serviceConfig":{"n":0}}]`},
		{` grpc_config=[{"serviceConfig":{"n":0}}]`},
		{`GRPC_CONFIG=[{"serviceConfig":{"n":0}}]`},
		{`grpc_config:[{"serviceConfig":{"n":0}}]`},
		{"grpc_config"},
	}
	got, parsed := resolveConfig(t, others...)
	if got != "" || len(parsed) != 0 {
		t.Fatalf("config %#q, parsed %#q from records without grpc_config=", got, parsed)
	}
	got, _ = resolveConfig(t, append(others, []string{`grpc_config=[{"serviceConfig":{"n":1}}]`}, []string{`grpc_config=[{"serviceConfig":{"n":2}}]`})...)
	if got != `{"n":1}` {
		t.Fatalf("config %#q, want the first grpc_config record's", got)
	}
}

// TestTXTHostname: clientHostname is matched against os.Hostname().
func TestTXTHostname(t *testing.T) {
	h, err := os.Hostname()
	if err != nil || h == "" {
		t.Fatalf("os.Hostname: %q, %v", h, err)
	}
	got, _ := resolveConfig(t, []string{`grpc_config=[` +
		`{"clientHostname":[` + q(h+"x") + `,` + q(strings.ToUpper(h)+"X") + `],"serviceConfig":{"n":1}},` +
		`{"clientHostname":["other",` + q(h) + `],"serviceConfig":{"n":2}}]`})
	if got != `{"n":2}` {
		t.Fatalf("config %#q, want the choice that names %q", got, h)
	}
}

// TestTXTNoChoiceApplies: a record none of whose choices applies gives no
// service config, and nothing is parsed.
func TestTXTNoChoiceApplies(t *testing.T) {
	got, parsed := resolveConfig(t, []string{`grpc_config=[{"clientLanguage":["c++"],"serviceConfig":{"n":1}},{"percentage":0,"serviceConfig":{"n":2}}]`})
	if got != "" || len(parsed) != 0 {
		t.Fatalf("config %#q, parsed %#q; want none", got, parsed)
	}
}

// TestTXTInvalidRecord: a grpc_config record that is not valid JSON, or
// holds a choice that is not valid, gives a ParseResult with an error (so
// the channel keeps its config) beside the addresses, without asking the
// channel to parse anything.
func TestTXTInvalidRecord(t *testing.T) {
	for _, tc := range []struct{ record, wantErr string }{
		{`grpc_config=[{"serviceConfig":{"n":1}`, "not a JSON array"},
		{`grpc_config=`, "not a JSON array"},
		{`grpc_config={"serviceConfig":{"n":1}}`, "not a JSON array"},
		{`grpc_config=[{"serviceConfig":{"n":1},"clientLang":["go"]}]`, `"clientLang": is not a field`},
		{`grpc_config=[{"serviceConfig":{"n":1}},{"percentage":101,"serviceConfig":{}}]`, "101 is not an integer"},
	} {
		t.Run(tc.record, func(t *testing.T) {
			s := setup(t)
			s.Set("name.test", "10.0.0.1")
			s.SetTXT(txtName, []string{tc.record})
			synctest.Test(t, func(t *testing.T) {
				r, cc := buildConfig(t, s, resolver.BuildOptions{})
				defer r.Close()
				e := take(t, cc.ClientConn, "Build")
				if got := resolvertest.Addrs(e.State); e.Err != nil || !slices.Equal(got, []string{"10.0.0.1:1"}) {
					t.Fatalf("channel was told %v, want the address", e)
				}
				sc := e.State.ServiceConfig
				if sc == nil || sc.Err == nil || sc.Config != nil {
					t.Fatalf("service config %+v, want an error alone", sc)
				}
				if msg := sc.Err.Error(); !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, txtName) {
					t.Fatalf("error %q, want one naming %s that says %q", msg, txtName, tc.wantErr)
				}
				if p := cc.Parsed(); len(p) != 0 {
					t.Fatalf("the channel was asked to parse %#q", p)
				}
			})
		})
	}
}

// TestTXTFailureKeepsAddresses: a TXT lookup that fails (no such name,
// SERVFAIL, REFUSED) gives a state with the addresses and no service
// config; a config seen before is not kept by the resolver.
func TestTXTFailureKeepsAddresses(t *testing.T) {
	for _, rcode := range []dnsmessage.RCode{dnsmessage.RCodeNameError, dnsmessage.RCodeServerFailure, dnsmessage.RCodeRefused} {
		t.Run(rcode.String(), func(t *testing.T) {
			s := setup(t)
			s.Set("name.test", "10.0.0.1")
			s.SetTXT(txtName, []string{`grpc_config=[{"serviceConfig":{"n":1}}]`})
			synctest.Test(t, func(t *testing.T) {
				r, cc := buildConfig(t, s, resolver.BuildOptions{})
				defer r.Close()
				if got := config(t, take(t, cc.ClientConn, "Build"), "Build"); got != `{"n":1}` {
					t.Fatalf("first config %#q", got)
				}
				s.Fail(txtName, rcode)
				time.Sleep(time.Minute)
				r.ResolveNow(resolver.ResolveNowOptions{})
				if got := config(t, take(t, cc.ClientConn, "ResolveNow"), "TXT "+rcode.String()); got != "" {
					t.Fatalf("config %#q after the TXT lookup failed, want none", got)
				}
				// The failure is no failure of the resolution: nothing
				// more is pushed without ResolveNow.
				time.Sleep(time.Hour)
				none(t, cc.ClientConn, "after the TXT failure")
			})
		})
	}
}

// TestTXTTimeoutKeepsAddresses: a TXT query the server never answers ends
// with the resolving timeout, and the state still has the addresses.
func TestTXTTimeoutKeepsAddresses(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	s.DropName(txtName)
	SetResolvingTimeout(100 * time.Millisecond)
	r, cc := buildConfig(t, s, resolver.BuildOptions{})
	SetResolvingTimeout(defaultResolvingTimeout)
	defer r.Close()
	e, _ := cc.Next(nil)
	if got := config(t, e, "TXT timeout"); got != "" {
		t.Fatalf("config %#q", got)
	}
	if s.Queries(txtName) == 0 {
		t.Fatal("no TXT query was sent")
	}
}

// TestTXTAddressFailure: when the addresses cannot be resolved, the error
// is reported whatever the TXT record holds.
func TestTXTAddressFailure(t *testing.T) {
	s := setup(t)
	s.Fail("name.test", dnsmessage.RCodeNameError)
	s.SetTXT(txtName, []string{`grpc_config=[{"serviceConfig":{"n":1}}]`})
	synctest.Test(t, func(t *testing.T) {
		r, cc := buildConfig(t, s, resolver.BuildOptions{})
		defer r.Close()
		if e := take(t, cc.ClientConn, "Build"); e.Err == nil {
			t.Fatalf("channel was told %v, want an error", e)
		}
	})
}

// TestDisableServiceConfig: with DisableServiceConfig no TXT query is
// sent, over several resolutions.
func TestDisableServiceConfig(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	s.SetTXT(txtName, []string{`grpc_config=[{"serviceConfig":{"n":1}}]`})
	synctest.Test(t, func(t *testing.T) {
		r, cc := buildConfig(t, s, resolver.BuildOptions{DisableServiceConfig: true})
		defer r.Close()
		for i := range 3 {
			if got := config(t, take(t, cc.ClientConn, "resolution"), "resolution"); got != "" {
				t.Fatalf("resolution %d: config %#q", i, got)
			}
			time.Sleep(time.Minute)
			r.ResolveNow(resolver.ResolveNowOptions{})
		}
		if p := cc.Parsed(); len(p) != 0 {
			t.Fatalf("parsed %#q", p)
		}
	})
	if a, txt := s.Queries("name.test"), s.Queries(txtName); a < 6 || txt != 0 {
		t.Fatalf("%d address and %d TXT queries, want at least 6 and none", a, txt)
	}
}

// TestTXTAskedWithAddresses: the TXT query is sent while the address
// queries wait for their answers, not after: the server answers neither
// until it has both.
func TestTXTAskedWithAddresses(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	s.SetTXT(txtName, []string{`grpc_config=[{"serviceConfig":{"n":1}}]`})
	s.AnswerTogether("name.test", txtName)
	SetResolvingTimeout(10 * time.Second)
	r, cc := buildConfig(t, s, resolver.BuildOptions{})
	SetResolvingTimeout(defaultResolvingTimeout)
	defer r.Close()
	e, _ := cc.Next(nil)
	if got := config(t, e, "Build"); got != `{"n":1}` {
		t.Fatalf("config %#q", got)
	}
}

// TestPercentageDrawnOncePerResolver: a resolver draws its number once:
// every resolution of one resolver takes the same choice, and resolvers
// with the numbers of a seeded source take a percentage choice exactly
// when their number is below it.
func TestPercentageDrawnOncePerResolver(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	s.SetTXT(txtName, []string{`grpc_config=[{"percentage":30,"serviceConfig":{"n":1}},{"serviceConfig":{"n":2}}]`})
	defer func(f func() int) { rollPercent = f }(rollPercent)
	const seed = 7
	src := rand.New(rand.NewPCG(seed, seed))
	rollPercent = func() int { return src.IntN(100) }
	check := rand.New(rand.NewPCG(seed, seed))
	SetMinResolutionInterval(0)
	defer SetMinResolutionInterval(defaultMinResolutionInterval)
	taken := 0
	const resolvers = 40
	synctest.Test(t, func(t *testing.T) {
		for i := range resolvers {
			want := `{"n":2}`
			if check.IntN(100) < 30 {
				want = `{"n":1}`
				taken++
			}
			r, cc := buildConfig(t, s, resolver.BuildOptions{})
			for j := range 3 {
				if got := config(t, take(t, cc.ClientConn, "resolution"), "resolution"); got != want {
					r.Close()
					t.Fatalf("resolver %d, resolution %d: config %#q, want %#q", i, j, got, want)
				}
				r.ResolveNow(resolver.ResolveNowOptions{})
			}
			r.Close()
		}
	})
	// The seed's numbers take the 30 % choice some times, not always.
	if taken == 0 || taken == resolvers {
		t.Fatalf("%d of %d resolvers took the 30%% choice", taken, resolvers)
	}
}

// TestPercentageBounds: with the lowest and highest numbers a resolver can
// draw, percentage 0 is never taken and 100 always.
func TestPercentageBounds(t *testing.T) {
	defer func(f func() int) { rollPercent = f }(rollPercent)
	for _, roll := range []int{0, 99} {
		rollPercent = func() int { return roll }
		got, _ := resolveConfig(t, []string{`grpc_config=[{"percentage":0,"serviceConfig":{"n":0}},{"percentage":100,"serviceConfig":{"n":100}}]`})
		if got != `{"n":100}` {
			t.Fatalf("number %d: config %#q, want the 100%% choice", roll, got)
		}
	}
}

// TestRollPercentRange: the numbers resolvers draw are 0 to 99.
func TestRollPercentRange(t *testing.T) {
	var seen [100]bool
	for range 20000 {
		n := rollPercent()
		if n < 0 || n > 99 {
			t.Fatalf("drew %d", n)
		}
		seen[n] = true
	}
	if i := slices.Index(seen[:], false); i >= 0 {
		t.Fatalf("%d never drawn in 20000 draws", i)
	}
}

// TestLocalhostNoTXT: localhost, resolved from the hosts file, sends no
// TXT query to the DNS server (RFC 6761 §6.3).
func TestLocalhostNoTXT(t *testing.T) {
	s := setup(t)
	for _, h := range []string{"localhost", "LOCALHOST"} {
		cc := &configCC{ClientConn: resolvertest.NewClientConn()}
		r, err := NewBuilder().Build(resolvertest.Target(t, "dns://"+s.Addr()+"/"+h+":1"), cc, resolver.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := cc.Next(nil)
		r.Close()
		if e.Err != nil || e.State.ServiceConfig != nil || len(e.State.Addresses) == 0 {
			t.Fatalf("%s: channel was told %v, want addresses and no service config", h, e)
		}
	}
	if n := s.Queries(configPrefix + "localhost"); n != 0 {
		t.Fatalf("%d TXT queries for localhost", n)
	}
	for _, tc := range []struct {
		host string
		want bool
	}{{"localhost", true}, {"a.b.LOCALHOST.", true}, {"localhost.test", false}, {"notlocalhost", false}, {"xlocalhost.", false}} {
		if got := isLocalhost(tc.host); got != tc.want {
			t.Errorf("isLocalhost(%q) = %v", tc.host, got)
		}
	}
}
