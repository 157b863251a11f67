// Package enginetest gives unit tests a Docker Engine without a daemon:
// Fake, an engine.API whose every call is a function field the test sets
// (docker/cli's fakeClient habit). A call the test did not set fails with
// an error naming it, so a test sees every call it did not expect.
package enginetest

import (
	"context"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/images/engine"
)

// Fake is an engine.API made of function fields.
type Fake struct {
	// Version is what ClientVersion returns; "1.41" when empty (this
	// machine's daemon).
	Version           string
	CloseFunc         func() error
	ServerVersionFunc func(ctx context.Context) (types.Version, error)

	ImageBuildFunc   func(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageInspectFunc func(ctx context.Context, ref string) (image.InspectResponse, error)
	ImageRemoveFunc  func(ctx context.Context, ref string, options image.RemoveOptions) ([]image.DeleteResponse, error)

	ContainerCreateFunc  func(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, name string) (container.CreateResponse, error)
	ContainerStartFunc   func(ctx context.Context, id string, options container.StartOptions) error
	ContainerAttachFunc  func(ctx context.Context, id string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerWaitFunc    func(ctx context.Context, id string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerKillFunc    func(ctx context.Context, id, signal string) error
	ContainerUpdateFunc  func(ctx context.Context, id string, updateConfig container.UpdateConfig) (container.UpdateResponse, error)
	ContainerInspectFunc func(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerListFunc    func(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerLogsFunc    func(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerRemoveFunc  func(ctx context.Context, id string, options container.RemoveOptions) error

	ContainerExecCreateFunc  func(ctx context.Context, id string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttachFunc  func(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspectFunc func(ctx context.Context, execID string) (container.ExecInspect, error)
	ContainerExecResizeFunc  func(ctx context.Context, execID string, options container.ResizeOptions) error

	NetworkListFunc   func(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkRemoveFunc func(ctx context.Context, id string) error

	// Swarm mode and pushes.
	InfoFunc                func(ctx context.Context) (system.Info, error)
	NodeListFunc            func(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	DistributionInspectFunc func(ctx context.Context, imageRef, encodedRegistryAuth string) (registry.DistributionInspect, error)
	SwarmInitFunc           func(ctx context.Context, req swarm.InitRequest) (string, error)
	SwarmLeaveFunc          func(ctx context.Context, force bool) error
	ImagePullFunc           func(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImagePushFunc           func(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error)
	ImageSaveFunc           func(ctx context.Context, imageIDs []string, saveOpts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageLoadFunc           func(ctx context.Context, input io.Reader, loadOpts ...client.ImageLoadOption) (image.LoadResponse, error)
	ImageTagFunc            func(ctx context.Context, source string, target string) error
	ServiceCreateFunc       func(ctx context.Context, spec swarm.ServiceSpec, options swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error)
	ServiceUpdateFunc       func(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	ServiceRemoveFunc       func(ctx context.Context, id string) error
	ServiceListFunc         func(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceLogsFunc         func(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	TaskListFunc            func(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	NetworkCreateFunc       func(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspectFunc      func(ctx context.Context, id string, options network.InspectOptions) (network.Inspect, error)
	SecretCreateFunc        func(ctx context.Context, spec swarm.SecretSpec) (swarm.SecretCreateResponse, error)
	SecretListFunc          func(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error)
	SecretRemoveFunc        func(ctx context.Context, id string) error
	ConfigCreateFunc        func(ctx context.Context, spec swarm.ConfigSpec) (swarm.ConfigCreateResponse, error)
	ConfigListFunc          func(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error)
	ConfigRemoveFunc        func(ctx context.Context, id string) error
	ServiceInspectFunc      func(ctx context.Context, id string) (swarm.Service, error)
	EventsFunc              func(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

var _ engine.API = (*Fake)(nil)

// Client is a connection to f, as engine.NewClient would return one.
func (f *Fake) Client() *engine.Client {
	return &engine.Client{API: f, Endpoint: "fake://engine"}
}

// NotFound is the error the daemon gives for a missing object: it passes
// cerrdefs.IsNotFound, as the real client's does.
func NotFound(what string) error {
	return fmt.Errorf("no such %s: %w", what, cerrdefs.ErrNotFound)
}

func unset(call string) error {
	return fmt.Errorf("enginetest: unexpected call to %s (set Fake.%sFunc)", call, call)
}

func (f *Fake) ClientVersion() string {
	if f.Version == "" {
		return "1.41"
	}
	return f.Version
}

func (f *Fake) Close() error {
	if f.CloseFunc == nil {
		return nil
	}
	return f.CloseFunc()
}

func (f *Fake) ServerVersion(ctx context.Context) (types.Version, error) {
	if f.ServerVersionFunc == nil {
		return types.Version{}, unset("ServerVersion")
	}
	return f.ServerVersionFunc(ctx)
}

func (f *Fake) ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error) {
	if f.ImageBuildFunc == nil {
		return build.ImageBuildResponse{}, unset("ImageBuild")
	}
	return f.ImageBuildFunc(ctx, buildContext, options)
}

func (f *Fake) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if f.ImageInspectFunc == nil {
		return image.InspectResponse{}, unset("ImageInspect")
	}
	return f.ImageInspectFunc(ctx, ref)
}

func (f *Fake) ImageRemove(ctx context.Context, ref string, options image.RemoveOptions) ([]image.DeleteResponse, error) {
	if f.ImageRemoveFunc == nil {
		return nil, unset("ImageRemove")
	}
	return f.ImageRemoveFunc(ctx, ref, options)
}

func (f *Fake) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	if f.ContainerCreateFunc == nil {
		return container.CreateResponse{}, unset("ContainerCreate")
	}
	return f.ContainerCreateFunc(ctx, config, hostConfig, name)
}

func (f *Fake) ContainerStart(ctx context.Context, id string, options container.StartOptions) error {
	if f.ContainerStartFunc == nil {
		return unset("ContainerStart")
	}
	return f.ContainerStartFunc(ctx, id, options)
}

func (f *Fake) ContainerAttach(ctx context.Context, id string, options container.AttachOptions) (types.HijackedResponse, error) {
	if f.ContainerAttachFunc == nil {
		return types.HijackedResponse{}, unset("ContainerAttach")
	}
	return f.ContainerAttachFunc(ctx, id, options)
}

func (f *Fake) ContainerWait(ctx context.Context, id string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	if f.ContainerWaitFunc == nil {
		errCh := make(chan error, 1)
		errCh <- unset("ContainerWait")
		return make(chan container.WaitResponse), errCh
	}
	return f.ContainerWaitFunc(ctx, id, condition)
}

func (f *Fake) ContainerKill(ctx context.Context, id, signal string) error {
	if f.ContainerKillFunc == nil {
		return unset("ContainerKill")
	}
	return f.ContainerKillFunc(ctx, id, signal)
}

func (f *Fake) ContainerUpdate(ctx context.Context, id string, updateConfig container.UpdateConfig) (container.UpdateResponse, error) {
	if f.ContainerUpdateFunc == nil {
		return container.UpdateResponse{}, unset("ContainerUpdate")
	}
	return f.ContainerUpdateFunc(ctx, id, updateConfig)
}

func (f *Fake) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	if f.ContainerInspectFunc == nil {
		return container.InspectResponse{}, unset("ContainerInspect")
	}
	return f.ContainerInspectFunc(ctx, id)
}

func (f *Fake) ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error) {
	if f.ContainerListFunc == nil {
		return nil, unset("ContainerList")
	}
	return f.ContainerListFunc(ctx, options)
}

func (f *Fake) ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	if f.ContainerLogsFunc == nil {
		return nil, unset("ContainerLogs")
	}
	return f.ContainerLogsFunc(ctx, id, options)
}

func (f *Fake) ContainerRemove(ctx context.Context, id string, options container.RemoveOptions) error {
	if f.ContainerRemoveFunc == nil {
		return unset("ContainerRemove")
	}
	return f.ContainerRemoveFunc(ctx, id, options)
}

func (f *Fake) ContainerExecCreate(ctx context.Context, id string, options container.ExecOptions) (container.ExecCreateResponse, error) {
	if f.ContainerExecCreateFunc == nil {
		return container.ExecCreateResponse{}, unset("ContainerExecCreate")
	}
	return f.ContainerExecCreateFunc(ctx, id, options)
}

func (f *Fake) ContainerExecAttach(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error) {
	if f.ContainerExecAttachFunc == nil {
		return types.HijackedResponse{}, unset("ContainerExecAttach")
	}
	return f.ContainerExecAttachFunc(ctx, execID, options)
}

func (f *Fake) ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	if f.ContainerExecInspectFunc == nil {
		return container.ExecInspect{}, unset("ContainerExecInspect")
	}
	return f.ContainerExecInspectFunc(ctx, execID)
}

func (f *Fake) NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error) {
	if f.NetworkListFunc == nil {
		return nil, unset("NetworkList")
	}
	return f.NetworkListFunc(ctx, options)
}

func (f *Fake) NetworkRemove(ctx context.Context, id string) error {
	if f.NetworkRemoveFunc == nil {
		return unset("NetworkRemove")
	}
	return f.NetworkRemoveFunc(ctx, id)
}

func (f *Fake) Info(ctx context.Context) (system.Info, error) {
	if f.InfoFunc == nil {
		return system.Info{}, unset("Info")
	}
	return f.InfoFunc(ctx)
}

func (f *Fake) NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error) {
	if f.NodeListFunc == nil {
		return nil, unset("NodeList")
	}
	return f.NodeListFunc(ctx, options)
}

func (f *Fake) SwarmInit(ctx context.Context, req swarm.InitRequest) (string, error) {
	if f.SwarmInitFunc == nil {
		return "", unset("SwarmInit")
	}
	return f.SwarmInitFunc(ctx, req)
}

func (f *Fake) SwarmLeave(ctx context.Context, force bool) error {
	if f.SwarmLeaveFunc == nil {
		return unset("SwarmLeave")
	}
	return f.SwarmLeaveFunc(ctx, force)
}

func (f *Fake) ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error) {
	if f.ImagePullFunc == nil {
		return nil, unset("ImagePull")
	}
	return f.ImagePullFunc(ctx, ref, options)
}

func (f *Fake) ImagePush(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error) {
	if f.ImagePushFunc == nil {
		return nil, unset("ImagePush")
	}
	return f.ImagePushFunc(ctx, ref, options)
}

func (f *Fake) ImageSave(ctx context.Context, imageIDs []string, saveOpts ...client.ImageSaveOption) (io.ReadCloser, error) {
	if f.ImageSaveFunc == nil {
		return nil, unset("ImageSave")
	}
	return f.ImageSaveFunc(ctx, imageIDs, saveOpts...)
}

func (f *Fake) ImageLoad(ctx context.Context, input io.Reader, loadOpts ...client.ImageLoadOption) (image.LoadResponse, error) {
	if f.ImageLoadFunc == nil {
		return image.LoadResponse{}, unset("ImageLoad")
	}
	return f.ImageLoadFunc(ctx, input, loadOpts...)
}

func (f *Fake) ImageTag(ctx context.Context, source string, target string) error {
	if f.ImageTagFunc == nil {
		return unset("ImageTag")
	}
	return f.ImageTagFunc(ctx, source, target)
}

func (f *Fake) ServiceCreate(ctx context.Context, spec swarm.ServiceSpec, options swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	if f.ServiceCreateFunc == nil {
		return swarm.ServiceCreateResponse{}, unset("ServiceCreate")
	}
	return f.ServiceCreateFunc(ctx, spec, options)
}

func (f *Fake) ServiceUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	if f.ServiceUpdateFunc == nil {
		return swarm.ServiceUpdateResponse{}, unset("ServiceUpdate")
	}
	return f.ServiceUpdateFunc(ctx, id, version, spec, options)
}

func (f *Fake) ServiceRemove(ctx context.Context, id string) error {
	if f.ServiceRemoveFunc == nil {
		return unset("ServiceRemove")
	}
	return f.ServiceRemoveFunc(ctx, id)
}

func (f *Fake) ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error) {
	if f.ServiceListFunc == nil {
		return nil, unset("ServiceList")
	}
	return f.ServiceListFunc(ctx, options)
}

func (f *Fake) ServiceLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	if f.ServiceLogsFunc == nil {
		return nil, unset("ServiceLogs")
	}
	return f.ServiceLogsFunc(ctx, id, options)
}

func (f *Fake) TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error) {
	if f.TaskListFunc == nil {
		return nil, unset("TaskList")
	}
	return f.TaskListFunc(ctx, options)
}

func (f *Fake) NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error) {
	if f.NetworkCreateFunc == nil {
		return network.CreateResponse{}, unset("NetworkCreate")
	}
	return f.NetworkCreateFunc(ctx, name, options)
}

func (f *Fake) NetworkInspect(ctx context.Context, id string, options network.InspectOptions) (network.Inspect, error) {
	if f.NetworkInspectFunc == nil {
		return network.Inspect{}, unset("NetworkInspect")
	}
	return f.NetworkInspectFunc(ctx, id, options)
}

func (f *Fake) SecretCreate(ctx context.Context, spec swarm.SecretSpec) (swarm.SecretCreateResponse, error) {
	if f.SecretCreateFunc == nil {
		return swarm.SecretCreateResponse{}, unset("SecretCreate")
	}
	return f.SecretCreateFunc(ctx, spec)
}

func (f *Fake) SecretList(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error) {
	if f.SecretListFunc == nil {
		return nil, unset("SecretList")
	}
	return f.SecretListFunc(ctx, options)
}

func (f *Fake) SecretRemove(ctx context.Context, id string) error {
	if f.SecretRemoveFunc == nil {
		return unset("SecretRemove")
	}
	return f.SecretRemoveFunc(ctx, id)
}

func (f *Fake) ConfigCreate(ctx context.Context, spec swarm.ConfigSpec) (swarm.ConfigCreateResponse, error) {
	if f.ConfigCreateFunc == nil {
		return swarm.ConfigCreateResponse{}, unset("ConfigCreate")
	}
	return f.ConfigCreateFunc(ctx, spec)
}

func (f *Fake) ConfigList(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error) {
	if f.ConfigListFunc == nil {
		return nil, unset("ConfigList")
	}
	return f.ConfigListFunc(ctx, options)
}

func (f *Fake) ConfigRemove(ctx context.Context, id string) error {
	if f.ConfigRemoveFunc == nil {
		return unset("ConfigRemove")
	}
	return f.ConfigRemoveFunc(ctx, id)
}

func (f *Fake) ServiceInspectWithRaw(ctx context.Context, id string, _ swarm.ServiceInspectOptions) (swarm.Service, []byte, error) {
	if f.ServiceInspectFunc == nil {
		return swarm.Service{}, nil, unset("ServiceInspect")
	}
	s, err := f.ServiceInspectFunc(ctx, id)
	return s, nil, err
}

func (f *Fake) ContainerExecResize(ctx context.Context, execID string, options container.ResizeOptions) error {
	if f.ContainerExecResizeFunc == nil {
		return unset("ContainerExecResize")
	}
	return f.ContainerExecResizeFunc(ctx, execID, options)
}

func (f *Fake) DistributionInspect(ctx context.Context, imageRef, encodedRegistryAuth string) (registry.DistributionInspect, error) {
	if f.DistributionInspectFunc == nil {
		return registry.DistributionInspect{}, unset("DistributionInspect")
	}
	return f.DistributionInspectFunc(ctx, imageRef, encodedRegistryAuth)
}

func (f *Fake) Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error) {
	if f.EventsFunc == nil {
		errs := make(chan error, 1)
		errs <- unset("Events")
		return make(chan events.Message), errs
	}
	return f.EventsFunc(ctx, options)
}
