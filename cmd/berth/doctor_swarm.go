package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// registryTimeout bounds the daemon's look at one registry.
const registryTimeout = 10 * time.Second

// swarmNeed says which service of the manifest runs on swarm ("" for none).
func swarmNeed(env *metadata.Env) string {
	if env == nil {
		return ""
	}
	for _, name := range env.Manifest.ServiceOrder {
		if env.Manifest.Services[name].Runner == metadata.RunnerSwarm {
			return "service " + name + " runs on swarm"
		}
	}
	return ""
}

// swarmChecks reports the daemon's swarm (inactive, manager or worker; a
// manager lists the nodes and their state) and, for each registry the
// manifest names, whether the daemon reaches it.
func swarmChecks(ctx context.Context, env *metadata.Env) []check {
	cli, err := engine.NewClient(ctx, engine.Endpoint{})
	if err != nil {
		return []check{{Name: "swarm", Detail: "unknown: the daemon is unreachable", Hint: "start the Docker daemon"}}
	}
	defer cli.Close()
	out := []check{swarmState(ctx, cli)}
	return append(out, registryChecks(ctx, cli, env)...)
}

func swarmState(ctx context.Context, cli engine.API) check {
	c := check{Name: "swarm"}
	info, err := cli.Info(ctx)
	if err != nil {
		c.Detail, c.Hint = fmt.Sprintf("unknown: %v", err), "check the daemon's logs"
		return c
	}
	switch {
	case info.Swarm.LocalNodeState == swarm.LocalNodeStateInactive:
		c.Detail, c.Hint = "inactive", "make this daemon a swarm manager (docker swarm init) or join a swarm (docker swarm join)"
		return c
	case info.Swarm.LocalNodeState != swarm.LocalNodeStateActive:
		c.Detail, c.Hint = string(info.Swarm.LocalNodeState), "wait for the swarm to settle, or leave it (docker swarm leave)"
		return c
	case !info.Swarm.ControlAvailable:
		c.Detail, c.Hint = fmt.Sprintf("worker (node %s); berth needs a manager", info.Swarm.NodeID), "point DOCKER_HOST at a manager of the swarm"
		return c
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		c.Detail, c.Hint = fmt.Sprintf("manager, but its nodes cannot be listed: %v", err), "check the daemon's logs"
		return c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("manager; %d node(s): %s", len(nodes), describeNodes(nodes))
	return c
}

// describeNodes is "host1 ready active leader, host2 down active".
func describeNodes(nodes []swarm.Node) string {
	var parts []string
	for _, n := range nodes {
		s := fmt.Sprintf("%s %s %s", n.Description.Hostname, n.Status.State, n.Spec.Availability)
		if n.ManagerStatus != nil && n.ManagerStatus.Leader {
			s += " leader"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// registryChecks asks the daemon for each manifest image's reference in
// its registry: an answer, even "not found" or "unauthorized", shows that
// the daemon reaches the registry.
func registryChecks(ctx context.Context, cli engine.API, env *metadata.Env) []check {
	if env == nil {
		return nil
	}
	var out []check
	seen := map[string]bool{}
	for _, name := range env.Manifest.ImageOrder {
		reg := env.Manifest.Images[name].Registry
		if reg == "" || seen[reg] {
			continue
		}
		seen[reg] = true
		tag := name + ":latest"
		if spec, err := images.SpecFor(env, name); err == nil && spec.Tag != "" {
			tag = spec.Tag
		}
		ref, err := images.RegistryRef(reg, tag)
		c := check{Name: "registry"}
		if err != nil {
			c.Detail = fmt.Sprintf("%s (image %s): %v", reg, name, err)
			out = append(out, c)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, registryTimeout)
		_, err = cli.DistributionInspect(rctx, ref, "")
		cancel()
		switch {
		case err == nil:
			c.OK, c.Detail = true, fmt.Sprintf("%s reachable from the daemon (image %s is there)", reg, name)
		case cerrdefs.IsNotFound(err) || cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err):
			c.OK, c.Detail = true, fmt.Sprintf("%s reachable from the daemon (image %s: %v)", reg, name, err)
		default:
			c.Detail = fmt.Sprintf("the daemon cannot reach %s (image %s): %v", reg, name, err)
			c.Hint = "start the registry or fix images." + name + ".registry in berth.yaml; a registry outside 127.0.0.0/8 without TLS must be in the daemon's insecure-registries"
		}
		out = append(out, c)
	}
	return out
}
