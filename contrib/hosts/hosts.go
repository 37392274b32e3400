// Package hosts runs several "hosts" on one Linux machine for fault tests:
// each host is a network namespace with its own address on a private bridge,
// and the harness can run processes inside a host and then kill, freeze,
// isolate or degrade it.
//
// Layout. New creates a bridge (fwbr<id>, a name unique to the Net) with a
// private /24 from 10.0.0.0/8 chosen at random and checked against the
// machine's routes; the bridge itself takes .1, so the machine's own (root)
// namespace, where a test runs, reaches every host. Each AddHost makes a
// namespace fw-<id>-<name> with lo up and a veth pair: one end (eth0 inside
// the namespace, the next free address) and the other end attached to the
// bridge. The namespaces have no default route and the harness sets up no
// NAT or forwarding, so their traffic goes only to loopback, the other hosts
// and the bridge address: never to the machine's network.
//
// Faults. Processes run inside a host through nsenter (only the network
// and UTS namespaces change: `hostname` says the host's name, while the
// file system, cgroups and unix sockets are shared, so a munged socket or a
// shared directory work across hosts). Proc.Kill,
// Pause, Resume, Stop and Restart act on one process; Host.Cut, CutAll, Loss
// and Heal add or remove iptables DROP rules in the host's namespace (INPUT
// and OUTPUT). Latency is not offered: tc netem needs the sch_netem kernel
// module, which the machines this was written for do not have.
//
// Close kills every process the Net started and every process still inside
// its namespaces, then deletes the namespaces, the veths and the bridge.
// Everything needs root, ip (iproute2), nsenter (util-linux) and iptables.
package hosts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Options configure a Net.
type Options struct {
	// Logger receives what the harness does (namespaces, rules, process
	// starts and signals); nil discards it.
	Logger *slog.Logger
	// CommandTimeout bounds each ip, iptables or nsenter command the
	// harness runs; 0 means DefaultCommandTimeout.
	CommandTimeout time.Duration
}

// DefaultCommandTimeout bounds one ip or iptables command.
const DefaultCommandTimeout = 20 * time.Second

// MaxHosts is the most hosts one Net holds (the /24 less the bridge's
// address, the network and broadcast addresses).
const MaxHosts = 253

// Check reports why the harness cannot run on this machine: not root, or a
// tool missing (ip from iproute2, iptables, nsenter from util-linux). It
// returns nil when everything is there.
func Check() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("hosts: network namespaces need root"))
	}
	for _, t := range [...]string{"ip", "iptables", "nsenter"} {
		if _, err := exec.LookPath(t); err != nil {
			errs = append(errs, fmt.Errorf("hosts: %s is required (Debian packages iproute2, iptables, util-linux): %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Net is a bridge with hosts on it. Its methods are safe for concurrent use.
type Net struct {
	id      string
	bridge  string
	subnet  netip.Prefix
	gateway netip.Addr
	log     *slog.Logger
	timeout time.Duration

	mu      sync.Mutex
	hosts   []*Host
	forward bool // a FORWARD ACCEPT rule for the bridge was added in the root namespace
	closed  bool
}

// New creates the bridge and its subnet. The caller must Close the Net,
// also when a test fails.
func New(ctx context.Context, opts Options) (*Net, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	n := &Net{log: opts.Logger, timeout: opts.CommandTimeout}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.timeout <= 0 {
		n.timeout = DefaultCommandTimeout
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("hosts: random id: %w", err)
	}
	n.id = hex.EncodeToString(b[:])
	n.bridge = "fwbr" + n.id
	n.log = n.log.With("net", n.id)
	if _, err := n.cmd(ctx, "ip", "link", "add", n.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := n.setup(ctx); err != nil {
		if cerr := n.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return n, nil
}

// setup gives the bridge a free subnet and brings it up.
func (n *Net) setup(ctx context.Context) error {
	const tries = 32
	for range tries {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(mrand.IntN(256)), byte(mrand.IntN(256)), 0}), 24)
		used, err := n.routesOverlap(ctx, p, "")
		if err != nil {
			return err
		}
		if used {
			continue
		}
		gw := p.Addr().Next()
		if _, err := n.cmd(ctx, "ip", "addr", "add", netip.PrefixFrom(gw, 24).String(), "dev", n.bridge); err != nil {
			return err
		}
		// Another harness may have taken the same subnet meanwhile: look
		// again, now for routes on other devices.
		if used, err = n.routesOverlap(ctx, p, n.bridge); err != nil {
			return err
		}
		if used {
			if _, err := n.cmd(ctx, "ip", "addr", "del", netip.PrefixFrom(gw, 24).String(), "dev", n.bridge); err != nil {
				return err
			}
			continue
		}
		n.subnet, n.gateway = p, gw
		if _, err := n.cmd(ctx, "ip", "link", "set", n.bridge, "up"); err != nil {
			return err
		}
		return n.allowBridgedTraffic(ctx)
	}
	return fmt.Errorf("hosts: no free /24 in 10.0.0.0/8 after %d tries", tries)
}

// routesOverlap reports whether a route of any table, on a device other
// than except, overlaps p.
func (n *Net) routesOverlap(ctx context.Context, p netip.Prefix, except string) (bool, error) {
	out, err := n.cmd(ctx, "ip", "-4", "-o", "route", "show", "table", "all")
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dst := f[0]
		switch dst {
		case "default", "unreachable", "prohibit", "blackhole", "local", "broadcast", "multicast", "unicast", "throw":
			if dst == "default" || len(f) < 2 {
				continue
			}
			dst = f[1]
		}
		if except != "" && strings.Contains(" "+strings.TrimSpace(line)+" ", " dev "+except+" ") {
			continue
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		rp, err := netip.ParsePrefix(dst)
		if err != nil {
			continue // not an IPv4 destination we understand
		}
		if rp.Bits() > 0 && rp.Overlaps(p) {
			return true, nil
		}
	}
	return false, nil
}

// allowBridgedTraffic accepts traffic between the bridge's ports in the
// root namespace's FORWARD chain when bridged frames pass iptables
// (br_netfilter) and that chain drops by default (as Docker sets it).
func (n *Net) allowBridgedTraffic(ctx context.Context) error {
	data, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	if err != nil || strings.TrimSpace(string(data)) != "1" {
		return nil // bridged frames do not pass iptables
	}
	out, err := n.cmd(ctx, "iptables", "-w", "-S", "FORWARD")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "-P FORWARD DROP") {
		return nil
	}
	if _, err := n.cmd(ctx, "iptables", "-w", "-I", "FORWARD", "-i", n.bridge, "-o", n.bridge, "-j", "ACCEPT"); err != nil {
		return err
	}
	n.forward = true
	return nil
}

// ID is the Net's random identifier, part of every name it creates.
func (n *Net) ID() string { return n.id }

// Bridge is the bridge's interface name.
func (n *Net) Bridge() string { return n.bridge }

// Subnet is the Net's /24.
func (n *Net) Subnet() netip.Prefix { return n.subnet }

// Gateway is the bridge's own address: where the root namespace (the test
// process) appears to the hosts.
func (n *Net) Gateway() netip.Addr { return n.gateway }

// Hosts returns the hosts added so far, in order.
func (n *Net) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Host(nil), n.hosts...)
}

// AddHost creates a host: a namespace with lo up and eth0 on the bridge at
// the next free address. name must be unique in the Net: letters, digits,
// '-' and '_'.
func (n *Net) AddHost(ctx context.Context, name string) (*Host, error) {
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return nil, fmt.Errorf("hosts: invalid host name %q", name)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("hosts: net is closed")
	}
	for _, h := range n.hosts {
		if h.name == name {
			n.mu.Unlock()
			return nil, fmt.Errorf("hosts: host %q exists", name)
		}
	}
	idx := len(n.hosts)
	if idx >= MaxHosts {
		n.mu.Unlock()
		return nil, fmt.Errorf("hosts: at most %d hosts", MaxHosts)
	}
	addr := n.gateway
	for range idx + 1 {
		addr = addr.Next()
	}
	h := &Host{net: n, name: name, ns: "fw-" + n.id + "-" + name, veth: fmt.Sprintf("fw%sv%d", n.id, idx), addr: addr,
		log: n.log.With("host", name)}
	n.hosts = append(n.hosts, h) // Close removes whatever part of it exists
	n.mu.Unlock()

	steps := [][]string{
		{"ip", "netns", "add", h.ns},
		{"ip", "link", "add", h.veth, "type", "veth", "peer", "name", h.veth + "p"},
		{"ip", "link", "set", h.veth + "p", "netns", h.ns},
		{"ip", "link", "set", h.veth, "master", n.bridge},
		{"ip", "link", "set", h.veth, "up"},
		{"ip", "-n", h.ns, "link", "set", h.veth + "p", "name", "eth0"},
		{"ip", "-n", h.ns, "addr", "add", netip.PrefixFrom(addr, 24).String(), "dev", "eth0"},
		{"ip", "-n", h.ns, "link", "set", "eth0", "up"},
		{"ip", "-n", h.ns, "link", "set", "lo", "up"},
		{"mkdir", "-p", utsDir},
		{"touch", h.utsPath()},
		// Its own UTS namespace: `hostname` in the host says its name.
		{"unshare", "--uts=" + h.utsPath(), "hostname", name},
	}
	for _, s := range steps {
		if _, err := n.cmd(ctx, s[0], s[1:]...); err != nil {
			return nil, fmt.Errorf("hosts: add host %s: %w", name, err)
		}
	}
	h.log.Info("host added", "namespace", h.ns, "addr", addr)
	return h, nil
}

// cmd runs a command bounded by the Net's command timeout and returns its
// standard output.
func (n *Net) cmd(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Close kills the processes, then deletes the namespaces, the veths, the
// bridge and any rule it added in the root namespace. It returns the
// errors it met but always tries every step; closing twice is a no-op.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	hosts := append([]*Host(nil), n.hosts...)
	n.mu.Unlock()

	// Cleanup must run even when the test's context has ended.
	ctx := context.Background()
	var errs []error
	for _, h := range hosts {
		errs = append(errs, h.close(ctx))
	}
	if n.forward {
		if _, err := n.cmd(ctx, "iptables", "-w", "-D", "FORWARD", "-i", n.bridge, "-o", n.bridge, "-j", "ACCEPT"); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := n.cmd(ctx, "ip", "link", "del", n.bridge); err != nil && !notFound(err) {
		errs = append(errs, err)
	}
	n.log.Info("net closed")
	return errors.Join(errs...)
}

// notFound reports whether an ip command failed because the object was
// already gone.
func notFound(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find device") || strings.Contains(s, "No such file") || strings.Contains(s, "does not exist")
}
