package swarm_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/swarm"
)

// requestLoop sends GET /health requests, one after another, until stop is
// closed, and counts those that no task answered.
type requestLoop struct {
	mu               sync.Mutex
	sent, unanswered int
	failovers        int
	firstUnanswered  string
	stop             chan struct{}
	done             sync.WaitGroup
	client           *http.Client
}

func newRequestLoop() *requestLoop {
	return &requestLoop{stop: make(chan struct{}), client: &http.Client{Timeout: 2 * time.Second,
		// A new connection per request: a kept-alive one would stay with
		// one task and show nothing of the others coming and going.
		Transport: &http.Transport{DisableKeepAlives: true}}}
}

// run sends requests to the addresses targets gives for each; a request is
// answered when one of them answers it (a client that knows several
// addresses tries the next when one refuses, as a balancer in front of
// host-mode ports does).
func (l *requestLoop) run(targets func() []string) {
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			addrs := targets()
			ok, tried := false, 0
			var last error
			for _, a := range addrs {
				tried++
				resp, err := l.client.Get("http://" + a + "/health")
				if err == nil {
					resp.Body.Close()
					if ok = resp.StatusCode == http.StatusOK; ok {
						break
					}
					err = fmt.Errorf("%s answered %s", a, resp.Status)
				}
				last = err
			}
			l.mu.Lock()
			l.sent++
			if tried > 1 && ok {
				l.failovers++
			}
			if !ok {
				l.unanswered++
				if l.firstUnanswered == "" {
					l.firstUnanswered = fmt.Sprintf("%d addresses %v: %v", len(addrs), addrs, last)
				}
			}
			l.mu.Unlock()
		}
	}()
}

func (l *requestLoop) finish() {
	close(l.stop)
	l.done.Wait()
}

func (l *requestLoop) check(t *testing.T, through string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == 0 {
		t.Fatalf("no request was sent through %s", through)
	}
	if l.unanswered > 0 {
		t.Errorf("%d of %d requests through %s were not answered; the first: %s", l.unanswered, l.sent, through, l.firstUnanswered)
		return
	}
	t.Logf("%d requests through %s, all answered (%d answered by another task after one refused)", l.sent, through, l.failovers)
}

// hostPorts are the host-mode published ports of the service's tasks that
// run and are wanted running, as 127.0.0.1:PORT.
func hostPorts(svc *runtime.Service) []string {
	ts, err := cli.TaskList(context.Background(), dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", swarm.Name(svc)))})
	if err != nil {
		return nil
	}
	var out []string
	for _, tk := range ts {
		if tk.DesiredState != dswarm.TaskStateRunning || tk.Status.State != dswarm.TaskStateRunning || tk.Status.ContainerStatus == nil {
			continue
		}
		// A host-mode port is published once per address family, and the
		// two families may get different ports (each has its own allocator,
		// and a binding to 127.0.0.1 elsewhere moves only IPv4's): the
		// address to reach is the IPv4 binding, which only the container
		// knows.
		c, err := cli.ContainerInspect(context.Background(), tk.Status.ContainerStatus.ContainerID)
		if err != nil || c.NetworkSettings == nil {
			continue
		}
		for _, bindings := range c.NetworkSettings.Ports {
			for _, b := range bindings {
				if ip := net.ParseIP(b.HostIP); ip == nil || ip.To4() != nil {
					out = append(out, "127.0.0.1:"+b.HostPort)
				}
			}
		}
	}
	return out
}

// meshAddr is the routing mesh's address of the service's ingress port and,
// when the mesh does not answer there within a few seconds, why.
func meshAddr(t *testing.T, svc *runtime.Service) (addr, notAnswering string) {
	s, _, err := cli.ServiceInspectWithRaw(context.Background(), swarm.Name(svc), dswarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Endpoint.Ports {
		if p.PublishMode == dswarm.PortConfigPublishModeIngress && p.PublishedPort != 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", p.PublishedPort)
		}
	}
	if addr == "" {
		t.Fatalf("the service has no ingress port: %+v", s.Endpoint.Ports)
	}
	if _, err := os.Stat("/proc/sys/net/ipv4/vs"); err != nil {
		// The ingress network balances through IPVS in its sandbox; the
		// daemon logs "error reading the kernel parameter net.ipv4.vs...".
		return addr, "this kernel has no IPVS (no /proc/sys/net/ipv4/vs: built without CONFIG_IP_VS, and it loads no modules), which the ingress routing mesh needs to reach the tasks"
	}
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			return addr, ""
		}
		if time.Now().After(deadline) {
			return addr, fmt.Sprintf("the routing mesh did not answer on %s within 10s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
