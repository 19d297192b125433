package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

const childEnv = "H2RPC_GOSSIP_AGENT_CHILD"

// TestMain lets the test binary run as an agent process when childEnv is
// set: the arguments are bind, join, name and keyring file, separated by
// spaces in the variable.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(strings.Split(spec, " ")))
	}
	os.Exit(m.Run())
}

func runChild(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			reload <- struct{}{}
		}
	}()
	o := Options{Bind: args[0], Name: args[2], KeyringFile: args[3], Preset: "local", Out: os.Stdout, Reload: reload,
		Meta: map[string]string{"rpc": args[0], "services": "greeter"}}
	if args[1] != "-" {
		o.Join = strings.Split(args[1], ",")
	}
	if err := Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// proc is one agent process and the lines it printed.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func (p *proc) has(prefix string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// addr returns the address from the agent's first line.
func (p *proc) addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Fields(p.lines[0])[2]
}

func (p *proc) count(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func startAgent(t *testing.T, bind, join, name, keyfile string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %s", childEnv, bind, join, name, keyfile))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		cmd.Wait()
	}()
	return p
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	if !cond() {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

func writeKeys(t *testing.T, path string, keys ...[]byte) {
	t.Helper()
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	if err := os.WriteFile(path+".tmp", b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func TestAgentsFormClusterOnLoopback(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	keyfile := filepath.Join(dir, "keys")
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	writeKeys(t, keyfile, k1)

	const n = 5
	procs := make([]*proc, n)
	addrs := make([]string, n)
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	}()
	procs[0] = startAgent(t, "127.0.0.1:0", "-", "a0", keyfile)
	waitFor(t, "the first agent to report its address", 10*time.Second, func() bool { return procs[0].has("agent a0 ") })
	addrs[0] = procs[0].addr()
	for i := 1; i < n; i++ {
		procs[i] = startAgent(t, "127.0.0.1:0", addrs[0], fmt.Sprintf("a%d", i), keyfile)
	}
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("a%d", i)
		waitFor(t, name+" to start", 10*time.Second, func() bool { return procs[i].has("agent " + name + " ") })
		addrs[i] = procs[i].addr()
	}
	everyoneSees := func(prefix func(j int) string) func() bool {
		return func() bool {
			for i, p := range procs {
				for j := range procs {
					if i != j && p != nil && procs[j] != nil && !p.has(prefix(j)) {
						return false
					}
				}
			}
			return true
		}
	}
	waitFor(t, "a full view everywhere", 20*time.Second, everyoneSees(func(j int) string { return fmt.Sprintf("join a%d ", j) }))

	// Rotate the key while the cluster runs: install, switch, retire.
	signalAll := func(want string) {
		before := make([]int, n)
		for i, p := range procs {
			before[i] = p.count(want)
			p.cmd.Process.Signal(syscall.SIGHUP)
			// Members change one at a time, as in a rolling deploy.
			time.Sleep(200 * time.Millisecond)
		}
		for i, p := range procs {
			waitFor(t, fmt.Sprintf("a%d to reload (%s)", i, want), 10*time.Second, func() bool { return p.count(want) > before[i] })
		}
		time.Sleep(time.Second)
	}
	writeKeys(t, keyfile, k1, k2)
	signalAll("keyring reloaded: 2 keys")
	writeKeys(t, keyfile, k2, k1)
	signalAll("keyring reloaded: 2 keys")
	writeKeys(t, keyfile, k2)
	signalAll("keyring reloaded: 1 keys")
	time.Sleep(2 * time.Second)
	// Suspicions may come and go on a loaded machine; a death would mean
	// the rotation cut members off.
	for i, p := range procs {
		if p.has("dead ") {
			p.mu.Lock()
			t.Fatalf("a%d saw failures during the key rotation:\n%s", i, strings.Join(p.lines, "\n"))
		}
	}

	// Kill one: everyone else sees it dead.
	procs[4].cmd.Process.Kill()
	<-procs[4].done
	procs[4] = nil
	waitFor(t, "a4 dead everywhere", 20*time.Second, func() bool {
		for _, p := range procs[:4] {
			if !p.has("dead a4 ") {
				return false
			}
		}
		return true
	})

	// Restart it at the same address: it rejoins with a higher incarnation.
	procs[4] = startAgent(t, addrs[4], addrs[0], "a4", keyfile)
	waitFor(t, "a4 to rejoin everywhere with a higher incarnation", 20*time.Second, func() bool {
		for _, p := range procs[:4] {
			p.mu.Lock()
			ok := false
			for _, l := range p.lines {
				if strings.HasPrefix(l, "join a4 ") && !strings.Contains(l, " inc=0") {
					ok = true
				}
			}
			p.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})

	// A clean stop leaves the cluster.
	procs[2].cmd.Process.Signal(syscall.SIGTERM)
	<-procs[2].done
	if code := procs[2].cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("agent exited with %d after SIGTERM", code)
	}
	procs[2] = nil
	waitFor(t, "a2's departure everywhere", 10*time.Second, func() bool {
		for _, i := range []int{0, 1, 3, 4} {
			if !procs[i].has("leave a2 ") {
				return false
			}
		}
		return true
	})
}

func TestParseMetaAndKeys(t *testing.T) {
	m, err := ParseMeta([]string{"rpc=127.0.0.1:1", "services=a,b"})
	if err != nil || m["rpc"] != "127.0.0.1:1" || m["services"] != "a,b" {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := ParseMeta([]string{"novalue"}); err == nil {
		t.Fatal("accepted metadata without '='")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	os.WriteFile(p, []byte("# comment\n"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600)
	if keys, err := ReadKeys(p); err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
	os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))+"\n"), 0o600)
	if _, err := ReadKeys(p); err == nil {
		t.Fatal("accepted a 16-byte key")
	}
	if _, err := Preset("moon"); err == nil {
		t.Fatal("accepted an unknown preset")
	}
}
