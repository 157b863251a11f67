package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// Start creates the service, or updates a stopped one of the same service,
// and returns once the swarm accepted it; readiness (tasks running, health)
// is the manager's to wait for.
func (r *Runner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	c, err := r.client(ctx)
	if err != nil {
		return runtime.Handle{}, err
	}
	existing, err := r.find(ctx, c, svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	if existing != nil {
		ts, err := r.tasks(ctx, c, existing.ID)
		if err != nil {
			return runtime.Handle{}, err
		}
		if running(existing, ts) {
			return runtime.Handle{}, &runtime.AlreadyRunningError{Service: svc.Name}
		}
	}
	return r.deploy(ctx, c, svc, existing)
}

// Restart rolls every task of a running service (a forced update that
// keeps the update policy), with the service's spec made anew: a rebuilt
// image or a changed secret goes out with it.
func (r *Runner) Restart(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	c, err := r.client(ctx)
	if err != nil {
		return runtime.Handle{}, err
	}
	existing, err := r.find(ctx, c, svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	return r.deploy(ctx, c, svc, existing)
}

// networkGoneWait bounds how long a create waits for the daemon to finish
// removing the environment's network that a stop has just pruned.
const networkGoneWait = 15 * time.Second

// deploy creates the service, or updates existing with a forced update.
func (r *Runner) deploy(ctx context.Context, c API, svc *runtime.Service, existing *swarm.Service) (runtime.Handle, error) {
	spec, err := r.serviceSpec(ctx, c, svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	var id string
	if existing == nil {
		resp, err := c.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{})
		// The network the daemon still showed may have just been removed
		// by the stop of the environment's last service: make it again. The
		// daemon goes on showing a network it is removing for as long as the
		// removal takes (under load, longer than five polls: seen in CI as
		// "network … not found" after five tries), so the retry is bounded
		// by time.
		gone := time.Now().Add(networkGoneWait)
		for err != nil && strings.Contains(err.Error(), "network") && (cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "not found")) && time.Now().Before(gone) {
			if perr := r.pause(ctx); perr != nil {
				return runtime.Handle{}, perr
			}
			r.forgetNetwork(svc.Environment)
			if spec, err = r.serviceSpec(ctx, c, svc); err != nil {
				return runtime.Handle{}, err
			}
			resp, err = c.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{})
		}
		if cerrdefs.IsConflict(err) {
			return runtime.Handle{}, &runtime.AlreadyRunningError{Service: svc.Name}
		}
		if err != nil {
			return runtime.Handle{}, fmt.Errorf("create swarm service %s: %w", Name(svc), err)
		}
		id = resp.ID
	} else {
		id = existing.ID
		err := updateService(ctx, c, existing, func(cur *swarm.Service) swarm.ServiceSpec {
			spec.TaskTemplate.ForceUpdate = cur.Spec.TaskTemplate.ForceUpdate + 1
			return spec
		})
		if err != nil {
			return runtime.Handle{}, fmt.Errorf("update swarm service %s: %w", Name(svc), err)
		}
	}
	r.pruneFiles(context.WithoutCancel(ctx), c, svc, spec.TaskTemplate.ContainerSpec)
	return runtime.Handle{Service: svc.Name, Runner: metadata.RunnerSwarm, ID: id, StartedAt: time.Now()}, nil
}

// serviceSpec is the Swarm service of svc: image, network, secrets and
// configs made ready first.
func (r *Runner) serviceSpec(ctx context.Context, c API, svc *runtime.Service) (swarm.ServiceSpec, error) {
	sw, err := specOf(svc)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	img, imgID, err := r.resolveImage(ctx, c, svc, sw)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	netID, err := r.ensureNetwork(ctx, c, svc.Environment)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	cs := &swarm.ContainerSpec{
		Image:           img,
		Labels:          labels(svc),
		Args:            svc.Argv,
		Env:             svc.OwnEnv,
		User:            sw.User,
		StopSignal:      strconv.Itoa(int(svc.StopSignal)),
		StopGracePeriod: &svc.StopGrace,
	}
	if svc.StopSignal == 0 {
		cs.StopSignal = "15"
	}
	if imgID != "" {
		cs.Labels[LabelImageID] = imgID
	}
	init := true
	cs.Init = &init
	if cs.Mounts, err = mounts(svc, sw.Mounts); err != nil {
		return swarm.ServiceSpec{}, err
	}
	if cs.Secrets, err = r.secrets(ctx, c, svc, sw.Secrets); err != nil {
		return swarm.ServiceSpec{}, err
	}
	if cs.Configs, err = r.configs(ctx, c, svc, sw.Configs); err != nil {
		return swarm.ServiceSpec{}, err
	}
	n := sw.ReplicasOf()
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: Name(svc), Labels: labels(svc)},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources:     resources(sw.Resources),
			RestartPolicy: restartPolicy(sw.Restart),
			Placement:     &swarm.Placement{Constraints: sw.Constraints},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: netID, Aliases: []string{svc.Name}}},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
		UpdateConfig: updateConfig(sw.Update),
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: ports(sw.Ports)},
	}
	for k, v := range sw.Labels {
		if _, ours := spec.Labels[k]; !ours {
			spec.Labels[k] = v
		}
	}
	return spec, nil
}

func ports(ps []metadata.SwarmPort) []swarm.PortConfig {
	var out []swarm.PortConfig
	for _, p := range ps {
		pc := swarm.PortConfig{TargetPort: uint32(p.Target), PublishedPort: uint32(p.Published), Protocol: swarm.PortConfigProtocolTCP, PublishMode: swarm.PortConfigPublishModeIngress}
		if p.Protocol != "" {
			pc.Protocol = swarm.PortConfigProtocol(p.Protocol)
		}
		if p.Mode == metadata.PortModeHost {
			pc.PublishMode = swarm.PortConfigPublishModeHost
		}
		out = append(out, pc)
	}
	return out
}

// mounts reads SOURCE:/TARGET[:ro]: a SOURCE with a '/' or starting with '.'
// is a path (relative to the service's directory), any other a volume.
func mounts(svc *runtime.Service, ms []string) ([]mount.Mount, error) {
	var out []mount.Mount
	for _, m := range ms {
		src, rest, _ := strings.Cut(m, ":")
		target, opt, _ := strings.Cut(rest, ":")
		if src == "" || !strings.HasPrefix(target, "/") {
			return nil, fmt.Errorf("service %s: swarm.mounts entry %q: write SOURCE:/TARGET[:ro]", svc.Name, m)
		}
		mt := mount.Mount{Source: src, Target: target, ReadOnly: opt == "ro", Type: mount.TypeVolume}
		if strings.ContainsRune(src, '/') || strings.HasPrefix(src, ".") {
			mt.Type = mount.TypeBind
			if !filepath.IsAbs(src) {
				mt.Source = filepath.Join(svc.Dir, src)
			}
		} else {
			mt.VolumeOptions = &mount.VolumeOptions{Labels: labels(svc)}
		}
		out = append(out, mt)
	}
	return out, nil
}

func resources(r *metadata.Resources) *swarm.ResourceRequirements {
	if r == nil {
		return nil
	}
	out := &swarm.ResourceRequirements{}
	if l := r.Limits; l != nil {
		out.Limits = &swarm.Limit{NanoCPUs: int64(l.CPUs * 1e9), MemoryBytes: int64(l.Memory)}
	}
	if res := r.Reservations; res != nil {
		out.Reservations = &swarm.Resources{NanoCPUs: int64(res.CPUs * 1e9), MemoryBytes: int64(res.Memory)}
	}
	return out
}

func restartPolicy(rp *metadata.SwarmRestart) *swarm.RestartPolicy {
	if rp == nil {
		return nil
	}
	out := &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition), MaxAttempts: rp.MaxAttempts}
	if out.Condition == "" {
		out.Condition = swarm.RestartPolicyConditionAny
	}
	if rp.Delay != 0 {
		d := time.Duration(rp.Delay)
		out.Delay = &d
	}
	if rp.Window != 0 {
		w := time.Duration(rp.Window)
		out.Window = &w
	}
	return out
}

func updateConfig(u *metadata.SwarmUpdate) *swarm.UpdateConfig {
	out := &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst, FailureAction: swarm.UpdateFailureActionPause}
	if u == nil {
		return out
	}
	if u.Parallelism != nil {
		out.Parallelism = *u.Parallelism
	}
	out.Delay = time.Duration(u.Delay)
	out.Monitor = time.Duration(u.Monitor)
	if u.Order != "" {
		out.Order = u.Order
	}
	if u.FailureAction != "" {
		out.FailureAction = u.FailureAction
	}
	return out
}

// ensureNetwork returns the environment's overlay network, made on first
// use, and looked up once per runner: the services of one start share it
// (the deploy that finds it gone meanwhile forgets it and looks again).
func (r *Runner) ensureNetwork(ctx context.Context, c API, environment string) (string, error) {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	if id := r.networks[environment]; id != "" {
		return id, nil
	}
	id, err := r.findOrMakeNetwork(ctx, c, environment)
	if err == nil {
		if r.networks == nil {
			r.networks = map[string]string{}
		}
		r.networks[environment] = id
	}
	return id, err
}

func (r *Runner) forgetNetwork(environment string) {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	delete(r.networks, environment)
}

func (r *Runner) findOrMakeNetwork(ctx context.Context, c API, environment string) (string, error) {
	name := NetworkName(environment)
	for range 2 {
		n, err := c.NetworkInspect(ctx, name, network.InspectOptions{})
		if err == nil {
			if n.Labels[LabelEnvironment] != environment {
				return "", fmt.Errorf("a network named %s exists that berth did not create for environment %s: berth leaves it alone; remove or rename it (docker network rm %s)", name, environment, name)
			}
			return n.ID, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("inspect network %s: %w", name, err)
		}
		resp, err := c.NetworkCreate(ctx, name, network.CreateOptions{Driver: "overlay", Attachable: true, Labels: map[string]string{LabelEnvironment: environment}})
		if err == nil {
			return resp.ID, nil
		}
		// Another start made it meanwhile: inspect it again. (Docker 20.10's
		// swarm says so with an error of no type, only the message.)
		if !cerrdefs.IsConflict(err) && !strings.Contains(err.Error(), "name conflicts with an existing object") {
			return "", fmt.Errorf("create overlay network %s: %w", name, err)
		}
	}
	return "", fmt.Errorf("overlay network %s: made and gone again; try again", name)
}

// pruneNetwork removes the environment's network once no berth service of
// the environment is left; a network still in use stays.
func (r *Runner) pruneNetwork(ctx context.Context, c API, environment string) {
	left, err := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelEnvironment+"="+environment))})
	if err != nil || len(left) > 0 {
		return
	}
	r.forgetNetwork(environment)
	c.NetworkRemove(ctx, NetworkName(environment))
}

// unsafeName is compiled on first use, not at the start of every berth run.
var unsafeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9_.-]+`) })

// fileObject is a secret's or config's name and content: named after the
// content digest, so a changed file is a new object and rolls the service.
func fileObject(svc *runtime.Service, kind string, f metadata.SwarmFile) (name, target string, data []byte, err error) {
	data, err = os.ReadFile(f.File)
	if err != nil {
		return "", "", nil, fmt.Errorf("service %s: swarm.%s: %w", svc.Name, kind, err)
	}
	target = f.Target
	if target == "" {
		target = filepath.Base(f.File)
		if kind == "configs" {
			target = "/" + target
		}
	}
	sum := sha256.Sum256(data)
	base := strings.Trim(unsafeName().ReplaceAllString(filepath.Base(target), "-"), "-.")
	name = fmt.Sprintf("%s-%s-%s", Name(svc), base, hex.EncodeToString(sum[:])[:12])
	return name, target, data, nil
}

func fileMode(f metadata.SwarmFile) os.FileMode {
	if f.Mode == "" {
		return 0o444
	}
	m, _ := strconv.ParseUint(f.Mode, 8, 32)
	return os.FileMode(m)
}

func (r *Runner) secrets(ctx context.Context, c API, svc *runtime.Service, files []metadata.SwarmFile) ([]*swarm.SecretReference, error) {
	return fileRefs(svc, "secret", files, fileKind[*swarm.SecretReference]{
		list: func(name string) ([]swarmObject, error) {
			found, err := c.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
			var objs []swarmObject
			for _, s := range found {
				objs = append(objs, swarmObject{id: s.ID, name: s.Spec.Name, labels: s.Spec.Labels})
			}
			return objs, err
		},
		create: func(a swarm.Annotations, data []byte) (string, error) {
			resp, err := c.SecretCreate(ctx, swarm.SecretSpec{Annotations: a, Data: data})
			return resp.ID, err
		},
		ref: func(id, name, target string, mode os.FileMode) *swarm.SecretReference {
			return &swarm.SecretReference{SecretID: id, SecretName: name,
				File: &swarm.SecretReferenceFileTarget{Name: target, UID: "0", GID: "0", Mode: mode}}
		},
	})
}

func (r *Runner) configs(ctx context.Context, c API, svc *runtime.Service, files []metadata.SwarmFile) ([]*swarm.ConfigReference, error) {
	return fileRefs(svc, "config", files, fileKind[*swarm.ConfigReference]{
		list: func(name string) ([]swarmObject, error) {
			found, err := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
			var objs []swarmObject
			for _, s := range found {
				objs = append(objs, swarmObject{id: s.ID, name: s.Spec.Name, labels: s.Spec.Labels})
			}
			return objs, err
		},
		create: func(a swarm.Annotations, data []byte) (string, error) {
			resp, err := c.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: a, Data: data})
			return resp.ID, err
		},
		ref: func(id, name, target string, mode os.FileMode) *swarm.ConfigReference {
			return &swarm.ConfigReference{ConfigID: id, ConfigName: name,
				File: &swarm.ConfigReferenceFileTarget{Name: target, UID: "0", GID: "0", Mode: mode}}
		},
	})
}

// swarmObject is a swarm secret or config as fileRefs needs it.
type swarmObject struct {
	id, name string
	labels   map[string]string
}

// fileKind is how fileRefs reaches one kind of swarm object (secrets or
// configs): list those with a name, create one, and refer to it in a task.
type fileKind[Ref any] struct {
	list   func(name string) ([]swarmObject, error)
	create func(a swarm.Annotations, data []byte) (string, error)
	ref    func(id, name, target string, mode os.FileMode) Ref
}

// fileRefs makes a reference for each file: to the object (a secret or
// config, kind) berth made for svc from the same content, or to one it
// creates. An object of the same name that is not berth's is left alone.
func fileRefs[Ref any](svc *runtime.Service, kind string, files []metadata.SwarmFile, k fileKind[Ref]) ([]Ref, error) {
	var out []Ref
	for _, f := range files {
		name, target, data, err := fileObject(svc, kind+"s", f)
		if err != nil {
			return nil, err
		}
		found, err := k.list(name)
		if err != nil {
			return nil, fmt.Errorf("list swarm %ss: %w", kind, err)
		}
		id := ""
		for _, o := range found {
			if o.name == name {
				if !owned(svc, o.labels) {
					return nil, fmt.Errorf("a swarm %s named %s exists that berth did not create for service %s: berth leaves it alone; remove it (docker %s rm %s)", kind, name, svc.Name, kind, name)
				}
				id = o.id
			}
		}
		if id == "" {
			if id, err = k.create(swarm.Annotations{Name: name, Labels: labels(svc)}, data); err != nil {
				return nil, fmt.Errorf("service %s: create swarm %s %s from %s: %w", svc.Name, kind, name, f.File, err)
			}
		}
		out = append(out, k.ref(id, name, target, fileMode(f)))
	}
	return out, nil
}

// pruneFiles removes the service's secrets and configs that keep is not
// using (all of them when keep is nil). One still used by a task that is
// being replaced stays until the next prune.
func (r *Runner) pruneFiles(ctx context.Context, c API, svc *runtime.Service, keep *swarm.ContainerSpec) {
	inUse := map[string]bool{}
	if keep != nil {
		for _, s := range keep.Secrets {
			inUse[s.SecretID] = true
		}
		for _, s := range keep.Configs {
			inUse[s.ConfigID] = true
		}
	}
	f := filters.NewArgs(filters.Arg("label", LabelEnvironment+"="+svc.Environment), filters.Arg("label", LabelService+"="+svc.Name))
	if ss, err := c.SecretList(ctx, swarm.SecretListOptions{Filters: f}); err == nil {
		for _, s := range ss {
			if !inUse[s.ID] && owned(svc, s.Spec.Labels) {
				c.SecretRemove(ctx, s.ID)
			}
		}
	}
	if cs, err := c.ConfigList(ctx, swarm.ConfigListOptions{Filters: f}); err == nil {
		for _, s := range cs {
			if !inUse[s.ID] && owned(svc, s.Spec.Labels) {
				c.ConfigRemove(ctx, s.ID)
			}
		}
	}
}
